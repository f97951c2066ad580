"""Observability rules: metrics (GC501), logs (GC503, GC504), alerts (GC505) and latency monitoring (GC904).

What is judged where (so that one gap is reported once):

* GC501 judges each long-running workload: a container port 9100 and a scrape
  path to it at /metrics (pod-template or Service ``prometheus.io/*``
  annotations, a ServiceMonitor selecting a Service of it, a PodMonitor
  selecting its pods, named ports resolved).
* GC503/GC504 judge each Fluent Bit *pipeline*.  A pipeline read from a file
  (classic or YAML format, chart values) is reported by the repository target
  at that file; a pipeline in a ConfigMap by the ConfigMap itself (this also
  works for objects read from a cluster).  A repository whose scope holds no
  pipeline at all gets one finding on the repository.  Workloads are judged
  only where they carry Fluent Bit annotations (``fluentbit.io/exclude``,
  ``fluentbit.io/parser``).
* GC505 judges the alerting of a scope as a whole (the union of every alert
  source): one finding, on the repository (pinned at the first alert source),
  or, in a cluster scan, on the first alert source object.
* GC904 judges each workload a Service selects; a scope without any latency
  rule gets one finding on its repository instead of one per workload.

A repository in which nothing is deployed (no long-running workload and no
observability configuration, e.g. a library with a Dockerfile) is not
applicable to the repository-level parts: GC203 already reports the missing
chart, and before Helm rendering a chart's workloads are not visible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from guidecheck import crossref
from guidecheck.parsers import k8s
from guidecheck.checks import Context, NotApplicable, NotATarget, workload_containers, workload_object
from guidecheck.loaders.observability import (FLUENT_OPERATOR_KINDS, MAX_EXPR, AlertRule, AlertSource, Pipeline,
                                              Section, alert_rules_of_object, pipeline_of_configmap,
                                              pipeline_of_fluent_operator)
from guidecheck.model import Hit, Target

SIGNALS = ("latency", "errors", "availability")
_TRUE = ("on", "true", "yes", "1")

# ------------------------------------------------------------------ shared helpers


def _owned(obj: dict) -> str | None:
    for ref in k8s.as_list(k8s.get(obj, "metadata", "ownerReferences")):
        ref = k8s.as_map(ref)
        if ref.get("controller") is True:
            return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def _long_running_workload(target: Target, ctx: Context) -> dict:
    obj = workload_object(target, ctx)
    if not k8s.is_long_running(obj):
        raise NotApplicable(f"a {obj.get('kind')} runs to completion")
    owner = _owned(obj)
    if owner:
        raise NotApplicable(f"managed by {owner}, which is judged instead")
    return obj


def _services(target: Target, ctx: Context) -> list[Target]:
    """Services selecting the workload's pods (memoised: GC501 and GC904 both ask)."""
    return ctx.memoized("obs.services-for", id(target), lambda: crossref.services_for(target, ctx))


def _where(t: Target) -> str:
    return f"{t.path}:{t.line}"


def _obj_label(t: Target) -> str:
    ref = t.ref
    return f"{ref.kind} '{ref.name}'"


def _in_scope_workloads(target: Target, ctx: Context) -> list[Target]:
    kinds = tuple(ctx.settings.get("workload-kinds") or ())
    return [t for t in crossref.related(target, ctx, kinds=kinds)
            if k8s.is_long_running(t.data) and not _owned(t.data)]


def _deploys_something(target: Target, ctx: Context) -> bool:
    """A repository scope holds something deployed: a long-running workload or observability configuration."""
    def build(c: Context) -> set[str]:
        kinds = set(c.settings.get("workload-kinds") or ())
        out = set()
        for t in c.of_kind("k8s"):
            if isinstance(t.data, dict) and t.data.get("kind") in kinds and k8s.is_long_running(t.data):
                out.add(crossref.scope(t))
        for kind in ("fluentbit", "alerts"):
            for t in c.of_kind(kind):
                out.add(crossref.scope(t))
        return out

    return crossref.scope(target) in ctx.cached("obs.deploying-scopes", build)


def _cluster_anchor(target: Target, ctx: Context) -> bool:
    """Whether ``target`` carries the findings about what a whole cluster scope lacks.

    A repository scan reports a missing Fluent Bit pipeline or alerting once, on the repository. A
    cluster audit has no repository target: there the scope's first long-running workload (in report
    order) carries the finding, so that it is reported once per cluster, not silently dropped and not
    repeated on every workload.
    """
    obj = target.data
    if crossref.repo_target(target, ctx) is not None or not isinstance(obj, dict):
        return False
    if obj.get("kind") not in (ctx.settings.get("workload-kinds") or ()) or not k8s.is_long_running(obj) \
            or _owned(obj):
        return False
    first = ctx.memoized("obs.cluster-anchor", crossref.view_key(target),
                         lambda: min([target, *_in_scope_workloads(target, ctx)], key=lambda t: t.key))
    return first is target


def _scope_name(target: Target) -> str:
    return crossref.scope(target) or "this scan"


def _repo_scope_or_na(target: Target, ctx: Context) -> None:
    if not _deploys_something(target, ctx):
        raise NotApplicable("nothing in this directory is deployed (no long-running workload, no Fluent Bit or "
                            "alerting configuration); GC203 reports a missing chart")


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _listing(items: list[str], limit: int = 4) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


# ------------------------------------------------------------------ GC501 metrics


@dataclass
class _Route:
    via: str
    port: int | None  # pod port reached; None: the pod's address without a port
    path: str


def _scrape_annotations(ann: dict, prefixes: list[str]) -> tuple[bool, object, str | None]:
    for prefix in prefixes:
        scrape = ann.get(f"{prefix}/scrape")
        if str(scrape).strip().lower() == "true":
            return True, ann.get(f"{prefix}/port"), ann.get(f"{prefix}/path")
    return False, None, None


def _declared_ports(obj: dict) -> list[tuple[k8s.Container, dict]]:
    out = []
    for c in k8s.containers(obj, "long-running"):
        for p in k8s.as_list(c.data.get("ports")):
            if isinstance(p, dict) and isinstance(p.get("containerPort"), int):
                out.append((c, p))
    return out


def _pod_annotations(obj: dict) -> dict:
    if obj.get("kind") == "Pod":
        return k8s.annotations(obj)
    path = k8s.POD_SPEC_PATHS.get(obj.get("kind"))
    return k8s.as_map(k8s.get(obj, *path[:-1], "metadata", "annotations")) if path else {}


def _path_of(value) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else "/metrics"


def metrics_endpoint(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC501: a container port 9100 and a scrape configuration that reaches it at /metrics."""
    obj = _long_running_workload(target, ctx)
    conts = workload_containers(obj, "long-running")
    want_port = ctx.settings.get("metrics-port", 9100)
    want_path = ctx.settings.get("metrics-path", "/metrics")
    prefixes = [p for p in ctx.settings.get("metrics-annotation-prefixes") or () if isinstance(p, str)]
    declared = _declared_ports(obj)
    routes: list[_Route] = []
    notes: list[str] = []

    # 1. the pod template's annotations (Prometheus' kubernetes-pods job)
    scrape, port, path = _scrape_annotations(_pod_annotations(obj), prefixes)
    if scrape:
        via = "the pod template's prometheus.io annotations"
        if port is not None:
            routes.append(_Route(via, crossref.container_port(obj, str(port).strip()), _path_of(path)))
        elif declared:
            routes.extend(_Route(via, p["containerPort"], _path_of(path)) for _, p in declared)
        else:
            routes.append(_Route(via, None, _path_of(path)))

    # 2. Services selecting the pods, with scrape annotations (kubernetes-service-endpoints job)
    services = _services(target, ctx)
    for svc in services:
        scrape, port, path = _scrape_annotations(k8s.annotations(svc.data), prefixes)
        if not scrape:
            continue
        via = f"the prometheus.io annotations of Service '{crossref.name(svc.data)}' ({_where(svc)})"
        if port is not None:
            routes.append(_Route(via, crossref.container_port(obj, str(port).strip()), _path_of(path)))
            continue
        for sp in k8s.as_list(k8s.get(svc.data, "spec", "ports")):
            sp = k8s.as_map(sp)
            tp = sp.get("targetPort", sp.get("port"))
            routes.append(_Route(via, crossref.container_port(obj, tp), _path_of(path)))

    # 3. ServiceMonitors / PodMonitors
    for m in crossref.monitors_in_scope(target, ctx):
        mkind = m.data.get("kind")
        what, key = crossref.MONITOR_KINDS[mkind]
        mname = f"{mkind} '{crossref.name(m.data)}' ({_where(m)})"
        endpoints = [e for e in k8s.as_list(k8s.get(m.data, "spec", key)) if isinstance(e, dict)]
        if what == "Service":
            for svc in services:
                if not crossref.monitor_selects_service(m.data, svc.data):
                    continue
                sname = crossref.name(svc.data)
                for ep in endpoints:
                    epath = _path_of(ep.get("path"))
                    if ep.get("port") is not None:
                        sp, tp = crossref.service_port_target(svc.data, ep.get("port"))
                        if sp is None:
                            notes.append(f"{mname} names port '{ep.get('port')}', which Service '{sname}' "
                                         "does not have")
                            continue
                        pod_port = crossref.container_port(obj, tp)
                        if pod_port is None:
                            notes.append(f"targetPort '{tp}' of Service '{sname}' names no container port")
                            continue
                    elif ep.get("targetPort") is not None:
                        pod_port = crossref.container_port(obj, ep.get("targetPort"))
                    else:
                        continue
                    routes.append(_Route(f"{mname} through Service '{sname}'", pod_port, epath))
        elif crossref.monitor_selects_pods(m.data, obj):
            for ep in endpoints:
                epath = _path_of(ep.get("path"))
                ref = next((ep.get(k) for k in ("port", "portNumber", "targetPort") if ep.get(k) is not None), None)
                if ref is None:
                    continue
                pod_port = crossref.container_port(obj, ref)
                if pod_port is None:
                    notes.append(f"{mname} names port '{ref}', which no container declares")
                    continue
                routes.append(_Route(mname, pod_port, epath))

    if any(r.port == want_port and r.path == want_path for r in routes):
        return
    at_port = [(c, p) for c, p in declared if p["containerPort"] == want_port]
    line = at_port[0][1].line if at_port else conts[0].line
    column = getattr(at_port[0][1], "col", 1) if at_port else conts[0].column
    container = at_port[0][0].name if at_port else None
    to_port = [r for r in routes if r.port == want_port]
    if to_port:
        r = to_port[0]
        yield Hit(f"wrong path: port {want_port} is scraped at '{r.path}', not '{want_path}' (via {r.via})",
                  line=line, column=column, container=container, extra={"missing": "path"})
        return
    if routes:
        shown = _listing(sorted({f"port {r.port if r.port is not None else '(none)'} via {r.via}" for r in routes}))
        if at_port:
            msg = (f"no scrape config for port {want_port}: container '{at_port[0][0].name}' declares it, but the "
                   f"scrape configuration reaches {shown}")
            missing = "scrape-config"
        else:
            msg = f"no port {want_port}: no container declares containerPort {want_port}; scraped instead: {shown}"
            missing = "port"
        yield Hit(msg + _notes(notes), line=line, column=column, container=container, extra={"missing": missing})
        return
    idle = _monitors_selecting_nothing(target, ctx)
    if not at_port:
        msg = (f"no port {want_port}: no container declares containerPort {want_port}, and no scrape config "
               f"(prometheus.io annotations, ServiceMonitor, PodMonitor) reaches the pods at {want_path}")
        missing = "port"
        notes = notes + idle
    elif notes:
        msg = f"no scrape config reaches port {want_port}: {_listing(sorted(set(notes)), 3)}"
        missing = "scrape-config"
        notes = idle
    elif idle:
        msg = (f"monitor selects nothing: container '{at_port[0][0].name}' declares port {want_port}, but "
               f"{_listing(idle)}")
        missing = "monitor-selects-nothing"
    else:
        msg = (f"no scrape config: container '{at_port[0][0].name}' declares port {want_port}, but neither "
               "the pod template nor a Service selecting it has prometheus.io/scrape: \"true\", and no "
               "ServiceMonitor/PodMonitor selects it")
        missing = "scrape-config"
    if missing != "monitor-selects-nothing":
        msg += _notes(notes)
    yield Hit(msg, line=line, column=column, container=container, extra={"missing": missing})


def _notes(notes: list[str]) -> str:
    return f" ({_listing(sorted(set(notes)), 3)})" if notes else ""


def _monitors_selecting_nothing(target: Target, ctx: Context) -> list[str]:
    out = []
    for m in crossref.monitors_in_scope(target, ctx):
        if not crossref.namespace_selected(m.data, target.data):
            continue
        memo = ctx.cached("obs.monitor-selection", lambda c: {})
        if id(m) not in memo:
            memo[id(m)] = bool(crossref.monitor_selection(m, ctx))
        if not memo[id(m)]:
            what = crossref.MONITOR_KINDS[m.data.get("kind")][0]
            out.append(f"{m.data.get('kind')} '{crossref.name(m.data)}' ({_where(m)}) selects no "
                       f"{'Service' if what == 'Service' else 'pods'}")
    return out


# ------------------------------------------------------------------ Fluent Bit pipelines


def _pipelines_in(target: Target, ctx: Context) -> list[Pipeline]:
    """Every Fluent Bit pipeline in the target's scope (files, values, ConfigMaps incl. cluster ones)."""
    out = [t.data for t in crossref.related_support(target, ctx, "fluentbit") if isinstance(t.data, Pipeline)]
    covered = ctx.cached("obs.fluentbit-owners", lambda c: {id(t.data.owner) for t in c.of_kind("fluentbit")
                                                             if isinstance(t.data, Pipeline) and t.data.owner})
    for cm in crossref.related(target, ctx, kinds=("ConfigMap",)):
        if id(cm) not in covered:
            p = _lazy_configmap_pipeline(cm, ctx)
            if p is not None:
                out.append(p)
    if isinstance(target.data, dict) and target.data.get("kind") == "ConfigMap" and id(target) not in covered:
        own = _lazy_configmap_pipeline(target, ctx)
        if own is not None:
            out.append(own)
    operator = _operator_pipeline(target, ctx)
    if operator is not None:
        out.append(operator)
    return out


def _operator_pipeline(target: Target, ctx: Context) -> Pipeline | None:
    """The pipeline the Fluent Operator's resources of the target's scope make up (one per view)."""
    memo = ctx.cached("obs.fluent-operator", lambda c: {})
    key = crossref.view_key(target)
    if key not in memo:
        objs = crossref.related(target, ctx, kinds=tuple(FLUENT_OPERATOR_KINDS))
        if target.kind == "k8s" and isinstance(target.data, dict) and target.data.get("kind") in FLUENT_OPERATOR_KINDS:
            objs.append(target)
        memo[key] = pipeline_of_fluent_operator(sorted(objs, key=lambda t: t.key))
    return memo[key]


def _lazy_configmap_pipeline(cm: Target, ctx: Context) -> Pipeline | None:
    return ctx.memoized("obs.lazy-configmaps", id(cm), lambda: pipeline_of_configmap(cm)[0])


def _configmap_pipeline(cm: Target, ctx: Context) -> Pipeline | None:
    owners = ctx.cached("obs.fluentbit-by-owner", lambda c: {id(t.data.owner): t.data for t in c.of_kind("fluentbit")
                                                             if isinstance(t.data, Pipeline) and t.data.owner})
    if id(cm) in owners:
        return owners[id(cm)]
    return _lazy_configmap_pipeline(cm, ctx)


def _is_on(value: str | None) -> bool:
    return isinstance(value, str) and value.strip().lower() in _TRUE


def _json_parsers(pipes: list[Pipeline], ctx: Context) -> set[str]:
    envelope = {str(x).lower() for x in ctx.settings.get("fluent-bit-envelope-parsers") or ()}
    names = {str(x).lower() for x in ctx.settings.get("fluent-bit-json-parsers") or ()}
    for p in pipes:
        for s in p.of("PARSER"):
            name = (s.get("name") or "").strip().lower()
            if name and (s.get("format") or "").strip().lower() == "json":
                names.add(name)
    return names - envelope


def _parser_names(value: str) -> list[str]:
    return [x.strip().lower() for x in re.split(r"[\s,]+", value) if x.strip()]


def json_evidence(pipe: Pipeline, json_parsers: set[str]) -> Section | None:
    """The section that parses logs as JSON, if any."""
    for s in pipe.sections:
        if s.name == "FILTER" and s.plugin == "kubernetes" and _is_on(s.get("merge_log")):
            return s
        if s.name in ("FILTER", "INPUT"):
            for p in s.props:
                if p.key == "parser" and any(n in json_parsers for n in _parser_names(p.value)):
                    return s
    return None


def loki_outputs(pipe: Pipeline, ctx: Context) -> list[Section]:
    names = {str(x).lower() for x in ctx.settings.get("fluent-bit-loki-outputs") or ()}
    return [s for s in pipe.of("OUTPUT") if s.plugin in names]


def _forwards(pipe: Pipeline) -> bool:
    return any(s.plugin == "forward" for s in pipe.of("OUTPUT"))


def _aggregators(pipes: list[Pipeline]) -> list[Pipeline]:
    return [p for p in pipes if any(s.plugin == "forward" for s in p.of("INPUT"))]


def _unresolved_outputs(pipe: Pipeline) -> list[str]:
    return [s.get("name") or "" for s in pipe.of("OUTPUT") if "${" in (s.get("name") or "")]


def _pipeline_gap(pipe: Pipeline, pipes: list[Pipeline], rule: str, ctx: Context) -> Hit | None:
    """GC503/GC504 on one pipeline: a Hit at the place to fix, or None."""
    if not pipe.is_pipeline:
        return None
    if rule == "GC504":
        if loki_outputs(pipe, ctx):
            return None
        if _forwards(pipe) and any(loki_outputs(a, ctx) for a in _aggregators(pipes) if a is not pipe):
            return None  # an agent forwarding to an aggregator that ships to Loki
        outputs = pipe.of("OUTPUT")
        names = sorted({s.plugin or "?" for s in outputs})
        wanted = "/".join(str(x) for x in ctx.settings.get("fluent-bit-loki-outputs") or ())
        if outputs:
            msg = f"{pipe.label} has no {wanted} output (outputs: {', '.join(names)})"
            at = outputs[0]
        else:
            msg = f"{pipe.label} has no [OUTPUT] section: logs are not shipped to Loki"
            at = None
        unresolved = _unresolved_outputs(pipe)
        if unresolved:
            msg += f"; output {', '.join(unresolved)} is set at run time"
        if pipe.notes:
            msg += f"; not followed: {_listing(pipe.notes, 2)}"
        return Hit(msg, line=at.line if at else pipe.line, path=at.path if at else pipe.path)
    parsers = _json_parsers(pipes, ctx)
    if json_evidence(pipe, parsers) is not None:
        return None
    inputs = pipe.of("INPUT")
    if inputs and all(s.plugin == "forward" for s in inputs):
        return None  # an aggregator receives records the agents already structured
    if _forwards(pipe) and any(json_evidence(a, parsers) for a in _aggregators(pipes) if a is not pipe):
        return None
    kube = [s for s in pipe.of("FILTER") if s.plugin == "kubernetes"]
    if kube:
        at = kube[0]
        msg = (f"{pipe.label}: the kubernetes filter does not merge JSON logs (Merge_Log On), and no parser "
               "filter or input applies a JSON parser")
    else:
        inputs = pipe.of("INPUT")
        at = inputs[0] if inputs else None
        msg = (f"{pipe.label} does not parse logs as JSON: no kubernetes filter with Merge_Log On, no parser "
               "filter or input with a JSON parser")
    if pipe.notes:
        msg += f"; not followed: {_listing(pipe.notes, 2)}"
    return Hit(msg, line=at.line if at else pipe.line, path=at.path if at else pipe.path)


def _fluentbit_rule(rule: str, target: Target, ctx: Context) -> Iterator[Hit]:
    if target.kind == "repo":
        pipes = _pipelines_in(target, ctx)
        real = [p for p in pipes if p.is_pipeline]
        if not real:
            _repo_scope_or_na(target, ctx)
            what = ("logs are shipped to Loki" if rule == "GC504" else "logs are parsed as JSON")
            yield Hit(f"no Fluent Bit pipeline found (classic or YAML configuration file, ConfigMap, or "
                      f"fluent-bit chart values), so nothing shows that {what}")
            return
        # chart values whose chart was rendered in this scan: the rendered ConfigMap is judged instead
        rendered = {str((p.owner.origin or {}).get("chart", "")).rstrip("/") for p in real
                    if p.owner is not None and (p.owner.origin or {}).get("source") == "helm"}
        for p in real:
            if p.owner is not None:
                continue  # a ConfigMap's pipeline is judged on the ConfigMap
            if p.values_of is not None and p.values_of in rendered:
                continue
            hit = _pipeline_gap(p, pipes, rule, ctx)
            if hit is not None:
                yield hit
        return
    obj = target.data
    if not isinstance(obj, dict):
        raise NotATarget("not an object")
    kind = obj.get("kind")
    if kind == "ConfigMap":
        own = _configmap_pipeline(target, ctx)
        if own is None or not own.is_pipeline:
            raise NotATarget("no Fluent Bit pipeline")
        hit = _pipeline_gap(own, _pipelines_in(target, ctx), rule, ctx)
        if hit is not None:
            yield hit
        return
    if kind in (ctx.settings.get("workload-kinds") or ()):
        if _cluster_anchor(target, ctx) and not any(p.is_pipeline for p in _pipelines_in(target, ctx)):
            what = ("logs are shipped to Loki" if rule == "GC504" else "logs are parsed as JSON")
            yield Hit(f"no Fluent Bit pipeline found in {_scope_name(target)} (no ConfigMap holding a Fluent Bit "
                      f"configuration, no Fluent Operator resources), so nothing shows that {what}; reported "
                      f"once, on the first workload")
            try:
                yield from _workload_log_annotations(rule, target, obj, ctx)
            except NotApplicable:
                pass
            return
        yield from _workload_log_annotations(rule, target, obj, ctx)
        return
    if kind in FLUENT_OPERATOR_KINDS:
        op = _operator_pipeline(target, ctx)
        if op is None or op.owner is not target or not op.is_pipeline:
            raise NotATarget("judged with the scope's Fluent Operator resources")
        hit = _pipeline_gap(op, _pipelines_in(target, ctx), rule, ctx)
        if hit is not None:
            yield hit
        return
    raise NotATarget("not a Fluent Bit pipeline")


def _workload_log_annotations(rule: str, target: Target, obj: dict, ctx: Context) -> Iterator[Hit]:
    ann = _pod_annotations(obj)
    if rule == "GC504":
        value = ann.get("fluentbit.io/exclude")
        if value is None:
            raise NotATarget("no Fluent Bit annotation")
        if _is_on(str(value)):
            yield Hit("the pod template has fluentbit.io/exclude: \"true\": Fluent Bit (K8S-Logging.Exclude) does "
                      "not ship this workload's logs to Loki", line=_ann_line(obj, "fluentbit.io/exclude"))
        return
    keys = sorted(k for k in ann if isinstance(k, str) and k.startswith("fluentbit.io/parser"))
    if not keys:
        raise NotATarget("no Fluent Bit annotation")
    parsers = _json_parsers(_pipelines_in(target, ctx), ctx)
    for key in keys:
        names = _parser_names(str(ann.get(key)))
        if not any(n in parsers for n in names):
            yield Hit(f"the pod template's {key}: {_short(str(ann.get(key)), 40)} is not a JSON parser "
                      f"(JSON parsers: {', '.join(sorted(parsers)) or 'none'})", line=_ann_line(obj, key))


def _ann_line(obj: dict, key: str) -> int:
    if obj.get("kind") == "Pod":
        node = k8s.get(obj, "metadata", "annotations")
    else:
        path = k8s.POD_SPEC_PATHS.get(obj.get("kind"), ("spec",))
        node = k8s.get(obj, *path[:-1], "metadata", "annotations")
    return k8s.line(node, key, getattr(obj, "line", 1))


def logs_json(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC503: JSON parsing in the log pipeline (live: sampled log lines are JSON)."""
    if target.kind == "live":
        from guidecheck.checks import live as _live  # written with the live audit; imported only here

        yield from _live.logs_json(target, ctx)
        return
    yield from _fluentbit_rule("GC503", target, ctx)


def logs_to_loki(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC504: a Fluent Bit pipeline with a Loki output."""
    if target.kind == "live":
        raise NotATarget("judged from the pipeline configuration (ConfigMaps) read from the cluster")
    yield from _fluentbit_rule("GC504", target, ctx)


# ------------------------------------------------------------------ alerts


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
    return ctx.memoized("obs.alert-sources", crossref.view_key(target), lambda: _collect_alert_sources(target, ctx))


def _collect_alert_sources(target: Target, ctx: Context) -> list[tuple[Target, AlertSource]]:
    out = [(t, t.data) for t in crossref.related_support(target, ctx, "alerts") if isinstance(t.data, AlertSource)]
    covered = ctx.cached("obs.alert-owners", lambda c: {id(t.data.owner) for t in c.of_kind("alerts")
                                                        if isinstance(t.data, AlertSource) and t.data.owner})
    kinds = ("PrometheusRule", "VMRule", "ConfigMap")
    objs = crossref.related(target, ctx, kinds=kinds)
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


def _lazy_alert_source(o: Target, ctx: Context) -> AlertSource | None:
    return ctx.memoized("obs.lazy-alerts", id(o), lambda: alert_rules_of_object(o))


def _own_alert_source(o: Target, ctx: Context) -> AlertSource | None:
    by_owner = ctx.cached("obs.alerts-by-owner", lambda c: {id(t.data.owner): t.data for t in c.of_kind("alerts")
                                                            if isinstance(t.data, AlertSource) and t.data.owner})
    return by_owner.get(id(o)) or _lazy_alert_source(o, ctx)


def alert_thresholds(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC505: threshold alerts for latency, errors and availability in the scope's alerting."""
    if target.kind == "repo":
        sources = _alert_sources(target, ctx)
        if not sources:
            _repo_scope_or_na(target, ctx)
            yield Hit("no alerting rules found (PrometheusRule, Prometheus rule file, Grafana alert provisioning "
                      "or dashboard alerts): no threshold alert for latency, errors or availability")
            return
        yield from _judge_alerting(sources, ctx)
        return
    if _cluster_anchor(target, ctx) and not _alert_sources(target, ctx):
        yield Hit(f"no alerting rules found in {_scope_name(target)} (PrometheusRule, VMRule, or Grafana "
                  f"alerting in a ConfigMap): no threshold alert for latency, errors or availability; "
                  f"reported once, on the first workload")
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
    msg = (f"no threshold alert for {' / '.join(missing)} among {n_alerts} alert(s) in {_listing(files, 3)}")
    have = [f"{s}: '{covered[s].name}'" for s in SIGNALS if s in covered]
    if have:
        msg += f" (found {', '.join(have)})"
    near = [f"'{r.name}' ({r.path}:{r.line}) looks like {s} but compares against no threshold"
            for s in missing for r in unthresholded.get(s, [])[:1]]
    if near:
        msg += "; " + "; ".join(near)
    if pin:
        yield Hit(msg, path=first.path, line=first.line, extra={"missing": missing})
    else:
        yield Hit(msg, extra={"missing": missing})


# ------------------------------------------------------------------ GC904 latency monitoring


def _latency_rules(target: Target, ctx: Context) -> list[AlertRule]:
    return ctx.memoized("obs.latency-rules", crossref.view_key(target),
                        lambda: [r for _, src in _alert_sources(target, ctx) for r in src.rules
                                 if "latency" in classify(r, ctx)])


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
                try:
                    rx = re.compile(value)
                except re.error:
                    continue
                if any(rx.fullmatch(n) for n in names):
                    return True
        prefixes = tuple(re.sub(r"[^A-Za-z0-9]", "_", n).lower() + "_" for n in names)
        for tok in _METRIC.findall(re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)):
            if any(part.lower().startswith(prefixes) for part in tok.split(":")):
                return True
    return any(v in names for v in rule.labels.values())


def _covered(target: Target, ctx: Context) -> bool:
    """Whether a latency rule refers to the workload (memoised per workload)."""
    memo = ctx.cached("obs.latency-covered", lambda c: {})
    if id(target) not in memo:
        names = _service_names(target, _services(target, ctx), ctx)
        memo[id(target)] = (target, any(refers_to(r, names) for r in _latency_rules(target, ctx)))
    return memo[id(target)][1]


def _served_workloads(target: Target, ctx: Context) -> list[Target]:
    """Long-running workloads of the scope that a Service selects (the services whose latency matters)."""
    return [w for w in _in_scope_workloads(target, ctx) if _services(w, ctx)]


def latency_monitoring(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC904: a latency alert or recording rule whose selectors refer to the service."""
    if target.kind == "repo":
        rules = _latency_rules(target, ctx)
        if not rules:
            _repo_scope_or_na(target, ctx)
            yield Hit("no latency alert or recording rule (e.g. histogram_quantile over a request duration "
                      "histogram) monitors response times")
            return
        served = _served_workloads(target, ctx)
        if served and not any(_covered(w, ctx) for w in served):
            shown = _listing([f"'{r.name}' ({r.path}:{r.line})" for r in rules], 2)
            yield Hit(f"no latency rule refers to any of the {len(served)} service(s) of this repository in its "
                      f"selectors (latency rules found: {shown})")
        return
    obj = target.data
    if not isinstance(obj, dict) or obj.get("kind") not in (ctx.settings.get("workload-kinds") or ()):
        raise NotATarget("not a workload")
    obj = _long_running_workload(target, ctx)
    services = _services(target, ctx)
    if not services:
        raise NotApplicable("no Service selects its pods: it serves no requests whose response time to monitor")
    rules = _latency_rules(target, ctx)
    has_repo = crossref.repo_target(target, ctx) is not None
    if not rules and has_repo:
        raise NotApplicable("no latency rule in this repository at all: reported once on the repository")
    if _covered(target, ctx):
        return
    if not rules:
        yield Hit("no latency alert or recording rule in scope monitors the response time of this service")
        return
    if has_repo and not any(_covered(w, ctx) for w in _served_workloads(target, ctx)):
        raise NotApplicable("no latency rule refers to any service of this repository: reported once on the "
                            "repository")
    names = _service_names(target, services, ctx)
    shown = _listing([f"'{r.name}' ({r.path}:{r.line})" for r in rules], 2)
    yield Hit(f"no latency rule refers to this service ({', '.join(sorted(names))}) in its selectors; "
              f"latency rules found: {shown}")
