"""GitHub-flavoured markdown: the HTML report's content for pull-request comments and wikis.

Summary first (the verdict, the header facts, one table row per guideline bullet),
then the details collapsed (``<details>``): per failing bullet its findings grouped by
rule, what could not be checked, manual evidence, suppressions and waivers.
Size-aware: a GitHub comment holds 65,536 characters, so once the text reaches
``meta["markdown_limit"]`` (default :data:`LIMIT`) further finding rows are left out
and counted ("... and 1,234 more: see the JSON or HTML report"); the summary always fits.
Every string is sanitised, then escaped for markdown and inline HTML.

Also renders the fleet view (:func:`render_fleet`) and a diff (:func:`render_diff`).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from guidecheck import evidence as ev
from guidecheck.model import ScanResult
from guidecheck.sanitize import clean

LIMIT = 60000
ICON = {"fail": "❌", "partly": "🟠", "pass": "✅", "not_checked": "⚪", "manual": "📝", "not_applicable": "➖"}
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(value: Any) -> str:
    """Sanitised, HTML-escaped (``<``, ``&``) and markdown-escaped text for a table cell or a line."""
    text = html.escape(clean("" if value is None else str(value)), quote=False)
    # no @mention or markup from a scanned value when the text lands in a pull-request comment
    return _SPECIAL.sub(r"\\\1", " ".join(text.split())).replace("@", "&#64;")


def status(s: str) -> str:
    return f"{ICON.get(s, '')} {ev.LABELS.get(s, s)}"


class Budget:
    """Lines added until the limit; what does not fit is counted and said once per section."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.lines: list[str] = []

    def add(self, line: str, force: bool = False) -> bool:
        if not force and len(line) + 1 > self.left:
            return False
        self.left -= len(line) + 1
        self.lines.append(line)
        return True

    def rows(self, rows: Iterable[str], more: str) -> None:
        rows = list(rows)
        for i, row in enumerate(rows):
            if not self.add(row):
                self.add("", force=True)
                self.add(f"... and {len(rows) - i} more {more}: see the JSON or HTML report.", force=True)
                return

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _table(head: list[str]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    from guidecheck.reporters.json import finding_json

    evidence = ev.summarize(result, meta)
    findings = [{**finding_json(f), "first_seen": ev.first_seen(evidence, f)} for f in result.findings]
    active = [f for f in findings if not f["suppressed"]]
    bullets = evidence["bullets"]
    time = evidence["time"]
    out = Budget(int(meta.get("markdown_limit") or LIMIT))
    counts = {s: sum(1 for b in bullets if b["status"] == s) for s in ev.STATUSES}
    errors = sum(1 for f in active if f["severity"] == "error")
    warnings = sum(1 for f in active if f["severity"] == "warning")
    out.add(f"## guidecheck: {md(evidence['subject'].get('name'))}", force=True)
    out.add("", force=True)
    verdict = (
        f"**Incomplete**: {len(result.incomplete)} thing(s) could not be checked (exit code 3)."
        if result.incomplete
        else f"**{counts['fail']} of {len(bullets)} guideline bullets fail.**"
        if counts["fail"]
        else f"**No guideline bullet fails** ({len(bullets)} bullets)."
    )
    out.add(verdict, force=True)
    out.add(
        f"{len(active)} finding(s): {errors} error(s), {warnings} warning(s), {len(active) - errors - warnings} "
        f"info; {len(findings) - len(active)} suppressed. "
        + ", ".join(f"{status(s)}: {counts[s]}" for s in ev.STATUSES if counts[s]),
        force=True,
    )
    out.add("", force=True)
    inputs = ", ".join(str(p) for p in meta.get("inputs") or result.inputs) or "-"
    facts = [
        ("scanned", f"{evidence['subject'].get('kind')}: {inputs}"),
        ("when", time),
        ("tool", f"guidecheck {meta.get('version') or 'unknown'}"),
        ("rule catalogue", f"{evidence['catalogue'] or 'unknown'} ({len(result.rules)} rules ran)"),
        ("configuration", f"{meta.get('config') or 'built-in defaults'} {evidence['config_hash'] or ''}"),
        ("fail on", f"{meta.get('threshold') or 'error'}; exit code {meta.get('exit_code')}"),
    ]
    if evidence["previous"]:
        facts.append(("previous report", evidence["previous"].get("time") or "time unknown"))
    out.add("<details><summary>Scan facts</summary>", force=True)
    out.add("", force=True)
    for line in _table(["", ""]):
        out.add(line, force=True)
    for key, value in facts:
        out.add(f"| {key} | {md(value)} |", force=True)
    out.add("", force=True)
    out.add("</details>", force=True)
    out.add("", force=True)
    tracked = evidence["previous"] is not None
    for line in _table(["bullet", "guideline", "status", "rules", "findings"] + (["failing since"] if tracked else [])):
        out.add(line, force=True)
    for b in bullets:
        row = (
            f"| {md(b['bullet'])} | {md(b['text'])} | {status(b['status'])} | {md(', '.join(b['rules']) or '-')} | "
            f"{b['findings']} |"
        )
        if tracked:
            since = b.get("failing_since") or ""
            how_long = ev.duration(since, time) if since else ""
            row += f" {md(since[:10])}{' (' + md(how_long) + ')' if how_long else ''} |"
        out.add(row, force=True)
    out.add("", force=True)
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in active:
        by_rule[f["rule_id"]].append(f)
    titles = {r.id: r.title for r in result.rules}
    groups = [(b["bullet"], b["text"], b["rules"]) for b in bullets if b["findings"]]
    tool = [r.id for r in result.rules if not r.bullet and by_rule.get(r.id)]
    if tool:
        groups.append(("tool", "parse errors, suppressions, waivers, coverage", tool))
    for bid, text, rule_ids in groups:
        total = sum(len(by_rule.get(r, ())) for r in rule_ids)
        if not out.add(f"<details><summary>{md(bid)} {md(text)}: {total} finding(s)</summary>"):
            out.add(f"... further sections left out ({bid} onwards): see the JSON or HTML report.", force=True)
            break
        out.add("", force=True)
        for rid in rule_ids:
            found = by_rule.get(rid)
            if not found:
                continue
            out.add(f"**{md(rid)}** {md(titles.get(rid, ''))} ({len(found)})", force=True)
            out.add("", force=True)
            head = ["where", "severity", "message"] + (["first seen"] if tracked else [])
            for line in _table(head):
                out.add(line, force=True)
            out.rows((_finding_row(f, tracked, time) for f in found), "finding(s)")
            out.add("", force=True)
        out.add("</details>", force=True)
        out.add("", force=True)
    unchecked = list(result.incomplete) + [f"{ev.where(f)}: {f['message']}" for f in by_rule.get("GC004", ())]
    unchecked += [f"bullet {b['bullet']}: {b['why']}" for b in bullets if b["status"] == "not_checked"]
    if unchecked:
        out.add(f"<details><summary>What could not be checked ({len(unchecked)})</summary>", force=True)
        out.add("", force=True)
        out.rows((f"- {md(u)}" for u in unchecked), "item(s)")
        out.add("", force=True)
        out.add("</details>", force=True)
        out.add("", force=True)
    manual = [(b, m) for b in bullets for m in b.get("manual_evidence") or ()]
    if manual:
        out.add(f"<details><summary>Manual evidence needed ({len(manual)})</summary>", force=True)
        out.add("", force=True)
        out.rows((f"- **{md(b['bullet'])}** {md(m.get('what'))}: {md(m.get('reason'))}" for b, m in manual), "item(s)")
        out.add("", force=True)
        out.add("</details>", force=True)
        out.add("", force=True)
    _suppressions(out, findings, evidence["waivers"])
    return out.text()


def _finding_row(f: Mapping[str, Any], tracked: bool, time: str) -> str:
    row = f"| {md(ev.where(f))} | {md(f['severity'])} | {md(f['message'])} |"
    if tracked:
        how_long = ev.duration(f.get("first_seen"), time)
        row += f" {md(str(f.get('first_seen') or '')[:10])}{' (' + md(how_long) + ')' if how_long else ''} |"
    return row


def _suppressions(out: Budget, findings: list[dict[str, Any]], waivers: list[dict[str, Any]]) -> None:
    suppressed = [f for f in findings if f["suppressed"]]
    if not waivers and not suppressed:
        return
    out.add(
        f"<details><summary>Suppressions and waivers in force ({len(waivers)} waiver(s), "
        f"{len(suppressed)} suppressed finding(s))</summary>",
        force=True,
    )
    out.add("", force=True)
    if waivers:
        for line in _table(["rules", "scope", "owner", "ticket", "expires", "findings", "reason"]):
            out.add(line, force=True)
        out.rows(
            (
                f"| {md(', '.join(w.get('rules', ())))} | "
                f"{md(', '.join([*w.get('paths', ()), *w.get('objects', ())]) or 'everything')} | "
                f"{md(w.get('owner'))} | {md(w.get('ticket') or '-')} | {md(w.get('expires'))}"
                f"{' (expired)' if w.get('expired') else ''} | {w.get('findings', 0)} | {md(w.get('reason'))} |"
                for w in waivers
            ),
            "waiver(s)",
        )
        out.add("", force=True)
    if suppressed:
        for line in _table(["where", "rule", "by", "reason"]):
            out.add(line, force=True)
        out.rows(
            (
                f"| {md(ev.where(f))} | {md(f['rule_id'])} | {md((f.get('suppressed_by') or {}).get('origin'))} | "
                f"{md(f.get('suppression_reason') or 'no reason given')} |"
                for f in suppressed
            ),
            "suppressed finding(s)",
        )
        out.add("", force=True)
    out.add("</details>", force=True)


# ---------------------------------------------------------------- fleet

SHORT = {"fail": "❌", "partly": "🟠", "pass": "✅", "not_checked": "⚪", "manual": "📝", "not_applicable": "➖"}


def render_fleet(fleet: Mapping[str, Any], limit: int = LIMIT) -> str:
    t = fleet["totals"]
    out = Budget(limit)
    out.add(f"## guidecheck fleet view: {t['reports']} report(s)", force=True)
    out.add("", force=True)
    out.add(
        f"**{t['failing_bullets']} of {len(fleet['bullets'])} bullets fail somewhere.** {t['findings']} active "
        f"finding(s): {t['error']} error(s), {t['warning']} warning(s), {t['info']} info; {t['suppressed']} "
        f"suppressed. Reports from {md(t['oldest'] or 'unknown')} to {md(t['newest'] or 'unknown')}.",
        force=True,
    )
    if t["flagged_reports"] or t["incomplete_reports"]:
        out.add("", force=True)
        out.add(
            f"⚠️ {t['flagged_reports']} report(s) from another tool version or rule catalogue, "
            f"{t['incomplete_reports']} incomplete (flags below).",
            force=True,
        )
    out.add("", force=True)
    for line in _table(
        ["bullet", "guideline", "worst", *(ICON[s] + " " + ev.LABELS[s] for s in ev.STATUSES), "findings"]
    ):
        out.add(line, force=True)
    for b in fleet["bullets"]:
        out.add(
            f"| {md(b['bullet'])} | {md(b['text'])} | {status(b['status'])} | "
            + " | ".join(str(b["totals"][s]) for s in ev.STATUSES)
            + f" | {b['findings']} |",
            force=True,
        )
    out.add("", force=True)
    if fleet["worst"]:
        out.add("**Worst offenders**", force=True)
        out.add("", force=True)
        for line in _table(["service / cluster", "failing bullets", "errors", "findings"]):
            out.add(line, force=True)
        for w in fleet["worst"]:
            out.add(
                f"| {md(w['name'])}{' (incomplete)' if w['incomplete'] else ''} | "
                f"{md(', '.join(w['failing_bullets']) or '-')} | {w['summary']['error']} | "
                f"{w['summary']['findings']} |",
                force=True,
            )
        out.add("", force=True)
    out.add("<details><summary>Status by bullet and service or cluster</summary>", force=True)
    out.add("", force=True)
    for line in _table(["service / cluster", *(md(b["bullet"]) for b in fleet["bullets"]), "findings"]):
        out.add(line, force=True)
    out.rows(
        (
            f"| {md(r['name'])}{' ⚑' if r['flags'] else ''} | "
            + " | ".join(SHORT[b["cells"][i]["status"]] for b in fleet["bullets"])
            + f" | {r['summary']['findings']} |"
            for i, r in enumerate(fleet["reports"])
        ),
        "report(s)",
    )
    out.add("", force=True)
    out.add("; ".join(f"{SHORT[s]} {ev.LABELS[s]}" for s in ev.STATUSES) + "; ⚑ flagged", force=True)
    out.add("", force=True)
    out.add("</details>", force=True)
    out.add("", force=True)
    if fleet["rules"]:
        out.add("<details><summary>Most frequent rules</summary>", force=True)
        out.add("", force=True)
        for line in _table(["rule", "bullet", "title", "findings", "reports"]):
            out.add(line, force=True)
        for r in fleet["rules"]:
            out.add(
                f"| {md(r['rule_id'])} | {md(r['bullet'] or '-')} | {md(r['title'])} | {r['findings']} | "
                f"{r['reports']} |",
                force=True,
            )
        out.add("", force=True)
        out.add("</details>", force=True)
        out.add("", force=True)
    out.add("<details><summary>Reports</summary>", force=True)
    out.add("", force=True)
    for line in _table(["service / cluster", "kind", "time", "tool", "catalogue", "exit", "flags", "file"]):
        out.add(line, force=True)
    out.rows(
        (
            f"| {md(r['name'])} | {md(r['kind'])} | {md(r['time'] or 'unknown')} | {md(r['tool_version'])} | "
            f"{md((r['catalogue_hash'] or 'unknown')[:19])} | {md(r['exit_code'])} | "
            f"{'; '.join(md(f) for f in r['flags']) or '-'} | {md(r['file'])} |"
            for r in fleet["reports"]
        ),
        "report(s)",
    )
    out.add("", force=True)
    out.add("</details>", force=True)
    return out.text()


# ---------------------------------------------------------------- diff


def render_diff(d: Mapping[str, Any], limit: int = LIMIT) -> str:
    from guidecheck.fleet import diff_exit_code

    old, new, s = d["old"], d["new"], d["summary"]
    out = Budget(limit)
    out.add(f"## guidecheck diff: {md(old['name'])} → {md(new['name'])}", force=True)
    out.add("", force=True)
    out.add(
        f"**{s['new']} new**, {s['fixed']} fixed, {s['suppressed']} newly suppressed, {s['unchanged']} unchanged "
        f"finding(s); {s['new_at_or_above_fail_on']} new at or above {md(d['fail_on'])} "
        f"(exit code {diff_exit_code(d)}).",
        force=True,
    )
    out.add("", force=True)
    out.add(
        f"Old: {md(old['file'])} ({md(old['time'] or 'time unknown')}, guidecheck {md(old['tool_version'])}). "
        f"New: {md(new['file'])} ({md(new['time'] or 'time unknown')}, guidecheck {md(new['tool_version'])}).",
        force=True,
    )
    for flag in d["flags"]:
        out.add("", force=True)
        out.add(f"⚠️ {md(flag)}", force=True)
    out.add("", force=True)
    if d["bullets"]:
        for line in _table(["bullet", "guideline", "was", "now"]):
            out.add(line, force=True)
        for b in d["bullets"]:
            was = status(b["old"]) if b["old"] else "absent"
            out.add(f"| {md(b['bullet'])} | {md(b['text'])} | {was} | {status(b['new'])} |", force=True)
        out.add("", force=True)
    for key, heading in (
        ("new_findings", "New findings"),
        ("fixed_findings", "Fixed findings"),
        ("suppressed_findings", "Newly suppressed findings"),
        ("unchanged_findings", "Unchanged findings"),
    ):
        found = d[key]
        if not found:
            continue
        opened = " open" if key == "new_findings" else ""
        out.add(f"<details{opened}><summary>{heading} ({len(found)})</summary>", force=True)
        out.add("", force=True)
        since = key == "unchanged_findings"
        for line in _table(["where", "rule", "severity", "message"] + (["first seen"] if since else [])):
            out.add(line, force=True)
        rows = []
        for f in found:
            row = f"| {md(ev.where(f))} | {md(f['rule_id'])} | {md(f['severity'])} | {md(f['message'])} |"
            if since:
                how_long = ev.duration(f.get("first_seen"), new["time"])
                row += f" {md(str(f.get('first_seen') or '')[:10])}{' (' + md(how_long) + ')' if how_long else ''} |"
            rows.append(row)
        out.rows(rows, "finding(s)")
        out.add("", force=True)
        out.add("</details>", force=True)
        out.add("", force=True)
    return out.text()
