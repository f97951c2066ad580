"""Autoscaling (GC903, guideline 9.b): every Deployment/StatefulSet has an HPA on CPU and/or memory.

Read: HorizontalPodAutoscaler ``autoscaling/v1`` (``targetCPUUtilizationPercentage``;
CPU at 80 % when absent), ``autoscaling/v2`` and the deprecated ``v2beta1`` /
``v2beta2`` (``metrics[]`` of type ``Resource`` or ``ContainerResource``; CPU
at 80 % when ``metrics`` is absent), and KEDA ``ScaledObject`` (which creates
an HPA; ``triggers[].type`` ``cpu``/``memory``).  The autoscaler must name the
workload in ``scaleTargetRef`` (kind and name, same namespace, same scope) and
have ``minReplicas`` < ``maxReplicas`` (defaults: HPA 1, KEDA 0 / 100).
An autoscaler whose scale target is not in the scan is reported on the
autoscaler.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from guidecheck import crossref
from guidecheck.checks import Context, NotApplicable, NotATarget, lookup
from guidecheck.model import Hit, Target
from guidecheck.parsers import k8s


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def scaler_resources(obj: dict) -> list[str]:
    """The resource metrics an autoscaler scales on (lower case)."""
    spec = k8s.as_map(obj.get("spec"))
    if obj.get("kind") == "ScaledObject":
        return [
            str(t.get("type")).lower()
            for t in map(k8s.as_map, k8s.as_list(spec.get("triggers")))
            if isinstance(t.get("type"), str)
        ]
    api = str(obj.get("apiVersion") or "")
    if api.endswith("/v1"):
        return ["cpu"]  # targetCPUUtilizationPercentage, 80 % by default
    metrics = k8s.as_list(spec.get("metrics"))
    if "metrics" not in spec or not metrics:
        return ["cpu"]  # the HPA controller's default: 80 % average CPU utilisation
    out = []
    for m in map(k8s.as_map, metrics):
        for key in ("resource", "containerResource"):
            name = k8s.as_map(m.get(key)).get("name")
            if isinstance(name, str):
                out.append(name.lower())
    return out


def _other_metrics(obj: dict) -> str:
    out = []
    entries = k8s.as_list(k8s.get(obj, "spec", "metrics")) or k8s.as_list(k8s.get(obj, "spec", "triggers"))
    for m in map(k8s.as_map, entries):
        kind = m.get("type")
        body = k8s.as_map(m.get(str(kind)[:1].lower() + str(kind)[1:])) if isinstance(kind, str) else {}
        name = k8s.as_map(body.get("metric")).get("name") or body.get("metricName")
        out.append(f"{kind} metric {name}" if isinstance(name, str) else str(kind))
    return ", ".join(out) if out else "no metric"


def scaler_range(obj: dict) -> tuple[object, object]:
    spec = k8s.as_map(obj.get("spec"))
    if obj.get("kind") == "ScaledObject":
        return spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    return spec.get("minReplicas", 1), spec.get("maxReplicas")


def scaler_problems(obj: dict, allowed: set[str]) -> list[str]:
    problems = []
    resources = scaler_resources(obj)
    if not any(r in allowed for r in resources):
        on = ", ".join(sorted(set(resources))) or _other_metrics(obj)
        problems.append(f"scales on {on}, not on {' or '.join(sorted(allowed))}")
    lo, hi = scaler_range(obj)
    lo_i, hi_i = _int(lo), _int(hi)
    if hi_i is None:
        problems.append(f"maxReplicas is {'missing' if hi is None else repr(hi)[:30]}, not a number")
    elif lo_i is None:
        problems.append(f"minReplicas is {repr(lo)[:30]}, not a number")
    elif lo_i >= hi_i:
        problems.append(f"minReplicas {lo_i} is not below maxReplicas {hi_i}: it cannot scale")
    return problems


def _label(t: Target) -> str:
    return f"{t.data.get('kind')} '{crossref.name(t.data)}' ({t.path}:{t.line})"


# a controller's leader-election switch (controller-runtime's --leader-elect, kube-scheduler's
# --leader-elect=true, operator-sdk's --enable-leader-election), on unless given false
_LEADER_FLAG = re.compile(r"^--?(?:enable-)?leader-elect(?:ion)?(?:-enabled)?(?:=(\S+))?$")


# a flag that tunes leader election (cert-manager's --leader-election-namespace=kube-system, kube-controller-
# manager's --leader-elect-lease-duration): the binary elects a leader by default, unless switched off
_LEADER_TUNING = re.compile(r"^--?leader-elect(?:ion)?-(?!enabled\b)[a-z-]+(?:=\S*)?$")


# the same switch as an environment variable the binary binds to its flag (crossplane's LEADER_ELECTION: "true",
# kubebuilder projects' ENABLE_LEADER_ELECTION, kuberhealthy's KH_LEADER_ELECTION_ENABLED, with the program's
# prefix): on only when the value says so, the default being unknown
_LEADER_ENV = re.compile(r"^(?:[A-Z0-9]+_)??(?:ENABLE_)?LEADER_ELECT(?:ION)?(?:_ENABLED?)?$", re.IGNORECASE)


def _leader_election_flag(obj: dict) -> str | None:
    """The leader-election flag a long-running container of the workload runs with (a switch left on, or a flag
    that tunes an election on by default), or the environment variable that switches it on; None if none."""
    for c in k8s.containers(obj, "long-running"):
        for e in k8s.as_list(c.data.get("env")):
            e = k8s.as_map(e)
            name, value = e.get("name"), e.get("value")
            if isinstance(name, str) and _LEADER_ENV.match(name) and str(value).strip().lower() in ("true", "1", "yes"):
                return f"{name}={value}"
        words = [w for key in ("command", "args") for w in k8s.as_list(c.data.get(key)) if isinstance(w, str)]
        tuning = None
        switched_off = False
        for i, word in enumerate(words):
            m = _LEADER_FLAG.match(word.strip())
            if not m:
                if tuning is None and _LEADER_TUNING.match(word.strip()):
                    tuning = word.strip()
                continue
            value = m.group(1)
            if value is None and i + 1 < len(words) and words[i + 1].strip().lower() in ("true", "false"):
                value = words[i + 1].strip()
            if (value or "true").strip("'\"").lower() in ("true", "1", "yes"):
                return word.strip()
            switched_off = True
        if tuning is not None and not switched_off:
            return tuning
    return None


_CONFIG_FLAG = re.compile(r"^--?config(?:=(\S+))?$")
# knative's shared main (Tekton's controllers, knative serving): leader election configured by this ConfigMap
_KNATIVE_LEADER_ELECTION = "config-leader-election"


def _leader_election_config(target: Target, ctx: Context) -> str | None:
    """Leader election a controller's configuration turns on: controller-runtime's component config, given with
    --config and mounted from a ConfigMap of the unit whose file says `leaderElection: {leaderElect: true}` (lws
    and jobset patch --leader-elect into --config=/controller_manager_config.yaml); or knative's shared main, which
    elects leaders by default, configured by a config-leader-election ConfigMap beside it (tekton-operator; its
    containers have knative's SYSTEM_NAMESPACE or CONFIG_LEADERELECTION_NAME in their environment)."""
    obj = target.data
    ns = crossref.namespace(obj)
    env = {
        str(e.get("name")): e.get("value")
        for c in k8s.containers(obj, "long-running")
        for e in map(k8s.as_map, k8s.as_list(c.data.get("env")))
    }
    if "SYSTEM_NAMESPACE" in env or "CONFIG_LEADERELECTION_NAME" in env:  # a knative shared main's environment
        wanted = env.get("CONFIG_LEADERELECTION_NAME")
        cm_name = wanted if isinstance(wanted, str) and wanted else _KNATIVE_LEADER_ELECTION
        knative = [
            t
            for _pos, t in crossref.named(target, ctx, "ConfigMap", cm_name)
            if crossref.namespace(t.data) == ns and crossref.visible(target, t)
        ]
        if knative:
            return f"knative's {cm_name} ConfigMap ({knative[0].path}:{knative[0].line})"
    volumes = {
        v.get("name"): k8s.as_map(v.get("configMap")).get("name")
        for v in k8s.as_list(k8s.get(k8s.pod_spec(obj) or {}, "volumes"))
        if isinstance(v, dict)
    }
    for c in k8s.containers(obj, "long-running"):
        words = [w.strip() for key in ("command", "args") for w in k8s.as_list(c.data.get(key)) if isinstance(w, str)]
        for i, word in enumerate(words):
            m = _CONFIG_FLAG.match(word)
            path = (m.group(1) or (words[i + 1] if i + 1 < len(words) else "")) if m else ""
            found = _mounted_config(target, ctx, c.data, volumes, path.strip("'\"")) if path else None
            if found is not None:
                return found
    return None


def _mounted_config(target: Target, ctx: Context, container: dict, volumes: dict, path: str) -> str | None:
    """Where the file at ``path``, mounted from a ConfigMap of the unit, says `leaderElect: true`, or None."""
    from guidecheck.parsers.yaml import load_yaml

    for mount in k8s.as_list(container.get("volumeMounts")):
        mount = k8s.as_map(mount)
        at, sub = str(mount.get("mountPath") or "").rstrip("/"), mount.get("subPath")
        if at == path and isinstance(sub, str):
            key = sub
        elif at and path.startswith(at + "/") and "/" not in path[len(at) + 1 :]:
            key = path[len(at) + 1 :]
        else:
            continue
        name = volumes.get(mount.get("name"))
        if not isinstance(name, str):
            continue
        for _pos, cm in crossref.named(target, ctx, "ConfigMap", name):
            text = k8s.as_map(cm.data.get("data")).get(key)
            if not crossref.visible(target, cm) or not isinstance(text, str) or "leaderElect" not in text:
                continue
            docs = load_yaml(text[: 256 * 1024])
            config = docs[0].data if docs else None
            if k8s.get(config if isinstance(config, dict) else {}, "leaderElection", "leaderElect") is True:
                return f"--config {path}, whose leaderElection.leaderElect is true (ConfigMap '{name}', {cm.path})"
    return None


def hpa_coverage(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC903: an HPA scales each Deployment/StatefulSet on CPU/memory; an HPA's target exists."""
    obj = target.data
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind in crossref.SCALER_KINDS:
        yield from _scaler_target_exists(target, ctx)
        return
    kinds = set(ctx.settings.get("autoscaled-kinds") or ())
    if kind not in kinds:
        if kind in (ctx.settings.get("workload-kinds") or ()):
            raise NotApplicable(f"a {kind} is not autoscaled (settings.autoscaled-kinds)")
        raise NotATarget("not a workload")
    if "$patch" in obj:
        raise NotApplicable("a kustomize patch, not a full object")
    for ref in k8s.as_list(k8s.get(obj, "metadata", "ownerReferences")):
        if k8s.as_map(ref).get("controller") is True:
            raise NotApplicable(f"managed by {k8s.as_map(ref).get('kind')}/{k8s.as_map(ref).get('name')}")
    allowed = {str(r).lower() for r in ctx.settings["autoscaling-resources"]}
    scalers = lookup.scalers_for(target, ctx)
    if not scalers:
        elected = _leader_election_flag(obj) or _leader_election_config(target, ctx)
        if elected is not None:
            raise NotApplicable(
                f"a leader-elected controller ({elected}): one replica works at a time and the others stand by, "
                "so an autoscaler on CPU or memory adds standbys, not capacity"
            )
        nm = crossref.name(obj)
        if nm is None:  # generateName: the name is only known once the API server has made one up
            gen = k8s.get(obj, "metadata", "generateName")
            yield Hit(
                f"{kind} has no fixed name"
                + (f" (generateName '{gen}')" if isinstance(gen, str) else "")
                + ", so no HorizontalPodAutoscaler can name it in scaleTargetRef: it does not scale on "
                f"{' or '.join(sorted(allowed))} usage"
            )
            return
        yield Hit(
            f"no HorizontalPodAutoscaler has scaleTargetRef {kind} '{nm}': it does not "
            f"scale on {' or '.join(sorted(allowed))} usage{crossref.looked_in(target, ctx)}"
        )
        return
    problems = []
    for s in scalers:
        p = scaler_problems(s.data, allowed)
        if not p:
            return
        problems.append((s, p))
    s, p = problems[0]
    others = "".join(f"; {_label(o)}: {'; '.join(q)}" for o, q in problems[1:])
    yield Hit(f"{_label(s)} {'; '.join(p)}{others}", line=s.line, path=s.path)


def _scaler_target_exists(target: Target, ctx: Context) -> Iterator[Hit]:
    tk, tn = crossref.scale_target_ref(target.data)
    ref_node = k8s.get(target.data, "spec", "scaleTargetRef")
    line = k8s.line(k8s.get(target.data, "spec"), "scaleTargetRef", target.line)
    if tk is None or tn is None:
        yield Hit("scaleTargetRef does not name a kind and a name", line=line)
        return
    if lookup.scale_targets(target, ctx):
        return
    ns = crossref.namespace(target.data)
    yield Hit(
        f"scale target {tk} '{tn}'{f' in namespace {ns}' if ns else ''} does not exist in this scan",
        line=k8s.line(ref_node, "name", line),
    )
