"""Helm charts: discovery, sandboxed rendering with the real ``helm``, tracing back to templates.

Every chart found by the walk (``Chart.yaml``) becomes a ``chart`` target (rule
GC401 judges it).  Each *application* chart that is not vendored under another
chart's ``charts/`` is rendered with ``helm template`` once per value profile:

* ``default``: the chart's own ``values.yaml``;
* each profile of the configuration (``helm.profiles`` for every chart whose
  directory holds the profile's files, ``helm.charts.<dir>.profiles`` for one);
* ``cli``: ``--values`` / ``--set`` given on the command line.

Library charts are never rendered on their own; vendored subcharts only
through their parent (once, with the parent's overrides).  Each rendered
document becomes a ``k8s`` target whose path and lines are those of the
template file that produced it (see :func:`align`), and whose origin names the
chart, template, profile, release and namespace; the values files lines that
supply a field are traced on demand (:class:`ValuesTrace`).

The sandbox: the chart is copied to a temporary directory (regular files of the
walk only: no symlink, no file outside the scanned tree), ``file://``
dependencies and dependencies found in the scanned tree are copied into its
``charts/``; Helm runs ``template`` only (``--skip-tests --include-crds``),
with a timeout, an empty ``HELM_PLUGINS``, temporary config/cache/data homes,
no kubeconfig, an unroutable proxy, and never ``dependency update/build``.
Helm versions with known template-time vulnerabilities are refused.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from guidecheck import suppress
from guidecheck.parsers import k8s
from guidecheck.config import Config
from guidecheck.loaders import ChartInfo, Loaded, RepoScan, _file_target
from guidecheck.loaders.fs import ReadError, read_text, walk
from guidecheck.model import LoadError, ObjectRef, SourceFile, Target
from guidecheck.sanitize import path as clean_path
from guidecheck.parsers.yaml import YMap, YSeq, load_yaml

# Oldest Helm releases without known template-time vulnerabilities:
# 3.18.5 fixes GHSA-9h84-qmv7-982p (values.schema.json $ref fetched/read while rendering);
# 3.18.4 fixed GHSA-f9f8-9pmf-xv68 (panic on a malformed Chart.yaml) and CVE-2025-53547
# (Chart.lock symlink written by dependency update).  Helm 4.0.0 ships all of them.
MIN_HELM = {3: (3, 18, 5), 4: (4, 0, 0)}
INSTALL_HINT = ("install Helm >= 3.18.5 or 4.x (https://helm.sh/docs/intro/install/) and put it on PATH, "
                "or give its path with --helm / helm.binary")
CLI_PROFILE = "cli"
DEFAULT_PROFILE = "default"
_SOURCE = re.compile(r"^# Source: (.+?)\s*$")
_DOC_SEP = re.compile(r"^---\s*(#.*)?$")
_ERR_AT = re.compile(r"([^\s():\"']+/(?:templates|crds)/[^\s():\"']+?):(\d+)(?::(\d+))?")
_YAML_LINE = re.compile(r"YAML parse error on ([^\s:]+): .*?yaml: line (\d+)")
_VALUES_REF = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s'"#{}\[\],&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?)\s*:(?:\s|$)""")


# ----------------------------------------------------------------------------- data


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
    skipped: str | None = None  # why it was not rendered (library, subchart, no helm, ...)
    seconds: dict[str, float] = field(default_factory=dict)  # profile -> render wall time
    resolved: list[str] = field(default_factory=list)  # dependencies taken from the scanned tree


@dataclass
class HelmOptions:
    binary: str | None = None
    release: str = "release-name"
    namespace: str | None = None
    timeout: float = 60.0
    profiles: dict[str, list[str]] = field(default_factory=dict)
    charts: dict[str, dict] = field(default_factory=dict)  # absolute chart dir -> {profiles, release-name, ...}
    api_versions: list[str] = field(default_factory=list)
    kube_version: str | None = None
    resolve_from_tree: bool = True
    cli_values: list[str] = field(default_factory=list)
    cli_set: list[str] = field(default_factory=list)
    only: tuple[str, ...] = ()  # --profile: render only these profiles
    verbose: bool = False
    render: bool = True
    max_output: int = 64 * 1024 * 1024  # bytes of rendered output read per chart and profile


def options_from(config: Config, options: dict[str, Any]) -> HelmOptions:
    h = dict(getattr(config, "helm", None) or {})
    cli = options.get("helm") or {}
    base = os.path.dirname(os.path.abspath(config.path)) if config.path else os.getcwd()
    charts = {}
    for d, spec in (h.get("charts") or {}).items():
        charts[os.path.normpath(os.path.join(base, d))] = dict(spec or {})
    binary = cli.get("binary") or h.get("binary")
    if binary and os.sep in binary and not os.path.isabs(binary) and not cli.get("binary"):
        binary = os.path.normpath(os.path.join(base, binary))
    return HelmOptions(
        binary=binary,
        release=cli.get("release") or h.get("release-name") or "release-name",
        namespace=cli.get("namespace") or h.get("namespace"),
        timeout=float(h.get("timeout", 60)),
        profiles={k: list(v or ()) for k, v in (h.get("profiles") or {}).items()},
        charts=charts,
        api_versions=list(h.get("api-versions") or ()),
        kube_version=h.get("kube-version"),
        resolve_from_tree=bool(h.get("resolve-dependencies-from-tree", True)),
        cli_values=[os.path.abspath(v) for v in cli.get("values") or ()],
        cli_set=list(cli.get("set") or ()),
        only=tuple(cli.get("profiles") or ()),
        verbose=bool(options.get("verbose")),
        render=h.get("render", True) is not False,
        max_output=8 * config.max_file_bytes,
    )


# ----------------------------------------------------------------------------- entry point


def extend(loaded: Loaded, config: Config, options: dict) -> None:
    try:
        _extend(loaded, config, options)
    except Exception as exc:  # a bug here must not hide the rest of the scan
        loaded.incomplete.append(f"Helm charts: internal error: {type(exc).__name__}: {exc}")


def _extend(loaded: Loaded, config: Config, options: dict) -> None:
    opts = options_from(config, options)
    jobs: list[_ChartJob] = []
    for repo in loaded.repos:
        jobs.extend(_repo_jobs(repo, config, opts, loaded))
    # a dependency may be found in any scanned directory (charts/a and charts/b given one by one)
    everywhere = []
    for j in jobs:
        everywhere.extend(c for c in j.all_charts if c not in everywhere)
    for j in jobs:
        j.all_charts = everywhere
    jobs.extend(_file_jobs(loaded, config, opts))
    _missing_chart_yaml(loaded)
    renderable = [j for j in jobs if j.model.skipped is None]
    helm = None
    if renderable and opts.render:
        helm, why = find_helm(opts.binary)
        if helm is None:
            loaded.incomplete.append(f"Helm charts not rendered ({len(renderable)} chart(s)): {why}")
            for j in renderable:
                j.model.skipped = why
    elif renderable:
        for j in renderable:
            j.model.skipped = "rendering is turned off (helm.render: false)"
    if helm is not None:
        _render_all([j for j in renderable if j.model.skipped is None], helm, config, opts, loaded)
    for j in jobs:
        loaded.targets.append(j.target)


# ----------------------------------------------------------------------------- helm binary


def _beside_interpreter(name: str) -> str | None:
    """``name`` installed in the same environment as guidecheck (``.venv/bin/helm``).

    A virtual environment's tools are on PATH once it is activated; run as
    ``.venv/bin/guidecheck`` it is not, so the environment's own scripts
    directory is looked at after PATH (``scripts/install-test-tools.sh`` links
    Helm there).
    """
    import sysconfig

    scripts = sysconfig.get_path("scripts")
    return shutil.which(name, path=scripts) if scripts else None


def find_helm(binary: str | None) -> tuple[str | None, str]:
    """The Helm executable to use, or None and a one-line reason (how to install it)."""
    path = shutil.which(binary) if binary else (shutil.which("helm") or _beside_interpreter("helm"))
    if binary and path is None and os.path.isfile(binary) and os.access(binary, os.X_OK):
        path = os.path.abspath(binary)
    if path is None:
        where = f"'{binary}' not found" if binary else "no 'helm' on PATH"
        return None, f"{where}: {INSTALL_HINT}"
    path = os.path.abspath(path)  # Helm runs in a temporary directory: a relative PATH entry would not resolve
    version = helm_version(path)
    if version is None:
        return None, f"{path} did not report a Helm version: {INSTALL_HINT}"
    problem = version_problem(version)
    if problem:
        return None, f"{path} is Helm {'.'.join(map(str, version))}: {problem}"
    return path, ""


_VERSIONS: dict[str, tuple[int, int, int] | None] = {}


def helm_version(path: str) -> tuple[int, int, int] | None:
    if path in _VERSIONS:
        return _VERSIONS[path]
    try:
        with tempfile.TemporaryDirectory(prefix="guidecheck-helm-") as tmp:
            out = subprocess.run([path, "version", "--short"], capture_output=True, text=True, timeout=20,
                                 env=_sandbox_env(tmp), stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    m = re.search(r"v?(\d+)\.(\d+)\.(\d+)", out or "")
    v = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
    _VERSIONS[path] = v
    return v


def version_problem(v: tuple[int, int, int]) -> str | None:
    if v[0] < 3:
        return "Helm 2 cannot render v2 charts offline; " + INSTALL_HINT
    minimum = MIN_HELM.get(v[0])
    if minimum and v < minimum:
        return (f"older than {'.'.join(map(str, minimum))}, which fixes template-time vulnerabilities "
                f"(GHSA-9h84-qmv7-982p: values.schema.json $ref read or fetched while rendering); "
                f"refusing to run it: {INSTALL_HINT}")
    return None


def _sandbox_env(tmp: str) -> dict[str, str]:
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(plugins, exist_ok=True)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": tmp,
        "LANG": "C.UTF-8",
        "HELM_PLUGINS": plugins,
        "HELM_CONFIG_HOME": os.path.join(tmp, "config"),
        "HELM_CACHE_HOME": os.path.join(tmp, "cache"),
        "HELM_DATA_HOME": os.path.join(tmp, "data"),
        "HELM_REGISTRY_CONFIG": os.path.join(tmp, "config", "registry.json"),
        "HELM_REPOSITORY_CONFIG": os.path.join(tmp, "config", "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": os.path.join(tmp, "cache", "repository"),
        "KUBECONFIG": os.path.join(tmp, "no-kubeconfig"),
        # no network: anything Helm might try to fetch goes to a closed local port
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "", "no_proxy": "",
    }


# ----------------------------------------------------------------------------- discovery


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
        all_charts.append((os.path.normpath(os.path.join(w.root, c.path)), _join(repo.prefix, c.path),
                           c.name, meta))
    jobs = []
    for c in repo.charts:
        meta, errors = metas[c.path]
        chart_prefix = "" if c.path == "." else c.path + "/"
        inventory = [p[len(chart_prefix):] for p in w.inventory if p.startswith(chart_prefix)]
        jobs.append(_job(c, meta, errors, w.root, os.path.normpath(os.path.join(w.root, c.path)), inventory,
                         repo.prefix, repo.prefix, all_charts, opts))
    return jobs


def _join(prefix: str, rel: str) -> str:
    if rel in ("", "."):
        return prefix.rstrip("/") or "."
    return prefix + rel


def _job(c: ChartInfo, meta: Any, errors: list[LoadError], root: str, abspath: str, inventory: list[str],
         display_prefix: str, scope: str, all_charts: list, opts: HelmOptions) -> _ChartJob:
    shown = _join(display_prefix, c.path)
    model = ChartModel(path=shown, chart_yaml=_join(display_prefix, c.chart_yaml), meta=meta, type=c.type,
                       subchart_of=_join(display_prefix, c.subchart_of) if c.subchart_of else None, errors=errors)
    if c.type == "library":
        model.skipped = "a library chart: rendered only through the charts that depend on it"
    elif c.subchart_of is not None:
        model.skipped = f"a subchart of {model.subchart_of}: rendered through it, with its values"
    elif not isinstance(meta, dict):
        model.skipped = "Chart.yaml could not be read"
    name = meta.get("name") if isinstance(meta, dict) and isinstance(meta.get("name"), str) else None
    target = Target(kind="chart", path=model.chart_yaml, line=1, ref=ObjectRef("Chart", None, name or shown),
                    data=model, origin={"source": "helm", "repo": scope, "chart": shown, "chart_name": name})
    prefix = "" if shown == "." else shown + "/"
    job = _ChartJob(model, target, root, abspath, inventory, prefix, scope, all_charts)
    if model.skipped is None:
        job.profiles = _profiles(job, opts)
    return job


def _profiles(job: _ChartJob, opts: HelmOptions) -> list[tuple[str, list[str]]]:
    """(name, [absolute values files]) to render, in order; problems become GC401 issues."""
    out: list[tuple[str, list[str]]] = [(DEFAULT_PROFILE, [])]
    spec = opts.charts.get(job.abspath, {})
    for name, files in sorted(opts.profiles.items()):
        if name in (spec.get("profiles") or {}):
            continue
        paths = [os.path.normpath(os.path.join(job.abspath, f)) for f in files]
        present = [os.path.isfile(p) for p in paths]
        if not any(present):
            continue  # a shared profile applies to the charts that have its files
        if not all(present):
            missing = [f for f, ok in zip(files, present) if not ok]
            job.model.issues.append(Issue(f"value profile '{name}': file(s) missing in this chart: "
                                          f"{', '.join(missing)}", job.model.chart_yaml, profile=name))
            continue
        out.append((name, paths))
    for name, files in sorted((spec.get("profiles") or {}).items()):
        paths = [os.path.normpath(os.path.join(job.abspath, f)) for f in files or ()]
        missing = [f for f, p in zip(files or (), paths) if not os.path.isfile(p)]
        if missing:
            job.model.issues.append(Issue(f"value profile '{name}': file(s) not found: {', '.join(missing)}",
                                          job.model.chart_yaml, profile=name))
            continue
        out.append((name, paths))
    if opts.cli_values or opts.cli_set:
        out.append((CLI_PROFILE, list(opts.cli_values)))
    if opts.only:
        out = [p for p in out if p[0] in opts.only]
    return out


def chart_root_of(path: str, stop: str) -> str | None:
    """The top-level chart directory holding ``path`` (a subchart's parent), or None; never above ``stop``."""
    d = os.path.dirname(os.path.abspath(path))
    found = None
    stop = os.path.abspath(stop)
    while True:
        if os.path.isfile(os.path.join(d, "Chart.yaml")) and not os.path.islink(os.path.join(d, "Chart.yaml")):
            found = d
        parent = os.path.dirname(d)
        if d == stop or parent == d or not (d + os.sep).startswith(stop + os.sep):
            break
        d = parent
    return found


def _file_jobs(loaded: Loaded, config: Config, opts: HelmOptions) -> list[_ChartJob]:
    """Pre-commit: a chart is rendered when one of the files named belongs to it."""
    if not loaded.files:
        return []
    cwd = os.getcwd()
    seen: dict[str, str] = {}
    for abspath, display, _kind in loaded.files:
        stop = cwd if abspath.startswith(cwd + os.sep) else os.path.dirname(abspath)
        chart = chart_root_of(abspath, stop)
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
            jobs.append(_job(c, meta, errors, w.root, w.root, list(w.inventory), prefix, "", all_charts, opts))
    return jobs


def _missing_chart_yaml(loaded: Loaded) -> None:
    """A directory with ``templates/`` and ``values.yaml`` but no ``Chart.yaml`` is a broken chart."""
    from guidecheck.loaders import _chartless_template_dirs

    for repo in loaded.repos:
        for tdir in _chartless_template_dirs(repo.walk):
            d = tdir[: -len("templates/")]
            shown = _join(repo.prefix, d.rstrip("/") or ".")
            model = ChartModel(path=shown, chart_yaml="", meta=None, type="application", subchart_of=None,
                               skipped="no Chart.yaml")
            model.issues.append(Issue("Chart.yaml is missing: a directory with templates/ and values.yaml is "
                                      "a Helm chart only with a Chart.yaml (apiVersion: v2, name, version)",
                                      repo.prefix + d + "values.yaml"))
            loaded.targets.append(Target(kind="chart", path=repo.prefix + d + "values.yaml", line=1,
                                         ref=ObjectRef("Chart", None, shown), data=model,
                                         origin={"source": "helm", "repo": repo.prefix, "chart": shown}))


# ----------------------------------------------------------------------------- dependencies


def _deps(meta: Any) -> list[dict]:
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    return [d for d in deps if isinstance(d, dict) and isinstance(d.get("name"), str)] if isinstance(deps, list) else []


def _vendored(chart_dir: str) -> dict[str, str]:
    """Chart name -> path (directory or .tgz) of what is vendored in ``charts/`` of a chart copy."""
    out: dict[str, str] = {}
    cdir = os.path.join(chart_dir, "charts")
    if not os.path.isdir(cdir):
        return out
    for entry in sorted(os.listdir(cdir)):
        p = os.path.join(cdir, entry)
        if os.path.isdir(p) and os.path.isfile(os.path.join(p, "Chart.yaml")):
            meta = _quick_meta(os.path.join(p, "Chart.yaml"))
            out.setdefault(str(meta.get("name") or entry), p)
        elif entry.endswith(".tgz"):
            m = re.match(r"^(.+?)-v?\d+\.\d+\.\d+.*\.tgz$", entry)
            out.setdefault(m.group(1) if m else entry[:-4], p)
    return out


def _quick_meta(path: str) -> dict:
    """A Chart.yaml's mapping (name, dependencies); a symlinked or unreadable one reads as empty."""
    try:
        docs = load_yaml(read_text(path, 1024 * 1024, root=os.path.dirname(path)))
    except ReadError:
        return {}
    return docs[0].data if docs and isinstance(docs[0].data, dict) else {}


def _resolve_deps(job: _ChartJob, copy_dir: str, orig_dir: str, opts: HelmOptions, depth: int = 0) -> list[Issue]:
    """Make every dependency of the chart copy present in its ``charts/``; issues for what cannot be."""
    meta = _quick_meta(os.path.join(copy_dir, "Chart.yaml"))
    issues: list[Issue] = []
    vendored = _vendored(copy_dir)
    for dep in _deps(meta):
        name = dep["name"]
        repo = str(dep.get("repository") or "")
        constraint = str(dep.get("version") or "")
        if name in vendored:
            continue
        source = None
        if repo.startswith("file://"):
            cand = os.path.normpath(os.path.join(orig_dir, repo[len("file://"):]))
            if not _inside(cand, job.root):
                issues.append(Issue(f"dependency '{name}' ({repo}) is outside the scanned tree: not read",
                                    job.model.chart_yaml))
                continue
            if os.path.isfile(os.path.join(cand, "Chart.yaml")):
                source = cand
        if source is None and opts.resolve_from_tree:
            for abs_dir, shown, cname, cmeta in job.all_charts:
                if cname == name and abs_dir != orig_dir and isinstance(cmeta, dict) \
                        and version_matches(str(cmeta.get("version") or ""), constraint):
                    source = abs_dir
                    if not repo.startswith("file://"):
                        job.model.resolved.append(f"{name} {cmeta.get('version')} from {shown}")
                    break
        if source is None:
            where = repo or "no repository"
            issues.append(Issue(f"dependency '{name}' {constraint} ({where}) is not in charts/ and not in the "
                                "scanned tree; guidecheck never downloads charts: run 'helm dependency build' "
                                "and commit charts/, or scan the tree that holds it", job.model.chart_yaml,
                                _line_of_dep(job.model.meta, name)))
            continue
        dest = os.path.join(copy_dir, "charts", os.path.basename(source.rstrip("/")) + ("-dep" if depth else ""))
        if os.path.exists(dest):
            dest = os.path.join(copy_dir, "charts", f"{name}-dependency")
        _copy_chart(source, dest, job.root)
        if depth < 5:
            issues.extend(_resolve_deps(job, dest, source, opts, depth + 1))
    return issues


def _line_of_dep(meta: Any, name: str) -> int:
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    if isinstance(deps, YSeq):
        for i, d in enumerate(deps):
            if isinstance(d, dict) and d.get("name") == name:
                return deps.item_line(i)
    return 1


def _inside(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _copy_chart(src: str, dest: str, root: str) -> None:
    """Copy a chart directory: regular files inside ``root`` only (the walk's rules)."""
    w = walk(src)
    _copy_files(src, w.inventory, dest)


def _copy_files(src: str, files: list[str], dest: str) -> None:
    for rel in files:
        s = os.path.join(src, rel)
        d = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        try:
            fd = os.open(s, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not (st.st_mode & 0o170000 == 0o100000):
                continue
            with open(fd, "rb", closefd=False) as fh, open(d, "wb") as out:
                shutil.copyfileobj(fh, out)
        finally:
            os.close(fd)


_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _ver(text: str) -> tuple[int, int, int] | None:
    m = _SEMVER.match(text.strip())
    if not m:
        return None
    parts = [m.group(1), m.group(2) or "0", m.group(3) or "0"]
    if any(p in ("x", "X", "*") for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def version_matches(version: str, constraint: str) -> bool:
    """A subset of Helm's (Masterminds) SemVer constraints: ``1.2.3``, ``1.2.*``, ``2.x.x``, ``^``, ``~``,
    comparisons, ``a - b``, ``,``/space (and) and ``||`` (or).  Unparseable: False."""
    v = _ver(version)
    if v is None:
        return False
    constraint = constraint.strip()
    if not constraint or constraint in ("*", "x", "X"):
        return True
    for alt in constraint.split("||"):
        alt = re.sub(r"\s*-\s+", " - ", alt.strip())
        rng = re.match(r"^(\S+) - (\S+)$", alt)
        if rng:
            lo, hi = _ver(rng.group(1)), _ver(rng.group(2))
            if lo and hi and lo <= v <= hi:
                return True
            continue
        terms = [t for t in re.split(r"[\s,]+", re.sub(r"(>=|<=|!=|>|<|=|\^|~)\s+", r"\1", alt)) if t]
        if terms and all(_term(v, t) for t in terms):
            return True
    return False


def _term(v: tuple[int, int, int], t: str) -> bool:
    m = re.match(r"^(>=|<=|!=|>|<|=|\^|~>?|)v?(.*)$", t)
    if not m:
        return False
    op, rest = m.group(1), m.group(2)
    sm = _SEMVER.match(rest)
    if not sm:
        return False
    raw = [sm.group(1), sm.group(2), sm.group(3)]
    wild = [p is None or p in ("x", "X", "*") for p in raw]
    nums = [int(p) if p is not None and not w else 0 for p, w in zip(raw, wild)]
    base = tuple(nums)
    if op in ("", "="):
        if not any(wild):
            return v == base
        n = wild.index(True)
        return v[:n] == base[:n]
    if op == "!=":
        return v != base
    if op == ">":
        return v > base
    if op == ">=":
        return v >= base
    if op == "<":
        return v < base
    if op == "<=":
        return v <= base
    if op.startswith("~"):
        n = 2 if not wild[1] else 1
        return v >= base and v[:n] == base[:n]
    if op == "^":
        if base[0] > 0 or wild[1]:
            return v >= base and v[0] == base[0]
        if base[1] > 0 or wild[2]:
            return v >= base and v[:2] == base[:2]
        return v == base
    return False


# ----------------------------------------------------------------------------- rendering


def _render_all(jobs: list[_ChartJob], helm: str, config: Config, opts: HelmOptions, loaded: Loaded) -> None:
    if not jobs:
        return
    tmp = tempfile.mkdtemp(prefix="guidecheck-helm-")
    try:
        env = _sandbox_env(tmp)
        prepared = []
        for i, job in enumerate(jobs):
            start = time.perf_counter()
            copy_dir = os.path.join(tmp, "charts", str(i), os.path.basename(job.abspath) or "chart")
            _copy_files(job.abspath, job.inventory, copy_dir)
            issues = _resolve_deps(job, copy_dir, job.abspath, opts)
            job.model.issues.extend(issues)
            refs = _external_schema_refs(copy_dir, job)
            job.model.issues.extend(refs)
            job.__dict__["_skip_schema"] = bool(refs)
            copy_time = time.perf_counter() - start
            if issues:
                job.model.skipped = "dependencies missing"
                if opts.verbose:
                    print(f"guidecheck: not rendered {clean_path(job.model.path)}: dependencies missing (GC401)",
                          file=sys.stderr)
                continue
            for profile, files in job.profiles:
                prepared.append((job, copy_dir, profile, files, copy_time))
        workers = max(1, min(len(prepared), os.cpu_count() or 1, 8))
        lock = threading.Lock()

        def run(item):
            job, copy_dir, profile, files, _ = item
            start = time.perf_counter()
            res = _helm_template(helm, copy_dir, job, profile, files, opts, env, tmp)
            with lock:
                job.model.seconds[profile] = time.perf_counter() - start
            return res

        if workers == 1:
            results = [run(p) for p in prepared]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, prepared))
        # files the walk already read (a chart's crds/ are plain YAML): not loaded twice
        seen_sources: dict[str, SourceFile | None] = {t.path: None for t in loaded.targets if t.kind == "file"}
        values_cache: dict[str, Any] = {}
        for (job, copy_dir, profile, files, copy_time), (rc, out, err) in zip(prepared, results):
            if rc != 0:
                job.model.issues.append(_render_error(err, job, copy_dir, tmp, profile, files))
                if opts.verbose:
                    print(f"guidecheck: failed to render {clean_path(job.model.path)} [{profile}] in "
                          f"{job.model.seconds.get(profile, 0):.2f} s (GC401)", file=sys.stderr)
                continue
            try:
                n_obj, n_work = _add_rendered(out, job, copy_dir, profile, files, config, opts, loaded,
                                              seen_sources, values_cache)
            except Exception as exc:  # never a traceback: the chart is reported as not checked
                loaded.incomplete.append(f"{job.model.path} [{profile}]: rendered output not loaded: "
                                         f"internal error {type(exc).__name__}: {exc}")
                continue
            job.model.objects[profile] = n_obj
            job.model.rendered[profile] = n_work
            if opts.verbose:
                print(f"guidecheck: rendered {clean_path(job.model.path)} [{profile}] in "
                      f"{job.model.seconds.get(profile, 0):.2f} s (copy {copy_time:.2f} s): "
                      f"{n_obj} object(s)" + ("; dependencies from the tree: "
                                              + clean_path(", ".join(job.model.resolved))
                                              if job.model.resolved else ""), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_REF = re.compile(r'"\$ref"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _external_schema_refs(copy_dir: str, job: _ChartJob) -> list[Issue]:
    """``$ref`` in a values.schema.json that is not local (``#/...``): Helm would open the file or fetch the
    URL while validating (even in fixed versions it reads ``file://`` targets), so the chart is rendered
    without schema validation and the reference is a GC401 finding."""
    issues = []
    for dirpath, _dirs, files in os.walk(copy_dir):
        if "values.schema.json" not in files:
            continue
        path = os.path.join(dirpath, "values.schema.json")
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read(8 * 1024 * 1024)
        except OSError:
            continue
        rel = os.path.relpath(path, copy_dir).replace(os.sep, "/")
        shown = _display_of_copy(rel, job)
        for m in _REF.finditer(text):
            ref = m.group(1)
            if ref.startswith("#"):
                continue
            line = text.count("\n", 0, m.start()) + 1
            issues.append(Issue(f"values.schema.json refers to '{ref[:100]}' outside the schema: not followed "
                                "(Helm would read that file or fetch that URL while rendering); the chart is "
                                "rendered without schema validation: inline the definition under $defs",
                                shown, line))
    return issues


def _display_of_copy(rel: str, job: _ChartJob) -> str:
    """Display path of a file of the chart copy (files of dependencies copied in from the tree included)."""
    parts = rel.split("/")
    if len(parts) >= 3 and parts[0] == "charts":
        found = _subchart_dir(job.abspath, parts[1], job)
        if found is None:
            for a, shown, cname, _m in job.all_charts:
                if os.path.basename(a) == parts[1] or cname == parts[1]:
                    found = (a, shown)
                    break
        if found:
            return found[1] + "/" + "/".join(parts[2:])
    return job.prefix + rel


def _helm_template(helm: str, copy_dir: str, job: _ChartJob, profile: str, files: list[str], opts: HelmOptions,
                   env: dict, tmp: str) -> tuple[int, str, str]:
    spec = opts.charts.get(job.abspath, {})
    release = str(spec.get("release-name") or opts.release)
    namespace = spec.get("namespace") or opts.namespace
    cmd = [helm, "template", release, copy_dir, "--skip-tests", "--include-crds"]
    if job.__dict__.get("_skip_schema"):
        cmd.append("--skip-schema-validation")  # its external $refs would be read or fetched by Helm
    if namespace:
        cmd += ["--namespace", str(namespace)]
    for f in files:
        cmd += ["--values", _stage_values(f, job, tmp, copy_dir)]
    if profile == CLI_PROFILE:
        for s in opts.cli_set:
            cmd += ["--set", s]
    for a in opts.api_versions:
        cmd += ["--api-versions", a]
    if opts.kube_version:
        cmd += ["--kube-version", opts.kube_version]
    try:
        p = subprocess.run(cmd, capture_output=True, env=env, timeout=opts.timeout, stdin=subprocess.DEVNULL,
                           cwd=tmp)
    except subprocess.TimeoutExpired:
        return 124, "", f"helm template timed out after {opts.timeout:g} s"
    except OSError as exc:
        return 126, "", f"cannot run {helm}: {exc.strerror}"
    limit = _output_limit(opts)
    if len(p.stdout) > limit:
        return 125, "", (f"the rendered output is {_size(len(p.stdout))}, more than the {_size(limit)} "
                         "guidecheck reads (8 x limits.max-file-bytes)")
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _output_limit(opts: HelmOptions) -> int:
    return opts.max_output


def _stage_values(path: str, job: _ChartJob, tmp: str, copy_dir: str) -> str:
    """Values files inside the chart are read from the copy; others are copied once (no symlink escapes)."""
    rel = os.path.relpath(path, job.abspath)
    if not rel.startswith(".."):
        return os.path.join(copy_dir, rel)
    dest = os.path.join(tmp, "values", str(abs(hash(path))), os.path.basename(path))
    if not os.path.exists(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            inside = _inside(path, job.root)
            text = read_text(path, 8 * 1024 * 1024, root=job.root if inside else None)
        except ReadError:
            text = ""
        with open(dest, "w", encoding="utf-8") as fh:
            fh.write(text)
    return dest


def _display_values(path: str, job: _ChartJob) -> str:
    rel = os.path.relpath(path, job.abspath).replace(os.sep, "/")
    if not rel.startswith(".."):
        return job.prefix + rel
    cwd = os.getcwd()
    return os.path.relpath(path, cwd).replace(os.sep, "/") if path.startswith(cwd + os.sep) else path


def _render_error(err: str, job: _ChartJob, copy_dir: str, tmp: str, profile: str, files: list[str]) -> Issue:
    text = err.replace(copy_dir + "/", job.prefix).replace(copy_dir, job.model.path).replace(tmp + "/", "")
    text = re.sub(r"Use --debug flag to render out invalid YAML", "", text)
    text = re.sub(r"^Error:\s*", "", text.strip())
    message = re.sub(r"\s+", " ", text).strip() or "helm template failed"
    chart_name = job.target.origin.get("chart_name") or ""
    path, line, col = job.model.chart_yaml, 1, 1
    m = _ERR_AT.search(text)
    ym = _YAML_LINE.search(text)
    if m:
        resolved = _source_path(m.group(1), job, chart_name)
        if resolved:
            path, line, col = resolved[0], int(m.group(2)), int(m.group(3) or 1)
    elif ym:
        resolved = _source_path(ym.group(1), job, chart_name)
        if resolved:
            path, line = resolved[0], int(ym.group(2))
            message += " (a line of the rendered document)"
    elif "values don't meet the specifications of the schema" in text:
        schema = job.prefix + "values.schema.json"
        path = schema if "values.schema.json" in job.inventory else job.model.chart_yaml
    if len(message) > 600:
        message = message[:600] + "..."
    return Issue(f"helm template failed [profile {profile}]: {message}", path, line, col, profile)


def _source_path(source: str, job: _ChartJob, chart_name: str) -> tuple[str, str] | None:
    """``<chart>/charts/<sub>/templates/x.yaml`` -> (display path, absolute path in the copy-relative chart)."""
    parts = source.split("/")
    if not parts:
        return None
    parts = parts[1:]  # the top chart's name
    base_abs, base_shown = job.abspath, job.model.path
    while len(parts) >= 2 and parts[0] == "charts":
        sub = parts[1]
        found = _subchart_dir(base_abs, sub, job)
        if found is None:
            return None
        base_abs, base_shown = found
        parts = parts[2:]
    rel = "/".join(parts)
    shown = (base_shown + "/" if base_shown not in ("", ".") else "") + rel
    return shown, os.path.join(base_abs, *parts)


def _subchart_dir(parent_abs: str, name: str, job: _ChartJob) -> tuple[str, str] | None:
    """Where subchart ``name`` (or alias) of ``parent_abs`` lives in the scanned tree."""
    cache = job.__dict__.setdefault("_subcache", {})
    key = (parent_abs, name)
    if key in cache:
        return cache[key]
    result = None
    meta = _quick_meta(os.path.join(parent_abs, "Chart.yaml"))
    real = name
    for d in _deps(meta):
        if d.get("alias") == name:
            real = d["name"]
    cdir = os.path.join(parent_abs, "charts")
    if os.path.isdir(cdir):
        for entry in sorted(os.listdir(cdir)):
            p = os.path.join(cdir, entry)
            if os.path.isfile(os.path.join(p, "Chart.yaml")) and _quick_meta(os.path.join(p, "Chart.yaml")).get(
                    "name") == real:
                result = (p, _shown_of(p, job))
                break
    if result is None:
        for d in _deps(meta):
            if d["name"] != real:
                continue
            repo = str(d.get("repository") or "")
            if repo.startswith("file://"):
                cand = os.path.normpath(os.path.join(parent_abs, repo[7:]))
                if os.path.isfile(os.path.join(cand, "Chart.yaml")) and _inside(cand, job.root):
                    result = (cand, _shown_of(cand, job))
                    break
        if result is None:
            for abs_dir, shown, cname, cmeta in job.all_charts:
                if cname == real and abs_dir != parent_abs:
                    constraint = next((str(d.get("version") or "") for d in _deps(meta) if d["name"] == real), "")
                    if isinstance(cmeta, dict) and version_matches(str(cmeta.get("version") or ""), constraint):
                        result = (abs_dir, shown)
                        break
    cache[key] = result
    return result


def _shown_of(abs_dir: str, job: _ChartJob) -> str:
    for a, shown, _n, _m in job.all_charts:
        if a == abs_dir:
            return shown
    rel = os.path.relpath(abs_dir, job.abspath).replace(os.sep, "/")
    return job.prefix + rel if job.prefix else rel


def _split_output(out: str) -> list[tuple[str, int, str]]:
    """(source, first line number, text) of each rendered document."""
    docs: list[tuple[str, int, str]] = []
    lines = out.split("\n")
    cur: list[str] = []
    start = 1
    source = None

    def flush():
        if source and any(x.strip() and not x.lstrip().startswith("#") for x in cur):
            docs.append((source, start, "\n".join(cur) + "\n"))

    for i, line in enumerate(lines, 1):
        if _DOC_SEP.match(line):
            flush()
            cur, start, source = [], i + 1, None
            continue
        m = _SOURCE.match(line)
        if m and source is None and not any(x.strip() for x in cur):
            source = m.group(1)
        cur.append(line)
    flush()
    return docs


def _add_rendered(out: str, job: _ChartJob, copy_dir: str, profile: str, files: list[str], config: Config,
                  opts: HelmOptions, loaded: Loaded, sources: dict[str, SourceFile | None],
                  values_cache: dict) -> tuple[int, int]:
    spec = opts.charts.get(job.abspath, {})
    release = str(spec.get("release-name") or opts.release)
    namespace = spec.get("namespace") or opts.namespace or "default"
    chart_name = job.target.origin.get("chart_name")
    workload_kinds = set(config.settings.get("workload-kinds") or ())
    n_obj = n_work = 0
    templates: dict[str, tuple[str, list[str]]] = {}
    for source, _first, text in _split_output(out):
        resolved = _source_path(source, job, chart_name or "")
        if resolved is None:
            shown, abspath = job.model.path + "/" + source, None
        else:
            shown, abspath = resolved
        if shown in sources and sources[shown] is None:
            continue  # a crds/ file the directory walk already read as plain manifests
        if shown not in templates:
            ttext = ""
            if abspath and os.path.isfile(abspath):
                try:
                    ttext = read_text(abspath, config.max_file_bytes, root=job.root)
                except ReadError:
                    ttext = ""
            templates[shown] = (ttext, ttext.split("\n"))
        ttext, tlines = templates[shown]
        src = sources.get(shown)
        if src is None:
            src = SourceFile(shown, "yaml", read=True)
            if config.inline_suppressions and ttext:
                src.suppressions.extend(suppress.parse_comments(ttext, shown, "yaml"))
            sources[shown] = src
            loaded.targets.append(_file_target(src))
        docs = load_yaml(text, config.limits)
        mapping = align(text.split("\n"), tlines) if tlines and any(tlines) else None
        for doc in docs:
            for e in doc.errors:
                err = LoadError(f"rendered output [profile {profile}]: {e.message}",
                                _map_line(mapping, e.line), 1, e.severity)
                if err not in src.errors:
                    src.errors.append(err)
            objs = []
            data = doc.data
            if isinstance(data, dict) and "apiVersion" in data and "kind" in data:
                if data.get("kind") == "List" and isinstance(data.get("items"), list):
                    objs = [x for x in data["items"] if isinstance(x, dict) and "apiVersion" in x and "kind" in x]
                else:
                    objs = [data]
            if isinstance(data, dict) and data and not objs:
                line = _map_line(mapping, getattr(data, "line", doc.line))
                err = LoadError(f"rendered output [profile {profile}]: a document that is not a Kubernetes object "
                                "(no apiVersion or kind): Helm cannot install it", line, 1)
                if err not in src.errors:
                    src.errors.append(err)
            if mapping is not None and data is not None:
                _remap(data, mapping)
            for obj in objs:
                n_obj += 1
                if obj.get("kind") in workload_kinds:
                    n_work += 1
                origin = {"source": "helm", "repo": job.scope, "chart": job.model.path, "chart_name": chart_name,
                          "template": shown, "profile": profile, "release": release, "namespace": namespace}
                values_files = [_display_values(f, job) for f in files]
                origin["_values"] = ValuesTrace(job, shown, tlines, files, values_files, values_cache,
                                                opts.cli_set if profile == CLI_PROFILE else [])
                if files:
                    origin["values_files"] = values_files
                _add(obj, src, loaded, config, origin)
    return n_obj, n_work


def _add(obj: dict, src: SourceFile, loaded: Loaded, config: Config, origin: dict) -> None:
    errors = k8s.structure_errors(obj)
    for e in errors:
        if e not in src.errors:
            src.errors.append(e)
    if any(e.message.startswith(("apiVersion", "kind")) for e in errors):
        return
    line = getattr(obj, "line", 1)
    end = _last_line(obj, line)
    ann = k8s.annotations(obj)
    supp = suppress.from_annotations(ann, src.path, line, (line, end)) if config.inline_suppressions else []
    loaded.targets.append(Target(kind="k8s", path=src.path, line=line, ref=k8s.object_ref(obj), data=obj,
                                 source=src, suppressions=supp, origin=origin))


def _last_line(node: Any, default: int) -> int:
    best = default
    stack = [node]
    seen = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, YMap):
            for p in n._pos.values():
                best = max(best, p[0], p[2])
            stack.extend(v for v in n.values() if isinstance(v, (YMap, YSeq)))
        elif isinstance(n, YSeq):
            for p in n._pos:
                best = max(best, p[0])
            stack.extend(v for v in n if isinstance(v, (YMap, YSeq)))
    return best


# ----------------------------------------------------------------------------- line mapping


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _token(line: str, template: bool) -> tuple | None:
    s = line.strip()
    if not s or s.startswith("#") or s == "---":
        return None
    if template and s.startswith("{{") and s.endswith("}}") and "}}" not in s[2:-2]:
        return None  # a control line ({{- if }}, {{ include ... | nindent }}) renders to other lines or none
    dash = ""
    while s.startswith("- "):
        dash += "- "
        s = s[2:].lstrip()
    m = _KEY.match(s + (" " if s.endswith(":") else ""))
    if m:
        key = m.group(1).strip()
        if template and "{{" in key:
            return None
        return (dash, key.strip("\"'"), ":")
    if template and "{{" in s:
        return None
    return (dash, s)


def align(rendered: list[str], template: list[str]) -> list[tuple[int, int]]:
    """For each rendered line (1-based index - 1): (template line, column shift).

    Lines are compared by their YAML key (or their whole text when they hold no
    key) and indentation; a heaviest common subsequence pairs them (see
    :func:`_pairs`: a pair whose text the template line can produce, or the very
    same text, weighs more than the same key alone), and a tie keeps a block's
    lines together (:func:`_slide_to_successor`).  A rendered line with no
    partner (from an ``include``, ``toYaml`` or a loop) takes the line of the
    nearest paired line above it: the key line that holds the block.  When some lines stay unpaired, keys alone (without
    indentation, for templates that re-indent) are compared too, and the
    pairing that pairs more lines wins.
    """
    def toks(lines, template):
        out = []
        for i, line in enumerate(lines):
            t = _token(line, template)
            out.append((_indent(line),) + t if t is not None else ("#", template, i))
        return out

    def weight(i: int, j: int) -> int:
        # same key: 1; and text the template line can produce: 2; and the very same text: 3.
        # Breaks ties between documents of one template file (a ServiceAccount's
        # "kind:" and "apiVersion:" lines against the Deployment's own).
        p = _line_pattern(template[j])
        r = rendered[i].strip()
        if isinstance(p, str):
            return 3 if p == r else 1
        return 2 if p.fullmatch(r) else 1

    rt, tt = toks(rendered, False), toks(template, True)
    pairs = _pairs(rt, tt, weight)
    keyed = sum(1 for t in rt if t[0] != "#")
    if keyed and len(pairs) < keyed:
        alt = _pairs([t[1:] if t[0] != "#" else t for t in rt], [t[1:] if t[0] != "#" else t for t in tt], weight)
        if len(alt) > len(pairs):
            pairs = alt
    _slide_to_successor(pairs, tt, weight)
    first_t = min(pairs.values()) if pairs else _first_content(template)
    out = []
    last = (first_t, 0)
    for i, line in enumerate(rendered):
        j = pairs.get(i)
        if j is not None:
            last = (j + 1, _indent(template[j]) - _indent(line))
            out.append(last)
        else:
            # an unpaired line: the holding key's line; columns point at its text
            tl = last[0]
            shift = (_indent(template[tl - 1]) - _indent(line)) if 0 < tl <= len(template) else 0
            out.append((tl, shift))
    return out


_ACTION_TEXT = re.compile(r"\{\{.*?\}\}")


@functools.lru_cache(maxsize=8192)
def _line_pattern(template_line: str) -> Any:
    """The template line as a regex (each ``{{ }}`` standing for any text, and text inside an
    inline ``{{ if }}...{{ end }}`` optional), or the stripped line itself when it has no action."""
    line = template_line.strip()
    actions = _ACTION_TEXT.findall(line)
    if not actions:
        return line
    parts = _ACTION_TEXT.split(line)
    pattern, depth = re.escape(parts[0]), 0
    for action, literal in zip(actions, parts[1:]):
        word = action[2:-2].strip("- ").split(" ", 1)[0]
        depth += 1 if word in ("if", "with", "range") else -1 if word == "end" and depth else 0
        pattern += ".*" + ("" if depth else re.escape(literal))
    return re.compile(pattern, re.S)


def _slide_to_successor(pairs: dict[int, int], tt: list, weight: Callable[[int, int], int]) -> None:
    """Keep a block's lines together where the pairing is a tie.

    ``- name: storage-volume`` followed by ``persistentVolumeClaim:`` pairs as well
    with ``- name: {{ .name }}`` of an (empty) ``range`` thirty lines up as with the
    ``- name: {{ $storageVolumeName }}`` right above the template's
    ``persistentVolumeClaim:``; the total weight is the same.  A line whose
    partner is not next to its predecessor's partner moves to an unpaired template
    line with the same key right before its successor's partner, if one scores as well.
    """
    used = set(pairs.values())
    order = sorted(pairs)
    for k in range(len(order) - 2, -1, -1):
        i, nxt = order[k], order[k + 1]
        j, j2 = pairs[i], pairs[nxt]
        if nxt != i + 1 or j2 <= j + 1:
            continue
        if k > 0 and order[k - 1] == i - 1 and pairs[order[k - 1]] == j - 1:
            continue  # already next to its predecessor's partner
        cand = j2 - 1
        if cand not in used and tt[cand][1:] == tt[j][1:] and tt[cand][0] == tt[j][0] and \
                weight(i, cand) >= weight(i, j):
            used.discard(j)
            used.add(cand)
            pairs[i] = cand


def _first_content(template: list[str]) -> int:
    for i, line in enumerate(template):
        s = line.strip()
        if s and not s.startswith("#") and s != "---" and not (s.startswith("{{") and s.endswith("}}")):
            return i + 1
    return 1


_LCS_CELLS = 600_000  # above this, difflib's matching blocks instead of an exact LCS


def _pairs(a: list, b: list, weight: Callable[[int, int], int] | None = None) -> dict[int, int]:
    """Pairs (index in a -> index in b) of a heaviest common subsequence of the keyed lines.

    Lines pair when their tokens (key and indentation) are equal; ``weight(i, j)``
    scores a pair (text that matches counts more than a key alone) and the pairing
    of greatest total weight wins.  An exact dynamic programme: difflib's
    longest-block-first matching pairs a ``toYaml`` block of one container with a
    literal block of the next one that happens to read the same
    (httpGet/path/port/scheme) and leaves every line between unpaired, putting a
    whole container on one wrong line.  Past ``_LCS_CELLS`` (after the common head
    and tail are set aside) difflib is used.
    """
    n, m = len(a), len(b)

    def same(i: int, j: int) -> bool:  # a head or tail set aside: the very same text, not just the key
        return a[i] == b[j] and (weight is None or a[i][0] == "#" or weight(i, j) == 3)

    lo = 0
    while lo < n and lo < m and same(lo, lo):
        lo += 1
    hi = 0
    while hi < n - lo and hi < m - lo and same(n - 1 - hi, m - 1 - hi):
        hi += 1
    out = {i: i for i in range(lo) if a[i][0] != "#"}
    out.update({n - 1 - k: m - 1 - k for k in range(hi) if a[n - 1 - k][0] != "#"})
    A, B = a[lo:n - hi], b[lo:m - hi]
    if not A or not B:
        return out
    if len(A) * len(B) > _LCS_CELLS:
        import difflib

        sm = difflib.SequenceMatcher(None, A, B, autojunk=False)
        for blk in sm.get_matching_blocks():
            for k in range(blk.size):
                if A[blk.a + k][0] != "#":
                    out[lo + blk.a + k] = lo + blk.b + k
        return out
    ids: dict = {}
    ai = [ids.setdefault(x, len(ids)) for x in A]
    bi = [ids.get(x, -1) for x in B]
    na, nb = len(ai), len(bi)
    w: dict[tuple[int, int], int] = {}
    table = [[0] * (nb + 1) for _ in range(na + 1)]  # table[i][j]: best weight of A[i:], B[j:]
    for i in range(na - 1, -1, -1):
        row, below, x = table[i], table[i + 1], ai[i]
        for j in range(nb - 1, -1, -1):
            d, r = below[j], row[j + 1]
            best = d if d >= r else r
            if x == bi[j]:
                wt = w[i, j] = weight(lo + i, lo + j) if weight is not None else 1
                if below[j + 1] + wt > best:
                    best = below[j + 1] + wt
            row[j] = best
    i = j = 0
    while i < na and j < nb:
        if ai[i] == bi[j] and table[i][j] == table[i + 1][j + 1] + w[i, j]:
            if A[i][0] != "#":
                out[lo + i] = lo + j
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _map_line(mapping, line: int) -> int:
    if mapping is None or not mapping:
        return line
    i = min(max(line, 1), len(mapping)) - 1
    return mapping[i][0]


def _remap(root: Any, mapping: list[tuple[int, int]]) -> None:
    """Rewrite every node's line/column from the rendered document to the template."""
    n = len(mapping)

    def m(line: int, col: int) -> tuple[int, int]:
        i = min(max(line, 1), n) - 1
        tl, shift = mapping[i]
        return tl, max(1, col + shift)

    stack = [root]
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, YMap):
            node.line, node.col = m(node.line, node.col)
            for k, (kl, kc, vl, vc) in list(node._pos.items()):
                a, b = m(kl, kc)
                c, d = m(vl, vc)
                node._pos[k] = (a, b, c, d)
            stack.extend(v for v in node.values() if isinstance(v, (YMap, YSeq)))
        elif isinstance(node, YSeq):
            node.line, node.col = m(node.line, node.col)
            node._pos = [m(l, c) for l, c in node._pos]
            stack.extend(v for v in node if isinstance(v, (YMap, YSeq)))


# ----------------------------------------------------------------------------- values tracing


_ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_ASSIGN = re.compile(r"^(?:\$[A-Za-z_0-9]*\s*(?:,\s*\$[A-Za-z_0-9]*\s*)?:?=\s*)")
# ".", ".a.b" relative to the dot (not "$.x", "$v.x", "(f).x", "x.y")
_DOT_REF = re.compile(r"(?<![\w$)\].])\.((?:[A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?(?![\w.])")
ROOT_DOT = "$"  # the dot is the chart's top-level context (.Values, .Release, ...)


def _resolve(expr: str, dot: str | None) -> str | None:
    """The values path an expression (the argument of ``with``/``range``) stands for, if one does."""
    m = _VALUES_REF.search(expr)
    if m:
        return m.group(1)[1:]
    if dot is None or dot == ROOT_DOT:
        return None
    m = _DOT_REF.search(expr)
    if m:
        return dot + "." + m.group(1) if m.group(1) else dot
    return None


def template_actions(text: str) -> dict[int, list[tuple[str, str | None]]]:
    """Each template action by line, with what the dot is there.

    The dot is :data:`ROOT_DOT` at the top level, a values path inside
    ``{{ with .Values.a }}`` or ``{{ range .Values.a }}`` (``a``; nested ones
    extend it: ``{{ with .b }}`` gives ``a.b``), and ``None`` where it cannot be
    known from the file (inside ``define``: a named template's dot is whatever
    its caller passes).  ``else`` of a ``with``/``range`` runs with the outer dot.
    """
    out: dict[int, list[tuple[str, str | None]]] = {}
    stack: list[tuple[str, str | None]] = []  # (keyword, the dot outside it)
    dot: str | None = ROOT_DOT
    line, pos = 1, 0
    for m in _ACTION.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        body = _COMMENT.sub("", m.group(1)).strip().lstrip("-").rstrip("-").strip()
        out.setdefault(line, []).append((body, dot))  # an action reads with the dot it starts in
        word, _, rest = body.partition(" ")
        rest = _ASSIGN.sub("", rest.strip())
        if word in ("with", "range"):
            stack.append((word, dot))
            dot = _resolve(rest, dot)
        elif word in ("if", "block", "define"):
            stack.append((word, dot))
            dot = dot if word == "if" else None
        elif word == "else" and stack:
            kw, outer = stack[-1]
            sub, _, cond = rest.partition(" ")
            if sub == "with":
                dot = _resolve(_ASSIGN.sub("", cond.strip()), outer)
            elif kw in ("with", "range"):
                dot = outer
        elif word == "end" and stack:
            dot = stack.pop()[1]
    return out


def _camel_words(key: str) -> set[str]:
    """A values key and its camelCase words, lower-cased: ``upgradeJobResources`` -> {upgradejobresources,
    upgrade, job, resources}."""
    return {key.lower(), *(w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", key))}


def _action_refs(text: str, dot: str | None) -> list[str]:
    """The values paths one action reads: ``.Values.x`` anywhere, and dot-relative paths inside ``with``."""
    refs = [m.group(1)[1:] for m in _VALUES_REF.finditer(text)]
    if dot is not None and dot != ROOT_DOT:
        refs.extend(dot + "." + m.group(1) if m.group(1) else dot for m in _DOT_REF.finditer(text))
    return refs


class ValuesTrace:
    """Which values file lines supply the ``.Values`` a template line uses (computed on demand).

    ``get(line)`` looks at the template line and the control lines right after
    it (``{{- toYaml .Values.resources | nindent 12 }}`` under ``resources:``),
    and for each ``.Values.a.b`` finds the highest-precedence values file that
    sets it: ``--set``, then the profile's files (last first), then the chart's
    ``values.yaml``; for a subchart, the parent's files under the subchart's
    name, then the subchart's own ``values.yaml``.
    """

    __slots__ = ("job", "template", "lines", "files", "shown", "cache", "sets", "_memo")

    def __init__(self, job, template, lines, files, shown, cache, sets):
        self.job, self.template, self.lines = job, template, lines
        self.files, self.shown, self.cache, self.sets = files, shown, cache, sets
        self._memo: dict[int | tuple[int, str], list] = {}

    def __repr__(self) -> str:
        return f"ValuesTrace({self.template})"

    def get(self, line: int, default=None):
        if line not in self._memo:
            try:
                self._memo[line] = self._compute(line)
            except Exception:  # tracing is a help: never break a report
                self._memo[line] = []
        return self._memo[line] or default

    def about(self, line: int, field: str) -> list[dict]:
        """Values lines for a field a container lacks or gets wrong, the container starting at ``line``.

        The container's template lines (from its ``- name:`` line to the next line at its
        indentation or less, at most 400) are searched for values read by the field's block:
        paths with a key naming the field (``resources``; ``livenessProbe``, ``liveness``,
        ``probes.liveness.enabled``, ``upgradeJobResources``; not ``customResourceState``).  A field
        that no template line renders has nothing to trace.
        """
        key = (line, field)
        if key not in self._memo:
            try:
                self._memo[key] = self._compute(line, self._field_refs(line, field))
            except Exception:  # tracing is a help: never break a report
                self._memo[key] = []
        return self._memo[key]

    def _field_refs(self, line: int, field: str) -> list[str]:
        if not 0 < line <= len(self.lines):
            return []
        words = {field.lower(), field.lower().removesuffix("probe")}
        first = self.lines[line - 1]
        indent = len(first) - len(first.lstrip(" "))
        actions = self._actions()
        refs: list[str] = []
        for n in range(line, min(line + 400, len(self.lines) + 1)):
            text = self.lines[n - 1]
            stripped = text.strip()
            if n > line and stripped and not stripped.startswith(("{{", "#")) and \
                    len(text) - len(text.lstrip(" ")) <= indent:
                break  # the next container, or the end of the list
            for body, dot in actions.get(n, ()):
                for r in _action_refs(body, dot):
                    if any(_camel_words(part) & words for part in r.split(".")) and r not in refs:
                        refs.append(r)
        return refs[:4]

    def _refs(self, line: int) -> list[str]:
        if not 0 < line <= len(self.lines):
            return []
        actions = self._actions()
        refs = [r for text, dot in actions.get(line, ()) for r in _action_refs(text, dot)]
        if not refs and self.lines[line - 1].rstrip().endswith(":"):  # a block that comes from the lines below
            for n in range(line + 1, min(line + 4, len(self.lines) + 1)):
                s = self.lines[n - 1].strip()
                if not (s.startswith("{{") and s.endswith("}}")):
                    break
                refs.extend(r for text, dot in actions.get(n, ()) for r in _action_refs(text, dot))
        out = []
        for r in refs:
            if r not in out:
                out.append(r)
        return out[:4]

    def _actions(self) -> dict[int, list[tuple[str, str | None]]]:
        key = ("actions", self.template)
        if key not in self.cache:
            self.cache[key] = template_actions("\n".join(self.lines))
        return self.cache[key]

    def _compute(self, line: int, refs: list[str] | None = None) -> list[dict]:
        refs = self._refs(line) if refs is None else refs
        if not refs:
            return []
        chain = self._chain()
        out = []
        for ref in refs:
            keys = ref.split(".")
            for s in self.sets:
                k = s.split("=", 1)[0]
                if k == ref or ref.startswith(k + "."):
                    out.append({"key": ref, "set": k})
                    break
            else:
                for shown, data, prefix in chain:
                    node, ok, kline = data, True, None
                    for key in prefix + keys:
                        if isinstance(node, YMap) and key in node:
                            kline = node.key_line(key)
                            node = node[key]
                        else:
                            ok = False
                            break
                    if ok and kline:
                        out.append({"key": ref, "path": shown, "line": kline})
                        break
        return out

    def _values(self, abspath: str) -> Any:
        if abspath not in self.cache:
            data = None
            try:
                root = self.job.root if _inside(abspath, self.job.root) else None
                docs = load_yaml(read_text(abspath, 8 * 1024 * 1024, root=root))
                data = docs[0].data if docs else None
            except ReadError:
                pass
            self.cache[abspath] = data
        return self.cache[abspath]

    def _chain(self) -> list[tuple[str, Any, list[str]]]:
        """(display path, parsed values, key prefix), highest precedence first."""
        job = self.job
        # which subchart (by name path) holds the template
        rel = self.template[len(job.prefix):] if self.template.startswith(job.prefix) else self.template
        parts = rel.split("/")
        sub_names: list[str] = []
        sub_dirs: list[tuple[str, str]] = []
        base_abs = job.abspath
        while len(parts) >= 3 and parts[0] == "charts":
            d = os.path.join(base_abs, parts[0], parts[1])
            meta = _quick_meta(os.path.join(d, "Chart.yaml"))
            name = str(meta.get("name") or parts[1])
            alias = next((str(x.get("alias")) for x in _deps(_quick_meta(os.path.join(base_abs, "Chart.yaml")))
                          if x.get("name") == name and x.get("alias")), name)
            sub_names.append(alias)
            sub_dirs.append((d, _shown_of(d, job)))
            base_abs = d
            parts = parts[2:]
        if not sub_names and not self.template.startswith(job.prefix) and job.prefix:
            # a subchart outside the chart directory (file:// or from the tree): find it among the charts
            for a, shown, cname, _m in job.all_charts:
                if self.template.startswith(shown + "/"):
                    sub_names = [cname or os.path.basename(a)]
                    sub_dirs = [(a, shown)]
        chain = []
        for f, shown in reversed(list(zip(self.files, self.shown))):
            chain.append((shown, self._values(f), sub_names))
        chain.append((job.prefix + "values.yaml", self._values(os.path.join(job.abspath, "values.yaml")), sub_names))
        for i, (d, shown) in enumerate(sub_dirs):
            chain.append((shown + "/values.yaml", self._values(os.path.join(d, "values.yaml")), sub_names[i + 1:]))
        return [c for c in chain if isinstance(c[1], YMap)]


__all__ = ["extend", "find_helm", "align", "version_matches", "version_problem", "ChartModel", "Issue",
           "ValuesTrace", "MIN_HELM", "chart_root_of"]
