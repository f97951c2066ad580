"""Evidence for auditors: a scan's verdict per guideline bullet, and what stands behind it.

Computed once per run from the :class:`~guidecheck.model.ScanResult` and what the CLI
knows besides (the whole rule catalogue and the configuration, as ``meta``), and
carried by the JSON report (``bullets``, ``rule_outcomes``, ``waivers``, the hashes and
the time), so that ``guidecheck report merge`` and ``guidecheck diff`` read it back
from reports made anywhere.  The HTML and markdown reporters render it.

A bullet's status, worst first:

* ``fail``: at least one target fails one of its rules (an active finding);
* ``partly``: its checks pass, but they cover only part of the bullet: the guideline
  names something no rule can check (manual evidence), some of its rules are turned
  off, or a check failed internally on some target;
* ``not_checked``: its rules exist but none ran (turned off, preview), or every check failed;
* ``manual``: no rule of this version checks it: manual evidence is needed;
* ``not_applicable``: its rules ran and found nothing they apply to (no Dockerfile, no chart);
* ``pass``: its rules ran on targets, and every one passed (or its findings are waived).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from guidecheck.model import Finding, Outcome, Rule, ScanResult, Status

STATUSES = ("fail", "partly", "not_checked", "manual", "not_applicable", "pass")
LABELS = {
    "fail": "fail",
    "partly": "partly",
    "not_checked": "not checked",
    "manual": "manual evidence needed",
    "not_applicable": "not applicable",
    "pass": "pass",
}
INTERNAL_ERROR = "internal error"  # the engine's reason when a check raised
OUTCOME_KEYS = ("pass", "fail", "not_applicable", "suppressed", "error")


def iso(moment: _dt.datetime) -> str:
    """``2025-03-01T02:00:00Z``: UTC, whole seconds."""
    return moment.astimezone(_dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> _dt.datetime | None:
    """An ISO 8601 time from a report, or None when it is not one."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.UTC)


def duration(since: str | None, until: str | None) -> str:
    """``3 d``, ``5 h``, ``12 min``: how long from ``since`` to ``until``; empty when unknown or none."""
    start, end = parse_time(since), parse_time(until)
    if start is None or end is None or end <= start:
        return ""
    seconds = int((end - start).total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{max(1, seconds // 60)} min"


def _canonical_hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def catalogue_hash(rules: Iterable[Rule]) -> str:
    """The rule catalogue's identity: every rule's metadata and how it is checked (built-in and custom)."""
    return _canonical_hash(
        [
            {
                **r.to_json(),
                "check": r.check,
                "declarative": r.declarative,
                "options": r.options,
                "gate": r.gate,
                "suppressible": r.suppressible,
                "settings": list(r.settings),
                "reads": list(r.reads),
            }
            for r in sorted(rules, key=lambda r: r.id)
        ]
    )


def config_hash(config: Any) -> str:
    """The effective configuration's identity (selection, severities, settings, waivers, exclusions)."""
    fields = ("fail_on", "select", "ignore", "severity", "exclude", "inline_suppressions", "settings") + (
        "custom_rules",
        "preview",
        "helm",
        "max_file_bytes",
    )
    data = {name: getattr(config, name, None) for name in fields}
    data["waivers"] = [waiver_json(w) for w in getattr(config, "waivers", ())]
    return _canonical_hash(data)


def waiver_json(w: Any, today: _dt.date | None = None, matched: int | None = None) -> dict[str, Any]:
    """A configured waiver as the report lists it (the configuration's own words, sanitised by the caller)."""
    out: dict[str, Any] = {
        "rules": list(w.rules),
        "paths": list(w.paths),
        "objects": list(w.objects),
        "reason": w.reason,
        "owner": w.owner,
        "ticket": w.ticket,
        "expires": w.expires.isoformat(),
        "path": w.path,
        "line": w.line,
    }
    if today is not None:
        out["expired"] = w.expired(today)
    if matched is not None:
        out["findings"] = matched
    return out


def coverage_entries(rules: list[Rule], config: Any) -> list[dict[str, Any]]:
    """Each bullet's enabled and turned-off rules and its manual evidence (see :mod:`guidecheck.coverage`)."""
    from guidecheck import coverage

    return [
        {
            "bullet": c.id,
            "section": c.section,
            "text": c.text,
            "rules": list(c.rules),
            "disabled_rules": list(c.disabled),
            "manual_evidence": [dict(m) for m in c.manual],
        }
        for c in coverage.compute(rules, config)
    ]


def coverage_of(rules: list[tuple[str, Any]], unchecked: str) -> list[dict[str, Any]]:
    """Each bullet's entry (as :func:`coverage_entries`) from the (id, bullet) of ``rules`` alone.

    Without the catalogue (a reporter called on its own, a report that carries no bullets) the
    rules that ran are all there is; a bullet none of them checks needs manual evidence of the
    whole bullet, ``unchecked`` says why.
    """
    from guidecheck.coverage import guideline

    out = []
    for b in guideline()["bullets"]:
        mine = [rule_id for rule_id, bullet in rules if bullet == b["id"]]
        manual = [dict(m) for m in b.get("manual") or []]
        if not mine:
            manual.append({"what": "the whole bullet", "reason": unchecked})
        out.append(
            {
                "bullet": b["id"],
                "section": b["section"],
                "text": b["text"],
                "rules": mine,
                "disabled_rules": [],
                "manual_evidence": manual,
            }
        )
    return out


def rule_counts(outcomes: Iterable[Outcome], findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """Per rule: outcomes by status (``error``: the check failed internally), active and suppressed findings."""
    counts: dict[str, dict[str, int]] = {}

    def row(rule_id: str) -> dict[str, int]:
        r = counts.get(rule_id)
        if r is None:
            r = counts[rule_id] = {k: 0 for k in (*OUTCOME_KEYS, "findings", "suppressed_findings")}
        return r

    for o in outcomes:
        r = row(o.rule_id)
        if o.status == Status.NOT_APPLICABLE and (o.reason or "").startswith(INTERNAL_ERROR):
            r["error"] += 1
        else:
            r[o.status.value] += 1
    for f in findings:
        row(f.rule_id)["suppressed_findings" if f.suppressed else "findings"] += 1
    return dict(sorted(counts.items()))


def bullet_status(entry: Mapping[str, Any], counts: Mapping[str, Mapping[str, int]]) -> tuple[str, str]:
    """``(status, why)`` of one bullet from its coverage entry and the per-rule counts."""
    rules = list(entry.get("rules") or ())
    disabled = list(entry.get("disabled_rules") or ())
    manual = [m for m in entry.get("manual_evidence") or () if isinstance(m, Mapping)]
    total = {k: sum(int(counts.get(r, {}).get(k, 0)) for r in rules) for k in (*OUTCOME_KEYS, "findings")}
    manual_what = "; ".join(str(m.get("what")) for m in manual)
    if not rules and not disabled:
        return "manual", f"no rule checks it: {manual_what or 'manual evidence'}"
    if not rules:
        return "not_checked", f"its rules ({', '.join(disabled)}) did not run: turned off or preview"
    if total["fail"]:
        return "fail", f"{total['fail']} failing target(s), {total['findings']} finding(s)"
    if total["pass"] or total["suppressed"]:
        gaps = []
        if manual:
            gaps.append(f"manual evidence needed: {manual_what}")
        if disabled:
            gaps.append(f"rules {', '.join(disabled)} did not run")
        if total["error"]:
            gaps.append(f"{total['error']} check(s) failed internally")
        waived = f"; {total['suppressed']} waived or suppressed" if total["suppressed"] else ""
        if gaps:
            return "partly", f"automated checks pass{waived}; " + "; ".join(gaps)
        return "pass", f"{total['pass'] + total['suppressed']} target(s) checked{waived}"
    if total["error"]:
        return "not_checked", f"every check failed internally ({total['error']})"
    if manual:
        return "manual", f"nothing in scope for its rules; manual evidence needed: {manual_what}"
    return "not_applicable", "nothing in scope: its rules found no target they apply to"


def bullets(
    coverage: list[dict[str, Any]],
    counts: Mapping[str, Mapping[str, int]],
    time: str | None,
    previous: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every bullet with its status, why, rules, outcome counts and (when failing) since when."""
    since = (previous or {}).get("bullets") or {}
    out = []
    for entry in coverage:
        status, why = bullet_status(entry, counts)
        rules = list(entry.get("rules") or ())
        totals = {k: sum(int(counts.get(r, {}).get(k, 0)) for r in rules) for k in OUTCOME_KEYS}
        out.append(
            {
                **entry,
                "status": status,
                "why": why,
                "outcomes": totals,
                "findings": sum(int(counts.get(r, {}).get("findings", 0)) for r in rules),
                "suppressed": sum(int(counts.get(r, {}).get("suppressed_findings", 0)) for r in rules),
                "failing_since": (since.get(entry["bullet"]) or time) if status == "fail" else None,
            }
        )
    return out


def report_time(meta: Mapping[str, Any]) -> str:
    value = meta.get("time")
    return value if isinstance(value, str) else iso(_dt.datetime.now(_dt.UTC))


def summarize(result: ScanResult, meta: dict[str, Any]) -> dict[str, Any]:
    """The evidence of one run (cached in ``meta``: every format of a run reads the same)."""
    cached = meta.get("_evidence")
    if isinstance(cached, dict):
        return cached
    time = report_time(meta)
    counts = rule_counts(result.outcomes, result.findings)
    coverage = meta.get("coverage") or coverage_of(
        [(r.id, r.bullet) for r in result.rules], "no rule that ran checks it"
    )
    previous = meta.get("previous")
    matched: dict[tuple[str | None, int | None], int] = {}
    for f in result.findings:
        by = f.extra.get("suppressed_by")
        if f.suppressed and isinstance(by, dict) and by.get("origin") == "waiver":
            key = (by.get("path"), by.get("line"))
            matched[key] = matched.get(key, 0) + 1
    waivers = [dict(w) for w in meta.get("waivers") or ()]
    for w in waivers:
        w["findings"] = matched.get((w.get("path"), w.get("line")), 0)
    first_seen: dict[str, str] = dict((previous or {}).get("findings") or {})
    evidence = {
        "time": time,
        "subject": meta.get("subject") or {"kind": "files", "name": "guidecheck"},
        "catalogue": meta.get("catalogue_hash"),
        "config_hash": meta.get("config_hash"),
        "previous": {"time": previous.get("time")} if previous else None,
        "bullets": bullets(coverage, counts, time, previous),
        "rule_outcomes": counts,
        "waivers": waivers,
        "first_seen": first_seen,
    }
    meta["_evidence"] = evidence
    return evidence


def first_seen(evidence: Mapping[str, Any], f: Finding) -> str:
    """When a finding was first reported: carried from the previous report by fingerprint, else now."""
    fp = f.extra.get("fingerprint")
    seen = evidence["first_seen"].get(fp) if isinstance(fp, str) else None
    return seen if isinstance(seen, str) else str(evidence["time"])


def history(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a run carries on from a previous JSON report: its time, each finding's first_seen
    (by fingerprint) and each failing bullet's failing_since."""
    time = doc.get("time") if isinstance(doc.get("time"), str) else None
    findings: dict[str, str] = {}
    for f in doc.get("findings") or ():
        fp = f.get("fingerprint")
        if isinstance(fp, str) and fp not in findings:
            seen = f.get("first_seen") if parse_time(f.get("first_seen")) else time
            if seen:
                findings[fp] = seen
    since: dict[str, str] = {}
    for b in doc.get("bullets") or ():
        if b.get("status") == "fail":
            seen = b.get("failing_since") if parse_time(b.get("failing_since")) else time
            if seen:
                since[str(b.get("bullet"))] = seen
    return {"time": time, "findings": findings, "bullets": since}


def where(f: Mapping[str, Any]) -> str:
    """``path:line:col``, and the object when the path does not already name it."""
    text = f"{f['path']}:{f.get('line', 1)}:{f.get('column', 1)}"
    obj = object_name(f)
    if obj and not str(f["path"]).endswith(obj.rsplit("/", 1)[-1]):
        text += f" {obj}"
    return text


def object_name(f: Mapping[str, Any]) -> str:
    obj = f.get("object")
    if not isinstance(obj, dict):
        return ""
    return "/".join(str(obj[k]) for k in ("kind", "namespace", "name") if obj.get(k))
