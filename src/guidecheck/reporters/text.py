"""Compiler-style text: ``path:line:col: severity RULE message [object, bullet]``."""

from __future__ import annotations

import re
from typing import Any

from guidecheck.model import ScanResult, Severity
from guidecheck.sanitize import clean, path as clean_path

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    color = bool(meta.get("color"))
    quiet = bool(meta.get("quiet"))
    lines: list[str] = []
    for f in result.findings:
        if f.suppressed:
            continue
        where = f"{clean_path(f.path)}:{f.line}:{f.column}:"
        sev = str(f.severity)
        context = []
        if f.object is not None:
            obj = clean(str(f.object))
            context.append(obj + (f" container {clean(f.container)}" if f.container else ""))
        origin = f.extra.get("origin") or {}
        if origin.get("template"):
            context.append(f"from {clean_path(str(origin['template']))}")
        context.append(f"guideline {f.bullet}" if f.bullet else "tool")
        if color:
            where = _BOLD + where + _RESET
            sev = _COLORS[f.severity] + sev + _RESET
        lines.append(f"{where} {sev} {f.rule_id} {clean(f.message)} [{', '.join(context)}]")
        if not quiet:
            fix = f"    fix: {clean(_one_line(f.remediation))}"
            lines.append(_DIM + fix + _RESET if color else fix)
    for reason in result.incomplete:
        lines.append(f"incomplete: {clean(reason)}")
    if not quiet:
        lines.append(summary(result, meta))
    return "\n".join(lines) + "\n" if lines else ""


def summary(result: ScanResult, meta: dict[str, Any]) -> str:
    active = result.active()
    counts = {s: sum(1 for f in active if f.severity == s) for s in Severity}
    suppressed = len(result.findings) - len(active)
    targets = len({o.target.key for o in result.outcomes})
    parts = [f"{counts[Severity.ERROR]} error(s)", f"{counts[Severity.WARNING]} warning(s)",
             f"{counts[Severity.INFO]} info"]
    text = f"{len(active)} finding(s): {', '.join(parts)}"
    if suppressed:
        text += f"; {suppressed} suppressed"
    text += f"; {len(result.rules)} rule(s) on {targets} target(s)"
    if result.incomplete:
        text += "; scan INCOMPLETE"
    return text + f"; exit {meta.get('exit_code', 0)}"
