"""``guidecheck audit``: read a cluster (read-only) and turn it into targets for the engine.

What is read: the resources named in ``settings.audit-resources`` (``deployments.apps``,
``servicemonitors.monitoring.coreos.com``, ...; ``"*"`` for every listable
resource) that discovery says exist — a custom resource whose API is not
installed is simply absent, not an error.  Each is listed across all
namespaces (filtered by ``--include-namespace``/``--exclude-namespace`` and
``settings.audit-exclude-namespaces``), or per ``--namespace``; when a
cluster-wide list is forbidden, the namespaces are tried one by one.  Pages are
turned into targets and dropped one at a time (and streamed to ``--dump``).

What could not be read (403, 404, 5xx after retries, the timeout) becomes a
coverage record (GC004) and a line of ``ScanResult.incomplete`` (exit 3).

Probes (off by default) run after the lists, through the API server: one
running pod per long-running workload, at most ``--probe-max-pods``, each
bounded in bytes and time: ``/metrics`` on the metrics port (GC502) and the
tail of each container's log (GC503).  Their results are ``live`` targets;
the checks stay pure.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import sys
from dataclasses import dataclass
from typing import Any

from guidecheck.cluster import objects as cobj
from guidecheck.cluster.client import ApiError, AuditTimeout, Deadline, KubeClient, Resource
from guidecheck.cluster.dump import DumpWriter
from guidecheck.cluster.model import Audited, AuditOptions, coverage_target, gap_reason, live_target, safe_segment
from guidecheck.model import ObjectRef, SourceFile, Target, file_target
from guidecheck.parsers import k8s

CORE_NAMESPACES = "namespaces"
BATCH_OWNERS = frozenset({"Job", "CronJob"})


def resource_specs(settings: dict) -> tuple[set[tuple[str, str]], bool]:
    """``settings.audit-resources`` as ``{(group, resource)}``, and whether ``"*"`` (everything) was asked."""
    wanted: set[tuple[str, str]] = set()
    everything = False
    for spec in settings.get("audit-resources") or ():
        if not isinstance(spec, str) or not spec.strip():
            continue
        spec = spec.strip().lower()
        if spec == "*":
            everything = True
            continue
        resource, _, group = spec.partition(".")
        wanted.add((group, resource))
    return wanted, everything


# resources never worth listing with "*": high churn, no configuration in them
_NOISE = frozenset(
    {
        ("", "events"),
        ("events.k8s.io", "events"),
        ("", "endpoints"),
        ("discovery.k8s.io", "endpointslices"),
        ("coordination.k8s.io", "leases"),
        ("", "componentstatuses"),
    }
)


class NamespaceFilter:
    def __init__(self, explicit: tuple[str, ...], include: tuple[str, ...], exclude: tuple[str, ...]):
        self.explicit = set(explicit)
        self.include = include
        self.exclude = exclude

    def __call__(self, ns: str | None) -> bool:
        if ns is None:
            return True
        if self.explicit:
            return ns in self.explicit
        if self.include and not any(fnmatch.fnmatchcase(ns, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(ns, p) for p in self.exclude)


class Progress:
    """One self-overwriting status line on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()

    def show(self, text: str) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K" + text[:150])
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


@dataclass
class _PodInfo:
    namespace: str
    name: str
    owner: tuple[str, str] | None
    containers: list[tuple[str, list[int]]]  # (name, container ports)
    running: bool


class _Run:
    """One live audit: state shared by the listing and the probes."""

    def __init__(self, client: KubeClient, opts: AuditOptions, config, context: str):
        self.client = client
        self.opts = opts
        self.config = config
        self.settings = config.settings
        self.context = context
        self.workload_kinds = frozenset(self.settings.get("workload-kinds") or ())
        exclude = tuple(opts.exclude_namespaces) + (
            () if opts.namespaces else tuple(self.settings.get("audit-exclude-namespaces") or ())
        )
        self.ns_ok = NamespaceFilter(opts.namespaces, opts.include_namespaces, exclude)
        self.out = Audited(context=context)
        self.progress = Progress(opts.progress)
        self.owners: dict[tuple[str, str, str], tuple[str, str]] = {}  # (ns, kind, name) -> controller
        self.pods: list[_PodInfo] = []
        self.workloads: dict[tuple[str, str, str], Target] = {}
        self.namespace_names: list[str] | None = None
        self.read_ok: list[tuple[str, str, bool]] = []  # (resource name, kind, namespaced)
        self.gaps: list[dict] = []
        self.probes: list[dict] = []
        self.objects = 0
        self.writer: DumpWriter | None = None

    # -------------------------------------------------------------- objects

    def admit(self, obj: dict) -> None:
        running = obj.get("kind") == "Pod" and k8s.get(obj, "status", "phase") == "Running"
        obj = cobj.trim(obj)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
        kind = obj.get("kind")
        if kind == "Namespace" and not self.ns_ok(str(meta.get("name"))):
            return
        if not self.ns_ok(ns):
            return
        self.objects += 1
        errors = k8s.structure_errors(obj)
        if errors:  # as in a scan: GC001 at the object (a 'containers' that is not a list, ...)
            self.out.targets.append(file_target(SourceFile(cobj.object_path(self.context, obj), "cluster", errors)))
            if any(e.message.startswith(("apiVersion", "kind")) for e in errors):
                return
        if self.writer is not None:
            self.writer.write(obj)
        owner = cobj.controller_of(obj)
        name = meta.get("name")
        if owner is not None and isinstance(name, str):
            self.owners[(ns or "", str(kind), name)] = owner
        if kind == "Pod":
            self._remember_pod(obj, ns, owner, running)
        if cobj.checked_through_owner(obj, self.workload_kinds):
            return
        t = cobj.make_target(
            obj, context=self.context, source="cluster", inline_suppressions=self.config.inline_suppressions
        )
        self.out.targets.append(t)
        if kind in self.workload_kinds and isinstance(name, str):
            self.workloads[(ns or "", str(kind), name)] = t

    def _remember_pod(self, obj: dict, ns: str | None, owner, running: bool) -> None:
        name = k8s.get(obj, "metadata", "name")
        if not isinstance(name, str) or ns is None:
            return
        conts: list[tuple[str, list[int]]] = []
        for c in k8s.as_list(k8s.get(obj, "spec", "containers")):
            if isinstance(c, dict) and isinstance(c.get("name"), str):
                conts.append((c["name"], _container_ports(c)))
        self.pods.append(_PodInfo(ns, name, owner, conts, running))

    # -------------------------------------------------------------- coverage

    def gap(self, res: Resource, namespace: str | None, error: str, status: int) -> None:
        self.gaps.append(
            {
                "resource": res.name,
                "kind": res.kind,
                "group": res.group,
                "version": res.version,
                "namespace": namespace,
                "status": status,
                "error": error,
            }
        )

    def coverage_targets(self) -> list[Target]:
        out = []
        for name, kind, namespaced in self.read_ok:
            out.append(
                coverage_target(
                    {
                        "probe": "coverage",
                        "resource": name,
                        "kind": kind,
                        "namespace": "*" if namespaced else None,
                        "error": None,
                    },
                    self.context,
                )
            )
        for g in self.gaps:
            out.append(coverage_target({"probe": "coverage", **g}, self.context))
            self.out.incomplete.append(gap_reason(g))
        return out

    # -------------------------------------------------------------- listing

    def list_resource(self, res: Resource) -> None:
        meta_only = res.kind in cobj.METADATA_ONLY_KINDS
        scopes: list[str | None] = [None]
        if res.namespaced and self.opts.namespaces:
            scopes = list(sorted(self.opts.namespaces))
        failed = False
        for ns in scopes:
            try:
                self._list(res, ns, meta_only)
            except ApiError as exc:
                if exc.status == 403 and ns is None and res.namespaced and self.namespace_names:
                    # a cluster-wide list is forbidden: a namespaced Role may still allow some namespaces
                    for each in self.namespace_names:
                        if not self.ns_ok(each):
                            continue
                        try:
                            self._list(res, each, meta_only)
                        except ApiError as exc2:
                            self.gap(res, each, str(exc2), exc2.status)
                            failed = True
                    continue
                self.gap(res, ns if ns is not None else ("*" if res.namespaced else None), str(exc), exc.status)
                failed = True
        if not failed:
            self.read_ok.append((res.name, res.kind, res.namespaced))

    def _list(self, res: Resource, ns: str | None, meta_only: bool) -> None:
        pages = 0
        for page in self.client.list_pages(
            res, namespace=ns, label_selector=self.opts.selector, page_size=self.opts.page_size, metadata_only=meta_only
        ):
            pages += 1
            for item in page:
                if res.kind == "Namespace" and self.namespace_names is not None:
                    n = k8s.get(item, "metadata", "name")
                    if isinstance(n, str):
                        self.namespace_names.append(n)
                self.admit(item)
            self.progress.show(
                f"guidecheck audit: {res.name}{' in ' + ns if ns else ''}: page {pages}, {self.objects} objects so far"
            )

    # -------------------------------------------------------------- probes

    def top_owner(self, ns: str, kind: str, name: str) -> tuple[str, str]:
        seen = 0
        while seen < 5:
            owner = self.owners.get((ns, kind, name))
            if owner is None:
                break
            kind, name = owner
            seen += 1
        return kind, name

    def probe_candidates(self) -> list[tuple[_PodInfo, str, str]]:
        """One running pod per long-running workload (sorted; bounded by --probe-max-pods)."""
        chosen: dict[tuple[str, str, str], _PodInfo] = {}
        for p in sorted(self.pods, key=lambda p: (p.namespace, p.name)):
            if not p.running or not p.containers:
                continue
            kind, name = self.top_owner(p.namespace, "Pod", p.name)
            if kind in BATCH_OWNERS:
                continue
            chosen.setdefault((p.namespace, kind, name), p)
        items = sorted(chosen.items())
        return [(p, kind, name) for (ns, kind, name), p in items[: max(0, self.opts.probe_max_pods)]]

    def probe_target_base(self, p: _PodInfo, kind: str, name: str) -> tuple[ObjectRef, str, dict]:
        t = self.workloads.get((p.namespace, kind, name))
        if t is not None:
            origin = {k: v for k, v in t.origin.items() if k in ("release", "chart", "release_namespace")}
            return t.ref, t.path, origin
        ref = ObjectRef("Pod", p.namespace, p.name)
        return ref, f"cluster/{safe_segment(self.context)}/{safe_segment(p.namespace)}/Pod/{safe_segment(p.name)}", {}

    def run_probes(self) -> None:
        # declared in rules/GC501.yaml (merge: replace); config.settings holds them, defaults filled in
        port = int(self.settings["metrics-port"])
        mpath = str(self.settings["metrics-path"])
        for p, kind, name in self.probe_candidates():
            workload = f"{kind}/{name}"
            owner_target = self.workloads.get((p.namespace, kind, name))
            helm = {k: v for k, v in (owner_target.origin if owner_target else {}).items() if k in ("release", "chart")}
            if self.opts.probe_metrics:
                self.progress.show(f"guidecheck audit: probing {p.namespace}/{p.name}:{port}{mpath}")
                try:
                    body, cut = self.client.pod_proxy_text(
                        p.namespace,
                        p.name,
                        port,
                        mpath,
                        max_bytes=self.opts.probe_max_bytes,
                        timeout=self.opts.probe_timeout,
                    )
                    result = parse_metrics(body, cut)
                except ApiError as exc:
                    if exc.status in (401, 403):
                        self.probe_gap("pods/proxy", p.namespace, str(exc), exc.status)
                        result = None
                    else:
                        result = {"status": exc.status or None, "error": str(exc)}
                if result is not None:
                    self.probes.append(
                        {
                            "probe": "metrics",
                            "namespace": p.namespace,
                            "pod": p.name,
                            "port": port,
                            "path": mpath,
                            "workload": workload,
                            **helm,
                            **result,
                        }
                    )
            if self.opts.probe_logs:
                for cname, _ports in p.containers[:4]:
                    self.progress.show(f"guidecheck audit: reading the log of {p.namespace}/{p.name} [{cname}]")
                    try:
                        body, cut = self.client.pod_log(
                            p.namespace,
                            p.name,
                            cname,
                            tail_lines=self.opts.log_lines,
                            max_bytes=self.opts.probe_max_bytes,
                            timeout=self.opts.probe_timeout,
                        )
                        result = parse_log_lines(body, cut)
                    except ApiError as exc:
                        if exc.status in (401, 403):
                            self.probe_gap("pods/log", p.namespace, str(exc), exc.status)
                            break
                        result = {"error": str(exc), "lines": 0, "json": 0}
                    self.probes.append(
                        {
                            "probe": "logs",
                            "namespace": p.namespace,
                            "pod": p.name,
                            "container": cname,
                            "workload": workload,
                            **helm,
                            **result,
                        }
                    )

    def probe_gap(self, sub: str, ns: str, error: str, status: int) -> None:
        if any(g["resource"] == sub and g["namespace"] == ns for g in self.gaps):
            return
        self.gaps.append(
            {
                "resource": sub,
                "kind": "Pod",
                "group": "",
                "version": "v1",
                "namespace": ns,
                "status": status,
                "error": error,
            }
        )

    def probe_targets(self) -> list[Target]:
        out = []
        for r in self.probes:
            kind, _, name = r["workload"].partition("/")
            p = _PodInfo(r["namespace"], r["pod"], None, [], True)
            ref, path, origin = self.probe_target_base(p, kind, name)
            out.append(live_target(r, context=self.context, ref=ref, path=path, origin=origin))
        return out


def _container_ports(container: dict) -> list[int]:
    ports = []
    for p in k8s.as_list(container.get("ports")):
        port = p.get("containerPort") if isinstance(p, dict) else None
        if isinstance(port, int):
            ports.append(port)
    return ports


def parse_metrics(body: bytes, truncated: bool) -> dict[str, Any]:
    """Prometheus text exposition → counts, or the parser's error (prometheus-client's own parser)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = body.decode("utf-8", "replace")
    if truncated:  # judge the complete lines only
        text = text[: text.rfind("\n") + 1]
    out: dict[str, Any] = {"status": 200, "bytes": len(body), "truncated": truncated, "error": None}
    families = samples = 0
    try:
        for fam in text_string_to_metric_families(text):
            families += 1
            samples += len(fam.samples)
    except Exception as exc:  # noqa: BLE001 - the parser raises ValueError/TypeError/IndexError... on bad text
        out["error"] = f"not Prometheus text exposition: {type(exc).__name__}: {str(exc)[:160]}"
    out["families"], out["samples"] = families, samples
    return out


def parse_log_lines(body: bytes, truncated: bool) -> dict[str, Any]:
    """How many of the sampled log lines are JSON objects; one non-JSON example (masked, short)."""
    from guidecheck.sanitize import mask_secrets

    text = body.decode("utf-8", "replace")
    lines = text.split("\n")
    if truncated and lines:
        lines = lines[:-1]  # a line cut by limitBytes
    total = js = 0
    example = None
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        total += 1
        try:
            if isinstance(json.loads(line), dict):
                js += 1
                continue
        except (ValueError, RecursionError):  # a log line nested past the C stack is not a JSON log line either
            pass
        if example is None:
            example = mask_secrets(line[:120])
    return {"lines": total, "json": js, "example": example, "truncated": truncated, "error": None}


def run_live(opts: AuditOptions, config) -> Audited:
    """Audit a live cluster (see the module docstring). Raises ClusterConfigError for unusable credentials."""
    started = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    deadline = Deadline(opts.timeout)
    client = KubeClient(
        kubeconfig=opts.kubeconfig,
        context=opts.context,
        in_cluster=opts.in_cluster,
        deadline=deadline,
        request_timeout=opts.request_timeout,
        # declared in rules/_settings.yaml (merge: replace); config.settings holds them, defaults filled in
        max_response_bytes=int(config.settings["audit-max-response-bytes"]),
        max_list_objects=int(config.settings["audit-max-list-objects"]),
        max_depth=config.limits.max_depth,
    )
    context = opts.cluster_name or client.context
    run = _Run(client, opts, config, context)
    out = run.out
    out.now = started
    out.inputs = [f"cluster/{safe_segment(context)}"]
    writer = DumpWriter(opts.dump) if opts.dump else None
    run.writer = writer
    try:
        wanted, everything = resource_specs(config.settings)
        try:
            version = client.version()
            found, failed_groups = client.discover(None if everything else {g for g, _ in wanted})
        except (ApiError, AuditTimeout) as exc:
            out.incomplete.append(f"cannot read the API server at {client.host} ({context}): {exc}")
            out.stats = {"server": client.host, "objects": 0}
            return out
        todo = _plan(run, found, failed_groups, wanted, everything)
        _list_all(run, todo)
        if opts.probe_metrics or opts.probe_logs:
            try:
                run.run_probes()
            except AuditTimeout as exc:
                out.incomplete.append(f"probes stopped: {exc}")
        out.targets.extend(run.coverage_targets())
        out.targets.extend(run.probe_targets())
        out.stats = {
            "server": client.host,
            "version": version,
            "objects": run.objects,
            "targets": sum(1 for t in out.targets if t.kind == "k8s"),
            "resources": len(todo),
            "requests": client.requests,
            "retries": client.retries,
            "gaps": len(run.gaps),
            "probes": len(run.probes),
        }
        if writer is not None:
            _finish_dump(writer, run, started)
            writer = None
    finally:
        run.progress.done()
        if writer is not None:
            writer.abort()
        client.close()
    return out


def _plan(
    run: _Run, found: list[Resource], failed_groups: list, wanted: set[tuple[str, str]], everything: bool
) -> list[Resource]:
    """The resources to list, Namespaces first; a wanted resource whose API group failed discovery is a gap."""
    by_key = {(r.group, r.resource): r for r in found}
    todo: list[Resource] = []
    keys = ({k for k in by_key if k not in _NOISE} | wanted) if everything else wanted
    for key in sorted(keys):
        r = by_key.get(key)
        if r is None or "list" not in r.verbs:
            continue  # not served here (a CRD that is not installed): nothing to read, not a gap
        todo.append(r)
    for gv, exc in failed_groups:
        group = gv.split("/")[0] if "/" in gv else ""
        for g, resource in sorted(wanted):
            if g == group and (g, resource) not in by_key:
                run.gap(
                    Resource(g, gv.split("/")[-1], resource, resource, True),
                    None,
                    f"discovery failed: {exc}",
                    exc.status,
                )
    # Namespaces first: their names let a forbidden cluster-wide list fall back to namespace by namespace
    todo.sort(key=lambda r: (r.resource != CORE_NAMESPACES or r.group != "", r.group, r.resource))
    return todo


def _list_all(run: _Run, todo: list[Resource]) -> None:
    """List every resource in ``todo``; at the timeout, what is left becomes coverage gaps."""
    for i, res in enumerate(todo):
        if res.resource == CORE_NAMESPACES and res.group == "":
            run.namespace_names = []
        try:
            run.list_resource(res)
        except AuditTimeout as exc:
            for rest in todo[i:]:
                run.gap(rest, "*" if rest.namespaced else None, f"not read: {exc}", 0)
            break


def _finish_dump(writer: DumpWriter, run: _Run, started: _dt.datetime) -> None:
    """guidecheck's own records at the end of the --dump file: AuditInfo, CoverageGaps, ProbeResults."""
    writer.finish(
        info={
            "context": run.context,
            "time": started.isoformat().replace("+00:00", "Z"),
            "server": run.client.host,
            "read": [{"resource": n, "kind": k, "namespaced": ns} for n, k, ns in run.read_ok],
        },
        gaps=run.gaps,
        probes=run.probes,
    )


__all__ = ["parse_log_lines", "parse_metrics", "resource_specs", "run_live"]
