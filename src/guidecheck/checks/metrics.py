"""Metrics (GC501): a container port 9100 and a scrape path to it at /metrics.

GC501 judges each long-running workload: a container port 9100 and a scrape
path to it at /metrics (pod-template or Service ``prometheus.io/*``
annotations, a ServiceMonitor selecting a Service of it, a PodMonitor
selecting its pods, named ports resolved).  The live probe of the endpoint is
GC502 (:mod:`guidecheck.checks.live`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from guidecheck import crossref
from guidecheck.checks import Context, lookup, workload_containers
from guidecheck.checks.exposure import metrics_container_port
from guidecheck.checks.obs_scope import listing, long_running_workload, pod_annotations, services_of, where
from guidecheck.model import Hit, Target
from guidecheck.parsers import k8s
from guidecheck.parsers.yaml import col_of, line_of


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


def _path_of(value) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else "/metrics"


def metrics_endpoint(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC501: a container port 9100 and a scrape configuration that reaches it at /metrics."""
    obj = long_running_workload(target, ctx)
    conts = workload_containers(obj, "long-running")
    want_port = ctx.settings["metrics-port"]
    want_path = ctx.settings["metrics-path"]
    prefixes = [p for p in ctx.settings.get("metrics-annotation-prefixes") or () if isinstance(p, str)]
    declared = _declared_ports(obj)
    notes: list[str] = []
    services = services_of(target, ctx)
    routes = (
        _pod_template_routes(obj, declared, prefixes)
        + _service_routes(obj, services, prefixes)
        + _monitor_routes(target, obj, services, notes, ctx)
    )
    if any(r.port == want_port and r.path == want_path for r in routes):
        return
    at_port = [(c, p) for c, p in declared if p["containerPort"] == want_port]
    # without port 9100: the container that serves metrics on another port (a port named metrics), not a sidecar
    # listed first (cert-manager csi-driver's node-driver-registrar); else the first container
    metric_like = [c for c, p in declared if isinstance(p.get("name"), str) and metrics_container_port(p, ctx)]
    anchor = metric_like[0] if metric_like else conts[0]
    line = line_of(at_port[0][1]) if at_port else anchor.line
    column = col_of(at_port[0][1]) if at_port else anchor.column
    container = at_port[0][0].name if at_port else None
    to_port = [r for r in routes if r.port == want_port]
    if to_port:
        r = to_port[0]
        yield Hit(
            f"wrong path: port {want_port} is scraped at '{r.path}', not '{want_path}' (via {r.via})",
            line=line,
            column=column,
            container=container,
            extra={"missing": "path"},
        )
        return
    if routes:
        msg, missing = _elsewhere(routes, at_port, want_port)
        msg += _notes(notes)
    else:
        msg, missing = _unscraped(target, ctx, at_port, notes, want_port, want_path)
    yield Hit(msg, line=line, column=column, container=container, extra={"missing": missing})


def _pod_template_routes(obj: dict, declared: list[tuple[k8s.Container, dict]], prefixes: list[str]) -> list[_Route]:
    """The pod template's annotations (Prometheus' kubernetes-pods job)."""
    scrape, port, path = _scrape_annotations(pod_annotations(obj), prefixes)
    if not scrape:
        return []
    via = "the pod template's prometheus.io annotations"
    if port is not None:
        return [_Route(via, crossref.container_port(obj, str(port).strip()), _path_of(path))]
    if declared:
        return [_Route(via, p["containerPort"], _path_of(path)) for _, p in declared]
    return [_Route(via, None, _path_of(path))]


def _service_routes(obj: dict, services: list[Target], prefixes: list[str]) -> list[_Route]:
    """Services selecting the pods, with scrape annotations (kubernetes-service-endpoints job)."""
    routes = []
    for svc in services:
        scrape, port, path = _scrape_annotations(k8s.annotations(svc.data), prefixes)
        if not scrape:
            continue
        via = f"the prometheus.io annotations of Service '{crossref.name(svc.data)}' ({where(svc)})"
        if port is not None:
            routes.append(_Route(via, crossref.container_port(obj, str(port).strip()), _path_of(path)))
            continue
        for sp in k8s.as_list(k8s.get(svc.data, "spec", "ports")):
            sp = k8s.as_map(sp)
            tp = sp.get("targetPort", sp.get("port"))
            routes.append(_Route(via, crossref.container_port(obj, tp), _path_of(path)))
    return routes


def _monitor_routes(target: Target, obj: dict, services: list[Target], notes: list[str], ctx: Context) -> list[_Route]:
    """ServiceMonitors / PodMonitors (what they name but cannot reach goes to ``notes``)."""
    routes: list[_Route] = []
    ns = crossref.namespace(obj)
    # a monitor that covers none of the namespaces of the workload and its Services reaches nothing
    if lookup.plain(target) and ns is not None and all(crossref.namespace(s.data) == ns for s in services):
        labels = [k8s.pod_labels(obj), *(k8s.labels(s.data) for s in services)]
        monitors = lookup.monitors_for(target, ctx, ns, labels)
    else:  # inside deployment units: the monitors that may select a Service or the pods, as they see them
        monitors = crossref.monitors_selecting(target, services, ctx)
    for m in monitors:
        mkind = m.data.get("kind")
        what, key = crossref.MONITOR_KINDS[mkind]
        mname = f"{mkind} '{crossref.name(m.data)}' ({where(m)})"
        endpoints = [e for e in k8s.as_list(k8s.get(m.data, "spec", key)) if isinstance(e, dict)]
        if what == "Service":
            for svc in services:
                if crossref.monitor_selects_service(m.data, svc.data):
                    routes.extend(_service_monitor_routes(obj, mname, svc, endpoints, notes))
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
    return routes


def _service_monitor_routes(
    obj: dict, mname: str, svc: Target, endpoints: list[dict], notes: list[str]
) -> list[_Route]:
    """A ServiceMonitor's endpoints through one Service it selects."""
    routes = []
    sname = crossref.name(svc.data)
    for ep in endpoints:
        epath = _path_of(ep.get("path"))
        if ep.get("port") is not None:
            sp, tp = crossref.service_port_target(svc.data, ep.get("port"))
            if sp is None:
                notes.append(f"{mname} names port '{ep.get('port')}', which Service '{sname}' does not have")
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
    return routes


def _elsewhere(routes: list[_Route], at_port: list, want_port: int) -> tuple[str, str]:
    """The message and ``missing`` key when the scrape configuration reaches other ports only."""
    shown = listing(sorted({f"port {r.port if r.port is not None else '(none)'} via {r.via}" for r in routes}))
    if at_port:
        return (
            f"no scrape config for port {want_port}: container '{at_port[0][0].name}' declares it, but the "
            f"scrape configuration reaches {shown}",
            "scrape-config",
        )
    return f"no port {want_port}: no container declares containerPort {want_port}; scraped instead: {shown}", "port"


def _unscraped(
    target: Target, ctx: Context, at_port: list, notes: list[str], want_port: int, want_path: str
) -> tuple[str, str]:
    """The message and ``missing`` key when no scrape configuration reaches the pods at all."""
    idle = _monitors_selecting_nothing(target, ctx)
    if not at_port:
        msg = (
            f"no port {want_port}: no container declares containerPort {want_port}, and no scrape config "
            f"(prometheus.io annotations, ServiceMonitor, PodMonitor) reaches the pods at {want_path}"
        )
        missing = "port"
        notes = notes + idle
    elif notes:
        msg = f"no scrape config reaches port {want_port}: {listing(sorted(set(notes)), 3)}"
        missing = "scrape-config"
        notes = idle
    elif idle:
        msg = (
            f"monitor selects nothing: container '{at_port[0][0].name}' declares port {want_port}, but {listing(idle)}"
        )
        missing = "monitor-selects-nothing"
    else:
        msg = (
            f"no scrape config: container '{at_port[0][0].name}' declares port {want_port}, but neither "
            'the pod template nor a Service selecting it has prometheus.io/scrape: "true", and no '
            "ServiceMonitor/PodMonitor selects it"
        )
        missing = "scrape-config"
    if missing != "monitor-selects-nothing":
        msg += _notes(notes) + crossref.looked_in(target, ctx)
    return msg, missing


def _notes(notes: list[str]) -> str:
    return f" ({listing(sorted(set(notes)), 3)})" if notes else ""


def _idle_in_scope(target: Target, ctx: Context) -> list[tuple[int, Target]]:
    """The monitors of ``target``'s scope that select nothing, as ``(load position, monitor)`` (once per scope)."""

    def compute() -> list[tuple[int, Target]]:
        return [
            (pos, m)
            for pos, m in crossref.kind_positions(target, ctx, crossref.MONITOR_KINDS)
            if not crossref.monitor_selection(m, ctx)
        ]

    return ctx.memoized("obs.idle-monitors", crossref.scope(target), compute)


def _monitors_selecting_nothing(target: Target, ctx: Context) -> list[str]:
    ns = crossref.namespace(target.data)
    if lookup.plain(target):  # the same for every live or dumped object of a namespace
        key = (crossref.scope(target), ns)
        idle = ctx.memoized("metrics.idle-monitors", key, lambda: _plain_idle(target, ctx, ns))
    else:  # inside deployment units: the scope's idle monitors (found once) that this target sees
        seen = crossref.related_among(target, ctx, _idle_in_scope(target, ctx))
        idle = [m for m in seen if crossref.namespace_selected(m.data, target.data)]
    return _describe([m for m in idle if _near_miss(m, target, ctx)])


# name parts that say what an object is, not whose it is
_GENERIC_PARTS = frozenset({"service", "monitor", "servicemonitor", "podmonitor", "metrics", "app", "sm", "pm", ""})


def _near_miss(monitor: Target, target: Target, ctx: Context) -> bool:
    """Whether an idle monitor may have been meant for ``target``: one of its selector's label values is a label
    value of the workload's pods or of a Service selecting them, or its name shares a part with the workload's.
    kubernetes/examples' vllm-gemma ServiceMonitor (app: gemma-server) is no news for the guestbook's Deployment."""
    selector = k8s.get(monitor.data, "spec", "selector")
    if selector is None:
        # no selector at all, which the CRD requires: a kustomize patch for a monitor (kube-green's
        # config/prometheus/monitor_tls_patch.yaml), meant for no workload
        return False
    wanted = selector.get("matchLabels") if isinstance(selector, dict) else None
    if not isinstance(wanted, dict) or not wanted:
        return True  # matchExpressions only: nothing to tell it apart by
    have: set[str] = set()
    for labels in (k8s.pod_labels(target.data), k8s.labels(target.data)):
        have.update(str(v) for v in labels.values())
    for svc in crossref.services_for(target, ctx):
        have.update(str(v) for v in k8s.labels(svc.data).values())
    if {str(v) for v in wanted.values()} & have:
        return True
    parts = {p for p in re.split(r"[-_.]", str(crossref.name(monitor.data) or "").lower())} - _GENERIC_PARTS
    mine = {p for p in re.split(r"[-_.]", str(crossref.name(target.data) or "").lower())} - _GENERIC_PARTS
    return bool(parts & mine)


def _plain_idle(target: Target, ctx: Context, ns: str | None) -> list[Target]:
    out = []
    for m in lookup.monitors_covering(target, ctx, ns):
        memo = ctx.cached("obs.monitor-selection", lambda c: {})
        if id(m) not in memo:
            memo[id(m)] = lookup.monitor_selects_any(m, ctx)
        if not memo[id(m)]:
            out.append(m)
    return out


def _describe(monitors: list[Target]) -> list[str]:
    out = []
    for m in monitors:
        what = crossref.MONITOR_KINDS[m.data.get("kind")][0]
        out.append(
            f"{m.data.get('kind')} '{crossref.name(m.data)}' ({where(m)}) selects no "
            f"{'Service' if what == 'Service' else 'pods'}"
        )
    return out


__all__ = ["metrics_endpoint"]
