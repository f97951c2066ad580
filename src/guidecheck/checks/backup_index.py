"""The backup index: the backup model of :mod:`guidecheck.parsers.backup` over a scan's targets.

Rules GC801-GC803 (guideline 8.a-8.c, :mod:`guidecheck.checks.backup`) read
Kubernetes objects through this module.  It adds to the per-object model what
needs other objects or the settings: a workload's commands with the scripts
of the ConfigMaps its pods mount (matched against
``settings.backup-job-patterns``, ``settings.backup-verification-patterns``
and ``settings.restore-test-patterns``), the labels of the PVCs a workload
mounts, PersistentVolumeClaims no long-running workload of the scope mounts,
which schedule covers which volume, and the live evidence from a cluster or
dump (Velero ``Backup`` and ``Restore`` status, CSI ``VolumeSnapshot``
status, CloudNativePG ``Backup`` status and
``Cluster.status.lastSuccessfulBackup``, CronJob ``status.lastSuccessfulTime``).

Everything is computed from the target objects only (no I/O); the per-object
classification is memoised per scan through ``ctx.cached``.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from guidecheck import crossref
from guidecheck.checks import Context
from guidecheck.checks import settings as settings_of
from guidecheck.model import Target
from guidecheck.parsers import k8s
from guidecheck.parsers.backup import (
    ANN_BACKUP,
    ANN_RESTORE,
    ANN_VERIFY,
    Claim,
    Evidence,
    Holder,
    Producer,
    RestoreTest,
    cronjob_restore_test,
    cronjob_schedule,
    declared_restore_test,
    holder_of,
    image_program,
    is_kind,
    marker,
    matching,
    owned,
    text,
    timestamp,
    tool_schedule,
)

LIVE_SOURCES = ("cluster", "dump")

# Velero resource names of volumes (excludedResources leaving them out), and of everything that carries
# volume data (includedResources naming one of them)
_PVC_RESOURCES = {
    "persistentvolumeclaims",
    "persistentvolumeclaim",
    "pvc",
    "persistentvolumes",
    "persistentvolume",
    "pv",
}
_VOLUME_RESOURCES = _PVC_RESOURCES | {"pods", "pod", "po"}


def is_live(target: Target) -> bool:
    return (target.origin or {}).get("source") in LIVE_SOURCES


def merged_patterns(settings: Mapping[str, Any], key: str) -> dict[str, re.Pattern]:
    """A ``name -> regex`` settings map over its defaults (merge: merge-keys; a name set to null or "" drops a
    default), in name order; a value that is not a mapping (only in settings built in code) gives the defaults."""
    merged = settings_of.effective(settings, key)
    if not isinstance(merged, dict):
        merged = settings_of.default(key)
    out = {}
    for name, pat in sorted(merged.items()):
        if isinstance(pat, str) and pat:
            try:
                out[str(name)] = re.compile(pat, re.IGNORECASE | re.DOTALL)
            except re.error:
                continue  # the config loader reports invalid patterns
    return out


def scope_key(target: Target) -> tuple:
    """Targets with the same key see the same related objects (scope, value profile, chart)."""
    o = target.origin or {}
    return (crossref.scope(target), crossref.profile(target), str(o.get("chart", "")))


# ---------------------------------------------------------------- commands of a workload


def command_text(target: Target, ctx: Context) -> str:
    """Commands, args and env values of every container, plus the data of ConfigMaps the pods mount."""

    def build(c):
        return {}

    memo = ctx.cached("backup.command_text", build)
    key = id(target)
    if key in memo:
        return memo[key]
    obj = target.data
    parts = _container_commands(obj)
    mounted = _mounted_configmaps(obj)
    if mounted:
        seen = (crossref.related_pairs(target, ctx, crossref.named(target, ctx, "ConfigMap", m)) for m in mounted)
        for t in crossref.merged(*seen):
            if crossref.name(t.data) in mounted and crossref.same_namespace(obj, t.data):
                for val in k8s.as_map(t.data.get("data")).values():
                    if isinstance(val, str):
                        parts.append(val)
    # shell line continuations and quoting do not change what runs
    joined = "\n".join(parts).replace("\\\n", " ")
    memo[key] = joined
    return joined


def _container_commands(obj: dict) -> list[str]:
    parts: list[str] = []
    for cont in k8s.containers(obj, "all"):
        # one container's command and args read as one command line
        words = [
            str(a)
            for k in ("command", "args")
            for a in k8s.as_list(cont.data.get(k))
            if isinstance(a, (str, int, float)) and not isinstance(a, bool)
        ]
        image = cont.data.get("image")
        if not k8s.as_list(cont.data.get("command")) and isinstance(image, str) and image.strip():
            # no command: the image's entrypoint runs the args (restic/restic, velero/velero)
            words.insert(0, image_program(image))
        if words:
            parts.append(" ".join(words))
        for e in k8s.as_list(cont.data.get("env")):
            v = k8s.as_map(e).get("value")
            if isinstance(v, str):
                parts.append(v)
    return parts


def _mounted_configmaps(obj: dict) -> set[str]:
    mounted: set[str] = set()
    spec = k8s.pod_spec(obj) or {}
    for v in k8s.as_list(spec.get("volumes")):
        v = k8s.as_map(v)
        cm = text(k8s.get(v, "configMap", "name"))
        if cm:
            mounted.add(cm)
        for src in k8s.as_list(k8s.get(v, "projected", "sources")):
            cm = text(k8s.get(src, "configMap", "name"))
            if cm:
                mounted.add(cm)
    return mounted


# ---------------------------------------------------------------- data holders (PVC users)


def _pvc_objects(target: Target, ctx: Context, name: str) -> dict[tuple[str | None, str], dict]:
    """The scope's PersistentVolumeClaims named ``name`` that ``target`` sees, by (namespace, name)."""
    out = {}
    for t in crossref.related_among(target, ctx, crossref.named(target, ctx, "PersistentVolumeClaim", name)):
        n = crossref.name(t.data)
        if n:
            out[(crossref.namespace(t.data), n)] = t.data
    return out


def _find_pvc(pvcs: dict, ns: str | None, name: str) -> dict | None:
    if (ns, name) in pvcs:
        return pvcs[(ns, name)]
    for (pns, pname), obj in pvcs.items():
        if pname == name and (ns is None or pns is None):
            return obj
    return None


def holder(target: Target, ctx: Context) -> Holder | None:
    """The target as a data holder (uses persistent volumes), or None; memoised per scan."""
    return ctx.memoized("backup.holders", id(target), lambda: _holder(target, ctx))


def _holder(target: Target, ctx: Context) -> Holder | None:
    obj = target.data
    if target.kind != "k8s" or not isinstance(obj, dict):
        return None

    def find_pvc(ns: str | None, name: str) -> dict | None:
        # only PVCs of that name can be found (_find_pvc): looked up by name, not by walking the scope's
        return _find_pvc(_pvc_objects(target, ctx, name), ns, name)

    return holder_of(obj, target, target.line, ctx.settings.get("workload-kinds"), find_pvc)


_ORDINAL = re.compile(r"(.*)-\d+", re.DOTALL)


def _claimants(target: Target, ctx: Context, pvc_name: str) -> list[Holder]:
    """The workload holders of the scope view with a claim that may match ``pvc_name``.

    The holders are those related to the first PVC that asks (memoised per scope view). A claim
    matches a fixed name, or ``<template>-<owner>-<ordinal>`` (Claim.pvc_matches): the holders are
    filed by both, once per scope view.
    """

    def build() -> dict[str, list[Holder]]:
        def holders() -> list[tuple[Target, Holder]]:
            objects = crossref.scope_objects(target, ctx)
            return [(t, h) for t, h in ((t, holder(t, ctx)) for _, t in objects) if h is not None]

        # the scope's holders once; each view keeps those crossref.related(target, units=False) keeps
        scoped = ctx.memoized("backup.scope_holders", crossref.scope(target), holders)
        every = ctx.memoized(
            "backup.workload_holders",
            scope_key(target),
            lambda: [h for t, h in scoped if t is not target and crossref.visible(target, t)],
        )
        index: dict[str, list[Holder]] = {}
        for h in every:
            owner = crossref.name(h.obj)
            keys = set()
            for c in h.claims:
                if c.claim is not None:
                    keys.add(c.claim)
                elif c.template and owner:
                    keys.add(f"{c.template}-{owner}-")
            for key in keys:
                index.setdefault(key, []).append(h)
        return index

    index = ctx.memoized("backup.claimants", scope_key(target), build)
    m = _ORDINAL.fullmatch(pvc_name)
    return index.get(pvc_name, []) + (index.get(m.group(1) + "-", []) if m else [])


def unmounted_pvc(target: Target, ctx: Context) -> Holder | None:
    """A PersistentVolumeClaim no long-running workload (or CNPG Cluster) of the scope uses."""
    obj = target.data
    if target.kind != "k8s" or not is_kind(obj, "PersistentVolumeClaim") or owned(obj) or "$patch" in obj:
        return None
    name = crossref.name(obj)
    if not name:
        return None
    ns = crossref.namespace(obj)
    lbl = k8s.labels(obj)
    if lbl.get("cnpg.io/cluster"):
        return None
    for h in _claimants(target, ctx, name):
        if h.target is target or not crossref.same_namespace(obj, h.obj):
            continue
        owner = crossref.name(h.obj)
        if any(c.pvc_matches(name, owner) for c in h.claims) and crossref.unit_visible(target, h.target, ctx):
            return None
    return Holder(target, obj, ns, {}, {}, [Claim(name, None, name, labels=lbl, line=target.line)], line=target.line)


def data_holder(target: Target, ctx: Context) -> Holder | None:
    return holder(target, ctx) or unmounted_pvc(target, ctx)


# ---------------------------------------------------------------- backup schedules (producers)

_T = TypeVar("_T")


def _of_objects(
    memo: str,
) -> Callable[[Callable[[Target, Context], _T | None]], Callable[[Target, Context], _T | None]]:
    """A classifier of Kubernetes objects, memoised per scan (table ``memo``); for any other target (a
    kustomize ``$patch`` among them) it is not called and the answer is None."""

    def wrap(classify: Callable[[Target, Context], _T | None]) -> Callable[[Target, Context], _T | None]:
        @functools.wraps(classify)
        def memoised(target: Target, ctx: Context) -> _T | None:
            obj = target.data
            if target.kind != "k8s" or not isinstance(obj, dict) or "$patch" in obj:
                return None
            return ctx.memoized(memo, id(target), lambda: classify(target, ctx))

        return memoised

    return wrap


@_of_objects("backup.producers")
def producer(target: Target, ctx: Context) -> Producer | None:
    """The backup schedule the object is (a CronJob by annotation or command, or a backup tool's schedule)."""
    obj = target.data
    if obj.get("kind") != "CronJob":
        return tool_schedule(obj, target, str(target.ref), target.line)
    how = _declared(target, ctx, ANN_BACKUP, "backup-job-patterns")
    return None if how is None else cronjob_schedule(obj, how, target, str(target.ref), target.line)


def _declared(target: Target, ctx: Context, annotation: str, patterns: str, commands: bool = True) -> str | None:
    """How the object says it does a backup task: ``<annotation>: <value>``, else (with ``commands``) the names of the
    patterns of setting ``patterns`` its commands match, comma-separated; None when neither."""
    value = marker(target.data, annotation)
    if value is not None:
        return f"{annotation}: {value}"
    found = matching(merged_patterns(ctx.settings, patterns), command_text(target, ctx)) if commands else None
    return ", ".join(found) if found else None


def _ns_match(patterns: list, ns: str | None) -> bool:
    return any(p == "*" or (ns is not None and fnmatch.fnmatchcase(ns, p)) for p in patterns)


def covers(p: Producer, h: Holder, claim: Claim, ctx: Context) -> str | None:
    """None if ``p`` backs up ``claim`` of ``h``; else why not (for near-miss explanations)."""
    if p.tool == "declared":
        return None if p.target is h.target else "is declared on another object"
    judge = _COVERS.get(p.tool)
    return judge(p.target.data, h, claim) if judge is not None else "unknown"


def _velero_covers(pobj: dict, h: Holder, claim: Claim) -> str | None:
    tpl = k8s.as_map(k8s.get(pobj, "spec", "template"))
    for why in (_velero_namespaces(tpl, h), _velero_resources(tpl), _velero_selector(tpl, h, claim)):
        if why is not None:
            return why
    return _velero_volume_data(tpl, h, claim)


def _velero_namespaces(tpl: dict, h: Holder) -> str | None:
    inc = [text(x) for x in k8s.as_list(tpl.get("includedNamespaces")) if text(x)] or ["*"]
    exc = [text(x) for x in k8s.as_list(tpl.get("excludedNamespaces")) if text(x)]
    if h.namespace is not None:
        if not _ns_match(inc, h.namespace):
            return f"includes only namespaces {', '.join(inc)}"
        if _ns_match(exc, h.namespace):
            return f"excludes namespace {h.namespace}"
    return None


def _velero_selector(tpl: dict, h: Holder, claim: Claim) -> str | None:
    sel, ors = tpl.get("labelSelector"), k8s.as_list(tpl.get("orLabelSelectors"))
    sels = ([sel] if isinstance(sel, dict) and sel else []) + [s for s in ors if isinstance(s, dict)]
    if sels:
        subjects = [h.pod_labels] + ([claim.labels] if claim.labels else [])
        if not any(k8s.selector_matches(s, lb) for s in sels for lb in subjects if lb is not None):
            return "its label selector matches neither the pods nor the claim"
    return None


def _velero_volume_data(tpl: dict, h: Holder, claim: Claim) -> str | None:
    """Volume data: a snapshot (unless snapshotVolumes: false) or a file-system backup of the pod volume."""
    fs_default = tpl.get("defaultVolumesToFsBackup") is True or tpl.get("defaultVolumesToRestic") is True
    opt_in = {s.strip() for s in text(h.pod_annotations.get("backup.velero.io/backup-volumes")).split(",")}
    opt_out = {s.strip() for s in text(h.pod_annotations.get("backup.velero.io/backup-volumes-excludes")).split(",")}
    vol = claim.volume
    fs = vol is not None and ((fs_default and vol not in opt_out) or vol in opt_in)
    if not fs and tpl.get("snapshotVolumes") is False:
        return "has snapshotVolumes: false and no file-system backup of the volume"
    return None


def _velero_resources(tpl: dict) -> str | None:
    """includedResources, or (Velero >= 1.11) includedNamespaceScopedResources, and their exclusions."""
    for inc_key, exc_key in (
        ("includedResources", "excludedResources"),
        ("includedNamespaceScopedResources", "excludedNamespaceScopedResources"),
    ):
        res = {text(x).lower() for x in k8s.as_list(tpl.get(inc_key)) if text(x)}
        if res and "*" not in res and not res & _VOLUME_RESOURCES:
            return f"includes only resources {', '.join(sorted(res))}"
        xres = {text(x).lower() for x in k8s.as_list(tpl.get(exc_key)) if text(x)}
        if xres & _PVC_RESOURCES or "*" in xres:
            return "excludes persistent volume claims"
    return None


def _snapscheduler_covers(pobj: dict, h: Holder, claim: Claim) -> str | None:
    if not crossref.same_namespace(pobj, h.obj):
        return f"is in namespace {crossref.namespace(pobj)}"
    sel = k8s.get(pobj, "spec", "claimSelector")
    if isinstance(sel, dict) and sel:
        if claim.labels is None:
            return f"selects claims by label and the claim {claim.claim} is not in the scanned objects"
        if not k8s.selector_matches(sel, claim.labels):
            return "its claimSelector does not match the claim"
    return None


def _cnpg_covers(pobj: dict, h: Holder, claim: Claim) -> str | None:
    cl = text(k8s.get(pobj, "spec", "cluster", "name"))
    if h.cnpg_cluster is None and not (claim.labels or {}).get("cnpg.io/cluster"):
        return "backs up a CloudNativePG cluster, not this workload"
    target_cluster = h.cnpg_cluster or text((claim.labels or {}).get("cnpg.io/cluster"))
    if cl != target_cluster or not crossref.same_namespace(pobj, h.obj):
        return f"backs up cluster {cl or '?'}"
    return None


def _volume_snapshot_covers(pobj: dict, h: Holder, claim: Claim) -> str | None:
    if not crossref.same_namespace(pobj, h.obj):
        return f"is in namespace {crossref.namespace(pobj)}"
    pvc = text(k8s.get(pobj, "spec", "persistentVolumeClaimName"))
    if not pvc or not claim.pvc_matches(pvc, crossref.name(h.obj)):
        return f"snapshots claim {pvc or '?'}"
    return None


def _cronjob_covers(pobj: dict, h: Holder, claim: Claim) -> str | None:
    if not crossref.same_namespace(pobj, h.obj):
        return f"is in namespace {crossref.namespace(pobj)}"
    mounted = [
        text(k8s.get(v, "persistentVolumeClaim", "claimName"))
        for v in k8s.as_list(k8s.get(k8s.pod_spec(pobj) or {}, "volumes"))
    ]
    mounted = [m for m in mounted if m]
    if mounted and not any(claim.pvc_matches(m, crossref.name(h.obj)) for m in mounted):
        return f"backs up claims {', '.join(mounted)}"
    return None


_COVERS = {
    "velero": _velero_covers,
    "snapscheduler": _snapscheduler_covers,
    "cnpg": _cnpg_covers,
    "scheduled-volume-snapshot": _volume_snapshot_covers,
    "cronjob": _cronjob_covers,
}


def relevant(p: Producer, h: Holder) -> bool:
    """Whether a non-covering schedule is worth naming as a near miss for ``h`` (same tool family and reach)."""
    if p.tool == "velero":
        return True
    if not crossref.same_namespace(p.target.data, h.obj):
        return False
    if p.tool == "cnpg":  # another cluster's ScheduledBackup says nothing about this one
        return h.cnpg_cluster is not None and text(k8s.get(p.target.data, "spec", "cluster", "name")) == h.cnpg_cluster
    return h.cnpg_cluster is None


# ---------------------------------------------------------------- verification and restore tests


@_of_objects("backup.verification")
def verification(target: Target, ctx: Context) -> str | None:
    """How ``target`` verifies backups (annotation or a recognised command), or None."""
    commands = k8s.pod_spec(target.data) is not None  # only a pod runs commands
    return _declared(target, ctx, ANN_VERIFY, "backup-verification-patterns", commands)


_VELERO_RESTORE = re.compile(r"\bvelero\s+(?:restore\s+create|create\s+restore)\b", re.IGNORECASE)


@_of_objects("backup.restore_tests")
def restore_test(target: Target, ctx: Context) -> RestoreTest | None:
    """A CronJob that runs restore tests (recognised or marked), or a Velero restore CronJob that is not isolated."""
    obj = target.data
    if obj.get("kind") != "CronJob":
        return declared_restore_test(obj, target, target.line)
    isolated = True
    how = _declared(target, ctx, ANN_RESTORE, "restore-test-patterns")
    if how is None:
        if not _VELERO_RESTORE.search(command_text(target, ctx)):
            return None
        how, isolated = "velero restore create", False
    return cronjob_restore_test(obj, how, isolated, target, target.line)


# ---------------------------------------------------------------- live evidence


def backup_evidence(h: Holder, covering: list[Producer], ctx: Context) -> list[Evidence]:
    """Completed snapshots/backups of the holder's volumes found among the cluster's objects."""
    out: list[Evidence] = []
    target, obj = h.target, h.obj
    velero_schedules = {crossref.name(p.target.data) for p in covering if p.tool == "velero"}
    kinds = ("VolumeSnapshot", "Backup", "Cluster", "CronJob")
    related = crossref.related(target, ctx, kinds=kinds) + ([target] if obj.get("kind") == "Cluster" else [])
    covering_ids = {id(p.target) for p in covering}
    for t in related:
        o = t.data
        ref = str(t.ref)
        if is_kind(o, "VolumeSnapshot", "snapshot.storage.k8s.io"):
            ev = _snapshot_evidence(o, h, ref)
        elif is_kind(o, "Backup", "velero.io"):
            ev = _velero_backup_evidence(o, velero_schedules, ref)
        elif is_kind(o, "Backup", "postgresql.cnpg.io") and h.cnpg_cluster:
            ev = _cnpg_backup_evidence(o, h, ref)
        elif is_kind(o, "Cluster", "postgresql.cnpg.io") and t is target:
            when = timestamp(k8s.get(o, "status", "lastSuccessfulBackup"))
            ev = Evidence(when, f"{ref} status.lastSuccessfulBackup") if when else None
        elif o.get("kind") == "CronJob" and id(t) in covering_ids:
            when = timestamp(k8s.get(o, "status", "lastSuccessfulTime"))
            ev = Evidence(when, f"{ref} status.lastSuccessfulTime") if when else None
        else:
            ev = None
        if ev is not None:
            out.append(ev)
    return out


def _snapshot_evidence(o: dict, h: Holder, ref: str) -> Evidence | None:
    src = text(k8s.get(o, "spec", "source", "persistentVolumeClaimName"))
    when = timestamp(k8s.get(o, "status", "creationTime"))
    if (
        src
        and crossref.same_namespace(o, h.obj)
        and k8s.get(o, "status", "readyToUse") is True
        and when
        and any(c.pvc_matches(src, crossref.name(h.obj)) for c in h.claims)
    ):
        return Evidence(when, f"{ref} (ready)")
    return None


def _velero_backup_evidence(o: dict, velero_schedules: set, ref: str) -> Evidence | None:
    sched = text(k8s.labels(o).get("velero.io/schedule-name"))
    when = timestamp(k8s.get(o, "status", "completionTimestamp"))
    if sched in velero_schedules and text(k8s.get(o, "status", "phase")) == "Completed" and when:
        return Evidence(when, f"{ref} (Completed, schedule {sched})")
    return None


def _cnpg_backup_evidence(o: dict, h: Holder, ref: str) -> Evidence | None:
    when = timestamp(k8s.get(o, "status", "stoppedAt"))
    if (
        text(k8s.get(o, "spec", "cluster", "name")) == h.cnpg_cluster
        and crossref.same_namespace(o, h.obj)
        and text(k8s.get(o, "status", "phase")).lower() == "completed"
        and when
    ):
        return Evidence(when, f"{ref} (completed)")
    return None


def restore_evidence(target: Target, ctx: Context) -> list[Evidence]:
    """Completed isolated restores (Velero Restore with namespaceMapping) and restore-test CronJob successes."""
    out: list[Evidence] = []
    cands = crossref.related(target, ctx, kinds=("Restore", "CronJob")) + [target]
    for t in cands:
        o = t.data
        if not isinstance(o, dict):
            continue
        if is_kind(o, "Restore", "velero.io"):
            mapping = k8s.as_map(k8s.get(o, "spec", "namespaceMapping"))
            when = timestamp(k8s.get(o, "status", "completionTimestamp"))
            if mapping and text(k8s.get(o, "status", "phase")) == "Completed" and when:
                out.append(Evidence(when, f"{t.ref} (Completed, into {', '.join(sorted(map(str, mapping.values())))})"))
        elif o.get("kind") == "CronJob":
            rt = restore_test(t, ctx)
            when = timestamp(k8s.get(o, "status", "lastSuccessfulTime"))
            if rt is not None and rt.isolated and when:
                out.append(Evidence(when, f"{t.ref} status.lastSuccessfulTime"))
    return out


__all__ = [
    "backup_evidence",
    "command_text",
    "covers",
    "data_holder",
    "holder",
    "is_live",
    "merged_patterns",
    "producer",
    "relevant",
    "restore_evidence",
    "restore_test",
    "scope_key",
    "unmounted_pvc",
    "verification",
]
