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
directory of mode 0700, removed at the end of the scan.
"""

from __future__ import annotations

import os
import stat
import tempfile
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
    """A new sandbox directory for ``kind`` (``helm``, ``kustomize``) that will hold about ``need`` bytes."""
    base = _ram_base(need)
    if base is not None:
        try:
            return tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-", dir=base)
        except OSError:
            pass  # full or read-only after all: the disk
    return tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-")


def inside(path: str) -> bool:
    """Whether ``path`` is in a sandbox :func:`make` could have made (in RAM or in the temporary directory)."""
    for base in (SHM, tempfile.gettempdir()):
        if path.startswith(os.path.join(os.path.realpath(base), PREFIX)):
            return True
    return False
