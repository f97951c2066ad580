"""JSON reports read back: the fleet view over many (``guidecheck report merge``) and the
difference between two (``guidecheck diff``).

Reports travel: each is produced where the code or the cluster lives (its CI, the
auditor CronJob) and only the JSON files are brought together.  A report file is
untrusted input: its size is bounded (:data:`MAX_REPORT_BYTES`), its nesting is
bounded by the JSON decoder, every field used is type-checked, and every string
shown is sanitised again.  A file that is not a guidecheck report of a version this
guidecheck reads is a :class:`ReportError` naming the file (and the line, or the
field) — exit 2, never a traceback.

Reports made before the report carried ``bullets`` and ``rule_outcomes`` are
completed from their ``outcomes`` and ``findings``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from guidecheck import evidence as ev
from guidecheck.sanitize import clean

MAX_REPORT_BYTES = 512 * 1024 * 1024
SEVERITIES = ("error", "warning", "info")
LEVEL = {"info": 1, "warning": 2, "error": 3}
READABLE_VERSIONS = (1,)
FLEET_VERSION = 1
DIFF_VERSION = 1


class ReportError(Exception):
    """A file that is not a readable guidecheck JSON report (exit 2)."""


# ---------------------------------------------------------------- reading


def read_report(path: str, max_bytes: int = MAX_REPORT_BYTES) -> dict[str, Any]:
    """The report in ``path``, checked and completed (see the module's doc)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise ReportError(f"{path}: {size} bytes, more than the {max_bytes} a report may have")
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ReportError(f"{path}: more than the {max_bytes} bytes a report may have")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError(f"{path}: not UTF-8 (byte {exc.start})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise ReportError(f"{path}: JSON nested too deeply to be a guidecheck report") from None
    return check_report(doc, path)


def _need(cond: bool, path: str, where: str, what: str) -> None:
    if not cond:
        raise ReportError(f"{path}: {where}: {what}")


def _str(value: Any) -> str:
    return clean(value) if isinstance(value, str) else ""


def check_report(doc: Any, path: str) -> dict[str, Any]:
    """A parsed report, validated field by field and completed; strings sanitised."""
    _need(isinstance(doc, dict), path, "top level", "not a JSON object (is this a guidecheck --format json report?)")
    version = doc.get("report_version")
    _need(
        version in READABLE_VERSIONS,
        path,
        "report_version",
        f"{version!r} is not a report version this guidecheck reads ({', '.join(map(str, READABLE_VERSIONS))})",
    )
    tool = doc.get("tool")
    _need(isinstance(tool, dict) and tool.get("name") == "guidecheck", path, "tool.name", "not a guidecheck report")
    for key in ("findings", "outcomes", "rules"):
        _need(isinstance(doc.get(key), list), path, key, "missing or not a list")
    findings = []
    for i, f in enumerate(doc["findings"]):
        where = f"findings[{i}]"
        _need(isinstance(f, dict), path, where, "not an object")
        _need(isinstance(f.get("rule_id"), str) and f["rule_id"], path, f"{where}.rule_id", "not a rule id")
        _need(f.get("severity") in SEVERITIES, path, f"{where}.severity", f"not one of {', '.join(SEVERITIES)}")
        _need(isinstance(f.get("suppressed"), bool), path, f"{where}.suppressed", "not true or false")
        for key in ("message", "path"):
            _need(isinstance(f.get(key), str), path, f"{where}.{key}", "not a string")
        for key in ("line", "column"):
            _need(isinstance(f.get(key, 1), int), path, f"{where}.{key}", "not an integer")
        findings.append(_clean_tree(f))
    rules = []
    for i, r in enumerate(doc["rules"]):
        _need(isinstance(r, dict) and isinstance(r.get("id"), str), path, f"rules[{i}]", "not a rule with an id")
        rules.append(_clean_tree({k: r.get(k) for k in ("id", "title", "bullet", "severity")}))
    counts = doc.get("rule_outcomes")
    if not (isinstance(counts, dict) and all(isinstance(v, dict) for v in counts.values())):
        counts = _counts_from(doc["outcomes"], findings, path)
    bullets = doc.get("bullets")
    if isinstance(bullets, list) and all(isinstance(b, dict) and isinstance(b.get("bullet"), str) for b in bullets):
        bullets = [_clean_tree(b) for b in bullets]
        for b in bullets:
            b["status"] = b.get("status") if b.get("status") in ev.STATUSES else "not_checked"
    else:
        bullets = _bullets_from(rules, counts, doc.get("time"))
    summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    active = [f for f in findings if not f["suppressed"]]
    subject = doc.get("subject") if isinstance(doc.get("subject"), dict) else {}
    time = doc.get("time") if ev.parse_time(doc.get("time")) else None
    return {
        "file": path,
        "report_version": version,
        "tool": {"name": "guidecheck", "version": _str(tool.get("version")) or "unknown"},
        "inputs": [_str(p) for p in doc.get("inputs") or () if isinstance(p, str)],
        "config": _str(doc.get("config")) or None,
        "exit_code": doc.get("exit_code") if doc.get("exit_code") in (0, 1, 3) else None,
        "fail_on": doc.get("fail_on") if doc.get("fail_on") in (*SEVERITIES, "never") else "error",
        "incomplete": [_str(r) for r in doc.get("incomplete") or () if isinstance(r, str)],
        "summary": {
            "findings": len(active),
            **{s: sum(1 for f in active if f["severity"] == s) for s in SEVERITIES},
            "suppressed": len(findings) - len(active),
            "targets": summary.get("targets") if isinstance(summary.get("targets"), int) else None,
        },
        "time": time,
        "subject": {"kind": _str(subject.get("kind")) or "report", "name": _str(subject.get("name"))},
        "catalogue_hash": _str(doc.get("catalogue_hash")) or None,
        "config_hash": _str(doc.get("config_hash")) or None,
        "rules": rules,
        "bullets": bullets,
        "rule_outcomes": counts,
        "findings": findings,
    }


def _clean_tree(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): _clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_tree(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float)) else clean(str(value))


def _counts_from(outcomes: list[Any], findings: list[dict[str, Any]], path: str) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}

    def row(rule_id: str) -> dict[str, int]:
        return counts.setdefault(rule_id, {k: 0 for k in (*ev.OUTCOME_KEYS, "findings", "suppressed_findings")})

    for i, o in enumerate(outcomes):
        _need(isinstance(o, dict) and isinstance(o.get("rule_id"), str), path, f"outcomes[{i}]", "not an outcome")
        status = o.get("status")
        _need(status in ("pass", "fail", "not_applicable", "suppressed"), path, f"outcomes[{i}].status", "unknown")
        reason = o.get("reason")
        if status == "not_applicable" and isinstance(reason, str) and reason.startswith(ev.INTERNAL_ERROR):
            status = "error"
        row(o["rule_id"])[status] += 1
    for f in findings:
        row(f["rule_id"])["suppressed_findings" if f["suppressed"] else "findings"] += 1
    return dict(sorted(counts.items()))


def _bullets_from(rules: list[dict[str, Any]], counts: dict[str, dict[str, int]], time: Any) -> list[dict[str, Any]]:
    """A report without ``bullets``: its rules that ran, by bullet, judged as a run judges them."""
    coverage = ev.coverage_of([(r["id"], r["bullet"]) for r in rules], "no rule of that report checks it")
    return ev.bullets(coverage, counts, time if isinstance(time, str) else None)


def fingerprint(f: Mapping[str, Any]) -> str:
    """A finding's identity: the engine's fingerprint, or its line-independent fields."""
    fp = f.get("fingerprint")
    if isinstance(fp, str) and fp:
        return fp
    obj: Mapping[str, Any] = f["object"] if isinstance(f.get("object"), dict) else {}
    name = "/".join(str(obj.get(k)) for k in ("kind", "namespace", "name") if obj.get(k))
    return "|".join([str(f.get("rule_id")), str(f.get("path")), name, str(f.get("container") or ""), str(f["message"])])


def label(report: Mapping[str, Any]) -> str:
    """What a report is called in a fleet: its subject's name, else its file's name."""
    name = report["subject"].get("name")
    if name:
        return str(name)
    base = os.path.basename(str(report["file"]))
    return clean(base[:-5] if base.endswith(".json") else base)


# ---------------------------------------------------------------- merge


def _flags(reports: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per report, what sets it apart: another tool version or rule catalogue than most of the fleet."""
    versions = Counter(r["tool"]["version"] for r in reports)
    catalogues = Counter(r["catalogue_hash"] for r in reports if r["catalogue_hash"])
    common_version = min(versions, key=lambda v: (-versions[v], v))
    common_catalogue = min(catalogues, key=lambda c: (-catalogues[c], c)) if catalogues else None
    flags: dict[str, list[str]] = {}
    for r in reports:
        mine = []
        if r["tool"]["version"] != common_version:
            mine.append(f"tool version {r['tool']['version']} (most reports: {common_version})")
        if r["catalogue_hash"] is None:
            mine.append("no rule catalogue hash (a report from an older guidecheck)")
        elif common_catalogue and r["catalogue_hash"] != common_catalogue:
            mine.append(f"another rule catalogue ({r['catalogue_hash'][:19]}; most reports: {common_catalogue[:19]})")
        if r["incomplete"]:
            mine.append(f"incomplete: {len(r['incomplete'])} problem(s), exit code 3")
        flags[r["file"]] = mine
    return flags


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The fleet view of reports read by :func:`read_report` (one per repository or cluster)."""
    if not reports:
        raise ReportError("no reports to merge")
    names = Counter(label(r) for r in reports)
    flags = _flags(reports)
    entries = []
    for r in reports:
        name = label(r)
        if names[name] > 1:
            name = f"{name} ({os.path.basename(str(r['file']))})"
        by_bullet = {b["bullet"]: b for b in r["bullets"]}
        entries.append(
            {
                "name": name,
                "file": clean(str(r["file"])),
                "kind": r["subject"]["kind"],
                "tool_version": r["tool"]["version"],
                "catalogue_hash": r["catalogue_hash"],
                "config_hash": r["config_hash"],
                "time": r["time"],
                "exit_code": r["exit_code"],
                "incomplete": bool(r["incomplete"]),
                "summary": r["summary"],
                "failing_bullets": sorted(b for b, x in by_bullet.items() if x.get("status") == "fail"),
                "flags": flags[r["file"]],
                "_bullets": by_bullet,
            }
        )
    entries.sort(key=lambda e: e["name"])
    bullet_ids: dict[str, dict[str, Any]] = {}
    for r in reports:
        for b in r["bullets"]:
            bullet_ids.setdefault(b["bullet"], b)
    rows: list[dict[str, Any]] = []
    for bid in sorted(bullet_ids, key=_bullet_key):
        cells: list[dict[str, Any]] = []
        for e in entries:
            b = e["_bullets"].get(bid)
            cells.append(
                {
                    "status": b.get("status", "not_checked") if b else "not_checked",
                    "findings": int(b.get("findings") or 0) if b else 0,
                    "failing_since": b.get("failing_since") if b else None,
                }
            )
        per_status = Counter(str(c["status"]) for c in cells)
        rows.append(
            {
                "bullet": bid,
                "section": bullet_ids[bid].get("section"),
                "text": bullet_ids[bid].get("text"),
                "status": _worst(str(c["status"]) for c in cells),
                "totals": {s: per_status.get(s, 0) for s in ev.STATUSES},
                "findings": sum(c["findings"] for c in cells),
                "cells": cells,
            }
        )
    for e in entries:
        del e["_bullets"]
    worst = sorted(
        (e for e in entries if e["summary"]["findings"] or e["incomplete"]),
        key=lambda e: (-len(e["failing_bullets"]), -e["summary"]["error"], -e["summary"]["findings"], e["name"]),
    )[:10]
    rule_rows: dict[str, dict[str, Any]] = {}
    for r in reports:
        titles = {x["id"]: x for x in r["rules"]}
        for rid, c in r["rule_outcomes"].items():
            if not c.get("findings"):
                continue
            row = rule_rows.setdefault(
                rid,
                {
                    "rule_id": rid,
                    "title": titles.get(rid, {}).get("title") or "",
                    "bullet": titles.get(rid, {}).get("bullet"),
                    "findings": 0,
                    "reports": 0,
                },
            )
            row["findings"] += int(c["findings"])
            row["reports"] += 1
    top_rules = sorted(rule_rows.values(), key=lambda x: (-x["findings"], x["rule_id"]))[:10]
    times = [r["time"] for r in reports if r["time"]]
    totals = {
        "reports": len(entries),
        "findings": sum(e["summary"]["findings"] for e in entries),
        **{s: sum(e["summary"][s] for e in entries) for s in SEVERITIES},
        "suppressed": sum(e["summary"]["suppressed"] for e in entries),
        "incomplete_reports": sum(1 for e in entries if e["incomplete"]),
        "flagged_reports": sum(1 for e in entries if any(not f.startswith("incomplete") for f in e["flags"])),
        "failing_bullets": sum(1 for row in rows if row["totals"]["fail"]),
        "oldest": min(times) if times else None,
        "newest": max(times) if times else None,
    }
    return {
        "fleet_version": FLEET_VERSION,
        "totals": totals,
        "reports": entries,
        "bullets": rows,
        "worst": [{k: e[k] for k in ("name", "failing_bullets", "summary", "incomplete")} for e in worst],
        "rules": top_rules,
    }


def _bullet_key(bid: str) -> tuple[int, str]:
    head, _, tail = bid.partition(".")
    return (int(head) if head.isdigit() else 99, tail)


def _worst(statuses: Iterable[str]) -> str:
    seen = set(statuses)
    for s in ev.STATUSES:
        if s in seen:
            return s
    return "not_checked"


# ---------------------------------------------------------------- diff


def _compact(f: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("rule_id", "severity", "message", "path", "line", "column", "object", "container", "bullet")
    out = {k: f.get(k) for k in keys}
    out["fingerprint"] = fingerprint(f)
    return out


def diff(old: dict[str, Any], new: dict[str, Any], fail_on: str | None = None) -> dict[str, Any]:
    """New, fixed, newly suppressed and unchanged findings between two reports, matched by fingerprint
    (a fingerprint found n times matches n times), and every bullet whose status changed."""
    fail_on = fail_on or new["fail_on"]
    old_active: dict[str, list[dict[str, Any]]] = {}
    for f in old["findings"]:
        if not f["suppressed"]:
            old_active.setdefault(fingerprint(f), []).append(f)
    new_suppressed = {fingerprint(f) for f in new["findings"] if f["suppressed"]}
    added: list[dict[str, Any]] = []
    unchanged: list[dict[str, Any]] = []
    for f in new["findings"]:
        if f["suppressed"]:
            continue
        fp = fingerprint(f)
        before = old_active.get(fp)
        if before:
            prior = before.pop(0)
            seen = prior.get("first_seen") if ev.parse_time(prior.get("first_seen")) else old["time"]
            unchanged.append({**_compact(f), "first_seen": seen})
        else:
            added.append(_compact(f))
    fixed: list[dict[str, Any]] = []
    suppressed: list[dict[str, Any]] = []
    for fp, rest in sorted(old_active.items()):
        for f in rest:
            (suppressed if fp in new_suppressed else fixed).append(_compact(f))
    fixed.sort(key=_sort_key)
    suppressed.sort(key=_sort_key)
    old_bullets = {b["bullet"]: b for b in old["bullets"]}
    changes = []
    for b in new["bullets"]:
        before = old_bullets.get(b["bullet"], {}).get("status")
        if before != b.get("status"):
            changes.append({"bullet": b["bullet"], "text": b.get("text"), "old": before, "new": b.get("status")})
    threshold = LEVEL.get(fail_on)
    failing = [f for f in added if threshold is not None and LEVEL[f["severity"]] >= threshold]
    flags = []
    if old["tool"]["version"] != new["tool"]["version"]:
        flags.append(f"tool versions differ: {old['tool']['version']} -> {new['tool']['version']}")
    if old["catalogue_hash"] != new["catalogue_hash"]:
        flags.append("rule catalogues differ: findings may come and go because rules changed")
    if old["config_hash"] != new["config_hash"]:
        flags.append("configurations differ")
    if new["incomplete"]:
        flags.append(f"the new report is incomplete ({len(new['incomplete'])} problem(s))")
    return {
        "diff_version": DIFF_VERSION,
        "old": _side(old),
        "new": _side(new),
        "fail_on": fail_on,
        "summary": {
            "new": len(added),
            "fixed": len(fixed),
            "suppressed": len(suppressed),
            "unchanged": len(unchanged),
            "new_at_or_above_fail_on": len(failing),
        },
        "flags": flags,
        "bullets": changes,
        "new_findings": added,
        "fixed_findings": fixed,
        "suppressed_findings": suppressed,
        "unchanged_findings": unchanged,
    }


def _sort_key(f: Mapping[str, Any]) -> tuple[str, int, int, str, str]:
    return (str(f["path"]), int(f.get("line") or 1), int(f.get("column") or 1), str(f["rule_id"]), str(f["message"]))


def _side(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "file": clean(str(r["file"])),
        "name": label(r),
        "time": r["time"],
        "tool_version": r["tool"]["version"],
        "catalogue_hash": r["catalogue_hash"],
        "config_hash": r["config_hash"],
        "exit_code": r["exit_code"],
        "incomplete": bool(r["incomplete"]),
    }


def diff_exit_code(d: Mapping[str, Any]) -> int:
    """3 when the new report is incomplete, 1 with new findings at or above --fail-on, else 0."""
    if d["new"]["incomplete"]:
        return 3
    return 1 if d["summary"]["new_at_or_above_fail_on"] else 0


def diff_text(d: Mapping[str, Any]) -> str:
    """``+`` new, ``-`` fixed, ``~`` newly suppressed findings, bullet changes and a summary line."""
    from guidecheck.reporters.text import display_path

    def line(mark: str, f: Mapping[str, Any]) -> str:
        obj = ev.object_name(f)
        tail = f" [{obj}]" if obj and not str(f["path"]).endswith(obj.rsplit("/", 1)[-1]) else ""
        return (
            f"{mark} {display_path(str(f['path']))}:{f.get('line')}:{f.get('column')}: "
            f"{f['severity']} {f['rule_id']} {f['message']}{tail}"
        )

    out = [f"flag: {x}" for x in d["flags"]]
    out += [
        f"bullet {b['bullet']}: {ev.LABELS.get(b['old'] or '', 'absent')} -> {ev.LABELS.get(b['new'], b['new'])}"
        for b in d["bullets"]
    ]
    out += [line("+", f) for f in d["new_findings"]]
    out += [line("-", f) for f in d["fixed_findings"]]
    out += [line("~", f) for f in d["suppressed_findings"]]
    s = d["summary"]
    out.append(
        f"{s['new']} new, {s['fixed']} fixed, {s['suppressed']} newly suppressed, {s['unchanged']} unchanged "
        f"({d['old']['name']} {d['old']['time'] or '?'} -> {d['new']['name']} {d['new']['time'] or '?'}); "
        f"{s['new_at_or_above_fail_on']} new at or above {d['fail_on']}; exit {diff_exit_code(d)}"
    )
    return "\n".join(out) + "\n"


def dumps(value: Any) -> str:
    """Indented, sorted-as-built JSON with one finding (or report, or bullet row) per line."""
    compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), allow_nan=False).encode
    lines = ["{"]
    items = list(value.items())
    for i, (key, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(v, list) and v:
            lines.append(f"  {compact(key)}: [")
            lines += [f"    {compact(x)}{',' if j < len(v) - 1 else ''}" for j, x in enumerate(v)]
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {compact(key)}: {compact(v)}{comma}")
    return "\n".join(lines) + "\n}\n"
