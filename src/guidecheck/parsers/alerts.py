"""Alerting and recording rules: the model and its extraction from parsed documents.

Pure: parsed YAML/JSON (or a Kubernetes object dict) in, :class:`AlertRule`\\ s
out; no file system, no targets.  Read are Prometheus rule groups
(``groups[].rules[]`` with ``alert``/``record`` and ``expr``: rule files,
PrometheusRule/VMRule objects, groups embedded in chart values), Grafana
alert provisioning (``apiVersion: 1``, ``groups[].rules[].data[].model``) and
Grafana dashboard JSON (legacy panel ``alert`` with threshold conditions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from guidecheck.parsers import k8s
from guidecheck.parsers.fluentbit import block_start
from guidecheck.parsers.k8s import KObject
from guidecheck.parsers.yaml import Limits, key_line, load_json, load_yaml, text_line


@dataclass
class AlertRule:
    kind: str  # "alert" | "record"
    name: str
    exprs: list[str]  # PromQL (or other query) text the rule is computed from
    path: str
    line: int
    threshold: bool  # compares against a threshold (alerts); False for recording rules
    labels: dict[str, str] = field(default_factory=dict)
    source: str = ""  # "PrometheusRule", "rule file", "Grafana alert", "dashboard alert"


@dataclass
class AlertSource:
    label: str
    path: str
    line: int
    rules: list[AlertRule] = field(default_factory=list)
    owner: Any = None  # what the caller read it from (the loader and checks: the object's Target)


def _strip_promql(expr: str) -> str:
    """PromQL without strings, label matchers and range/offset brackets (what is left may compare)."""
    out = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    prev = None
    while prev != out:
        prev = out
        out = re.sub(r"\{[^{}]*\}", "", out)
    return re.sub(r"\[[^\[\]]*\]", "", out)


_COMPARISON = re.compile(r"(==|!=|>=|<=|>|<)")


MAX_EXPR = 20_000  # characters of a query that are analysed (a longer query is cut there)


def has_comparison(expr: str) -> bool:
    """Whether a PromQL expression compares against something (``> 0.5``, ``== 0``, ``< bool 1``)."""
    return bool(_COMPARISON.search(_strip_promql(expr[:MAX_EXPR])))


def _str_labels(node: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in k8s.as_map(node).items() if isinstance(v, (str, int, float))}


def rules_from_groups(groups: Any, path: str, source: str) -> list[AlertRule]:
    """Prometheus rule groups (``groups[].rules[]`` with ``alert``/``record`` and ``expr``)."""
    out = []
    for g in k8s.as_list(groups):
        for r in k8s.as_list(k8s.as_map(g).get("rules")):
            if not isinstance(r, dict):
                continue
            expr = r.get("expr")
            if isinstance(expr, (int, float)) and not isinstance(expr, bool):
                expr = str(expr)
            if not isinstance(expr, str):
                continue
            if isinstance(r.get("alert"), str):
                out.append(
                    AlertRule(
                        "alert",
                        r["alert"],
                        [expr],
                        path,
                        k8s.line(r, "alert"),
                        has_comparison(expr),
                        _str_labels(r.get("labels")),
                        source,
                    )
                )
            elif isinstance(r.get("record"), str):
                out.append(
                    AlertRule(
                        "record",
                        r["record"],
                        [expr],
                        path,
                        k8s.line(r, "record"),
                        False,
                        _str_labels(r.get("labels")),
                        source,
                    )
                )
    return out


def _is_rule_groups(node: Any) -> bool:
    if not isinstance(node, list) or not node:
        return False
    for g in node:
        rules = k8s.as_map(g).get("rules")
        if isinstance(rules, list) and any(
            isinstance(r, dict) and "expr" in r and ("alert" in r or "record" in r) for r in rules
        ):
            return True
    return False


def _is_grafana_groups(node: Any) -> bool:
    for g in k8s.as_list(node):
        for r in k8s.as_list(k8s.as_map(g).get("rules")):
            if isinstance(r, dict) and isinstance(r.get("data"), list):
                return True
    return False


_GRAFANA_OPS = {
    "gt": ">",
    "lt": "<",
    "outside_range": "outside",
    "within_range": "within",
    "eq": "==",
    "ne": "!=",
    "gte": ">=",
    "lte": "<=",
}


def _evaluator_threshold(ev: Any) -> bool:
    ev = k8s.as_map(ev)
    params = [p for p in k8s.as_list(ev.get("params")) if isinstance(p, (int, float)) and not isinstance(p, bool)]
    return ev.get("type") in _GRAFANA_OPS and bool(params)


def rules_from_grafana(groups: Any, path: str) -> list[AlertRule]:
    """Grafana alert provisioning (``apiVersion: 1``): ``groups[].rules[]`` with ``title`` and ``data[]``."""
    out = []
    for g in k8s.as_list(groups):
        for r in k8s.as_list(k8s.as_map(g).get("rules")):
            if not isinstance(r, dict):
                continue
            exprs, threshold = [], False
            for d in k8s.as_list(r.get("data")):
                model = k8s.as_map(k8s.as_map(d).get("model"))
                for key in ("expr", "query", "expression"):
                    v = model.get(key)
                    if isinstance(v, str) and v.strip():
                        if model.get("type") == "math" and has_comparison(v):
                            threshold = True
                        elif model.get("type") not in ("math", "reduce", "resample", "threshold", "classic_conditions"):
                            exprs.append(v)
                            if has_comparison(v):
                                threshold = True
                mtype = model.get("type")
                if mtype in ("threshold", "classic_conditions"):
                    for c in k8s.as_list(model.get("conditions")):
                        if _evaluator_threshold(k8s.as_map(c).get("evaluator")):
                            threshold = True
            title = r.get("title")
            if not isinstance(title, str):
                title = str(r.get("uid") or "?")
            out.append(
                AlertRule(
                    "alert",
                    title,
                    exprs,
                    path,
                    key_line(r, "title"),
                    threshold,
                    _str_labels(r.get("labels")),
                    "Grafana alert",
                )
            )
    return out


def _panels(dashboard: KObject) -> Iterator[KObject]:
    stack = [k8s.as_list(dashboard.get("panels"))]
    for row in k8s.as_list(dashboard.get("rows")):
        stack.append(k8s.as_list(k8s.as_map(row).get("panels")))
    n = 0
    while stack:
        for p in stack.pop():
            if isinstance(p, dict):
                n += 1
                if n > 100_000:
                    return
                yield p
                if isinstance(p.get("panels"), list):
                    stack.append(p["panels"])


def looks_dashboard(data: Any) -> KObject | None:
    if not isinstance(data, dict):
        return None
    inner = data.get("dashboard")
    board: KObject = inner if isinstance(inner, dict) else data
    if isinstance(board.get("panels"), list) or (isinstance(board.get("rows"), list) and "title" in board):
        return board
    return None


def rules_from_dashboard(dashboard: KObject, path: str) -> list[AlertRule]:
    """Legacy Grafana dashboard alerts: a panel's ``alert`` with ``conditions[].evaluator`` thresholds."""
    out = []
    for panel in _panels(dashboard):
        alert = panel.get("alert")
        if not isinstance(alert, dict):
            continue
        refs, threshold = set(), False
        for c in k8s.as_list(alert.get("conditions")):
            c = k8s.as_map(c)
            if _evaluator_threshold(c.get("evaluator")):
                threshold = True
            params = k8s.as_list(k8s.as_map(c.get("query")).get("params"))
            if params and isinstance(params[0], str):
                refs.add(params[0])
        exprs = []
        for t in k8s.as_list(panel.get("targets")):
            t = k8s.as_map(t)
            if refs and t.get("refId") not in refs:
                continue
            for key in ("expr", "query", "expression"):
                if isinstance(t.get(key), str):
                    exprs.append(t[key])
        name = alert.get("name")
        if not isinstance(name, str):
            name = str(panel.get("title") or "?")
        out.append(AlertRule("alert", name, exprs, path, k8s.line(panel, "alert"), threshold, {}, "dashboard alert"))
    return out


def rules_of_data(data: Any, path: str, limit_depth: int = 4) -> list[AlertRule]:
    """Alerting/recording rules in a non-Kubernetes YAML/JSON document (rule file, provisioning, dashboard, values)."""
    if isinstance(data, dict) and data.get("apiVersion") in (1, "1") and _is_grafana_groups(data.get("groups")):
        return rules_from_grafana(data.get("groups"), path)
    dash = looks_dashboard(data)
    if dash is not None:
        return rules_from_dashboard(dash, path)
    out: list[AlertRule] = []
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        if _is_rule_groups(node.get("groups")):
            out.extend(rules_from_groups(node["groups"], path, "rule file"))
            continue
        if depth < limit_depth:
            stack.extend((v, depth + 1) for v in reversed(list(node.values())) if isinstance(v, dict))
    return out


def alert_rules_of_object(
    obj: Any, path: str, line: int, limits: Limits = Limits(), owner: Any = None
) -> AlertSource | None:
    """Rules a Kubernetes object at ``path:line`` holds: a PrometheusRule (or VMRule), or a ConfigMap with rule
    files/dashboards."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    ref = k8s.object_ref(obj)
    label = f"{kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}"
    if kind in ("PrometheusRule", "VMRule"):
        return AlertSource(
            label, path, line, rules_from_groups(k8s.get(obj, "spec", "groups"), path, kind), owner=owner
        )
    if kind != "ConfigMap":
        return None
    data = k8s.as_map(obj.get("data"))
    rules: list[AlertRule] = []
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, str) or len(value) > 4 * 1024 * 1024:
            continue
        first = block_start(data, key, value)
        if key.endswith(".json") and ('"panels"' in value or '"rows"' in value):
            docs = load_json(value, limits)
        elif key.endswith((".yaml", ".yml", ".rules")) and "groups" in value:
            docs = load_yaml(value, limits)
        else:
            continue
        for d in docs:
            for r in rules_of_data(d.data, path):
                r.line = text_line(value, first, r.line - 1) if r.line >= 1 else first
                rules.append(r)
    if not rules:
        return None
    return AlertSource(label, path, line, rules, owner=owner)


__all__ = [
    "MAX_EXPR",
    "AlertRule",
    "AlertSource",
    "alert_rules_of_object",
    "has_comparison",
    "looks_dashboard",
    "rules_from_dashboard",
    "rules_from_grafana",
    "rules_from_groups",
    "rules_of_data",
]
