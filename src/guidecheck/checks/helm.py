"""GC401: the chart is valid, renders, and renders at least one workload.

The ``chart`` targets come from :mod:`guidecheck.loaders.helm`, which already
ran ``helm template`` for every profile; this check only reads what it found
(a :class:`~guidecheck.parsers.chart.ChartModel`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from guidecheck.checks import Context, NotApplicable
from guidecheck.model import Hit, Severity, Target
from guidecheck.parsers.chart import ChartModel
from guidecheck.parsers.yaml import key_col, key_line

# SemVer 2.0.0 (https://semver.org), as Helm requires for a chart's version
SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def chart_valid(target: Target, ctx: Context) -> Iterator[Hit]:
    if target.kind == "kustomization":
        from guidecheck.checks.kustomize import kustomization_renders

        yield from kustomization_renders(target, ctx)
        return
    model = target.data
    if model is None or not hasattr(model, "issues"):
        raise NotApplicable("not a chart")
    meta = model.meta
    if model.chart_yaml and model.errors and not isinstance(meta, dict):
        raise NotApplicable("Chart.yaml could not be read or parsed (reported by GC001)")
    chart_hits = list(_chart_yaml(meta, model)) if isinstance(meta, dict) else []
    # Helm refuses to render a chart whose Chart.yaml it finds invalid, with its own words for the first problem
    # (tekton-operator's version 'devel'): one defect, reported once, at the Chart.yaml line that has it
    refused = [i for i in model.issues if _HELM_METADATA.search(i.message)] if chart_hits else []
    for n, hit in enumerate(chart_hits):
        if refused:  # the chart could not be rendered: its objects are not checked
            hit.unchecked = True
            if n == 0:
                hit.message += " (Helm refuses to render the chart: its objects are not checked)"
        yield hit
    if not isinstance(meta, dict) and model.chart_yaml:
        yield Hit("Chart.yaml is empty or not a mapping: a chart declares apiVersion: v2, name and version", line=1)
    origin = {k: v for k, v in (target.origin or {}).items() if k not in ("span", "repo") and v is not None}

    def with_profile(profile: str | None) -> dict:
        return {"origin": {**origin, "profile": profile}} if profile else {}

    # issues stopped the chart's check (unchecked); notes tell how it was checked (a fallback to ci/ values)
    told = [(i, False) for i in model.issues if i not in refused] + [(n, True) for n in getattr(model, "notes", ())]
    for issue, note in told:
        yield Hit(
            issue.message,
            line=issue.line,
            column=issue.column,
            path=issue.path,
            extra=with_profile(issue.profile),
            unchecked=not note,
            severity=Severity.INFO if note else None,
        )
    if model.skipped is None:
        yield from _no_workload(model, ctx, with_profile)


# what Helm says when it refuses a chart for its Chart.yaml (Metadata.Validate, the loader's apiVersion check)
_HELM_METADATA = re.compile(r"validation: chart\.metadata\b|invalid chart apiVersion|chart\.metadata\.\w+ is required")


def _no_workload(model: ChartModel, ctx: Context, with_profile: Callable[[str | None], dict]) -> Iterator[Hit]:
    """A profile that rendered without failing but produced no object of a workload kind.

    A chart of CustomResourceDefinitions alone (kubewarden-crds, fluent-operator's -crds charts) deploys no
    service: it installs the API an operator chart's controller serves, as GC201 and GC203 count it."""
    kinds = ", ".join(ctx.settings.get("workload-kinds") or ()) or "none"
    failed = {i.profile for i in model.issues if i.profile}
    for profile, workloads in sorted(model.rendered.items()):
        if workloads == 0 and profile not in failed and profile not in model.crds_only:
            objs = model.objects.get(profile, 0)
            yield Hit(
                f"the chart renders no workload with profile '{profile}' ({objs} object(s), none of kind "
                f"{kinds}, nor a custom resource an operator runs as pods): a service chart deploys the service",
                line=1,
                extra=with_profile(profile),
            )


def _chart_yaml(meta: dict, model: ChartModel) -> Iterator[Hit]:
    def where(key: str) -> tuple[int, int]:
        return key_line(meta, key), key_col(meta, key) if key in meta else 1

    api = meta.get("apiVersion")
    if api != "v2":
        line, col = where("apiVersion")
        if api is None:
            yield Hit("Chart.yaml has no apiVersion: Helm 3 charts declare apiVersion: v2", line=line, column=col)
        elif api == "v1":
            move = " and move requirements.yaml into Chart.yaml's dependencies" if model.requirements else ""
            yield Hit(
                f"Chart.yaml has apiVersion: v1 (a Helm 2 chart): use apiVersion: v2{move}", line=line, column=col
            )
        else:
            yield Hit(f"Chart.yaml apiVersion is '{_short(api)}', not v2", line=line, column=col)
    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        line, col = where("name")
        yield Hit("Chart.yaml has no name", line=line, column=col)
    elif not _NAME.match(name) or name in (".", ".."):
        line, col = where("name")
        yield Hit(
            f"Chart.yaml name '{_short(name)}' is not a valid chart name (letters, digits, '-', '_', '.')",
            line=line,
            column=col,
        )
    version = meta.get("version")
    line, col = where("version")
    if version is None or version == "":
        yield Hit("Chart.yaml has no version: charts are versioned with SemVer 2 (e.g. 1.4.2)", line=line, column=col)
    elif not isinstance(version, str) or not SEMVER.match(version):
        yield Hit(
            f"Chart.yaml version '{_short(version)}' is not a SemVer 2 version (MAJOR.MINOR.PATCH, e.g. 1.4.2)",
            line=line,
            column=col,
        )
    ctype = meta.get("type")
    if ctype is not None and ctype not in ("application", "library"):
        line, col = where("type")
        yield Hit(f"Chart.yaml type '{_short(ctype)}' is neither application nor library", line=line, column=col)
