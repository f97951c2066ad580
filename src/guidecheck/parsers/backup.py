"""The backup model: schedules, data holders, restore tests and live evidence, read from object dicts.

Pure: a Kubernetes object dict in, a model out; no targets, no cross-object
lookups (which objects are related, which ConfigMaps a pod mounts, which
settings patterns a command matches: :mod:`guidecheck.checks.backup_index`
does that and passes the result in).  Each model keeps ``target``, whatever
the caller read the object from (opaque here; the checks give the Target).

Recognised are backup *schedules* (Velero ``Schedule``; snapscheduler
``SnapshotSchedule``; CloudNativePG ``ScheduledBackup``; the
``ScheduledVolumeSnapshot`` of k8s-scheduled-volume-snapshotter; CronJobs the
index recognises as backups; schedules run outside the scan, declared on a
data holder with ``guidecheck.io/backup-cron: "<cron>"``), *data holders*
(long-running workloads with ``persistentVolumeClaim`` volumes or
``volumeClaimTemplates``, CloudNativePG ``Cluster`` objects), *restore tests*
(CronJobs, or the annotation ``guidecheck.io/restore-test`` whose value on
another object is the schedule of a test run outside the scan) and live
*evidence* (timestamps of completed backups and restores).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from guidecheck.parsers import cron, k8s
from guidecheck.parsers.k8s import KObject
from guidecheck.parsers.yaml import item_line

ANN_BACKUP = "guidecheck.io/backup-schedule"
ANN_VERIFY = "guidecheck.io/backup-verification"
ANN_RESTORE = "guidecheck.io/restore-test"
ANN_BACKUP_CRON = "guidecheck.io/backup-cron"  # on a data holder: backed up outside the scan, on this schedule


# ---------------------------------------------------------------- small helpers


def group(obj: KObject) -> str:
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


def _namespace(obj: KObject) -> str | None:
    ns = k8s.get(obj, "metadata", "namespace")
    return ns if isinstance(ns, str) and ns else None


def _name(obj: KObject) -> str | None:
    n = k8s.get(obj, "metadata", "name")
    return n if isinstance(n, str) else None


def marker(obj: KObject, key: str) -> str | None:
    """The value of a guidecheck marker (annotation, or label) if present and non-empty."""
    for m in (k8s.annotations(obj), k8s.labels(obj)):
        v = text(m.get(key))
        if v and v.lower() not in ("false", "no", "0"):
            return v
    return None


def owned(obj: KObject) -> str | None:
    """``Kind/name`` of the object's owner when a controller or operator created it."""
    for o in k8s.as_list(k8s.get(obj, "metadata", "ownerReferences")):
        if isinstance(o, dict):
            return f"{text(o.get('kind')) or '?'}/{text(o.get('name')) or '?'}"
    return None


def timestamp(value: Any) -> _dt.datetime | None:
    """An RFC 3339 timestamp from status fields (string or an already parsed datetime)."""
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        t = _dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


pod_annotations = k8s.pod_annotations  # the pod template's annotations (a bare Pod's own)


def image_program(image: str) -> str:
    """``restic`` for ``docker.io/restic/restic:0.17.0@sha256:...``: the image's last path component."""
    name = image.strip().split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def matching(patterns: dict[str, re.Pattern[str]], body: str) -> list[str]:
    return [name for name, rx in patterns.items() if rx.search(body)]


def annotation_line(obj: KObject, key: str, default: int) -> int:
    ann = k8s.get(obj, "metadata", "annotations")
    return k8s.line(ann, key, default)


# ---------------------------------------------------------------- data holders (PVC users)


@dataclass
class Claim:
    """A persistent volume a data holder uses."""

    label: str  # as findings name it: claim name, or "<template> (volumeClaimTemplates)"
    volume: str | None  # pod volume name (Velero's per-volume annotations use it)
    claim: str | None  # PVC name, when fixed
    template: str | None = None  # volumeClaimTemplate name (PVCs <template>-<sts>-<ordinal>)
    labels: KObject | None = None  # the PVC's labels; None when unknown (the PVC is not in scope)
    line: int = 1

    def pvc_matches(self, pvc_name: str, owner: str | None) -> bool:
        if self.claim is not None:
            return pvc_name == self.claim
        if self.template and owner:
            return re.fullmatch(re.escape(f"{self.template}-{owner}-") + r"\d+", pvc_name) is not None
        return False


@dataclass
class Holder:
    target: Any  # what the caller read the object from (opaque here)
    obj: KObject
    namespace: str | None
    pod_labels: KObject
    pod_annotations: KObject
    claims: list[Claim]
    cnpg_cluster: str | None = None  # a CloudNativePG Cluster's name
    line: int = 1


# (namespace, claim name) -> the PersistentVolumeClaim object, when the caller knows it
PvcLookup = Callable[[str | None, str], "KObject | None"]


def holder_of(obj: KObject, target: Any, line: int, workload_kinds: Any, find_pvc: PvcLookup) -> Holder | None:
    """The object as a data holder (a CNPG Cluster, or a long-running workload using persistent volumes)."""
    ns = _namespace(obj)
    if is_kind(obj, "Cluster", "postgresql.cnpg.io"):
        name = _name(obj) or "?"
        cluster = k8s.as_map(obj.get("spec"))
        # its storage: key, else its spec: line (not the spec's first key: keycloakx's example Cluster holds
        # no storage:, and the finding sat on its `description:`)
        sline = k8s.line(cluster, "storage") if "storage" in cluster else k8s.line(obj, "spec", line)
        return Holder(
            target,
            obj,
            ns,
            {"cnpg.io/cluster": name},
            {},
            [Claim(f"{name} (CloudNativePG instances)", None, None, labels={"cnpg.io/cluster": name}, line=sline)],
            cnpg_cluster=name,
            line=sline,
        )
    kind = obj.get("kind")
    if kind == "PersistentVolumeClaim":
        return None  # see the index's unmounted_pvc()
    if not isinstance(kind, str) or kind not in (workload_kinds or ()):
        return None
    if "$patch" in obj or not k8s.is_long_running(obj) or owned(obj):
        return None
    spec = k8s.pod_spec(obj)
    if spec is None:
        return None
    claims = _volume_claims(spec, ns, line, find_pvc)
    if kind == "StatefulSet":
        claims.extend(_template_claims(obj, line))
    if not claims:
        return None
    return Holder(target, obj, ns, k8s.pod_labels(obj), pod_annotations(obj), claims, line=claims[0].line)


def _volume_claims(spec: KObject, ns: str | None, line: int, find_pvc: PvcLookup) -> list[Claim]:
    """The pod's ``persistentVolumeClaim`` volumes (labels of the PVCs the caller knows)."""
    claims: list[Claim] = []
    vols = spec.get("volumes")
    for i, v in enumerate(k8s.as_list(vols)):
        v = k8s.as_map(v)
        claim = text(k8s.get(v, "persistentVolumeClaim", "claimName"))
        if not claim:
            continue
        pvc = find_pvc(ns, claim)
        vline = item_line(vols, i, line)
        claims.append(
            Claim(
                claim,
                text(v.get("name")) or None,
                claim,
                labels=k8s.labels(pvc) if pvc is not None else None,
                line=vline,
            )
        )
    return claims


def _template_claims(obj: KObject, line: int) -> list[Claim]:
    """A StatefulSet's ``volumeClaimTemplates``."""
    claims: list[Claim] = []
    vcts = k8s.get(obj, "spec", "volumeClaimTemplates")
    sel_labels = k8s.as_map(k8s.get(obj, "spec", "selector", "matchLabels"))
    for i, t in enumerate(k8s.as_list(vcts)):
        tname = text(k8s.get(t, "metadata", "name"))
        if not tname:
            continue
        # the StatefulSet controller labels its PVCs with the template's labels and the selector's
        lbl = {**{str(k): v for k, v in sel_labels.items()}, **k8s.as_map(k8s.get(t, "metadata", "labels"))}
        tline = item_line(vcts, i, line)
        claims.append(Claim(f"{tname} (volumeClaimTemplates)", tname, None, template=tname, labels=lbl, line=tline))
    return claims


# ---------------------------------------------------------------- backup schedules (producers)


@dataclass
class Producer:
    target: Any  # what the caller read the object from (opaque here)
    tool: str  # velero | snapscheduler | cnpg | scheduled-volume-snapshot | cronjob | declared
    schedule_text: str
    line: int
    gap: _dt.timedelta | None = None
    error: str | None = None  # schedule cannot be parsed / schedule is off
    how: str = ""  # what recognised it (CronJobs)
    name: str | None = None  # how findings name it, when not by its object
    label: str = ""  # how findings name its object (the caller's reference)

    @property
    def ref(self) -> str:
        return self.name or self.label

    def describe_gap(self) -> str:
        if self.gap is None:
            return self.error or "no schedule"
        return f"{cron.format_duration(self.gap)} ({self.schedule_text})"


_FREQ = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_FREQ_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def schedule_gap(
    text_: Any, tz: Any, fields: tuple[int, ...], tool_name: str
) -> tuple[_dt.timedelta | None, str | None, str]:
    """A schedule's worst-case gap, or why it has none (an error), and how findings show it.

    ``fields`` are the numbers of cron fields ``tool_name`` accepts (5; 6 with seconds first).
    """
    if not isinstance(text_, str) or not text_.strip():
        return None, "has no schedule", ""
    raw = " ".join(text_.split())
    zone = tz if isinstance(tz, str) and tz.strip() else None
    body = re.sub(r"^(?:CRON_TZ|TZ)=\S+\s+", "", raw)
    if tool_name == "Kubernetes" and body != raw:
        return (
            None,
            (
                f"has an invalid schedule {raw!r}: Kubernetes (1.27 and later) rejects TZ/CRON_TZ in "
                f"spec.schedule; set spec.timeZone"
            ),
            raw,
        )
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


def tool_schedule(obj: KObject, target: Any, label: str, default_line: int) -> Producer | None:
    """A backup tool's schedule object: Velero Schedule, snapscheduler SnapshotSchedule, CloudNativePG
    ScheduledBackup, ScheduledVolumeSnapshot (a CronJob is the index's: it needs the pod's commands)."""
    spec = k8s.as_map(obj.get("spec"))
    line = k8s.line(spec, "schedule", default_line) if isinstance(spec, dict) else default_line
    if is_kind(obj, "Schedule", "velero.io"):
        gap, err, desc = schedule_gap(spec.get("schedule"), None, (5,), "Velero")
        if spec.get("paused") is True:
            gap, err = None, "is paused (spec.paused: true)"
        return Producer(target, "velero", desc, line, gap, err, label=label)
    if is_kind(obj, "SnapshotSchedule", "snapscheduler.backube"):
        gap, err, desc = schedule_gap(spec.get("schedule"), None, (5,), "snapscheduler")
        if spec.get("disabled") is True:
            gap, err = None, "is disabled (spec.disabled: true)"
        return Producer(target, "snapscheduler", desc, line, gap, err, label=label)
    if is_kind(obj, "ScheduledBackup", "postgresql.cnpg.io"):
        gap, err, desc = schedule_gap(spec.get("schedule"), None, (6,), "CloudNativePG")
        if spec.get("suspend") is True:
            gap, err = None, "is suspended (spec.suspend: true)"
        return Producer(target, "cnpg", desc, line, gap, err, label=label)
    if is_kind(obj, "ScheduledVolumeSnapshot", "k8s.ryanorth.io"):
        return _volume_snapshot_schedule(spec, target, label, default_line)
    return None


def _volume_snapshot_schedule(spec: KObject, target: Any, label: str, default_line: int) -> Producer:
    freq = spec.get("snapshotFrequency")
    line = k8s.line(spec, "snapshotFrequency", default_line)
    m = _FREQ.match(str(freq)) if isinstance(freq, (str, int)) and not isinstance(freq, bool) else None
    if isinstance(freq, int) and not isinstance(freq, bool):
        m = _FREQ.match(f"{freq}h")  # a bare number is hours
    if m is None or int(m.group(1)) <= 0:
        return Producer(
            target,
            "scheduled-volume-snapshot",
            text(freq),
            line,
            None,
            f"has an invalid snapshotFrequency {text(freq)!r} (e.g. 6h, 1d)",
            label=label,
        )
    gap = _dt.timedelta(seconds=int(m.group(1)) * _FREQ_UNITS[m.group(2)])
    return Producer(target, "scheduled-volume-snapshot", f"every {text(freq)}", line, gap, None, label=label)


def cronjob_schedule(obj: KObject, how: str, target: Any, label: str, default_line: int) -> Producer:
    """A CronJob that takes backups (``how``: what recognised it) and its schedule."""
    spec = k8s.as_map(obj.get("spec"))
    line = k8s.line(spec, "schedule", default_line) if isinstance(spec, dict) else default_line
    gap, err, desc = schedule_gap(spec.get("schedule"), spec.get("timeZone"), (5,), "Kubernetes")
    if spec.get("suspend") is True:
        gap, err = None, "is suspended (spec.suspend: true)"
    return Producer(target, "cronjob", desc, line, gap, err, how, label=label)


def declared_backup(h: Holder, default_line: int) -> Producer | None:
    """A schedule the team declares on the data holder (``guidecheck.io/backup-cron``): backups made elsewhere.

    ``default_line`` is the holder object's line (where a finding points when the annotation has none).
    """
    value = k8s.annotations(h.obj).get(ANN_BACKUP_CRON)
    if value is None:
        return None
    line = annotation_line(h.obj, ANN_BACKUP_CRON, default_line)
    gap, err, desc = schedule_gap(value, None, (5, 6), ANN_BACKUP_CRON)
    return Producer(
        h.target,
        "declared",
        desc,
        line,
        gap,
        err,
        ANN_BACKUP_CRON,
        name=f"the annotation {ANN_BACKUP_CRON} (a schedule outside the scan)",
    )


# ---------------------------------------------------------------- restore tests


@dataclass
class RestoreTest:
    target: Any  # what the caller read the object from (opaque here)
    how: str
    schedule_text: str
    line: int
    gap: _dt.timedelta | None
    error: str | None
    isolated: bool = True


def declared_restore_test(obj: KObject, target: Any, default_line: int) -> RestoreTest | None:
    """Restore tests run outside the scan (a CI pipeline, a DR cluster): declared with their schedule."""
    value = k8s.annotations(obj).get(ANN_RESTORE)
    if value is None:
        return None
    line = annotation_line(obj, ANN_RESTORE, default_line)
    gap, err, desc = schedule_gap(value, None, (5, 6), ANN_RESTORE)
    if err:
        err += " (on an object other than a CronJob, the annotation's value is the schedule of the external test)"
    return RestoreTest(target, f"{ANN_RESTORE} on {obj.get('kind')}", desc, line, gap, err)


def cronjob_restore_test(obj: KObject, how: str, isolated: bool, target: Any, default_line: int) -> RestoreTest:
    """A CronJob that runs restore tests (``how``: what recognised it) and its schedule."""
    spec = k8s.as_map(obj.get("spec"))
    gap, err, desc = schedule_gap(spec.get("schedule"), spec.get("timeZone"), (5,), "Kubernetes")
    if spec.get("suspend") is True:
        gap, err = None, "is suspended (spec.suspend: true)"
    return RestoreTest(target, how, desc, k8s.line(spec, "schedule", default_line), gap, err, isolated)


# ---------------------------------------------------------------- live evidence


@dataclass(order=True)
class Evidence:
    when: _dt.datetime
    what: str = field(compare=False)


def latest(items: list[Evidence]) -> Evidence | None:
    return max(items) if items else None


__all__ = [
    "ANN_BACKUP",
    "ANN_BACKUP_CRON",
    "ANN_RESTORE",
    "ANN_VERIFY",
    "Claim",
    "Evidence",
    "Holder",
    "Producer",
    "RestoreTest",
    "annotation_line",
    "cronjob_restore_test",
    "cronjob_schedule",
    "declared_backup",
    "declared_restore_test",
    "group",
    "holder_of",
    "image_program",
    "is_kind",
    "latest",
    "marker",
    "matching",
    "owned",
    "pod_annotations",
    "schedule_gap",
    "text",
    "timestamp",
    "tool_schedule",
]
