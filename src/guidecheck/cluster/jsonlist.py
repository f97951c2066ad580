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
# what the YAML reader refuses or counts as a line break inside a JSON string, and surrogate escapes
_ODD = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_MAX_NUMBER = 4300
_MAX_KEY = 1000  # a YAML simple key (a JSON key with its ':') spans at most 1024 characters
_intern = sys.intern
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
        match = _TOKEN.match
        where = self._where
        # the open collections: (node, its pending key (None in a sequence), the key's line and column)
        stack: list[tuple[Any, Any, int, int]] = []
        cur: Any = None  # None: the value itself (the root)
        key: Any = None
        kl = kc = 0
        while True:
            m = match(text, pos)
            if m is None:
                raise NotFast("invalid JSON")
            pos = m.end()
            g = m.lastindex
            if g == 1:  # a string
                at = m.start(1)
                try:
                    value, pos = scanstring(text, pos, True)
                except ValueError:
                    raise NotFast("invalid JSON string") from None
                if len(value) <= 128:
                    value = _intern(value)
                line, col = where(at)
            elif g == 6:  # a number, true, false, null
                value = _word(m.group(6))
                line, col = where(m.start(6))
            elif g == 2:  # a mapping or sequence opens
                if len(stack) + depth > self.max_depth:
                    raise NotFast("nesting too deep")
                line, col = where(m.start(2))
                node: Any = YMap(line, col) if m.group(2) == "{" else YSeq(line, col)
                m = match(text, pos)
                if m is None or m.group(3) is None:  # not empty: its items follow
                    stack.append((cur, key, kl, kc))
                    cur, key = node, None
                    if isinstance(node, YMap):
                        key, kl, kc, pos = self._next_key(pos)
                    continue
                if (m.group(3) == "}") != isinstance(node, YMap):
                    raise NotFast("invalid JSON: mismatched brackets")
                value, pos = node, m.end()  # {} or []
            else:
                raise NotFast("invalid JSON: a value expected")
            # place the value, then close every collection it completes
            while True:
                if cur is None:
                    self.value_line = line
                    return value, pos
                if key is None:
                    cur.append(value)
                    cur._pos.append((line, col))
                else:
                    cur[key] = value
                    cur._pos[key] = (kl, kc, line, col)
                m = match(text, pos)
                if m is None:
                    raise NotFast("invalid JSON")
                pos = m.end()
                if m.lastindex == 4:  # ',': the next item, or the next key and its value
                    if key is not None:
                        key, kl, kc, pos = self._next_key(pos)
                        if key in cur:
                            raise NotFast("duplicate key")
                    break
                if m.lastindex != 3 or (m.group(3) == "}") != (key is not None):
                    raise NotFast("invalid JSON: ',' or a closing bracket expected")
                value = cur
                line, col = value.line, value.col
                cur, key, kl, kc = stack.pop()

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
