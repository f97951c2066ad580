"""guidecheck's own deployable auditor (deploy/guidecheck chart, Dockerfile) passes guidecheck, and its RBAC is exact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from guidecheck.config import DEFAULT_SETTINGS
from guidecheck.parsers.yaml import load_yaml

from conftest import ROOT, gc_bin

CHART = ROOT / "deploy" / "guidecheck"


def helm() -> str:
    found = shutil.which("helm") or (
        str(ROOT / ".tools" / "bin" / "helm") if (ROOT / ".tools" / "bin" / "helm").exists() else None
    )
    if not found:
        pytest.skip("helm is not installed (scripts/install-test-tools.sh installs it)")
    return found


def render(tmp_path: Path, *sets: str) -> Path:
    out = subprocess.run(
        [helm(), "template", "audit", str(CHART), "--namespace", "guidecheck", *sets],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    path = tmp_path / "rendered.yaml"
    path.write_text(out.stdout)
    return path


def objects(path: Path) -> list[dict]:
    return [d.data for d in load_yaml(path.read_text()) if isinstance(d.data, dict)]


@pytest.mark.parametrize(
    "sets",
    [
        (),
        (
            "--set",
            "audit.probes.metrics=true",
            "--set",
            "audit.probes.logs=true",
            "--set",
            "image.digest=sha256:" + "a" * 64,
        ),
        ("--set", "reports.diff.enabled=true"),
    ],
    ids=["defaults", "probes-and-digest", "diff"],
)
def test_chart_and_dockerfile_pass_guidecheck_scan(tmp_path, sets):
    rendered = render(tmp_path, *sets)
    out = subprocess.run(
        [*gc_bin(), "scan", "--isolated", str(ROOT / "Dockerfile"), str(rendered), "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(out.stdout)
    assert report["findings"] == [], report["findings"]
    assert out.returncode == 0
    passed = {o["rule_id"] for o in report["outcomes"] if o["status"] == "pass"}
    # the image and workload rules really ran on them (and passed)
    assert {"GC301", "GC302", "GC303", "GC304", "GC305", "GC306", "GC307", "GC402", "GC403", "GC404"} <= passed
    kinds = {o["kind"] for o in objects(rendered)}
    assert kinds == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "CronJob"}


def test_clusterrole_grants_exactly_what_the_audit_lists(tmp_path):
    role = next(o for o in objects(render(tmp_path)) if o["kind"] == "ClusterRole")
    granted = set()
    for rule in role["rules"]:
        if "nonResourceURLs" in rule:
            assert rule["verbs"] == ["get"]
            assert set(rule["nonResourceURLs"]) == {"/version", "/api", "/api/*", "/apis", "/apis/*"}
            continue
        assert rule["verbs"] == ["list"], rule  # read-only, collections only: no get/watch, no writes
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                granted.add(res if group == "" else f"{res}.{group}")
    assert granted == set(DEFAULT_SETTINGS["audit-resources"])


def test_probes_add_only_their_subresources(tmp_path):
    role = next(
        o for o in objects(render(tmp_path, "--set", "audit.probes.metrics=true")) if o["kind"] == "ClusterRole"
    )
    sub = [r for r in role["rules"] if any("/" in x for x in r.get("resources", []))]
    assert sub == [{"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"]}]


def test_cronjob_runs_the_audit_in_cluster_and_writes_json_and_junit(tmp_path):
    cron = next(o for o in objects(render(tmp_path)) if o["kind"] == "CronJob")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["args"][:2] == ["audit", "--in-cluster"]
    assert "--format=json" in c["args"] and "--output=/reports/audit.json" in c["args"]
    assert "--format=junit" in c["args"] and "--output=/reports/audit.xml" in c["args"]
    assert c["args"][-1] == "--format=text"  # the text report goes to the pod log
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and pod["securityContext"]["runAsNonRoot"] is True
    # the arguments are ones guidecheck accepts
    help_text = subprocess.run([*gc_bin(), "audit", "--help"], capture_output=True, text=True).stdout
    for arg in c["args"][1:]:
        assert arg.split("=")[0] in help_text, arg


def test_dockerfile_is_pinned_alpine_non_root_single_run():
    text = (ROOT / "Dockerfile").read_text()
    assert "alpine:3.24.1@sha256:" in text
    final = text[text.rindex("\nFROM ") :]
    assert final.count("\nRUN ") == 1 and "\nUSER 10001" in final
    assert "org.opencontainers.image.version" in final and "org.opencontainers.image.revision" in final
    assert os.path.isfile(ROOT / ".dockerignore")


def test_chart_directory_scan_renders_it_and_finds_nothing_in_it():
    """Scanned as a directory, the chart is rendered by guidecheck itself (GC401 and every k8s rule run on it).

    deploy/guidecheck is a chart, not a service repository: only repository-level rules (a Dockerfile,
    unit tests, an OpenAPI document, a changelog tool in the repository) may report on the directory itself.
    """
    helm_bin = helm()
    env = {**os.environ, "PATH": os.path.dirname(helm_bin) + os.pathsep + os.environ.get("PATH", "")}
    out = subprocess.run(
        [*gc_bin(), "scan", "--isolated", "deploy/guidecheck", "-f", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    report = json.loads(out.stdout)
    assert report["incomplete"] == []
    assert [
        f for f in report["findings"] if f["object"] != {"kind": "Repository", "namespace": None, "name": "guidecheck"}
    ] == []
    passed = {o["rule_id"] for o in report["outcomes"] if o["status"] == "pass"}
    assert {"GC401", "GC306", "GC403", "GC404", "GC402"} <= passed


def test_diff_enabled_keeps_the_previous_report_and_writes_the_diff(tmp_path):
    """reports.diff.enabled: the container's script, run twice for real (an audit of a dump standing in
    for the in-cluster one): the second run carries the first as --previous-report and writes diff.json/md."""
    cron = next(
        o
        for o in objects(
            render(tmp_path, "--set", "reports.diff.enabled=true", "--set", "reports.persistence.enabled=true")
        )
        if o["kind"] == "CronJob"
    )
    c = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert c["command"][:2] == ["/bin/sh", "-c"] and c["command"][3] == "guidecheck"
    assert c["args"][:2] == ["audit", "--in-cluster"]  # unchanged: the script passes them on
    reports = tmp_path / "reports"
    reports.mkdir()
    dump = tmp_path / "cluster.yaml"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "guidecheck").write_text("#!/bin/sh\nexec " + " ".join(gc_bin()) + ' "$@"\n')
    (bindir / "guidecheck").chmod(0o755)
    env = {**os.environ, "GUIDECHECK_REPORTS": str(reports), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    args = ["audit", "--from-dump", str(dump), "--isolated", "-q", "--format=json", f"--output={reports}/audit.json"]
    deployment = (ROOT / "fixtures" / "fleet" / "v1" / "orders" / "k8s" / "deployment.yaml").read_text()
    dump.write_text(deployment)
    first = subprocess.run([*c["command"], *args], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stderr
    assert not (reports / "diff.json").exists()  # nothing to compare with yet
    dump.write_text(deployment.replace(":latest", ":1.4.0-3f2c1ab"))
    second = subprocess.run([*c["command"], *args], env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stderr  # the audit's exit code, not the diff's
    diff = json.loads((reports / "diff.json").read_text())
    assert diff["summary"]["fixed"] == 1 and diff["summary"]["new"] == 0
    assert [f["rule_id"] for f in diff["fixed_findings"]] == ["GC306"]
    assert "GC306" in (reports / "diff.md").read_text()
    assert json.loads((reports / "audit.json").read_text())["previous"] is not None
