"""Reports fed to their real consumers' contracts: the Jenkins xunit JUnit schema, the OASIS SARIF 2.1.0
schema (both vendored in tests/schemas/, see PROVENANCE.md), GitHub's workflow-command parser and
GitLab's Code Quality fields; and the one-line summary on stderr when every report goes to a file."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from test_reporters import golden_output, run_gc

from conftest import FIXTURES, ROOT

SCHEMAS = ROOT / "tests" / "schemas"
JUNIT_XSD = SCHEMAS / "jenkins-xunit-junit-10.xsd"
SARIF_SCHEMA = SCHEMAS / "sarif-schema-2.1.0.json"


def test_vendored_schemas_are_the_ones_recorded():
    table = (SCHEMAS / "PROVENANCE.md").read_text(encoding="utf-8")
    for path in (JUNIT_XSD, SARIF_SCHEMA):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"`{path.name}`" in table and f"`{digest}`" in table, path.name


@pytest.fixture(scope="module")
def junit_schema():
    xmlschema = pytest.importorskip("xmlschema", reason="pip install -e '.[test]' installs xmlschema")
    return xmlschema.XMLSchema(str(JUNIT_XSD))


def junit_errors(schema, data: bytes) -> list[str]:
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(data.decode("utf-8"))]


@pytest.mark.parametrize("mode", ["failure", "skipped", "passed"])
def test_junit_is_valid_against_the_jenkins_xunit_schema(junit_schema, mode):
    r = run_gc("scan", "golden", "--isolated", "-f", "junit", "--junit-warnings", mode, cwd=FIXTURES)
    assert r.returncode == 1, r.stderr
    assert junit_errors(junit_schema, r.stdout) == []


def test_junit_warnings_modes():
    import xml.etree.ElementTree as ET

    def cases(mode: str) -> dict[tuple[str, str], ET.Element]:
        r = run_gc("scan", "golden", "--isolated", "-f", "junit", "--junit-warnings", mode, cwd=FIXTURES)
        root = ET.fromstring(r.stdout)
        return {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}

    fail, skip, passed = cases("failure"), cases("skipped"), cases("passed")
    assert fail.keys() == skip.keys() == passed.keys()
    doc = json.loads(golden_output("json"))
    warn_only = {r["id"] for r in doc["rules"] if r["severity"] == "warning"}
    changed = 0
    for key, case in fail.items():
        failure = case.find("failure")
        rule = key[0].split()[0]
        if failure is None or failure.get("type") == "error":
            assert skip[key].find("failure") is not None or failure is None  # errors fail in every mode
            continue
        changed += 1
        assert rule in warn_only
        assert skip[key].find("failure") is None and skip[key].find("skipped").get("message").startswith("warning: ")
        assert passed[key].find("failure") is None and passed[key].find("skipped") is None
        assert rule in passed[key].find("system-out").text
    assert changed >= 3


def test_sarif_is_valid_against_the_oasis_schema():
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    doc = json.loads(golden_output("sarif"))
    assert [e.message for e in validator.iter_errors(doc)] == []
    assert doc["runs"][0]["results"]


# ------------------------------------------------------------------ GitHub workflow commands

COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def parse_workflow_commands(text: str) -> list[dict]:
    """The runner's parser (actions/runner ActionCommand.TryParseV2): one command per line that starts with ``::``."""
    out = []
    for line in text.splitlines():
        if not line.startswith("::"):
            continue
        m = COMMAND.match(line)
        assert m, f"not a workflow command: {line!r}"
        props = {}
        for pair in (m.group("props") or "").split(","):
            if pair:
                key, _, value = pair.partition("=")
                props[key] = unescape_property(value)
        out.append({"name": m.group("name"), "props": props, "message": unescape_data(m.group("data"))})
    return out


def test_github_annotations_name_every_active_finding():
    doc = json.loads(golden_output("json"))
    text = golden_output("github").decode("utf-8")
    commands = parse_workflow_commands(text)
    assert len(commands) == len(text.splitlines()), "every line is a command"
    active = [f for f in doc["findings"] if not f["suppressed"]]
    annotations, summary = commands[:-1], commands[-1]
    assert len(annotations) == len(active)
    levels = {"error": "error", "warning": "warning", "info": "notice"}
    for c, f in zip(annotations, active, strict=True):
        assert c["name"] == levels[f["severity"]]
        assert c["props"]["title"] == f"{f['rule_id']} {f['title']}"
        assert f["message"] in c["message"] and "\nfix: " in c["message"]
        if (f["object"] or {}).get("kind") == "Repository":
            assert "file" not in c["props"]
        else:
            assert c["props"]["file"] == f["path"]
            assert (int(c["props"]["line"]), int(c["props"]["col"])) == (f["line"], f["column"])
    assert summary["name"] == "notice" and summary["message"].startswith(f"{len(active)} finding(s)")


def test_github_commands_cannot_be_forged_by_file_content(tmp_path):
    """A name or value with CR/LF, '::', '%', ',' and ':' stays inside its own command."""
    (tmp_path / "a,b:c%25.yaml").write_text(
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "x\\n::error file=evil::owned%0A::warning::y"\n'
        'spec:\n  containers:\n    - name: "c\\r\\n::notice::z"\n      image: nginx\n',
        encoding="utf-8",
    )
    r = run_gc("scan", ".", "--isolated", "--select", "GC403", "-f", "github", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    text = r.stdout.decode("utf-8")
    commands = parse_workflow_commands(text)
    assert [c["name"] for c in commands] == ["error", "notice"], text
    [finding] = commands[:1]
    assert finding["props"]["file"] == "a,b:c%25.yaml"
    assert "::error file=evil" in finding["message"]  # data, not a command
    assert "\r" not in text and not any(c["props"].get("file") == "evil" for c in commands)


# ------------------------------------------------------------------ GitLab Code Quality

# the fields GitLab documents for a Code Quality report (docs.gitlab.com/ci/testing/code_quality,
# "Code Quality report format"): required description, check_name, fingerprint, severity, location.path
# and location.lines.begin (or location.positions.begin.line)
CODE_QUALITY_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def test_gitlab_code_quality_has_the_documented_fields():
    import jsonschema

    issues = json.loads(golden_output("gitlab"))
    jsonschema.validate(issues, CODE_QUALITY_SCHEMA)
    doc = json.loads(golden_output("json"))
    active = [f for f in doc["findings"] if not f["suppressed"]]
    assert [(i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues] == [
        (f["rule_id"], f["path"], f["line"]) for f in active
    ]
    assert len({i["fingerprint"] for i in issues}) == len(issues), "GitLab merges issues with one fingerprint"
    assert {i["severity"] for i in issues} <= {"major", "minor", "info"}


def test_gitlab_fingerprints_survive_moved_lines(tmp_path):
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n    - {name: a, image: 'a:1.0.0-abcdef1'}\n    - {name: b, image: 'a:1.0.0-abcdef1'}\n"
    (tmp_path / "pod.yaml").write_text(pod)

    def fps():
        r = run_gc("scan", "pod.yaml", "--isolated", "--select", "GC403", "-f", "gitlab", cwd=tmp_path)
        return sorted(i["fingerprint"] for i in json.loads(r.stdout))

    before = fps()
    (tmp_path / "pod.yaml").write_text("# moved\n" + pod)
    assert fps() == before and len(before) == 2


def test_one_line_summary_on_stderr_when_every_report_goes_to_a_file(tmp_path):
    r = run_gc(
        "scan",
        "golden",
        "--isolated",
        "-f",
        "json",
        "-o",
        str(tmp_path / "r.json"),
        "-f",
        "gitlab",
        "-o",
        str(tmp_path / "cq.json"),
        cwd=FIXTURES,
    )
    assert r.returncode == 1 and r.stdout == b""
    lines = r.stderr.decode().splitlines()
    active = [f for f in json.loads((tmp_path / "r.json").read_text())["findings"] if not f["suppressed"]]
    assert len(lines) == 1 and lines[0].startswith(f"guidecheck: {len(active)} finding(s)"), lines
    assert "r.json (json)" in lines[0] and "cq.json (gitlab)" in lines[0] and lines[0].endswith("")
    # a report on standard output is its own summary; --quiet asks for none
    assert run_gc("scan", "golden", "--isolated", "-f", "json", cwd=FIXTURES).stderr == b""
    q = run_gc("scan", "golden", "--isolated", "-q", "-f", "json", "-o", str(tmp_path / "q.json"), cwd=FIXTURES)
    assert q.stderr == b""
