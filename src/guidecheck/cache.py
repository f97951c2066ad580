"""The incremental cache: what a scan computed, reused by the next scan of the same inputs.

A directory the user may delete at any time (default ``~/.cache/guidecheck/scans``, never the scanned
tree; see :func:`resolve_dir`), holding one file per entry under ``v1/<bucket>/<layer>/``:

* the *bucket* names everything an entry was computed with that is not part of its own key: guidecheck's
  version and the files of its code and rule catalogue, the installed distributions (PyYAML,
  openapi-spec-validator, ...) and the Python version.  Another bucket is never read: an upgrade, a
  changed rule or a changed check is a miss, never a stale answer;
* the *layer* says what the entry holds (``scan``: a whole scan's result; ``helm``/``kustomize``: a render's
  raw output; ``openapi``: one document's validation results); its *key* is the sha256 of every input of
  that computation (see the callers: :func:`guidecheck.runner.scan`, the Helm and kustomize loaders,
  :mod:`guidecheck.checks.openapi`).

Entries are trusted only when guidecheck wrote them: each one is ``MAGIC + HMAC-SHA256(secret, layer, key,
payload) + payload``, the secret being 32 random bytes in ``$XDG_CACHE_HOME/guidecheck/cache-key`` (outside
any repository, mode 0600).  A cache directory planted in a repository (committed by a pull request) holds
entries nobody can sign without that secret: each is a miss, and is overwritten.  The payload is unpickled
only after its HMAC verifies; a truncated, corrupt or foreign entry is a miss (never a crash, never a
result).  Writes go to a temporary file in the entry's directory, then ``os.replace``: concurrent runs see
a whole entry or none.  No symlink is followed: a cache directory (or any directory in it) that is a
symlink turns the cache off for the run.  After a run that wrote entries, the oldest ones (by mtime, which
a hit refreshes) are removed until the directory is under its size bound.

Nothing here imports the rest of guidecheck: loaders, checks and the runner all reach it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

DEFAULT_DIR = ".guidecheck_cache"
ENV_DIR = "GUIDECHECK_CACHE_DIR"
ENV_OFF = "GUIDECHECK_NO_CACHE"  # also turns off the catalogue's validation stamp (guidecheck.catalog)
ENV_MAX = "GUIDECHECK_CACHE_MAX_MB"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
MAX_ENTRY_FRACTION = 4  # an entry larger than a quarter of the bound is not written
FORMAT = "v1"
MAGIC = b"GCC1"
_MAC_LEN = 32
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by guidecheck.\n"
    "# For information about cache directory tags, see: https://bford.info/cachedir/\n"
)
_TMP_PREFIX = ".tmp-"


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


MISS: Any = _Miss()


def digest(*parts: Any) -> str:
    """The sha256 of ``parts`` (bytes as they are, anything else as its ``repr``), unambiguous in their order."""
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else repr(p).encode("utf-8", "surrogateescape")
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return h.hexdigest()


def file_digest(path: str, limit: int | None = None) -> str:
    """The sha256 of a regular file's bytes (not following a final symlink); its stat identity when it is
    larger than ``limit``; ``"unreadable: ..."`` when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return f"unreadable: {exc.errno}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return f"not a file: {stat.S_IFMT(st.st_mode)}"
        if limit is not None and st.st_size > limit:
            return f"large: {st.st_size} {st.st_mtime_ns} {st.st_ino} {st.st_mode}"
        h = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            h.update(chunk)
        return h.hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.errno}"
    finally:
        os.close(fd)


def tree_digest(root: str) -> str:
    """Every regular file under ``root`` (a render sandbox): relative path, mode and contents, in order; and
    every symlink (the kustomize sandbox remakes the tree's in-tree links) by what it points to."""
    parts: list[Any] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = os.path.join(dirpath, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                mode = 0
            if stat.S_ISLNK(mode):
                try:
                    parts.append((os.path.join(rel_dir, name), "link", os.readlink(path)))
                except OSError:
                    parts.append((os.path.join(rel_dir, name), "link", None))
                continue
            parts.append((os.path.join(rel_dir, name), mode & 0o111, file_digest(path)))
    return digest(*parts)


def binary_identity(path: str | None) -> tuple[Any, ...]:
    """A program's identity: its path, size, mtime and inode (a changed binary is another binary)."""
    if not path:
        return (None,)
    try:
        st = os.stat(path)
    except OSError:
        return (path, "missing")
    return (path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


_CODE: list[str] = []


def code_identity() -> str:
    """guidecheck's own code and data (every file of the package, by path, size and mtime), its version, the
    installed distributions (by their ``*.dist-info`` names: name and version) and Python's version."""
    if _CODE:
        return _CODE[0]
    from guidecheck import __version__

    pkg = os.path.dirname(os.path.abspath(__file__))
    roots = [pkg, os.path.join(os.path.dirname(os.path.dirname(pkg)), "rules")]
    parts: list[Any] = [FORMAT, __version__, sys.version, sys.implementation.cache_tag]
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                parts.append((os.path.relpath(path, root), st.st_size, st.st_mtime_ns))
    dists: list[str] = []
    for entry in sys.path:
        if entry and os.path.isdir(entry) and entry != pkg:
            try:
                dists.extend(n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-info", ".egg-link")))
            except OSError:
                continue
    parts.append(sorted(dists))
    _CODE.append(digest(*parts)[:24])
    return _CODE[0]


def resolve_dir(paths: list[str], option: str | None = None) -> str:
    """The cache directory: ``--cache-dir``, else ``$GUIDECHECK_CACHE_DIR``, else the user's cache directory
    (``$XDG_CACHE_HOME/guidecheck/scans``, by default ``~/.cache/guidecheck/scans``).

    Not the scanned tree: a checkout may be read-only (an auditor's evidence, a shared corpus), and a
    scan never writes where it reads.  Entries of different trees do not collide (their keys hold the
    absolute paths) and share one size bound.  ``paths`` is kept for callers that name it.
    """
    del paths
    chosen = option or os.environ.get(ENV_DIR)
    if chosen:
        return os.path.abspath(chosen)
    return os.path.join(_user_cache(), "guidecheck", "scans")


def _user_cache() -> str:
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


def key_file() -> str:
    return os.path.join(_user_cache(), "guidecheck", "cache-key")


def _secret(path: str) -> bytes:
    """The HMAC secret of this user's caches (created once, 0600, atomically); OSError when unusable."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(3):
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.{time.monotonic_ns()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                os.write(fd, os.urandom(32).hex().encode())
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # never replaces a key another run created meanwhile
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
            continue
        try:
            st = os.fstat(fd)
            data = os.read(fd, 256)
        finally:
            os.close(fd)
        if not stat.S_ISREG(st.st_mode) or len(data.strip()) < 32:
            raise OSError(f"{path}: not a usable cache key")
        return bytes(data.strip())
    raise OSError(f"{path}: cannot be created")


class Store:
    """One run's view of a cache directory: verified reads, atomic writes, counts, pruning."""

    def __init__(
        self,
        root: str,
        secret: bytes,
        bucket: str | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        verbose: bool = False,
    ) -> None:
        self.root = root
        self.secret = secret
        self._bucket = bucket  # None: :func:`code_identity`, computed on the first lookup (pre-commit may make none)
        self.max_bytes = max_bytes
        self.verbose = verbose
        self.hits: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self.written = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._dirs_ok: set[str] = set()

    @property
    def bucket(self) -> str:
        if self._bucket is None:
            self._bucket = code_identity()
        return self._bucket

    # entries

    def _path(self, layer: str, key: str) -> tuple[str, str]:
        d = os.path.join(self.root, FORMAT, self.bucket, layer, key[:2])
        return d, os.path.join(d, key[2:])

    def _mac(self, layer: str, key: str, payload: bytes) -> bytes:
        import hmac  # here, not at the top: a scan without the cache (pre-commit's --no-cache) never needs it

        return hmac.new(self.secret, f"{layer}\0{key}\0".encode() + payload, hashlib.sha256).digest()

    def has(self, layer: str, key: str) -> bool:
        """Whether an entry is there (unverified, uncounted): work that is about to be looked up need not start."""
        _d, path = self._path(layer, key)
        return os.path.isfile(path)

    def get(self, layer: str, key: str) -> Any:
        """The value stored under ``key`` in ``layer``, or :data:`MISS`."""
        value = self._read(layer, key)
        with self._lock:
            (self.misses if value is MISS else self.hits)[layer] += 1
        return value

    def _read(self, layer: str, key: str) -> Any:
        d, path = self._path(layer, key)
        if not self._safe_dirs(d, create=False):
            return MISS
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return MISS
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > self.max_bytes:
                return MISS
            chunks = []
            while chunk := os.read(fd, 1 << 22):
                chunks.append(chunk)
            data = b"".join(chunks)
        except OSError:
            return MISS
        finally:
            os.close(fd)
        head = len(MAGIC) + _MAC_LEN
        if len(data) < head or not data.startswith(MAGIC):
            return MISS
        payload = data[head:]
        import hmac
        import pickle

        if not hmac.compare_digest(data[len(MAGIC) : head], self._mac(layer, key, payload)):
            return MISS  # not written by this user's guidecheck (planted, corrupt or truncated)
        try:
            value = pickle.loads(payload)  # only after its HMAC verified: guidecheck wrote it
        except Exception:  # noqa: BLE001 - an entry of an older layout: a miss
            return MISS
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return value

    def put(self, layer: str, key: str, value: Any) -> bool:
        """Store ``value`` (whole or not at all); False when it was not written (too large, no room, refused)."""
        import pickle

        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an unpicklable value is simply not cached
            self._note(f"not cached ({layer}): {type(exc).__name__}")
            return False
        if len(payload) > self.max_bytes // MAX_ENTRY_FRACTION:
            self._note(f"not cached ({layer}): {len(payload)} bytes, more than the entry bound")
            return False
        d, path = self._path(layer, key)
        if not self._safe_dirs(d, create=True):
            return False
        tmp = os.path.join(d, f"{_TMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                with os.fdopen(fd, "wb", closefd=False) as fh:
                    fh.write(MAGIC)
                    fh.write(self._mac(layer, key, payload))
                    fh.write(payload)
            finally:
                os.close(fd)
            os.replace(tmp, path)  # replaces a file or a planted symlink itself, never what it points to
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self._note(f"not cached ({layer}): {exc.strerror or exc}")
            return False
        with self._lock:
            self.written += 1
        return True

    def _safe_dirs(self, d: str, create: bool) -> bool:
        """Every directory from the cache root down to ``d`` is a real directory (no symlink); made if asked."""
        if d in self._dirs_ok:
            return True
        rel = os.path.relpath(d, self.root)
        cur = self.root
        for part in ["", *rel.split(os.sep)]:
            cur = os.path.join(cur, part) if part else cur
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                if not create:
                    return False
                try:
                    os.mkdir(cur, 0o700)
                except FileExistsError:
                    pass
                except OSError as exc:
                    self._note(f"cannot create {cur}: {exc.strerror or exc}")
                    return False
                if cur == self.root:
                    _mark(cur)
                try:
                    st = os.lstat(cur)
                except OSError:
                    return False
            except OSError:
                return False
            if not stat.S_ISDIR(st.st_mode):  # a symlink (or a file) where a directory should be: not used
                self._note(f"not used: {cur} is not a directory (a symlink is never followed)")
                return False
        with self._lock:
            self._dirs_ok.add(d)
        return True

    def _note(self, text: str) -> None:
        with self._lock:
            if text not in self.errors:
                self.errors.append(text)

    # the run's end

    def summary(self) -> str:
        layers = sorted(set(self.hits) | set(self.misses))
        per = ", ".join(f"{la} {self.hits[la]}/{self.hits[la] + self.misses[la]}" for la in layers)
        text = f"cache: {sum(self.hits.values())} hits, {sum(self.misses.values())} misses"
        return text + (f" ({per})" if per else "") + f"; {self.written} written to {self.root}"

    def prune(self) -> int:
        """Remove the oldest entries (and stale temporary files) until the directory is within its bound."""
        if not self.written:
            return 0
        base = os.path.join(self.root, FORMAT)
        entries: list[tuple[int, int, str]] = []
        total = 0
        removed = 0
        now = time.time()
        for dirpath, _dirnames, filenames in os.walk(base, followlinks=False):
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if name.startswith(_TMP_PREFIX):
                    if now - st.st_mtime > 3600:  # a run that died while writing
                        with contextlib.suppress(OSError):
                            os.unlink(path)
                    continue
                entries.append((st.st_mtime_ns, st.st_size, path))
                total += st.st_size
        if total <= self.max_bytes:
            return 0
        target = self.max_bytes * 8 // 10
        for _mtime, size, path in sorted(entries):
            if total <= target:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)  # a symlink is removed itself, never what it points to
                removed += 1
            total -= size
        return removed


def _mark(root: str) -> None:
    """CACHEDIR.TAG (backup tools skip the directory) and a .gitignore ignoring all of it."""
    for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "# created by guidecheck\n*\n")):
        path = os.path.join(root, name)
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)


def is_cache_dir(path: str) -> bool:
    """Whether ``path`` holds guidecheck's CACHEDIR.TAG (the walk never reads such a directory)."""
    try:
        fd = os.open(os.path.join(path, "CACHEDIR.TAG"), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        return os.read(fd, len(_TAG)) == _TAG.encode()
    except OSError:
        return False
    finally:
        os.close(fd)


def open_store(paths: list[str], option: str | None = None, *, verbose: bool = False) -> Store | None:
    """The run's cache, or None when it is off (``$GUIDECHECK_NO_CACHE``) or cannot be used (no key)."""
    if os.environ.get(ENV_OFF):
        return None
    root = resolve_dir(paths, option)
    if root == os.devnull:  # --cache-dir /dev/null, as for mypy: no cache
        return None
    try:
        if os.path.islink(root):
            raise OSError(f"{root} is a symlink (never followed)")
        secret = _secret(key_file())
    except OSError as exc:
        if verbose:
            print(f"guidecheck: cache: not used: {exc}", file=sys.stderr)
        return None
    try:
        max_bytes = int(float(os.environ.get(ENV_MAX, "")) * 1024 * 1024)
    except ValueError:
        max_bytes = DEFAULT_MAX_BYTES
    return Store(root, secret, max_bytes=max(max_bytes, 1024 * 1024), verbose=verbose)


# files read during the running scan (fs.read_text), when the whole-scan layer records its inputs
_READS: list[set[str]] = []


def note_read(path: str) -> None:
    if _READS:
        _READS[-1].add(path)


@contextlib.contextmanager
def recording_reads() -> Iterator[set[str]]:
    reads: set[str] = set()
    _READS.append(reads)
    try:
        yield reads
    finally:
        _READS.remove(reads)


# the store of the running scan, for the layers below the runner (renders, validation)
_ACTIVE: list[Store] = []


@contextlib.contextmanager
def using(store: Store | None) -> Iterator[None]:
    if store is None:
        yield
        return
    _ACTIVE.append(store)
    try:
        yield
    finally:
        _ACTIVE.remove(store)


def active() -> Store | None:
    return _ACTIVE[-1] if _ACTIVE else None


def stored(layer: str, key_parts: tuple[Any, ...]) -> bool:
    """Whether :func:`get_or_compute` is likely to find ``key_parts`` (an entry exists; it is verified when read)."""
    store = active()
    return store is not None and store.has(layer, digest(layer, *key_parts))


def get_or_compute(
    layer: str, key_parts: tuple[Any, ...], compute: Callable[[], Any], keep: Callable[[Any], bool]
) -> Any:
    """``compute()``, or what an earlier run computed for the same ``key_parts``; stored when ``keep(value)``."""
    store = active()
    if store is None:
        return compute()
    key = digest(layer, *key_parts)
    value = store.get(layer, key)
    if value is not MISS:
        return value
    value = compute()
    if keep(value):
        store.put(layer, key, value)
    return value


__all__ = [
    "DEFAULT_DIR",
    "MISS",
    "Store",
    "active",
    "binary_identity",
    "code_identity",
    "digest",
    "file_digest",
    "get_or_compute",
    "is_cache_dir",
    "open_store",
    "stored",
    "resolve_dir",
    "tree_digest",
    "using",
]
