"""The rule engine: a pure function from (rules, targets, config) to results.

For every enabled rule and every target whose kind the rule declares, run the
rule's check and record one outcome (pass / fail / not applicable /
suppressed) with its findings.  No I/O (except the warning about deprecated
rules, see :func:`run`), no globals; output is sorted.

What the catalogue says about a rule is obeyed here: ``status`` (preview rules
run only when opted in, see :meth:`Config.runs`; deprecated ones warn),
``suppressible: false`` (nothing silences the findings) and ``options`` (passed
to the check as ``Context.options``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from guidecheck import suppress
from guidecheck.catalog import Check, load_settings, resolve_check
from guidecheck.checks import Context, NotApplicable, NotATarget
from guidecheck.config import Config
from guidecheck.model import Finding, Hit, Outcome, Rule, ScanResult, Severity, SourceFile, Status, Target
from guidecheck.sanitize import mask_secrets

if TYPE_CHECKING:
    from guidecheck.baseline import Roots


def run(
    rules: list[Rule],
    targets: list[Target],
    config: Config,
    checks: dict[str, Check] | None = None,
    today: _dt.date | None = None,
    baseline: frozenset[str] = frozenset(),
    now: _dt.datetime | None = None,
    warn: Callable[[str], object] | None = None,
    roots: Roots | None = None,
) -> ScanResult:
    """Run every enabled rule on every target of its kinds.

    ``today`` decides which waivers have expired (default: the real date; tests
    pass one).  ``baseline`` holds fingerprints of accepted findings (see
    :func:`fingerprint`); matching findings are suppressed as "in baseline".
    Each enabled deprecated rule is announced once through ``warn`` (default: a
    line on stderr).  ``roots`` makes fingerprints relative to the scanned root
    (:class:`guidecheck.baseline.Roots`; ``None``: the paths as they are).
    """
    now = now or _dt.datetime.now(_dt.UTC)
    today = today or now.date()
    targets = sorted(targets, key=lambda t: t.key)
    sources: dict[str, SourceFile] = {t.source.path: t.source for t in targets if t.source is not None}
    by_kind = _by_kind(targets, config)
    active_rules = _active(rules, config, warn or _stderr)
    findings: list[Finding] = []
    outcomes: list[Outcome] = []
    incomplete: list[str] = []
    memo: dict[str, Any] = {}  # cross-object indexes, built once per scan and shared by every rule (Context.cached)
    ends = _prefetch(active_rules, checks, by_kind, config.settings)

    def prepare(rule: Rule) -> tuple[Check, Context]:
        """The rule's check and its Context: the rule's own options, the scan's targets, clock and memo."""
        ctx = Context(
            settings=config.settings,
            options={**rule.options},
            targets=targets,
            today=today,
            now=now,
            memo=memo,
            _by_kind=by_kind,
            specs=load_settings(),
        )
        return (checks or {}).get(rule.id) or resolve_check(rule), ctx

    try:
        for rule in active_rules:
            if not any(by_kind.get(kind) for kind in rule.targets):
                continue  # nothing to check: the rule's module is not even imported (a pre-commit run)
            check, ctx = prepare(rule)
            severity = config.severity_for(rule.id, rule.severity)
            for kind in rule.targets:
                for target in by_kind.get(kind, ()):
                    try:
                        hits = list(check(target, ctx))
                    except NotATarget:
                        continue  # an object the rule never looks at: no outcome
                    except NotApplicable as na:
                        outcomes.append(Outcome(rule.id, target, Status.NOT_APPLICABLE, reason=str(na) or None))
                        continue
                    except Exception as exc:  # noqa: BLE001 - a bug in a check must not hide other results
                        incomplete.append(f"{rule.id} failed on {target.label}: {type(exc).__name__}: {exc}")
                        outcomes.append(
                            Outcome(
                                rule.id, target, Status.NOT_APPLICABLE, reason=f"internal error: {type(exc).__name__}"
                            )
                        )
                        continue
                    outcome_findings = [
                        _finding(rule, severity, target, h, sources, config, today, baseline, roots) for h in hits
                    ]
                    incomplete.extend(
                        f"{f.path}:{f.line}: {rule.id} {f.message}"
                        for h, f in zip(hits, outcome_findings, strict=True)
                        if h.incomplete  # suppressed or not: the document was not checked to the end
                    )
                    outcome_findings.sort(key=Finding.sort_key)
                    findings.extend(outcome_findings)
                    outcome = _outcome(rule, target, outcome_findings)
                    if outcome.status is Status.PASS and ctx.evidence:
                        outcome.reason = ctx.evidence.pop(id(target), None)
                    outcomes.append(outcome)
    finally:
        for end_prefetch in ends:
            end_prefetch()
    incomplete.extend(_unchecked(rules, config, prepare, by_kind, sources, today, baseline, roots))
    findings = _merge_units(findings, outcomes)
    findings.sort(key=Finding.sort_key)
    findings = merge_same_identity(findings)
    outcomes.sort(key=lambda o: (o.rule_id, o.target.key))
    return ScanResult(findings=findings, outcomes=outcomes, rules=active_rules, incomplete=sorted(incomplete))


def _prefetch(
    rules: list[Rule], checks: dict[str, Check] | None, by_kind: dict[str, list[Target]], settings: dict[str, Any]
) -> list[Callable[[], None]]:
    """Start the background work of checks that have some (``check.prefetch(targets, settings)``), before any
    rule runs; returns what stops it (``check.end_prefetch``), called once every rule ran.

    GC902's validator runs in a worker process this way, on the second core, while the other rules run in
    this one; the findings are the same as without it.
    """
    ends: list[Callable[[], None]] = []
    for rule in rules:
        kinds = [k for k in rule.targets if by_kind.get(k)]
        if not kinds:
            continue
        check = (checks or {}).get(rule.id) or resolve_check(rule)
        start = getattr(check, "prefetch", None)
        if start is None:
            continue
        try:
            start([t for k in kinds for t in by_kind[k]], settings)
        except Exception:  # noqa: BLE001 - background work is an optimisation: the check does the work itself
            continue
        ends.append(check.end_prefetch)  # type: ignore[attr-defined]
    return ends


def _by_kind(targets: list[Target], config: Config) -> dict[str, list[Target]]:
    by_kind: dict[str, list[Target]] = {}
    for t in targets:
        by_kind.setdefault(t.kind, []).append(t)
    # 'workload': the Kubernetes objects of the configured workload kinds, so that a
    # workload rule has no outcome at all (not even "not applicable") on a ConfigMap
    workload_kinds = set(config.settings.get("workload-kinds") or ())
    by_kind["workload"] = [
        t for t in by_kind.get("k8s", ()) if isinstance(t.data, dict) and t.data.get("kind") in workload_kinds
    ]
    return by_kind


def _active(rules: list[Rule], config: Config, warn: Callable[[str], object]) -> list[Rule]:
    """The rules that run (see Config.runs); each deprecated one among them is announced through ``warn``."""
    active = [r for r in rules if config.runs(r.id, r.status)]
    for rule in active:
        if rule.status == "deprecated":
            warn(
                f"guidecheck: warning: rule {rule.id} ({rule.title}) is deprecated and will be "
                f"removed; leave it out (--ignore {rule.id}) to silence this warning"
            )
    return active


def _outcome(rule: Rule, target: Target, findings: list[Finding]) -> Outcome:
    if not findings:
        status = Status.PASS
    elif all(f.suppressed for f in findings):
        status = Status.SUPPRESSED
    else:
        status = Status.FAIL
    reason = "; ".join(sorted({f.suppression_reason or "no reason given" for f in findings if f.suppressed})) or None
    return Outcome(rule.id, target, status, findings, reason)


def merge_same_identity(findings: list[Finding]) -> list[Finding]:
    """One problem is one finding: findings sharing a fingerprint (sorted) are merged into the first.

    Two findings with one identity cannot be told apart by a baseline or a SARIF consumer; they are one
    problem seen twice (a template rendered on its own and again inside a parent chart, one command
    pushed from two places). The first one (an active one before a suppressed one) is kept, and the
    other places are listed in its ``also_at`` (path, line, and the chart that rendered it).
    """
    kept: dict[str, int] = {}
    out: list[Finding] = []
    for f in findings:
        fp = f.extra.get("fingerprint")
        i = kept.get(fp) if isinstance(fp, str) else None
        if i is None:
            if isinstance(fp, str):
                kept[fp] = len(out)
            out.append(f)
            continue
        first = out[i]
        if first.suppressed and not f.suppressed:
            out[i], first, f = f, f, first
        also = first.extra.setdefault("also_at", [])
        place: dict[str, Any] = {"path": f.path, "line": f.line}
        chart = (f.extra.get("origin") or {}).get("chart") if isinstance(f.extra.get("origin"), dict) else None
        if chart:
            place["chart"] = chart
        if place not in also and (place["path"], place["line"], chart) != (
            first.path,
            first.line,
            (first.extra.get("origin") or {}).get("chart"),
        ):
            also.append(place)
        for more in f.extra.get("also_at", ()):
            if more not in also:
                also.append(more)
        if not also:
            del first.extra["also_at"]
    return out


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


def _unchecked(
    rules: list[Rule],
    config: Config,
    prepare: Callable[[Rule], tuple[Check, Context]],
    by_kind: dict[str, list[Target]],
    sources: dict[str, SourceFile],
    today: _dt.date,
    baseline: frozenset[str],
    roots: Roots | None = None,
) -> list[str]:
    """What a deselected gate rule (``gate: true``: GC001, GC401) would have failed: never a silent pass.

    A file that does not parse or a chart that does not render was not checked by
    any other rule; with its gate rule off, the scan says so as incomplete (exit 3).
    """
    out: list[str] = []
    for rule in rules:
        if not rule.gate or rule.status == "removed" or config.runs(rule.id, rule.status):
            continue
        if not any(by_kind.get(kind) for kind in rule.targets):
            continue
        check, ctx = prepare(rule)
        places: list[str] = []
        for kind in rule.targets:
            for target in by_kind.get(kind, ()):
                try:
                    hits = list(check(target, ctx))
                except (NotATarget, NotApplicable):
                    continue
                except Exception as exc:  # noqa: BLE001 - a check's bug: the place was not checked either
                    places.append(f"{target.label} ({type(exc).__name__})")
                    continue
                for h in hits:
                    if not h.unchecked:
                        continue  # a finding that did not keep the target from being checked
                    f = _finding(rule, rule.severity, target, h, sources, config, today, baseline, roots)
                    if not f.suppressed:
                        places.append(f"{f.path}:{f.line}: {f.message}")
        if places:
            more = f"; and {len(places) - 3} more" if len(places) > 3 else ""
            out.append(
                f"{len(places)} place(s) could not be checked and {rule.id} ({rule.title}) is not "
                f"enabled to report them: {'; '.join(sorted(places)[:3])}{more}"
            )
    return out


def _merge_units(findings: list[Finding], outcomes: list[Outcome]) -> list[Finding]:
    """One finding per source line for a defect several rendered kustomizations share, listing them.

    A base line rendered by three overlays is one defect: the finding keeps its place (the base or
    patch line), lists every unit it holds in (``extra["units"]``), and its fingerprint, which never
    includes the unit, stays the same when an overlay is added.
    """
    kept: dict[tuple[object, ...], Finding] = {}
    replaced: dict[int, Finding] = {}
    out: list[Finding] = []
    for f in findings:
        origin = f.extra.get("origin")
        if not (isinstance(origin, dict) and origin.get("unit_kind") == "kustomize"):
            out.append(f)
            continue
        key = (f.rule_id, f.path, f.line, f.column, f.message, str(f.object or ""), f.container, f.suppressed)
        first = kept.get(key)
        if first is None:
            kept[key] = f
            out.append(f)
            continue
        units = sorted(set(first.extra.get("units") or ()) | set(f.extra.get("units") or ()))
        first.extra["units"] = units
        objects = {**(first.extra.get("rendered") or {}), **(f.extra.get("rendered") or {})}
        first.extra["rendered"] = dict(sorted(objects.items()))
        replaced[id(f)] = first
    if replaced:
        for o in outcomes:
            if any(id(f) in replaced for f in o.findings):
                merged: list[Finding] = []
                for f in o.findings:
                    g = replaced.get(id(f), f)
                    if all(g is not h for h in merged):
                        merged.append(g)
                o.findings = merged
    return out


def fingerprint(f: Finding, roots: Roots | None = None) -> str:
    """Line-independent identity of a finding, for baselines and SARIF.

    With ``roots``, the path (and any path the message quotes) is relative to the scanned
    root, so the same tree gives the same fingerprints however its path is spelled.
    """
    path, root = roots.relative(f.path) if roots else (f.path, None)
    message = roots.message(f.message, root) if roots else f.message
    obj = f.object
    if obj is not None and obj.name == f.path and obj.kind != "Repository":  # a Dockerfile is named by its path
        obj = dataclasses.replace(obj, name=path)
    # the masked message: a fingerprint must not let a secret be guessed offline
    parts = [f.rule_id, path, str(obj or ""), f.container or "", mask_secrets(message)]
    origin = f.extra.get("origin")
    if isinstance(origin, dict) and origin.get("profile") not in (None, "default"):
        # a rendered chart's other value profile is another deployment: its own identity
        parts.append(f"profile={origin['profile']}")
    key = "|".join(parts)
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _finding(
    rule: Rule,
    severity: Severity,
    target: Target,
    hit: Hit,
    sources: dict[str, SourceFile],
    config: Config,
    today: _dt.date,
    baseline: frozenset[str],
    roots: Roots | None = None,
) -> Finding:
    path = hit.path or target.path
    line = hit.line if hit.line is not None else target.line
    column = hit.column
    where = target.origin.get("_where") if target.origin else None
    if where and hit.path is None and line in where:
        path, line = where[line]  # a rendered kustomization's field set by a patch or the kustomization
    source_ref = target.origin.get("_source_ref") if target.origin else None
    f = Finding(
        rule_id=rule.id,
        severity=min(severity, hit.severity) if hit.severity is not None else severity,
        message=hit.message,
        path=path,
        line=line,
        column=column,
        # a rendered kustomization's object is named as its source file names it: one identity for every overlay
        object=hit.obj or source_ref or (target.ref if target.kind not in ("file",) else None),
        container=hit.container,
        bullet=rule.bullet,
        remediation=rule.remediation,
        title=rule.title,
        extra=dict(hit.extra),
    )
    if target.origin:
        _add_origin(f, target, hit)
    f.extra["fingerprint"] = fingerprint(f, roots)
    # suppressible: false (GC001-GC003 report on unreadable files, suppressions and waivers themselves):
    # no inline suppression, waiver or baseline silences them
    if rule.suppressible:
        _suppress(f, target, sources, config, today, baseline)
    return f


def _add_origin(f: Finding, target: Target, hit: Hit) -> None:
    # keys starting with '_' are the loader's helpers: '_values' traces a template line to values files
    origin = {k: v for k, v in target.origin.items() if k not in ("span", "repo", "unit") and not k.startswith("_")}
    unit = target.origin.get("unit")
    if isinstance(unit, str):
        f.extra["units"] = [unit]  # the deployment unit (docs/kustomize.md); several when a defect is shared
        if target.origin.get("_source_ref") is not None:
            f.extra["rendered"] = {unit: str(target.ref)}  # the object as that unit deploys it
    trace = target.origin.get("_values")
    if trace is not None and f.path == target.path:
        # a finding about a field the container lacks sits on the container's line: the values
        # that line reads (its name) say nothing about the field
        values = trace.about(f.line, hit.about) if hit.about else trace.get(f.line)
        if values:
            origin["values"] = values
    f.extra.setdefault("origin", origin)
    if not f.extra["origin"]:
        del f.extra["origin"]


def _suppress(
    f: Finding,
    target: Target,
    sources: dict[str, SourceFile],
    config: Config,
    today: _dt.date,
    baseline: frozenset[str],
) -> None:
    """Mark the finding suppressed by the first that applies: inline suppression, waiver, baseline."""
    candidates = list(target.suppressions)
    src = sources.get(f.path)
    if src is not None:
        candidates.extend(src.suppressions)
    s = suppress.match(candidates, f.rule_id, f.line)
    if s is not None:
        f.suppressed = True
        f.suppression_reason = s.reason
        f.extra["suppressed_by"] = {"origin": s.origin, "path": s.path, "line": s.line}
        return
    obj = str(f.object) if f.object else None
    for w in config.waivers:
        if w.applies(f.rule_id, f.path, obj):
            if w.expired(today):
                f.extra["expired_waiver"] = {"path": w.path, "line": w.line, "expires": w.expires.isoformat()}
                continue
            f.suppressed = True
            f.suppression_reason = f"{w.reason or 'no reason given'} ({w.describe()})"
            f.extra["suppressed_by"] = {
                "origin": "waiver",
                "path": w.path,
                "line": w.line,
                "owner": w.owner,
                "ticket": w.ticket,
                "expires": w.expires.isoformat(),
            }
            return
    if f.extra["fingerprint"] in baseline:
        f.suppressed = True
        f.suppression_reason = "accepted in the baseline"
        f.extra["suppressed_by"] = {"origin": "baseline"}
