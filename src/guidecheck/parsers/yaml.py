"""Safe, bounded YAML and JSON reading with a line for every node.

The C parser of ruamel.yaml (libyaml) turns the text into events; this module
builds plain ``dict``/``list`` subclasses from them, in one iterative pass, and
remembers where each key and item came from.  No node graph is composed and
nothing recurses, so no input can exhaust the C or the Python stack (the C
composer of ruamel.yaml crashes the process on 100,000 nested ``- `` items).
On the way it enforces what the libraries do not:

* only standard YAML tags are constructed (``!!python/...`` and other
  global tags are errors, never code); an application's local tags (GitLab's
  ``!reference``, mkdocs' ``!ENV``) are read as the plain data they tag;
* plain scalars are resolved as Kubernetes resolves them (go-yaml v2, under
  ``sigs.k8s.io/yaml``): ``on``/``yes``/``y`` are true, ``off``/``no``/``n``
  false, ``0777`` is octal, ``1_000`` is 1000, ``1:20`` and timestamps stay
  strings.  Mapping keys are always the key's text (``80: x`` has the key
  ``"80"``), as Kubernetes turns keys into JSON object names;
* duplicate keys are reported with both lines (the last value is kept, as
  Kubernetes' YAML-to-JSON conversion does);
* nesting depth, alias expansion and alias cycles are bounded, and an alias
  error names the alias's own line; anchors may be redefined (YAML 1.2,
  go-yaml), an alias takes the latest definition;
* one bad document does not lose the others in a multi-document stream.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from guidecheck.model import LoadError

YAML_TAG = "tag:yaml.org,2002:"
DOC_MARKER = re.compile(r"^---(?=[ \t\r\n]|$)", re.M)
# go-yaml v2 yamlStyleFloat, applied after '_' is removed
_YAML_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+(?:[eE][-+]?[0-9]+)?$")
_INT_DIGITS = {
    "x": (16, re.compile(r"^[0-9a-fA-F]{1,16}$")),
    "o": (8, re.compile(r"^[0-7]{1,22}$")),
    "b": (2, re.compile(r"^[01]{1,64}$")),
}
_DEC = re.compile(r"^[0-9]{1,20}$")
_OCT = re.compile(r"^0[0-7]{1,22}$")
INT64_MIN, INT64_MAX, UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1

# go-yaml v2 resolve table (plain scalars whose first character hints a non-string)
_KEYWORDS: dict[str, Any] = {}
for _words, _value in (
    (("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    (("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    (("", "~", "null", "Null", "NULL"), None),
    ((".nan", ".NaN", ".NAN"), math.nan),
    ((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    (("-.inf", "-.Inf", "-.INF"), -math.inf),
):
    for _w in _words:
        _KEYWORDS[_w] = _value
_HINT_WORD = frozenset("yYnNtTfFoO~")
_KEY_TAGS = frozenset(YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "binary"))
_HINT_NUM = frozenset("0123456789+-")
_BOOL_WORDS = {k: v for k, v in _KEYWORDS.items() if isinstance(v, bool)}


@dataclass(frozen=True)
class Limits:
    max_depth: int = 100  # nested mappings/sequences in one document
    max_alias_nodes: int = 100_000  # nodes reached again through aliases, per document
    max_line_length: int = 512 * 1024  # characters


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


# Positions.  Every parsed node (YMap, YSeq, and the scalars' containers) knows its line and column;
# plain values (a str, an int, a dict built by code) do not.  These helpers are the one way to ask,
# whatever the node: a value without a position gives ``default``.


def line_of(value: Any, default: int = 1) -> int:
    """The line a parsed mapping or sequence starts on; ``default`` for anything else."""
    return getattr(value, "line", default)


def col_of(value: Any, default: int = 1) -> int:
    """The column a parsed mapping or sequence starts on; ``default`` for anything else."""
    return getattr(value, "col", default)


def key_line(node: Any, key: Any, default: int = 1) -> int:
    """The line of ``key`` in a parsed mapping; else the node's own line; else ``default``."""
    if isinstance(node, YMap) and key in node:
        return node.key_line(key)
    return line_of(node, default)


def key_col(node: Any, key: Any, default: int = 1) -> int:
    """The column of ``key`` in a parsed mapping; else the node's own column; else ``default``."""
    if isinstance(node, YMap) and key in node:
        return node.key_col(key)
    return col_of(node, default)


def value_line(node: Any, key: Any, default: int = 1) -> int:
    """The line of the value under ``key`` in a parsed mapping; else the node's own line; else ``default``."""
    if isinstance(node, YMap) and key in node:
        return node.value_line(key)
    return line_of(node, default)


def value_col(node: Any, key: Any, default: int = 1) -> int:
    """The column of the value under ``key`` in a parsed mapping; else the node's own column; else ``default``."""
    if isinstance(node, YMap) and key in node:
        return node.value_col(key)
    return col_of(node, default)


def item_line(seq: Any, index: int, default: int = 1) -> int:
    """The line of item ``index`` of a parsed sequence; else the node's own line; else ``default``."""
    if isinstance(seq, YSeq):
        return seq.item_line(index)
    return line_of(seq, default)


def item_col(seq: Any, index: int, default: int = 1) -> int:
    """The column of item ``index`` of a parsed sequence; else the node's own column; else ``default``."""
    if isinstance(seq, YSeq):
        return seq.item_col(index)
    return col_of(seq, default)


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


class _StopStream(YamlError):
    """An error after which the parser cannot go on (syntax, nesting depth)."""


class _ParseFailed(Exception):
    """A parser error inside a document, with the innermost flow collection still open."""

    def __init__(self, exc: Exception, opened: tuple[int, int, str] | None):
        super().__init__(str(exc))
        self.exc = exc
        self.opened = opened


# ------------------------------------------------------------------ scalars


def resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar, as go-yaml v2 (Kubernetes) reads it."""
    if not text:
        return None
    first = text[0]
    if first in _HINT_WORD:
        return _KEYWORDS.get(text, text)
    if first in _HINT_NUM:
        return _resolve_number(text)
    if first == ".":
        v = _KEYWORDS.get(text, _KEYWORDS)
        if v is not _KEYWORDS:
            return v
        if _DOT_FLOAT.match(text):
            return float(text)
        return text
    return text


def _resolve_number(text: str) -> Any:
    v = _KEYWORDS.get(text, _KEYWORDS)
    if v is not _KEYWORDS:  # +.inf / -.inf
        return v
    plain = text.replace("_", "") if "_" in text else text
    n = _parse_go_int(plain)
    if n is not None:
        return n
    if _YAML_FLOAT.match(plain) and len(plain) < 400:
        f = float(plain)
        if not math.isinf(f):
            return f
    # sexagesimal (1:20), timestamps (2024-01-02), versions (1.2.3): strings in Kubernetes
    return text


def _parse_go_int(plain: str) -> int | None:
    """strconv.ParseInt(s, 0, 64), then ParseUint: the integer go-yaml v2 reads, or None."""
    sign = 1
    body = plain
    if body[:1] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    if len(body) > 2 and body[0] == "0" and body[1] in "xXoObB":
        base, pattern = _INT_DIGITS[body[1].lower()]
        if not pattern.match(body[2:]):
            return None
        value = sign * int(body[2:], base)
    elif len(body) > 1 and body[0] == "0":
        if not _OCT.match(body):
            return None
        value = sign * int(body, 8)
    elif _DEC.match(body):
        value = sign * int(body)
    else:
        return None
    if INT64_MIN <= value <= INT64_MAX:
        return value
    if sign == 1 and plain[0] != "+" and value <= UINT64_MAX:
        return value
    return None


def _tagged_scalar(tag: str, text: str, line: int, col: int) -> Any:
    """A scalar with an explicit standard tag (``!!int 3``)."""
    short = tag[len(YAML_TAG):]
    if short in ("str", "binary", "timestamp"):
        return text
    if short == "null":
        if text in ("", "~", "null", "Null", "NULL"):
            return None
    elif short == "bool":
        if text in _BOOL_WORDS:
            return _BOOL_WORDS[text]
    elif short == "int":
        n = _parse_go_int(text.replace("_", ""))
        if n is not None:
            return n
    elif short == "float":
        v = resolve_plain(text)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    else:
        raise YamlError(f"unsupported YAML tag '!!{_short_text(short)}': only standard tags are read", line, col)
    raise YamlError(f"{_short_text(text)!r} cannot be read as !!{short}", line, col)


def _short_text(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tag_name(tag: str) -> str:
    if tag.startswith(YAML_TAG):
        return "!!" + tag[len(YAML_TAG):]
    return tag


# ------------------------------------------------------------------ builder


_events = None


def _event_classes():
    global _events
    if _events is None:
        from ruamel.yaml import events as ev

        _events = ev
    return _events


def _parser(text: str):
    """libyaml's parser (ruamel.yaml.clib), or ruamel.yaml's pure-Python one where it is missing."""
    try:
        from _ruamel_yaml import CParser  # what ruamel.yaml itself imports
    except ImportError:  # pragma: no cover - the clib wheel is a dependency
        return _PureParser(text)
    return CParser(text)


class _PureParser:
    """The same event stream from ruamel.yaml's pure-Python parser (slower, same results)."""

    def __init__(self, text: str):
        from ruamel.yaml import YAML

        self.get_event = iter(YAML(typ="safe", pure=True).parse(text)).__next__

    def dispose(self) -> None:
        pass


_OPEN = object()  # an anchored collection that is still being built
_MERGE = object()  # the pending key is '<<'
_NOKEY = object()  # a mapping waiting for its next key


class _Builder:
    """Builds documents from a libyaml event stream, one event at a time."""

    def __init__(self, limits: Limits):
        self.limits = limits

    def run(self, text: str, off: int, docs: list[Document], pure: bool = False) -> tuple[YamlError, int] | None:
        """Append the documents of ``text`` (lines shifted by ``off``) to ``docs``.

        Returns None when the whole text was read, or (error, line of the
        start of the document it stopped in) at the first error in a document.
        """
        ev = _event_classes()
        p = _PureParser(text) if pure else _parser(text)
        get = p.get_event
        doc_line = off + 1
        try:
            get()  # StreamStartEvent
            while True:
                e = get()
                if type(e) is ev.StreamEndEvent:
                    return None
                # DocumentStartEvent
                doc_line = e.start_mark.line + 1 + off
                index = len(docs)
                try:
                    data, line, errors = self.document(get, off)
                except _ParseFailed as failed:
                    err = _mark_error(failed.exc, off, text, failed.opened)
                    docs.append(Document(index, err.line, None, [LoadError(err.message, err.line, err.column)]))
                    return err, doc_line
                except YamlError as exc:
                    # stop here rather than read the rest of a document that may be
                    # built to be slow; reading resumes at the next '---'
                    docs.append(Document(index, exc.line, None, [LoadError(exc.message, exc.line, exc.column)]))
                    return exc, doc_line
                docs.append(Document(index, line, data, errors))
        except Exception as exc:  # MarkedYAMLError and friends from the parser
            err = _mark_error(exc, off, text)
            docs.append(Document(len(docs), err.line, None, [LoadError(err.message, err.line, err.column)]))
            return err, doc_line
        finally:
            p.dispose()

    def document(self, get: Callable, off: int) -> tuple[Any, int, list[LoadError]]:
        """Build one document from its events (after DocumentStart, through DocumentEnd)."""
        self._open_flow: tuple[int, int, str] | None = None
        try:
            return self._loop(get, off)
        except (YamlError, _ParseFailed):
            raise
        except Exception as exc:  # noqa: BLE001 - the parser's errors
            raise _ParseFailed(exc, self._open_flow) from None

    def _loop(self, get: Callable, off: int) -> tuple[Any, int, list[LoadError]]:
        ev = _event_classes()
        Scalar, Alias = ev.ScalarEvent, ev.AliasEvent
        MapStart, SeqStart = ev.MappingStartEvent, ev.SequenceStartEvent
        MapEnd, SeqEnd = ev.MappingEndEvent, ev.SequenceEndEvent
        max_depth = self.limits.max_depth
        max_alias = self.limits.max_alias_nodes
        resolve = resolve_plain
        errors: list[LoadError] = []
        anchors: dict[str, Any] = {}
        stack: list[tuple] = []
        cur: Any = None
        is_map = False
        flow = False
        key: Any = _NOKEY
        kl = kc = 0
        anchor: Any = None
        start_count = 0
        merges: list | None = None
        count = 0  # nodes built, aliases expanded included
        alias_nodes = 0
        root = None
        root_line = 0
        # the open collections; the innermost one is held in locals: cur (YMap/YSeq,
        # None at the top), is_map, flow, key (pending key) and kl/kc (its place)
        self._open_flow = None  # innermost open flow collection: (line, column, kind)
        flows: list = []

        while True:
            e = get()
            t = type(e)
            if t is Scalar:
                m = e.start_mark
                line = m.line + 1 + off
                col = m.column + 1
                tag = e.ctag
                count += 1
                if is_map and key is _NOKEY:
                    # a key: its text (Kubernetes makes every key a string)
                    text = e.value
                    if tag is None:
                        key = _MERGE if (text == "<<" and not e.style) else text
                    else:
                        tag = str(tag)
                        if tag == YAML_TAG + "merge":
                            key = _MERGE
                        elif tag.startswith("!") or tag in _KEY_TAGS:
                            key = text
                        else:
                            raise YamlError(f"unsupported YAML tag {_short_text(tag)!r}: only standard tags are "
                                            "read", line, col)
                    kl = line
                    kc = col
                    if e.anchor is not None:
                        anchors[e.anchor] = (text, 1)
                    continue
                if tag is None:
                    value = e.value if e.style else resolve(e.value)
                else:
                    tag = str(tag)
                    if tag.startswith("!"):
                        value = e.value  # an application's local tag (!ENV, !reference): plain data
                    elif tag.startswith(YAML_TAG):
                        value = _tagged_scalar(tag, e.value, line, col)
                    else:
                        raise YamlError(f"unsupported YAML tag {_short_text(tag)!r}: only standard tags are read",
                                        line, col)
                if e.anchor is not None:
                    anchors[e.anchor] = (value, 1)
            elif t is MapStart or t is SeqStart:
                m = e.start_mark
                line = m.line + 1 + off
                col = m.column + 1
                if is_map and key is _NOKEY:
                    raise YamlError("unhashable key: a sequence or mapping used as a mapping key", line, col)
                tag = e.ctag
                if tag is not None:
                    tag = str(tag)
                    want = YAML_TAG + ("map" if t is MapStart else "seq")
                    if not tag.startswith("!") and tag != want:
                        what = "mapping" if t is MapStart else "sequence"
                        raise YamlError(f"unsupported YAML tag {_short_text(_tag_name(tag))!r} on a {what}: "
                                        "only standard tags are read", line, col)
                if len(stack) >= max_depth:
                    raise _StopStream(f"nesting too deep (more than {max_depth} levels)", line, col)
                stack.append((cur, is_map, key, kl, kc, anchor, start_count, merges, flow))
                cur = YMap(line, col) if t is MapStart else YSeq(line, col)
                is_map = t is MapStart
                flow = bool(e.flow_style)
                if flow:
                    flows.append(self._open_flow)
                    self._open_flow = (line, col, "mapping" if is_map else "sequence")
                key = _NOKEY
                anchor = e.anchor
                start_count = count
                merges = None
                if anchor is not None:
                    anchors[anchor] = _OPEN
                count += 1
                continue
            elif t is MapEnd or t is SeqEnd:
                value = cur
                if merges:
                    self.merge(value, merges)
                if anchor is not None and anchors.get(anchor) is _OPEN:
                    anchors[anchor] = (value, count - start_count)
                if flow:
                    self._open_flow = flows.pop()
                cur, is_map, key, kl, kc, anchor, start_count, merges, flow = stack.pop()
                line = value.line
                col = value.col
            elif t is Alias:
                m = e.start_mark
                line = m.line + 1 + off
                col = m.column + 1
                entry = anchors.get(e.anchor)
                if entry is None:
                    raise YamlError(f"undefined alias '*{_short_text(e.anchor)}'", line, col)
                if entry is _OPEN:
                    raise YamlError(f"recursive alias: '*{_short_text(e.anchor)}' is inside the node it refers to",
                                    line, col)
                value, size = entry
                alias_nodes += size
                count += size
                if alias_nodes > max_alias:
                    raise YamlError(f"alias expansion limit exceeded (more than {max_alias} nodes reached "
                                    "through aliases)", line, col)
                if is_map and key is _NOKEY:
                    if isinstance(value, (dict, list)):
                        raise YamlError("unhashable key: an alias to a sequence or mapping used as a mapping key",
                                        line, col)
                    key = value if isinstance(value, str) else _key_text(value)
                    kl = line
                    kc = col
                    continue
            else:  # DocumentEndEvent
                return root, root_line, errors

            # place the value
            if cur is None:
                root = value
                root_line = line
            elif is_map:
                if key is _MERGE:
                    if merges is None:
                        merges = []
                    merges.append((value, line, col))
                else:
                    pos = cur._pos
                    if key in pos:
                        errors.append(LoadError(
                            f"duplicate key {_short_text(str(key), 80)!r} at lines {pos[key][0]} and {kl} "
                            "(the last value is used, as Kubernetes does)", kl, kc, checked=True))
                    cur[key] = value
                    pos[key] = (kl, kc, line, col)
                key = _NOKEY
            else:
                cur.append(value)
                cur._pos.append((line, col))

    @staticmethod
    def merge(value: YMap, merges: list) -> None:
        """YAML 1.1 merge keys: explicit keys win, then earlier sources."""
        for src, line, col in merges:
            sources = src if isinstance(src, list) else [src]
            for m in sources:
                if not isinstance(m, YMap):
                    raise YamlError("merge key '<<' needs a mapping or a list of mappings", line, col)
                for k, v in m.items():
                    if k not in value:
                        value[k] = v
                        value._pos[k] = m._pos.get(k, (m.line, m.col, m.line, m.col))


def _key_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------ parse errors


def _mark_error(exc: Exception, off: int, text: str, opened: tuple[int, int, str] | None = None) -> _StopStream:
    """A parser error as a message at the line where the fix most likely goes."""
    mark = getattr(exc, "problem_mark", None)
    cmark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if mark is None and cmark is None:
        first = str(exc).split("\n")[0] or type(exc).__name__
        return _StopStream(f"not valid YAML: {_short_text(first, 200)}", 1 + off)
    if mark is None:
        mark = cmark
    line, col = mark.line + 1 + off, mark.column + 1
    problem = str(problem or "syntax error")
    if "cannot start any token" in problem and _char_at(text, mark.line, mark.column) == "\t":
        return _StopStream("tab character in indentation (YAML indentation must use spaces)", line, col)
    if opened is not None and opened[0] < line:
        # a bracket left open: where it was opened is where the fix goes
        return _StopStream(f"flow {opened[2]} opened here is not closed, or has a syntax error: {problem} "
                           f"at line {line}, column {col}", opened[0], opened[1])
    if context and cmark is not None:
        cl, cc = cmark.line + 1 + off, cmark.column + 1
        if str(context).startswith(("while scanning a quoted scalar", "while parsing a flow")) and cl < line:
            what = str(context).replace("while scanning ", "").replace("while parsing ", "")
            return _StopStream(f"{what.removeprefix('a ')} opened here is not closed, or has a syntax error: "
                               f"{problem} at line {line}, column {col}", cl, cc)
        if (cl, cc) != (line, col):
            return _StopStream(f"{problem} ({context} at line {cl})", line, col)
        return _StopStream(f"{context}: {problem}", line, col)
    return _StopStream(problem, line, col)


def _char_at(text: str, line: int, column: int) -> str:
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    i = start + column
    return text[i] if i < len(text) else ""


# ------------------------------------------------------------------ streams


def _check_lines(text: str, limits: Limits, line_offset: int = 0) -> None:
    if len(text) <= limits.max_line_length:
        return
    start = 0
    lineno = 1
    limit = limits.max_line_length
    n = len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        if end - start > limit:
            raise YamlError(
                f"line is {end - start} characters long, over the limit of {limit}; file not parsed",
                lineno + line_offset,
            )
        start = end + 1
        lineno += 1


def iter_chunks(text: str):
    """Split a stream at ``---`` document markers (which YAML forbids inside content).

    Yields (number of lines before the chunk, character offset, chunk text).
    """
    starts = [m.start() for m in DOC_MARKER.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    line = 0
    prev = 0
    for i, start in enumerate(starts):
        line += text.count("\n", prev, start)
        prev = start
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        yield line, start, text[start:end]


def load_yaml(text: str, limits: Limits = Limits()) -> list[Document]:
    """Parse a YAML stream into documents; never raises for bad input.

    The whole stream is read in one pass.  When the parser cannot go on (a
    syntax error, nesting too deep), the document it stopped in gets the error
    and reading resumes, one document at a time, at the next ``---`` marker.
    """
    try:
        _check_lines(text, limits)
    except YamlError as exc:
        return [Document(0, exc.line, None, [LoadError(exc.message, exc.line, exc.column)])]
    builder = _Builder(limits)
    docs: list[Document] = []
    stop = _run_with_fallback(builder, text, 0, docs)
    if stop is None:
        return docs
    err, doc_line = stop
    for off, _, chunk in iter_chunks(text):
        # resume at the first '---' past the start of the failed document and
        # not before the error (a document that ran into the next marker is
        # reported on the marker's line: that marker starts a good document)
        if off + 1 >= err.line and off + 1 > doc_line:
            _run_with_fallback(builder, chunk, off, docs)
    return docs


def _run_with_fallback(builder: "_Builder", text: str, off: int, docs: list[Document]):
    """Read with libyaml; where its old scanner rejects a colon inside a flow
    collection's plain scalar (``{role: arn:aws:iam::1:role/x}``, which YAML
    1.2, newer libyaml and Kubernetes' go-yaml accept), read that text again
    with ruamel.yaml's pure-Python parser, which accepts it."""
    start = len(docs)
    stop = builder.run(text, off, docs)
    if stop is None or "found unexpected ':'" not in stop[0].message or len(text) > 1024 * 1024:
        return stop
    retry: list[Document] = []
    again = builder.run(text, off, retry, pure=True)
    if again is not None and again[0].line <= stop[0].line:
        return stop  # the pure parser got no further
    del docs[start:]
    for d in retry:
        d.index = len(docs)
        docs.append(d)
    return again


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


_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|"
                             r"(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def check_json(text: str, limits: Limits = Limits()) -> LoadError | None:
    """Strict JSON validation: no NaN/Infinity, no duplicate keys, no lone surrogates, bounded depth."""
    try:
        _check_lines(text, limits)
    except YamlError as exc:
        return LoadError(exc.message, exc.line, exc.column)
    err = _json_depth(text, limits.max_depth)
    if err is not None:
        return err
    try:
        json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_json_pairs)
    except json.JSONDecodeError as exc:
        return LoadError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)
    except RecursionError:
        return LoadError("nesting too deep", 1)
    except ValueError as exc:
        msg = str(exc)
        line = 1
        m = re.match(r"duplicate key '(.*)'$", msg)
        if m:
            line, msg = _json_duplicate(text, m.group(1), msg)
        elif "digits" in msg:
            msg = "integer too large (more than 4300 digits)"
            found = re.search(r"[0-9]{4301}", text)
            if found:
                line = text.count("\n", 0, found.start()) + 1
        elif msg.startswith("non-standard JSON constant"):
            name = msg.rsplit(" ", 1)[-1]
            found = re.search(r"(?<![\"\w])-?" + re.escape(name) + r"(?![\"\w])", text)
            if found:
                line = text.count("\n", 0, found.start()) + 1
        return LoadError(f"invalid JSON: {msg}", line)
    if "\\u" in text and "\\ud" in text.lower() and _has_surrogate(text):
        found = _LONE_SURROGATE.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        return LoadError("invalid JSON: a \\u escape encodes a lone surrogate, which is not a character", line)
    return None


def _has_surrogate(text: str) -> bool:
    try:
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _json_duplicate(text: str, key: str, msg: str) -> tuple[int, str]:
    needle = json.dumps(key)
    hits = [m.start() for m in re.finditer(re.escape(needle) + r"\s*:", text)]
    if len(hits) >= 2:
        a = text.count("\n", 0, hits[0]) + 1
        b = text.count("\n", 0, hits[1]) + 1
        return b, f"duplicate key {key[:80]!r} at lines {a} and {b}"
    return 1, msg


def _json_depth(text: str, max_depth: int) -> LoadError | None:
    """Depth of brackets outside strings, before json.loads recurses into them."""
    if text.count("[") + text.count("{") <= max_depth:
        return None
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > max_depth:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                return LoadError(f"nesting too deep (more than {max_depth} levels); file not parsed", line, col)
        elif tok in "]}":
            depth -= 1
    return None


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def load_json(text: str, limits: Limits = Limits()) -> list[Document]:
    """Validate strictly as JSON, then read through the YAML parser for lines."""
    err = check_json(text, limits)
    if err is not None:
        return [Document(0, err.line, None, [err])]
    docs = load_yaml(text.replace("\t", " ") if "\t" in text else text, limits)  # tabs are JSON whitespace
    if len(docs) == 1 and not docs[0].errors:
        return docs
    # valid JSON the YAML reader could not take: keep the data, lines unknown
    data = json.loads(text)
    return [Document(0, 1, _wrap(data), [])]


def _wrap(value: Any, line: int = 1) -> Any:
    """JSON data as YMap/YSeq (line 1 everywhere), without recursion."""
    root_box: list = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root_box, 0)]
    while stack:
        v, parent, key = stack.pop()
        if isinstance(v, dict):
            out: Any = YMap(line, 1)
            for k, item in v.items():
                out[k] = None
                out._pos[k] = (line, 1, line, 1)
                stack.append((item, out, k))
        elif isinstance(v, list):
            out = YSeq(line, 1)
            out.extend([None] * len(v))
            out._pos = [(line, 1)] * len(v)
            for i, item in enumerate(v):
                stack.append((item, out, i))
        else:
            out = v
        parent[key] = out
    return root_box[0]
