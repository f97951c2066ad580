"""Tracing a rendered object back to the lines that made it: the base resource, a patch, or the kustomization.

Kustomize's ``originAnnotations`` name the file each object came from; which file and line
set each *field* is ours to find.  Every node of the rendered object is given the position
of the node it comes from:

* a patch that sets it (the kustomization's own patches first, then its components', then its
  bases', i.e. the last one applied first): the patch file's line;
* otherwise the base resource's node (same key path; list items matched by their merge key,
  ``name``, ``containerPort``, ``mountPath``, ...): the base file's line;
* a value the base holds but no patch sets (``images:``, ``namespace:``, ``namePrefix``, ...):
  the kustomization's line for that transformer;
* a node neither holds: its parent's position.

Positions in the base file keep their line numbers (the target's path is the base file);
positions in another file get a line *id* above :data:`FOREIGN` that ``origin["_where"]`` maps
back to ``(path, line)``, which the engine applies to each finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guidecheck.parsers.yaml import YMap, YSeq

FOREIGN = 10_000_000
_MERGE_KEYS = ("name", "containerPort", "mountPath", "devicePath", "port", "ip", "topologyKey", "key")

# kustomization field that explains a changed value, by the rendered key that holds it
_TRANSFORMER_KEYS: dict[str, tuple[str, ...]] = {
    "image": ("images",),
    "newTag": ("images",),
    "namespace": ("namespace",),
    "name": ("namePrefix", "nameSuffix"),
    "replicas": ("replicas",),
    "labels": ("labels", "commonLabels"),
    "matchLabels": ("labels", "commonLabels"),
    "annotations": ("commonAnnotations",),
}


@dataclass
class PatchSource:
    """A parsed patch: its display path, the line offset of its text, its objects or JSON 6902 operations."""

    path: str
    objects: list[Any]  # strategic-merge patch objects (YMap), lines relative to the text
    ops: list[tuple[list[str], int, int]]  # JSON 6902: (key path, line, column) of each operation
    target: dict[str, Any] | None
    offset: int = 0  # added to the text's lines (an inline patch inside the kustomization file)


@dataclass
class Where:
    """Line ids of foreign positions -> (display path, line)."""

    base: str
    table: dict[int, tuple[str, int]] = field(default_factory=dict)
    _ids: dict[tuple[str, int], int] = field(default_factory=dict)

    def at(self, path: str, line: int) -> int:
        if path == self.base:
            return line
        key = (path, line)
        i = self._ids.get(key)
        if i is None:
            i = FOREIGN + len(self._ids) + 1
            self._ids[key] = i
            self.table[i] = key
        return i


def applies(patch: PatchSource, obj: Any, source_name: str | None) -> list[Any]:
    """The patch's objects (or ``[None]`` for JSON 6902 operations) that patch ``obj``."""
    kind = obj.get("kind") if isinstance(obj, dict) else None
    names = {n for n in (source_name, _name(obj)) if n}
    if patch.target is not None:
        t = patch.target
        if isinstance(t.get("kind"), str) and t["kind"] != kind:
            return []
        if isinstance(t.get("name"), str) and not any(_name_matches(t["name"], n) for n in names):
            return []
        if patch.ops:
            return [None]
        return list(patch.objects)
    out = []
    for p in patch.objects:
        if not isinstance(p, dict):
            continue
        if p.get("kind") not in (None, kind):
            continue
        pn = _name(p)
        if pn is not None and pn not in names:
            continue
        out.append(p)
    return out


def _name(obj: Any) -> str | None:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    n = meta.get("name") if isinstance(meta, dict) else None
    return n if isinstance(n, str) else None


def _name_matches(pattern: str, name: str) -> bool:
    """Whether a patch target's name (a Go regular expression, as kustomize reads it) matches ``name``: matched
    with RE2, never a hang on a hostile pattern (goregex); the very name when it does not compile."""
    from guidecheck import goregex

    matched = goregex.fullmatch(pattern, name)
    return pattern == name if matched is None else matched


def retrace(
    rendered: Any,
    base: Any,
    base_path: str,
    patches: list[tuple[PatchSource, Any]],
    transformers: list[tuple[str, Any]],
) -> Where:
    """Rewrite the positions of ``rendered`` (in place) to those of its sources; the foreign-line table."""
    where = Where(base_path)
    layers = [(p, obj) for p, obj in patches if obj is not None]
    ops = [p for p, obj in patches if obj is None]
    fallback = (
        getattr(base, "line", 1) if isinstance(base, YMap) else 1,
        getattr(base, "col", 1) if isinstance(base, YMap) else 1,
    )
    _Tracer(ops, where, transformers).walk(rendered, base, layers, [], fallback)
    if isinstance(rendered, YMap):
        rendered.line, rendered.col = fallback
    return where


@dataclass
class _Tracer:
    """One object's walk: what stays the same from node to node (JSON 6902 patches, line table, transformers)."""

    ops: list[PatchSource]
    where: Where
    transformers: list[tuple[str, Any]]

    def walk(
        self, r: Any, s: Any, layers: list[tuple[PatchSource, Any]], path: list[str], parent: tuple[int, int]
    ) -> None:
        """Position the nodes under ``r`` (rendered) from ``s`` (the base's node) and ``layers`` (the patches')."""
        if isinstance(r, YMap):
            self.walk_map(r, s, layers, path, parent)
        elif isinstance(r, YSeq):
            self.walk_seq(r, s, layers, path, parent)

    def key_pos(
        self,
        r: YMap,
        k: Any,
        s: Any,
        layers: list[tuple[PatchSource, Any]],
        child_path: list[str],
        parent: tuple[int, int],
    ) -> tuple[int, int, int, int]:
        """Where key ``k`` of the rendered mapping comes from: base (unchanged), a patch, the kustomization."""
        where = self.where
        v = r[k]
        scalar = not isinstance(v, (YMap, YSeq))
        in_base = isinstance(s, YMap) and k in s
        if in_base and (not scalar or s[k] == v):
            pos = _pos_of(s, k, where, where.base, 0)
            if pos is not None:
                return pos
        for p, n in layers:
            if isinstance(n, YMap) and k in n and (not scalar or n[k] == v):
                pos = _pos_of(n, k, where, p.path, p.offset)
                if pos is not None:
                    return pos
        op = _op_for(self.ops, child_path, where)
        if op is not None:
            return (*op, *op)
        # the value the transformer changed: the last patch's that sets it, else the base's (nginx-ingress-helm-
        # operator's auth-proxy patch adds image: kube-rbac-proxy, which images: renames)
        before = next((n[k] for _, n in reversed(layers) if isinstance(n, YMap) and k in n), None)
        t = _transformer(
            str(k), self.transformers, where, before if before is not None else s.get(k) if in_base else None
        )
        if t is not None:
            return (*t, *t)
        if in_base:
            pos = _pos_of(s, k, where, where.base, 0)
            if pos is not None:
                return pos
        return (*parent, *parent)

    def walk_map(
        self, r: YMap, s: Any, layers: list[tuple[PatchSource, Any]], path: list[str], parent: tuple[int, int]
    ) -> None:
        for k in list(r.keys()):
            v = r[k]
            child_path = [*path, str(k)]
            pos = self.key_pos(r, k, s, layers, child_path, parent)
            r._pos[k] = pos
            if isinstance(v, (YMap, YSeq)):
                v.line, v.col = pos[2], pos[3]
                sub = [(p, n.get(k)) for p, n in layers if isinstance(n, dict) and k in n]
                sv = s.get(k) if isinstance(s, dict) else None
                self.walk(v, sv, sub, child_path, (pos[0], pos[1]))

    def walk_seq(
        self, r: YSeq, s: Any, layers: list[tuple[PatchSource, Any]], path: list[str], parent: tuple[int, int]
    ) -> None:
        where = self.where
        for i, item in enumerate(r):
            si, sidx = _match_item(item, s, i)
            pos: tuple[int, int] | None = None
            sub = []
            for p, n in layers:
                pi, pidx = _match_item(item, n, i)
                if pi is None and pidx is None:
                    continue
                sub.append((p, pi))
                if pos is None and si is None and isinstance(n, YSeq) and pidx is not None:
                    ln, col = n._pos[pidx] if pidx < len(n._pos) else (n.line, n.col)
                    pos = (where.at(p.path, ln + p.offset), col)
            if si is not None and isinstance(s, YSeq) and sidx is not None and sidx < len(s._pos):
                ln, col = s._pos[sidx]
                pos = (where.at(where.base, ln), col)
            if pos is None:
                pos = _op_for(self.ops, [*path, str(i)], where) or parent
            if i < len(r._pos):
                r._pos[i] = pos
            if isinstance(item, (YMap, YSeq)):
                item.line, item.col = pos
                self.walk(item, si, sub, [*path, str(i)], pos)


def _pos_of(node: YMap, k: Any, where: Where, path: str, offset: int) -> tuple[int, int, int, int] | None:
    p = node._pos.get(k)
    if p is None:
        return None
    return (where.at(path, p[0] + offset), p[1], where.at(path, p[2] + offset), p[3])


def _match_item(item: Any, seq: Any, index: int) -> tuple[Any, int | None]:
    """The item of ``seq`` that ``item`` merges with: by merge key for mappings, else by position."""
    if not isinstance(seq, list):
        return None, None
    if isinstance(item, dict):
        for key in _MERGE_KEYS:
            if key in item:
                for j, cand in enumerate(seq):
                    if isinstance(cand, dict) and cand.get(key) == item[key]:
                        return cand, j
                return None, None
    if index < len(seq) and (not isinstance(item, dict) or isinstance(seq[index], dict)):
        cand = seq[index]
        if not isinstance(item, (dict, list)) and cand != item:
            for j, c in enumerate(seq):
                if c == item:
                    return c, j
            return None, None
        return cand, index
    return None, None


def _op_for(ops: list[PatchSource], path: list[str], where: Where) -> tuple[int, int] | None:
    best: tuple[int, tuple[int, int]] | None = None
    for p in ops:
        for op_path, line, col in p.ops:
            # "-" appends to a list: the item the base does not have (bank-of-anthos adds its cloud-sql-proxy
            # container with `path: /spec/template/spec/containers/-`); only asked for what no base line holds
            if len(op_path) <= len(path) and all(
                o == q or (o == "-" and q.isdigit()) for o, q in zip(op_path, path, strict=False)
            ):
                if best is None or len(op_path) > best[0]:
                    best = (len(op_path), (where.at(p.path, line + p.offset), col))
    return best[1] if best else None


def _transformer(
    key: str, transformers: list[tuple[str, Any]], where: Where, old: Any = None
) -> tuple[int, int] | None:
    """The kustomization line that changed ``key`` (its ``images:`` entry for the image it names)."""
    for field_name in _TRANSFORMER_KEYS.get(key, ()):
        if field_name == "images" and isinstance(old, str):
            found = _image_entry(old, transformers, where)
            if found is not None:
                return found
            continue  # other images' entries: not what changed this one
        for path, data in transformers:
            if isinstance(data, YMap) and field_name in data:
                p = data._pos[field_name]
                return where.at(path, p[0]), p[1]
    return None


def _image_entry(old: str, transformers: list[tuple[str, Any]], where: Where) -> tuple[int, int] | None:
    """The ``images:`` entry that gave the image its rendered name and tag: kustomize applies a base's entries
    before its overlay's, and an overlay's entry may rename what the base's produced (kube-green's e2e-test
    overlay retags docker.io/kubegreen/kube-green, which its base named from `controller`): the last entry of
    the chain, following each newName."""
    repo = old.split("@", 1)[0]
    repo = repo[: repo.rfind(":")] if repo.rfind(":") > repo.rfind("/") else repo
    last = None
    for path, data in reversed(transformers):  # the deepest base first, the kustomization rendered last
        entries = data.get("images") if isinstance(data, YMap) else None
        if not isinstance(entries, YSeq):
            continue
        for i, e in enumerate(entries):
            if isinstance(e, dict) and e.get("name") == repo and i < len(entries._pos):
                last = where.at(path, entries._pos[i][0]), entries._pos[i][1]
                if isinstance(e.get("newName"), str) and e["newName"]:
                    repo = e["newName"]
                break
    return last


def json6902_ops(doc: Any) -> list[tuple[list[str], int, int]]:
    """The key paths of JSON 6902 operations (``/spec/template/0`` -> ``['spec', 'template', '0']``)."""
    out = []
    if isinstance(doc, YSeq):
        for i, op in enumerate(doc):
            if isinstance(op, dict) and isinstance(op.get("path"), str):
                parts = [x.replace("~1", "/").replace("~0", "~") for x in op["path"].strip("/").split("/")]
                line, col = doc._pos[i] if i < len(doc._pos) else (doc.line, doc.col)
                out.append((parts, line, col))
    return out
