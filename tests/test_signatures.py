"""GC705 and guidecheck verify-image: cosign signatures verified over a real OCI registry.

The registry is Debian's docker-registry (tests/registry_support.py) on 127.0.0.1;
images, indexes and signature manifests are pushed over plain HTTP as docker and
cosign push them.  Scripted answers (401/404/500, a slow registry, a malformed
manifest) come from a tiny local HTTP server; token auth is a proxy in front of
the real registry.  A signature made by the real cosign (fixtures/cosign/) is
verified through the registry too.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from guidecheck import signatures
from guidecheck.parsers import admission
from guidecheck.registry import Client, RegistryOptions
from guidecheck.registry.client import parse_challenge
from guidecheck.signatures import cosign
from guidecheck.signatures.verify import verify_image

from conftest import FIXTURES
from registry_support import (
    BINARY,
    DOCKER_MANIFEST,
    SKIP_REASON,
    Registry,
    Scripted,
    TokenProxy,
    digest_of,
    public_pem,
    sign,
    sign_bytes,
    signature_manifest,
    simple_signing,
)

pytestmark = pytest.mark.skipif(BINARY is None, reason=SKIP_REASON)
REAL = FIXTURES / "cosign" / "sigstore-rs-busybox"
INSECURE = RegistryOptions(insecure=("127.0.0.1:*",), timeout=5)


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    r = Registry(tmp_path_factory.mktemp("registry"))
    yield r
    r.stop()


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def pub(private_key, name="cosign.pub"):
    return cosign.load_public_key(public_pem(private_key), name)


def client(**kw):
    return Client(RegistryOptions(**{"insecure": ("127.0.0.1:*",), "timeout": 5, **kw}))


# ---------------------------------------------------------------- real cosign


def test_real_cosign_signature_verifies_offline():
    key = cosign.load_public_key((REAL / "cosign.pub").read_bytes(), "cosign.pub")
    payload = (REAL / "payload.json").read_bytes()
    sig = cosign.decode_signature((REAL / "signature.b64").read_text().strip())
    assert key.algorithm == "ecdsa-p256"
    assert cosign.verifies(key, sig, payload)
    assert not cosign.verifies(key, sig, payload.replace(b"busybox", b"busyboy"))
    claims = cosign.parse_payload(payload)
    assert claims.digest == "sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"
    assert claims.reference == "registry-testing.svc.lan/busybox"


def test_real_cosign_signature_verifies_through_the_registry(reg):
    payload = (REAL / "payload.json").read_bytes()
    sig = base64.b64decode((REAL / "signature.b64").read_text().strip())
    digest = cosign.parse_payload(payload).digest
    manifest = signature_manifest(reg, "busybox", [(payload, sig)])
    reg.push_manifest("busybox", digest.replace(":", "-") + ".sig", manifest)
    key = cosign.load_public_key((REAL / "cosign.pub").read_bytes(), "cosign.pub")
    c = client(mirrors={"registry-testing.svc.lan": reg.host})
    result = verify_image(
        c, f"registry-testing.svc.lan/busybox@{digest}", [key], aliases={reg.host: "registry-testing.svc.lan"}
    )
    assert result["status"] == "verified", result
    # the same signature under another repository name is a copied signature
    other = verify_image(client(mirrors={"registry-testing.svc.lan": reg.host}), f"{reg.host}/busybox@{digest}", [key])
    assert other["problem"] == "repository-mismatch", other


# ---------------------------------------------------------------- the registry flow


def test_tag_resolves_to_digest_and_verifies_each_algorithm(reg):
    keys = {
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    for name, k in keys.items():
        digest = reg.image(f"algo/{name}", "1.0.0", name, media_type=DOCKER_MANIFEST)
        sign(reg, f"algo/{name}", digest, k, f"{reg.host}/algo/{name}")
        result = verify_image(client(), f"{reg.host}/algo/{name}:1.0.0", [pub(k, f"{name}.pub")])
        assert result["status"] == "verified", (name, result)
        assert result["digest"] == digest


def test_index_digest_is_what_is_signed(reg, key):
    index, platforms = reg.index("multi/app", "2.0.0", "multi")
    sign(reg, "multi/app", index, key, f"{reg.host}/multi/app")
    c = client()
    by_tag = verify_image(c, f"{reg.host}/multi/app:2.0.0", [pub(key)])
    assert by_tag["status"] == "verified" and by_tag["index"] is True and by_tag["digest"] == index
    platform = verify_image(c, f"{reg.host}/multi/app@{platforms[0]}", [pub(key)])
    assert platform["problem"] == "unsigned", platform  # the index's signature does not cover a platform digest


def test_negative_cases(reg, key):
    c = client()
    trusted = [pub(key)]
    # missing .sig
    d = reg.image("neg/unsigned", "1", "unsigned")
    r = verify_image(c, f"{reg.host}/neg/unsigned:1", trusted)
    assert r["problem"] == "unsigned" and d.replace(":", "-") + ".sig" in r["message"]
    # another key
    d = reg.image("neg/other", "1", "other")
    sign(reg, "neg/other", d, ec.generate_private_key(ec.SECP256R1()), f"{reg.host}/neg/other")
    assert verify_image(c, f"{reg.host}/neg/other:1", trusted)["problem"] == "untrusted"
    # another digest: a valid signature of another image copied to this one's .sig tag
    d = reg.image("neg/digest", "1", "digest")
    payload = simple_signing(f"{reg.host}/neg/digest", "sha256:" + "1" * 64)
    sign(reg, "neg/digest", d, key, "", payload=payload)
    r = verify_image(c, f"{reg.host}/neg/digest:1", trusted)
    assert r["problem"] == "digest-mismatch" and "sha256:1111" in r["message"], r
    # tampered payload: the blob under the layer's digest is not what was signed
    d = reg.image("neg/tampered", "1", "tampered")
    good = simple_signing(f"{reg.host}/neg/tampered", d)
    evil = simple_signing(f"{reg.host}/neg/tampered", d).replace(b"cosign container", b"cosign  container")
    manifest = signature_manifest(reg, "neg/tampered", [(evil, sign_bytes(key, good))])
    reg.push_manifest("neg/tampered", d.replace(":", "-") + ".sig", manifest)
    r = verify_image(c, f"{reg.host}/neg/tampered:1", trusted)
    assert r["problem"] == "untrusted", r  # the altered payload's signature does not verify
    # an oversized payload is refused before it is read
    d = reg.image("neg/big", "1", "big")
    big = simple_signing(f"{reg.host}/neg/big", d) + b" " * (cosign.MAX_PAYLOAD_BYTES + 10)
    manifest = signature_manifest(reg, "neg/big", [(big, sign_bytes(key, big))])
    reg.push_manifest("neg/big", d.replace(":", "-") + ".sig", manifest)
    r = verify_image(c, f"{reg.host}/neg/big:1", trusted)
    assert r["problem"] == "malformed" and "bytes" in r["message"], r
    # a repository that does not exist: the registry answers 404, never a pass
    r = verify_image(c, f"{reg.host}/neg/absent:1", trusted)
    assert r["status"] == "error" and r["problem"] == "not-found"
    # no key for it, an invalid reference
    assert verify_image(c, f"{reg.host}/neg/other:1", [])["problem"] == "no-key"
    assert verify_image(c, "Not A/Ref:x", trusted)["problem"] == "invalid-reference"


def test_scripted_registry_errors_and_a_tampered_blob():
    sig_digest = "sha256:" + "a" * 64
    image_digest = "sha256:" + "b" * 64
    payload_digest = "sha256:" + "c" * 64  # the blob served is not this
    sig_manifest = json.dumps(
        {
            "schemaVersion": 2,
            "layers": [
                {
                    "mediaType": cosign.SIMPLE_SIGNING,
                    "digest": payload_digest,
                    "size": 10,
                    "annotations": {cosign.SIGNATURE_ANNOTATION: "MEUCIQ=="},
                }
            ],
        }
    ).encode()
    server = Scripted(
        {
            "/v2/denied/manifests/1": (401, {}, b'{"errors":[{"code":"UNAUTHORIZED"}]}'),
            "/v2/forbidden/manifests/1": (403, {}, b'{"errors":[{"code":"DENIED"}]}'),
            "/v2/failing/manifests/1": (500, {}, b"oops"),
            "/v2/slow/manifests/1": 3.0,
            "/v2/malformed/manifests/1": (
                200,
                {"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
                b"{not json",
            ),
            f"/v2/tampered/manifests/{image_digest.replace(':', '-')}.sig": (200, {}, sig_manifest),
            f"/v2/tampered/blobs/{payload_digest}": (200, {}, b"0123456789"),
            "/v2/huge/manifests/1": (200, {}, b"{" + b" " * (64 * 1024) + b"}"),
        }
    )
    try:
        c = Client(RegistryOptions(insecure=("127.0.0.1:*",), timeout=1, max_manifest_bytes=32 * 1024))
        key = [pub(ec.generate_private_key(ec.SECP256R1()))]
        results = {n: verify_image(c, f"{server.host}/{n}:1", key) for n in ("denied", "forbidden", "failing", "slow")}
        assert {n: (r["status"], r["problem"]) for n, r in results.items()} == {
            "denied": ("error", "denied"),
            "forbidden": ("error", "denied"),
            "failing": ("error", "server-error"),
            "slow": ("error", "unreachable"),
        }
        assert "no answer within 1 s" in results["slow"]["message"]
        malformed = verify_image(c, f"{server.host}/malformed:1", key)
        assert (malformed["status"], malformed["problem"]) == ("failed", "malformed")
        huge = verify_image(c, f"{server.host}/huge:1", key)
        assert (huge["status"], huge["problem"]) == ("failed", "malformed") and "32768" in huge["message"]
        tampered = verify_image(c, f"{server.host}/tampered@{image_digest}", key)
        assert tampered["problem"] == "tampered", tampered
        assert sig_digest  # (a scripted signature manifest is fetched by tag, not by this digest)
    finally:
        server.stop()


def test_unreachable_and_tls_by_default(reg, key):
    # TLS is on unless the registry is listed as insecure: the plain-HTTP test registry fails the handshake
    r = verify_image(Client(RegistryOptions(timeout=5)), f"{reg.host}/neg/unsigned:1", [pub(key)])
    assert r["status"] == "error" and "insecure-registries" in r["message"]
    r = verify_image(client(), "127.0.0.1:1/nothing:1", [pub(key)])
    assert r["status"] == "error" and r["problem"] == "unreachable"


def test_token_auth_with_docker_config(reg, key, tmp_path):
    d = reg.image("private/app", "1", "private")
    sign(reg, "private/app", d, key, f"{reg.host}/private/app")
    proxy = TokenProxy(reg.host, "robot", "s3cret")
    try:
        image = f"{proxy.host}/private/app:1"
        anonymous = verify_image(client(docker_config=str(tmp_path / "none.json")), image, [pub(key)])
        assert anonymous["status"] == "error" and anonymous["problem"] == "denied"
        cfg = tmp_path / "config.json"
        cfg.write_text(json.dumps({"auths": {proxy.host: {"auth": base64.b64encode(b"robot:s3cret").decode()}}}))
        c = client(docker_config=str(cfg))
        r = verify_image(c, image, [pub(key)], aliases={proxy.host: reg.host})
        assert r["status"] == "verified", r
        assert proxy.tokens_issued == 1  # one token for the repository, reused for every request
        cfg.write_text(json.dumps({"auths": {proxy.host: {"username": "robot", "password": "wrong"}}}))
        r = verify_image(client(docker_config=str(cfg)), image, [pub(key)])
        assert r["status"] == "error" and "refused the credentials" in r["message"]
        # a credential helper is never run unless the operator opts in
        cfg.write_text(json.dumps({"credHelpers": {proxy.host: "definitely-not-installed"}}))
        r = verify_image(client(docker_config=str(cfg)), image, [pub(key)])
        assert r["problem"] == "denied" and "no credentials" in r["message"]
        r = verify_image(client(docker_config=str(cfg), credential_helpers=True), image, [pub(key)])
        assert r["problem"] == "denied" and "docker-credential-definitely-not-installed" in r["message"]
    finally:
        proxy.stop()


def test_one_fetch_per_digest_and_the_disk_cache(reg, key, tmp_path):
    d = reg.image("cache/app", "1", "cache")
    sign(reg, "cache/app", d, key, f"{reg.host}/cache/app")
    c = client(cache_dir=str(tmp_path / "cache"))
    for text in (f"{reg.host}/cache/app:1", f"{reg.host}/cache/app@{d}"):
        assert verify_image(c, text, [pub(key)])["status"] == "verified"
    assert c.fetched and max(c.fetched.values()) == 1
    again = client(cache_dir=str(tmp_path / "cache"))
    assert verify_image(again, f"{reg.host}/cache/app@{d}", [pub(key)])["status"] == "verified"
    assert d not in again.fetched  # the manifest came from the disk cache
    # an altered cache entry is not trusted: it is fetched again
    entry = tmp_path / "cache" / "sha256" / d.split(":")[1]
    entry.write_bytes(b"{}")
    third = client(cache_dir=str(tmp_path / "cache"))
    assert verify_image(third, f"{reg.host}/cache/app@{d}", [pub(key)])["status"] == "verified"


def test_challenge_parsing():
    assert parse_challenge('Bearer realm="https://auth.example/token",service="registry.example",scope="a:b:pull"') == (
        "bearer",
        {"realm": "https://auth.example/token", "service": "registry.example", "scope": "a:b:pull"},
    )
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})
    assert parse_challenge("") == ("", {})


def test_bad_keys_are_configuration_errors(tmp_path):
    (tmp_path / "private.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    (tmp_path / "junk.pub").write_text("not a key")
    for name, expected in (("private.key", "private key"), ("junk.pub", "not a PEM public key"), ("absent.pub", "key")):
        with pytest.raises(signatures.SetupProblem, match=expected):
            signatures.load_key(name, str(tmp_path))


# ---------------------------------------------------------------- admission evidence


def _kyverno(action="Enforce", namespaces=("shop",)):
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "verify"},
        "spec": {
            "validationFailureAction": action,
            "rules": [
                {
                    "name": "r",
                    "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": list(namespaces)}}]},
                    "verifyImages": [{"imageReferences": ["ghcr.io/acme/*"], "attestors": [{"entries": []}]}],
                }
            ],
        },
    }


def test_admission_policies_cover_namespaces_and_images():
    [p] = admission.policies(_kyverno())
    kw = {"kind": "Deployment", "namespace_labels": None}
    assert admission.covers(p, namespace="shop", image="ghcr.io/acme/cart:1", **kw)
    assert not admission.covers(p, namespace="other", image="ghcr.io/acme/cart:1", **kw)
    assert not admission.covers(p, namespace="shop", image="docker.io/acme/cart:1", **kw)
    assert admission.policies(_kyverno(action="Audit")) == []  # blocks nothing: no evidence
    cip = {
        "apiVersion": "policy.sigstore.dev/v1beta1",
        "kind": "ClusterImagePolicy",
        "metadata": {"name": "c"},
        "spec": {"images": [{"glob": "ghcr.io/acme/*"}], "authorities": [{"key": {"data": "..."}}]},
    }
    [c] = admission.policies(cip)
    assert admission.covers(c, namespace="shop", image="ghcr.io/acme/cart@sha256:" + "a" * 64, **kw)
    assert not admission.covers(c, namespace="shop", image="ghcr.io/acme/team/cart:1", **kw)  # * stays in a segment
    labels = {"kind": "Deployment", "namespace": "shop", "image": "ghcr.io/acme/cart:1"}
    assert not admission.covers(c, namespace_labels={}, **{k: v for k, v in labels.items() if k != "kind"}, kind="Pod")
    static = {**cip, "spec": {"images": [{"glob": "**"}], "authorities": [{"static": {"action": "pass"}}]}}
    assert admission.policies(static) == []
    ratify = {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "RatifyVerification",
        "metadata": {"name": "ratify"},
        "spec": {"enforcementAction": "deny", "match": {"namespaces": ["shop"]}},
    }
    [r] = admission.policies(ratify)
    assert admission.covers(r, namespace="shop", image="anything/at:all", **kw)


def test_admission_evidence_is_the_reason_of_the_pass():
    from guidecheck import runner
    from guidecheck.catalog import load_rules
    from guidecheck.config import Config

    case = FIXTURES / "rules" / "GC705" / "pass-admission-kyverno"
    config = Config()
    import dataclasses

    result = runner.scan([str(case)], dataclasses.replace(config, select=("GC705",)), load_rules())
    [outcome] = [o for o in result.outcomes if o.rule_id == "GC705"]
    assert outcome.status.value == "pass"
    assert (
        outcome.reason
        == "'registry.example.com/shop/cart:1.4.2-3f2c1ab' is verified at admission by ClusterPolicy/verify-shop-images"
    )


# ---------------------------------------------------------------- the command line


def _cli(*args, cwd=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "guidecheck", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def test_verify_image_command_exit_codes(reg, key, tmp_path):
    d = reg.image("cli/app", "1", "cli")
    sign(reg, "cli/app", d, key, f"{reg.host}/cli/app")
    unsigned = reg.image("cli/unsigned", "1", "cli-unsigned")
    (tmp_path / "cosign.pub").write_bytes(public_pem(key))
    base = ["verify-image", "--isolated", "--key", str(tmp_path / "cosign.pub"), "--insecure-registry", "127.0.0.1:*"]
    ok = _cli(*base, f"{reg.host}/cli/app:1", "--format", "json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["findings"] == []
    assert "1 of 1 image(s) verified" in ok.stderr
    bad = _cli(*base, f"{reg.host}/cli/app:1", f"{reg.host}/cli/unsigned:1", cwd=tmp_path)
    assert bad.returncode == 1, bad.stderr
    assert f"GC705 image '{reg.host}/cli/unsigned:1' has no valid signature by a trusted key: unsigned" in bad.stdout
    assert unsigned.replace(":", "-") in bad.stdout
    down = _cli(*base, "127.0.0.1:1/cli/app:1", cwd=tmp_path)
    assert down.returncode == 3, down.stdout + down.stderr
    assert "GC004" in down.stdout and "connection refused" in down.stdout
    nokey = _cli("verify-image", "--isolated", "--key", str(tmp_path / "absent.pub"), "x/y:1", cwd=tmp_path)
    assert nokey.returncode == 2 and "absent.pub" in nokey.stderr


def test_scan_and_audit_verify_images(reg, key, tmp_path, monkeypatch):
    # trusted keys are the organisation's: a repository's own file may not add them (docs/ci-gate.md)
    monkeypatch.setenv("GUIDECHECK_CONFIG", str(tmp_path / ".guidecheck.yaml"))
    d = reg.image("svc/app", "1.0.0-abcdef1", "svc")
    sign(reg, "svc/app", d, key, f"{reg.host}/svc/app")
    (tmp_path / "cosign.pub").write_bytes(public_pem(key))
    (tmp_path / ".guidecheck.yaml").write_text(
        "settings:\n"
        f'  image-signature-keys: {{"{reg.host}/svc/*": [cosign.pub], "127.0.0.1:1/*": [cosign.pub]}}\n'
        '  image-signature-insecure-registries: ["127.0.0.1:*"]\n'
    )
    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: svc}\nspec:\n"
        "  selector: {matchLabels: {app: app}}\n  template:\n    metadata: {labels: {app: app}}\n    spec:\n"
        f"      containers:\n        - name: app\n          image: {reg.host}/svc/app:1.0.0-abcdef1\n"
        f"        - name: down\n          image: 127.0.0.1:1/svc/down:1.0.0-abcdef1\n"
    )
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "deploy.yaml").write_text(deploy)
    plain = _cli("scan", "k8s/deploy.yaml", "--select", "GC705", cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout  # not verified without --verify-images: not applicable
    scanned = _cli("scan", "k8s/deploy.yaml", "--select", "GC705,GC004", "--verify-images", "-f", "json", cwd=tmp_path)
    assert scanned.returncode == 3, scanned.stdout + scanned.stderr  # one registry unreachable: incomplete
    report = json.loads(scanned.stdout)
    assert [f["rule_id"] for f in report["findings"]] == ["GC004"], report["findings"]
    assert any("127.0.0.1:1/svc/down" in r for r in report["incomplete"])
    # the audit verifies what a Pod runs: its imageID digest, not the tag
    pod = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "app-1", "namespace": "svc"},
                "spec": {"containers": [{"name": "app", "image": f"{reg.host}/svc/app:moved"}]},
                "status": {"containerStatuses": [{"name": "app", "imageID": f"{reg.host}/svc/app@{d}"}]},
            },
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "other-1", "namespace": "svc"},
                "spec": {"containers": [{"name": "other", "image": f"{reg.host}/svc/other:1"}]},
                "status": {
                    "containerStatuses": [
                        {"name": "other", "imageID": f"docker-pullable://{reg.host}/svc/other@{digest_of(b'x')}"}
                    ]
                },
            },
        ],
    }
    (tmp_path / "dump.json").write_text(json.dumps(pod))
    audited = _cli(
        "audit", "--from-dump", "dump.json", "--select", "GC705", "--verify-images", "-f", "json", cwd=tmp_path
    )
    report = json.loads(audited.stdout)
    assert audited.returncode == 1, audited.stderr  # svc/other runs a digest nobody signed
    [finding] = report["findings"]
    assert finding["path"] == "dump.json" and f"svc/other@{digest_of(b'x')}" in finding["message"]
    assert "unsigned" in finding["message"]
    passes = [o for o in report["outcomes"] if o["rule_id"] == "GC705" and o["status"] == "pass"]
    assert len(passes) == 1 and f"svc/app@{d}" in passes[0]["reason"], report["outcomes"]


def test_verification_cpu_is_bounded(reg, key):
    """Verifying the same image again costs no request: one fetch per digest per run."""
    d = reg.image("bound/app", "1", "bound")
    sign(reg, "bound/app", d, key, f"{reg.host}/bound/app")
    v = signatures.Verifier(signatures.VerifyOptions(keys={"*": [pub(key)]}, registry=INSECURE))
    start = time.process_time()
    for _ in range(50):
        assert v.verify(f"{reg.host}/bound/app:1")["status"] == "verified"
    assert v.client.requests <= 6
    assert time.process_time() - start < 5


def test_verify_image_help_is_documented():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "commands.md").read_text(encoding="utf-8")
    assert "guidecheck verify-image" in docs


def test_oci_referrers_are_read_where_the_registry_has_the_api(key):
    """distribution 2.x has no referrers API (the tag schema is the fallback); an OCI 1.1 registry is scripted here."""
    image = "sha256:" + "d" * 64
    payload = simple_signing("127.0.0.1/ref/app", image)
    blob = digest_of(payload)
    sig_manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": cosign.SIGNATURE_ARTIFACT,
            "layers": [
                {
                    "mediaType": cosign.SIMPLE_SIGNING,
                    "digest": blob,
                    "size": len(payload),
                    "annotations": {cosign.SIGNATURE_ANNOTATION: base64.b64encode(sign_bytes(key, payload)).decode()},
                }
            ],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image, "size": 1},
        }
    ).encode()
    referrers = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest_of(sig_manifest),
                    "size": len(sig_manifest),
                    "artifactType": cosign.SIGNATURE_ARTIFACT,
                },
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + "e" * 64,
                    "size": 1,
                    "artifactType": "application/spdx+json",
                },
            ],
        }
    ).encode()
    server = Scripted(
        {
            f"/v2/ref/app/referrers/{image}": (
                200,
                {"Content-Type": "application/vnd.oci.image.index.v1+json"},
                referrers,
            ),
            f"/v2/ref/app/manifests/{digest_of(sig_manifest)}": (200, {}, sig_manifest),
            f"/v2/ref/app/blobs/{blob}": (200, {}, payload),
        }
    )
    try:
        c = client()
        r = verify_image(c, f"{server.host}/ref/app@{image}", [pub(key)], aliases={server.host: "127.0.0.1"})
        assert r["status"] == "verified", r
        assert "sha256:" + "e" * 64 not in c.fetched  # another artifact type is not fetched
    finally:
        server.stop()
