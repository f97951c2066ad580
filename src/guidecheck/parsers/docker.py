"""Dockerfile parser and model: a tokenizer and stage model that follow BuildKit's parser.

The model every docker rule reads (text in, :class:`Dockerfile` out; no file
system, no targets: :mod:`guidecheck.loaders.docker` turns a read file into the
``docker`` target).  Line numbers are 1-based lines of the file.

Why not ``dockerfile-parse`` (only a test dependency now: the differential
oracle of tests/test_dockerfile.py): on version 2.0.1 it turns heredoc bodies
into instructions (containerbuildsystem/dockerfile-parse#145), mangles
``${VAR:-default}`` in ``FROM``, ends a continuation at an empty line, keeps a
byte-order mark in the first keyword, accepts unknown instructions silently, and is
super-linear on long continuations (20,000 continuation lines take ~0.4 s,
40,000 ~1.4 s).  This module reimplements the small part of BuildKit's
``frontend/dockerfile/parser`` that the rules need, linear in the input:

* parser directives (``# syntax=``, ``# escape=``, ``# check=``) at the top of
  the file only, duplicates and bad escape tokens reported;
* comments, continuation lines (with the escape token in force), comment
  lines and empty lines inside a continuation, as BuildKit does;
* heredocs (``RUN <<EOF``, ``COPY <<-'CONF' /x``, several per line) whose
  bodies are data: they are stored on the instruction, never parsed;
* builder flags (``--platform=``, ``--mount=`` ...), JSON (exec) form;
* ``ARG`` before the first ``FROM`` and the shell-style expansion BuildKit
  applies to ``FROM`` (``$V``, ``${V}``, ``${V:-d}``, ``${V-d}``, ``${V:+x}``,
  ``${V+x}``, ``${V:?}``, ``${V#p}``, ``${V%p}``, quotes, escapes);
* stages, ``AS`` aliases and ``FROM <stage>`` resolved to the stage's image.

Errors never raise: they are collected in :attr:`Dockerfile.errors` with their
line, and every valid instruction is still part of the model.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field

from guidecheck.lazyre import lazy
from guidecheck.model import LoadError

INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
_HEREDOC_INSTRUCTIONS = frozenset({"ADD", "COPY", "RUN"})
_JSON_FORM = frozenset({"ADD", "CMD", "COPY", "ENTRYPOINT", "RUN", "SHELL", "VOLUME"})
_DIRECTIVES = frozenset({"syntax", "escape", "check"})

# ARGs the builder defines in the global scope for every build (BuildKit
# "automatic platform ARGs").  Their values depend on the build; for judging a
# base image the common linux/amd64 values are used.
BUILTIN_ARGS: dict[str, str] = {
    "BUILDPLATFORM": "linux/amd64",
    "BUILDOS": "linux",
    "BUILDARCH": "amd64",
    "BUILDVARIANT": "",
    "TARGETPLATFORM": "linux/amd64",
    "TARGETOS": "linux",
    "TARGETARCH": "amd64",
    "TARGETVARIANT": "",
}

# Real Dockerfiles have tens to hundreds of instructions; past this many the
# file is not a Dockerfile someone maintains, and parsing stops with an error
# (GC001) instead of spending seconds on it.
MAX_INSTRUCTIONS = 20_000
MAX_EXPANSION_DEPTH = 16

_WS_SPLIT = lazy(r"[\t\v\f\r ]+")
_DIRECTIVE = lazy(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = lazy(r"^(\d*)<<(-?)\s*([^<]*)$")
_STAGE_NAME = lazy(r"^[a-z][a-z0-9\-_.]*$")
_NAME = lazy(r"[A-Za-z_][A-Za-z0-9_]*")
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})


@dataclass
class Instruction:
    """One Dockerfile instruction, continuations joined."""

    name: str  # upper-case instruction, e.g. RUN
    value: str  # arguments with continuations joined, builder flags removed; heredoc bodies excluded
    line: int  # first line
    end_line: int  # last line (continuations and heredocs included)
    flags: dict[str, str] = field(default_factory=dict)  # --platform=..., --mount=... (last value of each)
    heredocs: list[str] = field(default_factory=list)  # bodies of <<EOF heredocs (data, never instructions)
    # every builder flag in order, repeats kept (RUN --mount=... --mount=...): (name, value)
    flag_list: list[tuple[str, str]] = field(default_factory=list)
    heredoc_names: list[str] = field(default_factory=list)  # terminators, parallel to ``heredocs``
    json_args: list[str] | None = None  # exec form: RUN ["a", "b"]
    # ARG / ENV / LABEL: (key, value) with quotes removed, variables not expanded;
    # value None for an ARG without default
    pairs: list[tuple[str, str | None]] = field(default_factory=list)
    keyword: str = ""  # the instruction as written (run, Run, RUN)


@dataclass
class Stage:
    """One build stage: its FROM, the image it resolves to and its instructions."""

    index: int
    base: str  # FROM argument as written
    image: str | None  # after ARG substitution and alias resolution; None when unresolvable
    unresolved: str | None  # why ``image`` is None (e.g. "ARG BASE has no default")
    alias: str | None  # AS name (lower-cased, as BuildKit does)
    platform: str | None
    line: int
    parent_stage: int | None  # index of the stage this one builds FROM, if any
    instructions: list[Instruction] = field(default_factory=list)
    expanded: str | None = None  # FROM argument after ARG substitution (a stage name stays a name)
    # FROM argument with what could be substituted; each unresolved reference is MARK ("\ue000")
    partial: str | None = None
    unresolved_args: tuple[str, ...] = ()  # the ARG names that made ``image`` None
    end_line: int = 0  # last line of the stage

    @property
    def is_scratch(self) -> bool:
        return self.image is not None and self.image.lower() == "scratch"


@dataclass
class Dockerfile:
    """A parsed Dockerfile: its instructions, stages, global ARGs and directives."""

    instructions: list[Instruction]
    stages: list[Stage]
    global_args: dict[str, str | None]  # ARGs before the first FROM and their defaults
    directives: dict[str, str]  # parser directives: syntax, escape, check
    errors: list[LoadError] = field(default_factory=list)

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def lineage(self, stage: Stage) -> list[Stage]:
        """The stage and the stages it builds FROM, nearest first (cycles cannot occur)."""
        out = [stage]
        seen = {stage.index}
        cur = stage
        while (
            cur.parent_stage is not None and cur.parent_stage not in seen and 0 <= cur.parent_stage < len(self.stages)
        ):
            cur = self.stages[cur.parent_stage]
            seen.add(cur.index)
            out.append(cur)
        return out

    def root_of(self, stage: Stage) -> Stage:
        """The stage of ``stage``'s lineage that names an external image (or scratch)."""
        return self.lineage(stage)[-1]


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse a Dockerfile's text.  Never raises; problems go to ``errors``."""
    try:
        return _Parser(text).parse()
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the scan: reported as a load error
        return Dockerfile(
            [], [], {}, {}, [LoadError(f"internal error while parsing the Dockerfile: {type(exc).__name__}: {exc}")]
        )


# --------------------------------------------------------------- tokenizer


class _Parser:
    def __init__(self, text: str):
        if text.startswith("\ufeff"):
            text = text[1:]
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.escape = "\\"
        self.directives: dict[str, str] = {}
        self.errors: list[LoadError] = []
        self.instructions: list[Instruction] = []

    def error(self, message: str, line: int, column: int = 1) -> None:
        self.errors.append(LoadError(message, line, column))

    # BuildKit's DirectiveParser: only at the very top, stops at the first line
    # that is not a '# key=value' comment with a known key.
    def _directives(self) -> None:
        for i, raw in enumerate(self.lines):
            s = raw.rstrip("\r\n").lstrip()
            if not s.startswith("#"):
                return
            m = _DIRECTIVE.match(s[1:].lstrip())
            if not m or m.group(1).lower() not in _DIRECTIVES:
                return
            key, value = m.group(1).lower(), m.group(2)
            if key in self.directives:
                self.error(f"only one {key} parser directive can be used", i + 1)
                continue
            self.directives[key] = value
            if key == "escape":
                if value not in ("\\", "`"):
                    self.error(f"invalid escape token '{value}' does not match ` or \\", i + 1)
                else:
                    self.escape = value

    def _trim_continuation(self, s: str) -> tuple[str, bool]:
        """(text without the trailing escape token, True if the instruction continues)."""
        t = s.rstrip(" \t")
        if t.endswith(self.escape):
            return t[:-1], True
        return s, False

    def parse(self) -> Dockerfile:
        self._directives()
        lines = self.lines
        n = len(lines)
        i = 0
        while i < n:
            start = i + 1
            joined, i = self._logical_line(i)
            if joined is None:
                continue
            if len(self.instructions) >= MAX_INSTRUCTIONS:
                self.error(
                    f"more than {MAX_INSTRUCTIONS} instructions: parsing stopped here; the rest of the "
                    "file is not checked",
                    start,
                )
                break
            ins = self._instruction(joined, start, i)
            if ins is None:
                continue
            target = self._onbuild_trigger(ins) if ins.name == "ONBUILD" else ins
            if target.name in _HEREDOC_INSTRUCTIONS and target.json_args is None and "<<" in joined:
                i = self._heredoc_bodies(ins, target, i)
            self.instructions.append(ins)
        return _build(self.instructions, self.directives, self.errors, self.escape)

    def _logical_line(self, i: int) -> tuple[str | None, int]:
        """The instruction text starting at line index ``i`` with its continuation lines joined (None for a
        comment or empty line), and the index of the line after it."""
        lines = self.lines
        n = len(lines)
        raw = lines[i].rstrip("\r")
        i += 1
        s = raw.lstrip()
        if s.startswith("#"):
            return None, i
        body, cont = self._trim_continuation(s)
        if not cont and not body.strip():
            return None, i
        parts = [body]
        while cont and i < n:
            raw = lines[i].rstrip("\r")
            i += 1
            stripped = raw.lstrip()
            if stripped.startswith("#") or not stripped:
                continue  # comment lines and empty lines inside a continuation are skipped
            body, cont = self._trim_continuation(raw)
            parts.append(body)
        return "".join(parts), i

    def _onbuild_trigger(self, ins: Instruction) -> Instruction:
        """The instruction an ONBUILD runs (``ins`` itself when it names none)."""
        start, end = ins.line, ins.end_line
        trigger = _split_command(ins.value, self.escape)
        target = Instruction(trigger[0].upper(), trigger[2], start, end) if trigger else ins
        if trigger and target.name in _JSON_FORM:
            try:
                target.json_args = _json_array(trigger[2])
            except ValueError as exc:
                self.error(f"ONBUILD {target.name}: {exc}", start)
                target.json_args = []
        return target

    def _heredoc_bodies(self, ins: Instruction, target: Instruction, i: int) -> int:
        """Read the bodies of ``target``'s heredocs from line index ``i`` into ``ins``; the index after them."""
        lines = self.lines
        n = len(lines)
        start = ins.line
        for _fd, chomp, name in _heredocs_in(target.value):
            content: list[str] = []
            terminated = False
            while i < n:
                raw = lines[i]
                i += 1
                candidate = raw.rstrip("\r\n")
                if chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == name:
                    terminated = True
                    break
                content.append(raw)
            ins.heredocs.append("\n".join(content) + ("\n" if content else ""))
            ins.heredoc_names.append(name)
            if not terminated:
                self.error(f"unterminated heredoc: no line '{_short(name, 60)}' closes the heredoc opened here", start)
                break
        ins.end_line = i
        return i

    def _instruction(self, line: str, start: int, end: int) -> Instruction | None:
        split = _split_command(line, self.escape)
        if split is None:
            return None
        keyword, flags, args = split
        name = keyword.upper()
        ins = Instruction(name=name, value=args, line=start, end_line=end, keyword=keyword)
        for f in flags:
            key, _, val = f.partition("=")
            ins.flag_list.append((key, val))
            ins.flags[key] = val
        if name not in INSTRUCTIONS:
            hint = _suggest(name) if len(name) <= 20 else None
            self.error(
                f"unknown instruction: {_short(keyword, 60)}" + (f" (did you mean {hint}?)" if hint else ""), start
            )
            return ins
        if name in _JSON_FORM:
            try:
                ins.json_args = _json_array(args)
            except ValueError as exc:
                self.error(f"{name}: {exc}", start)
        self._validate(ins)
        return ins

    # ------------------------------------------------------------ validation

    def _validate(self, ins: Instruction) -> None:
        name, args, line = ins.name, ins.value, ins.line
        if name in ("ENV", "LABEL"):
            self._name_values(ins)
        elif name == "ARG":
            self._arg(ins)
        elif name in ("USER", "WORKDIR", "MAINTAINER", "STOPSIGNAL"):
            if not args:
                self.error(f"{name} requires exactly one argument", line)
        elif name in ("EXPOSE", "VOLUME", "ONBUILD"):
            self._one_or_more(ins)
        elif name == "HEALTHCHECK":
            self._healthcheck(ins)
        elif name in ("COPY", "ADD"):
            count = len(ins.json_args) if ins.json_args is not None else len(args.split())
            if count < 2:
                self.error(f"{name} requires at least two arguments (sources and a destination)", line)
        elif name == "SHELL":
            if ins.json_args is None:
                self.error("SHELL requires the arguments to be in JSON form", line)
            elif not ins.json_args:
                self.error("SHELL requires at least one argument", line)
        elif name == "FROM":
            self._from(ins)

    def _arg(self, ins: Instruction) -> None:
        words = _words(ins.value, self.escape)
        if not words:
            self.error("ARG requires at least one argument", ins.line)
        for w in words:
            if "=" in w:
                k, _, v = w.partition("=")
                if not k:
                    self.error("ARG names can not be blank", ins.line)
                    continue
                ins.pairs.append((k, v))
            else:
                ins.pairs.append((w, None))

    def _one_or_more(self, ins: Instruction) -> None:
        """EXPOSE, VOLUME and ONBUILD: at least one argument, each port valid, a trigger ONBUILD may run."""
        name, args, line = ins.name, ins.value, ins.line
        if not args or (ins.json_args is not None and not ins.json_args):
            self.error(f"{name} requires at least one argument", line)
        elif name == "EXPOSE":
            for port in args.split():
                problem = _bad_port(port)
                if problem:
                    self.error(f"EXPOSE {port}: {problem}", line)
        elif name == "ONBUILD":
            self._onbuild(ins)

    def _onbuild(self, ins: Instruction) -> None:
        trigger = ins.value.split(None, 1)[0].upper()
        if trigger == "ONBUILD":
            self.error("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", ins.line)
        elif trigger in ("FROM", "MAINTAINER"):
            self.error(f"{trigger} isn't allowed as an ONBUILD trigger", ins.line)
        elif trigger not in INSTRUCTIONS:
            self.error(f"unknown instruction in ONBUILD trigger: {trigger}", ins.line)

    def _from(self, ins: Instruction) -> None:
        words = ins.value.split()
        if not words:
            self.error("FROM requires either one or three arguments", ins.line)
        elif len(words) == 3 and words[1].lower() == "as":
            if not _STAGE_NAME.match(words[2].lower()):
                self.error(
                    f"invalid name for build stage: '{words[2]}', name can't start with a number or contain symbols",
                    ins.line,
                )
        elif len(words) != 1:
            self.error("FROM requires either one or three arguments (FROM image [AS name])", ins.line)

    def _name_values(self, ins: Instruction) -> None:
        """ENV and LABEL: ``key=value ...`` or the legacy ``key value``."""
        words = _words(ins.value, self.escape)
        if not words:
            self.error(f"{ins.name} requires at least one argument", ins.line)
            return
        if "=" not in words[0]:
            parts = _WS_SPLIT.split(ins.value.strip(), 1)
            if len(parts) < 2:
                self.error(f"{ins.name} must have two arguments", ins.line)
                return
            ins.pairs.append((_unquote(parts[0], self.escape), _unquote(parts[1], self.escape)))
            return
        for w in words:
            if "=" not in w:
                self.error(
                    f"{ins.name} syntax error - can't find = in '{_short(w)}': must be of the form name=value", ins.line
                )
                continue
            k, _, v = w.partition("=")
            key = _unquote(k, self.escape)
            if not key:
                self.error(f"{ins.name} names can not be blank", ins.line)
                continue
            ins.pairs.append((key, _unquote(v, self.escape)))

    def _healthcheck(self, ins: Instruction) -> None:
        args, line = ins.value, ins.line
        if not args:
            self.error("HEALTHCHECK requires at least one argument (CMD ... or NONE)", line)
            return
        typ, _, rest = args.partition(" ")
        typ = typ.strip().upper()
        rest = rest.strip()
        if typ == "NONE":
            if rest:
                self.error("HEALTHCHECK NONE takes no arguments", line)
        elif typ == "CMD":
            try:
                arr = _json_array(rest)
            except ValueError as exc:
                self.error(f"HEALTHCHECK: {exc}", line)
                return
            if (arr is not None and not arr) or (arr is None and not rest):
                self.error("missing command after HEALTHCHECK CMD", line)
        else:
            self.error(f"unknown type '{_short(typ, 40)}' in HEALTHCHECK (try CMD)", line)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suggest(name: str) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, sorted(INSTRUCTIONS), n=1, cutoff=0.75)
    return close[0] if close else None


def _bad_port(spec: str) -> str | None:
    if "$" in spec:
        return None  # set by an ARG/ENV: judged at build time
    port, _, proto = spec.partition("/")
    if proto and proto.lower() not in ("tcp", "udp", "sctp"):
        return f"invalid proto: {proto}"
    port = port.rsplit(":", 1)[-1]
    if not port:
        return "no port specified"
    lo, sep, hi = port.partition("-")
    for p in (lo, hi) if sep else (lo,):
        if not p.isdigit() or int(p) > 65535:
            return f"invalid port: {p or port}"
    if sep and int(hi) < int(lo):
        return f"invalid port range: {port}"
    return None


def _json_array(args: str) -> list[str] | None:
    """The exec form's list, None for the shell form; ValueError if the array holds non-strings."""
    s = args.lstrip()
    if not s.startswith("["):
        return None
    try:
        data = json.loads(s)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list):
        return None
    if not all(isinstance(x, str) for x in data):
        raise ValueError("when using JSON array syntax, arrays must be comprised of strings only")
    return data


def _split_command(line: str, escape: str) -> tuple[str, list[str], str] | None:
    """(keyword, builder flags, remaining arguments) as BuildKit's splitCommand."""
    parts = _WS_SPLIT.split(line.strip(" \t\v\f\r\n"), 1)
    if not parts or not parts[0]:
        return None
    if len(parts) == 1:
        return parts[0], [], ""
    rest, flags = _builder_flags(parts[1], escape)
    return parts[0], flags, rest.strip()


def _builder_flags(line: str, escape: str) -> tuple[str, list[str]]:
    """Leading ``--name[=value]`` words, quotes and escapes resolved; the rest of the line."""
    if not line.lstrip().startswith("--"):
        return line, []
    flags: list[str] = []
    pos, n = 0, len(line)
    while True:
        while pos < n and line[pos].isspace():
            pos += 1
        if pos >= n:
            return "", flags
        if not line.startswith("--", pos):
            return line[pos:], flags
        word, blank_ok, pos = _flag_word(line, pos, escape)
        if word == "--":
            return line[pos:], flags
        if word or blank_ok:
            flags.append(word[2:] if word.startswith("--") else word)


def _flag_word(line: str, pos: int, escape: str) -> tuple[str, bool, int]:
    """The word starting at ``pos``, quotes and escapes resolved: (word, whether it held quotes, end position)."""
    buf: list[str] = []
    quote = ""
    blank_ok = False
    n = len(line)
    while pos < n:
        ch = line[pos]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == escape and pos + 1 < n:
                pos += 1
                buf.append(line[pos])
            elif ch != escape:
                buf.append(ch)
            pos += 1
            continue
        if ch.isspace():
            break
        if ch in "'\"":
            quote = ch
            blank_ok = True
        elif ch == escape:
            if pos + 1 < n:
                pos += 1
                buf.append(line[pos])
        else:
            buf.append(ch)
        pos += 1
    return "".join(buf), blank_ok, pos


def _words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords: whitespace-separated words, quotes and escapes kept."""
    words: list[str] = []
    buf: list[str] = []
    quote = ""
    in_word = False
    blank_ok = False
    i, n = 0, len(rest)
    while i < n:
        ch = rest[i]
        if not quote and ch.isspace():
            if in_word and (buf or blank_ok):
                words.append("".join(buf))
            buf = []
            in_word = False
            blank_ok = False
            i += 1
            continue
        in_word = True
        if quote and ch == quote:
            quote = ""
        elif not quote and ch in "'\"":
            quote = ch
            blank_ok = True
        elif ch == escape and quote != "'":  # kept with the character it escapes (none in single quotes)
            if i + 1 == n:
                break
            buf.append(ch)
            i += 1
            ch = rest[i]
        buf.append(ch)
        i += 1
    if in_word and (buf or blank_ok):
        words.append("".join(buf))
    return words


def _shell_words(line: str) -> list[str]:
    """Shell words with quotes and escapes kept (BuildKit's lexer with RawQuotes/RawEscapes)."""
    return _words(line, "\\")


def _heredocs_in(value: str) -> list[tuple[int, bool, str]]:
    """(fd, chomp, terminator) of each heredoc word of an instruction's arguments."""
    out = []
    for word in _shell_words(value):
        m = _HEREDOC.match(word)
        if not m or not m.group(3):
            continue
        name = _unquote(m.group(3), "\\")
        if not name or any(c.isspace() for c in name):
            continue
        out.append((int(m.group(1) or 0), m.group(2) == "-", name))
    return out


def _unquote(word: str, escape: str) -> str:
    """Remove shell quotes and escapes (no variable expansion)."""
    if "'" not in word and '"' not in word and escape not in word:
        return word
    out: list[str] = []
    quote = ""
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                out.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = ""
            elif ch == escape and i + 1 < n and word[i + 1] in ('"', escape, "$"):
                i += 1
                out.append(word[i])
            else:
                out.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == escape and i + 1 < n:
            i += 1
            out.append(word[i])
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# ------------------------------------------------------ variable expansion


class _Unresolved(Exception):
    def __init__(self, names: list[str]):
        super().__init__(", ".join(names))
        self.names = names


MARK = "\ue000"  # stands for an unresolved reference in Stage.partial


def expand(word: str, env: dict[str, str | None], escape: str = "\\") -> tuple[str | None, list[str]]:
    """Expand ``word`` as BuildKit expands a FROM argument.

    ``env`` maps declared ARG names to their default, or None when the ARG has
    no default (it is unset unless ``--build-arg`` gives it).  Returns the
    expanded text, or None and the names that could not be resolved: a plain
    reference to an ARG without default or to a name that is not an ARG.
    """
    out, missing = expand_partial(word, env, escape)
    return (None, missing) if missing else (out, [])


def expand_partial(word: str, env: dict[str, str | None], escape: str = "\\") -> tuple[str, list[str]]:
    """Like :func:`expand`, but unresolved references become :data:`MARK` in the text."""
    missing: list[str] = []
    try:
        out = _Expander(word, env, escape, missing).run()
    except _Unresolved as exc:
        for nme in exc.names:
            if nme not in missing:
                missing.append(nme)
        return MARK, missing
    return out, missing


class _Expander:
    def __init__(self, text: str, env: dict[str, str | None], escape: str, missing: list[str], depth: int = 0):
        if depth > MAX_EXPANSION_DEPTH:
            raise _Unresolved([f"${{...}} (nested more than {MAX_EXPANSION_DEPTH} deep)"])
        self.s = text
        self.i = 0
        self.env = env
        self.esc = escape
        self.missing = missing
        self.depth = depth

    def run(self) -> str:
        out: list[str] = []
        s, n = self.s, len(self.s)
        while self.i < n:
            ch = s[self.i]
            if ch == "'":
                end = s.find("'", self.i + 1)
                end = n if end < 0 else end
                out.append(s[self.i + 1 : end])
                self.i = end + 1
            elif ch == '"':
                self.i += 1
                while self.i < n and s[self.i] != '"':
                    c = s[self.i]
                    if c == self.esc and self.i + 1 < n and s[self.i + 1] in ('"', "$", self.esc):
                        out.append(s[self.i + 1])
                        self.i += 2
                    elif c == "$":
                        out.append(self._dollar())
                    else:
                        out.append(c)
                        self.i += 1
                self.i += 1
            elif ch == self.esc and self.i + 1 < n:
                out.append(s[self.i + 1])
                self.i += 2
            elif ch == "$":
                out.append(self._dollar())
            else:
                out.append(ch)
                self.i += 1
        return "".join(out)

    def _lookup(self, name: str) -> str | None:
        """The variable's value; None when it is unset (not declared, or an ARG without a default)."""
        v = self.env.get(name)
        if v is not None:
            return v
        if name in BUILTIN_ARGS:  # set by the builder, declared or not
            return BUILTIN_ARGS[name]
        return None

    def _need(self, name: str, value: str | None) -> str:
        if value is None:
            if name not in self.missing:
                self.missing.append(name)
            return MARK
        return value

    def _dollar(self) -> str:
        s, n = self.s, len(self.s)
        self.i += 1  # past $
        if self.i >= n:
            return "$"
        ch = s[self.i]
        if ch == "{":
            self.i += 1
            m = _NAME.match(s, self.i)
            if not m:
                # ${} or ${1}: BuildKit rejects these; treat as unresolvable
                end = s.find("}", self.i)
                self.i = n if end < 0 else end + 1
                raise _Unresolved(["${...}"])
            name = m.group(0)
            self.i = m.end()
            if self.i < n and s[self.i] == "}":
                self.i += 1
                return self._need(name, self._lookup(name))
            return self._modifier(name)
        m = _NAME.match(s, self.i)
        if m:
            self.i = m.end()
            name = m.group(0)
            return self._need(name, self._lookup(name))
        return "$"

    def _word_until_brace(self) -> str:
        """The word of ${name<op>word}, expanded lazily: returns the raw text up to the matching brace."""
        s, n = self.s, len(self.s)
        depth = 1
        start = self.i
        while self.i < n:
            c = s[self.i]
            if c == self.esc:
                self.i += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    raw = s[start : self.i]
                    self.i += 1
                    return raw
            self.i += 1
        raise _Unresolved(["${...} (missing '}')"])

    def _sub(self, raw: str) -> str:
        return _Expander(raw, self.env, self.esc, self.missing, self.depth + 1).run()

    def _modifier(self, name: str) -> str:
        s = self.s
        colon = s.startswith(":", self.i)
        if colon:
            self.i += 1
        op = s[self.i] if self.i < len(s) else ""
        if op and op in "-+?":
            self.i += 1
            raw = self._word_until_brace()
            value = self._lookup(name)
            if value is None or (colon and value == ""):  # unset (with ':', or empty)
                if op == "-":
                    return self._sub(raw)
                if op == "+":
                    return ""
                raise _Unresolved([name])  # ${V:?message}: the build fails when V is unset
            return self._sub(raw) if op == "+" else value
        if not colon and op and op in "#%/":
            double = s.startswith(op * 2, self.i)
            self.i += 2 if double else 1
            raw = self._word_until_brace()
            value = self._need(name, self._lookup(name))
            if value == MARK:
                return MARK
            if op == "/":
                pat, _, repl = raw.partition("/")
                return _replace(value, self._sub(pat), self._sub(repl), double)
            return _trim(value, self._sub(raw), op == "#", double)
        raise _Unresolved([f"${{{name}...}} (unsupported modifier)"])


def _trim(value: str, pattern: str, prefix: bool, longest: bool) -> str:
    if len(value) > 1024:
        raise _Unresolved(["${...} (pattern removal on a value over 1024 characters)"])
    rng = range(len(value), -1, -1) if longest else range(len(value) + 1)
    for k in rng:
        part = value[:k] if prefix else value[len(value) - k :]
        if fnmatch.fnmatchcase(part, pattern):
            return value[k:] if prefix else value[: len(value) - k]
    return value


def _replace(value: str, pattern: str, repl: str, every: bool) -> str:
    if not pattern:
        return value
    if "*" not in pattern and "?" not in pattern and "[" not in pattern:
        return value.replace(pattern, repl) if every else value.replace(pattern, repl, 1)
    return value  # glob replacement: rare in FROM lines; left as is


# ------------------------------------------------------------- stage model


def _build(
    instructions: list[Instruction], directives: dict[str, str], errors: list[LoadError], escape: str
) -> Dockerfile:
    df = Dockerfile(instructions=instructions, stages=[], global_args={}, directives=directives, errors=errors)
    env: dict[str, str | None] = {}
    broken: dict[str, list[str]] = {}  # global ARGs whose default could not be expanded -> culprits
    # global ARGs whose default is a word standing for "give it with --build-arg" (oauth2-proxy's
    # ARG BUILD_IMAGE=placeholder): no image to judge, as with no default
    placeholders: dict[str, str] = {}
    by_alias: dict[str, int] = {}
    for ins in instructions:
        if ins.name not in INSTRUCTIONS:
            if df.stages:
                df.stages[-1].instructions.append(ins)
            continue
        if ins.name == "FROM":
            stage = _stage(ins, len(df.stages), env, broken, by_alias, df.stages, escape, placeholders)
            if stage.alias:
                by_alias[stage.alias] = stage.index
            df.stages.append(stage)
            continue
        if not df.stages:
            if ins.name == "ARG":
                for key, default in ins.pairs:
                    if default is None:
                        env[key] = None
                        df.global_args[key] = None
                        continue
                    value, missing = expand(default, env, escape)
                    if value is None:
                        broken[key] = missing
                        env[key] = None
                        df.global_args[key] = _unquote(default, escape)
                    elif _PLACEHOLDER_DEFAULT.match(value.strip()):
                        broken.pop(key, None)
                        placeholders[key] = value.strip()
                        env[key] = None
                        df.global_args[key] = value
                    else:
                        broken.pop(key, None)
                        placeholders.pop(key, None)
                        env[key] = value
                        df.global_args[key] = value
            else:
                errors.append(
                    LoadError(
                        f"{ins.keyword} before the first FROM: only ARG may precede FROM "
                        "(no build stage in current context)",
                        ins.line,
                    )
                )
            continue
        df.stages[-1].instructions.append(ins)
    for st in df.stages:
        st.end_line = max([st.line, *(i.end_line for i in st.instructions)])
    if not df.stages and not any(e.message.startswith("internal error") for e in errors):
        first = instructions[0].line if instructions else 1
        # one defect, one finding: without any FROM, "RUN before the first FROM" says the same again
        errors[:] = [e for e in errors if "before the first FROM" not in e.message]
        errors.append(
            LoadError(
                "no FROM instruction: a Dockerfile needs at least one build stage (a fragment that a build "
                "appends to another Dockerfile cannot be built on its own)",
                first,
            )
        )
    errors.sort(key=lambda e: (e.line, e.column))
    return df


# a FROM word in capitals with an underscore or none at all (ARG_FROM, BASEIMAGE): image names are lower case
_UPPER_PLACEHOLDER = lazy(r"^[A-Z][A-Z0-9_]*[A-Z0-9]$")

# a default that stands for "pass --build-arg": no image, registry or tag, just the word
_PLACEHOLDER_DEFAULT = lazy(
    r"^(?:placeholder|changeme|change-me|replace-?me|to-?be-?replaced|tbd|todo|unset|undefined|dummy|xxx+|"
    r"must-?override|must-?be-?set|override-?me|required|"
    r"<[^<>]*>|__[A-Z0-9_]+__)$",
    re.IGNORECASE,
)


def _stage(
    ins: Instruction,
    index: int,
    env: dict[str, str | None],
    broken: dict[str, list[str]],
    by_alias: dict[str, int],
    stages: list[Stage],
    escape: str,
    placeholders: dict[str, str] | None = None,
) -> Stage:
    words = ins.value.split()
    base = words[0] if words else ""
    alias = words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None
    platform = ins.flags.get("platform")
    if platform:
        p, _ = expand(platform, env, escape)
        platform = p if p is not None else platform
    stage = Stage(
        index=index,
        base=base,
        image=None,
        unresolved=None,
        alias=alias,
        platform=platform,
        line=ins.line,
        parent_stage=None,
        instructions=[],
    )
    if not base:
        stage.unresolved = "FROM names no image"
        return stage
    partial, missing = expand_partial(base, env, escape)
    stage.partial = partial.strip()
    value = None if missing else partial
    if value is None:
        culprits: list[str] = []
        reasons = []
        for name in missing:
            if name in broken:
                culprits.extend(broken[name])
                reasons.append(
                    f"ARG {name} has a default that uses {', '.join(broken[name])}, which cannot be resolved"
                )
            elif placeholders and name in placeholders:
                culprits.append(name)
                reasons.append(f"ARG {name}'s default {placeholders[name]!r} is a placeholder the build replaces")
            elif name in env:
                culprits.append(name)
                reasons.append(f"ARG {name} has no default")
            elif name.startswith("$"):
                culprits.append(name)
                reasons.append(f"{name} cannot be expanded")
            else:
                culprits.append(name)
                reasons.append(f"{name} is not declared as an ARG before the first FROM")
        stage.unresolved = "; ".join(reasons)
        stage.unresolved_args = tuple(dict.fromkeys(culprits))
        return stage
    value = value.strip()
    stage.expanded = value
    if not value:
        stage.unresolved = f"'{base}' expands to an empty image name"
        return stage
    if _UPPER_PLACEHOLDER.match(value) and value.lower() not in by_alias:
        # kuard's `FROM ARG_FROM`, which its Makefile's sed replaces with $(BASEIMAGE) (go-build-template's
        # idiom): an image name is lower case, so an upper-case word is the build's placeholder, not an image
        stage.unresolved = (
            f"'{value}' is an upper-case word, not an image name: a placeholder the build substitutes (e.g. with sed)"
        )
        stage.partial = MARK
        return stage
    parent = by_alias.get(value.lower())
    if parent is not None and parent < index:
        parent_stage = stages[parent]
        stage.parent_stage = parent
        stage.image = parent_stage.image
        stage.unresolved = parent_stage.unresolved
        stage.unresolved_args = parent_stage.unresolved_args
        return stage
    stage.image = value
    return stage


def heredoc_is_script(ins: Instruction) -> list[bool]:
    """For each heredoc of a RUN: is its body the shell script the RUN executes?

    ``RUN <<EOF`` and ``RUN bash <<EOF`` / ``RUN <<EOF sh -e`` run the body;
    ``RUN cat <<EOF > /etc/x`` or ``RUN python3 <<EOF`` only feed it as data.
    A body starting with a ``#!`` line naming something other than a shell is
    run by that interpreter.
    """
    if ins.name != "RUN" or not ins.heredocs:
        return []
    words = [w for w in _shell_words(ins.value) if not _HEREDOC.match(w)]
    words = [w for w in words if not w.startswith((">", "<", "1>", "2>"))]
    runs_body = not words or words[0].rsplit("/", 1)[-1] in _SHELLS
    out = []
    for body in ins.heredocs:
        ok = runs_body
        first = body.split("\n", 1)[0].strip()
        if ok and not words and first.startswith("#!"):
            interp = first[2:].split()
            prog = interp[0].rsplit("/", 1)[-1] if interp else ""
            if prog == "env" and len(interp) > 1:
                prog = interp[1].rsplit("/", 1)[-1]
            ok = prog in _SHELLS
        out.append(ok)
    return out
