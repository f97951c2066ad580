"""Helm's (Masterminds) SemVer constraints, as the ``dependencies`` of a ``Chart.yaml`` write them.

Pure: a version and a constraint string in, yes or no out.  A dependency is taken
from the scanned tree only when its version satisfies the parent's constraint
(:mod:`guidecheck.loaders.helm.deps`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

# the major may be a wildcard too: helm/charts' hlf-ca depends on `mysql` `x.x.x`, which accepts any version
_SEMVER = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _ver(text: str) -> tuple[int, int, int] | None:
    m = _SEMVER.match(text.strip())
    if not m:
        return None
    parts = [m.group(1), m.group(2) or "0", m.group(3) or "0"]
    if any(p in ("x", "X", "*") for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def version_matches(version: str, constraint: str) -> bool:
    """A subset of Helm's (Masterminds) SemVer constraints: ``1.2.3``, ``1.2.*``, ``2.x.x``, ``^``, ``~``,
    comparisons, ``a - b``, ``,``/space (and) and ``||`` (or).  Unparseable: False."""
    v = _ver(version)
    if v is None:
        return False
    constraint = constraint.strip()
    if not constraint or constraint in ("*", "x", "X"):
        return True
    for alt in constraint.split("||"):
        alt = re.sub(r"\s*-\s+", " - ", alt.strip())
        rng = re.match(r"^(\S+) - (\S+)$", alt)
        if rng:
            lo, hi = _ver(rng.group(1)), _ver(rng.group(2))
            if lo and hi and lo <= v <= hi:
                return True
            continue
        terms = [t for t in re.split(r"[\s,]+", re.sub(r"(>=|<=|!=|>|<|=|\^|~)\s+", r"\1", alt)) if t]
        if terms and all(_term(v, t) for t in terms):
            return True
    return False


def _term(v: tuple[int, int, int], t: str) -> bool:
    m = re.match(r"^(>=|<=|!=|>|<|=|\^|~>?|)v?(.*)$", t)
    if not m:
        return False
    op, rest = m.group(1), m.group(2)
    sm = _SEMVER.match(rest)
    if not sm:
        return False
    raw = [sm.group(1), sm.group(2), sm.group(3)]
    wild = [p is None or p in ("x", "X", "*") for p in raw]
    nums = [int(p) if p is not None and not w else 0 for p, w in zip(raw, wild, strict=False)]
    base = tuple(nums)
    if op in ("", "="):
        return _equal(v, base, wild)
    if op in _COMPARE:
        return _COMPARE[op](v, base)
    if op.startswith("~"):
        return _tilde(v, base, wild)
    if op == "^":
        return _caret(v, base, wild)
    return False


_COMPARE: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _equal(v: tuple[int, int, int], base: tuple[int, ...], wild: list[bool]) -> bool:
    """``1.2.3`` / ``=1.2.3``; with a wildcard (``1.2.*``, ``2.x``, ``1``) the parts before it are equal."""
    if not any(wild):
        return v == base
    n = wild.index(True)
    return v[:n] == base[:n]


def _tilde(v: tuple[int, int, int], base: tuple[int, ...], wild: list[bool]) -> bool:
    """``~1.2.3``: at least that, same minor (``~1``: same major)."""
    n = 2 if not wild[1] else 1
    return v >= base and v[:n] == base[:n]


def _caret(v: tuple[int, int, int], base: tuple[int, ...], wild: list[bool]) -> bool:
    """``^1.2.3``: at least that, same major; ``^0.2.3``: same minor; ``^0.0.3``: exactly that."""
    if base[0] > 0 or wild[1]:
        return v >= base and v[0] == base[0]
    if base[1] > 0 or wild[2]:
        return v >= base and v[:2] == base[:2]
    return v == base
