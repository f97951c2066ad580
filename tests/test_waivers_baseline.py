"""Waivers that expire (GC003) and baselines for adopting the gate on a legacy repository."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from guidecheck import engine
from guidecheck.catalog import load_rules
from guidecheck.config import load_config
from guidecheck.loaders import load

from conftest import FIXTURES

DEPLOY = (FIXTURES / "rules" / "GC403" / "fail-no-limits" / "deployment.yaml").read_text()


def repo(tmp_path, waiver_expires: str, reason: str | None = "migrating"):
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "d.yaml").write_text(DEPLOY)
    (tmp_path / "new.yaml").write_text(DEPLOY)
    lines = [
        "waivers:",
        "  - rules: [GC403]",
        "    paths: ['legacy/**']",
        "    owner: team-a",
        "    ticket: OPS-1",
        f"    expires: {waiver_expires}",
    ]
    if reason:
        lines.append(f"    reason: {reason}")
    (tmp_path / ".guidecheck.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path


def scan(tmp_path, today):
    config = load_config(str(tmp_path / ".guidecheck.yaml"))
    return engine.run(load_rules(), load([str(tmp_path)], config).targets, config, today=today)


def test_waiver_suppresses_until_it_expires(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo(tmp_path, "2026-06-30")
    before = scan(tmp_path, dt.date(2026, 6, 30))  # inclusive
    legacy = [f for f in before.findings if f.rule_id == "GC403" and "legacy" in f.path]
    assert legacy and all(f.suppressed for f in legacy)
    assert "owner team-a, ticket OPS-1" in legacy[0].suppression_reason
    assert all(not f.suppressed for f in before.findings if f.rule_id == "GC403" and "new.yaml" in f.path)
    assert not [f for f in before.findings if f.rule_id == "GC003"]

    after = scan(tmp_path, dt.date(2026, 7, 1))
    assert all(not f.suppressed for f in after.findings if f.rule_id == "GC403")
    gc003 = [f for f in after.findings if f.rule_id == "GC003"]
    assert len(gc003) == 1 and gc003[0].line == 2
    assert "expired on 2026-06-30 (owner team-a, ticket OPS-1)" in gc003[0].message


def test_waiver_without_reason_is_gc002(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo(tmp_path, "2999-01-01", reason=None)
    result = scan(tmp_path, dt.date(2026, 1, 1))
    assert [(f.rule_id, f.line) for f in result.findings if f.rule_id == "GC002"] == [("GC002", 2)]


def test_invalid_waiver_date_is_config_error(run_cli, tmp_path):
    (tmp_path / ".guidecheck.yaml").write_text("waivers:\n  - rules: [GC403]\n    owner: a\n    expires: 2026-02-30\n")
    r = run_cli("scan", str(tmp_path))
    assert r.returncode == 2 and "waivers.0.expires" in r.stderr


def test_baseline_accepts_existing_findings_and_fails_on_new(run_cli, tmp_path):
    (tmp_path / "a.yaml").write_text(DEPLOY)
    base = tmp_path / "baseline.json"
    r = run_cli("scan", str(tmp_path), "--select", "GC403", "--baseline", str(base), "--update-baseline")
    assert r.returncode == 0, r.stderr
    data = json.loads(base.read_text())
    assert data["baseline_version"] == 1 and len(data["findings"]) == 3
    r = run_cli("scan", str(tmp_path), "--select", "GC403", "--baseline", str(base), "-f", "json")
    assert r.returncode == 0, r.stdout
    report = json.loads(r.stdout)
    assert report["summary"]["suppressed"] == 3
    assert {f["suppression_reason"] for f in report["findings"]} == {"accepted in the baseline"}
    # a new finding (a new file) fails the gate; moving lines does not invalidate the baseline
    (tmp_path / "a.yaml").write_text("# a comment moves every line\n" + DEPLOY)
    shutil.copy(tmp_path / "a.yaml", tmp_path / "b.yaml")
    r = run_cli("scan", str(tmp_path), "--select", "GC403", "--baseline", str(base), "-f", "json")
    assert r.returncode == 1
    active = [f for f in json.loads(r.stdout)["findings"] if not f["suppressed"]]
    assert {f["path"].rsplit("/", 1)[-1] for f in active} == {"b.yaml"}


def test_bad_baseline_is_usage_error(run_cli, tmp_path):
    bad = tmp_path / "b.json"
    bad.write_text("[1, 2]")
    assert run_cli("scan", str(tmp_path), "--baseline", str(bad)).returncode == 2
    assert run_cli("scan", str(tmp_path), "--baseline", str(tmp_path / "none.json")).returncode == 2
