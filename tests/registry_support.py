"""A real OCI registry for tests: Debian's docker-registry (the CNCF distribution registry) on 127.0.0.1.

:class:`Registry` starts ``docker-registry serve`` on port 0 with its storage
under a temporary directory and reads the port it bound from its log.  Content is
pushed over plain HTTP with the distribution API (blob uploads, manifest PUTs),
as ``docker push`` and ``cosign sign`` do: images, indexes and cosign signature
manifests (:func:`sign`).  :class:`TokenProxy` puts Docker's token
authentication in front of it (401 with a ``Bearer`` challenge, a token endpoint
that wants basic credentials).  Tests skip with a clear reason when the package
is not installed (``scripts/install-test-tools.sh`` installs it).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BINARY = shutil.which("docker-registry") or (
    "/usr/bin/docker-registry" if os.path.exists("/usr/bin/docker-registry") else None
)
SKIP_REASON = "docker-registry is not installed (apt-get install docker-registry; scripts/install-test-tools.sh)"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    def __init__(self, root: Path) -> None:
        if BINARY is None:
            raise RuntimeError(SKIP_REASON)
        root.mkdir(parents=True, exist_ok=True)
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\nlog: {level: info}\n"
            f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
            'http: {addr: "127.0.0.1:0", secret: guidecheck-test}\n',
            encoding="utf-8",
        )
        self.log = root / "registry.log"
        self._log_fh = open(self.log, "wb")  # kept open while the registry runs
        self.proc = subprocess.Popen([BINARY, "serve", str(config)], stdout=self._log_fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        port = None
        while port is None and time.monotonic() < deadline:
            m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", self.log.read_bytes())
            if m:
                port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text(errors='replace')[-2000:]}")
            else:
                time.sleep(0.05)
        if port is None:
            self.stop()
            raise RuntimeError("docker-registry did not start listening within 30 s")
        self.host = f"127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log_fh.close()

    # ------------------------------------------------------------ the push side of the API

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(self.host, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        status, headers, body = self._request("POST", f"/v2/{repo}/blobs/uploads/", b"", {"Content-Length": "0"})
        assert status == 202, (status, body)
        location = headers.get("Location") or headers.get("location")
        sep = "&" if "?" in location else "?"
        path = location.split(self.host, 1)[-1] if location.startswith("http") else location
        status, _, body = self._request(
            "PUT",
            f"{path}{sep}digest={digest}",
            data,
            {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
        )
        assert status == 201, (status, body)
        return digest

    def push_manifest(self, repo: str, reference: str, manifest: dict | bytes, media_type: str = OCI_MANIFEST) -> str:
        body = manifest if isinstance(manifest, bytes) else json.dumps(manifest, separators=(",", ":")).encode()
        status, _, resp = self._request("PUT", f"/v2/{repo}/manifests/{reference}", body, {"Content-Type": media_type})
        assert status == 201, (status, resp)
        return digest_of(body)

    def image(self, repo: str, tag: str | None, seed: str, media_type: str = OCI_MANIFEST, arch: str = "amd64") -> str:
        """A small image (a config and one layer, made from ``seed``): its manifest digest."""
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []},
                "config": {"Labels": {"seed": seed}},
            }
        ).encode()
        layer = f"layer of {seed} {arch}".encode()
        docker = media_type == DOCKER_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json"
                if docker
                else "application/vnd.oci.image.config.v1+json",
                "digest": self.push_blob(repo, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"
                    if docker
                    else "application/vnd.oci.image.layer.v1.tar",
                    "digest": self.push_blob(repo, layer),
                    "size": len(layer),
                }
            ],
        }
        body = json.dumps(manifest, separators=(",", ":")).encode()
        return self.push_manifest(repo, tag or digest_of(body), body, media_type)

    def index(
        self, repo: str, tag: str, seed: str, arches: tuple[str, ...] = ("amd64", "arm64")
    ) -> tuple[str, list[str]]:
        """A multi-platform image: (index digest, platform manifest digests)."""
        platforms = []
        for arch in arches:
            d = self.image(repo, None, seed, arch=arch)
            platforms.append(
                {"mediaType": OCI_MANIFEST, "digest": d, "size": 0, "platform": {"architecture": arch, "os": "linux"}}
            )
        digests = [p["digest"] for p in platforms]
        # the size of each descriptor must be the manifest's: fetch them back
        for p in platforms:
            _, _, body = self._request("GET", f"/v2/{repo}/manifests/{p['digest']}", headers={"Accept": OCI_MANIFEST})
            p["size"] = len(body)
        return self.push_manifest(
            repo, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": platforms}, OCI_INDEX
        ), digests


def simple_signing(reference: str, digest: str) -> bytes:
    """The payload ``cosign sign`` writes (compact JSON, keys in this order)."""
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": reference},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()


def sign_bytes(private_key, payload: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        h = {"secp256r1": hashes.SHA256(), "secp384r1": hashes.SHA384()}.get(private_key.curve.name, hashes.SHA256())
        return private_key.sign(payload, ec.ECDSA(h))
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(payload)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    return private_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())


def signature_manifest(registry: Registry, repo: str, layers: list[tuple[bytes, bytes]]) -> dict:
    """A cosign signature manifest: one simple-signing layer per (payload, signature), as cosign lays it out."""
    config = b'{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}'
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": len(config),
            "digest": registry.push_blob(repo, config),
        },
        "layers": [
            {
                "mediaType": SIMPLE_SIGNING,
                "size": len(payload),
                "digest": registry.push_blob(repo, payload),
                "annotations": {"dev.cosignproject.cosign/signature": base64.b64encode(sig).decode()},
            }
            for payload, sig in layers
        ],
    }


def sign(registry: Registry, repo: str, digest: str, private_key, reference: str, payload: bytes | None = None) -> str:
    """``cosign sign --key``: push the signature manifest at tag ``sha256-<hex>.sig``; its digest."""
    payload = payload if payload is not None else simple_signing(reference, digest)
    manifest = signature_manifest(registry, repo, [(payload, sign_bytes(private_key, payload))])
    return registry.push_manifest(repo, digest.replace(":", "-") + ".sig", manifest)


def public_pem(private_key) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


class TokenProxy:
    """Docker's token authentication in front of a registry: a Bearer challenge, a token for basic credentials."""

    def __init__(self, upstream: str, username: str, password: str) -> None:
        self.upstream = upstream
        self.tokens_issued = 0
        self.requests: list[str] = []
        token = base64.urlsafe_b64encode(os.urandom(18)).decode()
        expected_basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms wait for a delayed ACK

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                proxy.requests.append(self.path)
                if self.path.startswith("/token"):
                    if self.headers.get("Authorization") != expected_basic:
                        self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                        return
                    proxy.tokens_issued += 1
                    self._send(200, json.dumps({"token": token}).encode(), "application/json")
                    return
                if self.headers.get("Authorization") != f"Bearer {token}":
                    realm = f"http://{proxy.host}/token"
                    self._send(
                        401,
                        b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                        headers={
                            "WWW-Authenticate": f'Bearer realm="{realm}",service="test-registry",scope="repository:x:pull"'
                        },
                    )
                    return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                try:
                    conn.request(
                        "GET", self.path, headers={k: v for k, v in self.headers.items() if k.lower() == "accept"}
                    )
                    resp = conn.getresponse()
                    body = resp.read()
                    hdrs = {
                        k: v for k, v in resp.getheaders() if k.lower() in ("content-type", "docker-content-digest")
                    }
                    self._send(resp.status, body, headers=hdrs)
                finally:
                    conn.close()

            def _send(self, status, body, ctype=None, headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Scripted:
    """A tiny HTTP server answering each path with a scripted (status, headers, body) or a delay (timeouts)."""

    def __init__(self, routes: dict[str, tuple[int, dict, bytes] | float]) -> None:
        self.routes = routes
        routes_ref = routes

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms wait for a delayed ACK

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                answer = routes_ref.get(path, (404, {}, b'{"errors":[{"code":"NOT_FOUND"}]}'))
                if isinstance(answer, float):
                    time.sleep(answer)
                    answer = (200, {}, b"{}")
                status, headers, body = answer
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_SHARED: dict[str, Registry] = {}


def shared_registry() -> Registry:
    """One registry per test process (the rule fixtures' cases share it); stopped and removed at exit."""
    if "r" not in _SHARED:
        import atexit
        import shutil
        import tempfile

        root = tempfile.mkdtemp(prefix="guidecheck-registry-")
        reg = Registry(Path(root))
        atexit.register(shutil.rmtree, root, True)  # runs after reg.stop (atexit is last in, first out)
        atexit.register(reg.stop)
        _SHARED["r"] = reg
    return _SHARED["r"]


_SERVED: dict[str, str] = {}  # case directory -> registry host its content was pushed to


def serve_case(case: Path, config):
    """Push a GC705 case's ``registry.json`` into the shared registry; (config mirrored to it, scan options).

    ``registry.json``: ``{"images": [{"name": "registry/repo", "tag": ..., "seed": ..., "signed-by":
    "test-key" | "another-key" | null, "signed-as": "registry/repo" (the signed docker-reference)}]}``;
    test-key is ``tests/data/cosign-test.key`` (the case's cosign.pub), another-key a key made here.
    """
    import dataclasses

    import pytest
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if BINARY is None:
        pytest.skip(SKIP_REASON)
    registry = shared_registry()
    spec = json.loads((case / "registry.json").read_text(encoding="utf-8"))
    if str(case) not in _SERVED:
        keys = {
            "test-key": load_pem_private_key((Path(__file__).parent / "data" / "cosign-test.key").read_bytes(), None),
            "another-key": ec.generate_private_key(ec.SECP256R1()),
        }
        for image in spec["images"]:
            repo = image["name"].split("/", 1)[1]
            digest = registry.image(repo, image["tag"], image["seed"])
            if image.get("signed-by"):
                sign(registry, repo, digest, keys[image["signed-by"]], image.get("signed-as") or image["name"])
        _SERVED[str(case)] = registry.host
    settings = dict(config.settings)
    mirrors = dict(settings.get("image-signature-registry-mirrors") or {})
    for origin in list(mirrors):
        mirrors[origin] = registry.host
    settings["image-signature-registry-mirrors"] = mirrors
    return dataclasses.replace(config, settings=settings), {"verify-images": True}
