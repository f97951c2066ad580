"""Kustomizations: discovery, sandboxed rendering with the real kustomize, tracing back to bases and patches.

Every ``kustomization.yaml`` (``.yml``, ``Kustomization``) found by the walk becomes a
``kustomization`` target (GC401 judges it).  The references between them make a graph:

* a kustomization that no other kustomization of the scan lists (under ``resources:``,
  ``bases:`` or ``components:``) is *rendered*: one deployment unit, named by its directory;
* a base that only overlays list is checked through them (rendered once per overlay);
* a ``Component`` is rendered through the kustomizations that list it; one nobody lists is not
  rendered (its resource files are checked as plain manifests);
* every file a kustomization consumes (resources, patches, generator inputs, replacements,
  configurations) is not checked again as a standalone manifest, and a patch never is
  (a patch is not a workload).

Rendering runs ``kubectl kustomize`` (or ``kustomize build``) on a copy of the unit's
directories (regular files of the walk only) with ``buildMetadata: [originAnnotations]``
added to the copy of the rendered kustomization, under the caps of
:mod:`~guidecheck.loaders.kustomize.sandbox`.  A unit with a remote base or resource, a
``helmCharts:`` entry or a path outside the scanned tree is not rendered: a GC401 finding,
and an incomplete scan when GC401 is deselected.  Rendered objects become ``k8s`` targets on
the base resource's file and line; :mod:`~guidecheck.loaders.kustomize.trace` moves each field
onto the patch or kustomization line that set it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from guidecheck import suppress
from guidecheck.config import Config
from guidecheck.loaders import Loaded, RepoScan, is_patch_fragment_note, scratch
from guidecheck.loaders.fs import ReadError, read_text, walk_vendored
from guidecheck.loaders.kustomize.binary import find_kustomize
from guidecheck.loaders.kustomize.sandbox import Caps, copy_files, link_files, run, sandbox_env
from guidecheck.loaders.kustomize.trace import PatchSource, applies, json6902_ops, retrace
from guidecheck.model import ObjectRef, SourceFile, Target, k8s_target
from guidecheck.parsers import k8s
from guidecheck.parsers.chart import Issue
from guidecheck.parsers.kustomization import FILE_NAMES, Kustomization, KustomizationModel, is_remote, parse
from guidecheck.parsers.yaml import YMap, line_of, load_yaml
from guidecheck.sanitize import path as clean_path

ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
TRANSFORMATIONS_ANNOTATION = "alpha.config.kubernetes.io/transformations"


@dataclass
class KOptions:
    binary: str | None = None
    render: bool = True
    no_render: bool = False  # --no-render: an explicit opt-out (listed as skipped, not incomplete)
    caps: Caps = field(default_factory=Caps)
    verbose: bool = False
    load_restrictor: str = "root-only"  # kustomize.load-restrictor: root-only | none


def options_from(config: Config, options: dict[str, Any]) -> KOptions:
    k = dict(getattr(config, "kustomize", None) or {})
    cli = options.get("kustomize") or {}
    base = os.path.dirname(os.path.abspath(config.path)) if config.path else os.getcwd()
    binary = cli.get("binary") or k.get("binary")
    if binary and os.sep in binary and not os.path.isabs(binary) and not cli.get("binary"):
        binary = os.path.normpath(os.path.join(base, binary))
    return KOptions(
        binary=binary,
        render=k.get("render", True) is not False,
        no_render=bool(options.get("no_render")),
        caps=Caps(
            timeout=float(k.get("timeout", 60)),
            memory=int(k.get("max-memory-mb", 2048)) * 1024 * 1024,
            output=8 * config.max_file_bytes,
        ),
        verbose=bool(options.get("verbose")),
        load_restrictor=str(k.get("load-restrictor") or "root-only"),
    )


@dataclass
class Node:
    """One kustomization of a scanned directory."""

    rel: str  # directory relative to the scan root ('.' for the root)
    file_rel: str
    model: KustomizationModel
    k: Kustomization
    target: Target
    deps: list[tuple[str, str]] = field(default_factory=list)  # (what, directory rel) of listed kustomizations
    files: list[tuple[str, str]] = field(default_factory=list)  # (what, file rel) of consumed files
    problems: list[Issue] = field(default_factory=list)  # remote, outside, missing: not rendered
    # symlinks inside the tree that a reference goes through (link rel -> target rel): made in the sandbox copy
    # as relative links, so that kustomize judges them (its load restrictor) as it would in the repository
    links: list[tuple[str, str]] = field(default_factory=list)


def _join(rel_dir: str, ref: str) -> str:
    return os.path.normpath(os.path.join(rel_dir if rel_dir != "." else "", ref)).replace(os.sep, "/")


def start(loaded: Loaded, config: Config, options: dict) -> None:
    """Discover the kustomizations and start rendering them, right after the walk, before the files are read
    and parsed (see :class:`_Started` and :func:`guidecheck.loaders.load`).

    :func:`extend` takes the results where it always did; anything this cannot do, it does there.
    """
    try:
        started = _start(loaded, config, options)
    except Exception:  # noqa: BLE001 - extend() discovers and renders as without a start
        return
    if started is not None:
        loaded.pending[__name__] = started


@dataclass
class _Started:
    """What :func:`start` found and began: the graph of each repository, and the renders under way."""

    graphs: dict[int, tuple[dict[str, Node], list[Node]]]  # by id() of the RepoScan
    renders: Any = None  # _Renders, when rendering began

    def close(self) -> None:
        if self.renders is not None:
            self.renders.close()


def _start(loaded: Loaded, config: Config, options: dict) -> _Started | None:
    opts = options_from(config, options)
    started = _Started({})
    units: list[tuple[RepoScan, dict[str, Node], Node]] = []
    for repo in loaded.repos:
        # before the files are read (see guidecheck.loaders.load): extend() gives each target its source file
        nodes = _discover(repo, config, {})
        if not nodes:
            continue
        roots = _graph(repo, nodes)
        started.graphs[id(repo)] = (nodes, roots)
        units.extend((repo, nodes, n) for n in roots if not _unit_problems(repo, nodes, n))
    if not started.graphs:
        return None
    if units and opts.render and not opts.no_render:
        tool, _why = find_kustomize(opts.binary)
        if tool is not None:
            started.renders = _Renders(units, tool, opts)
    return started


def extend(loaded: Loaded, config: Config, options: dict) -> None:
    started = loaded.pending.pop(__name__, None)
    try:
        _extend(loaded, config, options, started)
    except Exception as exc:  # noqa: BLE001 - a bug here must not hide the rest of the scan
        loaded.incomplete.append(f"kustomizations: internal error: {type(exc).__name__}: {exc}")
    finally:
        if started is not None and started.renders is not None:
            started.renders.close()


def _unit_problems(repo: RepoScan, nodes: dict[str, Node], n: Node) -> list[Issue]:
    """Why the unit rooted at ``n`` is not rendered (a remote base, a ``helmCharts:`` entry, ...); [] when it is."""
    closure = _closure(n, nodes)
    problems = [p for c in closure for p in nodes[c].problems]
    for c in closure:
        for name, line in nodes[c].k.helm_charts:
            problems.append(
                Issue(
                    f"helmCharts: chart '{name}' is not inflated: guidecheck does not run Helm inside "
                    "kustomize; not rendered (render the chart as a chart directory of the scan, or "
                    "commit its rendered output as a resource)",
                    repo.prefix + nodes[c].file_rel,
                    line,
                )
            )
    return problems


def _extend(loaded: Loaded, config: Config, options: dict, started: _Started | None = None) -> None:
    opts = options_from(config, options)
    sources = {t.source.path: t.source for t in loaded.targets if t.kind == "file" and t.source is not None}
    work: list[tuple[RepoScan, dict[str, Node], list[Node]]] = []
    drop: set[str] = set()  # display paths whose k8s targets are not standalone manifests
    for repo in loaded.repos:
        if started is not None:
            if id(repo) not in started.graphs:
                continue
            nodes, roots = started.graphs[id(repo)]
            for n in nodes.values():  # start() ran before the files were read
                n.target.source = sources.get(n.target.path)
        else:
            nodes = _discover(repo, config, sources)
            if not nodes:
                continue
            roots = _graph(repo, nodes)
        for n in nodes.values():
            drop.add(repo.prefix + n.file_rel)
            for what, rel in n.files:
                if what in ("patch", "plugin-input") or (not opts.no_render and opts.render and _consumed(n, nodes)):
                    drop.add(repo.prefix + rel)
                if what == "patch" and (src := sources.get(repo.prefix + rel)) is not None:
                    src.errors[:] = [e for e in src.errors if not is_patch_fragment_note(e)]  # a named patch
        work.append((repo, nodes, roots))
    if not work:
        return
    loaded.targets[:] = [
        t for t in loaded.targets if not (t.kind == "k8s" and t.origin.get("source") == "manifest" and t.path in drop)
    ]
    renderable: list[tuple[RepoScan, dict[str, Node], Node]] = []
    for repo, nodes, roots in work:
        for n in roots:
            problems = _unit_problems(repo, nodes, n)
            if problems:
                n.model.issues.extend(problems)
                continue
            renderable.append((repo, nodes, n))
        for n in nodes.values():
            loaded.targets.append(n.target)
    if not renderable:
        return
    if opts.no_render or not opts.render:
        why = "--no-render" if opts.no_render else "kustomize.render: false"
        for _repo, _nodes, n in renderable:
            n.model.skipped = f"rendering is turned off ({why})"
            if opts.no_render:
                loaded.skipped.append(f"kustomization {n.model.path}")
        return
    _render(renderable, loaded, config, opts, sources, started)


def _render(
    renderable: list[tuple[RepoScan, dict[str, Node], Node]],
    loaded: Loaded,
    config: Config,
    opts: KOptions,
    sources: dict[str, SourceFile],
    started: _Started | None,
) -> None:
    """Render the units (taking the renders :func:`start` began when they are these units, with this tool)."""
    tool, why = find_kustomize(opts.binary)
    if tool is None:
        loaded.incomplete.append(f"kustomizations not rendered ({len(renderable)}): {why}")
        for _repo, _nodes, n in renderable:
            n.model.skipped = why
        return
    renders = started.renders if started is not None else None
    if renders is not None and (renders.tool != tool or [u[2] for u in renders.units] != [u[2] for u in renderable]):
        renders.close()
        renders = None
    if renders is None:
        renders = _Renders(renderable, tool, opts)
    try:
        _render_all(renders, config, opts, loaded, sources)
    finally:
        renders.close()


def _consumed(n: Node, nodes: dict[str, Node]) -> bool:
    """Whether ``n``'s files are checked through a rendering (not a lone Component nobody lists)."""
    return n.k.kind != "Component" or bool(n.model.consumed_by)


class Nodes(dict[str, Node]):
    """The kustomizations of one scanned directory by directory, and the files of vendored directories
    (``third-party/``: never scanned) that they name, read for rendering only."""

    extra: set[str]

    def __init__(self) -> None:
        super().__init__()
        self.extra = set()


def _discover(repo: RepoScan, config: Config, sources: dict[str, SourceFile]) -> Nodes:
    nodes = Nodes()
    for rel in repo.walk.inventory:
        _add_node(repo, rel, config, sources, nodes)
    if nodes and repo.walk.vendored:
        _add_vendored(repo, config, sources, nodes)
    return nodes


def _add_vendored(repo: RepoScan, config: Config, sources: dict[str, SourceFile], nodes: Nodes) -> None:
    """Walk each vendored directory a kustomization names something inside (transitively), and add its
    kustomizations: they are rendered through the kustomizations that list them, never on their own."""
    pending = sorted(repo.walk.vendored)
    walked: set[str] = set()
    todo = list(nodes.values())
    while todo:
        n = todo.pop()
        for ref in n.k.refs:
            target = _join(n.rel, ref.path)
            for v in pending:
                if v in walked or not (target == v or target.startswith(v + "/")):
                    continue
                walked.add(v)
                w = walk_vendored(repo.walk.root, v)
                nodes.extra.update(w.inventory)
                pending.extend(x for x in w.vendored if x not in pending)
                for rel in w.inventory:
                    added = _add_node(repo, rel, config, sources, nodes)
                    if added is not None:
                        todo.append(added)


def _add_node(repo: RepoScan, rel: str, config: Config, sources: dict[str, SourceFile], nodes: Nodes) -> Node | None:
    """The node of the kustomization file ``rel``, added to ``nodes``; None when ``rel`` is none."""
    base = rel.rsplit("/", 1)[-1]
    if base not in FILE_NAMES:
        return None
    d = rel.rsplit("/", 1)[0] if "/" in rel else "."
    shown_dir = repo.prefix + d if d != "." else (repo.prefix.rstrip("/") or ".")
    display = repo.prefix + rel
    model = KustomizationModel(shown_dir, display, "Kustomization")
    if d in nodes:
        model.issues.append(
            Issue(
                f"{shown_dir} holds more than one kustomization file ({nodes[d].file_rel.rsplit('/', 1)[-1]} "
                f"and {base}): kustomize refuses to build it",
                display,
            )
        )
        nodes[d].problems.extend(model.issues)
        return None
    try:
        text = read_text(os.path.join(repo.walk.root, rel), config.max_file_bytes, root=repo.walk.root)
        docs = load_yaml(text, config.limits)
    except ReadError as exc:
        docs = []
        model.issues.append(Issue(f"cannot read the kustomization: {exc.error.message}", display))
    data = next((doc.data for doc in docs if doc.data is not None), None)
    api = data.get("apiVersion") if isinstance(data, dict) else None
    if isinstance(api, str) and not api.startswith("kustomize.config.k8s.io/"):
        # a Kubernetes object in a file of that name (Flux's kustomize.toolkit.fluxcd.io Kustomization): no
        # kustomization, checked as a manifest
        return None
    k = parse(data) if data is not None or not docs else parse(None)
    errors = [e for doc in docs for e in doc.errors]
    if errors and rel in nodes.extra:  # a vendored file: GC001 never reads it, so the error is said here
        model.issues.append(Issue(f"the kustomization does not parse: {errors[0].message}", display, errors[0].line))
    elif errors:
        model.issues.append(Issue("the kustomization does not parse (see GC001)", display))
    for e in k.errors if data is not None or not errors else ():  # a file that does not parse is no mapping
        model.issues.append(Issue(e.message, display, e.line))
    model.kind = k.kind
    model.images = _image_renames(data)
    src = sources.get(display)
    target = Target(
        kind="kustomization",
        path=display,
        line=1,
        ref=ObjectRef(k.kind, None, shown_dir),
        data=model,
        source=src,
        origin={"source": "kustomize", "repo": repo.prefix, "unit": shown_dir, "unit_kind": "kustomize"},
    )
    node = Node(d, rel, model, k, target)
    node.problems.extend(model.issues)
    nodes[d] = node
    return node


def _through_links(path: str, links: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """``path`` with every symlink on it (the walk's in-tree :attr:`~guidecheck.loaders.fs.Walk.links`)
    replaced by its target, and the links it went through; at most 40 links, as the kernel allows."""
    used: list[tuple[str, str]] = []
    parts = path.split("/")
    i = 1
    while i <= len(parts) and len(used) < 40:
        head = "/".join(parts[:i])
        if head in links:
            used.append((head, links[head]))
            parts = links[head].split("/") + parts[i:]
            i = 1
            continue
        i += 1
    return "/".join(parts), used


def _graph(repo: RepoScan, nodes: Nodes) -> list[Node]:
    """Resolve every reference; the kustomizations to render (listed by no other one)."""
    inventory = set(repo.walk.inventory) | nodes.extra
    links = repo.walk.links
    dirs: set[str] = set()
    for x in inventory:
        cut = x.rfind("/")
        while cut > 0:
            dirs.add(x[:cut])
            cut = x.rfind("/", 0, cut)
    for n in nodes.values():
        shown = repo.prefix + n.file_rel
        for ref in n.k.refs:
            target = _join(n.rel, ref.path)
            if links and target not in inventory and target not in nodes:
                target, used = _through_links(target, links)
                n.links.extend(used)
            local = target in inventory or target in nodes or target in dirs
            if not local and is_remote(ref.path):
                n.problems.append(
                    Issue(
                        f"{ref.what} '{clean_path(ref.path)[:200]}' is remote: guidecheck never fetches remote "
                        "bases or resources; not rendered (vendor it into the repository to have it checked)",
                        shown,
                        ref.line,
                    )
                )
                continue
            if target == ".." or target.startswith("../"):
                n.problems.append(
                    Issue(
                        f"{ref.what} '{clean_path(ref.path)[:200]}' is outside the scanned tree: not read "
                        "(nothing outside it is copied into kustomize's sandbox); not rendered",
                        shown,
                        ref.line,
                    )
                )
                continue
            if ref.what in ("resource", "component") and target in nodes:
                n.deps.append((ref.what, target))
                nodes[target].model.consumed_by.append(n.model.path)
            elif target in inventory:
                n.files.append((ref.what, target))
            elif ref.what in ("resource", "component") and target in dirs:
                n.problems.append(
                    Issue(
                        f"{ref.what} '{clean_path(ref.path)[:200]}' is a directory without a kustomization file: "
                        "kustomize cannot build it",
                        shown,
                        ref.line,
                    )
                )
            else:
                n.problems.append(
                    Issue(
                        f"{ref.what} '{clean_path(ref.path)[:200]}' does not exist in the scanned tree", shown, ref.line
                    )
                )
    roots = []
    for n in nodes.values():
        n.model.consumed_by.sort()
        if n.model.consumed_by:
            n.model.skipped = "rendered through " + ", ".join(n.model.consumed_by)
        elif n.k.kind == "Component":
            n.model.skipped = "a Component is rendered through the kustomizations that list it; none in the scan does"
        else:
            roots.append(n)
    return sorted(roots, key=lambda n: n.rel)


def _image_renames(data: Any) -> dict[str, str]:
    """The kustomization's ``images:`` entries that rename an image: name -> newName."""
    entries = data.get("images") if isinstance(data, dict) else None
    out: dict[str, str] = {}
    for e in entries if isinstance(entries, list) else ():
        if isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("newName"), str):
            out[e["name"]] = e["newName"]
    return out


def _closure(root: Node, nodes: dict[str, Node]) -> list[str]:
    """The kustomization directories a rendering reads, the root first, then depth first (no cycles)."""
    out: list[str] = []
    stack = [root.rel]
    while stack:
        d = stack.pop(0)
        if d in out or d not in nodes:
            continue
        out.append(d)
        stack.extend(t for _w, t in nodes[d].deps)
    return out


class _Renders:
    """``kubectl kustomize`` on a sandbox copy of every unit, under way in a thread pool from the moment it is made.

    Each result is taken (:meth:`results`, in the units' order) as it comes, while the others still render.
    """

    def __init__(self, units: list[tuple[RepoScan, dict[str, Node], Node]], tool, opts: KOptions) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.units = units
        self.tool = tool
        # only what kustomize will read: each kustomization file and the files it names
        listed = []
        linked = []
        resources = []  # files named as resources only (no generator's input, no crds: schema)
        for _repo, nodes, n in units:
            closure = _closure(n, nodes)
            listed.append(
                sorted({f for c in closure for f in (nodes[c].file_rel, *(rel for _w, rel in nodes[c].files))})
            )
            linked.append(sorted({lk for c in closure for lk in nodes[c].links}))
            named = [(w, rel) for c in closure for w, rel in nodes[c].files]
            other = {r for w, r in named if w != "resource"}
            resources.append(frozenset(r for w, r in named if w == "resource" and r not in other))
        self.tmp = scratch.make(
            "kustomize", sum(scratch.size_of(u[0].walk.root, files) for u, files in zip(units, listed, strict=True))
        )
        self.jobs = []
        self.pool = None
        env = sandbox_env(self.tmp, opts.caps)
        slimmed: list[list[str]] = []
        for i, ((repo, nodes, n), files, links, res_files) in enumerate(
            zip(units, listed, linked, resources, strict=True)
        ):
            copy = os.path.join(self.tmp, "units", str(i))
            slimmed.append(copy_files(repo.walk.root, files, copy, res_files))
            link_files(links, copy)
            _with_build_metadata(os.path.join(copy, n.file_rel), n.k.data)
            self.jobs.append((repo, nodes, n, copy))

        def one(i: int):
            repo, nodes, n, copy = self.jobs[i]
            start = time.perf_counter()
            res = _cached_run(tool, copy, n.rel, env, opts)
            if res.rc != 0 and not res.problem and slimmed[i]:
                # kustomize failed on the copy without CRD schemas (a patch or replacement reaching into a
                # CRD's spec, or an error of its own): build again from the files as they are
                copy_files(repo.walk.root, slimmed[i], copy)
                res = _cached_run(tool, copy, n.rel, env, opts)
            n.model.seconds = time.perf_counter() - start
            return res

        workers = max(1, min(len(self.jobs), os.cpu_count() or 1, 4))
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.futures = [self.pool.submit(one, i) for i in range(len(self.jobs))]

    def results(self):
        for job, future in zip(self.jobs, self.futures, strict=True):
            yield job, future.result()

    def close(self) -> None:
        if self.pool is not None:
            for f in self.futures:
                f.cancel()
            self.pool.shutdown(wait=True)
            self.pool = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def _render_all(
    renders: _Renders, config: Config, opts: KOptions, loaded: Loaded, sources: dict[str, SourceFile]
) -> None:
    cache: dict[str, list[Any]] = {}
    for (repo, nodes, n, copy), res in renders.results():
        if res.problem or res.rc != 0:
            n.model.issues.append(_render_error(res, repo, n, copy, nodes, config, opts.load_restrictor))
            continue
        try:
            _add_rendered(res.out.decode("utf-8", "replace"), repo, nodes, n, config, loaded, sources, cache)
        except Exception as exc:  # noqa: BLE001 - never a traceback: the unit is reported as not checked
            loaded.incomplete.append(
                f"{n.model.path}: rendered output not loaded: internal error {type(exc).__name__}: {exc}"
            )
            continue
        n.model.rendered = True
        if opts.verbose:
            print(
                f"guidecheck: rendered {clean_path(n.model.path)} (kustomize) in {n.model.seconds:.2f} s: "
                f"{n.model.objects} object(s)",
                file=sys.stderr,
            )


def _cached_run(tool, copy: str, rel: str, env: dict[str, str], opts: KOptions):
    """The kustomize build of ``rel`` in the sandbox ``copy``, or a successful build of the same files with the
    same binary and caps from the incremental cache (:mod:`guidecheck.cache`); failures are not kept."""
    from guidecheck import cache

    def build():
        return run(tool.command(os.path.join(copy, rel), opts.load_restrictor), env=env, cwd=copy, caps=opts.caps)

    if cache.active() is None:
        return build()
    key = (
        cache.binary_identity(tool.path),
        tool.flavour,
        tool.version,
        cache.tree_digest(copy),
        rel,
        repr(opts.caps),
        opts.load_restrictor,
    )
    return cache.get_or_compute("kustomize", key, build, lambda r: not r.problem and r.rc == 0)


def _with_build_metadata(path: str, data: Any) -> None:
    """The sandbox copy of the rendered kustomization, asking kustomize to record each object's origin."""
    doc = dict(data) if isinstance(data, dict) else {}
    meta = [m for m in doc.get("buildMetadata") or () if isinstance(m, str)]
    if "originAnnotations" not in meta:
        meta.append("originAnnotations")
    doc["buildMetadata"] = meta
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, default=str)


_KLOG = re.compile(r'^[EWIF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] "command failed" err="((?:[^"\\]|\\.)*)"', re.M)
_PATCH_ID = re.compile(r"patch \\?\"?(\w+)\.[\w.]*/([\w.-]+)\.")


# kustomize's "accumulating resources from '<entry as written>': <why>" (the innermost entry comes last)
_ACCUMULATING = re.compile(r"accumulating resources from '([^']+)'")


def _render_error(
    res, repo: RepoScan, n: Node, copy: str, nodes: dict[str, Node], config: Config, restrictor: str
) -> Issue:
    text = res.err
    m = _KLOG.search(text)
    if m:  # kubectl logs kustomize's error through klog: keep the error itself
        text = m.group(1).encode("utf-8", "replace").decode("unicode_escape", "replace")
    text = text.replace(copy + "/", repo.prefix).replace(copy, repo.prefix.rstrip("/") or ".")
    text = re.sub(r"^\s*error:\s*", "", " ".join(text.split()), flags=re.IGNORECASE)
    shown, line = repo.prefix + n.file_rel, 1
    if res.problem:
        return Issue(f"kustomize {res.problem}; not rendered", shown)
    hint = ""
    if "is not in or below" in text and restrictor == "root-only":
        # kustomize's default: a kustomization reads files in or below its own directory only
        hint = (
            " (kustomize's default load restrictor, which guidecheck keeps; if the build runs with "
            "--load-restrictor LoadRestrictionsNone, set kustomize.load-restrictor: none)"
        )
    text = (text[:600] + "..." if len(text) > 600 else text) + hint
    am = _ACCUMULATING.search(text)
    if am:  # a resource or component that does not load (outside the root, broken): at the line listing it
        for d in _closure(n, nodes):
            node = nodes[d]
            ref = next((r for r in node.k.refs_of("resource", "component") if r.path == am.group(1)), None)
            if ref is not None:
                shown, line = repo.prefix + node.file_rel, ref.line
                break
    pm = _PATCH_ID.search(text)
    if pm:  # a patch that matches nothing: at the line listing it
        for d in _closure(n, nodes):
            node = nodes[d]
            for p in node.k.patches:
                objs = (
                    _parsed(os.path.join(repo.walk.root, _join(node.rel, p.path)), repo.walk.root, config, {})
                    if p.path
                    else [x.data for x in load_yaml(p.text or "", config.limits)]
                )
                if any(
                    isinstance(o, dict) and o.get("kind") == pm.group(1) and k8s.object_ref(o).name == pm.group(2)
                    for o in objs
                ):
                    shown, line = repo.prefix + node.file_rel, p.line
    return Issue(f"kustomize build failed: {text or 'no message'}", shown, line)


def _parsed(abspath: str, root: str, config: Config, cache: dict[str, list[Any]]) -> list[Any]:
    if abspath not in cache:
        try:
            docs = load_yaml(read_text(abspath, config.max_file_bytes, root=root), config.limits)
        except ReadError:
            docs = []
        objs: list[Any] = []
        for d in docs:
            if isinstance(d.data, dict) and d.data.get("kind") == "List" and isinstance(d.data.get("items"), list):
                objs.extend(d.data["items"])
            elif d.data is not None:
                objs.append(d.data)
        cache[abspath] = objs
    return cache[abspath]


def _patches(repo: RepoScan, nodes: dict[str, Node], n: Node, config: Config, cache) -> list[PatchSource]:
    out = []
    for d in _closure(n, nodes):
        node = nodes[d]
        shown_k = repo.prefix + node.file_rel
        for p in node.k.patches:
            if p.path is not None:
                rel = _join(node.rel, p.path)
                objs = _parsed(os.path.join(repo.walk.root, rel), repo.walk.root, config, cache)
                shown, offset = repo.prefix + rel, 0
            else:
                docs = load_yaml(p.text or "", config.limits)
                objs = [x.data for x in docs if x.data is not None]
                shown, offset = shown_k, p.line - 1
            ops = (
                [op for o in objs for op in json6902_ops(o)]
                if (p.json6902 or any(isinstance(o, list) for o in objs))
                else []
            )
            out.append(PatchSource(shown, [o for o in objs if isinstance(o, dict)], ops, p.target, offset))
    return out


def _add_rendered(
    out: str,
    repo: RepoScan,
    nodes: dict[str, Node],
    n: Node,
    config: Config,
    loaded: Loaded,
    sources: dict[str, SourceFile],
    cache: dict[str, list[Any]],
) -> None:
    patches = _patches(repo, nodes, n, config, cache)
    transformers = [(repo.prefix + nodes[d].file_rel, nodes[d].k.data) for d in _closure(n, nodes)]
    workload_kinds = set(config.settings.get("workload-kinds") or ())
    kfile = repo.prefix + n.file_rel
    for doc in load_yaml(out, config.limits):
        data = doc.data
        objs = []
        if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
            objs = [x for x in data["items"] if isinstance(x, dict)]
        elif isinstance(data, dict):
            objs = [data]
        for obj in objs:
            if "apiVersion" not in obj or "kind" not in obj:
                continue
            origin_path = _take_origin(obj)
            base_obj, base_display = None, kfile
            if origin_path is not None:
                rel = _join(n.rel, origin_path)
                if repo.walk.links:
                    rel = _through_links(rel, repo.walk.links)[0]  # reported at the file itself, not a link
                if not (rel == ".." or rel.startswith("../")):
                    base_display = repo.prefix + rel
                    base_obj = _source_object(
                        obj, _parsed(os.path.join(repo.walk.root, rel), repo.walk.root, config, cache)
                    )
            source_ref = k8s.object_ref(base_obj) if isinstance(base_obj, dict) else k8s.object_ref(obj)
            source_name = source_ref.name
            applied = [(p, o) for p in patches for o in applies(p, obj, source_name)]
            where = retrace(obj, base_obj, base_display, applied, transformers)
            src = sources.get(base_display)
            line = line_of(base_obj, 1) if isinstance(base_obj, YMap) else 1
            ann = k8s.annotations(obj)
            supp = suppress.from_annotations(ann, base_display, line, None) if config.inline_suppressions else []
            n.model.objects += 1
            if obj.get("kind") in workload_kinds:
                n.model.workloads += 1
            loaded.targets.append(
                k8s_target(
                    obj,
                    k8s.object_ref(obj),
                    path=base_display,
                    line=line,
                    source=src,
                    suppressions=supp,
                    origin={
                        "source": "kustomize",
                        "repo": repo.prefix,
                        "unit": n.model.path,
                        "unit_kind": "kustomize",
                        "_source_ref": source_ref,
                        "_where": where.table,
                    },
                )
            )


def _take_origin(obj: dict) -> str | None:
    """The origin kustomize recorded (removed from the object: it is guidecheck's, not the user's)."""
    meta = obj.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(ann, dict):
        return None
    raw = ann.pop(ORIGIN_ANNOTATION, None)
    ann.pop(TRANSFORMATIONS_ANNOTATION, None)
    if not ann and isinstance(meta, dict):
        del meta["annotations"]
    if not isinstance(raw, str):
        return None
    docs = load_yaml(raw)
    data = docs[0].data if docs else None
    if isinstance(data, dict) and isinstance(data.get("path"), str) and "repo" not in data:
        return data["path"]
    return None


def _source_object(obj: dict, candidates: list[Any]) -> Any:
    """The object of the base file that ``obj`` was rendered from (same kind; name kept, prefixed or suffixed)."""
    kind = obj.get("kind")
    name = k8s.object_ref(obj).name or ""
    same_kind = [c for c in candidates if isinstance(c, dict) and c.get("kind") == kind]
    if len(same_kind) == 1:
        return same_kind[0]
    named = [c for c in same_kind if (k8s.object_ref(c).name or "\0") in name]
    exact = [c for c in named if k8s.object_ref(c).name == name]
    if exact:
        return exact[0]
    if named:
        return max(named, key=lambda c: len(k8s.object_ref(c).name or ""))
    return same_kind[0] if same_kind else None


__all__ = ["extend", "options_from"]
