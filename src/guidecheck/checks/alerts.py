"""Alerting (GC505) and latency monitoring (GC904).

What is judged where (so that one gap is reported once):

* GC505 judges the alerting of a scope as a whole (the union of every alert
  source): one finding, on the repository (pinned at the first alert source),
  or, in a cluster scan, on the first alert source object.
* GC904 judges each workload a Service selects; a scope without any latency
  rule gets one finding on its repository instead of one per workload.

Alert sources are the ``alerts`` support targets of the observability loader
(rule files, provisioning, dashboards, ConfigMaps) and PrometheusRule/VMRule
objects, read through :mod:`guidecheck.parsers.alerts` (lazily for objects
read from a cluster).  A repository in which nothing is deployed is not
applicable (GC203 reports the missing chart).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from guidecheck import crossref
from guidecheck.checks import Context, NotApplicable, NotATarget
from guidecheck.checks.exposure import apiserver_backend, metrics_only, unparsed
from guidecheck.checks.obs_scope import (
    cluster_anchor,
    in_scope_workloads,
    listing,
    long_running_workload,
    owned,
    repo_scope_or_na,
    scope_name,
    services_of,
)
from guidecheck.model import Hit, Target
from guidecheck.parsers import k8s
from guidecheck.parsers.alerts import MAX_EXPR, AlertRule, AlertSource, alert_rules_of_object

SIGNALS = ("latency", "errors", "availability")


def _patterns(ctx: Context) -> dict[str, list[re.Pattern]]:
    def build(c: Context) -> dict[str, list[re.Pattern]]:
        out: dict[str, list[re.Pattern]] = {s: [] for s in SIGNALS}
        for key in ("alert-signal-patterns", "extra-alert-signal-patterns"):
            for signal, pats in k8s.as_map(c.settings.get(key)).items():
                for p in k8s.as_list(pats):
                    try:
                        out.setdefault(signal, []).append(re.compile(p, re.IGNORECASE | re.DOTALL))
                    except (re.error, TypeError):
                        continue  # the configuration loader reports invalid patterns
        return out

    return ctx.cached("obs.signal-patterns", build)


def classify(rule: AlertRule, ctx: Context) -> set[str]:
    memo = ctx.cached("obs.classified", lambda c: {})
    key = id(rule)
    if key not in memo:
        pats = _patterns(ctx)
        text = "\n".join(rule.exprs)
        text = text[:MAX_EXPR]
        memo[key] = (rule, {s for s in SIGNALS if any(p.search(text) for p in pats.get(s, ()))})
    return memo[key][1]


def _alert_sources(target: Target, ctx: Context) -> list[tuple[Target, AlertSource]]:
    """Alert sources in scope (files, ConfigMaps, PrometheusRules), sorted by place; the target's own included."""
    return ctx.memoized(
        "obs.alert-sources", crossref.view_key(target, ctx), lambda: _collect_alert_sources(target, ctx)
    )


def _collect_alert_sources(target: Target, ctx: Context) -> list[tuple[Target, AlertSource]]:
    out = [(t, t.data) for t in crossref.related_support(target, ctx, "alerts") if isinstance(t.data, AlertSource)]
    covered = ctx.cached(
        "obs.alert-owners",
        lambda c: {id(t.data.owner) for t in c.of_kind("alerts") if isinstance(t.data, AlertSource) and t.data.owner},
    )
    kinds = ("PrometheusRule", "VMRule", "ConfigMap")
    objs = crossref.related_among(target, ctx, _alert_objects(target, ctx))
    if target.kind == "k8s" and isinstance(target.data, dict) and target.data.get("kind") in kinds:
        objs.append(target)
    for o in objs:
        if id(o) in covered:
            continue
        src = _lazy_alert_source(o, ctx)
        if src is not None:
            out.append((o, src))
    out.sort(key=lambda ts: (ts[1].path, ts[1].line))
    return out


def _alert_objects(target: Target, ctx: Context) -> list[tuple[int, Target]]:
    """The objects of ``target``'s scope that hold alerting rules of their own, as ``(load position, object)``.

    Once per scope, so that each target's alert sources are a filter of the few that hold rules rather
    than of every ConfigMap in scope.
    """

    def compute() -> list[tuple[int, Target]]:
        pairs = crossref.kind_positions(target, ctx, ("PrometheusRule", "VMRule", "ConfigMap"))
        return [(pos, o) for pos, o in pairs if _lazy_alert_source(o, ctx) is not None]

    return ctx.memoized("obs.alert-objects", crossref.scope(target), compute)


def _lazy_alert_source(o: Target, ctx: Context) -> AlertSource | None:
    return ctx.memoized("obs.lazy-alerts", id(o), lambda: alert_rules_of_object(o.data, o.path, o.line, owner=o))


def _own_alert_source(o: Target, ctx: Context) -> AlertSource | None:
    by_owner = ctx.cached(
        "obs.alerts-by-owner",
        lambda c: {
            id(t.data.owner): t.data for t in c.of_kind("alerts") if isinstance(t.data, AlertSource) and t.data.owner
        },
    )
    return by_owner.get(id(o)) or _lazy_alert_source(o, ctx)


def alert_thresholds(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC505: threshold alerts for latency, errors and availability in the scope's alerting."""
    if target.kind == "repo":
        sources = _alert_sources(target, ctx)
        if not sources:
            repo_scope_or_na(target, ctx)
            yield Hit(
                "no alerting rules found (PrometheusRule, Prometheus rule file, Grafana alert provisioning "
                "or dashboard alerts): no threshold alert for latency, errors or availability"
            )
            return
        yield from _judge_alerting(sources, ctx)
        return
    if cluster_anchor(target, ctx) and not _alert_sources(target, ctx):
        yield Hit(
            f"no alerting rules found in {scope_name(target)} (PrometheusRule, VMRule, or Grafana "
            f"alerting in a ConfigMap): no threshold alert for latency, errors or availability; "
            f"reported once, on the first workload"
        )
        return
    if not isinstance(target.data, dict) or target.data.get("kind") not in ("PrometheusRule", "VMRule", "ConfigMap"):
        raise NotATarget("not an alert source")
    own = _own_alert_source(target, ctx)
    if own is None:
        raise NotATarget("no alerting rules")
    if crossref.repo_target(target, ctx) is not None:
        raise NotATarget("judged with the whole repository")
    sources = _alert_sources(target, ctx)
    anchor = min((t for t, _ in sources if t.kind == "k8s"), key=lambda t: t.key, default=None)
    if anchor is not target:
        raise NotATarget("judged on the scope's first alert source")
    yield from _judge_alerting(sources, ctx, pin=False)


def _judge_alerting(sources: list[tuple[Target, AlertSource]], ctx: Context, pin: bool = True) -> Iterator[Hit]:
    covered: dict[str, AlertRule] = {}
    unthresholded: dict[str, list[AlertRule]] = {}
    n_alerts = 0
    for _, src in sources:
        for r in src.rules:
            if r.kind != "alert":
                continue
            n_alerts += 1
            for s in classify(r, ctx):
                if r.threshold:
                    covered.setdefault(s, r)
                else:
                    unthresholded.setdefault(s, []).append(r)
    missing = [s for s in SIGNALS if s not in covered]
    if not missing:
        return
    first = sources[0][1]
    files = sorted({s.path for _, s in sources})
    msg = f"no threshold alert for {' / '.join(missing)} among {n_alerts} alert(s) in {listing(files, 3)}"
    have = [f"{s}: '{covered[s].name}'" for s in SIGNALS if s in covered]
    if have:
        msg += f" (found {', '.join(have)})"
    near = [
        f"'{r.name}' ({r.path}:{r.line}) looks like {s} but compares against no threshold"
        for s in missing
        for r in unthresholded.get(s, [])[:1]
    ]
    if near:
        msg += "; " + "; ".join(near)
    if pin:
        yield Hit(msg, path=first.path, line=first.line, extra={"missing": missing})
    else:
        yield Hit(msg, extra={"missing": missing})


# ------------------------------------------------------------------ GC904 latency monitoring


def _latency_rules(target: Target, ctx: Context) -> list[AlertRule]:
    return ctx.memoized(
        "obs.latency-rules",
        crossref.view_key(target, ctx),
        lambda: [r for _, src in _alert_sources(target, ctx) for r in src.rules if "latency" in classify(r, ctx)],
    )


_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\')')
_METRIC = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def _service_names(target: Target, services: list[Target], ctx: Context) -> set[str]:
    obj = target.data
    names = {crossref.name(obj)} | {crossref.name(s.data) for s in services}
    labels = k8s.pod_labels(obj)
    for key in ctx.settings.get("service-name-labels") or ():
        v = labels.get(key)
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            names.add(str(v))
    return {n for n in names if isinstance(n, str) and len(n) >= 2}


def refers_to(rule: AlertRule, names: set[str]) -> bool:
    """Whether a rule's selectors (label matchers, metric name prefix) or its labels name the service."""
    for expr in rule.exprs:
        expr = expr[:MAX_EXPR]
        for _label, op, dq, sq in _MATCHER.findall(expr):
            value = dq or sq
            if op == "=":
                if value in names or value.rsplit("/", 1)[-1] in names:
                    return True
            elif op == "=~":
                # a Go regular expression from the scanned rule: matched with RE2, never a hang (goregex)
                from guidecheck import goregex

                if goregex.compile_go(value) is None:
                    continue
                if any(goregex.fullmatch(value, n) for n in names):
                    return True
        prefixes = tuple(re.sub(r"[^A-Za-z0-9]", "_", n).lower() + "_" for n in names)
        for tok in _METRIC.findall(re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)):
            if any(part.lower().startswith(prefixes) for part in tok.split(":")):
                return True
    return any(v in names for v in rule.labels.values())


_LITERALS = re.compile(r"[A-Za-z0-9_\-|]*")  # a regular expression that is a list of literal alternatives


def rule_keys(rule: AlertRule) -> set[tuple[str, str]] | None:
    """The names :func:`refers_to` may find ``rule`` referring to, as keys; None when it may refer to any.

    ``("n", name)``: a label matcher's value (``=``, or ``=~`` with literal alternatives) or a label
    value naming the service; ``("m", prefix)``: a metric name part starts with ``prefix``, up to and
    including one of its underscores (a service ``cart`` is found by ``cart_``). A regular expression
    matcher of any other form may match any name.
    """
    keys: set[tuple[str, str]] = set()
    for expr in rule.exprs:
        expr = expr[:MAX_EXPR]
        for _label, op, dq, sq in _MATCHER.findall(expr):
            value = dq or sq
            if op == "=":
                keys.update((("n", value), ("n", value.rsplit("/", 1)[-1])))
            elif op == "=~":
                if not _LITERALS.fullmatch(value):
                    return None
                keys.update(("n", v) for v in value.split("|"))
        for tok in _METRIC.findall(re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)):
            for part in tok.split(":"):
                low = part.lower()
                keys.update(("m", low[: i + 1]) for i, ch in enumerate(low) if ch == "_")
    for v in rule.labels.values():
        if not isinstance(v, str):
            return None
        keys.add(("n", v))
    return keys


def name_keys(names: set[str]) -> set[tuple[str, str]]:
    """The keys of :func:`rule_keys` under which a rule referring to one of ``names`` is filed."""
    return {("n", n) for n in names} | {("m", re.sub(r"[^A-Za-z0-9]", "_", n).lower() + "_") for n in names}


def _rule_keys_of(rule: AlertRule, ctx: Context) -> set[tuple[str, str]] | None:
    """:func:`rule_keys`, once per rule (a rule is seen by every view of its scope)."""
    return ctx.memoized("obs.rule-keys", id(rule), lambda: (rule, rule_keys(rule)))[1]  # the rule kept: its id


def _latency_index(target: Target, ctx: Context) -> tuple[list[AlertRule], dict[tuple[str, str], list[AlertRule]]]:
    """The view's latency rules by :func:`rule_keys`: (rules that may refer to any name, rules by key)."""

    def compute() -> tuple[list[AlertRule], dict[tuple[str, str], list[AlertRule]]]:
        anywhere: list[AlertRule] = []
        by_key: dict[tuple[str, str], list[AlertRule]] = {}
        for r in _latency_rules(target, ctx):
            keys = _rule_keys_of(r, ctx)
            if keys is None:
                anywhere.append(r)
            for key in keys or ():
                by_key.setdefault(key, []).append(r)
        return anywhere, by_key

    return ctx.memoized("obs.latency-index", crossref.view_key(target, ctx), compute)


def _covered(target: Target, ctx: Context) -> bool:
    """Whether a latency rule refers to the workload (memoised per workload)."""
    memo = ctx.cached("obs.latency-covered", lambda c: {})
    if id(target) not in memo:
        names = _service_names(target, services_of(target, ctx), ctx)
        anywhere, by_key = _latency_index(target, ctx)
        candidates = [*anywhere, *(r for key in name_keys(names) for r in by_key.get(key, ()))]
        memo[id(target)] = (target, any(refers_to(r, names) for r in candidates))
    return memo[id(target)][1]


def _request_services(target: Target, ctx: Context) -> list[Target]:
    """The Services selecting the workload's pods for more than metrics (fluent-operator's metrics Service is
    scraped, not called: no response time to monitor) and not only for the kube-apiserver (an admission
    webhook's Service, whose latency the API server's own metrics report)."""
    return [
        sv
        for sv in services_of(target, ctx)
        if not metrics_only(sv.data, ctx) and not apiserver_backend(sv.data, ctx, target.data)
    ]


def _served_workloads(target: Target, ctx: Context) -> list[Target]:
    """Long-running workloads of the scope that a Service selects (the services whose latency matters)."""
    return [w for w in in_scope_workloads(target, ctx) if _request_services(w, ctx)]


def _any_covered_served(target: Target, ctx: Context) -> bool:
    """Whether a latency rule refers to one of :func:`_served_workloads` of ``target``.

    The served and covered workloads of a scope are found once; each target then asks whether it
    may see one of them, instead of walking every workload of the scope.
    """

    def compute() -> list[tuple[int, Target]]:
        kinds = tuple(ctx.settings.get("workload-kinds") or ())
        return [
            (pos, w)
            for pos, w in crossref.kind_positions(target, ctx, kinds)
            if k8s.is_long_running(w.data) and not owned(w.data) and _request_services(w, ctx) and _covered(w, ctx)
        ]

    covered = ctx.memoized("obs.covered-served", crossref.scope(target), compute)
    return bool(crossref.related_among(target, ctx, covered))


def latency_monitoring(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC904: a latency alert or recording rule whose selectors refer to the service."""
    if target.kind == "repo":
        rules = _latency_rules(target, ctx)
        if not rules:
            repo_scope_or_na(target, ctx)
            workloads = in_scope_workloads(target, ctx)
            prefix = crossref.repo_prefix(target)
            if workloads and not any(_request_services(w, ctx) for w in workloads) and not unparsed(ctx, prefix):
                # kubewatch: Pods that watch the cluster and post to webhooks, behind no Service
                raise NotApplicable(
                    "no Service selects a workload of the repository (other than for metrics): it serves no "
                    "requests whose response time to monitor"
                )
            yield Hit(
                "no latency alert or recording rule (e.g. histogram_quantile over a request duration "
                f"histogram) monitors response times{crossref.looked_in(target, ctx)}"
            )
            return
        served = _served_workloads(target, ctx)
        if served and not any(_covered(w, ctx) for w in served):
            shown = listing([f"'{r.name}' ({r.path}:{r.line})" for r in rules], 2)
            yield Hit(
                f"no latency rule refers to any of the {len(served)} service(s) of this repository in its "
                f"selectors (latency rules found: {shown})"
            )
        return
    obj = target.data
    if not isinstance(obj, dict) or obj.get("kind") not in (ctx.settings.get("workload-kinds") or ()):
        raise NotATarget("not a workload")
    obj = long_running_workload(target, ctx)
    services = _request_services(target, ctx)
    if not services:
        raise NotApplicable(
            "no Service selects its pods (other than for metrics): it serves no requests whose response time to monitor"
        )
    rules = _latency_rules(target, ctx)
    has_repo = crossref.repo_target(target, ctx) is not None
    if not rules and has_repo:
        raise NotApplicable("no latency rule in this repository at all: reported once on the repository")
    if _covered(target, ctx):
        return
    if not rules:
        yield Hit(
            "no latency alert or recording rule in scope monitors the response time of this service"
            f"{crossref.looked_in(target, ctx)}"
        )
        return
    if has_repo and not _any_covered_served(target, ctx):
        raise NotApplicable("no latency rule refers to any service of this repository: reported once on the repository")
    names = _service_names(target, services, ctx)
    shown = listing([f"'{r.name}' ({r.path}:{r.line})" for r in rules], 2)
    yield Hit(
        f"no latency rule refers to this service ({', '.join(sorted(names))}) in its selectors; "
        f"latency rules found: {shown}"
    )


__all__ = ["SIGNALS", "alert_thresholds", "classify", "latency_monitoring", "refers_to"]
