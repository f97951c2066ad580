"""Kubernetes object helpers shared by loaders and checks.

Every accessor type-checks before it indexes: objects come from users' files
and may hold ``null``, a string or a number where a mapping is expected.
"""

# no ``from __future__ import annotations`` here: this module defines an ``annotations()`` accessor
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from guidecheck.model import LoadError, ObjectRef
from guidecheck.parsers.yaml import YMap, item_line, key_col, key_line, line_of

# a mapping read from YAML or JSON (its keys are strings), or built by code
KObject = dict[str, Any]

# kind -> path (list of keys) from the object to its PodSpec
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "DeploymentConfig": ("spec", "template", "spec"),  # OpenShift
    "Rollout": ("spec", "template", "spec"),  # Argo Rollouts
    "PodTemplate": ("template", "spec"),
}
BATCH_KINDS = frozenset({"Job", "CronJob"})


def as_map(value: Any) -> KObject:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def get(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def line(node: Any, key: str | None = None, default: int = 1) -> int:
    """The line of ``key`` in a parsed mapping (without a key: of the node); else ``default``."""
    if key is None:
        return line_of(node, default)
    return key_line(node, key, default)


def object_ref(obj: KObject) -> ObjectRef:
    meta = as_map(obj.get("metadata"))
    name = meta.get("name")
    ns = meta.get("namespace")
    kind = obj.get("kind")
    return ObjectRef(
        kind=kind if isinstance(kind, str) else "?",
        namespace=ns if isinstance(ns, str) and ns else None,
        name=name if isinstance(name, str) else (str(name) if name is not None else None),
    )


def _kind(obj: Any) -> str | None:
    kind = obj.get("kind") if isinstance(obj, dict) else None
    return kind if isinstance(kind, str) else None


def _pod_spec_path(obj: Any) -> tuple[str, ...] | None:
    kind = _kind(obj)
    return POD_SPEC_PATHS.get(kind) if kind is not None else None


def controller_of(obj: KObject) -> tuple[str, str] | None:
    """``(kind, name)`` of the object's controlling owner, if any."""
    for o in as_list(get(obj, "metadata", "ownerReferences")):
        if isinstance(o, dict) and o.get("controller") is True:
            kind, name = o.get("kind"), o.get("name")
            if isinstance(kind, str) and isinstance(name, str):
                return kind, name
    return None


def pod_spec(obj: KObject) -> KObject | None:
    path = _pod_spec_path(obj)
    if path is None:
        return None
    spec = get(obj, *path)
    return spec if isinstance(spec, dict) else None


def is_long_running(obj: KObject) -> bool:
    """Serving workloads (not Jobs/CronJobs; a bare Pod with restartPolicy Never/OnFailure is batch; nor a Helm
    hook: spegel's post-delete cleanup DaemonSet exists while `helm uninstall` runs, outside the release)."""
    kind = _kind(obj)
    if kind in BATCH_KINDS:
        return False
    if isinstance(obj, dict) and annotations(obj).get("helm.sh/hook"):
        return False
    if kind == "Pod":
        return get(obj, "spec", "restartPolicy") in (None, "Always")
    return kind in POD_SPEC_PATHS and kind != "PodTemplate"


@dataclass(frozen=True)
class Container:
    """One container of a pod spec, with its section and where it is written."""

    name: str
    data: YMap
    section: str  # containers | initContainers | ephemeralContainers
    index: int
    line: int
    column: int = 1

    @property
    def is_init(self) -> bool:
        return self.section == "initContainers"

    @property
    def is_ephemeral(self) -> bool:
        return self.section == "ephemeralContainers"

    @property
    def is_sidecar(self) -> bool:
        """A native sidecar: an init container with restartPolicy Always (k8s >= 1.28)."""
        return self.is_init and self.data.get("restartPolicy") == "Always"


def containers(obj: KObject, which: str = "all") -> Iterator[Container]:
    """Containers of a workload.

    ``all``: init and app containers; ``app``: spec.containers only;
    ``long-running``: app containers plus native sidecar init containers;
    ``every``: init, app and ephemeral containers (everything that names an image).
    """
    spec = pod_spec(obj)
    if spec is None:
        return
    if which == "app":
        sections = ["containers"]
    elif which == "every":
        sections = ["initContainers", "containers", "ephemeralContainers"]
    else:
        sections = ["initContainers", "containers"]
    for section in sections:
        seq = spec.get(section)
        if not isinstance(seq, list):
            continue
        for i, c in enumerate(seq):
            if not isinstance(c, YMap):
                continue
            name = c.get("name")
            cont = Container(
                name=name if isinstance(name, str) else f"#{i}",
                data=c,
                section=section,
                index=i,
                line=key_line(c, "name"),
                column=key_col(c, "name"),
            )
            if which == "long-running" and cont.is_init and not cont.is_sidecar:
                continue
            yield cont


def structure_errors(obj: KObject) -> list[LoadError]:
    """Type errors that would make kubectl reject the object (reported as GC001).

    ``checked=True`` marks the errors after which the rules still check the whole
    object (a boolean name, a container without a name: it is called ``#0``);
    the others keep the object, or a part of it, from being checked.
    """
    errors = _header_errors(obj)
    spec = _walk_to_pod_spec(obj, errors)
    if spec is not None:
        errors.extend(_container_errors(spec))
    return errors


def _header_errors(obj: KObject) -> list[LoadError]:
    """apiVersion, kind and metadata."""
    errors: list[LoadError] = []
    for key in ("apiVersion", "kind"):
        v = obj.get(key)
        if not isinstance(v, str) or not v:
            errors.append(LoadError(f"{key} must be a non-empty string, not {_tname(v)}", line(obj, key)))
    meta = obj.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        errors.append(LoadError(f"metadata must be a mapping, not {_tname(meta)}", line(obj, "metadata")))
    elif isinstance(meta, dict):
        for key in ("name", "namespace", "generateName"):
            v = meta.get(key)
            if v is not None and not isinstance(v, str):
                hint = " (quote it: YAML 1.1 reads y/n/yes/no/on/off as booleans)" if isinstance(v, bool) else ""
                errors.append(
                    LoadError(f"metadata.{key} must be a string, not {_tname(v)}{hint}", line(meta, key), checked=True)
                )
        for key in ("labels", "annotations"):
            v = meta.get(key)
            if v is not None and not isinstance(v, dict):
                errors.append(
                    LoadError(f"metadata.{key} must be a mapping, not {_tname(v)}", line(meta, key), checked=True)
                )
    return errors


def _walk_to_pod_spec(obj: KObject, errors: list[LoadError]) -> KObject | None:
    """The workload's PodSpec; None when there is none, or when a mapping on the way is not one (an error)."""
    path = _pod_spec_path(obj)
    if path is None:
        return None
    node = obj
    for depth, k in enumerate(path):
        nxt = node.get(k)
        if nxt is None:
            return None
        if not isinstance(nxt, dict):
            errors.append(
                LoadError(f"{'.'.join(path[: depth + 1])} must be a mapping, not {_tname(nxt)}", line(node, k))
            )
            return None
        node = nxt
    return node


def _container_errors(spec: KObject) -> list[LoadError]:
    """Containers that are not mappings, or have no name, a name or an image that is not a string."""
    errors: list[LoadError] = []
    for section in ("initContainers", "containers", "ephemeralContainers"):
        seq = spec.get(section)
        if seq is None:
            continue
        if not isinstance(seq, list):
            errors.append(LoadError(f"{section} must be a list, not {_tname(seq)}", line(spec, section)))
            continue
        for i, c in enumerate(seq):
            at = item_line(seq, i, line(spec, section))
            if not isinstance(c, dict):
                errors.append(LoadError(f"{section}[{i}] must be a mapping, not {_tname(c)}", at))
            elif c.get("name") is None:
                errors.append(LoadError(f"{section}[{i}] has no name (Kubernetes requires one)", at, checked=True))
            elif not isinstance(c.get("name"), str):
                errors.append(
                    LoadError(
                        f"{section}[{i}].name must be a string, not {_tname(c.get('name'))}",
                        line(c, "name"),
                        checked=True,
                    )
                )
            elif c.get("image") is not None and not isinstance(c.get("image"), str):
                # `image:` with nothing after it is null, which Kubernetes reads as unset, as GC306 reads a missing
                # or empty image: a fill-in (kubeedge's mapper template, `image:  # Replace with your image`)
                errors.append(
                    LoadError(f"{section}[{i}].image must be a string, not {_tname(c.get('image'))}", line(c, "image"))
                )
    return errors


def _tname(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    return "a mapping"


def labels(obj: KObject) -> KObject:
    return as_map(get(obj, "metadata", "labels"))


def annotations(obj: KObject) -> KObject:
    return as_map(get(obj, "metadata", "annotations"))


def _pod_metadata(obj: KObject, key: str) -> KObject:
    """``metadata.<key>`` of the workload's pods: the pod template's (a bare Pod's own)."""
    if _kind(obj) == "Pod":
        return as_map(get(obj, "metadata", key))
    path = _pod_spec_path(obj)
    if path is None:
        return {}
    # the pod spec sits at <...>/template/spec: the template's metadata is its sibling
    return as_map(get(obj, *path[:-1], "metadata", key))


def pod_labels(obj: KObject) -> KObject:
    """The labels the workload's pods carry: the pod template's (a bare Pod's own)."""
    return _pod_metadata(obj, "labels")


def pod_annotations(obj: KObject) -> KObject:
    """The annotations the workload's pods carry: the pod template's (a bare Pod's own)."""
    return _pod_metadata(obj, "annotations")


def selector_matches(selector: Any, target_labels: KObject) -> bool:
    """Whether a label selector selects an object with ``target_labels``.

    ``selector`` is either a plain map (a Service's ``spec.selector``) or a
    ``LabelSelector`` (``matchLabels`` and/or ``matchExpressions``).  As in
    Kubernetes, an empty LabelSelector selects everything, and a Service's
    missing/empty selector selects nothing: callers decide which one they have.
    Unknown operators select nothing.
    """
    sel = as_map(selector)
    if "matchLabels" in sel or "matchExpressions" in sel:
        return all(
            str(target_labels.get(k)) == str(v) and k in target_labels
            for k, v in as_map(sel.get("matchLabels")).items()
        ) and all(_expression_matches(expr, target_labels) for expr in as_list(sel.get("matchExpressions")))
    return all(k in target_labels and str(target_labels[k]) == str(v) for k, v in sel.items())


def _expression_matches(expr: Any, target_labels: KObject) -> bool:
    """One ``matchExpressions`` requirement (In, NotIn, Exists, DoesNotExist)."""
    e = as_map(expr)
    key: Any = e.get("key")  # as written in the file: not necessarily a string
    op = e.get("operator")
    values = [str(x) for x in as_list(e.get("values"))]
    present = key in target_labels
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    listed = present and str(target_labels.get(key)) in values
    if op == "In":
        return listed
    if op == "NotIn":
        return not listed
    return False


# what in a custom resource's spec says an operator runs pods for it: a count of them, an image, a pod template
_RUNS_PODS = frozenset({"replicas", "instances", "image", "imageName", "containers", "podTemplate"})


def operator_workload(obj: KObject) -> bool:
    """Whether ``obj`` is a custom resource an operator runs as pods: a CloudNativePG or Crunchy Postgres cluster
    (``spec.instances``), a RayCluster (a pod template), a Strimzi Kafka (``spec.kafka.replicas``). Read in the
    first three levels of its spec; a built-in API group (``apps``, ``*.k8s.io``) is never one."""
    api = obj.get("apiVersion")
    if not isinstance(api, str) or "/" not in api:
        return False
    group = api.split("/", 1)[0]
    if group.endswith(".k8s.io") or "." not in group:
        return False

    def walk(node: Any, depth: int) -> bool:
        if depth > 3:
            return False
        if isinstance(node, dict):
            if any(k in _RUNS_PODS for k in node) or (
                isinstance(node.get("template"), dict) and isinstance(node["template"].get("spec"), dict)
            ):
                return True
            return any(walk(v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        if isinstance(node, list):
            return any(walk(v, depth + 1) for v in node[:50] if isinstance(v, (dict, list)))
        return False

    return walk(obj.get("spec"), 1)
