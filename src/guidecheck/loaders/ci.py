"""CI/CD pipeline loader: GitHub Actions, GitLab CI and Jenkinsfiles into :mod:`guidecheck.parsers.ci`.

For every scanned directory it finds the *projects*: a directory holding
``.github/workflows/*.yml|yaml``, a ``.gitlab-ci.yml`` or a ``Jenkinsfile``
(a Jenkinsfile below a GitHub/GitLab project belongs to that project).  Each
project becomes one ``ci`` target at its main pipeline file; the rules judge a
project's pipelines as a whole (see docs/pipelines.md).

YAML pipeline files are never read again: their parsed documents come from
``loaded.others``.  Jenkinsfiles are read with :func:`fs.read_text` and
scanned (not parsed: Groovy is a programming language; see
:func:`scan_jenkinsfile` for what is recognised).  Only files inside the
project are followed (local reusable workflows, composite actions, GitLab local
includes); remote ones are recorded by name and never fetched.

A pipeline file that is ill-typed (``jobs:`` not a mapping, a step that is not
a mapping, an ``extends:`` naming no job, a local include that does not exist)
gets a GC001 error at its line, appended to the file's :class:`SourceFile`.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import re
from typing import Any

from guidecheck.model import LoadError, ObjectRef, SourceFile, Target
from guidecheck.parsers.ci import Include, Job, PipelineFile, Project, ReleaseConfig, Step, Trigger

_WORKFLOW = re.compile(r"^(?:(.*)/)?\.github/workflows/[^/]+\.ya?ml$")
_GITLAB = re.compile(r"^(?:(.*)/)?\.gitlab-ci\.ya?ml$")
_JENKINS = re.compile(r"^(?:(.*)/)?(?:Jenkinsfile(?:\.[^/]*)?|[^/]+\.[Jj]enkinsfile)$")
_GORELEASER = re.compile(r"(?:^|/)\.?goreleaser[^/]*\.ya?ml$")
_INPUT_EXPR = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")
MAX_DEPTH = 8  # nested reusable workflows, composite actions, includes, extends
MAX_JENKINS_BYTES = 2 * 1024 * 1024

# GitLab top-level keywords that are not jobs
GITLAB_GLOBALS = frozenset({
    "image", "services", "stages", "types", "before_script", "after_script", "variables", "cache",
    "include", "default", "workflow", "spec",
})
GITLAB_DEFAULT_STAGES = [".pre", "build", "test", "deploy", ".post"]


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

    def all_data(self, path: str) -> list:
        return [d.data for d in self.docs.get(path, ()) if d.data is not None]

    def error(self, path: str, message: str, line: int | None, column: int = 1) -> None:
        src = self.sources.get(path)
        if src is None:
            src = SourceFile(path, "yaml", read=True)
            self.sources[path] = src
            self.loaded.targets.append(Target(kind="file", path=path, line=1, ref=ObjectRef("File", None, path),
                                              data=src, source=src))
        err = LoadError(message, line or 1, column)
        if err not in src.errors:
            src.errors.append(err)


def extend(loaded: Any, config: Any, options: dict) -> None:
    ctx = _Ctx(loaded, config)
    for repo in loaded.repos:
        releases = release_configs(ctx, repo)
        for rc in releases:  # for GC703 on repositories without a pipeline
            loaded.targets.append(Target(kind="release-config", path=rc.path, line=rc.line,
                                         ref=ObjectRef("ReleaseConfig", None, rc.tool), data=rc,
                                         origin={"repo": repo.prefix}))
        for root, found in sorted(_find_roots(repo.walk.inventory).items()):
            project = build_project(ctx, repo, root, found, releases)
            if project is None:
                continue
            loaded.targets.append(Target(kind="ci", path=project.main, line=1,
                                         ref=ObjectRef("Pipeline", None, project.name), data=project,
                                         origin={"repo": repo.prefix}))
    # files named one by one (pre-commit): validated, but a project is judged only in a directory scan
    for _abspath, display, _kind in loaded.files:
        if _WORKFLOW.match(display):
            data = ctx.data(display)
            if data is not None:
                _parse_workflow(ctx, display, data)


def _find_roots(inventory: list[str]) -> dict[str, dict[str, list[str]]]:
    roots: dict[str, dict[str, list[str]]] = {}
    jenkins = []
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
            jenkins.append((m.group(1) or "", rel))
    for d, rel in jenkins:
        owner = None
        for r in roots:  # the nearest GitHub/GitLab project above it
            if (r == "" or d == r or d.startswith(r + "/")) and (owner is None or len(r) > len(owner)):
                owner = r
        roots.setdefault(owner if owner is not None else d, {}).setdefault("jenkins", []).append(rel)
    return roots


def _under(inventory: list[str], root: str) -> list[str]:
    if not root:
        return list(inventory)
    cut = len(root) + 1
    return [p[cut:] for p in inventory if p.startswith(root + "/")]


def build_project(ctx: _Ctx, repo: Any, root: str, found: dict[str, list[str]],
                  releases: list[ReleaseConfig]) -> Project | None:
    prefix = repo.prefix
    root_display = (prefix + root).rstrip("/") if (prefix or root) else ""
    if root:
        name = root.rsplit("/", 1)[-1]
    else:
        name = os.path.basename(repo.walk.root.rstrip(os.sep)) or "."
    project = Project(root=root_display, name=name, main="", inventory=_under(repo.walk.inventory, root))
    if "gitlab" in found:
        rel = sorted(found["gitlab"])[0]
        _gitlab(ctx, project, project.display(rel[len(root) + 1:] if root else rel))
    if "github" in found:
        _github(ctx, project, [prefix + r for r in sorted(found["github"])])
    for rel in sorted(found.get("jenkins", ())):
        _jenkins(ctx, project, os.path.join(repo.walk.root, *rel.split("/")), prefix + rel, repo.walk.root)
    project.release_configs = [rc for rc in releases
                               if not project.root or rc.path.startswith(project.root + "/")]
    if not project.files:
        return None
    project.main = _main_file(project)
    project.jobs.sort(key=lambda j: (j.path, j.line, j.id))
    return project


def _main_file(project: Project) -> str:
    """GitLab's .gitlab-ci.yml; else the GitHub workflow that looks like the CI; else the first file."""
    for f in project.files:
        if f.system == "gitlab":
            return f.path
    gh = [f for f in project.files if f.system == "github" and not f.reusable]
    jenkins = [f for f in project.files if f.system == "jenkins"]

    def score(f: PipelineFile):
        base = f.path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
        named = base in ("ci", "main", "build", "test", "tests", "pipeline", "build-and-test",
                         "continuous-integration", "pr", "pull-request", "push", "jenkinsfile")
        pushy = any(t.event in ("push", "pull_request") for t in f.triggers)
        return (not named, f.system != "jenkins", not pushy, -len(f.jobs), f.path)

    if gh or jenkins:
        return sorted(gh + jenkins, key=score)[0].path
    return project.files[0].path


# ---------------------------------------------------------------- helpers

def _s(v: Any) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, int, float)):
        return str(v)
    return None


def _type_name(v: Any) -> str:
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


def _kline(node: Any, key: Any, default: int = 1) -> int:
    return node.key_line(key) if hasattr(node, "key_line") and key in node else getattr(node, "line", default)


def _vline(node: Any, key: Any, default: int = 1) -> int:
    return node.value_line(key) if hasattr(node, "value_line") and key in node else getattr(node, "line", default)


def _iline(seq: Any, i: int, default: int = 1) -> int:
    return seq.item_line(i) if hasattr(seq, "item_line") else getattr(seq, "line", default)


def _run_line(node: Any, key: str, text: str) -> int:
    """Line of the first command of ``key: <text>`` (a block scalar starts on the next line)."""
    line = _vline(node, key)
    if text.endswith("\n") and line == _kline(node, key):
        line += 1
    return line


def _norm_local(project: Project, ref: str, base: str = "") -> str | None:
    """Display path of a repository-relative reference, or None if it leaves the project."""
    rel = ref.strip()
    if rel.startswith("./"):
        rel = rel[2:]
    rel = rel.lstrip("/")
    rel = posixpath.normpath(posixpath.join(base, rel)) if base else posixpath.normpath(rel)
    if rel.startswith("../") or rel == ".." or rel.startswith("/"):
        return None
    return project.display(rel) if rel != "." else (project.root or ".")


_INPUT_COND = re.compile(r"^\s*(?:\$\{\{)?\s*inputs\.([A-Za-z0-9_-]+)\s*(==|!=)\s*'([^']*)'\s*(?:\}\})?\s*$")


def _inputs_false(cond: str | None, inputs: dict[str, str]) -> bool:
    """True when a step's ``if:`` compares a known caller input to a literal and is false."""
    if not cond or not inputs:
        return False
    m = _INPUT_COND.match(cond)
    if not m or m.group(1) not in inputs:
        return False
    equal = inputs[m.group(1)] == m.group(3)
    return not equal if m.group(2) == "==" else equal


def _subst_inputs(text: str, inputs: dict[str, str]) -> str:
    if not inputs or "inputs." not in text:
        return text
    return _INPUT_EXPR.sub(lambda m: inputs.get(m.group(1), m.group(0)), text)


# ---------------------------------------------------------------- GitHub Actions

class _Workflow:
    def __init__(self, path: str, data: Any):
        self.path = path
        self.data = data
        self.triggers: list[Trigger] = []
        self.jobs: dict[str, Any] = {}
        self.reusable = False
        self.called = False


def _parse_workflow(ctx: _Ctx, path: str, data: Any) -> _Workflow | None:
    if not isinstance(data, dict):
        ctx.error(path, f"a workflow is a mapping with on: and jobs:, not {_type_name(data)}",
                  getattr(data, "line", 1))
        return None
    wf = _Workflow(path, data)
    on_key = True if True in data else ("on" if "on" in data else None)  # YAML 1.1 reads `on` as true
    if on_key is None:
        ctx.error(path, "workflow has no 'on:' (its triggers)", getattr(data, "line", 1))
    else:
        wf.triggers = _github_triggers(ctx, path, data, on_key)
    events = {t.event for t in wf.triggers}
    wf.reusable = bool(events) and events <= {"workflow_call"}
    jobs = data.get("jobs")
    if not isinstance(jobs, dict):
        ctx.error(path, "workflow 'jobs:' must be a mapping of job ids to jobs"
                  if "jobs" in data else "workflow has no 'jobs:'", _kline(data, "jobs"))
        return wf
    for jid, job in jobs.items():
        if not isinstance(job, dict):
            ctx.error(path, f"job '{jid}' must be a mapping", _kline(jobs, jid))
            continue
        if not isinstance(jid, str):
            ctx.error(path, f"job id {jid!r} must be a string", _kline(jobs, jid))
            continue
        steps = job.get("steps")
        if steps is not None and not isinstance(steps, list):
            ctx.error(path, f"job '{jid}': 'steps:' must be a list", _kline(job, "steps"))
        elif isinstance(steps, list):
            for i, st in enumerate(steps):
                if not isinstance(st, dict):
                    ctx.error(path, f"job '{jid}': step {i + 1} must be a mapping", _iline(steps, i))
                    continue
                for key in ("uses", "run", "name"):
                    if key in st and _s(st[key]) is None:
                        ctx.error(path, f"job '{jid}': step {i + 1} '{key}:' must be a string", _kline(st, key))
        if "uses" not in job and steps is None:
            ctx.error(path, f"job '{jid}' has neither 'steps:' nor 'uses:'", _kline(jobs, jid))
        if "uses" in job and not isinstance(job["uses"], str):
            ctx.error(path, f"job '{jid}': 'uses:' must be a string", _kline(job, "uses"))
        needs = job.get("needs")
        if needs is not None and not isinstance(needs, (str, list)):
            ctx.error(path, f"job '{jid}': 'needs:' must be a job id or a list of them", _kline(job, "needs"))
        env = job.get("environment")
        if env is not None and not isinstance(env, (str, dict)):
            ctx.error(path, f"job '{jid}': 'environment:' must be a name or a mapping with name:",
                      _kline(job, "environment"))
        wf.jobs[jid] = job
    return wf


def _github_triggers(ctx: _Ctx, path: str, data: Any, key: Any) -> list[Trigger]:
    on = data[key]
    line = _kline(data, key)
    out: list[Trigger] = []
    if isinstance(on, str):
        out.append(Trigger(on, path, _vline(data, key)))
    elif isinstance(on, list):
        for i, ev in enumerate(on):
            if isinstance(ev, str):
                out.append(Trigger(ev, path, _iline(on, i)))
            else:
                ctx.error(path, "'on:' list items must be event names", _iline(on, i))
    elif isinstance(on, dict):
        for ev, cfg in on.items():
            if not isinstance(ev, str):
                ctx.error(path, f"'on:' event {ev!r} must be a name", _kline(on, ev))
                continue
            ln = _kline(on, ev)
            if ev == "push" and isinstance(cfg, dict):
                has_tags = "tags" in cfg or "tags-ignore" in cfg
                has_branches = "branches" in cfg or "branches-ignore" in cfg
                if has_tags:
                    out.append(Trigger("tag", path, ln, _filter_text(cfg, ("tags", "tags-ignore"))))
                if has_branches or not has_tags:
                    out.append(Trigger("push", path, ln, _filter_text(cfg, ("branches", "branches-ignore"))))
            elif ev in ("pull_request", "pull_request_target") and isinstance(cfg, dict):
                out.append(Trigger(ev, path, ln, _filter_text(cfg, ("branches", "branches-ignore"))))
            elif cfg is not None and not isinstance(cfg, (dict, list)):
                ctx.error(path, f"'on.{ev}' must be a mapping (or empty)", ln)
            else:
                out.append(Trigger(ev, path, ln))
    else:
        ctx.error(path, "'on:' must be an event name, a list or a mapping of events", line)
    return out


_EVENT_EQ = re.compile(r"github\.event_name\s*(==|!=)\s*'([A-Za-z_]+)'")


def _event_filter(cond: str, triggers: list[Trigger]) -> list[Trigger]:
    """Narrow a job's triggers by a simple ``if:`` on ``github.event_name``.

    Understood: comparisons joined only by ``||`` (all ``==``: the job runs on those events) or only
    by ``&&`` (all ``!=``: not on those). Anything else leaves the triggers as they are.
    """
    found = _EVENT_EQ.findall(cond)
    if not found:
        return triggers
    rest = _EVENT_EQ.sub("", cond).replace("${{", "").replace("}}", "")
    ops = {op for op, _ in found}
    if ops == {"=="} and not re.sub(r"[\s()|]", "", rest):
        keep = {ev for _, ev in found}
        return [t for t in triggers if t.event in keep or (t.event == "tag" and "push" in keep)]
    if ops == {"!="} and not re.sub(r"[\s()&]", "", rest):
        drop = {ev for _, ev in found}
        return [t for t in triggers if t.event not in drop and not (t.event == "tag" and "push" in drop)]
    return triggers


def _filter_text(cfg: dict, keys: tuple[str, ...]) -> str:
    parts = []
    for k in keys:
        v = cfg.get(k)
        if isinstance(v, list):
            parts.append(f"{k}: " + ", ".join(str(x) for x in v))
        elif isinstance(v, str):
            parts.append(f"{k}: {v}")
    return "; ".join(parts)


def _github(ctx: _Ctx, project: Project, paths: list[str]) -> None:
    workflows: dict[str, _Workflow] = {}
    for path in paths:
        data = ctx.data(path)
        if data is None:
            if path in ctx.sources and ctx.sources[path].read and not ctx.sources[path].errors:
                ctx.error(path, "empty workflow file (GitHub rejects it: no triggers and no jobs)", 1)
            continue
        wf = _parse_workflow(ctx, path, data)
        if wf is not None:
            workflows[path] = wf
    # reusable workflows called from inside the project run with their callers' triggers
    for path, wf in sorted(workflows.items()):
        pf = PipelineFile("github", path, list(wf.triggers), reusable=wf.reusable)
        project.files.append(pf)
    for path, wf in sorted(workflows.items()):
        if wf.reusable or not wf.triggers:
            continue  # run through callers; or never (no trigger)
        pf = next(f for f in project.files if f.path == path)
        for jid, job in wf.jobs.items():
            _github_job(ctx, project, workflows, wf, jid, job, path, wf.triggers, {}, "", [], pf)
    for path, wf in sorted(workflows.items()):
        if wf.reusable and not wf.called:  # never called from the project: judged on its own
            pf = next(f for f in project.files if f.path == path)
            for jid, job in wf.jobs.items():
                _github_job(ctx, project, workflows, wf, jid, job, path, wf.triggers, {}, "", [], pf)


def _github_job(ctx: _Ctx, project: Project, workflows: dict[str, _Workflow], wf: _Workflow, jid: str,
                job: Any, file: str, triggers: list[Trigger], inputs: dict[str, str], prefix: str,
                stack: list[str], pf: PipelineFile, caller_needs: list[str] | None = None,
                caller_label: str | None = None) -> None:
    name = _s(job.get("name"))
    label = name or jid
    if caller_label:
        label = f"{caller_label} / {label}"
    wid = prefix or wf.path.rsplit("/", 1)[-1] + ":"
    j = Job("github", wid + jid, wf.path, _kline(wf.data.get("jobs"), jid), name=label, file=file,
            triggers=list(triggers))
    needs = job.get("needs")
    needs_list = [needs] if isinstance(needs, str) else [n for n in needs if isinstance(n, str)] \
        if isinstance(needs, list) else []
    j.needs = [wid + n for n in needs_list] + list(caller_needs or [])
    env = job.get("environment")
    if isinstance(env, str):
        j.environment, j.environment_line = _subst_inputs(env, inputs), _kline(job, "environment")
    elif isinstance(env, dict) and isinstance(env.get("name"), str):
        j.environment, j.environment_line = _subst_inputs(env["name"], inputs), _kline(env, "name")
    cond = _s(job.get("if"))
    if cond:
        j.conditions.append(f"if: {_subst_inputs(cond, inputs)}")
        j.triggers = _event_filter(cond, j.triggers)
    cont = job.get("container")
    if isinstance(cont, str):
        j.images.append(cont)
    elif isinstance(cont, dict) and isinstance(cont.get("image"), str):
        j.images.append(cont["image"])
    services = job.get("services")
    if isinstance(services, dict):
        for sv in services.values():
            img = sv.get("image") if isinstance(sv, dict) else None
            if isinstance(img, str):
                j.images.append(img)
    uses = job.get("uses")
    if isinstance(uses, str):
        j.uses = uses
        project.jobs.append(j)
        pf.jobs.append(j.id)
        if uses.startswith("./"):
            target = _norm_local(project, uses.split("@", 1)[0])
            callee = workflows.get(target) if target else None
            if callee is None:
                project.notes.append(f"reusable workflow {uses} ({wf.path}:{_kline(job, 'uses')}) "
                                     "is not in the scanned tree")
                return
            if target in stack or len(stack) >= MAX_DEPTH:
                project.notes.append(f"reusable workflow {uses} ({wf.path}:{_kline(job, 'uses')}) "
                                     "calls itself (cycle) or nests too deep; not followed")
                return
            callee.called = True
            with_ = job.get("with")
            call_inputs = _input_defaults(callee.data)
            if isinstance(with_, dict):
                for k, v in with_.items():
                    sv = _s(v)
                    if isinstance(k, str) and sv is not None:
                        call_inputs[k] = _subst_inputs(sv, inputs)
            for cjid, cjob in callee.jobs.items():
                _github_job(ctx, project, workflows, callee, cjid, cjob, file, triggers, call_inputs,
                            j.id + "/", stack + [target], pf, caller_needs=list(j.needs), caller_label=label)
        else:
            project.notes.append(f"remote reusable workflow {uses} ({wf.path}:{_kline(job, 'uses')}) "
                                 "is recorded, not fetched")
        return
    steps = job.get("steps")
    if isinstance(steps, list):
        j.steps = _github_steps(ctx, project, wf.path, steps, inputs, None, [])
    project.jobs.append(j)
    pf.jobs.append(j.id)


def _input_defaults(data: Any) -> dict[str, str]:
    """``on.workflow_call.inputs.<name>.default`` of a reusable workflow, as text."""
    on = data.get(True, data.get("on")) if isinstance(data, dict) else None
    call = on.get("workflow_call") if isinstance(on, dict) else None
    inputs = call.get("inputs") if isinstance(call, dict) else None
    out: dict[str, str] = {}
    if isinstance(inputs, dict):
        for name, spec in inputs.items():
            if isinstance(name, str) and isinstance(spec, dict) and "default" in spec:
                v = _s(spec["default"])
                if v is not None:
                    out[name] = v
    return out


def _github_steps(ctx: _Ctx, project: Project, path: str, steps: list, inputs: dict[str, str],
                  via: str | None, stack: list[str]) -> list[Step]:
    out: list[Step] = []
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            continue
        if _inputs_false(_s(st.get("if")), inputs):
            continue  # `if: inputs.x == 'y'` is false for this caller's inputs
        step = Step(path, _iline(steps, i), name=_s(st.get("name")), via=via)
        uses = st.get("uses")
        with_ = st.get("with")
        if isinstance(with_, dict):
            for k, v in with_.items():
                sv = _s(v)
                if isinstance(k, str) and sv is not None:
                    step.with_[k] = _subst_inputs(sv, inputs)
        if isinstance(uses, str):
            step.uses = uses.strip()
            step.line = _kline(st, "uses")
        run = st.get("run")
        if isinstance(run, str):
            step.run = _subst_inputs(run, inputs)
            step.line = _run_line(st, "run", run)
        out.append(step)
        if step.uses and step.uses.startswith("./"):
            out.extend(_composite(ctx, project, step, stack))
    return out


def _composite(ctx: _Ctx, project: Project, step: Step, stack: list[str]) -> list[Step]:
    base = _norm_local(project, step.uses.split("@", 1)[0])
    if base is None:
        step.unresolved = "points outside the project; not followed"
        return []
    for name in ("action.yml", "action.yaml"):
        path = f"{base}/{name}" if base != "." else name
        if path in ctx.docs:
            break
    else:
        step.unresolved = "not in the scanned tree"
        project.notes.append(f"local action {step.uses} ({step.where()}) is not in the scanned tree")
        return []
    data = ctx.data(path)
    if not isinstance(data, dict):
        if data is not None:
            ctx.error(path, "an action metadata file is a mapping (name:, runs:)", getattr(data, "line", 1))
        return []
    runs = data.get("runs")
    if not isinstance(runs, dict):
        ctx.error(path, "action has no 'runs:' mapping", _kline(data, "runs"))
        return []
    using = _s(runs.get("using")) or ""
    if using == "docker":
        img = _s(runs.get("image"))
        return [Step(path, _kline(runs, "image"), name=f"docker action {img}", uses=f"docker://{img}", via=path)] \
            if img else []
    if using != "composite":
        return []  # a JavaScript action: its code is not a pipeline
    if path in stack or len(stack) >= MAX_DEPTH:
        step.unresolved = "composite action nests itself or too deep; not followed"
        return []
    steps = runs.get("steps")
    if not isinstance(steps, list):
        ctx.error(path, "composite action 'runs.steps' must be a list", _kline(runs, "steps"))
        return []
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            ctx.error(path, f"composite action step {i + 1} must be a mapping", _iline(steps, i))
    return _github_steps(ctx, project, path, steps, dict(step.with_), path, stack + [path])


# ---------------------------------------------------------------- GitLab CI

class _Entry:
    """A GitLab top-level entry (job or template) merged across files: key -> (value, path, line)."""

    def __init__(self, name: str, path: str, line: int):
        self.name = name
        self.path = path
        self.line = line
        self.keys: dict[str, tuple[Any, str, int]] = {}


def _deep_merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _deep_merge(out[k], v) if k in out else v
        return out
    return b


def _merge_entry(into: _Entry, other: _Entry) -> None:
    for k, (v, p, ln) in other.keys.items():
        if k in into.keys and isinstance(into.keys[k][0], dict) and isinstance(v, dict):
            into.keys[k] = (_deep_merge(into.keys[k][0], v), p, ln)
        else:
            into.keys[k] = (v, p, ln)


def _gitlab(ctx: _Ctx, project: Project, main: str, parent: Job | None = None, depth: int = 0) -> None:
    """One GitLab pipeline (the main one, or a child pipeline started by ``parent``'s ``trigger:``)."""
    pf = PipelineFile("gitlab", main)
    project.files.append(pf)
    entries: dict[str, _Entry] = {}
    globals_: dict[str, tuple[Any, str, int]] = {}
    seen: list[str] = []
    _gitlab_file(ctx, project, pf, main, entries, globals_, seen, 0, main)
    if not seen:
        return
    stages_v = globals_.get("stages")
    stages = GITLAB_DEFAULT_STAGES
    if stages_v is not None:
        if isinstance(stages_v[0], list) and all(isinstance(s, str) for s in stages_v[0]):
            stages = [".pre", *stages_v[0], ".post"]
        else:
            ctx.error(stages_v[1], "'stages:' must be a list of stage names", stages_v[2])
    if parent is None:
        project.stages = list(stages)
    default = globals_.get("default")
    default_map = default[0] if default and isinstance(default[0], dict) else {}
    remote_includes = any(i.kind != "local" for i in pf.includes)
    resolved: dict[str, dict[str, tuple[Any, str, int]] | None] = {}
    made: list[tuple[Job, dict]] = []
    for name in sorted(entries, key=lambda n: (entries[n].path, entries[n].line)):
        if name.startswith("."):
            continue
        e = entries[name]
        keys = _gitlab_resolve(ctx, entries, name, resolved, [], remote_includes)
        if keys is None:
            continue
        job = _gitlab_job(ctx, project, e, keys, default_map, globals_, stages, entries, resolved,
                          remote_includes)
        if job is not None:
            made.append((job, keys))
    ids = {j.id for j, _ in made}
    prefix = parent.id + "/" if parent is not None else ""
    allowed = _workflow_events(ctx, globals_.get("workflow"))
    for job, _keys in made:
        job.needs = [prefix + n for n in job.needs if n in ids]
        job.file = main
        job.stage_index = stages.index(job.stage) if job.stage in stages else 0
        # workflow: rules decide which pipelines are created at all; without them, branch and
        # merge-request pipelines
        created = allowed if allowed is not None else {"push", "merge_request"}
        expanded: list[Trigger] = []
        for t in job.triggers:
            for ev in (sorted(created) if t.event == "*" else [t.event]):
                if (allowed is None or ev in allowed) and all(x.event != ev for x in expanded):
                    expanded.append(Trigger(ev, t.path, t.line, t.detail))
        job.triggers = expanded
        if parent is not None:
            job.id = prefix + job.id
            job.parent = parent.id
            job.name = f"{parent.label} / {job.label}"
            job.triggers = list(parent.triggers)
            job.needs += list(parent.needs)
            if parent.manual and not job.manual:
                job.manual, job.manual_why = True, f"child pipeline of manual job '{parent.label}' ({parent.manual_why})"
        project.jobs.append(job)
        pf.jobs.append(job.id)
    if not pf.jobs and not remote_includes:
        ctx.error(main, "the pipeline defines no visible job (GitLab rejects it)", 1)
    for job, keys in made:  # parent-child pipelines: trigger: include: <local file>
        trig = keys.get("trigger")
        if trig is None or not isinstance(trig[0], dict) or "include" not in trig[0]:
            if trig is not None and isinstance(trig[0], (str, dict)):
                project.notes.append(f"job '{job.label}' ({job.where()}) triggers another project's pipeline; "
                                     "not followed")
            continue
        inc = trig[0]["include"]
        items = inc if isinstance(inc, list) else [inc]
        for item in items:
            ref = item if isinstance(item, str) else item.get("local") if isinstance(item, dict) else None
            if not isinstance(ref, str):
                project.notes.append(f"child pipeline of job '{job.label}' ({job.where()}) is not a local file; "
                                     "not followed")
                continue
            child = _norm_local(project, ref)
            if child is None or child not in ctx.docs:
                ctx.error(trig[1], f"job '{job.label}': child pipeline {ref} does not exist in the repository",
                          trig[2])
                continue
            if depth >= MAX_DEPTH or any(f.path == child for f in project.files):
                project.notes.append(f"child pipeline {ref} ({trig[1]}:{trig[2]}) already read or nested too "
                                     "deep; not followed again")
                continue
            _gitlab(ctx, project, child, parent=job, depth=depth + 1)


def _workflow_events(ctx: _Ctx, workflow: tuple[Any, str, int] | None) -> set[str] | None:
    """Events for which ``workflow: rules:`` creates a pipeline (None: any)."""
    if workflow is None or not isinstance(workflow[0], dict):
        return None
    rules = workflow[0].get("rules")
    if not isinstance(rules, list):
        return None
    events: set[str] = set()
    for r in rules:
        if not isinstance(r, dict) or _s(r.get("when")) == "never":
            continue
        cond = _s(r.get("if"))
        if not cond:
            return None  # a catch-all rule
        events.update(_gitlab_rule_events(cond))
    return events


def _gitlab_file(ctx: _Ctx, project: Project, pf: PipelineFile, path: str, entries: dict[str, _Entry],
                 globals_: dict, seen: list[str], depth: int, main: str) -> None:
    if path in seen:
        return
    seen.append(path)
    docs = ctx.all_data(path)
    data = None
    for d in docs:
        if isinstance(d, dict) and set(d) == {"spec"}:
            continue  # a CI/CD component's header document
        data = d
        break
    if data is None:
        return
    if not isinstance(data, dict):
        ctx.error(path, "a GitLab CI file is a mapping of jobs and keywords", getattr(data, "line", 1))
        return
    inc = data.get("include")
    if inc is not None:
        for include in _gitlab_includes(ctx, project, path, data):
            pf.includes.append(include)
            if include.kind != "local":
                continue
            if depth >= MAX_DEPTH:
                ctx.error(path, f"include nesting deeper than {MAX_DEPTH}; not followed", include.line)
                continue
            for target in include.resolved:
                if target in seen:
                    continue
                if not ctx.all_data(target) and target in ctx.docs:
                    continue
                _gitlab_file(ctx, project, pf, target, entries, globals_, seen, depth + 1, main)
    for key, value in data.items():
        if not isinstance(key, str):
            ctx.error(path, f"top-level key {key!r} must be a string", _kline(data, key))
            continue
        line = _kline(data, key)
        if key in GITLAB_GLOBALS:
            if key == "include":
                continue
            if key in globals_ and isinstance(globals_[key][0], dict) and isinstance(value, dict):
                globals_[key] = (_deep_merge(globals_[key][0], value), path, line)
            else:
                globals_[key] = (value, path, line)
            continue
        if not isinstance(value, dict):
            if key.startswith("."):
                continue  # hidden keys also hold YAML anchors of any type
            ctx.error(path, f"job '{key}' must be a mapping (its keywords), not {_type_name(value)}", line)
            continue
        e = _Entry(key, path, line)
        for k, v in value.items():
            if isinstance(k, str):
                e.keys[k] = (v, path, _kline(value, k))
        if key in entries:
            _merge_entry(entries[key], e)
            entries[key].path, entries[key].line = path, line
        else:
            entries[key] = e


def _gitlab_includes(ctx: _Ctx, project: Project, path: str, data: Any) -> list[Include]:
    inc = data["include"]
    line = _kline(data, "include")
    items: list[tuple[Any, int]]
    if isinstance(inc, (str, dict)):
        items = [(inc, _vline(data, "include"))]
    elif isinstance(inc, list):
        items = [(x, _iline(inc, i)) for i, x in enumerate(inc)]
    else:
        ctx.error(path, "'include:' must be a path, a mapping or a list of them", line)
        return []
    out: list[Include] = []
    for item, ln in items:
        if isinstance(item, str):
            kind = "remote" if item.startswith(("http://", "https://")) else "local"
            out.append(Include(kind, item, path, ln))
        elif isinstance(item, dict):
            for kind in ("local", "remote", "project", "template", "component"):
                if kind in item:
                    ref = item[kind]
                    if not isinstance(ref, str):
                        ctx.error(path, f"'include: {kind}:' must be a string", _kline(item, kind))
                        break
                    if kind == "project":
                        files = item.get("file")
                        ref = f"{ref}:{','.join(files) if isinstance(files, list) else files}"
                    out.append(Include(kind, ref, path, _kline(item, kind)))
                    break
            else:
                ctx.error(path, "include entry has none of local:, remote:, project:, template:, component:", ln)
        else:
            ctx.error(path, "include entries are paths or mappings", ln)
    for include in out:
        if include.kind != "local":
            project.notes.append(f"{include.kind} include {include.ref} ({include.path}:{include.line}) "
                                 "is recorded, not fetched")
            continue
        ref = include.ref.strip()
        if "://" in ref:
            continue
        rel = ref.lstrip("/")
        if any(c in rel for c in "*?["):
            rx = _glob_regex(posixpath.normpath(rel))
            matches = [project.display(m) for m in sorted(project.inventory)
                       if rx.match(m) and m.endswith((".yml", ".yaml"))]
            include.resolved = matches
            if not matches:
                ctx.error(path, f"local include {ref} matches no file in the repository", include.line)
            continue
        target = _norm_local(project, rel)
        if target is None:
            ctx.error(path, f"local include {ref} points outside the repository; not followed", include.line)
            continue
        relp = target[len(project.root) + 1:] if project.root else target
        if relp not in project.inventory:
            ctx.error(path, f"local include {ref} does not exist in the repository (GitLab fails the pipeline)",
                      include.line)
            continue
        if not relp.endswith((".yml", ".yaml")):
            ctx.error(path, f"local include {ref} is not a YAML file", include.line)
            continue
        include.resolved = [target]
    return out


def _glob_regex(pattern: str) -> "re.Pattern[str]":
    """GitLab's local include wildcards: ``*`` within a directory, ``**`` across directories."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def _gitlab_resolve(ctx: _Ctx, entries: dict[str, _Entry], name: str, memo: dict, stack: list[str],
                    remote: bool) -> dict[str, tuple[Any, str, int]] | None:
    if name in memo:
        return memo[name]
    e = entries[name]
    ext = e.keys.get("extends")
    result: dict[str, tuple[Any, str, int]] = {}
    if ext is not None:
        value, path, line = ext
        parents = [value] if isinstance(value, str) else value if isinstance(value, list) else None
        if parents is None or not all(isinstance(p, str) for p in parents):
            ctx.error(path, f"job '{name}': 'extends:' must be a job name or a list of them", line)
            parents = []
        for parent in parents:
            if parent in stack or parent == name or len(stack) >= MAX_DEPTH:
                ctx.error(path, f"job '{name}': 'extends: {parent}' is circular or nests deeper than "
                                f"{MAX_DEPTH} levels", line)
                continue
            if parent not in entries:
                if not remote:
                    ctx.error(path, f"job '{name}': 'extends: {parent}' names no job or template in the "
                                    "pipeline", line)
                continue
            pk = _gitlab_resolve(ctx, entries, parent, memo, stack + [name], remote)
            if pk is None:
                continue
            tmp = _Entry(name, e.path, e.line)
            tmp.keys = dict(result)
            other = _Entry(parent, "", 0)
            other.keys = pk
            _merge_entry(tmp, other)
            result = tmp.keys
    own = _Entry(name, e.path, e.line)
    own.keys = dict(result)
    mine = _Entry(name, e.path, e.line)
    mine.keys = {k: v for k, v in e.keys.items() if k != "extends"}
    _merge_entry(own, mine)
    memo[name] = own.keys
    return own.keys


def _flatten_script(ctx: _Ctx, value: Any, path: str, line: int, entries: dict[str, _Entry], memo: dict,
                    remote: bool, out: list[tuple[str, int, str]], depth: int = 0) -> None:
    """Commands of a script keyword as (command, line, path); ``!reference [job, key]`` resolved."""
    if isinstance(value, str):
        # a block scalar (| or >) ends with a newline and starts on the line after its indicator
        out.append((value, line + 1 if value.endswith("\n") else line, path))
    elif isinstance(value, list):
        if (len(value) in (2, 3) and all(isinstance(x, str) for x in value) and value[0] in entries
                and depth < MAX_DEPTH):  # !reference [.job, script]
            ref = _gitlab_resolve(ctx, entries, value[0], memo, [], remote)
            node = ref.get(value[1]) if ref else None
            if node is not None:
                v = node[0]
                if len(value) == 3 and isinstance(v, dict):
                    v = v.get(value[2])
                _flatten_script(ctx, v, node[1], node[2], entries, memo, remote, out, depth + 1)
            return
        for i, item in enumerate(value):
            _flatten_script(ctx, item, path, _iline(value, i, line), entries, memo, remote, out, depth + 1)
    elif value is not None:
        sv = _s(value)
        if sv is not None:
            out.append((sv, line, path))
        else:
            ctx.error(path, "script lines must be strings or lists of strings", line)


_CI_SOURCE = re.compile(r"\$CI_PIPELINE_SOURCE\s*==\s*[\"']?([a-z_]+)")


def _gitlab_rule_events(cond: str) -> list[str]:
    m = _CI_SOURCE.findall(cond)
    if m:
        mapping = {"push": "push", "merge_request_event": "merge_request", "schedule": "schedule",
                   "web": "manual", "api": "manual", "trigger": "manual", "pipeline": "pipeline",
                   "parent_pipeline": "pipeline", "chat": "manual", "external_pull_request_event": "pull_request"}
        return sorted({mapping.get(x, x) for x in m})
    if re.search(r"\$CI_COMMIT_TAG\b(?!\s*==\s*null)", cond) and not re.search(r"!\s*\$CI_COMMIT_TAG|"
                                                                               r"\$CI_COMMIT_TAG\s*==\s*null", cond):
        return ["tag"]
    if "CI_MERGE_REQUEST" in cond:
        return ["merge_request"]
    return ["push"]


def _gitlab_job(ctx: _Ctx, project: Project, e: _Entry, keys: dict, default_map: dict, globals_: dict,
                stages: list[str], entries: dict[str, _Entry], memo: dict, remote: bool) -> Job | None:
    j = Job("gitlab", e.name, e.path, e.line, name=e.name, file=project.main or e.path)
    inherit = keys.get("inherit", (None,))[0]
    use_default = not (isinstance(inherit, dict) and inherit.get("default") is False)

    def kw(name: str) -> tuple[Any, str, int] | None:
        if name in keys:
            return keys[name]
        if use_default and name in default_map:
            return (default_map[name], globals_["default"][1], _kline(default_map, name))
        if name in globals_ and name in ("image", "services", "before_script", "after_script"):
            return globals_[name]
        return None

    stage = keys.get("stage")
    if stage is not None:
        if isinstance(stage[0], str):
            j.stage = stage[0]
            if stage[0] not in stages and not remote:
                ctx.error(stage[1], f"job '{e.name}': stage '{stage[0]}' is not in 'stages:'", stage[2])
        else:
            ctx.error(stage[1], f"job '{e.name}': 'stage:' must be a stage name", stage[2])
    else:
        j.stage = "test"
    cmds: list[tuple[str, int, str]] = []
    for key in ("before_script", "script", "after_script"):
        node = kw(key)
        if node is None:
            continue
        value, path, line = node
        if not isinstance(value, (str, list)):
            ctx.error(path, f"job '{e.name}': '{key}:' must be a string or a list of strings", line)
            continue
        first = _vline_for(value, line)
        _flatten_script(ctx, value, path, first, entries, memo, remote, cmds)
    j.steps = [Step(p, ln, run=c) for c, ln, p in cmds]
    for key in ("image", "services"):
        node = kw(key)
        if node is None:
            continue
        vals = node[0] if isinstance(node[0], list) else [node[0]]
        for v in vals:
            img = v.get("name") if isinstance(v, dict) else v
            if isinstance(img, str):
                j.images.append(img)
    if "trigger" not in keys and "script" not in keys and not (use_default and "script" in default_map):
        if not remote:
            ctx.error(e.path, f"job '{e.name}' has no 'script:' (nor 'trigger:'): GitLab rejects it", e.line)
    needs = keys.get("needs")
    if needs is not None:
        nv = needs[0]
        if isinstance(nv, list):
            for n in nv:
                if isinstance(n, str):
                    j.needs.append(n)
                elif isinstance(n, dict) and isinstance(n.get("job"), str):
                    j.needs.append(n["job"])
        else:
            ctx.error(needs[1], f"job '{e.name}': 'needs:' must be a list", needs[2])
    env = keys.get("environment")
    if env is not None:
        v, p, ln = env
        if isinstance(v, str):
            j.environment, j.environment_line = v, ln
        elif isinstance(v, dict):
            if isinstance(v.get("name"), str):
                j.environment, j.environment_line = v["name"], ln
            j.environment_action = _s(v.get("action"))
            j.environment_tier = _s(v.get("deployment_tier"))
        else:
            ctx.error(p, f"job '{e.name}': 'environment:' must be a name or a mapping with name:", ln)
    # when to run: triggers and manual gate
    when = keys.get("when")
    job_manual = bool(when and when[0] == "manual")
    if when is not None and not isinstance(when[0], str):
        ctx.error(when[1], f"job '{e.name}': 'when:' must be a string", when[2])
    events: set[str] = set()
    rules = keys.get("rules")
    manual_rules, auto_rules = [], []
    if rules is not None:
        rv, rp, rl = rules
        if not isinstance(rv, list):
            ctx.error(rp, f"job '{e.name}': 'rules:' must be a list", rl)
        else:
            for i, r in enumerate(rv):
                if not isinstance(r, dict):
                    if isinstance(r, list):
                        continue  # !reference of rules
                    ctx.error(rp, f"job '{e.name}': each rule must be a mapping", _iline(rv, i, rl))
                    continue
                rwhen = _s(r.get("when")) or (when[0] if when and isinstance(when[0], str) else "on_success")
                cond = _s(r.get("if")) or ""
                if cond:
                    j.conditions.append(f"rules: if {cond}" + (f" (when: {rwhen})" if "when" in r else ""))
                if rwhen == "never":
                    continue
                evs = _gitlab_rule_events(cond) if cond else ["*"]  # every pipeline that is created
                events.update(evs)
                (manual_rules if rwhen == "manual" else auto_rules).append((rp, _iline(rv, i, rl)))
    only = keys.get("only")
    if only is not None:
        ov = only[0]
        refs = ov if isinstance(ov, list) else ov.get("refs") if isinstance(ov, dict) else [ov]
        refs = refs if isinstance(refs, list) else [refs] if refs is not None else []
        j.conditions.append("only: " + ", ".join(str(r) for r in refs))
        mapping = {"schedules": "schedule", "web": "manual", "api": "manual", "triggers": "manual",
                   "pipelines": "pipeline", "tags": "tag", "merge_requests": "merge_request",
                   "external_pull_requests": "pull_request", "chat": "manual", "pushes": "push"}
        for r in refs:
            if isinstance(r, str):
                events.add(mapping.get(r, "push"))
    if keys.get("except") is not None:
        ev = keys["except"][0]
        j.conditions.append("except: " + (", ".join(str(x) for x in ev) if isinstance(ev, list) else str(ev)))
    if not events:
        events = {"*"}  # no rules: the job runs in every pipeline that is created
    line = (rules or only or when or (None, e.path, e.line))[2]
    j.triggers = [Trigger(ev, e.path, line) for ev in sorted(events)]
    if job_manual and not auto_rules:
        j.manual, j.manual_why = True, f"when: manual at {when[1]}:{when[2]}"
    elif manual_rules and not auto_rules:
        j.manual, j.manual_why = True, f"rules: when: manual at {manual_rules[0][0]}:{manual_rules[0][1]}"
    return j


def _vline_for(value: Any, line: int) -> int:
    return getattr(value, "line", line) if isinstance(value, list) else line


# ---------------------------------------------------------------- Jenkins

_J_STAGE = re.compile(r"""\bstage\s*\(\s*(?:name\s*:\s*)?(['"])(.*?)\1""")
_J_STEP = re.compile(r"""\b(sh|bat|powershell|pwsh)\b\s*(?:\(\s*)?(?:(?:label\s*:\s*(['"]).*?\2\s*,\s*)?script\s*:\s*)?('''|\"\"\"|'|")""")
_J_INPUT = re.compile(r"\binput\s*(?:\(|\{|message\s*:|['\"])")
_J_DOCKER = re.compile(r"\bdocker\.(build|image)\s*\(|\.push\s*\(")
_J_CRON = re.compile(r"\b(?:cron|pollSCM)\s*\(")


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
    # line starts and a mask of comments and string contents for brace matching
    n = len(text)
    code = list(text)
    i = 0
    strings: list[tuple[int, int, str]] = []  # (start of content, end, quote)
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
            q = text[i:i + 3]
            j = text.find(q, i + 3)
            j = n if j < 0 else j
            strings.append((i + 3, j, q))
            for k in range(i + 3, j):
                if code[k] != "\n":
                    code[k] = " "
            i = j + 3
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            strings.append((i + 1, min(j, n), c))
            for k in range(i + 1, min(j, n)):
                code[k] = " "
            i = j + 1
        else:
            i += 1
    masked = "".join(code)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(off: int) -> int:
        return bisect.bisect_right(line_starts, off)

    # matching braces, once (comments and strings are masked)
    closing: dict[int, int] = {}
    open_stack: list[int] = []
    for m in re.finditer(r"[{}]", masked):
        if m.group() == "{":
            open_stack.append(m.start())
        elif open_stack:
            closing[open_stack.pop()] = m.start()
    # stage blocks: (start, end, name, line), sorted by start; properly nested
    blocks: list[tuple[int, int, str, int]] = []
    for m in _J_STAGE.finditer(text):
        if masked[m.start()] == " " and text[m.start()] != " ":
            continue  # inside a comment or string
        brace = masked.find("{", m.end(), m.end() + 200)
        if brace < 0 or masked[m.end():brace].strip() not in (")", ""):
            continue
        blocks.append((m.start(), closing.get(brace, n), m.group(2), line_of(m.start())))
    starts = [b[0] for b in blocks]
    parent_of: list[int] = []  # index of the enclosing block, -1 at top level
    chain: list[int] = []
    for i, b in enumerate(blocks):
        while chain and blocks[chain[-1]][1] < b[0]:
            chain.pop()
        parent_of.append(chain[-1] if chain else -1)
        chain.append(i)

    def stage_at(off: int) -> tuple[int, int, str, int] | None:
        i = bisect.bisect_right(starts, off) - 1
        while i >= 0 and blocks[i][1] < off:
            i = parent_of[i]
        return blocks[i] if i >= 0 else None

    jobs: dict[tuple, Job] = {}

    def job_for(off: int) -> Job:
        b = stage_at(off)
        key = b if b is not None else ("outside",)
        if key not in jobs:
            if b is None:
                jobs[key] = Job("jenkins", "(outside stages)", path, 1, name="(outside stages)", file=path)
            else:
                jobs[key] = Job("jenkins", f"{b[2]}@{b[3]}", path, b[3], name=b[2], file=path)
        return jobs[key]

    for b in blocks:
        job_for(b[0])
    for m in _J_STEP.finditer(text):
        if masked[m.start()] == " " and text[m.start()] != " ":
            continue
        q = m.group(3)
        start = m.end()
        end = text.find(q, start) if len(q) == 3 else start
        if len(q) == 1:
            while end < n and text[end] != q and text[end] != "\n":
                end += 2 if text[end] == "\\" else 1
        end = n if end < 0 else end
        script = text[start:end]
        first = line_of(start) + (1 if len(q) == 3 and script.startswith("\n") else 0)
        job_for(m.start()).steps.append(Step(path, first, name=m.group(1), run=script.strip("\n")))
    for m in _J_DOCKER.finditer(masked):
        job = job_for(m.start())
        what = "docker push (Docker Pipeline .push())" if m.group(0).startswith(".push") else \
            f"docker build (Docker Pipeline docker.{m.group(1)})" if m.group(1) == "build" else None
        if what:
            job.steps.append(Step(path, line_of(m.start()), name="docker", run=what))
    for m in _J_INPUT.finditer(masked):
        job = job_for(m.start())
        if not job.manual:
            job.manual, job.manual_why = True, f"input at {path}:{line_of(m.start())}"
    triggers = [Trigger("push", path, 1, "SCM change (multibranch/webhook; assumed)")]
    for m in _J_CRON.finditer(masked):
        triggers.append(Trigger("schedule", path, line_of(m.start())))
    out = sorted(jobs.values(), key=lambda j: (j.line, j.id))
    for j in out:
        j.triggers = list(triggers)
        j.steps.sort(key=lambda s: s.line)
    return out, triggers


def _jenkins(ctx: _Ctx, project: Project, abspath: str, display: str, root: str) -> None:
    from guidecheck.loaders.fs import ReadError, read_text

    try:
        text = read_text(abspath, min(ctx.config.max_file_bytes, MAX_JENKINS_BYTES),
                         root=root)
    except ReadError as exc:
        src = SourceFile(display, "jenkinsfile", [exc.error])
        ctx.sources[display] = src
        ctx.loaded.targets.append(Target(kind="file", path=display, line=1, ref=ObjectRef("File", None, display),
                                         data=src, source=src))
        return
    jobs, triggers = scan_jenkinsfile(text, display)
    pf = PipelineFile("jenkins", display, triggers, [j.id for j in jobs])
    project.files.append(pf)
    project.jobs.extend(jobs)


# ---------------------------------------------------------------- release tooling in file contents

_PYPROJECT_TOOLS = re.compile(r"^\[tool\.(commitizen|towncrier|semantic_release|git-cliff)\]\s*$", re.M)


def release_configs(ctx: _Ctx, repo: Any) -> list[ReleaseConfig]:
    """Release tooling declared inside files: package.json ``release``, pyproject tool tables, GoReleaser."""
    out: list[ReleaseConfig] = []
    for rel in repo.walk.inventory:
        base = rel.rsplit("/", 1)[-1]
        display = repo.prefix + rel
        if base == "package.json":
            data = ctx.data(display)
            if isinstance(data, dict) and "release" in data:
                out.append(ReleaseConfig("semantic-release", display, _kline(data, "release"),
                                         "package.json 'release'"))
        elif base == "pyproject.toml":
            from guidecheck.loaders.fs import ReadError, read_text

            try:
                text = read_text(os.path.join(repo.walk.root, *rel.split("/")), 1024 * 1024, root=repo.walk.root)
            except ReadError:
                continue
            for m in _PYPROJECT_TOOLS.finditer(text):
                tool = {"semantic_release": "python-semantic-release"}.get(m.group(1), m.group(1))
                out.append(ReleaseConfig(tool, display, text.count("\n", 0, m.start()) + 1,
                                         f"pyproject.toml [tool.{m.group(1)}]"))
        elif _GORELEASER.search(rel):
            data = ctx.data(display)
            if isinstance(data, dict):
                out.append(ReleaseConfig("goreleaser", display, getattr(data, "line", 1),
                                         "GoReleaser configuration", data=data))
    return out
