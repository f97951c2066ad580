"""The four report formats: golden files, determinism, schemas, hostile names and values, secrets.

Golden files (``tests/golden/scan.*``) are the real CLI's output on
``fixtures/golden/`` with the rules in ``GOLDEN_SELECT``, run from ``fixtures/``
so that every path is relative: nothing is normalised.  When rules or formats
change on purpose, regenerate them and review the diff::

    .venv/bin/python tests/test_reporters.py --update
    GUIDECHECK_UPDATE_GOLDENS=1 .venv/bin/pytest tests/test_reporters.py   # same

"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import FIXTURES, ROOT, gc_bin

GOLDEN_DIR = ROOT / "tests" / "golden"
GOLDEN_INPUT = "golden"  # fixtures/golden, scanned from fixtures/
# rules that exist for certain; widen once the catalogue is complete, then regenerate
GOLDEN_SELECT = "ALL"
GOLDEN_FILES = {"text": "scan.txt", "json": "scan.json", "junit": "scan.xml", "sarif": "scan.sarif"}
FORMATS = tuple(GOLDEN_FILES)
SCHEMA = ROOT / "docs" / "report.schema.json"

# what must never reach a report raw (LF and TAB are allowed where the format allows them)
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")

CANARIES = (
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "0" * 36,
    "GC-CANARY-7f3a9c1e-hunter2",
    "GC-CANARY-pw-42",
    "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)


def run_gc(*args: str, cwd: os.PathLike | str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real console script; stdout as bytes (a report must be valid UTF-8 on its own)."""
    # the report's time (JSON, HTML, markdown) from SOURCE_DATE_EPOCH: the same scan gives the same bytes
    full_env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600", **(env or {})}
    full_env.pop("NO_COLOR", None)
    return subprocess.run([*gc_bin(), *args], cwd=cwd, capture_output=True, timeout=120, env=full_env)


def golden_args(fmt: str) -> list[str]:
    return ["scan", GOLDEN_INPUT, "--isolated", "--select", GOLDEN_SELECT, "--no-color", "--format", fmt]


def golden_output(fmt: str, env: dict | None = None) -> bytes:
    r = run_gc(*golden_args(fmt), cwd=FIXTURES, env=env)
    assert r.returncode == 1, r.stderr.decode("utf-8", "replace")
    assert not r.stderr, r.stderr.decode("utf-8", "replace")
    return r.stdout


def update_goldens() -> list[Path]:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, name in GOLDEN_FILES.items():
        target = GOLDEN_DIR / name
        target.write_bytes(golden_output(fmt))
        written.append(target)
    return written


# ---------------------------------------------------------------- golden files, determinism


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden(fmt):
    if os.environ.get("GUIDECHECK_UPDATE_GOLDENS"):
        (GOLDEN_DIR / GOLDEN_FILES[fmt]).parent.mkdir(parents=True, exist_ok=True)
        (GOLDEN_DIR / GOLDEN_FILES[fmt]).write_bytes(golden_output(fmt))
    expected = (GOLDEN_DIR / GOLDEN_FILES[fmt]).read_bytes()
    got = golden_output(fmt)
    assert got.decode("utf-8") == expected.decode("utf-8"), (
        f"{fmt} report differs from tests/golden/{GOLDEN_FILES[fmt]}; if intended, run "
        "'.venv/bin/python tests/test_reporters.py --update' and review the diff"
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_byte_identical_across_runs(fmt):
    first = golden_output(fmt, env={"PYTHONHASHSEED": "1"})
    second = golden_output(fmt, env={"PYTHONHASHSEED": "2"})
    assert first == second


def test_golden_input_covers_the_interesting_cases():
    data = json.loads(golden_output("json"))
    findings = data["findings"]
    assert any(f["rule_id"] == "GC001" for f in findings), "a parse error"
    assert any(f["suppressed"] and f["suppression_reason"] for f in findings), "a suppression with a reason"
    assert any(f["suppressed"] and not f["suppression_reason"] for f in findings), "a suppression without one"
    assert any(f["rule_id"] == "GC002" for f in findings), "GC002 on the reasonless suppression"
    assert any(f["path"].endswith("Dockerfile") for f in findings + [o["target"] for o in data["outcomes"]])
    assert {o["status"] for o in data["outcomes"]} == {"pass", "fail", "suppressed", "not_applicable"}


# ---------------------------------------------------------------- JSON


def validator():
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def schema_errors(doc) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator().iter_errors(doc)]


def test_json_golden_matches_schema():
    assert schema_errors(json.loads(golden_output("json"))) == []


def test_json_schema_rejects_what_it_should():
    doc = json.loads(golden_output("json"))
    broken = json.loads(json.dumps(doc))
    del broken["findings"][0]["rule_id"]
    broken["outcomes"][0]["status"] = "maybe"
    broken["surprise"] = 1
    errors = schema_errors(broken)
    assert len(errors) == 3, errors


def test_json_envelope_and_findings_fields():
    doc = json.loads(golden_output("json"))
    assert doc["report_version"] == 1
    assert doc["tool"]["name"] == "guidecheck" and doc["tool"]["version"]
    assert doc["exit_code"] == 1 and doc["fail_on"] == "error"
    assert [r["id"] for r in doc["rules"]] == selected_rule_ids()
    for f in doc["findings"]:
        for key in (
            "rule_id",
            "severity",
            "message",
            "path",
            "line",
            "column",
            "object",
            "container",
            "bullet",
            "suppressed",
        ):
            assert key in f
    active = [f for f in doc["findings"] if not f["suppressed"]]
    assert doc["summary"]["findings"] == len(active)
    assert doc["summary"]["suppressed"] == len(doc["findings"]) - len(active)
    assert doc["summary"]["error"] + doc["summary"]["warning"] + doc["summary"]["info"] == len(active)


# ---------------------------------------------------------------- JUnit


def parse_junit(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == "testsuites"
    return root


def test_junit_structure_matches_the_outcomes():
    doc = json.loads(golden_output("json"))
    root = parse_junit(golden_output("junit"))
    suites = root.findall("testsuite")
    rule_suites = suites[:-1]
    assert [s.get("name").split()[0] for s in rule_suites] == [r["id"] for r in doc["rules"]]
    assert suites[-1].get("name") == "guidecheck"
    for suite in rule_suites:
        rule_id = suite.get("name").split()[0]
        outcomes = [o for o in doc["outcomes"] if o["rule_id"] == rule_id]
        cases = suite.findall("testcase")
        assert len(cases) == len(outcomes) == int(suite.get("tests"))
        assert int(suite.get("failures")) == sum(o["status"] == "fail" for o in outcomes)
        assert int(suite.get("skipped")) == sum(o["status"] in ("suppressed", "not_applicable") for o in outcomes)
        names = [(c.get("classname"), c.get("name")) for c in cases]
        assert len(set(names)) == len(names), "test cases must be unique"
        for case in cases:
            assert case.get("classname").startswith(rule_id + " ")
            assert "." not in case.get("classname"), "Jenkins would split the class name at a dot"
            assert case.get("file") and int(case.get("line")) >= 1
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites)
    for attr in ("timestamp", "hostname"):
        assert root.find(f".//*[@{attr}]") is None, f"{attr} would make the report differ between runs"


def test_junit_failures_carry_file_and_line():
    root = parse_junit(golden_output("junit"))
    failures = root.findall(".//testcase[failure]")
    assert failures
    for case in failures:
        failure = case.find("failure")
        where = f"{case.get('file')}:{case.get('line')}:"
        assert failure.get("message").startswith(where)
        assert where in failure.text
        assert failure.get("type") in ("error", "warning", "info")
        assert "fix: " in failure.text
    gc001 = [c for c in failures if c.get("classname").startswith("GC001")]
    assert gc001 and gc001[0].get("file") == "golden/k8s/service.yaml"


def test_junit_suppressed_and_not_applicable_are_skipped_with_reason():
    root = parse_junit(golden_output("junit"))
    skipped = [c.find("skipped").get("message") for c in root.findall(".//testcase[skipped]")]
    assert "suppressed: no reason given" in skipped
    assert any(m.startswith("not applicable") for m in skipped)
    # the reasoned suppression sits in a failing case (another container failed): listed in its text
    failure_texts = " ".join(f.text for f in root.iter("failure"))
    assert "(suppressed: schema migration, bounded by the namespace LimitRange)" in failure_texts


def test_junit_completeness_case():
    root = parse_junit(golden_output("junit"))
    case = root.find("testsuite[@name='guidecheck']/testcase")
    assert case.get("name") == "scan completeness" and case.find("error") is None


# ---------------------------------------------------------------- SARIF

URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#]|%[0-9A-Fa-f]{2})*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
LEVELS = {"none", "note", "warning", "error"}


def _is_uri_reference(uri: str) -> bool:
    if not URI_CHARS.match(uri):
        return False
    if SCHEME.match(uri):
        return True
    first = uri.split("/", 1)[0]
    return ":" not in first  # RFC 3986 4.2: a relative path's first segment has no colon


def sarif_problems(doc) -> list[str]:
    """The SARIF 2.1.0 schema's requirements (and GitHub's URI checks) for what guidecheck writes."""
    p: list[str] = []

    def need(cond: bool, what: str) -> None:
        if not cond:
            p.append(what)

    def message(m, where: str) -> None:
        need(
            isinstance(m, dict) and (isinstance(m.get("text"), str) or isinstance(m.get("id"), str)),
            f"{where}: message needs text or id",
        )

    need(doc.get("version") == "2.1.0", "version must be 2.1.0")
    need(isinstance(doc.get("$schema"), str) and SCHEME.match(doc["$schema"]) is not None, "$schema is a URI")
    runs = doc.get("runs")
    need(isinstance(runs, list) and runs, "runs must be a non-empty array")
    for ri, run in enumerate(runs or []):
        w = f"runs[{ri}]"
        driver = (run.get("tool") or {}).get("driver")
        need(isinstance(driver, dict) and isinstance(driver.get("name"), str), f"{w}.tool.driver.name required")
        driver = driver or {}
        rules = driver.get("rules", [])
        need(isinstance(rules, list), f"{w}: rules must be an array")
        for i, rule in enumerate(rules):
            rw = f"{w}.rules[{i}]"
            need(isinstance(rule.get("id"), str) and rule["id"], f"{rw}.id required")
            for key in ("shortDescription", "fullDescription", "help"):
                if key in rule:
                    need(isinstance(rule[key].get("text"), str), f"{rw}.{key}.text required")
            if "helpUri" in rule:
                need(
                    SCHEME.match(rule["helpUri"]) is not None and URI_CHARS.match(rule["helpUri"]) is not None,
                    f"{rw}.helpUri must be an absolute URI",
                )
            level = (rule.get("defaultConfiguration") or {}).get("level", "warning")
            need(level in LEVELS, f"{rw}: bad level {level}")
            tags = (rule.get("properties") or {}).get("tags", [])
            need(len(tags) == len(set(tags)) and all(isinstance(t, str) for t in tags), f"{rw}: tags unique strings")
        need(run.get("columnKind", "unicodeCodePoints") in ("utf16CodeUnits", "unicodeCodePoints"), f"{w}.columnKind")
        for ii, inv in enumerate(run.get("invocations", [])):
            need(isinstance(inv.get("executionSuccessful"), bool), f"{w}.invocations[{ii}].executionSuccessful")
            for ni, n in enumerate(inv.get("toolExecutionNotifications", [])):
                message(n.get("message"), f"{w}.invocations[{ii}].toolExecutionNotifications[{ni}]")
        for i, res in enumerate(run.get("results", [])):
            rw = f"{w}.results[{i}]"
            message(res.get("message"), rw)
            need(res.get("level", "warning") in LEVELS, f"{rw}.level")
            if "ruleIndex" in res:
                idx = res["ruleIndex"]
                need(isinstance(idx, int) and 0 <= idx < len(rules), f"{rw}.ruleIndex out of range")
                if isinstance(idx, int) and 0 <= idx < len(rules):
                    need(rules[idx]["id"] == res.get("ruleId"), f"{rw}.ruleIndex points at another rule")
            for li, loc in enumerate(res.get("locations", [])):
                phys = loc.get("physicalLocation")
                need(
                    isinstance(phys, dict) and ("artifactLocation" in phys or "address" in phys),
                    f"{rw}.locations[{li}]: physicalLocation needs artifactLocation",
                )
                art = (phys or {}).get("artifactLocation", {})
                uri = art.get("uri")
                need(
                    isinstance(uri, str) and uri != "" and _is_uri_reference(uri),
                    f"{rw}.locations[{li}]: uri {uri!r} is not a URI reference",
                )
                region = (phys or {}).get("region", {})
                for key in ("startLine", "startColumn", "endLine", "endColumn"):
                    if key in region:
                        need(isinstance(region[key], int) and region[key] >= 1, f"{rw}: region.{key} >= 1")
                for lo in loc.get("logicalLocations", []):
                    need(
                        all(isinstance(lo.get(k, ""), str) for k in ("name", "fullyQualifiedName", "kind")),
                        f"{rw}: logical location fields are strings",
                    )
            fps = res.get("partialFingerprints", {})
            need(isinstance(fps, dict) and all(isinstance(v, str) for v in fps.values()), f"{rw}: fingerprints")
            for si, s in enumerate(res.get("suppressions", [])):
                need(s.get("kind") in ("inSource", "external"), f"{rw}.suppressions[{si}].kind")
                need(
                    s.get("status", "accepted") in ("accepted", "underReview", "rejected"),
                    f"{rw}.suppressions[{si}].status",
                )
                need(isinstance(s.get("justification", ""), str), f"{rw}.suppressions[{si}].justification")
    return p


def test_sarif_golden_is_valid():
    doc = json.loads(golden_output("sarif"))
    assert sarif_problems(doc) == []
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "guidecheck" and driver["version"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == selected_rule_ids()
    gc403 = rules["GC403"]
    assert gc403["shortDescription"]["text"] and gc403["fullDescription"]["text"]
    assert gc403["help"]["text"].startswith("Set resources.limits.cpu")
    assert gc403["helpUri"].endswith("docs/rules/GC403.md")
    assert gc403["properties"]["bullet"] == "4.b"
    assert "guideline-4.b" in gc403["properties"]["tags"]
    assert gc403["defaultConfiguration"]["level"] == "error"
    assert run["invocations"][0] == {"executionSuccessful": True, "exitCode": 1}


def test_sarif_results_locations_and_suppressions():
    doc = json.loads(golden_output("sarif"))
    results = doc["runs"][0]["results"]
    json_findings = json.loads(golden_output("json"))["findings"]
    assert len(results) == len(json_findings)
    for res, f in zip(results, json_findings, strict=True):
        assert res["ruleId"] == f["rule_id"]
        assert res["level"] == {"error": "error", "warning": "warning", "info": "note"}[f["severity"]]
        region = res["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (f["line"], f["column"])
        assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == f["path"]
        if f["suppressed"]:
            (s,) = res["suppressions"]
            assert s["kind"] == "inSource"
            assert s.get("justification") == f["suppression_reason"]
        else:
            assert "suppressions" not in res


def selected_rule_ids() -> list[str]:
    from guidecheck.catalog import load_rules

    ids = [r.id for r in load_rules() if r.status != "removed"]
    if GOLDEN_SELECT == "ALL":
        return ids
    return [i for i in ids if any(i.startswith(p) for p in GOLDEN_SELECT.split(","))]


def sarif_fingerprints(cwd: Path) -> dict[tuple, tuple[str, int]]:
    r = run_gc("scan", "svc", "--isolated", "--select", GOLDEN_SELECT, "-f", "sarif", cwd=cwd)
    out = {}
    for res in json.loads(r.stdout)["runs"][0]["results"]:
        loc = res["locations"][0]["physicalLocation"]
        key = (res["ruleId"], loc["artifactLocation"]["uri"], res["message"]["text"])
        if re.search(r"\bline \d", key[2]):
            continue  # a message that quotes a line number changes with it, and so does its fingerprint
        if "/k8s/" not in "/" + key[1]:
            continue  # only the manifests are moved below
        out[key] = (res["partialFingerprints"]["guidecheck/v1"], loc["region"]["startLine"])
    return out


def test_sarif_fingerprints_survive_moved_lines(tmp_path):
    import shutil

    shutil.copytree(FIXTURES / GOLDEN_INPUT, tmp_path / "svc")
    before = sarif_fingerprints(tmp_path)
    fps = [fp for fp, _ in before.values()]
    assert len(fps) == len(set(fps)), "fingerprints are unique within a run"
    for name in ("deployment.yaml", "worker.yaml", "service.yaml"):
        p = tmp_path / "svc" / "k8s" / name
        p.write_text("# moved down by a comment\n\n" + p.read_text(encoding="utf-8"), encoding="utf-8")
    after = sarif_fingerprints(tmp_path)
    assert before.keys() == after.keys() and len(before) >= 3
    for key in before:
        assert before[key][0] == after[key][0], key
        assert after[key][1] == before[key][1] + 2


def test_sarif_fingerprints_stable_across_runs():
    a = json.loads(golden_output("sarif"))["runs"][0]["results"]
    b = json.loads(golden_output("sarif"))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in a] == [r["partialFingerprints"] for r in b]


@pytest.mark.parametrize(
    "path, uri",
    [
        ("k8s/deploy.yaml", "k8s/deploy.yaml"),
        ("a b.yaml", "a%20b.yaml"),
        ("c:d.yaml", "c%3Ad.yaml"),
        ("new\nline.yaml", "new%0Aline.yaml"),
        ("bad\udcffutf8.yaml", "bad%FFutf8.yaml"),
        ("ünï.yaml", "%C3%BCn%C3%AF.yaml"),
        ("./x.yaml", "x.yaml"),
        ("/abs/x y.yaml", "file:///abs/x%20y.yaml"),
        ("100%.yaml", "100%25.yaml"),
        ("q?#.yaml", "q%3F%23.yaml"),
    ],
)
def test_sarif_artifact_uri(path, uri):
    from guidecheck.reporters.sarif import artifact_uri

    got, _ = artifact_uri(path)
    assert got == uri
    assert _is_uri_reference(got)


# ---------------------------------------------------------------- text

FINDING_LINE = re.compile(
    r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|info) "
    r"(?P<rule>[A-Z]+\d{3}) (?P<msg>.+) \[(?P<ctx>.+)\]$"
)
SUMMARY_LINE = re.compile(
    r"^\d+ finding\(s\): \d+ error\(s\), \d+ warning\(s\), \d+ info(; \d+ suppressed)?; "
    r"\d+ rule\(s\) on \d+ target\(s\)(; scan INCOMPLETE)?; exit \d$"
)


def check_text_report(text: str) -> list[re.Match]:
    """Every line is a finding, its fix, an incomplete: note, or the summary; returns the findings."""
    lines = text.split("\n")
    assert lines[-1] == "", "ends with a newline"
    lines = lines[:-1]
    assert SUMMARY_LINE.match(lines[-1]), lines[-1]
    found = []
    expect_fix = False
    for line in lines[:-1]:
        assert not RAW_CONTROL.search(line), repr(line)
        assert not line.lstrip().startswith("::"), f"a GitHub Actions command: {line!r}"
        assert "##vso[" not in line and "##[" not in line, f"an Azure Pipelines command: {line!r}"
        if expect_fix:
            assert line.startswith("    fix: "), line
            expect_fix = False
            continue
        if line.startswith("incomplete: "):
            continue
        m = FINDING_LINE.match(line)
        assert m, f"not a compiler-style line: {line!r}"
        found.append(m)
        expect_fix = True
    return found


def test_text_golden_is_compiler_style():
    text = golden_output("text").decode("utf-8")
    found = check_text_report(text)
    doc = json.loads(golden_output("json"))
    active = [f for f in doc["findings"] if not f["suppressed"]]
    assert [(m["path"], int(m["line"]), int(m["col"]), m["rule"]) for m in found] == [
        (f["path"], f["line"], f["column"], f["rule_id"]) for f in active
    ]
    assert "\x1b" not in text, "no colour when standard output is not a terminal"


def test_text_colour_only_on_request():
    r = run_gc(*golden_args("text")[:-3], "--color", "--format", "text", cwd=FIXTURES)
    assert "\x1b[31merror\x1b[0m" in r.stdout.decode()
    r = run_gc(*golden_args("text"), cwd=FIXTURES, env={"TERM": "xterm-256color"})
    assert b"\x1b" not in r.stdout


def test_text_quiet_has_only_findings():
    r = run_gc(*golden_args("text"), "--quiet", cwd=FIXTURES)
    lines = r.stdout.decode().splitlines()
    assert lines and all(FINDING_LINE.match(line) for line in lines)


# ---------------------------------------------------------------- hostile names and values, through the CLI

POD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/app:1.4.2-3f2c1ab
"""

HOSTILE_VALUES = r"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: "\e[2J\e[1;32mALL CHECKS PASSED\e[0m"
  namespace: "ns\a\0"
  annotations:
    note: "\x00\x07\x1b]0;pwned\x07 bell, NUL and title-set"
spec:
  template:
    spec:
      containers:
        - name: "bell\a nul\0 esc\e csi\x9b cr\r nl\n ls\L rtl\u202e"
          image: "registry.example.com/x:latest\e[0m"
        - name: "]]><!-- <&\"'> ::error file=a,line=1::forged ##vso[task.setvariable variable=x]1"
          image: "registry.example.com/y:1.0"
"""

ODD_NAMES = [
    "new\nline.yaml",
    "gh\n::error file=README.md,line=1::forged annotation.yaml",
    "::error file=README.md,line=1::starts the line.yaml",
    "##vso[task.setvariable variable=x]1.yaml",
    "carriage\rreturn.yaml",
    "esc\x1b[31mred.yaml",
    "ünïcödé-名前.yaml",
    "rtl-\u202egnp.yaml",
    "-rf.yaml",
    " leading-space.yaml",
    "semi;colon$(id).yaml",
    'quote"amp&lt<.yaml',
]


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory) -> Path:
    """Odd file names (some cannot live in git) and control characters in values."""
    root = tmp_path_factory.mktemp("hostile")
    for name in ODD_NAMES:
        (root / name).write_text(POD, encoding="utf-8")
    with open(os.path.join(os.fsencode(root), b"bad\xffutf8.yaml"), "wb") as fh:
        fh.write(POD.encode())
    (root / "values.yaml").write_text(HOSTILE_VALUES, encoding="utf-8")
    (root / "broken\x07.yaml").write_text("a: [1, 2\nb: \x1b[0m\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def hostile_reports(hostile_repo) -> dict[str, bytes]:
    out = {}
    for fmt in FORMATS:
        r = run_gc("scan", ".", "--isolated", "--no-color", "-f", fmt, cwd=hostile_repo)
        assert r.returncode in (1, 3), r.stderr.decode("utf-8", "replace")
        assert b"Traceback" not in r.stderr
        out[fmt] = r.stdout
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_output_is_utf8_without_raw_controls(hostile_reports, fmt):
    text = hostile_reports[fmt].decode("utf-8")  # strict: no lone surrogate was written
    assert not RAW_CONTROL.search(text.replace("\n", "").replace("\t", ""))
    assert "\r" not in text


def test_hostile_json_is_valid(hostile_reports, hostile_repo):
    doc = json.loads(hostile_reports["json"])
    assert schema_errors(doc) == []
    paths = {f["path"] for f in doc["findings"]}
    assert "new\\x0aline.yaml" in paths
    assert "bad\\udcffutf8.yaml" in paths
    names = {(f["object"] or {}).get("name") for f in doc["findings"]}
    assert "\\x1b[2J\\x1b[1;32mALL CHECKS PASSED\\x1b[0m" in names
    # after JSON decoding too (no \\u001b escapes standing in for raw characters)
    assert not RAW_CONTROL.search(json.dumps(doc, ensure_ascii=False).replace("\\n", ""))


def test_hostile_junit_is_well_formed(hostile_reports):
    root = parse_junit(hostile_reports["junit"])
    for el in root.iter():
        for value in [*el.attrib.values(), el.text or ""]:
            assert not RAW_CONTROL.search(value.replace("\n", "").replace("\t", "")), repr(value)
        for key in ("name", "classname", "file", "message"):
            assert "\n" not in el.get(key, ""), "attributes stay on one line"
    names = [c.get("name") for c in root.iter("testcase")]
    assert any("new\\x0aline.yaml" in n for n in names)
    assert any("ALL CHECKS PASSED" in n for n in names)
    assert int(root.get("failures")) > 0


def test_hostile_sarif_uris_name_the_real_files(hostile_reports, hostile_repo):
    doc = json.loads(hostile_reports["sarif"])
    assert sarif_problems(doc) == []
    uris = {res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for res in doc["runs"][0]["results"]}
    assert len(uris) >= len(ODD_NAMES)
    for uri in uris:
        assert os.path.lexists(os.path.join(os.fsencode(hostile_repo), unquote_to_bytes(uri))), uri


def test_hostile_text_cannot_forge_lines(hostile_reports):
    text = hostile_reports["text"].decode("utf-8")
    found = check_text_report(text)
    doc = json.loads(hostile_reports["json"])
    assert len(found) == sum(1 for f in doc["findings"] if not f["suppressed"])
    starts = {m["path"] for m in found}
    assert "./::error file=README.md,line=1::starts the line.yaml" in starts
    assert "#\\x23vso[task.setvariable variable=x]1.yaml" in starts


# ---------------------------------------------------------------- secrets never printed

SECRET_MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: "password=GC-CANARY-7f3a9c1e-hunter2"
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: AKIAIOSFODNN7EXAMPLE
          image: "registry.example.com/shop/cart:AKIAIOSFODNN7EXAMPLE"
          env:
            - name: AWS_SECRET_ACCESS_KEY
              value: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        - name: proxy
          image: "https://admin:GC-CANARY-pw-42@registry.example.com/proxy:latest"
"""
SECRET_DUPLICATES = """apiVersion: v1
kind: ConfigMap
metadata: {name: keys}
data:
  "-----BEGIN RSA PRIVATE KEY-----MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu": a
  "-----BEGIN RSA PRIVATE KEY-----MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu": b
  ghp_000000000000000000000000000000000000: x
  ghp_000000000000000000000000000000000000: y
  secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""
SECRET_TAG = """apiVersion: v1
kind: ConfigMap
metadata: {name: tagged}
data: !AKIAIOSFODNN7EXAMPLE {a: b}
"""
SECRET_VALUES = """# canary secrets: a report must not echo these verbatim
aws:
  accessKeyId: AKIAIOSFODNN7EXAMPLE
  secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
db:
  password: "GC-CANARY-7f3a9c1e-hunter2"
  url: "postgres://admin:GC-CANARY-pw-42@db.internal:5432/app"
github:
  token: ghp_000000000000000000000000000000000000
tls:
  key: |
    -----BEGIN RSA PRIVATE KEY-----
    MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu
    -----END RSA PRIVATE KEY-----
"""
SECRET_DOCKERFILE = """ARG GH_TOKEN=ghp_000000000000000000000000000000000000
FROM registry.example.com/base:${GH_TOKEN}
"""


@pytest.fixture(scope="module")
def secret_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    (root / "deploy.yaml").write_text(SECRET_MANIFEST, encoding="utf-8")
    (root / "dup.yaml").write_text(SECRET_DUPLICATES, encoding="utf-8")
    (root / "tag.yaml").write_text(SECRET_TAG, encoding="utf-8")
    (root / "Dockerfile").write_text(SECRET_DOCKERFILE, encoding="utf-8")
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: canary\nversion: 0.1.0\n", encoding="utf-8")
    (chart / "values.yaml").write_text(SECRET_VALUES, encoding="utf-8")
    (chart / "templates" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: {{ .Values.db.password | quote }}\n",
        encoding="utf-8",
    )
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_secrets_never_printed(secret_repo, fmt):
    r = run_gc("scan", ".", "--isolated", "--no-color", "-f", fmt, cwd=secret_repo)
    assert r.returncode in (1, 3), r.stderr.decode("utf-8", "replace")
    out = r.stdout.decode("utf-8") + r.stderr.decode("utf-8", "replace")
    for canary in CANARIES:
        assert canary not in out, f"{canary} printed in the {fmt} report"


def test_secrets_reached_messages_masked(secret_repo):
    """The canaries do reach messages (so the test above tests something): masked."""
    doc = json.loads(run_gc("scan", ".", "--isolated", "-f", "json", cwd=secret_repo).stdout)
    text = json.dumps(doc["findings"])
    assert "AKIA****(20 chars)" in text  # container name, image tag, unsupported tag
    assert "ghp_****(40 chars)" in text  # duplicate key
    assert "password=GC-C****" in text  # object name
    messages = " ".join(f["message"] for f in doc["findings"])
    assert "duplicate key '----****" in messages  # a private key quoted by a parse error


# ---------------------------------------------------------------- every format on a synthetic worst case


def synthetic_result():
    from guidecheck.catalog import load_rules
    from guidecheck.model import Finding, ObjectRef, Outcome, ScanResult, Severity, Status, Target

    rules = {r.id: r for r in load_rules()}
    rule = rules["GC403"]
    nasty = "\x00\x07\x1b[31m\x9b ]]> <&\"'> \ud800 \udcff \ufffe \u202e \r\n" + "AKIAIOSFODNN7EXAMPLE"
    ref = ObjectRef("Deployment", "ns\x1b", "name" + nasty)
    path = "dir\x1b/we\nird\udcff.yaml"

    def target(line):
        return Target(kind="k8s", path=path, line=line, ref=ref, data=None)

    def finding(line, suppressed=False, reason=None, severity=Severity.ERROR):
        return Finding(
            rule_id="GC403",
            severity=severity,
            message="msg " + nasty,
            path=path,
            line=line,
            column=3,
            object=ref,
            container="c" + nasty,
            bullet=rule.bullet,
            remediation=rule.remediation,
            title=rule.title,
            suppressed=suppressed,
            suppression_reason=reason,
            extra={
                "fingerprint": "0123abcd" * 3,
                "weird": {"k" + nasty: [nasty, 1.5, float("nan"), None], "set": {"b", "a"}},
            },
        )

    f1, f2 = finding(5), finding(6, severity=Severity.INFO)
    f3 = finding(9, suppressed=True, reason="because" + nasty)
    f4 = finding(12, suppressed=True)
    outcomes = [
        Outcome("GC403", target(1), Status.FAIL, [f1, f2, f3]),
        Outcome("GC403", target(8), Status.SUPPRESSED, [f4], reason="no reason given"),
        Outcome("GC403", target(20), Status.NOT_APPLICABLE, reason="not a workload" + nasty),
        Outcome("GC403", target(30), Status.NOT_APPLICABLE, reason="internal error: ValueError"),
        Outcome("GC403", target(40), Status.PASS),
    ]
    return ScanResult(
        findings=[f1, f2, f3, f4],
        outcomes=outcomes,
        rules=[rule],
        incomplete=["GC403 failed on " + nasty + ": ValueError: boom"],
        inputs=["."],
    )


def test_every_format_survives_the_worst_strings():
    from guidecheck.reporters import render

    result = synthetic_result()
    meta = {
        "version": "0.0.0",
        "exit_code": 3,
        "inputs": ["."],
        "config": None,
        "quiet": False,
        "color": True,
        "threshold": "error",
    }
    for fmt in FORMATS:
        out = render(fmt, result, meta)
        out.encode("utf-8")  # strict
        assert "AKIAIOSFODNN7EXAMPLE" not in out
        assert not RAW_CONTROL.search(re.sub("\x1b\\[[0-9;]*m", "", out).replace("\n", "").replace("\t", "")), fmt
    doc = json.loads(render("json", result, meta))
    assert schema_errors(doc) == []
    assert doc["findings"][0]["weird"][next(iter(doc["findings"][0]["weird"]))][2] == "nan"
    root = ET.fromstring(render("junit", result, meta).encode("utf-8"))
    cases = root.findall("testsuite/testcase")
    assert [bool(c.find(t) is not None) for c in cases[:5] for t in ("failure",)] == [True, False, False, False, False]
    assert cases[1].find("skipped").get("message") == "suppressed: no reason given"
    assert cases[2].find("skipped").get("message").startswith("not applicable: not a workload")
    assert cases[3].find("error") is not None  # a crashed check is an error, not a skip
    assert len({c.get("name") for c in cases}) == len(cases), "same-named targets are told apart"
    complete = root.find("testsuite[@name='guidecheck']/testcase/error")
    assert complete is not None and "scan incomplete" in complete.get("message")
    sarif = json.loads(render("sarif", result, meta))
    assert sarif_problems(sarif) == []
    run = sarif["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["invocations"][0]["toolExecutionNotifications"]
    levels = [r["level"] for r in run["results"]]
    assert levels == ["error", "note", "error", "error"]


if __name__ == "__main__":
    if "--update" in sys.argv[1:]:
        for written in update_goldens():
            print(f"wrote {written.relative_to(ROOT)}")
    else:
        print(__doc__)
