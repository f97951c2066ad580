"""Baselines: accept the findings a legacy repository has today, fail only on new ones.

``guidecheck scan . --baseline .guidecheck-baseline.json --update-baseline`` records the
active findings' fingerprints (rule, path, object, container and message; not the line,
so edits elsewhere in a file do not invalidate them).  Later scans with ``--baseline``
report those findings as suppressed ("accepted in the baseline") and fail only on new ones.

Fingerprints hold anywhere (:class:`Roots`): the path in a fingerprint, and any path a
message quotes, is relative to the scanned directory, so ``guidecheck scan .`` from the
repository, ``scan svc`` from its parent, ``scan /abs/svc`` and ``scan ..`` from a
subdirectory all give the same fingerprints.  Files named one by one (pre-commit) are
relative to the baseline file's directory when they lie under it, else to the current
directory.

Entries of rules that cannot be baselined (``suppressible: false``: GC001-GC003) are never
written.  Entries that match nothing any more (the finding was fixed) are reported by
:func:`unmatched` in the summary and the JSON report, so that the file can be refreshed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from guidecheck.model import ScanResult
from guidecheck.sanitize import clean
from guidecheck.sanitize import path as clean_path

BASELINE_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # a baseline is read whole: bounded


class BaselineError(Exception):
    pass


@dataclass(frozen=True)
class Entry:
    """One accepted finding of a baseline file."""

    fingerprint: str
    rule_id: str
    path: str
    message: str


class Baseline(frozenset[str]):
    """The fingerprints of a baseline file (a frozenset, what the engine matches), its entries and its path."""

    entries: tuple[Entry, ...]
    path: str | None

    def __new__(cls, entries: Iterable[Entry] = (), path: str | None = None) -> Baseline:
        items = tuple(entries)
        obj = super().__new__(cls, (e.fingerprint for e in items))
        obj.entries = items
        obj.path = path
        return obj


def _display(raw: str) -> str:
    """A path as the loaders show it: normalised, ``/``-separated, ``.`` for the current directory."""
    return os.path.normpath(raw).replace(os.sep, "/")


class Roots:
    """Maps a finding's path (and the paths its message quotes) to the scanned root, for fingerprints.

    ``inputs`` are the scan's paths as given; ``base`` is the baseline file's directory
    (``None``: the current directory) for files named one by one.
    """

    def __init__(self, inputs: Sequence[str], base: str | None = None) -> None:
        prefixes = {_display(p) for p in inputs if os.path.isdir(p)}
        # deepest first: a finding belongs to the innermost scanned directory
        self._dirs = sorted(prefixes, key=lambda p: (-len(p), p))
        self._cwd = os.getcwd()
        self._base = os.path.abspath(base) if base else None
        self._quoted: dict[str, re.Pattern[str]] = {}

    @property
    def directories(self) -> bool:
        """Whether a directory was scanned (else only files named one by one)."""
        return bool(self._dirs)

    def _root_of(self, path: str) -> str | None:
        """The display prefix of the scanned directory holding ``path`` (``"."`` for the current one)."""
        for d in self._dirs:
            if d == "." and not path.startswith(("/", "../")) and path != "..":
                return d
            if path == d or path.startswith(d.rstrip("/") + "/"):
                return d
        return None

    def relative(self, path: str) -> tuple[str, str | None]:
        """``path`` relative to its root, and the root's display prefix (to strip from the message)."""
        root = self._root_of(path)
        if root is not None:
            if root == ".":
                return _display(path), None
            return _display(path[len(root) :].lstrip("/") or "."), root
        if path.startswith("cluster/") or "://" in path:
            return path, None  # a cluster object, not a file
        absolute = os.path.abspath(path)
        base = self._base or self._cwd
        if absolute == base or absolute.startswith(base.rstrip(os.sep) + os.sep):
            rel = os.path.relpath(absolute, base).replace(os.sep, "/")
            prefix = _display(os.path.relpath(base, self._cwd))
            return rel, None if prefix == "." else prefix
        return _display(path), None

    def message(self, text: str, root: str | None) -> str:
        """The message with ``root/`` removed where it starts a quoted path."""
        if not root:
            return text
        pattern = self._quoted.get(root)
        if pattern is None:
            pattern = self._quoted[root] = re.compile(r"(?<![\w./-])" + re.escape(root.rstrip("/") + "/"))
        return pattern.sub("", text)


def read(path: str) -> Baseline:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_BYTES + 1)
        if len(text) > MAX_BYTES:
            raise BaselineError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
        data = json.loads(text)
    except FileNotFoundError:
        raise BaselineError(f"{path}: not found (create it with --update-baseline)") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: not a baseline file: {exc}") from None
    if not isinstance(data, dict) or data.get("baseline_version") != BASELINE_VERSION:
        raise BaselineError(f"{path}: not a guidecheck baseline (baseline_version {BASELINE_VERSION})")
    items = data.get("findings")
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("fingerprint"), str) for i in items
    ):
        raise BaselineError(f"{path}: 'findings' must be a list of objects with a fingerprint")
    return Baseline(
        (
            Entry(i["fingerprint"], str(i.get("rule_id") or ""), str(i.get("path") or ""), str(i.get("message") or ""))
            for i in items
        ),
        path,
    )


def base_dir(path: str | None) -> str | None:
    """The directory files named one by one are relative to: the baseline file's."""
    return os.path.dirname(os.path.abspath(path)) if path else None


def entries(result: ScanResult, roots: Roots | None = None) -> list[Entry]:
    """The baseline entries of the result's active findings that can be baselined (sorted, unique)."""
    unsuppressible = {r.id for r in result.rules if not r.suppressible}
    out: set[Entry] = set()
    for f in result.active():
        if f.rule_id in unsuppressible:
            continue  # GC001-GC003: nothing silences them, a baseline entry would be a lie
        fp = f.extra.get("fingerprint")  # the engine's (guidecheck.engine.fingerprint), with the same roots
        if not isinstance(fp, str):
            continue
        rel, root = roots.relative(f.path) if roots else (f.path, None)
        message = roots.message(f.message, root) if roots else f.message
        out.add(Entry(fp, f.rule_id, clean_path(rel), clean(message)))
    return sorted(out, key=lambda e: (e.rule_id, e.path, e.message, e.fingerprint))


def write(path: str, result: ScanResult, roots: Roots | None = None) -> int:
    items = entries(result, roots)
    data = {
        "baseline_version": BASELINE_VERSION,
        "tool": "guidecheck",
        "findings": [
            {"fingerprint": e.fingerprint, "rule_id": e.rule_id, "path": e.path, "message": e.message} for e in items
        ],
    }
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return len(items)


def _in_scope(entry_path: str, scanned_dirs: bool, scanned_files: set[str]) -> bool:
    if scanned_dirs:
        return not entry_path.startswith(("/", "../"))
    return entry_path in scanned_files


def unmatched(baseline: frozenset[str], result: ScanResult, roots: Roots | None) -> dict[str, Any] | None:
    """What the baseline matched: ``{"path", "entries", "matched", "fixed": [entries]}``, or ``None`` without one.

    An entry is *fixed* when the scan looked where it points (its rule ran; its path lies
    under a scanned directory, or is a file named on the command line, or a cluster object
    of the audited cluster) and no finding, active or suppressed, has its fingerprint.
    """
    if not isinstance(baseline, Baseline):
        return None
    seen = {f.extra.get("fingerprint") for f in result.findings}
    ran = {r.id for r in result.rules}
    scanned_dirs = bool(roots and roots.directories)
    scanned_files = {roots.relative(t.path)[0] for t in (o.target for o in result.outcomes)} if roots else set()
    clusters = {
        "/".join(o.target.path.split("/")[:2]) + "/" for o in result.outcomes if o.target.path.startswith("cluster/")
    }
    fixed: list[Entry] = []
    for e in baseline.entries:
        if e.fingerprint in seen or e.rule_id not in ran:
            continue
        if e.path.startswith("cluster/"):
            if not e.path.startswith(tuple(clusters)):
                continue
        elif roots is None or not _in_scope(e.path, scanned_dirs, scanned_files):
            continue
        fixed.append(e)
    fixed.sort(key=lambda e: (e.rule_id, e.path, e.message, e.fingerprint))
    return {
        "path": baseline.path,
        "entries": len(baseline.entries),
        "matched": sum(1 for e in baseline.entries if e.fingerprint in seen),
        "fixed": [
            {"fingerprint": e.fingerprint, "rule_id": e.rule_id, "path": e.path, "message": e.message} for e in fixed
        ],
    }
