"""Where the render sandboxes are made: a directory in RAM (``/dev/shm``) when it has room, else ``$TMPDIR``.

Helm and kustomize run on a copy of the files they may read (:mod:`guidecheck.loaders.helm.sandbox`,
:mod:`guidecheck.loaders.kustomize.sandbox`): hundreds of small files per scan (993 on the dev corpus),
written, read by the renderer, read again for the cache key, and removed.  On a disk file system each
file created costs a journal write: 0.6 ms of system time apiece on the development machine's ext4
(0.02 ms on tmpfs), about a second per scan of the dev corpus.  So the sandbox goes to ``/dev/shm``,
the RAM-backed directory every Linux system has (the way Bazel's ``--sandbox_base=/dev/shm`` does),
when all of these hold:

* ``TMPDIR`` is not set (a user who set it chose where temporary files go);
* ``/dev/shm`` is a directory (not a symlink) guidecheck can write in;
* the copies are no more than :data:`MAX_IN_RAM` bytes, and ``/dev/shm`` has four times that free
  (plus :data:`HEADROOM`): a container's small ``/dev/shm`` (Docker's default is 64 MiB) and a
  repository of large charts use the disk.

Otherwise the sandbox is made where :func:`tempfile.mkdtemp` makes it.  Either way it is a new
directory of mode 0700, removed at the end of the scan; one left in RAM by a scan that was killed is
removed by the next scan that makes one there (:func:`remove_stale`).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable

SHM = "/dev/shm"
MAX_IN_RAM = 256 * 1024 * 1024
HEADROOM = 64 * 1024 * 1024
PREFIX = "guidecheck-"


def size_of(root: str, rels: Iterable[str]) -> int:
    """The bytes of the regular files ``rels`` under ``root`` (not following links; missing ones count 0)."""
    total = 0
    for rel in rels:
        try:
            st = os.lstat(os.path.join(root, rel))
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
    return total


def _ram_base(need: int) -> str | None:
    if os.environ.get("TMPDIR") or need > MAX_IN_RAM:
        return None
    try:
        st = os.lstat(SHM)
        if not stat.S_ISDIR(st.st_mode) or not os.access(SHM, os.W_OK | os.X_OK):
            return None
        vfs = os.statvfs(SHM)
    except OSError:
        return None
    if vfs.f_bavail * vfs.f_frsize < 4 * need + HEADROOM:
        return None
    return SHM


def make(kind: str, need: int) -> str:
    """A new sandbox directory for ``kind`` (``helm``, ``kustomize``) that will hold about ``need`` bytes.

    Its name carries this process's id: a scan that was killed (a CI job's timeout, ``kill -9``) leaves its
    sandbox behind, and in RAM that would stay until the machine restarts, so the next scan removes the
    sandboxes of processes that no longer run (:func:`remove_stale`)."""
    prefix = f"{PREFIX}{kind}-{os.getpid()}-"
    base = _ram_base(need)
    if base is not None:
        remove_stale(base)
        try:
            return tempfile.mkdtemp(prefix=prefix, dir=base)
        except OSError:
            pass  # full or read-only after all: the disk
    return tempfile.mkdtemp(prefix=prefix)


_STALE_AFTER = 60.0  # seconds: a sandbox being made by a process that is starting is never taken for stale


def remove_stale(base: str) -> list[str]:
    """Remove the sandboxes in ``base`` of guidecheck processes that no longer run; the names removed.

    Only directories named ``guidecheck-<kind>-<pid>-...`` that belong to this user, that are not symlinks,
    that were last changed over a minute ago and whose process id is not a running process.  A process id
    reused by another process keeps its directory (it is not removed: the safe side)."""
    removed: list[str] = []
    try:
        names = os.listdir(base)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        parts = name.split("-")
        if not name.startswith(PREFIX) or len(parts) < 4 or not parts[2].isdigit():
            continue
        path = os.path.join(base, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or now - st.st_mtime < _STALE_AFTER:
            continue
        if _running(int(parts[2])):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process (EPERM): running
    return True


def inside(path: str) -> bool:
    """Whether ``path`` is in a sandbox :func:`make` could have made (in RAM or in the temporary directory)."""
    for base in (SHM, tempfile.gettempdir()):
        if path.startswith(os.path.join(os.path.realpath(base), PREFIX)):
            return True
    return False
