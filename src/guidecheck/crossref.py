"""Cross-object context: which other objects a rule may look at when judging one.

A workload's metrics scrape config, its HorizontalPodAutoscaler, the mesh policy
or backup schedule covering it are separate objects, often in other files.
Rules see every object of the scan, but an object is only ever related to
objects of the same *scope*:

* plain manifests: the same scanned directory (``origin["repo"]``, the display
  prefix of the directory argument; files named one by one share the scope ``""``);
* rendered Helm output: the same repository, and of the same value profile
  (objects of another profile are another deployment of the same service),
  plus the repository's plain manifests and other charts' default profile;
* a cluster: the same cluster (``origin["repo"] == "cluster/<context>"``).

The origin contract (every ``k8s`` target): ``origin["source"]`` is
``manifest`` | ``helm`` | ``cluster`` | ``dump``; ``origin["repo"]`` the scope;
rendered objects add ``chart`` (chart directory as displayed), ``template``,
``profile`` (``default`` for the chart's own values.yaml), ``release``.
Namespaces: an object without ``metadata.namespace`` (plain manifests applied
with ``-n``) is taken to be in every namespace.
"""

from __future__ import annotations

from typing import Iterable

from guidecheck import k8s
from guidecheck.model import Target


def scope(target: Target) -> str:
    return str((target.origin or {}).get("repo", ""))


def profile(target: Target) -> str | None:
    p = (target.origin or {}).get("profile")
    return p if isinstance(p, str) else None


def _by_scope(ctx) -> dict[str, list[Target]]:
    def build(c) -> dict[str, list[Target]]:
        index: dict[str, list[Target]] = {}
        for t in c.of_kind("k8s"):
            index.setdefault(scope(t), []).append(t)
        return index

    return ctx.cached("crossref.by_scope", build)


def visible(a: Target, b: Target) -> bool:
    """Whether object ``b`` may satisfy a requirement of object ``a`` (same scope assumed)."""
    pa, pb = profile(a), profile(b)
    if pb is None or pa == pb:
        return True
    if pa is None:
        return pb == "default"
    # two profiles: only another chart's default rendering (a monitoring chart next to the app chart)
    return pb == "default" and (a.origin or {}).get("chart") != (b.origin or {}).get("chart")


def related(target: Target, ctx, kinds: Iterable[str] | None = None) -> list[Target]:
    """The k8s targets in ``target``'s scope that it may relate to (itself excluded), in load order."""
    wanted = set(kinds) if kinds is not None else None
    out = []
    for t in _by_scope(ctx).get(scope(target), ()):
        if t is target or not isinstance(t.data, dict):
            continue
        if wanted is not None and t.data.get("kind") not in wanted:
            continue
        if visible(target, t):
            out.append(t)
    return out


def namespace(obj: dict) -> str | None:
    ns = k8s.get(obj, "metadata", "namespace")
    return ns if isinstance(ns, str) and ns else None


def same_namespace(a: dict, b: dict) -> bool:
    na, nb = namespace(a), namespace(b)
    return na is None or nb is None or na == nb


def name(obj: dict) -> str | None:
    n = k8s.get(obj, "metadata", "name")
    return n if isinstance(n, str) else None


def selects_pods_of(selector, workload: dict, *, empty_selects_all: bool) -> bool:
    """Whether a selector (Service map or LabelSelector) selects the pods of ``workload``."""
    sel = k8s.as_map(selector)
    if not sel:
        return empty_selects_all
    return k8s.selector_matches(sel, k8s.pod_labels(workload))


def services_for(target: Target, ctx) -> list[Target]:
    """Services in scope whose ``spec.selector`` selects the workload's pods (same namespace)."""
    obj = target.data
    out = []
    for t in related(target, ctx, kinds=("Service",)):
        sel = k8s.get(t.data, "spec", "selector")
        if same_namespace(obj, t.data) and selects_pods_of(sel, obj, empty_selects_all=False):
            out.append(t)
    return out


__all__ = ["namespace", "name", "related", "same_namespace", "scope", "selects_pods_of", "services_for",
           "visible", "profile"]
