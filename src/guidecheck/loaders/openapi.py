"""OpenAPI / Swagger loader: find the documents, and load the files their ``$ref``s reach.

A document is any parsed YAML or JSON document (from ``loaded.others``: every
file is read and parsed once, by the walk) whose top level has an ``openapi``
or ``swagger`` key.  Each becomes a target of kind ``openapi`` whose data is a
:class:`guidecheck.parsers.openapi.OpenAPIDoc`.

References are resolved here, once, and only inside the scanned tree, by the
rules of :func:`guidecheck.parsers.openapi.resolve_ref` (what may be followed,
and which references become *problems* of the document, rule GC902); this
module supplies the files: those the walk parsed, and a ``$ref`` target the
walk skipped, read on demand through the same safe reader (see
:class:`_FileIndex`).
"""

from __future__ import annotations

import os
import posixpath
from typing import Any

from guidecheck.model import ObjectRef, Target, file_target
from guidecheck.parsers.openapi import (
    OpenAPIDoc,
    RefProblem,
    SpecFile,
    collect_ids,
    iter_refs,
    pure_ref_loop,
    ref_pos,
    resolve_ref,
    spec_keyword,
)
from guidecheck.parsers.yaml import key_line


def start(loaded, config, options) -> None:
    """Add one ``openapi`` target per OpenAPI/Swagger document found among the parsed documents, now, as soon
    as the files are parsed and while Helm and kustomize still render (:func:`guidecheck.loaders.load` runs this
    ``start`` before any ``extend``).

    openapi-spec-validator is the costliest check (on the second corpus 3.3 s of CPU for 52 documents).
    Started when the rules start, its worker process kept the scan waiting after every other rule had
    run; with the documents found here, :func:`guidecheck.loaders.load` hands them to the runner's
    ``on_found`` hook, which starts GC902's worker while the renderers run, on whatever core they leave
    idle (see :func:`guidecheck.runner.scan`).  The documents come from the walk only
    (``loaded.others``), so nothing the renderers add is missed.
    """
    if not loaded.others:
        return
    index = _FileIndex(loaded, config)
    seen: dict[tuple[str, str], tuple[str, str]] = {}  # (directory, stem) -> (first path, its content)
    for docs in loaded.others:
        for doc in docs.docs:
            data = doc.data
            if not isinstance(data, dict):
                continue
            keyword = spec_keyword(data)
            if keyword is None:
                continue
            where = index.where(docs.path)
            if where is None:
                continue
            abspath, root, scope = where
            version = data.get(keyword)
            spec = OpenAPIDoc(
                path=docs.path,
                abspath=abspath,
                root=root,
                keyword=keyword,
                version=str(version)
                if isinstance(version, (str, int, float)) and not isinstance(version, bool)
                else "",
                data=data,
            )
            spec.files[abspath] = SpecFile(docs.path, abspath, data)
            _resolve_all(spec, index)
            line = key_line(data, keyword, doc.line)
            title = None
            info = data.get("info")
            if isinstance(info, dict) and isinstance(info.get("title"), str):
                title = info["title"][:120]
            origin: dict[str, Any] = {"source": "file", "repo": scope}
            copy = _copy_of(seen, docs.path, data)
            if copy is not None:
                origin["copy_of"] = copy  # openapi.yaml and openapi.json of one document: judged once
            loaded.targets.append(
                Target(
                    kind="openapi",
                    path=docs.path,
                    line=line,
                    ref=ObjectRef("OpenAPI", None, title or posixpath.basename(docs.path)),
                    data=spec,
                    origin=origin,
                )
            )


def extend(loaded, config, options) -> None:
    """Nothing left: :func:`start`, which ``load`` always runs first, found the documents."""


def _copy_of(seen: dict[tuple[str, str], tuple[str, str]], path: str, data: Any) -> str | None:
    """The earlier document this one is a copy of: the same directory and name but for the extension
    (``.yaml``/``.yml``/``.json``) and the same content; None otherwise (and this one is remembered)."""
    import json

    directory, base = posixpath.split(path)
    stem = base.rsplit(".", 1)[0] if base.lower().endswith((".yaml", ".yml", ".json")) else base
    try:
        content = json.dumps(data, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return None
    first = seen.get((directory, stem))
    if first is not None and first[1] == content:
        return first[0]
    seen.setdefault((directory, stem), (path, content))
    return None


class _FileIndex:
    """display path <-> absolute path and scan root of every parsed YAML/JSON document file.

    A ``$ref`` target the walk did not read (a file under a skipped directory such as ``vendor/``, an excluded
    file, or, in pre-commit mode, a file that was not named) is read on demand through the same safe reader
    and parser as every other file, once, and shared through ``loaded.others``; its read and parse errors
    become GC001 findings like any file's.
    """

    def __init__(self, loaded, config=None) -> None:
        self.loaded = loaded
        self.config = config
        self.docs_by_display = {d.path: d for d in loaded.others}
        self.by_display: dict[str, tuple[str, str, str]] = {}  # display -> (abspath, root, scope)
        self.by_abspath: dict[str, str] = {}  # abspath -> display (only parsed document files)
        self.walked: set[str] = set()  # every file a walk saw, read or not
        self.roots: list[tuple[str, str]] = []  # (root, display prefix), longest root first
        self.failed: dict[str, str] = {}  # abspath -> why it cannot be a $ref target
        for rs in loaded.repos:
            root = os.path.normpath(rs.walk.root)
            self.roots.append((root, rs.prefix))
            for rel in rs.walk.inventory:
                self.walked.add(os.path.normpath(os.path.join(root, rel)))
            for f in rs.walk.files:
                disp = rs.prefix + f.relpath
                if disp in self.docs_by_display and disp not in self.by_display:
                    ab = os.path.normpath(os.path.join(root, f.relpath))
                    self.by_display[disp] = (ab, root, rs.prefix)
                    self.by_abspath.setdefault(ab, disp)
        self.roots.sort(key=lambda r: -len(r[0]))
        cwd = os.getcwd()
        for abspath, disp, _kind in loaded.files:
            if disp in self.docs_by_display and disp not in self.by_display:
                ab = os.path.normpath(abspath)
                root = cwd if ab.startswith(cwd + os.sep) else os.path.dirname(ab)
                self.by_display[disp] = (ab, root, "")
                self.by_abspath.setdefault(ab, disp)

    def where(self, display: str) -> tuple[str, str, str] | None:
        return self.by_display.get(display)

    def data_at(self, abspath: str, root: str | None = None) -> tuple[str, Any] | str:
        """(display path, first document) of a file, or why it cannot be used as a ``$ref`` target."""
        disp = self.by_abspath.get(abspath)
        if disp is not None:
            docs = self.docs_by_display[disp].docs
            return (disp, docs[0].data) if docs else "holds no YAML/JSON document"
        if abspath in self.failed:
            return self.failed[abspath]
        if abspath in self.walked:
            reason = (
                "was scanned but is not a plain YAML/JSON document (a Kubernetes object, or a file that could "
                "not be read or parsed: see GC001)"
            )
        else:
            read = self._read(abspath, root)
            if not isinstance(read, str):
                return read
            reason = read
        self.failed[abspath] = reason
        return reason

    def _read(self, abspath: str, root: str | None) -> tuple[str, Any] | str:
        from guidecheck.loaders import Documents
        from guidecheck.loaders.fs import ReadError, classify, read_text
        from guidecheck.model import SourceFile
        from guidecheck.parsers.yaml import Limits, load_json, load_yaml

        if root is not None:
            real, real_root = os.path.realpath(abspath), os.path.realpath(root)
            if not (real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)):
                return "is reached through a symlink that leaves the scanned tree (not read)"
        if not os.path.lexists(abspath):
            return "not found"
        kind = classify(os.path.basename(abspath))
        if kind not in ("yaml", "json"):
            return "is not a YAML or JSON file (not read)"
        disp = self._display(abspath)
        max_bytes = getattr(self.config, "max_file_bytes", 8 * 1024 * 1024)
        limits = getattr(self.config, "limits", None) or Limits()
        src = SourceFile(disp, kind)
        self.loaded.targets.append(file_target(src))
        try:
            text = read_text(abspath, max_bytes, root=root)
        except ReadError as exc:
            src.errors.append(exc.error)
            return f"cannot be read: {exc.error.message} (see GC001)"
        src.read = True
        if getattr(self.config, "inline_suppressions", False):
            from guidecheck import suppress

            src.suppressions.extend(suppress.parse_comments(text, disp, kind))
        docs = load_json(text, limits) if kind == "json" else load_yaml(text, limits)
        for d in docs:
            src.errors.extend(d.errors)
        good = [d for d in docs if d.data is not None]
        if not good:
            return "could not be parsed (see GC001)"
        entry = Documents(disp, good)
        self.loaded.others.append(entry)
        self.docs_by_display[disp] = entry
        self.by_abspath[abspath] = disp
        return disp, good[0].data

    def _display(self, abspath: str) -> str:
        for root, prefix in self.roots:
            if abspath.startswith(root.rstrip(os.sep) + os.sep):
                return prefix + os.path.relpath(abspath, root).replace(os.sep, "/")
        cwd = os.getcwd()
        if abspath.startswith(cwd + os.sep):
            return os.path.relpath(abspath, cwd).replace(os.sep, "/")
        return abspath.replace(os.sep, "/")


def _resolve_all(spec: OpenAPIDoc, index: _FileIndex) -> None:
    """Load every file the document reaches (phase 1: by path, collecting ``$id``s), then resolve and check every
    ``$ref`` of those files (phase 2), so that a reference to an ``$id`` works in any order of discovery."""
    spec.lookup = index.data_at  # also for resolve()/deref() from the checks
    refs_of: dict[str, list] = {}
    queue = [spec.abspath]
    while queue:
        ab = queue.pop(0)
        if ab in refs_of:
            continue
        f = spec.files[ab]
        refs = list(iter_refs(f.data))
        refs_of[ab] = refs
        collect_ids(spec, ab, f.data)
        for holder, ref, base in refs:
            if base is not None:
                spec.bases[id(holder)] = base
            res = resolve_ref(spec, ref, ab, holder=holder)
            if isinstance(res, tuple) and res[0] not in refs_of:
                queue.append(res[0])
    # every file a reference can reach is loaded by now ($ids come only from loaded files)
    cycles_reported: set[frozenset] = set()
    for ab, refs in list(refs_of.items()):
        f = spec.files[ab]
        for holder, ref, _base in refs:
            line, col = ref_pos(holder)
            res = resolve_ref(spec, ref, ab, holder=holder)
            if isinstance(res, RefProblem):
                res.path, res.line, res.column = f.path, line, col
                spec.problems.append(res)
                continue
            loop = pure_ref_loop(spec, holder, ab)
            if loop is not None and id(holder) in loop and loop not in cycles_reported:
                cycles_reported.add(loop)
                spec.problems.append(
                    RefProblem(
                        f.path,
                        line,
                        col,
                        str(ref),
                        f"unresolvable circular $ref {str(ref)[:200]!r}: it leads back to "
                        "itself through references only",
                        "circular",
                    )
                )
    spec.problems.sort(key=lambda p: (p.path, p.line, p.column, p.message))


__all__ = ["extend"]
