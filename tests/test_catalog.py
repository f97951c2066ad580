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
        "rationale: a rationale that is long enough\nremediation: Do the right thing.\ncheck: guidecheck.checks.core:load_errors\n"
    )
    with pytest.raises(CatalogError, match="severity"):
        load_rules(tmp_path)


def test_rule_id_must_match_file_name(tmp_path):
    (tmp_path / "GC998.yaml").write_text(
        "id: GC997\ntitle: Something short\nbullet: null\nseverity: error\ntargets: [file]\n"
        "rationale: a rationale that is long enough\nremediation: Do the right thing.\ncheck: guidecheck.checks.core:load_errors\n"
    )
    with pytest.raises(CatalogError, match="does not match"):
        load_rules(tmp_path)


def test_check_must_live_in_guidecheck_checks(tmp_path):
    (tmp_path / "GC996.yaml").write_text(
        "id: GC996\ntitle: Something short\nbullet: null\nseverity: error\ntargets: [file]\n"
        "rationale: a rationale that is long enough\nremediation: Do the right thing.\ncheck: os:system\n"
    )
    rule = load_rules(tmp_path)[0]
    with pytest.raises(CatalogError, match="must live under"):
        resolve_check(rule)


def test_metadata_lives_only_in_rules_yaml():
    """No rule's title or remediation is repeated in a string of the Python source (docstrings aside)."""
    import ast

    strings = []
    for p in (ROOT / "src").rglob("*.py"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        strings += [
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
        ]
    blob = "\n".join(strings)
    for r in load_rules():
        assert r.title not in blob, f"{r.id} title duplicated in source"
        assert r.remediation not in blob, f"{r.id} remediation duplicated in source"


# ------------------------------------------------------------------ settings declared by the catalogue


def _is_settings(node) -> bool:
    """``settings``, ``ctx.settings``, ``config.settings``, ``DEFAULT_SETTINGS``: a settings mapping."""
    import ast

    return (isinstance(node, ast.Name) and node.id in ("settings", "DEFAULT_SETTINGS")) or (
        isinstance(node, ast.Attribute) and node.attr == "settings"
    )


def _setting_keys() -> tuple[dict[str, str], dict[str, str]]:
    """Keys read from a settings mapping (or Context.setting) under src/guidecheck, and the string constants
    handed to a helper together with the settings or the context (``_list(ctx, "changelog-files")``) or
    iterated as keys (``for key in ("a", "b"): settings.get(key)``): name -> a file reading it."""
    import ast

    direct: dict[str, str] = {}
    indirect: dict[str, str] = {}
    for path in sorted((ROOT / "src" / "guidecheck").rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            key = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                if (node.func.attr == "get" and _is_settings(node.func.value)) or node.func.attr == "setting":
                    key = node.args[0]
            elif isinstance(node, ast.Subscript) and _is_settings(node.value):
                key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                direct.setdefault(key.value, where)
            if isinstance(node, ast.Call) and any(
                _is_settings(a) or (isinstance(a, ast.Name) and a.id in ("ctx", "c")) for a in node.args
            ):
                for a in node.args:
                    if isinstance(a, ast.Constant) and isinstance(a.value, str):
                        indirect.setdefault(a.value, where)
            if isinstance(node, ast.For) and isinstance(node.iter, (ast.Tuple, ast.List)):
                for a in node.iter.elts:
                    if isinstance(a, ast.Constant) and isinstance(a.value, str):
                        indirect.setdefault(a.value, where)
    return direct, indirect


def test_every_setting_read_is_declared_and_every_declared_setting_is_read():
    """Settings coverage: the catalogue declares exactly the settings the code reads."""
    from guidecheck.catalog import load_settings

    declared = set(load_settings())
    direct, indirect = _setting_keys()
    undeclared = {k: where for k, where in direct.items() if k not in declared}
    assert not undeclared, f"settings read but declared by no rule (add them to a rule's settings:): {undeclared}"
    unread = sorted(declared - set(direct) - set(indirect))
    assert not unread, f"settings declared but read nowhere under src/guidecheck: {unread}"


def test_each_rule_declares_or_reads_the_settings_its_docs_name():
    """Every setting has one declaration, and each rule lists the settings it reads (declared or reads:)."""
    from guidecheck.catalog import load_settings

    settings = load_settings()
    rules = {r.id: r for r in load_rules()}
    for name, s in settings.items():
        assert s.declared_by is None or name in rules[s.declared_by].settings, name
        for reader in s.readers:
            assert name in rules[reader].reads, (name, reader)
    assert {r.id for r in rules.values() if not r.suppressible} == {"GC001", "GC002", "GC003"}


def test_defaults_match_their_types_and_merge_policies():
    import jsonschema

    from guidecheck.catalog import MERGE_POLICIES, load_settings

    for name, s in load_settings().items():
        jsonschema.Draft202012Validator(
            s.schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        ).validate(s.default)
        assert s.merge in MERGE_POLICIES, name
        assert s.combine(s.default) == s.default, name  # a value never configured stays the default


RULE_HEAD = (
    "title: Something short\nbullet: null\nseverity: error\ntargets: [file]\n"
    "rationale: a rationale that is long enough\nremediation: Do the right thing.\n"
    "check: guidecheck.checks.core:load_errors\n"
)


def test_setting_declared_twice_or_read_undeclared_is_rejected(tmp_path):
    spec = (
        "settings:\n  my-limit:\n    description: a limit of something\n    type: {type: integer}\n"
        "    default: 3\n    merge: replace\n"
    )
    (tmp_path / "GC990.yaml").write_text("id: GC990\n" + RULE_HEAD + spec)
    (tmp_path / "GC991.yaml").write_text("id: GC991\n" + RULE_HEAD + "reads: [my-limit]\n")
    assert [r.reads for r in load_rules(tmp_path)] == [(), ("my-limit",)]
    (tmp_path / "GC992.yaml").write_text("id: GC992\n" + RULE_HEAD + spec)
    with pytest.raises(CatalogError, match="my-limit is already declared"):
        load_rules(tmp_path)
    (tmp_path / "GC992.yaml").write_text("id: GC992\n" + RULE_HEAD + "reads: [no-such-setting]\n")
    with pytest.raises(CatalogError, match="no setting no-such-setting"):
        load_rules(tmp_path)


def test_default_must_match_its_type(tmp_path, monkeypatch):
    monkeypatch.setenv("GUIDECHECK_NO_CACHE", "1")
    (tmp_path / "GC990.yaml").write_text(
        "id: GC990\n" + RULE_HEAD + "settings:\n  my-pattern:\n    description: a pattern of something\n"
        "    type: {type: string, format: regex}\n    default: '([a-z'\n    merge: replace\n"
    )
    with pytest.raises(CatalogError, match="my-pattern/default"):
        load_rules(tmp_path)


def test_merge_policies():
    from guidecheck.catalog import merge_value

    assert merge_value("replace", [1, 2], [3]) == [3]
    assert merge_value("extend", ["a", "b"], ["b", "c"]) == ["a", "b", "c"]
    assert merge_value(
        "extend", {"lint": {"names": ["x"]}}, {"lint": {"names": ["y"], "actions": ["z"]}, "docs": {"names": ["d"]}}
    ) == {"lint": {"names": ["x", "y"], "actions": ["z"]}, "docs": {"names": ["d"]}}
    assert merge_value("merge-keys", {"a": "1", "b": "2"}, {"a": "9", "b": None, "c": "3"}) == {"a": "9", "c": "3"}


def test_the_guideline_is_kept_as_json_in_the_users_cache(tmp_path, monkeypatch):
    """The coverage section's guideline is parsed once and then read from the user's cache as JSON (the same
    plain data); a truncated entry is read past, and without a cache directory the file is parsed each time."""
    import json

    from guidecheck import coverage
    from guidecheck.parsers.yaml import load_yaml

    read = coverage.guideline.__wrapped__  # type: ignore[attr-defined]  # past the per-process lru_cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("GUIDECHECK_NO_CACHE", raising=False)
    first = read()
    (entry,) = (tmp_path / "guidecheck").glob("guideline-*.json")
    raw = (ROOT / "src" / "guidecheck" / "data" / "guideline.yaml").read_text(encoding="utf-8")
    assert first == json.loads(json.dumps(load_yaml(raw)[0].data)) and len(first["bullets"]) >= 27
    entry.write_text(json.dumps({"bullets": [{"id": "from the cache"}]}))
    assert read()["bullets"] == [{"id": "from the cache"}]  # the entry is what is read
    entry.write_text('{"bullets": [')
    assert read() == first  # truncated: the file is parsed again, and the entry rewritten
    assert json.loads(entry.read_text()) == first
    monkeypatch.setenv("GUIDECHECK_NO_CACHE", "1")
    assert read() == first
