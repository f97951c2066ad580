"""JSON report: a versioned envelope (schema in docs/report.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from guidecheck.model import Finding, Outcome, ScanResult, Severity
from guidecheck.sanitize import clean, path as clean_path

REPORT_VERSION = 1


def _clean_any(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): _clean_any(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_any(v) for v in value]
    return value


def finding_json(f: Finding) -> dict[str, Any]:
    data = {
        "rule_id": f.rule_id,
        "severity": str(f.severity),
        "message": clean(f.message),
        "path": clean_path(f.path),
        "line": f.line,
        "column": f.column,
        "object": _clean_any(f.object.to_json()) if f.object else None,
        "container": clean(f.container) if f.container else None,
        "bullet": f.bullet,
        "title": f.title,
        "remediation": clean(f.remediation),
        "suppressed": f.suppressed,
        "suppression_reason": clean(f.suppression_reason) if f.suppression_reason else None,
    }
    for key, value in sorted(f.extra.items()):
        data.setdefault(key, _clean_any(value))
    return data


def outcome_json(o: Outcome) -> dict[str, Any]:
    t = o.target
    return {
        "rule_id": o.rule_id,
        "status": o.status.value,
        "target": {"kind": t.kind, "path": clean_path(t.path), "line": t.line,
                   "object": _clean_any(t.ref.to_json())},
        "findings": len(o.findings),
        "reason": clean(o.reason) if o.reason else None,
    }


def document(result: ScanResult, meta: dict[str, Any]) -> dict[str, Any]:
    active = result.active()
    return {
        "report_version": REPORT_VERSION,
        "tool": {"name": "guidecheck", "version": meta.get("version")},
        "inputs": [clean_path(p) for p in meta.get("inputs", [])],
        "config": clean_path(meta["config"]) if meta.get("config") else None,
        "exit_code": meta.get("exit_code"),
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
        "findings": [finding_json(f) for f in result.findings],
        "outcomes": [outcome_json(o) for o in result.outcomes],
    }


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    return json.dumps(document(result, meta), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
