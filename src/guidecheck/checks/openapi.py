"""OpenAPI rules: a document exists (GC901), it is valid (GC902), its inputs are constrained (GC603).

The documents (model: :mod:`guidecheck.parsers.openapi`) and their ``$ref``s come
from :mod:`guidecheck.loaders.openapi` (resolved inside the scanned tree only).  GC902 runs openapi-spec-validator
(imported here, lazily) on that model with retrieval handlers that serve only
files the loader already resolved and refuse every other URI: nothing is ever
fetched or read by the validator.
"""

from __future__ import annotations

import fnmatch
import os
import re
import signal
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from guidecheck.checks import NotApplicable
from guidecheck.model import Hit, Target
from guidecheck.parsers.yaml import item_line, key_line, line_of, value_line

MAX_ERRORS_PER_DOCUMENT = 100
# CPU seconds openapi-spec-validator may spend on one document (settings.openapi-validation-seconds): it follows
# every $ref without remembering what it validated, so allOf of the same schema twice, nested, doubles the work per
# level (16 levels in 2.3 KB cost a minute).  The validator runs in a child process under RLIMIT_CPU.
DEFAULT_VALIDATION_SECONDS = 30
_CONSTRAINT_KEYS = frozenset(
    {
        "type",
        "enum",
        "const",
        "not",
        "items",
        "properties",
        "allOf",
        "oneOf",
        "anyOf",
        "format",
        "pattern",
        "maxLength",
        "$ref",
    }
)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")


# ----------------------------------------------------------------- helpers


def spec_of(target: Target):
    from guidecheck.parsers.openapi import OpenAPIDoc

    if not isinstance(target.data, OpenAPIDoc):
        raise NotApplicable("not an OpenAPI document")
    copy_of = (target.origin or {}).get("copy_of")
    if copy_of:
        raise NotApplicable(f"the same document as {copy_of} (a copy in another format): judged there")
    return target.data


def exempt_path(path: str, ctx) -> bool:
    """Whether an API path is a health or metrics endpoint (settings ``openapi-exempt-paths``)."""
    patterns = ctx.options.get("exempt-paths", ctx.settings.get("openapi-exempt-paths")) or ()
    p = path.rstrip("/") or "/"
    return any(isinstance(pat, str) and fnmatch.fnmatchcase(p, pat) for pat in patterns)


def operations(spec) -> Iterator[tuple[str, str, Any, Any, str]]:
    """(api path, method, operation, path item, path item's file) for every operation, path items dereferenced."""
    paths = spec.data.get("paths")
    if not isinstance(paths, dict):
        return
    for api_path in sorted(k for k in paths if isinstance(k, str)):
        item, ab = spec.deref(paths[api_path], spec.abspath)
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield api_path, method, op, item, ab


# ----------------------------------------------------------------- GC901


def document_present(target: Target, ctx) -> Iterator[Hit]:
    """GC901: the repository holds at least one OpenAPI/Swagger document."""
    info = target.data
    prefix = "" if target.path == "." else target.path.rstrip("/") + "/"
    specs = [t for t in ctx.of_kind("openapi") if (t.origin or {}).get("repo", "") == prefix]
    if specs:
        return
    if not _is_service_repo(target, ctx, prefix, info):
        raise NotApplicable("nothing here is deployed as a service (no Dockerfile, chart or workload manifest)")
    if not _serves_an_api(ctx, prefix, info):
        raise NotApplicable(
            "no workload of the repository is exposed by a Service for anything but metrics (or it speaks no "
            "HTTP): nothing serves an API to describe"
        )
    yield Hit(
        "no OpenAPI/Swagger document in the repository: add the service's API description as a YAML or JSON "
        "file with a top-level 'openapi' (3.x) or 'swagger' (2.0) key"
    )


def _is_service_repo(target: Target, ctx, prefix: str, info) -> bool:
    if getattr(info, "dockerfiles", None) or getattr(info, "charts", None):
        return True
    kinds = set(ctx.settings.get("workload-kinds") or ())
    for t in ctx.of_kind("k8s"):
        if (t.origin or {}).get("repo", "") == prefix and isinstance(t.data, dict) and t.data.get("kind") in kinds:
            return True
    return False


def _serves_an_api(ctx, prefix: str, info: Any) -> bool:
    """Whether the repository may serve an HTTP API: one of its workloads (manifests or rendered charts) speaks HTTP
    and is exposed by a Service for more than metrics, or declares a port other than a metrics port; or no workload
    of it was loaded (a Dockerfile alone, a chart that did not render), which shows nothing either way. kured's
    DaemonSet declares only its metrics port, and no Service exposes it."""
    from guidecheck import crossref
    from guidecheck.checks.exposure import SERVING_KINDS, apiserver_backend, metrics_only, non_http, unparsed
    from guidecheck.checks.repo import non_production_dir
    from guidecheck.parsers import k8s

    kinds = set(ctx.settings.get("workload-kinds") or ())
    workloads = [
        t
        for t in ctx.of_kind("k8s")
        if (t.origin or {}).get("repo", "") == prefix and isinstance(t.data, dict) and t.data.get("kind") in kinds
    ]
    # the service's own workloads decide, not a test's or an example's (openkruise/rollouts' e2e echoserver, a
    # .local/ debugging Pod); with none of its own, nothing shows either way
    workloads = [t for t in workloads if non_production_dir(t.path[len(prefix) :]) is None]
    if not workloads:
        return True
    rendered = {
        (t.origin or {}).get("chart")
        for t in ctx.of_kind("k8s")
        if (t.origin or {}).get("source") == "helm" and (t.origin or {}).get("repo", "") == prefix
    }
    for chart in getattr(info, "charts", None) or ():
        shown = prefix.rstrip("/") if chart.path == "." else prefix + chart.path
        if (
            chart.type == "application"
            and chart.subchart_of is None
            and non_production_dir(chart.path + "/Chart.yaml") is None
            and shown not in rendered
        ):
            return True  # a service chart that did not render (capsule's, a dependency missing): nothing shown
    for t in workloads:
        obj = t.data
        if obj.get("kind") not in SERVING_KINDS or not k8s.is_long_running(obj) or non_http(obj, ctx):
            continue
        services = crossref.services_for(t, ctx)
        if services and not all(metrics_only(sv.data, ctx) or apiserver_backend(sv.data, ctx, obj) for sv in services):
            return True
        # the container ports its webhook or aggregated-API Services point at: only the kube-apiserver calls them
        # (emqx-operator's and cert-manager's webhook port 9443 / 10250)
        backend = {
            tp
            for sv in services
            if apiserver_backend(sv.data, ctx, obj)
            for sp in k8s.as_list(k8s.get(sv.data, "spec", "ports"))
            if isinstance(sp, dict)
            for tp in (sp.get("targetPort", sp.get("port")),)
            if isinstance(tp, (int, str))
        }
        declared = _serving_port(obj, ctx, probes_only=bool(services), backend_ports=backend)
        if declared:
            return True  # a port of its own besides metrics: its Service may live elsewhere
        if declared is None and not services and unparsed(ctx, prefix):
            return True  # no port, no Service, but a file of the repository did not parse: it may hold the Service
    return False


# what a health endpoint is called: a port only the container's probes call there serves no API
# a health path, also with a check's name below it (apisix-ingress-controller's /healthz/ready, /health/live)
_HEALTH_PATH = re.compile(r"^/?(?:healthz?|readyz?|livez?|ready|live|ping|status)(?:/[\w-]*)*/?$", re.IGNORECASE)


def _probe_ports(container: dict) -> set[int]:
    """The container's port numbers that its probes call on health paths only (or check by TCP or gRPC); a port
    one probe calls on another path (a page of the API itself) is not among them."""
    numbers = {
        p.get("name"): p.get("containerPort")
        for p in container.get("ports") or ()
        if isinstance(p, dict) and isinstance(p.get("containerPort"), int)
    }
    health: set[int] = set()
    other: set[int] = set()
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(key)
        if not isinstance(probe, dict):
            continue
        http = probe.get("httpGet")
        if isinstance(http, dict):
            port, healthy = http.get("port"), bool(_HEALTH_PATH.match(str(http.get("path") or "/")))
        else:
            check = next((probe[k] for k in ("tcpSocket", "grpc") if isinstance(probe.get(k), dict)), None)
            if check is None:
                continue
            port, healthy = check.get("port"), True
        number = numbers.get(port) if isinstance(port, str) else port
        if isinstance(number, int):
            (health if healthy else other).add(number)
    return health - other


def _serving_port(
    obj: dict, ctx, probes_only: bool = False, backend_ports: set[int | str] | frozenset[int | str] = frozenset()
) -> bool | None:
    """Whether a long-running container of the workload declares a port that is not a metrics port; None when
    it declares no port at all (containerPort is optional: that shows nothing by itself). A port only its own
    probes call on a health path serves no API either when it is named for health, or with ``probes_only`` (its
    Services expose metrics only): karpenter's `http` port answers /healthz and /readyz, its Service exposes
    `http-metrics`. Nor does a port in ``backend_ports`` (by number or name): one a Service only the kube-apiserver
    calls points at, a webhook's or an aggregated API's."""
    from guidecheck.checks.exposure import HEALTH_PORT_NAME, annotated_metrics_port, metrics_container_port
    from guidecheck.parsers import k8s

    declared = False
    scraped = annotated_metrics_port(obj)  # the port prometheus.io/port names for /metrics
    for c in k8s.containers(obj, "long-running"):
        health = _probe_ports(c.data)
        for p in k8s.as_list(c.data.get("ports")):
            if not isinstance(p, dict) or not isinstance(p.get("containerPort"), int):
                continue
            declared = True
            if metrics_container_port(p, ctx, c.data) or p["containerPort"] == scraped:
                continue
            if p["containerPort"] in backend_ports or p.get("name") in backend_ports:
                continue
            if p["containerPort"] in health and (probes_only or HEALTH_PORT_NAME.match(str(p.get("name") or ""))):
                # a port named for health that only the probes call (a CSI driver's `healthz`) serves no API, with
                # or without a Service
                continue
            return True
    return False if declared else None


# ----------------------------------------------------------------- GC902


def valid_document(target: Target, ctx) -> Iterator[Hit]:
    """GC902: the document validates against its OpenAPI/Swagger version; every $ref resolves inside the tree."""
    spec = spec_of(target)
    seen: set[tuple[str, int, str]] = set()

    def hit(path: str, line: int, message: str, column: int = 1) -> Hit | None:
        key = (path, line, message)
        if key in seen:
            return None
        seen.add(key)
        return Hit(message[:600], line=line, column=column, path=None if path == target.path else path)

    problems = list(spec.problems)
    family = spec.family
    if family is None:
        yield from (h for h in (hit(p.path, p.line, p.message, p.column) for p in problems) if h)
        kw = spec.keyword
        yield Hit(
            f"unsupported {kw} version {spec.version!r}: expected "
            f"{'2.0' if kw == 'swagger' else '3.0.x, 3.1.x or 3.2.x'}",
            line=target.line,
        )
        return
    notes: dict[int, str] = {}
    circular = [i for i, p in enumerate(problems) if p.kind == "circular"]
    results: list[tuple[str, int, str]] = []
    if circular:
        notes[circular[0]] = "; the document is not validated until this loop is fixed"
    else:
        # declared in rules/_settings.yaml (merge: replace): the validator's CPU budget per document
        seconds = int(ctx.settings["openapi-validation-seconds"])
        results = _validation_results(spec, family, target, problems, notes, seconds)
    for i, p in enumerate(problems):
        h = hit(p.path, p.line, p.message + notes.get(i, ""), p.column)
        if h:
            yield h
    count = 0
    for path, line, message in _one_per_place(results):
        if path == _OVER_BUDGET:
            # not validated to the end (over its CPU budget, or no answer at all): a finding at the document's
            # line, and the scan is incomplete (exit 3)
            yield Hit(message, line=target.line, incomplete=True)
            continue
        h = hit(path, line, message)
        if h is None:
            continue
        count += 1
        if count > MAX_ERRORS_PER_DOCUMENT:
            yield Hit(
                f"more than {MAX_ERRORS_PER_DOCUMENT} validation errors; the rest are not shown", line=target.line
            )
            return
        yield h


def _one_per_place(results: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """One finding per invalid place: the validator's errors about one place of the document (a null that is
    not nullable and not of its type; a raw dump of the value beside a readable message) are one problem,
    reported with the readable messages joined and the value's dumps left out when a readable one exists."""
    groups: dict[tuple[str, int, str, str], list[str]] = {}
    for path, line, message in results:
        prefix, sep, rest = message.partition(" document: ")
        if not sep:
            groups.setdefault((path, line, "", ""), []).append(message)
            continue
        body, at, where = rest.rpartition(" at ")
        if not at:
            body, where = rest, ""
        bodies = groups.setdefault((path, line, prefix + sep, where), [])
        if body not in bodies:
            bodies.append(body)
    out: list[tuple[str, int, str]] = []
    for (path, line, prefix, where), bodies in groups.items():
        readable = [b for b in bodies if not _raw_dump(b)] or bodies
        out.append((path, line, prefix + "; ".join(readable) + (f" at {where}" if where else "")))
    return out


def _raw_dump(message: str) -> bool:
    """A jsonschema message that starts with the value it judges (``{'type': ...} is not valid ...``)."""
    return message.startswith(("{", "["))


def _validation_results(
    spec, family: str, target: Target, problems: list, notes: dict[int, str], seconds: int = 0
) -> list[tuple[str, int, str]]:
    """The validator's findings as (path, line, message); where it stopped at a reference it may not follow, a
    note on the matching $ref problem (in ``notes``, by index) or a finding of its own."""
    results: list[tuple[str, int, str]] = []
    for path, line, message in _cached_validation(spec, family, seconds or DEFAULT_VALIDATION_SECONDS):
        if path == _OVER_BUDGET:
            results.append((_OVER_BUDGET, line, message))
            break
        if path is None:  # the validator stopped at a reference it may not follow
            idx = next(
                (i for i, p in enumerate(problems) if p.ref and (p.ref in message or message in p.ref)),
                0 if problems else None,
            )
            if idx is None:
                where = _ref_holder(spec, message)
                results.append(
                    (
                        where[0],
                        where[1],
                        "validation stopped: openapi-spec-validator cannot resolve "
                        f"the $ref {_short(message, 200)!r} (it resolves '#/...' from the document "
                        "root, also under a schema's $id)"
                        if where[1]
                        else f"validation stopped: {message}",
                    )
                )
                if not where[1]:
                    results[-1] = (spec.path, target.line, results[-1][2])
            else:
                notes[idx] = "; validation of the document stops at this $ref"
            break
        results.append((path, line, message))
    return results


def _ref_holder(spec, ref: str) -> tuple[str, int]:
    """(file, line) of the first ``$ref`` whose value contains ``ref``; (document, 0) if none."""
    from guidecheck.parsers.openapi import iter_refs

    for f in spec.files.values():
        for holder, value, _base in iter_refs(f.data):
            if isinstance(value, str) and ref and (ref in value or value.endswith(ref)):
                return f.path, value_line(holder, "$ref")
    return spec.path, 0


class _Denied(Exception):
    pass


_OVER_BUDGET = "\0over-budget"  # the path of the result saying validation stopped at its CPU budget


def _validator_class(family: str):
    from openapi_spec_validator import validation as v

    return {
        "2.0": v.OpenAPIV2SpecValidator,
        "3.0": v.OpenAPIV30SpecValidator,
        "3.1": v.OpenAPIV31SpecValidator,
        "3.2": getattr(v, "OpenAPIV32SpecValidator", None),
    }.get(family)


class _Handlers(dict):
    """Retrieval handlers for every URI scheme: only files the loader resolved inside the tree are served."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.spec = spec

    def __contains__(self, scheme: object) -> bool:  # every scheme is handled here: nothing falls to urlopen
        return True

    def __getitem__(self, scheme: str):
        return self._serve

    def _serve(self, uri: str):
        known = self.spec.ids.get(uri.partition("#")[0])
        if known is not None:  # a schema of the tree identified by its absolute $id
            return known[1]
        if urllib.parse.urlsplit(uri).scheme == "file":
            return self._file(uri)
        raise _Denied(uri)

    def get(self, scheme, default=None):
        return self[scheme]

    def _file(self, uri: str):
        split = urllib.parse.urlsplit(uri)
        if split.netloc not in ("", "localhost"):
            raise _Denied(uri)
        path = os.path.normpath(urllib.parse.unquote(split.path))
        f = self.spec.files.get(path)
        if f is None:
            raise _Denied(uri)
        return f.data


def _validate_bounded(spec, family: str, seconds: int) -> list[tuple[str | None, int, str]]:
    """:func:`_validate`'s results, computed in a child process allowed ``seconds`` of CPU (``RLIMIT_CPU``).

    Over the budget, the child is killed and the result is ``(_OVER_BUDGET, 0, why)`` after nothing else.
    Where ``fork`` is not available the validator runs in this process, unbounded.  A document
    :func:`prefetch` started validating is answered from there.
    """
    if _prefetched is not None:
        answer = _prefetched.get(spec, family, seconds)
        if answer is not None:
            return answer
    return _validate_in_child(spec, family, seconds)


def _validate_in_child(spec, family: str, seconds: int) -> list[tuple[str | None, int, str]]:
    import pickle

    if not hasattr(os, "fork"):
        return list(_validate(spec, family))
    # imported here, once: each child inherits them instead of importing them anew
    _validator_class(family)
    import jsonschema.exceptions  # noqa: F401
    import jsonschema_path  # noqa: F401

    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: validate, send the results, exit without running any cleanup of the parent's
        code = 0
        try:
            os.close(rfd)
            import resource

            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
            with os.fdopen(wfd, "wb") as out:
                out.write(pickle.dumps(list(_validate(spec, family))))
        except BaseException:  # noqa: BLE001 - the parent reports a child that sent nothing
            code = 1
        finally:
            os._exit(code)
    os.close(wfd)
    stall = _stall_seconds(seconds)
    data = _read_until(rfd, stall)
    if data is None:  # a child stuck without using CPU (its CPU is bounded): stopped
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        return [(_OVER_BUDGET, 0, f"not validated: the validator stopped without an answer, none in {stall:g} s")]
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return _over_budget(seconds)
    try:
        return list(pickle.loads(data)) if data else list(_NO_ANSWER)
    except Exception:  # noqa: BLE001 - a truncated answer: validation did not finish
        return list(_NO_ANSWER)


# not validated to the end either: reported as over budget is (at the document's line, the scan incomplete)
_NO_ANSWER = ((_OVER_BUDGET, 0, "not validated: the validator stopped without an answer"),)


def _stall_seconds(seconds: int) -> float:
    """Wall time a validating process may go without answering before it is stopped.

    Its CPU is bounded (``seconds`` per document); this bounds a process that uses none, one stuck on a lock
    (it may be forked while the renderers' threads run) or stopped: generous, as two cores may be shared
    with several renderers.
    """
    return 3.0 * seconds + 30.0


def _read_until(fd: int, seconds: float) -> bytes | None:
    """Everything from ``fd`` up to its end, or None when it has not ended within ``seconds``; closes ``fd``."""
    import selectors

    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    with selectors.DefaultSelector() as sel, os.fdopen(fd, "rb", buffering=0) as inp:
        sel.register(inp, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not sel.select(min(left, 1.0)):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _over_budget(seconds: int) -> list[tuple[str | None, int, str]]:
    return [
        (
            _OVER_BUDGET,
            0,
            f"not validated: openapi-spec-validator used more than {seconds} s of CPU on this document "
            "(settings.openapi-validation-seconds; it follows every $ref anew, so schemas combining the same "
            "schema several times, nested, cost work that doubles per level)",
        )
    ]


class _OutOfTime(BaseException):
    """Raised in the worker by ``SIGPROF`` when a document used its CPU budget (never caught as an Exception)."""


def _validate_timed(spec, family: str, seconds: int) -> list[tuple[str | None, int, str]]:
    """In the worker: :func:`_validate_in_child`'s answer, computed in this process under a CPU timer.

    ``ITIMER_PROF`` counts this process's CPU time (user and system, as ``RLIMIT_CPU`` does) and
    interrupts the validator at ``seconds``; the answer is then the same "over budget" one.  No fork
    per document: the validator's caches stay warm and the fork's copy-on-write costs are paid once,
    which saves about a third of the validation's CPU.  ``RLIMIT_CPU``, a few seconds later, stops a
    validator that does not come back to Python; the documents not answered are then validated as
    GC902 asks for them, each in a child of its own.
    """
    import math
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    backstop = math.ceil(usage.ru_utime + usage.ru_stime) + seconds + 3
    # the soft limit only (SIGXCPU ends the worker): a hard limit once lowered cannot be raised for
    # the next document without privileges
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        backstop = min(backstop, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (backstop, hard))
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return list(_validate(spec, family))
    except _OutOfTime:
        return _over_budget(seconds)
    except Exception:  # noqa: BLE001 - as a child that stopped without sending its answer
        return list(_NO_ANSWER)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _out_of_time(signum: int, frame: Any) -> None:
    raise _OutOfTime()


class _Prefetch:
    """Every document's validation, done by one worker process while the other rules run.

    openapi-spec-validator is the costliest check of a scan (a second of CPU for a large
    document) and GC902 runs after most rules; the worker, forked before the rules run,
    validates the documents one after the other, each under its own CPU budget, answering as
    :func:`_validate_in_child` does (see :func:`_validate_timed`), and streams the answers back, so that
    on a machine with two cores the validation costs no wall time.  The answers are the
    same as without it; a document the worker did not answer (it was killed, or never got
    there) is validated when GC902 asks for it.
    """

    def __init__(self, jobs: list[tuple[Any, str, int]]) -> None:
        import pickle
        import threading

        self.jobs = jobs
        self.index = {(id(spec), family, seconds): i for i, (spec, family, seconds) in enumerate(jobs)}
        self.answers: dict[int, list[tuple[str | None, int, str]]] = {}
        self.done = threading.Event()
        self.stall = max((_stall_seconds(n) for _s, _f, n in jobs), default=_stall_seconds(0))
        self.last = time.monotonic()  # when the last answer came (or the worker started)
        # the validator is imported by the worker (its children inherit it), never by this process: the
        # import alone costs a third of a second the other rules would wait for
        rfd, wfd = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:
            os.close(rfd)
            os.close(wfd)
            raise
        if self.pid == 0:  # the worker: one answer per document, as a length-prefixed pickle
            code = 0
            try:
                os.close(rfd)
                import resource

                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                signal.signal(signal.SIGPROF, _out_of_time)
                with os.fdopen(wfd, "wb") as out:
                    for i, (spec, family, seconds) in enumerate(jobs):
                        data = pickle.dumps((i, _validate_timed(spec, family, seconds)))
                        out.write(len(data).to_bytes(8, "big") + data)
                        out.flush()
            except BaseException:  # noqa: BLE001 - the parent validates what was not answered
                code = 1
            finally:
                os._exit(code)
        os.close(wfd)
        self.reader = threading.Thread(target=self._read, args=(rfd,), daemon=True)
        self.reader.start()

    def _read(self, rfd: int) -> None:
        import pickle

        try:
            with os.fdopen(rfd, "rb") as inp:
                while True:
                    head = inp.read(8)
                    if len(head) < 8:
                        return
                    data = inp.read(int.from_bytes(head, "big"))
                    i, answer = pickle.loads(data)
                    self.answers[i] = answer
                    self.last = time.monotonic()
        except Exception:  # noqa: BLE001 - a truncated answer: those documents are validated when asked for
            return
        finally:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.done.set()

    def same_jobs(self, jobs: list[tuple[Any, str, int]]) -> bool:
        """Whether ``jobs`` are this worker's: the same documents (objects), families and budgets, in order."""
        return [(id(s), f, n) for s, f, n in jobs] == [(id(s), f, n) for s, f, n in self.jobs]

    def get(self, spec, family: str, seconds: int) -> list[tuple[str | None, int, str]] | None:
        i = self.index.get((id(spec), family, seconds))
        if i is None:
            return None
        while i not in self.answers and not self.done.wait(0.05):
            if time.monotonic() - self.last > self.stall:
                # no answer for that long: a worker stuck without using CPU (it may have been forked while
                # the renderers' threads ran); the documents it did not answer are validated one by one
                self.close()
                break
        return self.answers.pop(i, None)

    def close(self) -> None:
        if not self.done.is_set():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.reader.join(timeout=10)


_prefetched: _Prefetch | None = None


def prefetch(targets: list[Target], settings: dict[str, Any]) -> None:
    """Start validating the OpenAPI documents among ``targets`` in a worker process (see :class:`_Prefetch`).

    The runner calls it first, as soon as the walk's documents are parsed and while the charts render
    (``on_found``: :func:`guidecheck.runner._validate_early`), then the engine when GC902 is about to run:
    the same documents keep the worker already under way, other ones replace it.  :func:`end_prefetch`
    stops it after the rules ran (or at exit).  Only where ``fork`` exists, and only for two documents or
    more (one is validated as it comes).
    """
    global _prefetched
    if not hasattr(os, "fork"):
        return
    seconds = int(settings.get("openapi-validation-seconds") or 0) or DEFAULT_VALIDATION_SECONDS
    jobs = []
    for t in targets:
        if t.kind != "openapi":
            continue
        try:
            spec = spec_of(t)
        except NotApplicable:
            continue
        if spec.family is None or any(p.kind == "circular" for p in spec.problems):
            continue
        key = _cache_key(spec, spec.family, seconds)
        if key is not None and _stored(key):
            continue  # validated by an earlier run: the cache answers
        jobs.append((spec, spec.family, seconds))
    if _prefetched is not None and _prefetched.same_jobs(jobs):
        return  # already under way: started by the runner's on_found hook while the charts rendered
    end_prefetch()
    if len(jobs) > 1:
        try:
            _prefetched = _Prefetch(jobs)
        except OSError:  # no process or pipe to spare: each document is validated as GC902 asks for it
            _prefetched = None
        else:
            _stop_at_exit()


def _stored(key: tuple[Any, ...]) -> bool:
    from guidecheck import cache

    return cache.stored("openapi", key)


_AT_EXIT: list[bool] = []


def _stop_at_exit() -> None:
    """A worker started by the loader of a scan that ends before its rules run is stopped when the process exits."""
    if not _AT_EXIT:
        import atexit

        atexit.register(end_prefetch)
        _AT_EXIT.append(True)


def end_prefetch() -> None:
    """Stop the worker of :func:`prefetch` (if it still runs) and forget its answers."""
    global _prefetched
    if _prefetched is not None:
        _prefetched.close()
        _prefetched = None


# the engine starts the worker before the rules run and stops it after (see guidecheck.engine.run)
valid_document.prefetch = prefetch  # type: ignore[attr-defined]
valid_document.end_prefetch = end_prefetch  # type: ignore[attr-defined]


def _cached_validation(spec, family: str, seconds: int) -> list[tuple[str | None, int, str]]:
    """:func:`_validate_bounded`, or its results for the same files (by content), family and budget from the
    incremental cache (:mod:`guidecheck.cache`); a validation over its budget or without an answer is not kept."""
    from guidecheck import cache

    key = _cache_key(spec, family, seconds)
    if key is None:
        return _validate_bounded(spec, family, seconds)

    def answered(results: list) -> bool:
        return not any(p == _OVER_BUDGET for p, _l, _m in results)

    return cache.get_or_compute("openapi", key, lambda: _validate_bounded(spec, family, seconds), answered)


def _cache_key(spec, family: str, seconds: int) -> tuple[Any, ...] | None:
    """The document's key in the incremental cache; None without a cache, or for a document not on disk as read."""
    from guidecheck import cache

    if cache.active() is None:
        return None
    files = sorted((f.path, ab, cache.file_digest(ab)) for ab, f in spec.files.items())
    if any(len(d) != 64 for _p, _a, d in files):  # a document not (or no longer) on disk as it was read
        return None
    return (spec.path, family, seconds, files)


def _validate(spec, family: str) -> Iterator[tuple[str | None, int, str]]:
    """(file, line, message) per validation error; (None, 0, the $ref or error) where validation stopped."""
    cls = _validator_class(family)
    if cls is None:
        yield spec.path, 1, f"OpenAPI {family} is not supported by the installed openapi-spec-validator"
        return
    from jsonschema.exceptions import best_match
    from jsonschema_path import SchemaPath

    sp = SchemaPath.from_dict(
        spec.data, base_uri="file://" + urllib.parse.quote(spec.abspath), handlers=_Handlers(spec)
    )
    validator = cls(sp)
    validator.keyword_validators_registry = _locating_registry(validator.keyword_validators)
    errors = iter(validator.iter_errors())
    while True:
        try:
            err = next(errors)
        except StopIteration:
            return
        except RecursionError:
            yield spec.path, 1, "validation aborted: references nest too deeply (a circular $ref?)"
            return
        # Unresolvable, _Denied, a referencing error (the validator's libraries raise many types): validation
        # stops there and the caller reports the $ref
        except Exception as exc:  # noqa: BLE001 - any error of the validator ends validation with a finding
            ref = getattr(exc, "ref", None)
            if isinstance(ref, str):
                yield None, 0, ref
            else:
                yield None, 0, _short(f"{type(exc).__name__}: {exc}", 200)
            return
        if family == "2.0" and _file_response(err):
            continue
        yield _described(spec, err, best_match)


def _file_response(err: Any) -> bool:
    """A Swagger 2.0 Response Object whose schema is ``type: file``, which openapi-spec-validator rejects.

    The 2.0 specification allows it ("the Parameter Object and the Response Object [use 'file'] to set the
    parameter type or the response as being a file"); the JSON Schema the validator checks with does not, a
    bug of that schema that OAI/OpenAPI-Specification#260 confirmed, and Harbor's API (a file download)
    was reported invalid for it.  Only the response's own schema may be a file, not a property in it.
    """
    parts = getattr(err, "_gc_parts", None)
    parts = tuple(parts) if parts is not None else tuple(err.absolute_path)
    rel = tuple(err.relative_path)
    if rel and parts[-len(rel) :] != rel:
        parts = parts + rel
    if parts and parts[-1] == "type":
        parts = parts[:-1]
    if len(parts) < 3 or parts[-1] != "schema" or parts[-3] != "responses":
        return False
    instance = err.instance
    if isinstance(instance, dict):
        return instance.get("type") == "file"
    return instance == "file" and bool(err.relative_path) and err.relative_path[-1] == "type"


def _described(spec, err: Any, best_match: Any) -> tuple[str, int, str]:
    """(file, line, message) of one validation error, at its most specific sub-error (``best_match``)."""
    detail = err
    if getattr(err, "context", None):
        try:
            detail = best_match(err.context) or err
        except Exception:  # noqa: BLE001 - best effort only
            detail = err
    parts = getattr(err, "_gc_parts", None)
    if parts is None:
        parts = tuple(detail.absolute_path) if detail.absolute_path else tuple(err.absolute_path)
    else:
        # the object validated, then the error's place in it (litmus' `properties: {required: [...]}`: the
        # error is at properties > required, not at the schema holding it), then the sub-error's place
        parts = tuple(parts) + tuple(err.relative_path) + tuple(detail.relative_path if detail is not err else ())
    # the validator read a {"$ref": ...} as it stands where OpenAPI resolves none (an Operation Object, a
    # description): the error is the reference itself, at the place that holds it, not in what it names
    instance = getattr(detail, "instance", None)
    unresolved = isinstance(instance, dict) and isinstance(instance.get("$ref"), str)
    path, line, node = _locate(spec, parts, follow_last=not unresolved)
    if isinstance(node, dict) and "default" in node:
        try:
            if detail.instance == node["default"] and not detail.relative_path:
                line = key_line(node, "default", line)  # a default value that does not match its schema
        except Exception:  # noqa: BLE001 - comparison of odd values
            pass
    where = " > ".join(str(p) for p in parts)
    msg = _short(detail.message)
    hint = f", a $ref where {spec.keyword} resolves none (inline what it names)" if unresolved else ""
    return path, line, f"invalid {spec.keyword} document: {msg}" + (f" at {where[:200]}{hint}" if where else "")


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _locating_registry(keyword_validators):
    """A keyword-validator registry whose validators tag each error with the document path being validated."""
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
    from openapi_spec_validator.validation.registries import KeywordValidatorRegistry

    class Tracked:
        def __init__(self, inner) -> None:
            object.__setattr__(self, "_inner", inner)

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def __setattr__(self, name, value):
            setattr(self._inner, name, value)

        def __call__(self, *args, **kwargs):
            where = next((a for a in args if hasattr(a, "parts")), None)
            for err in self._inner(*args, **kwargs):
                if where is not None and not hasattr(err, "_gc_parts"):
                    if not isinstance(err, OpenAPIValidationError):
                        err = OpenAPIValidationError.create_from(err)
                    err._gc_parts = tuple(where.parts)
                yield err

    class Registry(KeywordValidatorRegistry):
        def __missing__(self, keyword):
            if keyword not in self.keyword_validators:
                raise KeyError(keyword)
            inst = Tracked(self.keyword_validators[keyword](self))
            self[keyword] = inst
            return inst

    return Registry(keyword_validators)


def _locate(spec, parts, follow_last: bool = True) -> tuple[str, int, Any]:
    """The file, line and node at ``parts`` (keys from the document root, following $refs as the validator
    does); stops at the deepest node that exists.  A path ending at a $ref ends in what it names, unless
    ``follow_last`` is false (the validator did not resolve that $ref)."""
    node, ab = spec.data, spec.abspath
    line = line_of(node)
    for part in parts:
        if isinstance(node, dict) and part not in node and isinstance(node.get("$ref"), str):
            node, ab = spec.deref(node, ab)
        if isinstance(node, dict) and part in node:
            line = key_line(node, part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line = item_line(node, part, line)
            node = node[part]
        else:
            break
    if follow_last and isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target, t_ab = spec.deref(node, ab)
        if target is not node:  # the path ends at a reference: the error is in what it points at
            node, ab, line = target, t_ab, line_of(target, line)
    return spec.display(ab), line, node


# ----------------------------------------------------------------- GC603


def constrained_inputs(target: Target, ctx) -> Iterator[Hit]:
    """GC603: every parameter and request body of every operation (health/metrics excepted) has a bounded schema."""
    spec = spec_of(target)
    if spec.family is None:
        raise NotApplicable(f"unsupported {spec.keyword} version {spec.version!r} (see GC902)")
    ops = list(operations(spec))
    if not ops:
        raise NotApplicable("the document has no operations")
    checker = _Inputs(spec, ctx)
    for api_path, method, op, item, ab in ops:
        if exempt_path(api_path, ctx):
            continue
        where = f"{method.upper()} {api_path}"
        params: dict[tuple, tuple] = {}  # (name, in) -> (parameter, its file, list, index, list's file, raw)
        for container, c_ab in ((item, ab), (op, ab)):
            plist = container.get("parameters")
            if not isinstance(plist, list):
                continue
            for i, raw in enumerate(plist):
                p, p_ab = spec.deref(raw, c_ab)
                if not isinstance(p, dict):
                    continue
                params[(p.get("name"), p.get("in"))] = (p, p_ab, plist, i, c_ab, raw)
        for (pname, pin), (p, p_ab, plist, i, c_ab, raw) in sorted(params.items(), key=lambda kv: str(kv[0])):
            line = item_line(plist, i, line_of(p))
            ppath = spec.display(p_ab if p is not raw else c_ab)
            if p is not raw:
                line = line_of(p, line)
            label = f"{pin} parameter {_short(str(pname), 60)!r} of {where}"
            checker.parameter(p, p_ab, label, ppath, line)
        body = op.get("requestBody")
        if body is not None:
            b, b_ab = spec.deref(body, ab)
            if isinstance(b, dict):
                checker.content(b, b_ab, f"request body of {where}", key_line(op, "requestBody"))
    yield from checker.flush()


class _Inputs:
    """Collects GC603 problems once per schema location (a shared component is reported once, at its definition)."""

    def __init__(self, spec, ctx) -> None:
        self.spec = spec
        self.ctx = ctx
        self.reported: set[tuple[str, int, str]] = set()
        self.hits: list[Hit] = []

    def _add(self, path: str, line: int, kind: str, message: str) -> None:
        key = (path, line, kind)
        if key in self.reported:
            return
        self.reported.add(key)
        self.hits.append(Hit(message, line=line, path=None if path == self.spec.path else path))

    def flush(self) -> Iterator[Hit]:
        yield from sorted(self.hits, key=lambda h: (h.path or "", h.line or 0, h.message))

    def parameter(self, p: dict, ab: str, label: str, path: str, line: int) -> None:
        if self.spec.family == "2.0":
            if p.get("in") == "body":
                schema = p.get("schema")
                if schema is None:
                    self._add(path, line, "no schema", f"{label} has no schema")
                else:
                    self.schema(schema, ab, label, key_line(p, "schema", line))
                return
            # a 2.0 non-body parameter carries its schema inline (type, maxLength, enum, items, ...)
            if "type" not in p:
                self._add(path, line, "no schema", f"{label} has no type")
                return
            self.schema(p, ab, label, line, inline=True)
            return
        if "schema" in p:
            self.schema(p["schema"], ab, label, key_line(p, "schema", line))
        elif isinstance(p.get("content"), dict):
            self.content(p, ab, label, line)
        else:
            self._add(path, line, "no schema", f"{label} has no schema")

    def content(self, holder: dict, ab: str, label: str, line: int) -> None:
        content = holder.get("content")
        path = self.spec.display(ab)
        if not isinstance(content, dict) or not content:
            self._add(path, line, "no schema", f"{label} has no content (media types with schemas)")
            return
        for media in sorted(k for k in content if isinstance(k, str)):
            mt = content[media]
            m_line = key_line(content, media, line)
            if not isinstance(mt, dict) or mt.get("schema") is None:
                self._add(path, m_line, "no schema", f"{label} ({media}) has no schema")
                continue
            self.schema(mt["schema"], ab, f"{label} ({media})", key_line(mt, "schema", m_line))

    def schema(self, schema: Any, ab: str, label: str, line: int, inline: bool = False) -> None:
        """Walk a schema (following $refs once each) and record unbounded strings and open objects."""
        # (node, file, line, description, part of an allOf: closure is judged on the whole)
        stack: list[tuple[Any, str, int, str, bool]] = [(schema, ab, line, label, False)]
        visited: set[tuple[int, bool]] = set()
        while stack:
            node, cur, ln, what, part = stack.pop()
            if isinstance(node, dict) and isinstance(node.get("$ref"), str):
                ref = node["$ref"]
                target, t_ab = self.spec.deref(node, cur)
                if target is node:
                    continue  # unresolvable: GC902 reports it
                node, cur = target, t_ab
                ln = line_of(node, ln)
                what = f"schema {_short(ref.rsplit('/', 1)[-1], 100)!r}"  # cut with "...", never to another name
            if not isinstance(node, dict) or (id(node), part) in visited:
                continue
            visited.add((id(node), part))
            self._judge(node, cur, ln, what, part, inline)
            stack.extend(self._children(node, cur, ln, what))

    def _judge(self, node: dict, cur: str, ln: int, what: str, part: bool, inline: bool) -> None:
        """Record the problems of one schema node: an unbounded string, an open object, an empty schema."""
        path = self.spec.display(cur)
        types = node.get("type")
        tlist = types if isinstance(types, list) else [types] if isinstance(types, str) else []
        if "string" in tlist and not any(k in node for k in ("maxLength", "enum", "pattern", "format", "const")):
            self._add(
                path, ln, "unbounded string", f"unbounded string: {what} has no maxLength, enum, pattern or format"
            )
        why = self._open_object(node, cur, tlist, part)
        if why is not None:
            self._add(path, ln, "open object", f"open object: {what} accepts any properties ({why})")
        if not inline and not part and not any(k in node for k in _CONSTRAINT_KEYS):
            self._add(path, ln, "empty schema", f"{what} has an empty schema (any value is accepted)")

    def _open_object(self, node: dict, cur: str, tlist: list, part: bool) -> str | None:
        """Why an object schema accepts any properties, or None (not an object, closed, or part of an allOf)."""
        all_of = node.get("allOf")
        members = all_of if isinstance(all_of, list) else []
        is_object = "object" in tlist or (
            not tlist and (isinstance(node.get("properties"), dict) or any(self._objectish(m, cur) for m in members))
        )
        if not (is_object and not part and not self._closed(node, cur)):
            return None
        if isinstance(node.get("additionalProperties"), dict):
            return "a map whose additionalProperties is a schema, without maxProperties"
        if node.get("properties") or members:
            return "additionalProperties is not false"
        return "no properties and no additionalProperties: false"

    @staticmethod
    def _children(node: dict, cur: str, ln: int, what: str) -> list[tuple[Any, str, int, str, bool]]:
        """The sub-schemas of a node to walk next: properties, items, additionalProperties, allOf/oneOf/anyOf."""
        out: list[tuple[Any, str, int, str, bool]] = []
        props = node.get("properties")
        if isinstance(props, dict):
            for name in props:
                out.append(
                    (
                        props[name],
                        cur,
                        key_line(props, name, ln),
                        f"property {_short(str(name), 60)!r} of {_short(what, 130)}",
                        False,
                    )
                )
        items = node.get("items")
        if isinstance(items, dict):
            out.append((items, cur, key_line(node, "items", ln), f"items of {_short(what, 120)}", False))
        addl = node.get("additionalProperties")
        if isinstance(addl, dict):
            out.append(
                (
                    addl,
                    cur,
                    key_line(node, "additionalProperties", ln),
                    f"additionalProperties of {_short(what, 120)}",
                    False,
                )
            )
        for k in ("allOf", "oneOf", "anyOf"):
            seq = node.get(k)
            if not isinstance(seq, list):
                continue
            for i, sub in enumerate(seq):
                sub_line = item_line(seq, i, ln)
                if k == "allOf":  # parts of one object: their properties are checked, closure on the whole
                    out.append((sub, cur, sub_line, what, True))
                else:
                    out.append((sub, cur, sub_line, f"{k}[{i}] of {_short(what, 120)}", False))
        return out

    def _objectish(self, member: Any, cur: str) -> bool:
        m, _ = self.spec.deref(member, cur)
        return isinstance(m, dict) and (m.get("type") == "object" or isinstance(m.get("properties"), dict))

    def _closed(self, node: dict, cur: str) -> bool:
        if node.get("additionalProperties") is False or node.get("unevaluatedProperties") is False:
            return True
        if isinstance(node.get("additionalProperties"), dict) and "maxProperties" in node:
            return True  # a bounded map
        members = node.get("allOf")
        if isinstance(members, list):
            for m in members:
                m2, _ = self.spec.deref(m, cur)
                if isinstance(m2, dict) and (
                    m2.get("additionalProperties") is False or m2.get("unevaluatedProperties") is False
                ):
                    return True
        return False


__all__ = ["constrained_inputs", "document_present", "exempt_path", "operations", "spec_of", "valid_document"]
