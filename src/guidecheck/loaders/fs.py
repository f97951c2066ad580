"""Walking a repository and reading files without trusting them.

* never follows a symlink out of the scanned tree (reported, never read);
* never descends into directory symlinks (their targets inside the tree are
  walked at their real place; a link to an ancestor is reported as a loop);
* stats before opening: FIFOs, sockets and devices are reported, not opened;
* caps the size of what it reads and tells text from binary.
"""

from __future__ import annotations

import codecs
import fnmatch
import os
import stat
from dataclasses import dataclass, field

from guidecheck.model import LoadError

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "vendor", "third_party", "third-party",
        ".venv", "venv", "__pycache__", ".tox", ".nox", ".terraform", "bower_components",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", ".idea", ".gradle",
    }
)

DOCKERFILE_NAMES = ("Dockerfile", "Containerfile", "dockerfile", "containerfile")


def is_dockerfile_name(name: str) -> bool:
    if name in DOCKERFILE_NAMES:
        return True
    for base in DOCKERFILE_NAMES:
        if name.startswith(base + ".") or name.startswith(base + "-"):
            # Dockerfile.dev, Dockerfile-Windows; not Dockerfile.md/.txt docs
            return not name.lower().endswith((".md", ".txt", ".rst", ".orig", ".bak", ".swp", ".tpl", ".j2"))
    return name.endswith((".Dockerfile", ".dockerfile", ".Containerfile"))


def classify(name: str) -> str | None:
    """What kind of file a name announces, or None if guidecheck does not read it."""
    if is_dockerfile_name(name):
        return "dockerfile"
    lower = name.lower()
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    if lower.endswith(".json"):
        return "json"
    return None


@dataclass
class WalkedFile:
    abspath: str
    relpath: str  # relative to the scan root, '/'-separated
    kind: str | None


@dataclass
class Walk:
    root: str
    files: list[WalkedFile] = field(default_factory=list)
    # every regular file's relpath (for repository-level rules: tests, languages)
    inventory: list[str] = field(default_factory=list)
    problems: list[tuple[str, LoadError]] = field(default_factory=list)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def walk(root: str, excludes: list[str] | tuple[str, ...] = ()) -> Walk:
    """Walk ``root`` depth-first in sorted order without following links."""
    root_real = os.path.realpath(root)
    result = Walk(root=root_real)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root_real, rel_dir) if rel_dir else root_real
        try:
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            result.problems.append((rel_dir or ".", LoadError(f"directory not readable: {exc.strerror}")))
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if _excluded(rel, excludes):
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError as exc:
                result.problems.append((rel, LoadError(f"cannot stat: {exc.strerror}")))
                continue
            if is_link:
                _symlink(entry.path, rel, root_real, result)
                continue
            if is_dir:
                if entry.name not in SKIP_DIRS:
                    subdirs.append(rel)
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                result.problems.append((rel, LoadError(f"cannot stat: {exc.strerror}")))
                continue
            kind = classify(entry.name)
            if not stat.S_ISREG(st.st_mode):
                if kind:
                    result.problems.append((rel, LoadError("not a regular file (FIFO, socket or device); not read")))
                continue
            result.inventory.append(rel)
            if kind:
                result.files.append(WalkedFile(entry.path, rel, kind))
        stack.extend(reversed(subdirs))
    return result


def _symlink(abspath: str, rel: str, root_real: str, result: Walk) -> None:
    try:
        target = os.path.realpath(abspath, strict=True)
    except (OSError, RuntimeError) as exc:
        if getattr(exc, "errno", None) == 40 or isinstance(exc, RuntimeError):
            result.problems.append((rel, LoadError("symlink loop; not followed")))
        elif classify(os.path.basename(rel)):
            result.problems.append((rel, LoadError("dangling symlink; not read")))
        return
    if not _inside(target, root_real):
        if os.path.isdir(target) or classify(os.path.basename(rel)):
            result.problems.append((rel, LoadError("symlink points outside the scanned tree; not followed")))
        return
    if os.path.isdir(target):
        link_dir = os.path.dirname(os.path.join(root_real, rel))
        if _inside(link_dir, target):
            result.problems.append((rel, LoadError("symlink loop: points to an enclosing directory; not followed")))
    # a link to a file or directory inside the tree: walked at its real place


def _excluded(rel: str, excludes) -> bool:
    for pattern in excludes:
        p = pattern.rstrip("/")
        if fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel, p + "/**") or rel.startswith(p + "/"):
            return True
        if "/" not in p and fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], p):
            return True
    return False


# ----------------------------------------------------------------- reading

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class ReadError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.error = LoadError(message, line, column)


def read_text(abspath: str, max_bytes: int, root: str | None = None) -> str:
    """Read a file as text; raise ReadError with a clear message otherwise."""
    try:
        st = os.lstat(abspath)
    except OSError as exc:
        raise ReadError(f"cannot stat: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        real = os.path.realpath(abspath)
        if root is not None and not _inside(real, os.path.realpath(root)):
            raise ReadError("symlink points outside the scanned tree; not followed")
        try:
            st = os.stat(abspath)
        except OSError as exc:
            raise ReadError(f"cannot follow symlink: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError("not a regular file (FIFO, socket or device); not read")
    if st.st_size > max_bytes:
        raise ReadError(f"file is {st.st_size} bytes, over the limit of {max_bytes}; not parsed")
    try:
        # O_NONBLOCK: a file swapped for a FIFO after the stat still cannot hang us
        fd = os.open(abspath, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror}") from None
    return decode(raw)


def decode(raw: bytes) -> str:
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(enc)
            except UnicodeDecodeError as exc:
                raise ReadError(f"invalid {enc} text") from exc
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise ReadError("not a text file (NUL byte); not parsed", line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ReadError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", line, col) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text
