"""Admission policies that verify image signatures: which namespaces and images they cover.

GC705 reports a workload whose images such a policy verifies as passing, with
the policy as its evidence: the cluster refuses an unsigned image there at
admission time.  Recognised, when they enforce (a policy in audit or warn mode
blocks nothing and is no evidence):

* Kyverno ``ClusterPolicy``/``Policy`` with a rule's ``verifyImages`` entry that
  has attestors (``imageReferences`` globs; the rule's ``match`` kinds and
  namespaces; ``validationFailureAction``/``failureAction: Enforce``);
* Sigstore policy-controller ``ClusterImagePolicy`` (``spec.images[].glob``,
  an authority with ``key`` or ``keyless``, ``mode`` not ``warn``); the
  controller only acts in namespaces labelled ``policy.sigstore.dev/include:
  "true"``, which is required when the Namespace object is known;
* Ratify through its Gatekeeper constraint ``RatifyVerification`` (every image;
  ``spec.match`` namespaces, ``enforcementAction`` deny).

Connaisseur keeps its policy in its Helm values, not in cluster objects: it is
not recognised (docs/signatures.md).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guidecheck import globs
from guidecheck.lazyre import lazy
from guidecheck.parsers.images import ImageRef, parse

SIGSTORE_INCLUDE_LABEL = "policy.sigstore.dev/include"


@dataclass(frozen=True)
class ImagePolicy:
    """An admission policy that verifies image signatures, and what it covers."""

    kind: str  # ClusterPolicy, Policy, ClusterImagePolicy, RatifyVerification
    name: str
    namespace: str | None  # a namespaced Kyverno Policy covers only its namespace
    images: tuple[str, ...]  # globs; ("*",) for every image
    glob_style: str  # "kyverno" (fnmatch) or "sigstore" (* within a path segment, ** across)
    namespaces: tuple[str, ...]  # globs of namespaces matched; () for all
    excluded: tuple[str, ...]  # globs of namespaces excluded
    kinds: tuple[str, ...]  # the kinds its rule matches; () for all
    needs_label: bool  # policy-controller: namespaces opt in with a label

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.namespace + '/' if self.namespace else ''}{self.name}"


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def policies(obj: Mapping[str, Any]) -> list[ImagePolicy]:
    """The image-verifying policies one object declares (none for any other object)."""
    kind = obj.get("kind")
    api = obj.get("apiVersion")
    meta = _map(obj.get("metadata"))
    raw_name = meta.get("name")
    name = raw_name if isinstance(raw_name, str) else "?"
    spec = _map(obj.get("spec"))
    if not isinstance(api, str):
        return []
    if api.startswith("kyverno.io/") and kind in ("ClusterPolicy", "Policy"):
        raw_ns = meta.get("namespace")
        ns = raw_ns if kind == "Policy" and isinstance(raw_ns, str) else None
        return _kyverno(spec, str(kind), name, ns)
    if api.startswith("policy.sigstore.dev/") and kind == "ClusterImagePolicy":
        return _sigstore(spec, name)
    if api.startswith("constraints.gatekeeper.sh/") and kind == "RatifyVerification":
        if str(spec.get("enforcementAction") or "deny").lower() != "deny":
            return []
        match = _map(spec.get("match"))
        return [
            ImagePolicy(
                "RatifyVerification",
                name,
                None,
                ("*",),
                "kyverno",
                _strs(match.get("namespaces")),
                _strs(match.get("excludedNamespaces")),
                tuple(k for m in match.get("kinds") or () if isinstance(m, Mapping) for k in _strs(m.get("kinds"))),
                False,
            )
        ]
    return []


def _kyverno(spec: Mapping[str, Any], kind: str, name: str, ns: str | None) -> list[ImagePolicy]:
    out: list[ImagePolicy] = []
    default_action = str(spec.get("validationFailureAction") or "Audit").lower()
    for rule in spec.get("rules") or ():
        if not isinstance(rule, Mapping):
            continue
        namespaces: list[str] = []
        kinds: list[str] = []
        match = _map(rule.get("match"))
        blocks = [b for key in ("any", "all") for b in match.get(key) or () if isinstance(b, Mapping)]
        if "resources" in match:
            blocks.append(match)
        for b in blocks:
            res = _map(b.get("resources"))
            namespaces += _strs(res.get("namespaces"))
            kinds += _strs(res.get("kinds"))
        excluded: list[str] = []
        exclude = _map(rule.get("exclude"))
        for b in [x for key in ("any", "all") for x in exclude.get(key) or () if isinstance(x, Mapping)]:
            excluded += _strs(_map(b.get("resources")).get("namespaces"))
        for vi in rule.get("verifyImages") or ():
            if not isinstance(vi, Mapping):
                continue
            action = str(vi.get("failureAction") or default_action).lower()
            if action != "enforce" or not vi.get("attestors") and not vi.get("key"):
                continue
            refs = _strs(vi.get("imageReferences")) or _strs([vi.get("image")])
            if not refs:
                continue
            out.append(
                ImagePolicy(kind, name, ns, refs, "kyverno", tuple(namespaces), tuple(excluded), tuple(kinds), False)
            )
    return out


def _sigstore(spec: Mapping[str, Any], name: str) -> list[ImagePolicy]:
    if str(spec.get("mode") or "enforce").lower() == "warn":
        return []
    authorities = [a for a in spec.get("authorities") or () if isinstance(a, Mapping)]
    if not any("key" in a or "keyless" in a for a in authorities):
        return []  # a static authority (pass/fail) verifies nothing
    globs = tuple(g for i in spec.get("images") or () if isinstance(i, Mapping) for g in _strs([i.get("glob")]))
    if not globs:
        return []
    return [ImagePolicy("ClusterImagePolicy", name, None, globs, "sigstore", (), (), (), True)]


def _names(ref: ImageRef) -> set[str]:
    registry = ref.registry or "index.docker.io"
    repo = ref.repository if ref.registry or "/" in ref.repository else f"library/{ref.repository}"
    names = {ref.name, ref.without_digest, f"{registry}/{repo}", f"docker.io/{repo}" if not ref.registry else ref.name}
    if ref.digest:
        names |= {f"{n}@{ref.digest}" for n in list(names)}
    return names


_TAG_OR_DIGEST = lazy(r"(?::[^/]*)?(?:@sha256:[0-9a-f]{64})?")


def _sigstore_match(pattern: str, name: str) -> bool:
    """Sigstore's image glob (``*`` within a path segment, ``**`` across): the image name, then an
    optional tag and digest."""
    match = globs.wildcard(pattern, question=False)
    return any(
        match(name[:i])
        for i in range(len(name), -1, -1)
        if (i == len(name) or name[i] in ":@") and _TAG_OR_DIGEST.fullmatch(name, i)
    )


def image_matches(policy: ImagePolicy, image: str) -> bool:
    ref = parse(image)
    if ref is None:
        return False
    names = _names(ref)
    for g in policy.images:
        if policy.glob_style == "sigstore":
            if any(_sigstore_match(g, n) for n in names):
                return True
        elif any(fnmatch.fnmatchcase(n, g) or fnmatch.fnmatchcase(n, g.split("@")[0]) for n in names):
            return True
    return False


def covers(
    policy: ImagePolicy,
    *,
    kind: str,
    namespace: str | None,
    image: str,
    namespace_labels: Mapping[str, Any] | None,
) -> bool:
    """Whether ``policy`` verifies ``image`` of a ``kind`` object in ``namespace``.

    ``namespace_labels`` are the Namespace object's labels when it is known (None otherwise).
    """
    ns = namespace or "default"
    if policy.namespace is not None and policy.namespace != ns:
        return False
    if policy.namespaces and not any(fnmatch.fnmatchcase(ns, g) for g in policy.namespaces):
        return False
    if any(fnmatch.fnmatchcase(ns, g) for g in policy.excluded):
        return False
    if policy.kinds and not any(k in (kind, "Pod", "*") for k in policy.kinds):
        return False
    if policy.needs_label and namespace_labels is not None:
        if str(namespace_labels.get(SIGSTORE_INCLUDE_LABEL, "")).lower() != "true":
            return False
    return image_matches(policy, image)


def covering(
    all_policies: Iterable[ImagePolicy],
    *,
    kind: str,
    namespace: str | None,
    image: str,
    namespace_labels: Mapping[str, Any] | None,
) -> list[ImagePolicy]:
    return [
        p
        for p in all_policies
        if covers(p, kind=kind, namespace=namespace, image=image, namespace_labels=namespace_labels)
    ]


__all__ = ["SIGSTORE_INCLUDE_LABEL", "ImagePolicy", "covering", "covers", "image_matches", "policies"]
