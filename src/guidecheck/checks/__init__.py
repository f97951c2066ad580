"""Check functions named by ``rules/*.yaml`` (``check: guidecheck.checks.<module>:<function>``).

A check is ``def check(target: Target, ctx: Context) -> Iterable[Hit]``.  It
yields nothing when the target complies, and raises :class:`NotApplicable`
when the rule does not apply to this target (a Job has no liveness probe to
check).  Checks are pure: no I/O, no globals; everything comes from the
target and the context.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from guidecheck.model import Hit, Target


class NotApplicable(Exception):
    """Raised by a check when its rule does not apply to the target."""


class NotATarget(NotApplicable):
    """Raised by a check for an object its rule never looks at (no outcome is recorded at all).

    For rules whose catalogue target is ``k8s`` but which judge only some
    kinds (a ConfigMap holding a Fluent Bit pipeline, a HorizontalPodAutoscaler):
    every other object would otherwise get a "not applicable" outcome.
    """


@dataclass
class Context:
    """What a check may look at besides its target."""

    settings: dict[str, Any]
    options: dict[str, Any]
    targets: list[Target] = field(default_factory=list)
    today: _dt.date = field(default_factory=_dt.date.today)  # for time-based rules (waivers)
    # the scan's clock (timezone-aware UTC) for age-based live rules (key Secrets, last backup)
    now: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.UTC))

    _by_kind: dict[str, list[Target]] | None = field(default=None, repr=False, compare=False)
    # per-scan memo for cross-object indexes (built once, shared by every rule): name -> value
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # the catalogue's setting declarations (catalog.Setting by name), for :meth:`setting`
    specs: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # what a passing target's outcome reports as its evidence (the reason of a pass): id(target) -> text
    evidence: dict[int, str] = field(default_factory=dict, repr=False, compare=False)

    def note_evidence(self, target: Target, text: str) -> None:
        """Record why ``target`` passes (an admission policy, a verified signature); shown with its outcome."""
        self.evidence[id(target)] = text

    def of_kind(self, kind: str) -> list[Target]:
        """Every target of a kind, in load order (indexed once per scan)."""
        if self._by_kind is None:
            index: dict[str, list[Target]] = {}
            for t in self.targets:
                index.setdefault(t.kind, []).append(t)
            self._by_kind = index
        return self._by_kind.get(kind, [])

    def memoized(self, name: str, key, compute):
        """``compute()`` once per scan for each ``key`` of the table ``name`` (e.g. per target: ``id(target)``)."""
        table = self.memo.setdefault(name, {})
        if key not in table:
            table[key] = compute()
        return table[key]

    def setting(self, name: str) -> Any:
        """A setting's effective value: the configured one combined with its default by the setting's merge policy.

        ``settings`` holds what ``.guidecheck.yaml`` gave (replacing the default);
        this applies the policy the catalogue declares (``replace``, ``extend``,
        ``merge-keys``: :func:`guidecheck.catalog.merge_value`), once per scan.
        ``name`` must be declared in the catalogue (KeyError otherwise).
        """
        spec = self.specs[name]
        return self.cached(f"setting:{name}", lambda c: spec.combine(c.settings.get(name, spec.default)))

    def cached(self, name: str, build):
        """A cross-object index computed once per scan (``build(ctx)``) and shared by every check."""
        if name not in self.memo:
            self.memo[name] = build(self)
        return self.memo[name]


def workload_object(target: Target, ctx: Context) -> dict:
    """The target's object if its kind is a configured workload kind; else NotApplicable."""
    obj = target.data
    kind = obj.get("kind") if isinstance(obj, dict) else None
    kinds = ctx.settings.get("workload-kinds") or ()
    if not isinstance(kind, str) or kind not in kinds:
        raise NotApplicable(f"{kind} is not a workload kind (settings.workload-kinds)")
    if "$patch" in obj:  # a kustomize strategic-merge directive ($patch: delete), not an object to deploy
        raise NotApplicable(f"a kustomize patch ($patch: {str(obj.get('$patch'))[:40]}), not a full object")
    api = obj.get("apiVersion")
    if kind == "Rollout" and isinstance(api, str) and "/" in api and not api.startswith("argoproj.io/"):
        # OpenKruise's rollouts.kruise.io Rollout points at a Deployment and runs no pods of its own
        raise NotApplicable(f"a {api} Rollout, not Argo Rollouts': it runs no pods (its workloadRef is judged)")
    return obj


def workload_containers(obj: dict, which: str) -> list:
    """The workload's containers (see :func:`guidecheck.parsers.k8s.containers`); NotApplicable if none."""
    from guidecheck.parsers import k8s

    if k8s.pod_spec(obj) is None:
        raise NotApplicable("no pod spec")
    conts = list(k8s.containers(obj, which))
    if not conts:
        raise NotApplicable("no long-running containers" if which == "long-running" else "no containers")
    return conts


__all__ = ["Context", "Hit", "NotApplicable", "NotATarget", "workload_containers", "workload_object"]
