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
        ("--set", "audit.namespaces={shop,payments}", "--set", "rbac.secrets=false"),
    ],
    ids=["defaults", "probes-and-digest", "diff", "namespaced-no-secrets"],
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
    namespaced = {"Role", "RoleBinding"} if "audit.namespaces={shop,payments}" in sets else set()
    assert kinds == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "CronJob"} | namespaced


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


def _granted(rules: list[dict]) -> set[str]:
    out = set()
    for rule in rules:
        if "nonResourceURLs" in rule:
            continue
        assert rule["verbs"] == ["list"], rule
        out.update(r if g == "" else f"{r}.{g}" for g in rule["apiGroups"] for r in rule["resources"])
    return out


def test_rbac_secrets_off_drops_secrets_from_the_role_and_the_audit(tmp_path):
    from guidecheck.config import config_from_dict

    objs = objects(render(tmp_path, "--set", "rbac.secrets=false"))
    role = next(o for o in objs if o["kind"] == "ClusterRole")
    assert _granted(role["rules"]) == set(DEFAULT_SETTINGS["audit-resources"]) - {"secrets"}
    [cm] = [o for o in objs if o["kind"] == "ConfigMap"]
    [doc] = load_yaml(cm["data"]["guidecheck.yaml"])
    config = config_from_dict(doc.data, "configmap")  # guidecheck accepts it
    assert config.settings["audit-resources"] == [r for r in DEFAULT_SETTINGS["audit-resources"] if r != "secrets"]
    # with the default, the configuration does not pin the resource list
    [cm] = [o for o in objects(render(tmp_path)) if o["kind"] == "ConfigMap"]
    assert "audit-resources" not in cm["data"]["guidecheck.yaml"]


def test_audit_namespaces_get_roles_and_the_clusterrole_keeps_only_cluster_scope(tmp_path):
    objs = objects(render(tmp_path, "--set", "audit.namespaces={shop,payments}"))
    [cluster_role] = [o for o in objs if o["kind"] == "ClusterRole"]
    # what is cluster-scoped: the Namespace list and the cluster-wide admission policies GC705 reads
    assert _granted(cluster_role["rules"]) == {
        "namespaces",
        "clusterpolicies.kyverno.io",
        "clusterimagepolicies.policy.sigstore.dev",
        "ratifyverification.constraints.gatekeeper.sh",
    }
    roles = {o["metadata"]["namespace"]: o for o in objs if o["kind"] == "Role"}
    bindings = {o["metadata"]["namespace"]: o for o in objs if o["kind"] == "RoleBinding"}
    assert set(roles) == set(bindings) == {"shop", "payments"}
    for ns, role in roles.items():
        assert _granted(role["rules"]) == set(DEFAULT_SETTINGS["audit-resources"]) - _granted(cluster_role["rules"])
        [subject] = bindings[ns]["subjects"]
        assert subject == {"kind": "ServiceAccount", "name": "audit-guidecheck", "namespace": "guidecheck"}
        assert bindings[ns]["roleRef"]["name"] == role["metadata"]["name"]
    cron = next(o for o in objs if o["kind"] == "CronJob")
    args = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespace=shop" in args and "--namespace=payments" in args
    assert cron["spec"]["startingDeadlineSeconds"] == 3600


@pytest.mark.parametrize(
    "sets", [(), ("--set", "audit.namespaces={shop}", "--set", "rbac.secrets=false", "--set", "audit.probes.logs=true")]
)
def test_helm_lint_strict(sets):
    out = subprocess.run([helm(), "lint", "--strict", str(CHART), *sets], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_values_schema_rejects_a_misspelt_key(tmp_path):
    for bad in ("rbac.secret=false", "startingDeadlineSeconds=5", "audit.failOn=fatal"):
        out = subprocess.run(
            [helm(), "template", "audit", str(CHART), "--set", bad], capture_output=True, text=True, timeout=120
        )
        assert out.returncode != 0 and "values don't meet the specifications of the schema" in out.stderr, bad


def test_notes_and_readme():
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    assert "create job --from=cronjob/" in notes
    readme = (CHART / "README.md").read_text()
    values = load_yaml((CHART / "values.yaml").read_text())[0].data

    def keys(d, prefix=""):
        for k, v in d.items():
            yield prefix + k
            if isinstance(v, dict) and v and k not in ("config", "resources"):
                yield from keys(v, prefix + k + ".")

    missing = [k for k in keys(values) if f"`{k}`" not in readme]
    assert missing == [], "document every value in deploy/guidecheck/README.md"
