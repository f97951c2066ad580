"""Dockerfile loader: a read Dockerfile into its ``docker`` target.

The parsing is :func:`guidecheck.parsers.docker.parse_dockerfile`; this module
only attaches the model to a target and its errors to the file (GC001).
"""

from __future__ import annotations

from guidecheck.model import ObjectRef, SourceFile, Target
from guidecheck.parsers.docker import parse_dockerfile


def dockerfile_target(text: str, src: SourceFile) -> Target | None:
    """The ``docker`` target of a Dockerfile's text (at its first FROM), or None when it has no stage.

    The parse errors go to ``src.errors`` either way.
    """
    df = parse_dockerfile(text)
    src.errors.extend(df.errors)
    if not df.stages:
        return None
    return Target(
        kind="docker",
        path=src.path,
        line=df.stages[0].line,
        ref=ObjectRef("Dockerfile", None, src.path),
        data=df,
        source=src,
    )
