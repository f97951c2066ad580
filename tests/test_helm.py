"""Helm charts rendered with the real helm (v4 and v3 from .tools/bin, see scripts/install-test-tools.sh).

Findings on rendered objects must point at the template file and line that
produced them, name the value profile, and trace values files lines; subcharts
are rendered once, through their parent; the sandbox never writes or reads
outside the scanned tree.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from guidecheck.config import Config, config_from_dict
from guidecheck.loaders import load
from guidecheck.loaders.helm.binary import find_helm, version_problem
from guidecheck.parsers.helm_template import _action_refs, align, template_actions
from guidecheck.parsers.semver import version_matches

from conftest import FIXTURES, ROOT, SHARED

HELM4 = shutil.which("helm")
HELM3 = shutil.which("helm3")
HELM_OLD = shutil.which("helm3-old")
SHOP = FIXTURES / "charts" / "shop"

pytestmark = pytest.mark.skipif(HELM4 is None, reason="run scripts/install-test-tools.sh (real helm needed)")


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


SVC_CHART_YAML = """
    apiVersion: v2
    name: svc
    version: 1.0.0
    """

SVC_DEPLOYMENT = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: svc
    spec:
      selector:
        matchLabels: {app: svc}
      template:
        metadata:
          labels: {app: svc}
        spec:
    """


def svc_chart(root: Path, pod_spec: str, values: str, app_version: str | None = None) -> Path:
    """The chart ``root/svc``: one Deployment ``svc`` whose pod spec (template line 12 on) is ``pod_spec``."""
    chart_yaml = textwrap.dedent(SVC_CHART_YAML) + (f"appVersion: {app_version}\n" if app_version else "")
    deployment = textwrap.dedent(SVC_DEPLOYMENT) + textwrap.indent(textwrap.dedent(pod_spec).lstrip("\n"), " " * 6)
    files = {"Chart.yaml": chart_yaml, "values.yaml": values, "templates/deployment.yaml": deployment}
    return write(root / "svc", files)


def scan_json(run_cli, *args, cwd=None, env=None, timeout=60):
    p = run_cli("scan", "--isolated", "-f", "json", *args, cwd=cwd, env=env, timeout=timeout)
    assert p.returncode in (0, 1, 3), p.stderr
    return p, json.loads(p.stdout)


def findings(report, rule=None):
    return [f for f in report["findings"] if rule is None or f["rule_id"] == rule]


# ----------------------------------------------------------------------------- unit: line alignment


def test_align_pairs_literal_lines_and_gives_included_lines_their_holding_key():
    template = textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}-front
          labels:
            {{- include "shop.labels" . | nindent 4 }}
        spec:
          template:
            spec:
              containers:
                - name: front
                  {{- with .Values.resources }}
                  resources:
                    {{- toYaml . | nindent 12 }}
                  {{- end }}
        """).split("\n")
    rendered = textwrap.dedent("""\
        # Source: shop/templates/deployment.yaml
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: r-front
          labels:
            app.kubernetes.io/name: shop
            helm.sh/chart: shop-2.1.0
        spec:
          template:
            spec:
              containers:
                - name: front
                  resources:
                    limits:
                      cpu: 1
        """).split("\n")
    m = [t for t, _shift in align(rendered, template)]
    assert m[1:5] == [1, 2, 3, 4]  # apiVersion, kind, metadata, name
    assert m[5] == 5  # labels:
    assert m[6] == 5 and m[7] == 5  # included label lines -> the 'labels:' key holding them
    assert m[12] == 11  # - name: front
    assert m[13] == 13  # resources:
    assert m[14] == 13 and m[15] == 13  # toYaml output -> 'resources:'


def test_align_gives_an_include_on_a_line_of_its_own_its_output():
    """vault-helm ends its StatefulSet with `{{ template "vault.volumeclaims" . }}`: the claims it renders belong
    to that line, not to the last paired line above (a `- "-c"` of a preStop command)."""
    template = textwrap.dedent("""\
        apiVersion: apps/v1
        kind: StatefulSet
        spec:
          template:
            spec:
              containers:
                - name: vault
                  command:
                  - "-c"
          {{ template "vault.volumeclaims" . }}
        """).split("\n")
    rendered = textwrap.dedent("""\
        apiVersion: apps/v1
        kind: StatefulSet
        spec:
          template:
            spec:
              containers:
                - name: vault
                  command:
                  - "-c"
          volumeClaimTemplates:
            - metadata: {name: data}
        """).split("\n")
    m = align(rendered, template)
    assert [t for t, _s in m[9:11]] == [10, 10]
    assert [max(1, 3 + s) for _t, s in m[9:11]] == [1, 1]  # column 1: no column of the include line is theirs
    # a chart whose whole object comes from one include (redpanda's connectors): every line is that include's
    template = ["{{- /* licence */ -}}", '{{- include "_shims.render-manifest" (list "x" .) -}}']
    rendered = ["apiVersion: apps/v1", "kind: Deployment", "spec:", "  replicas: 1"]
    assert [t for t, _s in align(rendered, template)] == [2, 2, 2, 2]


def test_align_reindented_template_falls_back_to_keys():
    template = ["kind: ConfigMap", "data:", "{{ .Values.data | toYaml | indent 2 }}", "  extra: x"]
    rendered = ["kind: ConfigMap", "data:", "    a: 1", "    extra: x"]
    m = [t for t, _ in align(rendered, template)]
    assert m == [1, 2, 2, 4]


@pytest.mark.parametrize(
    "version,constraint,ok",
    [
        ("1.42.0", "1.42.*", True),
        ("1.43.0", "1.42.*", False),
        ("2.31.10", "2.x.x", True),
        ("3.0.0", "2.x.x", False),
        ("5.4.0", "5.4.0", True),
        ("1.2.3", "^1.2.0", True),
        ("2.0.0", "^1.2.0", False),
        ("1.2.9", "~1.2.3", True),
        ("1.3.0", "~1.2.3", False),
        ("1.5.0", ">=1.2.0, <2.0.0", True),
        ("2.0.0", ">=1.2.0 <2.0.0", False),
        ("0.3.1", "0.3.x", True),
        ("1.0.0", "0.1.0 - 0.9.0 || >=1.0.0", True),
        ("1.0.0", "", True),
        ("not-a-version", "*", False),
        ("1.6.9", "x.x.x", True),  # helm/charts' hlf-ca: a wildcard major accepts any version
        ("1.6.9", "*.*", True),
        ("x.1.2", "x.x.x", False),
    ],
)
def test_version_constraints(version, constraint, ok):
    assert version_matches(version, constraint) is ok


def test_minimum_helm_versions():
    assert version_problem((3, 17, 3)) and "3.18.5" in version_problem((3, 17, 3))
    assert version_problem((3, 18, 4))
    assert version_problem((3, 18, 5)) is None
    assert version_problem((4, 1, 4)) is None
    assert version_problem((2, 17, 0))


# ----------------------------------------------------------------------------- rendering and tracing


def test_findings_point_at_template_lines_and_values_lines(run_cli):
    p, report = scan_json(run_cli, "--select", "GC306,GC403", str(SHOP))
    by = {(f["rule_id"], f["path"], f["line"], f["container"]) for f in findings(report)}
    shop = str(SHOP)
    # the front container's line in the parent's template; no resources in the default profile
    assert ("GC403", f"{shop}/templates/deployment.yaml", 17, "front") in by
    # the worker subchart's object names the subchart's template, once
    worker = [f for f in findings(report, "GC403") if f["container"] == "worker"]
    assert len(worker) == 1
    assert worker[0]["path"] == f"{shop}/charts/worker/templates/deployment.yaml"
    assert worker[0]["line"] == 19
    origin = worker[0]["origin"]
    assert origin["template"] == f"{shop}/charts/worker/templates/deployment.yaml"
    assert origin["chart"] == shop and origin["profile"] == "default" and origin["release"] == "release-name"
    # the parent's override of the worker's image tag applies: no GC306 for the subchart's default 'latest'
    assert not findings(report, "GC306")


def test_values_trace_for_a_subchart_names_the_parent_override(tmp_path, run_cli):
    chart = tmp_path / "shop"
    shutil.copytree(SHOP, chart)
    (chart / "values.yaml").write_text((chart / "values.yaml").read_text().replace("0.4.1-77aa0c1", "latest"))
    p, report = scan_json(run_cli, "--select", "GC306", str(chart))
    [f] = [f for f in findings(report, "GC306") if f["container"] == "worker"]
    assert f["path"].endswith("charts/worker/templates/deployment.yaml") and f["line"] == 20
    values = {v["key"]: (v["path"], v["line"]) for v in f["origin"]["values"]}
    # image.tag comes from the parent's values.yaml (worker.image.tag, line 9), the repository from the subchart's own
    assert values["image.tag"] == (f"{chart}/values.yaml", 9)
    assert values["image.repository"] == (f"{chart}/charts/worker/values.yaml", 4)
    text = run_cli("scan", "--isolated", "--select", "GC306", str(chart)).stdout
    assert f"values {chart}/charts/worker/values.yaml:4 (image.repository), {chart}/values.yaml:9 (image.tag)" in text


def test_profiles_differ_in_compliance_and_findings_name_them(tmp_path, run_cli):
    chart = tmp_path / "shop"
    shutil.copytree(SHOP, chart)
    (tmp_path / ".guidecheck.yaml").write_text("helm:\n  profiles:\n    prod: [values-prod.yaml]\n")
    p = run_cli("scan", "-f", "json", "--select", "GC403", "shop", cwd=tmp_path)
    report = json.loads(p.stdout)
    front = {f["origin"]["profile"] for f in findings(report, "GC403") if f["container"] == "front"}
    assert front == {"default"}  # prod sets resources: only the default profile fails
    worker = {f["origin"]["profile"] for f in findings(report, "GC403") if f["container"] == "worker"}
    assert worker == {"default", "prod"}
    text = run_cli("scan", "--select", "GC403", "shop", cwd=tmp_path).stdout
    assert "profile prod" in text
    # --profile restricts the renderings
    report = json.loads(
        run_cli("scan", "-f", "json", "--select", "GC403", "--profile", "prod", "shop", cwd=tmp_path).stdout
    )
    assert {f["origin"]["profile"] for f in findings(report)} == {"prod"}
    bad = run_cli("scan", "--profile", "staging", "shop", cwd=tmp_path)
    assert bad.returncode == 2 and "staging" in bad.stderr


def test_command_line_values_are_the_cli_profile(run_cli):
    prod = SHOP / "values-prod.yaml"
    cli = ("--set", "worker.enabled=false", "--profile", "cli", "--release-name", "shop", "--namespace", "web")
    p, report = scan_json(run_cli, "--select", "GC403", "--values", str(prod), *cli, str(SHOP))
    assert p.returncode == 0, p.stdout  # prod resources and no worker: compliant
    p, report = scan_json(run_cli, "--select", "GC403", *cli, str(SHOP))  # the same without the prod values
    [f] = findings(report)
    assert f["object"]["name"] == "shop-front"
    assert f["origin"]["profile"] == "cli" and f["origin"]["release"] == "shop" and f["origin"]["namespace"] == "web"


def test_crds_are_loaded_notes_are_not(run_cli):
    config = Config()
    loaded = load([str(SHOP)], config)
    rendered = [t for t in loaded.targets if t.kind == "k8s"]
    kinds = sorted(t.data["kind"] for t in rendered)
    assert kinds == ["CustomResourceDefinition", "Deployment", "Deployment"]  # crds/ once, not also rendered
    crd = next(t for t in rendered if t.data["kind"] == "CustomResourceDefinition")
    assert crd.path == f"{SHOP}/crds/queue.yaml" and crd.line == 1
    assert not any("NOTES" in t.path for t in loaded.targets)


def test_helm3_and_helm4_give_the_same_findings(run_cli):
    if HELM3 is None:
        pytest.skip("helm3 not installed")
    keys = []
    for helm in (HELM4, HELM3):
        p, report = scan_json(run_cli, "--helm", helm, str(SHOP))
        assert not report["incomplete"]
        keys.append(sorted((f["rule_id"], f["path"], f["line"], f["column"]) for f in findings(report)))
    assert keys[0] == keys[1] and keys[0]


def test_verbose_reports_render_time(run_cli):
    p = run_cli("scan", "--isolated", "--verbose", "--select", "GC401", str(SHOP))
    assert p.returncode == 0
    # the CRD is read by the walk, not counted again
    assert f"guidecheck: rendered {SHOP} [default] in " in p.stderr and "2 object(s)" in p.stderr


# ----------------------------------------------------------------------------- no helm, old helm


def test_without_helm_static_checks_run_and_scan_is_incomplete(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from guidecheck import cli
    from guidecheck.loaders.helm import binary as helm_loader

    case = FIXTURES / "rules" / "GC401" / "fail-chart-yaml"
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm on PATH
    monkeypatch.setattr(helm_loader, "_beside_interpreter", lambda name: None)  # nor in guidecheck's environment
    p = CliRunner().invoke(cli.main, ["scan", "--isolated", "--select", "GC401", str(case)])
    assert p.exit_code == 3
    lines = [x for x in p.stdout.splitlines() if x.startswith("incomplete:")]
    assert len(lines) == 1 and "no 'helm' on PATH" in lines[0] and "https://helm.sh/docs/intro/install/" in lines[0]
    assert f"{case}/Chart.yaml:3:1: error GC401 Chart.yaml version '1.4'" in p.stdout
    assert "helm template failed" not in p.stdout


def test_helm_in_guidecheck_s_own_environment_is_found(tmp_path):
    """Run as .venv/bin/guidecheck (venv not activated), a helm linked into .venv/bin is used."""
    from guidecheck.loaders.helm import binary as helm_loader

    scripts = tmp_path / "bin"
    scripts.mkdir()
    (scripts / "helm").symlink_to(HELM4)
    import sysconfig

    orig = sysconfig.get_path
    try:
        sysconfig.get_path = lambda name, *a, **k: str(scripts) if name == "scripts" else orig(name, *a, **k)
        assert helm_loader._beside_interpreter("helm") == str(scripts / "helm")
    finally:
        sysconfig.get_path = orig


def test_helm_older_than_the_fixes_is_refused(run_cli):
    if HELM_OLD is None:
        pytest.skip("helm3-old not installed")
    p = run_cli("scan", "--isolated", "--helm", HELM_OLD, "--select", "GC401", str(SHOP))
    assert p.returncode == 3
    assert "Helm 3.17.3" in p.stdout and "3.18.5" in p.stdout and "GHSA-9h84-qmv7-982p" in p.stdout


def test_helm_binary_from_config(tmp_path, run_cli):
    shutil.copytree(SHOP, tmp_path / "shop")
    (tmp_path / ".guidecheck.yaml").write_text(f"helm:\n  binary: {HELM4}\n  release-name: shop\n")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    report = json.loads(run_cli("scan", "-f", "json", "--select", "GC403", "shop", cwd=tmp_path, env=env).stdout)
    assert not report["incomplete"]
    assert {f["object"]["name"] for f in findings(report)} == {"shop-front", "shop-worker"}


def test_bad_helm_config_is_a_usage_error(tmp_path):
    from guidecheck.config import ConfigError

    with pytest.raises(ConfigError, match="helm"):
        config_from_dict({"helm": {"profiles": {"default": ["x.yaml"]}}})
    with pytest.raises(ConfigError, match="unknown key 'helm.post-renderer'"):
        config_from_dict({"helm": {"post-renderer": "x"}})


# ----------------------------------------------------------------------------- sandbox (hostile charts)


def _no_marker():
    return not any(p.name.startswith("guidecheck_PWNED") for p in Path("/tmp").iterdir())


def test_symlinked_chart_lock_is_never_written_or_followed(tmp_path, run_cli):
    outside = tmp_path / "outside" / "should_not_be_written.sh"
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": """
            apiVersion: v2
            name: lock-symlink
            version: 0.1.0
            dependencies:
              - name: "x\\necho PWNED > /tmp/guidecheck_PWNED_helm"
                version: 1.0.0
                repository: "file://../sub"
            """,
            "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        },
    )
    (repo / "chart" / "Chart.lock").symlink_to(outside)
    before = sorted(p.name for p in repo.rglob("*"))
    p = run_cli("scan", "--isolated", "--select", "GC401", str(repo))
    assert p.returncode == 1
    assert "is not in charts/ and not in the scanned tree" in p.stdout
    assert not outside.exists() and _no_marker()
    assert sorted(p.name for p in repo.rglob("*")) == before  # nothing written into the repository


def test_file_dependency_outside_the_tree_is_not_read(tmp_path, run_cli):
    write(tmp_path / "elsewhere", {"lib/Chart.yaml": "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n"})
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n"
            "  - name: lib\n    version: 1.0.0\n    repository: file://../../elsewhere/lib\n",
            "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        },
    )
    p = run_cli("scan", "--isolated", "--select", "GC401", str(repo))
    assert "outside the scanned tree: not read" in p.stdout


def test_dependencies_of_requirements_yaml_are_checked_where_they_are_declared(tmp_path, run_cli):
    # Helm reads requirements.yaml whatever the apiVersion (for v2 with a warning); its dependencies count
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
            "chart/requirements.yaml": "dependencies:\n  - name: other\n    version: 1.0.0\n"
            "  - name: lib\n    version: 9.4.10\n    repository: https://charts.example.com\n",
            "chart/charts/other/Chart.yaml": "apiVersion: v2\nname: other\nversion: 1.0.0\n",
            "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        },
    )
    p, report = scan_json(run_cli, "--select", "GC401", str(repo))
    [f] = findings(report)
    assert (f["path"], f["line"]) == (f"{repo}/chart/requirements.yaml", 4)
    assert f["message"].startswith("dependency 'lib' 9.4.10 (https://charts.example.com) is not in charts/")


def test_a_dependency_the_tree_holds_at_another_version_says_so(tmp_path, run_cli):
    repo = write(
        tmp_path / "repo",
        {
            "app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n"
            "  - name: db\n    version: 16.x.x\n    repository: oci://registry.example.com/charts\n",
            "app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "db/Chart.yaml": "apiVersion: v2\nname: db\nversion: 17.1.0\n",
            "db/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
        },
    )
    p, report = scan_json(run_cli, "--select", "GC401", str(repo / "app"), str(repo / "db"))
    [f] = [f for f in findings(report) if "dependency" in f["message"]]
    assert (f["path"], f["line"]) == (f"{repo}/app/Chart.yaml", 5)
    assert f"the scanned tree has it only at 17.1.0 ({repo}/db), which 16.x.x does not accept" in f["message"]


def test_what_a_subchart_from_the_tree_lacks_is_one_finding_at_the_line_naming_it(tmp_path, run_cli):
    # netbox-operator -> netbox (taken from the tree) -> postgresql, valkey (nowhere)
    repo = write(
        tmp_path / "repo",
        {
            "operator/Chart.yaml": "apiVersion: v2\nname: operator\nversion: 1.0.0\ndependencies:\n"
            "  - name: app\n    version: ^8.0.0\n    repository: oci://ghcr.io/example/charts\n",
            "operator/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 8.3.0\ndependencies:\n"
            "  - name: postgresql\n    version: ^18.0.0\n    repository: oci://registry.example.com/charts\n"
            "  - name: valkey\n    version: ^6.0.0\n    repository: oci://registry.example.com/charts\n",
            "app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
        },
    )
    p, report = scan_json(run_cli, "--select", "GC401", str(repo))
    deps = sorted(
        (f["path"], f["line"], f["message"].split(" (")[0]) for f in findings(report) if "dependenc" in f["message"]
    )
    assert deps == [
        (f"{repo}/app/Chart.yaml", 5, "dependency 'postgresql' ^18.0.0"),
        (f"{repo}/app/Chart.yaml", 8, "dependency 'valkey' ^6.0.0"),
        (f"{repo}/operator/Chart.yaml", 5, "dependency 'app'"),
    ]
    [f] = [f for f in findings(report) if f["path"].endswith("operator/Chart.yaml")]
    assert "'postgresql' ^18.0.0" in f["message"] and "'valkey' ^6.0.0" in f["message"]


def test_helm_s_log_lines_before_its_error_are_not_the_message(tmp_path, run_cli):
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
            "chart/requirements.yaml": "dependencies:\n  - name: other\n    version: 1.0.0\n",
            "chart/charts/other/Chart.yaml": "apiVersion: v2\nname: other\nversion: 1.0.0\n",
            "chart/templates/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ fail "no" }}}\n',
        },
    )
    p, report = scan_json(run_cli, "--select", "GC401", str(repo))
    [f] = findings(report)
    assert f["message"].startswith("helm template failed [profile default]: execution error at"), f["message"]
    assert "level=" not in f["message"] and "Dependencies are handled" not in f["message"]
    # the chart's own fail: the message says how to give the value it wants
    assert f["message"].endswith("helm.charts.<chart dir>.profiles, to have the chart rendered and checked)")


def test_schema_refs_are_not_followed(tmp_path, run_cli):
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: schema-ref\nversion: 0.1.0\n",
            "chart/values.yaml": "a: 1\n",
            "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "chart/values.schema.json": json.dumps(
                {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "properties": {
                        "a": {"$ref": "/dev/zero"},
                        "b": {"$ref": "http://169.254.169.254/latest/meta-data/"},
                        "c": {"$ref": "file:///etc/passwd"},
                    },
                }
            ),
        },
    )
    p, report = scan_json(run_cli, "--select", "GC401", str(repo))
    assert p.returncode == 1  # findings, never a hang
    refs = sorted((f["path"], f["message"].split("'")[1]) for f in findings(report) if "refers to" in f["message"])
    schema = f"{repo}/chart/values.schema.json"
    assert refs == [
        (schema, "/dev/zero"),
        (schema, "file:///etc/passwd"),
        (schema, "http://169.254.169.254/latest/meta-data/"),
    ]
    # rendered without schema validation: Helm never opened the references (no "failing loading" error)
    assert not [f for f in findings(report) if "failing loading" in f["message"]]
    assert "root:" not in p.stdout and "root:" not in p.stderr


def test_lookup_and_environment_are_empty(tmp_path, run_cli):
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: lookup\nversion: 0.1.0\n",
            "chart/templates/steal.yaml": """
            {{- $s := lookup "v1" "Secret" "kube-system" "" }}
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: exfil}
            data:
              dump: {{ $s | toJson | quote }}
            """,
        },
    )
    loaded = load([str(repo)], Config())
    [cm] = [t for t in loaded.targets if t.kind == "k8s"]
    assert cm.data["data"]["dump"] == "{}"
    assert cm.path == f"{repo}/chart/templates/steal.yaml" and cm.line == 2


def test_a_render_that_takes_too_long_is_stopped(tmp_path, run_cli):
    repo = write(
        tmp_path / "repo",
        {
            ".guidecheck.yaml": "helm:\n  timeout: 0.3\n",
            "chart/Chart.yaml": "apiVersion: v2\nname: slow\nversion: 0.1.0\n",
            "chart/templates/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: slow}
            data:
              big: "{{ range until 50000000 }}x{{ end }}"
            """,
        },
    )
    p, report = scan_json(
        run_cli, "--config", str(repo / ".guidecheck.yaml"), "--select", "GC401", str(repo), timeout=60
    )
    [f] = findings(report)
    assert "timed out after 0.3 s" in f["message"] and f["path"] == f"{repo}/chart/Chart.yaml"
    assert f["origin"]["profile"] == "default"


def test_template_error_is_a_finding_at_helms_line(run_cli):
    case = FIXTURES / "rules" / "GC401" / "fail-template-error"
    p, report = scan_json(run_cli, "--select", "GC401", str(case))
    [f] = findings(report)
    assert f["path"] == f"{case}/templates/configmap.yaml" and f["line"] == 7 and f["column"] == 21
    assert "nil pointer" in f["message"] and "/tmp" not in f["message"]


# ----------------------------------------------------------------------------- pre-commit mode


def test_precommit_renders_the_chart_a_changed_file_belongs_to(tmp_path, run_cli):
    shutil.copytree(SHOP, tmp_path / "shop")
    write(tmp_path, {"README.md": "# shop\n", "k8s/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
    p = run_cli("scan", "--isolated", "-f", "json", "--select", "GC403", "shop/charts/worker/values.yaml", cwd=tmp_path)
    report = json.loads(p.stdout)
    assert {(f["path"], f["line"]) for f in findings(report)} == {
        ("shop/templates/deployment.yaml", 17),
        ("shop/charts/worker/templates/deployment.yaml", 19),
    }
    p = run_cli("scan", "--isolated", "-f", "json", "--select", "GC403", "README.md", "k8s/cm.yaml", cwd=tmp_path)
    assert json.loads(p.stdout)["findings"] == [] and p.returncode == 0


# ----------------------------------------------------------------------------- examples and corpus


def test_examples(run_cli):
    ok = run_cli("scan", str(ROOT / "examples" / "compliant-service"), "--select", "GC401,GC402")
    assert ok.returncode == 0, ok.stdout
    bad = run_cli("scan", str(ROOT / "examples" / "noncompliant-service"), "--select", "GC401")
    assert bad.returncode == 1 and "helm template failed" in bad.stdout


@pytest.mark.skipif(not (SHARED / "corpus" / "dev").is_dir(), reason="shared corpus not present")
def test_corpus_prometheus_chart_renders_with_its_subcharts_from_the_tree():
    base = SHARED / "corpus" / "dev" / "prometheus-community__helm-charts" / "charts"
    loaded = load([str(base)], Config())
    rendered = [t for t in loaded.targets if t.kind == "k8s" and t.origin.get("chart") == f"{base}/prometheus"]
    templates = {t.origin["template"] for t in rendered}
    assert f"{base}/prometheus/templates/deploy.yaml" in templates
    assert f"{base}/alertmanager/templates/statefulset.yaml" in templates  # subchart rendered through the parent
    ss = [t for t in rendered if t.data["kind"] == "StatefulSet"]
    assert len(ss) == 1  # once, not also as the parent's subchart and as the standalone chart in one profile
    assert find_helm(None)[0] is not None


UMBRELLA = FIXTURES / "charts" / "umbrella"


def test_a_file_dependency_renders_only_through_its_parent(run_cli):
    p, report = scan_json(run_cli, "--verbose", str(UMBRELLA))
    assert f"rendered {UMBRELLA}/store [default]" in p.stderr
    assert f"rendered {UMBRELLA}/api [" not in p.stderr  # not on its own as well
    api = [f for f in report["findings"] if f["path"] == f"{UMBRELLA}/api/templates/deployment.yaml"]
    assert {f["rule_id"] for f in api} >= {"GC403", "GC404", "GC405"}
    assert all("also_at" not in f for f in report["findings"])  # one rendering: nothing to merge
    assert len({f["fingerprint"] for f in report["findings"]}) == len(report["findings"])
    assert {f["origin"]["chart"] for f in api} == {f"{UMBRELLA}/store"}
    loaded = load([str(UMBRELLA)], Config())
    deployments = [t for t in loaded.targets if t.kind == "k8s" and t.data["kind"] == "Deployment"]
    assert len(deployments) == 1  # one target, so cross-object rules see one copy
    chart = next(t.data for t in loaded.targets if t.kind == "chart" and t.data.path == f"{UMBRELLA}/api")
    assert chart.skipped == f"a file:// dependency of {UMBRELLA}/store: rendered through it, with its values"


def test_a_file_dependency_of_a_broken_parent_renders_on_its_own(tmp_path, run_cli):
    repo = tmp_path / "umbrella"
    shutil.copytree(UMBRELLA, repo)
    (repo / "store" / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name\n"
    )
    # its Chart.yaml is still judged on its own (a Helm 2 chart, which Helm still renders)
    chart_yaml = repo / "api" / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("apiVersion: v2", "apiVersion: v1"))
    p, report = scan_json(run_cli, "--verbose", str(repo))
    assert f"{repo}/api rendered on its own: {repo}/store rendered none of its objects" in p.stderr
    assert f"rendered {repo}/api [default]" in p.stderr
    gc401 = {(f["path"], f["message"].split(":")[0]) for f in findings(report, "GC401")}
    assert (f"{repo}/store/templates/configmap.yaml", "helm template failed [profile default]") in gc401
    assert (f"{repo}/api/Chart.yaml", "Chart.yaml has apiVersion") in gc401
    api = [f for f in report["findings"] if f["path"] == f"{repo}/api/templates/deployment.yaml"]
    assert {f["rule_id"] for f in api} >= {"GC403", "GC405"}
    assert {f["origin"]["chart"] for f in api} == {f"{repo}/api"}


def test_helm_found_through_a_relative_path(run_cli):
    tools = os.path.relpath(Path(HELM4).parent, ROOT)
    env = {**os.environ, "PATH": tools + os.pathsep + "/usr/bin:/bin"}
    rel = os.path.relpath(SHOP, ROOT)
    p, report = scan_json(run_cli, "--select", "GC401", rel, cwd=ROOT, env=env)
    assert p.returncode == 0 and not report["incomplete"], p.stdout
    p, report = scan_json(run_cli, "--select", "GC401", "--helm", os.path.join(tools, "helm"), rel, cwd=ROOT)
    assert p.returncode == 0 and not report["incomplete"], p.stdout


def test_secret_values_never_reach_the_report(tmp_path, run_cli):
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: secret-values\nversion: 0.1.0\n",
            "chart/values.yaml": """
            db:
              password: "GC-CANARY-7f3a9c1e-hunter2"
            aws:
              accessKeyId: AKIAIOSFODNN7EXAMPLE
            """,
            "chart/templates/secret.yaml": """
            apiVersion: v1
            kind: Secret
            metadata: {name: s}
            stringData:
              password: {{ .Values.db.password | quote }}
              key: {{ .Values.aws.accessKeyId | quote }}
            """,
        },
    )
    for fmt in ("text", "json", "sarif", "junit"):
        p = run_cli("scan", "--isolated", "--verbose", "-f", fmt, str(repo))
        assert p.returncode == 1  # GC401: no workload
        for out in (p.stdout, p.stderr):
            assert "GC-CANARY" not in out and "AKIAIOSFODNN7EXAMPLE" not in out


def test_a_rendered_document_that_is_not_an_object_is_a_parse_finding(tmp_path, run_cli):
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: odd\nversion: 0.1.0\n",
            "chart/templates/deployment.yaml": (SHOP / "templates" / "deployment.yaml")
            .read_text()
            .replace("shop.labels", "odd.labels"),
            "chart/templates/_helpers.tpl": '{{- define "odd.labels" -}}\napp: odd\n{{- end }}\n',
            "chart/values.yaml": "image: {repository: r.example.com/odd, tag: 1.0.0-abcdef1}\nresources: {}\n",
            "chart/templates/data.yaml": '# settings\nreplicas: 3\nmode: {{ .Values.mode | default "fast" }}\n',
        },
    )
    p, report = scan_json(run_cli, "--select", "GC001", str(repo))
    [f] = findings(report)
    assert f["path"] == f"{repo}/chart/templates/data.yaml" and f["line"] == 2
    assert "not a Kubernetes object" in f["message"]


def test_per_chart_profiles_and_release_names(tmp_path, run_cli):
    shutil.copytree(SHOP, tmp_path / "deploy" / "shop")
    shutil.copytree(SHOP, tmp_path / "deploy" / "other")
    (tmp_path / "deploy" / "shop" / "env").mkdir()
    shutil.move(tmp_path / "deploy" / "shop" / "values-prod.yaml", tmp_path / "deploy" / "shop" / "env" / "prod.yaml")
    (tmp_path / ".guidecheck.yaml").write_text(
        textwrap.dedent("""\
        helm:
          release-name: team
          profiles:
            staging: [values-staging.yaml]
          charts:
            deploy/shop:
              release-name: shop
              namespace: web
              profiles:
                prod: [env/prod.yaml]
                broken: [env/missing.yaml]
        """)
    )
    (tmp_path / "deploy" / "other" / "values-staging.yaml").write_text("worker:\n  enabled: false\n")
    p = run_cli("scan", "-f", "json", "--select", "GC401,GC403", "deploy", cwd=tmp_path)
    report = json.loads(p.stdout)
    got = sorted(
        {(f["origin"]["chart"], f["origin"]["profile"], f["origin"].get("release")) for f in findings(report, "GC403")}
    )
    assert got == [
        ("deploy/other", "default", "team"),
        ("deploy/other", "staging", "team"),
        ("deploy/shop", "default", "shop"),
        ("deploy/shop", "prod", "shop"),
    ]
    [missing] = findings(report, "GC401")
    assert missing["path"] == "deploy/shop/Chart.yaml" and "env/missing.yaml" in missing["message"]
    assert missing["origin"]["profile"] == "broken"


def test_symlinked_charts_directory_out_of_the_tree_is_not_rendered(tmp_path):
    outside = write(
        tmp_path / "outside",
        {
            "charts/evil/Chart.yaml": "apiVersion: v2\nname: evil\nversion: 1.0.0\n",
            "charts/evil/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-outside}\n",
        },
    )
    repo = write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
            "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inside}\n",
        },
    )
    (repo / "chart" / "charts").symlink_to(outside / "charts", target_is_directory=True)
    loaded = load([str(repo)], Config())
    names = sorted(t.ref.name for t in loaded.targets if t.kind == "k8s")
    assert names == ["inside"]
    assert not loaded.incomplete


def test_symlinks_inside_the_tree_are_read_as_helm_reads_them(tmp_path):
    # VictoriaMetrics' crds chart links its crd.yaml from another chart and reads it with .Files.Get; a chart
    # may also take a subchart through a directory link.  Helm reads both; so does the render's copy.
    repo = write(
        tmp_path / "repo",
        {
            "shared/data.yaml": "greeting: hello\n",
            "common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.0.0\n",
            "common/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-linked-subchart}\n",
            "app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n"
            "dependencies:\n  - name: common\n    version: 1.0.0\n",
            "app/templates/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: linked}
            data: {{ .Files.Get "data.yaml" | fromYaml | toJson }}
            """,
        },
    )
    (repo / "app" / "data.yaml").symlink_to("../shared/data.yaml")
    (repo / "app" / "charts").mkdir()
    (repo / "app" / "charts" / "common").symlink_to("../../common", target_is_directory=True)
    loaded = load([str(repo)], Config())
    objs = {t.ref.name: t for t in loaded.targets if t.kind == "k8s"}
    assert sorted(objs) == ["from-linked-subchart", "linked"]
    assert objs["linked"].data["data"] == {"greeting": "hello"}
    # the linked subchart renders once, through the chart that links it, and is shown at its own place
    sub = objs["from-linked-subchart"]
    assert (sub.origin["chart"], sub.origin["template"]) == (f"{repo}/app", f"{repo}/common/templates/cm.yaml")
    [common] = [t.data for t in loaded.targets if t.kind == "chart" and t.ref.name == "common"]
    assert common.skipped and "linked into charts/" in common.skipped and f"{repo}/app" in common.skipped
    assert not loaded.incomplete


def test_rendered_output_beyond_the_limit_is_a_finding(tmp_path, run_cli):
    repo = write(
        tmp_path / "repo",
        {
            ".guidecheck.yaml": "limits:\n  max-file-bytes: 1024\n",
            "chart/Chart.yaml": "apiVersion: v2\nname: big\nversion: 0.1.0\n",
            "chart/templates/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: big}
            data:
              big: "{{ range until 20000 }}x{{ end }}"
            """,
        },
    )
    p, report = scan_json(run_cli, "--config", str(repo / ".guidecheck.yaml"), "--select", "GC401", str(repo))
    [f] = findings(report)
    assert "more than the 8.2 kB guidecheck reads" in f["message"] and f["path"] == f"{repo}/chart/Chart.yaml"


def test_sarif_carries_the_origin_and_values_lines(tmp_path, run_cli):
    chart = tmp_path / "shop"
    shutil.copytree(SHOP, chart)
    (chart / "values.yaml").write_text((chart / "values.yaml").read_text().replace("0.4.1-77aa0c1", "latest"))
    p = run_cli("scan", "--isolated", "-f", "sarif", "--select", "GC306", "shop", cwd=tmp_path)
    [res] = json.loads(p.stdout)["runs"][0]["results"]
    assert (
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "shop/charts/worker/templates/deployment.yaml"
    )
    assert res["properties"]["origin"]["template"] == "shop/charts/worker/templates/deployment.yaml"
    rel = sorted(
        (
            r["physicalLocation"]["artifactLocation"]["uri"],
            r["physicalLocation"]["region"]["startLine"],
            r["message"]["text"],
        )
        for r in res["relatedLocations"]
    )
    assert rel == [
        ("shop/charts/worker/values.yaml", 4, "value image.repository"),
        ("shop/values.yaml", 9, "value image.tag"),
    ]


def test_a_set_value_is_traced_to_the_command_line(run_cli):
    p, report = scan_json(run_cli, "--select", "GC306", "--set", "image.tag=latest", "--profile", "cli", str(SHOP))
    [f] = findings(report)
    assert f["container"] == "front" and f["path"] == f"{SHOP}/templates/deployment.yaml" and f["line"] == 18
    assert {"key": "image.tag", "set": "image.tag"} in f["origin"]["values"]
    text = run_cli(
        "scan", "--isolated", "--select", "GC306", "--set", "image.tag=latest", "--profile", "cli", str(SHOP)
    ).stdout
    assert "profile cli, values " in text and "--set image.tag" in text


def test_render_false_checks_chart_yaml_only(tmp_path, run_cli):
    shutil.copytree(FIXTURES / "rules" / "GC401" / "fail-chart-yaml", tmp_path / "chart")
    (tmp_path / ".guidecheck.yaml").write_text("helm:\n  render: false\n")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    p = run_cli("scan", "--select", "GC401", "chart/templates/deployment.yaml", cwd=tmp_path, env=env)
    assert p.returncode == 1 and "incomplete" not in p.stdout
    assert "chart/Chart.yaml:3:1: error GC401 Chart.yaml version '1.4'" in p.stdout


def test_each_value_profile_has_its_own_fingerprint(run_cli):
    """The same finding in two value profiles is two deployments: a baseline entry accepts one of them."""
    report = json.loads(
        run_cli("scan", "--isolated", "-f", "json", "--select", "GC405", "--set", "replicaCount=2", str(SHOP)).stdout
    )
    prints = {
        f["origin"]["profile"]: f["fingerprint"]
        for f in findings(report, "GC405")
        if f["object"]["name"] == "release-name-worker"
    }
    assert set(prints) == {"default", "cli"}  # the worker lacks a liveness probe in both renderings
    assert prints["default"] != prints["cli"]


def test_values_inside_with_blocks_are_traced(tmp_path, run_cli):
    """``{{ with .Values.x }}`` moves the dot: ``toYaml .`` and ``.tag`` below it read x and x.tag."""
    chart = svc_chart(
        tmp_path,
        """
        containers:
          - name: svc
            {{- with .Values.image }}
            image: "{{ .repository }}:{{ .tag }}"
            {{- end }}
            {{- with .Values.resources }}
            resources:
              {{- toYaml . | nindent 12 }}
            {{- end }}
        {{- define "unused" }}{{ .tag }}{{ end }}
        """,
        values="""
        image:
          repository: registry.example/svc
          tag: latest
        resources:
          limits:
            cpu: 500m
        """,
    )
    p, report = scan_json(run_cli, "--select", "GC306", str(chart))
    [f] = findings(report)
    assert (f["path"], f["line"]) == (f"{chart}/templates/deployment.yaml", 15)
    assert [(v["key"], v["line"]) for v in f["origin"]["values"]] == [("image.repository", 2), ("image.tag", 3)]


def test_empty_tag_traced_to_app_version(tmp_path, run_cli):
    """``tag: ""`` with ``| default .Chart.AppVersion``: the deployed tag is Chart.yaml's appVersion (issue 12)."""
    chart = svc_chart(
        tmp_path,
        """
        containers:
          - name: svc
            image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
        """,
        values="""
        image:
          repository: registry.example/svc
          tag: ""
        """,
        app_version="latest",
    )
    p, report = scan_json(run_cli, "--select", "GC306", "svc", cwd=str(tmp_path))
    [f] = findings(report)
    assert (f["path"], f["line"]) == ("svc/templates/deployment.yaml", 14)
    assert [(v["key"], v["path"], v["line"]) for v in f["origin"]["values"]] == [
        ("image.repository", "svc/values.yaml", 2),
        ("image.tag", "svc/Chart.yaml", 4),
    ]
    assert chart.is_dir()


def test_template_actions_know_the_dot():
    text = textwrap.dedent("""\
        {{- with .Values.probes }}
        livenessProbe:
          {{- toYaml .liveness | nindent 8 }}
          {{- with .readiness }}
        readinessProbe: {{ toYaml . }}
          {{- else }}
        other: {{ .fallback }}
          {{- end }}
        {{- end }}
        {{- define "named" }}{{ .tag }}{{ end }}
        {{- range $i, $c := .Values.containers }}{{ $c.image }}{{ end }}
        {{ $.Values.top }}
        """)
    reads = {
        line: [r for body, dot in acts for r in _action_refs(body, dot)]
        for line, acts in template_actions(text).items()
    }
    assert reads[3] == ["probes.liveness"]
    assert reads[5] == ["probes.readiness"]
    assert reads[7] == ["probes.fallback"]  # else of a with: the outer dot
    assert reads[10] == []  # a named template's dot is its caller's: unknown here
    assert reads[11] == ["containers"] and reads[12] == ["top"]


def test_a_missing_field_is_traced_to_the_values_its_block_reads(tmp_path, run_cli):
    """GC403/GC404 and GC405 land on the container's line; the values that would set the field are named."""
    chart = svc_chart(
        tmp_path,
        """
        containers:
          - name: svc
            image: {{ .Values.image }}
            resources:
              {{- toYaml .Values.resources | nindent 12 }}
            {{- if .Values.livenessProbe.enabled }}
            livenessProbe:
              httpGet: {path: {{ .Values.livenessProbe.path }}, port: 8080}
            {{- end }}
          - name: proxy
            image: {{ .Values.sidecar.image }}
        """,
        values="""
        image: registry.example/svc:1.4.2-3f2c1ab
        resources: {}
        livenessProbe:
          enabled: false
          path: /healthz
        sidecar:
          image: registry.example/proxy:2.0.1-77aa0c1
        """,
    )
    p, report = scan_json(run_cli, "--select", "GC403,GC404,GC405", str(chart))
    got = {
        (f["rule_id"], f["container"]): (
            f["line"],
            [(v["key"], v["line"]) for v in f.get("origin", {}).get("values", [])],
        )
        for f in findings(report)
    }
    assert got[("GC403", "svc")] == (13, [("resources", 2)])
    assert got[("GC404", "svc")] == (13, [("resources", 2)])
    assert got[("GC405", "svc")] == (13, [("livenessProbe.enabled", 4), ("livenessProbe.path", 5)])
    # the proxy container's block reads no such values: nothing to trace, and nothing borrowed from 'svc'
    assert got[("GC403", "proxy")] == (21, []) and got[("GC405", "proxy")] == (21, [])
    text = run_cli("scan", "--isolated", "--select", "GC403", str(chart)).stdout
    assert f"values {chart}/values.yaml:2 (resources)" in text


def test_a_deselected_gc401_never_lets_an_unrendered_chart_pass(tmp_path, run_cli):
    """--select GC403 on a chart that does not render: exit 3 naming Helm's error, not a clean pass;
    a chart that renders with a GC401 metadata finding (apiVersion v1) is checked, so not incomplete."""
    chart = write(
        tmp_path / "svc",
        {
            "Chart.yaml": SVC_CHART_YAML,
            "templates/deployment.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: {{ include "svc.fullname" . }}
            """,
        },
    )
    p = run_cli("scan", "--isolated", "--select", "GC403", str(chart))
    assert p.returncode == 3, p.stdout + p.stderr
    assert (
        "could not be checked and GC401 (Helm charts and kustomizations are valid and render) is not enabled"
        in p.stdout
    )
    assert f"{chart}/templates/deployment.yaml:4: helm template failed [profile default]" in p.stdout
    (chart / "Chart.yaml").write_text("apiVersion: v1\nname: svc\nversion: 1.0.0\n")
    (chart / "templates" / "deployment.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: app\n      image: a:1\n"
    )
    p = run_cli("scan", "--isolated", "--select", "GC403", str(chart))
    assert p.returncode == 1 and "incomplete" not in p.stdout and "GC403" in p.stdout, p.stdout
    assert "GC401" in run_cli("scan", "--isolated", "--select", "GC401", str(chart)).stdout  # it is a GC401 finding


def _mapped(rendered: str, template: str) -> dict[str, int]:
    """Each rendered line's text -> the template line it is traced to (last one wins on repeats)."""
    r, t = textwrap.dedent(rendered).splitlines(), textwrap.dedent(template).splitlines()
    return {line.strip(): tl for line, (tl, _shift) in zip(r, align(r, t), strict=False)}


def test_align_does_not_pair_a_document_with_another_document_of_its_template():
    template = """\
        {{- if .Values.serviceAccount.create }}
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: {{ .Values.name }}
        ---
        {{- end }}
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Values.name }}
        """
    got = _mapped("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\n", template)
    assert got == {"apiVersion: apps/v1": 8, "kind: Deployment": 9, "metadata:": 10, "name: cart": 11}


def test_align_keeps_a_container_on_its_own_lines_when_another_block_reads_the_same():
    """difflib paired the first container's toYaml probe with the second's literal probe (the longest
    block) and put the whole second container on one line of it (prometheus' deploy.yaml)."""
    template = """\
        containers:
          - name: reload
            {{- with .Values.reload.probe }}
            readinessProbe:
              {{- toYaml . | nindent 8 }}
            {{- end }}
          - name: server
            {{- if .Values.image.digest }}
            image: "{{ .Values.image.repository }}@{{ .Values.image.digest }}"
            {{- else }}
            image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
            {{- end }}
            ports:
              - containerPort: 9090
            readinessProbe:
              {{- if not .Values.tcp }}
              httpGet:
                path: /-/ready
                port: 9090
                scheme: HTTP
              {{- end }}
              periodSeconds: 5
        volumes:
          - name: config
            configMap: {name: cfg}
          {{- range .Values.extraMounts }}
          - name: {{ .name }}
            hostPath: {path: {{ .path }}}
          {{- end }}
          - name: {{ $storage }}
            persistentVolumeClaim:
              claimName: data
        """
    rendered = """\
        containers:
          - name: reload
            readinessProbe:
              httpGet:
                path: /healthz
                port: 9533
                scheme: HTTP
              periodSeconds: 10
          - name: server
            image: "quay.io/prometheus/prometheus:v3.14.0"
            ports:
              - containerPort: 9090
            readinessProbe:
              httpGet:
                path: /-/ready
                port: 9090
                scheme: HTTP
              periodSeconds: 5
        volumes:
          - name: config
            configMap: {name: cfg}
          - name: storage-volume
            persistentVolumeClaim:
              claimName: data
        """
    got = _mapped(rendered, template)
    assert got["- name: server"] == 7
    assert got['image: "quay.io/prometheus/prometheus:v3.14.0"'] == 11  # the tag branch, not the digest one
    assert got["- containerPort: 9090"] == 14 and got["path: /-/ready"] == 18
    assert got["- name: storage-volume"] == 30  # next to its persistentVolumeClaim, not the empty range's


def _full_table_pairs(a, b, lo, weight):
    """The heaviest common subsequence by the full dynamic programme (every cell), traced back as align does."""
    ids: dict = {}
    ai = [ids.setdefault(x, len(ids)) for x in a]
    bi = [ids.get(x, -1) for x in b]
    na, nb = len(ai), len(bi)
    w = {}
    table = [[0] * (nb + 1) for _ in range(na + 1)]
    for i in range(na - 1, -1, -1):
        for j in range(nb - 1, -1, -1):
            best = max(table[i + 1][j], table[i][j + 1])
            if ai[i] == bi[j]:
                w[i, j] = weight(lo + i, lo + j)
                best = max(best, table[i + 1][j + 1] + w[i, j])
            table[i][j] = best
    out, i, j = {}, 0, 0
    while i < na and j < nb:
        if ai[i] == bi[j] and table[i][j] == table[i + 1][j + 1] + w[i, j]:
            if a[i][0] != "#":
                out[lo + i] = lo + j
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def test_sparse_heaviest_pairs_is_the_full_dynamic_programme():
    """_heaviest_pairs computes only the cells a match changes: the same pairs as every cell computed, on
    random sequences (few and many distinct keys, weights 1-3, blank and comment lines that never pair)."""
    import random

    from guidecheck.parsers.helm_template import _heaviest_pairs

    rng = random.Random(14)
    for trial in range(3000):
        keys = rng.randint(1, 12)
        a = [
            ("#", False, i) if rng.random() < 0.15 else (rng.choice([0, 2, 4]), rng.randint(0, keys))
            for i in range(rng.randint(0, 30))
        ]
        b = [
            ("#", True, i) if rng.random() < 0.15 else (rng.choice([0, 2, 4]), rng.randint(0, keys))
            for i in range(rng.randint(0, 30))
        ]
        salt = rng.randint(0, 1000)

        def weight(i, j, salt=salt):
            return 1 + (i * 7 + j * 3 + salt) % 3

        lo = rng.randint(0, 3)
        assert _heaviest_pairs(a, b, lo, weight) == _full_table_pairs(a, b, lo, weight), trial


def test_line_pattern_has_one_wildcard_per_run_of_actions():
    """A run of actions with no text between them is one ``.*``: the same lines match, and ingress-nginx's
    ``image: {{ if .repository }}{{ .repository }}{{ else }}...`` no longer backtracks through every way of
    splitting a digest among ten wildcards (0.2 s of CPU per comparison)."""
    from guidecheck.parsers.helm_template import _line_pattern

    line = (
        "          image: {{ if .repository }}{{ .repository }}{{ else }}{{ .registry }}/{{ .image }}{{ end }}"
        ":{{ .tag }}{{ if .digest }}@{{ .digest }}{{ end }}"
    )
    p = _line_pattern(line)
    assert p.pattern == r"image:\ (?>.*?:).*"  # the literal between, at its first place (globs.wildcards)
    assert p.fullmatch("image: registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:" + "5" * 64)
    assert not p.fullmatch("image: registry.k8s.io/ingress-nginx/controller")
    q = _line_pattern("name: {{ .a }}-{{ .b }}{{ .c }}x")
    assert q.pattern == r"name:\ (?>.*?\-).*x" and q.fullmatch("name: a-bcx") and not q.fullmatch("name: abcx")


def _targets_of(loaded) -> list[tuple[str, str, int, str]]:
    return [(t.kind, t.path, t.line, str(t.ref)) for t in loaded.targets]


def test_charts_render_while_the_files_are_read_and_the_targets_are_the_same(tmp_path, monkeypatch):
    """load() starts helm template right after the walk (helm.start), before it reads and parses the files;
    extend() takes the renders where it always did: the same targets in the same order as when Helm only
    starts after the files are read."""
    from guidecheck import loaders

    svc_chart(tmp_path, "containers:\n  - name: app\n    image: {{ .Values.image }}\n", "image: nginx:1.27\n")
    write(tmp_path, {"manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
    seen: list[tuple[bool, bool]] = []
    real_read = loaders._read_paths

    def reading(plan, config, out):
        started = out.pending.get("guidecheck.loaders.helm")
        renders = getattr(started, "renders", None)
        # one chart: its render is under way in a pool thread (not left for extend() to run)
        seen.append(
            (renders is not None and renders.pool is not None, renders is not None and os.path.isdir(renders.tmp))
        )
        seen.append((not out.targets, True))  # nothing read yet
        return real_read(plan, config, out)

    monkeypatch.setattr(loaders, "_read_paths", reading)
    early = load([str(tmp_path)], Config())
    assert seen == [(True, True), (True, True)]
    assert not early.pending
    monkeypatch.setattr(loaders, "EARLY", ())  # Helm renders from extend() alone, after the files are read
    late = load([str(tmp_path)], Config())
    assert _targets_of(early) == _targets_of(late)
    assert any(t.kind == "k8s" and t.path.endswith("templates/deployment.yaml") for t in early.targets)


def test_renders_started_before_an_error_while_reading_are_stopped(tmp_path, monkeypatch):
    """An exception while the files are read leaves no render running and no sandbox behind."""
    from guidecheck import loaders

    svc_chart(tmp_path, "containers:\n  - name: app\n    image: nginx:1.27\n", "{}\n")
    sandboxes: list[object] = []

    def failing(plan, config, out):
        sandboxes.append(out.pending["guidecheck.loaders.helm"].renders)
        raise RuntimeError("boom")

    monkeypatch.setattr(loaders, "_read_paths", failing)
    with pytest.raises(RuntimeError, match="boom"):
        load([str(tmp_path)], Config())
    (renders,) = sandboxes
    assert renders.pool is None and not os.path.exists(renders.tmp)


def test_files_named_one_by_one_render_their_chart_after_reading(tmp_path, monkeypatch):
    """pre-commit names files: the chart a file belongs to is found and rendered by extend() as before."""
    from guidecheck import loaders

    chart = svc_chart(tmp_path, "containers:\n  - name: app\n    image: nginx:1.27\n", "{}\n")
    pending: list[dict] = []
    real_read = loaders._read_paths

    def reading(plan, config, out):
        pending.append(dict(out.pending))
        return real_read(plan, config, out)

    monkeypatch.setattr(loaders, "_read_paths", reading)
    monkeypatch.chdir(tmp_path)
    loaded = load([str((chart / "values.yaml").relative_to(tmp_path))], Config())
    assert pending == [{}]
    assert any(t.kind == "k8s" and t.origin.get("source") == "helm" for t in loaded.targets)


REQUIRED_VALUE_CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: exporter\nversion: 1.0.0\n",
    "chart/values.yaml": "image: exporter:1.0.0\npassword: ''\n",
    "chart/templates/deploy.yaml": """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: exporter
    spec:
      selector: {matchLabels: {app: exporter}}
      template:
        metadata: {labels: {app: exporter}}
        spec:
          containers:
            - name: exporter
              image: {{ .Values.image }}
              env: [{name: PASSWORD, value: {{ required "password is required" .Values.password | quote }}}]
    """,
}


def test_a_chart_whose_defaults_need_values_renders_with_chart_testing_s_ci_values(tmp_path, run_cli):
    """prometheus-postgres-exporter `required`s a password; chart-testing installs it with ci/*-values.yaml."""
    write(
        tmp_path / "repo",
        {
            **REQUIRED_VALUE_CHART,
            "chart/ci/default-values.yaml": "password: from-ci\n",
            "chart/ci/other-values.yaml": "password: other\n",
        },
    )
    p, report = scan_json(run_cli, "--select", "GC401,GC403", "repo", cwd=tmp_path)
    got = sorted(
        (f["rule_id"], f["severity"], f["path"], f["line"], f["origin"].get("profile")) for f in findings(report)
    )
    assert got == [
        ("GC401", "info", "repo/chart/Chart.yaml", 1, "default"),
        ("GC403", "error", "repo/chart/templates/deploy.yaml", 11, "ci/default-values.yaml"),
    ]
    [note] = findings(report, "GC401")
    assert "password is required" in note["message"] and "helm.charts" not in note["message"], note["message"]
    assert (
        "rendered with chart-testing's ci/default-values.yaml instead (the other 1 ci/*-values.yaml" in note["message"]
    )
    assert p.returncode == 1 and not report.get("incomplete")


def test_without_ci_values_or_when_they_fail_too_the_default_failure_is_the_finding(tmp_path, run_cli):
    write(tmp_path / "none", REQUIRED_VALUE_CHART)
    _p, report = scan_json(run_cli, "--select", "GC401", "none", cwd=tmp_path)
    [f] = findings(report)
    assert (f["severity"], f["path"], f["line"]) == ("error", "none/chart/templates/deploy.yaml", 13)
    assert "[profile default]" in f["message"] and "password is required" in f["message"]
    repo = write(tmp_path / "failing", {**REQUIRED_VALUE_CHART, "chart/ci/a-values.yaml": "image: x:1.0.0\n"})
    assert repo.is_dir()
    _p, report = scan_json(run_cli, "--select", "GC401", "failing", cwd=tmp_path)
    got = sorted((f["severity"], f["origin"].get("profile")) for f in findings(report))
    assert got == [("error", "ci/a-values.yaml"), ("error", "default")], report["findings"]


def test_the_ci_values_note_waits_for_the_ci_render_not_another_profile(tmp_path, run_cli):
    write(
        tmp_path / "repo",
        {
            **REQUIRED_VALUE_CHART,
            "chart/values-prod.yaml": "password: prod\n",
            "chart/ci/default-values.yaml": "password: from-ci\n",
            "org.yaml": "helm:\n  profiles:\n    prod: [values-prod.yaml]\n",
        },
    )
    _p, report = scan_json(run_cli, "--config", "repo/org.yaml", "--select", "GC401,GC403", "repo", cwd=tmp_path)
    got = sorted((f["rule_id"], f["severity"], f["origin"].get("profile")) for f in findings(report))
    assert got == [
        ("GC401", "info", "default"),
        ("GC403", "error", "ci/default-values.yaml"),
        ("GC403", "error", "prod"),
    ]
    [note] = findings(report, "GC401")
    assert "rendered with chart-testing's ci/default-values.yaml instead" in note["message"]
    # the ci/ file fails too: the default's failure is the finding, whatever another profile did
    (tmp_path / "repo" / "chart" / "ci" / "default-values.yaml").write_text("image: x:1.0.0\n")
    _p, report = scan_json(run_cli, "--config", "repo/org.yaml", "--select", "GC401", "repo", cwd=tmp_path)
    got = sorted((f["severity"], f["origin"].get("profile")) for f in findings(report))
    assert got == [("error", "ci/default-values.yaml"), ("error", "default")], report["findings"]


def test_a_rendered_duplicate_key_names_template_lines(tmp_path, run_cli):
    """helm/charts' rethinkdb renders its values' probe and a literal `exec:` under one key: the message named
    lines of the rendered document (80 and 88), which the template reported does not have."""
    write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: db\nversion: 1.0.0\n",
            "chart/values.yaml": "probe:\n  exec: {command: [a]}\n  periodSeconds: 5\n",
            "chart/templates/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: db
            data:
              probe:
            {{ toYaml .Values.probe | indent 4 }}
                exec: b
            """,
        },
    )
    _p, report = scan_json(run_cli, "--select", "GC001", "repo", cwd=tmp_path)
    [f] = findings(report)
    assert (f["path"], f["line"]) == ("repo/chart/templates/cm.yaml", 8), f
    assert "duplicate key 'exec' at lines 6 and 8" in f["message"], f["message"]


def test_a_helm_2_chart_is_told_to_move_requirements_yaml_only_when_it_has_one(tmp_path, run_cli):
    chart = "apiVersion: v1\nname: {}\nversion: 1.0.0\n"
    write(
        tmp_path / "repo",
        {
            "plain/Chart.yaml": chart.format("plain"),
            "plain/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\n",
            "deps/Chart.yaml": chart.format("deps"),
            "deps/requirements.yaml": "dependencies: []\n",
            "deps/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
        },
    )
    _p, report = scan_json(run_cli, "--select", "GC401", "repo", cwd=tmp_path)
    got = {f["path"]: f["message"] for f in findings(report) if "apiVersion: v1" in f["message"]}
    assert got == {
        "repo/plain/Chart.yaml": "Chart.yaml has apiVersion: v1 (a Helm 2 chart): use apiVersion: v2",
        "repo/deps/Chart.yaml": "Chart.yaml has apiVersion: v1 (a Helm 2 chart): use apiVersion: v2 and move "
        "requirements.yaml into Chart.yaml's dependencies",
    }


def _packed_subchart(tmp_path: Path, templates: dict[str, str]) -> Path:
    """A service chart that vendors the subchart frr 0.0.25 as charts/frr-0.0.25.tgz, with these templates."""
    import io
    import tarfile

    repo = svc_chart(tmp_path / "repo", "containers:\n  - name: app\n    image: app:1.0.0\n", "{}\n")
    (repo / "Chart.yaml").write_text(
        textwrap.dedent(SVC_CHART_YAML) + "dependencies:\n  - name: frr\n    version: 0.0.25\n"
        "    repository: https://example.com/charts\n"
    )
    sub = {"frr/Chart.yaml": "apiVersion: v2\nname: frr\nversion: 0.0.25\n"}
    sub |= {f"frr/templates/{name}": text for name, text in templates.items()}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in sub.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (repo / "charts").mkdir()
    (repo / "charts" / "frr-0.0.25.tgz").write_bytes(buf.getvalue())
    return repo


def test_a_packed_subchart_s_objects_are_reported_on_its_archive(tmp_path, run_cli):
    """metallb vendors frr-k8s as charts/frr-k8s-0.0.25.tgz: its objects sat on the made-up path
    charts/metallb/metallb/charts/frr-k8s/templates/..., a file that exists nowhere. They are reported on the
    archive, line 1, and the parent's own objects on their template lines as before."""
    ds = (
        textwrap.dedent(SVC_DEPLOYMENT).replace("svc", "frr").replace("Deployment", "DaemonSet")
        + "      containers:\n        - name: frr\n          image: frr:1.0.0\n"
    )
    repo = _packed_subchart(tmp_path, {"ds.yaml": ds})
    p, report = scan_json(run_cli, "--select", "GC403", str(repo))
    got = sorted((f["path"].replace(str(repo), "svc"), f["line"], f["container"]) for f in findings(report, "GC403"))
    assert got == [("svc/charts/frr-0.0.25.tgz", 1, "frr"), ("svc/templates/deployment.yaml", 13, "app")], got


def test_a_packed_subchart_s_parse_error_names_its_template_and_rendered_lines(tmp_path, run_cli):
    """milvus vendors pulsar as charts/pulsar-2.7.8.tgz, whose proxy ConfigMap renders a key twice: the finding
    sits on the archive's line 1 and said "duplicate key 'httpNumThreads' at lines 1 and 1". It names the
    template inside the archive and keeps the lines of its rendered output."""
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: frr\ndata:\n  threads: '4'\n  other: x\n  threads: '8'\n"
    repo = _packed_subchart(tmp_path, {"cm.yaml": cm})
    _p, report = scan_json(run_cli, "--select", "GC001", str(repo))
    got = [(f["path"].replace(str(repo), "svc"), f["line"], f["message"]) for f in findings(report, "GC001")]
    assert got == [
        (
            "svc/charts/frr-0.0.25.tgz",
            1,
            "rendered output [profile default] of frr/templates/cm.yaml (in the archive; lines of its rendered "
            "output): duplicate key 'threads' at lines 6 and 8 (the last value is used, as Kubernetes does)",
        )
    ], got


def test_a_chart_value_the_release_rewrites_with_yq_is_a_placeholder(tmp_path, run_cli):
    """kubernetes-sigs/jobset's values.yaml says image.tag: main, and hack/helm-chart-package.sh sets
    .image.tag to the release's git tag with `${YQ} e ... -i charts/jobset/values.yaml` before `helm package`:
    the committed tag is the placeholder the release fills in. Without that script, it floats."""
    repo = tmp_path / "repo"
    svc_chart(
        repo / "charts",
        'containers:\n  - name: app\n    image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n',
        "image:\n  repository: registry.example.com/svc\n  tag: main\n",
    )
    _p, report = scan_json(run_cli, "--select", "GC306", str(repo))
    assert [f["message"].split("'")[1] for f in findings(report, "GC306")] == ["registry.example.com/svc:main"]
    (repo / "hack").mkdir()
    (repo / "hack" / "package.sh").write_text(
        "#!/bin/sh\nYQ=${YQ:-./bin/yq}\n"
        '${YQ}  e  ".image.repository = \\"${REGISTRY}/svc\\" | .image.tag = \\"${GIT_TAG}\\"" -i charts/svc/values.yaml\n'
        "helm package charts/svc\n"
    )
    _p, report = scan_json(run_cli, "--select", "GC306", str(repo))
    assert findings(report, "GC306") == [], report["findings"]


def test_a_rendered_block_s_lines_are_the_template_lines_that_made_them(tmp_path, run_cli):
    """aws-for-fluent-bit's ConfigMap holds fluent-bit.conf with {{- if }} blocks: the [OUTPUT] that is not Loki
    sat at 'block start + offset in the rendered text' (template line 39, an {{- end }}), not on its own line."""
    conf = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fb\ndata:\n  fluent-bit.conf: |\n"
        "    [SERVICE]\n        Flush 1\n"
        "{{- if .Values.extra }}\n    [INPUT]\n        Name dummy\n{{- end }}\n"
        "{{- range .Values.inputs }}\n    [INPUT]\n        Name {{ . }}\n        Tag kube.*\n{{- end }}\n"
        "{{- if .Values.cloudwatch }}\n    [OUTPUT]\n        Name cloudwatch_logs\n        Match *\n{{- end }}\n"
    )
    repo = write(
        tmp_path / "repo",
        {
            "fb/Chart.yaml": "apiVersion: v2\nname: fb\nversion: 1.0.0\n",
            "fb/values.yaml": "extra: false\ninputs: [tail, systemd, cpu]\ncloudwatch: true\n",
            "fb/templates/configmap.yaml": conf,
        },
    )
    p, report = scan_json(run_cli, "--select", "GC504", str(repo))
    got = [(f["path"].replace(str(repo) + "/", ""), f["line"]) for f in findings(report, "GC504")]
    output_line = conf.split("\n").index("    [OUTPUT]") + 1
    assert got == [("fb/templates/configmap.yaml", output_line)], (got, output_line)


def test_a_chart_that_asks_for_its_namespace_names_the_setting_that_gives_it(tmp_path, run_cli):
    """rancher/fleet's fleet-agent fails unless rendered in cattle-fleet-system; helm.charts.<dir>.namespace gives
    that namespace, and the chart renders."""
    files = {
        **REQUIRED_VALUE_CHART,
        "chart/values.yaml": "image: x:1.0.0\npassword: p\n",
        "chart/templates/validate.yaml": '{{ if ne .Release.Namespace "cattle-fleet-system" }}\n'
        '{{ fail "This chart must be installed in the cattle-fleet-system namespace" }}\n{{ end }}\n',
    }
    write(tmp_path / "repo", files)
    _p, report = scan_json(run_cli, "--select", "GC401", "repo", cwd=tmp_path)
    [f] = findings(report)
    assert "must be installed in the cattle-fleet-system namespace" in f["message"], f["message"]
    assert "helm.charts.<chart dir>.namespace / release-name" in f["message"], f["message"]
    write(
        tmp_path / "repo", {".guidecheck.yaml": "helm:\n  charts:\n    chart:\n      namespace: cattle-fleet-system\n"}
    )
    # (scan_json runs --isolated: the configuration is given as the organisation's)
    _p, report = scan_json(run_cli, "--select", "GC401", "--config", "repo/.guidecheck.yaml", "repo", cwd=tmp_path)
    assert findings(report) == [], report["findings"]


def test_a_long_schema_reference_shows_its_file_and_its_definition():
    """nginx-ingress's values.schema.json refers to file://./.../_definitions.json#/definitions/<a long name>: cut
    in the middle, the message keeps both the file and the definition, and marks the cut."""
    from guidecheck.loaders.helm.render import _middle

    ref = "file://./helm-charts/nginx-ingress/v1.32.3/_definitions.json#/definitions/io.k8s.api.policy.v1." + (
        "PodDisruptionBudgetSpec/properties/minAvailable"
    )
    shown = _middle(ref)
    assert len(shown) == 100 and shown.count("…") == 1, shown
    assert shown.startswith("file://./helm-charts/") and shown.endswith(
        "PodDisruptionBudgetSpec/properties/minAvailable"
    )
    assert _middle("#/definitions/short") == "#/definitions/short"


def test_a_kept_rendering_of_a_chart_is_not_judged_again(run_cli, tmp_path):
    """envoy-gateway keeps each test's expected `helm template` output (test/helm/gateway-helm/*.out.yaml) and
    pyroscope a rendering per mode inside its chart (rendered/*.yaml): the chart is rendered and judged itself,
    so its defects are not reported again on the copies. The same output published as an install manifest
    (volcano's installer/volcano-development.yaml), or a rendering of a chart that is not in the scan, is
    judged; a copy's syntax is checked all the same."""
    svc_chart(tmp_path, "containers: [{name: svc, image: 'nginx:latest'}]\n", "{}\n")
    rendered = (
        "---\n# Source: {chart}/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\n"
        "metadata: {{name: svc}}\nspec:\n  selector: {{matchLabels: {{app: svc}}}}\n  template:\n"
        "    metadata: {{labels: {{app: svc}}}}\n    spec:\n      containers: [{{name: svc, image: 'nginx:latest'}}]\n"
    )
    write(
        tmp_path,
        {
            "test/helm/svc/default.out.yaml": rendered.format(chart="svc"),
            "svc/rendered/default.yaml": rendered.format(chart="svc"),
            "install/svc.yaml": rendered.format(chart="svc"),
            "test/helm/other/default.out.yaml": rendered.format(chart="other"),
            "test/helm/svc/broken.out.yaml": "# Source: svc/templates/deployment.yaml\na: [1,\n",
        },
    )
    _p, report = scan_json(run_cli, "--select", "GC001,GC306", str(tmp_path))
    got = sorted({(Path(f["path"]).relative_to(tmp_path).as_posix(), f["rule_id"]) for f in findings(report)})
    assert got == [
        ("install/svc.yaml", "GC306"),
        ("svc/templates/deployment.yaml", "GC306"),
        ("test/helm/other/default.out.yaml", "GC306"),
        ("test/helm/svc/broken.out.yaml", "GC001"),
    ], got
