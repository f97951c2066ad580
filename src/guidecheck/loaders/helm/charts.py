"""Chart discovery: a ``chart`` target for every ``Chart.yaml``, and the value profiles each one renders with.

Charts come from the scanned repositories (the walk's ``Chart.yaml`` files) and,
for pre-commit, from the top-level chart holding a file named on the command line.
A directory with ``templates/`` and ``values.yaml`` but no ``Chart.yaml`` is a
broken chart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from guidecheck.config import Config
from guidecheck.loaders import ChartInfo, Loaded, RepoScan, chart_of_named_file
from guidecheck.loaders.fs import ReadError, linked_inventory, read_text, under, walk
from guidecheck.loaders.helm.options import CLI_PROFILE, DEFAULT_PROFILE, HelmOptions
from guidecheck.model import LoadError, ObjectRef, Target
from guidecheck.parsers.chart import ChartModel, Issue
from guidecheck.parsers.yaml import load_yaml


@dataclass
class _ChartJob:
    model: ChartModel
    target: Target
    root: str  # absolute scan root (copies never leave it)
    abspath: str  # chart directory
    inventory: list[str]  # files of the chart, relative to the chart directory
    prefix: str  # display prefix of the chart directory ('chart/' or '')
    scope: str  # origin['repo']
    all_charts: list[tuple[str, str, str | None, Any]] = field(default_factory=list)  # (abs dir, display, name, meta)
    profiles: list[tuple[str, list[str]]] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)  # charts rendering this one through a file:// dependency
    # files of the chart reached through a symlink inside the tree (relative to the chart directory) -> the
    # relpath (from ``root``) of the file Helm reads for it; they are in ``inventory`` too
    links: dict[str, str] = field(default_factory=dict)


def _chart_yaml(abspath: str, root: str, display: str, errors: list[LoadError]) -> Any:
    try:
        text = read_text(abspath, 1024 * 1024, root=root)
    except ReadError as exc:
        errors.append(exc.error)
        return None
    docs = load_yaml(text)
    for d in docs:
        errors.extend(d.errors)
    return docs[0].data if docs else None


def _repo_jobs(repo: RepoScan, config: Config, opts: HelmOptions, loaded: Loaded) -> list[_ChartJob]:
    w = repo.walk
    if not repo.charts:
        return []
    metas = {}
    all_charts = []
    for c in repo.charts:
        errors: list[LoadError] = []
        meta = _chart_yaml(os.path.join(w.root, c.chart_yaml), w.root, repo.prefix + c.chart_yaml, errors)
        metas[c.path] = (meta, errors)
        all_charts.append((os.path.normpath(os.path.join(w.root, c.path)), _join(repo.prefix, c.path), c.name, meta))
    jobs = []
    for c in repo.charts:
        meta, errors = metas[c.path]
        chart_prefix = "" if c.path == "." else c.path + "/"
        inventory = [p[len(chart_prefix) :] for p in under(w.inventory, c.path)] if chart_prefix else list(w.inventory)
        links = linked_inventory(w, c.path)
        if links:
            inventory = sorted(set(inventory).union(links))
        job = _job(
            c,
            meta,
            errors,
            w.root,
            os.path.normpath(os.path.join(w.root, c.path)),
            inventory,
            repo.prefix,
            repo.prefix,
            all_charts,
            opts,
        )
        job.links = links
        jobs.append(job)
    return jobs


def _join(prefix: str, rel: str) -> str:
    if rel in ("", "."):
        return prefix.rstrip("/") or "."
    return prefix + rel


def _job(
    c: ChartInfo,
    meta: Any,
    errors: list[LoadError],
    root: str,
    abspath: str,
    inventory: list[str],
    display_prefix: str,
    scope: str,
    all_charts: list,
    opts: HelmOptions,
) -> _ChartJob:
    shown = _join(display_prefix, c.path)
    model = ChartModel(
        path=shown,
        chart_yaml=_join(display_prefix, c.chart_yaml),
        meta=meta,
        type=c.type,
        subchart_of=_join(display_prefix, c.subchart_of) if c.subchart_of else None,
        errors=errors,
        requirements=any(r in inventory for r in ("requirements.yaml", "requirements.yml")),
    )
    if c.type == "library":
        model.skipped = "a library chart: rendered only through the charts that depend on it"
    elif c.subchart_of is not None:
        model.skipped = f"a subchart of {model.subchart_of}: rendered through it, with its values"
    elif not isinstance(meta, dict):
        model.skipped = "Chart.yaml could not be read"
    name = meta.get("name") if isinstance(meta, dict) and isinstance(meta.get("name"), str) else None
    target = Target(
        kind="chart",
        path=model.chart_yaml,
        line=1,
        ref=ObjectRef("Chart", None, name or shown),
        data=model,
        origin={"source": "helm", "repo": scope, "chart": shown, "chart_name": name},
    )
    prefix = "" if shown == "." else shown + "/"
    job = _ChartJob(model, target, root, abspath, inventory, prefix, scope, all_charts)
    if model.skipped is None:
        job.profiles = _profiles(job, opts)
    return job


def _profiles(job: _ChartJob, opts: HelmOptions) -> list[tuple[str, list[str]]]:
    """(name, [absolute values files]) to render, in order; problems become GC401 issues."""
    out: list[tuple[str, list[str]]] = [(DEFAULT_PROFILE, [])]
    own = opts.charts.get(job.abspath, {}).get("profiles") or {}
    out.extend(_shared_profiles(job, opts, own))
    out.extend(_chart_profiles(job, own))
    if opts.cli_values or opts.cli_set:
        out.append((CLI_PROFILE, list(opts.cli_values)))
    if opts.only:
        out = [p for p in out if p[0] in opts.only]
    return out


def _shared_profiles(job: _ChartJob, opts: HelmOptions, own: dict) -> list[tuple[str, list[str]]]:
    """``helm.profiles`` this chart has the files of (and does not define itself), by name."""
    out: list[tuple[str, list[str]]] = []
    for name, files in sorted(opts.profiles.items()):
        if name in own:
            continue
        paths = [os.path.normpath(os.path.join(job.abspath, f)) for f in files]
        present = [os.path.isfile(p) for p in paths]
        if not any(present):
            continue  # a shared profile applies to the charts that have its files
        if not all(present):
            missing = [f for f, ok in zip(files, present, strict=True) if not ok]
            job.model.issues.append(
                Issue(
                    f"value profile '{name}': file(s) missing in this chart: {', '.join(missing)}",
                    job.model.chart_yaml,
                    profile=name,
                )
            )
            continue
        out.append((name, paths))
    return out


def _chart_profiles(job: _ChartJob, own: dict) -> list[tuple[str, list[str]]]:
    """``helm.charts.<dir>.profiles`` of this chart, by name; every file must exist."""
    out: list[tuple[str, list[str]]] = []
    for name, files in sorted(own.items()):
        paths = [os.path.normpath(os.path.join(job.abspath, f)) for f in files or ()]
        missing = [f for f, p in zip(files or (), paths, strict=True) if not os.path.isfile(p)]
        if missing:
            job.model.issues.append(
                Issue(
                    f"value profile '{name}': file(s) not found: {', '.join(missing)}",
                    job.model.chart_yaml,
                    profile=name,
                )
            )
            continue
        out.append((name, paths))
    return out


def _file_jobs(loaded: Loaded, config: Config, opts: HelmOptions) -> list[_ChartJob]:
    """Pre-commit: a chart is rendered when one of the files named belongs to it."""
    if not loaded.files:
        return []
    cwd = os.getcwd()
    seen: dict[str, str] = {}
    for abspath, _display, _kind in loaded.files:
        chart = chart_of_named_file(abspath, cwd)
        if chart and chart not in seen:
            rel = os.path.relpath(chart, cwd) if chart.startswith(cwd + os.sep) or chart == cwd else chart
            seen[chart] = rel.replace(os.sep, "/")
    jobs = []
    from guidecheck.loaders import find_charts

    for chart, shown in sorted(seen.items()):
        w = walk(chart, config.exclude)
        prefix = "" if shown == "." else shown + "/"
        charts = find_charts(w)
        all_charts = []
        metas = {}
        for c in charts:
            errors: list[LoadError] = []
            meta = _chart_yaml(os.path.join(w.root, c.chart_yaml), w.root, prefix + c.chart_yaml, errors)
            metas[c.path] = (meta, errors)
            all_charts.append((os.path.normpath(os.path.join(w.root, c.path)), _join(prefix, c.path), c.name, meta))
        for c in charts:
            if c.path != ".":
                continue  # its subcharts are rendered through it; their Chart.yaml is not what changed
            meta, errors = metas[c.path]
            links = linked_inventory(w, ".")
            inventory = sorted(set(w.inventory).union(links))
            job = _job(c, meta, errors, w.root, w.root, inventory, prefix, "", all_charts, opts)
            job.links = links
            jobs.append(job)
    return jobs


def _missing_chart_yaml(loaded: Loaded) -> None:
    """A directory with ``templates/`` and ``values.yaml`` but no ``Chart.yaml`` is a broken chart."""
    from guidecheck.loaders import _chartless_template_dirs

    for repo in loaded.repos:
        for tdir in _chartless_template_dirs(repo.walk):
            d = tdir[: -len("templates/")]
            shown = _join(repo.prefix, d.rstrip("/") or ".")
            model = ChartModel(
                path=shown, chart_yaml="", meta=None, type="application", subchart_of=None, skipped="no Chart.yaml"
            )
            model.issues.append(
                Issue(
                    "Chart.yaml is missing: a directory with templates/ and values.yaml is "
                    "a Helm chart only with a Chart.yaml (apiVersion: v2, name, version)",
                    repo.prefix + d + "values.yaml",
                )
            )
            loaded.targets.append(
                Target(
                    kind="chart",
                    path=repo.prefix + d + "values.yaml",
                    line=1,
                    ref=ObjectRef("Chart", None, shown),
                    data=model,
                    origin={"source": "helm", "repo": repo.prefix, "chart": shown},
                )
            )


def _shown_of(abs_dir: str, job: _ChartJob) -> str:
    for a, shown, _n, _m in job.all_charts:
        if a == abs_dir:
            return shown
    rel = os.path.relpath(abs_dir, job.abspath).replace(os.sep, "/")
    return job.prefix + rel if job.prefix else rel


def defer_file_dependencies(jobs: list[_ChartJob]) -> list[_ChartJob]:
    """Charts another chart of the scan consumes through a ``file://`` dependency render only through it.

    Like a kustomize base consumed by overlays, such a chart is part of its parent's deployment: rendering
    it on its own too made its objects exist twice as targets (every finding twice, cross-object rules
    seeing two copies).  Only a dependency path inside the consumer's scan root counts (one outside is
    never read).  Returns the deferred jobs, each with its ``consumers`` (display paths of the consumer
    charts); :func:`not_rendered_through` picks those to render on their own after all.
    """
    by_dir = {j.abspath: j for j in jobs}
    deferred = []
    consumers: dict[str, list[str]] = {}
    linked: set[str] = set()
    for c in jobs:
        cands = []
        for dep in _dep_list(c.model.meta):
            repo = str(dep.get("repository") or "")
            if repo.startswith("file://"):
                cands.append(os.path.normpath(os.path.join(c.abspath, repo[len("file://") :])))
        for rel, target in c.links.items():  # a chart of the tree linked into its charts/ (Helm follows the link)
            if rel.startswith("charts/") and rel.count("/") == 2 and rel.endswith("/Chart.yaml"):
                cand = os.path.dirname(os.path.join(c.root, target))
                linked.add(cand)
                cands.append(cand)
        for cand in cands:
            if cand != c.abspath and cand in by_dir and _within(cand, c.root):
                consumers.setdefault(cand, [])
                if c.model.path not in consumers[cand]:
                    consumers[cand].append(c.model.path)
    for j in jobs:
        by = sorted(consumers.get(j.abspath, ()))
        if by and j.model.skipped is None:
            how = "a dependency (file:// or linked into charts/)" if j.abspath in linked else "a file:// dependency"
            j.model.skipped = f"{how} of {', '.join(by)}: rendered through it, with its values"
            j.consumers = by
            deferred.append(j)
    return deferred


def not_rendered_through(deferred: list[_ChartJob], rendered_templates: set[str]) -> list[_ChartJob]:
    """The deferred charts none of whose templates produced an object through a consumer (the consumer failed
    to render, lacks a dependency, or disables the subchart with a ``condition``): they render on their own,
    so that a broken parent never leaves its subchart unchecked."""
    out = []
    for j in deferred:
        prefix = "" if j.model.path in ("", ".") else j.model.path + "/"
        if not any(t.startswith(prefix) for t in rendered_templates):
            j.model.skipped = None
            out.append(j)
    return out


def _dep_list(meta: Any) -> list[dict]:
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    return [d for d in deps if isinstance(d, dict)] if isinstance(deps, list) else []


def _within(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
