"""Helm charts: discovery, sandboxed rendering with the real ``helm``, tracing back to templates.

Every chart found by the walk (``Chart.yaml``) becomes a ``chart`` target (rule
GC401 judges it).  Each *application* chart that is not vendored under another
chart's ``charts/`` is rendered with ``helm template`` once per value profile:

* ``default``: the chart's own ``values.yaml``;
* each profile of the configuration (``helm.profiles`` for every chart whose
  directory holds the profile's files, ``helm.charts.<dir>.profiles`` for one);
* ``cli``: ``--values`` / ``--set`` given on the command line.

Library charts are never rendered on their own; vendored subcharts, and charts
another chart of the scan consumes through a ``file://`` dependency, only
through their parent (once, with the parent's overrides); a ``file://``
dependency none of whose parents renders any of its objects is rendered on its
own after all (never left unchecked by a broken parent).  Each rendered
document becomes a ``k8s`` target whose path and lines are those of the
template file that produced it (see :func:`guidecheck.parsers.helm_template.align`), and whose origin names the
chart, template, profile, release and namespace; the values files lines that
supply a field are traced on demand (:class:`~guidecheck.loaders.helm.trace.ValuesTrace`).

The sandbox: the chart is copied to a temporary directory (regular files of the
walk only: no symlink, no file outside the scanned tree), ``file://``
dependencies and dependencies found in the scanned tree are copied into its
``charts/``; Helm runs ``template`` only (``--skip-tests --include-crds``),
with a timeout, an empty ``HELM_PLUGINS``, temporary config/cache/data homes,
no kubeconfig, an unroutable proxy, and never ``dependency update/build``.
Helm versions with known template-time vulnerabilities are refused.

The package, one module per concern (this module only orchestrates them):

* :mod:`~guidecheck.loaders.helm.options`: the ``helm:`` configuration and command-line options;
* :mod:`~guidecheck.loaders.helm.binary`: finding Helm and refusing vulnerable versions;
* :mod:`~guidecheck.loaders.helm.charts`: chart discovery, ``chart`` targets, value profiles;
* :mod:`~guidecheck.loaders.helm.deps`: dependencies copied into the sandbox, subcharts found in the tree;
* :mod:`~guidecheck.loaders.helm.sandbox`: Helm's environment and the copies it sees;
* :mod:`~guidecheck.loaders.helm.render`: ``helm template`` per chart and profile, its errors;
* :mod:`~guidecheck.loaders.helm.rendered`: rendered documents as ``k8s`` targets on template lines;
* :mod:`~guidecheck.loaders.helm.trace`: values files lines behind a template line.

The pure pieces are in :mod:`guidecheck.parsers`: :mod:`~guidecheck.parsers.chart` (the
``chart`` target's model), :mod:`~guidecheck.parsers.semver` (dependency constraints) and
:mod:`~guidecheck.parsers.helm_template` (output splitting, line alignment, template actions).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from guidecheck.config import Config
from guidecheck.loaders import Loaded
from guidecheck.loaders.helm.binary import find_helm
from guidecheck.loaders.helm.charts import (
    _ChartJob,
    _file_jobs,
    _missing_chart_yaml,
    _repo_jobs,
    defer_file_dependencies,
    not_rendered_through,
)
from guidecheck.loaders.helm.options import HelmOptions, options_from
from guidecheck.loaders.helm.render import _render_all, _Renders, _start_renders
from guidecheck.sanitize import path as clean_path


def start(loaded: Loaded, config: Config, options: dict) -> None:
    """Find the charts and start rendering them right after the walk, before the files are read and parsed
    (see :func:`guidecheck.loaders.load`): Helm runs on the second core meanwhile.

    Only for directory scans whose charts can all render (Helm found, rendering on); anything else, and anything
    this cannot do, :func:`extend` does as it always did.  Nothing here adds a target or a message: the
    results are taken, in the usual order, by :func:`extend`.
    """
    if loaded.files or options.get("no_render"):
        return
    try:
        started = _start(loaded, config, options)
    except Exception:  # noqa: BLE001 - extend() finds and renders the charts as without a start
        return
    if started is not None:
        loaded.pending[__name__] = started


@dataclass
class _Started:
    """What :func:`start` found and began: every chart's job, the deferred ``file://`` dependencies, the Helm
    binary, and the renders under way."""

    opts: HelmOptions
    jobs: list[_ChartJob]
    deferred: list[_ChartJob]
    helm: str
    renders: _Renders | None

    def close(self) -> None:
        if self.renders is not None:
            self.renders.close()


def _start(loaded: Loaded, config: Config, options: dict) -> _Started | None:
    opts = options_from(config, options)
    if not opts.render:
        return None
    jobs = _jobs(loaded, config, opts)
    deferred = defer_file_dependencies(jobs)
    renderable = [j for j in jobs if j.model.skipped is None]
    if not renderable:
        return None
    helm, _why = find_helm(opts.binary)
    if helm is None:
        return None
    return _Started(opts, jobs, deferred, helm, _start_renders(renderable, helm, opts))


def extend(loaded: Loaded, config: Config, options: dict) -> None:
    started = loaded.pending.pop(__name__, None)
    try:
        if started is not None:
            _finish(started, loaded, config)
        else:
            _extend(loaded, config, options)
    except Exception as exc:  # noqa: BLE001 - a bug here must not hide the rest of the scan
        loaded.incomplete.append(f"Helm charts: internal error: {type(exc).__name__}: {exc}")
    finally:
        if started is not None:
            started.close()


def _jobs(loaded: Loaded, config: Config, opts: HelmOptions) -> list[_ChartJob]:
    jobs: list[_ChartJob] = []
    for repo in loaded.repos:
        jobs.extend(_repo_jobs(repo, config, opts, loaded))
    # a dependency may be found in any scanned directory (charts/a and charts/b given one by one)
    everywhere: list = []
    for j in jobs:
        everywhere.extend(c for c in j.all_charts if c not in everywhere)
    for j in jobs:
        j.all_charts = everywhere
    jobs.extend(_file_jobs(loaded, config, opts))
    return jobs


def _finish(started: _Started, loaded: Loaded, config: Config) -> None:
    """:func:`_extend` for the charts :func:`start` began rendering."""
    _missing_chart_yaml(loaded)
    if started.renders is not None:
        started.renders.finish(config, started.opts, loaded)
    _render_unconsumed(started.deferred, started.helm, config, started.opts, loaded)
    for j in started.jobs:
        loaded.targets.append(j.target)


def _extend(loaded: Loaded, config: Config, options: dict) -> None:
    opts = options_from(config, options)
    jobs = _jobs(loaded, config, opts)
    _missing_chart_yaml(loaded)
    deferred = defer_file_dependencies(jobs)
    renderable = [j for j in jobs if j.model.skipped is None]
    helm = None
    if renderable and options.get("no_render"):
        # --no-render (a pre-commit hook on a machine without the tools): an explicit opt-out, listed as skipped
        for j in renderable:
            j.model.skipped = "rendering is turned off (--no-render)"
            loaded.skipped.append(f"chart {j.model.path}")
    elif renderable and opts.render:
        helm, why = find_helm(opts.binary)
        if helm is None and (options.get("helm") or {}).get("optional"):
            # --helm-optional (the default pre-commit hook): the charts' files are checked as they are
            sys.stderr.write(
                f"guidecheck: note: {len(renderable)} Helm chart(s) checked as files, not rendered: {why} "
                "(--helm-optional; install Helm >= 3.18.5 to render them)\n"
            )
            for j in renderable:
                j.model.skipped = f"not rendered: {why} (--helm-optional)"
        elif helm is None:
            loaded.incomplete.append(f"Helm charts not rendered ({len(renderable)} chart(s)): {why}")
            for j in renderable:
                j.model.skipped = why
    elif renderable:
        for j in renderable:
            j.model.skipped = "rendering is turned off (helm.render: false)"
    if helm is not None:
        _render_all([j for j in renderable if j.model.skipped is None], helm, config, opts, loaded)
        _render_unconsumed(deferred, helm, config, opts, loaded)
    for j in jobs:
        loaded.targets.append(j.target)


def _render_unconsumed(deferred: list[_ChartJob], helm: str, config: Config, opts: HelmOptions, loaded: Loaded) -> None:
    """A ``file://`` dependency none of whose consumers rendered any of its objects renders on its own."""
    if not deferred:
        return
    templates = {
        str(t.origin.get("template"))
        for t in loaded.targets
        if t.kind == "k8s" and t.origin and t.origin.get("source") == "helm"
    }
    alone = not_rendered_through(deferred, templates)
    for j in alone:
        why = f"rendered on its own: {', '.join(j.consumers)} rendered none of its objects"
        if opts.verbose:
            sys.stderr.write(f"guidecheck: {clean_path(j.model.path)} {why}\n")
    if alone:
        _render_all(alone, helm, config, opts, loaded, fresh=False)


__all__ = ["extend", "start"]
