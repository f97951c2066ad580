"""Regular expressions compiled when first used, not when their module is imported.

A pre-commit run checks a handful of files and uses a small part of the patterns the modules on its
path define: compiling the others at import was 8 ms of its CPU (docs/pre-commit.md).  ``lazy()``
returns an object that stands for the compiled pattern.  The first call of any of its methods
compiles the pattern and stores the compiled pattern's own bound methods on the object, so every
later call finds them as plain attributes: a hot loop pays nothing for the laziness.

Only the methods and attributes in :data:`_PROVIDED` are there; pass a pattern to ``re.sub()`` or
``isinstance(x, re.Pattern)`` and it is not one (tests/test_lazyre.py checks that no module does).
Two threads racing on the first call both compile it; the results are equal, so either may win.
"""

from __future__ import annotations

import re
from typing import Any, cast

_PROVIDED = (
    "search",
    "match",
    "fullmatch",
    "sub",
    "subn",
    "split",
    "findall",
    "finditer",
    "pattern",
    "flags",
    "groups",
    "groupindex",
)


class _Lazy:
    def __init__(self, pattern: str, flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # only reached while ``name`` is not yet an instance attribute: before the first compile
        if name not in _PROVIDED:
            raise AttributeError(name)
        compiled = re.compile(*self._source)
        for attr in _PROVIDED:
            setattr(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy({self._source[0]!r}, {self._source[1]})"


def lazy(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, done on the first use of the result."""
    return cast("re.Pattern[str]", _Lazy(pattern, flags))
