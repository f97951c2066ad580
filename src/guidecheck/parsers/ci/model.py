"""One model of CI/CD pipelines, whatever system defines them (GitHub Actions, GitLab CI, Jenkins).

The parsers beside this module (:mod:`.github`, :mod:`.gitlab`, :mod:`.jenkins`,
:mod:`.release`) fill in a :class:`Project`; the CI loader
(:mod:`guidecheck.loaders.ci`) makes one for each
directory that holds pipeline definitions (a ``.github/workflows/`` directory,
a ``.gitlab-ci.yml``, a ``Jenkinsfile``).  A project's jobs are the jobs that
actually run: GitHub reusable workflows called with ``uses: ./.github/workflows/x.yml``
are inlined into the calling job (one instance per caller, with the caller's
triggers and ``with:`` inputs), composite actions ``uses: ./path`` are expanded
into their steps, GitLab ``include:``/``extends:``/``default:`` are resolved, and
hidden GitLab jobs (``.name``) are templates only.

Everything carries the display path and line where it was written, so a
finding can point at the exact step.  Plain data; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Trigger:
    """What starts a job: ``push``, ``pull_request``, ``merge_request``, ``tag``, ``schedule``,
    ``manual`` (workflow_dispatch, GitLab web/api runs), ``release``, ``workflow_call``, ..."""

    event: str
    path: str
    line: int
    detail: str = ""  # branches/tags filter, or the condition it came from


@dataclass
class Step:
    """A step (GitHub), a script line (GitLab) or an ``sh`` call (Jenkins)."""

    path: str
    line: int
    name: str | None = None
    uses: str | None = None  # action reference as written: owner/repo[/path]@ref, ./local, docker://...
    run: str | None = None  # the command text (one GitLab script item, one run: block, one sh call)
    with_: dict[str, str] = field(default_factory=dict)  # action inputs (scalars as text)
    env: dict[str, str] = field(default_factory=dict)  # the step's own env: (scalars as text)
    via: str | None = None  # the composite action file this step was expanded from
    unresolved: str | None = None  # why a local action could not be followed
    # what the command runs in the repository (make recipes, scripts; read by the loader, two levels deep):
    # one step per recipe or script, at its own file and line
    follows: list[Step] = field(default_factory=list)

    def action(self) -> str | None:
        """``owner/repo[/path]`` of a remote action, without ``@ref``; None otherwise."""
        if not self.uses or self.uses.startswith(("./", "docker://")):
            return None
        return self.uses.split("@", 1)[0].lower()

    def where(self) -> str:
        return f"{self.path}:{self.line}"


# a run: of echo/printf/true/exit 0 lines only (no command chained, piped or substituted)
# the words of a workflow file's name that say it builds or publishes documentation
_DOCS_WORDS = frozenset({"doc", "docs", "documentation", "pages", "site", "website", "mkdocs", "sphinx", "hugo"})
_ECHO_ONLY = re.compile(r"^(?:[ \t]*(?:echo|printf|true|:|exit[ \t]+0)(?:[ \t][^\n;&|`$]*)?\n|[ \t]*(?:#[^\n]*)?\n)*$")


@dataclass
class Job:
    system: str  # github | gitlab | jenkins | cloudbuild | azure
    id: str  # unique in its project (callers prefix reusable workflow jobs: caller/job)
    path: str
    line: int
    name: str | None = None
    file: str = ""  # the pipeline file whose triggers start this job (the caller for reusable jobs)
    triggers: list[Trigger] = field(default_factory=list)
    stage: str | None = None
    stage_index: int = 0  # position of the stage in its GitLab pipeline's stages
    parent: str | None = None  # the GitLab trigger job that starts this job's child pipeline
    needs: list[str] = field(default_factory=list)  # ids of jobs it waits for (same project)
    environment: str | None = None
    environment_action: str | None = None  # GitLab environment:action (start, stop, prepare, ...)
    environment_tier: str | None = None  # GitLab environment:deployment_tier
    manual: bool = False
    manual_why: str = ""  # "when: manual at x:12", "input step at Jenkinsfile:40", ...
    conditions: list[str] = field(default_factory=list)  # if:/rules:/only:/except: as written
    steps: list[Step] = field(default_factory=list)
    uses: str | None = None  # a job that calls a workflow: its reference as written
    images: list[str] = field(default_factory=list)  # job image and services (GitLab), container (GitHub)
    env: dict[str, str] = field(default_factory=dict)  # GitHub: the workflow's and the job's env: (scalars as text)
    # GitHub: strategy.matrix, the scalar values of each key (include: entries' too), at most MAX_MATRIX_VALUES each
    matrix: dict[str, list[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name if self.name and self.name != self.id else self.id

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Include:
    """A GitLab ``include:`` entry or a remote reusable workflow: recorded, fetched only when local."""

    kind: str  # local | remote | project | template | component
    ref: str
    path: str
    line: int
    resolved: list[str] = field(default_factory=list)  # the local files it brought in


# words of a pipeline file's name that say it runs a side job, not the project's CI
_SIDE_WORDS = frozenset(
    {"benchmark", "benchmarks", "bench", "perf", "performance", "scorecard", "scorecards", "codeql", "stale"}
)


# the words of a workflow's name that say nothing of what it is for ("CI Workflow", "Build and test")
_GENERIC_TITLE_WORDS = frozenset({"ci", "workflow", "workflows", "pipeline", "main", "build", "and", "test", "tests"})
# pipeline file names (without extension) that say the file is the CI
_CI_FILE_NAMES = frozenset(
    {
        "ci",
        "main",
        "build",
        "test",
        "tests",
        "pipeline",
        "build-and-test",
        "continuous-integration",
        "pr",
        "pull-request",
        "push",
        "jenkinsfile",
    }
)


@dataclass
class PipelineFile:
    system: str
    path: str
    triggers: list[Trigger] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)  # ids of the jobs it starts
    includes: list[Include] = field(default_factory=list)
    reusable: bool = False  # a GitHub workflow triggered only by workflow_call (run through callers)
    title: str = ""  # a GitHub workflow's name: ("Fission CI", "CI Workflow")

    @property
    def docs(self) -> bool:
        """Whether its file's name says it builds or publishes documentation (listmonk's github-pages.yml,
        robusta's deploy-docs.yaml): a pipeline finding about the project belongs on another file."""
        base = self.path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
        return not _DOCS_WORDS.isdisjoint(re.split(r"[-_.]+", base))


@dataclass
class ReleaseConfig:
    """Evidence of release tooling found in a file's content (package.json ``release``, GoReleaser ...)."""

    tool: str
    path: str
    line: int
    detail: str = ""
    data: dict[Any, Any] | None = None  # parsed configuration when the checks need more (GoReleaser)


@dataclass
class Project:
    root: str  # display path of the project directory ('' = the scan root itself)
    name: str
    main: str  # display path of the main pipeline file (findings about the whole project sit there)
    files: list[PipelineFile] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    inventory: list[str] = field(default_factory=list)  # every file under root, relative to root
    release_configs: list[ReleaseConfig] = field(default_factory=list)
    # golangci-lint configurations that turn a security analyzer on: (path, line, analyzer)
    security_linters: list[tuple[str, int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be followed (remote includes, ...)
    stages: list[str] = field(default_factory=list)  # GitLab stage order (with .pre and .post)
    # pipeline definitions of CI systems guidecheck does not read: (system, display path)
    unread: list[tuple[str, str]] = field(default_factory=list)

    def job(self, job_id: str) -> Job | None:
        for j in self.jobs:
            if j.id == job_id:
                return j
        return None

    def display(self, rel: str) -> str:
        return f"{self.root}/{rel}" if self.root else rel

    def _substance(self, f: PipelineFile) -> tuple[bool, int]:
        """(whether the file's jobs only echo, how many of their steps do more). spiffe's
        helm-chart-ci-ignore.yaml repeats helm-chart-ci.yaml's job names with `echo "Skipping tests"`, so that
        required checks pass on changes its twin ignores: the twin is the pipeline."""
        steps = [s for jid in f.jobs if (j := self.job(jid)) is not None for s in j.steps]
        idle = sum(
            1
            for s in steps
            if (s.run is not None and _ECHO_ONLY.match(s.run.rstrip("\n") + "\n"))
            or (s.run is None and s.action() == "actions/checkout")
        )
        return bool(steps) and idle == len(steps), len(steps) - idle

    def main_file(self) -> str:
        """GitLab's .gitlab-ci.yml; else the GitHub workflow that looks like the CI; else the first file. A
        .gitlab-ci.yml with fewer jobs than the repository's GitHub workflows together is a leftover beside the
        CI that runs (spark-on-k8s-operator's one docker:stable build job): the workflows' main file wins."""
        gh = [f for f in self.files if f.system == "github" and not f.reusable]
        jenkins = [f for f in self.files if f.system == "jenkins"]
        for f in self.files:
            if f.system == "gitlab":
                if gh and sum(len(g.jobs) for g in gh) > len(f.jobs):
                    break
                return f.path

        def score(f: PipelineFile) -> tuple[bool, bool, bool, bool, bool, bool, bool, int, int, str]:
            base = f.path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
            words = set(re.split(r"[-_.]+", base))
            # a workflow named for a side job (fission's benchmark.yaml, scorecard, codeql) is not the CI, whatever
            # its size; one named for pushes and pull requests (fission's push_pr.yaml) is
            side = not _SIDE_WORDS.isdisjoint(words)
            # next, one whose name: calls it the CI and nothing else (jaeger-operator's base-checks.yaml, "CI
            # Workflow"), not a component's CI (`helm-chart-ci`, `kustomize-build-ci`)
            title = set(re.split(r"[^a-z0-9]+", f.title.lower())) - {""}
            titled = "ci" in title and title <= _GENERIC_TITLE_WORDS
            named = {"push", "pr"} <= words or base in _CI_FILE_NAMES
            pushy = any(t.event in ("push", "pull_request") for t in f.triggers)
            stub, working = self._substance(f)
            return (
                stub,
                f.docs,
                side,
                not named,
                not titled,
                f.system != "jenkins",
                not pushy,
                -len(f.jobs),
                -working,
                f.path,
            )

        if gh or jenkins:
            return sorted(gh + jenkins, key=score)[0].path
        return self.files[0].path
