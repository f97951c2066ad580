"""Reporters render a :class:`~guidecheck.model.ScanResult`; one module per format.

Each module exposes ``render(result, meta) -> str``.  ``meta`` carries the tool
version, the exit code and the inputs.  Every string that reaches an output
goes through :mod:`guidecheck.sanitize`.  Heavy libraries (junit-xml) are
imported inside the reporter that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from guidecheck.model import ScanResult

FORMATS = ("text", "json", "junit", "sarif")


def render(fmt: str, result: ScanResult, meta: dict[str, Any]) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}")
    module = importlib.import_module(f"guidecheck.reporters.{fmt}")
    return module.render(result, meta)
