"""Every rule has passing and failing fixtures, and findings are pinned to file, line, column and message.

A case is a directory ``fixtures/rules/<ID>/pass-<name>/`` or ``fail-<name>/``,
scanned as a repository with only that rule selected.  A failing case lists
its expected findings in ``expected.txt``, one per line::

    # a comment, on a line of its own, says why the findings below are expected
    relative/path:line:column RULEID message

The path is relative to the case directory (``.`` for the case directory
itself: repository rules), the message is the finding's whole message as
reported (after one space; sanitised as every output format does, so a control
character or line break is an escape such as ``\\x0a`` and the entry stays
one line).  A message that names a file of the case names it relative to the
case too: the case's absolute path, which differs from checkout to checkout, is
cut from it.  A line whose first non-blank character is ``#`` is a comment;
blank lines are ignored; there are no trailing comments (messages may contain
``#``).  The scan must produce exactly those findings (as a multiset: a
finding reported twice is listed twice); on a mismatch the test prints the
missing and the unexpected entries in this format.  A passing case must produce
none and at least one *pass* outcome (so the rule really ran on it).  No case
may produce GC001 unless it is a GC001 case: fixtures must parse.

A case with a ``registry.json`` (GC705) lists images and signatures that are
pushed into the real test registry first (``tests/registry_support.py``); the case
is then scanned with ``--verify-images``, its registry mirrored to that registry.

Live rules: a case named ``pass-dump-<name>`` / ``fail-dump-<name>`` is run
through the offline audit path instead (``guidecheck audit --from-dump`` on
every ``*.yaml``/``*.yml``/``*.json`` file of the case, see docs/audit.md): its
files are cluster dumps, which may carry guidecheck's own ``AuditInfo`` (the
clock: ``spec.time``), ``CoverageGap`` and ``ProbeResult`` records.  Expected
findings are ``dump-file:line:column RULEID message`` as for any case.  Only
GC004 cases may leave the audit incomplete (that is what GC004 reports), and a
failing GC004 case must.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest

from guidecheck import runner
from guidecheck.catalog import load_rules
from guidecheck.config import Config, load_config
from guidecheck.model import ScanResult, Status
from guidecheck.sanitize import clean

from conftest import FIXTURES

RULES = [r for r in load_rules() if r.status != "removed"]
CASES = sorted(
    p
    for r in RULES
    for p in (FIXTURES / "rules" / r.id).glob("*")
    if p.is_dir() and p.name.startswith(("pass-", "fail-"))
)


def scan_case(case: Path, rule_id: str):
    cfg_path = case / ".guidecheck.yaml"
    config = load_config(str(cfg_path)) if cfg_path.is_file() else Config()
    ids = (rule_id,) if rule_id == "GC001" else (rule_id, "GC001")
    config = dataclasses.replace(config, select=ids, ignore=())
    options = None
    if (case / "registry.json").is_file():  # GC705: the case's images live in the real test registry
        import registry_support

        config, options = registry_support.serve_case(case, config)
    return runner.scan([str(case)], config, load_rules(), options=options)


def is_dump_case(case: Path) -> bool:
    return case.name.startswith(("pass-dump-", "fail-dump-"))


def scan_dump_case(case: Path, rule_id: str):
    """A live-rule case: its files are cluster dumps, read as ``guidecheck audit --from-dump`` reads them."""
    cfg_path = case / ".guidecheck.yaml"
    config = load_config(str(cfg_path)) if cfg_path.is_file() else Config()
    ids = (rule_id,) if rule_id == "GC001" else (rule_id, "GC001")
    config = dataclasses.replace(config, select=ids, ignore=())
    dumps = sorted(
        str(p)
        for p in case.iterdir()
        if p.is_file() and p.suffix in (".yaml", ".yml", ".json") and p.name != ".guidecheck.yaml"
    )
    return runner.audit(config, load_rules(), dumps=dumps).result


def rel(path: str, case: Path) -> str:
    prefix = str(case).replace("\\", "/") + "/"
    if path == prefix[:-1]:
        return "."  # the case directory itself: findings of repository rules (GC202-GC204)
    return path[len(prefix) :] if path.startswith(prefix) else path


Expected = tuple[str, int, int, str, str]  # path, line, column, rule id, message


def case_message(message: str, case: Path) -> str:
    """The message as ``expected.txt`` writes it: the case's own files relative to the case, sanitised (one line)."""
    for root in dict.fromkeys((str(case), str(case).replace("\\", "/"))):
        message = message.replace(root + "/", "").replace(root + "\\", "")
        message = re.sub(re.escape(root) + r"(?![\w.-])", ".", message)
    return clean(message)


def found(result: ScanResult, case: Path) -> Counter[Expected]:
    return Counter(
        (rel(f.path, case), f.line, f.column, f.rule_id, case_message(f.message, case))
        for f in result.findings
        if not f.suppressed
    )


def expected_line(e: Expected) -> str:
    path, line, column, rule, message = e
    return f"{path}:{line}:{column} {rule} {message}"


def parse_expected_line(text: str) -> Expected:
    loc, rule, message = (text.split(" ", 2) + ["", ""])[:3]
    path, line, column = (["", "", ""] + loc.rsplit(":", 2))[-3:]
    if not (path and line.isdigit() and column.isdigit() and rule and message):
        raise ValueError(f"not `relative/path:line:column RULEID message`: {text!r}")
    return path, int(line), int(column), rule, message


def expected_of(case: Path) -> Counter[Expected]:
    out: Counter[Expected] = Counter()
    for n, raw in enumerate((case / "expected.txt").read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            out[parse_expected_line(raw)] += 1
        except ValueError as e:
            raise AssertionError(f"{case.name}/expected.txt:{n}: {e}") from None
    return out


def mismatch(got: Counter[Expected], expected: Counter[Expected]) -> str:
    """The difference as lines to paste into (``-`` take out of) ``expected.txt``."""
    lines = [f"  - {expected_line(e)}" for e in sorted((expected - got).elements())]
    lines += [f"  + {expected_line(g)}" for g in sorted((got - expected).elements())]
    head = "findings differ from expected.txt (- expected, not reported; + reported, not expected):"
    return "\n".join([head, *lines])


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
    got = found(result, case)
    if rule_id != "GC001":
        parse_errors = [expected_line(g) for g in got if g[3] == "GC001"]
        assert not parse_errors, f"fixture does not parse: {parse_errors}"
    got = Counter({g: n for g, n in got.items() if g[3] == rule_id})
    if rule_id == "GC004" and case.name.startswith("fail-"):
        assert result.incomplete, "a coverage gap must make the audit incomplete (exit 3)"
    elif rule_id != "GC004":
        assert not result.incomplete, result.incomplete
    if case.name.startswith("fail-"):
        expected = expected_of(case)
        assert expected, "a failing case must expect at least one finding"
        assert got == expected, mismatch(got, expected)
    else:
        assert not got, mismatch(got, Counter())
        statuses = {o.status for o in result.outcomes if o.rule_id == rule_id}
        assert Status.PASS in statuses, f"{rule_id} never passed on this case (statuses: {statuses})"
