"""Live and dumped objects as ``k8s`` targets (the origin contract of :mod:`guidecheck.crossref`).

Shared by the live audit and ``--from-dump`` so that both give the same
findings: the same objects are kept, trimmed and named the same way.

* A list's items carry no ``kind``/``apiVersion`` on the wire (the API server
  leaves them out; kubectl fills them in): :func:`typed` restores them.
* ``metadata.managedFields`` and the ``kubectl.kubernetes.io/last-applied-configuration``
  annotation are dropped: no rule reads them, they double an object's size,
  and on a Secret the latter holds the Secret's values.  So is the ``status`` of
  workloads, Services and Namespaces (:data:`STATUS_NOT_READ`); short strings
  are interned.  Memory then grows with what rules read, not with the wire size.
* Secrets are reduced to ``apiVersion: v1``, ``kind: Secret`` and their
  metadata, whatever the source held (a ``kubectl get secrets -o yaml`` dump
  has the data: it is dropped as soon as it is parsed, and never reported).
* Objects controlled by a workload (a Deployment's ReplicaSets, their Pods, a
  CronJob's Jobs) are not targets: their controller is checked instead, as
  GC402 says; the audit still uses Pods to pick what the probes sample.
"""

from __future__ import annotations

import sys
from typing import Any

from guidecheck import suppress
from guidecheck.cluster.model import CLUSTER_SCOPE, safe_segment
from guidecheck.model import Target, k8s_target
from guidecheck.parsers import k8s
from guidecheck.parsers.k8s import controller_of
from guidecheck.parsers.yaml import YMap, YSeq, col_of, line_of

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
METADATA_ONLY_KINDS = frozenset({"Secret"})
# kinds whose status no rule reads (replica counts, conditions, pod IPs): dropped to keep memory to what rules use;
# the status of snapshots, backups, restores and certificates (GC801, GC803) is kept
STATUS_NOT_READ = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Pod",
        "Job",
        "CronJob",
        "Service",
        "Namespace",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }
)


def typed(item: Any, list_kind: str, api_version: str) -> Any:
    """An item of a ``<Kind>List`` with its ``kind``/``apiVersion`` filled in (as kubectl does)."""
    if isinstance(item, dict):
        if not isinstance(item.get("kind"), str):
            item["kind"] = list_kind.removesuffix("List")
        if not isinstance(item.get("apiVersion"), str):
            item["apiVersion"] = api_version
    return item


_intern = sys.intern  # label keys and values, image names, ports repeat across thousands of objects
_NO_POS: dict = {}  # shared, never written: every key of a live object is at the object's own line
_NO_ITEMS: list = []


def ymap_from_pairs(pairs: list[tuple[str, Any]]) -> YMap:
    """``json.loads(..., object_pairs_hook=ymap_from_pairs)``: API JSON straight into YMap/YSeq at line 1.

    The decoder calls this bottom-up, so nested lists are made YSeq here with one shallow copy, and no
    intermediate dicts are left behind as garbage between the objects that are kept.
    """
    out = YMap.__new__(YMap)
    out.line, out.col, out._pos = 1, 1, _NO_POS
    for k, v in pairs:
        if isinstance(v, str):
            if len(v) <= 128:
                v = _intern(v)
        elif isinstance(v, list):
            seq = YSeq.__new__(YSeq)
            seq.line, seq.col, seq._pos = 1, 1, _NO_ITEMS
            seq.extend(_intern(x) if isinstance(x, str) and len(x) <= 128 else x for x in v)
            v = seq
        out[_intern(k)] = v
    return out


def located(value: Any, line: int = 1) -> Any:
    """JSON data as YMap/YSeq at ``line`` (what checks expect of every object), without recursion."""
    if isinstance(value, YMap):
        return value
    root: list = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        v, parent, key = stack.pop()
        if isinstance(v, dict):
            out: Any = YMap.__new__(YMap)
            out.line, out.col, out._pos = line, 1, _NO_POS
            for k, item in v.items():
                k = _intern(k) if isinstance(k, str) else k
                if isinstance(item, (dict, list)):
                    out[k] = None
                    stack.append((item, out, k))
                else:
                    out[k] = _intern(item) if isinstance(item, str) and len(item) <= 128 else item
        elif isinstance(v, list):
            out = YSeq.__new__(YSeq)
            out.line, out.col, out._pos = line, 1, _NO_ITEMS
            out.extend(_intern(x) if isinstance(x, str) and len(x) <= 128 else x for x in v)
            for i, item in enumerate(v):
                if isinstance(item, (dict, list)):
                    stack.append((item, out, i))
        else:
            out = v
        parent[key] = out
    return root[0]


def trim(obj: dict) -> dict:
    """Drop what no rule reads and what may hold secrets (see the module docstring)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            ann.pop(LAST_APPLIED, None)
    if obj.get("kind") in METADATA_ONLY_KINDS:
        return metadata_only(obj, obj["kind"])
    if obj.get("kind") in STATUS_NOT_READ:
        status = obj.pop("status", None)
        if obj.get("kind") == "Pod" and isinstance(status, dict):
            running = _running_images(status)  # GC705 verifies the digest a Pod runs (imageID)
            if running:
                obj["status"] = running
    return obj


def _running_images(status: dict) -> dict:
    """A Pod status cut to each container's name and imageID (all GC705 reads of it)."""
    out: dict = {}
    for section in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        kept = [
            {"name": cs["name"], "imageID": cs["imageID"]}
            for cs in status.get(section) or ()
            if isinstance(cs, dict) and isinstance(cs.get("name"), str) and isinstance(cs.get("imageID"), str)
        ]
        if kept:
            out[section] = kept
    return out


def metadata_only(obj: dict, kind: str = "Secret", api_version: str = "v1") -> dict:
    """``{apiVersion, kind, metadata}`` of an object: everything else (Secret data) is gone."""
    meta = obj.get("metadata")
    if isinstance(obj, YMap):
        kept = YMap(line_of(obj), col_of(obj))
        # keep the key positions of what we keep (dump findings point into the file)
        kept._pos = {k: v for k, v in obj._pos.items() if k in ("apiVersion", "kind", "metadata")}
        out: dict = kept
    else:
        out = {}
    out["apiVersion"] = api_version
    out["kind"] = kind
    out["metadata"] = meta if isinstance(meta, dict) else {}
    return out


def helm_origin(obj: dict) -> dict[str, str]:
    """The Helm release and chart an object came from, from Helm's own labels and annotations."""
    labels, ann = k8s.labels(obj), k8s.annotations(obj)
    out: dict[str, str] = {}
    release = ann.get("meta.helm.sh/release-name")
    managed = str(labels.get("app.kubernetes.io/managed-by") or labels.get("heritage") or "").lower()
    if not isinstance(release, str) or not release:
        release = labels.get("release") if managed in ("helm", "tiller") else None
        if not isinstance(release, str) or not release:
            release = labels.get("app.kubernetes.io/instance") if managed in ("helm", "tiller") else None
    if isinstance(release, str) and release:
        out["release"] = release
        rns = ann.get("meta.helm.sh/release-namespace")
        if isinstance(rns, str) and rns:
            out["release_namespace"] = rns
    chart = labels.get("helm.sh/chart") or labels.get("chart")
    if isinstance(chart, str) and chart and (out or labels.get("helm.sh/chart")):
        out["chart"] = chart
    return out


def checked_through_owner(obj: dict, workload_kinds) -> bool:
    """A workload object controlled by another workload (checked instead)."""
    if obj.get("kind") not in workload_kinds:
        return False
    owner = controller_of(obj)
    return owner is not None and owner[0] in workload_kinds


def object_path(context: str, obj: dict) -> str:
    ref = k8s.object_ref(obj)
    ns = ref.namespace or CLUSTER_SCOPE
    return f"cluster/{safe_segment(context)}/{safe_segment(ns)}/{safe_segment(ref.kind)}/{safe_segment(str(ref.name))}"


def make_target(
    obj: dict,
    *,
    context: str,
    source: str,
    inline_suppressions: bool,
    path: str | None = None,
    line: int = 1,
    span: tuple[int, int] | None = None,
) -> Target:
    """A ``k8s`` target for a live (``source="cluster"``) or dumped (``source="dump"``) object."""
    obj = located(obj, line)
    ref = k8s.object_ref(obj)
    path = path or object_path(context, obj)
    span = span or (line, line)
    origin: dict[str, Any] = {
        "source": source,
        "repo": f"cluster/{safe_segment(context)}",
        "context": context,
        **({"namespace": ref.namespace} if ref.namespace else {}),
        **helm_origin(obj),
    }
    if obj.get("kind") in METADATA_ONLY_KINDS:
        origin["metadata_only"] = True
    if source == "dump":
        origin["span"] = list(span)
    supp = suppress.from_annotations(k8s.annotations(obj), path, line, span) if inline_suppressions else []
    return k8s_target(obj, ref, path=path, line=line, suppressions=supp, origin=origin)


__all__ = [
    "checked_through_owner",
    "controller_of",
    "helm_origin",
    "located",
    "make_target",
    "metadata_only",
    "object_path",
    "trim",
    "typed",
    "ymap_from_pairs",
]
