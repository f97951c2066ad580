"""Walking a repository and reading files without trusting them.

* never follows a symlink out of the scanned tree (reported, never read);
* never descends into directory symlinks (their targets inside the tree are
  walked at their real place; a link to an ancestor is reported as a loop);
* stats before opening: FIFOs, sockets and devices are reported, not opened;
* caps the size of what it reads and tells text from binary.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from dataclasses import dataclass, field

from guidecheck import globs
from guidecheck.model import LoadError

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "vendor",
        "third_party",
        "third-party",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".terraform",
        "bower_components",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        ".idea",
        ".gradle",
        ".vscode",
    }
)

# Files that carry a YAML/JSON name but are neither deployment configuration nor
# plain YAML/JSON, so never read (each would be a false GC001):
# JSON-with-comments configuration of editors and JavaScript tools, package
# manager lock files (generated, often megabytes), and mkdocs' configuration
# (its !!python/name: tags are mkdocs' own).
NOT_DEPLOYMENT_FILES = re.compile(
    r"^(?:[tj]sconfig(?:\..+)?\.json|tslint\.json|\.eslintrc\.json|\.?devcontainer\.json|\.babelrc\.json|"
    r"api-extractor\.json|.+\.jsonc|package-lock\.json|npm-shrinkwrap\.json|pnpm-lock\.yaml|"
    r"mkdocs\.ya?ml)$",
    re.IGNORECASE,
)

DOCKERFILE_NAMES = ("Dockerfile", "Containerfile", "dockerfile", "containerfile")


def is_dockerfile_name(name: str) -> bool:
    if name in DOCKERFILE_NAMES:
        return True
    for base in DOCKERFILE_NAMES:
        if name.startswith((base + ".", base + "-", base + "_")):
            # Dockerfile.dev, Dockerfile-Windows, Dockerfile_alpine; not Dockerfile.md/.txt docs (templates,
            # Dockerfile.tmpl/.j2, are read and reported as templates)
            return not name.lower().endswith((".md", ".txt", ".rst", ".orig", ".bak", ".swp"))
    return name.endswith((".Dockerfile", ".dockerfile", ".Containerfile"))


def classify(name: str) -> str | None:
    """What kind of file a name announces, or None if guidecheck does not read it."""
    if is_dockerfile_name(name):
        return "dockerfile"
    if NOT_DEPLOYMENT_FILES.match(name):
        return None
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
    kind: str  # what classify() names: only the files guidecheck reads are listed


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
    """Walk ``root`` without following links; files come out sorted by path.

    Iterative (any depth), visits each directory once even through bind
    mounts, and never opens anything: FIFOs, sockets and devices with a name
    guidecheck reads are reported as problems, like links it will not follow.
    """
    root_real = os.path.realpath(root)
    result = Walk(root=root_real)
    try:
        st_root = os.stat(root_real)
        visited = {(st_root.st_dev, st_root.st_ino)}
    except OSError:
        visited = set()
    excluded = globs.matcher(excludes) if excludes else None
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root_real, rel_dir) if rel_dir else root_real
        try:
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            result.problems.append((rel_dir or ".", LoadError(f"directory not readable: {_reason(exc)}")))
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if excluded is not None and excluded(rel, entry.name):
                continue  # a matching directory is not entered: its contents are excluded too
            try:
                if entry.is_file(follow_symlinks=False):  # the common case: no extra system call
                    result.inventory.append(rel)
                    kind = classify(entry.name)
                    if kind:
                        result.files.append(WalkedFile(entry.path, rel, kind))
                    continue
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
                if is_link:
                    _symlink(entry.path, rel, root_real, result)
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                result.problems.append((rel, LoadError(f"cannot stat: {_reason(exc)}")))
                continue
            if is_dir:
                if entry.name in SKIP_DIRS:
                    continue
                ident = (st.st_dev, st.st_ino)
                if ident in visited:
                    result.problems.append(
                        (rel, LoadError("directory already walked (bind mount or filesystem loop); not walked again"))
                    )
                    continue
                visited.add(ident)
                subdirs.append(rel)
                continue
            if classify(entry.name):
                result.problems.append((rel, LoadError(_not_regular(st.st_mode))))
        stack.extend(reversed(subdirs))
    # files in path order (a directory's files interleave with its subdirectories')
    result.inventory.sort()
    result.files.sort(key=lambda f: f.relpath)
    return result


def _symlink(abspath: str, rel: str, root_real: str, result: Walk) -> None:
    try:
        target = os.path.realpath(abspath, strict=True)
    except (OSError, RuntimeError) as exc:
        if getattr(exc, "errno", None) == errno.ELOOP or isinstance(exc, RuntimeError):
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
    """Read a file as text; raise ReadError with a clear message otherwise.

    Never blocks (FIFOs, sockets and devices are refused before and after
    opening), never follows a symlink out of ``root``, never reads more than
    ``max_bytes`` + 1 bytes, and never puts file content in a message.
    """
    try:
        st = os.lstat(abspath)
    except OSError as exc:
        raise ReadError(f"cannot stat: {_reason(exc)}") from None
    path = abspath
    if stat.S_ISLNK(st.st_mode):
        try:
            real = os.path.realpath(abspath, strict=True)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ReadError("symlink loop; not followed") from None
            raise ReadError(f"cannot follow symlink: {_reason(exc)}") from None
        if root is not None and not _inside(real, os.path.realpath(root)):
            raise ReadError("symlink points outside the scanned tree; not followed")
        path = real
        try:
            st = os.lstat(path)
        except OSError as exc:
            raise ReadError(f"cannot follow symlink: {_reason(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(_not_regular(st.st_mode))
    if st.st_size > max_bytes:
        raise ReadError(_too_big(st.st_size, max_bytes))
    try:
        # O_NONBLOCK: a file swapped for a FIFO after the stat still cannot hang us;
        # O_NOFOLLOW: nor can a file swapped for a symlink lead us out of the tree
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ReadError("became a symlink while being read; not followed") from None
        raise ReadError(f"cannot read: {_reason(exc)}") from None
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):
            raise ReadError(_not_regular(fst.st_mode))
        if fst.st_size > max_bytes:
            raise ReadError(_too_big(fst.st_size, max_bytes))
        chunks = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise ReadError(f"cannot read: {_reason(exc)}") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:  # grew after the stat
        raise ReadError(_too_big(len(raw), max_bytes))
    return decode(raw)


_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _too_big(size: int, max_bytes: int) -> str:
    return (
        f"file is {size} bytes, over the limit of {max_bytes} (limits.max-file-bytes in .guidecheck.yaml); not parsed"
    )


def _not_regular(mode: int) -> str:
    what = (
        "FIFO"
        if stat.S_ISFIFO(mode)
        else "socket"
        if stat.S_ISSOCK(mode)
        else "device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "directory"
        if stat.S_ISDIR(mode)
        else "special file"
    )
    return f"not a regular file ({what}); not read"


def decode(raw: bytes) -> str:
    """Bytes to text: BOMs honoured, NUL and invalid UTF-8 refused with a line, newlines normalised."""
    text = None
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                text = raw[len(bom) :].decode(enc)
            except UnicodeDecodeError as exc:
                raise ReadError(f"not valid {enc.upper()} text (byte offset {exc.start + len(bom)})") from None
            if "\0" in text:
                line = text.count("\n", 0, text.index("\0")) + 1
                raise ReadError("not a text file (NUL character); not parsed", line)
            break
    if text is None:
        nul = raw.find(b"\0")
        if nul >= 0:
            line = raw.count(b"\n", 0, nul) + 1
            raise ReadError("not a text file (NUL byte); not parsed", line)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise ReadError(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}, column {col})", line, col
            ) from None
    if "\r" in text:
        # CRLF and lone CR are line breaks for YAML; make them one "\n" so that
        # every line count agrees with the parser's
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
