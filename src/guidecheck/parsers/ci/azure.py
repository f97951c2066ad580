"""Azure Pipelines: ``azure-pipelines.yml`` (and the local templates it uses) into the pipeline model.

A pipeline has ``stages:`` of ``jobs:``, or ``jobs:``, or ``steps:`` only (one
implicit job).  Each ``job:`` and ``deployment:`` becomes a
:class:`~guidecheck.parsers.ci.model.Job` (``system: azure``, id ``stage/job``):

* steps: ``script:``/``bash:``/``pwsh:``/``powershell:`` run their text; a ``task:``
  is recorded as ``uses`` with its ``inputs`` and, for the tasks that run a known
  tool, the command it runs (``Docker@2`` ``command: buildAndPush`` runs
  ``docker push``; ``HelmDeploy@0`` ``command: upgrade`` runs ``helm upgrade``;
  ``KubernetesManifest@1`` ``action: deploy`` runs ``kubectl apply``;
  ``DotNetCoreCLI@2`` ``command: test`` runs ``dotnet test``; ``Maven``/``Gradle``
  run their goals; ``Npm@1`` its command);
* a deployment job's ``environment:`` is its environment: approvals and checks
  are configured on the environment in Azure DevOps, outside the files (as
  GitHub's environment protection rules are);
* ``ManualValidation@0/1`` (an agentless job's manual approval) makes the jobs
  that depend on its job wait for a human;
* ``dependsOn`` (jobs of a stage, and stages; a stage without it waits for the
  stage before) becomes ``needs``;
* triggers: ``trigger:`` (push; absent means every push, ``none`` none), ``pr:``
  (pull request; absent means on, for GitHub and Bitbucket repositories),
  ``schedules:``; with ``trigger: none`` and ``pr: none`` and no schedule, the
  pipeline only runs when started by hand (``manual``).

``- template: path`` entries of stages, jobs and steps are followed when the file
is in the project (local templates; ``path@repo`` templates of other
repositories are recorded as notes, never fetched).  Plain data; no I/O.
"""

from __future__ import annotations

from typing import Any

from guidecheck.parsers.ci.common import (
    MAX_DEPTH,
    Parse,
    PipelineError,
    Reader,
    norm_local,
    run_line,
    scalar,
    type_name,
)
from guidecheck.parsers.ci.model import Job, PipelineFile, Project, Step, Trigger
from guidecheck.parsers.yaml import item_line, key_line, line_of

_SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")


def parse_azure(project: Project, path: str, read: Reader) -> list[PipelineError]:
    """Add the pipeline at ``path`` (display path) and the local templates it uses to the project."""
    ctx = Parse(project, read)
    data = ctx.data(path)
    if not isinstance(data, dict):
        ctx.error(path, f"an Azure pipeline is a mapping (stages:, jobs: or steps:), not {type_name(data)}", 1)
        return ctx.errors
    triggers = _triggers(path, data)
    pf = PipelineFile("azure", path, triggers)
    project.files.append(pf)
    p = _Pipeline(ctx, project, pf, triggers)
    if isinstance(data.get("stages"), list):
        p.stages(path, data["stages"], [])
    elif isinstance(data.get("jobs"), list):
        p.jobs(path, data["jobs"], "", [], [])
    elif isinstance(data.get("steps"), list):
        job = p.new_job(path, data, "job", key_line(data, "steps"), "", [])
        job.steps = p.steps(path, data["steps"], [])
    elif "extends" in data:
        project.notes.append(f"Azure pipeline {path} extends a template ({key_line(data, 'extends')}): not followed")
    else:
        ctx.error(path, "an Azure pipeline needs 'stages:', 'jobs:' or 'steps:'", 1)
    p.resolve_manual()
    return ctx.errors


def _triggers(path: str, data: dict[Any, Any]) -> list[Trigger]:
    out: list[Trigger] = []
    trig = data.get("trigger", "__absent__")
    if trig == "__absent__":
        out.append(Trigger("push", path, 1, "every branch (no trigger: given)"))
    elif not (trig == "none" or trig is None or trig == []):
        out.append(Trigger("push", path, key_line(data, "trigger"), _filter(trig)))
    pr = data.get("pr", "__absent__")
    if pr == "__absent__":
        out.append(Trigger("pull_request", path, 1, "every pull request (no pr: given)"))
    elif not (pr == "none" or pr is None or pr == []):
        out.append(Trigger("pull_request", path, key_line(data, "pr"), _filter(pr)))
    schedules = data.get("schedules")
    if isinstance(schedules, list) and schedules:
        out.append(Trigger("schedule", path, key_line(data, "schedules")))
    if not out:
        out.append(Trigger("manual", path, key_line(data, "trigger"), "trigger: none, pr: none"))
    return out


def _filter(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(x for x in (scalar(i) for i in v) if x)
    if isinstance(v, dict):
        br = v.get("branches")
        inc = br.get("include") if isinstance(br, dict) else None
        if isinstance(inc, list):
            return "branches: " + ", ".join(x for x in (scalar(i) for i in inc) if x)
        if "tags" in v:
            return "tags"
    return scalar(v) or ""


class _Pipeline:
    def __init__(self, ctx: Parse, project: Project, pf: PipelineFile, triggers: list[Trigger]) -> None:
        self.ctx, self.project, self.pf, self.triggers = ctx, project, pf, triggers
        self.stage_jobs: dict[str, list[str]] = {}
        self.approvals: dict[str, str] = {}  # job id -> why it is a manual approval

    # -- templates

    def template(self, path: str, item: dict[Any, Any], key: str, stack: list[str]) -> tuple[str, list[Any]] | None:
        """(display path, the list under ``key``) of a ``- template:`` item, when it is local and readable."""
        ref = scalar(item.get("template")) or ""
        line = key_line(item, "template")
        if "@" in ref:
            self.project.notes.append(f"Azure template {ref} ({path}:{line}) of another repository is not fetched")
            return None
        base = path.rsplit("/", 1)[0] if "/" in path else ""
        root = self.project.root
        rel_base = base[len(root) + 1 :] if root and base.startswith(root + "/") else ("" if base == root else base)
        target = norm_local(self.project, ref, "" if ref.startswith("/") else rel_base)
        if target is None or target in stack or len(stack) >= MAX_DEPTH:
            self.ctx.error(path, f"template {ref!r} leaves the project or includes itself", line)
            return None
        data = self.ctx.data(target)
        if data is None:
            self.ctx.error(path, f"template {ref!r} not found in the scanned tree", line)
            return None
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            self.ctx.error(target, f"a {key} template needs '{key}:', a list", 1)
            return None
        return target, items

    # -- stages, jobs, steps

    def stages(self, path: str, stages: list[Any], stack: list[str]) -> None:
        previous: list[str] = []
        for i, st in enumerate(stages):
            if not isinstance(st, dict):
                self.ctx.error(path, f"stage {i + 1} must be a mapping", item_line(stages, i))
                continue
            if "template" in st:
                found = self.template(path, st, "stages", stack)
                if found:
                    self.stages(found[0], found[1], stack + [path])
                continue
            sid = scalar(st.get("stage")) or f"stage{i + 1}"
            deps = st.get("dependsOn", "__absent__")
            if deps == "__absent__":
                after = list(previous)
            else:
                names = [deps] if isinstance(deps, str) else [d for d in deps if isinstance(d, str)] if deps else []
                after = [j for n in names for j in self.stage_jobs.get(n, [])]
            jobs = st.get("jobs")
            self.stage_jobs[sid] = []
            if isinstance(jobs, list):
                self.jobs(path, jobs, sid, after, stack)
            previous = self.stage_jobs[sid]

    def jobs(self, path: str, jobs: list[Any], stage: str, after: list[str], stack: list[str]) -> None:
        for i, jb in enumerate(jobs):
            if not isinstance(jb, dict):
                self.ctx.error(path, f"job {i + 1} must be a mapping", item_line(jobs, i))
                continue
            if "template" in jb:
                found = self.template(path, jb, "jobs", stack)
                if found:
                    self.jobs(found[0], found[1], stage, after, stack + [path])
                continue
            kind = "deployment" if "deployment" in jb else "job"
            jid = scalar(jb.get(kind)) or f"job{i + 1}"
            job = self.new_job(path, jb, jid, line_of(jb, item_line(jobs, i)), stage, after)
            deps = jb.get("dependsOn")
            names = [deps] if isinstance(deps, str) else [d for d in deps if isinstance(d, str)] if deps else []
            job.needs += [f"{stage}/{n}" if stage else n for n in names]
            env = jb.get("environment")
            if isinstance(env, dict):
                env = env.get("name")
            if isinstance(env, str):
                job.environment = env.split(".", 1)[0]  # environment.resource
            steps: Any = jb.get("steps")
            strategy = jb.get("strategy")
            if kind == "deployment" and isinstance(strategy, dict):
                steps = []
                for strat in strategy.values():
                    if isinstance(strat, dict):
                        for hook in strat.values():
                            if isinstance(hook, dict) and isinstance(hook.get("steps"), list):
                                steps += hook["steps"]
            if isinstance(steps, list):
                job.steps = self.steps(path, steps, stack)
            if any((s.uses or "").lower().startswith("manualvalidation@") for s in job.steps):
                self.approvals[job.id] = f"ManualValidation task in job '{job.label}' ({job.where()})"
                job.manual, job.manual_why = True, self.approvals[job.id]

    def new_job(self, path: str, jb: dict[Any, Any], jid: str, line: int, stage: str, after: list[str]) -> Job:
        full = f"{stage}/{jid}" if stage else jid
        name = scalar(jb.get("displayName")) or jid
        job = Job("azure", full, path, line, name=name, file=self.pf.path, triggers=list(self.triggers))
        job.stage = stage or None
        job.needs = list(after)
        cond = scalar(jb.get("condition"))
        if cond:
            job.conditions.append(f"condition: {cond}")
        self.project.jobs.append(job)
        self.pf.jobs.append(full)
        if stage:
            self.stage_jobs.setdefault(stage, []).append(full)
        return job

    def steps(self, path: str, steps: list[Any], stack: list[str]) -> list[Step]:
        out: list[Step] = []
        for i, st in enumerate(steps):
            if not isinstance(st, dict):
                self.ctx.error(path, f"step {i + 1} must be a mapping", item_line(steps, i))
                continue
            if "template" in st:
                found = self.template(path, st, "steps", stack)
                if found:
                    out += self.steps(found[0], found[1], stack + [path])
                continue
            name = scalar(st.get("displayName")) or scalar(st.get("name"))
            key = next((k for k in _SCRIPT_KEYS if isinstance(st.get(k), str)), None)
            if key:
                out.append(Step(path, run_line(st, key, st[key]), name=name, run=st[key]))
                continue
            task = scalar(st.get("task"))
            if task:
                raw_inputs = st.get("inputs")
                inputs: dict[Any, Any] = raw_inputs if isinstance(raw_inputs, dict) else {}
                with_ = {str(k): v for k, v in ((k, scalar(v)) for k, v in inputs.items()) if v is not None}
                out.append(
                    Step(
                        path,
                        line_of(st, item_line(steps, i)),
                        name=name or task,
                        uses=task,
                        with_=with_,
                        run=_task_command(task, with_),
                    )
                )
        return out

    def resolve_manual(self) -> None:
        """A job that waits for a manual validation job is gated by it (its ``needs`` include it)."""
        for job in self.project.jobs:
            if job.system != "azure" or job.manual:
                continue
            why = next((self.approvals[n] for n in job.needs if n in self.approvals), None)
            if why:
                job.manual, job.manual_why = True, f"waits for {why}"


def _task_command(task: str, inputs: dict[str, str]) -> str | None:
    """The command a known task runs, for the command patterns of the rules; None for other tasks."""
    name = task.split("@", 1)[0].lower()
    cmd = (inputs.get("command") or inputs.get("action") or "").strip()
    low = cmd.lower()
    if name == "docker":
        if low in ("buildandpush", "push"):
            return f"docker push {inputs.get('repository', '')}".strip()
        return f"docker {low}" if low else None
    if name == "helmdeploy" and low:
        return f"helm {low}"
    if name == "kubernetesmanifest" and low == "deploy":
        return "kubectl apply"
    if name == "kubernetes" and low:
        return f"kubectl {low}"
    if name == "dotnetcorecli" and low:
        return f"dotnet {low}"
    if name == "maven":
        return f"mvn {inputs.get('goals', 'package')}"
    if name == "gradle":
        return f"gradle {inputs.get('tasks', 'build')}"
    if name == "npm":
        return f"npm {inputs.get('customCommand', low)}".strip() if low else None
    if name == "azurewebappcontainer" or name == "azurerm webappdeployment" or name == "azurewebapp":
        return "az webapp deploy"
    return None
