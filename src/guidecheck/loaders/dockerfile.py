"""Dockerfile loader (contract; the full parser is being written).

The model every docker rule reads.  Line numbers are 1-based lines of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guidecheck.model import LoadError


@dataclass
class Instruction:
    name: str  # upper-case instruction, e.g. RUN
    value: str  # arguments with continuations joined; heredoc bodies excluded
    line: int  # first line
    end_line: int  # last line (continuations and heredocs included)
    flags: dict[str, str] = field(default_factory=dict)  # --platform=..., --mount=...
    heredocs: list[str] = field(default_factory=list)  # bodies of <<EOF heredocs (data, never instructions)


@dataclass
class Stage:
    index: int
    base: str  # FROM argument as written
    image: str | None  # after ARG substitution and alias resolution; None when unresolvable
    unresolved: str | None  # why ``image`` is None (e.g. "ARG BASE has no default")
    alias: str | None  # AS name
    platform: str | None
    line: int
    parent_stage: int | None  # index of the stage this one builds FROM, if any
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    stages: list[Stage]
    global_args: dict[str, str | None]  # ARGs before the first FROM and their defaults
    directives: dict[str, str]  # parser directives: syntax, escape, check
    errors: list[LoadError] = field(default_factory=list)

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None


def parse_dockerfile(text: str) -> Dockerfile:
    raise NotImplementedError("being written")
