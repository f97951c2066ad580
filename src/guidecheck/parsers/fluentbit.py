"""Fluent Bit configuration: the model (pipeline, sections, properties) and its parsers.

Pure: text and parsed YAML in, a :class:`Pipeline` out; no file system, no
targets.  The loader (:mod:`guidecheck.loaders.observability`) finds the files
and supplies a reader for ``@INCLUDE``\\ s (a :data:`Resolver` callback); the
checks use the same functions on objects read from a cluster.

Fluent Bit's classic format (``[SECTION]`` then ``Key Value`` lines,
``@INCLUDE`` with globs, ``@SET`` variables, ``${VAR}`` references) and its
YAML format (``service``/``pipeline``/``parsers``/``includes``/``env``) are
both read.  Named texts mounted together (a ConfigMap's data keys, the
``config:`` block of fluent/fluent-bit chart values) make one pipeline whose
includes resolve by file name among those texts; the Fluent Operator's
resources (ClusterInput, ClusterFilter, ClusterOutput, ...) make another.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from guidecheck.model import LoadError, Severity
from guidecheck.parsers import k8s
from guidecheck.parsers.k8s import KObject
from guidecheck.parsers.yaml import Limits, key_line, line_of, load_yaml, text_line, value_line


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
    owner: Any = None  # what the caller read it from (the loader and checks: the ConfigMap's or resource's Target)
    values_of: str | None = None  # chart directory whose values.yaml-style file it was read from

    def of(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.name == name]

    @property
    def is_pipeline(self) -> bool:
        """Has inputs or outputs (a parsers-only file is not a pipeline)."""
        return any(s.name in ("INPUT", "OUTPUT") for s in self.sections)


_SECTION = re.compile(r"^\s*\[\s*([A-Za-z_]+)\s*\]\s*(?:#.*)?$")
_LOOKS_CLASSIC = re.compile(
    r"^\s*\[\s*(INPUT|OUTPUT|FILTER|PARSER|MULTILINE_PARSER)\s*\]\s*$", re.IGNORECASE | re.MULTILINE
)
_ANY_SECTION = re.compile(
    r"^\s*\[\s*(INPUT|OUTPUT|FILTER|PARSER|MULTILINE_PARSER|SERVICE)\s*\]\s*$", re.IGNORECASE | re.MULTILINE
)
# fluentd (not Fluent Bit) configuration: <source>, <match ...>, <filter ...> directives
_FLUENTD = re.compile(r"^\s*</?(source|match|filter|label|system|worker)\b", re.MULTILINE)
_INCLUDE = re.compile(r"^\s*@INCLUDE\s+(\S+)", re.MULTILINE | re.IGNORECASE)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_INCLUDE_DEPTH = 16
MAX_SECTIONS = 10_000


def looks_classic(text: str) -> bool:
    return bool(_LOOKS_CLASSIC.search(text))


# an include that cannot be read: "missing" (an error), "outside" (a warning), "absolute", "error" (a note), message
Unresolved = tuple[Literal["missing", "outside", "absolute", "error"], str]
# include resolver (classic format): (reference as written, path of the including file) ->
#   for each file it names ("ok", display path, text, base line), or why none
Resolved = tuple[Literal["ok"], str, str, int] | Unresolved
Resolver = Callable[[str, str], list[Resolved]]
# the same for the YAML format's ``includes``: ("ok", display path, the file's parsed data, base line)
Included = tuple[Literal["ok"], str, Any, int] | Unresolved
Includer = Callable[[str, str], list[Included]]


def looks_fluentd(text: str) -> bool:
    """fluentd's (not Fluent Bit's) configuration: ``<source>``, ``<match ...>`` directives."""
    return bool(_FLUENTD.search(text))


def has_section(text: str) -> bool:
    """A Fluent Bit section header ([INPUT], [OUTPUT], [FILTER], [PARSER], [MULTILINE_PARSER], [SERVICE])."""
    return bool(_ANY_SECTION.search(text))


def include_refs(text: str) -> list[str]:
    """The references of the classic text's ``@INCLUDE`` lines, as written."""
    return _INCLUDE.findall(text)


def parse_classic(
    text: str,
    path: str,
    first_line: int,
    into: Pipeline,
    errors: list[tuple[str, LoadError]],
    resolve: Resolver | None = None,
    variables: dict[str, str] | None = None,
    _depth: int = 0,
    _seen: frozenset[str] = frozenset(),
) -> None:
    """Read classic-format text into ``into`` (errors as (path, LoadError) pairs)."""
    variables = variables if variables is not None else {}
    if path not in into.files:
        into.files.append(path)
    current: Section | None = None
    for i, raw in enumerate(text.splitlines()):
        line = text_line(text, first_line, i)
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
            if _directive(stripped, path, line, into, errors, resolve, variables, _depth, _seen):
                current = None  # an included file's last section does not continue here
            continue
        parts = stripped.split(None, 1)
        if current is None:
            errors.append((path, LoadError(f"'{parts[0][:40]}' is outside any [SECTION]", line)))
            continue
        if len(parts) < 2:
            errors.append((path, LoadError(f"key '{parts[0][:40]}' has no value", line)))
            continue
        current.props.append(Prop(parts[0].lower(), _subst(parts[1].strip(), variables), line, path))


def _directive(
    stripped: str,
    path: str,
    line: int,
    into: Pipeline,
    errors: list[tuple[str, LoadError]],
    resolve: Resolver | None,
    variables: dict[str, str],
    depth: int,
    seen: frozenset[str],
) -> bool:
    """An ``@SET`` or ``@INCLUDE`` line; True when a file was included (the current section ends)."""
    word, _, rest = stripped.partition(" ")
    rest = rest.strip()
    directive = word.upper()
    if directive == "@SET":
        k, eq, v = rest.partition("=")
        if not eq or not k.strip():
            errors.append((path, LoadError("@SET needs KEY=VALUE", line)))
        else:
            variables[k.strip()] = v.strip()
        return False
    if directive != "@INCLUDE":
        errors.append((path, LoadError(f"unknown directive {word[:40]} (Fluent Bit knows @INCLUDE and @SET)", line)))
        return False
    if not rest:
        errors.append((path, LoadError("@INCLUDE without a file", line)))
        return False
    if resolve is None:
        into.notes.append(f"@INCLUDE {rest} (line {line})")
        return False
    if depth >= MAX_INCLUDE_DEPTH:
        errors.append((path, LoadError(f"@INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep", line)))
        return False
    included = False
    for res in resolve(_subst(rest, variables), path):
        if res[0] == "ok":
            _, inc_path, inc_text, inc_line = res
            if inc_path in seen or inc_path == path:
                errors.append((path, LoadError(f"@INCLUDE {rest}: include cycle through {inc_path}", line)))
                continue
            parse_classic(inc_text, inc_path, inc_line, into, errors, resolve, variables, depth + 1, seen | {path})
            included = True
        elif res[0] in ("missing", "outside"):
            sev = Severity.ERROR if res[0] == "missing" else Severity.WARNING
            errors.append((path, LoadError(f"@INCLUDE {rest}: {res[1]}", line, severity=sev)))
        else:
            into.notes.append(f"@INCLUDE {rest} (line {line}): {res[1]}")
    return included


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


def read_yaml_format(
    data: KObject,
    path: str,
    into: Pipeline,
    errors: list[tuple[str, LoadError]],
    include: Includer | None = None,
    _depth: int = 0,
) -> None:
    """Read the YAML format (``service``, ``pipeline``, ``parsers``, ``includes``, ``env``)."""
    if path not in into.files:
        into.files.append(path)
    env = {str(k): str(v) for k, v in k8s.as_map(data.get("env")).items() if isinstance(v, (str, int, float))}

    def section(name: str, node: Any) -> None:
        if not isinstance(node, dict):
            return
        sec = Section(name, path, line_of(node))
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
            errors.append(
                (path, LoadError(f"includes nested more than {MAX_INCLUDE_DEPTH} deep", k8s.line(data, "includes")))
            )
            continue
        for res in include(ref, path):
            if res[0] == "ok" and isinstance(res[2], dict) and res[1] not in into.files:
                read_yaml_format(res[2], res[1], into, errors, include, _depth + 1)
            elif res[0] in ("missing", "outside"):
                sev = Severity.ERROR if res[0] == "missing" else Severity.WARNING
                errors.append((path, LoadError(f"includes: {ref}: {res[1]}", k8s.line(data, "includes"), severity=sev)))
            elif res[0] != "ok":
                into.notes.append(f"includes: {ref} ({path}): {res[1]}")


def block_start(node: KObject, key: str, value: str) -> int:
    """The line where a multi-line string value's text starts (the line after a ``|`` indicator)."""
    vl = value_line(node, key)
    kl = key_line(node, key)
    return vl + 1 if ("\n" in value and vl == kl) else vl


def pipeline_from_map(
    files: dict[str, tuple[str, int]],
    label: str,
    path: str,
    line: int,
    errors: list[tuple[str, LoadError]],
    limits: Limits,
    owner: Any = None,
    main_hint: Iterable[str] = (),
) -> Pipeline | None:
    """A pipeline from named texts mounted together (ConfigMap keys, chart values pieces).

    ``files`` maps a name to (text, first line).  The main file is the one with
    a [SERVICE] or [INPUT] section that no other file includes; includes and
    ``Parsers_File`` resolve by file name among ``files``.  The pieces are
    reported under ``path`` (the ConfigMap's or values file's path).
    """
    pipe = Pipeline(label, path, line, owner=owner)
    classic = {n: v for n, v in files.items() if _ANY_SECTION.search(v[0])}
    yaml_docs = _yaml_format_docs(files, classic, path, errors, limits)
    if not classic and not yaml_docs:
        return None
    resolve = _map_resolver(files, label)
    order = _main_files(files, classic, main_hint)
    for n in order:
        pieces: list[tuple[str, LoadError]] = []
        parse_classic(classic[n][0], n, classic[n][1], pipe, pieces, resolve)
        errors.extend((path, LoadError(f"{n}: {e.message}", e.line, e.column, e.severity)) for _, e in pieces)
    for n, data in yaml_docs.items():
        read_yaml_format(data, n, pipe, errors)
    _mapped_parsers_files(pipe, files, order)
    # pieces name their key; findings point at the owning file
    for s in pipe.sections:
        s.path = path
        for p in s.props:
            p.path = path
    return pipe


def _map_resolver(files: dict[str, tuple[str, int]], label: str) -> Resolver:
    """Includes resolve by file name (globs allowed) among the files mounted together."""

    def resolve(ref: str, from_name: str) -> list[Resolved]:
        base = posixpath.basename(ref)
        names = (
            sorted(n for n in files if fnmatch.fnmatchcase(n, base) and n != from_name)
            if any(c in base for c in "*?[")
            else ([base] if base in files else [])
        )
        if not names:
            return [("absolute", f"{base} is not among {label}'s files")]
        return [("ok", n, files[n][0], files[n][1]) for n in names]

    return resolve


def _main_files(
    files: dict[str, tuple[str, int]], classic: dict[str, tuple[str, int]], main_hint: Iterable[str]
) -> list[str]:
    """The classic files nobody includes, the hinted main file names first."""
    included: set[str] = set()
    for n, (text, _) in classic.items():
        for ref in include_refs(text):
            base = posixpath.basename(ref)
            included.update(x for x in files if fnmatch.fnmatchcase(x, base) and x != n)
    mains = [n for n in classic if n not in included]
    hinted = [n for n in main_hint if n in mains]
    return hinted + [n for n in mains if n not in hinted]


def _yaml_format_docs(
    files: dict[str, tuple[str, int]],
    classic: dict[str, tuple[str, int]],
    path: str,
    errors: list[tuple[str, LoadError]],
    limits: Limits,
) -> dict[str, Any]:
    """The YAML-format pieces among ``files`` (their parse errors reported under ``path``)."""
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
    return yaml_docs


def _mapped_parsers_files(pipe: Pipeline, files: dict[str, tuple[str, int]], order: list[str]) -> None:
    """Parsers_File: parsers defined in another of the mounted files."""
    for svc in pipe.of("SERVICE"):
        for p in svc.props:
            if p.key == "parsers_file":
                base = posixpath.basename(p.value)
                if base in files and base not in pipe.files and base not in order:
                    parse_classic(files[base][0], base, files[base][1], pipe, [], None)


def pipeline_of_configmap(
    obj: Any, path: str, line: int, limits: Limits = Limits(), owner: Any = None
) -> tuple[Pipeline | None, list[LoadError]]:
    """The Fluent Bit pipeline a ConfigMap object at ``path:line`` holds (None if none) and its parse errors."""
    data = k8s.as_map(obj.get("data")) if isinstance(obj, dict) else {}
    files: dict[str, tuple[str, int]] = {}
    for key, value in data.items():
        if isinstance(key, str) and isinstance(value, str) and len(value) <= 4 * 1024 * 1024:
            files[key] = (value, block_start(data, key, value))
    if not any(looks_classic(t) or (n.endswith((".yaml", ".yml")) and "pipeline:" in t) for n, (t, _) in files.items()):
        return None, []
    errors: list[tuple[str, LoadError]] = []
    ref = k8s.object_ref(obj)
    label = f"ConfigMap {ref.namespace + '/' if ref.namespace else ''}{ref.name}"
    pipe = pipeline_from_map(
        files,
        label,
        path,
        line,
        errors,
        limits,
        owner=owner,
        main_hint=("fluent-bit.conf", "fluent-bit.yaml", "fluentbit.conf"),
    )
    return pipe, [e for _, e in errors]


# ------------------------------------------------------------------ Fluent Operator resources

# fluentbit.fluent.io kinds -> the section they stand for
FLUENT_OPERATOR_KINDS = {
    "ClusterInput": "INPUT",
    "ClusterFilter": "FILTER",
    "Filter": "FILTER",
    "ClusterOutput": "OUTPUT",
    "Output": "OUTPUT",
    "ClusterParser": "PARSER",
    "Parser": "PARSER",
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


def pipeline_of_fluent_operator(resources: list[tuple[Any, str, int, Any]]) -> Pipeline | None:
    """One pipeline from the Fluent Operator's resources of a scope (ClusterInput, ClusterFilter, ClusterOutput, ...).

    ``resources`` are (object, path, line, owner) in report order; the pipeline
    is reported on (owned by) the first output resource (or the first resource
    when there is no output).
    """
    objs = [
        r
        for r in resources
        if isinstance(r[0], dict)
        and str(r[0].get("apiVersion", "")).startswith("fluentbit.fluent.io/")
        and r[0].get("kind") in FLUENT_OPERATOR_KINDS
    ]
    if not objs:
        return None
    outputs = [r for r in objs if FLUENT_OPERATOR_KINDS[r[0]["kind"]] == "OUTPUT"]
    _, opath, oline, owner = (outputs or objs)[0]
    pipe = Pipeline("the Fluent Operator configuration", opath, oline, owner=owner)
    for obj, path, line, _ in objs:
        section = FLUENT_OPERATOR_KINDS[obj["kind"]]
        spec = k8s.as_map(obj.get("spec"))
        pipe.files.append(f"{path}:{line}")
        if section == "FILTER":
            for item in k8s.as_list(spec.get("filters")):
                for plugin, body in k8s.as_map(item).items():
                    if isinstance(plugin, str):
                        pipe.sections.append(
                            _plugin_section("FILTER", plugin.lower(), body, path, k8s.line(item, plugin, line))
                        )
            continue
        for plugin, body in spec.items():
            if not isinstance(plugin, str) or not isinstance(body, dict):
                continue
            if section == "PARSER":
                sec = _plugin_section(
                    "PARSER", str(k8s.get(obj, "metadata", "name") or ""), body, path, k8s.line(spec, plugin, line)
                )
                sec.props.append(Prop("format", plugin.lower(), sec.line, path))
            else:
                sec = _plugin_section(section, plugin.lower(), body, path, k8s.line(spec, plugin, line))
            pipe.sections.append(sec)
    return pipe


# ------------------------------------------------------------------ Logging operator resources (kube-logging)

# logging.banzaicloud.io kinds that make up a pipeline: the Fluent Bit agent (a Logging's spec.fluentbit, or a
# FluentbitAgent) and the aggregator's outputs it forwards to (Output, ClusterOutput)
LOGGING_OPERATOR_KINDS = frozenset({"Logging", "FluentbitAgent", "Output", "ClusterOutput"})
LOGGING_OPERATOR_GROUP = "logging.banzaicloud.io/"


def is_logging_operator(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and str(obj.get("apiVersion", "")).startswith(LOGGING_OPERATOR_GROUP)
        and obj.get("kind") in LOGGING_OPERATOR_KINDS
    )


def pipeline_of_logging_operator(resources: list[tuple[Any, str, int, Any]]) -> Pipeline | None:
    """The pipeline the Logging operator makes of a scope's resources: the Fluent Bit agent it runs (tail input,
    the kubernetes filter with Merge_Log On unless spec.filterKubernetes says Off or disableKubernetesFilter is
    set, a forward output to the aggregator) and the aggregator's outputs (an Output's loki: ships to Loki).

    ``resources`` are (object, path, line, owner); None without a Fluent Bit agent (a Logging with
    spec.fluentbit, or a FluentbitAgent). Reported on the first output resource, else the first agent.
    """
    objs = [r for r in resources if is_logging_operator(r[0])]
    agents = [
        r
        for r in objs
        if r[0]["kind"] == "FluentbitAgent"
        or (r[0]["kind"] == "Logging" and isinstance(k8s.get(r[0], "spec", "fluentbit"), dict))
    ]
    if not agents:
        return None
    outputs = [r for r in objs if r[0]["kind"] in ("Output", "ClusterOutput")]
    _, opath, oline, owner = (outputs or agents)[0]
    pipe = Pipeline("the Logging operator configuration", opath, oline, owner=owner)
    forwards = []
    for obj, path, line, _ in agents:
        spec = k8s.as_map(obj.get("spec") if obj["kind"] == "FluentbitAgent" else k8s.get(obj, "spec", "fluentbit"))
        pipe.files.append(f"{path}:{line}")
        pipe.sections.append(Section("INPUT", path, line, [Prop("name", "tail", line, path)]))
        if spec.get("disableKubernetesFilter") not in (True, "true"):
            fk = k8s.as_map(spec.get("filterKubernetes"))
            at = k8s.line(fk, "Merge_Log", k8s.line(spec, "filterKubernetes", line)) if fk else line
            merge = fk.get("Merge_Log", "On")
            props = [Prop("name", "kubernetes", at, path), Prop("merge_log", str(merge), at, path)]
            pipe.sections.append(Section("FILTER", path, at, props))
        forwards.append(Section("OUTPUT", path, line, [Prop("name", "forward", line, path)]))
    for obj, path, line, _ in outputs:  # the aggregator's outputs first: a missing Loki output is fixed there
        spec = k8s.as_map(obj.get("spec"))
        pipe.files.append(f"{path}:{line}")
        for plugin, body in spec.items():
            if isinstance(plugin, str) and isinstance(body, dict) and plugin not in ("loggingRef", "protected"):
                at = k8s.line(spec, plugin, line)
                pipe.sections.append(_plugin_section("OUTPUT", plugin.lower(), body, path, at))
    pipe.sections.extend(forwards)
    return pipe


# ------------------------------------------------------------------ fluent/fluent-bit chart values

_FB_VALUE_KEYS = ("fluent-bit", "fluentbit", "fluent_bit", "fluentBit")


def chart_values_config(data: Any) -> tuple[dict[str, tuple[str, int]], int] | None:
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
                main.append((v, block_start(cfg, key, v)))
        if not main or not any(looks_classic(v) for v, _ in main):
            continue
        # the chart joins the pieces into fluent-bit.conf; keep each piece's lines
        for i, (v, first) in enumerate(main):
            files[f"fluent-bit.conf#{i}"] = (v, first)
        cp = cfg.get("customParsers")
        if isinstance(cp, str):
            files["custom_parsers.conf"] = (cp, block_start(cfg, "customParsers", cp))
        extra = cfg.get("extraFiles")
        if isinstance(extra, dict):
            for k, v in extra.items():
                if isinstance(k, str) and isinstance(v, str):
                    files[k] = (v, block_start(extra, k, v))
        return files, line_of(cfg)
    return None


__all__ = [
    "FLUENT_OPERATOR_KINDS",
    "Pipeline",
    "Prop",
    "Resolver",
    "Section",
    "block_start",
    "chart_values_config",
    "has_section",
    "include_refs",
    "looks_classic",
    "looks_fluentd",
    "looks_yaml_format",
    "parse_classic",
    "pipeline_from_map",
    "pipeline_of_configmap",
    "pipeline_of_fluent_operator",
    "read_yaml_format",
    "Resolved",
    "Included",
    "Includer",
    "Unresolved",
]
