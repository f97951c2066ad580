"""Reporters render a :class:`~guidecheck.model.ScanResult`; one module per format.

Each module exposes ``render(result, meta) -> str``; one whose report grows with
every object (JSON, JUnit) also exposes ``chunks(result, meta)``, the same text as an
iterator of strings, which :func:`stream` prefers.  ``meta`` carries the tool
version, the exit code and the inputs.  Every string that reaches an output
goes through :mod:`guidecheck.sanitize`.  Heavy libraries (junit-xml) are
imported inside the reporter that needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from guidecheck.model import ScanResult

FORMATS = ("text", "json", "junit", "sarif", "html", "markdown")


def render(fmt: str, result: ScanResult, meta: dict[str, Any]) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}")
    module = importlib.import_module(f"guidecheck.reporters.{fmt}")
    text: str = module.render(result, meta)
    return text


def stream(fmt: str, result: ScanResult, meta: dict[str, Any]) -> Iterable[str]:
    """The report as pieces to write one after the other (never the whole text where avoidable)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}")
    module = importlib.import_module(f"guidecheck.reporters.{fmt}")
    chunks = getattr(module, "chunks", None)
    return chunks(result, meta) if chunks is not None else [module.render(result, meta)]
