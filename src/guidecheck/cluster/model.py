"""What an audit is, apart from how it is read: options, result, records and their paths.

Shared by the live audit (:mod:`guidecheck.cluster.audit`), the dumps
(:mod:`guidecheck.cluster.dump`) and the object conversion
(:mod:`guidecheck.cluster.objects`), so that none of them imports another to
learn it:

* :class:`AuditOptions` what ``guidecheck audit`` was asked to read and probe;
* :class:`Audited`      what an audit (live or from dumps) hands to the engine;
* ``live`` targets: coverage records (GC004) and probe results (GC502, GC503),
  and the ``cluster/<context>/<namespace>/...`` paths findings are named by.
"""

from __future__ import annotations

import datetime as _dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from guidecheck.model import ObjectRef, Target

AUDIT_API_VERSION = "audit.guidecheck.io/v1"  # guidecheck's own dump records: AuditInfo, CoverageGap, ProbeResult
AUDIT_KINDS = ("AuditInfo", "CoverageGap", "ProbeResult")
CLUSTER_SCOPE = "_cluster"  # the namespace segment of a cluster-scoped object's path


@dataclass
class AuditOptions:
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    cluster_name: str | None = None  # the <context> segment of paths (default: the context's name)
    namespaces: tuple[str, ...] = ()
    include_namespaces: tuple[str, ...] = ()
    exclude_namespaces: tuple[str, ...] = ()
    selector: str | None = None
    timeout: float | None = None
    request_timeout: float = 30.0
    page_size: int = 500
    probe_metrics: bool = False
    probe_logs: bool = False
    probe_max_pods: int = 20
    probe_max_bytes: int = 256 * 1024
    probe_timeout: float = 5.0
    log_lines: int = 100
    dump: str | None = None
    progress: bool = False


@dataclass
class Audited:
    """What an audit (live or from dumps) hands to the engine."""

    targets: list[Target] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    now: _dt.datetime | None = None  # the audit's clock (a dump's recorded time)
    context: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)


def safe_segment(text: str) -> str:
    """A path segment: context names may be ARNs with slashes."""
    out = "".join("_" if c in "/\\" or ord(c) < 32 else c for c in text).strip()
    return out or "_"


def live_target(
    data: dict, *, context: str, ref: ObjectRef, path: str, line: int = 1, origin: dict[str, Any] | None = None
) -> Target:
    """A ``live`` target: a probe result or a coverage record (see :mod:`guidecheck.checks.live`)."""
    base = {
        "source": (origin or {}).get("source", "cluster"),
        "repo": f"cluster/{safe_segment(context)}",
        "context": context,
        **({"namespace": ref.namespace} if ref.namespace else {}),
    }
    return Target(kind="live", path=path, line=line, ref=ref, data=data, origin={**base, **(origin or {})})


def coverage_target(
    data: dict, context: str, *, path: str | None = None, line: int = 1, source: str = "cluster"
) -> Target:
    """A coverage record as a ``live`` target: ``namespace`` is a name, ``"*"`` (all) or None (cluster scope)."""
    ns = data.get("namespace")
    seg = "_all" if ns == "*" else (ns if isinstance(ns, str) and ns else CLUSTER_SCOPE)
    resource = str(data.get("resource") or "?")
    kind = resource if "/" in resource else str(data.get("kind") or "?")  # pods/proxy, pods/log
    ref = ObjectRef(kind, ns if isinstance(ns, str) and ns != "*" else None, None)
    path = path or f"cluster/{safe_segment(context)}/{safe_segment(seg)}/{safe_segment(kind)}"
    return live_target(data, context=context, ref=ref, path=path, line=line, origin={"source": source})


RELAXED_GC_THRESHOLD = 100_000


def relax_gc(threshold: int = RELAXED_GC_THRESHOLD) -> None:
    """:func:`relaxed_gc` for the rest of the process (``guidecheck audit``: its report is written from every
    object read, after :func:`guidecheck.runner.audit` returned)."""
    old = gc.get_threshold()
    if old[0] != 0 and old[0] < threshold:
        gc.set_threshold(threshold, old[1], old[2])


@contextmanager
def relaxed_gc(threshold: int = RELAXED_GC_THRESHOLD) -> Iterator[None]:
    """Fewer cyclic garbage collections while an audit reads and judges its objects.

    Every object read is kept until the report is written, and the objects hold no reference
    cycles worth finding: with the default threshold (700 allocations), each collection walks the
    young objects and, ever more often as they pile up, all of them (a fifth of the time of a
    20,000-object dump).  Raises the first-generation threshold to ``threshold`` (unless it is
    already higher, or collection is switched off) and restores the previous thresholds on exit.
    """
    old = gc.get_threshold()
    if old[0] == 0 or old[0] >= threshold:
        yield
        return
    gc.set_threshold(threshold, old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def gap_reason(g: dict) -> str:
    ns = g.get("namespace")
    where = "in all namespaces" if ns == "*" else f"in namespace {ns}" if ns else "at cluster scope"
    return f"could not read {g.get('kind')} ({g.get('resource')}) {where}: {g.get('error')}"


__all__ = [
    "AUDIT_API_VERSION",
    "AUDIT_KINDS",
    "CLUSTER_SCOPE",
    "AuditOptions",
    "Audited",
    "coverage_target",
    "gap_reason",
    "live_target",
    "relax_gc",
    "relaxed_gc",
    "safe_segment",
]
