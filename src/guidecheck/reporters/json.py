"""JSON report: a versioned envelope (schema in docs/report.schema.json)."""

from __future__ import annotations

import json
import math
from typing import Any

from guidecheck.model import Finding, ObjectRef, Outcome, ScanResult, Severity
from guidecheck.sanitize import clean, path as clean_path

REPORT_VERSION = 1


def _clean_any(value: Any) -> Any:
    """Sanitise a free-form value (a check's ``extra``) into plain, strict JSON."""
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


def _object(ref: ObjectRef | None, memo: dict) -> dict[str, Any] | None:
    if ref is None:
        return None
    out = memo.get(ref)
    if out is None:
        out = memo[ref] = {"kind": clean(ref.kind), "namespace": clean(ref.namespace) if ref.namespace else None,
                           "name": clean(ref.name) if ref.name is not None else None}
    return out


def finding_json(f: Finding, memo: dict | None = None) -> dict[str, Any]:
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
            data[key] = value if key == "fingerprint" and isinstance(value, str) and value.isalnum() \
                else _clean_any(value)
    return data


def outcome_json(o: Outcome, memo: dict | None = None) -> dict[str, Any]:
    memo = {} if memo is None else memo
    t = o.target
    target = memo.get(id(t))
    if target is None or target[0] is not t:
        target = memo[id(t)] = (t, {"kind": t.kind, "path": clean_path(t.path), "line": t.line,
                                    "object": _object(t.ref, memo)})
    return {
        "rule_id": o.rule_id,
        "status": o.status.value,
        "target": target[1],
        "findings": len(o.findings),
        "reason": clean(o.reason) if o.reason else None,
    }


def document(result: ScanResult, meta: dict[str, Any]) -> dict[str, Any]:
    active = result.active()
    memo: dict = {}
    return {
        "report_version": REPORT_VERSION,
        "tool": {"name": "guidecheck", "version": meta.get("version")},
        "inputs": [clean_path(p) for p in meta.get("inputs", [])],
        "config": clean_path(meta["config"]) if meta.get("config") else None,
        "exit_code": meta.get("exit_code"),
        "fail_on": meta.get("threshold"),
        "summary": {
            "findings": len(active),
            "error": sum(1 for f in active if f.severity == Severity.ERROR),
            "warning": sum(1 for f in active if f.severity == Severity.WARNING),
            "info": sum(1 for f in active if f.severity == Severity.INFO),
            "suppressed": len(result.findings) - len(active),
            "targets": len({o.target.key for o in result.outcomes}),
            "incomplete": bool(result.incomplete),
        },
        "incomplete": [clean(r) for r in result.incomplete],
        "rules": [r.to_json() for r in result.rules],
        "findings": [finding_json(f, memo) for f in result.findings],
        "outcomes": [outcome_json(o, memo) for o in result.outcomes],
    }


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    """The document, one top-level field per line and one rule, finding or
    outcome per line: diff- and grep-friendly, and written by the C encoder
    (``indent`` would switch to the pure-Python one, ten times slower on a
    large scan)."""
    doc = document(result, meta)
    compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), allow_nan=False).encode
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(compact(v) for v in value)
            parts.append(f"  {compact(key)}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {compact(key)}: {compact(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
