"""``guidecheck diff`` and ``guidecheck report merge`` over JSON reports of two versions of a fixture repository.

``fixtures/fleet/v1/orders`` and ``v2/orders`` are one service before and after a change
(Dockerfile fixed, limits added, a new container without probes); ``v2/payments`` is a
second service with a waiver.  Their reports are made by the real CLI, with
SOURCE_DATE_EPOCH as their time (2026-01-01 and 2026-01-15), ``orders`` v2 with
``--previous-report`` v1.  Goldens: ``tests/golden/diff.*`` and ``tests/golden/fleet.*``;
regenerate with ``GUIDECHECK_UPDATE_GOLDENS=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, gc_bin

GOLDEN = ROOT / "tests" / "golden"
FLEET = FIXTURES / "fleet"
V1, V2 = "1767225600", "1768435200"  # 2026-01-01, 2026-01-15 (UTC)


def gc(*args: str, cwd: Path, epoch: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch:
        env["SOURCE_DATE_EPOCH"] = epoch
    return subprocess.run([*gc_bin(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    r = gc("scan", "orders", "-q", "-f", "json", "-o", str(out / "orders-v1.json"), cwd=FLEET / "v1", epoch=V1)
    assert r.returncode == 1, r.stderr
    r = gc(
        "scan", "orders", "-q", "--previous-report", str(out / "orders-v1.json"),
        "-f", "json", "-o", str(out / "orders-v2.json"), cwd=FLEET / "v2", epoch=V2,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    r = gc("scan", "payments", "-q", "-f", "json", "-o", str(out / "payments.json"), cwd=FLEET / "v2", epoch=V2)
    assert r.returncode == 1, r.stderr
    return out


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("GUIDECHECK_UPDATE_GOLDENS"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"differs from tests/golden/{name} (GUIDECHECK_UPDATE_GOLDENS=1)"


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("json", "json"), ("markdown", "md"), ("html", "html")])
def test_diff_golden(reports, fmt, ext):
    r = gc("diff", "orders-v1.json", "orders-v2.json", "-f", fmt, cwd=reports)
    assert r.returncode == 1, r.stderr  # new errors
    assert not r.stderr
    check_golden(f"diff.{ext}", r.stdout)


def test_diff_matches_by_fingerprint(reports):
    r = gc("diff", "orders-v1.json", "orders-v2.json", "-f", "json", cwd=reports)
    d = json.loads(r.stdout)
    # 15 unchanged: 12 container, Dockerfile and repository findings, and GC701/GC702/GC704 (no pipeline in either
    # version); GC904 is not applicable in both (no Service selects orders: it serves no requests to time)
    assert d["summary"] == {"new": 5, "fixed": 9, "suppressed": 0, "unchanged": 15, "new_at_or_above_fail_on": 4}
    new = {(f["rule_id"], f["message"].split("'")[1]) for f in d["new_findings"] if "'" in f["message"]}
    assert ("GC405", "cache-warmer") in new and ("GC306", "registry.example.com/cache-warmer:latest") in new
    fixed = {f["rule_id"] for f in d["fixed_findings"]}
    assert {"GC301", "GC304", "GC302", "GC403", "GC404", "GC306"} <= fixed
    # the orders container still has no probes: unchanged, and first seen in v1
    unchanged = {(f["rule_id"], f["path"]): f for f in d["unchanged_findings"]}
    assert unchanged[("GC405", "orders/k8s/deployment.yaml")]["first_seen"] == "2026-01-01T00:00:00Z"
    assert {"bullet": "3.a", "text": "Use lightweight base images such as Alpine", "old": "fail", "new": "pass"} in d[
        "bullets"
    ]


def test_diff_exit_codes(reports, tmp_path):
    assert gc("diff", "orders-v1.json", "orders-v2.json", "--fail-on", "never", cwd=reports).returncode == 0
    assert gc("diff", "orders-v2.json", "orders-v2.json", cwd=reports).returncode == 0  # nothing new
    # only warnings new at fail-on warning: still 1; the reverse direction has no new error
    back = gc("diff", "orders-v2.json", "orders-v1.json", "-f", "json", cwd=reports)
    assert json.loads(back.stdout)["summary"]["new"] == 9 and back.returncode == 1
    doc = json.loads((reports / "orders-v2.json").read_text())
    doc["incomplete"] = ["GC004 could not list deployments: 403"]
    (tmp_path / "incomplete.json").write_text(json.dumps(doc))
    r = gc("diff", str(reports / "orders-v1.json"), "incomplete.json", cwd=tmp_path)
    assert r.returncode == 3 and "the new report is incomplete" in r.stdout


def test_history_is_carried_from_the_previous_report(reports):
    v2 = json.loads((reports / "orders-v2.json").read_text())
    assert v2["previous"] == {"time": "2026-01-01T00:00:00Z"}
    bullets = {b["bullet"]: b for b in v2["bullets"]}
    assert bullets["4.c"]["status"] == "fail" and bullets["4.c"]["failing_since"] == "2026-01-01T00:00:00Z"
    assert bullets["3.a"]["status"] == "pass" and bullets["3.a"]["failing_since"] is None
    seen = {(f["rule_id"], f["message"]): f["first_seen"] for f in v2["findings"]}
    assert seen[("GC405", "container 'orders' has no livenessProbe")] == "2026-01-01T00:00:00Z"
    assert seen[("GC405", "container 'cache-warmer' has no livenessProbe")] == "2026-01-15T00:00:00Z"
    r = gc(
        "scan",
        "orders",
        "-q",
        "--previous-report",
        str(reports / "orders-v1.json"),
        "-f",
        "html",
        cwd=FLEET / "v2",
        epoch=V2,
    )
    assert "2026-01-01 (14 d)" in r.stdout  # the bullet table and the findings say how long


@pytest.mark.parametrize("fmt,ext", [("markdown", "md"), ("json", "json"), ("html", "html")])
def test_merge_golden(reports, fmt, ext):
    r = gc("report", "merge", "orders-v1.json", "orders-v2.json", "payments.json", "-f", fmt, cwd=reports)
    assert r.returncode == 0, r.stderr
    check_golden(f"fleet.{ext}", r.stdout)


def test_merge_matrix_and_flags(reports, tmp_path):
    doc = json.loads((reports / "payments.json").read_text())
    doc["tool"]["version"] = "0.0.9"
    doc["catalogue_hash"] = "sha256:" + "0" * 64
    (tmp_path / "payments-old.json").write_text(json.dumps(doc))
    r = gc(
        "report", "merge", str(reports / "orders-v2.json"), str(reports / "payments.json"), "payments-old.json",
        "-f", "json", cwd=tmp_path,
    )  # fmt: skip
    fleet = json.loads(r.stdout)
    names = [x["name"] for x in fleet["reports"]]
    assert names == ["orders", "payments (payments-old.json)", "payments (payments.json)"]
    flagged = {x["name"]: x["flags"] for x in fleet["reports"]}
    assert any("tool version 0.0.9" in f for f in flagged["payments (payments-old.json)"])
    assert any("another rule catalogue" in f for f in flagged["payments (payments-old.json)"])
    assert flagged["orders"] == []
    row = {b["bullet"]: b for b in fleet["bullets"]}["4.c"]
    assert [c["status"] for c in row["cells"]] == ["fail", "pass", "pass"]
    assert fleet["worst"][0]["name"] == "orders"
    assert fleet["totals"]["reports"] == 3 and fleet["totals"]["flagged_reports"] == 1


def test_merge_reads_reports_without_bullets(reports, tmp_path):
    """A report from before bullets and rule_outcomes were added is judged from its outcomes."""
    doc = json.loads((reports / "orders-v2.json").read_text())
    for key in ("bullets", "rule_outcomes", "time", "subject", "catalogue_hash", "config_hash", "previous", "waivers"):
        doc.pop(key)
    (tmp_path / "old-orders.json").write_text(json.dumps(doc))
    r = gc("report", "merge", "old-orders.json", str(reports / "orders-v2.json"), "-f", "json", cwd=tmp_path)
    fleet = json.loads(r.stdout)
    old, new = fleet["reports"][0], fleet["reports"][1]
    assert old["name"] == "old-orders" and new["name"] == "orders"
    assert old["failing_bullets"] == new["failing_bullets"]
    assert any("no rule catalogue hash" in f for f in old["flags"])


@pytest.mark.parametrize(
    "content,expected",
    [
        (b'{"report_version": 1', "bad.json:1:21: not valid JSON"),
        (b"[" * 100000 + b"]" * 100000, "bad.json: JSON nested too deeply"),
        (b"\xff\xfe{}", "bad.json: not UTF-8"),
        (b'{"report_version": 7}', "bad.json: report_version: 7 is not a report version"),
        (b"[]", "bad.json: top level: not a JSON object"),
        (
            b'{"report_version": 1, "tool": {"name": "guidecheck"}, "rules": [], "outcomes": [],'
            b' "findings": [{"rule_id": "GC403", "severity": "fatal"}]}',
            "bad.json: findings[0].severity: not one of error, warning, info",
        ),
    ],
    ids=["truncated", "deep", "not-utf8", "version", "array", "bad-field"],
)
def test_unreadable_reports_exit_2_naming_the_file(reports, tmp_path, content, expected):
    (tmp_path / "bad.json").write_bytes(content)
    for args in (("diff", "bad.json", str(reports / "orders-v1.json")), ("report", "merge", "bad.json")):
        r = gc(*args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert expected in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_report_size_is_bounded(reports, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (1024 * 1024 + 1) + (reports / "orders-v1.json").read_bytes())
    r = gc("report", "merge", "big.json", "--max-report-mb", "1", cwd=tmp_path)
    assert r.returncode == 2 and "more than the 1048576 a report may have" in r.stderr
    r = gc("scan", "orders", "--previous-report", str(tmp_path / "missing.json"), cwd=FLEET / "v2")
    assert r.returncode == 2 and "missing.json: cannot read" in r.stderr


def test_hostile_strings_are_escaped(reports, tmp_path):
    doc = json.loads((reports / "orders-v2.json").read_text())
    doc["subject"]["name"] = "<script>alert(1)</script>\x1b[31m"
    doc["findings"][0]["message"] = "<img src=x onerror=alert(1)> @octocat | **bold**"
    (tmp_path / "evil.json").write_text(json.dumps(doc))
    html = gc("report", "merge", "evil.json", "-f", "html", cwd=tmp_path).stdout
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "\x1b" not in html
    md = gc("diff", str(reports / "orders-v1.json"), "evil.json", "-f", "markdown", cwd=tmp_path).stdout
    assert "<img" not in md and "@octocat" not in md and "\\*\\*bold\\*\\*" in md and "\\|" in md
