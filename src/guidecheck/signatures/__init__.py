"""Cosign signature verification of deployed images (GC705, ``guidecheck verify-image``).

:mod:`guidecheck.signatures.cosign` holds the keys, payloads and signature check
(``cryptography``, imported lazily); :mod:`guidecheck.signatures.verify` one
image's verification over the registry (:mod:`guidecheck.registry`).  This module
ties them to the configuration and to a scan or an audit:

* :func:`options_from_settings` reads GC705's settings (keys per registry or
  repository glob, mirrors, insecure registries, credential helpers, the cache,
  the timeout) and raises :class:`SetupProblem` for a key that cannot be used;
* :class:`Verifier` verifies each distinct image once per run;
* :func:`verify_targets` collects the images of the workloads of a scan or an
  audit (a running Pod's image by the digest it runs), verifies them, and
  returns ``live`` records (``probe: signature``) that GC705 judges, plus
  GC004 coverage records and the reasons the run is incomplete for every image
  whose registry could not be asked.

Keyless signatures (a Fulcio certificate and a Rekor bundle) are not verified:
see docs/signatures.md.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from guidecheck.model import ObjectRef, Target

if TYPE_CHECKING:
    from guidecheck.registry.client import RegistryOptions

PROBE = "signature"
KIND = "ImageSignature"


class SetupProblem(Exception):
    """A key or a setting of the verification that cannot be used (a configuration error: exit 2)."""


def _registry_options() -> RegistryOptions:
    """The registry client's defaults (the client, with http.client and ssl, is imported only to verify)."""
    from guidecheck.registry.client import RegistryOptions

    return RegistryOptions()


@dataclass
class VerifyOptions:
    """What signature verification uses: the keys, the registry options and mirrors."""

    keys: dict[str, list[Any]] = field(default_factory=dict)  # glob -> loaded cosign.PublicKey list
    registry: RegistryOptions = field(default_factory=lambda: _registry_options())
    aliases: dict[str, str] = field(default_factory=dict)  # mirror endpoint -> the registry it mirrors


def _value(settings: Mapping[str, Any], name: str) -> Any:
    from guidecheck.catalog import load_settings

    spec = load_settings()[name]
    return spec.combine(settings.get(name, spec.default))


def load_key(spec: str, base_dir: str) -> Any:
    """A key given as a PEM text or a file path (relative to ``base_dir``); raises :class:`SetupProblem`."""
    from guidecheck.signatures import cosign

    if "-----BEGIN" in spec:
        pem, name = spec.encode(), "inline key"
    else:
        path = spec if os.path.isabs(spec) else os.path.join(base_dir, spec)
        name = os.path.basename(spec) or spec
        try:
            with open(path, "rb") as fh:
                pem = fh.read(cosign.MAX_KEY_BYTES + 1)
        except OSError as exc:
            raise SetupProblem(f"key {spec}: {exc.strerror or exc}") from None
    try:
        return cosign.load_public_key(pem, name)
    except cosign.KeyProblem as exc:
        raise SetupProblem(f"key {exc}") from None


def options_from_settings(
    settings: Mapping[str, Any],
    base_dir: str,
    *,
    extra_keys: Sequence[str] = (),
    insecure: Sequence[str] = (),
    cache_dir: str | None = None,
    docker_config: str | None = None,
) -> VerifyOptions:
    """GC705's settings (paths relative to ``base_dir``, the configuration's directory) plus command-line keys.

    ``extra_keys`` (``--key``) are trusted for every image.  Raises :class:`SetupProblem`.
    """
    configured = _value(settings, "image-signature-keys") or {}
    keys: dict[str, list[Any]] = {}
    cache: dict[str, Any] = {}
    for glob, specs in sorted(configured.items()):
        keys[glob] = [cache.setdefault(s, load_key(s, base_dir)) for s in specs]
    if extra_keys:
        keys.setdefault("*", []).extend(cache.setdefault(s, load_key(s, os.getcwd())) for s in extra_keys)
    mirrors = dict(_value(settings, "image-signature-registry-mirrors") or {})
    configured_cache = _value(settings, "image-signature-cache-dir")
    if cache_dir is None and isinstance(configured_cache, str) and configured_cache:
        cache_dir = configured_cache if os.path.isabs(configured_cache) else os.path.join(base_dir, configured_cache)
    from guidecheck.registry.client import RegistryOptions

    registry = RegistryOptions(
        insecure=tuple(_value(settings, "image-signature-insecure-registries") or ()) + tuple(insecure),
        mirrors=mirrors,
        timeout=float(_value(settings, "image-signature-timeout")),
        docker_config=docker_config,
        credential_helpers=bool(_value(settings, "image-signature-credential-helpers")),
        cache_dir=cache_dir,
    )
    return VerifyOptions(keys=keys, registry=registry, aliases={v: k for k, v in mirrors.items()})


class Verifier:
    """Verifies images with the configured keys; each distinct reference once per run."""

    def __init__(self, options: VerifyOptions) -> None:
        self.options = options
        from guidecheck.registry.client import Client

        self.client = Client(options.registry)
        self.results: dict[str, dict[str, Any]] = {}

    def keys_for(self, text: str) -> list[Any]:
        """The keys of every glob matching the image's repository (``registry/path``, as written or canonical)."""
        from guidecheck.parsers import images
        from guidecheck.signatures.verify import canonical_name

        ref = images.parse(text)
        if ref is None:
            return []
        names = {ref.name, canonical_name(ref)}
        out: list[Any] = []
        for glob, keys in self.options.keys.items():
            if any(fnmatch.fnmatchcase(n, glob) for n in names):
                out.extend(k for k in keys if k not in out)
        return out

    def verify(self, text: str) -> dict[str, Any]:
        from guidecheck.signatures.verify import verify_image

        text = text.strip()
        if text not in self.results:
            self.results[text] = verify_image(self.client, text, self.keys_for(text), aliases=self.options.aliases)
        return self.results[text]


def workload_images(target: Target, workload_kinds: Iterable[str]) -> list[str]:
    """The images a workload target runs: every container's ``image``; for a Pod, the digest it runs."""
    from guidecheck.parsers import images, k8s

    obj = target.data
    if target.kind != "k8s" or not isinstance(obj, dict) or obj.get("kind") not in set(workload_kinds):
        return []
    out: list[str] = []
    running = running_digests(obj)
    for c in k8s.containers(obj, "every"):
        raw = c.data.get("image")
        if not isinstance(raw, str) or not raw.strip() or images.parse(raw) is None:
            continue
        out.append(running.get(c.name, raw.strip()))
    return out


def running_digests(obj: Mapping[str, Any]) -> dict[str, str]:
    """A Pod's containers -> ``repository@sha256:...`` of the image it runs (status ``imageID``)."""
    from guidecheck.parsers import images

    status = obj.get("status")
    out: dict[str, str] = {}
    if not isinstance(status, dict):
        return out
    spec_images: dict[str, str] = {}
    raw_spec = obj.get("spec")
    spec: Mapping[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    for section in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(section) or ():
            if isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("image"), str):
                spec_images[c["name"]] = c["image"]
    for section in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(section) or ():
            if not isinstance(cs, dict):
                continue
            name, image_id = cs.get("name"), cs.get("imageID")
            if not isinstance(name, str) or not isinstance(image_id, str) or "@sha256:" not in image_id:
                continue
            digest = image_id.rsplit("@", 1)[1]
            ref = images.parse(spec_images.get(name, ""))
            if ref is not None and len(digest) == 71:
                out[name] = f"{ref.name}@{digest}"
    return out


def record_target(result: dict[str, Any], *, path: str, line: int = 1, standalone: bool = False) -> Target:
    """A verification result as a ``live`` target (GC705 judges it; a workload's check looks it up)."""
    data = {"probe": PROBE, **result, "standalone": standalone}
    return Target(
        kind="live", path=path, line=line, ref=ObjectRef(KIND, None, str(result.get("image"))[:200]), data=data
    )


def gap_target(result: dict[str, Any], *, path: str) -> Target:
    """A GC004 coverage record: the registry of an image could not be asked."""
    data = {
        "probe": "coverage",
        "kind": KIND,
        "resource": str(result.get("image"))[:200],
        "namespace": None,
        "where": f"from its registry ({str(result.get('repository') or result.get('image'))[:200]})",
        "error": result.get("message"),
        "status": result.get("problem"),
    }
    return Target(kind="live", path=path, line=1, ref=ObjectRef(KIND, None, str(result.get("image"))[:200]), data=data)


def incomplete_reason(result: dict[str, Any]) -> str:
    return f"the signature of image {result.get('image')} could not be verified: {result.get('message')}"


def verify_targets(
    targets: Sequence[Target], options: VerifyOptions, workload_kinds: Iterable[str], *, path: str
) -> tuple[list[Target], list[str], Verifier]:
    """Verify every workload image of ``targets``: (live records and gaps, reasons of incompleteness, verifier).

    ``path`` names the records (the scan's first input, or ``cluster/<context>``).
    """
    verifier = Verifier(options)
    kinds = list(workload_kinds)
    seen: list[str] = []
    for t in targets:
        for image in workload_images(t, kinds):
            if image not in seen:
                seen.append(image)
    records: list[Target] = []
    incomplete: list[str] = []
    for image in sorted(seen):
        result = verifier.verify(image)
        records.append(record_target(result, path=path))
        if result.get("status") == "error":
            records.append(gap_target(result, path=path))
            incomplete.append(incomplete_reason(result))
    return records, incomplete, verifier


def verify_images(images: Sequence[str], options: VerifyOptions) -> tuple[list[Target], list[str]]:
    """``guidecheck verify-image``: one standalone record per image (named by the image), gaps, incompleteness."""
    verifier = Verifier(options)
    targets: list[Target] = []
    incomplete: list[str] = []
    for image in dict.fromkeys(i.strip() for i in images):
        result = verifier.verify(image)
        targets.append(record_target(result, path=image, standalone=True))
        if result.get("status") == "error":
            targets.append(gap_target(result, path=image))
            incomplete.append(incomplete_reason(result))
    return targets, incomplete


__all__ = [
    "KIND",
    "PROBE",
    "SetupProblem",
    "Verifier",
    "VerifyOptions",
    "gap_target",
    "incomplete_reason",
    "load_key",
    "options_from_settings",
    "record_target",
    "running_digests",
    "verify_images",
    "verify_targets",
    "workload_images",
]
