"""Live-only rules: what ``guidecheck audit`` read (GC004) and what its opt-in probes saw (GC502, GC503).

The audit (:mod:`guidecheck.cluster.audit`) does the I/O before the engine
runs and hands the results over as ``live`` targets; these checks only judge
them.  ``target.data["probe"]`` says what a live target is:

* ``coverage``: one resource kind (and namespace) the audit tried to read;
  ``error`` is set when it could not (RBAC, a missing API, the timeout);
* ``metrics``: a GET of ``:<metrics-port><metrics-path>`` through the API
  server's pod proxy, parsed with prometheus-client's text parser;
* ``logs``: the tail of one container's log, counted line by line as JSON
  objects or not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from guidecheck.checks import Context, NotApplicable
from guidecheck.checks import settings as settings_of
from guidecheck.model import Hit, Target


def _probe(target: Target, kind: str) -> dict[str, Any]:
    data = target.data
    if target.kind != "live" or not isinstance(data, dict) or data.get("probe") != kind:
        what = data.get("probe") if isinstance(data, dict) else None
        raise NotApplicable(f"not a {kind} record ({what or target.kind})")
    return data


def _where(data: dict) -> str:
    if isinstance(data.get("where"), str):  # a record that is not about a namespace (an image's registry)
        return data["where"]
    ns = data.get("namespace")
    if ns == "*":
        return "in all namespaces"
    if isinstance(ns, str) and ns:
        return f"in namespace '{ns}'"
    return "at cluster scope"


def coverage_gaps(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC004: a resource kind (in a namespace) that the audit could not read."""
    data = _probe(target, "coverage")
    error = data.get("error")
    if not error:
        return
    kind = data.get("kind") or "?"
    resource = data.get("resource") or "?"
    what = f"{kind} ({resource})" if resource != kind else str(kind)
    yield Hit(
        f"{what} could not be read {_where(data)}: {error}; the rules on {kind} objects did not run there, "
        "so this audit's coverage is incomplete",
        extra={"resource": resource, "kind": kind, "namespace": data.get("namespace"), "status": data.get("status")},
    )


def metrics_endpoint(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC502: the metrics probe got valid Prometheus text exposition with at least one metric."""
    data = _probe(target, "metrics")
    pod = f"{data.get('namespace')}/{data.get('pod')}"
    where = f":{data.get('port')}{data.get('path')} of pod {pod}"
    status = data.get("status")
    if data.get("error") and status != 200:
        yield Hit(f"{where} did not answer through the API server proxy: {data['error']}")
        return
    if data.get("error"):
        yield Hit(f"{where} answered, but {data['error']}")
        return
    if not data.get("families"):
        yield Hit(f"{where} answered with no metrics at all ({data.get('bytes', 0)} bytes)")


def logs_json(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC503 (live): most sampled recent log lines of a container are JSON objects.

    The share required is ``settings.live-logs-min-json-ratio`` (default 0.5: a
    container fails when most of its sampled lines are not JSON objects).
    """
    data = _probe(target, "logs")
    where = f"container '{data.get('container')}' of pod {data.get('namespace')}/{data.get('pod')}"
    if data.get("error"):
        raise NotApplicable(f"the log of {where} could not be read: {data['error']}")
    total = data.get("lines")
    js = data.get("json")
    if not isinstance(total, int) or total <= 0 or not isinstance(js, int):
        raise NotApplicable(f"{where} logged nothing recently")
    ratio = ctx.settings["live-logs-min-json-ratio"]
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool):  # wrong type (settings built in code)
        ratio = settings_of.default("live-logs-min-json-ratio")
    if js / total >= ratio:
        return
    example = data.get("example")
    tail = f"; e.g. '{example}'" if isinstance(example, str) and example else ""
    yield Hit(
        f"{where}: {total - js} of {total} recent log lines are not JSON objects (at least {ratio:.0%} must be){tail}",
        container=str(data.get("container") or "") or None,
    )


__all__ = ["coverage_gaps", "logs_json", "metrics_endpoint"]
