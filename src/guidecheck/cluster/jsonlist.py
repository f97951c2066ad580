"""A fast path for ``kubectl get -o json`` dumps: the items of a JSON ``List``, one at a time.

The general path (:func:`guidecheck.parsers.yaml.load_json`) validates the whole text with
``json.loads`` and then reads it again through the YAML reader, for the line and column of every
key and value: the whole document is built twice, untrimmed, before its first item can be
dropped or trimmed.  Here a JSON text is read once, left to right, into the same
:class:`~guidecheck.parsers.yaml.YMap`/``YSeq`` nodes with the same positions, and the items of its
top-level ``items`` array are handed over one at a time (the caller trims them as they come).

It only reads what it reads exactly as the general path does; anything else raises
:class:`NotFast` (possibly after some items were handed over: the caller then starts again with
the general path, which reports the problem with its usual message):

* text the general path rejects or reads differently: invalid JSON, duplicate keys, nesting deeper
  than ``Limits.max_depth``, lines longer than ``Limits.max_line_length``, integers of more than 4,300
  digits, ``\\uD800``-``\\uDFFF`` escapes, characters YAML cannot hold or counts as line breaks
  (``\\x85``, U+2028, U+2029, a lone ``\\r``), a key not on one line with its ``:``;
* a top-level value that is not a mapping with ``"kind": "List"`` and an ``items`` array.

Scalars are resolved as the YAML reader resolves them (:func:`~guidecheck.parsers.yaml.resolve_plain`
for numbers, ``true``, ``false`` and ``null``; JSON's own decoding for strings).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Generator, Iterator
from json import decoder as _decoder
from typing import Any

from guidecheck.parsers.yaml import Limits, YMap, YSeq, resolve_plain


class NotFast(Exception):
    """The text is not one this fast path reads exactly as the general one does."""


# one token after optional whitespace: 1 string, 2 open, 3 close, 4 comma, 5 colon, 6 number or word
_TOKEN = re.compile(
    r"[ \t\n\r]*(?:(\")|([{\[])|([}\]])|(,)|(:)|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null))"
)
_WS = re.compile(r"[ \t\n\r]*")
# a key and its value on one line, both without escapes: 1 key, 2 string, 3 number or word, 4 open
_PAIR = re.compile(
    r'[ \t\n\r]*"([^"\\\x00-\x1f]{0,990})"[ \t]*:[ \t]*(?:"([^"\\\x00-\x1f]*)"|'
    r"(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null)|([{\[]))"
)
_SEP = re.compile(r"[ \t\n\r]*([,}\]])")
_MAP_KEY = ""  # the pending key of a mapping whose next key is still to be read (any non-None marker)
_OPENED = object()  # _token_value: a collection with items opened
# what the YAML reader refuses or counts as a line break inside a JSON string, and surrogate escapes
_ODD = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_MAX_NUMBER = 4300
_MAX_KEY = 1000  # a YAML simple key (a JSON key with its ':') spans at most 1024 characters
_intern = sys.intern
_YMap, _YSeq = YMap, YSeq
_new_map, _new_seq = YMap.__new__, YSeq.__new__  # without the Python-level __init__ (same attributes)
scanstring: Callable[[str, int, bool], tuple[str, int]] = _decoder.scanstring  # type: ignore[attr-defined]


def list_items(text: str, limits: Limits) -> Iterator[tuple[Any, int]]:
    """``(node, line)`` for each item of the List's ``items`` (``line``: where it starts), in order.

    Raises :class:`NotFast` as the module docstring says; never anything else for bad input.
    """
    if _odd(text):
        raise NotFast("characters the YAML reader treats differently")
    if len(text) > limits.max_line_length and _long_line(text, limits.max_line_length):
        raise NotFast("a line over the length limit")
    return _Reader(text, limits.max_depth).items()


def _word(text: str) -> Any:
    """A number, ``true``, ``false`` or ``null``, as the YAML reader resolves it."""
    if len(text) > _MAX_NUMBER:  # json.loads refuses integers this long: the general path reports it
        raise NotFast("a number too long")
    return resolve_plain(text)


def _long_line(text: str, limit: int) -> bool:
    """Whether a line of ``text`` is longer than ``limit`` characters (a window of ``limit`` + 1 at a time)."""
    start, n = 0, len(text)
    while n - start > limit:
        nl = text.rfind("\n", start, start + limit + 1)
        if nl < 0:
            return True
        start = nl + 1
    return False


def _odd(text: str) -> bool:
    """Whether ``text`` holds what the YAML reader treats otherwise than JSON (see the module docstring)."""
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return True
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return True
    return "\x7f" in text if text.isascii() else _ODD.search(text) is not None


class _Reader:
    def __init__(self, text: str, max_depth: int):
        self.text = text
        self.max_depth = max_depth
        self.line = 1  # the line of offset ``self.seen``
        self.line_start = 0  # the offset where that line starts
        self.seen = 0
        self.value_line = 1  # the line the last value read by _value starts on
        self._opened: Any = None  # the collection _open opened last

    def _where(self, at: int) -> tuple[int, int]:
        """(line, column) of offset ``at`` (offsets are asked in increasing order)."""
        text = self.text
        n = text.count("\n", self.seen, at)
        if n:
            self.line += n
            self.line_start = text.rfind("\n", self.seen, at) + 1
        self.seen = at
        return self.line, at - self.line_start + 1

    def items(self) -> Iterator[tuple[Any, int]]:
        text = self.text
        m = _TOKEN.match(text, 0)
        if m is None or m.group(2) != "{":
            raise NotFast("not a JSON object")
        pos = m.end()
        top: dict[str, Any] = {}
        first = True
        while True:
            m = _TOKEN.match(text, pos)
            if m is None:
                raise NotFast("invalid JSON")
            if m.group(3) == "}":
                pos = m.end()
                break
            if not first:
                if m.group(4) is None:
                    raise NotFast("invalid JSON")
                m = _TOKEN.match(text, m.end())
                if m is None:
                    raise NotFast("invalid JSON")
            first = False
            if m.group(1) is None:
                raise NotFast("invalid JSON: a key is not a string")
            key, pos = self._key(m.start(1), m.end(1))
            if key in top:
                raise NotFast("duplicate key")
            m = _TOKEN.match(text, pos)
            if key == "items" and m is not None and m.group(2) == "[":
                top[key] = True
                self._where(m.start(2))
                pos = yield from self._stream(m.end())
            else:
                top[key], pos = self._value(pos, 2)
        if _WS.match(text, pos).end() != len(text):  # type: ignore[union-attr]
            raise NotFast("text after the JSON value")
        if top.get("kind") != "List" or top.get("items") is not True:
            raise NotFast("not a List")

    def _key(self, start: int, after_quote: int) -> tuple[str, int]:
        """A key at ``start`` and the offset just past its ':' (which must be on the key's line)."""
        try:
            key, end = scanstring(self.text, after_quote, True)
        except ValueError:
            raise NotFast("invalid JSON string") from None
        m = _TOKEN.match(self.text, end)
        if m is None or m.group(5) is None or m.end() - start > _MAX_KEY or "\n" in self.text[end : m.start(5)]:
            raise NotFast("a key without its ':' on the same line")
        return _intern(key), m.end()

    def _stream(self, pos: int) -> Generator[tuple[Any, int], None, int]:
        """The items of the top-level ``items`` array, from just past its '['; returns the offset past ']'."""
        text = self.text
        first = True
        while True:
            m = _TOKEN.match(text, pos)
            if m is None:
                raise NotFast("invalid JSON")
            if m.group(3) == "]":
                return m.end()
            if not first:
                if m.group(4) is None:
                    raise NotFast("invalid JSON")
                pos = m.end()
            first = False
            value, pos = self._value(pos, 3)
            yield value, self.value_line

    def _value(self, pos: int, depth: int) -> tuple[Any, int]:
        """The JSON value at ``pos`` (``depth``: the nesting it opens at); returns it and the offset past it."""
        text = self.text
        pair = _PAIR.match
        sep = _SEP.match
        # the position of the last offset asked (see _where), kept in locals on the hot path
        seen, lno, lstart = self.seen, self.line, self.line_start
        # the open collections: (node, its pending key (None in a sequence), the key's line and column)
        stack: list[tuple[Any, Any, int, int]] = []
        cur: Any = None  # None: the value itself (the root)
        key: Any = None
        kl = kc = 0
        while True:
            if key is not None and (m := pair(text, pos)) is not None:
                # the common case: a key without escapes and, on its line, a value without escapes
                at = m.start(1) - 1
                key = m.group(1)
                if key in cur:
                    raise NotFast("duplicate key")
                key = _intern(key)
                n = text.count("\n", seen, at)
                if n:
                    lno += n
                    lstart = text.rfind("\n", seen, at) + 1
                seen = at
                kl, kc = lno, at - lstart + 1
                g = m.lastindex
                pos = m.end()
                if g == 2:  # a string: it starts at its quote
                    line, col = kl, kc + m.start(2) - 1 - at
                    value = m.group(2)
                    if len(value) <= 128:
                        value = _intern(value)
                elif g == 3:
                    line, col = kl, kc + m.start(3) - at
                    value = _word(m.group(3))
                else:
                    line, col = kl, kc + m.start(4) - at
                    value, pos = self._open(m.group(4), line, col, pos, len(stack) + depth)
                    if value is None:
                        stack.append((cur, key, kl, kc))
                        cur, key = self._opened, _MAP_KEY if m.group(4) == "{" else None
                        continue
            else:
                self.seen, self.line, self.line_start = seen, lno, lstart
                if key is not None:  # a key with escapes, or its value on another line
                    key, kl, kc, pos = self._next_key(pos)
                    if key in cur:
                        raise NotFast("duplicate key")
                value, line, col, pos = self._token_value(pos, len(stack) + depth)
                seen, lno, lstart = self.seen, self.line, self.line_start
                if value is _OPENED:
                    stack.append((cur, key, kl, kc))
                    cur, key = self._opened, _MAP_KEY if isinstance(self._opened, YMap) else None
                    continue
            # place the value, then close every collection it completes
            while True:
                if cur is None:
                    self.seen, self.line, self.line_start = seen, lno, lstart
                    self.value_line = line
                    return value, pos
                if key is None:
                    cur.append(value)
                    cur._pos.append((line, col))
                else:
                    cur[key] = value
                    cur._pos[key] = (kl, kc, line, col)
                m = sep(text, pos)
                if m is None:
                    raise NotFast("invalid JSON: ',' or a closing bracket expected")
                pos = m.end()
                c = m.group(1)
                if c == ",":
                    if key is not None:
                        key = _MAP_KEY
                    break
                if (c == "}") != (key is not None):
                    raise NotFast("invalid JSON: mismatched brackets")
                value = cur
                line, col = value.line, value.col
                cur, key, kl, kc = stack.pop()

    def _open(self, bracket: str, line: int, col: int, pos: int, depth: int) -> tuple[Any, int]:
        """A mapping or sequence opens at ``pos``: (the node if it is empty, else None; the offset after).

        A node with items is left in ``self._opened`` for the caller to fill.
        """
        if depth > self.max_depth:
            raise NotFast("nesting too deep")
        node: Any
        if bracket == "{":
            node = _new_map(_YMap)
            node.line, node.col, node._pos = line, col, {}
        else:
            node = _new_seq(_YSeq)
            node.line, node.col, node._pos = line, col, []
        m = _SEP.match(self.text, pos)
        if m is None or m.group(1) == ",":  # items follow (a ',' here is an error found when read as an item)
            self._opened = node
            return None, pos
        if (m.group(1) == "}") != (bracket == "{"):
            raise NotFast("invalid JSON: mismatched brackets")
        return node, m.end()

    def _token_value(self, pos: int, depth: int) -> tuple[Any, int, int, int]:
        """The value at ``pos``: (value or _OPENED, its line, its column, the offset after it)."""
        text = self.text
        m = _TOKEN.match(text, pos)
        if m is None:
            raise NotFast("invalid JSON")
        g = m.lastindex
        line, col = self._where(m.start(g or 0))
        if g == 1:
            try:
                value, end = scanstring(text, m.end(), True)
            except ValueError:
                raise NotFast("invalid JSON string") from None
            return (_intern(value) if len(value) <= 128 else value), line, col, end
        if g == 6:
            return _word(m.group(6)), line, col, m.end()
        if g == 2:
            node, end = self._open(m.group(2), line, col, m.end(), depth)
            return (_OPENED if node is None else node), line, col, end
        raise NotFast("invalid JSON: a value expected")

    def _next_key(self, pos: int) -> tuple[str, int, int, int]:
        """The key expected at ``pos`` in a mapping: key, line, column, and the offset past its ':'."""
        m = _TOKEN.match(self.text, pos)
        if m is None or m.group(1) is None:
            raise NotFast("invalid JSON: a key expected")
        at = m.start(1)
        key, pos = self._key(at, m.end(1))
        line, col = self._where(at)
        return key, line, col, pos


__all__ = ["NotFast", "list_items"]
