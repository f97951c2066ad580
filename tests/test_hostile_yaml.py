"""Hostile YAML inputs through the real CLI (shared/hostile/CASES.tsv, rows yaml/*, kube/*, config/*).

Every case is scanned as a repository next to ``companion.yaml`` (a Pod with a
GC403 finding at line 6): the hostile file must give its GC001 at the right
line with a clear message, and the companion must still be checked.  Parse and
read errors are findings: exit code 1 (exit 2 is for usage and configuration
errors only).  Each case must finish within 2 s of CPU and 200 MB of memory.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from guidecheck.config import Config
from guidecheck.loaders import load

from hostile_support import (
    COMPANION,
    HOSTILE,
    assert_companion_reported,
    case_dir,
    gc001,
    no_traceback,
    pwned_markers,
    rel,
    run_gc,
    scan_json,
)

YAML = HOSTILE / "yaml"

# file, GC001 line, column (None: any), message fragment
PARSE_ERRORS = [
    ("billion_laughs.yaml", 11, 10, "alias expansion limit exceeded"),
    ("recursive_alias.yaml", 3, 7, "recursive alias"),
    ("python_tags.yaml", 6, 6, "unsupported YAML tag '!!python/object/apply:os.system'"),
    ("duplicate_keys.yaml", 13, 11, "duplicate key 'securityContext' at lines 11 and 13"),
    ("tabs.yaml", 4, 1, "tab character in indentation"),
    ("invalid_utf8.yaml", 4, 12, "not valid UTF-8"),
    ("complex_keys.yaml", 1, 3, "unhashable key"),
    ("undefined_alias_and_tag.yaml", 1, 4, "undefined alias '*missing'"),
    ("wrong_types.yaml", 2, None, "kind must be a non-empty string"),
]


def deep_files(tmp_path):
    """The deep-nesting cases of make_corpus.py (too big to keep in git), plus compact block nesting."""
    n = 10_000
    files = {
        "deep_flow_seq_10k.yaml": ("x: " + "[" * n + "]" * n + "\n", 1),
        "deep_flow_map_10k.yaml": ("x: " + "{a: " * n + "1" + "}" * n + "\n", 1),
        "deep_block_1k.yaml": ("".join("  " * i + "k:\n" for i in range(1000)) + "  " * 1000 + "v\n", 101),
        # 100,000 levels of "- " crashed ruamel's C composer (segmentation fault)
        "deep_compact_seq_200k.yaml": ("- " * 200_000 + "x\n", 1),
    }
    out = {}
    for name, (text, line) in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        out[name] = (tmp_path / name, line)
    return out


def check_case(tmp_path, src, line, col, fragment, limits=True):
    base = case_dir(tmp_path, src)
    since = time.time()
    r = scan_json(base)
    no_traceback(r)
    assert r.returncode == 1, (r.returncode, r.stderr)
    errs = gc001(r, base, src.name)
    assert errs, f"no GC001 for {src.name}: {r.findings()}"
    first = errs[0]
    assert fragment in first["message"], first
    assert first["line"] == line, first
    if col is not None:
        assert first["column"] == col, first
    assert_companion_reported(r, base)
    if limits:
        assert r.cpu < 2, f"{src.name}: {r.cpu:.2f} s of CPU"
        assert r.maxrss_mb < 200, f"{src.name}: {r.maxrss_mb:.0f} MB"
    assert not pwned_markers(since)
    # alone, the file still fails the scan: a parse error is a finding (exit 1, never 0 nor 2)
    alone = scan_json(base / src.name)
    assert alone.returncode == 1, (alone.returncode, alone.stderr)
    assert [f["line"] for f in alone.findings("GC001")][:1] == [line]
    return r, base


@pytest.mark.parametrize("name, line, col, fragment", PARSE_ERRORS, ids=[c[0] for c in PARSE_ERRORS])
def test_parse_error_cases(tmp_path, name, line, col, fragment):
    check_case(tmp_path, YAML / name, line, col, fragment)


@pytest.mark.parametrize(
    "name", ["deep_flow_seq_10k.yaml", "deep_flow_map_10k.yaml", "deep_block_1k.yaml", "deep_compact_seq_200k.yaml"]
)
def test_nesting_too_deep(tmp_path, name):
    gen = tmp_path / "gen"
    gen.mkdir()
    src, line = deep_files(gen)[name]
    check_case(tmp_path, src, line, None, "nesting too deep (more than 100 levels)")


def test_python_tags_never_execute(tmp_path):
    since = time.time()
    r, base = check_case(tmp_path, YAML / "python_tags.yaml", 6, 6, "unsupported YAML tag")
    assert not pwned_markers(since)
    assert "touch" not in r.stdout  # the payload is not echoed either


def test_duplicate_keys_keep_the_last_value_and_say_so(tmp_path):
    r, base = check_case(tmp_path, YAML / "duplicate_keys.yaml", 13, 11, "duplicate key")
    assert "(the last value is used, as Kubernetes does)" in gc001(r, base, "duplicate_keys.yaml")[0]["message"]
    # the object is still checked (its GC403 finding is reported too)
    assert ("duplicate_keys.yaml", 9) in [(rel(f, base), f["line"]) for f in r.findings("GC403")]


def test_multidoc_bad_middle_keeps_documents_1_and_3(tmp_path):
    base = case_dir(tmp_path, YAML / "multidoc_bad_middle.yaml")
    r = scan_json(base)
    no_traceback(r)
    assert r.returncode == 1
    [err] = gc001(r, base, "multidoc_bad_middle.yaml")
    assert err["line"] == 12 and err["message"] == (
        "flow mapping opened here is not closed, or has a syntax error: did not find expected ',' or '}' at line 13, "
        "column 5"
    ), err
    gc403 = sorted(
        (f["line"], f["object"]["name"]) for f in r.findings("GC403") if rel(f, base) == "multidoc_bad_middle.yaml"
    )
    assert gc403 == [(6, "first"), (21, "third")]
    assert_companion_reported(r, base)


@pytest.mark.parametrize("name", ["null_and_empty_docs.yaml", "empty.yaml"])
def test_empty_and_null_documents_are_clean(tmp_path, name):
    base = case_dir(tmp_path, YAML / name, companion=False)
    r = scan_json(base)
    no_traceback(r)
    assert r.returncode == 0, r.stdout
    assert r.findings() == []


def test_wrong_types_are_gc001_with_lines(tmp_path):
    check_case(tmp_path, YAML / "wrong_types.yaml", 2, None, "kind must be a non-empty string, not a number")
    # the same shapes in a Pod: every bad field is reported at its line, and nothing crashes
    pod = (YAML / "wrong_types.yaml").read_text().replace("kind: 123", "kind: Pod").replace("metadata: null\n", "")
    d = tmp_path / "pod"
    d.mkdir()
    (d / "pod.yaml").write_text(pod)
    r = scan_json(d)
    no_traceback(r)
    assert r.returncode == 1
    got = {(f["line"], f["message"]) for f in r.findings("GC001")}
    assert (4, "containers must be a list, not a string") in got, got


def test_yaml11_booleans_are_read_as_kubernetes_does(tmp_path):
    base = case_dir(tmp_path, YAML / "yaml11_booleans.yaml", companion=False)
    loaded = load([str(base)], Config())
    [obj] = [t.data for t in loaded.targets if t.kind == "k8s"]
    spec = obj["spec"]
    sc = spec["containers"][0]["securityContext"]
    assert spec["hostNetwork"] is True and sc["privileged"] is True and sc["allowPrivilegeEscalation"] is True
    assert sc["runAsNonRoot"] is False
    assert spec["containers"][0]["ports"][0]["containerPort"] == 511
    assert spec.key_line("hostNetwork") == 7 and sc.key_line("privileged") == 12


@pytest.mark.parametrize(
    "name, encoding, newline, key, key_line",
    [
        ("utf16le_bom.yaml", "utf-16", "\n", "hostPID", 6),
        ("utf8_bom_crlf.yaml", "utf-8-sig", "\r\n", "hostIPC", 6),
    ],
)
def test_boms_and_crlf_keep_lines_and_values(tmp_path, name, encoding, newline, key, key_line):
    # the corpus file itself: loads, values and lines right, BOM not part of the first key
    base = case_dir(tmp_path, YAML / name, companion=False)
    loaded = load([str(base)], Config())
    [target] = [t for t in loaded.targets if t.kind == "k8s"]
    obj = target.data
    assert list(obj)[0] == "apiVersion" and obj["kind"] == "Pod"
    assert obj["spec"][key] is True and obj["spec"].key_line(key) == key_line
    assert not [e for t in loaded.targets if t.kind == "file" for e in t.data.errors]
    # the same encoding on a Pod with a finding: the finding is at the right line
    text = COMPANION.replace("\n", newline)
    (base / "encoded-pod.yaml").write_bytes(text.encode(encoding))
    r = scan_json(base)
    no_traceback(r)
    assert [(rel(f, base), f["line"]) for f in r.findings("GC403")] == [("encoded-pod.yaml", 6)]
    assert r.findings("GC001") == []


def test_ansi_escapes_never_reach_the_terminal(tmp_path):
    base = case_dir(tmp_path, YAML / "ansi_escape_values.yaml", companion=False)
    # the same control characters in the name of a Pod with a finding, so that they reach the reports
    (base / "ansi-pod.yaml").write_text(
        COMPANION.replace(
            "metadata: {name: companion}", 'metadata: {name: "\\e[2J\\e[1;32mALL CHECKS PASSED\\e[0m\\x07\\x00\\x9b"}'
        ),
        encoding="utf-8",
    )
    text = run_gc("scan", str(base), "--isolated", "--select", "GC001,GC002,GC403", "--no-color")
    no_traceback(text)
    assert text.returncode == 1
    assert "GC403" in text.stdout
    for ch in ("\x1b", "\x07", "\x00", "\x9b"):
        assert ch not in text.stdout and ch not in text.stderr, repr(ch)
    js = scan_json(base)
    report = json.loads(js.stdout)  # valid JSON
    assert [f["rule_id"] for f in report["findings"]] == ["GC403"]


def test_kubeconfig_is_linted_as_a_file_never_loaded_as_config(tmp_path):
    since = time.time()
    base = case_dir(tmp_path, HOSTILE / "kube" / "kubeconfig_exec_plugin.yaml")
    env_home = tmp_path / "home"
    env_home.mkdir()
    # even a KUBECONFIG pointing at it must not make guidecheck run its exec plugin
    env = dict(os.environ, KUBECONFIG=str(base / "kubeconfig_exec_plugin.yaml"), HOME=str(env_home))
    r = scan_json(base, env=env)
    no_traceback(r)
    assert r.returncode == 1  # the companion's finding
    assert gc001(r, base, "kubeconfig_exec_plugin.yaml") == []
    assert_companion_reported(r, base)
    assert not pwned_markers(since), "the kubeconfig's exec or cmd-path ran"
    # it is read as plain data: kind Config, the exec command kept as text
    loaded = load([str(base)], Config())
    [cfg] = [t.data for t in loaded.targets if t.kind == "k8s" and t.data.get("kind") == "Config"]
    assert cfg["users"][0]["user"]["exec"]["command"] == "/bin/sh"
    assert "/etc/shadow" not in r.stdout


def test_config_inside_the_scanned_repo_is_strict(tmp_path):
    """A repository's own .guidecheck.yaml that disables everything, loads a plugin, redirects output."""
    since = time.time()
    base = case_dir(tmp_path, HOSTILE / "config" / "inline_suppression.yaml")
    shutil.copyfile(HOSTILE / "config" / "repo-config.yaml", base / ".guidecheck.yaml")
    (base / "evil_plugin.py").write_text("open('/tmp/guidecheck_PWNED_plugin', 'w').write('x')\n")
    r = run_gc("scan", str(base), "-f", "json")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "unknown key 'disable'" in r.stderr and ".guidecheck.yaml:3" in r.stderr
    assert r.stdout == ""
    assert not pwned_markers(since)
    # CI overrides it: --isolated ignores it, --config names the trusted file, which does not read it
    iso = scan_json(base)
    assert iso.returncode == 1 and iso.findings("GC403")
    trusted = tmp_path / "ci.yaml"
    trusted.write_text("repository-config: ignore\nfail-on: error\nselect: [GC001, GC403]\n")
    cfg = run_gc("scan", str(base), "-f", "json", "--config", str(trusted))
    assert cfg.returncode == 1, cfg.stderr
    assert {f["rule_id"] for f in cfg.json()["findings"]} == {"GC403"}
    assert not pwned_markers(since)


def test_unknown_inline_directive_is_reported_and_suppresses_nothing(tmp_path):
    base = case_dir(tmp_path, HOSTILE / "config" / "inline_suppression.yaml")
    r = scan_json(base)
    no_traceback(r)
    assert r.returncode == 1
    [gc002] = [f for f in r.findings("GC002") if rel(f, base) == "inline_suppression.yaml"]
    assert gc002["line"] == 2 and "not understood" in gc002["message"]
    active = [(rel(f, base), f["line"]) for f in r.findings("GC403") if not f["suppressed"]]
    assert ("inline_suppression.yaml", 4) in active
    # CI policy: no inline suppression at all; the finding stays active and is listed
    strict = scan_json(base, "--no-inline-suppressions")
    assert strict.returncode == 1
    assert ("inline_suppression.yaml", 4) in [
        (rel(f, base), f["line"]) for f in strict.findings("GC403") if not f["suppressed"]
    ]


def test_big_stream_is_refused_quickly_with_bounded_memory(tmp_path):
    from hostile_support import make_big_stream

    gen = tmp_path / "gen"
    gen.mkdir()
    big = make_big_stream(gen / "big_50mb.yaml")
    base = case_dir(tmp_path, big)
    r = scan_json(base)
    no_traceback(r)
    assert r.returncode == 1
    [err] = gc001(r, base, "big_50mb.yaml")
    assert err["message"].startswith(f"file is {big.stat().st_size} bytes, over the limit of 8388608")
    assert "limits.max-file-bytes" in err["message"]
    assert_companion_reported(r, base)
    assert r.cpu < 2 and r.maxrss_mb < 200, (r.cpu, r.maxrss_mb)


def test_file_size_limit_is_configurable(tmp_path):
    base = case_dir(tmp_path)
    (base / "medium.yaml").write_text(COMPANION + "# " + "x" * 3000 + "\n")
    cfg = tmp_path / "ci.yaml"
    cfg.write_text("limits:\n  max-file-bytes: 2048\n")
    r = scan_json(base, "--config", str(cfg))
    [err] = gc001(r, base, "medium.yaml")
    assert "over the limit of 2048" in err["message"]
    assert_companion_reported(r, base)


def test_long_line_is_refused_before_any_regex(tmp_path):
    from hostile_support import make_long_line

    gen = tmp_path / "gen"
    gen.mkdir()
    # under the size limit, over the line limit (512 KiB)
    long1 = make_long_line(gen / "long_line_1mb.yaml", 1024 * 1024)
    base = case_dir(tmp_path, long1)
    r = scan_json(base)
    [err] = gc001(r, base, "long_line_1mb.yaml")
    assert err["line"] == 1 and err["message"].startswith("line is 1048581 characters long, over the limit of 524288")
    assert_companion_reported(r, base)
    assert r.cpu < 5
    # gen_big.py's 10 MB line, with the size limit raised so that the line limit is what stops it
    long10 = make_long_line(gen / "long_line_10mb.yaml")
    base2 = tmp_path / "repo2"
    base2.mkdir()
    shutil.copyfile(long10, base2 / "long_line_10mb.yaml")
    (base2 / "companion.yaml").write_text(COMPANION)
    cfg = tmp_path / "ci.yaml"
    cfg.write_text("limits:\n  max-file-bytes: 20000000\n")
    r2 = scan_json(base2, "--config", str(cfg))
    no_traceback(r2)
    [err2] = gc001(r2, base2, "long_line_10mb.yaml")
    assert err2["message"].startswith("line is 10485765 characters long")
    assert_companion_reported(r2, base2)
    assert r2.cpu < 5, r2.cpu
