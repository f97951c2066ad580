"""The Kubernetes API, read-only, through the official ``kubernetes`` client.

This module is the only one that imports ``kubernetes`` (lazily, when an audit
runs).  It uses the client for what it is good at — kubeconfig and in-cluster
credentials, exec credential plugins, TLS, token refresh — and reads every
response as raw JSON (``_preload_content=False``), so that odd objects and
custom resources never meet the client's model classes.

Credentials come only from the operator: ``--kubeconfig``, ``KUBECONFIG``,
``~/.kube/config`` or the pod's service account (``--in-cluster``).  Never from
a configuration file or a scanned tree: ``exec``/``cmd-path`` credential
plugins therefore only ever run from a kubeconfig the operator chose.

Requests: every list is paginated (``limit``/``continue``) and handed to the
caller page by page; 429 and 5xx answers are retried with backoff (honouring
``Retry-After``), transport errors a few times; 401/403/404/410 are returned to
the caller as :class:`ApiError` (a coverage gap, or a restart of an expired
list).  One deadline (``--timeout``) bounds the whole audit, checked on every
read of a body as well as between requests.

Nothing a server sends is trusted: a response body is read as a stream and cut
at ``max_response_bytes``, and must arrive within the request timeout (a server
trickling one byte a second is cut there); JSON is depth-checked before it is
decoded; a list stops at ``max_list_objects``, at a ``continue`` token it has
already followed, or at an object uid it has already handed out.  Each is a
:class:`ServerMisbehaved` error, a coverage gap (GC004) after what was read.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

PARTIAL_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5
MAX_BACKOFF = 10.0  # seconds, the longest single wait (Retry-After included)


class ClusterConfigError(Exception):
    """No usable kubeconfig / context / in-cluster credentials (a usage error: exit 2)."""


class AuditTimeout(Exception):
    """The audit's ``--timeout`` has passed."""


@dataclass
class ApiError(Exception):
    status: int  # HTTP status; 0 for a transport error
    reason: str
    message: str = ""

    def __str__(self) -> str:
        what = {
            401: "unauthorized",
            403: "forbidden (RBAC)",
            404: "not found",
            406: "not acceptable",
            410: "expired",
            429: "too many requests",
        }.get(self.status, self.reason or "error")
        code = f"HTTP {self.status}" if self.status else "no answer"
        text = f"{what} ({code})"
        if self.message and self.message not in text:
            text += f": {self.message[:200]}"
        return text


class ServerMisbehaved(ApiError):
    """An answer guidecheck refuses to read on (too large, too slow, too deep, a list that never ends)."""

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}" if self.message else self.reason


DEFAULT_MAX_RESPONSE_BYTES = 128 * 1024 * 1024  # settings.audit-max-response-bytes
DEFAULT_MAX_LIST_OBJECTS = 200_000  # settings.audit-max-list-objects
DEFAULT_MAX_DEPTH = 100  # limits.max-depth


@dataclass(frozen=True)
class Resource:
    """A listable API resource, as discovery describes it."""

    group: str  # "" for the core group
    version: str
    resource: str  # plural, e.g. "deployments"
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def name(self) -> str:
        """``deployments.apps`` / ``pods``: how kubectl and RBAC name it."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def path(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace and self.namespaced:
            base += f"/namespaces/{quote(namespace, safe='')}"
        return f"{base}/{self.resource}"


@dataclass
class Deadline:
    seconds: float | None
    start: float = field(default_factory=time.monotonic)

    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return self.seconds - (time.monotonic() - self.start)

    def check(self) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise AuditTimeout(f"--timeout of {self.seconds:g} s reached")

    def bound(self, t: float) -> float:
        left = self.remaining()
        return t if left is None else max(0.1, min(t, left))


def default_kubeconfig() -> str | None:
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    home = os.path.expanduser("~/.kube/config")
    return home if os.path.isfile(home) else None


class KubeClient:
    """A read-only session with one cluster (one kubeconfig context, or in-cluster)."""

    def __init__(
        self,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        in_cluster: bool = False,
        deadline: Deadline | None = None,
        request_timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_list_objects: int = DEFAULT_MAX_LIST_OBJECTS,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ):
        try:
            from kubernetes import client as kclient
            from kubernetes import config as kconfig
        except ImportError as exc:  # pragma: no cover - a dependency of guidecheck
            raise ClusterConfigError(f"the kubernetes client is not installed: {exc}") from exc
        self.deadline = deadline or Deadline(None)
        self.request_timeout = request_timeout
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.max_response_bytes = max_response_bytes
        self.max_list_objects = max_list_objects
        self.max_depth = max_depth
        cfg = kclient.Configuration()
        if in_cluster:
            try:
                kconfig.load_incluster_config(client_configuration=cfg)
            except kconfig.ConfigException as exc:
                raise ClusterConfigError(f"in-cluster configuration: {exc}") from exc
            self.context = "in-cluster"
        else:
            path = kubeconfig or default_kubeconfig()
            if not path:
                raise ClusterConfigError(
                    "no kubeconfig: give --kubeconfig, set KUBECONFIG, create ~/.kube/config, "
                    "or use --in-cluster inside a pod"
                )
            for p in path.split(os.pathsep):
                if p and not os.path.isfile(os.path.expanduser(p)):
                    raise ClusterConfigError(f"kubeconfig {p}: no such file")
            try:
                contexts, active = kconfig.list_kube_config_contexts(config_file=path)
                names = [c.get("name") for c in contexts or []]
                if context and context not in names:
                    raise ClusterConfigError(
                        f"kubeconfig {path}: no context '{context}' "
                        f"(contexts: {', '.join(sorted(map(str, names))) or 'none'})"
                    )
                kconfig.load_kube_config(
                    config_file=path, context=context, client_configuration=cfg, persist_config=False
                )
            except kconfig.ConfigException as exc:
                raise ClusterConfigError(f"kubeconfig {path}: {exc}") from exc
            except (OSError, ValueError, TypeError, KeyError) as exc:  # unreadable or malformed YAML
                raise ClusterConfigError(f"kubeconfig {path}: {type(exc).__name__}: {exc}") from exc
            self.context = context or (active or {}).get("name") or "default"
        cfg.retries = 0  # retries are ours (backoff, Retry-After, deadline); urllib3's would multiply them
        self.host = cfg.host
        self.api = kclient.ApiClient(cfg)
        self._new_style = hasattr(self.api, "param_serialize")  # kubernetes >= 31 (openapi-generator 7)

    def close(self) -> None:
        try:
            self.api.close()
        except Exception:  # noqa: BLE001 - closing a pool must not fail the audit
            pass

    # ------------------------------------------------------------------ raw requests

    def _open(self, path: str, query: list[tuple[str, Any]], accept: str, timeout: float):
        """One GET; returns ``(status, headers, urllib3 response)``; never raises on an HTTP status."""
        from kubernetes.client.exceptions import ApiException

        self.requests += 1
        if self._new_style:
            method, url, headers, _, _ = self.api.param_serialize(
                "GET", path, query_params=query, header_params={"Accept": accept}, auth_settings=["BearerToken"]
            )
            resp = self.api.call_api(method, url, header_params=headers, _request_timeout=timeout)
            return resp.status, resp.headers, resp.response
        old_api: Any = self.api  # older clients' call_api has another signature than the installed one's
        try:  # older clients: call_api(resource_path, method, ...) raises on non-2xx
            raw = old_api.call_api(
                path,
                "GET",
                query_params=query,
                header_params={"Accept": accept},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=timeout,
            )
            return raw.status, raw.headers, raw
        except ApiException as exc:
            return exc.status, exc.headers or {}, _Body(exc.body)

    def request(
        self,
        path: str,
        query: list[tuple[str, Any]] | None = None,
        accept: str = "application/json",
        max_bytes: int | None = None,
        timeout: float | None = None,
        retry: bool = True,
    ) -> tuple[bytes, bool]:
        """GET ``path``; the body (at most ``max_bytes``, and whether it was cut).  Retries; raises ApiError.

        ``retry=False`` (probes): one attempt, bounded by ``timeout``; an answer is the probe's result.
        """
        import urllib3

        query = list(query or [])
        attempt = 0
        while True:
            self.deadline.check()
            attempt += 1
            t = self.deadline.bound(timeout or self.request_timeout)
            try:
                status, headers, body = self._open(path, query, accept, t)
                try:
                    if 200 <= status < 300:
                        cap = self.max_response_bytes if max_bytes is None else max_bytes
                        data, cut = self._read_body(body, cap, t, path)
                        if cut and max_bytes is None:
                            raise ServerMisbehaved(
                                0,
                                "response too large",
                                f"{path}: more than {cap} bytes (settings.audit-max-response-bytes); not read further",
                            )
                        return data, cut
                    text, _ = self._read_body(body, 64 * 1024, t, path)
                finally:
                    _release(body)
            except urllib3.exceptions.HTTPError as exc:
                if attempt >= 3 or not retry:
                    raise ApiError(0, type(exc).__name__, _short(str(exc))) from None
                self.retries += 1
                self._wait(min(MAX_BACKOFF, 0.25 * 2 ** (attempt - 1)))
                continue
            err = _api_error(status, text)
            if retry and status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                self.retries += 1
                self._wait(_retry_after(headers, attempt))
                continue
            raise err

    def _read_body(self, body: Any, cap: int, timeout: float, path: str) -> tuple[bytes, bool]:
        """At most ``cap`` bytes of ``body`` (and whether there was more), read as it arrives.

        Every socket read is bounded by the request timeout, and the body as a whole must arrive within
        ``timeout`` seconds and before the audit's deadline: a server trickling a byte at a time is cut there.
        """
        until = time.monotonic() + timeout
        left_in_audit = self.deadline.remaining()
        if left_in_audit is not None:
            # the body's bound never outlasts the audit's: a trickling body is then always "too slow" (it was
            # the one being read), never that or "--timeout reached" by which check came first
            until = min(until, time.monotonic() + left_in_audit)
        read = getattr(body, "read1", None) or body.read
        chunks: list[bytes] = []
        n = 0
        while True:
            left = until - time.monotonic()
            if left <= 0:
                raise ServerMisbehaved(
                    0, "response too slow", f"{path}: the body did not arrive within {timeout:g} s ({n} bytes read)"
                )
            self.deadline.check()
            chunk = read(min(1 << 16, cap + 1 - n))
            if not chunk:
                return b"".join(chunks), False
            n += len(chunk)
            if n > cap:
                chunks.append(chunk[: cap - (n - len(chunk))])
                return b"".join(chunks), True
            chunks.append(chunk)

    def _wait(self, seconds: float) -> None:
        left = self.deadline.remaining()
        if left is not None and seconds >= left:
            raise AuditTimeout(f"--timeout of {self.deadline.seconds:g} s reached while backing off")
        self.sleep(seconds)

    def get_json(self, path: str, query=None, accept: str = "application/json", hook=None) -> Any:
        data, _ = self.request(path, query, accept)
        return decode_json(data, path, self.max_depth, hook)

    # ------------------------------------------------------------------ discovery

    def version(self) -> str:
        data = self.get_json("/version")
        return str(data.get("gitVersion", "?")) if isinstance(data, dict) else "?"

    def discover(self, groups: set[str] | None = None) -> tuple[list[Resource], list[tuple[str, ApiError]]]:
        """Every listable resource (of ``groups``, or all); and the groups whose discovery failed.

        Uses aggregated discovery (one request for all groups, Kubernetes 1.27+) where the server
        offers it, else the legacy per-group-version documents.  The preferred version of each group
        comes first; a resource is taken from the first version that serves it.
        """
        found: list[Resource] = []
        failed: list[tuple[str, ApiError]] = []
        for root in ("/api", "/apis"):
            doc = self.get_json(root, accept=AGGREGATED_DISCOVERY)
            if isinstance(doc, dict) and doc.get("kind") == "APIGroupDiscoveryList":
                found.extend(_from_aggregated(doc, groups))
                continue
            gvs = _core_versions(doc) if root == "/api" else _group_versions(doc, groups)
            self._discover_legacy(gvs, groups, found, failed)
        return found, failed

    def _discover_legacy(
        self,
        gvs: list[tuple[str, Any]],
        groups: set[str] | None,
        found: list[Resource],
        failed: list[tuple[str, ApiError]],
    ) -> None:
        """The resources of each group-version document (``/api/v1``, ``/apis/<group>/<version>``)."""
        seen: set[tuple[str, str]] = set()
        for group, version in gvs:
            if groups is not None and group not in groups:
                continue
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                rl = self.get_json(path)
            except ApiError as exc:
                failed.append((f"{group}/{version}" if group else version, exc))
                continue
            found.extend(_legacy_resources(rl, group, version, seen))

    # ------------------------------------------------------------------ lists and probes

    def list_pages(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = 500,
        metadata_only: bool = False,
    ) -> Iterator[list[dict]]:
        """Pages of typed items (``kind``/``apiVersion`` set), one page in memory at a time.

        An expired ``continue`` token (410) restarts the list once; items already handed out are
        skipped by uid.
        """
        accept = PARTIAL_METADATA_LIST if metadata_only else "application/json"
        cont: str | None = None
        restarted = False
        seen: set[str] = set()
        tokens: set[str] = set()
        count = 0
        while True:
            try:
                doc, list_kind = self._list_page(
                    res, namespace, _list_query(page_size, cont, label_selector), accept, metadata_only
                )
            except ApiError as exc:
                if exc.status == 410 and cont and not restarted:
                    restarted, cont = True, None
                    tokens.clear()  # the new list hands out its own tokens (the same ones, often)
                    continue
                raise
            page, repeated = _page_items(doc, res, list_kind, metadata_only, seen, skip_seen=True)
            meta = doc.get("metadata")
            nxt = meta.get("continue") if isinstance(meta, dict) else None
            del doc  # the raw page goes before the caller sees the next one
            over = count + len(page) - self.max_list_objects
            if over > 0:
                page = page[: len(page) - over]
            count += len(page)
            yield page
            where = res.path(namespace)
            if repeated and not restarted:
                raise ServerMisbehaved(
                    0,
                    "list repeats objects",
                    f"{where}: the server returned object uid {repeated!r} again; the list stopped after {count} "
                    "object(s)",
                )
            if over > 0:
                raise ServerMisbehaved(
                    0,
                    "list too long",
                    f"{where}: more than {self.max_list_objects} objects (settings.audit-max-list-objects); "
                    f"the first {count} were read",
                )
            cont = nxt if isinstance(nxt, str) and nxt else None
            if not cont:
                return
            if cont in tokens:
                raise ServerMisbehaved(
                    0,
                    "list never ends",
                    f"{where}: the server returned a continue token it had already returned; the list stopped "
                    f"after {count} object(s)",
                )
            tokens.add(cont)

    def _list_page(
        self, res: Resource, namespace: str | None, query: list[tuple[str, Any]], accept: str, metadata_only: bool
    ) -> tuple[dict, str]:
        """One page of a list, and the kind of the list (``<Kind>List``, or ``PartialObjectMetadataList``)."""
        from guidecheck.cluster.objects import ymap_from_pairs

        doc = self.get_json(res.path(namespace), query, accept, hook=ymap_from_pairs)
        if not isinstance(doc, dict):
            raise ApiError(0, "bad response", f"{res.path(namespace)}: not a list")
        kind = doc.get("kind")
        list_kind = kind if isinstance(kind, str) else res.kind + "List"
        if metadata_only and list_kind != "PartialObjectMetadataList":
            # never fall back to a full list: that would read the data
            raise ApiError(406, "not acceptable", "the server did not answer with object metadata only")
        return doc, list_kind

    def pod_proxy_text(
        self, namespace: str, pod: str, port: int, path: str, *, max_bytes: int, timeout: float
    ) -> tuple[bytes, bool]:
        """GET through the API server's pod proxy (``pods/proxy``)."""
        p = (
            f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}:{int(port)}/proxy"
            f"/{path.lstrip('/')}"
        )
        return self.request(
            p, accept="text/plain;version=0.0.4,*/*;q=0.1", max_bytes=max_bytes, timeout=timeout, retry=False
        )

    def pod_log(
        self, namespace: str, pod: str, container: str | None, *, tail_lines: int, max_bytes: int, timeout: float
    ) -> tuple[bytes, bool]:
        """The last lines of a container's log (``pods/log``), bounded in lines and bytes."""
        query: list[tuple[str, Any]] = [("tailLines", tail_lines), ("limitBytes", max_bytes)]
        if container:
            query.append(("container", container))
        p = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/log"
        return self.request(p, query, accept="text/plain,*/*", max_bytes=max_bytes, timeout=timeout, retry=False)


def decode_json(data: bytes, what: str, max_depth: int = DEFAULT_MAX_DEPTH, hook=None) -> Any:
    """Server JSON, depth-checked before the decoder recurses; :class:`ServerMisbehaved` when it cannot be read."""
    from guidecheck.parsers.yaml import json_depth_error

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServerMisbehaved(0, "bad response", f"{what}: not UTF-8 JSON ({exc.reason})") from None
    deep = json_depth_error(text, max_depth)
    if deep is not None:
        raise ServerMisbehaved(0, "bad response", f"{what}: {deep.message} (limits.max-depth)")
    try:
        return json.loads(text, object_pairs_hook=hook)
    except RecursionError:
        raise ServerMisbehaved(0, "bad response", f"{what}: nesting too deep") from None
    except ValueError as exc:
        raise ServerMisbehaved(0, "bad response", f"{what}: not JSON ({_short(str(exc))})") from None


class _Body:
    def __init__(self, data: Any):
        self.data = data.encode() if isinstance(data, str) else (data or b"")

    def read(self, amt: int | None = None) -> bytes:
        return self.data if amt is None else self.data[:amt]


def _release(body: Any) -> None:
    for name in ("close", "release_conn"):
        fn = getattr(body, name, None)
        if fn is not None:
            try:
                fn()
            except Exception:  # noqa: BLE001 - releasing a connection must not fail the audit
                pass


def _short(text: str, n: int = 200) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _api_error(status: int, body: bytes) -> ApiError:
    reason, message = "", ""
    try:
        doc = decode_json(body, "error")
        if isinstance(doc, dict):
            reason = str(doc.get("reason") or "")
            message = str(doc.get("message") or "")
    except ApiError:
        message = body[:200].decode("utf-8", "replace").strip()
    return ApiError(status, reason, _short(message))


def _retry_after(headers: Any, attempt: int) -> float:
    value = None
    try:
        value = headers.get("Retry-After") if headers is not None else None
    except AttributeError:
        value = None
    if value is not None:
        try:
            return max(0.0, min(MAX_BACKOFF, float(value)))
        except ValueError:
            pass
    return min(MAX_BACKOFF, 0.25 * 2 ** (attempt - 1))


def _list_query(page_size: int, cont: str | None, label_selector: str | None) -> list[tuple[str, Any]]:
    query: list[tuple[str, Any]] = [("limit", page_size)]
    if cont:
        query.append(("continue", cont))
    if label_selector:
        query.append(("labelSelector", label_selector))
    return query


def _page_items(
    doc: dict, res: Resource, list_kind: str, metadata_only: bool, seen: set[str], *, skip_seen: bool
) -> tuple[list[dict], str | None]:
    """The typed (or metadata-only) items of one list page not handed out before (by uid); and the first uid
    seen again (after a restart of an expired list that is expected, otherwise the server misbehaves)."""
    from guidecheck.cluster.objects import metadata_only as strip_to_metadata
    from guidecheck.cluster.objects import typed

    page = []
    repeated: str | None = None
    items = doc.get("items")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        if metadata_only:
            item = strip_to_metadata(item, res.kind, res.group_version)
        else:
            typed(item, list_kind, res.group_version)
        meta = item.get("metadata")
        uid = meta.get("uid") if isinstance(meta, dict) else None
        if isinstance(uid, str):
            if uid in seen:
                repeated = repeated or uid
                if skip_seen:
                    continue
            seen.add(uid)
        page.append(item)
    return page, repeated


def _core_versions(doc: Any) -> list[tuple[str, Any]]:
    """``/api``: the core group's preferred version (the first one listed), ``v1`` if none is."""
    versions = [v for v in (doc or {}).get("versions") or [] if isinstance(v, str)]
    return [("", v) for v in versions[:1] or ["v1"]]


def _group_versions(doc: Any, groups: set[str] | None) -> list[tuple[str, Any]]:
    """``/apis``: ``(group, version)`` of every group (of ``groups``, or all), the preferred version first."""
    gvs: list[tuple[str, Any]] = []
    for g in (doc or {}).get("groups") or []:
        if not isinstance(g, dict) or not isinstance(g.get("name"), str):
            continue
        if groups is not None and g["name"] not in groups:
            continue
        pref = (g.get("preferredVersion") or {}).get("version")
        vs = [v.get("version") for v in g.get("versions") or [] if isinstance(v, dict)]
        ordered = ([pref] if pref in vs else []) + [v for v in vs if v != pref and isinstance(v, str)]
        gvs.extend((g["name"], v) for v in ordered)
    return gvs


def _legacy_resources(rl: Any, group: str, version: Any, seen: set[tuple[str, str]]) -> list[Resource]:
    """The top-level resources (no subresources) of one group-version document not ``seen`` in an earlier one."""
    out = []
    for r in (rl or {}).get("resources") or []:
        if not isinstance(r, dict) or "/" in str(r.get("name", "/")):
            continue
        key = (group, r["name"])
        if key in seen:
            continue
        seen.add(key)
        out.append(
            Resource(
                group,
                version,
                r["name"],
                str(r.get("kind", "")),
                bool(r.get("namespaced")),
                tuple(v for v in r.get("verbs") or [] if isinstance(v, str)),
            )
        )
    return out


def _from_aggregated(doc: dict, groups: set[str] | None) -> list[Resource]:
    """The resources of an aggregated discovery document (``APIGroupDiscoveryList``), of ``groups`` or all."""
    out = []
    for item in doc.get("items") or []:
        if not isinstance(item, dict):
            continue
        group = str((item.get("metadata") or {}).get("name") or "")
        if groups is not None and group not in groups:
            continue
        out.extend(_aggregated_group(item, group))
    return out


def _aggregated_group(item: dict, group: str) -> list[Resource]:
    """One group of aggregated discovery: a resource is taken from the first version (in preference order)."""
    out = []
    seen: set[str] = set()
    for v in item.get("versions") or []:  # in preference order
        if not isinstance(v, dict) or not isinstance(v.get("version"), str):
            continue
        for r in v.get("resources") or []:
            if not isinstance(r, dict) or not isinstance(r.get("resource"), str) or r["resource"] in seen:
                continue
            seen.add(r["resource"])
            kind = (r.get("responseKind") or {}).get("kind") or ""
            out.append(
                Resource(
                    group,
                    v["version"],
                    r["resource"],
                    str(kind),
                    r.get("scope") == "Namespaced",
                    tuple(x for x in r.get("verbs") or [] if isinstance(x, str)),
                )
            )
    return out


__all__ = [
    "ApiError",
    "AuditTimeout",
    "ClusterConfigError",
    "Deadline",
    "KubeClient",
    "Resource",
    "ServerMisbehaved",
    "decode_json",
    "default_kubeconfig",
]
