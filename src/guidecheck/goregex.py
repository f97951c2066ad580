"""Regular expressions that scanned files hold for Go programs, matched as those programs match them.

A PromQL ``=~`` matcher (Prometheus) and a kustomize patch's ``target.name`` are Go regular expressions,
fully anchored, taken from the files being scanned. Python's backtracking engine can spend minutes on one
of them (``(a|a)*b`` against a 32-character Deployment name). They are matched here with RE2 (the
``google-re2`` package), the engine Go's ``regexp`` implements: the same syntax and results, in time linear
in the text, within a memory bound. Imported where such a pattern is met, never on the common path.
"""

from __future__ import annotations

import functools
from typing import Any

MAX_PATTERN = 4096  # characters of a pattern compiled at most (Prometheus' own matchers are a few dozen)
_MAX_MEM = 8 << 20  # bytes RE2 may use for one compiled pattern


@functools.lru_cache(maxsize=1024)
def compile_go(pattern: str) -> Any | None:
    """``pattern`` compiled as Go compiles it, or None when Go would refuse it (or it is over the bounds)."""
    if len(pattern) > MAX_PATTERN:
        return None
    import re2  # type: ignore[import-untyped]  # google-re2: no type information

    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported by the caller, never on stderr
    options.max_mem = _MAX_MEM
    try:
        return re2.compile(pattern, options)
    except re2.error:
        return None


def fullmatch(pattern: str, text: str) -> bool | None:
    """Whether ``pattern`` matches the whole of ``text``, as Prometheus and kustomize anchor their patterns; None
    when the pattern does not compile."""
    rx = compile_go(pattern)
    return None if rx is None else rx.fullmatch(text) is not None
