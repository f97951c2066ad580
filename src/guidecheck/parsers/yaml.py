"""Safe, bounded YAML and JSON reading with a line for every node.

The C parser of ruamel.yaml (libyaml) turns the text into events; this module
builds plain ``dict``/``list`` subclasses from them, in one iterative pass, and
remembers where each key and item came from.  No node graph is composed and
nothing recurses, so no input can exhaust the C or the Python stack (the C
composer of ruamel.yaml crashes the process on 100,000 nested ``- `` items).
On the way it enforces what the libraries do not:

* only standard YAML tags are constructed (``!!python/...`` and other
  languages' global tags are errors, never code); an application's local tags
  (GitLab's ``!reference``, mkdocs' ``!ENV``), and a scalar's global tag of no
  language (``!!string``, which go-yaml keeps as text), are read as the plain
  data they tag;
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NoReturn, Protocol, cast

from guidecheck.lazyre import lazy
from guidecheck.model import LoadError

YAML_TAG = "tag:yaml.org,2002:"
DOC_MARKER = lazy(r"^---(?=[ \t\r\n]|$)", re.M)
# go-yaml v2 yamlStyleFloat, applied after '_' is removed
_YAML_FLOAT = lazy(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_DOT_FLOAT = lazy(r"^\.[0-9]+(?:[eE][-+]?[0-9]+)?$")
_INT_DIGITS = {
    "x": (16, lazy(r"^[0-9a-fA-F]{1,16}$")),
    "o": (8, lazy(r"^[0-7]{1,22}$")),
    "b": (2, lazy(r"^[01]{1,64}$")),
}
_DEC = lazy(r"^[0-9]{1,20}$")
_OCT = lazy(r"^0[0-7]{1,22}$")
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
    """The bounds every YAML read is held to, enforced while parsing."""

    max_depth: int = 100  # nested mappings/sequences in one document
    max_alias_nodes: int = 100_000  # nodes reached again through aliases, per document
    max_line_length: int = 512 * 1024  # characters


class YMap(dict[Any, Any]):
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


class YSeq(list[Any]):
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


class MappedText(str):
    """A multi-line string value whose lines sit on the given lines of the file it is reported on: a
    ConfigMap's block of Fluent Bit configuration or alert rules rendered by Helm, each line on the template
    line that produced it (:func:`guidecheck.parsers.helm_template._remap`). Otherwise a plain ``str``."""

    lines: list[int]


def text_line(text: str, first: int, index: int) -> int:
    """The line of line ``index`` (0-based) of a multi-line value whose text starts on line ``first``."""
    lines = getattr(text, "lines", None)
    if lines is not None and 0 <= index < len(lines):
        return int(lines[index])
    return first + index


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


@dataclass
class Document:
    """One document of a YAML stream: its data and the errors found reading it."""

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


_CORE_INT = lazy(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = lazy(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CORE_WORDS: dict[str, Any] = {
    **{w: True for w in ("true", "True", "TRUE")},
    **{w: False for w in ("false", "False", "FALSE")},
    **{w: None for w in ("", "~", "null", "Null", "NULL")},
    **{w: math.inf for w in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{w: -math.inf for w in ("-.inf", "-.Inf", "-.INF")},
    **{w: math.nan for w in (".nan", ".NaN", ".NAN")},
}


def resolve_core(text: str) -> Any:
    """The value of an untagged plain scalar in YAML 1.2's core schema (OpenAPI documents): ``yes``, ``n`` and
    ``on`` are text, ``0777`` is 777."""
    v = _CORE_WORDS.get(text, _CORE_WORDS)
    if v is not _CORE_WORDS:
        return v
    if text[0] in _HINT_NUM or text[0] == ".":
        if _CORE_INT.fullmatch(text):
            return int(text, 8) if text.startswith("0o") else int(text, 16) if text.startswith("0x") else int(text)
        if len(text) < 400 and _CORE_FLOAT.fullmatch(text):
            f = float(text)
            if not math.isinf(f):
                return f
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
    short = tag[len(YAML_TAG) :]
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
    elif "/" not in short and short.isalnum():
        # a global tag of no language (helm/charts' pgadmin writes `!!string 5`): go-yaml, which Helm and
        # Kubernetes read manifests with, keeps the scalar's text; a language's tag (!!python/object, ...) is
        # never read
        return text
    else:
        raise YamlError(f"unsupported YAML tag '!!{_short_text(short)}': only standard tags are read", line, col)
    raise YamlError(f"{_short_text(text)!r} cannot be read as !!{short}", line, col)


def _short_text(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tag_name(tag: str) -> str:
    if tag.startswith(YAML_TAG):
        return "!!" + tag[len(YAML_TAG) :]
    return tag


# ------------------------------------------------------------------ builder


class _Mark(Protocol):
    line: int  # 0-based
    column: int  # 0-based


class _Event(Protocol):
    """What the builder reads of a parser event (libyaml's or ruamel.yaml's, the same attributes)."""

    start_mark: _Mark
    anchor: str | None


class _ScalarEvent(_Event, Protocol):
    ctag: object | None  # a ruamel.yaml Tag; str() gives the full tag
    value: str
    style: str | None  # None for a plain scalar


class _CollectionStartEvent(_Event, Protocol):
    ctag: object | None
    flow_style: bool | None


class _Parser(Protocol):
    def get_event(self) -> Any: ...  # an event (the C parser's are untyped)

    def dispose(self) -> None: ...


_events: ModuleType | None = None


def _event_classes() -> ModuleType:
    global _events
    if _events is None:
        from ruamel.yaml import events as ev

        _events = ev
    return _events


def _parser(text: str) -> _Parser:
    """libyaml's parser (ruamel.yaml.clib), or ruamel.yaml's pure-Python one where it is missing."""
    try:
        from _ruamel_yaml import CParser  # noqa: PLC2701 - ruamel.yaml's C extension, imported as ruamel.yaml does
    except ImportError:  # pragma: no cover - the clib wheel is a dependency
        return _PureParser(text)
    parser: _Parser = CParser(text)
    return parser


class _PureParser:
    """The same event stream from ruamel.yaml's pure-Python parser (slower, same results)."""

    def __init__(self, text: str):
        from ruamel.yaml import YAML

        self.get_event = iter(YAML(typ="safe", pure=True).parse(text)).__next__

    def dispose(self) -> None:
        pass


_OPEN = object()  # an anchored collection that is still being built
# the pending key of the collection being built: what the next finished value is for
_NOKEY = object()  # a mapping waiting for its next key
_MERGE = object()  # a mapping whose pending key is '<<'
_ITEM = object()  # a sequence: the next value is its next item
_ROOT = object()  # no collection open: the next value is the document's root

# what an anchor names: (value, number of nodes in it), or _OPEN while its collection is being built
_Anchored = tuple[Any, int]
# merge sources of the mapping being built: (value after '<<', its line, its column)
_Merges = list[tuple[Any, int, int]]
# an open collection, saved while a nested one is built:
# (node, pending key, key line, key column, anchor, node count at its start, merge sources, flow style)
_Frame = tuple[Any, Any, int, int, "str | None", int, "_Merges | None", bool]


class _Builder:
    """Builds documents from a libyaml event stream, one event at a time.

    ``_loop`` is the hot path: it keeps the collection being built in local
    variables and handles scalars itself; opening and closing a collection and
    aliases are methods.  The pending key says where the next value goes
    (``_NOKEY``: it is a key; ``_ITEM``: a sequence item; ``_ROOT``: the document).
    """

    def __init__(self, limits: Limits, resolve: Callable[[str], Any] | None = None):
        self.limits = limits
        self.resolve = resolve or resolve_plain  # how plain scalars read (go-yaml v2's YAML 1.1, or 1.2's core)
        self._open_flow: tuple[int, int, str] | None = None  # innermost open flow collection: (line, column, kind)
        self._flows: list[tuple[int, int, str] | None] = []  # the flow collections around it
        self._anchors: dict[str, _Anchored | object] = {}
        self._alias_nodes = 0

    def run(self, text: str, off: int, docs: list[Document], pure: bool = False) -> tuple[YamlError, int] | None:
        """Append the documents of ``text`` (lines shifted by ``off``) to ``docs``.

        Returns None when the whole text was read, or (error, line of the
        start of the document it stopped in) at the first error in a document.
        """
        ev = _event_classes()
        p: _Parser = _PureParser(text) if pure else _parser(text)
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
        except Exception as exc:  # noqa: BLE001 - MarkedYAMLError and friends from the parser
            err = _mark_error(exc, off, text)
            docs.append(Document(len(docs), err.line, None, [LoadError(err.message, err.line, err.column)]))
            return err, doc_line
        finally:
            p.dispose()

    def document(self, get: Callable[[], Any], off: int) -> tuple[Any, int, list[LoadError]]:
        """Build one document from its events (after DocumentStart, through DocumentEnd)."""
        self._open_flow = None
        self._flows = []
        self._anchors = {}
        self._alias_nodes = 0
        try:
            return self._loop(get, off)
        except (YamlError, _ParseFailed):
            raise
        except Exception as exc:  # noqa: BLE001 - the parser's errors
            raise _ParseFailed(exc, self._open_flow) from None

    def _loop(self, get: Callable[[], Any], off: int) -> tuple[Any, int, list[LoadError]]:
        ev = _event_classes()
        Scalar, Alias = ev.ScalarEvent, ev.AliasEvent  # noqa: N806 - classes
        starts = (ev.MappingStartEvent, ev.SequenceStartEvent)
        ends = (ev.MappingEndEvent, ev.SequenceEndEvent)
        resolve = self.resolve
        anchors = self._anchors
        errors: list[LoadError] = []
        stack: list[_Frame] = []
        root: Any = None
        root_line = 0
        count = 0  # nodes built, aliases expanded included
        # the collection being built: a YMap, a YSeq (key is _ITEM) or None (key is _ROOT)
        cur: Any = None
        key: Any = _ROOT
        kl = kc = 0  # the pending key's line and column
        anchor: str | None = None  # its anchor, the node count at its start, its merge sources, flow style
        start_count = 0
        merges: _Merges | None = None
        flow = False

        while True:
            e = get()
            t = type(e)
            if t is Scalar:
                m = e.start_mark
                line = m.line + 1 + off
                col = m.column + 1
                count += 1
                if key is _NOKEY:  # a key: its text (Kubernetes makes every key a string)
                    key = e.value if e.ctag is None and e.value != "<<" else _scalar_key(e, line, col)
                    kl = line
                    kc = col
                    if e.anchor is not None:
                        anchors[e.anchor] = (e.value, 1)
                    continue
                if e.ctag is None:
                    value = e.value if e.style else resolve(e.value)
                else:
                    value = _tagged_value(str(e.ctag), e.value, line, col)
                if e.anchor is not None:
                    anchors[e.anchor] = (value, 1)
            elif t in starts:
                stack.append((cur, key, kl, kc, anchor, start_count, merges, flow))
                cur, key, anchor, flow = self._open(e, t is starts[0], key is _NOKEY, len(stack), off)
                start_count = count
                merges = None
                count += 1
                continue
            elif t in ends:
                value = cur
                self._close(value, merges, anchor, count - start_count, flow)
                cur, key, kl, kc, anchor, start_count, merges, flow = stack.pop()
                line = value.line
                col = value.col
            elif t is Alias:
                value, line, col, size = self._alias(e, off)
                count += size
                if key is _NOKEY:
                    key = _alias_key(value, line, col)
                    kl = line
                    kc = col
                    continue
            else:  # DocumentEndEvent
                return root, root_line, errors

            # place the value
            if key is _ITEM:
                cur.append(value)
                cur._pos.append((line, col))
            elif key is _ROOT:
                root = value
                root_line = line
            elif key is _MERGE:
                merges = _add_merge(merges, value, line, col)
                key = _NOKEY
            else:
                pos = cur._pos
                if key in pos:
                    errors.append(_duplicate_key(key, pos[key][0], kl, kc))
                cur[key] = value
                pos[key] = (kl, kc, line, col)
                key = _NOKEY

    def _open(
        self, e: _CollectionStartEvent, is_map: bool, as_key: bool, depth: int, off: int
    ) -> tuple[YMap | YSeq, object, str | None, bool]:
        """A mapping or sequence starts: (the new node, its pending key, its anchor, its flow style)."""
        m = e.start_mark
        line = m.line + 1 + off
        col = m.column + 1
        if as_key:
            raise YamlError("unhashable key: a sequence or mapping used as a mapping key", line, col)
        if e.ctag is not None:
            _check_collection_tag(str(e.ctag), is_map, line, col)
        if depth > self.limits.max_depth:
            raise _StopStream(f"nesting too deep (more than {self.limits.max_depth} levels)", line, col)
        flow = bool(e.flow_style)
        if flow:
            self._flows.append(self._open_flow)
            self._open_flow = (line, col, "mapping" if is_map else "sequence")
        if e.anchor is not None:
            self._anchors[e.anchor] = _OPEN
        if is_map:
            return YMap(line, col), _NOKEY, e.anchor, flow
        return YSeq(line, col), _ITEM, e.anchor, flow

    def _close(self, value: YMap | YSeq, merges: _Merges | None, anchor: str | None, size: int, flow: bool) -> None:
        """A mapping or sequence ends: apply its merge keys, let its anchor name it."""
        if merges:
            assert isinstance(value, YMap)  # only a mapping has '<<' keys
            self.merge(value, merges)
        if anchor is not None and self._anchors.get(anchor) is _OPEN:
            self._anchors[anchor] = (value, size)
        if flow:
            self._open_flow = self._flows.pop()

    def _alias(self, e: _Event, off: int) -> tuple[Any, int, int, int]:
        """The value an alias names: (value, line, column, number of its nodes)."""
        m = e.start_mark
        line = m.line + 1 + off
        col = m.column + 1
        name = e.anchor or ""  # an alias event always names its anchor
        entry = self._anchors.get(name)
        if entry is None:
            raise YamlError(f"undefined alias '*{_short_text(name)}'", line, col)
        if entry is _OPEN:
            raise YamlError(f"recursive alias: '*{_short_text(name)}' is inside the node it refers to", line, col)
        value, size = cast(_Anchored, entry)
        self._alias_nodes += size
        max_alias = self.limits.max_alias_nodes
        if self._alias_nodes > max_alias:
            raise YamlError(
                f"alias expansion limit exceeded (more than {max_alias} nodes reached through aliases)", line, col
            )
        return value, line, col, size

    @staticmethod
    def merge(value: YMap, merges: _Merges) -> None:
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


def _scalar_key(e: _ScalarEvent, line: int, col: int) -> Any:
    """The key a scalar makes: its text, or _MERGE for ``<<`` (plain) and ``!!merge``."""
    text = e.value
    tag = e.ctag
    if tag is None:
        return _MERGE if (text == "<<" and not e.style) else text
    tag = str(tag)
    if tag == YAML_TAG + "merge":
        return _MERGE
    if tag.startswith("!") or tag in _KEY_TAGS:
        return text
    raise YamlError(f"unsupported YAML tag {_short_text(tag)!r}: only standard tags are read", line, col)


def _alias_key(value: Any, line: int, col: int) -> str:
    """The key an alias makes: the text of the scalar it names."""
    if isinstance(value, (dict, list)):
        raise YamlError("unhashable key: an alias to a sequence or mapping used as a mapping key", line, col)
    return value if isinstance(value, str) else _key_text(value)


def _add_merge(merges: _Merges | None, value: Any, line: int, col: int) -> _Merges:
    """The merge sources of a mapping, with the value of one more '<<' key."""
    if merges is None:
        merges = []
    merges.append((value, line, col))
    return merges


def _duplicate_key(key: Any, first: int, line: int, col: int) -> LoadError:
    return LoadError(
        f"duplicate key {_short_text(str(key), 80)!r} at lines {first} and {line} "
        "(the last value is used, as Kubernetes does)",
        line,
        col,
        checked=True,
    )


def _tagged_value(tag: str, text: str, line: int, col: int) -> Any:
    """A scalar value with an explicit tag."""
    if tag.startswith("!"):
        return text  # an application's local tag (!ENV, !reference): plain data
    if tag.startswith(YAML_TAG):
        return _tagged_scalar(tag, text, line, col)
    raise YamlError(f"unsupported YAML tag {_short_text(tag)!r}: only standard tags are read", line, col)


def _check_collection_tag(tag: str, is_map: bool, line: int, col: int) -> None:
    """A mapping or sequence may carry a local tag or its own standard one (``!!map``, ``!!seq``)."""
    want = YAML_TAG + ("map" if is_map else "seq")
    if not tag.startswith("!") and tag != want:
        what = "mapping" if is_map else "sequence"
        raise YamlError(
            f"unsupported YAML tag {_short_text(_tag_name(tag))!r} on a {what}: only standard tags are read", line, col
        )


def _key_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------ parse errors


def _mark_error(exc: Exception, off: int, text: str, opened: tuple[int, int, str] | None = None) -> _StopStream:
    """A parser error as a message at the line where the fix most likely goes."""
    # a MarkedYAMLError's parts (ruamel.yaml's or the C parser's); other exceptions have none
    mark: _Mark | None = getattr(exc, "problem_mark", None)
    cmark: _Mark | None = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if mark is None:
        if cmark is None:
            first = str(exc).split("\n")[0] or type(exc).__name__
            return _StopStream(f"not valid YAML: {_short_text(first, 200)}", 1 + off)
        mark = cmark
    line, col = mark.line + 1 + off, mark.column + 1
    problem = str(problem or "syntax error") + _flow_value_hint(text, mark.line)
    if "cannot start any token" in problem:
        ch = _char_at(text, mark.line, mark.column)
        if ch == "\t":
            return _StopStream("tab character in indentation (YAML indentation must use spaces)", line, col)
        if ch and not ch.isspace():
            # ruamel.yaml does not say which character; '%', '@' and '`' are reserved at the start of a value
            hint = ": quote the value" if ch in "%@`" and not _at_placeholder(text, mark.line, mark.column) else ""
            return _StopStream(f"character {ch!r} cannot start a YAML token here{hint}", line, col)
    if opened is not None and opened[0] < line:
        # a bracket left open: where it was opened is where the fix goes
        return _StopStream(
            f"flow {opened[2]} opened here is not closed, or has a syntax error: {problem} "
            f"at line {line}, column {col}",
            opened[0],
            opened[1],
        )
    if context and cmark is not None:
        cl, cc = cmark.line + 1 + off, cmark.column + 1
        if str(context).startswith(("while scanning a quoted scalar", "while parsing a flow")) and cl < line:
            what = str(context).replace("while scanning ", "").replace("while parsing ", "")
            return _StopStream(
                f"{what.removeprefix('a ')} opened here is not closed, or has a syntax error: "
                f"{problem} at line {line}, column {col}",
                cl,
                cc,
            )
        if str(context).startswith("while scanning a simple key") and cl < line:
            # a line of text with no ':' in a mapping: the parser only notices on the next line, while the fix goes
            # on this one (a template line `{{ ... }}` left in, a key whose ':' is missing)
            return _StopStream(
                f"{problem}: this text is read as a mapping key and has no ':' (the parser stopped at line {line}, "
                f"column {col})",
                cl,
                cc,
            )
        if (cl, cc) != (line, col):
            return _StopStream(f"{problem} ({context} at line {cl})", line, col)
        if str(context).endswith("token"):
            # "while scanning for the next token: found ..." reads as a token's value to the secret masking
            return _StopStream(f"{problem} ({context})", line, col)
        return _StopStream(f"{context}: {problem}", line, col)
    return _StopStream(problem, line, col)


# a value that opens a flow collection and goes on after closing it: `image: {username}/app:1.0` (a
# documentation placeholder), `args: [a]-b`
_FLOW_VALUE = lazy(r"(?:^|:[ \t]|-[ \t])[ \t]*([\[{])[^\[\]{}\n]*[\]}][^\s,#\]}]")


def _flow_value_hint(text: str, line: int) -> str:
    """A hint for the parse error on (0-based) ``line`` when a value there starts with '{' or '[' but does not
    end with its closing bracket: YAML reads it as a flow collection."""
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    m = _FLOW_VALUE.search(text, start, end if end >= 0 else len(text))
    if m is None:
        return ""
    what = "mapping" if m.group(1) == "{" else "sequence"
    return f"; a value starting with '{m.group(1)}' is read as a flow {what}: quote the whole value"


def _at_placeholder(text: str, line: int, column: int) -> bool:
    """Whether a configure-style ``@NAME@`` placeholder starts there (solr-operator's antora.template.yml holds
    ``@PRERELEASE_LINE@`` where a script writes lines): a template, which quoting would not fix."""
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return False
    return re.match(r"@[A-Z][A-Z0-9_]*@", text[start + column : start + column + 80]) is not None


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


def iter_chunks(text: str) -> Iterator[tuple[int, int, str]]:
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


def load_yaml(text: str, limits: Limits = Limits(), core: bool = False) -> list[Document]:
    """Parse a YAML stream into documents; never raises for bad input.

    The whole stream is read in one pass.  When the parser cannot go on (a
    syntax error, nesting too deep), the document it stopped in gets the error
    and reading resumes, one document at a time, at the next ``---`` marker.

    A large CustomResourceDefinition's ``spec`` (its schema) is checked by
    libyaml but not built; see ``without_crd_schemas``.

    Plain scalars read as Kubernetes' go-yaml v2 reads them (YAML 1.1: ``on``, ``n`` and ``0777`` are a
    boolean, a boolean and an octal number), or with ``core`` as YAML 1.2's core schema reads them, which the
    OpenAPI specification prescribes (``name: n`` is a name).
    """
    if type(text) is not str:
        text = str(text)  # a MappedText: libyaml takes a str only
    try:
        _check_lines(text, limits)
    except YamlError as exc:
        return [Document(0, exc.line, None, [LoadError(exc.message, exc.line, exc.column)])]
    slim = without_crd_schemas(text)
    if slim is not text:
        docs = _load(slim, limits, core)
        if not any(d.errors for d in docs) and _syntax_ok(text):
            return docs
    return _load(text, limits, core)


BIG_CRD = 64 * 1024  # a CustomResourceDefinition document from this size on is built without its spec
# line starts, matched from the newline before them (a literal first character keeps the search fast)
_DOC_MARK = lazy(r"\n(?:---|\.\.\.)(?=[ \t\r\n]|$)")
_CRD_KIND = lazy(r"\nkind:[ \t]*([\"']?)CustomResourceDefinition\1[ \t\r]*(?=\n|$)")
_SPEC_LINE = lazy(r"\nspec:[ \t]*(?:#[^\n]*)?(?=\n|$)")
_TOP_KEY = lazy(r"\n[\"']?[A-Za-z_][\w-]*[\"']?[ \t]*:")
_ANCHOR = lazy(r"&[^\s\[\]{},&]")  # an anchor, if it stands where a node may start
_NODE_START = lazy(r"(?:^[ \t]*|[-:?][ \t]+|[\[{,][ \t]*)$", re.M)
_FLOW_CHAR = lazy(r"[\[\]{}]")
# libyaml's own parse costs the square of the flow nesting (27 s at 100,000 levels); a blanked block is
# parsed by it alone, so one whose brackets (quoted ones counted too) could nest deeper is built instead
_MAX_SKIPPED_FLOW = 64


def without_crd_schemas(text: str) -> str:
    """``text`` with the ``spec:`` block of each large CustomResourceDefinition document blanked, line for line.

    Operator repositories and their release bundles hold megabytes of CRD schemas (kserve 118 MB of YAML,
    argo-workflows' kustomize output 11.5 MB); building them took most of a scan's time and memory, though no
    rule reads a CRD's schema. The lines stay (as empty ones), so every later object keeps its line numbers;
    the CRD keeps its apiVersion, kind, metadata and status. Returns ``text`` itself when nothing is blanked.
    Left whole, for the builder and its bounds to judge: a document with more than one top-level ``spec:``
    (a duplicate key), a spec with an anchor (aliases) or with flow brackets nested deeper than 64.
    """
    if len(text) < BIG_CRD or "CustomResourceDefinition" not in text:
        return text
    bounds = [0, *(m.start() + 1 for m in _DOC_MARK.finditer(text)), len(text)]
    pieces: list[str] = []
    last = 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b - a < BIG_CRD or not _CRD_KIND.search(text, max(0, a - 1), b):
            continue
        specs = list(_SPEC_LINE.finditer(text, max(0, a - 1), b))
        if len(specs) != 1:
            continue
        start = specs[0].start() + 1
        nxt = _TOP_KEY.search(text, specs[0].end(), b)
        end = nxt.start() + 1 if nxt else b
        if _has_anchor(text, start, end) or _flow_depth(text, start, end) > _MAX_SKIPPED_FLOW:
            continue
        pieces += (text[last:start], "\n" * text.count("\n", start, end))
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _has_anchor(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` may hold an anchor: an ``&name`` where a node may start (CEL's ``&&``,
    ``a & b`` and ``R&D`` in descriptions are none)."""
    for m in _ANCHOR.finditer(text, start, end):
        line_start = text.rfind("\n", start, m.start()) + 1
        if _NODE_START.search(text, line_start, m.start()):
            return True
    return False


def _flow_depth(text: str, start: int, end: int) -> int:
    """An upper bound of the flow nesting in ``text[start:end]`` (brackets inside strings count too), or 0
    when there are no more brackets than ``_MAX_SKIPPED_FLOW``."""
    if text.count("[", start, end) + text.count("{", start, end) <= _MAX_SKIPPED_FLOW:
        return 0  # too few brackets to nest that deep (the usual schema: block style)
    depth = deepest = 0
    for c in _FLOW_CHAR.findall(text, start, end):
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def _syntax_ok(text: str) -> bool:
    """Whether libyaml reads the whole of ``text`` without a syntax error (no Python objects made)."""
    try:
        from _ruamel_yaml import CParser  # noqa: PLC2701 - ruamel.yaml's C extension
    except ImportError:  # pragma: no cover - the clib wheel is a dependency
        return False
    parser = CParser(text)
    try:
        parser.raw_parse()
    except Exception:  # noqa: BLE001 - any parser error: the full parse reports it
        return False
    finally:
        parser.dispose()
    return True


def _load(text: str, limits: Limits, core: bool = False) -> list[Document]:
    builder = _Builder(limits, resolve_core if core else None)
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


def _run_with_fallback(builder: _Builder, text: str, off: int, docs: list[Document]) -> tuple[YamlError, int] | None:
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


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"non-standard JSON constant {name}")


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for k, _ in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k[:80]!r}")
        seen.add(k)
    return dict(pairs)


_LONE_SURROGATE = lazy(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|"
    r"(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


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


def json_depth_error(text: str, max_depth: int) -> LoadError | None:
    """Where JSON ``text`` nests deeper than ``max_depth`` (before any decoder recurses), or None."""
    return _json_depth(text, max_depth)


_JSON_TOKENS = lazy(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


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
    root_box: list[Any] = [None]
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
