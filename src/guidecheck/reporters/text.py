"""Compiler-style text: ``path:line:col: severity RULE message [object, bullet]``.

One line per active finding (suppressed findings are only counted), an
indented ``fix:`` line with the rule's remediation, ``incomplete:`` lines, and
a summary line.  Every value from the scanned files goes through
:mod:`guidecheck.sanitize`, so a file name or value can neither add a line nor
move the cursor.  A line never starts with a CI log command (GitHub Actions
``::error``, Azure Pipelines ``##vso[``) taken from a file name.  Colour only
when ``meta["color"]`` (the CLI sets it for a terminal without ``NO_COLOR``).
"""

from __future__ import annotations

import re
from typing import Any

from guidecheck.model import Finding, ScanResult, Severity
from guidecheck.sanitize import clean
from guidecheck.sanitize import path as clean_path

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"

# GitHub Actions reads "::command ...::" at the start of a line (after leading
# whitespace); Azure Pipelines reads "##vso[" and "##[" anywhere in a line.
_LOG_COMMAND = re.compile(r"##(?=vso\[|\[)")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def display_path(path: str) -> str:
    """A path safe to start a line with: escaped, and never a CI log command."""
    shown = _LOG_COMMAND.sub("#\\\\x23", clean_path(path))
    if shown.lstrip().startswith("::"):
        shown = "./" + shown
    return shown


def _safe(text: str) -> str:
    return _LOG_COMMAND.sub("#\\\\x23", text)


def finding_line(f: Finding, color: bool = False) -> str:
    where = f"{display_path(f.path)}:{f.line}:{f.column}:"
    sev = str(f.severity)
    context = []
    if f.object is not None and f.object.name != f.path:  # a Dockerfile is already named by its path
        obj = clean(str(f.object))
        context.append(obj + (f" container {clean(f.container)}" if f.container else ""))
    elif f.container:
        context.append(f"container {clean(f.container)}")
    origin = f.extra.get("origin")
    if isinstance(origin, dict):
        context.extend(_origin_context(origin))
    units = f.extra.get("units")
    # a plain manifest's unit is its directory, which the path already names
    if isinstance(units, list) and units and not (isinstance(origin, dict) and origin.get("unit_kind") == "manifests"):
        shown = ", ".join(clean_path(str(u)) for u in units[:5]) + (
            f" and {len(units) - 5} more" if len(units) > 5 else ""
        )
        context.append(("units " if len(units) > 1 else "unit ") + shown)
    context.append(f"guideline {f.bullet}" if f.bullet else "tool")
    body = _safe(f"{f.rule_id} {clean(f.message)} [{', '.join(context)}]")
    if color:
        where = _BOLD + where + _RESET
        sev = _COLORS[f.severity] + sev + _RESET
    return f"{where} {sev} {body}"


def _origin_context(origin: dict[str, Any]) -> list[str]:
    """Where a rendered object came from: its template, the chart it was rendered through, the profile, values."""
    context = []
    template = origin.get("template")
    if template:
        context.append(f"from {clean_path(str(template))}")
    chart = str(origin.get("chart") or "")
    if chart and template and not str(template).startswith(chart.rstrip("/") + "/"):
        context.append(f"via chart {clean_path(chart)}")  # a dependency rendered through its parent
    profile = origin.get("profile")
    if profile and profile != "default":
        context.append(f"profile {clean(str(profile))}")
    shown = _values_shown(origin.get("values"))
    if shown:
        context.append("values " + ", ".join(shown))
    return context


def _values_shown(values: Any) -> list[str]:
    """The first three values files (``path:line (key)``) or ``--set`` options a finding's line reads."""
    shown = []
    for v in values[:3] if isinstance(values, list) else ():
        if isinstance(v, dict) and v.get("path"):
            shown.append(f"{clean_path(str(v['path']))}:{v.get('line')} ({clean(str(v.get('key')))})")
        elif isinstance(v, dict) and v.get("set"):
            shown.append(f"--set {clean(str(v['set']))}")
    return shown


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    color = bool(meta.get("color"))
    quiet = bool(meta.get("quiet"))
    lines: list[str] = []
    for f in result.findings:
        if f.suppressed:
            continue
        lines.append(finding_line(f, color))
        if not quiet:
            fix = f"    fix: {_safe(clean(_one_line(f.remediation), mask=False))}"
            lines.append(_DIM + fix + _RESET if color else fix)
    for reason in result.incomplete:
        lines.append(_safe(f"incomplete: {clean(reason)}"))
    if not quiet:
        lines.append(summary(result, meta))
    return "\n".join(lines) + "\n" if lines else ""


def summary(result: ScanResult, meta: dict[str, Any]) -> str:
    active = result.active()
    counts = {s: sum(1 for f in active if f.severity == s) for s in Severity}
    suppressed = len(result.findings) - len(active)
    targets = len({o.target.key for o in result.outcomes})
    parts = [
        f"{counts[Severity.ERROR]} error(s)",
        f"{counts[Severity.WARNING]} warning(s)",
        f"{counts[Severity.INFO]} info",
    ]
    text = f"{len(active)} finding(s): {', '.join(parts)}"
    if suppressed:
        text += f"; {suppressed} suppressed"
    text += f"; {len(result.rules)} rule(s) on {targets} target(s)"
    fixed = len(result.baseline["fixed"]) if result.baseline else 0
    if fixed:
        text += f"; {fixed} baseline entr{'y' if fixed == 1 else 'ies'} fixed (refresh it with --update-baseline)"
    if result.skipped:
        text += f"; not rendered on request (--no-render): {', '.join(result.skipped)}"
    if result.not_scanned:
        n = len(result.not_scanned)
        shown = ", ".join(clean(p) for p in result.not_scanned[:3]) + (f" and {n - 3} more" if n > 3 else "")
        text += f"; test data not scanned (scan-test-data: true scans it): {shown}"
    if result.incomplete:
        text += "; scan INCOMPLETE"
    gate = meta.get("gate") or {}
    loosened = ", ".join(clean(k) for k in gate.get("loosened_by_repository") or ())
    ignored = ", ".join(clean(k) for k in gate.get("ignored_from_repository") or ())
    if loosened:
        text += f"; gate LOOSENED by the repository configuration ({loosened})"
    if ignored:
        text += f"; ignored from the repository configuration: {ignored}"
    return text + f"; exit {meta.get('exit_code', 0)}"
