"""Logs (GC503, GC504): the Fluent Bit pipeline parses logs as JSON, and ships them to Loki.

Both rules are one check, :func:`log_pipeline`, over the same evidence (every
Fluent Bit pipeline of the scope) with a different predicate, chosen by the
rule YAML's ``options: {pipeline-evidence: json | loki}``:

``json`` (GC503)  a kubernetes filter with Merge_Log On, or a parser filter or
                  input with a JSON parser; a pod template's
                  ``fluentbit.io/parser`` names a JSON parser; live: sampled
                  log lines are JSON (:func:`guidecheck.checks.live.logs_json`);
``loki`` (GC504)  an output whose plugin is a Loki output; a pod template's
                  ``fluentbit.io/exclude: "true"`` fails.

What is judged where (so that one gap is reported once): a pipeline read
from a file (classic or YAML format, chart values) is reported by the
repository target at that file; a pipeline in a ConfigMap by the ConfigMap
itself (this also works for objects read from a cluster).  A repository whose
scope holds no pipeline at all gets one finding on the repository.  Workloads
are judged only where they carry Fluent Bit annotations
(``fluentbit.io/exclude``, ``fluentbit.io/parser``).  A repository in which
nothing is deployed is not applicable (GC203 reports the missing chart).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from guidecheck import crossref
from guidecheck.checks import Context, NotApplicable, NotATarget
from guidecheck.checks.obs_scope import cluster_anchor, listing, pod_annotations, repo_scope_or_na, scope_name, short
from guidecheck.model import Hit, Target
from guidecheck.parsers import k8s
from guidecheck.parsers.fluentbit import (
    FLUENT_OPERATOR_KINDS,
    LOGGING_OPERATOR_KINDS,
    Pipeline,
    Section,
    is_logging_operator,
    pipeline_of_configmap,
    pipeline_of_fluent_operator,
    pipeline_of_logging_operator,
)
from guidecheck.parsers.yaml import line_of

_TRUE = ("on", "true", "yes", "1")


def _pipelines_in(target: Target, ctx: Context) -> list[Pipeline]:
    """Every Fluent Bit pipeline in the target's scope (files, values, ConfigMaps incl. cluster ones)."""
    out = [t.data for t in crossref.related_support(target, ctx, "fluentbit") if isinstance(t.data, Pipeline)]
    covered = ctx.cached(
        "obs.fluentbit-owners",
        lambda c: {id(t.data.owner) for t in c.of_kind("fluentbit") if isinstance(t.data, Pipeline) and t.data.owner},
    )
    for cm in crossref.related(target, ctx, kinds=("ConfigMap",)):
        if id(cm) not in covered:
            p = _lazy_configmap_pipeline(cm, ctx)
            if p is not None:
                out.append(p)
    if isinstance(target.data, dict) and target.data.get("kind") == "ConfigMap" and id(target) not in covered:
        own = _lazy_configmap_pipeline(target, ctx)
        if own is not None:
            out.append(own)
    operator = _operator_pipeline(target, ctx)
    if operator is not None:
        out.append(operator)
    logging_operator = _logging_operator_pipeline(target, ctx)
    if logging_operator is not None:
        out.append(logging_operator)
    return out


def _logging_operator_pipeline(target: Target, ctx: Context) -> Pipeline | None:
    """The pipeline the Logging operator's resources of the target's scope make up (one per view)."""
    memo = ctx.cached("obs.logging-operator", lambda c: {})
    key = crossref.view_key(target, ctx)
    if key not in memo:
        related = crossref.related(target, ctx, kinds=tuple(LOGGING_OPERATOR_KINDS))
        objs = [t for t in related if is_logging_operator(t.data)]
        if target.kind == "k8s" and is_logging_operator(target.data) and target not in objs:
            objs.append(target)
        memo[key] = pipeline_of_logging_operator(
            [(t.data, t.path, t.line, t) for t in sorted(objs, key=lambda t: t.key)]
        )
    return memo[key]


def _operator_pipeline(target: Target, ctx: Context) -> Pipeline | None:
    """The pipeline the Fluent Operator's resources of the target's scope make up (one per view)."""
    memo = ctx.cached("obs.fluent-operator", lambda c: {})
    key = crossref.view_key(target, ctx)
    if key not in memo:
        objs = crossref.related(target, ctx, kinds=tuple(FLUENT_OPERATOR_KINDS))
        if target.kind == "k8s" and isinstance(target.data, dict) and target.data.get("kind") in FLUENT_OPERATOR_KINDS:
            objs.append(target)
        memo[key] = pipeline_of_fluent_operator(
            [(t.data, t.path, t.line, t) for t in sorted(objs, key=lambda t: t.key)]
        )
    return memo[key]


def _lazy_configmap_pipeline(cm: Target, ctx: Context) -> Pipeline | None:
    return ctx.memoized(
        "obs.lazy-configmaps", id(cm), lambda: pipeline_of_configmap(cm.data, cm.path, cm.line, owner=cm)[0]
    )


def _configmap_pipeline(cm: Target, ctx: Context) -> Pipeline | None:
    owners = ctx.cached(
        "obs.fluentbit-by-owner",
        lambda c: {
            id(t.data.owner): t.data for t in c.of_kind("fluentbit") if isinstance(t.data, Pipeline) and t.data.owner
        },
    )
    if id(cm) in owners:
        return owners[id(cm)]
    return _lazy_configmap_pipeline(cm, ctx)


def _is_on(value: str | None) -> bool:
    return isinstance(value, str) and value.strip().lower() in _TRUE


def _json_parsers(pipes: list[Pipeline], ctx: Context) -> set[str]:
    envelope = {str(x).lower() for x in ctx.settings.get("fluent-bit-envelope-parsers") or ()}
    names = {str(x).lower() for x in ctx.settings.get("fluent-bit-json-parsers") or ()}
    for p in pipes:
        for s in p.of("PARSER"):
            name = (s.get("name") or "").strip().lower()
            if name and (s.get("format") or "").strip().lower() == "json":
                names.add(name)
    return names - envelope


def _parser_names(value: str) -> list[str]:
    return [x.strip().lower() for x in re.split(r"[\s,]+", value) if x.strip()]


def json_evidence(pipe: Pipeline, json_parsers: set[str]) -> Section | None:
    """The section that parses logs as JSON, if any."""
    for s in pipe.sections:
        if s.name == "FILTER" and s.plugin == "kubernetes" and _is_on(s.get("merge_log")):
            return s
        if s.name in ("FILTER", "INPUT"):
            for p in s.props:
                if p.key == "parser" and any(n in json_parsers for n in _parser_names(p.value)):
                    return s
        # inputs that decode JSON payloads themselves: kafka, mqtt, http and tcp take `format json`
        if s.name == "INPUT" and (s.get("format") or "").strip().lower() == "json":
            return s
    return None


def loki_outputs(pipe: Pipeline, ctx: Context) -> list[Section]:
    names = {str(x).lower() for x in ctx.settings.get("fluent-bit-loki-outputs") or ()}
    return [s for s in pipe.of("OUTPUT") if s.plugin in names]


def _forwards(pipe: Pipeline) -> bool:
    return any(s.plugin == "forward" for s in pipe.of("OUTPUT"))


def _aggregators(pipes: list[Pipeline]) -> list[Pipeline]:
    return [p for p in pipes if any(s.plugin == "forward" for s in p.of("INPUT"))]


def _unresolved_outputs(pipe: Pipeline) -> list[str]:
    return [s.get("name") or "" for s in pipe.of("OUTPUT") if "${" in (s.get("name") or "")]


def _json_gap(pipe: Pipeline, pipes: list[Pipeline], ctx: Context) -> Hit | None:
    """GC503 on one pipeline: a Hit at the place to fix, or None."""
    parsers = _json_parsers(pipes, ctx)
    if json_evidence(pipe, parsers) is not None:
        return None
    inputs = pipe.of("INPUT")
    if inputs and all(s.plugin == "forward" for s in inputs):
        return None  # an aggregator receives records the agents already structured
    if _forwards(pipe) and any(json_evidence(a, parsers) for a in _aggregators(pipes) if a is not pipe):
        return None
    kube = [s for s in pipe.of("FILTER") if s.plugin == "kubernetes"]
    at: Section | None
    if kube:
        at = kube[0]
        msg = (
            f"{pipe.label}: the kubernetes filter does not merge JSON logs (Merge_Log On), and no parser "
            "filter or input applies a JSON parser"
        )
    else:
        inputs = pipe.of("INPUT")
        at = inputs[0] if inputs else None
        msg = (
            f"{pipe.label} does not parse logs as JSON: no kubernetes filter with Merge_Log On, no parser "
            "filter or input with a JSON parser"
        )
    if pipe.notes:
        msg += f"; not followed: {listing(pipe.notes, 2)}"
    return Hit(msg, line=at.line if at else pipe.line, path=at.path if at else pipe.path)


def _loki_gap(pipe: Pipeline, pipes: list[Pipeline], ctx: Context) -> Hit | None:
    """GC504 on one pipeline: a Hit at the place to fix, or None."""
    if loki_outputs(pipe, ctx):
        return None
    if _forwards(pipe) and any(loki_outputs(a, ctx) for a in _aggregators(pipes) if a is not pipe):
        return None  # an agent forwarding to an aggregator that ships to Loki
    outputs = pipe.of("OUTPUT")
    names = sorted({s.plugin or "?" for s in outputs})
    wanted = "/".join(str(x) for x in ctx.settings.get("fluent-bit-loki-outputs") or ())
    if outputs:
        msg = f"{pipe.label} has no {wanted} output (outputs: {', '.join(names)})"
        at = outputs[0]
    else:
        msg = f"{pipe.label} has no [OUTPUT] section: logs are not shipped to Loki"
        at = None
    unresolved = _unresolved_outputs(pipe)
    if unresolved:
        msg += f"; output {', '.join(unresolved)} is set at run time"
    if pipe.notes:
        msg += f"; not followed: {listing(pipe.notes, 2)}"
    return Hit(msg, line=at.line if at else pipe.line, path=at.path if at else pipe.path)


def _json_annotations(target: Target, obj: dict, ctx: Context) -> Iterator[Hit]:
    """GC503 on a workload: each ``fluentbit.io/parser*`` annotation names a JSON parser."""
    ann = pod_annotations(obj)
    keys = sorted(k for k in ann if isinstance(k, str) and k.startswith("fluentbit.io/parser"))
    if not keys:
        raise NotATarget("no Fluent Bit annotation")
    parsers = _json_parsers(_pipelines_in(target, ctx), ctx)
    for key in keys:
        names = _parser_names(str(ann.get(key)))
        if not any(n in parsers for n in names):
            yield Hit(
                f"the pod template's {key}: {short(str(ann.get(key)), 40)} is not a JSON parser "
                f"(JSON parsers: {', '.join(sorted(parsers)) or 'none'})",
                line=_ann_line(obj, key),
            )


def _loki_annotations(target: Target, obj: dict, ctx: Context) -> Iterator[Hit]:
    """GC504 on a workload: ``fluentbit.io/exclude: "true"`` opts its logs out of collection."""
    value = pod_annotations(obj).get("fluentbit.io/exclude")
    if value is None:
        raise NotATarget("no Fluent Bit annotation")
    if _is_on(str(value)):
        yield Hit(
            'the pod template has fluentbit.io/exclude: "true": Fluent Bit (K8S-Logging.Exclude) does '
            "not ship this workload's logs to Loki",
            line=_ann_line(obj, "fluentbit.io/exclude"),
        )


def _json_live(target: Target, ctx: Context) -> Iterator[Hit]:
    from guidecheck.checks import live as _live  # written with the live audit; imported only here

    yield from _live.logs_json(target, ctx)


def _loki_live(target: Target, ctx: Context) -> Iterator[Hit]:
    raise NotATarget("judged from the pipeline configuration (ConfigMaps) read from the cluster")


@dataclass(frozen=True)
class _Evidence:
    """What a pipeline must show, as one rule's option selects it."""

    shows: str  # "logs are parsed as JSON": what the evidence shows, for findings about a missing pipeline
    gap: Callable[[Pipeline, list[Pipeline], Context], Hit | None]
    annotations: Callable[[Target, dict, Context], Iterator[Hit]]
    live: Callable[[Target, Context], Iterator[Hit]]


_EVIDENCE = {
    "json": _Evidence("logs are parsed as JSON", _json_gap, _json_annotations, _json_live),
    "loki": _Evidence("logs are shipped to Loki", _loki_gap, _loki_annotations, _loki_live),
}


def log_pipeline(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC503 (``pipeline-evidence: json``) and GC504 (``pipeline-evidence: loki``) over the scope's pipelines."""
    option = ctx.options.get("pipeline-evidence")
    ev = _EVIDENCE.get(option) if isinstance(option, str) else None
    if ev is None:
        raise ValueError(f"options.pipeline-evidence must be one of {', '.join(_EVIDENCE)}, not {option!r}")
    if target.kind == "live":
        yield from ev.live(target, ctx)
        return
    if target.kind == "repo":
        yield from _repo_pipelines(ev, target, ctx)
        return
    obj = target.data
    if not isinstance(obj, dict):
        raise NotATarget("not an object")
    kind = obj.get("kind")
    if kind == "ConfigMap":
        own = _configmap_pipeline(target, ctx)
        if own is None or not own.is_pipeline:
            raise NotATarget("no Fluent Bit pipeline")
    elif kind in (ctx.settings.get("workload-kinds") or ()):
        yield from _workload(ev, target, obj, ctx)
        return
    elif is_logging_operator(obj):
        own = _logging_operator_pipeline(target, ctx)
        if own is None or own.owner is not target or not own.is_pipeline:
            raise NotATarget("judged with the scope's Logging operator resources")
    elif kind in FLUENT_OPERATOR_KINDS:
        own = _operator_pipeline(target, ctx)
        if own is None or own.owner is not target or not own.is_pipeline:
            raise NotATarget("judged with the scope's Fluent Operator resources")
    else:
        raise NotATarget("not a Fluent Bit pipeline")
    hit = _pipeline_gap(own, _pipelines_in(target, ctx), ev, ctx)
    if hit is not None:
        yield hit


def _pipeline_gap(pipe: Pipeline, pipes: list[Pipeline], ev: _Evidence, ctx: Context) -> Hit | None:
    """GC503/GC504 on one pipeline: a Hit at the place to fix, or None."""
    if not pipe.is_pipeline:
        return None
    return ev.gap(pipe, pipes, ctx)


def _repo_pipelines(ev: _Evidence, target: Target, ctx: Context) -> Iterator[Hit]:
    """The repository's pipelines read from files and chart values (a ConfigMap's is judged on the ConfigMap)."""
    pipes = _pipelines_in(target, ctx)
    real = [p for p in pipes if p.is_pipeline]
    if not real:
        repo_scope_or_na(target, ctx)
        yield Hit(
            f"no Fluent Bit pipeline found (classic or YAML configuration file, ConfigMap, or "
            f"fluent-bit chart values), so nothing shows that {ev.shows}"
        )
        return
    # chart values whose chart was rendered in this scan: the rendered ConfigMap is judged instead
    rendered = {
        str((p.owner.origin or {}).get("chart", "")).rstrip("/")
        for p in real
        if p.owner is not None and (p.owner.origin or {}).get("source") == "helm"
    }
    for p in real:
        if p.owner is not None:
            continue  # a ConfigMap's pipeline is judged on the ConfigMap
        if p.values_of is not None and p.values_of in rendered:
            continue
        hit = _pipeline_gap(p, pipes, ev, ctx)
        if hit is not None:
            yield hit


def _workload(ev: _Evidence, target: Target, obj: dict, ctx: Context) -> Iterator[Hit]:
    """A workload: its Fluent Bit annotations; in a cluster scope without a pipeline, the one finding about that."""
    if cluster_anchor(target, ctx) and not any(p.is_pipeline for p in _pipelines_in(target, ctx)):
        yield Hit(
            f"no Fluent Bit pipeline found in {scope_name(target)} (no ConfigMap holding a Fluent Bit "
            f"configuration, no Fluent Operator resources), so nothing shows that {ev.shows}; reported "
            f"once, on the first workload"
        )
        try:
            yield from ev.annotations(target, obj, ctx)
        except NotApplicable:
            pass
        return
    yield from ev.annotations(target, obj, ctx)


def _ann_line(obj: dict, key: str) -> int:
    if obj.get("kind") == "Pod":
        node = k8s.get(obj, "metadata", "annotations")
    else:
        kind = obj.get("kind")
        path = k8s.POD_SPEC_PATHS.get(kind, ("spec",)) if isinstance(kind, str) else ("spec",)
        node = k8s.get(obj, *path[:-1], "metadata", "annotations")
    return k8s.line(node, key, line_of(obj))


__all__ = ["json_evidence", "log_pipeline", "loki_outputs"]
