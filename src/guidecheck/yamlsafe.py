"""Safe, bounded YAML and JSON reading with a line for every node.

The C parser of ruamel.yaml composes the node graph (fast, keeps marks); this
module turns nodes into plain ``dict``/``list`` subclasses that remember where
each key and item came from.  On the way it enforces what the libraries do not:

* only standard YAML tags are constructed (``!!python/...`` is an error, never
  code), plus a caller-given allow-list of local tags kept as plain data
  (GitLab's ``!reference``);
* YAML 1.1 scalars are resolved as Kubernetes (go-yaml v2) resolves them:
  ``on``/``yes``/``y`` are true, ``0777`` is octal;
* duplicate keys are reported with both lines (the last value is kept, as
  Kubernetes' JSON decoding does);
* nesting depth, alias expansion and alias cycles are bounded;
* one bad document does not lose the others in a multi-document stream.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from guidecheck.model import LoadError

YAML_TAG = "tag:yaml.org,2002:"
STD_SCALARS = {"str", "int", "float", "bool", "null", "timestamp", "binary"}
DOC_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t]|$)", re.M)
_FLOW_CHARS = re.compile(r"[\[\]{}]")
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


@dataclass(frozen=True)
class Limits:
    max_depth: int = 100
    max_alias_nodes: int = 100_000  # nodes reachable again through aliases
    max_line_length: int = 512 * 1024


class YMap(dict):
    """A mapping that remembers the line/column of itself and of each key."""

    __slots__ = ("line", "col", "_pos")

    def __init__(self, line: int = 1, col: int = 1):
        super().__init__()
        self.line = line
        self.col = col
        self._pos: dict[Any, tuple[int, int, int, int]] = {}

    def key_line(self, key: Any, default: int | None = None) -> int:
        pos = self._pos.get(key)
        return pos[0] if pos else (default if default is not None else self.line)

    def key_col(self, key: Any) -> int:
        pos = self._pos.get(key)
        return pos[1] if pos else self.col

    def value_line(self, key: Any, default: int | None = None) -> int:
        pos = self._pos.get(key)
        return pos[2] if pos else (default if default is not None else self.line)

    def value_col(self, key: Any) -> int:
        pos = self._pos.get(key)
        return pos[3] if pos else self.col


class YSeq(list):
    """A sequence that remembers the line/column of itself and of each item."""

    __slots__ = ("line", "col", "_pos")

    def __init__(self, line: int = 1, col: int = 1):
        super().__init__()
        self.line = line
        self.col = col
        self._pos: list[tuple[int, int]] = []

    def item_line(self, index: int) -> int:
        try:
            return self._pos[index][0]
        except IndexError:
            return self.line

    def item_col(self, index: int) -> int:
        try:
            return self._pos[index][1]
        except IndexError:
            return self.col


def line_of(value: Any, default: int = 1) -> int:
    return getattr(value, "line", default)


@dataclass
class Document:
    index: int  # 0-based position in the stream
    line: int  # first line of the document's content
    data: Any = None
    errors: list[LoadError] = field(default_factory=list)


class YamlError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


_yaml_instance = None


def _yaml():
    global _yaml_instance
    if _yaml_instance is None:
        from ruamel.yaml import YAML

        y = YAML(typ="safe", pure=False)
        y.version = (1, 1)
        _yaml_instance = y
    return _yaml_instance


def _check_lines(text: str, limits: Limits, line_offset: int = 0) -> None:
    if len(text) <= limits.max_line_length:
        return
    pos = 0
    lineno = 1
    for line in text.split("\n"):
        if len(line) > limits.max_line_length:
            raise YamlError(
                f"line is {len(line)} characters long, over the limit of "
                f"{limits.max_line_length}; file not parsed",
                lineno + line_offset,
            )
        pos += len(line) + 1
        lineno += 1


def _check_flow_depth(text: str, limits: Limits, line_offset: int = 0) -> None:
    """Refuse deeply nested flow collections before the parser sees them."""
    if text.count("[") + text.count("{") <= limits.max_depth:
        return
    depth = 0
    for m in _FLOW_CHARS.finditer(text):
        if m.group() in "[{":
            depth += 1
            if depth > limits.max_depth:
                line = text.count("\n", 0, m.start()) + 1 + line_offset
                raise YamlError(
                    f"nesting too deep (more than {limits.max_depth} levels); file not parsed",
                    line,
                )
        elif depth:
            depth -= 1


def _mark_error(exc: Exception, line_offset: int) -> YamlError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    text = " ".join(str(p) for p in (context, problem) if p) or str(exc).split("\n")[0]
    if mark is not None:
        return YamlError(text, mark.line + 1 + line_offset, mark.column + 1)
    return YamlError(text, 1 + line_offset)


class _Converter:
    def __init__(self, limits: Limits, line_offset: int, local_tags: frozenset[str]):
        self.limits = limits
        self.off = line_offset
        self.local_tags = local_tags
        self.memo: dict[int, tuple[Any, int]] = {}
        self.active: set[int] = set()
        self.alias_nodes = 0
        self.errors: list[LoadError] = []

    def pos(self, node) -> tuple[int, int]:
        m = node.start_mark
        return m.line + 1 + self.off, m.column + 1

    def convert(self, node, depth: int = 0) -> tuple[Any, int]:
        """Return (value, number of nodes under it)."""
        nid = id(node)
        if nid in self.active:
            raise YamlError("recursive alias: a node contains itself", *self.pos(node))
        if nid in self.memo:
            value, size = self.memo[nid]
            self.alias_nodes += size
            if self.alias_nodes > self.limits.max_alias_nodes:
                raise YamlError(
                    f"alias expansion limit exceeded (more than {self.limits.max_alias_nodes} "
                    "nodes reached through aliases)",
                    *self.pos(node),
                )
            return value, size
        if depth > self.limits.max_depth:
            raise YamlError(f"nesting too deep (more than {self.limits.max_depth} levels)", *self.pos(node))
        tag = node.tag or ""
        node_id = node.id
        if tag.startswith(YAML_TAG):
            short = tag[len(YAML_TAG):]
        elif tag in self.local_tags:
            short = {"scalar": "str", "sequence": "seq", "mapping": "map"}[node_id]
        else:
            raise YamlError(f"unsupported YAML tag {tag!r}: only standard tags are read", *self.pos(node))
        if node_id == "scalar":
            value = self.scalar(node, short)
            size = 1
        elif node_id == "sequence":
            if short not in ("seq",):
                raise YamlError(f"unsupported YAML tag {tag!r} on a sequence", *self.pos(node))
            self.active.add(nid)
            line, col = self.pos(node)
            value = YSeq(line, col)
            size = 1
            for item in node.value:
                v, s = self.convert(item, depth + 1)
                value.append(v)
                value._pos.append(self.pos(item))
                size += s
            self.active.discard(nid)
        else:
            if short not in ("map",):
                raise YamlError(f"unsupported YAML tag {tag!r} on a mapping", *self.pos(node))
            self.active.add(nid)
            line, col = self.pos(node)
            value = YMap(line, col)
            size = 1
            merges = []
            for knode, vnode in node.value:
                if knode.tag == YAML_TAG + "merge":
                    merges.append(vnode)
                    continue
                if knode.id != "scalar":
                    raise YamlError("unhashable key: a sequence or mapping used as a mapping key", *self.pos(knode))
                key, _ = self.convert(knode, depth + 1)
                if isinstance(key, (YMap, YSeq)):
                    raise YamlError("unhashable key", *self.pos(knode))
                v, s = self.convert(vnode, depth + 1)
                kl, kc = self.pos(knode)
                if key in value:
                    first = value.key_line(key)
                    self.errors.append(
                        LoadError(
                            f"duplicate key {str(key)[:80]!r} at lines {first} and {kl} "
                            "(the last value is used, as Kubernetes does)",
                            kl,
                            kc,
                        )
                    )
                value[key] = v
                vl, vc = self.pos(vnode)
                value._pos[key] = (kl, kc, vl, vc)
                size += s + 1
            for mnode in merges:  # YAML 1.1 merge keys: explicit keys win
                sources = mnode.value if mnode.id == "sequence" else [mnode]
                for src in sources:
                    m, s = self.convert(src, depth + 1)
                    if not isinstance(m, YMap):
                        raise YamlError("merge key '<<' needs a mapping", *self.pos(src))
                    for k, v in m.items():
                        if k not in value:
                            value[k] = v
                            value._pos[k] = m._pos.get(k, (m.line, m.col, m.line, m.col))
                    size += s
            self.active.discard(nid)
        self.memo[nid] = (value, size)
        return value, size

    def scalar(self, node, short: str) -> Any:
        text = node.value
        plain = not node.style
        if short == "str" or short == "binary":
            return text
        if short == "null":
            return None
        if short == "bool":
            return text.lower() in ("y", "yes", "true", "on")
        if short == "timestamp":
            return text
        if short == "int":
            return self.integer(node, text, plain)
        if short == "float":
            if _SEXAGESIMAL.match(text):
                return text
            t = text.replace("_", "").lower()
            if t in (".inf", "+.inf"):
                return float("inf")
            if t == "-.inf":
                return float("-inf")
            if t == ".nan":
                return float("nan")
            try:
                return float(t)
            except ValueError:
                return text
        raise YamlError(f"unsupported YAML tag '!!{short}'", *self.pos(node))

    def integer(self, node, text: str, plain: bool) -> Any:
        if _SEXAGESIMAL.match(text):
            return text  # go-yaml v2 (Kubernetes) reads 1:20 as a string
        t = text.replace("_", "")
        sign = -1 if t.startswith("-") else 1
        t = t.lstrip("+-")
        try:
            if t.startswith(("0x", "0X")):
                return sign * int(t[2:], 16)
            if t.startswith(("0o", "0O")):
                return sign * int(t[2:], 8)
            if t.startswith(("0b", "0B")):
                return sign * int(t[2:], 2)
            if len(t) > 1 and t.startswith("0"):
                return sign * int(t, 8)
            return sign * int(t)
        except ValueError as exc:
            if "digits" in str(exc):
                raise YamlError(f"integer with {len(t)} digits is too large", *self.pos(node)) from None
            return text


def _compose_chunk(text: str, line_offset: int) -> list:
    return list(_yaml().compose_all(text))


def iter_chunks(text: str) -> Iterator[tuple[int, str]]:
    """Split a stream at document markers (which YAML forbids inside content)."""
    starts = [m.start() for m in DOC_MARKER.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        yield text.count("\n", 0, start), text[start:end]


def load_yaml(text: str, limits: Limits = Limits(), local_tags: frozenset[str] = frozenset()) -> list[Document]:
    """Parse a YAML stream into documents; never raises for bad input."""
    try:
        _check_lines(text, limits)
        _check_flow_depth(text, limits)
    except YamlError as exc:
        return [Document(0, exc.line, None, [LoadError(exc.message, exc.line, exc.column)])]
    try:
        nodes = _compose_chunk(text, 0)
        chunks = [(0, nodes)]
    except RecursionError:
        return [Document(0, 1, None, [LoadError("nesting too deep", 1)])]
    except Exception:  # fall back to one document at a time
        chunks = None
    docs: list[Document] = []
    if chunks is not None:
        for node in nodes:
            docs.append(_convert_doc(node, len(docs), 0, limits, local_tags))
        return docs
    for offset, chunk in iter_chunks(text):
        try:
            nodes = _compose_chunk(chunk, offset)
        except RecursionError:
            docs.append(Document(len(docs), offset + 1, None, [LoadError("nesting too deep", offset + 1)]))
            continue
        except Exception as exc:
            err = _mark_error(exc, offset)
            docs.append(Document(len(docs), offset + 1, None, [LoadError(err.message, err.line, err.column)]))
            continue
        for node in nodes:
            docs.append(_convert_doc(node, len(docs), offset, limits, local_tags))
    return docs


def _convert_doc(node, index: int, offset: int, limits: Limits, local_tags) -> Document:
    conv = _Converter(limits, offset, local_tags)
    line = node.start_mark.line + 1 + offset
    try:
        data, _ = conv.convert(node)
    except YamlError as exc:
        return Document(index, line, None, [LoadError(exc.message, exc.line, exc.column)])
    except RecursionError:
        return Document(index, line, None, [LoadError("nesting too deep", line)])
    return Document(index, line, data, conv.errors)


# --------------------------------------------------------------------- JSON


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def _json_pairs(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k[:80]!r}")
        seen.add(k)
    return dict(pairs)


def check_json(text: str, limits: Limits = Limits()) -> LoadError | None:
    """Strict JSON validation: no NaN/Infinity, no duplicate keys, bounded depth."""
    try:
        _check_lines(text, limits)
        _check_flow_depth(text, limits)
    except YamlError as exc:
        return LoadError(exc.message, exc.line, exc.column)
    try:
        json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_json_pairs)
    except json.JSONDecodeError as exc:
        return LoadError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)
    except RecursionError:
        return LoadError("nesting too deep", 1)
    except ValueError as exc:
        msg = str(exc)
        line = 1
        # duplicate keys: find the second occurrence for a line number
        m = re.match(r"duplicate key '(.*)'$", msg)
        if m:
            needle = json.dumps(m.group(1))
            first = text.find(needle + ":")
            if first < 0:
                first = text.find(needle)
            second = text.find(needle, first + 1) if first >= 0 else -1
            if second >= 0:
                line = text.count("\n", 0, second) + 1
                msg = f"duplicate key {m.group(1)!r} at lines {text.count(chr(10), 0, first) + 1} and {line}"
        elif "digits" in msg:
            msg = "integer too large"
        return LoadError(f"invalid JSON: {msg}", line)
    return None


def load_json(text: str, limits: Limits = Limits()) -> list[Document]:
    """Validate strictly as JSON, then read through the YAML composer for lines."""
    err = check_json(text, limits)
    if err is not None:
        return [Document(0, err.line, None, [err])]
    docs = load_yaml(text.replace("\t", " "), limits)  # tabs are JSON whitespace
    if len(docs) == 1 and not docs[0].errors:
        return docs
    # valid JSON the YAML reader could not take: keep the data, lines unknown
    data = json.loads(text)
    return [Document(0, 1, _wrap(data), [])]


def _wrap(value: Any, line: int = 1) -> Any:
    if isinstance(value, dict):
        m = YMap(line, 1)
        for k, v in value.items():
            m[k] = _wrap(v, line)
        return m
    if isinstance(value, list):
        s = YSeq(line, 1)
        s.extend(_wrap(v, line) for v in value)
        return s
    return value
