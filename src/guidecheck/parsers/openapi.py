"""OpenAPI / Swagger document model and its ``$ref`` rules, without trusting a reference.

:class:`OpenAPIDoc` is what the ``openapi`` target carries: the document, every
file its references reach, the references that could not be followed
(*problems*, rule GC902) and the ``$id``s of its schemas.  The loader
(:mod:`guidecheck.loaders.openapi`) finds the documents and reads the files;
this module holds what needs no file system: the model, :func:`iter_refs`, and
:func:`resolve_ref`, which decides where a reference may lead:

* ``#/json/pointer`` into the same file;
* ``relative/file.yaml#/pointer`` to another YAML/JSON file of the scan, asked
  of the document's :attr:`OpenAPIDoc.lookup` (the loader's index of parsed
  files) when it is not among the document's files yet;
* anything else is never followed and becomes a *problem* of the document
  (rule GC902): a URL of any scheme (``http:``, ``https:``, ``file:``, ...), an
  absolute path, a relative path leaving the scanned tree, a file that is not
  among the scanned YAML/JSON files, a pointer that leads nowhere, and a chain
  of ``$ref``-only nodes that comes back to itself (``Self: {$ref: Self}``,
  which has no meaning; ``A`` -> ``B`` -> ``A`` through properties is legal).

Nothing here imports the validator: GC902 runs openapi-spec-validator on this
model, with retrieval handlers that serve only the files resolved here (see
:mod:`guidecheck.checks.openapi`).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from guidecheck.parsers.yaml import value_col, value_line

# (absolute path, scan root) -> (display path, first document) of a file of the scan, or why it cannot be a
# $ref target
Lookup = Callable[[str, str], "tuple[str, Any] | str"]

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
    # where a $ref to a file not in ``files`` yet is looked up (set by the loader; None: no other file is found)
    lookup: Lookup | None = field(default=None, repr=False, compare=False)

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

    def resolve(self, ref: Any, from_abspath: str) -> tuple[str, Any] | None:
        """The node a ``$ref`` written in file ``from_abspath`` points at, as (file abspath, node), or None."""
        res = resolve_ref(self, ref, from_abspath)
        return (res[0], res[1]) if isinstance(res, tuple) else None

    def resolve_at(self, holder: dict[str, Any], from_abspath: str) -> tuple[str, Any] | None:
        """Like :meth:`resolve` for the ``$ref`` of ``holder`` (honours an enclosing ``$id``)."""
        res = resolve_ref(self, holder.get("$ref"), from_abspath, holder=holder)
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


def spec_keyword(data: dict[str, Any]) -> str | None:
    """``openapi`` or ``swagger``: the top-level key that makes ``data`` an OpenAPI/Swagger document, or None."""
    keyword = "openapi" if "openapi" in data else "swagger" if "swagger" in data else None
    if keyword is None or _looks_like_k8s_or_other(data):
        return None
    return keyword


def _looks_like_k8s_or_other(data: dict[str, Any]) -> bool:
    # an `openapi:` key that is a nested configuration block (e.g. a tool's settings) rather than a version
    for key in ("openapi", "swagger"):
        if key in data:
            v = data[key]
            return not (isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool)))
    return False


def iter_refs(node: Any) -> Iterator[tuple[dict[str, Any], Any, Any]]:
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
                if isinstance(k, str) and (
                    k.startswith("x-") or (k in _LITERAL_KEYS and not (k == "default" and parent_key == "responses"))
                ):
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


def ref_pos(holder: dict[str, Any]) -> tuple[int, int]:
    """(line, column) of the ``$ref`` value of ``holder``."""
    return value_line(holder, "$ref"), value_col(holder, "$ref")


def pure_ref_loop(spec: OpenAPIDoc, holder: dict[str, Any], ab: str) -> frozenset[int] | None:
    """If following $ref-only nodes from ``holder`` comes back to a node already seen, the set of the loop's nodes."""
    seen: list[int] = [id(holder)]
    node, cur = holder, ab
    for _ in range(MAX_REF_HOPS):
        res = resolve_ref(spec, node.get("$ref"), cur, holder=node)
        if not isinstance(res, tuple):
            return None
        cur, node, _ = res
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return None
        if id(node) in seen:
            return frozenset(seen[seen.index(id(node)) :])
        seen.append(id(node))
    return frozenset(seen)


def collect_ids(spec: OpenAPIDoc, abspath: str, data: Any) -> None:
    """Record in ``spec.ids`` every schema of ``data`` (file ``abspath``) that has an absolute ``$id``."""
    stack = [(data, None)]
    while stack:
        cur, parent_key = stack.pop()
        if isinstance(cur, dict):
            sid = cur.get("$id")
            if isinstance(sid, str) and _absolute_id(sid) and parent_key != "properties":
                spec.ids.setdefault(_strip_fragment(sid), (abspath, cur))
            stack.extend(
                (v, k)
                for k, v in cur.items()
                if isinstance(v, (dict, list))
                and not (isinstance(k, str) and (k in _LITERAL_KEYS or k.startswith("x-")))
            )
        elif isinstance(cur, list):
            stack.extend((v, parent_key) for v in cur if isinstance(v, (dict, list)))


def resolve_ref(spec: OpenAPIDoc, ref: Any, from_abspath: str, holder: Any = None) -> tuple[str, Any, str] | RefProblem:
    """(abspath, node, pointer) or a RefProblem (path/line filled in by the caller)."""
    if not isinstance(ref, str):
        return RefProblem("", 1, 1, repr(ref)[:80], f"$ref must be a string, not {type(ref).__name__}", "invalid")
    shown = ref if len(ref) <= 200 else ref[:200] + "..."
    file_part, _, fragment = ref.partition("#")
    base = spec.bases.get(id(holder)) if holder is not None else None
    if base is not None:  # inside a schema with an absolute $id: the reference is relative to that URI
        file_part = (
            _strip_fragment(urllib.parse.urljoin(base["$id"], file_part)) if file_part else _strip_fragment(base["$id"])
        )
    if file_part in spec.ids:  # a schema of the tree identified by its $id: never fetched
        doc_ab, root = spec.ids[file_part]
        return _node_at(doc_ab, root, ref, fragment, shown)
    if base is not None:
        file_part = ref.partition("#")[0]  # not a known $id: resolve as a path, as before
    if file_part:
        found = _ref_file(spec, file_part, from_abspath, ref, shown)
        if isinstance(found, RefProblem):
            return found
        doc_ab = found
    else:
        doc_ab = from_abspath
    return _node_at(doc_ab, spec.files[doc_ab].data, ref, fragment, shown)


def _ref_file(spec: OpenAPIDoc, file_part: str, from_abspath: str, ref: str, shown: str) -> str | RefProblem:
    """The absolute path of the file a ``$ref``'s file part names, added to ``spec.files``, or why not."""
    split = urllib.parse.urlsplit(file_part)
    if split.scheme and len(split.scheme) > 1 or split.netloc or file_part.startswith("//"):
        return RefProblem("", 1, 1, ref, f"external $ref not followed (never fetched or read): {shown}", "external")
    rel = urllib.parse.unquote(split.path)
    if rel.startswith("/") or rel.startswith("\\") or (len(rel) > 1 and rel[1] == ":"):
        return RefProblem("", 1, 1, ref, f"absolute-path $ref not followed (never read): {shown}", "absolute")
    target = os.path.normpath(os.path.join(os.path.dirname(from_abspath), rel))
    if not (target == spec.root or target.startswith(spec.root.rstrip(os.sep) + os.sep)):
        return RefProblem("", 1, 1, ref, f"$ref escapes the scanned tree (not read): {shown}", "escapes")
    if target not in spec.files:
        found = spec.lookup(target, spec.root) if spec.lookup is not None else "not found"
        if isinstance(found, str):
            rel_show = os.path.relpath(target, spec.root).replace(os.sep, "/")
            return RefProblem(
                "", 1, 1, ref, f"$ref target file {rel_show[:200]} {found} (from {shown})", "missing-file"
            )
        spec.files[target] = SpecFile(found[0], target, found[1])
    return target


def _node_at(doc_ab: str, root: Any, ref: str, fragment: str, shown: str) -> tuple[str, Any, str] | RefProblem:
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


__all__ = [
    "Lookup",
    "OpenAPIDoc",
    "RefProblem",
    "SpecFile",
    "collect_ids",
    "iter_refs",
    "pure_ref_loop",
    "ref_pos",
    "resolve_ref",
    "spec_keyword",
]
