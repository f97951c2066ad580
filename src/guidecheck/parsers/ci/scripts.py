"""What a pipeline command runs in the repository: the scripts and make targets it calls.

A step that runs ``make release`` or ``./hack/push.sh`` pushes (or signs) what the
Makefile recipe or the script does.  These helpers are pure: they find the
references in a command (:func:`references`) and the recipes of make targets in a
Makefile's text (:func:`make_recipes`); the CI loader reads the files (inside the
project only) and attaches what they run to the step as ``Step.follows``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

MAX_TARGETS = 64  # make targets followed per reference (prerequisites included)

# `make target ...`, or a bare `make` at the end of the command (the default goal: traefik/whoami's `run: make`)
_MAKE = re.compile(r"(?:^|[;&|(`]\s*|\s)(?:\$\(MAKE\)|\$\{MAKE\}|g?make)(?:[ \t]+([^;&|\n`)]*)|(?=\s*(?:[;&|\n`)]|$)))")
_SCRIPT = re.compile(r"(?:^|[\s;&|(`=])((?:\./|\.\./)?[\w.@+-]+(?:/[\w.@+-]+)*\.(?:sh|bash))(?=$|[\s;&|)`'\"])")
_EXEC = re.compile(r"(?:^|[;&|(`]\s*|\n\s*)(\./[\w.@+-]+(?:/[\w.@+-]+)*)(?=$|[\s;&|)`])")
# a variable naming the repository's root (or make's working directory) in front of a script's path
_ROOT_VAR = re.compile(
    r"(?<![\w/])\$(?:\{|\()?(?:[A-Z_]*ROOT[A-Z_]*|CURDIR|PWD|TOP_?DIR|root_dir|repo_root)(?:\}|\))?/"
)
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TARGET = re.compile(r"^([^\t#:=][^:=]*?)\s*::?(?!=)\s*(.*)$")
_ASSIGN = re.compile(r"^\s*[\w.-]+\s*(?:[:+?!]?=)")


@dataclass(frozen=True)
class Reference:
    kind: str  # make | script
    path: str  # file, relative to the working directory (the project root)
    targets: tuple[str, ...] = ()  # make targets ('' = the default goal)
    text: str = ""  # as written in the command
    assigns: tuple[tuple[str, str], ...] = ()  # make's command-line variables (`make KO_PUSH=true build`)


def references(command: str) -> list[Reference]:
    """The make invocations (with ``-C dir``/``-f file``) and repository scripts a command runs."""
    out: list[Reference] = []
    for m in _MAKE.finditer(command):
        args = m.group(1) or ""
        try:
            words = shlex.split(args, comments=True)
        except ValueError:
            words = args.split()
        directory, makefile, targets = "", "", []
        assigns: list[tuple[str, str]] = []
        it = iter(words)
        for w in it:
            if w in ("-C", "--directory"):
                directory = next(it, "")
            elif w.startswith("--directory="):
                directory = w.split("=", 1)[1]
            elif w in ("-f", "--file", "--makefile"):
                makefile = next(it, "")
            elif w.startswith("-"):
                continue
            elif "=" in w:
                name, value = w.split("=", 1)
                if _VAR_NAME.fullmatch(name):
                    assigns.append((name, value))
            elif re.match(r"^[\w./%-]+$", w):
                targets.append(w)
        path = posixpath.normpath(posixpath.join(directory, makefile or "Makefile"))
        out.append(Reference("make", path, tuple(targets) or ("",), m.group(0).strip(), tuple(assigns)))
    seen = {r.path for r in out}
    command = _ROOT_VAR.sub("./", command)  # `${REPO_ROOT}/scripts/lint-charts.sh` (aws/eks-charts' make verify)
    for rx in (_SCRIPT, _EXEC):
        for m in rx.finditer(command):
            if rx is _SCRIPT and _read_not_run(command, m.start(1)):
                continue
            p = posixpath.normpath(m.group(1))
            if p not in seen and not p.startswith("/"):
                seen.add(p)
                out.append(Reference("script", p, (), m.group(1)))
    return out


# `source FILE` / `. FILE` at the start of a command: the file's text becomes part of the script
_SOURCE = re.compile(r"""(?m)(?:^|[;&|{]|\bthen\b|\bdo\b)[ \t]*(?:source|\.)[ \t]+["']?([^\s;&|"'`]+)""")
# the running script's own directory: `$(dirname "$0")`, `$(dirname "${BASH_SOURCE[0]}")`, or a variable
# holding it (`this_dir=$(cd $(dirname ${BASH_SOURCE[0]}) && pwd)`: podtato-head's build_images.sh)
_SCRIPT_DIR = re.compile(
    r"""\$\(\s*dirname\s+["']?\$(?:0|\{?BASH_SOURCE(?:\[0\])?\}?)["']?\s*\)/"""
    r"""|\$\{?(?:this_?dir|script_?dir|scriptdir|script_path|here|dir|basedir|self_dir)\}?/""",
    re.IGNORECASE,
)


def sourced(script: str) -> list[str]:
    """The files a shell script reads with ``source`` or ``.``, as written after substituting the repository's
    root (``${root_dir}/scripts/lib.sh``: ``./scripts/lib.sh``) and the script's own directory (``{here}/``);
    paths built any other way (``$LIB/x.sh``) are not guessed."""
    out: list[str] = []
    if "source" not in script and ". " not in script:
        return out
    for m in _SOURCE.finditer(_SCRIPT_DIR.sub("{here}/", _ROOT_VAR.sub("./", script))):
        word = m.group(1)
        if "$" in word or word.startswith("/") or not word.strip("./"):
            continue
        if word not in out:
            out.append(word)
    return out


# commands that read, print, copy or lint a script named as their argument, never run it
# (external-snapshotter's `cat release-tools/prow.sh | grep ...` reads a Go version out of it)
_READERS = frozenset(
    {
        "cat", "less", "more", "head", "tail", "grep", "egrep", "fgrep", "rg", "sed", "awk", "wc", "diff", "cmp",
        "cp", "mv", "rm", "ls", "stat", "file", "touch", "chmod", "chown", "echo", "printf", "shellcheck", "shfmt",
        "git", "test", "[", "[[", "sha256sum", "md5sum", "curl", "wget", "tee", "install",
    }
)  # fmt: skip
_COMMAND_START = re.compile(r"(?:^|[;&|(`\n]|\$\()[ \t]*")


def _read_not_run(command: str, at: int) -> bool:
    """Whether the word at ``at`` is an argument of a command that only reads or handles the file."""
    lo = max(0, at - 2048)  # a command's words are near it: the look-back is bounded (linear over a script)
    start = max((m.end() for m in _COMMAND_START.finditer(command, lo, at)), default=lo)
    words = command[start:at].split()
    while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in ("sudo", "command", "exec")):
        words = words[1:]
    return bool(words) and posixpath.basename(words[0]) in _READERS


# make's conditional directives, which may sit at column 0 between a target's recipe lines
_CONDITIONAL = re.compile(r"^ *(?:ifn?def|ifn?eq|else|endif)\b")


def make_recipes(text: str, targets: tuple[str, ...]) -> list[tuple[str, int, str]]:
    """(target, line of its first recipe line, recipe text) for the targets and, transitively, their
    prerequisites and the ``$(MAKE) target`` calls of their recipes (at most :data:`MAX_TARGETS`).
    ``''`` is the default goal (the first target that does not start with a dot)."""
    return [(t, line, body) for _f, t, line, body in make_recipes_in([("", text)], targets)]


_Rules = dict[str, list[tuple[str, int, list[str], list[str]]]]


def _make_rules(name: str, text: str, rules: _Rules) -> tuple[str | None, list[str]]:
    """Add the rules of one makefile's text to ``rules`` (target -> (file, line, prerequisites, recipe)); its
    default goal and its lines."""
    default = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _TARGET.match(line) if not line.startswith("\t") and not _ASSIGN.match(line) else None
        if m is None:
            i += 1
            continue
        names = m.group(1).split()
        rest = m.group(2)
        hash_at, semi_at = rest.find("#"), rest.find(";")
        if hash_at >= 0 and (semi_at < 0 or hash_at < semi_at):
            # a comment ends the prerequisites, recipe and all: `multiarch-build: ## Build and optionally push a
            # ... image` (contour's help text) names no push target
            rest = rest[:hash_at]
        deps_part = rest.split(";", 1)
        prereqs = [d for d in deps_part[0].split() if not d.startswith("|")]
        recipe: list[str] = [deps_part[1].strip()] if len(deps_part) > 1 and deps_part[1].strip() else []
        start = i + 2 if not recipe else i + 1
        j = i + 1
        while j < len(lines) and (
            lines[j].startswith("\t")
            or _CONDITIONAL.match(lines[j])  # ifndef IMAGE ... endif inside a recipe (opentelemetry's cosign-sign)
            or (not lines[j].strip() and j + 1 < len(lines) and lines[j + 1].startswith("\t"))
        ):
            recipe.append(lines[j][1:] if lines[j].startswith("\t") else "")
            j += 1
        for n in names:
            if default is None and not n.startswith(".") and "%" not in n:
                default = n
            rules.setdefault(n, []).append((name, start, prereqs, recipe))
        i = j
    return default, lines


# the goals make was asked for, in a recipe that hands them on: envoy-gateway's Makefile is one rule,
# `_run: ; @$(MAKE) -f tools/make/common.mk $(MAKECMDGOALS)`, that every goal reaches
_GOALS = re.compile(r"\$[({]MAKECMDGOALS[)}]")
# a recipe line's prefixes, make's and not the shell's: @ (silent), - (errors ignored), + (run under -n)
_PREFIXES = re.compile(r"(?m)^([ \t]*)[@+-]+")


def make_recipes_in(
    files: list[tuple[str, str]], targets: tuple[str, ...], assigns: tuple[tuple[str, str], ...] = ()
) -> list[tuple[str, str, int, str]]:
    """(file, target, line, recipe text) as :func:`make_recipes`, over a makefile and the files it includes
    (``files``: (name, text), the makefile first), with make's command-line variables ``assigns``. A goal no
    rule names is made by the match-anything rule (``%:``), or by the default goal when its recipe hands the
    goals on (``$(MAKE) -f other.mk $(MAKECMDGOALS)``), with ``$(MAKECMDGOALS)`` standing for the goals asked
    for."""
    rules: _Rules = {}
    default = None
    all_lines: list[str] = []
    for name, text in files:
        first, lines = _make_rules(name, text, rules)
        default = default or first
        all_lines += lines
    # make's command-line variables override the makefile's (`make KO_PUSH=true build`: kamaji's push)
    commands = {**_command_variables(all_lines), **_label_variables(all_lines), **dict(assigns)}
    goals = " ".join(t for t in targets if t)
    out: list[tuple[str, str, int, str]] = []
    todo = [default or "" if t == "" else t for t in targets]
    done: set[str] = set()
    while todo and len(done) < MAX_TARGETS:
        t = todo.pop(0)
        if t in done:
            continue
        if t not in rules:
            # a goal made by a rule for anything: `%:` itself, or a default goal that hands the goals on
            forward = "%" if "%" in rules else default
            if forward is None or forward in done or forward not in rules:
                continue
            if forward != "%" and not any(_GOALS.search("\n".join(r[3])) for r in rules[forward]):
                continue
            t = forward
        done.add(t)
        for name, start, prereqs, recipe in rules[t]:
            body = _PREFIXES.sub(r"\1", "\n".join(_joined(recipe)))
            if commands and "$" in body:
                body = _MAKE_REF.sub(lambda m: commands.get(m.group(1) or m.group(2), m.group(0)), body)
            if goals and "MAKECMDGOALS" in body:
                body = _GOALS.sub(goals, body)
            if body.strip():
                out.append((name, t, start, body))
            todo.extend(p for p in prereqs if p not in done)
            for ref in references(body):
                if ref.kind == "make" and ref.path == "Makefile":
                    todo.extend(x for x in ref.targets if x and x not in done)
    return out


# include, -include and sinclude lines (not a recipe's, which start with a tab)
_INCLUDE = re.compile(r"^ *-?s?include[ \t]+([^#\n]+)", re.MULTILINE)
MAX_INCLUDED = 16  # files one makefile includes that are read with it


def make_includes(text: str) -> list[str]:
    """The files a makefile includes, as written (``tools/make/*.mk`` may be a pattern); words built from
    variables (``$(ROOT)/common.mk``) are not guessed."""
    out: list[str] = []
    if "include" not in text:
        return out
    for m in _INCLUDE.finditer(text):
        for word in m.group(1).split():
            if "$" not in word and word not in out:
                out.append(word)
    return out[:MAX_INCLUDED]


# a Makefile variable that names a command, `DOCKER_COMPOSE_CMD ?= docker compose` (opentelemetry-demo), and its
# uses in recipes, $(NAME) or ${NAME} ($$(...) is the shell's): a recipe reads as the command it runs
_MAKE_VAR = re.compile(r"^(?:override[ \t]+|export[ \t]+)?([A-Za-z_][\w]*)[ \t]*(\?=|:{0,3}=)[ \t]*(.*?)[ \t]*$")
_COMMAND_VALUE = re.compile(r"[A-Za-z][\w.+-]*(?:[ \t]+[A-Za-z][\w.+-]*)?")
_MAKE_REF = re.compile(r"(?<!\$)\$(?:\(([A-Za-z_]\w*)\)|\{([A-Za-z_]\w*)\})")


def _command_variables(lines: list[str]) -> dict[str, str]:
    """The Makefile's variables whose value is a command word or two (``docker compose``, ``docker-compose``,
    ``kubectl``), by name: a ``?=`` default unless another assignment sets it. Values with a path, a flag or a
    reference to something else are left alone (``$(GOLANGCI_LINT)``, a tool under ``$(LOCALBIN)``, stays as
    written), and so is a variable assigned more than one command."""
    values: dict[str, str | None] = {}
    for line in lines:
        if line.startswith("\t") or "=" not in line:
            continue
        m = _MAKE_VAR.match(line)
        if m is None:
            continue
        name, op, value = m.groups()
        value = value.split("#", 1)[0].strip()  # a comment ends the value
        if op == "?=" and name in values:
            continue
        if op.endswith("=") and op != "?=" and name in values and values[name] != value:
            values[name] = None  # set twice, to different commands: which one runs depends on the order
            continue
        values[name] = value if _COMMAND_VALUE.fullmatch(value) else None
    return {k: v for k, v in values.items() if v}


def _label_variables(lines: list[str]) -> dict[str, str]:
    """The Makefile's variables that hold `--label` flags for a `docker build` (contour's DOCKER_BUILD_LABELS,
    continued over lines), by name, set once: a recipe reads as the labels it gives the image (GC305)."""
    values: dict[str, str | None] = {}
    for line in _joined(lines):
        if line.startswith("\t") or "--label" not in line:
            continue
        m = _MAKE_VAR.match(line)
        if m is None:
            continue
        name, _op, value = m.groups()
        values[name] = None if name in values else value
    return {k: v for k, v in values.items() if v}


def _joined(lines: list[str]) -> list[str]:
    """Recipe lines with backslash continuations joined onto their first line; an empty line stands in for each
    joined one, so that line numbers stay right."""
    out: list[str] = []
    pending: str | None = None
    blanks = 0
    for ln in lines:
        cur = ln.lstrip("\t") if pending is not None else ln
        pending = cur if pending is None else pending + " " + cur.strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            blanks += 1
            continue
        out.append(pending)
        out.extend([""] * blanks)
        pending, blanks = None, 0
    if pending is not None:
        out.append(pending)
        out.extend([""] * blanks)
    return out
