"""Cosign's key-based signatures: public keys, the simple-signing payload, and the signature check.

A cosign signature of an image is a layer of a signature manifest (tag
``sha256-<hex>.sig`` of the image's repository, or an OCI 1.1 referrer) whose
blob is the *simple-signing* payload::

    {"critical": {"identity": {"docker-reference": "registry/repo"},
                  "image": {"docker-manifest-digest": "sha256:..."},
                  "type": "cosign container image signature"},
     "optional": {...}}

and whose ``dev.cosignproject.cosign/signature`` annotation holds the base64
signature of those exact bytes.  Keys are PEM public keys (``cosign.pub``):
ECDSA P-256/P-384/P-521 (SHA-256/384/512 as cosign picks by curve, SHA-256 as
well), Ed25519, RSA (PKCS#1 v1.5 or PSS with SHA-256).  ``cryptography`` is
imported only when a key is loaded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
PAYLOAD_TYPES = ("cosign container image signature", "https://sigstore.dev/cosign/sign/v1")
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_KEY_BYTES = 64 * 1024


class KeyProblem(ValueError):
    """A public key that cannot be used (not PEM, not a public key, an unsupported algorithm)."""


class PayloadError(ValueError):
    """A payload that is not a simple-signing document."""


@dataclass(frozen=True)
class PublicKey:
    name: str  # where it came from: a file name, 'inline key 1', ...
    algorithm: str  # ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, ...
    fingerprint: str  # sha256 of the DER SubjectPublicKeyInfo, first 16 hex digits
    key: Any  # a cryptography public key


@dataclass(frozen=True)
class Payload:
    digest: str
    reference: str
    type: str
    optional: dict


def load_public_key(pem: bytes, name: str) -> PublicKey:
    """A PEM public key (``-----BEGIN PUBLIC KEY-----``); raises :class:`KeyProblem`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if len(pem) > MAX_KEY_BYTES:
        raise KeyProblem(f"{name}: larger than {MAX_KEY_BYTES} bytes")
    if b"PRIVATE KEY" in pem:
        raise KeyProblem(f"{name}: a private key; give the public key (cosign.pub)")
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyProblem(f"{name}: not a PEM public key ({str(exc).splitlines()[0][:80]})") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise KeyProblem(f"{name}: unsupported elliptic curve {key.curve.name}")
        algorithm = {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384", "secp521r1": "ecdsa-p521"}[key.curve.name]
    elif isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = "ed25519"
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise KeyProblem(f"{name}: RSA key of {key.key_size} bits (at least 2048)")
        algorithm = f"rsa-{key.key_size}"
    else:
        raise KeyProblem(f"{name}: unsupported key type {type(key).__name__}")
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return PublicKey(name, algorithm, hashlib.sha256(der).hexdigest()[:16], key)


def decode_signature(text: object) -> bytes | None:
    """The annotation's base64 signature; None when absent or not base64."""
    if not isinstance(text, str) or not text or len(text) > 16 * 1024:
        return None
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def verifies(key: PublicKey, signature: bytes, payload: bytes) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``payload`` (cosign's algorithms)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    k = key.key
    attempts: list[Any] = []
    if isinstance(k, ec.EllipticCurvePublicKey):
        by_curve = {"secp256r1": hashes.SHA256(), "secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}
        chosen = by_curve[k.curve.name]
        hashes_to_try = [chosen] if isinstance(chosen, hashes.SHA256) else [chosen, hashes.SHA256()]
        attempts = [lambda h=h: k.verify(signature, payload, ec.ECDSA(h)) for h in hashes_to_try]
    elif isinstance(k, ed25519.Ed25519PublicKey):
        attempts = [lambda: k.verify(signature, payload)]
    elif isinstance(k, rsa.RSAPublicKey):
        attempts = [
            lambda: k.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256()),
            lambda: k.verify(
                signature,
                payload,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                hashes.SHA256(),
            ),
        ]
    for attempt in attempts:
        try:
            attempt()
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def parse_payload(raw: bytes) -> Payload:
    """The simple-signing payload's claims; raises :class:`PayloadError`."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload of {len(raw)} bytes (at most {MAX_PAYLOAD_BYTES})")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("payload is not JSON") from None
    critical = data.get("critical") if isinstance(data, dict) else None
    if not isinstance(critical, dict):
        raise PayloadError("payload has no 'critical' object")
    image = critical.get("image")
    identity = critical.get("identity")
    digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    reference = identity.get("docker-reference") if isinstance(identity, dict) else None
    kind = critical.get("type")
    if not isinstance(digest, str) or not digest:
        raise PayloadError("payload has no critical.image.docker-manifest-digest")
    if not isinstance(reference, str):
        raise PayloadError("payload has no critical.identity.docker-reference")
    if kind not in PAYLOAD_TYPES:
        raise PayloadError(f"payload type {str(kind)[:60]!r} is not a cosign container image signature")
    optional = data.get("optional") if isinstance(data.get("optional"), dict) else {}
    return Payload(digest, reference, str(kind), optional)


__all__ = [
    "CERTIFICATE_ANNOTATION",
    "SIGNATURE_ANNOTATION",
    "SIGNATURE_ARTIFACT",
    "SIMPLE_SIGNING",
    "KeyProblem",
    "Payload",
    "PayloadError",
    "PublicKey",
    "decode_signature",
    "load_public_key",
    "parse_payload",
    "verifies",
]
