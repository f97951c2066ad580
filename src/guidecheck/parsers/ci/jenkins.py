"""Jenkinsfiles into :mod:`guidecheck.parsers.ci.model` (a pure scanner: text in).

Groovy is a programming language, so a Jenkinsfile is scanned, not parsed: see
:func:`scan_jenkinsfile` for what is recognised.  :func:`add_jenkinsfile` adds
one scanned file to its :class:`Project`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from guidecheck.parsers.ci.model import Job, PipelineFile, Project, Step, Trigger

_J_STAGE = re.compile(r"""\bstage\s*\(\s*(?:name\s*:\s*)?(['"])(.*?)\1""")
_J_STEP = re.compile(
    r"""\b(sh|bat|powershell|pwsh)\b\s*(?:\(\s*)?"""
    r"""(?:(?:label\s*:\s*(['"]).*?\2\s*,\s*)?script\s*:\s*)?('''|\"\"\"|'|")"""
)
_J_INPUT = re.compile(r"\binput\s*(?:\(|\{|message\s*:|['\"])")
_J_DOCKER = re.compile(r"\bdocker\.(build|image)\s*\(|\.push\s*\(")
_J_CRON = re.compile(r"\b(?:cron|pollSCM)\s*\(")


Block = tuple[int, int, str, int]  # a stage block: (start offset, end offset, name, line)


def add_jenkinsfile(project: Project, text: str, display: str) -> None:
    """Add the jobs (stages) of one Jenkinsfile to the project."""
    jobs, triggers = scan_jenkinsfile(text, display)
    pf = PipelineFile("jenkins", display, triggers, [j.id for j in jobs])
    project.files.append(pf)
    project.jobs.extend(jobs)


def scan_jenkinsfile(text: str, path: str) -> tuple[list[Job], list[Trigger]]:
    """A tolerant scan of a Jenkinsfile (declarative or scripted), not a Groovy parser.

    Recognised: ``stage('name')`` / ``stage("name")`` blocks (nested: a step
    belongs to its innermost stage), ``sh``/``bat``/``powershell`` steps with a
    quoted or triple-quoted literal script (``sh 'x'``, ``sh(script: "x")``),
    ``input`` steps/directives (a manual gate), Docker Pipeline
    ``docker.build(...)``/``.push()`` calls, and ``cron``/``pollSCM`` triggers.
    Not recognised: commands built in variables or shared-library steps (the
    step text is taken literally), stages generated in loops (their names are
    the literal text), ``when {}`` expressions (recorded as written lines only).
    Steps outside any stage form a job named ``(outside stages)``.
    """
    masked = _mask(text)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(off: int) -> int:
        return bisect.bisect_right(line_starts, off)

    stages = _Stages(_stage_blocks(text, masked, line_of), path)
    for b in stages.blocks:
        stages.job_for(b[0])
    for m in _J_STEP.finditer(text):
        if masked[m.start()] == " " and text[m.start()] != " ":
            continue
        script, start = _script(text, m)
        q = m.group(3)
        first = line_of(start) + (1 if len(q) == 3 and script.startswith("\n") else 0)
        stages.job_for(m.start()).steps.append(Step(path, first, name=m.group(1), run=script.strip("\n")))
    for m in _J_DOCKER.finditer(masked):
        job = stages.job_for(m.start())
        what = (
            "docker push (Docker Pipeline .push())"
            if m.group(0).startswith(".push")
            else f"docker build (Docker Pipeline docker.{m.group(1)})"
            if m.group(1) == "build"
            else None
        )
        if what:
            job.steps.append(Step(path, line_of(m.start()), name="docker", run=what))
    for m in _J_INPUT.finditer(masked):
        job = stages.job_for(m.start())
        if not job.manual:
            job.manual, job.manual_why = True, f"input at {path}:{line_of(m.start())}"
    triggers = [Trigger("push", path, 1, "SCM change (multibranch/webhook; assumed)")]
    for m in _J_CRON.finditer(masked):
        triggers.append(Trigger("schedule", path, line_of(m.start())))
    out = sorted(stages.jobs.values(), key=lambda j: (j.line, j.id))
    for j in out:
        j.triggers = list(triggers)
        j.steps.sort(key=lambda s: s.line)
    return out, triggers


def _script(text: str, m: re.Match[str]) -> tuple[str, int]:
    """The literal script of an ``sh``/``bat``/... step matched by ``_J_STEP``, and its offset."""
    n = len(text)
    q = m.group(3)
    start = m.end()
    end = text.find(q, start) if len(q) == 3 else start
    if len(q) == 1:
        while end < n and text[end] != q and text[end] != "\n":
            end += 2 if text[end] == "\\" else 1
    end = n if end < 0 else end
    return text[start:end], start


def _mask(text: str) -> str:
    """The text with comments and string contents blanked (same length, newlines kept) for brace matching."""
    n = len(text)
    code = list(text)
    i = 0
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                code[k] = " "
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if code[k] != "\n":
                    code[k] = " "
            i = j
        elif text.startswith(("'''", '"""'), i):
            q = text[i : i + 3]
            j = text.find(q, i + 3)
            j = n if j < 0 else j
            for k in range(i + 3, j):
                if code[k] != "\n":
                    code[k] = " "
            i = j + 3
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                code[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(code)


def _stage_blocks(text: str, masked: str, line_of: Callable[[int], int]) -> list[Block]:
    """``stage(...) { ... }`` blocks, sorted by start; properly nested."""
    n = len(text)
    # matching braces, once (comments and strings are masked)
    closing: dict[int, int] = {}
    open_stack: list[int] = []
    for m in re.finditer(r"[{}]", masked):
        if m.group() == "{":
            open_stack.append(m.start())
        elif open_stack:
            closing[open_stack.pop()] = m.start()
    blocks: list[Block] = []
    for m in _J_STAGE.finditer(text):
        if masked[m.start()] == " " and text[m.start()] != " ":
            continue  # inside a comment or string
        brace = masked.find("{", m.end(), m.end() + 200)
        if brace < 0 or masked[m.end() : brace].strip() not in (")", ""):
            continue
        blocks.append((m.start(), closing.get(brace, n), m.group(2), line_of(m.start())))
    return blocks


class _Stages:
    """The stage blocks of a Jenkinsfile, and the job (innermost stage) each offset belongs to."""

    def __init__(self, blocks: list[Block], path: str):
        self.blocks = blocks
        self.path = path
        self.starts = [b[0] for b in blocks]
        self.parent_of: list[int] = []  # index of the enclosing block, -1 at top level
        chain: list[int] = []
        for i, b in enumerate(blocks):
            while chain and blocks[chain[-1]][1] < b[0]:
                chain.pop()
            self.parent_of.append(chain[-1] if chain else -1)
            chain.append(i)
        self.jobs: dict[tuple[object, ...], Job] = {}

    def stage_at(self, off: int) -> Block | None:
        i = bisect.bisect_right(self.starts, off) - 1
        while i >= 0 and self.blocks[i][1] < off:
            i = self.parent_of[i]
        return self.blocks[i] if i >= 0 else None

    def job_for(self, off: int) -> Job:
        b = self.stage_at(off)
        key = b if b is not None else ("outside",)
        if key not in self.jobs:
            path = self.path
            if b is None:
                self.jobs[key] = Job("jenkins", "(outside stages)", path, 1, name="(outside stages)", file=path)
            else:
                self.jobs[key] = Job("jenkins", f"{b[2]}@{b[3]}", path, b[3], name=b[2], file=path)
        return self.jobs[key]
