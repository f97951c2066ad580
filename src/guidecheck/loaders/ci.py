"""CI/CD pipeline loader: finds pipeline files, reads them, makes ``ci`` and ``release-config`` targets.

For every scanned directory it finds the *projects*: a directory holding
``.github/workflows/*.yml|yaml``, a ``.gitlab-ci.yml`` or a ``Jenkinsfile``
(a Jenkinsfile below a GitHub/GitLab project belongs to that project).  Each
project becomes one ``ci`` target at its main pipeline file; the rules judge a
project's pipelines as a whole (see docs/ci.md).

The parsing is done by :mod:`guidecheck.parsers.ci` (one module per CI
system); this module only finds the files among the walked ones, reads them and
turns the results into targets.  YAML pipeline files are never read again:
their parsed documents come from ``loaded.others`` and reach the parsers through
a reader callback (:meth:`_Ctx.read`), also for the files a pipeline follows.
Jenkinsfiles and pyproject.toml files are read with :func:`fs.read_text`.  Only
files inside the project are followed (local reusable workflows, composite
actions, GitLab local includes); remote ones are recorded by name and never
fetched.

A pipeline file that is ill-typed (``jobs:`` not a mapping, a step that is not
a mapping, an ``extends:`` naming no job, a local include that does not exist)
gets a GC001 error at its line, appended to the file's :class:`SourceFile`
(a ``file`` target is made for a file that has none).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from typing import Any

from guidecheck.loaders import WORKFLOW_FILE
from guidecheck.loaders.fs import under
from guidecheck.model import LoadError, ObjectRef, SourceFile, Target, file_target
from guidecheck.parsers import k8s
from guidecheck.parsers.ci.azure import parse_azure
from guidecheck.parsers.ci.cloudbuild import is_build_config, is_trigger_file, parse_cloudbuild
from guidecheck.parsers.ci.common import PipelineError
from guidecheck.parsers.ci.github import check_workflow, parse_github
from guidecheck.parsers.ci.gitlab import parse_gitlab
from guidecheck.parsers.ci.jenkins import add_jenkinsfile
from guidecheck.parsers.ci.model import Project, ReleaseConfig, Step
from guidecheck.parsers.ci.release import from_chart_releaser, from_goreleaser, from_package_json, from_pyproject
from guidecheck.parsers.yaml import item_line, key_line

_WORKFLOW = WORKFLOW_FILE
_GITLAB = re.compile(r"^(?:(.*)/)?\.gitlab-ci\.ya?ml$")
_JENKINS = re.compile(r"^(?:(.*)/)?(?:Jenkinsfile(?:\.[^/]*)?|[^/]+\.[Jj]enkinsfile)$")
_GORELEASER = re.compile(r"(?:^|/)\.?goreleaser[^/]*\.ya?ml$")
# cloudbuild.yaml, cloudbuild-release.yaml, a .cloudbuild/ directory, and <name>.cloudbuild.yaml
# (cloud-run-microservice-template-python's test/advance.cloudbuild.yaml)
_CLOUDBUILD = re.compile(
    r"^(?:(.*)/)?(?:(?:[^/]+[.-])?cloudbuild[^/]*\.(?:ya?ml|json)|\.?cloudbuild/[^/]+\.(?:ya?ml|json))$"
)
_AZURE = re.compile(r"^(?:(.*)/)?(?:azure-pipelines[^/]*\.ya?ml|\.(?:azure-pipelines|azuredevops)/[^/]+\.ya?ml)$")
# CI systems whose pipelines guidecheck does not read: (system, file pattern); the group is the project directory
UNREAD_SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("CircleCI", re.compile(r"^(?:(.*)/)?\.circleci/config\.ya?ml$")),
    ("Bitbucket Pipelines", re.compile(r"^(?:(.*)/)?bitbucket-pipelines\.ya?ml$")),
    ("Buildkite", re.compile(r"^(?:(.*)/)?(?:\.buildkite/pipeline[^/]*\.(?:ya?ml|json|sh)|buildkite\.ya?ml)$")),
    ("Drone", re.compile(r"^(?:(.*)/)?\.drone\.ya?ml$")),
    ("Travis CI", re.compile(r"^(?:(.*)/)?\.travis\.ya?ml$")),
    ("Tekton", re.compile(r"^(?:(.*)/)?\.tekton/[^/]+\.ya?ml$")),
    ("Argo Workflows", re.compile(r"^(?:(.*)/)?\.argo/[^/]+\.ya?ml$")),
    ("AppVeyor", re.compile(r"^(?:(.*)/)?\.?appveyor\.ya?ml$")),
    ("Woodpecker CI", re.compile(r"^(?:(.*)/)?\.woodpecker(?:\.ya?ml|/[^/]+\.ya?ml)$")),
    ("Semaphore", re.compile(r"^(?:(.*)/)?\.semaphore/[^/]+\.ya?ml$")),
    ("AWS CodeBuild", re.compile(r"^(?:(.*)/)?buildspec[^/]*\.ya?ml$")),
    ("Codefresh", re.compile(r"^(?:(.*)/)?codefresh[^/]*\.ya?ml$")),
    # Prow's in-repository jobs, and the script kubernetes-csi's Prow jobs run (kubernetes/test-infra defines them)
    ("Prow", re.compile(r"^(?:(.*)/)?\.prow(?:\.ya?ml|\.sh|/[^/]+\.ya?ml)$")),
    # HashiCorp's release pipeline (CRT), configured by .release/ci.hcl
    ("HashiCorp CRT", re.compile(r"^(?:(.*)/)?\.release/ci\.hcl$")),
)
# Kubernetes-style objects that define a CI pipeline run of the repository (Tekton, Argo Workflows)
_PIPELINE_OBJECTS = {
    "tekton.dev": ("Tekton", {"PipelineRun", "TriggerTemplate", "EventListener", "TriggerBinding"}),
    "triggers.tekton.dev": ("Tekton", {"TriggerTemplate", "EventListener", "TriggerBinding", "Trigger"}),
}
MAX_JENKINS_BYTES = 2 * 1024 * 1024


class _Ctx:
    """What a project build needs: parsed documents, SourceFiles for errors, the config."""

    def __init__(self, loaded: Any, config: Any):
        self.docs = {d.path: d.docs for d in loaded.others}
        self.sources = {t.path: t.source for t in loaded.targets if t.kind == "file" and t.source is not None}
        self.config = config
        self.loaded = loaded

    def data(self, path: str) -> Any:
        """The first non-empty document of a YAML/JSON file (None if absent or unparsable)."""
        for d in self.docs.get(path, ()):
            if d.data is not None:
                return d.data
        return None

    def read(self, path: str) -> list[Any] | None:
        """The parsers' reader: the non-empty documents of a parsed file, None if it is not in the scan."""
        if path not in self.docs:
            return None
        return [d.data for d in self.docs[path] if d.data is not None]

    def apply(self, errors: list[PipelineError]) -> None:
        for e in errors:
            self.error(e.path, e.message, e.line)

    def workflows(self, paths: list[str]) -> list[tuple[str, Any]]:
        """(path, first document) of each workflow; None for an empty file read cleanly.

        A workflow that could not be read or parsed is left out (its error is already reported).
        """
        out = []
        for path in paths:
            data = self.data(path)
            if data is None and not (
                path in self.sources and self.sources[path].read and not self.sources[path].errors
            ):
                continue
            out.append((path, data))
        return out

    def error(self, path: str, message: str, line: int | None, column: int = 1) -> None:
        src = self.sources.get(path)
        if src is None:
            src = SourceFile(path, "yaml", read=True)
            self.sources[path] = src
            self.loaded.targets.append(file_target(src))
        err = LoadError(message, line or 1, column)
        if err not in src.errors:
            src.errors.append(err)


def extend(loaded: Any, config: Any, options: dict) -> None:
    ctx = _Ctx(loaded, config)
    for repo in loaded.repos:
        releases = release_configs(ctx, repo)
        for rc in releases:  # for GC703 on repositories without a pipeline
            loaded.targets.append(
                Target(
                    kind="release-config",
                    path=rc.path,
                    line=rc.line,
                    ref=ObjectRef("ReleaseConfig", None, rc.tool),
                    data=rc,
                    origin={"repo": repo.prefix},
                )
            )
        extra = _pipeline_objects(loaded, repo) + _job_builder_files(ctx, repo) + _codefresh_files(ctx, repo)
        for root, found in sorted(_find_roots(repo.walk.inventory, extra).items()):
            project = build_project(ctx, repo, root, found, releases)
            if project is None:
                continue
            if project.unread:
                systems = sorted({s for s, _p in project.unread})
                files = ", ".join(p for _s, p in project.unread[:3]) + (
                    f" and {len(project.unread) - 3} more" if len(project.unread) > 3 else ""
                )
                loaded.incomplete.append(
                    f"pipeline of {project.root or project.name} is "
                    + ("partly " if project.jobs else "")
                    + f"defined in {', '.join(systems)} ({files}), which guidecheck does not read: GC701, GC702 "
                    "and GC704 do not judge what it runs"
                )
            loaded.targets.append(
                Target(
                    kind="ci",
                    path=project.main,
                    line=1,
                    ref=ObjectRef("Pipeline", None, project.name),
                    data=project,
                    origin={"repo": repo.prefix},
                )
            )
    # files named one by one (pre-commit): validated, but a project is judged only in a directory scan
    for _abspath, display, _kind in loaded.files:
        if _WORKFLOW.match(display):
            data = ctx.data(display)
            if data is not None:
                ctx.apply(check_workflow(display, data))


def _find_roots(inventory: list[str], extra: list[tuple[str, str]] | tuple[()] = ()) -> dict[str, dict[str, list[str]]]:
    """Project directory -> system -> files: GitHub/GitLab projects at their directory; Jenkinsfiles, Cloud Build
    and Azure pipelines, and the files of systems guidecheck does not read (``unread:<system>``, also ``extra``:
    (system, file) found by content) in the nearest project above them, else their own directory."""
    roots: dict[str, dict[str, list[str]]] = {}
    jenkins: list[tuple[str, str, str]] = []
    for system, rel in extra:
        d = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if system == "Jenkins Job Builder":  # jobs of the project whose .ci/jobs (or jjb/) directory holds them
            m = _JJB_DIR.search(d)
            d = d[: m.start()] if m else d
        elif system == "Codefresh":  # argocd-autopilot's build/ci.yml: the project above its pipelines directory
            m = _CODEFRESH_DIR.search(d)
            d = d[: m.start()] if m else d
        jenkins.append((d, rel, "unread:" + system))
    for rel in inventory:
        m = _WORKFLOW.match(rel)
        if m:
            roots.setdefault(m.group(1) or "", {}).setdefault("github", []).append(rel)
            continue
        m = _GITLAB.match(rel)
        if m:
            roots.setdefault(m.group(1) or "", {}).setdefault("gitlab", []).append(rel)
            continue
        m = _JENKINS.match(rel)
        if m:
            jenkins.append((m.group(1) or "", rel, "jenkins"))
            continue
        m = _CLOUDBUILD.match(rel)
        if m:
            jenkins.append((m.group(1) or "", rel, "cloudbuild"))
            continue
        m = _AZURE.match(rel)
        if m:
            jenkins.append((m.group(1) or "", rel, "azure"))
            continue
        for system, rx in UNREAD_SYSTEMS:
            m = rx.match(rel)
            if m:
                jenkins.append((m.group(1) or "", rel, "unread-file:" + system))
                break
    # GitHub runs the workflows of the repository's root only, GitLab its root .gitlab-ci.yml (and what that
    # includes): a project directory inside another one is a vendored copy (fluent-bit's lib/cmetrics, with its
    # own .github/workflows), whose pipeline runs for its own repository, not this one. Side by side (a
    # directory of checked-out repositories), each is a project.
    nested = sorted(r for r in roots if any(o != r and (o == "" or r.startswith(o + "/")) for o in roots))
    for r in nested:
        del roots[r]

    def vendored(d: str) -> bool:
        return any(d == n or d.startswith(n + "/") for n in nested)

    for d, rel, system in jenkins:
        if vendored(d):
            continue
        owner = None
        for r in roots:  # the nearest project above it
            if (r == "" or d == r or d.startswith(r + "/")) and (owner is None or len(r) > len(owner)):
                owner = r
        if system.startswith("unread-file:"):
            if owner is not None and d != owner:
                # Travis CI, CircleCI, Drone ... read their file at the repository's root only: one deeper in a
                # project with a pipeline of its own belongs to another project's copy (a vendored library's
                # .travis.yml), not to this pipeline
                continue
            system = "unread:" + system.split(":", 1)[1]
        roots.setdefault(owner if owner is not None else d, {}).setdefault(system, []).append(rel)
    return roots


def _under(inventory: list[str], root: str) -> list[str]:
    if not root:
        return list(inventory)
    cut = len(root) + 1
    return [p[cut:] for p in under(inventory, root)]  # the inventory is sorted


def build_project(
    ctx: _Ctx, repo: Any, root: str, found: dict[str, list[str]], releases: list[ReleaseConfig]
) -> Project | None:
    prefix = repo.prefix
    root_display = (prefix + root).rstrip("/") if (prefix or root) else ""
    if root:
        name = root.rsplit("/", 1)[-1]
    else:
        name = os.path.basename(repo.walk.root.rstrip(os.sep)) or "."
    project = Project(root=root_display, name=name, main="", inventory=_under(repo.walk.inventory, root))
    if "gitlab" in found:
        rel = sorted(found["gitlab"])[0]
        ctx.apply(parse_gitlab(project, project.display(rel[len(root) + 1 :] if root else rel), ctx.read))
    if "github" in found:
        ctx.apply(parse_github(project, ctx.workflows([prefix + r for r in sorted(found["github"])]), ctx.read))
    for rel in sorted(found.get("jenkins", ())):
        _jenkins(ctx, project, os.path.join(repo.walk.root, *rel.split("/")), prefix + rel, repo.walk.root)
    if "cloudbuild" in found:
        configs = [prefix + r for r in sorted(found["cloudbuild"])]
        trigger_files = [(p, ctx.data(p)) for p in configs if is_trigger_file(ctx.data(p))]
        for path in configs:
            if is_build_config(ctx.data(path)):
                ctx.apply(parse_cloudbuild(project, path, ctx.read, trigger_files))
    for rel in sorted(found.get("azure", ())):
        path = prefix + rel
        data = ctx.data(path)
        if _azure_pipeline(rel, data):
            ctx.apply(parse_azure(project, path, ctx.read))
    for key in sorted(k for k in found if k.startswith("unread:")):
        for r in sorted(found[key]):
            if all(p != prefix + r for _s, p in project.unread):
                project.unread.append((key.split(":", 1)[1], prefix + r))
    project.release_configs = [rc for rc in releases if not project.root or rc.path.startswith(project.root + "/")]
    project.security_linters = _security_linters(ctx, repo, project)
    if not project.files and not project.unread:
        return None
    if not project.files:
        project.main = project.unread[0][1]
        return project
    project.main = project.main_file()
    project.jobs.sort(key=lambda j: (j.path, j.line, j.id))
    _follow_scripts(ctx, repo, root, project)
    return project


MAX_FOLLOWED_FILES = 64  # scripts and Makefiles read per project
MAX_SCRIPT_BYTES = 256 * 1024
FOLLOW_DEPTH = 2  # a step's script or make target, and what that runs in turn
# what a command must contain to run anything of the repository (a quick test before the parsers)
_MAY_FOLLOW = re.compile(r"make|MAKE|\.sh|\./|\b(?:mise|just|task|npm|yarn|pnpm|ct)\b")


def _follow_scripts(ctx: _Ctx, repo: Any, root: str, project: Project) -> None:
    """Attach to each step what it runs in the repository: the recipes of the make targets and the scripts it
    calls (files of the project only, read once, bounded), and what those call in turn (two levels)."""
    from guidecheck.parsers.ci.scripts import references

    inventory = set(repo.walk.inventory)
    texts: dict[str, str | None] = {}
    budget = [MAX_FOLLOWED_FILES]

    def text_of(rel: str) -> str | None:
        if rel not in texts:
            texts[rel] = None
            if rel in inventory and budget[0] > 0:
                budget[0] -= 1
                from guidecheck.loaders.fs import ReadError, read_text

                try:
                    texts[rel] = read_text(
                        os.path.join(repo.walk.root, *rel.split("/")), MAX_SCRIPT_BYTES, root=repo.walk.root
                    )
                except ReadError:
                    texts[rel] = None
        return texts[rel]

    memo: dict[tuple[str, str, int], list[Step]] = {}
    made: dict[tuple[str, int, str | None, str], Step] = {}  # one Step per file, line, name and text

    def step_of(path: str, line: int, name: str | None, run: str) -> Step:
        key = (path, line, name, run)
        if key not in made:
            made[key] = Step(path, line, name=name, run=run)
        return made[key]

    def followed(command: str, base: str, depth: int) -> list[Step]:
        # rook's 100 workflows call the same few scripts: each script's references are read once, and the
        # steps that run it share what it runs (the Steps are never changed after this)
        key = (command, base, depth)
        if key not in memo:
            memo[key] = _followed(command, base, depth)
        return memo[key]

    def _followed(command: str, base: str, depth: int) -> list[Step]:
        from guidecheck.parsers.ci.runners import runner_files, runner_references, runner_tasks
        from guidecheck.parsers.ci.scripts import make_recipes_in

        out: list[Step] = []
        for ref in references(command) + runner_references(command):
            paths = runner_files(ref.kind, ref.path) if ref.kind not in ("make", "script") else (ref.path,)
            where = _cd_before(command, ref.text, base)  # `cd pkg/web && npm run biome-check` (quickpizza)
            rel, text = _first_file(paths, where, text_of)  # a task runner's: the first of its names there
            if text is None:
                continue
            shown = repo.prefix + rel
            here = rel.rsplit("/", 1)[0] if "/" in rel else ""
            if ref.kind not in ("make", "script"):
                for task, line, body in runner_tasks(ref.kind, text, ref.targets):
                    out.append(step_of(shown, line, f"{ref.kind} {task}", body))
                    if depth + 1 < FOLLOW_DEPTH:
                        out += followed(body, here, depth + 1)  # tasks run in their file's directory
                continue
            if ref.kind == "make":
                files = [(rel, text), *_included_files(rel, text, where, text_of, repo.walk.inventory)]
                for file, target, line, body in make_recipes_in(files, ref.targets, ref.assigns):
                    out.append(step_of(repo.prefix + file, line, f"make {target}".strip(), body))
                    if depth + 1 < FOLLOW_DEPTH:
                        out += followed(body, here, depth + 1)  # recipes run in the Makefile's directory
            else:
                for rel_i, text_i in [(rel, text), *_sourced_files(rel, text, base, text_of)]:
                    out.append(step_of(repo.prefix + rel_i, 1, None, text_i))
                    if depth + 1 < FOLLOW_DEPTH:
                        out += followed(text_i, base, depth + 1)  # scripts usually run from the working directory
        seen: set[int] = set()
        return [s for s in out if not (id(s) in seen or seen.add(id(s)))]  # type: ignore[func-returns-value]

    _attach_follows(project, repo.prefix, root, followed, text_of)


MAX_SOURCED = 8  # files one script sources that are followed with it


def _included_files(rel: str, text: str, where: str, text_of: Any, listing: list[str]) -> list[tuple[str, str]]:
    """The repository files a makefile includes, and those they include in turn (envoy-gateway's common.mk
    includes tools/make/golang.mk, where its test targets are), at most MAX_INCLUDED. An include's path is
    relative to the directory make runs in: the working directory, else the makefile's own (make -C); a
    pattern (tools/make/*.mk) matches the repository's files, in order."""
    from guidecheck.parsers.ci.scripts import MAX_INCLUDED, make_includes

    out: list[tuple[str, str]] = []
    seen = {rel}
    queue = [(rel, text)]
    here = rel.rsplit("/", 1)[0] if "/" in rel else ""
    while queue and len(out) < MAX_INCLUDED:
        _name, body = queue.pop(0)
        for word in make_includes(body):
            for base in dict.fromkeys((where, here)):
                path = posixpath.normpath(posixpath.join(base, word)) if base else posixpath.normpath(word)
                if path.startswith("../"):
                    continue
                if any(ch in path for ch in "*?["):
                    directory, pattern = posixpath.split(path)
                    matches = [
                        f
                        for f in (under(listing, directory) if directory else listing)
                        if "/" not in f[len(directory) + 1 if directory else 0 :]
                        and fnmatch.fnmatchcase(posixpath.basename(f), pattern)
                    ]
                else:
                    matches = [path]
                if not matches:
                    continue
                found = False
                for m in matches:
                    got = None if m in seen else text_of(m)
                    seen.add(m)
                    if got is not None and len(out) < MAX_INCLUDED:
                        found = True
                        out.append((m, got))
                        queue.append((m, got))
                if found:
                    break
    return out


def _sourced_files(rel: str, text: str, base: str, text_of: Any) -> list[tuple[str, str]]:
    """The repository files a script sources (``source ${root_dir}/scripts/build-image.sh``: podtato-head's
    trivy scan lives in a sourced function), followed with the script at its own level: sourcing includes a
    file, it runs nothing new. Paths are tried relative to the working directory, then to the script's own."""
    from guidecheck.parsers.ci.scripts import sourced

    here = rel.rsplit("/", 1)[0] if "/" in rel else ""
    out: list[tuple[str, str]] = []
    for word in sourced(text)[:MAX_SOURCED]:
        if "{here}/" in word:
            candidates: tuple[tuple[str, str], ...] = ((word.replace("{here}/", ""), here),)
        else:
            candidates = ((word, base), (word, here))
        for path, where in candidates:
            got_rel, got = _first_file((posixpath.normpath(path),), where, text_of)
            if got is not None and got_rel != rel and all(got_rel != r for r, _t in out):
                out.append((got_rel, got))
                break
    return out


_CD = re.compile(r"(?:^|[;&|(]\s*)cd\s+([\w./@+-]+)\s*(?:&&?|;)")


def _cd_before(command: str, ref_text: str, base: str) -> str:
    """The directory a reference runs in: ``base``, or the directory a `cd DIR &&` before it on its line enters."""
    at = command.find(ref_text)
    if at < 0:
        return base
    line = command[command.rfind("\n", 0, at) + 1 : at]
    moves = _CD.findall(line)
    if not moves or moves[-1].startswith(("/", "~", "$")):
        return base
    joined = posixpath.normpath(posixpath.join(base, moves[-1])) if base else posixpath.normpath(moves[-1])
    return base if joined.startswith("..") else joined


_GOLANGCI = re.compile(r"(?:^|/)\.golangci\.ya?ml$")


def _security_linters(ctx: _Ctx, repo: Any, project: Project) -> list[tuple[str, int, str]]:
    """The project's golangci-lint configurations that run gosec, the Go security analyzer (wild-workouts'
    internal/*/.golangci.yml: `enable: [..., gosec]`; `enable-all: true` or v2's `default: all` without
    disabling it)."""
    out: list[tuple[str, int, str]] = []
    root = project.root + "/" if project.root else ""
    for rel in repo.walk.inventory:
        display = repo.prefix + rel
        if not _GOLANGCI.search(rel) or (root and not display.startswith(root)):
            continue
        data = ctx.data(display)
        linters = data.get("linters") if isinstance(data, dict) else None
        if not isinstance(linters, dict):
            continue
        enable = k8s.as_list(linters.get("enable"))
        disable = k8s.as_list(linters.get("disable"))
        if "gosec" in enable:
            out.append((display, item_line(enable, enable.index("gosec"), key_line(linters, "enable")), "gosec"))
        elif (linters.get("enable-all") is True or linters.get("default") == "all") and "gosec" not in disable:
            key = "enable-all" if "enable-all" in linters else "default"
            out.append((display, key_line(linters, key), "gosec"))
    return out


def _attach_follows(project: Project, prefix: str, root: str, followed: Any, text_of: Any) -> None:
    """Each step's followed commands: what it runs through make, scripts and task runners, and the RUN lines of
    the Dockerfiles it builds."""
    for job in project.jobs:
        for step in job.steps:
            if step.run and _MAY_FOLLOW.search(step.run):
                step.follows = list(followed(step.run, root, 0))  # its own list: docker builds are added below
            if step.run and job.matrix and "matrix." in step.run:
                # oathkeeper's `./test/${{ matrix.name }}/run.sh`: each value's script runs
                seen = {id(f) for f in step.follows}
                for variant in matrix_variants(step.run, job.matrix):
                    if _MAY_FOLLOW.search(variant):
                        new = [f for f in followed(variant, root, 0) if id(f) not in seen]
                        seen.update(id(f) for f in new)
                        step.follows += new
            for rel in _built_dockerfiles(step):
                path, text = _first_file((rel,), root, text_of)
                if text is not None:
                    step.follows.append(Step(prefix + path, 1, name=f"docker build {path}", run=_run_lines(text)))


_MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([A-Za-z_][\w-]*)\s*\}\}")
MAX_MATRIX_VARIANTS = 16  # command texts one step's matrix expands to


def matrix_variants(text: str, matrix: dict[str, list[str]]) -> list[str]:
    """``text`` with its ``${{ matrix.KEY }}`` expressions replaced, one text per combination of the values of the
    keys it names (at most :data:`MAX_MATRIX_VARIANTS`; keys the matrix does not list stay as written)."""
    keys = [k for k in dict.fromkeys(m.group(1) for m in _MATRIX_REF.finditer(text)) if matrix.get(k)]
    if not keys:
        return []
    combos: list[dict[str, str]] = [{}]
    for k in keys:
        combos = [{**c, k: v} for c in combos for v in matrix[k]][:MAX_MATRIX_VARIANTS]

    def filled(combo: dict[str, str]) -> str:
        return _MATRIX_REF.sub(lambda m: combo.get(m.group(1), m.group(0)), text)

    return [filled(c) for c in combos]


# `docker build` / `docker buildx build` with its -f/--file and context
_DOCKER_BUILD = re.compile(r"\bdocker\s+(?:buildx\s+)?build\b([^\n;&|]*)")
_RUN_START = re.compile(r"^\s*RUN\s+(?:--\S+\s+)*", re.IGNORECASE)


def _built_dockerfiles(step: Step) -> list[str]:
    """The Dockerfiles (relative to the working directory) an image build step builds: docker/build-push-action's
    file (or its context's Dockerfile), `docker build -f F` or `docker build <context>`. Their RUN lines run in
    the pipeline: openfaas builds its gateway with `RUN go test` and a gofmt check inside the Dockerfile."""
    out: list[str] = []
    if step.action() == "docker/build-push-action":
        file, context = step.with_.get("file"), step.with_.get("context") or "."
        if "${{" not in str(file or "") + str(context):
            out.append(posixpath.normpath(str(file) if file else posixpath.join(str(context), "Dockerfile")))
    for m in _DOCKER_BUILD.finditer(step.run or ""):
        words = m.group(1).split()
        file = next((words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-f", "--file")), None)
        file = file or next((w.split("=", 1)[1] for w in words if w.startswith("--file=")), None)
        args = [
            w for i, w in enumerate(words) if not w.startswith("-") and (i == 0 or words[i - 1] not in _VALUE_FLAGS)
        ]
        context = args[-1] if args else "."
        if file is None:
            file = posixpath.join(context, "Dockerfile")
        if "$" not in file and "${{" not in file:
            out.append(posixpath.normpath(file.strip("'\"")))
    return out


# docker build flags that take a value (so the word after them is no context)
_VALUE_FLAGS = frozenset(
    {
        "-f",
        "--file",
        "-t",
        "--tag",
        "--build-arg",
        "--target",
        "--platform",
        "--label",
        "--cache-from",
        "--cache-to",
        "--secret",
        "--ssh",
        "--output",
        "-o",
        "--network",
        "--progress",
        "--iidfile",
        "--metadata-file",
        "--builder",
    }
)


def _run_lines(text: str) -> str:
    """A Dockerfile's RUN commands, every other line blank (the lines stay the file's): what its build runs."""
    out: list[str] = []
    cont = False
    for line in text.split("\n"):
        m = None if cont else _RUN_START.match(line)
        if m is not None or cont:
            body = line[m.end() :] if m is not None else line
            out.append(body)
            cont = line.rstrip().endswith("\\")
        else:
            out.append("")
    return "\n".join(out)


def _first_file(paths: tuple[str, ...], base: str, text_of: Any) -> tuple[str, str | None]:
    """The relpath and text of the first of ``paths`` (relative to ``base``) that is a file of the project."""
    rel = ""
    for path in paths:
        rel = os.path.normpath(os.path.join(base, path)).replace(os.sep, "/") if base else path
        text = None if rel.startswith("../") else text_of(rel)
        if text is not None:
            return rel, text
    return rel, None


def _azure_pipeline(rel: str, data: Any) -> bool:
    """An Azure pipeline rather than a template: named azure-pipelines*.yml, or in .azure-pipelines/ with
    triggers or stages of its own (templates there hold parameters and steps/jobs only)."""
    if not isinstance(data, dict):
        return data is None and rel.rsplit("/", 1)[-1].startswith("azure-pipelines")
    if rel.rsplit("/", 1)[-1].startswith("azure-pipelines"):
        return True
    return any(k in data for k in ("trigger", "pr", "schedules", "stages", "pool", "resources"))


_TEKTON_CI_DIR = re.compile(r"(?:^|/)(?:\.?tekton|\.?ci|\.?pipelines)(?:/|$)")
_NOT_CI_DIR = re.compile(
    r"(?:^|/)(?:samples?|examples?|docs?|documentation|tests?|testdata|test-data|e2e|fixtures"
    # test suites' directories: Chainsaw's and Kyverno's (kyverno/policies' .chainsaw-test/bad-pipelinerun.yaml
    # is a policy's test input), e2e-tests/, integration-test/
    r"|[\w.-]*[-_.](?:tests?|e2e)|(?:tests?|e2e)[-_.][\w.-]*)(?:/|$)",
    re.I,
)


def _pipeline_objects(loaded: Any, repo: Any) -> list[tuple[str, str]]:
    """(system, file relative to the repository) of the Kubernetes-style objects that run the repository's CI
    (Tekton triggers, and Pipelines-as-Code PipelineRuns, outside sample, example, doc and test directories; Argo
    Workflows under a ci/ or pipeline directory)."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for t in loaded.targets:
        if t.kind != "k8s" or not t.path.startswith(repo.prefix) or t.path in seen:
            continue
        if (t.origin or {}).get("source") != "manifest":
            continue
        data = t.data if isinstance(t.data, dict) else {}
        api = str(data.get("apiVersion") or "").split("/", 1)[0]
        kind = data.get("kind")
        rel = t.path[len(repo.prefix) :]
        system = None
        if api in _PIPELINE_OBJECTS and kind in _PIPELINE_OBJECTS[api][1]:
            # what runs on the repository's events: triggers, PipelineRuns of Pipelines-as-Code (its on-event
            # annotations) and PipelineRuns kept in a CI directory (tekton/, .tekton/, ci/). Elsewhere a PipelineRun
            # shows how to run a task (tektoncd/catalog's 300 samples), and none in samples/ or docs/ builds this
            # repository
            d = rel.rsplit("/", 1)[0] if "/" in rel else ""
            if not _NOT_CI_DIR.search(d):
                pac = any(str(k).startswith("pipelinesascode.tekton.dev/") for k in k8s.annotations(data))
                if kind != "PipelineRun" or pac or _TEKTON_CI_DIR.search(d):
                    system = _PIPELINE_OBJECTS[api][0]
        elif api == "argoproj.io" and kind in ("Workflow", "CronWorkflow", "WorkflowTemplate"):
            if re.search(
                r"(^|/)(\.?ci|\.?pipelines?|\.argo|\.github)(/|$)", rel.rsplit("/", 1)[0] if "/" in rel else ""
            ):
                system = "Argo Workflows"
        if system:
            seen.add(t.path)
            out.append((system, rel))
    return out


# Jenkins Job Builder definitions (elastic/helm-charts' .ci/jobs/*.yml): a YAML list of {job: ...},
# {job-template: ...}, {project: ...} entries, kept in a directory of jobs by convention
_JJB_DIR = re.compile(r"(?:^|/)(?:\.?ci|\.?jenkins|jjb|jobs)(?:/|$)")
_JJB_KEYS = {"job", "job-template", "project", "job-group", "defaults", "view", "view-template"}
_JJB_DEFINES = {"job", "job-template", "project"}


def _job_builder_files(ctx: _Ctx, repo: Any) -> list[tuple[str, str]]:
    """(system, file relative to the repository) of the Jenkins Job Builder files of ``repo``: a CI system
    guidecheck does not read, so its pipeline is reported as not judged instead of missing."""
    out: list[tuple[str, str]] = []
    for rel in repo.walk.inventory:
        if not rel.endswith((".yml", ".yaml")) or "/" not in rel or not _JJB_DIR.search(rel.rsplit("/", 1)[0]):
            continue
        data = ctx.data(repo.prefix + rel)
        if (
            isinstance(data, list)
            and data
            and all(isinstance(x, dict) and len(x) == 1 and next(iter(x)) in _JJB_KEYS for x in data)
            and any(next(iter(x)) in _JJB_DEFINES for x in data)
        ):
            out.append(("Jenkins Job Builder", rel))
    return out


# Codefresh pipelines (version: '1.0', steps: of typed or image-and-commands steps) live at any path the
# pipeline's settings name (argocd-autopilot's build/ci.yml); codefresh*.yml is found by name (UNREAD_SYSTEMS)
_CODEFRESH_DIR = re.compile(r"(?:^|/)(?:\.?ci|\.?codefresh|build|\.?pipelines?)$")
_CODEFRESH_STEP_TYPES = frozenset(
    {"build", "push", "freestyle", "git-clone", "composition", "launch-composition", "deploy", "helm"}
)


def _codefresh_files(ctx: _Ctx, repo: Any) -> list[tuple[str, str]]:
    """(system, file relative to the repository) of the Codefresh pipelines of ``repo`` found by content."""
    out: list[tuple[str, str]] = []
    for rel in repo.walk.inventory:
        if not rel.endswith((".yml", ".yaml")) or rel.rsplit("/", 1)[-1].startswith("codefresh"):
            continue
        data = ctx.data(repo.prefix + rel)
        if not isinstance(data, dict) or str(data.get("version")) != "1.0" or not isinstance(data.get("steps"), dict):
            continue
        steps = [v for v in data["steps"].values() if isinstance(v, dict)]
        if any(
            v.get("type") in _CODEFRESH_STEP_TYPES or ("image" in v and "commands" in v) or "steps" in v for v in steps
        ):
            out.append(("Codefresh", rel))
    return out


# ---------------------------------------------------------------- Jenkinsfiles and release tooling: read here


def _jenkins(ctx: _Ctx, project: Project, abspath: str, display: str, root: str) -> None:
    from guidecheck.loaders.fs import ReadError, read_text

    try:
        text = read_text(abspath, min(ctx.config.max_file_bytes, MAX_JENKINS_BYTES), root=root)
    except ReadError as exc:
        src = SourceFile(display, "jenkinsfile", [exc.error])
        ctx.sources[display] = src
        ctx.loaded.targets.append(file_target(src))
        return
    add_jenkinsfile(project, text, display)


def release_configs(ctx: _Ctx, repo: Any) -> list[ReleaseConfig]:
    """Release tooling declared inside files: package.json ``release``, pyproject tool tables, GoReleaser,
    chart-releaser's generate-release-notes."""
    out: list[ReleaseConfig] = []
    for rel in repo.walk.inventory:
        base = rel.rsplit("/", 1)[-1]
        display = repo.prefix + rel
        if base == "package.json":
            out += from_package_json(display, ctx.data(display))
        elif base == "pyproject.toml":
            from guidecheck.loaders.fs import ReadError, read_text

            try:
                text = read_text(os.path.join(repo.walk.root, *rel.split("/")), 1024 * 1024, root=repo.walk.root)
            except ReadError:
                continue
            out += from_pyproject(display, text)
        elif _GORELEASER.search(rel):
            out += from_goreleaser(display, ctx.data(display))
        elif base.endswith((".yaml", ".yml")) and display in ctx.docs:
            out += from_chart_releaser(display, ctx.data(display))
    return out
