"""A local Kubernetes API server for the audit tests: HTTPS on 127.0.0.1, the REST protocol as the real one speaks it.

No real kube-apiserver can be had here, so this one serves objects taken from
fixtures the way kube-apiserver does, for the real ``kubernetes`` Python client
to talk to through a generated kubeconfig (a self-signed CA made with
``cryptography``, a bearer token):

* discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis`` (aggregated
  discovery ``APIGroupDiscoveryList`` when the client asks for it and
  ``aggregated=True``, else the legacy ``APIGroupList``), ``/apis/<g>/<v>``;
* lists, cluster-wide and per namespace: typed ``<Kind>List`` answers with
  ``apiVersion``, ``kind``, ``metadata.resourceVersion``, ``continue`` and
  ``remainingItemCount``; items without ``kind``/``apiVersion`` (as on the wire);
  ``limit``/``continue`` paging; ``labelSelector`` (equality and set-based);
  ``PartialObjectMetadataList`` for ``Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1``;
* ``Status`` errors: 401 without the token, 403 for (resource, namespace) pairs
  listed in ``forbidden``, 404 for resources discovery does not list (missing
  CRDs), scripted answers per resource in ``flaky`` (e.g. one 429 with
  ``Retry-After``, a 503), 410 for a ``continue`` token from an older list;
* hostile answers per resource in ``hostile`` (what a broken or malicious server
  sends): ``endless`` (a chunked list body that never ends), ``trickle`` (one
  byte at a time), ``same-continue`` (the same page and ``continue`` token
  forever), ``repeat-uids`` (new tokens, the same objects), ``deep`` (200,000
  nested ``[``), ``huge`` (a list page of several megabytes);
* the pod proxy (``/api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/<path>``)
  and pod logs (``/log?container=&tailLines=&limitBytes=``) from ``metrics`` and
  ``logs``; 503 when nothing listens, as the real proxy answers.

Every request is recorded in ``state.requests`` (path, query, Accept) so that
tests can assert what the client asked for (never a Secret's data).

Run by hand: ``python tests/kube_server.py DIR_OR_FILE...`` serves the objects of
those manifests and prints the kubeconfig path.
"""

from __future__ import annotations

import base64
import datetime as _dt
import http.server
import json
import os
import re
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

# kind -> (group, version, plural, namespaced) for the built-in kinds (and the CRDs the rules read)
BUILTIN: dict[str, tuple[str, str, str, bool]] = {
    "Pod": ("", "v1", "pods", True),
    "Service": ("", "v1", "services", True),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Secret": ("", "v1", "secrets", True),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True),
    "ReplicationController": ("", "v1", "replicationcontrollers", True),
    "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "Endpoints": ("", "v1", "endpoints", True),
    "Namespace": ("", "v1", "namespaces", False),
    "PersistentVolume": ("", "v1", "persistentvolumes", False),
    "Node": ("", "v1", "nodes", False),
    "Deployment": ("apps", "v1", "deployments", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "ReplicaSet": ("apps", "v1", "replicasets", True),
    "Job": ("batch", "v1", "jobs", True),
    "CronJob": ("batch", "v1", "cronjobs", True),
    "HorizontalPodAutoscaler": ("autoscaling", "v2", "horizontalpodautoscalers", True),
    "PodDisruptionBudget": ("policy", "v1", "poddisruptionbudgets", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
}
CLUSTER_KINDS = {
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "VolumeSnapshotClass",
    "VolumeSnapshotContent",
    "ClusterIssuer",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "ClusterImageCatalog",
    "PodSecurityPolicy",
    "InitializerConfiguration",
}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
PARTIAL = "as=PartialObjectMetadataList"


def plural(kind: str) -> str:
    low = kind.lower()
    if low.endswith(("s", "x", "ch", "sh")):
        return low + "es"
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


def split_api_version(api_version: str) -> tuple[str, str]:
    return tuple(api_version.split("/", 1)) if "/" in api_version else ("", api_version)  # type: ignore[return-value]


@dataclass
class ResourceDef:
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass
class State:
    resources: dict[tuple[str, str], ResourceDef] = field(default_factory=dict)  # (group, plural)
    objects: dict[tuple[str, str], list[dict]] = field(default_factory=dict)  # sorted by (namespace, name)
    # (resource, namespace) lists answered 403: None = the cluster-wide list only, "*" = every list of it
    forbidden: set[tuple[str, str | None]] = field(default_factory=set)
    flaky: dict[str, list[int]] = field(default_factory=dict)  # "deployments.apps" -> statuses answered first
    metrics: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (ns, pod) -> (status, body)
    logs: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (ns, pod, container) -> text
    aggregated: bool = True
    partial_metadata: bool = True  # False: answer PartialObjectMetadataList requests with full lists (old servers)
    expire_continue: set[str] = field(default_factory=set)  # resources whose next continue token answers 410 once
    hostile: dict[str, str] = field(default_factory=dict)  # "deployments.apps" -> behaviour (see the docstring)
    trickle_interval: float = 0.2  # seconds between the bytes of a "trickle" answer
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    resource_version: int = 1000
    requests: list[tuple[str, dict, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_resource(self, kind: str, api_version: str | None = None, namespaced: bool | None = None) -> ResourceDef:
        if api_version is None:
            g, v, p, ns = BUILTIN[kind]
        else:
            g, v = split_api_version(api_version)
            b = BUILTIN.get(kind)
            p = b[2] if b and b[0] == g else plural(kind)
            ns = (b[3] if b else kind not in CLUSTER_KINDS) if namespaced is None else namespaced
        key = (g, p)
        rd = self.resources.get(key)
        if rd is None:
            rd = self.resources[key] = ResourceDef(g, v, p, kind, ns)
            self.objects.setdefault(key, [])
        return rd

    def add(self, obj: dict) -> None:
        obj = json.loads(json.dumps(obj, default=str))  # plain JSON, as stored in etcd
        rd = self.add_resource(obj["kind"], obj["apiVersion"])
        meta = obj.setdefault("metadata", {})
        if rd.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        meta.setdefault(
            "uid",
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rd.group}/{rd.resource}/{meta.get('namespace')}/{meta.get('name')}")),
        )
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        self.resource_version += 1
        meta["resourceVersion"] = str(self.resource_version)
        items = self.objects[(rd.group, rd.resource)]
        items.append(obj)

    def finish(self) -> None:
        for items in self.objects.values():
            items.sort(key=lambda o: (o["metadata"].get("namespace") or "", str(o["metadata"].get("name"))))


# ---------------------------------------------------------------- TLS and kubeconfig


def make_tls(directory: str) -> tuple[str, str, str]:
    """A CA and a server certificate for 127.0.0.1 / localhost; returns (ca, cert, key) file paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = _dt.datetime.now(_dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guidecheck-test-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (os.path.join(directory, "ca.crt"), os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key"))
    with open(paths[0], "wb") as fh:
        fh.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return paths


def write_kubeconfig(path: str, url: str, ca_file: str, token: str, contexts=("test",)) -> str:
    with open(ca_file, "rb") as fh:
        ca_data = base64.b64encode(fh.read()).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": "local", "cluster": {"server": url, "certificate-authority-data": ca_data}}],
        "users": [{"name": "auditor", "user": {"token": token}}],
        "contexts": [{"name": c, "context": {"cluster": "local", "user": "auditor"}} for c in contexts],
        "current-context": contexts[0],
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)  # JSON is YAML
    return path


# ---------------------------------------------------------------- label selectors

_REQ = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")


def selector_matches(selector: str, labels: dict) -> bool:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    parts.append(cur)
    for p in parts:
        if not p.strip():
            continue
        m = _REQ.match(p)
        if not m:
            raise ValueError(f"unable to parse requirement: {p!r}")
        neg, key, op, val, setop, values = m.groups()
        has = key in labels
        if op in ("=", "=="):
            ok = has and labels[key] == val
        elif op == "!=":
            ok = not has or labels[key] != val
        elif setop:
            vals = {v.strip() for v in values.split(",")}
            ok = (has and labels[key] in vals) if setop == "in" else (not has or labels[key] not in vals)
        else:
            ok = has
        if neg:
            ok = not has
        if not ok:
            return False
    return True


# ---------------------------------------------------------------- the server


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-test"
    # TCP_NODELAY, as Go's net/http (the real apiserver) sets it: a keep-alive response is written as
    # headers then body, and with Nagle's algorithm the body waits for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet
        pass

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    def _send(self, status: int, body: Any, ctype: str = "application/json", headers: dict | None = None):
        data = (
            body
            if isinstance(body, bytes)
            else (body.encode() if isinstance(body, str) else json.dumps(body, separators=(",", ":")).encode())
        )
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, reason: str, message: str, headers: dict | None = None):
        self._send(
            code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": code,
            },
            headers=headers,
        )

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        accept = self.headers.get("Accept", "")
        with self.state.lock:
            self.state.requests.append((url.path, query, accept))
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.state.token:  # the scheme is case-insensitive
            return self._status(401, "Unauthorized", "Unauthorized")
        path = unquote(url.path).rstrip("/")
        try:
            self._route(path, query, accept)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, path: str, query: dict, accept: str):
        st = self.state
        parts = path.strip("/").split("/") if path.strip("/") else []
        if path == "/version":
            return self._send(200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-guidecheck-test"})
        if path in ("/api", "/apis"):
            if st.aggregated and "as=APIGroupDiscoveryList" in accept:
                return self._send(
                    200,
                    self._aggregated(core=path == "/api"),
                    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                )
            if path == "/api":
                return self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
            return self._send(200, self._group_list())
        if parts[:1] == ["api"] and len(parts) == 2:
            return self._resource_list("", parts[1])
        if parts[:1] == ["apis"] and len(parts) == 3:
            return self._resource_list(parts[1], parts[2])
        # pods/proxy and pods/log
        if (
            parts[:4] == ["api", "v1", "namespaces", parts[3] if len(parts) > 3 else ""]
            and len(parts) >= 6
            and parts[4] == "pods"
        ):
            ns, pod = parts[3], parts[5]
            if len(parts) >= 7 and ":" in pod and parts[6] == "proxy":
                return self._proxy(ns, pod, "/" + "/".join(parts[7:]))
            if len(parts) == 7 and parts[6] == "log":
                return self._log(ns, pod, query)
        # lists
        if parts[:1] == ["api"]:
            group, rest = "", parts[1:]
        elif parts[:1] == ["apis"] and len(parts) >= 2:
            group, rest = parts[1], parts[2:]
        else:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        if len(rest) == 2:
            version, ns, resource = rest[0], None, rest[1]
        elif len(rest) == 4 and rest[1] == "namespaces":
            version, ns, resource = rest[0], rest[2], rest[3]
        else:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        rd = st.resources.get((group, resource))
        if rd is None or rd.version != version or (ns is not None and not rd.namespaced):
            return self._status(404, "NotFound", "the server could not find the requested resource")
        return self._list(rd, ns, query, accept)

    def _aggregated(self, core: bool) -> dict:
        groups: dict[str, list[ResourceDef]] = {}
        for rd in self.state.resources.values():
            if (rd.group == "") == core:
                groups.setdefault(rd.group, []).append(rd)
        items = []
        for g in sorted(groups):
            by_version: dict[str, list[ResourceDef]] = {}
            for rd in groups[g]:
                by_version.setdefault(rd.version, []).append(rd)
            items.append(
                {
                    "metadata": {"name": g, "creationTimestamp": None},
                    "versions": [
                        {
                            "version": v,
                            "freshness": "Current",
                            "resources": [
                                {
                                    "resource": rd.resource,
                                    "responseKind": {"group": rd.group, "version": rd.version, "kind": rd.kind},
                                    "scope": "Namespaced" if rd.namespaced else "Cluster",
                                    "singularResource": rd.kind.lower(),
                                    "verbs": VERBS,
                                    "subresources": (
                                        [
                                            {"subresource": "log", "verbs": ["get"]},
                                            {"subresource": "proxy", "verbs": ["get"]},
                                        ]
                                        if rd.resource == "pods"
                                        else []
                                    ),
                                }
                                for rd in sorted(rds, key=lambda r: r.resource)
                            ],
                        }
                        for v, rds in sorted(by_version.items())
                    ],
                }
            )
        return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}

    def _group_list(self) -> dict:
        groups: dict[str, set[str]] = {}
        for rd in self.state.resources.values():
            if rd.group:
                groups.setdefault(rd.group, set()).add(rd.version)
        out = []
        for g in sorted(groups):
            vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in sorted(groups[g])]
            out.append({"name": g, "versions": vs, "preferredVersion": vs[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}

    def _resource_list(self, group: str, version: str):
        rds = [rd for rd in self.state.resources.values() if rd.group == group and rd.version == version]
        if not rds:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        resources = []
        for rd in sorted(rds, key=lambda r: r.resource):
            resources.append(
                {
                    "name": rd.resource,
                    "singularName": rd.kind.lower(),
                    "namespaced": rd.namespaced,
                    "kind": rd.kind,
                    "verbs": VERBS,
                }
            )
            if rd.resource == "pods":
                resources += [
                    {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
                    {
                        "name": "pods/proxy",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "PodProxyOptions",
                        "verbs": ["get"],
                    },
                ]
        gv = f"{group}/{version}" if group else version
        return self._send(
            200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
        )

    def _list(self, rd: ResourceDef, ns: str | None, query: dict, accept: str):
        st = self.state
        name = f"{rd.resource}.{rd.group}" if rd.group else rd.resource
        if (name, ns) in st.forbidden or (name, "*") in st.forbidden:
            where = f'in the namespace "{ns}"' if ns else "at the cluster scope"
            return self._status(
                403,
                "Forbidden",
                f"{rd.resource}{'.' + rd.group if rd.group else ''} is forbidden: "
                f'User "system:serviceaccount:audit:guidecheck" cannot list resource '
                f'"{rd.resource}" in API group "{rd.group}" {where}',
            )
        if name in st.hostile:
            return self._hostile(st.hostile[name], rd, query)
        with st.lock:
            script = st.flaky.get(name)
            status = script.pop(0) if script else None
        if status == 429:
            return self._status(
                429, "TooManyRequests", "Too many requests, please try again later.", headers={"Retry-After": "1"}
            )
        if status:
            return self._status(
                status,
                "InternalError" if status == 500 else "ServiceUnavailable",
                "the server is currently unable to handle the request",
            )
        items = st.objects.get((rd.group, rd.resource), [])
        if ns is not None:
            items = [o for o in items if o["metadata"].get("namespace") == ns]
        sel = query.get("labelSelector")
        if sel:
            try:
                items = [o for o in items if selector_matches(sel, o["metadata"].get("labels") or {})]
            except ValueError as exc:
                return self._status(400, "BadRequest", str(exc))
        start, rv = 0, str(st.resource_version)
        if query.get("continue"):
            try:
                tok = json.loads(base64.urlsafe_b64decode(query["continue"].encode()))
                start, rv = int(tok["start"]), str(tok["rv"])
            except (ValueError, KeyError, TypeError):
                return self._status(400, "BadRequest", "continue key is not valid")
            with st.lock:
                expire = name in st.expire_continue
                st.expire_continue.discard(name)
            if rv != str(st.resource_version) or expire:
                return self._status(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a "
                    "consistent list result. You can start a new list without the continue parameter.",
                )
        limit = int(query.get("limit") or 0)
        end = len(items) if limit <= 0 else min(len(items), start + limit)
        page = items[start:end]
        meta: dict[str, Any] = {"resourceVersion": rv}
        if end < len(items):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": end, "rv": rv}).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        if PARTIAL in accept and st.partial_metadata:
            body = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
                "items": [
                    {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
                    for o in page
                ],
            }
            return self._send(200, body, "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
        wire = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page]
        return self._send(
            200, {"kind": rd.kind + "List", "apiVersion": rd.group_version, "metadata": meta, "items": wire}
        )

    def _hostile(self, how: str, rd: ResourceDef, query: dict):
        """What a broken or malicious API server answers a list with (``State.hostile``)."""
        st = self.state
        head = f'{{"kind":"{rd.kind}List","apiVersion":"{rd.group_version}","metadata":{{}},"items":['.encode()

        def item(i: int, uid: str | None = None) -> dict:
            return {
                "metadata": {"name": f"obj-{uid or i}", "namespace": "shop", "uid": uid or f"uid-{i}"},
                "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}},
            }

        if how in ("endless", "trickle"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if how == "endless":
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(10**9))
            self.end_headers()
            try:
                if how == "endless":
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(head), head))
                    piece = (json.dumps(item(0)) + ",").encode() * 200
                    while True:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(head)
                    while True:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        threading.Event().wait(st.trickle_interval)
            except OSError:
                return None
        if how == "deep":
            return self._send(200, b"[" * 200_000 + b"]" * 200_000)
        if how == "huge":
            items = [item(i) for i in range(3_000)]
            return self._send(
                200, {"kind": rd.kind + "List", "apiVersion": rd.group_version, "metadata": {}, "items": items}
            )
        start = int(query.get("continue") or 0) if how == "repeat-uids" else 0
        fresh = how == "same-continue"  # new objects on every page, the same token: a list that never ends
        page = [
            item(i, uid=uuid.uuid4().hex if fresh else None) if how != "repeat-uids" else item(i, "same-uid")
            for i in range(start, start + 2)
        ]
        token = str(start + 2) if how == "repeat-uids" else "same-token"
        return self._send(
            200,
            {"kind": rd.kind + "List", "apiVersion": rd.group_version, "metadata": {"continue": token}, "items": page},
        )

    def _pod(self, ns: str, pod: str) -> dict | None:
        for o in self.state.objects.get(("", "pods"), []):
            if o["metadata"].get("namespace") == ns and o["metadata"].get("name") == pod:
                return o
        return None

    def _proxy(self, ns: str, pod_port: str, sub: str):
        pod, _, port = pod_port.partition(":")
        if ("pods/proxy", ns) in self.state.forbidden or ("pods/proxy", "*") in self.state.forbidden:
            return self._status(403, "Forbidden", f'pods "{pod}" is forbidden: cannot get resource "pods/proxy"')
        if self._pod(ns, pod) is None:
            return self._status(404, "NotFound", f'pods "{pod}" not found')
        entry = self.state.metrics.get((ns, pod))
        if entry is None or sub != "/metrics" or port != "9100":
            return self._status(
                503,
                "ServiceUnavailable",
                f"error trying to reach service: dial tcp 10.0.0.1:{port}: connect: connection refused",
            )
        status, body = entry
        return self._send(status, body, "text/plain; version=0.0.4; charset=utf-8")

    def _log(self, ns: str, pod: str, query: dict):
        if ("pods/log", ns) in self.state.forbidden or ("pods/log", "*") in self.state.forbidden:
            return self._status(403, "Forbidden", f'pods "{pod}" is forbidden: cannot get resource "pods/log"')
        obj = self._pod(ns, pod)
        if obj is None:
            return self._status(404, "NotFound", f'pods "{pod}" not found')
        container = query.get("container") or next(
            (c.get("name") for c in (obj.get("spec") or {}).get("containers") or []), ""
        )
        text = self.state.logs.get((ns, pod, container), "")
        lines = text.splitlines(keepends=True)
        if query.get("tailLines"):
            lines = lines[-int(query["tailLines"]) :]
        data = "".join(lines).encode()
        if query.get("limitBytes"):
            data = data[: int(query["limitBytes"])]
        return self._send(200, data, "text/plain")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class KubeServer:
    """``with KubeServer(objects) as srv:`` — ``srv.kubeconfig``, ``srv.url``, ``srv.state``."""

    def __init__(
        self,
        objects: list[dict] = (),
        *,
        contexts=("test",),
        directory: str | None = None,
        builtin: bool = True,
        **state_options,
    ):
        self.state = State(**state_options)
        if builtin:
            for kind in BUILTIN:
                self.state.add_resource(kind)
        for obj in objects:
            self.state.add(obj)
        self.state.finish()
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="kube-server-")
        self.directory = directory or self._tmp.name
        self.contexts = contexts
        self.httpd: _Server | None = None

    def __enter__(self) -> KubeServer:
        ca, cert, key = make_tls(self.directory)
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.state = self.state  # type: ignore[attr-defined]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.ca = ca
        self.kubeconfig = write_kubeconfig(
            os.path.join(self.directory, "kubeconfig"), self.url, ca, self.state.token, self.contexts
        )
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def lists_of(self, resource: str) -> list[tuple[str, dict, str]]:
        """Recorded requests whose path ends with ``/<resource>``."""
        return [r for r in self.state.requests if r[0].rstrip("/").endswith("/" + resource)]


def objects_from_paths(paths: list[str]) -> list[dict]:
    """The Kubernetes objects of manifest files or directories (read with guidecheck's own safe loader)."""
    from guidecheck.config import Config
    from guidecheck.loaders import load

    loaded = load(list(paths), Config())
    return [t.data for t in loaded.targets if t.kind == "k8s"]


if __name__ == "__main__":  # pragma: no cover - a manual tool
    import sys
    import time

    srv = KubeServer(objects_from_paths(sys.argv[1:]))
    with srv:
        print(f"serving {sum(len(v) for v in srv.state.objects.values())} objects at {srv.url}")
        print(f"KUBECONFIG={srv.kubeconfig}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
