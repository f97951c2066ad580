"""OpenAPI / Swagger documents: find them, and resolve their ``$ref``s without trusting them.

A document is any parsed YAML or JSON document (from ``loaded.others``: every
file is read and parsed once, by the walk) whose top level has an ``openapi``
or ``swagger`` key.  Each becomes a target of kind ``openapi``.

References are resolved here, once, and only inside the scanned tree:

* ``#/json/pointer`` into the same file;
* ``relative/file.yaml#/pointer`` to another YAML/JSON file of the scan, taken
  from ``loaded.others`` (already parsed, never read again);
* anything else is never followed and becomes a *problem* of the document
  (rule GC902): a URL of any scheme (``http:``, ``https:``, ``file:``, ...), an
  absolute path, a relative path leaving the scanned tree, a file that is not
  among the scanned YAML/JSON files, a pointer that leads nowhere, and a chain
  of ``$ref``-only nodes that comes back to itself (``Self: {$ref: Self}``,
  which has no meaning; ``A`` -> ``B`` -> ``A`` through properties is legal).

Nothing here imports the validator: GC902 runs openapi-spec-validator on the
model built here, with retrieval handlers that serve only the files resolved
here (see :mod:`guidecheck.checks.openapi`).
"""

from __future__ import annotations

import os
import posixpath
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterator

from guidecheck.model import ObjectRef, Target

# keys whose values are literal data, never references
_LITERAL_KEYS = frozenset({"example", "default", "enum", "const"})
MAX_REF_HOPS = 64  # a $ref chain longer than this is reported, not followed further


@dataclass
class SpecFile:
    path: str  # display path
    abspath: str
    data: Any  # the file's (first) document


@dataclass
class RefProblem:
    path: str  # display path of the file holding the $ref
    line: int
    column: int
    ref: str
    message: str
    kind: str  # external | escapes | absolute | missing-file | missing-target | circular | invalid


@dataclass
class OpenAPIDoc:
    path: str  # display path of the document
    abspath: str
    root: str  # absolute root of the scanned tree: no $ref is ever resolved outside it
    keyword: str  # "openapi" | "swagger"
    version: str  # as written, e.g. "3.0.3", "2.0"
    data: Any  # the document (a YMap)
    files: dict[str, SpecFile] = field(default_factory=dict)  # abspath -> file (the document's own included)
    problems: list[RefProblem] = field(default_factory=list)
    # absolute $id (without fragment) -> (file abspath, schema node): resolved locally, never fetched
    ids: dict[str, tuple[str, Any]] = field(default_factory=dict)
    # id(a $ref holder) -> the enclosing schema with an absolute $id (its '#/...' refs are relative to it)
    bases: dict[int, Any] = field(default_factory=dict, repr=False)

    @property
    def family(self) -> str | None:
        """``2.0``, ``3.0``, ``3.1``, ``3.2`` or None when the version is not one of them."""
        v = self.version
        if self.keyword == "swagger":
            return "2.0" if v in ("2.0", "2") else None
        for fam in ("3.0", "3.1", "3.2"):
            if v == fam or v.startswith(fam + "."):
                return fam
        return None

    def file_of(self, abspath: str) -> SpecFile | None:
        return self.files.get(abspath)

    def resolve(self, ref: Any, from_abspath: str) -> tuple[str, Any] | None:
        """The node a ``$ref`` written in file ``from_abspath`` points at, as (file abspath, node), or None."""
        res = _resolve(self, ref, from_abspath)
        return (res[0], res[1]) if isinstance(res, tuple) else None

    def resolve_at(self, holder: dict, from_abspath: str) -> tuple[str, Any] | None:
        """Like :meth:`resolve` for the ``$ref`` of ``holder`` (honours an enclosing ``$id``)."""
        res = _resolve(self, holder.get("$ref"), from_abspath, holder=holder)
        return (res[0], res[1]) if isinstance(res, tuple) else None

    def deref(self, node: Any, abspath: str) -> tuple[Any, str]:
        """Follow ``$ref`` chains from ``node`` (in file ``abspath``); stops at a node that is not a reference
        (or that cannot be resolved, or a loop: then the last node reached is returned)."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < MAX_REF_HOPS:
            res = self.resolve_at(node, abspath)
            if res is None:
                return node, abspath
            abspath, node = res
            seen += 1
        return node, abspath

    def display(self, abspath: str) -> str:
        f = self.files.get(abspath)
        return f.path if f else self.path


def extend(loaded, config, options) -> None:
    """Add one ``openapi`` target per OpenAPI/Swagger document found among the parsed documents."""
    if not loaded.others:
        return
    index = _FileIndex(loaded, config)
    for docs in loaded.others:
        for doc in docs.docs:
            data = doc.data
            if not isinstance(data, dict):
                continue
            keyword = "openapi" if "openapi" in data else "swagger" if "swagger" in data else None
            if keyword is None or _looks_like_k8s_or_other(data):
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
                version=str(version) if isinstance(version, (str, int, float)) and not isinstance(version, bool)
                else "",
                data=data,
            )
            spec.files[abspath] = SpecFile(docs.path, abspath, data)
            _resolve_all(spec, index)
            line = data.key_line(keyword) if hasattr(data, "key_line") else getattr(data, "line", doc.line)
            title = None
            info = data.get("info")
            if isinstance(info, dict) and isinstance(info.get("title"), str):
                title = info["title"][:120]
            loaded.targets.append(Target(
                kind="openapi",
                path=docs.path,
                line=line,
                ref=ObjectRef("OpenAPI", None, title or posixpath.basename(docs.path)),
                data=spec,
                origin={"source": "file", "repo": scope},
            ))


def _looks_like_k8s_or_other(data: dict) -> bool:
    # an `openapi:` key that is a nested configuration block (e.g. a tool's settings) rather than a version
    for key in ("openapi", "swagger"):
        if key in data:
            v = data[key]
            return not (isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool)))
    return False


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
            reason = ("was scanned but is not a plain YAML/JSON document (a Kubernetes object, or a file that could "
                      "not be read or parsed: see GC001)")
        else:
            reason = self._read(abspath, root)
            if not isinstance(reason, str):
                return reason
        self.failed[abspath] = reason
        return reason

    def _read(self, abspath: str, root: str | None) -> tuple[str, Any] | str:
        from guidecheck.loaders import Documents, _file_target
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
        self.loaded.targets.append(_file_target(src))
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


def iter_refs(node: Any) -> Iterator[tuple[dict, Any, Any]]:
    """Every mapping holding a ``$ref`` key, with the innermost enclosing schema that has an absolute ``$id``
    (JSON Schema 2020-12, OpenAPI 3.1: ``#/...`` is relative to it), or None.  Iterative, in document order;
    literal data (examples, defaults, enums, ``x-`` extensions) is skipped.

    A ``$ref`` whose value is a mapping is a property named "$ref" in a schema's ``properties``, not a reference.
    """
    stack: list[tuple[Any, Any, Any]] = [(node, None, None)]
    while stack:
        cur, parent_key, base = stack.pop()
        if isinstance(cur, dict):
            if isinstance(cur.get("$id"), str) and _absolute_id(cur["$id"]) and parent_key != "properties":
                base = cur
            if "$ref" in cur and not isinstance(cur["$ref"], dict):
                yield cur, cur["$ref"], base
            children = []
            for k, v in cur.items():
                if not isinstance(v, (dict, list)):
                    continue
                if isinstance(k, str) and (k.startswith("x-") or (k in _LITERAL_KEYS and not (
                        k == "default" and parent_key == "responses"))):
                    continue
                children.append((v, k, base))
            stack.extend(reversed(children))  # document order
        elif isinstance(cur, list):
            stack.extend(reversed([(v, parent_key, base) for v in cur if isinstance(v, (dict, list))]))


def _absolute_id(value: str) -> bool:
    split = urllib.parse.urlsplit(value)
    return bool(split.scheme and (split.netloc or split.scheme == "urn"))


def _strip_fragment(uri: str) -> str:
    return uri.partition("#")[0]


def _ref_pos(holder: dict) -> tuple[int, int]:
    if hasattr(holder, "value_line"):
        return holder.value_line("$ref"), holder.value_col("$ref")
    return getattr(holder, "line", 1), getattr(holder, "col", 1)


def _resolve_all(spec: OpenAPIDoc, index: _FileIndex) -> None:
    """Load every file the document reaches (phase 1: by path, collecting ``$id``s), then resolve and check every
    ``$ref`` of those files (phase 2), so that a reference to an ``$id`` works in any order of discovery."""
    spec._index = index  # type: ignore[attr-defined]  # for resolve()/deref() from the checks
    refs_of: dict[str, list] = {}
    queue = [spec.abspath]
    while queue:
        ab = queue.pop(0)
        if ab in refs_of:
            continue
        f = spec.files[ab]
        refs = list(iter_refs(f.data))
        refs_of[ab] = refs
        _collect_ids(spec, ab, f.data)
        for holder, ref, base in refs:
            if base is not None:
                spec.bases[id(holder)] = base
            res = _resolve(spec, ref, ab, index, holder=holder)
            if isinstance(res, tuple) and res[0] not in refs_of:
                queue.append(res[0])
    # every file a reference can reach is loaded by now ($ids come only from loaded files)
    cycles_reported: set[frozenset] = set()
    for ab, refs in list(refs_of.items()):
        f = spec.files[ab]
        for holder, ref, _base in refs:
            line, col = _ref_pos(holder)
            res = _resolve(spec, ref, ab, index, holder=holder)
            if isinstance(res, RefProblem):
                res.path, res.line, res.column = f.path, line, col
                spec.problems.append(res)
                continue
            loop = _pure_ref_loop(spec, holder, ab, index)
            if loop is not None and id(holder) in loop and loop not in cycles_reported:
                cycles_reported.add(loop)
                spec.problems.append(RefProblem(f.path, line, col, str(ref),
                                                f"unresolvable circular $ref {str(ref)[:200]!r}: it leads back to "
                                                "itself through references only", "circular"))
    spec.problems.sort(key=lambda p: (p.path, p.line, p.column, p.message))


def _pure_ref_loop(spec: OpenAPIDoc, holder: dict, ab: str, index: _FileIndex) -> frozenset | None:
    """If following $ref-only nodes from ``holder`` comes back to a node already seen, the set of the loop's nodes."""
    seen: list[int] = [id(holder)]
    node, cur = holder, ab
    for _ in range(MAX_REF_HOPS):
        res = _resolve(spec, node.get("$ref"), cur, index, holder=node)
        if not isinstance(res, tuple):
            return None
        cur, node, _ = res
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return None
        if id(node) in seen:
            return frozenset(seen[seen.index(id(node)):])
        seen.append(id(node))
    return frozenset(seen)


def _collect_ids(spec: OpenAPIDoc, abspath: str, data: Any) -> None:
    stack = [(data, None)]
    while stack:
        cur, parent_key = stack.pop()
        if isinstance(cur, dict):
            sid = cur.get("$id")
            if isinstance(sid, str) and _absolute_id(sid) and parent_key != "properties":
                spec.ids.setdefault(_strip_fragment(sid), (abspath, cur))
            stack.extend((v, k) for k, v in cur.items() if isinstance(v, (dict, list)) and
                         not (isinstance(k, str) and (k in _LITERAL_KEYS or k.startswith("x-"))))
        elif isinstance(cur, list):
            stack.extend((v, parent_key) for v in cur if isinstance(v, (dict, list)))


def _resolve(spec: OpenAPIDoc, ref: Any, from_abspath: str, index: _FileIndex | None = None,
             holder: Any = None):
    """(abspath, node, pointer) or a RefProblem (path/line filled in by the caller)."""
    index = index or getattr(spec, "_index", None)
    if not isinstance(ref, str):
        return RefProblem("", 1, 1, repr(ref)[:80], f"$ref must be a string, not {type(ref).__name__}", "invalid")
    shown = ref if len(ref) <= 200 else ref[:200] + "..."
    file_part, _, fragment = ref.partition("#")
    base = spec.bases.get(id(holder)) if holder is not None else None
    if base is not None:  # inside a schema with an absolute $id: the reference is relative to that URI
        file_part = _strip_fragment(urllib.parse.urljoin(base["$id"], file_part)) if file_part else \
            _strip_fragment(base["$id"])
    if file_part in spec.ids:  # a schema of the tree identified by its $id: never fetched
        doc_ab, root = spec.ids[file_part]
        node = _pointer(root, urllib.parse.unquote(fragment)) if fragment else root
        if node is _MISSING:
            return RefProblem("", 1, 1, ref, f"unresolvable $ref: {shown} points at nothing", "missing-target")
        return doc_ab, node, fragment
    if base is not None:
        file_part = ref.partition("#")[0]  # not a known $id: resolve as a path, as before
    if file_part:
        split = urllib.parse.urlsplit(file_part)
        if split.scheme and len(split.scheme) > 1 or split.netloc or file_part.startswith("//"):
            return RefProblem("", 1, 1, ref, f"external $ref not followed (never fetched or read): {shown}",
                              "external")
        rel = urllib.parse.unquote(split.path)
        if rel.startswith("/") or rel.startswith("\\") or (len(rel) > 1 and rel[1] == ":"):
            return RefProblem("", 1, 1, ref, f"absolute-path $ref not followed (never read): {shown}", "absolute")
        target = os.path.normpath(os.path.join(os.path.dirname(from_abspath), rel))
        if not (target == spec.root or target.startswith(spec.root.rstrip(os.sep) + os.sep)):
            return RefProblem("", 1, 1, ref, f"$ref escapes the scanned tree (not read): {shown}", "escapes")
        if target not in spec.files:
            found = index.data_at(target, spec.root) if index is not None else "not found"
            if isinstance(found, str):
                rel_show = os.path.relpath(target, spec.root).replace(os.sep, "/")
                return RefProblem("", 1, 1, ref, f"$ref target file {rel_show[:200]} {found} (from {shown})",
                                  "missing-file")
            spec.files[target] = SpecFile(found[0], target, found[1])
        doc_ab = target
    else:
        doc_ab = from_abspath
    root = spec.files[doc_ab].data
    node = _pointer(root, urllib.parse.unquote(fragment)) if fragment else root
    if node is _MISSING:
        return RefProblem("", 1, 1, ref, f"unresolvable $ref: {shown} points at nothing", "missing-target")
    return doc_ab, node, fragment


_MISSING = object()


def _pointer(root: Any, pointer: str) -> Any:
    if not pointer.startswith("/"):
        return _MISSING  # plain-name fragments ($anchor) are not supported here
    node = root
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            if token not in node:
                return _MISSING
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                return _MISSING
            node = node[int(token)]
        else:
            return _MISSING
    return node


__all__ = ["OpenAPIDoc", "RefProblem", "SpecFile", "extend", "iter_refs"]
