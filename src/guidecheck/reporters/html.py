"""HTML compliance report: one self-contained file for auditors to archive and open anywhere.

No network: inline CSS, a few lines of inline JavaScript (the filter box, and opening
every section before printing), system fonts, no images.  Readable on a laptop screen
and printable to PDF.  Content, per guideline bullet (2.a ... 9.c): its status (see
:mod:`guidecheck.evidence`), why, the rules behind it with their outcome counts, the
failing objects with file:line or cluster object, and how long it has been failing when
a previous report was given; then what could not be checked and why, what needs manual
evidence, and the suppressions and waivers in force (owner, ticket, expiry).  The header
says what was scanned, when, the tool version, and the catalogue and configuration hashes.

Large reports stay usable: findings are grouped by bullet and rule in collapsed
sections, rows are written with HTML's optional end tags left out, and the filter box
searches every row.  Every string is sanitised (:mod:`guidecheck.sanitize`) and then
HTML-escaped.

Also renders the fleet view (:func:`render_fleet`) and a diff (:func:`render_diff`).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from guidecheck import evidence as ev
from guidecheck.model import ScanResult
from guidecheck.sanitize import clean

OPEN_LIMIT = 60  # a failing bullet's section starts open when it has at most this many findings

CSS = """
:root{--fail:#b3261e;--partly:#9a6700;--pass:#1a7f37;--nc:#57606a;--manual:#0969da;--na:#8c959f;--line:#d0d7de}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;
margin:0 auto;max-width:1280px;padding:16px 24px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:0}
code,.mono,td.w{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}
dl.meta dt{color:#57606a}dl.meta dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.n,th.n{text-align:right;white-space:nowrap;width:1%}th.n{white-space:normal}
td.w{word-break:break-all;width:34%}
table.f tr.g td{background:#f6f8fa;font-weight:600}
table.fl tr:not(.g) td:first-child{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;
word-break:break-all;padding-left:18px}
.st{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-weight:600;font-size:12px;white-space:nowrap}
.fail{background:var(--fail)}.partly{background:var(--partly)}.pass{background:var(--pass)}
.not_checked{background:var(--nc)}.manual{background:var(--manual)}.not_applicable{background:var(--na)}
.banner{padding:8px 12px;border-radius:6px;margin:8px 0;font-weight:600}
.banner.bad{background:#ffebe9;border:1px solid var(--fail)}.banner.ok{background:#dafbe1;border:1px solid var(--pass)}
.banner.warn{background:#fff8c5;border:1px solid var(--partly)}
.chips span{margin-right:6px}
details{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:0 8px}
details>summary{cursor:pointer;padding:6px 0;font-weight:600}
details details{margin-left:8px}
.why{color:#57606a;margin:2px 0 6px}
#q{width:100%;max-width:480px;padding:6px 8px;font-size:14px;border:1px solid var(--line);border-radius:6px}
.hidden{display:none}
.muted{color:#57606a}
.matrix td.c{text-align:center;padding:2px;font-size:12px;font-weight:700;color:#fff;min-width:30px}
.matrix th.b{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;padding:4px 2px}
footer{margin-top:24px;color:#57606a;font-size:12px}
@media print{body{max-width:none;padding:0;font-size:11px}.noprint{display:none}
details{border:none;padding:0}tr{break-inside:avoid}h2{break-after:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

# the filter box (rows whose text holds every word typed stay, their sections open; #q=words in the
# address prefills it) and printing
# with every section open; without JavaScript the report is complete, only the box does nothing
SCRIPT = """
(function(){var q=document.getElementById('q'),n=document.getElementById('qn'),t;
function run(){var w=q.value.toLowerCase().split(/\\s+/).filter(Boolean),rows=document.querySelectorAll('table.f tr'),
k=0,g=null,gt='',gn=0;function close(){if(g)g.classList.toggle('hidden',!gn)}
for(var i=0;i<rows.length;i++){var r=rows[i];if(r.querySelector('th')){close();g=null;gt='';continue}
if(r.classList.contains('g')){close();g=r;gt=r.textContent.toLowerCase();gn=0;continue}
var s=gt+' '+r.textContent.toLowerCase(),ok=w.every(function(x){return s.indexOf(x)>=0});
r.classList.toggle('hidden',!ok);
if(ok){k++;gn++;if(w.length){for(var d=r.closest('details');d;d=d.parentNode.closest('details'))d.open=true}}}
close();n.textContent=w.length?k+' matching row(s)':''}
if(q){q.addEventListener('input',function(){clearTimeout(t);t=setTimeout(run,150)});
if(location.hash.indexOf('#q=')===0){q.value=decodeURIComponent(location.hash.slice(3));run()}}
var shut=[];window.addEventListener('beforeprint',function(){document.querySelectorAll('details:not([open])')
.forEach(function(d){d.open=true;shut.push(d)})});window.addEventListener('afterprint',function(){
shut.forEach(function(d){d.open=false});shut=[]})})();
"""


def e(value: Any) -> str:
    """Sanitised, then escaped for HTML text and attribute values."""
    return html.escape(clean("" if value is None else str(value)), quote=True)


def t(value: Any) -> str:
    """Sanitised and escaped for HTML text (quotes left as they are: not an attribute)."""
    return html.escape(clean("" if value is None else str(value)), quote=False)


def badge(status: str) -> str:
    return f'<span class="st {e(status)}">{e(ev.LABELS.get(status, status))}</span>'


def page(title: str, body: Iterable[str], search: bool = True) -> Iterator[str]:
    yield (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="guidecheck">\n'
        # nothing is fetched: no scripts, styles, fonts or images from anywhere
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
    )
    yield from body
    if search:
        yield f"<script>{SCRIPT}</script>\n"
    yield "</body>\n</html>\n"


def search_box(what: str) -> str:
    return (
        f'<p class="noprint"><input id="q" type="search" placeholder="Filter {e(what)}: path, object, rule, message" '
        'aria-label="Filter"> <span id="qn" class="muted"></span></p>\n'
    )


def short_hash(value: str | None) -> str:
    if not value:
        return '<span class="muted">unknown</span>'
    return f'<code title="{e(value)}">{e(value[:19])}</code>'


# ---------------------------------------------------------------- one scan or audit


def _where(f: Mapping[str, Any]) -> str:
    return e(ev.where(f))


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    return "".join(chunks(result, meta))


def chunks(result: ScanResult, meta: dict[str, Any]) -> Iterator[str]:
    from guidecheck.reporters.json import finding_json

    evidence = ev.summarize(result, meta)
    findings = [{**finding_json(f), "first_seen": ev.first_seen(evidence, f)} for f in result.findings]
    subject = evidence["subject"]
    title = f"guidecheck compliance report: {subject.get('name')}"
    yield from page(title, _scan_body(result, meta, evidence, findings))


def _scan_body(
    result: ScanResult, meta: dict[str, Any], evidence: dict[str, Any], findings: list[dict[str, Any]]
) -> Iterator[str]:
    subject = evidence["subject"]
    bullets = evidence["bullets"]
    active = [f for f in findings if not f["suppressed"]]
    time = evidence["time"]
    tracked = evidence["previous"] is not None
    yield f"<header>\n<h1>Guideline compliance: {e(subject.get('name'))}</h1>\n"
    yield '<dl class="meta">\n'
    inputs = ", ".join(str(p) for p in meta.get("inputs") or result.inputs) or "-"
    yield f"<dt>Scanned</dt><dd>{e(subject.get('kind'))}: <code>{e(inputs)}</code></dd>\n"
    yield f'<dt>When</dt><dd><time datetime="{e(time)}">{e(time)}</time></dd>\n'
    yield f"<dt>Tool</dt><dd>guidecheck {e(meta.get('version') or 'unknown')}</dd>\n"
    yield f"<dt>Rule catalogue</dt><dd>{short_hash(evidence['catalogue'])} ({len(result.rules)} rules ran)</dd>\n"
    config = meta.get("config") or "built-in defaults"
    yield f"<dt>Configuration</dt><dd><code>{e(config)}</code> {short_hash(evidence['config_hash'])}</dd>\n"
    yield f"<dt>Fail on</dt><dd>{e(meta.get('threshold') or 'error')}; exit code {e(meta.get('exit_code'))}</dd>\n"
    if tracked:
        yield f"<dt>Previous report</dt><dd>{e(evidence['previous'].get('time') or 'time unknown')}</dd>\n"
    yield "</dl>\n</header>\n"
    counts = {s: sum(1 for b in bullets if b["status"] == s) for s in ev.STATUSES}
    if result.incomplete:
        yield (
            f'<p class="banner bad">Incomplete: {len(result.incomplete)} thing(s) could not be checked '
            "(exit code 3). Passing bullets below are passing only for what was read; see "
            '<a href="#unchecked">what could not be checked</a>.</p>\n'
        )
    elif counts["fail"]:
        yield f'<p class="banner bad">{counts["fail"]} of {len(bullets)} guideline bullets fail.</p>\n'
    else:
        yield f'<p class="banner ok">No guideline bullet fails ({len(bullets)} bullets).</p>\n'
    errors = sum(1 for f in active if f["severity"] == "error")
    warnings = sum(1 for f in active if f["severity"] == "warning")
    yield '<p class="chips">' + " ".join(f"{badge(s)} {counts[s]}" for s in ev.STATUSES if counts[s]) + "</p>\n"
    yield (
        f'<p id="totals">{len(active)} finding(s): {errors} error(s), {warnings} warning(s), '
        f"{len(active) - errors - warnings} info; {len(findings) - len(active)} suppressed; "
        f"{len({o.target.key for o in result.outcomes})} target(s) checked.</p>\n"
    )
    yield search_box("findings")
    yield '<h2 id="bullets">Guideline bullets</h2>\n<table class="bullets">\n'
    yield (
        '<tr><th>bullet<th>guideline<th>status<th>rules<th class="n">pass<th class="n">fail'
        '<th class="n">n/a<th class="n">waived<th class="n">findings' + ("<th>failing since" if tracked else "") + "\n"
    )
    for b in bullets:
        o = b["outcomes"]
        since = b.get("failing_since") or ""
        for_how_long = ev.duration(since, time) if since else ""
        yield (
            f'<tr id="row-{e(b["bullet"])}" data-status="{e(b["status"])}"><td><a href="#b-{e(b["bullet"])}">'
            f"{e(b['bullet'])}</a><td>{e(b['text'])}<td>{badge(b['status'])}<td>{e(', '.join(b['rules']) or '-')}"
            f'<td class="n">{o["pass"]}<td class="n">{o["fail"]}<td class="n">{o["not_applicable"]}'
            f'<td class="n">{o["suppressed"]}<td class="n">{b["findings"]}'
            + (f"<td>{e(since[:10])}{(' (' + e(for_how_long) + ')') if for_how_long else ''}" if tracked else "")
            + "\n"
        )
    yield "</table>\n"
    by_rule: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for f in active:
        by_rule[f["rule_id"]].append(f)
    rules = {r.id: r for r in result.rules}
    yield '<h2 id="details">Bullet by bullet</h2>\n'
    for b in bullets:
        yield from _bullet_section(b, by_rule, rules, evidence, tracked)
    tool_rules = [r for r in result.rules if not r.bullet and by_rule.get(r.id)]
    if tool_rules:
        yield '<h2 id="tool">Tool findings (parse errors, suppressions, waivers, coverage)</h2>\n'
        for r in tool_rules:
            yield from _rule_findings(r.id, r.title, by_rule[r.id], evidence, tracked, len(by_rule[r.id]) <= OPEN_LIMIT)
    yield from _unchecked(result, bullets, by_rule)
    yield from _manual(bullets)
    yield from _suppressions(findings, evidence["waivers"])
    yield _legend()


def _bullet_section(
    b: dict[str, Any],
    by_rule: Mapping[str | None, list[dict[str, Any]]],
    rules: Mapping[str, Any],
    evidence: Mapping[str, Any],
    tracked: bool,
) -> Iterator[str]:
    total = b["findings"]
    opened = " open" if b["status"] == "fail" and total <= OPEN_LIMIT else ""
    yield (
        f'<details class="bullet" id="b-{e(b["bullet"])}"{opened}><summary>{e(b["bullet"])} {e(b["text"])} '
        f'{badge(b["status"])} <span class="muted">{total} finding(s)</span></summary>\n'
    )
    yield f'<p class="why">{e(b["section"])}: {e(b["why"])}</p>\n'
    rows = []
    for rid in b["rules"]:
        c = evidence["rule_outcomes"].get(rid, {})
        rule = rules.get(rid)
        rows.append(
            f"<tr><td>{e(rid)}<td>{e(rule.title if rule else '')}<td>{e(rule.severity if rule else '')}"
            f'<td class="n">{c.get("pass", 0)}<td class="n">{c.get("fail", 0)}<td class="n">'
            f'{c.get("not_applicable", 0)}<td class="n">{c.get("suppressed", 0)}<td class="n">{c.get("error", 0)}\n'
        )
    if rows:
        yield (
            '<table class="rules"><tr><th>rule<th>title<th>severity<th class="n">pass<th class="n">fail'
            '<th class="n">n/a<th class="n">waived<th class="n">check failed\n'
        )
        yield from rows
        yield "</table>\n"
    for rid in b["rules"]:
        found = by_rule.get(rid)
        if found:
            rule = rules.get(rid)
            yield from _rule_findings(rid, rule.title if rule else "", found, evidence, tracked, len(found) <= 20)
    for m in b.get("disabled_rules") or ():
        yield f'<p class="why">{e(m)} did not run (turned off by the configuration, or a preview rule).</p>\n'
    for m in b.get("manual_evidence") or ():
        reason = " ".join(str(m.get("reason")).split())
        yield f'<p class="why">Manual evidence needed ({e(m.get("what"))}): {e(reason)}</p>\n'
    yield "</details>\n"


def template(f: Mapping[str, Any]) -> str:
    """The message with the finding's object name as ``‹name›``: findings of one rule share it."""
    obj = f.get("object")
    name = obj.get("name") if isinstance(obj, dict) else None
    message = str(f["message"])
    if isinstance(name, str) and len(name) >= 3 and name in message:
        return message.replace(name, "‹name›")
    return message


def _rule_findings(
    rid: str, title: str, found: list[dict[str, Any]], evidence: Mapping[str, Any], tracked: bool, opened: bool
) -> Iterator[str]:
    """A rule's findings, one group per message (object names abstracted): the message once, then where.

    A large audit repeats one message per object; written once per group, 20,000 findings
    stay a few MB, and the filter box matches a row by its group's message too."""
    severity = sorted({str(f["severity"]) for f in found})
    yield (
        f'<details class="rule"{" open" if opened else ""}><summary>{e(rid)} {e(title)} '
        f'<span class="muted">({len(found)} {e("/".join(severity))} finding(s))</span></summary>\n'
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in found:
        groups.setdefault(template(f), []).append(f)
    yield '<table class="f fl"><tr><th>where' + ("<th>first seen" if tracked else "") + "\n"
    time = evidence["time"]
    span = ' colspan="2"' if tracked else ""
    for message, members in groups.items():
        count = f' <span class="muted">({len(members)})</span>' if len(members) > 1 else ""
        yield f'<tr class="g"><td{span}>{t(message)}{count}\n'
        for f in members:
            since = ""
            if tracked:
                how_long = ev.duration(f.get("first_seen"), time)
                since = f"<td>{t(str(f.get('first_seen') or '')[:10])}{' (' + t(how_long) + ')' if how_long else ''}"
            yield f"<tr><td>{t(ev.where(f))}{since}\n"
    yield "</table>\n</details>\n"


def _unchecked(
    result: ScanResult, bullets: list[dict[str, Any]], by_rule: Mapping[str | None, list[dict[str, Any]]]
) -> Iterator[str]:
    yield '<h2 id="unchecked">What could not be checked</h2>\n'
    items = [f"<li>{e(r)}</li>\n" for r in result.incomplete]
    items += [f"<li>GC004: {_where(f)}: {e(f['message'])}</li>\n" for f in by_rule.get("GC004", ())]
    items += [
        f"<li>{e(o.rule_id)} on <code>{e(o.target.label)}</code>: {e(o.reason)}</li>\n"
        for o in result.outcomes
        if (o.reason or "").startswith(ev.INTERNAL_ERROR)
    ]
    items += [
        f"<li>Bullet {e(b['bullet'])} ({e(b['text'])}): {e(b['why'])}</li>\n"
        for b in bullets
        if b["status"] == "not_checked"
    ]
    if items:
        yield "<ul>\n"
        yield from items
        yield "</ul>\n"
    else:
        yield "<p>Everything the enabled rules look at was read and checked.</p>\n"


def _manual(bullets: list[dict[str, Any]]) -> Iterator[str]:
    rows = [
        f"<tr><td>{e(b['bullet'])}<td>{e(b['text'])}<td>{e(m.get('what'))}"
        f"<td>{e(' '.join(str(m.get('reason')).split()))}\n"
        for b in bullets
        for m in b.get("manual_evidence") or ()
    ]
    yield '<h2 id="manual">Manual evidence needed</h2>\n'
    if rows:
        yield "<table><tr><th>bullet<th>guideline<th>what<th>why no rule checks it, and what to collect\n"
        yield from rows
        yield "</table>\n"
    else:
        yield "<p>None: every bullet is checked by rules.</p>\n"


def _suppressions(findings: list[dict[str, Any]], waivers: list[dict[str, Any]]) -> Iterator[str]:
    yield '<h2 id="waivers">Suppressions and waivers in force</h2>\n'
    if waivers:
        yield (
            '<table class="waivers"><tr><th>rules<th>scope<th>owner<th>ticket<th>expires<th class="n">findings'
            "<th>reason<th>declared at\n"
        )
        for w in waivers:
            scope = ", ".join([*w.get("paths", ()), *w.get("objects", ())]) or "everything"
            expired = ' <span class="st fail">expired</span>' if w.get("expired") else ""
            yield (
                f'<tr class="waiver"><td>{e(", ".join(w.get("rules", ())))}<td class="w">{e(scope)}'
                f"<td>{e(w.get('owner'))}<td>{e(w.get('ticket') or '-')}<td>{e(w.get('expires'))}{expired}"
                f'<td class="n">{e(w.get("findings", 0))}<td>{e(w.get("reason") or "no reason given")}'
                f'<td class="w">{e(w.get("path"))}:{e(w.get("line"))}\n'
            )
        yield "</table>\n"
    else:
        yield "<p>No waivers are configured.</p>\n"
    suppressed = [f for f in findings if f["suppressed"]]
    if not suppressed:
        yield "<p>No finding is suppressed.</p>\n"
        return
    yield (
        f'<details class="rule"{" open" if len(suppressed) <= OPEN_LIMIT else ""}><summary>'
        f"{len(suppressed)} suppressed finding(s)</summary>\n"
        '<table class="f suppressed"><tr><th>where<th>rule<th>message<th>by<th>reason\n'
    )
    for f in suppressed:
        by: dict[str, Any] = f["suppressed_by"] if isinstance(f.get("suppressed_by"), dict) else {}
        origin = str(by.get("origin") or "?")
        if origin in ("comment", "annotation") and by.get("path"):
            origin += f" at {by.get('path')}:{by.get('line')}"
        elif origin == "waiver":
            origin += f" (owner {by.get('owner')}, ticket {by.get('ticket') or '-'}, expires {by.get('expires')})"
        yield (
            f'<tr><td class="w">{_where(f)}<td>{e(f["rule_id"])}<td>{e(f["message"])}<td>{e(origin)}'
            f"<td>{e(f.get('suppression_reason') or 'no reason given')}\n"
        )
    yield "</table>\n</details>\n"


def _legend() -> str:
    return (
        "<footer><p>Statuses: "
        f"{badge('fail')} a target fails one of the bullet's rules; "
        f"{badge('partly')} its checks pass but cover only part of it (manual evidence, rules off, a check failed); "
        f"{badge('not_checked')} its rules did not run; "
        f"{badge('manual')} no rule checks it; "
        f"{badge('not_applicable')} its rules found nothing they apply to; "
        f"{badge('pass')} every target passes (waived findings counted apart).</p>"
        "<p>Generated by guidecheck. Findings are sorted by path, line and rule; the JSON report holds "
        "every outcome.</p></footer>\n"
    )


# ---------------------------------------------------------------- fleet


SHORT = {"fail": "✗", "partly": "◐", "pass": "✓", "not_checked": "?", "manual": "M", "not_applicable": "–"}


def render_fleet(fleet: Mapping[str, Any]) -> str:
    return "".join(page("guidecheck fleet view", _fleet_body(fleet)))


def _fleet_body(fleet: Mapping[str, Any]) -> Iterator[str]:
    t = fleet["totals"]
    reports = fleet["reports"]
    yield f"<header>\n<h1>Guideline compliance of the fleet: {t['reports']} report(s)</h1>\n"
    yield '<dl class="meta">\n'
    yield f"<dt>Reports from</dt><dd>{e(t['oldest'] or 'unknown')} to {e(t['newest'] or 'unknown')}</dd>\n"
    yield (
        f"<dt>Findings</dt><dd>{t['findings']} active: {t['error']} error(s), {t['warning']} warning(s), "
        f"{t['info']} info; {t['suppressed']} suppressed</dd>\n"
    )
    yield f"<dt>Bullets failing somewhere</dt><dd>{t['failing_bullets']} of {len(fleet['bullets'])}</dd>\n"
    yield "</dl>\n</header>\n"
    if t["flagged_reports"] or t["incomplete_reports"]:
        yield (
            f'<p class="banner warn">{t["flagged_reports"]} report(s) come from another tool version or rule '
            f"catalogue, {t['incomplete_reports']} are incomplete: see the flags below.</p>\n"
        )
    yield search_box("services and clusters")
    yield '<h2 id="matrix">Status by bullet and service or cluster</h2>\n'
    yield '<table class="matrix f"><tr><th>service / cluster'
    for b in fleet["bullets"]:
        yield f'<th class="b" title="{e(b["text"])}">{e(b["bullet"])}'
    yield '<th class="n">findings\n'
    for i, r in enumerate(reports):
        mark = " ⚑" if r["flags"] else ""
        yield f'<tr><td><a href="#r-{i}">{e(r["name"])}</a>{mark}'
        for b in fleet["bullets"]:
            c = b["cells"][i]
            yield (
                f'<td class="c {e(c["status"])}" title="{e(b["bullet"])} {e(ev.LABELS[c["status"]])}: '
                f'{c["findings"]} finding(s)">{SHORT[c["status"]]}'
            )
        yield f'<td class="n">{r["summary"]["findings"]}\n'
    yield "<tr><th>failing in"
    for b in fleet["bullets"]:
        yield f'<th class="n">{b["totals"]["fail"]}'
    yield f'<th class="n">{t["findings"]}\n</table>\n'
    yield (
        '<p class="muted">'
        + "; ".join(f"{SHORT[s]} {e(ev.LABELS[s])}" for s in ev.STATUSES)
        + "; ⚑ flagged (see below)</p>\n"
    )
    yield '<h2 id="bullets">Bullets across the fleet</h2>\n<table><tr><th>bullet<th>guideline<th>worst'
    yield "".join(f'<th class="n">{e(ev.LABELS[s])}' for s in ev.STATUSES) + '<th class="n">findings\n'
    for b in fleet["bullets"]:
        yield f"<tr><td>{e(b['bullet'])}<td>{e(b['text'])}<td>{badge(b['status'])}"
        yield "".join(f'<td class="n">{b["totals"][s]}' for s in ev.STATUSES) + f'<td class="n">{b["findings"]}\n'
    yield "</table>\n"
    yield '<h2 id="worst">Worst offenders</h2>\n'
    if fleet["worst"]:
        yield '<table><tr><th>service / cluster<th>failing bullets<th class="n">errors<th class="n">findings\n'
        for w in fleet["worst"]:
            note = " (incomplete)" if w["incomplete"] else ""
            yield (
                f"<tr><td>{e(w['name'])}{note}<td>{e(', '.join(w['failing_bullets']) or '-')}"
                f'<td class="n">{w["summary"]["error"]}<td class="n">{w["summary"]["findings"]}\n'
            )
        yield "</table>\n"
    else:
        yield "<p>None: no report has an active finding.</p>\n"
    if fleet["rules"]:
        yield '<h2 id="rules">Most frequent rules</h2>\n<table><tr><th>rule<th>bullet<th>title'
        yield '<th class="n">findings<th class="n">reports\n'
        for r in fleet["rules"]:
            yield (
                f"<tr><td>{e(r['rule_id'])}<td>{e(r['bullet'] or '-')}<td>{e(r['title'])}"
                f'<td class="n">{r["findings"]}<td class="n">{r["reports"]}\n'
            )
        yield "</table>\n"
    yield '<h2 id="reports">Reports</h2>\n<table class="f"><tr><th>service / cluster<th>kind<th>time<th>tool'
    yield '<th>catalogue<th>configuration<th class="n">exit<th>flags<th>file\n'
    for i, r in enumerate(reports):
        flags = "<br>".join(e(f) for f in r["flags"]) or "-"
        yield (
            f'<tr id="r-{i}"><td>{e(r["name"])}<td>{e(r["kind"])}<td>{e(r["time"] or "unknown")}'
            f"<td>{e(r['tool_version'])}<td>{short_hash(r['catalogue_hash'])}<td>{short_hash(r['config_hash'])}"
            f'<td class="n">{e(r["exit_code"])}<td>{flags}<td class="w">{e(r["file"])}\n'
        )
    yield "</table>\n"
    yield _legend()


# ---------------------------------------------------------------- diff


def render_diff(d: Mapping[str, Any]) -> str:
    return "".join(page("guidecheck diff", _diff_body(d)))


def _diff_body(d: Mapping[str, Any]) -> Iterator[str]:
    from guidecheck.fleet import diff_exit_code

    old, new, s = d["old"], d["new"], d["summary"]
    yield f'<header>\n<h1>Changes: {e(old["name"])} to {e(new["name"])}</h1>\n<dl class="meta">\n'
    for side, r in (("Old", old), ("New", new)):
        yield (
            f"<dt>{side}</dt><dd><code>{e(r['file'])}</code>, {e(r['time'] or 'time unknown')}, guidecheck "
            f"{e(r['tool_version'])}, catalogue {short_hash(r['catalogue_hash'])}, exit code {e(r['exit_code'])}</dd>\n"
        )
    yield f"<dt>Fail on</dt><dd>{e(d['fail_on'])}; exit code {diff_exit_code(d)}</dd>\n</dl>\n</header>\n"
    cls = "bad" if s["new_at_or_above_fail_on"] or new["incomplete"] else "ok"
    yield (
        f'<p class="banner {cls}" id="totals">{s["new"]} new, {s["fixed"]} fixed, {s["suppressed"]} newly '
        f"suppressed, {s['unchanged']} unchanged finding(s).</p>\n"
    )
    for flag in d["flags"]:
        yield f'<p class="banner warn">{e(flag)}</p>\n'
    yield search_box("findings")
    if d["bullets"]:
        yield '<h2 id="bullets">Bullets whose status changed</h2>\n<table><tr><th>bullet<th>guideline<th>was<th>now\n'
        for b in d["bullets"]:
            was = badge(b["old"]) if b["old"] else '<span class="muted">absent</span>'
            yield f"<tr><td>{e(b['bullet'])}<td>{e(b['text'])}<td>{was}<td>{badge(b['new'])}\n"
        yield "</table>\n"
    for key, heading, opened in (
        ("new_findings", "New findings", True),
        ("fixed_findings", "Fixed findings", True),
        ("suppressed_findings", "Newly suppressed findings", True),
        ("unchanged_findings", "Unchanged findings", False),
    ):
        found = d[key]
        yield f'<h2 id="{key}">{heading} ({len(found)})</h2>\n'
        if not found:
            continue
        since = key == "unchanged_findings"
        yield (
            f"<details{' open' if opened and len(found) <= 500 else ''}><summary>{len(found)} finding(s)</summary>\n"
            '<table class="f"><tr><th>where<th>rule<th>severity<th>message' + ("<th>first seen" if since else "") + "\n"
        )
        for f in found:
            extra = ""
            if since:
                how_long = ev.duration(f.get("first_seen"), new["time"])
                extra = f"<td>{e(str(f.get('first_seen') or '')[:10])}{' (' + e(how_long) + ')' if how_long else ''}"
            yield (
                f'<tr><td class="w">{_where(f)}<td>{e(f["rule_id"])}<td>{e(f["severity"])}'
                f"<td>{e(f['message'])}{extra}\n"
            )
        yield "</table>\n</details>\n"
