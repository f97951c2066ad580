"""Path globs, one meaning everywhere: ``exclude:``, waiver ``paths:``, test-file patterns.

``*`` and ``?`` stay within a directory and ``**`` crosses directories.  A
pattern without ``/`` matches a file or directory name at any depth
(``*.tpl.yaml``, ``legacy``); one with ``/`` matches from any directory
boundary (``legacy/**``, ``k8s/*.yaml``), or from the root when it starts
with ``/``.  :func:`excluded` also excludes everything below a matching
directory, as ``.gitignore`` does.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable


class Glob:
    """A path glob: ``*`` and ``?`` stay within a directory, ``**`` crosses directories.

    A pattern with a ``/`` matches the path from any directory boundary (a
    leading ``/`` anchors it at the repository root); one without matches the
    file name.  Each component is matched with :func:`fnmatch.translate`
    (atomic groups: no catastrophic backtracking) and the components with a
    linear walk, so no pattern can make matching slow.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        anchored = pattern.startswith("/")
        comps = [c for c in pattern.strip("/").split("/") if c]
        self.name_only = "/" not in pattern.strip("/") and not anchored
        if not anchored and not self.name_only:
            comps.insert(0, "**")
        self.parts: list[re.Pattern[str] | None] = [None if c == "**" else _component(c) for c in comps]

    def match(self, rel: str, name: str | None = None) -> bool:
        if not self.parts:
            return False
        if name is None:
            name = rel.rsplit("/", 1)[-1]
        if self.name_only:
            part = self.parts[0]
            return part is not None and part.match(name) is not None
        last = self.parts[-1]
        if last is not None and not last.match(name):
            return False  # cheap rejection on the file name
        n = len(self.parts)
        states = self._closure({0})
        for comp in rel.split("/"):
            nxt: set[int] = set()
            for i in states:
                if i < n:
                    part = self.parts[i]
                    if part is None:
                        nxt.add(i)  # ** swallows this directory
                    elif part.match(comp):
                        nxt.add(i + 1)
            if not nxt:
                return False
            states = self._closure(nxt)
        return n in states

    def _closure(self, states: set[int]) -> set[int]:
        todo = list(states)
        while todo:
            i = todo.pop()
            if i < len(self.parts) and self.parts[i] is None and i + 1 not in states:
                states.add(i + 1)  # ** may also match no directory at all
                todo.append(i + 1)
        return states


def _component(comp: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(comp))


def matcher(patterns: list[str] | tuple[str, ...]) -> Callable[[str, str | None], bool]:
    """One function telling whether a path matches any of ``patterns``."""
    globs = [Glob(p) for p in patterns]
    names = [g.pattern for g in globs if g.name_only]
    paths = [g for g in globs if not g.name_only and g.parts]
    by_name = re.compile("|".join(fnmatch.translate(p) for p in names)) if names else None

    def match(rel: str, name: str | None = None) -> bool:
        if name is None:
            name = rel.rsplit("/", 1)[-1]
        if by_name is not None and by_name.match(name):
            return True
        for g in paths:
            if g.match(rel, name):
                return True
        return False

    return match


def excluded(rel: str, match: Callable[[str, str | None], bool]) -> bool:
    """Whether ``rel`` or one of its parent directories matches."""
    parts = rel.split("/")
    return any(match("/".join(parts[: i + 1]), parts[i]) for i in range(len(parts)))


def wildcard(pattern: str, *, question: bool = True) -> Callable[[str], bool]:
    """A whole-string wildcard matcher for the glob dialects that are not path globs.

    ``**`` matches any run of characters, ``*`` any run without ``/``, ``?`` (when
    ``question``) one character but ``/``; every other character is literal.  GitLab's
    local includes and Sigstore's image globs are written this way.  The pattern is
    run as an automaton over bit sets (one step per character of the subject), never
    as a backtracking regular expression: ``**a**a**a**b``, written into a scanned
    file, would take a regular expression exponential time.
    """
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        tok = "**" if pattern.startswith("**", i) else pattern[i]
        i += len(tok)
        if tok in ("*", "**") and tokens and tokens[-1] in ("*", "**"):
            tokens[-1] = "**" if "**" in (tok, tokens[-1]) else "*"  # adjacent stars are one star
            continue
        tokens.append(tok)
    n = len(tokens)
    stars = sum(1 << j for j, t in enumerate(tokens) if t in ("*", "**"))
    cross = sum(1 << j for j, t in enumerate(tokens) if t == "**")
    any_one = sum(1 << j for j, t in enumerate(tokens) if question and t == "?")
    literal: dict[str, int] = {}
    for j, t in enumerate(tokens):
        if t not in ("*", "**") and not (question and t == "?"):
            literal[t] = literal.get(t, 0) | 1 << j

    def closure(states: int) -> int:
        return states | (states & stars) << 1  # a star may match nothing (no two stars are adjacent)

    def match(text: str) -> bool:
        states = closure(1)
        for c in text:
            advance = literal.get(c, 0) | (any_one if c != "/" else 0)
            stay = states & (cross if c == "/" else stars)
            states = closure(((states & advance) << 1) | stay)
            if not states:
                return False
        return bool(states >> n & 1)

    return match


def wildcards(parts: list[str], wild: str, flags: int = 0) -> re.Pattern[str]:
    """The regex that fullmatches ``parts`` (literal texts) with a run of ``wild`` (a one-character class such as
    ``[^/]`` or ``.``) between each two, in time linear in the text matched.

    Joining the parts with ``wild*`` tries every split of the text among the wildcards: ten of them against a
    40-character name take seconds (a Dockerfile's ``FROM ${x}a${x}a...``, a template line of ten actions). Here
    each middle part is committed to at its first occurrence (an atomic group), which loses no match: a part made
    of wildcard characters leaves the most text to the rest there, and one holding another character can only be
    where that character first comes.
    """
    esc = [re.escape(p) for p in parts]
    if len(esc) == 1:
        return re.compile(esc[0], flags)
    return re.compile(esc[0] + "".join(f"(?>{wild}*?{p})" for p in esc[1:-1]) + f"{wild}*" + esc[-1], flags)
