"""JUnit XML for GitLab (``artifacts:reports:junit``), Jenkins (``junit``) and other CI.

* one ``<testsuite>`` per rule (name ``GC403 Containers set CPU and memory
  limits``, properties ``bullet``, ``severity``, ``targets``, ``help``);
* one ``<testcase>`` per rule and target (each outcome of the scan):
  ``classname`` is the rule id and title, ``name`` the target
  (``k8s/deploy.yaml Deployment/shop/cart``; without the line, so that a CI
  system's test history survives lines moving; the line is added only to
  tell two same-named objects of one file apart);
* a failing outcome has one ``<failure>`` whose ``message`` is the first
  finding as ``path:line:col: message`` and whose text lists every finding of
  the outcome with its fix; ``type`` is the severity;
* ``meta["junit_warnings"]`` (``--junit-warnings``) decides what an outcome whose
  active findings are all warnings or info is: a ``<failure>`` (``failure``, the
  default), ``<skipped>`` with the findings (``skipped``), or a passing case with
  the findings in ``<system-out>`` (``passed``); Jenkins marks a build with test
  failures UNSTABLE even when guidecheck's ``--fail-on error`` gate passed;
* suppressed outcomes are ``<skipped>`` with the suppression reason,
  not-applicable ones ``<skipped>`` with why; a check that crashed is an
  ``<error>``;
* a ``guidecheck`` suite holds one ``scan completeness`` case, an ``<error>``
  when the scan was incomplete (exit code 3).

The report is valid against the Jenkins xunit plugin's JUnit schema (``junit-10.xsd``,
vendored in tests/schemas/): no ``file``/``line`` on ``<testcase>`` (the place is in the
failure message) and no ``disabled`` counts (junit-xml writes them; they are dropped).

No timestamps, host names or durations: the same scan gives the same bytes.
Every string is sanitised first (the writer would emit control characters
raw, producing a file no CI system can read).
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from guidecheck.model import Finding, Outcome, Rule, ScanResult, Severity, Status, Target
from guidecheck.sanitize import clean
from guidecheck.sanitize import path as clean_path

INTERNAL_ERROR = "internal error"  # prefix of the engine's reason when a check raised


def classname(rule: Rule) -> str:
    """``GC403 Containers set CPU and memory limits``.

    Jenkins splits a classname at its last dot into package and class, so dots
    in the title become underscores.
    """
    title = clean(rule.title, mask=False).rstrip(".").replace(".", "_")
    return f"{rule.id} {title}"


def target_name(t: Target) -> str:
    """What a test case is called: the target, without its line."""
    where = clean_path(t.path)
    if t.kind == "file":
        return where
    return f"{where} {clean(str(t.ref))}"


def _where(f: Finding) -> str:
    return f"{clean_path(f.path)}:{f.line}:{f.column}"


def _finding_text(f: Finding) -> str:
    """The finding as the text report shows it (one line), plus its suppression."""
    from guidecheck.reporters.text import finding_line

    line = finding_line(f)
    if f.suppressed:
        reason = clean(f.suppression_reason) if f.suppression_reason else "no reason given"
        line += f" (suppressed: {reason})"
    return line


WARNINGS = ("failure", "skipped", "passed")  # --junit-warnings


def _case(rule: Rule, o: Outcome, name: str, warnings: str = "failure") -> Any:
    from junit_xml import TestCase

    active = [f for f in o.findings if not f.suppressed]
    case = TestCase(name=name, classname=classname(rule))
    below = warnings != "failure" and all(f.severity < Severity.ERROR for f in active)
    if o.status == Status.FAIL and active and below:
        lines = [_finding_text(f) for f in active] + [_finding_text(f) for f in o.findings if f.suppressed]
        if warnings == "skipped":
            first = active[0]
            case.add_skipped_info(
                message=f"{first.severity}: {_where(first)}: {clean(first.message)}", output="\n".join(lines)
            )
        else:
            case.stdout = "\n".join(lines)
    elif o.status == Status.FAIL and active:
        _add_failure(case, rule, active, o.findings)
    elif o.status == Status.SUPPRESSED:
        reason = clean(o.reason) if o.reason else "no reason given"
        case.add_skipped_info(
            message=f"suppressed: {reason}", output="\n".join(_finding_text(f) for f in o.findings) or None
        )
    elif o.status == Status.NOT_APPLICABLE:
        _add_not_applicable(case, rule, o)
    return case


def _add_failure(case: Any, rule: Rule, active: list[Finding], findings: list[Finding]) -> None:
    """A failing outcome: the first active finding as the message, every finding and the fix as the text."""
    first = active[0]
    more = f" (and {len(active) - 1} more)" if len(active) > 1 else ""
    message = f"{_where(first)}: {clean(first.message)}{more}"
    lines = [_finding_text(f) for f in active]
    lines.append(f"fix: {clean(' '.join(rule.remediation.split()), mask=False)}")
    lines += [_finding_text(f) for f in findings if f.suppressed]
    case.add_failure_info(message=message, output="\n".join(lines), failure_type=str(first.severity))


def _add_not_applicable(case: Any, rule: Rule, o: Outcome) -> None:
    """Not applicable: skipped with why, or an error when the check itself failed (an internal error)."""
    reason = clean(o.reason) if o.reason else ""
    if reason.startswith(INTERNAL_ERROR):
        case.add_error_info(
            message=f"{rule.id} could not check {target_name(o.target)}: {reason}", error_type="internal-error"
        )
    else:
        case.add_skipped_info(message=f"not applicable: {reason}" if reason else "not applicable")


def _names(outcomes: list[Outcome]) -> list[str]:
    """Test case names, unique within a suite (the line is added on a clash)."""
    base = [target_name(o.target) for o in outcomes]
    count: dict[str, int] = defaultdict(int)
    for b in base:
        count[b] += 1
    names = []
    seen: dict[str, int] = defaultdict(int)
    for o, b in zip(outcomes, base, strict=True):
        if count[b] == 1:
            names.append(b)
            continue
        name = f"{b} (line {o.target.line}, {o.target.kind})"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return names


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    return "".join(chunks(result, meta))


def chunks(result: ScanResult, meta: dict[str, Any]) -> Iterator[str]:
    """The report as pieces: the ``<testsuites>`` line, then each suite's text.

    The suites are built (and turned into text) before the first piece, since
    the opening element carries their totals; the text is never joined into one
    string, which on a large audit would copy tens of megabytes two or three times."""
    from junit_xml import TestCase

    warnings = str(meta.get("junit_warnings") or "failure")
    by_rule: dict[str, list[Outcome]] = defaultdict(list)
    for o in result.outcomes:
        by_rule[o.rule_id].append(o)
    totals = {"errors": 0, "failures": 0, "tests": 0}
    suites = []
    for rule in result.rules:
        outcomes = by_rule.pop(rule.id, [])
        properties = {
            "bullet": rule.bullet or "-",
            "severity": str(rule.severity),
            "targets": ",".join(rule.targets),
            "help": f"docs/rules/{rule.id}.md",
        }
        cases = (_case(rule, o, n, warnings) for o, n in zip(outcomes, _names(outcomes), strict=True))
        suites.append(_suite(classname(rule), cases, properties, totals))

    completeness = TestCase(name="scan completeness", classname="guidecheck")
    if result.incomplete:
        reasons = [clean(r) for r in result.incomplete]
        completeness.add_error_info(
            message=f"scan incomplete: {len(reasons)} problem(s); exit code {meta.get('exit_code')}",
            output="\n".join(reasons),
            error_type="incomplete",
        )
    suites.append(
        _suite(
            "guidecheck",
            iter([completeness]),
            {
                "version": str(meta.get("version") or "unknown"),
                "fail-on": str(meta.get("threshold") or "error"),
                "exit-code": str(meta.get("exit_code")),
            },
            totals,
        )
    )
    root = ET.Element("testsuites", {key: str(value) for key, value in totals.items()})
    root.set("time", "0.0")  # no durations: the same scan gives the same bytes
    yield '<?xml version="1.0" encoding="utf-8"?>\n' + _open_tag(root)
    suites.reverse()
    while suites:
        yield suites.pop()  # each suite's text is freed once written
    yield "\n</testsuites>\n"


# what XML 1.0 cannot hold even as a character reference; sanitised strings never
# contain it, this is the last line of defence
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BATCH = 500  # test cases built into elements at a time


def _xml(element: Any, **options: Any) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", ET.tostring(element, encoding="unicode", **options))


def _open_tag(element: Any) -> str:
    return _xml(element, short_empty_elements=False).removesuffix(f"</{element.tag}>")


def _suite(name: str, cases: Iterator[Any], properties: dict[str, str], totals: dict[str, int]) -> str:
    """One ``<testsuite>`` as junit-xml's ``TestSuite.build_xml_doc`` builds it (its
    counts, properties and ``<testcase>`` elements), indented as ElementTree indents
    it inside ``<testsuites>``, without a minidom round trip (which takes seconds and
    hundreds of megabytes on a large scan).  junit-xml builds the test cases
    ``_BATCH`` at a time and each batch becomes text at once: an audit of a large
    cluster has some 30 test cases per object, and their objects never all live
    at once.  Adds the suite's counts to ``totals`` (the ``<testsuites>`` element's)."""
    from junit_xml import TestSuite

    head = None
    counts = {"errors": 0, "failures": 0, "skipped": 0, "tests": 0}
    parts: list[str] = []
    while True:
        batch = list(itertools.islice(cases, _BATCH))
        if batch or head is None:
            element = TestSuite(
                name=name, test_cases=batch, package="guidecheck", properties=properties
            ).build_xml_doc()
            for key in counts:
                counts[key] += int(element.get(key, 0))
            for child in element:
                if head is not None and child.tag == "properties":
                    continue
                ET.indent(child, space="\t", level=2)
                child.tail = None
                parts.append("\n\t\t" + _xml(child))
            head = head if head is not None else element
        if len(batch) < _BATCH:
            break
    for key in totals:
        totals[key] += counts[key]
    # junit-xml's 'disabled' count is not in the Jenkins (xunit) schema: dropped
    attrs = {k: v for k, v in head.attrib.items() if k != "disabled"} | {k: str(v) for k, v in counts.items()}
    return "\n\t" + _open_tag(ET.Element("testsuite", attrs)) + "".join(parts) + "\n\t</testsuite>"
