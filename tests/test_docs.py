"""Generated docs stay in sync with the catalogue; every rule is documented."""

from __future__ import annotations

import re

from guidecheck import docs
from guidecheck.catalog import load_rules

from conftest import ROOT


def test_docs_rules_are_up_to_date():
    expected = docs.expected_docs(load_rules())
    out = ROOT / "docs" / "rules"
    stale = [
        n for n, text in expected.items() if not (out / n).is_file() or (out / n).read_text(encoding="utf-8") != text
    ]
    extra = sorted(p.name for p in out.glob("*.md") if p.name not in expected)
    assert not stale and not extra, f"docs/rules is stale ({stale + extra}); run: .venv/bin/python -m guidecheck.docs"


def test_every_rule_page_has_examples_and_sections():
    for rule in load_rules():
        text = (ROOT / "docs" / "rules" / f"{rule.id}.md").read_text(encoding="utf-8")
        for section in ("## Why", "## How to fix", "## Passing example", "## Failing example"):
            assert section in text, (rule.id, section)


def test_docs_pages_exist():
    for page in (
        "install.md",
        "commands.md",
        "configuration.md",
        "suppressions.md",
        "ci-gate.md",
        "pre-commit.md",
        "output-formats.md",
        "limits.md",
        "development.md",
        "guideline.md",
        "reports.md",
        "cache.md",
    ):
        assert (ROOT / "docs" / page).is_file(), page
    for image in re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")):
        assert (ROOT / "docs" / image).stat().st_size < 200_000, image  # screenshots stay small
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    fence = lines.index("```bash")
    assert lines[fence + 1].startswith("python3 -m venv .venv && .venv/bin/pip install . && ")
    assert ".venv/bin/guidecheck scan " in lines[fence + 1] and "examples/compliant-service" in lines[fence + 1]
    assert lines[fence + 2] == "bash scripts/test.sh"
    assert lines[fence + 3] == "```"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in ci


def test_generated_parts_are_up_to_date():
    """README's rule table, docs/configuration.md's settings table and config.schema.json come from the catalogue."""
    stale = [
        str(p.relative_to(ROOT))
        for p, text in docs.expected_pages(load_rules(), ROOT).items()
        if p.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"{stale} stale; run: .venv/bin/python -m guidecheck.docs"


def test_readme_lists_every_rule_and_configuration_every_setting():
    from guidecheck.catalog import load_settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in load_rules():
        assert f"| [{rule.id}](docs/rules/{rule.id}.md) |" in readme, rule.id
    table = (
        (ROOT / "docs" / "configuration.md")
        .read_text(encoding="utf-8")
        .split(docs.MARKERS["docs/configuration.md"][0])[1]
    )
    for name in load_settings():
        assert f"| `{name}` |" in table, name
