"""Hostile JSON inputs through the real CLI (shared/hostile/CASES.tsv, rows json/*).

JSON is read strictly (no NaN/Infinity, no duplicate keys, no lone surrogates,
bounded depth) and then through the YAML reader for lines.  Every case sits
next to a JSON Pod and a YAML Pod with GC403 findings, which must still be
reported; a parse error is a finding (exit 1).
"""

from __future__ import annotations

import json

import pytest

from hostile_support import (
    HOSTILE,
    assert_companion_reported,
    case_dir,
    gc001,
    no_traceback,
    rel,
    scan_json,
)

JSON_DIR = HOSTILE / "json"

JSON_POD = """{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "json-pod"},
  "spec": {
    "containers": [
      {"name": "app", "image": "registry.example/app:1.4.2-3f2c1ab"}
    ]
  }
}
"""
JSON_POD_LINE = 7


def run_case(tmp_path, name: str, text: str | None = None):
    base = case_dir(tmp_path, *([JSON_DIR / name] if text is None else []))
    if text is not None:
        (base / name).write_text(text, encoding="utf-8")
    (base / "pod.json").write_text(JSON_POD, encoding="utf-8")
    r = scan_json(base)
    no_traceback(r)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert_companion_reported(r, base)
    assert ("pod.json", JSON_POD_LINE) in [(rel(f, base), f["line"]) for f in r.findings("GC403")], (
        "the JSON Pod next to it was not checked"
    )
    assert r.cpu < 2 and r.maxrss_mb < 200, (r.cpu, r.maxrss_mb)
    return r, base


@pytest.mark.parametrize(
    "name, line, col, fragment",
    [
        ("dashboard_truncated.json", 227, 6, "invalid JSON: Expecting ',' delimiter"),
        ("dashboard_nan_bigint.json", 1, None, "non-standard JSON constant NaN"),
        ("dashboard_dup_keys.json", 1, None, "duplicate key 'title' at lines 1 and 1"),
    ],
)
def test_corpus_json_cases(tmp_path, name, line, col, fragment):
    r, base = run_case(tmp_path, name)
    [err] = gc001(r, base, name)
    assert fragment in err["message"] and err["line"] == line, err
    if col is not None:
        assert err["column"] == col


def test_deep_json_is_refused_before_the_parser_recurses(tmp_path):
    r, base = run_case(tmp_path, "dashboard_deep_100k.json", "[" * 100_000 + "]" * 100_000)
    [err] = gc001(r, base, "dashboard_deep_100k.json")
    assert err["message"].startswith("nesting too deep (more than 100 levels)") and err["line"] == 1


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ('{"refresh":\n  Infinity}', 2, "non-standard JSON constant Infinity"),
        ('{"id":\n  ' + "9" * 5000 + "}", 2, "integer too large"),
        ('{\n"uid": "\\ud800"}', 2, "lone surrogate"),
        ('{"a": 1,\n "b": {"x": 1,\n "x": 2}}', 3, "duplicate key 'x' at lines 2 and 3"),
    ],
)
def test_each_non_standard_json_feature_alone(tmp_path, text, line, fragment):
    # a dashboard's (its "panels" say it is one): a file without what guidecheck reads may be some tool's
    # configuration, whose tools accept a key given twice (test_cli's test_tool_config_files_...)
    text = text.replace("{", '{"panels": [], ', 1)
    r, base = run_case(tmp_path, "bad.json", text)
    [err] = gc001(r, base, "bad.json")
    assert fragment in err["message"] and err["line"] == line, err
    # the report stays valid UTF-8 JSON (a lone surrogate must never reach it)
    json.loads(r.stdout.encode("utf-8"))


def test_json_manifest_findings_have_lines(tmp_path):
    base = case_dir(tmp_path, companion=False)
    (base / "pod.json").write_text(JSON_POD.replace('"Pod"', '"Pod", "x":1'), encoding="utf-8")
    r = scan_json(base)
    assert [(rel(f, base), f["line"]) for f in r.findings("GC403")] == [("pod.json", JSON_POD_LINE)]
    assert r.findings("GC001") == []
