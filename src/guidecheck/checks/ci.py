"""CI/CD rules GC701-GC704 (guideline section 7) over :class:`guidecheck.parsers.ci.model.Project` targets.

A ``ci`` target is one *project*: every pipeline of one repository directory
(all its GitHub workflows, its GitLab pipeline with includes, its Jenkinsfiles),
judged as a whole.  Findings about something missing sit on the project's main
pipeline file (line 1); findings about a job sit on that job or step.

Pattern data (what counts as lint, a test, a scan, a deployment, a push, a
signature, changelog tooling) comes from the settings (``ci-*``,
``changelog-*``, ``image-*``); lists given in ``.guidecheck.yaml`` are added to
the defaults.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from guidecheck import crossref
from guidecheck.checks import Context, NotApplicable
from guidecheck.checks.literals import fold, gate, holds, passes, requirement
from guidecheck.model import Hit, Target
from guidecheck.parsers.ci.model import Job, Project, ReleaseConfig, Step
from guidecheck.parsers.yaml import key_line

CATEGORIES = ("lint", "unit-tests", "integration-tests", "security")
CATEGORY_TEXT = {
    "lint": "lint",
    "unit-tests": "unit tests",
    "integration-tests": "integration tests",
    "security": "security validation",
}
# workflow_run: started when another (push/PR) workflow completes, as in build-then-deploy chains
PUSH_EVENTS = frozenset({"push", "pull_request", "pull_request_target", "merge_request", "merge_group", "workflow_run"})
NOT_A_DEPLOY = re.compile(r"clean|tear[-_ ]?down|destroy|delete|undeploy|(^|[^a-z])stop([^a-z]|$)", re.I)
MANUAL_EVENTS = frozenset({"workflow_dispatch", "manual", "release", "repository_dispatch"})
# a Cloud Build trigger configured outside the repository: Cloud Build runs it on pushes and pull requests
AUTOMATED_EVENTS = PUSH_EVENTS | {"cloud-build-trigger"}
DEPLOY_WORD = re.compile(r"deploy|rollout|roll-out|promote", re.I)
MAX_EVIDENCE = 3
NO_PUSH_NAME = re.compile(r"(without|no|skip(ping)?)[-_ ]push|dry[-_ ]?run", re.I)


@dataclass(frozen=True)
class Evidence:
    category: str
    what: str
    path: str
    line: int

    def text(self) -> str:
        return f"{self.what} ({self.path}:{self.line})"

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "path": self.path, "line": self.line}


# ---------------------------------------------------------------- settings


def _strings(items: Any) -> list[str]:
    """The strings of a list, each once, in order."""
    out: list[str] = []
    for x in items if isinstance(items, list) else ():
        if isinstance(x, str) and x not in out:
            out.append(x)
    return out


def _list(ctx: Context, key: str) -> list[str]:
    """A list setting: the defaults plus the user's additions (merge: extend), strings only, each once."""
    return _strings(ctx.setting(key))


class _Patterns(list):
    """Compiled patterns, each with its literal requirement (``need``, see :mod:`guidecheck.checks.literals`).

    Most texts match none of a list: a pattern runs only on texts holding the literals every match of it
    contains (``\\bgo\\s+vet\\b`` on texts with "go" and "vet"), found by C substring searches; a
    pattern the analysis cannot read always runs.  The answer is the one searching pattern by pattern gives.
    """

    def __init__(self, patterns: list[re.Pattern]) -> None:
        super().__init__(patterns)
        self.need = [requirement(rx.pattern, rx.flags) for rx in patterns]
        self.gate = gate(self.need)  # one literal of it is in every text any pattern matches


def _compiled(patterns: list[str]) -> _Patterns:
    """The patterns that compile (case-insensitive); the configuration check reports the others."""
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p, re.I))
        except re.error:
            continue
    return _Patterns(out)


def _regexes(ctx: Context, key: str) -> list[re.Pattern]:
    return ctx.cached(f"pipeline:re:{key}", lambda c: _compiled(_list(c, key)))


def _actions(ctx: Context, key: str) -> list[str]:
    return ctx.cached(f"pipeline:actions:{key}", lambda c: _Actions(_list(c, key)))


def stage_patterns(ctx: Context) -> dict[str, dict[str, list]]:
    """ci-stage-patterns (merge: extend, per category and field), regexes compiled (once per scan)."""

    def build(c: Context) -> dict[str, dict[str, list]]:
        merged = c.setting("ci-stage-patterns")
        out: dict[str, dict[str, list]] = {}
        for cat in sorted(merged):
            given = merged[cat] if isinstance(merged[cat], dict) else {}
            fields: dict[str, list] = {}
            for field in ("names", "actions", "commands", "images", "includes"):
                items = _strings(given.get(field))
                if field in ("names", "commands", "images"):
                    fields[field] = _compiled(items)
                elif field == "actions":
                    fields[field] = _Actions([x.lower() for x in items])
                else:
                    fields[field] = [x.lower() for x in items]
            out[cat] = fields
        return out

    return ctx.cached("pipeline:stage-patterns", build)


def _project(target: Target) -> Project:
    p = target.data
    if not hasattr(p, "jobs") or not hasattr(p, "files"):
        raise NotApplicable("not a pipeline project")
    return p


def _unread_text(project: Project) -> str:
    systems = sorted({s for s, _p in project.unread})
    files = ", ".join(p for _s, p in project.unread[:3])
    return f"{', '.join(systems)} ({files})"


def _judgeable(project: Project) -> None:
    """NotApplicable when the project's pipeline is entirely in CI systems guidecheck does not read."""
    if not project.jobs and project.unread:
        raise NotApplicable(
            f"the pipeline is defined in {_unread_text(project)}, which guidecheck does not read (incomplete coverage)"
        )
    if not project.jobs:
        raise NotApplicable("the pipeline files define no job that runs")


PIPELINE_FILES_TEXT = "no .github/workflows/*.yml, .gitlab-ci.yml, Jenkinsfile, cloudbuild.yaml or azure-pipelines.yml"


def no_pipeline(target: Target, ctx: Context, needs: str) -> Iterator[Hit]:
    """The repository-level part of GC701/GC702/GC704: a service repository without any CI definition fails.

    ``needs`` says what makes the rule applicable: ``service`` (a production Dockerfile, a chart or a workload
    manifest), ``deploy`` (a chart or a workload manifest), ``image`` (a production Dockerfile)."""
    info = target.data
    inventory = getattr(info, "inventory", None)
    if not isinstance(inventory, list):
        raise NotApplicable("not a repository")
    prefix = crossref.repo_prefix(target)
    projects = [t for t in ctx.of_kind("ci") if (t.origin or {}).get("repo") == prefix]
    if projects:
        raise NotApplicable("judged on the pipeline: " + ", ".join(t.path for t in projects[:3]))
    from guidecheck.checks.repo import dockerfile_services

    images = dockerfile_services(getattr(info, "dockerfiles", None) or [])[0]
    charts = [c for c in getattr(info, "charts", None) or [] if getattr(c, "type", "") == "application"]
    kinds = set(ctx.settings.get("workload-kinds") or ())
    workloads = [
        t
        for t in ctx.of_kind("k8s")
        if (t.origin or {}).get("repo", "") == prefix
        and (t.origin or {}).get("source") == "manifest"
        and isinstance(t.data, dict)
        and t.data.get("kind") in kinds
    ]
    what = {
        "service": bool(images or charts or workloads),
        "deploy": bool(charts or workloads),
        "image": bool(images),
    }[needs]
    if not what:
        raise NotApplicable(
            {
                "service": "no CI pipeline, and nothing here is deployed as a service (no Dockerfile, chart or "
                "workload manifest)",
                "deploy": "no CI pipeline, and nothing here is deployed (no chart or workload manifest)",
                "image": "no CI pipeline, and no production Dockerfile: no image to sign",
            }[needs]
        )
    found = []
    if images:
        found.append(f"Dockerfile {prefix}{images[0][0]}")
    if charts:
        found.append(f"chart {prefix}{charts[0].path}" if charts[0].path != "." else f"chart {prefix or './'}")
    if workloads and not charts:
        found.append(f"workload manifest {workloads[0].path}")
    service = "; ".join(found)
    yield Hit(
        {
            "service": f"no CI pipeline found ({PIPELINE_FILES_TEXT}), so nothing lints, tests or scans this "
            f"service ({service}) before it is built and deployed",
            "deploy": f"no CI pipeline found ({PIPELINE_FILES_TEXT}): nothing deploys this service ({service}) "
            "to staging automatically",
            "image": f"no CI pipeline found ({PIPELINE_FILES_TEXT}): no pipeline builds the image of "
            f"{prefix}{images[0][0] if images else ''} and signs it with cosign",
        }[needs],
        line=1,
    )


def _action_match(action: str | None, patterns: list[str]) -> str | None:
    if not action:
        return None
    if isinstance(patterns, _Actions):
        return patterns.match(action)
    for p in patterns:
        base = p.split("[", 1)[0].lower().rstrip("/")
        if action == base or action.startswith(base + "/") or (p.endswith("/") and action.startswith(p.lower())):
            return p
    return None


class _Actions(list):
    """Action patterns (as :func:`_action_match` reads them), each action's answer kept: pipelines repeat actions."""

    def __init__(self, patterns: list[str]) -> None:
        super().__init__(patterns)
        self.memo: dict[str, str | None] = {}

    def match(self, action: str) -> str | None:
        if action not in self.memo:
            self.memo[action] = _action_match(action, list(self))
        return self.memo[action]


def _search(patterns: list[re.Pattern], text: str) -> re.Match | None:
    """The first pattern's first match in ``text`` (patterns in order), skipping those whose literals it lacks."""
    need = getattr(patterns, "need", None)
    if need is None:
        return next((m for rx in patterns if (m := rx.search(text))), None)
    folded = fold(text)
    if not passes(getattr(patterns, "gate", None), folded):
        return None
    for rx, req in zip(patterns, need, strict=True):
        if holds(req, folded):
            m = rx.search(text)
            if m:
                return m
    return None


_COMMENT_LINE = re.compile(r"^[ \t]*(#|//|REM\b).*$", re.M)


def _code(step: Step) -> str:
    """The step's command text with whole-line comments blanked and backslash-newline continuations joined, as
    the shell and make read them (same length: offsets and lines, counted in ``step.run``, stay right).

    A command written over several lines is one line here (external-dns's chart release: ``gh release create
    "$tag" \\`` on one line, ``--generate-notes`` three lines down)."""
    run = step.run or ""
    if "#" in run or "//" in run or "REM" in run:
        run = _COMMENT_LINE.sub(lambda m: " " * len(m.group(0)), run)  # a comment's trailing backslash goes too
    if "\\\n" in run or "\\\r\n" in run:
        run = run.replace("\\\r\n", "   ").replace("\\\n", "  ")
    if "$(info" in run or "$(warning" in run or "$(error" in run:
        run = _without_make_messages(run)
    if "echo" in run or "printf" in run:
        run = _ECHOED.sub(_blank_printed, run)
    return run


# what echo or printf prints, up to the end of its command: words, not commands (tetragon's `make image` prints
# `echo "${CONTAINER_ENGINE} push cilium/tetragon:..."` as advice), unless a command substitution runs in it
_ECHOED = re.compile(r"(?m)((?:^|[;&|({]|\bthen\b|\bdo\b|\belse\b)[ \t]*(?:echo|printf)\b)([^\n;&|]*)")
_SUBSTITUTION = re.compile(r"`|\$\((?![A-Za-z_][A-Za-z0-9_]*\))")  # $(cmd ...), not a make $(VARIABLE)


def _blank_printed(m: re.Match[str]) -> str:
    printed = m.group(2)
    return m.group(0) if _SUBSTITUTION.search(printed) else m.group(1) + " " * len(printed)


_MAKE_MESSAGE = re.compile(r"\$\((?:info|warning|error)\s")


def _without_make_messages(text: str) -> str:
    """``text`` with make's $(info ...), $(warning ...) and $(error ...) calls blanked (same length): what they
    print runs nothing (tekton-operator's `resolve: ... ; $(info $(M) ko resolve on $(TARGET))`)."""
    out = list(text)
    done = 0  # the text before this is blanked or passed: a call inside a call is not scanned again
    for m in _MAKE_MESSAGE.finditer(text):
        if m.start() < done:
            continue
        depth, i = 0, m.start() + 1
        while i < len(text) and text[i] != "\n":
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        done = min(i + 1, len(text))
        for j in range(m.start(), done):
            if out[j] != "\n":
                out[j] = " "
    return "".join(out)


def _cmd_line(step: Step, offset: int) -> int:
    return step.line + (step.run or "").count("\n", 0, offset)


def _short(text: str, limit: int = 60) -> str:
    """One line of pipeline text for a message, secret-looking values masked (commands may hold tokens)."""
    from guidecheck.sanitize import mask_secrets

    text = mask_secrets(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _job_names(job: Job) -> list[str]:
    names = [job.label]
    short_id = job.id.rsplit("/", 1)[-1].split(":", 1)[-1]
    if short_id not in names:
        names.append(short_id)
    if job.matrix and "${{" not in job.label:
        # GitHub names each matrix job after its values: oathkeeper's job test runs as "test (e2e)"
        names += [f"{job.label} ({v})" for values in job.matrix.values() for v in values]
    if job.uses and not job.uses.startswith("./"):
        # a remote reusable workflow is not fetched: its file's name is what shows what it runs
        # (opentelemetry's job 'analysis' calls open-telemetry/shared-workflows/.../scorecard.yml)
        stem = job.uses.split("@", 1)[0].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if stem and stem not in names:
            names.append(stem)
    return [n for n in names if isinstance(n, str)]


# ---------------------------------------------------------------- GC701


def classify(project: Project, ctx: Context) -> dict[str, list[Evidence]]:
    """Evidence per category (lint, unit-tests, integration-tests, security), in file/line order."""
    pats = stage_patterns(ctx)
    all_names = _joined(ctx, "names")
    all_commands = _joined(ctx, "commands")
    found: dict[str, list[Evidence]] = {c: [] for c in pats}
    # id -> (the followed Step, kept alive so that its id is never another's; what it runs per category)
    followed: dict[int, tuple[Step, dict[str, list[Evidence]]]] = {}
    for job in project.jobs:
        # tests a job names as such, run against a kind, minikube or k3d cluster it starts, are integration tests
        # (clickhouse-operator's 'Run Tests' job: its regression suites on minikube)
        named_as = {"unit-tests": "integration-tests"} if "integration-tests" in pats and _starts_cluster(job) else {}
        for e in _job_evidence(job, pats, named_as):
            found[e.category].append(e)
        for step in job.steps:
            # one search over every category's patterns rules out most steps for all of them at once
            action = step.action()
            code = _code(step) if step.run else ""
            named = bool(step.name) and _may_match(all_names, step.name or "")
            ran = bool(step.run) and _may_match(all_commands, code)
            for cat, p in pats.items():
                for e in _step_evidence(cat, p, step, action, code, named=named, ran=ran):
                    if cat in named_as and e.what.startswith("step '"):
                        e = Evidence(named_as[cat], e.what, e.path, e.line)
                    found[e.category].append(e)
            # what the make targets, scripts and task runners' tasks the step names run (kserve: `make check` ->
            # `go vet`, `golangci-lint run`; immich: `mise run local:ci` -> `tilt ci`)
            for task in (*step.follows, *_goreleaser_hooks(project, step)):
                if id(task) not in followed:  # a script many steps run is searched once
                    followed[id(task)] = (task, _followed_evidence(task, pats, all_commands))
                for cat, items in followed[id(task)][1].items():
                    found[cat] += items
    for f in project.files:
        for inc in f.includes:
            for cat, p in pats.items():
                if any(fnmatch.fnmatch(inc.ref.lower(), g.lower()) for g in p.get("includes", [])):
                    found[cat].append(Evidence(cat, f"{inc.kind} include {inc.ref}", inc.path, inc.line))
    # golangci-lint runs the security analyzers its configuration turns on (gosec)
    if "security" in found and any("golangci" in e.what.lower() for e in found.get("lint", ())):
        for path, line, analyzer in project.security_linters:
            found["security"].append(Evidence("security", f"golangci-lint with {analyzer}", path, line))
    for cat, items in found.items():
        found[cat] = sorted(set(items), key=lambda e: (e.path, e.line, e.what))
    return found


def _job_evidence(job: Job, pats: dict[str, dict[str, list]], named_as: dict[str, str]) -> list[Evidence]:
    """What the job's own names and service images count for; a name's category moved as ``named_as`` says."""
    out = []
    # a name is a hint: it counts only where the job runs something that could be what it says (a script, a make
    # target, an action not known to only set up or build); a job named 'test' that only runs
    # `docker-compose build` runs no tests
    opaque = _runs_opaque(job)
    for cat, p in pats.items():
        for name in _job_names(job) if opaque else ():
            if _search(p.get("names", []), name):
                shown = named_as.get(cat, cat)
                out.append(Evidence(shown, f"job '{job.label}'", job.path, job.line))
                break
        for img in job.images:
            if isinstance(img, str) and _search(p.get("images", []), img):
                out.append(Evidence(cat, f"job '{job.label}' with service {img}", job.path, job.line))
                break
    return out


def _starts_cluster(job: Job) -> bool:
    """Whether the job starts a local Kubernetes cluster (kind, minikube, k3d) for its steps."""
    return any(
        step.action() in _LOCAL_CLUSTER_ACTIONS
        or any(r.run and _LOCAL_CLUSTER_COMMAND.search(r.run) for r in (step, *step.follows))
        for step in job.steps
    )


def _followed_evidence(
    task: Step, pats: dict[str, dict[str, list]], all_commands: _Patterns
) -> dict[str, list[Evidence]]:
    """What a followed make recipe, script or task runs, per category."""
    if not task.run:
        return {}
    tcode = _code(task)
    if not _may_match(all_commands, tcode):
        return {}
    return {cat: _step_evidence(cat, p, task, None, tcode, named=False, ran=True) for cat, p in pats.items()}


# super-linter runs security scanners when asked (prometheus-community: VALIDATE_GITLEAKS: true)
_SUPER_LINTERS = frozenset({"super-linter/super-linter", "super-linter/super-linter/slim", "github/super-linter"})
_SUPER_LINTER_SECURITY = frozenset(
    {"VALIDATE_GITLEAKS", "VALIDATE_CHECKOV", "VALIDATE_TRIVY", "VALIDATE_GITHUB_ACTIONS_ZIZMOR", "VALIDATE_KICS"}
)


def _joined(ctx: Context, field: str) -> _Patterns:
    """Every category's ``field`` (names, commands) patterns of ci-stage-patterns, in one list."""

    def build(c: Context) -> _Patterns:
        return _Patterns([rx for p in stage_patterns(c).values() for rx in p.get(field, [])])

    return ctx.cached(f"pipeline:stage-patterns:{field}", build)


def _may_match(patterns: _Patterns, text: str) -> bool:
    """False when no pattern can match ``text`` (it lacks the literals of each); True may still match none."""
    folded = fold(text)
    return passes(patterns.gate, folded) and any(holds(req, folded) for req in patterns.need)


def _step_evidence(
    cat: str, p: dict[str, list], step: Step, action: str | None, code: str, *, named: bool, ran: bool
) -> list[Evidence]:
    """What in one step counts for a category: its name, the action it uses, a command it runs.

    ``action`` and ``code`` are the step's (:meth:`Step.action`, :func:`_code`); ``named`` and ``ran``
    False when its name or commands match no category's patterns (nothing to search then).
    """
    out = []
    if named and step.name and _search(p.get("names", []), step.name) and _step_opaque(step):
        out.append(Evidence(cat, f"step '{_short(step.name)}'", step.path, step.line))
    act = _action_match(action, p.get("actions", []))
    # golangci-lint-action with install-only: true installs the linter for a later step to run (traefik/whoami)
    if act and not _installs_only(step):
        out.append(Evidence(cat, (step.uses or "").split("@", 1)[0], step.path, step.line))
    if cat == "security" and action in _SUPER_LINTERS:
        on = sorted(k for k, v in step.env.items() if k.upper() in _SUPER_LINTER_SECURITY and v.lower() == "true")
        if on:
            out.append(Evidence(cat, f"{action} with {', '.join(on)}", step.path, step.line))
    if ran and step.run:
        m = _search(p.get("commands", []), code)
        for _ in range(8):  # a tool installed or asked its version (`npm install -g bats`, `bats -v`) runs nothing
            if m is None:
                break
            start, end = _command_span(code, m.start())
            # inside a command substitution, the command there is what runs: `test -z "$(gofmt -l .)"` runs
            # gofmt; `examples="$(find . -name run-tests.sh | ...)"` runs find only
            sub = max(code.rfind("$(", start, m.start()), code.rfind("`", start, m.start()))
            if sub >= 0 and code[sub] == "$" and code.find(")", sub, m.start()) >= 0:
                sub = -1  # closed before the match: a variable, $(LOCALBIN)/ginkgo, not a command around it
            span = code[sub + (1 if code[sub] == "`" else 2) : end] if sub >= 0 else code[start:end]
            span = _ASSIGNMENTS.sub("", span)  # `GOBIN=$(LOCALBIN) go install ...` installs, as `go install` does
            word = code[m.start() : m.end()].strip()
            if not (
                _SETUP_COMMAND.match(span)
                or _VERSION_QUERY.match(span)
                or _LOOKUP_COMMAND.match(span)
                # `make ginkgo`: a target named for the tool (kubebuilder's golangci-lint:, ginkgo: install it),
                # whose recipe was read and is judged on its own
                or (_MAKE_CALL.match(span) and any(f.name == f"make {word}" for f in step.follows))
            ):
                break
            code = code[:start] + " " * (end - start) + code[end:]  # same length: offsets and lines stay right
            m = _search(p.get("commands", []), code)
        if m:
            start = code.rfind("\n", 0, m.start()) + 1
            line_text = code[start:].split("\n", 1)[0].strip()
            if len(line_text) > 60 and m.start() - start > 30:  # show the matched command
                line_text = "… " + code[m.start() :].split("\n", 1)[0].strip()
            out.append(Evidence(cat, f"`{_short(line_text)}`", step.path, _cmd_line(step, m.start())))
    return out


_COMMAND_BREAK = re.compile(r"&&|\|\||[;|\n]")


def _command_span(code: str, at: int) -> tuple[int, int]:
    """The simple command of ``code`` around offset ``at``: between the separators (&&, ||, ;, |, newline)."""
    start = max((m.end() for m in _COMMAND_BREAK.finditer(code, 0, at)), default=0)
    nxt = _COMMAND_BREAK.search(code, at)
    return start, nxt.start() if nxt else len(code)


# variable assignments in front of a command, and a make invocation
_ASSIGNMENTS = re.compile(r"^\s*(?:[A-Za-z_][A-Za-z0-9_]*=(?:\$\([^)]*\)|\$\{[^}]*\}|\"[^\"]*\"|'[^']*'|\S)*\s+)+")
_MAKE_CALL = re.compile(r"^\s*(?:g?make|\$\(MAKE\)|\$\{MAKE\})\s")

# a command that only looks for a tool, running nothing: kamaji's `make ginkgo` recipe,
# `test -s $(LOCALBIN)/ginkgo || GOBIN=$(LOCALBIN) go install .../ginkgo@v2`; `command -v bats`, `which pytest`
_LOOKUP_COMMAND = re.compile(r"^\s*(?:test|\[\[?|which|command\s+-v|type|hash|ls|stat)\s")

# a command that only prints a tool's version (`bats -v`, `golangci-lint --version`, `trivy version`)
_VERSION_QUERY = re.compile(r"^\s*(?:sudo\s+)?[\w./-]+\s+(?:-v|-V|--version|version)\s*(?:[;&|#].*)?$")

# Actions that only prepare, build or publish: a job or step named 'test' using only these runs no test.
_SETUP_ACTIONS = re.compile(
    r"^(actions/(checkout|cache|upload-artifact|download-artifact|setup-[\w-]+|github-script|labeler|stale)|"
    r"docker/(login|setup-buildx|setup-qemu|metadata|build-push|bake)-action|[\w-]+/setup-[\w-]+|"
    r"azure/(login|setup-[\w-]+)|google-github-actions/(auth|setup-gcloud)|aws-actions/configure-aws-credentials)$",
    re.I,
)
# Shell commands that only prepare, build or publish (never what a lint/test/scan stage is named for).
_SETUP_COMMAND = re.compile(
    r"^\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:sudo\s+)?(?:"
    r"echo|printf|cd|pushd|popd|export|set|unset|source|\.|mkdir|cp|mv|rm|ls|cat|chmod|chown|ln|touch|tee|"
    r"true|sleep|wait|exit|if|then|else|elif|fi|for|do|done|while|case|esac|\}|\{|\)|;;|"
    r"find|grep|egrep|jq|yq|basename|dirname|realpath|test|\[\[?|"  # name files, run none
    r"apt(?:-get)?|apk|yum|dnf|brew|choco|snap|curl|wget|tar|unzip|gzip|git|gh|aws|gcloud|az|"
    r"pip3?\s+install|python3?\s+-m\s+pip\s+install|poetry\s+install|uv\s+(?:sync|pip\s+install)|"
    r"npm\s+(?:ci|install|i)\b|yarn(?:\s+install)?\s*$|pnpm\s+install|bundle\s+install|go\s+(?:mod|get|build|install)|"
    r"cargo\s+(?:build|fetch)|mvn\s+(?:-\S+\s+)*(?:package|install|compile|dependency:\S+)\s*(?:-\S+\s*)*$|"
    r"dotnet\s+(?:restore|build|publish)|"
    r"docker(?:-compose|\s+compose)\s+(?:-f\s+\S+\s+)*(?:build|pull|push|down|config|ps|logs)|"
    r"docker\s+(?:build|pull|push|login|tag|logout|images|ps|buildx\s+(?:build|create|use|inspect|bake))|"
    r"helm\s+(?:plugin\s+install|repo\s+(?:add|update)|dependency\s+(?:build|update))"
    r")(?:\s|$)"
)


def _step_opaque(step: Step) -> bool:
    """Whether a step may run a lint, test or scan its name promises: it runs a command that is not only
    setting up, building or publishing, or an action not known to do only that."""
    if step.uses and not step.run:
        action = step.action()
        return action is None or not _SETUP_ACTIONS.match(action)
    if not step.run:
        return True  # nothing visible of what it runs (a plugin step): its name is all there is
    code = _code(step)
    for line in code.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"\s*(?:&&|\|\||;)\s*", line):
            if part and not _SETUP_COMMAND.match(part):
                return True
    return False


def _runs_opaque(job: Job) -> bool:
    """Whether a job may run what its name says: a step that may (see :func:`_step_opaque`), or no visible
    steps (a remote reusable workflow, a trigger job, a stage of plugin steps)."""
    if not job.steps:
        return True
    return any(_step_opaque(s) for s in job.steps)


def stages(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC701: lint, unit tests, integration tests and security validation somewhere in the project."""
    if target.kind == "repo":
        yield from no_pipeline(target, ctx, "service")
        return
    project = _project(target)
    _judgeable(project)
    found = classify(project, ctx)
    missing = [c for c in CATEGORIES if not found.get(c)]
    if not missing:
        return
    if project.unread:
        raise NotApplicable(
            f"{_and([CATEGORY_TEXT[c] for c in missing])} not found in the pipelines read, but the pipeline is "
            f"also defined in {_unread_text(project)}, which guidecheck does not read (incomplete coverage)"
        )
    parts = []
    for c in CATEGORIES:
        if found.get(c):
            ev = found[c]
            more = f" and {len(ev) - MAX_EVIDENCE} more" if len(ev) > MAX_EVIDENCE else ""
            parts.append(f"{CATEGORY_TEXT[c]}: " + ", ".join(e.text() for e in ev[:MAX_EVIDENCE]) + more)
    msg = "the pipeline lacks " + _and([CATEGORY_TEXT[c] for c in missing])
    msg += (
        f" (judged over {len(project.files)} pipeline file{'s' if len(project.files) != 1 else ''}, "
        f"{len(project.jobs)} job{'s' if len(project.jobs) != 1 else ''})"
    )
    if parts:
        msg += "; found " + "; ".join(parts)
    unfollowed = [n for n in project.notes if "not in the scanned tree" in n or "not fetched" in n]
    if unfollowed:
        msg += f"; not followed: {unfollowed[0]}" + (f" and {len(unfollowed) - 1} more" if len(unfollowed) > 1 else "")
    yield Hit(
        msg,
        line=1,
        extra={"missing": missing, "found": {c: [e.to_json() for e in found.get(c, [])] for c in CATEGORIES}},
    )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------- GC702


def _env_kind(job: Job, ctx: Context) -> tuple[str | None, str]:
    """('staging'|'production'|None, how it was recognised)."""
    staging = _regexes(ctx, "ci-staging-environments")
    production = _regexes(ctx, "ci-production-environments")
    if job.environment_action in ("stop", "prepare", "access", "verify"):
        return None, ""
    if any(NOT_A_DEPLOY.search(n) for n in _job_names(job)):
        return None, ""  # tears an environment down
    tier = (job.environment_tier or "").lower()
    if tier in ("staging", "production"):
        return tier, f"environment {job.environment} (deployment_tier: {tier})"
    env = job.environment
    if isinstance(env, str) and "${{" not in env:
        if _search(staging, env):
            return "staging", f"environment: {env}"
        if _search(production, env):
            return "production", f"environment: {env}"
        return None, ""
    deploy_cmds = _regexes(ctx, "ci-deploy-commands")
    deploys = any(DEPLOY_WORD.search(n) for n in _job_names(job)) or any(
        s.run and _search(deploy_cmds, _code(s)) for s in job.steps
    )
    if not deploys:
        return None, ""
    for name in _job_names(job):
        if _search(staging, name):
            return "staging", f"job name '{name}'"
    for name in _job_names(job):
        if _search(production, name):
            return "production", f"job name '{name}'"
    return None, ""


def _upstream(project: Project, job: Job) -> list[Job]:
    """Jobs this job waits for, transitively (needs:)."""
    by_id = {j.id: j for j in project.jobs}
    seen: dict[str, Job] = {}
    todo = list(job.needs)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        j = by_id.get(n)
        if j is None:
            continue
        seen[n] = j
        todo.extend(j.needs)
    return list(seen.values())


def _gate(project: Project, job: Job) -> str | None:
    """How a production deployment is gated by a human, or None."""
    if job.manual:
        return job.manual_why
    if job.system == "github" and job.environment and "${{" not in job.environment:
        return f"GitHub environment '{job.environment}' (protect it with required reviewers)"
    if job.system == "azure" and job.environment and "$(" not in job.environment:
        return f"Azure Pipelines environment '{job.environment}' (add an approval check to it)"
    if job.system == "cloudbuild" and {t.event for t in job.triggers} == {"cloud-build-trigger"}:
        return "its Cloud Build trigger, configured in Google Cloud (require approval on it)"
    events = {t.event for t in job.triggers}
    if events and events <= MANUAL_EVENTS:
        return "started only by " + ", ".join(sorted(events))
    for up in _upstream(project, job):
        if up.manual:
            return f"needs manual job '{up.label}' ({up.manual_why})"
        if up.system == "github" and up.environment and "${{" not in up.environment:
            return f"needs job '{up.label}' in GitHub environment '{up.environment}'"
        if up.system == "azure" and up.environment and "$(" not in up.environment:
            return f"needs job '{up.label}' in Azure Pipelines environment '{up.environment}'"
    if job.system == "jenkins":
        for other in project.jobs:
            if other.path == job.path and other.manual and other.line < job.line:
                return f"follows manual stage '{other.label}' ({other.manual_why})"
    return None


def _no_automated_staging(staging: list[tuple[Job, str]]) -> str:
    """The message when no staging deployment runs on a push or merge: what the staging jobs wait for."""
    if not staging:
        return (
            "no automated staging deployment: no job targets a staging environment "
            "(environment: staging, or a deploy job named for staging)"
        )
    detail = "; ".join(
        f"job '{j.label}' ({j.where()}, {h}) is "
        + (
            f"manual ({j.manual_why})"
            if j.manual
            else "started by " + (", ".join(sorted({t.event for t in j.triggers})) or "nothing")
        )
        for j, h in staging[:MAX_EVIDENCE]
    )
    return f"no automated staging deployment: {detail}, not by a push or merge"


def deployments(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC702: an automated staging deployment, and production deployments behind a manual gate."""
    if target.kind == "repo":
        yield from no_pipeline(target, ctx, "deploy")
        return
    project = _project(target)
    _judgeable(project)
    staging, production = [], []
    callers = {j.id[:i] for j in project.jobs for i in range(len(j.id)) if j.id[i] == "/"}
    for job in project.jobs:
        if job.id in callers:
            # calls a local reusable workflow whose jobs are inlined and judged, with this job's inputs
            # (dotnet-podcasts' `prod` passes environment: prod to a job with environment: ${{ inputs.environment }})
            continue
        kind, how = _env_kind(job, ctx)
        if kind == "staging":
            staging.append((job, how))
        elif kind == "production":
            production.append((job, how))
    automated = [(j, h) for j, h in staging if not j.manual and {t.event for t in j.triggers} & AUTOMATED_EVENTS]
    if not automated and not project.unread:
        yield Hit(_no_automated_staging(staging), line=1, extra={"staging_jobs": [j.where() for j, _ in staging]})
    seen: set[tuple[str, int]] = set()
    for job, how in production:
        gate = _gate(project, job)
        if gate is not None or (job.path, job.line) in seen:
            continue
        seen.add((job.path, job.line))
        events = ", ".join(sorted({t.event for t in job.triggers})) or "no trigger"
        yield Hit(
            f"production deployment job '{job.label}' ({how}) has no manual gate: it runs on {events} "
            "(use when: manual / a protected environment, a GitHub or Azure Pipelines environment with required "
            "reviewers or approvals, a Cloud Build trigger that requires approval, or workflow_dispatch)",
            line=job.line,
            path=job.path,
            extra={"job": job.label, "triggers": sorted({t.event for t in job.triggers})},
        )


# ---------------------------------------------------------------- GC703


def _changelog_files(inventory: list[str], ctx: Context) -> list[str]:
    pats = _list(ctx, "changelog-files")
    out = []
    for rel in inventory:
        base = rel.rsplit("/", 1)[-1]
        for p in pats:
            if (
                "/" in p
                and (fnmatch.fnmatchcase(rel, p) or rel.endswith("/" + p) and fnmatch.fnmatchcase(rel[-len(p) :], p))
            ) or ("/" not in p and fnmatch.fnmatchcase(base, p)):
                out.append(rel)
                break
    return sorted(out)


def _goreleaser_changelog(rc: ReleaseConfig) -> bool:
    data = rc.data if isinstance(rc.data, dict) else {}
    ch = data.get("changelog")
    if isinstance(ch, dict) and (ch.get("disable") in (True, "true") or ch.get("skip") in (True, "true")):
        return False
    return True


def _release_evidence(configs: list, ctx: Context) -> list[str]:
    out = []
    for rc in configs:
        if rc.tool == "goreleaser":
            if _goreleaser_changelog(rc):
                out.append(f"GoReleaser changelog ({rc.path}:{rc.line})")
        else:
            out.append(f"{rc.tool}: {rc.detail} ({rc.path}:{rc.line})")
    return out


def changelog(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC703: changelog generation configured in the repository or run by its pipeline."""
    if target.kind == "repo":
        info = target.data
        inventory = getattr(info, "inventory", None)
        if not isinstance(inventory, list):
            raise NotApplicable("not a repository")
        prefix = crossref.repo_prefix(target)
        projects = [t for t in ctx.of_kind("ci") if t.origin.get("repo") == prefix]
        if projects:
            raise NotApplicable("judged with the pipeline: " + ", ".join(t.path for t in projects[:3]))
        evidence = [f"{prefix}{p}" for p in _changelog_files(inventory, ctx)]
        configs = [t.data for t in ctx.of_kind("release-config") if t.origin.get("repo") == prefix]
        evidence += _release_evidence(configs, ctx)
        if not evidence:
            yield Hit(
                "no automated changelog generation: no release-please, semantic-release, git-cliff, "
                "changesets, commitizen, towncrier or GoReleaser configuration, and no CI pipeline",
                line=1,
            )
        return
    project = _project(target)
    evidence = [project.display(p) for p in _changelog_files(project.inventory, ctx)]
    evidence += _release_evidence(project.release_configs, ctx)
    actions = _actions(ctx, "changelog-actions")
    commands = _regexes(ctx, "changelog-commands")
    for job in project.jobs:
        for step in job.steps:
            if _action_match(step.action(), actions) or _generates_release_notes(step):
                evidence.append(f"{step.uses} ({step.where()})")
            for ran in (step, *step.follows):  # the step, and the make targets and scripts it runs
                if ran.run:
                    m = _search(commands, _code(ran))
                    if m:
                        evidence.append(f"`{_short(m.group(0))}` ({ran.path}:{_cmd_line(ran, m.start())})")
    if not evidence and project.unread:
        # tekton-operator releases from a Tekton pipeline (tekton/operator-release-pipeline.yaml) whose task writes
        # the notes: a step there may generate them
        raise NotApplicable(
            "no changelog generation found in the pipelines read, but the pipeline is also defined in "
            f"{_unread_text(project)}, which guidecheck does not read (incomplete coverage)"
        )
    if not evidence:
        disabled = [rc for rc in project.release_configs if rc.tool == "goreleaser"]
        off = ""
        if disabled:  # at its changelog: key (terraform-k8s: `changelog: {skip: true}` on line 29)
            rc = disabled[0]
            line = key_line(rc.data, "changelog", rc.line) if isinstance(rc.data, dict) else rc.line
            off = f" (GoReleaser's changelog is disabled: {rc.path}:{line})"
        release = _release_step(project)
        where: dict[str, Any] = {"line": 1}
        hint = ""
        if release is not None:
            # at the release step, where the fix goes (litmus-helm's chart-releaser, not its test workflow)
            where = {"path": release.path, "line": release.line}
            action = release.action() or ""
            if not action:
                command = _release_command(release) or "gh release create"
                ask = {
                    "gh release create": "--generate-notes",
                    "cr upload": "--generate-release-notes",
                    "curl -X POST .../releases": '"generate_release_notes": true to its JSON body',
                }.get(command, "-F generate_release_notes=true")
                hint = f"; the release step runs `{command}` ({release.where()}): add {ask}"
            elif action in _RELEASE_NOTES_INPUTS:
                kind, name = _RELEASE_NOTES_INPUTS[action]
                ask = f"the input {name}: true" if kind == "with" else f"the environment variable {name}: true"
                if action == "helm/chart-releaser-action":
                    ask += " (or generate-release-notes: true in its cr.yaml)"
                hint = f"; the release step {action} ({release.where()}) would write them with {ask}"
            else:
                hint = f"; the release step is {action} ({release.where()})"
        else:
            # where a release is made: a workflow run on tags first (kube-vip's release.yaml), then on a new tag or
            # branch (create), then on a published release (an SBOM scan attaching to it comes after the fact)
            # (a documentation workflow last: robusta's deploy-docs.yaml runs on create too)
            tagged = next(
                (
                    f
                    for docs in (False, True)
                    for event in ("tag", "create", "release")
                    for f in project.files
                    if f.docs == docs and any(t.event == event for t in f.triggers)
                ),
                None,
            )
            if tagged is not None:
                # hello-kubernetes: no release action, but a workflow run on tags publishes: the fix goes there
                where = {"path": tagged.path, "line": 1}
                if tagged.path != project.main:
                    hint = f"; the pipeline that runs on tags or releases is {tagged.path}"
        yield Hit(
            "no automated changelog generation: no release-please, semantic-release, git-cliff, changesets, "
            "commitizen, towncrier or GoReleaser configuration in the repository"
            + off
            + ", and no pipeline step generating one"
            + hint,
            **where,
        )


# release actions that write GitHub's generated release notes when asked (kubernetes-mixin's release workflow,
# with its .github/release.yml categories): where the switch goes ("with": an input, which GitHub matches
# without regard to case; "env": an environment variable, exact) and its name, as the user writes it
_RELEASE_NOTES_INPUTS = {
    "softprops/action-gh-release": ("with", "generate_release_notes"),
    "ncipollo/release-action": ("with", "generateReleaseNotes"),
    # prometheus-community's chart releases: chart-releaser reads CR_GENERATE_RELEASE_NOTES (viper, upper case);
    # the action has no input for it
    "helm/chart-releaser-action": ("env", "CR_GENERATE_RELEASE_NOTES"),
}


# steps that publish a release: where a changelog generator (or its release-notes input) goes
_RELEASE_ACTIONS = frozenset({*_RELEASE_NOTES_INPUTS, "actions/create-release", "goreleaser/goreleaser-action"})


_GH_RELEASE = re.compile(r"\bgh\s+release\s+create\b")
# GitHub's REST call that creates a release (external-dns's scripts/chart-release.sh: `gh api -X POST
# "repos/${REPO}/releases"`, a draft it publishes once the chart is attached)
_GH_API_RELEASE = re.compile(
    r"\bgh\s+api\b[^\n]{0,200}?(?:-X|--method)[=\s]*POST\b[^\n]{0,200}?/releases[\"']?(?:\s|$)"
)


_CR_UPLOAD = re.compile(r"\bcr\s+upload\b")
# the same call made with curl (camel-k's nightly release action: `curl -s -X POST ... .../releases`)
_CURL_RELEASE = re.compile(
    r"\bcurl\b[^\n]{0,300}?(?:-X|--request)[=\s]*POST\b[^\n]{0,300}?/repos/[^\s\"']+/releases[\"']?(?:\s|$)"
)


def _release_command(step: Step) -> str | None:
    """How a run step (or a script or make target it runs) creates a GitHub release, if it does: the fix that asks
    GitHub to write the release notes goes there."""
    for ran in (step, *step.follows):
        if not ran.run:
            continue
        code = _code(ran)
        if _GH_RELEASE.search(code):
            return "gh release create"  # kiali-operator's `gh release create "${TAG}" ...`
        if _GH_API_RELEASE.search(code):
            return "gh api -X POST .../releases"
        if _CURL_RELEASE.search(code):
            return "curl -X POST .../releases"
        if _CR_UPLOAD.search(code):
            return "cr upload"  # chart-releaser's command line, run in a step of its own (kubescape's charts)
    return None


def _installs_only(step: Step) -> bool:
    """An action step told to install its tool and run nothing (install-only / install_only: true), for a later
    step to run it: golangci-lint-action's, goreleaser-action's, chart-releaser-action's."""
    return any(str(v).strip().lower() == "true" for k, v in step.with_.items() if k in ("install-only", "install_only"))


def _publishes_release(step: Step) -> bool:
    """A release action step; GoReleaser's only when it runs a release: its default command, or `release`
    without --snapshot (cloudnative-pg's e2e workflows run `goreleaser build` through an expression); none that
    only installs its tool (external-dns's chart-releaser, fission's GoReleaser in its benchmark workflow:
    install-only, then a command of their own)."""
    action = step.action() or ""
    if not action:
        return step.run is not None and _release_command(step) is not None
    if action not in _RELEASE_ACTIONS or _installs_only(step):
        return False
    if action != "goreleaser/goreleaser-action":
        return True
    args = str(step.with_.get("args", "") or "").strip()
    if not args:
        return True
    return bool(re.search(r"(?:^|\s)release\b", args)) and "--snapshot" not in args


def _release_step(project: Project) -> Step | None:
    """The first step of the project's pipeline that publishes a release (a release action)."""
    for job in project.jobs:
        for step in job.steps:
            if _publishes_release(step):
                return step
    return None


def _generates_release_notes(step: Step) -> bool:
    """A release action step with its generate-release-notes input (or environment variable) set to true."""
    switch = _RELEASE_NOTES_INPUTS.get(step.action() or "")
    if switch is None:
        return False
    kind, name = switch
    if kind == "env":
        value = step.env.get(name)
    else:
        value = next((v for k, v in step.with_.items() if str(k).lower() == name.lower()), None)
    return str(value).strip().lower() == "true"


# ---------------------------------------------------------------- GC704

_GORELEASER_CONFIG = re.compile(r"(?:^|\s)(?:-f|--config)[=\s]+(\S+)")


def _goreleaser_config(project: Project, text: str) -> ReleaseConfig | None:
    m = _GORELEASER_CONFIG.search(text)
    names = (
        [m.group(1).strip("'\"")] if m else [".goreleaser.yml", ".goreleaser.yaml", "goreleaser.yml", "goreleaser.yaml"]
    )
    for name in names:
        want = project.display(name[2:] if name.startswith("./") else name)
        for rc in project.release_configs:
            if rc.tool == "goreleaser" and rc.path == want:
                return rc
    return None


def _goreleaser_args(step: Step) -> str | None:
    """The GoReleaser command line of a step (the action's args, or the `goreleaser ...` line it runs)."""
    if step.action() == "goreleaser/goreleaser-action":
        return step.with_.get("args", "")
    if step.run and (m := re.search(r"\bgoreleaser\b", step.run)):
        return step.run[m.start() :].split("\n", 1)[0]
    return None


def _goreleaser_hooks(project: Project, step: Step) -> list[Step]:
    """The ``before: hooks:`` a GoReleaser step runs first (terraform-k8s: `go test ./...` on every build),
    as one followed step at the configuration's hooks."""
    text = _goreleaser_args(step)
    if text is None:
        return []
    rc = _goreleaser_config(project, text)
    before = rc.data.get("before") if rc is not None and isinstance(rc.data, dict) else None
    hooks = before.get("hooks") if isinstance(before, dict) else None
    if rc is None or not isinstance(hooks, list):
        return []
    cmds = [h if isinstance(h, str) else h.get("cmd") if isinstance(h, dict) else None for h in hooks]
    run = "\n".join(c for c in cmds if isinstance(c, str))
    if not run:
        return []
    return [Step(rc.path, key_line(before, "hooks", rc.line) + 1, name="goreleaser before hooks", run=run)]


def _goreleaser_push(project: Project, step: Step) -> tuple[str, bool] | None:
    """(what, signed) when a GoReleaser release step pushes images; None otherwise."""
    text = _goreleaser_args(step)
    if (
        text is None
        or not re.search(r"\brelease\b", text)
        or "--snapshot" in text
        or "--skip=publish" in text
        or "--skip-publish" in text
    ):
        return None
    rc = _goreleaser_config(project, text)
    if rc is None or not isinstance(rc.data, dict):
        return None
    if not any(rc.data.get(k) for k in ("dockers", "dockers_v2", "docker_manifests", "kos")):
        return None
    signs = rc.data.get("docker_signs")
    signed = isinstance(signs, list) and any(isinstance(s, dict) and (s.get("cmd") in (None, "cosign")) for s in signs)
    return f"GoReleaser release with images ({rc.path})", signed


def _whole_word(m: re.Match[str]) -> str:
    """The matched command, through the end of the word it stops in (`make push-docker-all`, not `make
    push-docker`: a pattern's \\b may end a match inside a make target's name)."""
    text, end = m.string, m.end()
    while end < len(text) and not text[end].isspace() and text[end] not in ";&|)`'\"":
        end += 1
    return text[m.start() : end]


def _pushes(project: Project, job: Job, ctx: Context) -> list[tuple[int, Step, str, bool, int]]:
    """(step index, step, what, signed by itself, line) for each step that pushes an image."""
    actions = _actions(ctx, "image-push-actions")
    commands = _regexes(ctx, "image-push-commands")
    out = []
    for i, step in enumerate(job.steps):
        if step.name and NO_PUSH_NAME.search(step.name):
            continue  # the author says this step does not push (e.g. a push script in build-only mode)
        gr = _goreleaser_push(project, step)
        if gr is not None:
            out.append((i, step, gr[0], gr[1], step.line))
            continue
        act = _action_match(step.action(), actions)
        if act:
            used = (step.uses or "").split("@", 1)[0]
            inp = act[act.index("[") + 1 : -1] if "[" in act and act.endswith("]") else None
            if inp is None:
                out.append((i, step, used, False, step.line))
            else:
                v = step.with_.get(inp)
                if v is not None and v.strip().lower() not in ("false", "0", "no", "off", ""):
                    out.append((i, step, f"{used} with {inp}: {_short(v, 40)}", False, step.line))
        if step.run:
            m = _search(commands, _code(step))
            if m and _loads_locally(m, _code(step), job, step):
                m = None
            if m:
                out.append((i, step, f"`{_short(_whole_word(m), 50)}`", False, _cmd_line(step, m.start())))
                continue
            for f in step.follows:  # a script or make target the step runs
                m = _search(commands, _code(f)) if f.run else None
                if m and _loads_locally(m, _code(f), job, step):
                    m = None
                if m:
                    where = f"{f.path}:{_cmd_line(f, m.start())}"
                    what = f"`{_short(_whole_word(m), 50)}` in {where}" + (f" ({f.name})" if f.name else "")
                    out.append((i, step, what, False, _invocation_line(step, f)))
                    break
    return out


def _invocation_line(step: Step, ran: Step) -> int:
    """The line of ``step`` that runs ``ran`` (a make target or task by its name, a script by its file name):
    ratelimit's `docker login` opens the run block, and `make docker_multiarch_push` on the next line pushes.
    The step's own line when the name is not written there (a target reached through another)."""
    word = ran.name.split()[-1] if ran.name else ran.path.rsplit("/", 1)[-1]
    if not word or not step.run:
        return step.line
    m = re.search(r"(?<![\w.-])" + re.escape(word) + r"(?![\w-])", _code(step))
    return _cmd_line(step, m.start()) if m else step.line


_SKAFFOLD = re.compile(r"\bskaffold\s+(?:build|run|dev|deploy)\b")
_SKAFFOLD_PUSHES = re.compile(r"--push(?:=true)?(?![=\w-])|--default-repo\b|\s-d\s")
_LOCAL_CLUSTER_ACTIONS = frozenset(
    {
        "helm/kind-action",
        "container-tools/kind-action",
        "engineerd/setup-kind",
        "medyagh/setup-minikube",
        "manusa/actions-setup-minikube",
        "absaoss/k3d-action",
        "nolar/setup-k3d-k3s",
    }
)
_LOCAL_CLUSTER_COMMAND = re.compile(r"\bkind\s+create\s+cluster\b|\bminikube\s+start\b|\bk3d\s+cluster\s+create\b")


_KO = re.compile(r"\bko\s+(?:build|publish|resolve|apply)\b")
# a registry of the runner itself, gone with the job: on localhost, or one a kind cluster's setup starts under a
# .local name or as kind-registry (sigstore's e2e jobs: KO_DOCKER_REPO: registry.local:5000/policy-controller)
_LOCAL_REGISTRY = r"(?:localhost|127\.0\.0\.1|kind-registry|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.local)(?::\d{1,5})?"
# ko's local targets: the Docker daemon (ko.local), the kind cluster's nodes (kind.local), a local registry
_KO_LOCAL = re.compile(
    r"\bKO_DOCKER_REPO\s*[=:]\s*[\"']?(?:(?:kind|ko)\.local\b|" + _LOCAL_REGISTRY + r"(?:/|[\s\"']|$))"
)
# `docker push localhost:5000/app`: every image it names is in a local registry
_PUSH_LOCAL = re.compile(
    r"\b(?:docker|podman|buildah|nerdctl)\s+(?:image\s+)?push\s+(?:-{1,2}\w[\w-]*(?:=\S*)?\s+)*[\"']?"
    + _LOCAL_REGISTRY
    + r"/"
)
_ENV_REF = re.compile(r"\$(?:\(([A-Za-z_]\w*)\)|\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


def _with_env(text: str, env: dict[str, str]) -> str:
    """``text`` with the $(NAME), ${NAME} and $NAME that ``env`` gives replaced by their values (a Makefile's
    ``KO_DOCKER_REPO=$(KO_PREFIX)/app`` under the step's ``KO_PREFIX`` environment variable)."""
    if "$" not in text or not env:
        return text
    return _ENV_REF.sub(lambda m: env.get(m.group(1) or m.group(2) or m.group(3), m.group(0)), text)


def _loads_locally(m: re.Match[str], code: str, job: Job, step: Step) -> bool:
    """A push command that only loads its images into the job's own cluster or Docker daemon.

    `skaffold build/run` in a job that made a kind, minikube or k3d cluster: Skaffold pushes only when the
    kube-context is not a local cluster, or when told (--push, --default-repo); fission's benchmark workflow runs
    `make skaffold-deploy` against the kind cluster helm/kind-action made. `ko build/apply` with KO_DOCKER_REPO
    kind.local or ko.local (keda's http-add-on e2e setup): ko loads the images into kind or the daemon. A push
    to a registry of the runner (localhost, or a kind setup's registry.local or kind-registry), by ko or
    `docker push`, publishes nothing either.
    """
    line_start = code.rfind("\n", 0, m.start()) + 1
    line_end = code.find("\n", m.end())
    line = code[line_start : line_end if line_end >= 0 else len(code)]
    if _KO.search(m.group(0)):
        variables = {**job.env, **step.env}
        env = " ".join(f"{k}={v}" for k, v in variables.items()) + _exported_before(job, step)
        return bool(
            _KO_LOCAL.search(_with_env(line, variables)) or _KO_LOCAL.search(env) or _KO_LOCAL.search(code[:line_start])
        )
    if _PUSH_LOCAL.search(_with_env(line, {**job.env, **step.env})):
        return True
    if not _SKAFFOLD.search(m.group(0)):
        return False
    if _SKAFFOLD_PUSHES.search(line + " "):
        return False
    return _starts_cluster(job)


_GITHUB_ENV_WRITE = re.compile(r"\b([A-Z_][A-Z0-9_]*)=([^\s\"'>]*)[\"']?\s*>>\s*\"?\$\{?GITHUB_ENV\b")
_ENV_SETUP_ACTIONS = frozenset({"ko-build/setup-ko", "imjasonh/setup-ko"})


def _exported_before(job: Job, step: Step) -> str:
    """The environment earlier steps of the job hand on to this one, as ``K=V`` words: what they append to
    $GITHUB_ENV, and the env: of a setup action that exports it (traefik's knative conformance: ko-build/setup-ko
    with KO_DOCKER_REPO: ko.local, then `ko resolve` in a script of a later step loads into the daemon)."""
    words: list[str] = []
    for earlier in job.steps:
        if earlier is step:
            break
        if earlier.action() in _ENV_SETUP_ACTIONS:
            words += [f"{k}={v}" for k, v in earlier.env.items()]
        if earlier.run and "GITHUB_ENV" in earlier.run:
            words += [f"{m.group(1)}={m.group(2)}" for m in _GITHUB_ENV_WRITE.finditer(earlier.run)]
    return (" " + " ".join(words)) if words else ""


def _signs(step: Step, ctx: Context) -> bool:
    sign = _regexes(ctx, "image-sign-commands")
    return bool(step.run and _search(sign, _code(step))) or any(f.run and _search(sign, _code(f)) for f in step.follows)


def _needed_by(project: Project) -> dict[str, list[Job]]:
    """job id -> the jobs that list it in needs: (built once per project)."""
    out: dict[str, list[Job]] = {}
    for j in project.jobs:
        for n in j.needs:
            out.setdefault(n, []).append(j)
    return out


def _signed_after(project: Project, job: Job, needed_by: dict[str, list[Job]], signers: list[Job]) -> bool:
    """Whether a signing job runs after this one: it needs it (transitively; a reusable workflow's jobs
    count as their caller), or it is a GitLab job of a later stage in the same pipeline (a child
    pipeline runs where its trigger job does)."""
    if not signers:
        return False
    signer_ids = {j.id for j in signers}
    keys = [job.id]
    cut = job.id.rfind("/")
    while cut > 0:  # the callers of a reusable workflow job: needs: <caller> waits for it
        keys.append(job.id[:cut])
        cut = job.id.rfind("/", 0, cut)
    seen: set[str] = set()
    todo = [c for k in keys for c in needed_by.get(k, ())]
    while todo:
        c = todo.pop()
        if c.id in seen or c is job:
            continue
        if c.id in signer_ids:
            return True
        seen.add(c.id)
        todo.extend(needed_by.get(c.id, ()))
    if job.system == "gitlab":
        for other in signers:
            if other is job or other.system != "gitlab":
                continue
            anchor = _anchor(project, other, job.file)
            if anchor is not None and anchor is not job and anchor.stage_index > job.stage_index and not anchor.needs:
                return True
    return False


def _anchor(project: Project, job: Job, file: str) -> Job | None:
    if job.file == file:
        return job
    by_id = {j.id: j for j in project.jobs}
    cur: Job | None = job
    hops = 0
    while cur is not None and cur.file != file and hops < 20:
        cur, hops = by_id.get(cur.parent) if cur.parent else None, hops + 1
    return cur if cur is not None and cur.file == file else None


_JOBS_SHOWN = 3


def signing(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC704: every image the pipeline pushes is signed with cosign (in the job or a job after it)."""
    if target.kind == "repo":
        yield from no_pipeline(target, ctx, "image")
        return
    project = _project(target)
    if not project.jobs and project.unread:
        _judgeable(project)
    unsigned: dict[tuple[str, int], dict[str, Any]] = {}
    any_push = False
    needed_by = _needed_by(project)
    signers = [j for j in project.jobs if any(_signs(s, ctx) for s in j.steps)]
    for job in project.jobs:
        pushes = _pushes(project, job, ctx)
        if not pushes:
            continue
        any_push = True
        signed_later = _signed_after(project, job, needed_by, signers)
        for i, step, what, self_signed, line in pushes:
            if self_signed or signed_later or any(_signs(s, ctx) for s in job.steps[i:]):
                continue
            key = (step.path, line)
            entry = unsigned.setdefault(
                key,
                {
                    "what": what,
                    "jobs": [],
                    "step": step.name,
                    # Cloud Build's steps are its jobs; its images: list is pushed after them all
                    "cloudbuild": job.system == "cloudbuild",
                    "images_list": job.system == "cloudbuild" and job.id.endswith(":images") and job.name == "images",
                },
            )
            if job.label not in entry["jobs"]:
                entry["jobs"].append(job.label)
    if not any_push:
        raise NotApplicable("the pipeline pushes no container image")
    for (path, line), e in sorted(unsigned.items()):
        # every job is in the finding's "jobs"; the message names a few (a composite action used by 30 jobs)
        jobs = ", ".join(f"'{j}'" for j in e["jobs"][:_JOBS_SHOWN])
        if len(e["jobs"]) > _JOBS_SHOWN:
            jobs += f" and {len(e['jobs']) - _JOBS_SHOWN} more"
        # the step's name tells two pushes of one job apart (one finding each, with its own identity)
        named = f", step '{_short(e['step'])}'," if e["step"] and e["step"] not in e["jobs"] else ""
        if e["images_list"]:
            message = (
                f"Cloud Build's images: list pushes an image ({e['what']}) after every step, so no step signs it "
                "with cosign: push it in a step and sign it with `cosign sign` in a later one"
            )
        else:
            who, after = (
                (f"step {jobs}", "in a step that runs after it")
                if e["cloudbuild"]
                else (f"job {jobs}{named}", "after it in the job or in a job that runs after it")
            )
            message = f"{who} pushes an image ({e['what']}) that is not signed with cosign: no `cosign sign` {after}"
        yield Hit(
            message,
            line=line,
            path=path,
            extra={"jobs": e["jobs"]},
        )
