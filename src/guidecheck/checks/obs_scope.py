"""Scope helpers shared by the observability checks (metrics, logs, alerts).

Which workloads are long-running and judged, the Services selecting them,
whether a repository deploys anything, and which workload carries the
findings about what a whole cluster scope lacks.  Memo tables are named
``obs.*`` and shared by GC501, GC503-GC505 and GC904.
"""

from __future__ import annotations

from guidecheck import crossref
from guidecheck.checks import Context, NotApplicable, workload_object
from guidecheck.model import Target
from guidecheck.parsers import k8s


def owned(obj: dict) -> str | None:
    for ref in k8s.as_list(k8s.get(obj, "metadata", "ownerReferences")):
        ref = k8s.as_map(ref)
        if ref.get("controller") is True:
            return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def long_running_workload(target: Target, ctx: Context) -> dict:
    obj = workload_object(target, ctx)
    if not k8s.is_long_running(obj):
        raise NotApplicable(f"a {obj.get('kind')} runs to completion")
    owner = owned(obj)
    if owner:
        raise NotApplicable(f"managed by {owner}, which is judged instead")
    return obj


def services_of(target: Target, ctx: Context) -> list[Target]:
    """Services selecting the workload's pods (memoised: GC501 and GC904 both ask)."""
    return ctx.memoized("obs.services-for", id(target), lambda: crossref.services_for(target, ctx))


def where(t: Target) -> str:
    return f"{t.path}:{t.line}"


def in_scope_workloads(target: Target, ctx: Context) -> list[Target]:
    kinds = tuple(ctx.settings.get("workload-kinds") or ())
    return [t for t in crossref.related(target, ctx, kinds=kinds) if k8s.is_long_running(t.data) and not owned(t.data)]


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


def cluster_anchor(target: Target, ctx: Context) -> bool:
    """Whether ``target`` carries the findings about what a whole cluster scope lacks.

    A repository scan reports a missing Fluent Bit pipeline or alerting once, on the repository. A
    cluster audit has no repository target: there the scope's first long-running workload (in report
    order) carries the finding, so that it is reported once per cluster, not silently dropped and not
    repeated on every workload.
    """
    obj = target.data
    if crossref.repo_target(target, ctx) is not None or not isinstance(obj, dict):
        return False
    if obj.get("kind") not in (ctx.settings.get("workload-kinds") or ()) or not k8s.is_long_running(obj) or owned(obj):
        return False
    first = ctx.memoized(
        "obs.cluster-anchor",
        crossref.view_key(target, ctx),
        lambda: min([target, *in_scope_workloads(target, ctx)], key=lambda t: t.key),
    )
    return first is target


def scope_name(target: Target) -> str:
    return crossref.scope(target) or "this scan"


def repo_scope_or_na(target: Target, ctx: Context) -> None:
    if not _deploys_something(target, ctx):
        raise NotApplicable(
            "nothing in this directory is deployed (no long-running workload, no Fluent Bit or "
            "alerting configuration); GC203 reports a missing chart"
        )


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def listing(items: list[str], limit: int = 4) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


pod_annotations = k8s.pod_annotations  # the pod template's annotations (a bare Pod's own)


__all__ = [
    "cluster_anchor",
    "in_scope_workloads",
    "listing",
    "long_running_workload",
    "owned",
    "pod_annotations",
    "repo_scope_or_na",
    "scope_name",
    "services_of",
    "short",
    "where",
]
