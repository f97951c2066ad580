"""Dockerfile rules: base image (GC301), layers (GC302), package caches (GC303),
pinned FROM images (GC304) and OCI labels (GC305).

Every check reads the model of :mod:`guidecheck.parsers.docker` (``target.data``).
Stage aliases are followed (``FROM build`` is judged by ``build``'s image), ARG
defaults are applied, and an ARG without default is reported as such, never
guessed.  Only the final stage ships: GC301 and GC305 judge the final image,
GC303 the stages the final image is built from (the final stage and the stages
it inherits through ``FROM <stage>``), GC302 and GC304 every stage.
"""

from __future__ import annotations

import itertools
import os
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from guidecheck.checks import Context, NotApplicable
from guidecheck.globs import wildcards
from guidecheck.lazyre import lazy
from guidecheck.model import Hit, Target
from guidecheck.parsers import images
from guidecheck.parsers.docker import MARK, Dockerfile, Instruction, Stage, heredoc_is_script

_MAX_SHOWN = 120


def _short(text: str, limit: int = _MAX_SHOWN) -> str:
    text = text.replace(MARK, "?")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# a development environment's image: VS Code's dev container, Gitpod's workspace; nothing of it ships
_WORKSPACE_IMAGE = lazy(
    r"(?:^|/)\.(?:devcontainer|local)/|(?:^|/)\.gitpod\.(?:Dockerfile|Containerfile)$", re.IGNORECASE
)  # .local/: a developer's own debugging setup (secrets-store-csi-driver's .local/Dockerfile, a Delve image)


# the service built with a debugger or a profiler, named so (kratos's .docker/Dockerfile-debug: Delve, run by a
# compose file that mounts the source; Dockerfile.dbg, pprof.Dockerfile), or for a developer's machine
# (Dockerfile.dev, dev.Dockerfile, Dockerfile.local: oncall's grafana-plugin/Dockerfile.dev, built only by its
# developer compose file; listmonk's dev/app.Dockerfile, a toolbox that sleeps): a developer's image, not the one
# that ships. The words are those of the file's name, split at . - _ (a Dockerfile.debugger is not one of them),
# or the name of its directory, as GC201 reads development variants.
_DEBUG_WORDS = frozenset({"debug", "dbg", "delve", "dlv", "pprof"})
_DEV_WORDS = frozenset({"dev", "devel", "develop", "development", "local", "tilt"})  # kubetail's hack/tilt/
# a test's image, named so (tetragon's Dockerfile.test: `CMD go test ./pkg/...`; Dockerfile.e2e,
# integration.Dockerfile; jaeger-operator's Dockerfile.asserts, the e2e suite's assert jobs) or kept in a test
# directory (helm-controller's tests/fuzz/Dockerfile.builder, the OSS-Fuzz build environment `make fuzz-build`
# runs locally; an e2e suite's helper images), as GC201 reads them
_TEST_WORDS = frozenset(
    {"test", "tests", "testing", "e2e", "integration", "fuzz", "fuzzing", "assert", "asserts", "lint", "linter"}
)  # linter.Dockerfile: inspektor-gadget's `make lint` toolchain, built and run on the developer's machine
_TEST_DIR = lazy(r"^_?(?:tests?|e2e|fuzz(?:ing)?)(?:[-_]|$)|[-_](?:tests?|e2e)$", re.IGNORECASE)
_NAME_WORD = lazy(r"[.\-_]+")


def _developer_image(path: str, rel: str | None = None) -> str | None:
    """Why the Dockerfile at ``path`` builds a developer's image (a debug or a development build) or a test's,
    or None. ``rel`` is its path in its repository (the directories a test image may be kept in)."""
    parts = path.replace("\\", "/").lower().split("/")
    words = set(_NAME_WORD.split(parts[-1])) | ({parts[-2]} if len(parts) > 1 else set())
    if not _DEBUG_WORDS.isdisjoint(words):
        return (
            "a debug image (its name says debug, dbg, delve or pprof): the service with a debugger or profiler "
            "for a developer, not the image that ships"
        )
    if not _DEV_WORDS.isdisjoint(words):
        return (
            "a development image (its name or directory says dev, devel, development, local or tilt): a build for "
            "a developer's machine, not the image that ships"
        )
    directories = (rel if rel is not None else path).replace("\\", "/").split("/")[:-1]
    if not _TEST_WORDS.isdisjoint(words) or any(_TEST_DIR.search(d) for d in directories):
        return (
            "a test image (its name says test, e2e, integration, fuzz or lint, or it is in a test directory): what "
            "a test suite or a check builds and runs, not the image that ships"
        )
    return None


def _repo_relpath(target: Target, ctx: Context) -> str | None:
    """The Dockerfile's path in the repository scanned (None for a file named on its own: its path as given)."""
    from guidecheck import crossref  # the cross-object index's module: not needed to read a Dockerfile alone

    repo = crossref.repo_holding(target, ctx)
    return None if repo is None else target.path[len(crossref.repo_prefix(repo)) :]


def _dockerfile(target: Target, ctx: Context) -> Dockerfile:
    df = target.data
    if not isinstance(df, Dockerfile):
        raise NotApplicable("not a Dockerfile model")
    if _WORKSPACE_IMAGE.search(target.path.replace("\\", "/")):
        raise NotApplicable(
            "a development environment's image (a dev container, Gitpod workspace or .local/ setup): "
            "the developer's tools, not an image that is deployed"
        )
    developer = _developer_image(target.path, _repo_relpath(target, ctx))
    if developer:
        raise NotApplicable(developer)
    if not df.stages:
        raise NotApplicable("the Dockerfile has no build stage")
    if len(df.stages) > 1 and all(not st.instructions and st.alias for st in df.stages):
        # opentelemetry-go-instrumentation's dependencies.Dockerfile: FROM ... AS lines Renovate keeps current and
        # the Makefile reads with awk; nothing is built from it
        raise NotApplicable("only FROM lines: a list of pinned images for tooling to read, not an image build")
    if _pin_file(target.path, df):
        raise NotApplicable(
            "a file of pinned images (named for dependencies, with no RUN, COPY, ADD, CMD or ENTRYPOINT): it "
            "tells Dependabot or Renovate what to update, nothing is built from it"
        )
    return df


# sigstore/scaffolding's deps/Dockerfile.deps: `FROM <image>@sha256:...` and a dummy ENV, "a trigger for dependabot";
# opentelemetry-go-instrumentation's dependencies.Dockerfile
_PIN_WORDS = frozenset({"deps", "dependencies", "dependabot", "renovate", "pins", "versions"})
_BUILDS = frozenset({"RUN", "COPY", "ADD", "CMD", "ENTRYPOINT"})


def _pin_file(path: str, df: Dockerfile) -> bool:
    words = set(_NAME_WORD.split(path.replace("\\", "/").rsplit("/", 1)[-1].lower()))
    return not _PIN_WORDS.isdisjoint(words) and not any(i.name in _BUILDS for i in df.instructions)


def _final(df: Dockerfile) -> Stage:
    """The stage that ships (``_dockerfile`` made sure there is one).

    The last stage, unless it only picks a development stage as the default target (vault-csi-provider ends
    with a bare ``FROM dev``, "Set default target to 'dev'", while its pipeline builds ``--target default`` and
    ``release-ubi``): then the last stage before it that is no development stage and no other stage builds
    FROM or copies from, the release target the file is written for."""
    last = df.stages[-1]
    parent = df.stages[last.parent_stage] if last.parent_stage is not None else None
    if last.instructions or last.alias or parent is None or not _dev_stage(parent):
        return last
    used = {st.parent_stage for st in df.stages if st.parent_stage is not None}
    for st in df.stages:
        for ins in st.instructions:
            source = ins.flags.get("from")
            used.update(o.index for o in df.stages if source and (o.alias == source.lower() or str(o.index) == source))
    for st in reversed(df.stages[:-1]):
        if not _dev_stage(st) and st.index not in used:
            return st
    return last


def _dev_stage(st: Stage) -> bool:
    """A stage named for development or debugging (dev, debug, local ...): the developer's target."""
    return bool(st.alias) and not (_DEV_WORDS | _DEBUG_WORDS).isdisjoint(_NAME_WORD.split(st.alias or ""))


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def _stage_name(st: Stage) -> str:
    return f"stage '{st.alias}'" if st.alias else f"stage {st.index}"


def _via(df: Dockerfile, st: Stage) -> str:
    """ "via stage 'build' -> stage 'base'" when the stage builds FROM earlier stages, else ""."""
    chain = df.lineage(st)[1:]
    return "via " + " -> ".join(_stage_name(s) for s in chain) if chain else ""


def _notes(*notes: str) -> str:
    notes = tuple(n for n in notes if n)
    return f" ({'; '.join(notes)})" if notes else ""


# -------------------------------------------------------------------- GC301


# `apk add`, flags in between (`apk --no-cache -X url add`), within one simple command
_APK_ADD = lazy(r"(?:^|[;&|(\s])apk\s[^\n;&|]*?(?<![\w-])add\b")


def _runs_apk(df: Dockerfile, final: Stage) -> int | None:
    """The line of the first ``RUN apk add`` of the final stage or the stages it builds FROM, if any."""
    for st in df.lineage(final):
        for ins in st.instructions:
            if ins.name == "RUN" and _APK_ADD.search(_run_text(ins)):
                return ins.line
    return None


def _squashed(df: Dockerfile, final: Stage) -> tuple[Stage, Instruction] | None:
    """The earlier stage whose whole file system a FROM scratch stage copies (``COPY --from=build / /``, a
    squash into one layer), with that COPY; None when it copies less, or from an image or a scratch stage."""
    for ins in final.instructions:
        name = ins.flags.get("from") if ins.name == "COPY" else None
        args = ins.json_args if ins.json_args is not None else ins.value.split()
        if not name or len(args) != 2 or args[0].rstrip("/.") != "":
            continue
        source = next((st for st in df.stages if st.alias == name.lower() or str(st.index) == name), None)
        if source is not None and source.index < final.index and source.image and not source.is_scratch:
            return source, ins
    return None


def base_image_alpine(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC301: the final stage's base image, aliases and ARG defaults resolved, is Alpine-based."""
    df = _dockerfile(target, ctx)
    final = _final(df)
    root = df.root_of(final)
    allowed = _strings(ctx.settings.get("allowed-base-images"))
    via = _via(df, final)
    if not root.base:
        raise NotApplicable("the final FROM names no image (a GC001 parse error)")
    if final.image is None:
        yield Hit(
            f"the base image of the final stage, '{_short(root.base)}'{_notes(via)}, cannot be resolved: "
            f"{final.unresolved}; "
            + ("give the ARG a default" if final.unresolved_args else "write the image in the Dockerfile")
            + " so the base image can be checked",
            line=final.line,
            extra={"base": root.base, "unresolved": list(final.unresolved_args)},
        )
        return
    ref = images.parse(final.image)
    if ref is None:
        yield Hit(
            f"the base image of the final stage, '{_short(final.image)}'{_notes(via)}, is not a valid image reference",
            line=final.line,
            extra={"image": final.image},
        )
        return
    if images.matches_any(ref, allowed):
        return
    apk = _runs_apk(df, final)
    alpine = images.parse("alpine:3")
    if apk is not None and alpine is not None and images.matches_any(alpine, allowed):  # the policy takes Alpine
        # docker:27 and other official images built on Alpine: the final stage installs with apk, which only
        # Alpine (and its apk-based kin, Wolfi) has, so the base is Alpine whatever its name says
        ctx.note_evidence(target, f"its final stage installs packages with apk (line {apk}): an Alpine-based image")
        return
    if final.is_scratch and not any(
        i.name in ("ENTRYPOINT", "CMD") for st in df.lineage(final) for i in st.instructions
    ):
        raise NotApplicable(
            "the final stage is FROM scratch with no ENTRYPOINT or CMD: a data image (an OLM bundle's manifests, "
            "a chart or policy as an OCI artifact) in which no program runs, so it has no base image to choose"
        )
    squashed = _squashed(df, final) if final.is_scratch else None
    if squashed is not None:
        # kind's node image: FROM scratch, COPY --from=build / /, to squash the layers: the image is build's
        stage, copy = squashed
        image = images.parse(stage.image or "")
        if image is None or images.matches_any(image, allowed):
            return
        yield Hit(
            f"the final stage is FROM scratch with the whole file system of stage "
            f"'{stage.alias or stage.index}' (COPY --from at line {copy.line}), whose base image "
            f"'{_short(stage.image or '')}' is not Alpine-based "
            f"(settings allowed-base-images: {', '.join(allowed) or 'none'})",
            line=final.line,
            extra={"image": stage.image},
        )
        return
    if final.is_scratch:
        yield Hit(
            f"the final stage is built FROM scratch{_notes(via)}, which is not Alpine-based; if your policy "
            'accepts scratch images (a static binary and nothing else), add "scratch" to '
            "settings allowed-base-images",
            line=final.line,
            extra={"image": "scratch"},
        )
        return
    resolved = f"resolved from '{_short(root.base)}'" if root.base != final.image else ""
    yield Hit(
        f"the final stage's base image '{_short(final.image)}'{_notes(via, resolved)} is not Alpine-based "
        f"(settings allowed-base-images: {', '.join(allowed) or 'none'})",
        line=final.line,
        extra={"image": final.image},
    )


# -------------------------------------------------------------------- GC302


def _mergeable(a: Instruction, b: Instruction) -> bool:
    if a.json_args is not None or b.json_args is not None:
        return False  # exec form: no shell to join commands with
    return sorted(a.flag_list) == sorted(b.flag_list)


def consecutive_runs(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC302: consecutive RUN instructions of a stage that could be one layer."""
    df = _dockerfile(target, ctx)
    for st in df.stages:
        group: list[Instruction] = []
        for ins in [*st.instructions, None]:
            if ins is not None and ins.name == "RUN" and (not group or _mergeable(group[-1], ins)):
                group.append(ins)
                continue
            if len(group) >= 2:
                first, second, last = group[0], group[1], group[-1]
                yield Hit(
                    f"{len(group)} consecutive RUN instructions in {_stage_name(st)} (lines {first.line}-"
                    f"{last.end_line}) create {len(group)} layers where one would do; join them with &&",
                    line=second.line,
                    extra={"runs": [g.line for g in group]},
                )
            group = [ins] if ins is not None and ins.name == "RUN" else []


# -------------------------------------------------------------------- GC303

_SEGMENT_SPLIT = lazy(r"&&|\|\||[;|&\n()`{}]")
_PIP = lazy(r"^pip[0-9]*(?:\.[0-9]+)?$")
_HOME = lazy(r"^(~|\$HOME|\$\{HOME\})")
# commands that print their words (PowerShell's too: docker-library's Windows images say
# "Write-Host 'Verifying pip install ...'")
_PRINTS = frozenset({"echo", "printf", "#", "Write-Host", "Write-Output", "Write-Verbose", "Write-Warning"})
_APT = frozenset({"apt-get", "apt", "aptitude"})
_RPM = frozenset({"yum", "dnf", "microdnf", "tdnf", "dnf5"})


class _Run:
    """A RUN instruction's shell text, split into simple commands (words, quotes dropped)."""

    def __init__(self, ins: Instruction):
        self.ins = ins
        parts = [" ".join(ins.json_args) if ins.json_args is not None else ins.value]
        for body, is_script in zip(ins.heredocs, heredoc_is_script(ins), strict=False):
            if is_script:
                parts.append(body)
        self.text = "\n".join(parts).replace('"', " ").replace("'", " ")
        self._segments: list[tuple[str, list[str]]] | None = None
        self._removed: list[str] | None = None
        self.mounts = [_mount(v) for k, v in ins.flag_list if k == "mount"]

    @property
    def segments(self) -> list[tuple[str, list[str]]]:
        """(text, words) of each simple command; split on first use only.

        A command substitution (``$(...)``, backquotes) is a command of its own, and a word of the command
        around it: ``apk add -X "https://host/v$(cut -d. -f1,2 /etc/alpine-release)/main" --no-cache nginx``
        is one ``apk add`` with its ``--no-cache``, and one ``cut``."""
        if self._segments is None:
            texts = [self.text]
            if "$(" in self.text or "`" in self.text or "${" in self.text:
                texts = _substitutions(self.text)
            self._segments = [(seg, seg.split()) for t in texts for seg in _SEGMENT_SPLIT.split(t) if seg.strip()]
        return self._segments

    def invocations(self, needles: tuple[str, ...], is_tool) -> Iterator[tuple[str, list[str]]]:
        """For each command whose program satisfies ``is_tool``: (program, its arguments).

        Only commands whose text contains one of ``needles`` are looked at, so a
        long RUN without any package manager costs one substring search.
        """
        if not any(n in self.text for n in needles):
            return
        for text, seg in self.segments:
            if not any(n in text for n in needles) or seg[0] in _PRINTS:
                continue  # `echo "run apk add"` prints, it does not install
            for i, w in enumerate(seg):
                tool = w.rsplit("/", 1)[-1]
                if is_tool(tool, seg, i):
                    yield tool, seg[i + 1 :]
                    break

    def removes(self, paths: tuple[str, ...]) -> bool:
        """An ``rm`` of one of ``paths`` (or a directory above it, or a path under it)."""
        for p in self.removed:
            if any(t == p or t.startswith(p + "/") or p.startswith(t + "/") for t in paths):
                return True
        return False

    @property
    def removed(self) -> list[str]:
        """Absolute paths given to ``rm`` commands (``~`` and ``$HOME`` read as /root), found on first use."""
        if self._removed is None:
            self._removed = []
            if "rm" in self.text:
                for text, seg in self.segments:
                    if "rm" not in text or "rm" not in (w.rsplit("/", 1)[-1] for w in seg):
                        continue
                    for w in seg:
                        p = w.rstrip("*").rstrip("/")
                        if len(p) < 2 or not p.startswith(("/", "~", "$HOME", "${HOME}")):
                            continue
                        self._removed.append(_HOME.sub("/root", p))
        return self._removed

    def cache_mount(self, paths: tuple[str, ...]) -> bool:
        """A ``--mount=type=cache`` (or tmpfs) on one of ``paths`` or a directory above or below it."""
        for m in self.mounts:
            if m.get("type") not in ("cache", "tmpfs"):
                continue
            target = _mount_target(m)
            if not target:
                continue
            if any(t == target or t.startswith(target + "/") or target.startswith(t + "/") for t in paths):
                return True
        return False

    def has_words(self, *words: str) -> bool:
        if not all(w in self.text for w in words):
            return False
        return any(all(w in seg for w in words) for _, seg in self.segments)


_SUBSTITUTION = lazy(r"\$\(([^()]*)\)|`([^`]*)`")
_PARAMETER = lazy(r"\$\{[^{}]*\}")  # ${tempDir}: a word, not a brace group


def _substitutions(text: str) -> list[str]:
    """The text with each parameter expansion and command substitution replaced by a word, then the substituted
    commands (innermost first; bounded: 50 rounds)."""
    text = _PARAMETER.sub("PARAM", text)
    inner: list[str] = []

    def take(m: re.Match[str]) -> str:
        inner.append(m.group(1) if m.group(1) is not None else m.group(2))
        return "SUBST"

    for _ in range(50):
        new = _SUBSTITUTION.sub(take, text)
        if new == text:
            break
        text = new
    return [text, *inner]


def _mount_target(m: dict[str, str]) -> str:
    target = (m.get("target") or m.get("dst") or m.get("destination") or "").rstrip("/")
    return _HOME.sub("/root", target)


def _mount(spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in spec.split(","):
        k, sep, v = part.partition("=")
        out[k.strip().lower()] = v.strip().strip("'\"") if sep else "true"
    out.setdefault("type", "bind")
    return out


def _apk(tool: str, seg: list[str], i: int) -> bool:
    return tool == "apk"


def _apt(tool: str, seg: list[str], i: int) -> bool:
    return tool in _APT


def _rpm(tool: str, seg: list[str], i: int) -> bool:
    return tool in _RPM


def _pip(tool: str, seg: list[str], i: int) -> bool:
    """pip, pip3, pip3.12 -- not `uv pip` (uv has its own cache) nor `python -m pip` (see below)."""
    if _PIP.match(tool):
        prev = seg[i - 1].rsplit("/", 1)[-1] if i else ""
        return prev not in ("uv", "-m")
    return False


def _pip_module(tool: str, seg: list[str], i: int) -> bool:
    return tool.startswith("python") and i + 2 < len(seg) and seg[i + 1] == "-m" and _PIP.match(seg[i + 2]) is not None


def _operands(args: list[str]) -> list[str]:
    return [a for a in args if not a.startswith("-")]


def _sets_pip_no_cache(chain: list[Stage], run: _Run) -> bool:
    """PIP_NO_CACHE_DIR set inline, or by an ENV/ARG of the stage (or a stage it builds FROM) before the RUN."""
    if "PIP_NO_CACHE_DIR=" in run.text:
        return True
    for st in chain:
        for ins in st.instructions:
            if (
                ins.line < run.ins.line
                and ins.name in ("ENV", "ARG")
                and any(k == "PIP_NO_CACHE_DIR" and v not in (None, "") for k, v in ins.pairs)
            ):
                return True
    return False


def _cache_problems(chain: list[Stage], ins: Instruction) -> list[str]:
    run = _Run(ins)
    found = (_apk_cache(run), _apt_cache(run), _pip_cache(chain, run), _rpm_cache(run))
    return [p for p in found if p is not None]


def _apk_cache(run: _Run) -> str | None:
    # apk: `apk add` without --no-cache keeps the index in /var/cache/apk
    apk_paths = ("/var/cache/apk", "/etc/apk/cache")
    for _, args in run.invocations(("apk",), _apk):
        # --no-network: nothing is fetched (the packages are already installed: marking them as a virtual group)
        if "add" in _operands(args)[:2] and "--no-cache" not in args and "--no-network" not in args:
            if not (run.removes(apk_paths) or run.cache_mount(apk_paths) or run.has_words("apk", "cache", "clean")):
                return "'apk add' without --no-cache (and /var/cache/apk is not removed in the same RUN)"
            return None
    return None


def _apt_cache(run: _Run) -> str | None:
    # apt: package lists fetched by update/install stay in /var/lib/apt/lists
    apt_paths = ("/var/lib/apt/lists",)
    for tool, args in run.invocations(("apt",), _apt):
        verb = next((o for o in _operands(args) if o in ("update", "install")), None)
        # apt-get dist-clean (apt >= 2.7: Debian trixie, Ubuntu 24.04) removes the lists as rm -rf does
        if verb and not (run.removes(apt_paths) or run.cache_mount(apt_paths) or _dist_clean(run)):
            return f"'{tool} {verb}' without 'rm -rf /var/lib/apt/lists/*' in the same RUN"
    return None


def _dist_clean(run: _Run) -> bool:
    """apt-get dist-clean, or an install helper that removes the lists when done: Kubernetes' debian-base
    `clean-install` (secrets-store-csi-driver's Dockerfile) and bitnami's `install_packages`."""
    if any("dist-clean" in args for _tool, args in run.invocations(("dist-clean",), _apt)):
        return True
    return any(
        seg and seg[0].rsplit("/", 1)[-1] in _CLEANING_INSTALLERS
        for text, seg in run.segments
        if "clean-install" in text or "install_packages" in text
    )


_CLEANING_INSTALLERS = frozenset({"clean-install", "install_packages"})


def _no_cache_dir(arg: str) -> bool:
    """``--no-cache-dir``, or a start of it pip takes for it: its options parser (optparse) expands any unambiguous
    start of a long option, and robusta's ``pip install -U robusta-cli --no-cache`` is one."""
    name = arg.split("=", 1)[0]
    return len(name) >= len("--no-cache") and "--no-cache-dir".startswith(name)


def _pip_cache(chain: list[Stage], run: _Run) -> str | None:
    # pip: the wheel cache in ~/.cache/pip
    pip_paths = ("/root/.cache/pip", "/root/.cache")
    pip_calls = itertools.chain(
        run.invocations(("pip",), _pip), ((t, a[2:]) for t, a in run.invocations(("pip",), _pip_module))
    )
    for _, args in pip_calls:
        if "install" in _operands(args)[:2] and not any(_no_cache_dir(a) for a in args):
            exempt = (
                _sets_pip_no_cache(chain, run)
                or run.removes(pip_paths)
                or run.has_words("cache", "purge")
                or any(
                    m.get("type") == "cache" and ("/.cache" in _mount_target(m) or "pip" in _mount_target(m))
                    for m in run.mounts
                )
            )
            if not exempt:
                return "'pip install' without --no-cache-dir (or PIP_NO_CACHE_DIR)"
            return None
    return None


def _rpm_cache(run: _Run) -> str | None:
    # yum / dnf / microdnf / tdnf: metadata and packages in /var/cache/<tool>
    rpm_paths = ("/var/cache/yum", "/var/cache/dnf", "/var/cache/tdnf", "/var/cache/libdnf5")
    for tool, args in run.invocations(("yum", "dnf"), _rpm):
        verb = next(
            (o for o in _operands(args) if o in ("install", "update", "upgrade", "groupinstall", "reinstall")), None
        )
        if verb:
            cleaned = any(_operands(a)[:2] == ["clean", "all"] for _, a in run.invocations(("yum", "dnf"), _rpm))
            if not (cleaned or run.removes(rpm_paths) or run.cache_mount(rpm_paths)):
                return (
                    f"'{tool} {verb}' without '{tool} clean all' (or removing its cache under "
                    "/var/cache) in the same RUN"
                )
            return None
    return None


def _run_text(ins: Instruction) -> str:
    """A RUN's command for a message: its arguments, or the first line of its heredoc script."""
    text = " ".join(ins.value.split())
    if text.startswith("<<") and ins.heredocs:
        body = next((ln.strip() for ln in ins.heredocs[0].splitlines() if ln.strip()), "")
        text = f"{text.split()[0]} {body}".strip()
    return _short(text, 60)


def package_caches(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC303: package-manager caches left in a layer of the image that ships."""
    df = _dockerfile(target, ctx)
    chain = df.lineage(_final(df))
    for st in chain:
        for ins in st.instructions:
            if ins.name != "RUN":
                continue
            problems = _cache_problems(chain, ins)
            if problems:
                # the command names the RUN: two RUNs of one stage are two findings with their own identity
                cmd = _run_text(ins)
                for problem in problems:
                    yield Hit(
                        f"RUN `{cmd}` in {_stage_name(st)} leaves a package cache in the layer: {problem}",
                        line=ins.line,
                    )


# -------------------------------------------------------------------- GC304


def _tag_problem(j: images.Judgement, unresolved: tuple[str, ...] = ()) -> str | None:
    """The GC304 message for a judged FROM reference; None when it is pinned or fixed."""
    if j.state == images.INVALID:
        return "not a valid image reference" + (f": {j.problem}" if j.problem else "")
    if j.state == images.BAD_DIGEST:
        return f"malformed digest '{_short((j.ref.digest if j.ref else None) or '', 80)}'"
    if j.state == images.UNTAGGED:
        return "no tag and no digest (Docker pulls ':latest')"
    if j.state == images.FLOATING:
        if j.floating and j.floating.endswith("-..."):
            return f"floating tag '{j.floating}' whatever {', '.join(unresolved) or 'the ARG'} holds, and no digest"
        return f"floating tag '{_short(j.floating or '', 60)}' and no digest"
    return None


def _tag_reasons(st) -> str:
    """Why the tag of ``st``'s base cannot be read: the unresolved ARGs of its last path component (name, tag,
    digest) only. In ``gcr.io/${project_id}/android:${android_version}`` the registry's ARG hides no tag."""
    tail = (st.base or "").rsplit("/", 1)[-1]
    reasons = [r for r in (st.unresolved or "").split("; ") if r]
    names = [n for n in st.unresolved_args if re.search(r"\$\{?" + re.escape(n.lstrip("$")) + r"\b", tail)]
    kept = [r for r in reasons if any(re.search(r"(?<![\w$])" + re.escape(n) + r"(?!\w)", r) for n in names)]
    return "; ".join(kept) if kept else (st.unresolved or "")


def _chooses_a_stage(df: Dockerfile, st: Stage) -> bool:
    """A FROM whose unresolved ARG picks one of the earlier stages: its text, the ARG standing for any word,
    matches an earlier stage's name (emojivoto's `FROM build-$svc_name` after `FROM golang AS build-web`)."""
    if not st.partial or MARK not in st.partial:
        return False
    pattern = wildcards(st.partial.lower().split(MARK), "[^/:@]")
    return any(
        other.alias and pattern.fullmatch(other.alias.lower()) for other in df.stages[: st.index] if other is not st
    )


def from_pinned(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC304: every FROM image has a fixed tag or a digest."""
    df = _dockerfile(target, ctx)
    floating = _strings(ctx.settings.get("floating-tags"))
    variants = _strings(ctx.settings.get("floating-variant-tags", list(images.VARIANT_TAGS)))
    for st in df.stages:
        if st.parent_stage is not None or not st.base:
            continue  # FROM <earlier stage>: judged at that stage; an empty FROM is a GC001 parse error
        shown = _short(st.base)
        if st.image is None:
            if _chooses_a_stage(df, st):
                continue  # FROM build-$svc_name among stages build-emoji-svc, build-web: a stage the ARG picks
            j = images.judge(st.partial or MARK, floating, variants)
            if j.state != images.UNKNOWN:
                problem = _tag_problem(j, st.unresolved_args)
                if problem:
                    yield Hit(f"FROM {shown}: {problem}", line=st.line, extra={"image": st.base})
                continue
            yield Hit(
                f"FROM {shown}: the tag cannot be checked: {_tag_reasons(st)}; "
                + ("give the ARG a default (a fixed version)" if st.unresolved_args else "name a tagged image")
                + " or pin the image by digest",
                line=st.line,
                extra={"image": st.base, "unresolved": list(st.unresolved_args)},
            )
            continue
        if st.is_scratch:
            continue
        resolved = f" (resolved to '{_short(st.image)}')" if st.image != st.base else ""
        problem = _tag_problem(images.judge(st.image, floating, variants))
        if problem:
            yield Hit(f"FROM {shown}{resolved}: {problem}", line=st.line, extra={"image": st.image})
    yield from _copied_images(df, floating, variants, _named_contexts(target, ctx))


_BAKE_FILE = lazy(r"(?:^|/)(?:docker-bake[^/]*|[^/]*\.bake)\.(?:hcl|json)$")
_BAKE_CONTEXTS = lazy(r"""["']?contexts["']?\s*[=:]\s*\{([^{}]*)\}""")
# a context's name: `src = "."` on its own line (HCL) or `"src": "."` (JSON)
_BAKE_CONTEXT_NAME = lazy(r"""(?m)^[ \t]*([\w.-]+)[ \t]*=|"([\w.-]+)"[ \t]*:""")


def _bake_files(target: Target, ctx: Context) -> tuple[str, dict[str, str]]:
    """The repository prefix and the bake files (docker-bake.hcl/.json: relpath -> text) of the Dockerfile's
    repository, read once per scan for the rules that use them."""
    from guidecheck import crossref

    repo = crossref.repo_holding(target, ctx)
    if repo is None:
        return "", {}

    def compute(info: object = repo.data) -> dict[str, str]:
        read = getattr(info, "read", None)
        if read is None:
            return {}
        inventory = getattr(info, "inventory", None) or ()
        return {rel: read(rel, 1024 * 1024) or "" for rel in inventory if _BAKE_FILE.search(rel)}

    return crossref.repo_prefix(repo), ctx.memoized("docker.bake-files", id(repo), compute)


def _named_contexts(target: Target, ctx: Context) -> frozenset[str]:
    """The named build contexts of the Dockerfile's repository's bake files (docker-bake.hcl's
    ``contexts = { src = "." }``): what ``COPY --from=src`` copies from, not an image. nats-io/nack's."""
    names: set[str] = set()
    for text in _bake_files(target, ctx)[1].values():
        for block in _BAKE_CONTEXTS.findall(text):
            names.update(a or b for a, b in _BAKE_CONTEXT_NAME.findall(block))
    return frozenset(names)


def _copied_images(
    df: Dockerfile, floating: list[str], variants: list[str], contexts: frozenset[str] = frozenset()
) -> Iterator[Hit]:
    """GC304 on ``COPY --from=<image>`` and ``RUN --mount=from=<image>``: an external image, not a stage.

    ``--from`` names a stage (its ``AS`` name, case-insensitive, or its index) or else an image BuildKit
    pulls; ARG defaults of the global scope and the stage are substituted as for FROM.
    """
    aliases = {st.alias for st in df.stages if st.alias}
    for st in df.stages:
        env: dict[str, str | None] = dict(df.global_args)
        for ins in st.instructions:
            if ins.name == "ARG":
                for k, v in ins.pairs:
                    env[k] = v if v is not None else env.get(k)
                continue
            refs: list[tuple[str, str]] = []
            if ins.name in ("COPY", "ADD") and ins.flags.get("from"):
                refs.append((f"{ins.keyword or ins.name} --from={ins.flags['from']}", ins.flags["from"]))
            if ins.name == "RUN":
                for k, v in ins.flag_list:
                    if k == "mount":
                        src = _mount(v).get("from")
                        if src:
                            refs.append((f"RUN --mount=...from={src}", src))
            for shown, ref in refs:
                text, _missing = _expand_partial(ref, env)
                if text.lower() in aliases or text.isdigit() or text.lower() == "scratch":
                    continue  # a build stage (or an index of one)
                if text in contexts:
                    continue  # a named build context of a bake file (a directory, another target's output)
                j = images.judge(text, floating, variants)
                if j.state == images.UNKNOWN:
                    continue  # an ARG without default hides the reference: a stage or an image, unknown
                problem = _tag_problem(j)
                if problem:
                    resolved = f" (resolved to '{_short(text)}')" if text != ref else ""
                    yield Hit(f"{_short(shown)}{resolved}: {problem}", line=ins.line, extra={"image": text})


def _expand_partial(word: str, env: dict[str, str | None]) -> tuple[str, list[str]]:
    from guidecheck.parsers.docker import expand_partial

    return expand_partial(word, env)


# -------------------------------------------------------------------- GC305


def _projects_of(target: Target, ctx: Context) -> Iterator[Any]:
    """The CI projects (parsers.ci.model.Project) whose directory holds the Dockerfile."""
    for t in ctx.of_kind("ci"):
        root = getattr(t.data, "root", None)
        if root is not None and (root == "" or target.path.startswith(root.rstrip("/") + "/")):
            yield t.data


def _goreleaser_labels(target: Target, ctx: Context) -> tuple[dict[str, str], str] | None:
    """The labels a GoReleaser configuration of the Dockerfile's project gives the images it builds from it
    (``dockers``: ``--label=KEY=VALUE`` build flags; ``dockers_v2``: ``labels:``), with where they are; None when no
    GoReleaser entry builds it. kured's Dockerfile has no LABEL; its .config/goreleaser.yaml labels the image."""
    for project in _projects_of(target, ctx):
        root = project.root
        for rc in getattr(project, "release_configs", ()):
            if rc.tool != "goreleaser" or not isinstance(rc.data, dict):
                continue
            for key in ("dockers", "dockers_v2"):
                for entry in rc.data.get(key) or ():
                    if not isinstance(entry, dict):
                        continue
                    dockerfile = entry.get("dockerfile") or "Dockerfile"
                    if not isinstance(dockerfile, str):
                        continue
                    # relative to where GoReleaser runs: the repository root (kured's --config
                    # .config/goreleaser.yaml), or the configuration's own directory (opentelemetry's
                    # distributions/otelcol-otlp/.goreleaser.yaml, run with that workdir)
                    rel = dockerfile.removeprefix("./")
                    beside = posixpath.normpath(posixpath.join(posixpath.dirname(rc.path), rel))
                    if target.path not in (project.display(rel), beside):
                        continue
                    found: dict[str, str] = {}
                    raw = entry.get("labels")
                    if isinstance(raw, dict):
                        found.update({str(k): str(v) for k, v in raw.items() if v is not None})
                    for flag in entry.get("build_flag_templates") or ():
                        m = re.match(r"--label[= ]([^=\s]+)=(.*)$", str(flag).strip())
                        if m:
                            found[m.group(1)] = m.group(2)
                    if found:
                        shown = rc.path[len(root) + 1 :] if root and rc.path.startswith(root + "/") else rc.path
                        return found, f"{shown}, {key}"
    return None


# the OCI labels docker/metadata-action outputs by default (its `labels` output, which build-push-action applies)
_METADATA_ACTION_LABELS = (
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.url",
    "org.opencontainers.image.source",
    "org.opencontainers.image.version",
    "org.opencontainers.image.created",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.licenses",
)


def _build_push_labels(target: Target, ctx: Context) -> tuple[dict[str, str], str] | None:
    """The labels a docker/build-push-action step of the Dockerfile's project gives the image it builds from it:
    docker/metadata-action's ``labels`` output (dex's artifacts.yaml), or ``key=value`` lines, with where. Of
    several steps building it, the one giving most of the required labels (Forecastle labels its
    pull-request previews with the revision alone, its releases with both)."""
    required = _strings(ctx.settings.get("required-oci-labels"))
    best: tuple[dict[str, str], str] | None = None
    for found, where in _build_push_steps(target, ctx):
        if best is None or _given(found, required) > _given(best[0], required):
            best = (found, where)
    return best


def _given(labels: dict[str, str], required: list[str]) -> int:
    """How many of the ``required`` labels ``labels`` gives a value."""
    return sum(1 for k in required if labels.get(k))


def _build_push_steps(target: Target, ctx: Context) -> Iterator[tuple[dict[str, str], str]]:
    """Each docker/build-push-action step of the Dockerfile's project building it, with the labels it gives."""
    for project in _projects_of(target, ctx):
        for job in getattr(project, "jobs", ()):
            for step in job.steps:
                if step.action() != "docker/build-push-action":
                    continue
                env = {**getattr(job, "env", {}), **step.env}

                def expand(text: str, env: dict[str, str] = env) -> str:
                    # reflector's file: ${{ env.container_image_build_dockerfile }}, set in the workflow's env:
                    return re.sub(r"\$\{\{\s*env\.([\w-]+)\s*\}\}", lambda m: env.get(m.group(1), m.group(0)), text)

                context = expand((step.with_.get("context") or ".").strip())
                file = expand((step.with_.get("file") or "").strip())
                if "://" in context:
                    continue
                rel = file or (context.rstrip("/") + "/Dockerfile")
                # an expression (flagd's ./${{ matrix.path }}/build.Dockerfile) stands for any one path segment
                shown = project.display(re.sub(r"\$\{\{[^}]*\}\}", "\x00", os.path.normpath(rel).replace(os.sep, "/")))
                if not wildcards(shown.split("\x00"), "[^/]").fullmatch(target.path):
                    continue
                raw = step.with_.get("labels") or ""
                found: dict[str, str] = {}
                if re.search(r"steps\.[\w-]+\.outputs\.labels", raw):
                    found.update({k: "docker/metadata-action" for k in _METADATA_ACTION_LABELS})
                for line in raw.splitlines():
                    key, eq, value = line.strip().partition("=")
                    if eq and key and "${{" not in key:
                        found[key] = value
                if found:
                    yield found, f"{step.path}:{step.line}, docker/build-push-action"


# a `docker build` / `docker buildx build` / `podman build` command, its --label flags and its -f/--file
_DOCKER_BUILD = lazy(r"\b(?:docker|podman)[ \t]+(?:buildx[ \t]+)?build\b[^\n]*")
_LABEL_FLAG = lazy(r"""--label[= \t]+["']?([\w.-]+)=([^"'\s]*)""")
_FILE_FLAG = lazy(r"""(?:^|\s)(?:-f|--file)(?:[= \t]+)["']?([^\s"']+)""")


def _build_command_labels(target: Target, ctx: Context) -> tuple[dict[str, str], str] | None:
    """The labels a `docker build --label KEY=VALUE` of the Dockerfile's pipeline gives the image, with where: in
    a step's script or in the make recipes and scripts it runs (contour's `make multiarch-build`, whose
    $(DOCKER_BUILD_LABELS) holds the version and revision). The command builds the Dockerfile it names with
    -f (relative to the directory it runs in), else the Dockerfile of that directory."""
    for project in _projects_of(target, ctx):
        for job in getattr(project, "jobs", ()):
            for step in job.steps:
                for s in (step, *step.follows):
                    text = s.run or ""
                    if "--label" not in text or "build" not in text:
                        continue
                    here = posixpath.dirname(s.path) if s is not step else project.root
                    for m in _DOCKER_BUILD.finditer(text):
                        command = m.group(0)
                        labels = dict(_LABEL_FLAG.findall(command))
                        if not labels:
                            continue
                        f = _FILE_FLAG.search(command)
                        built = posixpath.normpath(posixpath.join(here, f.group(1) if f else "Dockerfile"))
                        if built == target.path:
                            return labels, f"{s.path}:{s.line}, docker build --label"
    return None


_BAKE_TARGET = lazy(r"""(?m)^[ \t]*target[ \t]+"([^"]+)"[ \t]*\{""")
_BAKE_STRING_ATTR = lazy(r'(?m)^[ \t]*(dockerfile|context)[ \t]*=[ \t]*"([^"]*)"')
_BAKE_LABELS = lazy(r"(?m)^[ \t]*labels[ \t]*=[ \t]*\{")
_BAKE_LABEL = lazy(r"""(?m)^[ \t]*(?:"([^"]+)"|([\w.-]+))[ \t]*[=:]([^\n]*)$""")
_BAKE_LIST = lazy(r"""(?ms)^[ \t]*(annotations|inherits)[ \t]*=[ \t]*\[(.*?)\]""")
_HCL_STRING = lazy(r'"((?:[^"\\]|\\.)*)"')


def _hcl_block(text: str, start: int) -> str:
    """The body of the block whose ``{`` is at ``start`` (strings and comments skipped), up to its ``}``."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return text[start + 1 :]


def _annotation_labels(values: list) -> dict[str, str]:
    """``[index,manifest:]key=value`` annotations as key -> value (cloudnative-pg's bake file annotates its
    images with org.opencontainers.image.version and .revision instead of labelling them)."""
    out: dict[str, str] = {}
    for v in values:
        key, eq, value = str(v).partition("=")
        if eq:
            out[key.rpartition(":")[2].strip()] = value
    return out


def _bake_targets(rel: str, text: str) -> dict[str, dict[str, Any]]:
    """The targets of one bake file (HCL or JSON): name -> dockerfile, context, labels (annotations included),
    inherits and line; what is not a literal (`${tag}`, a function) is kept as written."""
    out: dict[str, dict[str, Any]] = {}
    if rel.endswith(".json"):
        import json

        try:
            data = json.loads(text)
        except ValueError:
            return out
        targets = data.get("target") if isinstance(data, dict) else None
        for name, t in (targets or {}).items() if isinstance(targets, dict) else ():
            if not isinstance(t, dict):
                continue
            raw, notes, parents = t.get("labels"), t.get("annotations"), t.get("inherits")
            given = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
            out[str(name)] = {
                "dockerfile": t.get("dockerfile") if isinstance(t.get("dockerfile"), str) else None,
                "context": t.get("context") if isinstance(t.get("context"), str) else None,
                "labels": {**_annotation_labels(notes if isinstance(notes, list) else []), **given},
                "inherits": [str(i) for i in parents] if isinstance(parents, list) else [],
                "line": 1,
            }
        return out
    for m in _BAKE_TARGET.finditer(text):
        body = _hcl_block(text, m.end() - 1)
        attrs = {k: v for k, v in _BAKE_STRING_ATTR.findall(body)}
        labels: dict[str, str] = {}
        inherits: list[str] = []
        for kind, items in _BAKE_LIST.findall(body):
            strings = _HCL_STRING.findall(items)
            if kind == "annotations":
                labels.update(_annotation_labels(strings))
            else:
                inherits += strings
        for lm in _BAKE_LABELS.finditer(body):
            block = _hcl_block(body, lm.end() - 1)
            for quoted, bare, value in _BAKE_LABEL.findall(block):
                labels[quoted or bare] = value.strip().rstrip(",").strip().strip('"')
        out[m.group(1)] = {
            "dockerfile": attrs.get("dockerfile"),
            "context": attrs.get("context"),
            "labels": labels,
            "inherits": inherits,
            "line": text.count("\n", 0, m.start()) + 1,
        }
    return out


def _bake_resolve(targets: dict[str, dict[str, Any]], name: str, seen: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A bake target with what it inherits (its own values win); ``docker-metadata-action``, the target that
    action's bake file defines, gives metadata-action's labels."""
    t = targets.get(name)
    if name == "docker-metadata-action" and (t is None or not t["labels"]):
        return {"labels": {k: "docker/metadata-action" for k in _METADATA_ACTION_LABELS}}
    if t is None or name in seen:
        return {}
    merged: dict[str, Any] = {"labels": {}}
    for parent in t["inherits"]:
        up = _bake_resolve(targets, parent, seen | {name})
        merged["labels"].update(up.get("labels", {}))
        for key in ("dockerfile", "context"):
            if up.get(key) is not None:
                merged[key] = up[key]
    merged["labels"].update(t["labels"])
    for key in ("dockerfile", "context"):
        if t[key] is not None:
            merged[key] = t[key]
    return merged


def _bake_labels(target: Target, ctx: Context) -> tuple[dict[str, str], str] | None:
    """The labels (and OCI annotations) a buildx bake target of the Dockerfile's repository gives the image it
    builds from it, with where: ``labels = {...}``, ``annotations = ["index,manifest:KEY=VALUE"]``, and
    docker/metadata-action's when the target inherits ``docker-metadata-action`` (the bake file that action
    writes). A value that names a variable (``${revision}``) counts as given, as a LABEL's ``${ARG}`` does."""
    prefix, files = _bake_files(target, ctx)
    if not files:
        return None

    def compute() -> dict[str, tuple[dict[str, str], str]]:
        found: dict[str, tuple[dict[str, str], str]] = {}
        for rel, text in files.items():
            targets = _bake_targets(rel, text)
            base = posixpath.dirname(rel)
            for name, spec in targets.items():
                r = _bake_resolve(targets, name)
                if not r.get("labels"):
                    continue
                context = str(r.get("context") or ".").removeprefix("cwd://")
                if "://" in context or "${" in context:
                    continue
                dockerfile = str(r.get("dockerfile") or "Dockerfile")
                path = posixpath.normpath(posixpath.join(base, context, dockerfile))
                found.setdefault(prefix + path, (r["labels"], f"{rel}:{spec['line']}, bake target '{name}'"))
        return found

    return ctx.memoized("docker.bake-labels", id(files), compute).get(target.path)


def oci_labels(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC305: the final image carries the required OCI labels (version and revision)."""
    df = _dockerfile(target, ctx)
    final = _final(df)
    required = _strings(ctx.settings.get("required-oci-labels"))
    if not required:
        raise NotApplicable("settings required-oci-labels is empty")
    labels: dict[str, str] = {}
    for st in reversed(df.lineage(final)):  # base stages first, the final stage's values win
        for ins in st.instructions:
            if ins.name == "LABEL":
                for k, v in ins.pairs:
                    labels[k] = v if isinstance(v, str) else ""
    missing = [r for r in required if r not in labels]
    empty = [r for r in required if r in labels and not labels[r].strip()]
    if not missing and not empty:
        return
    released = (
        _goreleaser_labels(target, ctx)
        or _build_push_labels(target, ctx)
        or _bake_labels(target, ctx)
        or _build_command_labels(target, ctx)
    )
    also = ""
    if released is not None:
        given, where = released
        if all(labels.get(r, "").strip() or given.get(r, "").strip() for r in required):
            ctx.note_evidence(target, f"the labels its release pipeline sets when it builds this Dockerfile ({where})")
            return
        missing = [r for r in missing if not given.get(r, "").strip()]
        empty = [r for r in empty if not given.get(r, "").strip()]
        lacking = len(missing) + len(empty)
        also = f"; the labels its pipeline gives the image ({where}) lack {'it' if lacking == 1 else 'them'} too"
    parts = []
    if missing:
        parts.append(f"no LABEL {', '.join(missing)}")
    if empty:
        parts.append(f"an empty LABEL {', '.join(empty)}")
    where = _stage_name(final) + (", " + _via(df, final) if final.parent_stage is not None else "")
    yield Hit(
        f"the final image ({where}) has " + " and ".join(parts) + also,
        line=final.line,
        extra={"missing": missing + empty},
    )
