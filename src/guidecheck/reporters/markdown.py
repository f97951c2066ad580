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

    def keep(self, *lines: str) -> None:
        """Add every line whatever the limit: the summary and the frame of each section always fit."""
        for line in lines:
            self.add(line, force=True)

    def rows(self, rows: Iterable[str], more: str) -> None:
        rows = list(rows)
        for i, row in enumerate(rows):
            if not self.add(row):
                self.keep("", f"... and {len(rows) - i} more {more}: see the JSON or HTML report.")
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
    verdict = (
        f"**Incomplete**: {len(result.incomplete)} thing(s) could not be checked (exit code 3)."
        if result.incomplete
        else f"**{counts['fail']} of {len(bullets)} guideline bullets fail.**"
        if counts["fail"]
        else f"**No guideline bullet fails** ({len(bullets)} bullets)."
    )
    out.keep(
        f"## guidecheck: {md(evidence['subject'].get('name'))}",
        "",
        verdict,
        f"{len(active)} finding(s): {errors} error(s), {warnings} warning(s), {len(active) - errors - warnings} "
        f"info; {len(findings) - len(active)} suppressed. "
        + ", ".join(f"{status(s)}: {counts[s]}" for s in ev.STATUSES if counts[s]),
        "",
    )
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
    out.keep("<details><summary>Scan facts</summary>", "", *_table(["", ""]))
    for key, value in facts:
        out.keep(f"| {key} | {md(value)} |")
    out.keep("", "</details>", "")
    tracked = evidence["previous"] is not None
    out.keep(*_table(["bullet", "guideline", "status", "rules", "findings"] + (["failing since"] if tracked else [])))
    for b in bullets:
        row = (
            f"| {md(b['bullet'])} | {md(b['text'])} | {status(b['status'])} | {md(', '.join(b['rules']) or '-')} | "
            f"{b['findings']} |"
        )
        if tracked:
            since = b.get("failing_since") or ""
            how_long = ev.duration(since, time) if since else ""
            row += f" {md(since[:10])}{' (' + md(how_long) + ')' if how_long else ''} |"
        out.keep(row)
    out.keep("")
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
            out.keep(f"... further sections left out ({bid} onwards): see the JSON or HTML report.")
            break
        out.keep("")
        for rid in rule_ids:
            found = by_rule.get(rid)
            if not found:
                continue
            out.keep(f"**{md(rid)}** {md(titles.get(rid, ''))} ({len(found)})", "")
            head = ["where", "severity", "message"] + (["first seen"] if tracked else [])
            out.keep(*_table(head))
            out.rows((_finding_row(f, tracked, time) for f in found), "finding(s)")
            out.keep("")
        out.keep("</details>", "")
    unchecked = list(result.incomplete) + [f"{ev.where(f)}: {f['message']}" for f in by_rule.get("GC004", ())]
    unchecked += [f"bullet {b['bullet']}: {b['why']}" for b in bullets if b["status"] == "not_checked"]
    if unchecked:
        out.keep(f"<details><summary>What could not be checked ({len(unchecked)})</summary>", "")
        out.rows((f"- {md(u)}" for u in unchecked), "item(s)")
        out.keep("", "</details>", "")
    manual = [(b, m) for b in bullets for m in b.get("manual_evidence") or ()]
    if manual:
        out.keep(f"<details><summary>Manual evidence needed ({len(manual)})</summary>", "")
        out.rows((f"- **{md(b['bullet'])}** {md(m.get('what'))}: {md(m.get('reason'))}" for b, m in manual), "item(s)")
        out.keep("", "</details>", "")
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
    out.keep(
        f"<details><summary>Suppressions and waivers in force ({len(waivers)} waiver(s), "
        f"{len(suppressed)} suppressed finding(s))</summary>",
        "",
    )
    if waivers:
        out.keep(*_table(["rules", "scope", "owner", "ticket", "expires", "findings", "reason"]))
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
        out.keep("")
    if suppressed:
        out.keep(*_table(["where", "rule", "by", "reason"]))
        out.rows(
            (
                f"| {md(ev.where(f))} | {md(f['rule_id'])} | {md((f.get('suppressed_by') or {}).get('origin'))} | "
                f"{md(f.get('suppression_reason') or 'no reason given')} |"
                for f in suppressed
            ),
            "suppressed finding(s)",
        )
        out.keep("")
    out.keep("</details>")


# ---------------------------------------------------------------- fleet

SHORT = {"fail": "❌", "partly": "🟠", "pass": "✅", "not_checked": "⚪", "manual": "📝", "not_applicable": "➖"}


def render_fleet(fleet: Mapping[str, Any], limit: int = LIMIT) -> str:
    t = fleet["totals"]
    out = Budget(limit)
    out.keep(
        f"## guidecheck fleet view: {t['reports']} report(s)",
        "",
        f"**{t['failing_bullets']} of {len(fleet['bullets'])} bullets fail somewhere.** {t['findings']} active "
        f"finding(s): {t['error']} error(s), {t['warning']} warning(s), {t['info']} info; {t['suppressed']} "
        f"suppressed. Reports from {md(t['oldest'] or 'unknown')} to {md(t['newest'] or 'unknown')}.",
    )
    if t["flagged_reports"] or t["incomplete_reports"]:
        out.keep(
            "",
            f"⚠️ {t['flagged_reports']} report(s) from another tool version or rule catalogue, "
            f"{t['incomplete_reports']} incomplete (flags below).",
        )
    out.keep(
        "", *_table(["bullet", "guideline", "worst", *(ICON[s] + " " + ev.LABELS[s] for s in ev.STATUSES), "findings"])
    )
    for b in fleet["bullets"]:
        out.keep(
            f"| {md(b['bullet'])} | {md(b['text'])} | {status(b['status'])} | "
            + " | ".join(str(b["totals"][s]) for s in ev.STATUSES)
            + f" | {b['findings']} |",
        )
    out.keep("")
    if fleet["worst"]:
        out.keep("**Worst offenders**", "", *_table(["service / cluster", "failing bullets", "errors", "findings"]))
        for w in fleet["worst"]:
            out.keep(
                f"| {md(w['name'])}{' (incomplete)' if w['incomplete'] else ''} | "
                f"{md(', '.join(w['failing_bullets']) or '-')} | {w['summary']['error']} | "
                f"{w['summary']['findings']} |",
            )
        out.keep("")
    out.keep(
        "<details><summary>Status by bullet and service or cluster</summary>",
        "",
        *_table(["service / cluster", *(md(b["bullet"]) for b in fleet["bullets"]), "findings"]),
    )
    out.rows(
        (
            f"| {md(r['name'])}{' ⚑' if r['flags'] else ''} | "
            + " | ".join(SHORT[b["cells"][i]["status"]] for b in fleet["bullets"])
            + f" | {r['summary']['findings']} |"
            for i, r in enumerate(fleet["reports"])
        ),
        "report(s)",
    )
    out.keep("", "; ".join(f"{SHORT[s]} {ev.LABELS[s]}" for s in ev.STATUSES) + "; ⚑ flagged", "", "</details>", "")
    if fleet["rules"]:
        out.keep(
            "<details><summary>Most frequent rules</summary>",
            "",
            *_table(["rule", "bullet", "title", "findings", "reports"]),
        )
        for r in fleet["rules"]:
            out.keep(
                f"| {md(r['rule_id'])} | {md(r['bullet'] or '-')} | {md(r['title'])} | {r['findings']} | "
                f"{r['reports']} |",
            )
        out.keep("", "</details>", "")
    out.keep(
        "<details><summary>Reports</summary>",
        "",
        *_table(["service / cluster", "kind", "time", "tool", "catalogue", "exit", "flags", "file"]),
    )
    out.rows(
        (
            f"| {md(r['name'])} | {md(r['kind'])} | {md(r['time'] or 'unknown')} | {md(r['tool_version'])} | "
            f"{md((r['catalogue_hash'] or 'unknown')[:19])} | {md(r['exit_code'])} | "
            f"{'; '.join(md(f) for f in r['flags']) or '-'} | {md(r['file'])} |"
            for r in fleet["reports"]
        ),
        "report(s)",
    )
    out.keep("", "</details>")
    return out.text()


# ---------------------------------------------------------------- diff


def render_diff(d: Mapping[str, Any], limit: int = LIMIT) -> str:
    from guidecheck.fleet import diff_exit_code

    old, new, s = d["old"], d["new"], d["summary"]
    out = Budget(limit)
    out.keep(
        f"## guidecheck diff: {md(old['name'])} → {md(new['name'])}",
        "",
        f"**{s['new']} new**, {s['fixed']} fixed, {s['suppressed']} newly suppressed, {s['unchanged']} unchanged "
        f"finding(s); {s['new_at_or_above_fail_on']} new at or above {md(d['fail_on'])} "
        f"(exit code {diff_exit_code(d)}).",
        "",
        f"Old: {md(old['file'])} ({md(old['time'] or 'time unknown')}, guidecheck {md(old['tool_version'])}). "
        f"New: {md(new['file'])} ({md(new['time'] or 'time unknown')}, guidecheck {md(new['tool_version'])}).",
    )
    for flag in d["flags"]:
        out.keep("", f"⚠️ {md(flag)}")
    out.keep("")
    if d["bullets"]:
        out.keep(*_table(["bullet", "guideline", "was", "now"]))
        for b in d["bullets"]:
            was = status(b["old"]) if b["old"] else "absent"
            out.keep(f"| {md(b['bullet'])} | {md(b['text'])} | {was} | {status(b['new'])} |")
        out.keep("")
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
        out.keep(f"<details{opened}><summary>{heading} ({len(found)})</summary>", "")
        since = key == "unchanged_findings"
        out.keep(*_table(["where", "rule", "severity", "message"] + (["first seen"] if since else [])))
        rows = []
        for f in found:
            row = f"| {md(ev.where(f))} | {md(f['rule_id'])} | {md(f['severity'])} | {md(f['message'])} |"
            if since:
                how_long = ev.duration(f.get("first_seen"), new["time"])
                row += f" {md(str(f.get('first_seen') or '')[:10])}{' (' + md(how_long) + ')' if how_long else ''} |"
            rows.append(row)
        out.rows(rows, "finding(s)")
        out.keep("", "</details>", "")
    return out.text()
