"""JSON report: a versioned envelope (schema in src/guidecheck/schemas/report.schema.json, printed by
``guidecheck schema report``)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from guidecheck import evidence as ev
from guidecheck.model import Finding, ObjectRef, Outcome, ScanResult, Severity
from guidecheck.sanitize import clean
from guidecheck.sanitize import path as clean_path

REPORT_VERSION = 1


def _clean_any(value: Any) -> Any:
    """Sanitise a free-form value (a check's ``extra``) into plain, strict JSON."""
    kind = type(value)
    if kind is str:  # the usual leaves first
        return clean(value)
    if kind is dict:
        return {clean(str(k)): _clean_any(v) for k, v in value.items()}
    if kind is list:
        return [_clean_any(v) for v in value]
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # no NaN/Infinity in strict JSON
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): _clean_any(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_any(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_clean_any(v) for v in value), key=str)
    return clean(str(value))


def _object(ref: ObjectRef | None, memo: dict[Any, Any]) -> dict[str, Any] | None:
    if ref is None:
        return None
    out = memo.get(ref)
    if out is None:
        out = memo[ref] = {
            "kind": clean(ref.kind),
            "namespace": clean(ref.namespace) if ref.namespace else None,
            "name": clean(ref.name) if ref.name is not None else None,
        }
    return out


def finding_json(f: Finding, memo: dict[Any, Any] | None = None) -> dict[str, Any]:
    memo = {} if memo is None else memo
    data = {
        "rule_id": f.rule_id,
        "severity": str(f.severity),
        "message": clean(f.message),
        "path": clean_path(f.path),
        "line": f.line,
        "column": f.column,
        "object": _object(f.object, memo),
        "container": clean(f.container) if f.container else None,
        "bullet": f.bullet,
        "title": f.title,
        "remediation": clean(f.remediation, mask=False),
        "suppressed": f.suppressed,
        "suppression_reason": clean(f.suppression_reason) if f.suppression_reason else None,
    }
    for key in sorted(f.extra):
        if key not in data:
            value = f.extra[key]
            # the engine's fingerprint is hex: nothing to sanitise
            data[key] = (
                value if key == "fingerprint" and isinstance(value, str) and value.isalnum() else _clean_any(value)
            )
    return data


def _gate(gate: Any) -> dict[str, Any]:
    """Which configuration made the gate, and what the repository's could not change or did loosen."""
    g = dict(gate or {})
    for k in ("organisation_config", "repository_config"):
        g[k] = clean_path(g[k]) if g.get(k) else None
    g.setdefault("repository_trust", "tighten-only")
    g["loosened_by_repository"] = [clean(x) for x in g.get("loosened_by_repository") or ()]
    g["ignored_from_repository"] = [clean(x) for x in g.get("ignored_from_repository") or ()]
    return g


def _fields(result: ScanResult, meta: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The report's top-level fields in order; ``findings`` and ``outcomes`` as iterators."""
    active = result.active()
    memo: dict[Any, Any] = {}  # sanitised objects by ObjectRef, targets by id
    yield "report_version", REPORT_VERSION
    yield "tool", {"name": "guidecheck", "version": meta.get("version")}
    yield "inputs", [clean_path(p) for p in meta.get("inputs", [])]
    yield "config", clean_path(meta["config"]) if meta.get("config") else None
    yield "exit_code", meta.get("exit_code")
    yield "fail_on", meta.get("threshold")
    yield "gate", _gate(meta.get("gate"))
    yield (
        "summary",
        {
            "findings": len(active),
            "error": sum(1 for f in active if f.severity == Severity.ERROR),
            "warning": sum(1 for f in active if f.severity == Severity.WARNING),
            "info": sum(1 for f in active if f.severity == Severity.INFO),
            "suppressed": len(result.findings) - len(active),
            # each target once (an object has an outcome per rule), then its key
            "targets": len({t.key for t in {id(o.target): o.target for o in result.outcomes}.values()}),
            "incomplete": bool(result.incomplete),
            **({"baseline_fixed": len(result.baseline["fixed"])} if result.baseline else {}),
        },
    )
    yield "incomplete", [clean(r) for r in result.incomplete]
    evidence = ev.summarize(result, meta)
    yield "time", evidence["time"]
    yield "subject", _clean_any(evidence["subject"])
    yield "catalogue_hash", evidence["catalogue"]
    yield "config_hash", evidence["config_hash"]
    yield "previous", evidence["previous"]
    yield "baseline", _clean_any(result.baseline) if result.baseline else None
    if result.skipped:  # --no-render: charts and kustomizations not rendered on request
        yield "skipped", [clean(s) for s in result.skipped]
    if result.not_scanned:  # testdata/ directories (scan-test-data: false)
        yield "not_scanned", [clean(s) for s in result.not_scanned]
    yield "rules", [r.to_json() for r in result.rules]
    yield "bullets", evidence["bullets"]
    yield "rule_outcomes", evidence["rule_outcomes"]
    yield "waivers", [_clean_any(w) for w in evidence["waivers"]]
    yield "findings", ({**finding_json(f, memo), "first_seen": ev.first_seen(evidence, f)} for f in result.findings)
    yield "outcomes", _outcome_lines(result.outcomes, memo)


class _Encoded(str):
    """An item of a list already encoded as compact JSON: :func:`chunks` writes it as it is."""


def _outcome_lines(outcomes: list[Outcome], memo: dict[Any, Any]) -> Iterator[_Encoded]:
    """Each outcome as one line of compact JSON: ``rule_id``, ``status``, ``target`` (its ``kind``, ``path``,
    ``line`` and ``object``), ``findings`` (how many) and ``reason``, in that order (report.schema.json).

    Made for the thirty or so outcomes of each object of a large audit without building and encoding a
    dictionary per outcome: each target is encoded once, rule ids and statuses once each."""
    targets: dict[int, tuple[Any, str]] = {}
    words: dict[str, str] = {}
    for o in outcomes:
        t = o.target
        target = targets.get(id(t))
        if target is None or target[0] is not t:
            data = {"kind": t.kind, "path": clean_path(t.path), "line": t.line, "object": _object(t.ref, memo)}
            target = targets[id(t)] = (t, _compact(data))
        rule = words.get(o.rule_id)
        if rule is None:
            rule = words[o.rule_id] = _compact(o.rule_id)
        status = words.get(o.status.value)
        if status is None:
            status = words[o.status.value] = _compact(o.status.value)
        reason = _compact(clean(o.reason)) if o.reason else "null"
        yield _Encoded(
            f'{{"rule_id": {rule}, "status": {status}, "target": {target[1]}, '
            f'"findings": {len(o.findings)}, "reason": {reason}}}'
        )


def chunks(result: ScanResult, meta: dict[str, Any]) -> Iterator[str]:
    """The report as text, a line at a time: one top-level field per line and
    one rule, finding or outcome per line (diff- and grep-friendly).

    Streamed: an audit of a large cluster has some 30 outcomes per object, and
    the report never exists whole in memory.  Written by the C encoder
    (``indent`` would switch to the pure-Python one, ten times slower)."""
    compact = _compact
    yield "{\n"
    first = True
    for key, value in _fields(result, meta):
        head = ("" if first else ",\n") + f"  {compact(key)}: "
        first = False
        if isinstance(value, (list, Iterator)):
            items = iter(value)
            item = next(items, _END)
            if item is _END:
                yield head + "[]"
                continue
            yield head + "[\n    " + (item if type(item) is _Encoded else compact(item))
            for item in items:
                yield ",\n    " + (item if type(item) is _Encoded else compact(item))
            yield "\n  ]"
        else:
            yield head + compact(value)
    yield "\n}\n"


_END = object()
_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), allow_nan=False).encode


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    return "".join(chunks(result, meta))
