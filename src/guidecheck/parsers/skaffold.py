"""Skaffold configurations: the images ``build.artifacts[]`` builds and the tag policy it gives them.

Skaffold replaces every ``image:`` of the deployed manifests that names one of its
artifacts with the tag its ``tagPolicy`` computes (``gitCommit`` by default), so the
tag written in the manifest is not the one deployed.  Pure: parsed data in, artifacts out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guidecheck.parsers.yaml import YSeq, key_line

# tag policies whose tag identifies the build: a commit, or the content's digest
TRACEABLE = ("gitCommit", "sha256", "inputDigest")


@dataclass(frozen=True)
class Artifact:
    """A Skaffold build artifact and the tag policy that names its image."""

    image: str
    policy: str  # gitCommit, sha256, inputDigest, dateTime, envTemplate, customTemplate
    template: str | None  # envTemplate / customTemplate text
    line: int


def is_skaffold(data: Any) -> bool:
    api = data.get("apiVersion") if isinstance(data, dict) else None
    return isinstance(api, str) and api.startswith("skaffold/")


def artifacts(data: Any) -> list[Artifact]:
    """The artifacts of one Skaffold document (``build:`` at the top and in each profile)."""
    if not isinstance(data, dict):
        return []
    builds = [data.get("build")]
    for p in data.get("profiles") or () if isinstance(data.get("profiles"), list) else ():
        if isinstance(p, dict):
            builds.append(p.get("build"))
    out = []
    for build in builds:
        if not isinstance(build, dict):
            continue
        policy, template = _policy(build.get("tagPolicy"))
        arts = build.get("artifacts")
        if not isinstance(arts, list):
            continue
        for i, a in enumerate(arts):
            if isinstance(a, dict) and isinstance(a.get("image"), str) and a["image"].strip():
                line = arts.item_line(i) if isinstance(arts, YSeq) else key_line(build, "artifacts")
                out.append(Artifact(a["image"].strip(), policy, template, line))
    return out


def _policy(tp: Any) -> tuple[str, str | None]:
    if not isinstance(tp, dict) or not tp:
        return "gitCommit", None  # Skaffold's default
    for name in ("gitCommit", "sha256", "inputDigest", "dateTime", "envTemplate", "customTemplate"):
        if name in tp:
            spec = tp.get(name)
            template = spec.get("template") if isinstance(spec, dict) else None
            return name, template if isinstance(template, str) else None
    return str(next(iter(tp))), None


def traceable(a: Artifact) -> bool:
    """Whether the tag Skaffold sets names the build (a commit or a content digest)."""
    if a.policy in TRACEABLE:
        return True
    text = (a.template or "").upper()
    return a.policy in ("envTemplate", "customTemplate") and any(k in text for k in ("GIT", "COMMIT", "SHA"))


def repository(image: str) -> str:
    """``registry/app:1.2@sha256:..`` -> ``registry/app``."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


__all__ = ["Artifact", "artifacts", "is_skaffold", "repository", "traceable"]
