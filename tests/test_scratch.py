"""Where render sandboxes are made (guidecheck.loaders.scratch): RAM when it has room, else the disk."""

from __future__ import annotations

import os
import stat

import pytest

from guidecheck.loaders import scratch

pytestmark = pytest.mark.skipif(not os.path.isdir(scratch.SHM), reason="no /dev/shm on this system")


def _made(kind: str, need: int) -> str:
    d = scratch.make(kind, need)
    try:
        assert os.path.isdir(d)
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
        assert os.path.basename(d).startswith(f"guidecheck-{kind}-")
        assert scratch.inside(os.path.join(os.path.realpath(d), "charts", "x.yaml"))
        return os.path.dirname(d)
    finally:
        os.rmdir(d)


def test_small_sandbox_in_ram(monkeypatch, tmp_path):
    monkeypatch.delenv("TMPDIR", raising=False)
    if not os.access(scratch.SHM, os.W_OK):
        pytest.skip("/dev/shm is not writable here")
    assert _made("helm", 1000) == scratch.SHM


def test_tmpdir_set_by_the_user_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # tempfile reads TMPDIR again
    assert _made("kustomize", 1000) == str(tmp_path)


def test_large_copies_go_to_disk(monkeypatch, tmp_path):
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert _made("helm", scratch.MAX_IN_RAM + 1) == str(tmp_path)


def test_too_little_room_in_ram_goes_to_disk(monkeypatch, tmp_path):
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    free = os.statvfs(scratch.SHM)
    room = free.f_bavail * free.f_frsize
    need = (room - scratch.HEADROOM) // 4 + 1  # a quarter of the room, headroom kept: one byte too many
    monkeypatch.setattr(scratch, "MAX_IN_RAM", max(need, scratch.MAX_IN_RAM))
    assert _made("helm", need) == str(tmp_path)


def test_a_symlinked_shm_is_not_used(monkeypatch, tmp_path):
    link = tmp_path / "shm"
    link.symlink_to(tmp_path)
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(scratch, "SHM", str(link))
    disk = tmp_path / "disk"
    disk.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(disk))
    assert _made("helm", 10) == str(disk)


def test_size_of_counts_regular_files_only(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "b").symlink_to("/etc/passwd")
    (tmp_path / "d").mkdir()
    assert scratch.size_of(str(tmp_path), ["a", "b", "d", "missing"]) == 10


def test_sandboxes_of_dead_processes_are_removed(tmp_path):
    """A scan killed mid-render leaves its sandbox; in RAM it would stay until a restart. The next scan
    removes those of processes that no longer run, and nothing else."""
    import subprocess
    import time

    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its id names no process (unless reused, which keeps the directory: the safe side)
    old = time.time() - 3600
    made = {
        f"guidecheck-helm-{dead.pid}-abc": old,  # a dead process's, an hour old: removed
        f"guidecheck-kustomize-{dead.pid}-new": time.time(),  # just made: kept
        f"guidecheck-helm-{os.getpid()}-mine": old,  # this process's: kept
        "guidecheck-helm-xyz": old,  # not named by a process id: kept
        "other-1-2-3": old,
    }
    for name, mtime in made.items():
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (mtime, mtime))
    (tmp_path / f"guidecheck-helm-{dead.pid}-link").symlink_to(tmp_path / "other-1-2-3")
    assert scratch.remove_stale(str(tmp_path)) == [f"guidecheck-helm-{dead.pid}-abc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [n for n in made if n != f"guidecheck-helm-{dead.pid}-abc"] + [f"guidecheck-helm-{dead.pid}-link"]
    )


def test_sandbox_names_carry_the_process_id(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    d = scratch.make("helm", 10)
    assert os.path.basename(d).startswith(f"guidecheck-helm-{os.getpid()}-")
    os.rmdir(d)
