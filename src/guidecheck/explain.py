"""``guidecheck explain``: a rule's rationale, fix and examples, taken from its own test fixtures.

The examples are the rule's passing and failing fixture cases (``fixtures/rules/<ID>/``), the same
files the test-suite checks; :mod:`guidecheck.docs` renders them into the rule pages too.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from guidecheck.catalog import Rule, rules_dir

MAX_EXAMPLE_LINES = 40


def fixtures_dir() -> Path:
    packaged = Path(__file__).parent / "_fixtures"
    if packaged.is_dir():
        return packaged
    return rules_dir().parent / "fixtures" / "rules"


def example_cases(rule_id: str) -> tuple[list[Path], list[Path]]:
    base = fixtures_dir() / rule_id
    if not base.is_dir():
        return [], []
    cases = sorted(p for p in base.iterdir() if p.is_dir())
    return ([p for p in cases if p.name.startswith("pass-")], [p for p in cases if p.name.startswith("fail-")])


def case_files(case: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(case):
        dirs.sort()
        for n in sorted(names):
            if n in ("expected.txt", "README.md"):
                continue
            p = Path(root) / n
            if p.is_file() and not p.is_symlink():
                files.append(p)
    return files


def lang(path: Path) -> str:
    name = path.name.lower()
    if "dockerfile" in name or "containerfile" in name:
        return "dockerfile"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith(".json"):
        return "json"
    return ""


def render_case(case: Path, fence: bool) -> str:
    out = []
    files = case_files(case)
    expected = case / "expected.txt"
    for f in files[:3]:
        rel = f.relative_to(case).as_posix()
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        lines = text.rstrip("\n").split("\n")
        if len(lines) > MAX_EXAMPLE_LINES:
            lines = lines[:MAX_EXAMPLE_LINES] + ["..."]
        body = "\n".join(lines)
        if fence:
            out.append(f"`{rel}`:\n\n```{lang(f)}\n{body}\n```\n")
        else:
            out.append(f"--- {rel}\n{textwrap.indent(body, '  ')}\n")
    if len(files) > 3:
        out.append(f"(and {len(files) - 3} more file(s) in fixtures/rules/{case.parent.name}/{case.name})\n")
    if expected.is_file():
        exp = expected.read_text(encoding="utf-8").strip()
        out.append(
            ("Expected findings:\n\n```\n" + exp + "\n```\n")
            if fence
            else f"expected findings:\n{textwrap.indent(exp, '  ')}\n"
        )
    return "\n".join(out)


def wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(" ".join(text.split()), 100))


def explain_text(rule: Rule) -> str:
    passes, fails = example_cases(rule.id)
    parts = [
        f"{rule.id}: {rule.title}",
        f"guideline {rule.guideline} | severity {rule.severity} | targets {', '.join(rule.targets)}",
        "",
        "Why:",
        textwrap.indent(wrap(rule.rationale), "  "),
        "",
    ]
    if rule.evidence:
        parts += ["What satisfies it:", textwrap.indent(wrap(rule.evidence), "  "), ""]
    parts += ["How to fix:", textwrap.indent(wrap(rule.remediation), "  "), ""]
    if rule.uses:
        parts += ["Settings (docs/configuration.md):", textwrap.indent(wrap(", ".join(rule.uses)), "  "), ""]
    for title, cases in (("Passing example", passes[:1]), ("Failing example", fails[:1])):
        for case in cases:
            parts += [f"{title} ({case.name}):", render_case(case, False)]
    return "\n".join(parts).rstrip() + "\n"


__all__ = ["example_cases", "explain_text", "fixtures_dir", "render_case", "wrap"]
