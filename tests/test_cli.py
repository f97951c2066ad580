"""The command line through the real console script: exit codes, formats, options."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from conftest import FIXTURES

FAIL_CASE = FIXTURES / "rules" / "GC403" / "fail-no-limits"
PASS_CASE = FIXTURES / "rules" / "GC403" / "pass-limits"


def test_version(run_cli):
    from guidecheck import __version__

    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"guidecheck {__version__}"


def test_exit_1_on_findings_and_compiler_style_lines(run_cli):
    r = run_cli("scan", str(FAIL_CASE / "deployment.yaml"), "--select", "GC403")
    assert r.returncode == 1, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"{FAIL_CASE / 'deployment.yaml'}:10:11: ")
    assert " error GC403 " in first and "guideline 4.b" in first


def test_exit_0_when_clean(run_cli):
    r = run_cli("scan", str(PASS_CASE / "deployment.yaml"), "--isolated", "--select", "GC403")
    assert r.returncode == 0, r.stdout + r.stderr


def test_fail_on_never_and_warning(run_cli, tmp_path):
    r = run_cli("scan", str(FAIL_CASE / "deployment.yaml"), "--fail-on", "never", "--select", "GC403")
    assert r.returncode == 0
    assert "GC403" in r.stdout


def test_severity_override_changes_exit(run_cli, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("severity: {GC403: warning}\nselect: [GC403]\n")
    r = run_cli("scan", str(FAIL_CASE / "deployment.yaml"), "--config", str(cfg))
    assert r.returncode == 0, r.stdout
    assert " warning GC403 " in r.stdout
    r = run_cli("scan", str(FAIL_CASE / "deployment.yaml"), "--config", str(cfg), "--fail-on", "warning")
    assert r.returncode == 1


def test_usage_errors_exit_2(run_cli, tmp_path):
    assert run_cli("scan", "--format", "xml").returncode == 2
    assert run_cli("scan", ".", "--select", "GC999").returncode == 2
    assert run_cli("scan", ".", "--config", str(tmp_path / "missing.yaml")).returncode == 2
    assert run_cli("explain", "GC999").returncode == 2
    assert run_cli("scan", ".", "-f", "json", "-f", "text").returncode == 2  # two formats on stdout
    assert run_cli("scan", ".", "-o", "x.json", "-f", "json").returncode == 2  # --output before any --format


def test_bad_config_exit_2_names_key(run_cli, tmp_path):
    (tmp_path / ".guidecheck.yaml").write_text("disable: ['*']\n")
    (tmp_path / "d.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    r = run_cli("scan", str(tmp_path))
    assert r.returncode == 2
    assert "unknown key 'disable'" in r.stderr
    # --isolated ignores the repository's configuration
    r = run_cli("scan", str(tmp_path), "--isolated", "--select", "GC001,GC403")
    assert r.returncode == 0, r.stdout + r.stderr


def test_select_ignore(run_cli):
    r = run_cli("scan", str(FAIL_CASE), "--select", "GC001", "-f", "json")
    data = json.loads(r.stdout)
    assert [x["id"] for x in data["rules"]] == ["GC001"]
    assert r.returncode == 0
    r = run_cli("scan", str(FAIL_CASE), "--ignore", "GC4", "-f", "json")
    assert not any(f["rule_id"].startswith("GC4") for f in json.loads(r.stdout)["findings"])


def test_multiple_outputs(run_cli, tmp_path):
    j, x = tmp_path / "r.json", tmp_path / "r.xml"
    # each --output belongs to the --format right before it; the text report goes to stdout
    r = run_cli(
        "scan",
        str(FAIL_CASE),
        "-f",
        "text",
        "--format=json",
        "-o",
        str(j),
        "-f",
        "junit",
        f"--output={x}",
        "--select",
        "GC403",
    )
    assert r.returncode == 1
    assert " error GC403 " in r.stdout
    assert json.loads(j.read_text())["summary"]["error"] == 3
    assert x.read_text().startswith("<?xml")


def test_live_audit_without_the_kubernetes_client_says_how_to_install_it(tmp_path):
    """kubernetes is the 'audit' extra: a live audit without it exits 2 saying how to install it; dumps need nothing."""
    import subprocess
    import sys

    (tmp_path / "dump.yaml").write_text("apiVersion: v1\nkind: List\nitems: []\n")
    hide = "import sys; sys.modules['kubernetes'] = None; from guidecheck.cli import main; main()"

    def run(*args):
        return subprocess.run(
            [sys.executable, "-c", hide, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    r = run("audit", "--isolated")
    assert r.returncode == 2 and "pip install 'guidecheck[audit]'" in r.stderr, r.stderr
    r = run("audit", "--isolated", "--from-dump", "dump.yaml", "-q")
    assert r.returncode == 0, r.stderr


def test_init_writes_a_loadable_commented_configuration_with_every_default(run_cli, tmp_path):
    """The file `init` writes loads as it is (defaults), and uncommented it gives exactly the defaults."""
    import re

    from guidecheck.config import DEFAULT_SETTINGS, load_config

    assert run_cli("init", str(tmp_path)).returncode == 0
    path = tmp_path / ".guidecheck.yaml"
    text = path.read_text()
    assert "tighten" in text and "repository-config: trusted" in text
    assert load_config(str(path)).settings == DEFAULT_SETTINGS
    r = run_cli("init", str(tmp_path))
    assert r.returncode == 2 and "--force" in r.stderr
    # uncomment `settings:` and every setting line: the file then states every default, and only those
    head, tail = text.split("\n# settings:\n")
    lines = [*head.splitlines(), "settings:", *(re.sub(r"^#(   [a-z0-9-]+: )", r"\1", x) for x in tail.splitlines())]
    (tmp_path / "all.yaml").write_text("\n".join(lines) + "\n")
    config = load_config(str(tmp_path / "all.yaml"))
    assert config.settings == DEFAULT_SETTINGS and set(config.settings) == set(DEFAULT_SETTINGS)
    org = run_cli("init", "--org", "-o", "-")
    assert org.returncode == 0 and "# repository-config: tighten-only" in org.stdout
    assert "guidecheck-organisation.yaml" in org.stdout


def test_schema_report_prints_the_shipped_schema(run_cli):
    from importlib import resources

    r = run_cli("schema", "report")
    assert r.returncode == 0
    shipped = resources.files("guidecheck").joinpath("schemas", "report.schema.json").read_text(encoding="utf-8")
    assert r.stdout == shipped and json.loads(r.stdout)["properties"]["report_version"] == {"const": 1}


def test_missing_path_is_a_usage_error(run_cli, tmp_path):
    """A path that does not exist is a mistyped command line (exit 2), not a finding about a file."""
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    r = run_cli("scan", str(tmp_path / "ok.yaml"), str(tmp_path / "nope.yaml"), "-f", "json")
    assert r.returncode == 2 and r.stdout == ""
    assert "no such path: " + str(tmp_path / "nope.yaml") in r.stderr


def test_files_of_other_kinds_are_ignored(run_cli, tmp_path):
    (tmp_path / "main.go").write_text("package main\n")
    r = run_cli("scan", str(tmp_path / "main.go"))
    assert r.returncode == 0


def test_rules_and_explain(run_cli):
    r = run_cli("rules")
    assert r.returncode == 0 and "GC403" in r.stdout and "4.b" in r.stdout
    data = json.loads(run_cli("rules", "--format", "json").stdout)
    assert {"id", "severity", "bullet", "title"} <= set(data[0])
    r = run_cli("explain", "gc403")
    assert r.returncode == 0
    assert "Why:" in r.stdout and "How to fix:" in r.stdout
    assert "Passing example" in r.stdout and "Failing example" in r.stdout


def test_coverage_lists_every_bullet_and_manual_evidence(run_cli, tmp_path):
    data = json.loads(run_cli("coverage", "--format", "json", "--isolated").stdout)
    bullets = [c["bullet"] for c in data]
    assert len(bullets) == 27 and bullets[0] == "2.a" and bullets[-1] == "9.c"
    for c in data:
        assert c["rules"] or c["manual_evidence"], c  # every bullet: a rule, or manual evidence with reason
        for m in c["manual_evidence"]:
            assert m["reason"]
    sixc = next(c for c in data if c["bullet"] == "6.c")
    assert any(m["what"] == "sanitise outputs" for m in sixc["manual_evidence"])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("ignore: [GC403, GC404]\n")
    data = json.loads(run_cli("coverage", "--format", "json", "--config", str(cfg)).stdout)
    fourb = next(c for c in data if c["bullet"] == "4.b")
    assert fourb["rules"] == [] and "turned off" in fourb["manual_evidence"][-1]["reason"]


def test_version_is_fast(run_cli):
    # CPU time of the child (user + system), not wall time: a loaded machine stretches the latter
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run_cli("--version")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.returncode == 0
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 2.0, f"{cpu:.2f} s of CPU"


def test_heavy_modules_not_imported_for_scan():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from guidecheck.cli import main\n"
        f"CliRunner().invoke(main, ['scan', {str(FAIL_CASE)!r}, '-q'])\n"
        "bad = [m for m in ('kubernetes', 'openapi_spec_validator', 'junit_xml') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    assert out == ""


def test_tool_config_files_are_not_false_parse_errors(run_cli, tmp_path):
    """JSON-with-comments editor/tool configs are not read; local YAML tags are plain data."""
    (tmp_path / "tsconfig.json").write_text('{\n  // comment\n  "compilerOptions": {},\n}\n')
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "settings.json").write_text("{ /* c */ }\n")
    (tmp_path / "mkdocs.yml").write_text("emoji_index: !!python/name:material.extensions.emoji.twemoji\n")
    (tmp_path / "site.yml").write_text("site_url: !ENV [SITE_URL, 'https://x']\n")
    # JSON with comments or trailing commas is some tool's configuration unless its content says otherwise
    (tmp_path / "appsettings.json").write_text('{"a": 1,}\n')
    (tmp_path / "broken.json").write_text('{"apiVersion": "v1", "kind": "Pod",}\n')
    (tmp_path / "truncated.json").write_text('{"a": [1,\n')
    # a shell session and a log of JSON values saved as .json (percona's e2e expectations) are no JSON document;
    # the same with an object's fields is a broken manifest
    (tmp_path / "find.json").write_text('switched to db myApp\n{ "_id" : , "x" : 100500 }\nbye\n')
    (tmp_path / "lines.json").write_text('{"a": 1}\n{"a": 2}\n')
    # a jq template (pulsar's keycloak client: $ARGS.named.X); with an object's fields it is a broken manifest
    (tmp_path / "client.json").write_text('{\n  "clientId": $ARGS.named.CLIENT_ID,\n  "enabled": true\n}\n')
    (tmp_path / "svc2.json").write_text('{"apiVersion": "v1", "kind": "Service",\n "port": $PORT}\n')
    (tmp_path / "pods.json").write_text('{"apiVersion": "v1", "kind": "Pod"}\n{"apiVersion": "v1", "kind": "Pod"}\n')
    # a key given twice: markdownlint (JSON.parse) takes the last; in an object it is a finding at the second
    (tmp_path / ".markdownlint.json").write_text('{\n  "MD029": false,\n  "MD013": false,\n  "MD029": true\n}\n')
    (tmp_path / "pod.json").write_text('{"apiVersion": "v1",\n "kind": "Pod",\n "kind": "Pod"}\n')
    # a Go template of some program's JSON (jaeger's Elasticsearch index templates) is that program's; a
    # template of a Kubernetes object is read, and its placeholders are the finding
    (tmp_path / "jaeger-span.json").write_text('{\n  {{- if .UseILM }}\n  "settings": {}\n  {{- end }}\n}\n')
    (tmp_path / "svc.json").write_text('{"apiVersion": "v1", "kind": "Service",\n {{ .Extra }}}\n')
    r = run_cli("scan", str(tmp_path), "--select", "GC001", "-f", "json")
    findings = json.loads(r.stdout)["findings"]
    assert [(f["path"].rsplit("/", 1)[-1], f["line"]) for f in findings] == [
        ("broken.json", 1),
        ("pod.json", 3),
        ("pods.json", 2),
        ("svc.json", 2),
        ("svc2.json", 2),
        ("truncated.json", 2),
    ]


def test_kuttl_and_chainsaw_assertions_are_not_manifests(run_cli, tmp_path):
    """opentelemetry-operator's e2e tests assert partial Pods (containers without names or images)."""
    case = tmp_path / "tests" / "e2e" / "sidecar"
    case.mkdir(parents=True)
    (case / "chainsaw-test.yaml").write_text(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\n"
    )
    partial = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - env: [{name: A, value: b}]\n"
    (case / "01-assert.yaml").write_text(partial)
    (case / "02-errors.yaml").write_text(partial)
    (case / "01-install-app.yaml").write_text(POD_NO_LIMITS)  # what the test applies is a manifest
    (case / "otel-collector-assert.yaml").write_text(partial)  # Chainsaw names assertions freely
    (case / "install-app-errors.yaml").write_text(partial)
    # redis-operator names its assertions freely and lists them under assert: (a file applied too is deployed)
    named = tmp_path / "tests" / "e2e-chainsaw" / "setup"
    named.mkdir(parents=True)
    (named / "chainsaw-test.yaml").write_text(
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\nspec:\n  steps:\n"
        "    - try:\n        - apply: {file: secret-pod.yaml}\n        - assert: {file: ready-pod.yaml}\n"
        "        - assert: {file: secret-pod.yaml}\n"
    )
    (named / "ready-pod.yaml").write_text(partial)
    (named / "secret-pod.yaml").write_text(POD_NO_LIMITS)
    # nats-io/nack's KUTTL steps list their assertions: `assert: [asserted-natscli.yaml]`
    listed = tmp_path / "tests" / "stream-creation"
    listed.mkdir(parents=True)
    (listed / "02-natscli.yaml").write_text(
        "apiVersion: kuttl.dev/v1beta1\nkind: TestStep\napply: [natscli.yaml]\nassert: [asserted-natscli.yaml]\n"
    )
    (listed / "asserted-natscli.yaml").write_text(partial)
    kuttl = tmp_path / "tests" / "kuttl" / "basic"
    kuttl.mkdir(parents=True)
    (kuttl / "00-install.yaml").write_text(POD_NO_LIMITS.replace("name: p", "name: q"))
    (kuttl / "00-assert.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nstatus: {phase: [\n")
    # jaeger-operator renders its KUTTL steps from NN-install.yaml.template, or copies them in at test time into
    # a suite directory that holds only the assertion
    rendered = tmp_path / "tests" / "e2e" / "non-cluster-wide"
    rendered.mkdir(parents=True)
    (rendered / "01-install.yaml.template").write_text("{{ .Values }}\n")
    (rendered / "01-assert.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nstatus: {}\n")
    copied = tmp_path / "tests" / "e2e" / "es-index-cleaner-upstream"
    copied.mkdir(parents=True)
    (copied / "04-assert.yaml").write_text(partial)
    (tmp_path / "deploy").mkdir()
    # the name alone, outside a test: a manifest (a Pod with an image; one without is a patch fragment)
    (tmp_path / "deploy" / "01-assert.yaml").write_text(POD_NO_LIMITS)
    r = run_cli("scan", "--isolated", str(tmp_path), "--select", "GC001,GC402,GC403", "-f", "json")
    every = json.loads(r.stdout)["findings"]
    assert not [f for f in every if "non-cluster-wide" in f["path"] or "es-index-cleaner" in f["path"]], every
    found = sorted(
        (f["rule_id"], f["path"].removeprefix(str(tmp_path) + "/"), f["line"]) for f in every if f["rule_id"] != "GC402"
    )
    assert found == [
        ("GC001", "tests/kuttl/basic/00-assert.yaml", 4),  # its syntax is still checked
        ("GC403", "deploy/01-assert.yaml", 6),
        ("GC403", "tests/e2e-chainsaw/setup/secret-pod.yaml", 6),
        ("GC403", "tests/e2e/sidecar/01-install-app.yaml", 6),
        ("GC403", "tests/kuttl/basic/00-install.yaml", 6),
    ], found


def test_carvel_ytt_templates_are_not_judged_as_manifests(run_cli, tmp_path):
    """vmware-tanzu/pinniped deploys with ytt: `_: #@ template.replace(...)` twice, `name: #@ ...` (null as YAML)."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "deployment.yaml").write_text(
        '#@ load("@ytt:data", "data")\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n'
        "  name: #@ data.values.app\n  labels:\n    _: #@ template.replace(a())\n    _: #@ template.replace(b())\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: #@ data.values.app\n"
        "          image: #@ data.values.image\n"
    )
    (tmp_path / "deploy" / "broken.yaml").write_text('#@ load("@ytt:data", "data")\na: [1,\n')
    r = run_cli("scan", "--isolated", str(tmp_path), "--select", "GC001,GC402,GC403", "-f", "json")
    found = [(f["rule_id"], f["path"].rsplit("/", 1)[-1]) for f in json.loads(r.stdout)["findings"]]
    assert found == [("GC001", "broken.yaml")], found


def test_ansible_jinja_templates_are_not_judged_as_manifests(run_cli, tmp_path):
    """kiali-operator deploys Kiali with Ansible roles (roles/v2.4/kiali-deploy/templates/kubernetes/*.yaml,
    `{% if %}` around keys; task files read with lookup('template')) and tests them with Molecule scenarios:
    Jinja2 templates, not manifests. The same text outside a role is a GC001 error; a role's plain file is read."""
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ kiali_vars.name }}\nspec:\n"
        "{% if hpa | length == 0 %}\n  replicas: 1\n{% endif %}\n  template:\n    spec:\n      containers:\n"
        "        - name: kiali\n          image: quay.io/kiali/kiali:v2\n"
    )
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: a, image: 'a:1'}\n"
    files = {
        "roles/v2.4/kiali-deploy/tasks/main.yml": "- debug: {msg: hi}\n",
        "roles/v2.4/kiali-deploy/templates/kubernetes/deployment.yaml": deployment,
        "roles/v2.4/kiali-deploy/tasks/clusterroles-to-remove.yml": "kind: ClusterRole\nmetadata:\n  name: {{ n }}\n",
        "roles/v2.4/kiali-deploy/files/pod.yaml": pod,
        "molecule/default/molecule.yml": "driver: {name: default}\n",
        "molecule/kiali-cr.yaml": "kind: Kiali\nspec:\n  version: {{ kiali.spec_version }}\n",
        "deploy/deployment.yaml": deployment,
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    r = run_cli("scan", "--isolated", str(tmp_path), "--select", "GC001,GC403", "-f", "json")
    found = sorted((f["rule_id"], f["path"][len(str(tmp_path)) + 1 :]) for f in json.loads(r.stdout)["findings"])
    assert found == [("GC001", "deploy/deployment.yaml"), ("GC403", "roles/v2.4/kiali-deploy/files/pod.yaml")], found


def test_lock_files_are_not_read(run_cli, tmp_path):
    (tmp_path / "pnpm-lock.yaml").write_text("a: [b: c:d\n")
    (tmp_path / "package-lock.json").write_text("{broken\n")
    r = run_cli("scan", str(tmp_path), "--select", "GC001", "-f", "json")
    assert json.loads(r.stdout)["findings"] == []


POD_NO_LIMITS = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: app\n      image: a:1\n"
)


def test_a_deselected_gc001_never_lets_an_unparsed_file_pass(run_cli, tmp_path):
    """--select GC403 on a file that does not parse: not exit 0, the file and line are named."""
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n")
    p = run_cli("scan", "--isolated", "--select", "GC403", str(tmp_path))
    assert p.returncode == 3, p.stdout + p.stderr
    assert "incomplete: 1 place(s) could not be checked and GC001 " in p.stdout
    assert f"{tmp_path}/broken.yaml:3: flow mapping" in p.stdout
    # enabled, the same problem is a finding (exit 1), not an incomplete scan
    p = run_cli("scan", "--isolated", "--select", "GC001,GC403", str(tmp_path))
    assert p.returncode == 1 and "incomplete" not in p.stdout and "GC001" in p.stdout, p.stdout


def test_a_deselected_gc001_ignores_what_was_checked_anyway(run_cli, tmp_path):
    """A duplicate key (its last value is used) or a boolean name still leaves the object checked."""
    (tmp_path / "pod.yaml").write_text(POD_NO_LIMITS.replace("metadata: {name: p}", "metadata:\n  name: on\n  name: p"))
    p = run_cli("scan", "--isolated", "--select", "GC403", str(tmp_path))
    assert p.returncode == 1 and "incomplete" not in p.stdout and "GC403" in p.stdout, p.stdout
    # ignored with --ignore instead of left out of --select: the same
    (tmp_path / "pod.yaml").write_text(POD_NO_LIMITS)
    (tmp_path / "bad.yaml").write_text("kind: [\n")
    p = run_cli("scan", "--isolated", "--ignore", "GC001", str(tmp_path))
    assert p.returncode == 3 and "GC001 (Every file and object can be read and parsed) is not enabled" in p.stdout


@pytest.mark.parametrize("command", ["scan", "rules", "explain", "coverage", "diff", "report merge", "init", "schema"])
def test_commands_md_names_every_option(command):
    """docs/commands.md documents what --help lists: every long option of the command is in its section."""
    from guidecheck.cli import main

    text = (Path(__file__).resolve().parents[1] / "docs" / "commands.md").read_text(encoding="utf-8")
    section = text[text.index(f"## `guidecheck {command}") :]
    section = section[: section.find("\n## ", 5) if "\n## " in section[5:] else len(section)]
    cmd = main
    for word in command.split():
        cmd = cmd.commands[word]
    missing = [o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--") and o not in section]
    assert missing == []
