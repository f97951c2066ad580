"""Rendered output as targets: each document a ``k8s`` target on the template file and line that produced it.

The template file is read once per chart and profile and becomes a ``file``
target (its inline suppressions apply); lines and columns of the parsed objects
are moved onto the template (:func:`guidecheck.parsers.helm_template.align`), and
the origin carries a :class:`~guidecheck.loaders.helm.trace.ValuesTrace`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from guidecheck import suppress
from guidecheck.config import Config
from guidecheck.loaders import Loaded
from guidecheck.loaders.fs import ReadError, read_text
from guidecheck.loaders.helm.charts import _ChartJob
from guidecheck.loaders.helm.deps import _source_path, packed_subchart
from guidecheck.loaders.helm.options import CLI_PROFILE, HelmOptions
from guidecheck.loaders.helm.trace import ValuesTrace
from guidecheck.model import LoadError, SourceFile, file_target, k8s_target
from guidecheck.parsers import k8s
from guidecheck.parsers.helm_template import _map_line, _remap, _split_output, align
from guidecheck.parsers.yaml import Document, YMap, YSeq, line_of, load_yaml, without_crd_schemas


def _add_rendered(
    out: str,
    job: _ChartJob,
    copy_dir: str,
    profile: str,
    files: list[str],
    config: Config,
    opts: HelmOptions,
    loaded: Loaded,
    sources: dict[str, SourceFile | None],
    values_cache: dict,
) -> tuple[int, int, bool]:
    """Adds one profile's rendered objects to ``loaded``: (objects, workloads, whether it installs
    CustomResourceDefinitions and nothing else)."""
    spec = opts.charts.get(job.abspath, {})
    release = str(spec.get("release-name") or opts.release)
    namespace = spec.get("namespace") or opts.namespace or "default"
    chart_name = job.target.origin.get("chart_name")
    workload_kinds = set(config.settings.get("workload-kinds") or ())
    n_obj = n_work = n_crd = 0
    crds_dir = False  # a file of the chart's crds/ directory: CustomResourceDefinitions, by Helm's definition
    templates: dict[str, tuple[str, list[str], list[str]]] = {}
    for source, _first, text in _split_output(out):
        resolved = _source_path(source, job, chart_name or "")
        archive = None
        if resolved is None:
            # a packed subchart's template: reported on the archive (line 1), the only file of the tree it is in
            archive = packed_subchart(source, job)
            shown, abspath = archive or job.model.path + "/" + source, None
        else:
            shown, abspath = resolved
        if shown in sources and sources[shown] is None:
            crds_dir = True
            continue  # a crds/ file the directory walk already read as plain manifests
        if shown not in templates:
            templates[shown] = _read_template(abspath, job, config)
        ttext, tlines, align_lines = templates[shown]
        src = _template_source(shown, ttext, sources, config, loaded)
        docs = load_yaml(text, config.limits)
        # a large CRD's schema is not built (load_yaml), so it is not aligned either: blanked on both sides
        mapping = align(without_crd_schemas(text).split("\n"), align_lines) if any(tlines) else None
        member = None
        if archive:
            mapping = [(1, -(1 << 30))]  # every position: line 1, column 1 of the archive
            # its lines as `helm template --show-only` prints the template's output, the "# Source:" line left out
            header = next((i for i, ln in enumerate(text.split("\n"), 1) if ln.startswith("# Source:")), 0)
            member = (_member(source), header)
        for doc in docs:
            for obj in _objects(doc, src, mapping, profile, member):
                n_obj += 1
                n_crd += obj.get("kind") == "CustomResourceDefinition"
                if obj.get("kind") in workload_kinds or k8s.operator_workload(obj):
                    n_work += 1
                origin = {
                    "source": "helm",
                    "repo": job.scope,
                    "chart": job.model.path,
                    "chart_name": chart_name,
                    "template": shown,
                    "profile": profile,
                    "release": release,
                    "namespace": namespace,
                    "unit": f"{job.model.path} [{profile}]",  # a chart with one value profile
                    "unit_kind": "helm",
                }
                values_files = [_display_values(f, job) for f in files]
                origin["_values"] = ValuesTrace(
                    job,
                    shown,
                    tlines,
                    files,
                    values_files,
                    values_cache,
                    opts.cli_set if profile == CLI_PROFILE else [],
                )
                if files:
                    origin["values_files"] = values_files
                _add(obj, src, loaded, config, origin)
    return n_obj, n_work, n_obj == n_crd and (n_crd > 0 or crds_dir)


def _read_template(abspath: str | None, job: _ChartJob, config: Config) -> tuple[str, list[str], list[str]]:
    """The template file's text, its lines ('' when it is not in the scanned tree or cannot be read) and the
    lines its output is aligned with (large CRD schemas blanked)."""
    ttext = ""
    if abspath and os.path.isfile(abspath):
        try:
            ttext = read_text(abspath, config.max_file_bytes, root=job.root)
        except ReadError:
            ttext = ""
    lines = ttext.split("\n")
    slim = without_crd_schemas(ttext)
    return ttext, lines, slim.split("\n") if slim is not ttext else lines


def _template_source(
    shown: str, ttext: str, sources: dict[str, SourceFile | None], config: Config, loaded: Loaded
) -> SourceFile:
    """The template's source file (a ``file`` target, created once, with its inline suppressions)."""
    src = sources.get(shown)
    if src is None:
        src = SourceFile(shown, "yaml", read=True)
        if config.inline_suppressions and ttext:
            src.suppressions.extend(suppress.parse_comments(ttext, shown, "yaml"))
        sources[shown] = src
        loaded.targets.append(file_target(src))
    return src


# lines a parse error's message names ("duplicate key 'exec' at lines 80 and 88", "at line 33"): lines of the
# rendered document, which the finding reports as the template's
_LINES_IN_MESSAGE = re.compile(r"\b(at lines? )(\d+)(?:( and )(\d+))?")


def _message_lines(message: str, line: Callable[[int], int]) -> str:
    """``message`` with each line it names replaced by ``line(n)``."""

    def one(m: re.Match[str]) -> str:
        out = m.group(1) + str(line(int(m.group(2))))
        if m.group(4):
            out += m.group(3) + str(line(int(m.group(4))))
        return out

    return _LINES_IN_MESSAGE.sub(one, message)


def _member(source: str) -> str:
    """A packed subchart's template as its ``# Source:`` path names it, from the subchart's own directory on
    (``pulsar/templates/broker.yaml`` for ``milvus/charts/pulsar/templates/broker.yaml``)."""
    _head, sep, tail = source.rpartition("/charts/")
    return tail if sep else source


def _objects(
    doc: Document,
    src: SourceFile,
    mapping: list[tuple[int, int]] | None,
    profile: str,
    member: tuple[str, int] | None = None,
) -> list:
    """The Kubernetes objects of one rendered document (a ``List``'s items), their lines moved to the template;
    parse errors and a document that is no object are errors of the template file.

    ``member`` is the template inside a packed subchart and the lines its rendered text starts with (helm's
    ``# Source:`` comment): its findings are on the archive's line 1, so their message names the template and
    gives the lines of its rendered output."""
    where = f"rendered output [profile {profile}]"
    if member:
        where += f" of {member[0]} (in the archive; lines of its rendered output)"
    for e in doc.errors:
        message = e.message
        if member:
            message = _message_lines(message, lambda n: max(1, n - member[1]))
        elif mapping:
            message = _message_lines(message, lambda n: _map_line(mapping, n))
        err = LoadError(f"{where}: {message}", _map_line(mapping, e.line), 1, e.severity)
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
        line = _map_line(mapping, line_of(data, doc.line))
        err = LoadError(
            f"{where}: a document that is not a Kubernetes object (no apiVersion or kind): Helm cannot install it",
            line,
            1,
        )
        if err not in src.errors:
            src.errors.append(err)
    if mapping is not None and data is not None:
        _remap(data, mapping)
    return objs


def _add(obj: dict, src: SourceFile, loaded: Loaded, config: Config, origin: dict) -> None:
    errors = k8s.structure_errors(obj)
    for e in errors:
        if e not in src.errors:
            src.errors.append(e)
    if any(e.message.startswith(("apiVersion", "kind")) for e in errors):
        return
    line = line_of(obj)
    end = _last_line(obj, line)
    ann = k8s.annotations(obj)
    supp = suppress.from_annotations(ann, src.path, line, (line, end)) if config.inline_suppressions else []
    loaded.targets.append(
        k8s_target(obj, k8s.object_ref(obj), path=src.path, line=line, source=src, suppressions=supp, origin=origin)
    )


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
            for item in n._pos:
                best = max(best, item[0])
            stack.extend(v for v in n if isinstance(v, (YMap, YSeq)))
    return best


def _display_values(path: str, job: _ChartJob) -> str:
    rel = os.path.relpath(path, job.abspath).replace(os.sep, "/")
    if not rel.startswith(".."):
        return job.prefix + rel
    cwd = os.getcwd()
    return os.path.relpath(path, cwd).replace(os.sep, "/") if path.startswith(cwd + os.sep) else path
