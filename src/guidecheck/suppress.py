"""Inline suppressions: comments in Dockerfiles/YAML and annotations on objects.

Comment forms (``#`` comments in YAML and Dockerfiles)::

    # guidecheck: ignore=GC301,GC305 reason="base image mandated by vendor"
    RUN ...                          <- the next non-comment line is covered
    image: nginx:1.25  # guidecheck: ignore=GC307 reason="vendor tag scheme"
    # guidecheck: ignore-file=GC302 reason="generated file"

Object annotations::

    metadata:
      annotations:
        guidecheck.io/ignore: "GC405,GC406"
        guidecheck.io/ignore-reason: "batch worker, probed by the queue"

A suppression without a reason still suppresses, and GC002 reports it.
A ``guidecheck:`` comment that cannot be understood is reported by GC002 too,
so that a typo never silently does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from guidecheck.lazyre import lazy
from guidecheck.model import Suppression
from guidecheck.parsers.yaml import key_line

ANNOTATION = "guidecheck.io/ignore"
ANNOTATION_REASON = "guidecheck.io/ignore-reason"

_DIRECTIVE = lazy(r"(?:^|\s)#\s*guidecheck\s*:\s*(?P<body>.*?)\s*$")
_BODY = lazy(
    r"^(?P<scope>ignore|ignore-file)\s*=\s*(?P<rules>[A-Za-z0-9*]+(?:\s*,\s*[A-Za-z0-9*]+)*)"
    r"(?:\s+reason\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>.+)))?\s*$"
)
_RULE = lazy(r"^(\*|[A-Z]+[0-9]{0,3})$")


class BadDirective(Suppression):
    """A ``guidecheck:`` comment that is not a valid directive (reported by GC002)."""


def parse_comments(text: str, path: str, kind: str | None = None) -> list[Suppression]:
    """Find suppression comments; cheap when the file has none.

    In YAML (``kind="yaml"``) the lines of a block scalar (``script: |``) are
    data, not comments: a shell comment in a ConfigMap must not silence rules.
    """
    if "guidecheck" not in text:
        return []
    lines = text.split("\n")
    data_lines = _block_scalar_lines(lines) if kind == "yaml" else frozenset()
    out: list[Suppression] = []
    for idx, line in enumerate(lines):
        if "guidecheck" not in line or idx in data_lines:
            continue
        m = _DIRECTIVE.search(line)
        if not m:
            continue
        lineno = idx + 1
        body = m.group("body")
        b = _BODY.match(body)
        rules = tuple(r.strip().upper() for r in b.group("rules").split(",")) if b else ()
        if not b or not all(_RULE.match(r) for r in rules):
            out.append(BadDirective((), None, path, lineno, (lineno, lineno), "comment"))
            continue
        reason = b.group("dq") if b.group("dq") is not None else b.group("sq")
        if reason is None and b.group("bare"):
            reason = b.group("bare").strip()
        reason = (reason or "").strip() or None
        if b.group("scope") == "ignore-file":
            span = None
        elif line.lstrip().startswith("#"):
            span = _next_code_line(lines, idx)
        else:
            span = (lineno, lineno)
        out.append(Suppression(rules, reason, path, lineno, span, "comment"))
    return out


_BLOCK_START = lazy(
    # possessive quantifiers (Python 3.11+): linear time on any line
    r"^(?P<lead> *+)(?P<dashes>(?:- ++)*+)"
    r"""(?:(?P<key>"[^"]*+"|'[^']*+'|[^#:]*+(?::(?![ \t])[^#:]*+)*+):[ \t]++)?"""
    r"(?:[&!][^ \t]*+[ \t]++)*+[|>][1-9+-]{0,2}[ \t]*(?:[ \t]#.*)?$"
)


def _block_scalar_lines(lines: list[str]) -> frozenset[int]:
    """Indexes of lines inside YAML block scalars (``key: |`` / ``- >-`` and their indented content)."""
    inside: set[int] = set()
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if ("|" not in line and ">" not in line) or line.lstrip().startswith("#"):
            i += 1
            continue
        m = _BLOCK_START.match(line)
        if not m or (m.group("key") is None and not m.group("dashes") and line.strip()[:1] not in "|>"):
            i += 1
            continue
        lead, dashes = len(m.group("lead")), m.group("dashes")
        if m.group("key") is not None:
            parent = lead + len(dashes)  # the key's column
        elif dashes:
            parent = lead + dashes.rstrip(" ").rfind("-")  # the last dash's column
        else:
            parent = -1  # a top-level block scalar: the rest of the document
        j = i + 1
        while j < n:
            body = lines[j]
            if body.strip() and (len(body) - len(body.lstrip(" ")) <= parent or body.startswith(("---", "..."))):
                break
            inside.add(j)
            j += 1
        i = j
    return frozenset(inside)


def _next_code_line(lines: list[str], idx: int) -> tuple[int, int]:
    """A standalone directive covers itself through the next non-comment line."""
    j = idx + 1
    while j < len(lines) and (not lines[j].strip() or lines[j].lstrip().startswith("#")):
        j += 1
    return (idx + 1, min(j, len(lines) - 1) + 1 if j < len(lines) else idx + 1)


def from_annotations(annotations: Any, path: str, line: int, span: tuple[int, int] | None) -> list[Suppression]:
    """The suppression the ``guidecheck.io/ignore`` annotation of an object holds, at the annotation's line."""
    if not isinstance(annotations, dict) or ANNOTATION not in annotations:
        return []
    raw = annotations.get(ANNOTATION)
    reason = annotations.get(ANNOTATION_REASON)
    reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
    at = key_line(annotations, ANNOTATION, line)
    rules = tuple(r.strip().upper() for r in str(raw or "").split(",") if r.strip())
    if not rules or not all(_RULE.match(r) for r in rules):
        return [BadDirective((), None, path, at, span, "annotation")]
    return [Suppression(rules, reason, path, at, span, "annotation")]


def match(suppressions: Iterable[Suppression], rule_id: str, line: int) -> Suppression | None:
    """The first suppression covering ``rule_id`` at ``line`` (reasoned ones first)."""
    found: Suppression | None = None
    for s in suppressions:
        if isinstance(s, BadDirective) or not s.covers(rule_id):
            continue
        if s.applies_to is None or s.applies_to[0] <= line <= s.applies_to[1]:
            if s.reason:
                return s
            found = found or s
    return found
