"""The OCI distribution API, read-only: resolve tags, fetch manifests, blobs and referrers.

Every request has a timeout; every body is read in chunks and refused past its
byte cap (a ``Content-Length`` over the cap is refused before reading).  Content
addressed by digest is verified against its digest, fetched at most once per
:class:`Client` (one run) and, with ``cache_dir``, kept on disk under its digest
for the next run (re-verified when read back).  Registries are contacted over
HTTPS with certificate verification; a registry listed in ``insecure`` (host or
host:port globs) is contacted over HTTPS without verification and, when that
handshake fails, over plain HTTP (as Docker treats insecure registries).

Authentication follows the registry's ``WWW-Authenticate`` challenge: ``Bearer``
(a token from the realm, anonymously or with the credentials of Docker's
``config.json``, for the pull scope of the repository) or ``Basic``.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from guidecheck.registry import auth

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

DOCKER_HUB = "docker.io"
_HUB_ENDPOINT = "registry-1.docker.io"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHUNK = 64 * 1024
_MAX_REDIRECTS = 3
_MAX_ERROR_BODY = 4096
_NO_CREDENTIALS = (
    "no credentials are configured for it (Docker's config.json; credential helpers run only with "
    "settings.image-signature-credential-helpers)"
)

# the error kinds of RegistryError
UNREACHABLE = "unreachable"  # connection, TLS, timeout
DENIED = "denied"  # 401/403 after authenticating
NOT_FOUND = "not-found"
SERVER = "server-error"  # 5xx, 429, other unexpected statuses
INVALID = "invalid"  # not JSON, wrong digest, malformed
TOO_LARGE = "too-large"


class RegistryError(Exception):
    """A request that did not give what was asked; ``kind`` says why (see the constants above)."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status

    @property
    def incomplete(self) -> bool:
        """The registry could not be asked (unreachable, denied, failing): nothing can be said of the image."""
        return self.kind in (UNREACHABLE, DENIED, SERVER)


@dataclass(frozen=True)
class RegistryOptions:
    insecure: tuple[str, ...] = ()  # host[:port] globs contacted without TLS verification / over HTTP
    mirrors: dict[str, str] = field(default_factory=dict)  # registry -> host[:port] it is pulled from
    timeout: float = 10.0
    max_manifest_bytes: int = 4 * 1024 * 1024
    max_blob_bytes: int = 1024 * 1024
    docker_config: str | None = None  # config.json (default: $DOCKER_CONFIG or ~/.docker)
    credential_helpers: bool = False  # run docker-credential-* helpers named by config.json
    cache_dir: str | None = None  # on-disk cache of content by digest


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    body: bytes
    data: dict

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or (
            "manifests" in self.data and "layers" not in self.data and self.media_type not in (OCI_MANIFEST,)
        )


@dataclass
class _Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def sha256_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


class Client:
    """One run's registry access: connections' settings, tokens and the digest memo."""

    def __init__(self, options: RegistryOptions | None = None) -> None:
        self.options = options or RegistryOptions()
        self._tokens: dict[tuple[str, str], str] = {}  # (endpoint, repository) -> Authorization header
        self._content: dict[str, bytes] = {}  # digest -> verified bytes (one fetch per digest per run)
        self._tags: dict[tuple[str, str, str], Manifest] = {}
        self._docker_config: dict | None = None
        self._schemes: dict[str, str] = {}  # host -> the scheme that answered (insecure registries)
        self.requests = 0  # HTTP requests made (for tests and the audit's statistics)
        self.fetched: dict[str, int] = {}  # digest -> times fetched from the network

    # ---------------------------------------------------------------- endpoints and credentials

    def endpoint(self, registry: str | None) -> str:
        """The host[:port] a registry's content is read from (Docker Hub's API host, a configured mirror)."""
        reg = registry or DOCKER_HUB
        mirror = self.options.mirrors.get(reg)
        if mirror:
            return mirror
        return _HUB_ENDPOINT if reg in (DOCKER_HUB, "index.docker.io") else reg

    def is_insecure(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, p) for p in self.options.insecure)

    def _credentials(self, host: str) -> auth.Credentials | None:
        if self._docker_config is None:
            try:
                self._docker_config = auth.load_config(auth.config_path(self.options.docker_config))
            except auth.CredentialError as exc:
                raise RegistryError(DENIED, f"registry credentials: {exc}") from None
        try:
            return auth.lookup(self._docker_config, host, self.options.credential_helpers)
        except auth.CredentialError as exc:
            raise RegistryError(DENIED, f"registry credentials for {host}: {exc}") from None

    # ---------------------------------------------------------------- the API

    def manifest(self, registry: str | None, repository: str, reference: str) -> Manifest:
        """A manifest by tag or digest (any OCI or Docker v2 type), its digest verified or computed."""
        host = self.endpoint(registry)
        by_digest = reference.startswith("sha256:")
        if by_digest and reference in self._content:
            return _parse_manifest(reference, self._content[reference], None)
        if not by_digest and (host, repository, reference) in self._tags:
            return self._tags[(host, repository, reference)]
        if by_digest:
            cached = self._from_disk(reference)
            if cached is not None:
                return _parse_manifest(reference, cached, None)
        path = f"/v2/{repository}/manifests/{urllib.parse.quote(reference, safe=':')}"
        resp = self._get(host, repository, path, {"Accept": ", ".join(MANIFEST_TYPES)}, self.options.max_manifest_bytes)
        digest = sha256_digest(resp.body)
        if by_digest and digest != reference:
            raise RegistryError(INVALID, f"manifest {reference} of {repository} has the digest {digest}")
        header = resp.headers.get("docker-content-digest")
        if not by_digest and header and header != digest and header.startswith("sha256:"):
            raise RegistryError(
                INVALID, f"manifest {repository}:{reference}: Docker-Content-Digest {header} != {digest}"
            )
        manifest = _parse_manifest(digest, resp.body, resp.headers.get("content-type"))
        self._remember(digest, resp.body)
        if not by_digest:
            self._tags[(host, repository, reference)] = manifest
        return manifest

    def blob(self, registry: str | None, repository: str, digest: str, max_bytes: int | None = None) -> bytes:
        """A blob by digest, verified (raises INVALID on a digest mismatch, TOO_LARGE past the cap)."""
        if not _DIGEST.match(digest):
            raise RegistryError(INVALID, f"unsupported or malformed digest {digest[:80]!r}")
        if digest in self._content:
            return self._content[digest]
        cached = self._from_disk(digest)
        if cached is not None:
            self._content[digest] = cached
            return cached
        host = self.endpoint(registry)
        resp = self._get(
            host, repository, f"/v2/{repository}/blobs/{digest}", {}, max_bytes or self.options.max_blob_bytes
        )
        actual = sha256_digest(resp.body)
        if actual != digest:
            raise RegistryError(INVALID, f"blob {digest} of {repository} has the digest {actual} (altered content)")
        self._remember(digest, resp.body)
        return resp.body

    def referrers(self, registry: str | None, repository: str, digest: str, artifact_type: str) -> list[dict] | None:
        """The OCI 1.1 referrers of ``digest`` of this artifact type; None when the registry has no referrers API."""
        host = self.endpoint(registry)
        path = f"/v2/{repository}/referrers/{digest}?artifactType={urllib.parse.quote(artifact_type)}"
        try:
            resp = self._get(host, repository, path, {"Accept": OCI_INDEX}, self.options.max_manifest_bytes)
        except RegistryError as exc:
            if exc.kind == NOT_FOUND or exc.status in (400, 405):
                return None  # no referrers API (distribution 2.x answers 404): the tag schema is the fallback
            raise
        if not resp.headers.get("content-type", "").startswith(OCI_INDEX):
            return None
        try:
            data = json.loads(resp.body)
        except ValueError:
            raise RegistryError(INVALID, f"the referrers of {repository}@{digest} are not JSON") from None
        manifests = data.get("manifests") if isinstance(data, dict) else None
        if not isinstance(manifests, list):
            raise RegistryError(INVALID, f"the referrers of {repository}@{digest} have no manifests list")
        return [m for m in manifests if isinstance(m, dict) and m.get("artifactType") == artifact_type]

    # ---------------------------------------------------------------- cache

    def _remember(self, digest: str, body: bytes) -> None:
        self._content[digest] = body
        self.fetched[digest] = self.fetched.get(digest, 0) + 1
        cache = self.options.cache_dir
        if not cache:
            return
        path = os.path.join(cache, "sha256", digest.split(":", 1)[1])
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.part"
            with open(tmp, "wb") as fh:
                fh.write(body)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs a fetch next time

    def _from_disk(self, digest: str) -> bytes | None:
        cache = self.options.cache_dir
        if not cache or not _DIGEST.match(digest):
            return None
        path = os.path.join(cache, "sha256", digest.split(":", 1)[1])
        try:
            with open(path, "rb") as fh:
                body = fh.read(max(self.options.max_manifest_bytes, self.options.max_blob_bytes) + 1)
        except OSError:
            return None
        if sha256_digest(body) != digest:
            return None  # altered or truncated on disk: fetch again
        self._content[digest] = body
        return body

    # ---------------------------------------------------------------- HTTP

    def _get(self, host: str, repository: str, path: str, headers: dict[str, str], max_bytes: int) -> _Response:
        """GET with the challenge flow: anonymous first (or the token already obtained), then as challenged."""
        key = (host, repository)
        hdrs = dict(headers)
        if key in self._tokens:
            hdrs["Authorization"] = self._tokens[key]
        resp = self._request(host, path, hdrs, max_bytes)
        if resp.status == 401:
            challenge = resp.headers.get("www-authenticate", "")
            authorization = self._authorize(host, repository, challenge)
            if authorization is None:
                raise RegistryError(DENIED, f"{host} requires authentication and {_NO_CREDENTIALS}", 401)
            self._tokens[key] = authorization
            hdrs["Authorization"] = authorization
            resp = self._request(host, path, hdrs, max_bytes)
        if resp.status == 200:
            return resp
        raise _status_error(host, path, resp)

    def _authorize(self, host: str, repository: str, challenge: str) -> str | None:
        scheme, params = parse_challenge(challenge)
        creds = self._credentials(host)
        if scheme == "basic":
            if creds is None or creds.username is None:
                return None
            raw = f"{creds.username}:{creds.password or ''}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        if scheme != "bearer" or not params.get("realm"):
            raise RegistryError(DENIED, f"{host} asks for an unsupported authentication: {challenge[:120]!r}", 401)
        return "Bearer " + self._token(host, repository, params, creds)

    def _token(self, host: str, repository: str, params: dict[str, str], creds: auth.Credentials | None) -> str:
        realm = urllib.parse.urlsplit(params["realm"])
        if realm.scheme not in ("https", "http") or not realm.netloc:
            raise RegistryError(DENIED, f"{host}: token realm {params['realm'][:120]!r} is not an HTTP(S) URL")
        if realm.scheme == "http" and not self.is_insecure(realm.netloc):
            raise RegistryError(DENIED, f"{host}: token realm {params['realm'][:120]!r} is plain HTTP")
        query = urllib.parse.parse_qsl(realm.query)
        if params.get("service"):
            query.append(("service", params["service"]))
        query.append(("scope", params.get("scope") or f"repository:{repository}:pull"))
        hdrs: dict[str, str] = {}
        if creds is not None and creds.identity_token is None and creds.username is not None:
            hdrs["Authorization"] = (
                "Basic " + base64.b64encode(f"{creds.username}:{creds.password or ''}".encode()).decode()
            )
        path = (realm.path or "/") + "?" + urllib.parse.urlencode(query)
        if creds is not None and creds.identity_token:
            # the OAuth2 refresh-token grant of the token protocol
            resp = self._request(
                realm.netloc,
                realm.path or "/",
                {"Content-Type": "application/x-www-form-urlencoded"},
                64 * 1024,
                method="POST",
                body=urllib.parse.urlencode(
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": creds.identity_token,
                        "service": params.get("service", ""),
                        "scope": params.get("scope") or f"repository:{repository}:pull",
                        "client_id": "guidecheck",
                    }
                ).encode(),
                scheme=realm.scheme,
            )
        else:
            resp = self._request(realm.netloc, path, hdrs, 64 * 1024, scheme=realm.scheme)
        if resp.status in (401, 403) and creds is None:
            raise RegistryError(DENIED, f"{host} requires authentication and {_NO_CREDENTIALS}", resp.status)
        if resp.status in (401, 403):
            raise RegistryError(
                DENIED, f"{host}: the token endpoint refused the credentials ({resp.status})", resp.status
            )
        if resp.status != 200:
            raise RegistryError(SERVER, f"{host}: the token endpoint answered {resp.status}", resp.status)
        try:
            data = json.loads(resp.body)
        except ValueError:
            raise RegistryError(INVALID, f"{host}: the token endpoint did not answer JSON") from None
        token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise RegistryError(INVALID, f"{host}: the token endpoint answered no token")
        return token

    def _request(
        self,
        host: str,
        path: str,
        headers: dict[str, str],
        max_bytes: int,
        *,
        method: str = "GET",
        body: bytes | None = None,
        scheme: str | None = None,
    ) -> _Response:
        """One request, following redirects (without credentials to another host), the body capped."""
        hdrs = {"User-Agent": "guidecheck", **headers}
        for _ in range(_MAX_REDIRECTS + 1):
            resp = self._once(host, path, hdrs, max_bytes, method, body, scheme)
            if resp.status not in (301, 302, 303, 307, 308) or "location" not in resp.headers:
                return resp
            target = urllib.parse.urlsplit(urllib.parse.urljoin(f"https://{host}{path}", resp.headers["location"]))
            if target.scheme not in ("http", "https") or not target.netloc:
                raise RegistryError(INVALID, f"{host}: redirect to {resp.headers['location'][:120]!r}")
            if target.netloc != host:
                hdrs = {k: v for k, v in hdrs.items() if k != "Authorization"}
            host, scheme = target.netloc, target.scheme
            path = target.path + (f"?{target.query}" if target.query else "")
            method, body = "GET", None
        raise RegistryError(INVALID, f"{host}: more than {_MAX_REDIRECTS} redirects")

    def _once(
        self,
        host: str,
        path: str,
        headers: dict[str, str],
        max_bytes: int,
        method: str,
        body: bytes | None,
        scheme: str | None,
    ) -> _Response:
        insecure = self.is_insecure(host)
        if scheme:
            schemes = [scheme]
        elif host in self._schemes:
            schemes = [self._schemes[host]]
        else:
            schemes = ["https", "http"] if insecure else ["https"]
        last: Exception | None = None
        for sch in schemes:
            try:
                resp = self._exchange(sch, host, path, headers, max_bytes, method, body, insecure)
                self._schemes.setdefault(host, sch)
                return resp
            except (ssl.SSLError, ConnectionResetError, http.client.BadStatusLine) as exc:
                last = exc  # an insecure registry that speaks plain HTTP: try it next
                continue
            except TimeoutError:
                raise RegistryError(UNREACHABLE, f"{host}: no answer within {self.options.timeout:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                raise RegistryError(UNREACHABLE, f"{host}: {_describe(exc)}") from None
        raise RegistryError(UNREACHABLE, f"{host}: {_describe(last) if last else 'no connection'}")

    def _exchange(
        self,
        scheme: str,
        host: str,
        path: str,
        headers: dict[str, str],
        max_bytes: int,
        method: str,
        body: bytes | None,
        insecure: bool,
    ) -> _Response:
        self.requests += 1
        timeout = self.options.timeout
        conn: http.client.HTTPConnection
        if scheme == "https":
            context = ssl.create_default_context()
            if insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(host, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            hdrs = {k.lower(): v for k, v in raw.getheaders()}
            limit = max_bytes if raw.status == 200 else _MAX_ERROR_BODY
            length = hdrs.get("content-length", "")
            if raw.status == 200 and length.isdigit() and int(length) > limit:
                raise RegistryError(
                    TOO_LARGE, f"{host}{path.split('?', maxsplit=1)[0]}: {length} bytes, more than {limit}"
                )
            data = _read_capped(raw.read, limit, truncate=raw.status != 200)
            if data is None:
                raise RegistryError(TOO_LARGE, f"{host}{path.split('?', maxsplit=1)[0]}: more than {limit} bytes")
            return _Response(raw.status, hdrs, data)
        finally:
            conn.close()


def _read_capped(read: Callable[[int], bytes], limit: int, truncate: bool) -> bytes | None:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return b"".join(chunks)[:limit] if truncate else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return "name does not resolve"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return (
            f"TLS handshake failed ({exc.reason or exc}); a registry without TLS must be listed in "
            "settings.image-signature-insecure-registries (or --insecure-registry)"
        )
    return f"{type(exc).__name__}: {exc}"[:200]


def _status_error(host: str, path: str, resp: _Response) -> RegistryError:
    where = f"{host}{path.split('?', maxsplit=1)[0]}"
    code = ""
    try:
        errors = json.loads(resp.body).get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = f" ({str(errors[0].get('code'))[:40]})"
    except (ValueError, AttributeError):
        pass
    if resp.status in (401, 403):
        return RegistryError(DENIED, f"{where}: access denied ({resp.status}{code})", resp.status)
    if resp.status == 404:
        return RegistryError(NOT_FOUND, f"{where}: not found{code}", 404)
    if resp.status == 429 or resp.status >= 500:
        return RegistryError(SERVER, f"{where}: the registry answered {resp.status}{code}", resp.status)
    return RegistryError(SERVER, f"{where}: unexpected status {resp.status}{code}", resp.status)


def _parse_manifest(digest: str, body: bytes, content_type: str | None) -> Manifest:
    try:
        data = json.loads(body)
    except ValueError:
        raise RegistryError(INVALID, f"manifest {digest} is not JSON") from None
    if not isinstance(data, dict):
        raise RegistryError(INVALID, f"manifest {digest} is not a JSON object")
    media = data.get("mediaType") if isinstance(data.get("mediaType"), str) else None
    ctype = (content_type or "").split(";")[0].strip()
    media_type = (
        media or (ctype if ctype in MANIFEST_TYPES else "") or (OCI_INDEX if "manifests" in data else OCI_MANIFEST)
    )
    if data.get("schemaVersion") != 2:
        raise RegistryError(INVALID, f"manifest {digest} is not schema version 2")
    if media_type in INDEX_TYPES and not isinstance(data.get("manifests"), list):
        raise RegistryError(INVALID, f"index {digest} has no manifests list")
    if media_type not in INDEX_TYPES and not isinstance(data.get("layers", []), list):
        raise RegistryError(INVALID, f"manifest {digest} has a layers field that is not a list")
    return Manifest(digest, media_type, body, data)


_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="...",scope="..."`` as ("bearer", {...}); ("", {}) when empty."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        params[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
        pos = m.end()
    return scheme.lower(), params


__all__ = [
    "DOCKER_MANIFEST",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Client",
    "Manifest",
    "RegistryError",
    "RegistryOptions",
    "parse_challenge",
    "sha256_digest",
]
