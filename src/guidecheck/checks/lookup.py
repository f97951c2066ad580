"""Keyed lookups of related objects for targets outside deployment units: a cluster, a dump.

A cluster is one cross-object scope of thousands of objects (:mod:`guidecheck.crossref`):
asking :func:`crossref.related` for "every HorizontalPodAutoscaler" or "every ServiceMonitor"
once per workload walks them all for each workload, objects × objects.  For a target with
neither a deployment unit nor a value profile (what a live or dumped object is), every other
target of the scope sees the same objects, so the scope's objects of some kinds are indexed
once, by the key a rule looks them up by (the ``(kind, name)`` a scaleTargetRef names, the
namespaces a monitor covers), and each lookup returns exactly what filtering
:func:`crossref.related` would have returned, in the same (load) order.

Targets inside units (every object of a repository scan) keep crossref's own lookups: which
objects they see depends on each copy's unit and directory.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable

from guidecheck import crossref
from guidecheck.model import Target
from guidecheck.parsers import k8s

Index = dict[Hashable, list[tuple[int, Target]]]


def plain(target: Target) -> bool:
    """Whether ``target`` sees its scope without unit or profile rules (a live or dumped object)."""
    return crossref.unit_kind(target) is None and crossref.profile(target) is None


def index(
    target: Target, ctx, name: str, kinds: Iterable[str] | None, keys: Callable[[Target], Iterable[Hashable]]
) -> Index:
    """``key -> [(load position, object)]`` over the objects of ``kinds`` a :func:`plain` target sees.

    Built once per scope (memo ``lookup.<name>``); ``kinds`` None takes every kind.  The target
    itself is included: callers drop it as :func:`crossref.related` does.
    """
    wanted = frozenset(kinds) if kinds is not None else None
    sc = crossref.scope(target)

    def build() -> Index:
        out: Index = {}
        for i, t in enumerate(ctx.of_kind("k8s")):
            if not isinstance(t.data, dict) or crossref.scope(t) != sc:
                continue
            kind = t.data.get("kind")
            if wanted is not None and kind not in wanted:
                continue
            if not crossref.visible(target, t):  # a plain target: all but other profiles' non-default renderings
                continue
            for key in dict.fromkeys(keys(t)):
                out.setdefault(key, []).append((i, t))
        return out

    return ctx.memoized(f"lookup.{name}", sc, build)


def merged(target: Target, lists: Iterable[list[tuple[int, Target]]]) -> list[Target]:
    """The objects of several index entries in load order, ``target`` left out."""
    lists = [x for x in lists if x]
    pairs = lists[0] if len(lists) == 1 else list(heapq.merge(*lists, key=lambda p: p[0]))
    return [t for _, t in pairs if t is not target]


# ------------------------------------------------------------------ autoscalers


def scalers_for(target: Target, ctx) -> list[Target]:
    """:func:`crossref.scalers_for`, looked up by the (kind, name) each autoscaler names."""
    if not plain(target):
        return crossref.scalers_for(target, ctx)
    obj = target.data
    idx = index(target, ctx, "scalers-by-ref", crossref.SCALER_KINDS, lambda s: [crossref.scale_target_ref(s.data)])
    found = merged(target, [idx.get((obj.get("kind"), crossref.name(obj)), [])])
    return [s for s in found if crossref.same_namespace(obj, s.data)]


def _kind_name(t: Target) -> list[Hashable]:
    kind = t.data.get("kind")
    return [(kind if isinstance(kind, str) else None, crossref.name(t.data))]


def scale_targets(scaler: Target, ctx) -> list[Target]:
    """:func:`crossref.scale_targets`, looked up by kind and name."""
    if not plain(scaler):
        return crossref.scale_targets(scaler, ctx)
    tk, tn = crossref.scale_target_ref(scaler.data)
    if tk is None or tn is None:
        return []
    found = merged(scaler, [index(scaler, ctx, "by-kind-name", None, _kind_name).get((tk, tn), [])])
    return [t for t in found if crossref.same_namespace(scaler.data, t.data)]


# ------------------------------------------------------------------- monitors
#
# A monitor can only select an object in a namespace its namespaceSelector covers, and only one
# whose labels hold the first label its selector requires (``k8s.selector_matches`` compares
# values as text).  Monitors are indexed by both; a selector that requires no label (only
# expressions, or none) is under ``_ANY_LABEL``.  Lookups give candidates: callers still test them.

_ALL = ("*",)  # the namespace key of monitors that cover every namespace
_ANY_LABEL = ("any label",)


def _monitor_namespaces(m: Target) -> list[Hashable]:
    """The namespaces a monitor's ``namespaceSelector`` covers, as :func:`crossref.namespace_selected` decides."""
    sel = k8s.as_map(k8s.get(m.data, "spec", "namespaceSelector"))
    if sel.get("any") is True:
        return [_ALL]
    names = [n for n in k8s.as_list(sel.get("matchNames")) if isinstance(n, str)]
    if names:
        return [("ns", n) for n in names]
    ns = crossref.namespace(m.data)
    return [_ALL] if ns is None else [("ns", ns)]


def _required_label(m: Target) -> Hashable:
    """The first ``(key, value as text)`` a monitor's selector requires, or ``_ANY_LABEL``."""
    sel = k8s.get(m.data, "spec", "selector")
    if not isinstance(sel, dict):
        return _ANY_LABEL
    pairs = k8s.as_map(sel.get("matchLabels")) if "matchLabels" in sel or "matchExpressions" in sel else sel
    for k, v in pairs.items():
        return ("label", k, str(v))
    return _ANY_LABEL


def _label_keys(labels: dict) -> list[Hashable]:
    return [("label", k, str(v)) for k, v in labels.items()]


def _monitor_keys(m: Target) -> list[Hashable]:
    label = _required_label(m)
    return [(ns, label) for ns in _monitor_namespaces(m)]


def monitors_for(target: Target, ctx, namespace: str, labels: list[dict]) -> list[Target]:
    """The monitors of ``target``'s scope (in load order) that may select an object in ``namespace``
    with one of the label sets ``labels``: a superset of those that do, a subset of
    :func:`crossref.monitors_in_scope`.  For a target that is not :func:`plain`, the monitors that
    cover ``namespace``.
    """
    if not plain(target):
        probe = {"metadata": {"namespace": namespace}}
        return [m for m in crossref.monitors_in_scope(target, ctx) if crossref.namespace_selected(m.data, probe)]
    idx = index(target, ctx, "monitors-by-namespace-label", tuple(crossref.MONITOR_KINDS), _monitor_keys)
    keys = [_ANY_LABEL, *dict.fromkeys(key for each in labels for key in _label_keys(each))]
    return merged(target, [idx.get((ns, key), []) for ns in (_ALL, ("ns", namespace)) for key in keys])


def monitors_covering(target: Target, ctx, namespace: str | None) -> list[Target]:
    """:func:`crossref.monitors_in_scope` whose namespaceSelector covers ``namespace`` (None: all of them).

    The same monitors, in the same order, as filtering ``monitors_in_scope`` with
    :func:`crossref.namespace_selected` against an object in ``namespace``.
    """
    found = crossref.monitors_in_scope(target, ctx)
    if namespace is None:
        return found
    probe = {"metadata": {"namespace": namespace}}
    return [m for m in found if crossref.namespace_selected(m.data, probe)]


def _namespace_label_keys(t: Target, labels: dict) -> list[Hashable]:
    ns = crossref.namespace(t.data)
    keys: list[Hashable] = [(ns, _ANY_LABEL)]
    for key in _label_keys(labels):
        keys += [(ns, key), (_ALL, key)]
    return keys


def monitor_selects_any(monitor: Target, ctx) -> bool:
    """``bool(crossref.monitor_selection(monitor, ctx))``, looking only at the objects it may select."""
    kind = monitor.data.get("kind") if isinstance(monitor.data, dict) else None
    what = crossref.MONITOR_KINDS[kind][0] if isinstance(kind, str) and kind in crossref.MONITOR_KINDS else None
    if what is None or not plain(monitor):
        return bool(crossref.monitor_selection(monitor, ctx))
    if what == "Service":
        idx = index(
            monitor,
            ctx,
            "services-by-namespace-label",
            ("Service",),
            lambda t: _namespace_label_keys(t, k8s.labels(t.data)),
        )
        selects: Callable[[dict], bool] = lambda svc: crossref.monitor_selects_service(monitor.data, svc)  # noqa: E731
    else:
        kinds = tuple(ctx.settings.get("workload-kinds") or ())
        idx = index(
            monitor,
            ctx,
            "workloads-by-namespace-label",
            kinds,
            lambda t: _namespace_label_keys(t, k8s.pod_labels(t.data)),
        )

        def selects(obj: dict) -> bool:
            return k8s.is_long_running(obj) and crossref.monitor_selects_pods(monitor.data, obj)

    label = _required_label(monitor)
    covered = _monitor_namespaces(monitor)
    if label is _ANY_LABEL:  # every object of the covered namespaces (and those without one) is a candidate
        if _ALL in covered:
            lists = [pairs for key, pairs in idx.items() if isinstance(key, tuple) and key[1] is _ANY_LABEL]
        else:
            lists = [idx.get((key[1], _ANY_LABEL), []) for key in covered if isinstance(key, tuple)]
            lists.append(idx.get((None, _ANY_LABEL), []))
    elif _ALL in covered:
        lists = [idx.get((_ALL, label), [])]
    else:
        lists = [idx.get((key[1], label), []) for key in covered if isinstance(key, tuple)]
        lists.append(idx.get((None, label), []))
    return any(selects(t.data) for pairs in lists for _, t in pairs if t is not monitor)


__all__ = [
    "index",
    "merged",
    "monitor_selects_any",
    "monitors_covering",
    "monitors_for",
    "plain",
    "scale_targets",
    "scalers_for",
]
