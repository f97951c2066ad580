"""Container image references: ``[registry[:port]/]path[:tag][@digest]``.

Shared by the Dockerfile rules (GC301, GC304) and the Kubernetes image rules
(GC306, GC307), so that ``FROM`` and ``image:`` are judged the same way.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from guidecheck.lazyre import lazy

_DIGEST = lazy(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_TAG = lazy(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True)
class ImageRef:
    """An image reference split into registry, repository, tag and digest."""

    raw: str
    registry: str | None  # e.g. ghcr.io, registry.example:5000; None = Docker Hub
    repository: str  # e.g. library/alpine -> "alpine", "shop/cart"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """registry/repository without tag or digest, as written."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def short(self) -> str:
        """The last path component: ``python`` for ``docker.io/library/python:3.12``."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def without_digest(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "")

    @property
    def valid_digest(self) -> bool:
        return bool(self.digest and _DIGEST.match(self.digest))


def parse(ref: str) -> ImageRef | None:
    """Parse an image reference; None if it is not one (empty, spaces, variables left)."""
    ref = ref.strip()
    if not ref or any(c.isspace() for c in ref) or "$" in ref or "{{" in ref:
        return None
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    registry = None
    rest = ref
    first, sep, remainder = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not tag:
            return None
    if not rest or rest.startswith("/") or rest.endswith("/"):
        return None
    repository = rest
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io") and repository.startswith("library/"):
        repository = repository[len("library/") :]
    return ImageRef(
        raw=ref if digest is None else f"{ref}@{digest}",
        registry=registry,
        repository=repository,
        tag=tag,
        digest=digest,
    )


# Variant names that are a tag by themselves on official images (``node:alpine``, ``python:slim``): without
# a version number such a tag follows the newest release, as ``latest`` does.  ``18-alpine`` has a version.
VARIANT_TAGS = ("alpine", "slim")
_HAS_DIGIT = lazy(r"\d")
_TAG_WORDS = lazy(r"[-_.]+")


# what names one build after a branch or channel word: a commit hash (7+ hex digits, a digit among them) or a
# date (a version after it does not: stable-1.27 is the channel of a minor release, and moves)
_FULL_VERSION = lazy(r"v?\d+\.\d+\.\d+(?:[-+.][0-9a-z.-]*)?$")
_BUILD_ID = lazy(r"(?<![0-9a-z])(?=[0-9a-f]*\d)[0-9a-f]{7,40}(?![0-9a-z])|(?<!\d)\d{4}-?\d{2}-?\d{2}(?!\d)")


def floating_tag(
    tag: str, floating_tags: list[str] | tuple[str, ...], variant_tags: list[str] | tuple[str, ...] = VARIANT_TAGS
) -> bool:
    """A tag that moves: one of ``floating_tags`` (also with a -suffix or -prefix: ``latest-amd64``,
    ``3.19-latest``), or a version-less variant name of ``variant_tags`` (``alpine``, ``slim``,
    ``stable-alpine``; ``18-alpine`` has a version)."""
    tag = tag.lower()
    for f in floating_tags:
        f = f.lower()
        if tag == f or tag.endswith("-" + f):
            return True
        rest = tag[len(f) + 1 :]
        if tag.startswith(f + "-") and not (_BUILD_ID.search(rest) or _FULL_VERSION.match(rest)):
            # latest-amd64, stable-alpine, stable-1.27; not master-2024-12-11-08b888a, main-3f2c1ab (one build),
            # nor release-0.8.0 (Kepler's tag of its 0.8.0 release: one version)
            return True
    if _HAS_DIGIT.search(tag):
        return False
    words = [w for w in _TAG_WORDS.split(tag) if w]
    known = {f.lower() for f in floating_tags}
    variants = {v.lower() for v in variant_tags}
    return bool(words) and any(w in variants for w in words) and all(w in variants or w in known for w in words)


def is_floating(
    image: ImageRef,
    floating_tags: list[str] | tuple[str, ...],
    variant_tags: list[str] | tuple[str, ...] = VARIANT_TAGS,
) -> bool:
    """No tag, or a tag that moves (see :func:`floating_tag`)."""
    if image.tag is None:
        return True
    return floating_tag(image.tag, floating_tags, variant_tags)


def matches_any(image: ImageRef, patterns: list[str] | tuple[str, ...]) -> bool:
    """Glob match of the reference (without digest), its name, or its short name."""
    candidates = {
        image.without_digest,
        image.name,
        image.short,
        f"{image.short}:{image.tag}" if image.tag else image.short,
    }
    return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns)


# ------------------------------------------------------------------ judging
#
# One judgement backs GC304 (FROM) and GC306/GC307 (image:), so that a
# reference is pinned, floating or invalid in the same way wherever it is
# written.  Callers replace what they cannot know (an ARG without a default,
# a ${VAR} or {{ }} placeholder) by MARK before judging: a placeholder only
# makes the verdict unknown where it hides the tag.

MARK = "\ue000"  # stands for an unresolved variable inside a reference

PINNED = "pinned"  # a digest (possibly filled in by the pipeline: app@${DIGEST})
TAGGED = "tagged"  # a fixed tag
UNTAGGED = "untagged"
FLOATING = "floating"
BAD_DIGEST = "bad-digest"
INVALID = "invalid"
UNKNOWN = "unknown"  # a placeholder hides the tag: cannot be judged
EMPTY = "empty"

_REPO_COMPONENT = lazy(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


@dataclass(frozen=True)
class Judgement:
    """How an image reference is pinned: its state, and the floating tag or problem."""

    state: str
    ref: ImageRef | None = None
    floating: str | None = None  # the floating tag; 'latest-...' when only its prefix is known
    problem: str | None = None  # why the reference is invalid

    @property
    def tag(self) -> str | None:
        """The tag, when it is known."""
        tag = self.ref.tag if self.ref else None
        return None if tag is None or MARK in tag else tag


def reference_problem(ref: ImageRef) -> str | None:
    """What a registry would reject in a parsed reference (``parse`` is lenient)."""
    reg = ref.registry
    if reg and not reg.startswith("[") and reg.count(":") > 1 and MARK not in reg:
        return f"registry '{reg[:60]}' has more than one port"
    for component in ref.repository.split("/"):
        if MARK not in component and not _REPO_COMPONENT.match(component):
            return f"repository '{ref.repository[:60]}' must be lower-case letters, digits and separators"
    return None


def judge(
    text: str, floating_tags: list[str] | tuple[str, ...], variant_tags: list[str] | tuple[str, ...] = VARIANT_TAGS
) -> Judgement:
    """Classify an image reference in which MARK stands for unknown parts."""
    text = text.strip()
    if not text:
        return Judgement(EMPTY)
    ref = parse(text)
    if ref is None:
        return Judgement(UNKNOWN if MARK in text else INVALID)
    problem = reference_problem(ref)
    if problem:
        return Judgement(INVALID, ref, problem=problem)
    if ref.digest is not None:
        return Judgement(PINNED if MARK in ref.digest or ref.valid_digest else BAD_DIGEST, ref)
    if ref.tag is None:
        return Judgement(UNKNOWN if MARK in ref.short else UNTAGGED, ref)
    if MARK in ref.tag:
        literal = ref.tag.split(MARK, 1)[0].lower()
        hit = next((f for f in floating_tags if literal.startswith(f.lower() + "-")), None)
        # latest-${ARCH} floats whatever the variable holds
        return Judgement(FLOATING, ref, floating=f"{hit}-...") if hit else Judgement(UNKNOWN, ref)
    if is_floating(ref, floating_tags, variant_tags):
        return Judgement(FLOATING, ref, floating=ref.tag)
    return Judgement(TAGGED, ref)
