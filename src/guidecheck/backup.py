"""The backup model: which objects take, verify and restore-test backups, and what they cover.

Rules GC801-GC803 (guideline 8.a-8.c) read Kubernetes objects through this
module.  It recognises:

* backup *schedules* (producers): Velero ``Schedule``; snapscheduler
  ``SnapshotSchedule``; CloudNativePG ``ScheduledBackup``; the
  ``ScheduledVolumeSnapshot`` of k8s-scheduled-volume-snapshotter; CronJobs
  whose commands create VolumeSnapshots or run a volume backup tool
  (``settings.backup-job-patterns``), or that carry the annotation
  ``guidecheck.io/backup-schedule``; and schedules run outside the scan,
  declared on a data holder with ``guidecheck.io/backup-cron: "<cron>"``;
* *data holders*: long-running workloads with ``persistentVolumeClaim``
  volumes or ``volumeClaimTemplates``, CloudNativePG ``Cluster`` objects, and
  PersistentVolumeClaims no long-running workload of the scope mounts;
* *verification* steps (``settings.backup-verification-patterns`` in a
  workload's commands or the scripts of ConfigMaps it mounts, or the
  annotation ``guidecheck.io/backup-verification``);
* *restore tests* (``settings.restore-test-patterns``, or the label or
  annotation ``guidecheck.io/restore-test`` on a CronJob; on another object
  the annotation's value is the schedule of a test run outside the scan);
* live evidence from a cluster or dump: Velero ``Backup`` and ``Restore``
  status, CSI ``VolumeSnapshot`` status, CloudNativePG ``Backup`` status and
  ``Cluster.status.lastSuccessfulBackup``, CronJob ``status.lastSuccessfulTime``.

Everything is computed from the target objects only (no I/O); the per-object
classification is memoised per scan through ``ctx.cached``.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from guidecheck import crossref
from guidecheck.parsers import cron, k8s
from guidecheck.model import Target

ANN_BACKUP = "guidecheck.io/backup-schedule"
ANN_VERIFY = "guidecheck.io/backup-verification"
ANN_RESTORE = "guidecheck.io/restore-test"
ANN_BACKUP_CRON = "guidecheck.io/backup-cron"  # on a data holder: backed up outside the scan, on this schedule

LIVE_SOURCES = ("cluster", "dump")

# Velero resource names that carry volume data (includedResources / excludedResources)
_VOLUME_RESOURCES = {"persistentvolumeclaims", "persistentvolumeclaim", "pvc", "persistentvolumes",
                     "persistentvolume", "pv", "pods", "pod", "po"}
_PVC_RESOURCES = {"persistentvolumeclaims", "persistentvolumeclaim", "pvc", "persistentvolumes",
                  "persistentvolume", "pv"}


# ---------------------------------------------------------------- small helpers

def group(obj: dict) -> str:
    api = obj.get("apiVersion")
    return api.split("/", 1)[0] if isinstance(api, str) and "/" in api else ""


def is_kind(obj: Any, kind: str, api_group: str | None = None) -> bool:
    if not isinstance(obj, dict) or obj.get("kind") != kind:
        return False
    return api_group is None or group(obj) == api_group


def text(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


def is_live(target: Target) -> bool:
    return (target.origin or {}).get("source") in LIVE_SOURCES


def marker(obj: dict, key: str) -> str | None:
    """The value of a guidecheck marker (annotation, or label) if present and non-empty."""
    for m in (k8s.annotations(obj), k8s.labels(obj)):
        v = text(m.get(key))
        if v and v.lower() not in ("false", "no", "0"):
            return v
    return None


def owned(obj: dict) -> str | None:
    """``Kind/name`` of the object's owner when a controller or operator created it."""
    for o in k8s.as_list(k8s.get(obj, "metadata", "ownerReferences")):
        if isinstance(o, dict):
            return f"{text(o.get('kind')) or '?'}/{text(o.get('name')) or '?'}"
    return None


def timestamp(value: Any) -> _dt.datetime | None:
    """An RFC 3339 timestamp from status fields (string or an already parsed datetime)."""
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        t = _dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def pod_annotations(obj: dict) -> dict:
    if obj.get("kind") == "Pod":
        return k8s.annotations(obj)
    path = k8s.POD_SPEC_PATHS.get(obj.get("kind"))
    if path is None:
        return {}
    return k8s.as_map(k8s.get(obj, *path[:-1], "metadata", "annotations"))


def merged_patterns(settings: dict, key: str) -> dict[str, re.Pattern]:
    """A ``name -> regex`` settings map over its defaults (a name set to null or "" drops a default)."""
    from guidecheck.config import DEFAULT_SETTINGS

    merged: dict[str, Any] = dict(DEFAULT_SETTINGS.get(key) or {})
    user = settings.get(key)
    if isinstance(user, dict) and user is not DEFAULT_SETTINGS.get(key):
        merged.update(user)
    out = {}
    for name, pat in sorted(merged.items()):
        if isinstance(pat, str) and pat:
            try:
                out[str(name)] = re.compile(pat, re.IGNORECASE | re.DOTALL)
            except re.error:
                continue  # the config loader reports invalid patterns
    return out


# ---------------------------------------------------------------- commands of a workload

def command_text(target: Target, ctx) -> str:
    """Commands, args and env values of every container, plus the data of ConfigMaps the pods mount."""
    def build(c):
        return {}

    memo = ctx.cached("backup.command_text", build)
    key = id(target)
    if key in memo:
        return memo[key]
    obj = target.data
    parts: list[str] = []
    mounted: set[str] = set()
    for cont in k8s.containers(obj, "all"):
        # one container's command and args read as one command line
        words = [str(a) for k in ("command", "args") for a in k8s.as_list(cont.data.get(k))
                 if isinstance(a, (str, int, float)) and not isinstance(a, bool)]
        image = cont.data.get("image")
        if not k8s.as_list(cont.data.get("command")) and isinstance(image, str) and image.strip():
            # no command: the image's entrypoint runs the args (restic/restic, velero/velero)
            words.insert(0, _image_program(image))
        if words:
            parts.append(" ".join(words))
        for e in k8s.as_list(cont.data.get("env")):
            v = k8s.as_map(e).get("value")
            if isinstance(v, str):
                parts.append(v)
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
    if mounted:
        for t in crossref.related(target, ctx, kinds=("ConfigMap",)):
            if crossref.name(t.data) in mounted and crossref.same_namespace(obj, t.data):
                for val in k8s.as_map(t.data.get("data")).values():
                    if isinstance(val, str):
                        parts.append(val)
    # shell line continuations and quoting do not change what runs
    joined = "\n".join(parts).replace("\\\n", " ")
    memo[key] = joined
    return joined


def _image_program(image: str) -> str:
    """``restic`` for ``docker.io/restic/restic:0.17.0@sha256:...``: the image's last path component."""
    name = image.strip().split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def matching(patterns: dict[str, re.Pattern], body: str) -> list[str]:
    return [name for name, rx in patterns.items() if rx.search(body)]


# ---------------------------------------------------------------- data holders (PVC users)

@dataclass
class Claim:
    """A persistent volume a data holder uses."""

    label: str  # as findings name it: claim name, or "<template> (volumeClaimTemplates)"
    volume: str | None  # pod volume name (Velero's per-volume annotations use it)
    claim: str | None  # PVC name, when fixed
    template: str | None = None  # volumeClaimTemplate name (PVCs <template>-<sts>-<ordinal>)
    labels: dict | None = None  # the PVC's labels; None when unknown (the PVC is not in scope)
    line: int = 1

    def pvc_matches(self, pvc_name: str, owner: str | None) -> bool:
        if self.claim is not None:
            return pvc_name == self.claim
        if self.template and owner:
            return re.fullmatch(re.escape(f"{self.template}-{owner}-") + r"\d+", pvc_name) is not None
        return False


@dataclass
class Holder:
    target: Target
    namespace: str | None
    pod_labels: dict
    pod_annotations: dict
    claims: list[Claim]
    cnpg_cluster: str | None = None  # a CloudNativePG Cluster's name
    line: int = 1

    @property
    def obj(self) -> dict:
        return self.target.data


def _pvc_objects(target: Target, ctx) -> dict[tuple[str | None, str], dict]:
    out = {}
    for t in crossref.related(target, ctx, kinds=("PersistentVolumeClaim",)):
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


def holder(target: Target, ctx) -> Holder | None:
    """The target as a data holder (uses persistent volumes), or None; memoised per scan."""
    return ctx.memoized("backup.holders", id(target), lambda: _holder(target, ctx))


def _holder(target: Target, ctx) -> Holder | None:
    obj = target.data
    if target.kind != "k8s" or not isinstance(obj, dict):
        return None
    ns = crossref.namespace(obj)
    if is_kind(obj, "Cluster", "postgresql.cnpg.io"):
        name = crossref.name(obj) or "?"
        line = k8s.line(obj.get("spec"), "storage", k8s.line(obj, "spec", target.line))
        return Holder(target, ns, {"cnpg.io/cluster": name}, {},
                      [Claim(f"{name} (CloudNativePG instances)", None, None, labels={"cnpg.io/cluster": name},
                             line=line)], cnpg_cluster=name, line=line)
    kind = obj.get("kind")
    if kind == "PersistentVolumeClaim":
        return None  # see unmounted_pvc()
    if not isinstance(kind, str) or kind not in (ctx.settings.get("workload-kinds") or ()):
        return None
    if "$patch" in obj or not k8s.is_long_running(obj) or owned(obj):
        return None
    spec = k8s.pod_spec(obj)
    if spec is None:
        return None
    claims: list[Claim] = []
    pvcs = None
    vols = spec.get("volumes")
    for i, v in enumerate(k8s.as_list(vols)):
        v = k8s.as_map(v)
        claim = text(k8s.get(v, "persistentVolumeClaim", "claimName"))
        if not claim:
            continue
        if pvcs is None:
            pvcs = _pvc_objects(target, ctx)
        pvc = _find_pvc(pvcs, ns, claim)
        line = vols.item_line(i) if hasattr(vols, "item_line") else target.line
        claims.append(Claim(claim, text(v.get("name")) or None, claim,
                            labels=k8s.labels(pvc) if pvc is not None else None, line=line))
    if kind == "StatefulSet":
        vcts = k8s.get(obj, "spec", "volumeClaimTemplates")
        sel_labels = k8s.as_map(k8s.get(obj, "spec", "selector", "matchLabels"))
        for i, t in enumerate(k8s.as_list(vcts)):
            tname = text(k8s.get(t, "metadata", "name"))
            if not tname:
                continue
            # the StatefulSet controller labels its PVCs with the template's labels and the selector's
            lbl = {**{str(k): v for k, v in sel_labels.items()}, **k8s.as_map(k8s.get(t, "metadata", "labels"))}
            line = vcts.item_line(i) if hasattr(vcts, "item_line") else target.line
            claims.append(Claim(f"{tname} (volumeClaimTemplates)", tname, None, template=tname, labels=lbl,
                                line=line))
    if not claims:
        return None
    return Holder(target, ns, k8s.pod_labels(obj), pod_annotations(obj), claims, line=claims[0].line)


def scope_key(target: Target) -> tuple:
    """Targets with the same key see the same related objects (scope, value profile, chart)."""
    o = target.origin or {}
    return (crossref.scope(target), crossref.profile(target), str(o.get("chart", "")))


def _workload_holders(target: Target, ctx) -> list[Holder]:
    return ctx.memoized("backup.workload_holders", scope_key(target),
                        lambda: [h for h in (holder(t, ctx) for t in crossref.related(target, ctx)) if h is not None])


def unmounted_pvc(target: Target, ctx) -> Holder | None:
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
    for h in _workload_holders(target, ctx):
        if not crossref.same_namespace(obj, h.obj):
            continue
        owner = crossref.name(h.obj)
        if any(c.pvc_matches(name, owner) for c in h.claims):
            return None
    return Holder(target, ns, {}, {}, [Claim(name, None, name, labels=lbl, line=target.line)], line=target.line)


def data_holder(target: Target, ctx) -> Holder | None:
    return holder(target, ctx) or unmounted_pvc(target, ctx)


# ---------------------------------------------------------------- backup schedules (producers)

@dataclass
class Producer:
    target: Target
    tool: str  # velero | snapscheduler | cnpg | scheduled-volume-snapshot | cronjob
    schedule_text: str
    line: int
    gap: _dt.timedelta | None = None
    error: str | None = None  # schedule cannot be parsed / schedule is off
    how: str = ""  # what recognised it (CronJobs)
    name: str | None = None  # how findings name it, when not by its object

    @property
    def ref(self) -> str:
        return self.name or str(self.target.ref)

    def describe_gap(self) -> str:
        if self.gap is None:
            return self.error or "no schedule"
        return f"{cron.format_duration(self.gap)} ({self.schedule_text})"


_FREQ = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_FREQ_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _gap(text_: Any, tz: Any, fields: tuple[int, ...], tool_name: str) -> tuple[_dt.timedelta | None, str | None, str]:
    if not isinstance(text_, str) or not text_.strip():
        return None, "has no schedule", ""
    raw = " ".join(text_.split())
    zone = tz if isinstance(tz, str) and tz.strip() else None
    body = re.sub(r"^(?:CRON_TZ|TZ)=\S+\s+", "", raw)
    if tool_name == "Kubernetes" and body != raw:
        return None, (f"has an invalid schedule {raw!r}: Kubernetes (1.27 and later) rejects TZ/CRON_TZ in "
                      f"spec.schedule; set spec.timeZone"), raw
    if not body.startswith("@") and len(body.split(" ")) not in fields:
        want = " or ".join(str(f) for f in fields)
        hint = " (seconds first)" if 6 in fields and 5 not in fields else ""
        return None, f"has an invalid schedule {raw!r}: {tool_name} expects {want} fields{hint}", raw
    try:
        sched = cron.parse(raw, zone)
        gap = sched.worst_gap()
    except cron.CronError as exc:
        return None, f"has an invalid schedule: {exc}", raw
    return gap, None, f"{sched.text} in {sched.tz}" if sched.tz else sched.text


def producer(target: Target, ctx) -> Producer | None:
    return ctx.memoized("backup.producers", id(target), lambda: _producer(target, ctx))


def _producer(target: Target, ctx) -> Producer | None:
    obj = target.data
    if target.kind != "k8s" or not isinstance(obj, dict) or "$patch" in obj:
        return None
    spec = k8s.as_map(obj.get("spec"))
    line = k8s.line(spec, "schedule", target.line) if isinstance(spec, dict) else target.line
    if is_kind(obj, "Schedule", "velero.io"):
        gap, err, desc = _gap(spec.get("schedule"), None, (5,), "Velero")
        if spec.get("paused") is True:
            gap, err = None, "is paused (spec.paused: true)"
        return Producer(target, "velero", desc, line, gap, err)
    if is_kind(obj, "SnapshotSchedule", "snapscheduler.backube"):
        gap, err, desc = _gap(spec.get("schedule"), None, (5,), "snapscheduler")
        if spec.get("disabled") is True:
            gap, err = None, "is disabled (spec.disabled: true)"
        return Producer(target, "snapscheduler", desc, line, gap, err)
    if is_kind(obj, "ScheduledBackup", "postgresql.cnpg.io"):
        gap, err, desc = _gap(spec.get("schedule"), None, (6,), "CloudNativePG")
        if spec.get("suspend") is True:
            gap, err = None, "is suspended (spec.suspend: true)"
        return Producer(target, "cnpg", desc, line, gap, err)
    if is_kind(obj, "ScheduledVolumeSnapshot", "k8s.ryanorth.io"):
        freq = spec.get("snapshotFrequency")
        line = k8s.line(spec, "snapshotFrequency", target.line)
        m = _FREQ.match(str(freq)) if isinstance(freq, (str, int)) and not isinstance(freq, bool) else None
        if isinstance(freq, int) and not isinstance(freq, bool):
            m = _FREQ.match(f"{freq}h")  # a bare number is hours
        if m is None or int(m.group(1)) <= 0:
            return Producer(target, "scheduled-volume-snapshot", text(freq), line, None,
                            f"has an invalid snapshotFrequency {text(freq)!r} (e.g. 6h, 1d)")
        gap = _dt.timedelta(seconds=int(m.group(1)) * _FREQ_UNITS[m.group(2)])
        return Producer(target, "scheduled-volume-snapshot", f"every {text(freq)}", line, gap, None)
    if obj.get("kind") == "CronJob":
        how = marker(obj, ANN_BACKUP)
        if how is None:
            found = matching(merged_patterns(ctx.settings, "backup-job-patterns"), command_text(target, ctx))
            if not found:
                return None
            how = ", ".join(found)
        else:
            how = f"{ANN_BACKUP}: {how}"
        gap, err, desc = _gap(spec.get("schedule"), spec.get("timeZone"), (5,), "Kubernetes")
        if spec.get("suspend") is True:
            gap, err = None, "is suspended (spec.suspend: true)"
        return Producer(target, "cronjob", desc, line, gap, err, how)
    return None


def _annotation_line(obj: dict, key: str, default: int) -> int:
    ann = k8s.get(obj, "metadata", "annotations")
    return k8s.line(ann, key, default)


def declared_backup(h: Holder) -> Producer | None:
    """A schedule the team declares on the data holder (``guidecheck.io/backup-cron``): backups made elsewhere."""
    value = k8s.annotations(h.obj).get(ANN_BACKUP_CRON)
    if value is None:
        return None
    line = _annotation_line(h.obj, ANN_BACKUP_CRON, h.target.line)
    gap, err, desc = _gap(value, None, (5, 6), ANN_BACKUP_CRON)
    return Producer(h.target, "declared", desc, line, gap, err, ANN_BACKUP_CRON,
                    name=f"the annotation {ANN_BACKUP_CRON} (a schedule outside the scan)")


def _ns_match(patterns: list, ns: str | None) -> bool:
    return any(p == "*" or (ns is not None and fnmatch.fnmatchcase(ns, p)) for p in patterns)


def covers(p: Producer, h: Holder, claim: Claim, ctx) -> str | None:
    """None if ``p`` backs up ``claim`` of ``h``; else why not (for near-miss explanations)."""
    obj, pobj = h.obj, p.target.data
    if p.tool == "velero":
        tpl = k8s.as_map(k8s.get(pobj, "spec", "template"))
        inc = [text(x) for x in k8s.as_list(tpl.get("includedNamespaces")) if text(x)] or ["*"]
        exc = [text(x) for x in k8s.as_list(tpl.get("excludedNamespaces")) if text(x)]
        if h.namespace is not None:
            if not _ns_match(inc, h.namespace):
                return f"includes only namespaces {', '.join(inc)}"
            if _ns_match(exc, h.namespace):
                return f"excludes namespace {h.namespace}"
        # includedResources, or (Velero >= 1.11) includedNamespaceScopedResources, and their exclusions
        for inc_key, exc_key in (("includedResources", "excludedResources"),
                                 ("includedNamespaceScopedResources", "excludedNamespaceScopedResources")):
            res = {text(x).lower() for x in k8s.as_list(tpl.get(inc_key)) if text(x)}
            if res and "*" not in res and not res & _VOLUME_RESOURCES:
                return f"includes only resources {', '.join(sorted(res))}"
            xres = {text(x).lower() for x in k8s.as_list(tpl.get(exc_key)) if text(x)}
            if xres & _PVC_RESOURCES or "*" in xres:
                return "excludes persistent volume claims"
        sel, ors = tpl.get("labelSelector"), k8s.as_list(tpl.get("orLabelSelectors"))
        sels = ([sel] if isinstance(sel, dict) and sel else []) + [s for s in ors if isinstance(s, dict)]
        if sels:
            subjects = [h.pod_labels] + ([claim.labels] if claim.labels else [])
            if not any(k8s.selector_matches(s, lb) for s in sels for lb in subjects if lb is not None):
                return "its label selector matches neither the pods nor the claim"
        # volume data: a snapshot (unless snapshotVolumes: false) or a file-system backup of the pod volume
        fs_default = tpl.get("defaultVolumesToFsBackup") is True or tpl.get("defaultVolumesToRestic") is True
        opt_in = {s.strip() for s in text(h.pod_annotations.get("backup.velero.io/backup-volumes")).split(",")}
        opt_out = {s.strip() for s in text(h.pod_annotations.get("backup.velero.io/backup-volumes-excludes"))
                   .split(",")}
        vol = claim.volume
        fs = vol is not None and ((fs_default and vol not in opt_out) or vol in opt_in)
        if not fs and tpl.get("snapshotVolumes") is False:
            return "has snapshotVolumes: false and no file-system backup of the volume"
        return None
    if p.tool == "snapscheduler":
        if not crossref.same_namespace(pobj, obj):
            return f"is in namespace {crossref.namespace(pobj)}"
        sel = k8s.get(pobj, "spec", "claimSelector")
        if isinstance(sel, dict) and sel:
            if claim.labels is None:
                return f"selects claims by label and the claim {claim.claim} is not in the scanned objects"
            if not k8s.selector_matches(sel, claim.labels):
                return "its claimSelector does not match the claim"
        return None
    if p.tool == "cnpg":
        cl = text(k8s.get(pobj, "spec", "cluster", "name"))
        if h.cnpg_cluster is None and not (claim.labels or {}).get("cnpg.io/cluster"):
            return "backs up a CloudNativePG cluster, not this workload"
        target_cluster = h.cnpg_cluster or text((claim.labels or {}).get("cnpg.io/cluster"))
        if cl != target_cluster or not crossref.same_namespace(pobj, obj):
            return f"backs up cluster {cl or '?'}"
        return None
    if p.tool == "scheduled-volume-snapshot":
        if not crossref.same_namespace(pobj, obj):
            return f"is in namespace {crossref.namespace(pobj)}"
        pvc = text(k8s.get(pobj, "spec", "persistentVolumeClaimName"))
        if not pvc or not claim.pvc_matches(pvc, crossref.name(obj)):
            return f"snapshots claim {pvc or '?'}"
        return None
    if p.tool == "declared":
        return None if p.target is h.target else "is declared on another object"
    if p.tool == "cronjob":
        if not crossref.same_namespace(pobj, obj):
            return f"is in namespace {crossref.namespace(pobj)}"
        mounted = [text(k8s.get(v, "persistentVolumeClaim", "claimName"))
                   for v in k8s.as_list(k8s.get(k8s.pod_spec(pobj) or {}, "volumes"))]
        mounted = [m for m in mounted if m]
        if mounted and not any(claim.pvc_matches(m, crossref.name(obj)) for m in mounted):
            return f"backs up claims {', '.join(mounted)}"
        return None
    return "unknown"


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

def verification(target: Target, ctx) -> str | None:
    """How ``target`` verifies backups (annotation or a recognised command), or None."""
    memo = ctx.cached("backup.verification", lambda c: {})
    key = id(target)
    if key in memo:
        return memo[key]
    obj = target.data
    how = None
    if target.kind == "k8s" and isinstance(obj, dict) and "$patch" not in obj:
        m = marker(obj, ANN_VERIFY)
        if m is not None:
            how = f"{ANN_VERIFY}: {m}"
        elif k8s.pod_spec(obj) is not None:
            found = matching(merged_patterns(ctx.settings, "backup-verification-patterns"), command_text(target, ctx))
            if found:
                how = ", ".join(found)
    memo[key] = how
    return how


@dataclass
class RestoreTest:
    target: Target
    how: str
    schedule_text: str
    line: int
    gap: _dt.timedelta | None
    error: str | None
    isolated: bool = True


_VELERO_RESTORE = re.compile(r"\bvelero\s+(?:restore\s+create|create\s+restore)\b", re.IGNORECASE)
_NS_MAPPING = re.compile(r"--namespace-mappings?\b", re.IGNORECASE)


def restore_test(target: Target, ctx) -> RestoreTest | None:
    """A CronJob that runs restore tests (recognised or marked), or a Velero restore CronJob that is not isolated."""
    return ctx.memoized("backup.restore_tests", id(target), lambda: _restore_test(target, ctx))


def _restore_test(target: Target, ctx) -> RestoreTest | None:
    obj = target.data
    if target.kind != "k8s" or not isinstance(obj, dict) or "$patch" in obj:
        return None
    if obj.get("kind") != "CronJob":
        # restore tests run outside the scan (a CI pipeline, a DR cluster): declared with their schedule
        value = k8s.annotations(obj).get(ANN_RESTORE)
        if value is None:
            return None
        line = _annotation_line(obj, ANN_RESTORE, target.line)
        gap, err, desc = _gap(value, None, (5, 6), ANN_RESTORE)
        if err:
            err += " (on an object other than a CronJob, the annotation's value is the schedule of the external test)"
        return RestoreTest(target, f"{ANN_RESTORE} on {obj.get('kind')}", desc, line, gap, err)
    isolated = True
    how = marker(obj, ANN_RESTORE)
    if how is not None:
        how = f"{ANN_RESTORE}: {how}"
    else:
        body = command_text(target, ctx)
        found = matching(merged_patterns(ctx.settings, "restore-test-patterns"), body)
        if found:
            how = ", ".join(found)
        elif _VELERO_RESTORE.search(body):
            how, isolated = "velero restore create", False
        else:
            return None
    spec = k8s.as_map(obj.get("spec"))
    gap, err, desc = _gap(spec.get("schedule"), spec.get("timeZone"), (5,), "Kubernetes")
    if spec.get("suspend") is True:
        gap, err = None, "is suspended (spec.suspend: true)"
    return RestoreTest(target, how, desc, k8s.line(spec, "schedule", target.line), gap, err, isolated)


# ---------------------------------------------------------------- live evidence

@dataclass(order=True)
class Evidence:
    when: _dt.datetime
    what: str = field(compare=False)


def latest(items: list[Evidence]) -> Evidence | None:
    return max(items) if items else None


def backup_evidence(h: Holder, covering: list[Producer], ctx) -> list[Evidence]:
    """Completed snapshots/backups of the holder's volumes found among the cluster's objects."""
    out: list[Evidence] = []
    target, obj = h.target, h.obj
    owner = crossref.name(obj)
    velero_schedules = {crossref.name(p.target.data) for p in covering if p.tool == "velero"}
    kinds = ("VolumeSnapshot", "Backup", "Cluster", "CronJob")
    related = crossref.related(target, ctx, kinds=kinds) + ([target] if obj.get("kind") == "Cluster" else [])
    covering_ids = {id(p.target) for p in covering}
    for t in related:
        o = t.data
        ref = str(t.ref)
        if is_kind(o, "VolumeSnapshot", "snapshot.storage.k8s.io"):
            src = text(k8s.get(o, "spec", "source", "persistentVolumeClaimName"))
            when = timestamp(k8s.get(o, "status", "creationTime"))
            if (src and crossref.same_namespace(o, obj) and k8s.get(o, "status", "readyToUse") is True
                    and when and any(c.pvc_matches(src, owner) for c in h.claims)):
                out.append(Evidence(when, f"{ref} (ready)"))
        elif is_kind(o, "Backup", "velero.io"):
            sched = text(k8s.labels(o).get("velero.io/schedule-name"))
            when = timestamp(k8s.get(o, "status", "completionTimestamp"))
            if sched in velero_schedules and text(k8s.get(o, "status", "phase")) == "Completed" and when:
                out.append(Evidence(when, f"{ref} (Completed, schedule {sched})"))
        elif is_kind(o, "Backup", "postgresql.cnpg.io") and h.cnpg_cluster:
            when = timestamp(k8s.get(o, "status", "stoppedAt"))
            if (text(k8s.get(o, "spec", "cluster", "name")) == h.cnpg_cluster and crossref.same_namespace(o, obj)
                    and text(k8s.get(o, "status", "phase")).lower() == "completed" and when):
                out.append(Evidence(when, f"{ref} (completed)"))
        elif is_kind(o, "Cluster", "postgresql.cnpg.io") and t is target:
            when = timestamp(k8s.get(o, "status", "lastSuccessfulBackup"))
            if when:
                out.append(Evidence(when, f"{ref} status.lastSuccessfulBackup"))
        elif o.get("kind") == "CronJob" and id(t) in covering_ids:
            when = timestamp(k8s.get(o, "status", "lastSuccessfulTime"))
            if when:
                out.append(Evidence(when, f"{ref} status.lastSuccessfulTime"))
    return out


def restore_evidence(target: Target, ctx) -> list[Evidence]:
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


__all__ = ["ANN_BACKUP", "ANN_BACKUP_CRON", "ANN_VERIFY", "ANN_RESTORE", "Claim", "Holder", "Producer",
           "RestoreTest", "Evidence", "data_holder", "holder", "unmounted_pvc", "producer", "covers", "verification",
           "restore_test", "backup_evidence", "restore_evidence", "is_live", "latest", "timestamp",
           "declared_backup", "relevant", "scope_key"]
