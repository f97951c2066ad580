"""The ``chart`` target's model (what GC401 judges) and pure reads of a parsed ``Chart.yaml``.

:class:`ChartModel` is filled by :mod:`guidecheck.loaders.helm` (discovery, value
profiles, rendering) and read by :mod:`guidecheck.checks.helm`; nothing here
touches the file system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guidecheck.model import LoadError
from guidecheck.parsers.yaml import YSeq


@dataclass
class Issue:
    """Something GC401 reports about a chart (a render error, a missing dependency, ...)."""

    message: str
    path: str
    line: int = 1
    column: int = 1
    profile: str | None = None


@dataclass
class ChartModel:
    """The ``chart`` target's data."""

    path: str  # chart directory as displayed ('' prefix + relpath)
    chart_yaml: str  # display path of Chart.yaml ('' when missing)
    meta: Any  # parsed Chart.yaml (YMap) or None
    type: str  # application | library
    subchart_of: str | None
    errors: list[LoadError] = field(default_factory=list)  # Chart.yaml read/parse errors
    issues: list[Issue] = field(default_factory=list)
    rendered: dict[str, int] = field(default_factory=dict)  # profile -> number of workloads rendered
    objects: dict[str, int] = field(default_factory=dict)  # profile -> number of objects rendered
    crds_only: set[str] = field(default_factory=set)  # profiles that rendered CustomResourceDefinitions alone
    skipped: str | None = None  # why it was not rendered (library, subchart, no helm, ...)
    seconds: dict[str, float] = field(default_factory=dict)  # profile -> render wall time
    resolved: list[str] = field(default_factory=list)  # dependencies taken from the scanned tree
    notes: list[Issue] = field(default_factory=list)  # what GC401 tells at info level (a fallback to ci/ values)
    requirements: bool = False  # the chart has a requirements.yaml (Helm 2's dependencies)


def _deps(meta: Any) -> list[dict[str, Any]]:
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    return [d for d in deps if isinstance(d, dict) and isinstance(d.get("name"), str)] if isinstance(deps, list) else []


def _line_of_dep(meta: Any, name: str) -> int:
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    if isinstance(deps, YSeq):
        for i, d in enumerate(deps):
            if isinstance(d, dict) and d.get("name") == name:
                return deps.item_line(i)
    return 1
