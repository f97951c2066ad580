"""Offline audits: ``guidecheck audit --from-dump FILE...`` and the ``--dump FILE`` writer.

A dump is what ``kubectl get <kinds> -A -o yaml`` (or ``-o json``) prints: a
``v1 List`` of objects (several documents, or single objects, are accepted
too).  ``guidecheck audit --dump FILE`` writes the same shape from a live audit,
as JSON with one object per line (so that findings point at a line), Secrets
as metadata only, plus guidecheck's own records in the ``audit.guidecheck.io/v1``
API group, which a later ``--from-dump`` turns back into the same findings:

* ``AuditInfo``: the context, the time of the audit (the clock for age-based
  rules, e.g. GC602/GC801), the API server, the resources read in full;
* ``CoverageGap``: a resource (and namespace) that could not be read (GC004);
* ``ProbeResult``: the result of a metrics or log probe (GC502, GC503).

Reading applies the same trimming as a live audit (:mod:`guidecheck.cluster.objects`):
a Secret's data in a kubectl dump is dropped when parsed and never reported.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from guidecheck.cluster import objects as cobj
from guidecheck.cluster.model import (
    AUDIT_API_VERSION,
    Audited,
    coverage_target,
    gap_reason,
    live_target,
    relaxed_gc,
)
from guidecheck.loaders.fs import ReadError, read_text
from guidecheck.model import LoadError, ObjectRef, SourceFile, file_target
from guidecheck.parsers import k8s
from guidecheck.parsers.yaml import item_line, line_of, load_json, load_yaml

HEADER = '{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":['


class DumpWriter:
    """Streams objects into ``path`` (written to ``path.tmp``, renamed when complete; mode 0600)."""

    def __init__(self, path: str):
        self.path = path
        self.tmp = path + ".tmp"
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.fh = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        self.fh.write(HEADER)
        self.count = 0

    def write(self, obj: dict) -> None:
        head = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind")}  # kubectl's order: type first
        text = json.dumps({**head, **obj}, separators=(",", ":"), ensure_ascii=False, default=str)
        self.fh.write(("\n" if self.count == 0 else ",\n") + text)
        self.count += 1

    def finish(self, info: dict, gaps: list[dict], probes: list[dict]) -> None:
        self.write({"apiVersion": AUDIT_API_VERSION, "kind": "AuditInfo", "metadata": {"name": "audit"}, "spec": info})
        for i, g in enumerate(gaps):
            self.write(
                {
                    "apiVersion": AUDIT_API_VERSION,
                    "kind": "CoverageGap",
                    "metadata": {"name": f"gap-{i + 1}"},
                    "spec": g,
                }
            )
        for i, p in enumerate(probes):
            self.write(
                {
                    "apiVersion": AUDIT_API_VERSION,
                    "kind": "ProbeResult",
                    "metadata": {"name": f"probe-{i + 1}"},
                    "spec": p,
                }
            )
        self.fh.write("\n]}\n")
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.fh.close()
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)


def _parse_time(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    if not isinstance(value, str):
        return None
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


def _items(path: str, text: str, config, src: SourceFile) -> Iterable[tuple[dict, int, int]]:
    """``(object, first line, last line)`` of every object in a dump file, in order."""
    if text.startswith(HEADER) and text[len(HEADER) : len(HEADER) + 1] in ("", "\n"):
        # guidecheck's own dump: one object per line
        return ((o, ln, ln) for o, ln in _own_dump_items(text.split("\n"), src))
    if _json_like(path, text):
        fast = _fast_kubectl_items(text, config, text.count("\n") + 1)
        if fast is not None:
            return fast
    return _slow_items(path, text, config, src)


def _json_like(path: str, text: str) -> bool:
    """Whether a kubectl dump is read as JSON (else as YAML)."""
    return text.lstrip().startswith("{") and (path.endswith(".json") or not path.endswith((".yaml", ".yml")))


class _Restart(Exception):
    """The fast path met what it does not read (see :mod:`guidecheck.cluster.jsonlist`): read it again."""


def _fast_kubectl_items(text: str, config, total: int) -> _FastItems | None:
    """The objects of a ``kubectl get -o json`` List, streamed (see :mod:`guidecheck.cluster.jsonlist`)."""
    from guidecheck.cluster import jsonlist

    try:
        stream = jsonlist.list_items(text, config.limits)
    except jsonlist.NotFast:
        return None
    return _FastItems(stream, total)


class _FastItems:
    """``(object, first line, last line)`` from the fast path, one at a time.

    An object spans to the line before the next object that starts on a later line (as the
    general path computes it); items that are not objects are errors, kept in :attr:`errors`
    until the whole List was read.  Raises :class:`_Restart` where the fast path gives up.
    """

    def __init__(self, stream: Iterator[tuple[Any, int]], total: int):
        self.stream = stream
        self.total = total
        self.errors: list[LoadError] = []

    def __iter__(self) -> Iterator[tuple[dict, int, int]]:
        from guidecheck.cluster.jsonlist import NotFast

        pending: list[tuple[dict, int]] = []  # objects starting on the line of the last one
        try:
            for item, line in self.stream:
                if not (isinstance(item, dict) and "kind" in item and "apiVersion" in item):
                    self.errors.append(
                        LoadError("a List item without apiVersion and kind: not a Kubernetes object", line)
                    )
                    continue
                if pending and line > pending[-1][1]:
                    for o, ln in pending:
                        yield o, ln, max(ln, line - 1)
                    pending.clear()
                pending.append((item, line))
        except NotFast:
            raise _Restart from None
        for o, ln in pending:
            yield o, ln, max(ln, self.total)


def _own_dump_items(lines: list[str], src: SourceFile) -> list[tuple[dict, int]]:
    """``(object, line)`` of a guidecheck dump: a JSON List with one object per line."""
    out: list[tuple[dict, int]] = []
    for i, raw in enumerate(lines[1:], start=2):
        raw = raw.rstrip(",")
        if not raw or raw == "]}":
            continue
        try:
            obj = json.loads(raw)
        except RecursionError:
            src.errors.append(LoadError("not a JSON object line of a guidecheck dump: nesting too deep", i))
            continue
        except ValueError as exc:
            src.errors.append(LoadError(f"not a JSON object line of a guidecheck dump: {exc}", i))
            continue
        if isinstance(obj, dict):
            out.append((obj, i))
    return out


def _kubectl_items(path: str, text: str, config, src: SourceFile) -> list[tuple[dict, int]]:
    """``(object, line)`` of ``kubectl get -o yaml|json`` output: Lists, single objects, several documents."""
    out: list[tuple[dict, int]] = []
    stripped = text.lstrip()
    docs = (
        load_json(text, config.limits)
        if stripped.startswith("{")
        and path.endswith(".json")
        or stripped.startswith("{")
        and not path.endswith((".yaml", ".yml"))
        else load_yaml(text, config.limits)
    )
    for doc in docs:
        src.errors.extend(doc.errors)
        data = doc.data
        if data is None:
            continue
        if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
            for idx, item in enumerate(data["items"]):
                if isinstance(item, dict) and "kind" in item and "apiVersion" in item:
                    out.append((item, line_of(item, doc.line)))
                else:
                    line = item_line(data["items"], idx, doc.line)
                    src.errors.append(
                        LoadError("a List item without apiVersion and kind: not a Kubernetes object", line)
                    )
        elif isinstance(data, dict) and "kind" in data and "apiVersion" in data:
            out.append((data, line_of(data, doc.line)))
        else:
            src.errors.append(
                LoadError("not a Kubernetes object or List (a dump holds `kubectl get -o yaml|json` output)", doc.line)
            )
    return out


def read_dumps(paths: list[str], config, *, context: str | None = None, now: _dt.datetime | None = None) -> Audited:
    """Targets from dump files, as a live audit would have made them (see the module docstring)."""
    out = Audited(inputs=list(paths))
    clock: _dt.datetime | None = None
    for raw in paths:
        t = _read_dump(raw, config, context, out)
        if t is not None and clock is None:
            clock = t
    out.now = now or clock
    return out


def _read_dump(raw: str, config, context: str | None, out: Audited) -> _dt.datetime | None:
    """One dump file's targets into ``out``; the time its AuditInfo records, if any."""
    # declared in rules/_settings.yaml (merge: replace); config.settings holds it, its default filled in
    max_bytes = int(config.settings["audit-dump-max-bytes"])
    display = os.path.normpath(raw).replace(os.sep, "/")
    src = SourceFile(display, "dump")
    out.targets.append(file_target(src))
    try:
        text = read_text(os.path.abspath(raw), max_bytes, root=os.path.dirname(os.path.abspath(raw)))
    except ReadError as exc:
        src.errors.append(exc.error)
        out.incomplete.append(f"dump {display} could not be read: {exc.error.message}")
        return None
    src.read = True
    with relaxed_gc():
        try:
            read = _read_objects(display, text, config, src)
        except _Restart:  # the fast path gave up (bad or odd JSON): the general path reads it, errors and all
            read = _read_objects(display, text, config, src, fast=False)
        del text
        return _targets(read, display, config, context, src, out)


@dataclass
class _Read:
    """What one dump holds, in order: records and kept objects (trimmed), and the objects' structure errors."""

    entries: list[tuple[dict, int, int, bool]] = field(default_factory=list)  # (object, line, end, is a record)
    structure_errors: list[LoadError] = field(default_factory=list)
    count: int = 0  # every object read, records and skipped objects included


def _read_objects(display: str, text: str, config, src: SourceFile, fast: bool = True) -> _Read:
    """Every object of a dump, trimmed as it is read (so that the untrimmed ones are never all held)."""
    workload_kinds = frozenset(config.settings.get("workload-kinds") or ())
    read = _Read()
    try:
        items = _items(display, text, config, src) if fast else _slow_items(display, text, config, src)
        for obj, line, end in items:
            read.count += 1
            if obj.get("apiVersion") == AUDIT_API_VERSION:
                read.entries.append((obj, line, end, True))
                continue
            obj = cobj.trim(obj)
            errors = k8s.structure_errors(obj)
            read.structure_errors.extend(errors)
            if any(e.message.startswith(("apiVersion", "kind")) for e in errors):
                continue
            if cobj.checked_through_owner(obj, workload_kinds):
                continue
            read.entries.append((obj, line, end, False))
        if isinstance(items, _FastItems):
            src.errors.extend(items.errors)
    except RecursionError:  # never expected (every decoder is depth-bounded): still a finding, not a traceback
        src.errors.append(LoadError("nesting too deep; not parsed"))
        read = _Read()
    return read


def _slow_items(display: str, text: str, config, src: SourceFile) -> Iterator[tuple[dict, int, int]]:
    """:func:`_items` of a kubectl dump without the fast path."""
    total = text.count("\n") + 1  # the last object spans to the end of the file
    out = _kubectl_items(display, text, config, src)
    # each object spans to the line before the next one
    starts = sorted(ln for _, ln in out)
    ends = {s: (starts[i + 1] - 1 if i + 1 < len(starts) else total) for i, s in enumerate(starts)}
    return ((o, ln, max(ln, ends.get(ln, ln))) for o, ln in out)


def _targets(
    read: _Read, display: str, config, context: str | None, src: SourceFile, out: Audited
) -> _dt.datetime | None:
    """The targets of one dump's objects and records into ``out``; the time its AuditInfo records."""
    if not read.count and src.errors:
        # nothing could be read from it: the audit did not see that cluster, whatever the reason (exit 3)
        e = src.errors[0]
        out.incomplete.append(f"dump {display} could not be parsed: line {e.line}: {e.message}")
    src.errors.extend(read.structure_errors)
    infos = [o for o, _, _, rec in read.entries if rec and o.get("kind") == "AuditInfo"]
    info = k8s.as_map(infos[0].get("spec")) if infos else {}
    ctx = context or (info.get("context") if isinstance(info.get("context"), str) else None) or "dump"
    out.context = out.context or ctx
    entries, read.entries = read.entries, []
    for i, (obj, line, end, record) in enumerate(entries):
        entries[i] = _DONE  # the target holds its own copy: let the read object go
        if record:
            _record(obj, line, display, ctx, info, out)
            continue
        out.targets.append(
            cobj.make_target(
                obj,
                context=ctx,
                source="dump",
                inline_suppressions=config.inline_suppressions,
                path=display,
                line=line,
                span=(line, end),
            )
        )
    return _parse_time(info.get("time"))


_DONE: tuple[dict, int, int, bool] = ({}, 0, 0, False)


def _record(obj: dict, line: int, display: str, ctx: str, info: dict, out: Audited) -> None:
    """guidecheck's own dump records back into live targets and coverage."""
    spec = k8s.as_map(obj.get("spec"))
    kind = obj.get("kind")
    if kind == "AuditInfo":
        for r in k8s.as_list(spec.get("read")):
            if isinstance(r, dict) and isinstance(r.get("resource"), str):
                out.targets.append(
                    coverage_target(
                        {
                            "probe": "coverage",
                            "resource": r["resource"],
                            "kind": str(r.get("kind") or "?"),
                            "namespace": "*" if r.get("namespaced", True) else None,
                            "error": None,
                        },
                        ctx,
                        path=display,
                        line=line,
                        source="dump",
                    )
                )
    elif kind == "CoverageGap":
        data = {
            "probe": "coverage",
            **{k: spec.get(k) for k in ("resource", "kind", "group", "version", "namespace", "status", "error")},
        }
        data["error"] = str(data.get("error") or "could not be read")
        out.targets.append(coverage_target(data, ctx, path=display, line=line, source="dump"))
        out.incomplete.append(f"{display}:{line}: " + gap_reason(data))
    elif kind == "ProbeResult":
        data = dict(spec)
        ns = data.get("namespace") if isinstance(data.get("namespace"), str) else None
        wk, _, wn = str(data.get("workload") or "").partition("/")
        ref = ObjectRef(wk or "Pod", ns, wn or (data.get("pod") if isinstance(data.get("pod"), str) else None))
        helm = {k: data[k] for k in ("release", "chart") if isinstance(data.get(k), str)}
        out.targets.append(
            live_target(data, context=ctx, ref=ref, path=display, line=line, origin={"source": "dump", **helm})
        )


__all__ = ["DumpWriter", "HEADER", "read_dumps"]
