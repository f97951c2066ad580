"""What the CI parsers share: the reader they follow files through, the errors they report, command lines.

The parsers never touch the file system: the loader gives them a :data:`Reader`
(display path -> the data of the file's parsed YAML documents, or None when the
file is not in the scanned tree) and turns the :class:`PipelineError` list they
fill into GC001 load errors, in the order found.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guidecheck.parsers.ci.model import Project
from guidecheck.parsers.yaml import key_line, value_line

MAX_DEPTH = 8  # nested reusable workflows, composite actions, includes, extends

Reader = Callable[[str], "list[Any] | None"]
"""display path -> the non-empty documents of a parsed YAML/JSON file; None if it is not in the scanned tree."""


@dataclass(frozen=True)
class PipelineError:
    """An ill-typed pipeline file (a GC001 error at ``path:line``)."""

    path: str
    message: str
    line: int


class Parse:
    """One parse of a project's pipeline files: the files it may follow, the errors found so far."""

    def __init__(self, project: Project, read: Reader):
        self.project = project
        self.read = read
        self.errors: list[PipelineError] = []

    def error(self, path: str, message: str, line: int | None) -> None:
        self.errors.append(PipelineError(path, message, line or 1))

    def exists(self, path: str) -> bool:
        """Whether the file was parsed in the scan (followed references must be)."""
        return self.read(path) is not None

    def all_data(self, path: str) -> list[Any]:
        return self.read(path) or []

    def data(self, path: str) -> Any:
        """The first non-empty document of a YAML/JSON file (None if absent or unparsable)."""
        docs = self.read(path)
        return docs[0] if docs else None


# ---------------------------------------------------------------- values and their lines


def scalar(v: Any) -> str | None:
    """A scalar as text (booleans as YAML writes them); None for mappings, lists and null."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, int, float)):
        return str(v)
    return None


def type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (int, float)):
        return "a number"
    return "null" if v is None else type(v).__name__


def run_line(node: Any, key: str, text: str) -> int:
    """Line of the first command of ``key: <text>`` (a block scalar starts on the next line)."""
    line = value_line(node, key)
    if text.endswith("\n") and line == key_line(node, key):
        line += 1
    return line


def norm_local(project: Project, ref: str, base: str = "") -> str | None:
    """Display path of a repository-relative reference, or None if it leaves the project."""
    rel = ref.strip()
    if rel.startswith("./"):
        rel = rel[2:]
    rel = rel.lstrip("/")
    rel = posixpath.normpath(posixpath.join(base, rel)) if base else posixpath.normpath(rel)
    if rel.startswith("../") or rel == ".." or rel.startswith("/"):
        return None
    return project.display(rel) if rel != "." else (project.root or ".")
