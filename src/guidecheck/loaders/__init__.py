"""Loaders: turn the paths given on the command line into targets.

``load(paths, config)`` walks directories (each one becomes a *repository*
target as well), reads each file once, and returns targets for the engine:

* ``file``   one per file read (its read/parse errors feed GC001, its
             suppression comments feed GC002);
* ``repo``   one per directory argument;
* ``docker`` one per Dockerfile;
* ``k8s``    one per Kubernetes object (multi-document files, ``kind: List``).

Files under a Helm chart's ``templates/`` are Go templates, not YAML: they are
never read as plain YAML (the Helm loader renders them).

Every path is walked first; the renderers (:data:`EARLY`: kustomize, Helm)
then start in the background from what the walk found, and render while the
files are read and parsed here.  Then each module named in :data:`EXTENSIONS`
gets the whole :class:`Loaded` result and adds its own targets (rendered charts, OpenAPI
documents, pipelines, observability and backup configuration, ...).  An
extension is ``extend(loaded: Loaded, config: Config, options: dict) -> None``;
it is imported only when a scan runs, so it may import heavy libraries lazily.
What it could not do (a missing tool) goes to ``loaded.incomplete``: the scan's
exit code then says the result is partial.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from guidecheck import globs, suppress
from guidecheck.config import Config
from guidecheck.lazyre import lazy
from guidecheck.loaders.fs import TEST_DATA_DIRS, ReadError, Walk, WalkedFile, classify, read_text, walk
from guidecheck.model import LoadError, ObjectRef, Severity, SourceFile, Target, file_target, k8s_target
from guidecheck.parsers import k8s
from guidecheck.parsers.yaml import Document, YMap, line_of, load_json, load_yaml


@dataclass
class RepoInfo:
    """What repository-level rules (GC201-GC204) look at."""

    root: str  # absolute
    name: str
    inventory: list[str]  # every regular file, relative, sorted
    dockerfiles: list[str]
    charts: list[ChartInfo]

    def read(self, rel: str, max_bytes: int) -> str | None:
        """The text of the repository's file ``rel`` (bounded, never through a link out of the tree), or None."""
        from guidecheck.loaders.fs import ReadError, read_text

        try:
            return read_text(os.path.join(self.root, *rel.split("/")), max_bytes, root=self.root)
        except ReadError:
            return None


@dataclass
class ChartInfo:
    """A Helm chart found in the tree."""

    path: str  # chart directory, relative to the scan root ('.' for the root)
    chart_yaml: str
    name: str | None
    type: str  # application | library
    has_templates: bool
    subchart_of: str | None  # parent chart dir when vendored under charts/


@dataclass
class Documents:
    """Parsed YAML/JSON documents that are not Kubernetes objects (for other loaders)."""

    path: str
    docs: list[Document]


@dataclass
class RepoScan:
    """One directory argument: its walk (every file, read or not), display prefix and charts."""

    walk: Walk
    prefix: str  # display prefix of every path under it ('' for '.', else 'dir/')
    charts: list[ChartInfo]


@dataclass
class Loaded:
    """What the loaders made of the inputs: targets, other documents and what is incomplete."""

    targets: list[Target] = field(default_factory=list)
    others: list[Documents] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    repos: list[RepoScan] = field(default_factory=list)
    # files named on the command line (pre-commit): (absolute path, display path, kind or None)
    files: list[tuple[str, str, str | None]] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # why coverage is partial (exit 3)
    skipped: list[str] = field(default_factory=list)  # charts and kustomizations not rendered on request (--no-render)
    not_scanned: list[str] = field(default_factory=list)  # test-data directories and files left out (scan-test-data)
    stdin: bool = False  # a stream read from stdin ('-'): one unit, cross-object rules run on it
    # work an extension's start() began before any extension ran (renders running in the background), by module
    pending: dict[str, Any] = field(default_factory=dict)


# a GitHub Actions workflow file, by its display path (guidecheck.loaders.ci validates one named alone)
WORKFLOW_FILE = lazy(r"^(?:(.*)/)?\.github/workflows/[^/]+\.ya?ml$")

# Loader extensions run after the walk, in this order (see the module docstring).
EXTENSIONS: tuple[str, ...] = (
    "guidecheck.loaders.helm",  # first: rendered objects are k8s targets for every later extension
    "guidecheck.loaders.kustomize",  # rendered kustomizations replace the files they consume
    "guidecheck.loaders.ci",
    "guidecheck.loaders.openapi",
    "guidecheck.loaders.observability",  # after any loader that adds k8s objects (Helm rendering)
    "guidecheck.loaders.signatures",  # opt-in (--verify-images): after every loader that adds workloads
)


def load(paths: list[str], config: Config, options: dict[str, Any] | None = None) -> Loaded:
    opts = options or {}
    out = Loaded()
    plan = _walk_paths(paths, config, opts.get("stdin"), out)
    # the renderers start as soon as the walk found the charts and kustomizations: Helm and kustomize run on
    # the second core while the files are read and parsed here (an extension's start() begins what runs in the
    # background; its extend() later takes the results in the usual order)
    early = [importlib.import_module(name) for name in EARLY if _wanted(name, out, opts)]
    try:
        for ext in early:
            ext.start(out, config, opts)
        _read_paths(plan, config, out)
        extensions = [importlib.import_module(name) for name in EXTENSIONS if _wanted(name, out, opts)]
        # the OpenAPI documents are found as soon as the files are parsed, and options["on_found"] (the
        # runner's: it forks GC902's validating worker) is called with them, so that the worker runs while
        # the charts render
        for ext in extensions:
            if ext.__name__ == "guidecheck.loaders.openapi":
                ext.start(out, config, opts)
                if callable(opts.get("on_found")):
                    opts["on_found"](out)
        for ext in extensions:
            ext.extend(out, config, opts)
    finally:
        # each extend() takes what its start() began; what is left (an error on the way) is stopped here
        for started in out.pending.values():
            started.close()
        out.pending.clear()
    return out


# extensions with a start() run before the files are read (renderers: see load())
EARLY: tuple[str, ...] = ("guidecheck.loaders.kustomize", "guidecheck.loaders.helm")


def _wanted(extension: str, loaded: Loaded, options: dict[str, Any]) -> bool:
    """Whether an extension can find anything to do: one that cannot is not even imported.

    Files named one by one (the pre-commit hook) have no repository: kustomizations and
    pipelines are looked for in repositories only, a chart only upward from a named file, and
    OpenAPI documents among the parsed non-Kubernetes documents.  Importing an extension
    costs more than such a scan; what it would do with nothing is nothing.
    """
    if extension == "guidecheck.loaders.kustomize":
        return bool(loaded.repos)
    if extension == "guidecheck.loaders.ci":  # a named GitHub workflow file is validated (not judged)
        return bool(loaded.repos) or any(WORKFLOW_FILE.match(display) for _, display, _ in loaded.files)
    if extension == "guidecheck.loaders.helm":
        cwd = os.getcwd()
        return bool(loaded.repos) or any(chart_of_named_file(abspath, cwd) for abspath, _, _ in loaded.files)
    if extension == "guidecheck.loaders.openapi":
        return bool(loaded.others)
    if extension == "guidecheck.loaders.signatures":
        return bool(options.get("verify-images"))
    return True


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


def chart_of_named_file(abspath: str, cwd: str) -> str | None:
    """The chart a file named on the command line belongs to (pre-commit): searched upward no higher than
    the current directory when the file is inside it, else than the file's own directory."""
    stop = cwd if abspath.startswith(cwd + os.sep) else os.path.dirname(abspath)
    return chart_root_of(abspath, stop)


@dataclass
class _Planned:
    """One command-line path, walked but not yet read: what :func:`_read_paths` does with it, in order."""

    raw: str
    walk: Walk | None = None  # a directory
    charts: list[ChartInfo] = field(default_factory=list)
    prefix: str = ""
    files: list[tuple[WalkedFile, bool]] = field(default_factory=list)  # a directory's files to read, in_chart
    named: tuple[str, str, str | None] | None = None  # a file: (absolute path, display path, kind)
    stdin: tuple[str, str | None] | None = None  # '-': the stream read from stdin


def _walk_paths(paths: list[str], config: Config, stdin: tuple[str, str | None] | None, out: Loaded) -> list[_Planned]:
    """Every directory walked (its repository and charts known: ``out.repos``), every named file listed
    (``out.files``); nothing is read yet, so renderers can start before the files are parsed (see :func:`load`).

    A file is read once, where it first comes (a file named after a directory holding it, or twice, is not
    read again).
    """
    plan: list[_Planned] = []
    seen: set[str] = set()
    for raw in paths:
        if raw == "-" and stdin is not None:
            out.stdin = True
            plan.append(_Planned(raw, stdin=stdin))
        elif os.path.isdir(raw):
            w = walk(raw, config.exclude, config.scan_test_data)
            out.roots.append(w.root)
            charts = find_charts(w)
            template_dirs = tuple(
                c.path.rstrip("/") + "/templates/" if c.path != "." else "templates/" for c in charts
            ) + _chartless_template_dirs(w)
            chart_dirs = tuple(c.path.rstrip("/") + "/" if c.path != "." else "" for c in charts)
            files = []
            for f in w.files:
                if f.kind in ("yaml", "json") and f.relpath.startswith(template_dirs):
                    continue  # a chart's templates are Go templates: the Helm loader renders them
                if f.abspath in seen:
                    continue
                seen.add(f.abspath)
                files.append((f, bool(charts) and f.relpath.startswith(chart_dirs)))
            prefix = _display_prefix(raw)
            out.not_scanned.extend(prefix + rel + "/" for rel in w.test_data)
            out.repos.append(RepoScan(w, prefix, charts))
            plan.append(_Planned(raw, walk=w, charts=charts, prefix=prefix, files=files))
        elif os.path.lexists(raw):
            abspath = os.path.abspath(raw)
            if abspath in seen:
                continue
            seen.add(abspath)
            kind = classify(os.path.basename(raw))
            display = os.path.normpath(raw).replace(os.sep, "/")
            if kind is not None and _in_test_data(abspath, config):
                out.not_scanned.append(display)  # pre-commit passes a changed test input as it passes any file
                continue
            out.files.append((abspath, display, kind))
            plan.append(_Planned(raw, named=(abspath, display, kind)))
        else:
            plan.append(_Planned(raw))
    return plan


def _read_paths(plan: list[_Planned], config: Config, out: Loaded) -> None:
    """Read and parse what :func:`_walk_paths` found, in command-line order (the targets' order)."""
    cwd = os.getcwd()
    if config.path:
        out.targets.append(
            Target(
                kind="config",
                path=config.path.replace(os.sep, "/"),
                line=1,
                ref=ObjectRef("Config", None, os.path.basename(config.path)),
                data=config,
            )
        )
    for p in plan:
        if p.stdin is not None:
            # a multi-document stream on stdin (helm template ... | guidecheck scan -): one unit of objects
            name, text = p.stdin
            stream_kind = "json" if name.endswith(".json") else "yaml"
            if text is None:
                err = LoadError(
                    f"the stream on stdin is larger than {config.max_file_bytes} bytes (limits.max-file-bytes)"
                )
                out.targets.append(file_target(SourceFile(name, stream_kind, [err])))
                continue
            _load_text(text, SourceFile(name, stream_kind), stream_kind, config, out)
        elif p.walk is not None:
            w = p.walk
            for rel, err in w.problems:
                out.targets.append(file_target(SourceFile(p.prefix + rel, "file", [err])))
            names = frozenset(c.name for c in p.charts if c.name)
            for f, in_chart in p.files:
                # a chart's `helm template` output kept in its own directory or in a test directory (see
                # _rendering_of): only then is the text looked at for it
                kept = names if names and (in_chart or _TEST_DIR.search(f.relpath)) else frozenset()
                _load_file(
                    f.abspath, p.prefix + f.relpath, f.kind, config, out, w.root, p.prefix, in_chart, renderings=kept
                )
            out.targets.append(_repo_target(w, p.charts, p.prefix))
        elif p.named is not None:
            abspath, display, kind = p.named
            if kind is None:
                continue  # pre-commit may pass any changed file: not ours to read
            if _is_chart_template(abspath) or _excluded_file(abspath, config):
                continue
            root = cwd if abspath.startswith(cwd + os.sep) else os.path.dirname(abspath)
            in_chart = chart_of_named_file(abspath, cwd) is not None  # as the Helm loader finds its chart
            _load_file(abspath, display, kind, config, out, root, in_chart=in_chart)
        else:  # missing, or on a path this user may not pass through: GC001 as for a file found in a directory
            out.targets.append(file_target(SourceFile(p.raw, "file", [LoadError(_missing(p.raw))])))


def _missing(raw: str) -> str:
    try:
        os.lstat(raw)
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as exc:
        return f"cannot stat: {exc.strerror or type(exc).__name__}"
    return "no such file or directory"


def _chartless_template_dirs(w: Walk) -> tuple[str, ...]:
    """``templates/`` next to a ``values.yaml`` but no ``Chart.yaml``: a broken chart (GC401), not YAML."""
    values = [p[: -len("values.yaml")] for p in w.inventory if p == "values.yaml" or p.endswith("/values.yaml")]
    if not values:
        return ()
    inv = set(w.inventory)
    with_templates = {
        p[: p.index("templates/")] for p in w.inventory if p.startswith("templates/") or "/templates/" in p
    }
    return tuple(d + "templates/" for d in values if d + "Chart.yaml" not in inv and d in with_templates)


def _repo_relpath(abspath: str, config: Config) -> str | None:
    """A file named on the command line, relative to the configuration file's directory (the repository root,
    else the current directory); None when it lies outside."""
    base = os.path.dirname(os.path.abspath(config.path)) if config.path else os.getcwd()
    rel = os.path.relpath(abspath, base).replace(os.sep, "/")
    return None if rel.startswith("../") else rel


def _in_test_data(abspath: str, config: Config) -> bool:
    """A file named on the command line inside a ``testdata`` directory (matched as ``exclude`` is), when the
    configuration does not ask for test data."""
    rel = None if config.scan_test_data else _repo_relpath(abspath, config)
    return rel is not None and any(part in TEST_DATA_DIRS for part in rel.split("/")[:-1])


def _excluded_file(abspath: str, config: Config) -> bool:
    """A file named on the command line (pre-commit) honours ``exclude`` as a directory scan does.

    Patterns are relative to the configuration file's directory (the repository root).
    """
    rel = _repo_relpath(abspath, config) if config.exclude else None
    return rel is not None and globs.excluded(rel, config.exclude_matcher)


def _display_prefix(raw: str) -> str:
    """Paths are shown relative to the current directory, as given."""
    p = os.path.normpath(raw).replace(os.sep, "/")
    return "" if p == "." else p + "/"


def _is_chart_template(abspath: str) -> bool:
    parts = abspath.split(os.sep)
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] == "templates" and os.path.isfile(os.sep.join(parts[:i] + ["Chart.yaml"])):
            return True
    return False


def find_charts(w: Walk) -> list[ChartInfo]:
    charts = []
    chart_files = [p for p in w.inventory if p == "Chart.yaml" or p.endswith("/Chart.yaml")]
    dirs = {p[: -len("Chart.yaml")].rstrip("/") or "." for p in chart_files}
    # every directory holding a file at any depth (linear; no per-chart pass over the inventory)
    file_dirs: set[str] = set()
    if chart_files:
        for x in w.inventory:
            cut = x.rfind("/")
            while cut > 0 and x[:cut] not in file_dirs:
                file_dirs.add(x[:cut])
                cut = x.rfind("/", 0, cut)
    for p in sorted(chart_files):
        d = p[: -len("Chart.yaml")].rstrip("/") or "."
        parent = None
        parts = d.split("/")
        for i in range(len(parts) - 1, 0, -1):
            if parts[i - 1] == "charts":
                candidate = "/".join(parts[: i - 1]) or "."
                if candidate in dirs:
                    parent = candidate
                    break
        prefix = "" if d == "." else d + "/"
        name, ctype = _chart_meta(os.path.join(w.root, p))
        charts.append(
            ChartInfo(
                path=d,
                chart_yaml=p,
                name=name,
                type=ctype,
                has_templates=prefix + "templates" in file_dirs,
                subchart_of=parent,
            )
        )
    return charts


def _chart_meta(path: str) -> tuple[str | None, str]:
    try:
        docs = load_yaml(read_text(path, 1024 * 1024))
    except ReadError:
        return None, "application"
    data = docs[0].data if docs else None
    if not isinstance(data, dict):
        return None, "application"
    name = data.get("name") if isinstance(data.get("name"), str) else None
    return name, "library" if data.get("type") == "library" else "application"


def _repo_target(w: Walk, charts: list[ChartInfo], prefix: str) -> Target:
    dockerfiles = [f.relpath for f in w.files if f.kind == "dockerfile"]
    name = os.path.basename(w.root) or w.root
    info = RepoInfo(root=w.root, name=name, inventory=w.inventory, dockerfiles=dockerfiles, charts=charts)
    return Target(
        kind="repo", path=prefix.rstrip("/") or ".", line=1, ref=ObjectRef("Repository", None, name), data=info
    )


def _load_file(
    abspath: str,
    display: str,
    kind: str,
    config: Config,
    out: Loaded,
    root: str,
    scope: str = "",
    in_chart: bool = False,
    renderings: frozenset[str] = frozenset(),
) -> None:
    """``in_chart``: the file lies in a Helm chart's directory (outside templates/, which are not read).
    ``renderings``: the names of the charts of the scan whose `helm template` output the file may be."""
    src = SourceFile(display, kind)
    out.targets.append(file_target(src))
    try:
        text = read_text(abspath, config.max_file_bytes, root=root)
    except ReadError as exc:
        src.errors.append(exc.error)
        return
    if kind == "yaml" and _is_assertion(os.path.basename(abspath), os.path.dirname(abspath), root):
        # a KUTTL/Chainsaw assertion: a partial object a test compares the cluster against, never deployed
        # (containers without images or names, no probes): only its syntax is checked
        src.read = True
        src.errors.extend(e for doc in load_yaml(text, config.limits) for e in doc.errors)
        src.note = (
            "not read as manifests: a KUTTL/Chainsaw test assertion (a partial object the test compares the "
            "cluster against, never deployed)"
        )
        return
    chart = _rendering_of(text, renderings) if kind == "yaml" and renderings else None
    if chart is not None:
        # envoy-gateway's test/helm/gateway-helm/*.out.yaml (a test's expected `helm template` output, one per
        # values file), pyroscope's helm/pyroscope/rendered/*.yaml (renderings kept for review): the chart is
        # rendered and judged itself, so its defects are not reported again on every copy; the syntax is checked
        src.read = True
        src.errors.extend(e for doc in load_yaml(text, config.limits) for e in doc.errors)
        src.note = (
            f"not read as manifests: `helm template` output of the chart '{chart}' of this scan, kept in the "
            "repository (a test's expected rendering, or one for review); the chart itself is rendered and judged"
        )
        return
    if kind == "yaml" and _JINJA.search(text, 0, 64 * 1024) and _ansible_template(abspath, root):
        # an Ansible role's template (kiali-operator's roles/*/templates/kubernetes/deployment.yaml: `{% if %}`
        # around keys, `{{ var }}` as names) or a Molecule scenario's: Ansible renders it with Jinja2 before it
        # is YAML, so as YAML it is no manifest and no parse error
        src.read = True
        src.note = (
            "not read as manifests: an Ansible Jinja2 template (a role's templates/ or a Molecule scenario's "
            "file, rendered by Ansible); scan what Ansible renders from it, or exclude it"
        )
        return
    if kind == "yaml" and _YTT.search(text, 0, 64 * 1024):
        # a Carvel ytt template (pinniped's deploy/): `#@` annotations fill in names, images and whole keys
        # (`_: #@ template.replace(...)`), so as plain YAML its objects have null names and repeated keys
        src.read = True
        # its syntax is checked; a key given twice is ytt's way of writing several template.replace() calls
        src.errors.extend(e for doc in load_yaml(text, config.limits) if doc.data is None for e in doc.errors)
        src.note = (
            "not read as manifests: a Carvel ytt template (#@ annotations fill it in); scan what ytt renders from "
            "it, or exclude it"
        )
        return
    _load_text(text, src, kind, config, out, scope, listed=True, in_chart=in_chart)


_JINJA = lazy(r"\{\{|\{%")
# `helm template`'s comment above each document, naming the chart: `# Source: gateway-helm/templates/x.yaml`
_HELM_SOURCE = lazy(r"^# Source: ([\w.-]+)/", re.MULTILINE)
# a test directory on a relpath (test/, tests/, e2e/, golden/, chart-tests/)
_TEST_DIR = lazy(r"(?:^|/)(?:_?(?:tests?|e2e|goldens?)(?:[-_][^/]*)?|[^/]*[-_](?:tests?|e2e))/")


def _rendering_of(text: str, charts: frozenset[str]) -> str | None:
    """The chart of ``charts`` whose `helm template` output ``text`` is (its first document says so), or None."""
    m = _HELM_SOURCE.search(text, 0, 64 * 1024)
    return m.group(1) if m is not None and m.group(1) in charts else None


def _ansible_template(abspath: str, root: str) -> bool:
    """A file inside an Ansible role (an ancestor directory with ``tasks/main.yml``: its ``templates/``, or task
    files read with ``lookup('template')``) or a Molecule directory (``molecule/`` whose scenarios have their
    ``molecule.yml``), inside the scanned tree."""
    rel = os.path.relpath(abspath, root).replace(os.sep, "/")
    if rel.startswith("../"):
        return False
    parts = rel.split("/")[:-1]
    for i in range(len(parts), 0, -1):
        here = os.path.join(root, *parts[:i])
        if _is_role(here) or (parts[i - 1] == "molecule" and _has_scenarios(here)):
            return True
    return False


@functools.lru_cache(maxsize=1024)
def _is_role(directory: str) -> bool:
    return any(os.path.isfile(os.path.join(directory, "tasks", n)) for n in ("main.yml", "main.yaml"))


@functools.lru_cache(maxsize=256)
def _has_scenarios(directory: str) -> bool:
    try:
        with os.scandir(directory) as it:
            return any(
                e.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(e.path, "molecule.yml")) for e in it
            )
    except OSError:
        return False


# a ytt template: its `#@ load("@ytt:...")`, `#@data/values` or `#@ def` lines (ytt's own annotations)
_YTT = lazy(r'^[ \t]*#@(?:[ \t]*load\([ \t]*"@ytt:|data/values|[ \t]*def[ \t]|overlay/match\b)', re.M)


# KUTTL's step files (00-install.yaml, 00-assert.yaml, 01-errors.yaml), which Chainsaw's tests keep
_ASSERTION_NAME = lazy(r"^\d+-(?:assert|errors)(?:[-_.][^/]*)?\.ya?ml$")
_SUITE_MARKERS = ("chainsaw-test.yaml", "chainsaw-test.yml", ".chainsaw-test.yaml", ".chainsaw-test.yml")


# Chainsaw names its assertion files freely (opentelemetry-operator's otel-collector-assert.yaml, a Deployment
# with only a status): in a directory with a chainsaw-test.yaml, a name with the word assert or errors
_CHAINSAW_ASSERTION = lazy(r"(?:^|[-_.])(?:assert|errors)(?:[-_.][^/]*)?\.ya?ml$")


def _is_assertion(name: str, directory: str, root: str = "") -> bool:
    if _ASSERTION_NAME.match(name):
        return _in_test_suite(directory, root)
    if _CHAINSAW_ASSERTION.search(name) and _chainsaw_suite(directory):
        return True
    return name in _chainsaw_asserted(directory) or name in _kuttl_asserted(directory)


@functools.lru_cache(maxsize=256)
def _kuttl_asserted(directory: str) -> frozenset[str]:
    """The files of ``directory`` a KUTTL TestStep (``NN-name.yaml``, ``kind: TestStep``) lists under ``assert:``
    or ``error:`` and none applies (nats-io/nack's asserted-natscli.yaml, a Pod with only a status)."""
    try:
        names = sorted(n for n in os.listdir(directory) if re.match(r"^\d+-[^/]+\.ya?ml$", n))
    except OSError:
        return frozenset()
    asserted: set[str] = set()
    applied: set[str] = set()
    for n in names[:200]:
        try:
            text = read_text(os.path.join(directory, n), 256 * 1024, root=directory)
        except ReadError:
            continue
        if "TestStep" not in text:
            continue
        for doc in load_yaml(text):
            data = doc.data
            if not isinstance(data, dict) or data.get("kind") != "TestStep":
                continue
            for key, into in (("assert", asserted), ("error", asserted), ("apply", applied)):
                for ref in data.get(key) or ():
                    _add_local(into, ref)
    return frozenset(asserted - applied)


def _add_local(names: set[str], ref: Any) -> None:
    """Add a file a test step names when it is one of the step's own directory (``ready-pvc.yaml``, not
    ``../../data-assert/resources.yaml``)."""
    if isinstance(ref, str) and "/" not in os.path.normpath(ref):
        names.add(os.path.normpath(ref))


@functools.lru_cache(maxsize=256)
def _chainsaw_asserted(directory: str) -> frozenset[str]:
    """The files of ``directory`` its chainsaw-test.yaml names under ``assert:`` or ``error:`` and never under
    ``apply:``/``create:`` (redis-operator's ready-sts.yaml, ready-pvc.yaml: what the cluster must show)."""
    if not _chainsaw_suite(directory):
        return frozenset()
    asserted: set[str] = set()
    applied: set[str] = set()

    def visit(node: Any, depth: int) -> None:
        if depth > 12:
            return
        if isinstance(node, list):
            for item in node[:500]:
                visit(item, depth + 1)
        elif isinstance(node, dict):
            for key, value in node.items():
                ref = value.get("file") if isinstance(value, dict) else None
                if key in ("assert", "error"):
                    _add_local(asserted, ref)
                elif key in ("apply", "create", "update", "patch"):
                    _add_local(applied, ref)
                visit(value, depth + 1)

    for marker in _SUITE_MARKERS:
        path = os.path.join(directory, marker)
        try:
            text = read_text(path, 1024 * 1024, root=directory)
        except ReadError:
            continue
        for doc in load_yaml(text):
            visit(doc.data, 0)
    return frozenset(asserted - applied)


@functools.lru_cache(maxsize=256)
def _chainsaw_suite(directory: str) -> bool:
    try:
        return any(n in _SUITE_MARKERS for n in os.listdir(directory))
    except OSError:
        return False


@functools.lru_cache(maxsize=256)
def _in_test_suite(directory: str, root: str = "") -> bool:
    """A KUTTL or Chainsaw test case directory: a chainsaw-test.yaml, or KUTTL steps (NN-name.yaml, or a
    template a script renders into one: jaeger-operator's NN-install.yaml.template) besides the assertions, or
    a directory of a test suite (under tests/ or e2e/) whose steps are copied in when the test runs
    (jaeger-operator's es-index-cleaner-upstream/, an 04-assert.yaml and a README)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    if any(n in _SUITE_MARKERS for n in names):
        return True
    if any(_KUTTL_STEP.match(n) and not _ASSERTION_NAME.match(n) for n in names):
        return True
    rel = os.path.relpath(directory, root) if root else ""  # the scan root's own path says nothing
    return not rel.startswith("..") and any(_SUITE_DIR.match(part) for part in rel.replace(os.sep, "/").split("/"))


_KUTTL_STEP = lazy(r"^\d+-[^/]+\.ya?ml(?:\.(?:template|tmpl|tpl|gotmpl|j2))?$")
_SUITE_DIR = lazy(r"^(?:tests?|e2e|kuttl|chainsaw)(?:[-_].*)?$", re.IGNORECASE)


# a YAML OpenAPI/Swagger document: its top-level openapi:/swagger: key in the first 64 KiB
_OPENAPI_YAML = lazy(r"^(?:openapi|swagger|[\"'](?:openapi|swagger)[\"'])[ \t]*:", re.M)


# a `kind:` key and its value (a name, or anything else: a template expression), in a text that did not parse
_KIND_LINE = lazy(r"""(?m)(?:^|[{,])[ \t-]*["']?kind["']?[ \t]*:[ \t]*["']?(?:([A-Za-z][\w.]*)\b|\S)""")


def _load_text(
    text: str,
    src: SourceFile,
    kind: str,
    config: Config,
    out: Loaded,
    scope: str = "",
    listed: bool = False,
    in_chart: bool = False,
) -> None:
    """The targets of a file's text (``listed``: its ``file`` target is already in ``out``)."""
    display = src.path
    if not listed:
        out.targets.append(file_target(src))
    src.read = True
    if config.inline_suppressions:
        src.suppressions.extend(suppress.parse_comments(text, display, kind))
    if kind == "dockerfile":
        _load_dockerfile(text, src, out)
        return
    if kind == "json":
        docs = load_json(text, config.limits)
    else:  # an OpenAPI document in YAML reads as YAML 1.2 (its specification's), a manifest as Kubernetes reads it
        docs = load_yaml(text, config.limits, core=bool(_OPENAPI_YAML.search(text, 0, 64 * 1024)))
    if kind == "json" and docs and docs[0].data is None and docs[0].errors:
        why = json_not_read(text, display)
        if why is not None:  # a parse error in a file guidecheck has no business reading is no finding
            src.note = why
            return
    others: list[Document] = []
    n_lines = text.count("\n") + 1
    templated = "{{" in text
    if templated and in_chart and any(doc.errors and doc.data is None for doc in docs):
        # a chart's own template data (files/, conf/: read by its templates through .Files.Get and tpl,
        # as istio's injection templates are): checked through the chart's rendering, not as a manifest
        src.note = (
            "not read: a file of a Helm chart with {{ }} template placeholders (template data its templates "
            "read through .Files); checked through the chart's rendering"
        )
        return
    if any(doc.errors and doc.data is None for doc in docs):
        src.kinds_named = tuple(
            sorted({m.group(1) if m.group(1) else "?" for m in _KIND_LINE.finditer(text, 0, 4 * 1024 * 1024)})
        )
    owned: list[tuple[int, str]] = []  # (line, "Pod 'x' of ReplicaSet/y") of objects their controller makes
    for i, doc in enumerate(docs):
        if doc.errors and doc.data is None and (templated or _OTHER_TEMPLATE.search(text)):
            hint = f" (the file has {_template_kind(text)}: scan the rendered output, or exclude the template)"
            doc.errors = [LoadError(e.message + hint, e.line, e.column, e.severity) for e in doc.errors]
        elif doc.errors and doc.data is None:
            doc.errors = [_envsubst_hint(e, text) for e in doc.errors]
        src.errors.extend(doc.errors)
        data = doc.data
        if isinstance(data, dict) and _is_k8s(data):
            end = docs[i + 1].line - 1 if i + 1 < len(docs) else n_lines
            if data.get("kind") == "List" and isinstance(data.get("items"), list):
                for item in data["items"]:
                    if isinstance(item, dict) and _is_k8s(item):
                        _add_object(item, src, out, config, (line_of(item, doc.line), end), scope, owned)
                continue
            _add_object(data, src, out, config, (doc.line, end), scope, owned)
        elif data is not None:
            others.append(doc)
    if owned:
        shown = ", ".join(w for _line, w in owned[:3]) + (f" and {len(owned) - 3} more" if len(owned) > 3 else "")
        src.errors.append(
            LoadError(
                f"{len(owned)} object(s) made by their controller ({shown}): the cluster's copies of what a "
                "controller made, never applied from a file (an owner reference needs the owner's uid); judged "
                "through their owner, not on their own",
                owned[0][0],
                1,
                Severity.INFO,
                checked=True,
            )
        )
    if others:
        out.others.append(Documents(display, others))


# What guidecheck reads in a JSON file, by content: Kubernetes objects (and Lists of them), OpenAPI/Swagger
# documents, JSON schemas (a chart's values.schema.json), Grafana dashboards and Prometheus rule groups.
_JSON_PURPOSE = (
    (lazy(r'"apiVersion"\s*:'), lazy(r'"kind"\s*:')),
    (lazy(r'"(?:openapi|swagger)"\s*:'),),
    (lazy(r'"\$schema"\s*:\s*"[^"]*json-schema'),),
    (lazy(r'"panels"\s*:'),),
    (lazy(r'"groups"\s*:'), lazy(r'"rules"\s*:')),
)
_SNIFF_BYTES = 256 * 1024


def json_not_read(text: str, display: str) -> str | None:
    """Why a JSON file that does not parse is no file guidecheck reads, or None when it is one.

    Decided by content and purpose, never by the parse error: an empty file holds nothing to check; a file
    whose text shows none of the fields of what guidecheck reads (see ``_JSON_PURPOSE``) is some tool's
    configuration (JSON with comments: appsettings.json, launchSettings.json, .markdownlint.json, VS Code
    files ...; or a key given twice, which JSON.parse and Go's encoding/json accept, the last value winning),
    which the tools reading it accept and guidecheck does not judge; nor is a file with none of those fields
    that is no JSON document at all (a shell session or log under a .json name, JSON Lines). A chart's
    values.schema.json is always read; a Go template of JSON ({{ .Field }}, {{- if }}) with none of those
    fields is not; a truncated file, NaN or nesting too deep is reported whatever the file is.
    """
    if not text.strip():
        return "an empty JSON file: nothing to check"
    if display.endswith("values.schema.json"):
        return None
    head = text[:_SNIFF_BYTES]
    if any(all(rx.search(head) for rx in group) for group in _JSON_PURPOSE):
        return None
    if ("{{" in head and ("{{-" in head or re.search(r"\{\{\s*[.$]", head))) or re.search(
        r"[:\[,]\s*\$\{?[A-Za-z_]", head
    ):
        # a Go template of JSON (jaeger's Elasticsearch index templates: {{- if .UseILM }}), or one whose values
        # are a tool's variables (pulsar's keycloak client for jq: "clientId": $ARGS.named.CLIENT_ID; envsubst's
        # "port": ${PORT}): the program that fills it in reads it, and its content is nothing guidecheck checks
        return (
            "not read: a template of a JSON file ({{ }} placeholders or $variables) whose content is no Kubernetes "
            "object, OpenAPI document, chart schema, dashboard or rule file"
        )
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start not in ("{", "["):
        # a shell session or a log saved under a .json name (percona's e2e expectations: "switched to db
        # myApp"): not JSON from its first character
        return (
            "not read: not JSON (its text does not start with { or [) and by its content no Kubernetes object, "
            "OpenAPI document, chart schema, dashboard or rule file"
        )
    if _value_then_more(text):
        return (
            "not read: a JSON value followed by more text (JSON Lines, or a tool's output) whose content is no "
            "Kubernetes object, OpenAPI document, chart schema, dashboard or rule file"
        )
    if not _is_lenient_json(text):
        return None  # broken in another way (truncated, NaN, too deep): reported
    return (
        "not read: a JSON file that is not strict JSON (comments, trailing commas or a key given twice, as in "
        "editor and tool configuration) and by its content no Kubernetes object, OpenAPI document, chart "
        "schema, dashboard or rule file"
    )


def _value_then_more(text: str) -> bool:
    """Whether the text starts with one whole JSON value and goes on after it (JSON Lines, a log of values)."""
    import json

    if len(text) > _SNIFF_BYTES:
        return False
    body = text.lstrip("\ufeff \t\r\n")
    try:
        _value, end = json.JSONDecoder().raw_decode(body)
    except (ValueError, RecursionError):
        return False
    return bool(body[end:].strip())


def _is_lenient_json(text: str) -> bool:
    """Whether the text is JSON as the tools reading configuration files accept it: with comments (``//``,
    ``/* */``), trailing commas or keys given twice; valid JSON once comments and trailing commas are removed
    (linear, outside strings), parsed by a parser that keeps the last of duplicate keys."""
    import json

    if len(text) > _SNIFF_BYTES:
        return False
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return False
            out.append("\n" * text.count("\n", i, j))
            i = j + 2
        else:
            out.append(c)
            i += 1
    stripped = "".join(out)
    without_commas = re.sub(r",(\s*[}\]])", r"\1", stripped)

    def constant(name: str) -> None:
        raise ValueError(name)

    try:
        json.loads(without_commas, parse_constant=constant)
    except (ValueError, RecursionError):
        return False
    return True


def _is_k8s(data: dict) -> bool:
    if "apiVersion" not in data or "kind" not in data:
        return False
    api, kind = data.get("apiVersion"), data.get("kind")
    # another tool's format that also says apiVersion and kind: inspektor-gadget's instance specs (`apiVersion: 1`,
    # `kind: instance-spec`); a Kubernetes kind is CamelCase, and a number with one is still a broken object
    return not (
        isinstance(api, (int, float))
        and not isinstance(api, bool)
        and isinstance(kind, str)
        and kind[:1].isalpha()
        and not kind[:1].isupper()
    )


def _unidentified(e: LoadError) -> bool:
    """A structure error that leaves the object without a kind or a name to judge it by."""
    m = e.message
    return m.startswith(("apiVersion", "kind", "metadata must be")) or (
        m.startswith(("metadata.name must be", "metadata.namespace must be")) and m.endswith(("a mapping", "a list"))
    )


# workloads the API server refuses without spec.selector (apps/v1); none runs a container without an image
_SELECTOR_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})


def _workload_owner(obj: dict, config: Config) -> str | None:
    """``Kind/name`` of the object controlling the workload ``obj`` (settings.workload-kinds), in a file.

    An object with a controlling owner reference is the cluster's copy of what a controller made: a Pod of a
    ReplicaSet (what an audit too judges through its owner), or a StatefulSet an operator made from its custom
    resource (percona's e2e expectations, ``kind: PerconaServerMongoDB``). Nobody applies it from a file (an
    owner reference needs the owner's uid); the owner in the repository is what is deployed."""
    kinds = config.settings.get("workload-kinds") or ()
    owner = k8s.controller_of(obj) if obj.get("kind") in kinds else None
    return f"{owner[0]}/{owner[1]}" if owner is not None else None


def _patch_fragment(obj: dict) -> str | None:
    """Why ``obj`` is a patch fragment rather than an object, or None: a Deployment (StatefulSet, DaemonSet,
    ReplicaSet) with no ``spec.selector`` whose containers all lack an image.  kubebuilder scaffolds such
    files (``config/default/manager_webhook_patch.yaml``) for a kustomization to patch its base with; when no
    kustomization names one, it is still a patch, and judging it as a workload reports limits, probes and
    scaling of a container that only names a port.  A Pod whose containers all lack an image is one too: the
    API server refuses such a Pod (kube-prometheus' tests/e2e/kind/patches/, kubeadm patches kind applies
    to its static Pods)."""
    kind = obj.get("kind")
    if kind == "Pod":
        shape = ""
    elif kind in _SELECTOR_KINDS and k8s.get(obj, "spec", "selector") is None:
        shape = "no spec.selector and "
    else:
        return None
    cs = list(k8s.containers(obj))
    # every container of a deployable object names its image; a patch names only the containers it changes, and
    # may add a whole one (kubebuilder's manager_auth_proxy_patch.yaml: kube-rbac-proxy with its image, and the
    # manager's args without one)
    with_image = [isinstance(c.data.get("image"), str) and bool(c.data.get("image")) for c in cs]
    pod_spec = k8s.get(obj, "spec", "template", "spec")
    if shape and isinstance(pod_spec, dict) and pod_spec and "containers" not in pod_spec:
        # no selector, and a pod template with no containers key: a strategic-merge patch of the pod template alone
        # (camel-k's overlays' patch-toleration.yaml, patch-node-selector.yaml: spec.template.spec.tolerations)
        shape += "no container"
    # a Pod has no selector to miss: only one whose containers all lack an image is a patch (a broken Pod with
    # one image missing is still judged, and GC001 names what is wrong with it)
    elif not cs or all(with_image) or (kind == "Pod" and any(with_image)):
        return None
    else:
        shape += "a container without an image"
    name = k8s.object_ref(obj).name
    return f"{kind}{f' {name!r}' if name else ''} has {shape}: {PATCH_FRAGMENT}"


# the end of :func:`_patch_fragment`'s note, by which the kustomize loader knows it
PATCH_FRAGMENT = (
    "a patch fragment (a kustomize, kind or kubeadm patch that no kustomization of the scan names), not a "
    "deployable object; not checked"
)


def is_patch_fragment_note(e: LoadError) -> bool:
    """The note :func:`_patch_fragment` left on a file, which a kustomization naming the file as its patch takes
    back (the kustomize loader)."""
    return e.severity == Severity.INFO and e.message.endswith(PATCH_FRAGMENT)


def _add_object(
    obj: dict,
    src: SourceFile,
    out: Loaded,
    config: Config,
    span: tuple[int, int],
    scope: str = "",
    owned: list[tuple[int, str]] | None = None,
) -> None:
    errors = k8s.structure_errors(obj)
    if any(_unidentified(e) for e in errors):
        # no identity to judge: emissary's test manifests hold `name: {self.path.k8s}`, a Python format
        # placeholder that YAML reads as a mapping. GC001 says so; no rule judges an object named by a mapping
        # (a number or a boolean keeps its text as the name: kubectl refuses it too, and GC001 says why)
        src.errors.extend(replace(e, checked=False) if _unidentified(e) else e for e in errors)
        return
    src.errors.extend(errors)
    owner = _workload_owner(obj, config)
    if owner is not None and owned is not None:
        # a Pod of a ReplicaSet, a ReplicaSet of a Deployment, in a dump committed to the repository
        # (argo-rollouts' testdata): the cluster made it from its owner, which is what is judged
        owned.append((line_of(obj, span[0]), f"{obj.get('kind')} {k8s.object_ref(obj).name!r} of {owner}"))
        return
    fragment = _patch_fragment(obj)
    if fragment is not None:
        src.errors.append(LoadError(fragment, line_of(obj, span[0]), 1, Severity.INFO, checked=True))
        return
    ann = k8s.annotations(obj)
    supp = suppress.from_annotations(ann, src.path, span[0], span) if config.inline_suppressions else []
    out.targets.append(
        k8s_target(
            obj,
            k8s.object_ref(obj),
            path=src.path,
            line=line_of(obj, span[0]),
            source=src,
            suppressions=supp,
            origin={
                "source": "manifest",
                "span": list(span),
                "repo": scope,
                "unit": src.path.rsplit("/", 1)[0] if "/" in src.path else ".",  # plain manifests: their directory
                "unit_kind": "manifests",
            },
        )
    )


def _load_dockerfile(text: str, src: SourceFile, out: Loaded) -> None:
    from guidecheck.loaders.docker import dockerfile_target

    target = dockerfile_target(text, src)
    template = dockerfile_template(src.path, text, src.errors)
    if template is not None:
        # a template is not a Dockerfile: one note for the file instead of an error per placeholder line,
        # and no docker target (its rules would judge placeholders)
        src.errors[:] = [LoadError(template, 1, 1, Severity.INFO, checked=True)]
        return
    if target is not None:
        out.targets.append(target)


# the tags of other template languages: Jinja/Liquid ({% if %}, samber's alert rule templates) and Terraform's
# templatefile() directives (%{ if x }, aws-containers' Helm values under terraform/)
# and {NAME} that a Makefile's sed fills in (cert-manager's make/config/bind/service.yaml: `clusterIP:
# {SERVICE_IP_PREFIX}.16`)
_OTHER_TEMPLATE = lazy(
    r"\{%-?\s*[a-z]|%\{~?\s*(?:if|for|else|endif|endfor)\b|^[ \t]*(?:- )?@[A-Z][A-Z0-9_]*@[ \t]*$"
    r"|(?<![{$\w])\{[A-Z][A-Z0-9_]{0,100}\}(?!\})",
    re.M,
)


# ${NAME} where YAML syntax cannot take it, which envsubst or a script replaces before use (clickhouse-operator's
# templates-config: `namespaces: [${WATCH_NAMESPACES}]`); in a script or a quoted value it is the shell's own
_ENVSUBST = lazy(r"\$\{[A-Za-z_][A-Za-z0-9_]{0,100}\}")


def _envsubst_hint(error: LoadError, text: str) -> LoadError:
    """A parse error on a line (or just after one) with a ``${NAME}`` placeholder, with the template hint."""
    lines = text.split("\n", error.line)[max(0, error.line - 2) : error.line]  # the line before, and the line
    if not any(_ENVSUBST.search(ln, 0, 8192) for ln in lines):
        return error
    hint = (
        " (the line has ${NAME} placeholders that envsubst or a script fills in: scan the substituted output, "
        "or exclude the template)"
    )
    return LoadError(error.message + hint, error.line, error.column, error.severity)


def _template_kind(text: str) -> str:
    """What template placeholders a YAML file has, for the hint on its parse error."""
    if re.search(r"\{%-?\s*[a-z]", text):
        return "Jinja or Liquid {% %} template tags"
    if "{{" in text:
        return "{{ }} template placeholders"
    if re.search(r"%\{~?\s*(?:if|for|else|endif|endfor)\b", text):
        return "Terraform %{ } template directives"
    if re.search(r"^[ \t]*(?:- )?@[A-Z][A-Z0-9_]*@[ \t]*$", text, re.M):
        return "@NAME@ placeholders a script fills in"
    return "{NAME} placeholders a script fills in"


_TEMPLATE_SUFFIXES = (".tmpl", ".tpl", ".template", ".j2", ".jinja", ".jinja2", ".gotmpl", ".in", ".erb", ".mustache")
# {{ }} and {% %} (Go, Jinja, Helm), %%NAME%% (docker-library's and nginx's update.sh templates)
_TEMPLATE_MARK = lazy(r"\{\{.*?\}\}|\{%.*?%\}|%%[A-Za-z0-9_]+%%")
# in a file named as a template only: {NAME} (thockin/go-build-template's Dockerfile.in: `FROM {ARG_FROM}`,
# rendered by sed); ${NAME} is the shell's and Docker's own
_TEMPLATE_MARK_NAMED = lazy(_TEMPLATE_MARK.pattern + r"|(?<![$\w])\{[A-Z][A-Z0-9_]*\}")


def dockerfile_template(path: str, text: str, errors: list[LoadError]) -> str | None:
    """The note for a Dockerfile template (``Dockerfile.tmpl``, or ``{{ }}``/``{% %}``/``%%NAME%%`` where an
    instruction or its image should be; in a file named as a template, ``{NAME}`` too), or None for a Dockerfile.

    ``{{ }}`` inside an instruction's arguments alone (``docker inspect --format '{{.State}}'``) is no template.
    """
    lines = text.splitlines()
    named = path.lower().endswith(_TEMPLATE_SUFFIXES)
    mark = _TEMPLATE_MARK_NAMED if named else _TEMPLATE_MARK
    marked = [i for i, ln in enumerate(lines, 1) if mark.search(ln)]
    if not marked:
        return _word_template(lines, errors)
    at_errors = sorted({e.line for e in errors if 0 < e.line <= len(lines) and mark.search(lines[e.line - 1])})
    from_line = [i for i in marked if re.match(r"\s*FROM\s", lines[i - 1], re.I)]
    if not (named or at_errors or from_line):
        return None
    where = (at_errors or from_line or marked)[0]
    at = lines[where - 1]
    kind = "%%NAME%%" if re.search(r"%%[A-Za-z0-9_]+%%", at) else "{{ }}" if _TEMPLATE_MARK.search(at) else "{NAME}"
    return (
        f"a Dockerfile template ({kind} placeholders on {len(marked)} line(s), first at line {where}): not "
        "checked as a Dockerfile; scan the Dockerfile rendered from it"
    )


# sonobuoy's Dockerfile: `FROM BASEIMAGE` and a line `CMD1`, which scripts/build_funcs.sh replaces with sed
_UPPER_FROM = lazy(r"^[ \t]*(?i:FROM)[ \t]+(?:--\S+[ \t]+)*([A-Z][A-Z0-9_]*)(?:[ \t]+(?i:AS)[ \t]+\S+)?[ \t]*$")
_UPPER_WORD_LINE = lazy(r"^[ \t]*[A-Z][A-Z0-9_]*[ \t]*$")
_STAGE_ALIAS = lazy(r"^[ \t]*(?i:FROM)[ \t].*[ \t](?i:AS)[ \t]+(\S+)[ \t]*$")


def _word_template(lines: list[str], errors: list[LoadError]) -> str | None:
    """The note for a Dockerfile a script fills in by replacing upper-case words: a FROM naming an upper-case word
    and a line of one upper-case word Docker does not know (CMD1): no build could run it as it is."""
    words = sorted(
        e.line
        for e in errors
        if 0 < e.line <= len(lines)
        and e.message.startswith("unknown instruction")
        and _UPPER_WORD_LINE.match(lines[e.line - 1])
    )
    # a FROM naming an earlier stage written in capitals (FROM alpine AS BUILD, then FROM BUILD) names that stage
    aliases = {m.group(1) for ln in lines for m in [_STAGE_ALIAS.match(ln)] if m}
    froms = [i for i, ln in enumerate(lines, 1) for m in [_UPPER_FROM.match(ln)] if m and m.group(1) not in aliases]
    if not (words and froms):
        return None
    return (
        f"a Dockerfile template (upper-case words a script replaces: FROM at line {froms[0]}, "
        f"{lines[words[0] - 1].strip()} at line {words[0]}): not checked as a Dockerfile; scan the Dockerfile "
        "rendered from it"
    )


__all__ = ["EXTENSIONS", "load", "Loaded", "RepoInfo", "RepoScan", "ChartInfo", "WalkedFile", "YMap"]
