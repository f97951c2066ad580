"""The rule engine: a pure function from (rules, targets, config) to results.

For every enabled rule and every target whose kind the rule declares, run the
rule's check and record one outcome (pass / fail / not applicable /
suppressed) with its findings.  No I/O, no globals; output is sorted.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from typing import Callable

from guidecheck import suppress
from guidecheck.catalog import Rule, resolve_check
from guidecheck.checks import Context, NotApplicable, NotATarget
from guidecheck.config import Config
from guidecheck.model import Finding, Hit, Outcome, ScanResult, SourceFile, Status, Target
from guidecheck.sanitize import mask_secrets


def run(rules: list[Rule], targets: list[Target], config: Config,
        checks: dict[str, Callable] | None = None, today: _dt.date | None = None,
        baseline: frozenset[str] = frozenset(), now: _dt.datetime | None = None) -> ScanResult:
    """Run every enabled rule on every target of its kinds.

    ``today`` decides which waivers have expired (default: the real date; tests
    pass one).  ``baseline`` holds fingerprints of accepted findings (see
    :func:`fingerprint`); matching findings are suppressed as "in baseline".
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    today = today or now.date()
    targets = sorted(targets, key=lambda t: t.key)
    sources: dict[str, SourceFile] = {t.source.path: t.source for t in targets if t.source is not None}
    by_kind: dict[str, list[Target]] = {}
    for t in targets:
        by_kind.setdefault(t.kind, []).append(t)
    # 'workload': the Kubernetes objects of the configured workload kinds, so that a
    # workload rule has no outcome at all (not even "not applicable") on a ConfigMap
    workload_kinds = set(config.settings.get("workload-kinds") or ())
    by_kind["workload"] = [t for t in by_kind.get("k8s", ()) if isinstance(t.data, dict)
                           and t.data.get("kind") in workload_kinds]
    active_rules = [r for r in rules if r.status != "removed" and config.enabled(r.id)]
    findings: list[Finding] = []
    outcomes: list[Outcome] = []
    incomplete: list[str] = []
    memo: dict = {}  # cross-object indexes, built once per scan and shared by every rule (Context.cached)
    for rule in active_rules:
        check = (checks or {}).get(rule.id) or resolve_check(rule)
        severity = config.severity_for(rule.id, rule.severity)
        ctx = Context(settings=config.settings, options={**rule.options}, targets=targets, today=today, now=now,
                      memo=memo, _by_kind=by_kind)
        for kind in rule.targets:
            for target in by_kind.get(kind, ()):
                try:
                    hits = list(check(target, ctx))
                except NotATarget:
                    continue  # an object the rule never looks at: no outcome
                except NotApplicable as na:
                    outcomes.append(Outcome(rule.id, target, Status.NOT_APPLICABLE, reason=str(na) or None))
                    continue
                except Exception as exc:  # a bug in a check must not hide other results
                    incomplete.append(f"{rule.id} failed on {target.label}: {type(exc).__name__}: {exc}")
                    outcomes.append(Outcome(rule.id, target, Status.NOT_APPLICABLE,
                                            reason=f"internal error: {type(exc).__name__}"))
                    continue
                outcome_findings = [_finding(rule, severity, target, h, sources, config, today, baseline)
                                    for h in hits]
                outcome_findings.sort(key=Finding.sort_key)
                findings.extend(outcome_findings)
                if not outcome_findings:
                    status = Status.PASS
                elif all(f.suppressed for f in outcome_findings):
                    status = Status.SUPPRESSED
                else:
                    status = Status.FAIL
                reason = "; ".join(sorted({f.suppression_reason or "no reason given"
                                           for f in outcome_findings if f.suppressed})) or None
                outcomes.append(Outcome(rule.id, target, status, outcome_findings, reason))
    incomplete.extend(_unchecked(rules, config, checks, targets, by_kind, sources, today, now, baseline, memo))
    findings.sort(key=Finding.sort_key)
    outcomes.sort(key=lambda o: (o.rule_id, o.target.key))
    return ScanResult(findings=findings, outcomes=outcomes, rules=active_rules, incomplete=sorted(incomplete))


def _unchecked(rules, config: Config, checks, targets, by_kind, sources, today, now, baseline, memo) -> list[str]:
    """What a deselected gate rule (``gate: true``: GC001, GC401) would have failed: never a silent pass.

    A file that does not parse or a chart that does not render was not checked by
    any other rule; with its gate rule off, the scan says so as incomplete (exit 3).
    """
    out = []
    for rule in rules:
        if not rule.gate or rule.status == "removed" or config.enabled(rule.id):
            continue
        check = (checks or {}).get(rule.id) or resolve_check(rule)
        ctx = Context(settings=config.settings, options={**rule.options}, targets=targets, today=today, now=now,
                      memo=memo, _by_kind=by_kind)
        places = []
        for kind in rule.targets:
            for target in by_kind.get(kind, ()):
                try:
                    hits = list(check(target, ctx))
                except (NotATarget, NotApplicable):
                    continue
                except Exception as exc:
                    places.append(f"{target.label} ({type(exc).__name__})")
                    continue
                for h in hits:
                    if not h.unchecked:
                        continue  # a finding that did not keep the target from being checked
                    f = _finding(rule, rule.severity, target, h, sources, config, today, baseline)
                    if not f.suppressed:
                        places.append(f"{f.path}:{f.line}: {f.message}")
        if places:
            more = f"; and {len(places) - 3} more" if len(places) > 3 else ""
            out.append(f"{len(places)} place(s) could not be checked and {rule.id} ({rule.title}) is not "
                       f"enabled to report them: {'; '.join(sorted(places)[:3])}{more}")
    return out


def fingerprint(f: Finding) -> str:
    """Line-independent identity of a finding, for baselines and SARIF."""
    # the masked message: a fingerprint must not let a secret be guessed offline
    parts = [f.rule_id, f.path, str(f.object or ""), f.container or "", mask_secrets(f.message)]
    origin = f.extra.get("origin")
    if isinstance(origin, dict) and origin.get("profile") not in (None, "default"):
        # a rendered chart's other value profile is another deployment: its own identity
        parts.append(f"profile={origin['profile']}")
    key = "|".join(parts)
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _finding(rule: Rule, severity, target: Target, hit: Hit, sources: dict[str, SourceFile], config: Config,
             today: _dt.date, baseline: frozenset[str]) -> Finding:
    path = hit.path or target.path
    line = hit.line if hit.line is not None else target.line
    f = Finding(
        rule_id=rule.id,
        severity=severity,
        message=hit.message,
        path=path,
        line=line,
        column=hit.column,
        object=target.ref if target.kind not in ("file",) else None,
        container=hit.container,
        bullet=rule.bullet,
        remediation=rule.remediation,
        title=rule.title,
        extra=dict(hit.extra),
    )
    if target.origin:
        # keys starting with '_' are the loader's helpers: '_values' traces a template line to values files
        origin = {k: v for k, v in target.origin.items() if k not in ("span", "repo") and not k.startswith("_")}
        trace = target.origin.get("_values")
        if trace is not None and path == target.path:
            # a finding about a field the container lacks sits on the container's line: the values
            # that line reads (its name) say nothing about the field
            values = trace.about(line, hit.about) if hit.about else trace.get(line)
            if values:
                origin["values"] = values
        f.extra.setdefault("origin", origin)
        if not f.extra["origin"]:
            del f.extra["origin"]
    f.extra["fingerprint"] = fingerprint(f)
    # GC001-GC003 report on suppressions and waivers themselves: never silenced inline
    if rule.id in ("GC001", "GC002", "GC003"):
        return f
    candidates = list(target.suppressions)
    src = sources.get(path)
    if src is not None:
        candidates.extend(src.suppressions)
    s = suppress.match(candidates, rule.id, line)
    if s is not None:
        f.suppressed = True
        f.suppression_reason = s.reason
        f.extra["suppressed_by"] = {"origin": s.origin, "path": s.path, "line": s.line}
        return f
    obj = str(f.object) if f.object else None
    for w in config.waivers:
        if w.applies(rule.id, path, obj):
            if w.expired(today):
                f.extra["expired_waiver"] = {"path": w.path, "line": w.line, "expires": w.expires.isoformat()}
                continue
            f.suppressed = True
            f.suppression_reason = f"{w.reason or 'no reason given'} ({w.describe()})"
            f.extra["suppressed_by"] = {"origin": "waiver", "path": w.path, "line": w.line,
                                        "owner": w.owner, "ticket": w.ticket, "expires": w.expires.isoformat()}
            return f
    if f.extra["fingerprint"] in baseline:
        f.suppressed = True
        f.suppression_reason = "accepted in the baseline"
        f.extra["suppressed_by"] = {"origin": "baseline"}
    return f
