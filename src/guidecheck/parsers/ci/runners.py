"""What a pipeline command runs through a task runner: mise tasks, just recipes, go-task tasks, npm scripts.

immich's CI runs ``mise run local:ci``, whose task creates a kind cluster and runs ``tilt ci``: the
integration tests are in ``mise.toml``, not in the workflow.  Like :mod:`guidecheck.parsers.ci.scripts`
for make and shell scripts, these helpers are pure: :func:`runner_references` finds the invocations in a
command, :func:`runner_tasks` the commands of the named tasks (and the tasks they depend on) in the runner's
file.  The CI loader reads the files (inside the project only) and attaches what they run to the step.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from guidecheck.parsers.ci.scripts import Reference

MAX_TASKS = 32  # tasks followed per reference (dependencies included)

# the runner, its files (first found wins) and the pattern of an invocation (group 1: what follows the verb)
_RUNNERS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "mise",
        ("mise.toml", ".mise.toml", "mise/config.toml", ".config/mise.toml"),
        re.compile(r"(?:^|[;&|(`]\s*|\n\s*|\s)mise\s+(?:run|r)\s+([^;&|\n`)]*)"),
    ),
    ("just", ("justfile", "Justfile", ".justfile"), re.compile(r"(?:^|[;&|(`]\s*|\n\s*)just\s+([^;&|\n`)]*)")),
    (
        "task",
        ("Taskfile.yml", "Taskfile.yaml", "taskfile.yml", "taskfile.yaml"),
        re.compile(r"(?:^|[;&|(`]\s*|\n\s*)task\s+([^;&|\n`)]*)"),
    ),
    (
        "npm",
        ("package.json",),
        re.compile(
            r"(?:^|[;&|(`]\s*|\n\s*)(?:npm\s+(?:run(?:-script)?\s+|(?=test\b|start\b))|(?:yarn|pnpm)\s+(?:run\s+)?)([^;&|\n`)]*)"
        ),
    ),
)
_NAME = re.compile(r"^[\w:.@/-]+$")
_YARN_BUILTIN = {"install", "add", "remove", "upgrade", "init", "dlx", "exec", "why", "info", "config", "i", "ci"}


# chart-testing runs its configuration's additional-commands on every chart it lints (prometheus-community's
# `ct lint --config .github/linters/ct.yaml` runs `helm unittest` that way)
_CT = re.compile(r"(?:^|[;&|(`]\s*|\n\s*)ct\s+(?:lint|lint-and-install)\b([^;&|\n`)]*)")
_CT_CONFIG = re.compile(r"--config(?:=|\s+)(\S+)")


def runner_references(command: str) -> list[Reference]:
    """The task-runner invocations in ``command``: one reference per runner, naming the tasks it runs."""
    out: list[Reference] = []
    for m in _CT.finditer(command):
        c = _CT_CONFIG.search(m.group(1))
        config = c.group(1).strip("'\"") if c else "ct.yaml"
        out.append(Reference("ct", config, ("additional-commands",), m.group(0).strip()))
    for kind, files, rx in _RUNNERS:
        for m in rx.finditer(command):
            try:
                words = shlex.split(m.group(1), comments=True)
            except ValueError:
                words = m.group(1).split()
            names = []
            for w in words:
                if w == "--":
                    break
                if w.startswith("-") or "=" in w:
                    continue
                if _NAME.match(w):
                    names.append(w)
                if kind in ("npm", "task", "mise"):
                    break  # the first word names the script or task; the rest are its arguments
            if kind == "npm" and names and names[0] in _YARN_BUILTIN:
                continue
            if names:
                out.append(Reference(kind, files[0], tuple(names), m.group(0).strip()))
    return out


def runner_files(kind: str, path: str = "") -> tuple[str, ...]:
    """Where the runner's definitions are: its file names, or the configuration the command named (ct)."""
    return next((files for k, files, _rx in _RUNNERS if k == kind), (path,))


def runner_tasks(kind: str, text: str, names: tuple[str, ...]) -> list[tuple[str, int, str]]:
    """(task, line, commands) of the tasks ``names`` in a runner file's ``text`` and, transitively, of the tasks
    they depend on or call (at most :data:`MAX_TASKS`); tasks the file does not define are left out."""
    table = {"mise": _mise, "just": _just, "task": _taskfile, "npm": _npm, "ct": _ct}[kind](text)
    out: list[tuple[str, int, str]] = []
    todo: list[str] = list(names)
    done: set[str] = set()
    while todo and len(done) < MAX_TASKS:
        name = todo.pop(0)
        if name in done or name not in table:
            continue
        done.add(name)
        line, body, deps = table[name]
        if body.strip():
            out.append((name, line, body))
        todo.extend(d for d in deps if d not in done)
        if kind == "mise":
            todo.extend(r.targets[0] for r in runner_references(body) if r.kind == "mise" and r.targets)
    return out


# name -> (line, commands, dependencies)
_Table = dict[str, tuple[int, str, list[str]]]


def _line_of(text: str, needle: str) -> int:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _mise(text: str) -> _Table:
    """``[tasks.<name>]`` tables (``run``: a command or a list; ``depends``) and ``[tasks] name = "cmd"``."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return {}
    tasks = data.get("tasks")
    out: _Table = {}
    if not isinstance(tasks, dict):
        return out
    for name, spec in tasks.items():
        if isinstance(spec, str):
            out[name] = (_line_of(text, name), spec, [])
        elif isinstance(spec, dict):
            runs = _strings(spec.get("run"))
            deps = _strings(spec.get("depends"))
            needle = f'[tasks."{name}"]' if f'[tasks."{name}"]' in text else f"[tasks.{name}]"
            out[name] = (_line_of(text, needle), "\n".join(runs), deps)
    return out


_JUST_RECIPE = re.compile(r"^@?([A-Za-z_][\w-]*)(?:\s+[^:=]*?)?\s*:(?!=)\s*(.*)$")


def _just(text: str) -> _Table:
    """Recipes: ``name args: deps`` at column 0, then their indented lines."""
    out: _Table = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _JUST_RECIPE.match(lines[i])
        if m is None or lines[i].startswith((" ", "\t")):
            i += 1
            continue
        deps = [d for d in m.group(2).split() if _NAME.match(d) and not d.startswith(("(", "&"))]
        body = []
        j = i + 1
        while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
            body.append(lines[j].strip().lstrip("@-"))
            j += 1
        out.setdefault(m.group(1), (i + 2, "\n".join(body).rstrip("\n"), deps))
        i = j
    return out


def _taskfile(text: str) -> _Table:
    """go-task's ``tasks:``: ``cmds`` (strings, ``{cmd: ...}``, ``{task: other}``) and ``deps``."""
    from guidecheck.parsers.yaml import key_line, load_yaml

    docs = load_yaml(text)
    data = docs[0].data if docs else None
    tasks = data.get("tasks") if isinstance(data, dict) else None
    out: _Table = {}
    if not isinstance(tasks, dict):
        return out
    for name, spec in tasks.items():
        if not isinstance(name, str):
            continue
        cmds: list[Any] = spec if isinstance(spec, list) else _strings(spec)
        deps: list[str] = []
        if isinstance(spec, dict):
            listed = spec.get("cmds")
            cmds = list(listed) if isinstance(listed, list) else _strings(spec.get("cmd"))
            for d in spec.get("deps") or []:
                dn = d.get("task") if isinstance(d, dict) else d
                if isinstance(dn, str):
                    deps.append(dn)
        body = []
        for c in cmds:
            if isinstance(c, str):
                body.append(c)
            elif isinstance(c, dict) and isinstance(c.get("cmd"), str):
                body.append(c["cmd"])
            elif isinstance(c, dict) and isinstance(c.get("task"), str):
                deps.append(c["task"])
        out[name] = (key_line(tasks, name), "\n".join(body), deps)
    return out


def _npm(text: str) -> _Table:
    """package.json ``scripts``; ``pre<name>`` runs before ``<name>`` (npm and yarn classic)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    scripts = data.get("scripts") if isinstance(data, dict) else None
    out: _Table = {}
    if not isinstance(scripts, dict):
        return out
    for name, cmd in scripts.items():
        if isinstance(name, str) and isinstance(cmd, str):
            pre = [f"pre{name}"] if f"pre{name}" in scripts else []
            out[name] = (_line_of(text, f'"{name}"'), cmd, pre)
    return out


def _ct(text: str) -> _Table:
    """chart-testing's configuration: its ``additional-commands``, run for each chart linted."""
    from guidecheck.parsers.yaml import key_line, load_yaml

    docs = load_yaml(text)
    data = docs[0].data if docs else None
    cmds = _strings(data.get("additional-commands")) if isinstance(data, dict) else []
    if not cmds:
        return {}
    return {"additional-commands": (key_line(data, "additional-commands"), "\n".join(cmds), [])}
