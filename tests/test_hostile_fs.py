"""Hostile file systems through the real CLI (shared/hostile/CASES.tsv, rows fs/* and many_files).

The walker never follows a symlink out of the tree or into a loop, never opens
a FIFO, reports unreadable files, prints odd names safely, and keeps checking
everything else.  Unreadable files: the tests run as root, which ignores mode
bits, so the CLI is run as ``nobody`` through ``setpriv`` (skipped when that is
not possible) and, in-process, ``os.open`` is made to fail with EACCES.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading

import pytest

from guidecheck.config import Config
from guidecheck.loaders import load
from guidecheck.loaders.fs import ReadError, decode, read_text, walk

from hostile_support import (
    COMPANION,
    ODD_NAMES,
    assert_companion_reported,
    can_setpriv,
    case_dir,
    make_fifo,
    make_many_files,
    make_odd_names,
    make_symlink_escape,
    make_symlink_loop,
    no_traceback,
    rel,
    run_gc,
    scan_json,
    world_readable_tmpdir,
)


def problems(r, base):
    return sorted((rel(f, base), f["message"]) for f in r.findings("GC001"))


def test_symlink_loops_terminate_and_are_reported_once(tmp_path):
    base = case_dir(tmp_path)
    make_symlink_loop(base / "loop")
    r = scan_json(base)
    no_traceback(r)
    assert r.returncode == 1
    assert problems(r, base) == [
        ("loop/parent", "symlink loop: points to an enclosing directory; not followed"),
        ("loop/self", "symlink loop: points to an enclosing directory; not followed"),
        ("loop/x", "symlink loop; not followed"),
        ("loop/y", "symlink loop; not followed"),
    ]
    assert_companion_reported(r, base)
    assert r.cpu < 2


def test_symlinks_out_of_the_tree_are_never_read(tmp_path):
    canary = "GC-CANARY-ENV-5f1d0c"
    base = case_dir(tmp_path)
    make_symlink_escape(base / "escape")
    env = dict(os.environ, GC_TEST_CANARY=canary)
    r = scan_json(base, env=env)
    no_traceback(r)
    assert r.returncode == 1
    assert problems(r, base) == [
        ("escape/passwd.yaml", "symlink points outside the scanned tree; not followed"),
        ("escape/rootdir", "symlink points outside the scanned tree; not followed"),
        ("escape/values.yaml", "symlink points outside the scanned tree; not followed"),
    ]
    assert_companion_reported(r, base)
    assert r.cpu < 2  # / was not walked
    text = run_gc("scan", str(base), "--isolated", "--select", "GC001,GC403", env=env)
    for out in (r.stdout, r.stderr, text.stdout, text.stderr):
        assert "root:x:0:0" not in out and "/bin/bash" not in out and canary not in out
    # named on the command line: the link is refused too (the tree is the current directory)
    direct = run_gc("scan", "escape/passwd.yaml", "-f", "json", "--isolated", "--select", "GC001", cwd=base, env=env)
    assert direct.returncode == 1
    assert [f["message"] for f in direct.json()["findings"]] == [
        "symlink points outside the scanned tree; not followed"
    ]
    assert "root:x:0:0" not in direct.stdout


def test_symlinks_inside_the_tree_are_read_once_at_their_real_place(tmp_path):
    base = case_dir(tmp_path)
    (base / "deploy").mkdir()
    os.symlink("../companion.yaml", base / "deploy" / "link.yaml")
    os.symlink("../deploy", base / "deploy" / "again")
    os.symlink("missing.yaml", base / "dangling.yaml")
    r = scan_json(base)
    assert [(rel(f, base), f["line"]) for f in r.findings("GC403")] == [("companion.yaml", 6)]
    assert problems(r, base) == [
        ("dangling.yaml", "dangling symlink; not read"),
        ("deploy/again", "symlink loop: points to an enclosing directory; not followed"),
    ]


def test_fifo_is_never_opened(tmp_path):
    base = case_dir(tmp_path)
    make_fifo(base / "fifo_dir" / "pipe.yaml")
    r = scan_json(base, timeout=120)  # a hang guard (a FIFO opened for reading blocks forever)
    no_traceback(r)
    assert r.returncode == 1
    assert problems(r, base) == [("fifo_dir/pipe.yaml", "not a regular file (FIFO); not read")]
    assert_companion_reported(r, base)
    assert r.cpu < 2
    # named on the command line (as pre-commit would pass it)
    direct = run_gc("scan", str(base / "fifo_dir" / "pipe.yaml"), "-f", "json", "--isolated", timeout=120)
    assert direct.returncode == 1
    assert [f["message"] for f in direct.json()["findings"]] == ["not a regular file (FIFO); not read"]


def test_read_text_refuses_special_files_without_blocking(tmp_path):
    fifo = make_fifo(tmp_path / "p.yaml")
    errors: dict[str, str] = {}

    def attempt() -> None:  # in a thread: opening a FIFO for reading blocks until a writer comes
        for name, path in [("fifo", str(fifo)), ("device", "/dev/zero"), ("directory", str(tmp_path))]:
            try:
                read_text(path, 1 << 20)
                errors[name] = "read"
            except ReadError as e:
                errors[name] = str(e)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=60)  # a hang guard, not a speed assertion
    if worker.is_alive():
        with open(fifo, "w"):  # release the blocked reader
            pass
        pytest.fail("read_text blocked on a special file")
    assert "not a regular file (FIFO)" in errors["fifo"]
    assert "not a regular file (device)" in errors["device"]
    assert "not a regular file (directory)" in errors["directory"]


def test_odd_file_names_are_scanned_and_printed_safely(tmp_path):
    base = case_dir(tmp_path)
    names = make_odd_names(base / "odd")
    r = scan_json(base)
    no_traceback(r)
    assert r.returncode == 1
    report = json.loads(r.stdout)
    odd = [f for f in report["findings"] if f["rule_id"] == "GC403" and "/odd/" in f["path"]]
    assert len(odd) == len(names) == len(ODD_NAMES) + 1  # every file checked, the non-UTF-8 name included
    assert_companion_reported(r, base)
    text = run_gc("scan", str(base), "--isolated", "--select", "GC001,GC403", "--no-color", "-q")
    no_traceback(text)
    assert text.returncode == 1
    for line in text.stdout.splitlines():
        assert not line.startswith("::"), "a file name forged a CI annotation line"
        assert "\r" not in line and "\u202e" not in line
    # every finding stays on one line: one line per odd file (plus the companion and a summary)
    assert sum(1 for line in text.stdout.splitlines() if line.startswith(f"{base}/odd/") and " GC403 " in line) == len(
        names
    )
    # a file named with a leading '-' on the command line is a path, not an option
    dash = run_gc("scan", "--isolated", "--select", "GC403", "-f", "json", "--", "odd/-rf.yaml", cwd=base)
    assert dash.returncode == 1 and len(dash.json()["findings"]) == 1


def test_unreadable_file_as_an_unprivileged_user():
    if not can_setpriv():
        pytest.skip("needs root and setpriv to run the scan as nobody")
    d = world_readable_tmpdir()
    try:
        base = d / "repo"
        base.mkdir()
        (base / "companion.yaml").write_text(COMPANION)
        (base / "unreadable").mkdir()
        secret = base / "unreadable" / "secret.yaml"
        secret.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: GC-CANARY}\n")
        secret.chmod(0)
        (base / "locked").mkdir()
        (base / "locked" / "x.yaml").write_text(COMPANION)
        (base / "locked").chmod(0)
        for p in (base, base / "companion.yaml", base / "unreadable"):
            p.chmod(p.stat().st_mode | 0o755 if p.is_dir() else 0o644)
        home = d / "home"
        home.mkdir()
        home.chmod(0o777)
        env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
        r = scan_json(base, user=(65534, 65534), cwd="/", env=env)
        no_traceback(r)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert problems(r, base) == [
            ("locked", "directory not readable: Permission denied"),
            ("unreadable/secret.yaml", "cannot read: Permission denied"),
        ]
        assert_companion_reported(r, base)
        assert "GC-CANARY" not in r.stdout
    finally:
        for p in (d / "repo" / "locked",):
            if p.exists():
                p.chmod(0o755)
        shutil.rmtree(d, ignore_errors=True)


def test_unreadable_file_in_process(tmp_path, monkeypatch):
    """EACCES from open() (what a non-root user gets on a mode-000 file), simulated in-process."""
    base = case_dir(tmp_path)
    (base / "unreadable").mkdir()
    secret = base / "unreadable" / "secret.yaml"
    secret.write_text(COMPANION)
    real_open = os.open

    def deny(path, flags, *args, **kw):
        if os.fspath(path).endswith("secret.yaml"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", deny)
    loaded = load([str(base)], Config())
    errs = {t.path: [e.message for e in t.data.errors] for t in loaded.targets if t.kind == "file"}
    assert errs[f"{base}/unreadable/secret.yaml"] == ["cannot read: Permission denied"]
    assert [t.ref.name for t in loaded.targets if t.kind == "k8s"] == ["companion"]


def test_many_files_in_linear_time(tmp_path):
    base = make_many_files(tmp_path / "many_files")
    (base / "zz-companion.yaml").write_text(COMPANION)
    r = scan_json(base, timeout=300)
    no_traceback(r)
    assert r.returncode == 1
    report = r.json()
    assert [(rel(f, base), f["line"]) for f in report["findings"]] == [("zz-companion.yaml", 6)]
    assert r.cpu < 30, f"{r.cpu:.1f} s of CPU for 20,000 files"


# ------------------------------------------------------------------ units


def test_walk_is_sorted_and_skips_vendored_directories(tmp_path):
    for p in ["b.yaml", "a/Dockerfile", "node_modules/x.yaml", ".git/config.yaml", "a/z.json", "src/main.go"]:
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).write_text("x: 1\n")
    w = walk(str(tmp_path))
    assert [f.relpath for f in w.files] == ["a/Dockerfile", "a/z.json", "b.yaml"]
    assert w.inventory == ["a/Dockerfile", "a/z.json", "b.yaml", "src/main.go"]
    assert [f.kind for f in w.files] == ["dockerfile", "json", "yaml"]


def test_decode_boms_newlines_and_bad_bytes():
    assert decode(b"\xef\xbb\xbfa: 1\r\nb: 2\r\n") == "a: 1\nb: 2\n"
    assert decode("a: 1\r\nb: 2\n".encode("utf-16")) == "a: 1\nb: 2\n"
    assert decode("a: 1\n".encode("utf-32")) == "a: 1\n"
    assert decode(b"a: 1\rb: 2\r") == "a: 1\nb: 2\n"  # old Mac line ends are line breaks for YAML too
    with pytest.raises(ReadError) as e:
        decode(b"a: 1\nb: \x00\n")
    assert (e.value.error.line, e.value.error.message) == (2, "not a text file (NUL byte); not parsed")
    with pytest.raises(ReadError) as e:
        decode(b"a: 1\nb: ok\n  c: \xc3\x28\n")
    assert (e.value.error.line, e.value.error.column) == (3, 6)
    assert e.value.error.message == "not valid UTF-8 (byte 0xc3 at line 3, column 6)"
    with pytest.raises(ReadError, match="not valid UTF-16-LE"):
        decode(b"\xff\xfea\x00\x00\xd8")  # lone surrogate in UTF-16
    with pytest.raises(ReadError, match="NUL character"):
        decode("a\x00".encode("utf-16"))


def test_read_text_size_limit_and_message(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_bytes(b"a: 1\n" * 1000)
    with pytest.raises(ReadError) as e:
        read_text(str(p), 4096)
    assert e.value.error.message == (
        "file is 5000 bytes, over the limit of 4096 (limits.max-file-bytes in .guidecheck.yaml); not parsed"
    )
    assert read_text(str(p), 5000).count("\n") == 1000


def test_read_text_never_reads_past_the_limit_of_a_growing_file(tmp_path, monkeypatch):
    p = tmp_path / "grow.yaml"
    p.write_bytes(b"a: 1\n")
    real_fstat = os.fstat

    class Small:
        def __init__(self, st):
            self._st = st

        def __getattr__(self, name):
            return 5 if name == "st_size" else getattr(self._st, name)

    p.write_bytes(b"a: 1\n" * 100)  # grows after the stat the reader trusts
    monkeypatch.setattr(os, "fstat", lambda fd: Small(real_fstat(fd)))
    monkeypatch.setattr(os, "lstat", lambda path, real=os.lstat: Small(real(path)))
    with pytest.raises(ReadError, match="over the limit of 100"):
        read_text(str(p), 100)


def test_read_text_resolves_paths_only_where_a_symlink_is_on_the_way(tmp_path, monkeypatch):
    """A file spelled root/rel with no symlink on the way is opened beneath the root without resolving
    anything; a directory symlink inside the tree is still followed to its real place, and one leading out
    of the tree is still refused (both through the resolving path)."""
    root = tmp_path / "repo"
    (root / "real").mkdir(parents=True)
    (root / "real" / "a.yaml").write_text("a: 1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("s: 1\n")
    (root / "inside-link").symlink_to(root / "real")
    (root / "outside-link").symlink_to(outside)
    calls: list[str] = []
    real_realpath = os.path.realpath

    def counting(p, *a, **k):
        calls.append(str(p))
        return real_realpath(p, *a, **k)

    monkeypatch.setattr(os.path, "realpath", counting)
    assert read_text(str(root / "real" / "a.yaml"), 1000, root=str(root)) == "a: 1\n"
    assert calls == []  # the walk's case: nothing resolved
    assert read_text(str(root / "inside-link" / "a.yaml"), 1000, root=str(root)) == "a: 1\n"
    assert calls  # a symlink on the way: resolved, and inside the tree
    with pytest.raises(ReadError, match="symlink"):
        read_text(str(root / "outside-link" / "secret.yaml"), 1000, root=str(root))
