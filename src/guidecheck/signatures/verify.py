"""Verify one image's cosign signatures against trusted keys, over the OCI distribution API.

The steps (what ``cosign verify --key`` checks, in Python):

1. resolve the reference to the digest cosign signs: a digest as written, or the
   digest of the manifest the tag points at (for a multi-platform image, the
   index's digest, which is what ``cosign sign`` signs by default);
2. find the signature manifests: the OCI 1.1 referrers of that digest (artifact
   type ``application/vnd.dev.cosign.artifact.sig.v1+json``) where the registry
   has the referrers API, and the tag ``sha256-<hex>.sig``;
3. for each simple-signing layer: fetch the payload blob (its digest checked,
   its size capped), verify the ``dev.cosignproject.cosign/signature``
   annotation over the payload's exact bytes with each trusted key;
4. a verified payload must name the image's digest
   (``critical.image.docker-manifest-digest``) and its repository
   (``critical.identity.docker-reference``; a registry mirror or alias counts
   as the name the workload uses).

The result is a plain dict (it becomes a ``live`` record of the scan and can be
written to a dump): ``status`` is ``verified``, ``failed`` (with ``problem``:
``unsigned``, ``untrusted``, ``digest-mismatch``, ``repository-mismatch``,
``tampered``, ``malformed``, ``no-key``, ``invalid-reference``) or ``error``
(the registry could not be asked: unreachable, denied, failing; the audit is
then incomplete, never passed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from guidecheck.parsers import images
from guidecheck.registry.client import NOT_FOUND, TOO_LARGE, Client, RegistryError
from guidecheck.signatures import cosign

MAX_SIGNATURE_MANIFESTS = 16
MAX_SIGNATURE_LAYERS = 64
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_REGISTRY = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def canonical_name(ref: images.ImageRef) -> str:
    """``registry/repository`` with Docker Hub spelled ``docker.io`` and its official images under ``library/``."""
    registry = ref.registry or "docker.io"
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = "docker.io"
    repo = ref.repository
    if registry == "docker.io" and "/" not in repo:
        repo = f"library/{repo}"
    return f"{registry}/{repo}"


def same_repository(signed: str, ref: images.ImageRef, aliases: dict[str, str] | None = None) -> bool:
    """Whether a payload's docker-reference names the image's repository (tag and digest ignored).

    ``aliases`` maps a registry to the one it mirrors (either direction counts).
    """
    parsed = images.parse(signed)
    if parsed is None:
        return False
    a, b = canonical_name(parsed), canonical_name(ref)
    if a == b:
        return True
    for mirror, origin in (aliases or {}).items():
        for x, y in ((mirror, origin), (origin, mirror)):
            if a.startswith(f"{x}/") and f"{y}/{a[len(x) + 1 :]}" == b:
                return True
    return False


def verify_image(
    client: Client,
    text: str,
    keys: Sequence[cosign.PublicKey],
    *,
    aliases: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Verify ``text`` (an image reference) with ``keys``; see the module docstring for the result."""
    result: dict[str, Any] = {"image": text, "keys": [f"{k.name} ({k.algorithm})" for k in keys]}
    ref = images.parse(text)
    problem = None
    if ref is None:
        problem = "not an image reference"
    elif ref.registry is not None and not _REGISTRY.match(ref.registry):
        problem = f"registry '{ref.registry[:60]}' is not host[:port]"
    elif not _REPOSITORY.match(ref.repository):
        problem = f"repository '{ref.repository[:60]}' is not a valid repository name"
    elif ref.digest is not None and not _DIGEST.match(ref.digest):
        problem = f"digest '{ref.digest[:80]}' is not sha256:<64 hex digits>"
    if problem or ref is None:
        return {**result, "status": "failed", "problem": "invalid-reference", "message": problem}
    result["repository"] = canonical_name(ref)
    if not keys:
        return {**result, "status": "failed", "problem": "no-key", "message": "no trusted key is configured for it"}
    try:
        return _verify(client, ref, keys, aliases or {}, result)
    except RegistryError as exc:
        if exc.incomplete or exc.kind == NOT_FOUND:
            return {**result, "status": "error", "problem": exc.kind, "message": str(exc)}
        return {**result, "status": "failed", "problem": "malformed", "message": str(exc)}


def _verify(
    client: Client, ref: images.ImageRef, keys: Sequence[cosign.PublicKey], aliases: dict[str, str], result: dict
) -> dict[str, Any]:
    repo = ref.repository if ref.registry is not None or "/" in ref.repository else f"library/{ref.repository}"
    if ref.digest is not None:
        digest = ref.digest
    else:
        manifest = client.manifest(ref.registry, repo, ref.tag or "latest")
        digest = manifest.digest
        result["index"] = manifest.is_index
    result["digest"] = digest
    layers, notes = _signature_layers(client, ref.registry, repo, digest)
    if not layers:
        why = f"no signature at tag {digest.replace(':', '-')}.sig and no signature referrer"
        if notes:
            why += f" ({'; '.join(notes)})"
        return {**result, "status": "failed", "problem": "unsigned", "message": f"unsigned: {why}"}
    failures: list[tuple[str, str]] = []  # (problem, message) per layer, in order
    for layer in layers:
        outcome = _check_layer(client, ref, repo, digest, layer, keys, aliases)
        if outcome[0] == "verified":
            return {**result, "status": "verified", "key": outcome[1], "message": f"signed by {outcome[1]}"}
        failures.append(outcome)
    order = ["repository-mismatch", "digest-mismatch", "tampered", "malformed", "untrusted"]
    problem, message = min(failures, key=lambda f: order.index(f[0]) if f[0] in order else len(order))
    if problem == "untrusted":
        message = (
            f"signed by another key: none of the {len(failures)} signature(s) verifies with "
            f"{', '.join(k.name for k in keys)}"
        )
    return {**result, "status": "failed", "problem": problem, "message": message, "signatures": len(failures)}


def _signature_layers(
    client: Client, registry: str | None, repo: str, digest: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The simple-signing layers of every signature manifest of ``digest`` (referrers first, then the tag)."""
    manifests = []
    notes: list[str] = []
    referrers = client.referrers(registry, repo, digest, cosign.SIGNATURE_ARTIFACT)
    for desc in (referrers or [])[:MAX_SIGNATURE_MANIFESTS]:
        d = desc.get("digest")
        if isinstance(d, str) and _DIGEST.match(d):
            manifests.append(client.manifest(registry, repo, d))
    try:
        manifests.append(client.manifest(registry, repo, digest.replace(":", "-") + ".sig"))
    except RegistryError as exc:
        if exc.kind != NOT_FOUND:
            raise
    layers: list[dict[str, Any]] = []
    for m in manifests:
        raw_layers = m.data.get("layers")
        if not isinstance(raw_layers, list):
            notes.append(f"signature manifest {m.digest} has no layers")
            continue
        for layer in raw_layers:
            if isinstance(layer, dict) and layer.get("mediaType") == cosign.SIMPLE_SIGNING:
                layers.append(layer)
            elif not isinstance(layer, dict):
                notes.append(f"signature manifest {m.digest} has a malformed layer")
    return layers[:MAX_SIGNATURE_LAYERS], notes


def _check_layer(
    client: Client,
    ref: images.ImageRef,
    repo: str,
    digest: str,
    layer: dict[str, Any],
    keys: Sequence[cosign.PublicKey],
    aliases: dict[str, str],
) -> tuple[str, str]:
    blob_digest = layer.get("digest")
    if not isinstance(blob_digest, str) or not _DIGEST.match(blob_digest):
        return "malformed", f"a signature layer has no valid sha256 digest ({str(blob_digest)[:80]!r})"
    size = layer.get("size")
    if isinstance(size, int) and size > cosign.MAX_PAYLOAD_BYTES:
        return "malformed", f"a signature payload declares {size} bytes (at most {cosign.MAX_PAYLOAD_BYTES})"
    signature = cosign.decode_signature((layer.get("annotations") or {}).get(cosign.SIGNATURE_ANNOTATION))
    if signature is None:
        return "malformed", f"signature layer {blob_digest[:19]} has no base64 {cosign.SIGNATURE_ANNOTATION} annotation"
    try:
        payload = client.blob(ref.registry, repo, blob_digest, cosign.MAX_PAYLOAD_BYTES)
    except RegistryError as exc:
        if exc.kind == TOO_LARGE:
            return "malformed", f"signature payload {blob_digest[:19]}: {exc}"
        if exc.kind == "invalid":
            return "tampered", f"the signature payload does not match its layer digest {blob_digest[:19]}... (altered)"
        raise
    signer = next((k for k in keys if cosign.verifies(k, signature, payload)), None)
    if signer is None:
        return "untrusted", "signed by another key"
    try:
        claims = cosign.parse_payload(payload)
    except cosign.PayloadError as exc:
        return "malformed", f"the payload signed by {signer.name} is not a simple-signing document: {exc}"
    if claims.digest != digest:
        return (
            "digest-mismatch",
            f"digest mismatch: the signature by {signer.name} is for {claims.digest[:80]}, the image is {digest}",
        )
    if not same_repository(claims.reference, ref, aliases):
        return (
            "repository-mismatch",
            f"repository mismatch: signed for '{claims.reference[:120]}', deployed from '{canonical_name(ref)}'",
        )
    return "verified", f"{signer.name} ({signer.algorithm}, {signer.fingerprint})"


__all__ = ["canonical_name", "same_repository", "verify_image"]
