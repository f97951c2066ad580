"""Whether a workload serves calls: exposed by a Service for more than metrics, and speaking HTTP.

Shared by GC601 (a JWT rides on those calls) and GC901 (an API to describe): one judgement for both.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from guidecheck.parsers import k8s

SERVING_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Pod",
        "DeploymentConfig",
        "Rollout",
    }
)


def metrics_container_port(port: dict, ctx, container: dict | None = None) -> bool:
    """A container port that serves metrics: the settings metrics-port, named like metrics-port-names, or (given
    its container) the port the container binds its metrics server to (`--metrics-bind-address=:8443`)."""
    name = port.get("name")
    globs = [g.lower() for g in ctx.settings.get("metrics-port-names") or () if isinstance(g, str)]
    return (
        port.get("containerPort") == ctx.settings.get("metrics-port")
        or (isinstance(name, str) and any(fnmatch.fnmatchcase(name.lower(), g) for g in globs))
        or (container is not None and port.get("containerPort") in metrics_bound_ports(container))
    )


# a metrics server's listen address on the command line: controller-runtime's --metrics-bind-address=:8443,
# --metrics-addr, --metrics-address, --metrics-port, --metrics-serving-address, --metrics-listen-address
_METRICS_FLAG = re.compile(
    r"^--?metrics-(?:bind-|serving-|listen-)?(?:addr(?:ess)?|port)[= ](?:\S*:)?(\d{1,5})$"
)  # version-checker's --metrics-serving-address=0.0.0.0:8080


def annotated_metrics_port(obj: dict) -> int | None:
    """The port the pod template's prometheus.io annotations scrape at /metrics (version-checker's
    prometheus.io/port: "8080"), if any."""
    notes = k8s.pod_annotations(obj)
    port, path = notes.get("prometheus.io/port"), notes.get("prometheus.io/path")
    if str(notes.get("prometheus.io/scrape", "true")).lower() != "true" or path not in (None, "/metrics"):
        return None
    try:
        return int(str(port).strip())
    except ValueError:
        return None


def metrics_bound_ports(container: dict) -> set[int]:
    """The ports a container's command line binds its metrics server to."""
    out: set[int] = set()
    for key in ("command", "args"):
        for word in k8s.as_list(container.get(key)):
            m = _METRICS_FLAG.match(word.strip()) if isinstance(word, str) else None
            if m:
                out.add(int(m.group(1)))
    return out


_METRICS_SERVICE = re.compile(r"(?:^|[-_.])metrics(?:[-_.](?:service|svc))?$")


# ports named for health checks, and for profiling: what probes and a developer's pprof call, no API
HEALTH_PORT_NAME = re.compile(r"^(?:health[\w-]*|healthz|probes?|liveness[\w-]*|readiness[\w-]*)$", re.IGNORECASE)
_PROFILING_PORT_NAME = re.compile(r"^(?:[\w-]*-)?(?:pprof|profiling|profiler)$", re.IGNORECASE)


def metrics_only(service: dict, ctx) -> bool:
    """A Service whose every port is a metrics port (named *metrics*, or the settings metrics-port), or one named
    for health checks or profiling (tekton's controllers: http-metrics, http-profiling and probes)."""
    ports = k8s.as_list(k8s.get(service, "spec", "ports"))
    metrics_port = ctx.settings.get("metrics-port")
    globs = [g.lower() for g in ctx.settings.get("metrics-port-names") or () if isinstance(g, str)]

    def named_metrics(value: Any) -> bool:
        return isinstance(value, str) and (
            any(fnmatch.fnmatchcase(value.lower(), g) for g in globs)
            or bool(HEALTH_PORT_NAME.match(value) or _PROFILING_PORT_NAME.match(value))
        )

    if not ports:
        return False
    name = k8s.get(service, "metadata", "name")
    if isinstance(name, str) and _METRICS_SERVICE.search(name.lower()):
        # kubebuilder's controller-manager-metrics-service, whose port is named https; kube-state-metrics: named
        # for what they serve (a metrics-api names an API about metrics, and is judged)
        return True
    for p in ports:
        if not isinstance(p, dict):
            return False
        target_port = p.get("targetPort")
        if not (
            named_metrics(p.get("name")) or named_metrics(target_port) or metrics_port in (p.get("port"), target_port)
        ):
            return False
    return True


def datagram_only(service: dict) -> bool:
    """A Service whose every port is UDP or SCTP (traefik's whoamiudp): no HTTP call reaches the pods through it,
    whatever protocol their containerPort leaves at its TCP default."""
    ports = k8s.as_list(k8s.get(service, "spec", "ports"))
    return bool(ports) and all(
        isinstance(p, dict) and str(p.get("protocol") or "TCP").upper() in ("UDP", "SCTP") for p in ports
    )


def non_http(obj: dict, ctx) -> str | None:
    """Why a workload speaks no HTTP (a database, broker, cache or DNS server): every long-running container runs
    an image of settings non-http-images, or every port it declares (metrics ports and UDP/SCTP ports aside) is one
    of settings non-http-ports, or it declares UDP/SCTP ports only; None otherwise."""
    image_globs = [g.lower() for g in ctx.settings.get("non-http-images") or () if isinstance(g, str)]
    ports = {p for p in ctx.settings.get("non-http-ports") or () if isinstance(p, int)}
    images: list[str] = []
    declared: list[int] = []
    datagram: list[int] = []
    scraped = annotated_metrics_port(obj)
    for c in k8s.containers(obj, "long-running"):
        image = c.data.get("image")
        if isinstance(image, str):
            images.append(image)
        for p in k8s.as_list(c.data.get("ports")):
            if not isinstance(p, dict) or not isinstance(p.get("containerPort"), int):
                continue
            if metrics_container_port(p, ctx, c.data) or p["containerPort"] == scraped:
                continue
            if str(p.get("protocol") or "TCP").upper() in ("UDP", "SCTP"):
                datagram.append(p["containerPort"])  # no HTTP/1 or HTTP/2 call rides on it (coredns' 53/UDP)
                continue
            declared.append(p["containerPort"])

    def short(image: str) -> str:
        return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()

    if images and image_globs and all(any(fnmatch.fnmatchcase(short(i), g) for g in image_globs) for i in images):
        return "image " + ", ".join(sorted(set(images)))[:200]
    if declared and ports and all(p in ports for p in declared):
        return "port " + ", ".join(str(p) for p in sorted(set(declared)))
    if datagram and not declared:
        return "UDP/SCTP port " + ", ".join(str(p) for p in sorted(set(datagram)))
    return None


def unparsed(ctx, prefix: str) -> bool:
    """Whether a YAML or JSON file of the repository (display paths under ``prefix``) could not be parsed: its
    objects, a Service among them, are unknown, so "nothing exposes it" cannot be concluded."""
    from guidecheck.model import Severity

    return any(
        t.path.startswith(prefix)
        and getattr(t.data, "kind", "") in ("yaml", "json")
        and not _CI_FILE.search(t.path)
        and any(e.severity == Severity.ERROR and not e.checked for e in getattr(t.data, "errors", ()))
        # a file whose text names no Service (kaniko's templated Job, a mis-indented Pod) held none
        and _may_name_a_service(getattr(t.data, "kinds_named", None))
        for t in ctx.of_kind("file")
    )


def _may_name_a_service(kinds: tuple[str, ...] | None) -> bool:
    """Whether the objects of a file that did not parse may include a Service: its text names one (or a List, or a
    kind written as a template expression); unknown (None) when the file's documents did parse."""
    return kinds is None or any(k in ("Service", "List", "?") for k in kinds)


# pipeline files: a workflow's own problems (mongodb's step with an empty name:) say nothing of Services
_CI_FILE = re.compile(r"(?:^|/)(?:\.github/|\.gitlab-ci[^/]*$|azure-pipelines[^/]*$|[^/]*cloudbuild[^/]*$|\.circleci/)")


def apiserver_backend(service: dict, ctx, workload: dict | None = None) -> bool:
    """Whether the Service backs an aggregated API (APIService spec.service), an admission webhook or a CRD
    conversion webhook (clientConfig.service): the kube-apiserver calls it, with its own front-proxy or
    webhook authentication, not another service with a JWT (prometheus-adapter's metrics.k8s.io).

    ``workload`` is the workload whose pods the Service selects, when the caller has one: a port that leads to
    one of its container ports named webhook counts as a webhook port."""

    def build(c) -> frozenset[tuple[str | None, str]]:
        refs: set[tuple[str | None, str]] = set()

        def add(ref: Any) -> None:
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                ns = ref.get("namespace")
                refs.add((ns if isinstance(ns, str) else None, ref["name"]))

        for t in c.of_kind("k8s"):
            obj = t.data
            kind = obj.get("kind") if isinstance(obj, dict) else None
            if kind == "APIService":
                add(k8s.get(obj, "spec", "service"))
            elif kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
                for hook in k8s.as_list(obj.get("webhooks")):
                    add(k8s.get(hook, "clientConfig", "service"))
            elif kind == "CustomResourceDefinition":
                add(k8s.get(obj, "spec", "conversion", "webhook", "clientConfig", "service"))
        return frozenset(refs)

    refs = ctx.cached("exposure.apiserver-backends", build)
    name = k8s.get(service, "metadata", "name")
    ns = k8s.get(service, "metadata", "namespace")
    if isinstance(name, str) and ((ns, name) in refs or (None, name) in refs):
        return True
    if isinstance(name, str) and not (isinstance(ns, str) and ns) and any(n == name for _, n in refs):
        # a Service without a namespace is in the one it is applied to: the namespace a chart's APIService names
        # with {{ .Release.Namespace }} (cert-manager's samplewebhook, rendered into "default")
        return True
    # an operator that registers its webhook configuration itself at run time (spark-on-k8s-operator, keda's
    # OLM operator): nothing in the files names the Service, whose every port is named webhook, or leads to a
    # container port named so (crossplane's unnamed 9443 -> its container's `webhooks` port)
    ports = [p for p in k8s.as_list(k8s.get(service, "spec", "ports")) if isinstance(p, dict)]
    hooks = _webhook_container_ports(workload) if workload is not None else ()
    return bool(ports) and all(
        (isinstance(p.get("name"), str) and _WEBHOOK_PORT.match(p["name"]))
        or (
            hooks
            and isinstance(p.get("targetPort", p.get("port")), (int, str))
            and p.get("targetPort", p.get("port")) in hooks
        )
        for p in ports
    )


_WEBHOOK_PORT = re.compile(r"^(?:https?-)?webhooks?(?:-server|-https?|-port)?$", re.IGNORECASE)


def _webhook_container_ports(workload: dict) -> frozenset[object]:
    """The names and numbers of the workload's container ports named webhook (``webhooks``, ``webhook-server``)."""
    out: set[object] = set()
    for c in k8s.containers(workload, "long-running"):
        for p in k8s.as_list(c.data.get("ports")):
            p = k8s.as_map(p)
            name = p.get("name")
            if isinstance(name, str) and _WEBHOOK_PORT.match(name):
                out.add(name)
                if isinstance(p.get("containerPort"), int) and not isinstance(p.get("containerPort"), bool):
                    out.add(p["containerPort"])
    return frozenset(out)
