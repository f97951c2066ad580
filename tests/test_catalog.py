"""The rule catalogue: schema-valid, matches the product catalogue, metadata once."""

from __future__ import annotations

import re

import pytest

from guidecheck.catalog import CatalogError, load_rules, resolve_check

from conftest import ROOT, SHARED

CATALOGUE = SHARED / "guide" / "rule-catalogue.md"


def product_catalogue() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| (GC\d{3}) \| ([^|]+) \| ([^|]+) \| (\w+) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(4).strip())
    return rows


def test_rules_load_and_resolve():
    rules = load_rules()
    assert rules == sorted(rules, key=lambda r: r.id)
    for r in rules:
        assert callable(resolve_check(r))
        assert r.remediation.endswith(".")


@pytest.mark.skipif(not CATALOGUE.is_file(), reason="shared guide not present")
def test_rules_match_product_catalogue_bullet_and_severity():
    product = product_catalogue()
    for r in load_rules():
        assert r.id in product, f"{r.id} is not in the product catalogue"
        bullet, severity = product[r.id]
        assert (r.bullet or "—") == bullet, r.id
        assert str(r.severity) == severity, r.id


def test_invalid_rule_file_is_rejected(tmp_path):
    (tmp_path / "GC999.yaml").write_text(
        "id: GC999\ntitle: Something short\nbullet: '4.b'\nseverity: fatal\ntargets: [k8s]\n"
        "rationale: a rationale that is long enough\nremediation: Do the right thing.\ncheck: guidecheck.checks.core:load_errors\n")
    with pytest.raises(CatalogError, match="severity"):
        load_rules(tmp_path)


def test_rule_id_must_match_file_name(tmp_path):
    (tmp_path / "GC998.yaml").write_text(
        "id: GC997\ntitle: Something short\nbullet: null\nseverity: error\ntargets: [file]\n"
        "rationale: a rationale that is long enough\nremediation: Do the right thing.\ncheck: guidecheck.checks.core:load_errors\n")
    with pytest.raises(CatalogError, match="does not match"):
        load_rules(tmp_path)


def test_check_must_live_in_guidecheck_checks(tmp_path):
    (tmp_path / "GC996.yaml").write_text(
        "id: GC996\ntitle: Something short\nbullet: null\nseverity: error\ntargets: [file]\n"
        "rationale: a rationale that is long enough\nremediation: Do the right thing.\ncheck: os:system\n")
    rule = load_rules(tmp_path)[0]
    with pytest.raises(CatalogError, match="must live under"):
        resolve_check(rule)


def test_metadata_lives_only_in_rules_yaml():
    """No rule's title or remediation is repeated in a string of the Python source (docstrings aside)."""
    import ast

    strings = []
    for p in (ROOT / "src").rglob("*.py"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        strings += [n.value for n in ast.walk(tree)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]
    blob = "\n".join(strings)
    for r in load_rules():
        assert r.title not in blob, f"{r.id} title duplicated in source"
        assert r.remediation not in blob, f"{r.id} remediation duplicated in source"
