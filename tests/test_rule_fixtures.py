"""Every rule has passing and failing fixtures, and findings are pinned to file and line.

A case is a directory ``fixtures/rules/<ID>/pass-<name>/`` or ``fail-<name>/``,
scanned as a repository with only that rule selected.  A failing case lists
its expected findings in ``expected.txt`` (``relative/path:line RULEID`` per
line); the scan must produce exactly those.  A passing case must produce none
and at least one *pass* outcome (so the rule really ran on it).  No case may
produce GC001 unless it is a GC001 case: fixtures must parse.

Live rules: a case named ``pass-dump-<name>`` / ``fail-dump-<name>`` is run
through the offline audit path instead (``guidecheck audit --from-dump`` on
every ``*.yaml``/``*.yml``/``*.json`` file of the case, see docs/audit.md): its
files are cluster dumps, which may carry guidecheck's own ``AuditInfo`` (the
clock: ``spec.time``), ``CoverageGap`` and ``ProbeResult`` records.  Expected
findings are ``dump-file:line RULEID`` as for any case.  Only GC004 cases may
leave the audit incomplete (that is what GC004 reports), and a failing GC004
case must.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from guidecheck import runner
from guidecheck.catalog import load_rules
from guidecheck.config import Config, find_config, load_config
from guidecheck.model import Status

from conftest import FIXTURES

RULES = [r for r in load_rules() if r.status != "removed"]
CASES = sorted(
    p for r in RULES for p in (FIXTURES / "rules" / r.id).glob("*") if p.is_dir() and p.name.startswith(("pass-", "fail-"))
)


def scan_case(case: Path, rule_id: str):
    cfg_path = case / ".guidecheck.yaml"
    config = load_config(str(cfg_path)) if cfg_path.is_file() else Config()
    ids = (rule_id,) if rule_id == "GC001" else (rule_id, "GC001")
    config = dataclasses.replace(config, select=ids, ignore=())
    return runner.scan([str(case)], config, load_rules())


def is_dump_case(case: Path) -> bool:
    return case.name.startswith(("pass-dump-", "fail-dump-"))


def scan_dump_case(case: Path, rule_id: str):
    """A live-rule case: its files are cluster dumps, read as ``guidecheck audit --from-dump`` reads them."""
    cfg_path = case / ".guidecheck.yaml"
    config = load_config(str(cfg_path)) if cfg_path.is_file() else Config()
    ids = (rule_id,) if rule_id == "GC001" else (rule_id, "GC001")
    config = dataclasses.replace(config, select=ids, ignore=())
    dumps = sorted(str(p) for p in case.iterdir()
                   if p.is_file() and p.suffix in (".yaml", ".yml", ".json") and p.name != ".guidecheck.yaml")
    return runner.audit(config, load_rules(), dumps=dumps).result


def rel(path: str, case: Path) -> str:
    prefix = str(case).replace("\\", "/") + "/"
    if path == prefix[:-1]:
        return "."  # the case directory itself: findings of repository rules (GC202-GC204)
    return path[len(prefix):] if path.startswith(prefix) else path


def expected_of(case: Path) -> set[tuple[str, int, str]]:
    exp = case / "expected.txt"
    out = set()
    for raw in exp.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        loc, rule = line.split()
        path, _, lineno = loc.rpartition(":")
        out.add((path, int(lineno), rule))
    return out


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_pass_and_fail_fixtures(rule):
    base = FIXTURES / "rules" / rule.id
    names = [p.name for p in base.iterdir()] if base.is_dir() else []
    assert any(n.startswith("pass-") for n in names), f"{rule.id}: no fixtures/rules/{rule.id}/pass-* case"
    assert any(n.startswith("fail-") for n in names), f"{rule.id}: no fixtures/rules/{rule.id}/fail-* case"
    for n in names:
        if n.startswith("fail-"):
            assert (base / n / "expected.txt").is_file(), f"{rule.id}/{n}: missing expected.txt"


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_case(case: Path):
    rule_id = case.parent.name
    result = scan_dump_case(case, rule_id) if is_dump_case(case) else scan_case(case, rule_id)
    got = {(rel(f.path, case), f.line, f.rule_id) for f in result.findings if not f.suppressed}
    if rule_id != "GC001":
        parse_errors = {g for g in got if g[2] == "GC001"}
        assert not parse_errors, f"fixture does not parse: {parse_errors}"
    got = {g for g in got if g[2] == rule_id}
    if rule_id == "GC004" and case.name.startswith("fail-"):
        assert result.incomplete, "a coverage gap must make the audit incomplete (exit 3)"
    elif rule_id != "GC004":
        assert not result.incomplete, result.incomplete
    if case.name.startswith("fail-"):
        expected = expected_of(case)
        assert expected, "a failing case must expect at least one finding"
        assert got == expected
    else:
        assert got == set()
        statuses = {o.status for o in result.outcomes if o.rule_id == rule_id}
        assert Status.PASS in statuses, f"{rule_id} never passed on this case (statuses: {statuses})"
