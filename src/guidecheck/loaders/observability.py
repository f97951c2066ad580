"""Observability configuration: Fluent Bit pipelines and alert rules (guideline 5, 9.c).

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
               themselves (see :func:`alert_rules_of_object`).

Fluent Bit's classic format (``[SECTION]`` then ``Key Value`` lines,
``@INCLUDE`` with globs, ``@SET`` variables, ``${VAR}`` references) and its
YAML format (``service``/``pipeline``/``parsers``/``includes``/``env``) are
both read.  ``@INCLUDE`` and ``Parsers_File`` are followed inside the scanned
directory only; an absolute path (the path inside the container, e.g.
``/fluent-bit/etc/parsers.conf``) is looked up by its file name next to the
including file (or among the ConfigMap's keys).  YAML and JSON documents come
from the core loader (``loaded.others``): nothing is read twice.  Only
``*.conf`` files are read here; one is a Fluent Bit file when it has a
``[INPUT]``, ``[OUTPUT]``, ``[FILTER]``, ``[PARSER]`` or
``[MULTILINE_PARSER]`` section.

The parsing functions are pure and are also used by the checks on objects read
from a cluster (which do not go through this loader).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from guidecheck.parsers import k8s
from guidecheck.model import LoadError, ObjectRef, Severity, SourceFile, Target
from guidecheck.parsers.yaml import Limits, load_json, load_yaml

# ------------------------------------------------------------------ Fluent Bit model


@dataclass
class Prop:
    key: str  # lower case
    value: str
    line: int
    path: str


@dataclass
class Section:
    name: str  # upper case: INPUT, FILTER, OUTPUT, PARSER, SERVICE, MULTILINE_PARSER, ...
    path: str
    line: int
    props: list[Prop] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        key = key.lower()
        for p in self.props:
            if p.key == key:
                return p.value
        return None

    def prop(self, key: str) -> Prop | None:
        key = key.lower()
        for p in self.props:
            if p.key == key:
                return p
        return None

    @property
    def plugin(self) -> str:
        return (self.get("name") or "").strip().lower()


@dataclass
class Pipeline:
    """One Fluent Bit configuration as Fluent Bit would load it (includes resolved)."""

    label: str  # how messages name it: "fluent-bit.conf", "ConfigMap logging/fluent-bit", ...
    path: str
    line: int
    sections: list[Section] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file/key read into it
    notes: list[str] = field(default_factory=list)  # what could not be followed (absolute includes ...)
    owner: Target | None = None  # the ConfigMap it came from
    values_of: str | None = None  # chart directory whose values.yaml-style file it was read from

    def of(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.name == name]

    @property
    def is_pipeline(self) -> bool:
        """Has inputs or outputs (a parsers-only file is not a pipeline)."""
        return any(s.name in ("INPUT", "OUTPUT") for s in self.sections)


_SECTION = re.compile(r"^\s*\[\s*([A-Za-z_]+)\s*\]\s*(?:#.*)?$")
_FB_SECTION_NAMES = ("INPUT", "OUTPUT", "FILTER", "PARSER", "MULTILINE_PARSER")
_LOOKS_CLASSIC = re.compile(r"^\s*\[\s*(INPUT|OUTPUT|FILTER|PARSER|MULTILINE_PARSER)\s*\]\s*$",
                            re.IGNORECASE | re.MULTILINE)
_ANY_SECTION = re.compile(r"^\s*\[\s*(INPUT|OUTPUT|FILTER|PARSER|MULTILINE_PARSER|SERVICE)\s*\]\s*$",
                          re.IGNORECASE | re.MULTILINE)
# fluentd (not Fluent Bit) configuration: <source>, <match ...>, <filter ...> directives
_FLUENTD = re.compile(r"^\s*</?(source|match|filter|label|system|worker)\b", re.MULTILINE)
_INCLUDE = re.compile(r"^\s*@INCLUDE\s+(\S+)", re.MULTILINE | re.IGNORECASE)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_INCLUDE_DEPTH = 16
MAX_SECTIONS = 10_000


def looks_classic(text: str) -> bool:
    return bool(_LOOKS_CLASSIC.search(text))


# include resolver: (reference as written, path of the including file) ->
#   ("ok", display path, text, base line) | ("missing"|"outside"|"absolute"|"error", message)
Resolver = Callable[[str, str], list[tuple]]


def parse_classic(text: str, path: str, first_line: int, into: Pipeline, errors: list[tuple[str, LoadError]],
                  resolve: Resolver | None = None, variables: dict[str, str] | None = None,
                  _depth: int = 0, _seen: frozenset[str] = frozenset()) -> None:
    """Read classic-format text into ``into`` (errors as (path, LoadError) pairs)."""
    variables = variables if variables is not None else {}
    if path not in into.files:
        into.files.append(path)
    current: Section | None = None
    for i, raw in enumerate(text.splitlines()):
        line = first_line + i
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _SECTION.match(raw)
        if m:
            if len(into.sections) >= MAX_SECTIONS:
                errors.append((path, LoadError(f"more than {MAX_SECTIONS} sections: the rest is not read", line)))
                return
            current = Section(m.group(1).upper(), path, line)
            into.sections.append(current)
            continue
        if stripped.startswith("@"):
            word, _, rest = stripped.partition(" ")
            rest = rest.strip()
            directive = word.upper()
            if directive == "@SET":
                k, eq, v = rest.partition("=")
                if not eq or not k.strip():
                    errors.append((path, LoadError("@SET needs KEY=VALUE", line)))
                else:
                    variables[k.strip()] = v.strip()
            elif directive == "@INCLUDE":
                if not rest:
                    errors.append((path, LoadError("@INCLUDE without a file", line)))
                    continue
                if resolve is None:
                    into.notes.append(f"@INCLUDE {rest} (line {line})")
                    continue
                if _depth >= MAX_INCLUDE_DEPTH:
                    errors.append((path, LoadError(f"@INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep", line)))
                    continue
                for res in resolve(_subst(rest, variables), path):
                    if res[0] == "ok":
                        _, inc_path, inc_text, inc_line = res
                        if inc_path in _seen or inc_path == path:
                            errors.append((path, LoadError(f"@INCLUDE {rest}: include cycle through {inc_path}",
                                                           line)))
                            continue
                        parse_classic(inc_text, inc_path, inc_line, into, errors, resolve, variables,
                                      _depth + 1, _seen | {path})
                        current = None  # an included file's last section does not continue here
                    elif res[0] in ("missing", "outside"):
                        sev = Severity.ERROR if res[0] == "missing" else Severity.WARNING
                        errors.append((path, LoadError(f"@INCLUDE {rest}: {res[1]}", line, severity=sev)))
                    else:
                        into.notes.append(f"@INCLUDE {rest} (line {line}): {res[1]}")
            else:
                errors.append((path, LoadError(f"unknown directive {word[:40]} (Fluent Bit knows @INCLUDE and @SET)",
                                               line)))
            continue
        parts = stripped.split(None, 1)
        if current is None:
            errors.append((path, LoadError(f"'{parts[0][:40]}' is outside any [SECTION]", line)))
            continue
        if len(parts) < 2:
            errors.append((path, LoadError(f"key '{parts[0][:40]}' has no value", line)))
            continue
        current.props.append(Prop(parts[0].lower(), _subst(parts[1].strip(), variables), line, path))


def _subst(value: str, variables: dict[str, str]) -> str:
    if "${" not in value:
        return value
    return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)


_YAML_LISTS = (("inputs", "INPUT"), ("filters", "FILTER"), ("outputs", "OUTPUT"))


def looks_yaml_format(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    pipe = data.get("pipeline")
    return isinstance(pipe, dict) and any(isinstance(pipe.get(k), list) for k, _ in _YAML_LISTS)


def read_yaml_format(data: dict, path: str, into: Pipeline, errors: list[tuple[str, LoadError]],
                     include: Callable[[str, str], list[tuple]] | None = None, _depth: int = 0) -> None:
    """Read the YAML format (``service``, ``pipeline``, ``parsers``, ``includes``, ``env``)."""
    if path not in into.files:
        into.files.append(path)
    env = {str(k): str(v) for k, v in k8s.as_map(data.get("env")).items() if isinstance(v, (str, int, float))}

    def section(name: str, node: Any) -> None:
        if not isinstance(node, dict):
            return
        sec = Section(name, path, getattr(node, "line", 1))
        for k, v in node.items():
            if isinstance(k, str) and isinstance(v, (str, int, float, bool)):
                text = ("on" if v else "off") if isinstance(v, bool) else str(v)
                sec.props.append(Prop(k.lower(), _subst(text, env), k8s.line(node, k), path))
        into.sections.append(sec)

    if isinstance(data.get("service"), dict):
        section("SERVICE", data["service"])
    pipe = k8s.as_map(data.get("pipeline"))
    for key, name in _YAML_LISTS:
        for item in k8s.as_list(pipe.get(key)):
            section(name, item)
    for item in k8s.as_list(data.get("parsers")):
        section("PARSER", item)
    for item in k8s.as_list(data.get("multiline_parsers")):
        section("MULTILINE_PARSER", item)
    for ref in k8s.as_list(data.get("includes")):
        if not isinstance(ref, str) or include is None:
            continue
        if _depth >= MAX_INCLUDE_DEPTH:
            errors.append((path, LoadError(f"includes nested more than {MAX_INCLUDE_DEPTH} deep",
                                           k8s.line(data, "includes"))))
            continue
        for res in include(ref, path):
            if res[0] == "ok" and isinstance(res[2], dict) and res[1] not in into.files:
                read_yaml_format(res[2], res[1], into, errors, include, _depth + 1)
            elif res[0] in ("missing", "outside"):
                sev = Severity.ERROR if res[0] == "missing" else Severity.WARNING
                errors.append((path, LoadError(f"includes: {ref}: {res[1]}", k8s.line(data, "includes"),
                                               severity=sev)))
            elif res[0] != "ok":
                into.notes.append(f"includes: {ref} ({path}): {res[1]}")


def _block_start(node: dict, key: str, value: str) -> int:
    """The line where a multi-line string value's text starts (the line after a ``|`` indicator)."""
    vl = node.value_line(key) if hasattr(node, "value_line") else getattr(node, "line", 1)
    kl = node.key_line(key) if hasattr(node, "key_line") else vl
    return vl + 1 if ("\n" in value and vl == kl) else vl


def pipeline_from_map(files: dict[str, tuple[str, int]], label: str, path: str, line: int,
                      errors: list[tuple[str, LoadError]], limits: Limits, owner: Target | None = None,
                      main_hint: Iterable[str] = ()) -> Pipeline | None:
    """A pipeline from named texts mounted together (ConfigMap keys, chart values pieces).

    ``files`` maps a name to (text, first line).  The main file is the one with
    a [SERVICE] or [INPUT] section that no other file includes; includes and
    ``Parsers_File`` resolve by file name among ``files``.  The pieces are
    reported under ``path`` (the ConfigMap's or values file's path).
    """
    pipe = Pipeline(label, path, line, owner=owner)
    classic = {n: v for n, v in files.items() if _ANY_SECTION.search(v[0])}
    yaml_docs: dict[str, Any] = {}
    for n, (text, first) in files.items():
        if n in classic or not n.endswith((".yaml", ".yml")) or "pipeline" not in text:
            continue
        docs = load_yaml(text, limits)
        for d in docs:
            for e in d.errors:
                errors.append((path, LoadError(f"{n}: {e.message}", first + e.line - 1, e.column, e.severity)))
            if looks_yaml_format(d.data):
                yaml_docs[n] = d.data
    if not classic and not yaml_docs:
        return None
    included: set[str] = set()

    def resolve(ref: str, from_name: str) -> list[tuple]:
        base = posixpath.basename(ref)
        names = sorted(n for n in files if fnmatch.fnmatchcase(n, base) and n != from_name) if any(
            c in base for c in "*?[") else ([base] if base in files else [])
        if not names:
            return [("absolute", f"{base} is not among {label}'s files")]
        out = []
        for n in names:
            included.add(n)
            out.append(("ok", n, files[n][0], files[n][1]))
        return out

    # includes first, so that the main file is the one nobody includes
    for n, (text, _) in classic.items():
        for m in re.finditer(r"^\s*@INCLUDE\s+(\S+)", text, re.MULTILINE | re.IGNORECASE):
            base = posixpath.basename(m.group(1))
            included.update(x for x in files if fnmatch.fnmatchcase(x, base) and x != n)
    mains = [n for n in classic if n not in included]
    hinted = [n for n in main_hint if n in mains]
    order = hinted + [n for n in mains if n not in hinted]
    for n in order:
        pieces: list[tuple[str, LoadError]] = []
        parse_classic(classic[n][0], n, classic[n][1], pipe, pieces, resolve)
        errors.extend((path, LoadError(f"{n}: {e.message}", e.line, e.column, e.severity)) for _, e in pieces)
    for n, data in yaml_docs.items():
        read_yaml_format(data, n, pipe, errors)
    # Parsers_File: parsers defined in another key
    for svc in pipe.of("SERVICE"):
        for p in svc.props:
            if p.key == "parsers_file":
                base = posixpath.basename(p.value)
                if base in files and base not in pipe.files and base not in order:
                    parse_classic(files[base][0], base, files[base][1], pipe, [], None)
    # pieces name their key; findings point at the owning file
    for s in pipe.sections:
        s.path = path
        for p in s.props:
            p.path = path
    return pipe


def pipeline_of_configmap(target: Target, limits: Limits = Limits()) -> tuple[Pipeline | None, list[LoadError]]:
    """The Fluent Bit pipeline a ConfigMap holds (None if it holds none) and its parse errors."""
    obj = target.data
    data = k8s.as_map(obj.get("data")) if isinstance(obj, dict) else {}
    files: dict[str, tuple[str, int]] = {}
    for key, value in data.items():
        if isinstance(key, str) and isinstance(value, str) and len(value) <= 4 * 1024 * 1024:
            files[key] = (value, _block_start(data, key, value))
    if not any(looks_classic(t) or (n.endswith((".yaml", ".yml")) and "pipeline:" in t)
               for n, (t, _) in files.items()):
        return None, []
    errors: list[tuple[str, LoadError]] = []
    ref = k8s.object_ref(obj)
    label = f"ConfigMap {ref.namespace + '/' if ref.namespace else ''}{ref.name}"
    pipe = pipeline_from_map(files, label, target.path, target.line, errors, limits, owner=target,
                             main_hint=("fluent-bit.conf", "fluent-bit.yaml", "fluentbit.conf"))
    return pipe, [e for _, e in errors]


# ------------------------------------------------------------------ Fluent Operator resources

# fluentbit.fluent.io kinds -> the section they stand for
FLUENT_OPERATOR_KINDS = {
    "ClusterInput": "INPUT", "ClusterFilter": "FILTER", "Filter": "FILTER", "ClusterOutput": "OUTPUT",
    "Output": "OUTPUT", "ClusterParser": "PARSER", "Parser": "PARSER",
}


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def _plugin_section(name: str, plugin: str, body: Any, path: str, line: int) -> Section:
    sec = Section(name, path, line, [Prop("name", plugin, line, path)])
    for k, v in k8s.as_map(body).items():
        if isinstance(k, str) and isinstance(v, (str, int, float, bool)):
            text = ("on" if v else "off") if isinstance(v, bool) else str(v)
            sec.props.append(Prop(_snake(k), text, k8s.line(body, k, line), path))
    return sec


def pipeline_of_fluent_operator(targets: list[Target]) -> Pipeline | None:
    """One pipeline from the Fluent Operator's resources of a scope (ClusterInput, ClusterFilter, ClusterOutput, ...).

    Reported on the first output resource (or the first resource when there is no output).
    """
    objs = [t for t in targets if isinstance(t.data, dict) and str(t.data.get("apiVersion", "")).startswith(
        "fluentbit.fluent.io/") and t.data.get("kind") in FLUENT_OPERATOR_KINDS]
    if not objs:
        return None
    outputs = [t for t in objs if FLUENT_OPERATOR_KINDS[t.data["kind"]] == "OUTPUT"]
    owner = (outputs or objs)[0]
    pipe = Pipeline("the Fluent Operator configuration", owner.path, owner.line, owner=owner)
    for t in objs:
        section = FLUENT_OPERATOR_KINDS[t.data["kind"]]
        spec = k8s.as_map(t.data.get("spec"))
        pipe.files.append(f"{t.path}:{t.line}")
        if section == "FILTER":
            for item in k8s.as_list(spec.get("filters")):
                for plugin, body in k8s.as_map(item).items():
                    if isinstance(plugin, str):
                        pipe.sections.append(_plugin_section("FILTER", plugin.lower(), body, t.path,
                                                             k8s.line(item, plugin, t.line)))
            continue
        for plugin, body in spec.items():
            if not isinstance(plugin, str) or not isinstance(body, dict):
                continue
            if section == "PARSER":
                sec = _plugin_section("PARSER", str(k8s.get(t.data, "metadata", "name") or ""), body, t.path,
                                      k8s.line(spec, plugin, t.line))
                sec.props.append(Prop("format", plugin.lower(), sec.line, t.path))
            else:
                sec = _plugin_section(section, plugin.lower(), body, t.path, k8s.line(spec, plugin, t.line))
            pipe.sections.append(sec)
    return pipe


# ------------------------------------------------------------------ alert model


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
    owner: Target | None = None


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
                out.append(AlertRule("alert", r["alert"], [expr], path, k8s.line(r, "alert"), has_comparison(expr),
                                     _str_labels(r.get("labels")), source))
            elif isinstance(r.get("record"), str):
                out.append(AlertRule("record", r["record"], [expr], path, k8s.line(r, "record"), False,
                                     _str_labels(r.get("labels")), source))
    return out


def _is_rule_groups(node: Any) -> bool:
    if not isinstance(node, list) or not node:
        return False
    for g in node:
        rules = k8s.as_map(g).get("rules")
        if isinstance(rules, list) and any(isinstance(r, dict) and "expr" in r and ("alert" in r or "record" in r)
                                           for r in rules):
            return True
    return False


def _is_grafana_groups(node: Any) -> bool:
    for g in k8s.as_list(node):
        for r in k8s.as_list(k8s.as_map(g).get("rules")):
            if isinstance(r, dict) and isinstance(r.get("data"), list):
                return True
    return False


_GRAFANA_OPS = {"gt": ">", "lt": "<", "outside_range": "outside", "within_range": "within", "eq": "==", "ne": "!=",
                "gte": ">=", "lte": "<="}


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
            title = r.get("title") if isinstance(r.get("title"), str) else str(r.get("uid") or "?")
            out.append(AlertRule("alert", title, exprs, path, k8s.line(r, "title") if "title" in r else r.line,
                                 threshold, _str_labels(r.get("labels")), "Grafana alert"))
    return out


def _panels(dashboard: dict) -> Iterable[dict]:
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


def looks_dashboard(data: Any) -> dict | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("dashboard"), dict):
        data = data["dashboard"]
    if isinstance(data.get("panels"), list) or (isinstance(data.get("rows"), list) and "title" in data):
        return data
    return None


def rules_from_dashboard(dashboard: dict, path: str) -> list[AlertRule]:
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
        name = alert.get("name") if isinstance(alert.get("name"), str) else str(panel.get("title") or "?")
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


def alert_rules_of_object(target: Target, limits: Limits = Limits()) -> AlertSource | None:
    """Rules a Kubernetes object holds: a PrometheusRule (or VMRule), or a ConfigMap with rule files/dashboards."""
    obj = target.data
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    ref = k8s.object_ref(obj)
    label = f"{kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}"
    if kind in ("PrometheusRule", "VMRule"):
        rules = rules_from_groups(k8s.get(obj, "spec", "groups"), target.path, kind)
        return AlertSource(label, target.path, target.line, rules, owner=target)
    if kind != "ConfigMap":
        return None
    data = k8s.as_map(obj.get("data"))
    rules: list[AlertRule] = []
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, str) or len(value) > 4 * 1024 * 1024:
            continue
        first = _block_start(data, key, value)
        if key.endswith(".json") and ('"panels"' in value or '"rows"' in value):
            docs = load_json(value, limits)
        elif key.endswith((".yaml", ".yml", ".rules")) and "groups" in value:
            docs = load_yaml(value, limits)
        else:
            continue
        for d in docs:
            for r in rules_of_data(d.data, target.path):
                r.line = first + r.line - 1 if r.line >= 1 else first
                rules.append(r)
    if not rules:
        return None
    return AlertSource(label, target.path, target.line, rules, owner=target)


# ------------------------------------------------------------------ the loader


def _support_target(kind: str, path: str, line: int, ref: ObjectRef, data: Any, origin: dict) -> Target:
    return Target(kind=kind, path=path, line=line, ref=ref, data=data, origin=dict(origin))


def extend(loaded, config, options: dict) -> None:
    """Add ``fluentbit`` and ``alerts`` support targets for every scanned repository."""
    from guidecheck.loaders import _file_target
    from guidecheck.loaders.fs import ReadError, read_text

    limits = config.limits
    others = {d.path: d for d in loaded.others}
    seen_configmaps: set[int] = set()

    # Fluent Bit classic files (*.conf), per repository
    for repo in loaded.repos:
        prefix = repo.prefix
        root = repo.walk.root
        texts: dict[str, str] = {}
        src_of: dict[str, SourceFile] = {}

        def read(rel: str, report: bool = True) -> str | None:
            if rel in texts:
                return texts[rel]
            src = SourceFile(prefix + rel, "fluentbit")
            try:
                text = read_text(os.path.join(root, *rel.split("/")), config.max_file_bytes, root=root)
            except ReadError as exc:
                if report and rel not in src_of:  # a file named like Fluent Bit's or included by one
                    src.errors.append(exc.error)
                    loaded.targets.append(_file_target(src))
                    src_of[rel] = src
                return None
            src.read = True
            texts[rel] = text
            src_of[rel] = src
            return text

        inventory = set(repo.walk.inventory)
        confs = [p for p in repo.walk.inventory if p.lower().endswith(".conf")]
        candidates = []
        for rel in confs:
            name = posixpath.basename(rel).lower()
            fluent_named = "fluent" in rel.lower()
            text = read(rel, report=fluent_named) if (fluent_named or _small(root, rel)) else None
            if text is not None and not _FLUENTD.search(text) and (looks_classic(text) or fluent_named and (
                    _ANY_SECTION.search(text) or _INCLUDE.search(text))):
                candidates.append(rel)
            elif text is not None and "fluent" not in name:
                texts.pop(rel, None)  # not ours: an nginx.conf, a supervisord.conf ...
                src_of.pop(rel, None)

        def resolver(ref: str, from_display: str) -> list[tuple]:
            from_rel = from_display[len(prefix):]
            return _resolve_in_repo(ref, from_rel, inventory, read, prefix)

        included: set[str] = set()
        for rel in candidates:
            for m in re.finditer(r"^\s*@INCLUDE\s+(\S+)", texts[rel], re.MULTILINE | re.IGNORECASE):
                for res in resolver(m.group(1), prefix + rel):
                    if res[0] == "ok":
                        included.add(res[1][len(prefix):])
        for rel in candidates:
            if rel in included:
                continue
            pipe = Pipeline("the Fluent Bit pipeline", prefix + rel, 1)
            errors: list[tuple[str, LoadError]] = []
            parse_classic(texts[rel], prefix + rel, 1, pipe, errors, resolver)
            _parsers_files(pipe, rel, prefix, inventory, read)
            for p, e in errors:
                src = src_of.get(p[len(prefix):])
                if src is not None:
                    src.errors.append(e)
            first = next((s for s in pipe.sections if s.name in ("INPUT", "OUTPUT", "SERVICE")), None)
            pipe.line = first.line if first is not None and first.path == pipe.path else 1
            loaded.targets.append(_support_target("fluentbit", pipe.path, pipe.line,
                                                  ObjectRef("FluentBitConfig", None, pipe.path), pipe,
                                                  {"source": "file", "repo": prefix}))
        for rel, src in src_of.items():
            if rel in texts and (rel in candidates or rel in included):
                loaded.targets.append(_file_target(src))

    # YAML/JSON documents: Fluent Bit YAML format, chart values, rule files, provisioning, dashboards.
    # A YAML-format file another one includes is part of that pipeline, not a pipeline of its own.
    yaml_included: set[str] = set()
    for path, d in others.items():
        for doc in d.docs:
            if looks_yaml_format(doc.data) or (isinstance(doc.data, dict) and "includes" in doc.data):
                for ref in k8s.as_list(doc.data.get("includes")):
                    for res in _yaml_includer(path, others, set())(ref, path) if isinstance(ref, str) else ():
                        if res[0] == "ok" and res[1] != path:
                            yaml_included.add(res[1])
    for path, d in others.items():
        scope = _scope_of(path, loaded)
        for doc in d.docs:
            data = doc.data
            if looks_yaml_format(data) or (isinstance(data, dict) and isinstance(data.get("includes"), list)
                                           and isinstance(data.get("pipeline", data.get("service")), dict)):
                if path in yaml_included:
                    continue
                pipe = Pipeline("the Fluent Bit pipeline", path, doc.line)
                errors: list[tuple[str, LoadError]] = []
                read_yaml_format(data, path, pipe, errors, _yaml_includer(path, others, set()))
                for _, e in errors:
                    _source_errors(loaded, path).append(e)
                loaded.targets.append(_support_target("fluentbit", path, doc.line,
                                                      ObjectRef("FluentBitConfig", None, path), pipe,
                                                      {"source": "file", "repo": scope}))
                continue
            vals = _chart_values_config(data)
            if vals is not None:
                files, line = vals
                errors = []
                pipe = pipeline_from_map(files, f"Fluent Bit chart values {path}", path, line, errors, limits,
                                         main_hint=("fluent-bit.conf",))
                for _, e in errors:
                    _source_errors(loaded, path).append(e)
                if pipe is not None and pipe.sections:
                    pipe.values_of = posixpath.dirname(path) or "."
                    loaded.targets.append(_support_target("fluentbit", path, line,
                                                          ObjectRef("FluentBitConfig", None, path), pipe,
                                                          {"source": "values", "repo": scope}))
            rules = rules_of_data(data, path)
            if rules:
                loaded.targets.append(_support_target("alerts", path, doc.line, ObjectRef("AlertRules", None, path),
                                                      AlertSource(path, path, doc.line, rules),
                                                      {"source": "file", "repo": scope}))

    # Fluent Bit files named one by one (pre-commit): their syntax, as GC001 (includes are not followed)
    for abspath, display, kind in loaded.files:
        name = posixpath.basename(display).lower()
        if kind is not None or not name.endswith(".conf") or "fluent" not in name:
            continue
        src = SourceFile(display, "fluentbit")
        loaded.targets.append(_file_target(src))
        try:
            text = read_text(abspath, config.max_file_bytes, root=os.path.dirname(abspath))
        except ReadError as exc:
            src.errors.append(exc.error)
            continue
        src.read = True
        if _FLUENTD.search(text):
            continue
        errors = []
        parse_classic(text, display, 1, Pipeline("the Fluent Bit pipeline", display, 1), errors, None)
        src.errors.extend(e for _, e in errors)

    # ConfigMaps of plain manifests: parse once here, errors go to GC001 of their file
    for t in list(loaded.targets):
        if t.kind != "k8s" or not isinstance(t.data, dict) or t.data.get("kind") != "ConfigMap":
            continue
        if id(t) in seen_configmaps:
            continue
        seen_configmaps.add(id(t))
        pipe, errs = pipeline_of_configmap(t, limits)
        if pipe is not None:
            if t.source is not None:
                t.source.errors.extend(errs)
            loaded.targets.append(_support_target("fluentbit", t.path, t.line, t.ref, pipe, t.origin))
        src = alert_rules_of_object(t, limits)
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
        names = sorted(p for p in inventory if posixpath.dirname(p) == pdir and fnmatch.fnmatchcase(p, pattern)
                       and p != from_rel)
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
    for svc in pipe.of("SERVICE"):
        for p in list(svc.props):
            if p.key != "parsers_file":
                continue
            for res in _resolve_in_repo(p.value, p.path[len(prefix):] if p.path.startswith(prefix) else rel,
                                        inventory, read, prefix):
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


_FB_VALUE_KEYS = ("fluent-bit", "fluentbit", "fluent_bit", "fluentBit")


def _chart_values_config(data: Any) -> tuple[dict[str, tuple[str, int]], int] | None:
    """The ``config:`` block of fluent/fluent-bit chart values (top level or under a ``fluent-bit:`` key)."""
    if not isinstance(data, dict):
        return None
    candidates = [data] + [data[k] for k in _FB_VALUE_KEYS if isinstance(data.get(k), dict)]
    for node in candidates:
        cfg = node.get("config")
        if not isinstance(cfg, dict):
            continue
        files: dict[str, tuple[str, int]] = {}
        main = []
        for key in ("service", "inputs", "filters", "outputs", "upstream"):
            v = cfg.get(key)
            if isinstance(v, str) and v.strip():
                main.append((v, _block_start(cfg, key, v)))
        if not main or not any(looks_classic(v) for v, _ in main):
            continue
        # the chart joins the pieces into fluent-bit.conf; keep each piece's lines
        for i, (v, first) in enumerate(main):
            files[f"fluent-bit.conf#{i}"] = (v, first)
        cp = cfg.get("customParsers")
        if isinstance(cp, str):
            files["custom_parsers.conf"] = (cp, _block_start(cfg, "customParsers", cp))
        extra = cfg.get("extraFiles")
        if isinstance(extra, dict):
            for k, v in extra.items():
                if isinstance(k, str) and isinstance(v, str):
                    files[k] = (v, _block_start(extra, k, v))
        return files, getattr(cfg, "line", 1)
    return None


__all__ = ["FLUENT_OPERATOR_KINDS", "MAX_EXPR", "AlertRule", "AlertSource", "Pipeline", "Prop", "Section",
           "alert_rules_of_object", "extend", "has_comparison", "looks_classic", "parse_classic",
           "pipeline_of_configmap", "pipeline_of_fluent_operator", "read_yaml_format", "rules_from_dashboard",
           "rules_from_grafana", "rules_from_groups", "rules_of_data"]
