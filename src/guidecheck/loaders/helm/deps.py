"""Dependencies: what a chart copy needs in its ``charts/``, and where a subchart lives in the scanned tree.

Dependencies are taken from ``charts/``, from ``file://`` paths inside the scanned
tree and (``helm.resolve-dependencies-from-tree``) from charts of the tree whose
version satisfies the constraint; nothing is ever downloaded.  The same lookups
turn a path of the copy or of Helm's output (``<chart>/charts/<sub>/...``) back
into the scanned file it came from.
"""

from __future__ import annotations

import os
import re

from guidecheck.loaders.fs import ReadError, read_text
from guidecheck.loaders.helm.charts import _ChartJob, _shown_of
from guidecheck.loaders.helm.options import HelmOptions
from guidecheck.loaders.helm.sandbox import _copy_chart, _inside
from guidecheck.parsers.chart import Issue, _deps, _line_of_dep
from guidecheck.parsers.semver import version_matches
from guidecheck.parsers.yaml import load_yaml


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


def _dependency_meta(chart_dir: str) -> tuple[dict, str]:
    """The mapping whose ``dependencies`` Helm uses for the chart, and the file it is read from.

    Helm reads a ``requirements.yaml`` beside Chart.yaml whatever the chart's apiVersion (for a v2 chart with a
    warning), and its ``dependencies`` replace Chart.yaml's (helm's chart loader unmarshals it into the same
    metadata, after Chart.yaml)."""
    req = os.path.join(chart_dir, "requirements.yaml")
    if os.path.isfile(req):
        meta = _quick_meta(req)
        if "dependencies" in meta:
            return meta, "requirements.yaml"
    return _quick_meta(os.path.join(chart_dir, "Chart.yaml")), "Chart.yaml"


def _resolve_deps(job: _ChartJob, copy_dir: str, orig_dir: str, opts: HelmOptions, depth: int = 0) -> list[Issue]:
    """Make every dependency of the chart copy present in its ``charts/``; issues for what cannot be.

    What a subchart taken from the tree lacks (netbox-operator -> netbox -> postgresql) is one issue at the line
    of the chart's own dependency that brought the subchart; the subchart's own scan reports its lines."""
    meta, source_file = _dependency_meta(copy_dir)
    issues: list[Issue] = []
    vendored = _vendored(copy_dir)
    for dep in _deps(meta):
        name = dep["name"]
        if name in vendored:
            continue
        found = _dependency_source(job, dep, orig_dir, opts)
        if isinstance(found, Issue) and depth == 0 and source_file == "requirements.yaml":
            found = Issue(found.message, job.prefix + source_file, _line_of_dep(meta, name))
        if isinstance(found, Issue):
            issues.append(found)
            continue
        source = found
        dest = os.path.join(copy_dir, "charts", os.path.basename(source.rstrip("/")) + ("-dep" if depth else ""))
        if os.path.exists(dest):
            dest = os.path.join(copy_dir, "charts", f"{name}-dependency")
        _copy_chart(source, dest, job.root)
        if depth < 5:
            lacking = _resolve_deps(job, dest, source, opts, depth + 1)
            if lacking and depth == 0:
                declared = job.prefix + source_file if source_file == "requirements.yaml" else job.model.chart_yaml
                what = "; ".join(dict.fromkeys(i.message.split("; guidecheck never downloads")[0] for i in lacking))
                issues.append(
                    Issue(
                        f"dependency '{name}' ({_shown_of(source, job)}) cannot be rendered with this chart: "
                        f"{_short_list(what)}; guidecheck never downloads charts: run 'helm dependency build' in it "
                        "and commit charts/, or scan the tree that holds them",
                        declared,
                        _line_of_dep(meta, name),
                    )
                )
            else:
                issues.extend(lacking)
    return issues


def _dependency_source(job: _ChartJob, dep: dict, orig_dir: str, opts: HelmOptions) -> str | Issue:
    """The chart directory a dependency missing from ``charts/`` is copied from (its ``file://`` path, else a
    chart of the scanned tree), or the issue saying why there is none."""
    name = dep["name"]
    repo = str(dep.get("repository") or "")
    constraint = str(dep.get("version") or "")
    source = None
    if repo.startswith("file://"):
        cand = os.path.normpath(os.path.join(orig_dir, repo[len("file://") :]))
        if not _inside(cand, job.root):
            return Issue(f"dependency '{name}' ({repo}) is outside the scanned tree: not read", job.model.chart_yaml)
        if os.path.isfile(os.path.join(cand, "Chart.yaml")):
            source = cand
    if source is None and opts.resolve_from_tree:
        source = _tree_dependency(job, name, repo, constraint, orig_dir)
    if source is None:
        where = repo or "no repository"
        others = sorted(
            f"{cmeta.get('version')} ({shown})"
            for abs_dir, shown, cname, cmeta in job.all_charts
            if cname == name and abs_dir != orig_dir and isinstance(cmeta, dict)
        )
        if others and opts.resolve_from_tree and not repo.startswith("file://"):
            # the tree holds the chart, at a version the constraint does not accept: say so, not "absent"
            in_tree = (
                f"the scanned tree has it only at {_list(others)}, which {constraint or 'its constraint'} "
                "does not accept"
            )
        else:
            in_tree = "not in the scanned tree"
        return Issue(
            f"dependency '{name}' {constraint} ({where}) is not in charts/ and {in_tree}; guidecheck never "
            "downloads charts: run 'helm dependency build' and commit charts/, or scan the tree that holds it",
            job.model.chart_yaml,
            _line_of_dep(job.model.meta, name),
        )
    return source


def _short_list(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list(items: list[str], shown: int = 3) -> str:
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _tree_dependency(job: _ChartJob, name: str, repo: str, constraint: str, orig_dir: str) -> str | None:
    """A chart of the scanned tree named ``name`` whose version satisfies ``constraint``; one taken for a
    dependency that names no ``file://`` path is listed in the chart's ``resolved``."""
    for abs_dir, shown, cname, cmeta in job.all_charts:
        if (
            cname == name
            and abs_dir != orig_dir
            and isinstance(cmeta, dict)
            and version_matches(str(cmeta.get("version") or ""), constraint)
        ):
            if not repo.startswith("file://"):
                job.model.resolved.append(f"{name} {cmeta.get('version')} from {shown}")
            return abs_dir
    return None


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
    path = os.path.join(base_abs, *parts)
    if job.links:
        real = os.path.realpath(path)
        if real != path and _inside(real, job.root):  # a template linked from elsewhere in the tree: its own place
            return _linked_display(real, job), real
    return shown, path


def packed_subchart(source: str, job: _ChartJob) -> str | None:
    """The display path of the packed subchart (``charts/<name>-<version>.tgz``, as ``helm dependency build``
    leaves it) whose template produced ``source`` (a ``# Source:`` path), when no directory holds it."""
    parts = source.split("/")[1:]
    base_abs, base_shown = job.abspath, job.model.path
    while len(parts) >= 2 and parts[0] == "charts":
        found = _subchart_dir(base_abs, parts[1], job)
        if found is None:
            meta, _file = _dependency_meta(base_abs)
            real = next((d["name"] for d in _deps(meta) if d.get("alias") == parts[1]), parts[1])
            cdir = os.path.join(base_abs, "charts")
            try:
                names = sorted(os.listdir(cdir))
            except OSError:
                return None
            for entry in names:
                if entry.endswith(".tgz") and re.fullmatch(re.escape(real) + r"-v?\d[\w.+-]*\.tgz", entry):
                    return (base_shown + "/" if base_shown not in ("", ".") else "") + "charts/" + entry
            return None
        base_abs, base_shown = found
        parts = parts[2:]
    return None


def _linked_display(real: str, job: _ChartJob) -> str:
    """The display path of ``real``, a file or directory of the scanned tree reached through a link."""
    rel = os.path.relpath(real, job.abspath).replace(os.sep, "/")
    if job.model.path in ("", "."):
        return rel
    return os.path.normpath(os.path.join(job.model.path, rel)).replace(os.sep, "/")


def _subchart_dir(parent_abs: str, name: str, job: _ChartJob) -> tuple[str, str] | None:
    """Where subchart ``name`` (or alias) of ``parent_abs`` lives in the scanned tree."""
    cache = job.__dict__.setdefault("_subcache", {})
    key = (parent_abs, name)
    if key in cache:
        return cache[key]
    meta, _file = _dependency_meta(parent_abs)
    real = name
    for d in _deps(meta):
        if d.get("alias") == name:
            real = d["name"]
    result = _vendored_subchart(parent_abs, real, job)
    if result is None:
        result = _file_subchart(parent_abs, real, meta, job)
    if result is None:
        result = _tree_subchart(parent_abs, real, meta, job)
    cache[key] = result
    return result


def _vendored_subchart(parent_abs: str, real: str, job: _ChartJob) -> tuple[str, str] | None:
    """The directory of ``charts/`` of ``parent_abs`` whose chart is named ``real``."""
    cdir = os.path.join(parent_abs, "charts")
    if os.path.isdir(cdir):
        for entry in sorted(os.listdir(cdir)):
            p = os.path.join(cdir, entry)
            if (
                os.path.isfile(os.path.join(p, "Chart.yaml"))
                and _quick_meta(os.path.join(p, "Chart.yaml")).get("name") == real
            ):
                target = os.path.realpath(p)
                if target != p and _inside(target, job.root):  # linked into charts/: shown at its own place
                    return (target, _shown_of(target, job) if _charted(target, job) else _linked_display(target, job))
                return (p, _shown_of(p, job))
    return None


def _charted(abs_dir: str, job: _ChartJob) -> bool:
    return any(a == abs_dir for a, _s, _n, _m in job.all_charts)


def _file_subchart(parent_abs: str, real: str, meta: dict, job: _ChartJob) -> tuple[str, str] | None:
    """The ``file://`` path (inside the scanned tree) of dependency ``real`` of ``parent_abs``."""
    for d in _deps(meta):
        if d["name"] != real:
            continue
        repo = str(d.get("repository") or "")
        if repo.startswith("file://"):
            cand = os.path.normpath(os.path.join(parent_abs, repo[7:]))
            if os.path.isfile(os.path.join(cand, "Chart.yaml")) and _inside(cand, job.root):
                return (cand, _shown_of(cand, job))
    return None


def _tree_subchart(parent_abs: str, real: str, meta: dict, job: _ChartJob) -> tuple[str, str] | None:
    """A chart of the scanned tree named ``real`` whose version satisfies the parent's constraint."""
    for abs_dir, shown, cname, cmeta in job.all_charts:
        if cname == real and abs_dir != parent_abs:
            constraint = next((str(d.get("version") or "") for d in _deps(meta) if d["name"] == real), "")
            if isinstance(cmeta, dict) and version_matches(str(cmeta.get("version") or ""), constraint):
                return (abs_dir, shown)
    return None


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
