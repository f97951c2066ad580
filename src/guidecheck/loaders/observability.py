"""The observability loader: Fluent Bit pipelines and alert rules as support targets (guideline 5, 9.c).

Two support target kinds are added to a scan (no rule targets them; checks read
them through :func:`guidecheck.crossref.related_support`):

``fluentbit``  one per Fluent Bit *pipeline*: a main configuration file with
               the files it ``@INCLUDE``\\ s, one ConfigMap (all its data keys
               together, as they are mounted in one directory), or the
               ``config:`` block of fluent/fluent-bit chart values;
``alerts``     one per file or ConfigMap holding alerting or recording rules:
               Prometheus rule files (``groups:``), rule groups embedded in
               chart values, Grafana alert provisioning (``apiVersion: 1``,
               ``groups[].rules[].data[].model``), Grafana dashboard JSON
               (legacy panel ``alert`` with threshold conditions).
               PrometheusRule objects are read from the ``k8s`` targets
               themselves (see :func:`guidecheck.parsers.alerts.alert_rules_of_object`).

This module only finds the documents and makes the targets; the parsing is
:mod:`guidecheck.parsers.fluentbit` and :mod:`guidecheck.parsers.alerts`
(also used by the checks on objects read from a cluster, which do not go
through this loader).  ``@INCLUDE`` and ``Parsers_File`` are followed inside
the scanned directory only; an absolute path (the path inside the container,
e.g. ``/fluent-bit/etc/parsers.conf``) is looked up by its file name next to
the including file (or among the ConfigMap's keys).  YAML and JSON documents
come from the core loader (``loaded.others``): nothing is read twice.  Only
``*.conf`` files are read here; one is a Fluent Bit file when it has a
``[INPUT]``, ``[OUTPUT]``, ``[FILTER]``, ``[PARSER]`` or
``[MULTILINE_PARSER]`` section.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from typing import TYPE_CHECKING, Any

from guidecheck.model import LoadError, ObjectRef, SourceFile, Target, file_target
from guidecheck.parsers import k8s
from guidecheck.parsers.yaml import Limits

if TYPE_CHECKING:
    from guidecheck.parsers.fluentbit import Pipeline


def _support_target(kind: str, path: str, line: int, ref: ObjectRef, data: Any, origin: dict) -> Target:
    return Target(kind=kind, path=path, line=line, ref=ref, data=data, origin=dict(origin))


def extend(loaded, config, options: dict) -> None:
    """Add ``fluentbit`` and ``alerts`` support targets for every scanned repository."""
    limits = config.limits
    # Fluent Bit classic files (*.conf), per repository
    for repo in loaded.repos:
        _classic_pipelines(loaded, repo, config.max_file_bytes)
    # YAML/JSON documents: Fluent Bit YAML format, chart values, rule files, provisioning, dashboards.
    others = {d.path: d for d in loaded.others}
    yaml_included = _yaml_included(others)
    for path, d in others.items():
        scope = _scope_of(path, loaded)
        for doc in d.docs:
            _document_targets(loaded, path, doc, others, yaml_included, scope, limits)
    _named_files(loaded, config.max_file_bytes)
    _configmap_targets(loaded, limits)


class _RepoFiles:
    """A repository's files read for Fluent Bit: each read once, with the source GC001 reports its errors on."""

    def __init__(self, loaded, repo, max_bytes: int) -> None:
        self.loaded = loaded
        self.prefix: str = repo.prefix
        self.root: str = repo.walk.root
        self.inventory: set[str] = set(repo.walk.inventory)
        self.max_bytes = max_bytes
        self.texts: dict[str, str] = {}
        self.src_of: dict[str, SourceFile] = {}

    def read(self, rel: str, report: bool = True) -> str | None:
        from guidecheck.loaders.fs import ReadError, read_text

        if rel in self.texts:
            return self.texts[rel]
        src = SourceFile(self.prefix + rel, "fluentbit")
        try:
            text = read_text(os.path.join(self.root, *rel.split("/")), self.max_bytes, root=self.root)
        except ReadError as exc:
            if report and rel not in self.src_of:  # a file named like Fluent Bit's or included by one
                src.errors.append(exc.error)
                self.loaded.targets.append(file_target(src))
                self.src_of[rel] = src
            return None
        src.read = True
        self.texts[rel] = text
        self.src_of[rel] = src
        return text

    def resolve(self, ref: str, from_display: str) -> list[tuple]:
        """The include resolver (:data:`guidecheck.parsers.fluentbit.Resolver`) inside the repository."""
        return _resolve_in_repo(ref, from_display[len(self.prefix) :], self.inventory, self.read, self.prefix)


def _classic_pipelines(loaded, repo, max_bytes: int) -> None:
    """One ``fluentbit`` target per main classic file (one nobody includes), and the files' GC001 sources."""
    from guidecheck.parsers.fluentbit import include_refs

    files = _RepoFiles(loaded, repo, max_bytes)
    prefix = files.prefix
    candidates = _classic_candidates(files, repo)
    included: set[str] = set()
    for rel in candidates:
        for ref in include_refs(files.texts[rel]):
            for res in files.resolve(ref, prefix + rel):
                if res[0] == "ok":
                    included.add(res[1][len(prefix) :])
    for rel in candidates:
        if rel not in included:
            loaded.targets.append(_classic_target(files, rel))
    for rel, src in files.src_of.items():
        if rel in files.texts and (rel in candidates or rel in included):
            loaded.targets.append(file_target(src))


def _classic_candidates(files: _RepoFiles, repo) -> list[str]:
    """The repository's ``*.conf`` files that are Fluent Bit's (others are forgotten once read)."""
    from guidecheck.parsers.fluentbit import has_section, include_refs, looks_classic, looks_fluentd

    candidates = []
    for rel in [p for p in repo.walk.inventory if p.lower().endswith(".conf")]:
        name = posixpath.basename(rel).lower()
        fluent_named = "fluent" in rel.lower()
        text = files.read(rel, report=fluent_named) if (fluent_named or _small(files.root, rel)) else None
        if (
            text is not None
            and not looks_fluentd(text)
            and (looks_classic(text) or fluent_named and (has_section(text) or include_refs(text)))
        ):
            candidates.append(rel)
        elif text is not None and "fluent" not in name:
            files.texts.pop(rel, None)  # not ours: an nginx.conf, a supervisord.conf ...
            files.src_of.pop(rel, None)
    return candidates


def _classic_target(files: _RepoFiles, rel: str) -> Target:
    from guidecheck.parsers.fluentbit import Pipeline, parse_classic

    prefix = files.prefix
    pipe = Pipeline("the Fluent Bit pipeline", prefix + rel, 1)
    errors: list[tuple[str, LoadError]] = []
    parse_classic(files.texts[rel], prefix + rel, 1, pipe, errors, files.resolve)
    _parsers_files(pipe, rel, prefix, files.inventory, files.read)
    for p, e in errors:
        src = files.src_of.get(p[len(prefix) :])
        if src is not None:
            src.errors.append(e)
    first = next((s for s in pipe.sections if s.name in ("INPUT", "OUTPUT", "SERVICE")), None)
    pipe.line = first.line if first is not None and first.path == pipe.path else 1
    return _support_target(
        "fluentbit",
        pipe.path,
        pipe.line,
        ObjectRef("FluentBitConfig", None, pipe.path),
        pipe,
        {"source": "file", "repo": prefix},
    )


def _yaml_included(others: dict) -> set[str]:
    """YAML-format files another one includes: part of that pipeline, not pipelines of their own."""
    yaml_included: set[str] = set()
    if not others:
        return yaml_included
    from guidecheck.parsers.fluentbit import looks_yaml_format

    for path, d in others.items():
        for doc in d.docs:
            if looks_yaml_format(doc.data) or (isinstance(doc.data, dict) and "includes" in doc.data):
                for ref in k8s.as_list(doc.data.get("includes")):
                    for res in _yaml_includer(path, others, set())(ref, path) if isinstance(ref, str) else ():
                        if res[0] == "ok" and res[1] != path:
                            yaml_included.add(res[1])
    return yaml_included


def _document_targets(
    loaded, path: str, doc, others: dict, yaml_included: set[str], scope: str, limits: Limits
) -> None:
    """The targets one YAML/JSON document makes: a YAML-format pipeline, chart values' pipeline, alert rules."""
    from guidecheck.parsers.alerts import AlertSource, rules_of_data
    from guidecheck.parsers.fluentbit import (
        Pipeline,
        chart_values_config,
        looks_yaml_format,
        pipeline_from_map,
        read_yaml_format,
    )

    data = doc.data
    if looks_yaml_format(data) or (
        isinstance(data, dict)
        and isinstance(data.get("includes"), list)
        and isinstance(data.get("pipeline", data.get("service")), dict)
    ):
        if path in yaml_included:
            return
        pipe = Pipeline("the Fluent Bit pipeline", path, doc.line)
        errors: list[tuple[str, LoadError]] = []
        read_yaml_format(data, path, pipe, errors, _yaml_includer(path, others, set()))
        for _, e in errors:
            _source_errors(loaded, path).append(e)
        loaded.targets.append(
            _support_target(
                "fluentbit",
                path,
                doc.line,
                ObjectRef("FluentBitConfig", None, path),
                pipe,
                {"source": "file", "repo": scope},
            )
        )
        return
    vals = chart_values_config(data)
    if vals is not None:
        files, line = vals
        errors = []
        values_pipe = pipeline_from_map(
            files, f"Fluent Bit chart values {path}", path, line, errors, limits, main_hint=("fluent-bit.conf",)
        )
        for _, e in errors:
            _source_errors(loaded, path).append(e)
        if values_pipe is not None and values_pipe.sections:
            values_pipe.values_of = posixpath.dirname(path) or "."
            loaded.targets.append(
                _support_target(
                    "fluentbit",
                    path,
                    line,
                    ObjectRef("FluentBitConfig", None, path),
                    values_pipe,
                    {"source": "values", "repo": scope},
                )
            )
    rules = rules_of_data(data, path)
    if rules:
        loaded.targets.append(
            _support_target(
                "alerts",
                path,
                doc.line,
                ObjectRef("AlertRules", None, path),
                AlertSource(path, path, doc.line, rules),
                {"source": "file", "repo": scope},
            )
        )


def _named_files(loaded, max_bytes: int) -> None:
    """Fluent Bit files named one by one (pre-commit): their syntax, as GC001 (includes are not followed)."""
    from guidecheck.loaders.fs import ReadError, read_text

    for abspath, display, kind in loaded.files:
        name = posixpath.basename(display).lower()
        if kind is not None or not name.endswith(".conf") or "fluent" not in name:
            continue
        from guidecheck.parsers.fluentbit import Pipeline, looks_fluentd, parse_classic

        src = SourceFile(display, "fluentbit")
        loaded.targets.append(file_target(src))
        try:
            text = read_text(abspath, max_bytes, root=os.path.dirname(abspath))
        except ReadError as exc:
            src.errors.append(exc.error)
            continue
        src.read = True
        if looks_fluentd(text):
            continue
        errors: list[tuple[str, LoadError]] = []
        parse_classic(text, display, 1, Pipeline("the Fluent Bit pipeline", display, 1), errors, None)
        src.errors.extend(e for _, e in errors)


def _configmap_targets(loaded, limits: Limits) -> None:
    """ConfigMaps (and rule objects) of plain manifests: parsed once here, errors go to GC001 of their file."""
    seen_configmaps: set[int] = set()
    for t in list(loaded.targets):
        if t.kind != "k8s" or not isinstance(t.data, dict) or t.data.get("kind") != "ConfigMap":
            continue
        if id(t) in seen_configmaps:
            continue
        seen_configmaps.add(id(t))
        # imported for the first ConfigMap (a pre-commit run on a Dockerfile and a Deployment has none)
        from guidecheck.parsers.alerts import alert_rules_of_object
        from guidecheck.parsers.fluentbit import pipeline_of_configmap

        pipe, errs = pipeline_of_configmap(t.data, t.path, t.line, limits, owner=t)
        if pipe is not None:
            if t.source is not None:
                t.source.errors.extend(errs)
            loaded.targets.append(_support_target("fluentbit", t.path, t.line, t.ref, pipe, t.origin))
        src = alert_rules_of_object(t.data, t.path, t.line, limits, owner=t)
        if src is not None:
            loaded.targets.append(_support_target("alerts", t.path, t.line, t.ref, src, t.origin))


def _small(root: str, rel: str, limit: int = 256 * 1024) -> bool:
    try:
        st = os.lstat(os.path.join(root, *rel.split("/")))
    except OSError:
        return False
    return st.st_size <= limit


def _scope_of(path: str, loaded) -> str:
    best = ""
    for repo in loaded.repos:
        if path.startswith(repo.prefix) and len(repo.prefix) >= len(best):
            best = repo.prefix
    return best


def _source_errors(loaded, path: str) -> list[LoadError]:
    for t in loaded.targets:
        if t.kind == "file" and t.path == path and t.source is not None:
            return t.source.errors
    return []


def _resolve_in_repo(ref: str, from_rel: str, inventory: set[str], read, prefix: str) -> list[tuple]:
    """Resolve an @INCLUDE/Parsers_File reference inside the repository (globs allowed)."""
    base_dir = posixpath.dirname(from_rel)
    if ref.startswith("/"):
        # the path inside the container: look for the file name next to the including file
        cand = posixpath.join(base_dir, posixpath.basename(ref)) if base_dir else posixpath.basename(ref)
        pattern, absolute = cand, True
    else:
        pattern, absolute = posixpath.normpath(posixpath.join(base_dir, ref)), False
        if pattern == ".." or pattern.startswith("../"):
            return [("outside", "points outside the scanned directory: not followed")]
    if any(c in pattern for c in "*?["):
        pdir = posixpath.dirname(pattern)
        names = sorted(
            p for p in inventory if posixpath.dirname(p) == pdir and fnmatch.fnmatchcase(p, pattern) and p != from_rel
        )
        if not names:
            return [] if not absolute else [("absolute", "no matching file in the repository")]
    else:
        names = [pattern] if pattern in inventory else []
        if not names:
            if absolute:
                return [("absolute", "a path inside the container, not in the repository")]
            return [("missing", f"{prefix}{pattern} does not exist")]
    out = []
    for n in names:
        text = read(n)
        if text is None:
            continue  # the read error is GC001's
        out.append(("ok", prefix + n, text, 1))
    return out


def _parsers_files(pipe: Pipeline, rel: str, prefix: str, inventory: set[str], read) -> None:
    from guidecheck.parsers.fluentbit import parse_classic

    for svc in pipe.of("SERVICE"):
        for p in list(svc.props):
            if p.key != "parsers_file":
                continue
            for res in _resolve_in_repo(
                p.value, p.path[len(prefix) :] if p.path.startswith(prefix) else rel, inventory, read, prefix
            ):
                if res[0] == "ok" and res[1] not in pipe.files:
                    parse_classic(res[2], res[1], 1, pipe, [], None)


def _yaml_includer(path: str, others: dict, seen: set[str]):
    def include(ref: str, from_path: str) -> list[tuple]:
        if ref.startswith("/"):
            return [("absolute", "a path inside the container, not in the repository")]
        target = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), ref))
        if target.startswith("../") or target == "..":
            return [("outside", "points outside the scanned directory: not followed")]
        d = others.get(target)
        if d is None:
            return [("missing", f"{target} is not a YAML file of the scan")]
        seen.add(target)
        return [("ok", target, doc.data, doc.line) for doc in d.docs]

    return include


__all__ = ["extend"]
