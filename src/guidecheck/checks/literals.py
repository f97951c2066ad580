r"""Literal prefilters for regular expressions: a cheap proof that a text holds no match of a pattern.

Searching many patterns over many texts (every CI step's commands against every stage pattern) is
dominated by texts that match none of them.  Python's ``re`` tries a pattern at every position of the
text; patterns starting with ``\b`` or an alternation defeat its literal-prefix shortcut.  Like
ripgrep and RE2's prefilters, :func:`requirement` derives from a pattern what *every* match of it
must contain: a conjunction of clauses, each a tuple of literal strings one of which occurs in the
matched text.  ``\bdocker[\s-]compose\b.*\b(up|run)\b`` gives ``(("compose",), ("docker",),
("run", "up"))``.  A text missing a clause cannot match, and :func:`holds` checks that with C
substring searches on the text :func:`fold` returns, instead of running the regex.

The requirement is conservative: it may pass texts the pattern does not match (then the regex runs
and says so), never the other way round.  Literals are ASCII and lower case; :func:`fold` maps a text
so that every character ``re.IGNORECASE`` matches to an ASCII character becomes that character in
lower case, so one folded text serves case-sensitive and case-insensitive patterns alike (a
case-sensitive match is also a case-insensitive one).  Whatever is not understood (a character
class with ``\w``, ``.``, a backreference, a conditional, a non-ASCII character, an opcode of a newer
Python) counts as "any text" and only weakens the requirement; a pattern with no requirement left
(``()``) is always run.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

Clause = tuple[str, ...]
Requirement = tuple[Clause, ...]

EXACT_LIMIT = 64  # most strings a sub-pattern is tracked as (an alternation of words, s?, [-_])
MAX_CLAUSES = 4  # clauses kept per pattern (the most selective ones)

# The non-ASCII characters re.IGNORECASE matches to an ASCII letter (İ and ı to i, ſ to s, the Kelvin
# sign to k); tests/test_ci_literals.py checks this table against the running Python's re.
_FOLD = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}


def fold(text: str) -> str:
    """``text`` for :func:`holds`: lower case, the characters of ``_FOLD`` mapped first (keeping runs of
    ASCII-equivalent characters contiguous; ``"İ".lower()`` alone would be two characters)."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


def holds(requirement: Requirement, folded: str) -> bool:
    """Whether ``folded`` (see :func:`fold`) has a literal of every clause: False proves there is no match."""
    for clause in requirement:
        for literal in clause:
            if literal in folded:
                break
        else:
            return False
    return True


def gate(requirements: list[Requirement]) -> Clause | None:
    """One clause for a list of patterns: a text with none of its literals matches none of them (the first
    clause of each, joined); None when a pattern requires nothing."""
    if not requirements or not all(requirements):
        return None
    return _clauses([tuple(lit for req in requirements for lit in req[0])])[0]


def passes(gate: Clause | None, folded: str) -> bool:
    """Whether ``folded`` has a literal of ``gate`` (:func:`gate`); always, for None."""
    return gate is None or any(map(folded.__contains__, gate))


@lru_cache(maxsize=1024)
def requirement(pattern: str | bytes, flags: int = 0) -> Requirement:
    """What every match of ``re.compile(pattern, flags)`` contains (``()``: nothing known, always search).

    Clauses come most selective first (longest shortest literal), at most :data:`MAX_CLAUSES`.
    """
    if not isinstance(pattern, str):
        return ()
    try:
        parser: Any = importlib.import_module("re._parser")
        tree = parser.parse(pattern, flags)
        exact, cnf = _sequence(tree, parser)
    except Exception:  # noqa: BLE001 - a pattern the analysis cannot read is searched, never skipped
        return ()
    return _best(_as_cnf(exact, cnf), MAX_CLAUSES)


# ------------------------------------------------------------------ the analysis
# Each node gives (exact, cnf): ``exact`` the (folded) strings it can match when it is a small finite set
# (``{""}`` for an assertion), else None and ``cnf`` what each of its matches contains.


def _as_cnf(exact: frozenset[str] | None, cnf: Requirement) -> Requirement:
    if exact is None:
        return cnf
    return () if "" in exact else _clauses([tuple(exact)])


def _unknown() -> tuple[None, Requirement]:
    return None, ()


def _sequence(items: Any, parser: Any) -> tuple[frozenset[str] | None, Requirement]:
    """A concatenation: runs of exact parts multiply out (``docker`` ``[\\s-]``: broken; ``[-_]push``: two
    strings); the other parts add their clauses."""
    run: frozenset[str] = frozenset({""})
    clauses: list[Clause] = []
    broken = False
    for op, av in items:
        exact, cnf = _node(op, av, parser)
        if exact is not None and len(run) * len(exact) <= EXACT_LIMIT:
            run = frozenset(a + b for a in run for b in exact)
            continue
        broken = True
        clauses.extend(_as_cnf(run, ()))
        if exact is not None and len(exact) <= EXACT_LIMIT:
            run = exact  # a new run starts
        else:
            run = frozenset({""})
            clauses.extend(_as_cnf(exact, cnf))
    if not broken:
        return run, ()
    clauses.extend(_as_cnf(run, ()))
    return None, _clauses(clauses)


def _alternatives(
    branches: list[tuple[frozenset[str] | None, Requirement]],
) -> tuple[frozenset[str] | None, Requirement]:
    """An alternation: the union of exact sets, or (distributing) a clause per choice of one clause of each
    branch; too many choices: one clause of each branch (its best), joined (weaker, still true)."""
    if all(e is not None for e, _ in branches):
        union = frozenset().union(*(e for e, _ in branches if e is not None))
        if len(union) <= EXACT_LIMIT:
            return union, ()
    cnfs = [_as_cnf(e, c) for e, c in branches]
    if any(not c for c in cnfs):
        return None, ()  # one branch requires nothing
    count = 1
    for c in cnfs:
        count *= len(c)
    if count > MAX_CLAUSES:
        cnfs = [_best(c, 1) for c in cnfs]
    out: list[Clause] = [()]
    for c in cnfs:
        out = [a + b for a in out for b in c]
    return None, _clauses(out)


def _node(op: Any, av: Any, parser: Any) -> tuple[frozenset[str] | None, Requirement]:
    p = parser
    if op is p.LITERAL:
        return (frozenset({chr(av).lower()}), ()) if av < 128 else _unknown()
    if op is p.AT or op is p.ASSERT or op is p.ASSERT_NOT:
        return frozenset({""}), ()  # zero-width: the text around it stays contiguous
    if op is p.SUBPATTERN:
        return _sequence(av[-1], parser)  # (group, add_flags, del_flags, pattern)
    if op is p.ATOMIC_GROUP:
        return _sequence(av, parser)
    if op is p.BRANCH:
        return _alternatives([_sequence(b, parser) for b in av[1]])
    if op is p.IN:
        return _charset(av, parser)
    if op is p.MAX_REPEAT or op is p.MIN_REPEAT or op is p.POSSESSIVE_REPEAT:
        low, high, sub = av
        exact, cnf = _sequence(sub, parser)
        if low == high == 1:
            return exact, cnf
        if low == 0 and high == 1 and exact is not None:
            return exact | {""}, ()
        if low >= 1:
            return None, _as_cnf(exact, cnf)  # at least one copy
        return _unknown()
    return _unknown()  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS, anything newer


def _charset(items: Any, parser: Any) -> tuple[frozenset[str] | None, Requirement]:
    """A class of a few ASCII characters (``[-_]``, ``[Cc]``): those characters; anything else: unknown."""
    chars: set[str] = set()
    for op, av in items:
        if op is parser.LITERAL and av < 128:
            chars.add(chr(av).lower())
        elif op is parser.RANGE and av[1] < 128 and av[1] - av[0] < EXACT_LIMIT:
            chars.update(chr(c).lower() for c in range(av[0], av[1] + 1))
        else:
            return _unknown()  # NEGATE, CATEGORY (\s, \w), non-ASCII
    return (frozenset(chars), ()) if chars and len(chars) <= EXACT_LIMIT else _unknown()


def _clauses(clauses: list[Clause] | list[tuple[str, ...]]) -> Requirement:
    """Clauses simplified: a literal containing another of its clause dropped (implied), a clause with the
    empty string dropped (always true), duplicates dropped; sorted."""
    out: set[Clause] = set()
    for clause in clauses:
        lits = set(clause)
        if "" in lits:
            continue
        kept = tuple(sorted(x for x in lits if not any(y != x and y in x for y in lits)))
        out.add(kept)
    return tuple(sorted(out))


def _best(cnf: Requirement, limit: int) -> Requirement:
    """The ``limit`` most selective clauses (longest shortest literal, then fewest literals), best first."""
    return tuple(sorted(cnf, key=lambda c: (-min(len(x) for x in c), len(c), c))[:limit])
