"""GitHub Actions workflows into :mod:`guidecheck.parsers.ci.model` (a pure parser: parsed YAML in).

:func:`parse_github` adds a project's workflows (``.github/workflows/*.yml``)
to its :class:`Project`: one :class:`PipelineFile` per workflow and the jobs
that run.  Local reusable workflows (``uses: ./.github/workflows/x.yml``) are
inlined into each calling job (with the caller's triggers and ``with:``
inputs); local composite and Docker actions (``uses: ./path``) are read through
the loader's :data:`Reader` and expanded into their steps; remote ones are
recorded by name and never fetched.  Ill-typed workflows are returned as
:class:`PipelineError` s.
"""

from __future__ import annotations

import re
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
from guidecheck.parsers.yaml import item_line, key_line, line_of, value_line

_INPUT_EXPR = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")
# possessive blanks: two free \s* around an optional ${{ }} split a run of spaces every way (4 s at 1.6 KB)
_INPUT_COND = re.compile(r"^\s*+(?:\$\{\{\s*+)?inputs\.([A-Za-z0-9_-]+)\s*+(==|!=)\s*+'([^']*)'\s*+(?:\}\}\s*+)?$")


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


class _Workflow:
    def __init__(self, path: str, data: Any):
        self.path = path
        self.data = data
        self.triggers: list[Trigger] = []
        self.jobs: dict[str, Any] = {}
        self.reusable = False
        self.called = False


def _parse_workflow(ctx: Parse, path: str, data: Any) -> _Workflow | None:
    if not isinstance(data, dict):
        ctx.error(path, f"a workflow is a mapping with on: and jobs:, not {type_name(data)}", line_of(data))
        return None
    wf = _Workflow(path, data)
    on_key = True if True in data else ("on" if "on" in data else None)  # YAML 1.1 reads `on` as true
    if on_key is None:
        ctx.error(path, "workflow has no 'on:' (its triggers)", line_of(data))
    else:
        wf.triggers = _github_triggers(ctx, path, data, on_key)
    events = {t.event for t in wf.triggers}
    wf.reusable = bool(events) and events <= {"workflow_call"}
    jobs = data.get("jobs")
    if not isinstance(jobs, dict):
        ctx.error(
            path,
            "workflow 'jobs:' must be a mapping of job ids to jobs" if "jobs" in data else "workflow has no 'jobs:'",
            key_line(data, "jobs"),
        )
        return wf
    for jid, job in jobs.items():
        if _check_job(ctx, path, jobs, jid, job):
            wf.jobs[jid] = job
    return wf


def _check_job(ctx: Parse, path: str, jobs: Any, jid: Any, job: Any) -> bool:
    """Report what is ill-typed in one job; False when it cannot be a job at all."""
    if not isinstance(job, dict):
        ctx.error(path, f"job '{jid}' must be a mapping", key_line(jobs, jid))
        return False
    if not isinstance(jid, str):
        ctx.error(path, f"job id {jid!r} must be a string", key_line(jobs, jid))
        return False
    steps = job.get("steps")
    if steps is not None and not isinstance(steps, list):
        ctx.error(path, f"job '{jid}': 'steps:' must be a list", key_line(job, "steps"))
    elif isinstance(steps, list):
        _check_steps(ctx, path, jid, steps)
    if "uses" not in job and steps is None:
        ctx.error(path, f"job '{jid}' has neither 'steps:' nor 'uses:'", key_line(jobs, jid))
    if "uses" in job and not isinstance(job["uses"], str):
        ctx.error(path, f"job '{jid}': 'uses:' must be a string", key_line(job, "uses"))
    needs = job.get("needs")
    if needs is not None and not isinstance(needs, (str, list)):
        ctx.error(path, f"job '{jid}': 'needs:' must be a job id or a list of them", key_line(job, "needs"))
    env = job.get("environment")
    if env is not None and not isinstance(env, (str, dict)):
        ctx.error(
            path, f"job '{jid}': 'environment:' must be a name or a mapping with name:", key_line(job, "environment")
        )
    return True


def _check_steps(ctx: Parse, path: str, jid: str, steps: list[Any]) -> None:
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            ctx.error(path, f"job '{jid}': step {i + 1} must be a mapping", item_line(steps, i))
            continue
        for key in ("uses", "run", "name"):
            if key in st and scalar(st[key]) is None:
                ctx.error(path, f"job '{jid}': step {i + 1} '{key}:' must be a string", key_line(st, key))


def _github_triggers(ctx: Parse, path: str, data: Any, key: Any) -> list[Trigger]:
    on = data[key]
    line = key_line(data, key)
    out: list[Trigger] = []
    if isinstance(on, str):
        out.append(Trigger(on, path, value_line(data, key)))
    elif isinstance(on, list):
        for i, ev in enumerate(on):
            if isinstance(ev, str):
                out.append(Trigger(ev, path, item_line(on, i)))
            else:
                ctx.error(path, "'on:' list items must be event names", item_line(on, i))
    elif isinstance(on, dict):
        for ev, cfg in on.items():
            if not isinstance(ev, str):
                ctx.error(path, f"'on:' event {ev!r} must be a name", key_line(on, ev))
                continue
            ln = key_line(on, ev)
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


def _filter_text(cfg: dict[Any, Any], keys: tuple[str, ...]) -> str:
    parts = []
    for k in keys:
        v = cfg.get(k)
        if isinstance(v, list):
            parts.append(f"{k}: " + ", ".join(str(x) for x in v))
        elif isinstance(v, str):
            parts.append(f"{k}: {v}")
    return "; ".join(parts)


def parse_github(project: Project, workflows: list[tuple[str, Any]], read: Reader) -> list[PipelineError]:
    """Add a project's workflows to it: (display path, first document's data; None for an empty file).

    ``read`` gives the local actions the steps use.  Returns the errors found, in order.
    """
    ctx = Parse(project, read)
    parsed: dict[str, _Workflow] = {}
    for path, data in workflows:
        if data is None:
            ctx.error(path, "empty workflow file (GitHub rejects it: no triggers and no jobs)", 1)
            continue
        wf = _parse_workflow(ctx, path, data)
        if wf is not None:
            parsed[path] = wf
    # reusable workflows called from inside the project run with their callers' triggers
    for path, wf in sorted(parsed.items()):
        title = wf.data.get("name") if isinstance(wf.data, dict) else None
        pf = PipelineFile(
            "github", path, list(wf.triggers), reusable=wf.reusable, title=title if isinstance(title, str) else ""
        )
        project.files.append(pf)
    for path, wf in sorted(parsed.items()):
        if wf.reusable or not wf.triggers:
            continue  # run through callers; or never (no trigger)
        pf = next(f for f in project.files if f.path == path)
        for jid, job in wf.jobs.items():
            _github_job(ctx, project, parsed, wf, jid, job, path, wf.triggers, {}, "", [], pf)
    for path, wf in sorted(parsed.items()):
        if wf.reusable and not wf.called:  # never called from the project: judged on its own
            pf = next(f for f in project.files if f.path == path)
            for jid, job in wf.jobs.items():
                _github_job(ctx, project, parsed, wf, jid, job, path, wf.triggers, {}, "", [], pf)
    return ctx.errors


def check_workflow(path: str, data: Any) -> list[PipelineError]:
    """The errors of one workflow named on its own (pre-commit): validated, not judged as a project."""
    ctx = Parse(Project(root="", name="", main=""), lambda _path: None)
    _parse_workflow(ctx, path, data)
    return ctx.errors


def _github_job(
    ctx: Parse,
    project: Project,
    workflows: dict[str, _Workflow],
    wf: _Workflow,
    jid: str,
    job: Any,
    file: str,
    triggers: list[Trigger],
    inputs: dict[str, str],
    prefix: str,
    stack: list[str],
    pf: PipelineFile,
    caller_needs: list[str] | None = None,
    caller_label: str | None = None,
) -> None:
    name = scalar(job.get("name"))
    label = name or jid
    if caller_label:
        label = f"{caller_label} / {label}"
    wid = prefix or wf.path.rsplit("/", 1)[-1] + ":"
    j = Job(
        "github", wid + jid, wf.path, key_line(wf.data.get("jobs"), jid), name=label, file=file, triggers=list(triggers)
    )
    needs = job.get("needs")
    needs_list = (
        [needs]
        if isinstance(needs, str)
        else [n for n in needs if isinstance(n, str)]
        if isinstance(needs, list)
        else []
    )
    j.needs = [wid + n for n in needs_list] + list(caller_needs or [])
    env = job.get("environment")
    if isinstance(env, str):
        j.environment = _subst_inputs(env, inputs)
    elif isinstance(env, dict) and isinstance(env.get("name"), str):
        j.environment = _subst_inputs(env["name"], inputs)
    cond = scalar(job.get("if"))
    if cond:
        j.conditions.append(f"if: {_subst_inputs(cond, inputs)}")
        j.triggers = _event_filter(cond, j.triggers)
    j.images = _job_images(job)
    j.env = {**_scalars(wf.data.get("env"), inputs), **_scalars(job.get("env"), inputs)}
    strategy = job.get("strategy")
    if isinstance(strategy, dict):
        j.matrix = _matrix(strategy.get("matrix"))
    uses = job.get("uses")
    if isinstance(uses, str):
        j.uses = uses
        project.jobs.append(j)
        pf.jobs.append(j.id)
        if uses.startswith("./"):
            _call_workflow(ctx, project, workflows, wf, j, job, file, triggers, inputs, stack, pf)
        else:
            project.notes.append(
                f"remote reusable workflow {uses} ({wf.path}:{key_line(job, 'uses')}) is recorded, not fetched"
            )
        return
    steps = job.get("steps")
    if isinstance(steps, list):
        j.steps = _github_steps(ctx, project, wf.path, steps, inputs, None, [])
    project.jobs.append(j)
    pf.jobs.append(j.id)


MAX_MATRIX_VALUES = 16  # values of one matrix key kept (a generated matrix of hundreds is not expanded)
MAX_MATRIX_KEYS = 16


def _matrix(matrix: Any) -> dict[str, list[str]]:
    """A job's ``strategy.matrix``: each key's scalar values, then those its ``include:`` entries add (oathkeeper's
    ``name: [reload, e2e, ...]`` that ``./test/${{ matrix.name }}/run.sh`` runs). An expression (``${{ fromJSON(...)
    }}``) and mappings as values are not expanded."""
    out: dict[str, list[str]] = {}
    if not isinstance(matrix, dict):
        return out

    def add(key: Any, value: Any) -> None:
        text = scalar(value)
        if isinstance(key, str) and text is not None and "${{" not in text:
            if key not in out and len(out) >= MAX_MATRIX_KEYS:
                return
            values = out.setdefault(key, [])
            if text not in values and len(values) < MAX_MATRIX_VALUES:
                values.append(text)

    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        for v in values if isinstance(values, list) else []:
            add(key, v)
    include = matrix.get("include")
    for entry in include if isinstance(include, list) else []:
        for key, v in entry.items() if isinstance(entry, dict) else ():
            add(key, v)
    return out


def _job_images(job: Any) -> list[str]:
    """The job's container image and its services' images."""
    images = []
    cont = job.get("container")
    if isinstance(cont, str):
        images.append(cont)
    elif isinstance(cont, dict) and isinstance(cont.get("image"), str):
        images.append(cont["image"])
    services = job.get("services")
    if isinstance(services, dict):
        for sv in services.values():
            img = sv.get("image") if isinstance(sv, dict) else None
            if isinstance(img, str):
                images.append(img)
    return images


def _call_workflow(
    ctx: Parse,
    project: Project,
    workflows: dict[str, _Workflow],
    wf: _Workflow,
    j: Job,
    job: Any,
    file: str,
    triggers: list[Trigger],
    inputs: dict[str, str],
    stack: list[str],
    pf: PipelineFile,
) -> None:
    """Inline the jobs of the local reusable workflow that job ``j`` calls (``uses: ./...``)."""
    uses = j.uses or ""
    target = norm_local(project, uses.split("@", 1)[0])
    callee = workflows.get(target) if target else None
    if callee is None or target is None:
        project.notes.append(f"reusable workflow {uses} ({wf.path}:{key_line(job, 'uses')}) is not in the scanned tree")
        return
    if target in stack or len(stack) >= MAX_DEPTH:
        project.notes.append(
            f"reusable workflow {uses} ({wf.path}:{key_line(job, 'uses')}) "
            "calls itself (cycle) or nests too deep; not followed"
        )
        return
    callee.called = True
    with_ = job.get("with")
    call_inputs = _input_defaults(callee.data)
    if isinstance(with_, dict):
        for k, v in with_.items():
            sv = scalar(v)
            if isinstance(k, str) and sv is not None:
                call_inputs[k] = _subst_inputs(sv, inputs)
    for cjid, cjob in callee.jobs.items():
        _github_job(
            ctx,
            project,
            workflows,
            callee,
            cjid,
            cjob,
            file,
            triggers,
            call_inputs,
            j.id + "/",
            stack + [target],
            pf,
            caller_needs=list(j.needs),
            caller_label=j.name,
        )


def _input_defaults(data: Any) -> dict[str, str]:
    """``on.workflow_call.inputs.<name>.default`` of a reusable workflow, as text."""
    on = data.get(True, data.get("on")) if isinstance(data, dict) else None
    call = on.get("workflow_call") if isinstance(on, dict) else None
    inputs = call.get("inputs") if isinstance(call, dict) else None
    out: dict[str, str] = {}
    if isinstance(inputs, dict):
        for name, spec in inputs.items():
            if isinstance(name, str) and isinstance(spec, dict) and "default" in spec:
                v = scalar(spec["default"])
                if v is not None:
                    out[name] = v
    return out


def _github_steps(
    ctx: Parse, project: Project, path: str, steps: list[Any], inputs: dict[str, str], via: str | None, stack: list[str]
) -> list[Step]:
    out: list[Step] = []
    checkouts: list[str] = []  # where earlier steps checked this repository out (actions/checkout's path:)
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            continue
        if _inputs_false(scalar(st.get("if")), inputs):
            continue  # `if: inputs.x == 'y'` is false for this caller's inputs
        step = Step(path, item_line(steps, i), name=scalar(st.get("name")), via=via)
        uses = st.get("uses")
        step.with_.update(_scalars(st.get("with"), inputs))
        step.env.update(_scalars(st.get("env"), inputs))
        if isinstance(uses, str):
            step.uses = uses.strip()
            step.line = key_line(st, "uses")
        run = st.get("run")
        if isinstance(run, str):
            step.run = _subst_inputs(run, inputs)
            step.line = run_line(st, "run", run)
        out.append(step)
        own = _own_checkout(step)
        if own:
            checkouts.append(own)
        if step.uses and step.uses.startswith("./"):
            out.extend(_composite(ctx, project, step, stack, checkouts))
    return out


def _own_checkout(step: Step) -> str | None:
    """The directory an actions/checkout step puts this repository in, when it is not the workspace itself
    (``path: repo``; not another ``repository:``)."""
    if step.action() != "actions/checkout":
        return None
    repo = step.with_.get("repository", "").strip()
    if repo and repo not in ("${{ github.repository }}", "${{github.repository}}"):
        return None
    path = step.with_.get("path", "").strip().strip("/")
    if path.startswith("./"):
        path = path[2:]
    return path if path and path != "." and "${{" not in path else None


def _scalars(mapping: Any, inputs: dict[str, str]) -> dict[str, str]:
    """A step's ``with:`` or ``env:``: its scalar values as text, the caller's inputs substituted."""
    if not isinstance(mapping, dict):
        return {}
    out = {}
    for k, v in mapping.items():
        sv = scalar(v)
        if isinstance(k, str) and sv is not None:
            out[k] = _subst_inputs(sv, inputs)
    return out


def _composite(
    ctx: Parse, project: Project, step: Step, stack: list[str], checkouts: list[str] | None = None
) -> list[Step]:
    """The steps of the local action ``step`` uses: a composite action's steps, a Docker action's image.

    ``checkouts`` are the directories earlier steps checked the repository out into: ``./repo/.github/actions/x``
    after a checkout with ``path: repo`` is the repository's ``.github/actions/x`` (kubetail's release-cli.yml)."""
    uses = (step.uses or "").split("@", 1)[0]
    for where in checkouts or ():
        if uses.startswith(f"./{where}/"):
            uses = "./" + uses[len(where) + 3 :]
            break
    base = norm_local(project, uses)
    if base is None:
        step.unresolved = "points outside the project; not followed"
        return []
    for name in ("action.yml", "action.yaml"):
        path = f"{base}/{name}" if base != "." else name
        if ctx.exists(path):
            break
    else:
        step.unresolved = "not in the scanned tree"
        project.notes.append(f"local action {step.uses} ({step.where()}) is not in the scanned tree")
        return []
    data = ctx.data(path)
    if not isinstance(data, dict):
        if data is not None:
            ctx.error(path, "an action metadata file is a mapping (name:, runs:)", line_of(data))
        return []
    runs = data.get("runs")
    if not isinstance(runs, dict):
        ctx.error(path, "action has no 'runs:' mapping", key_line(data, "runs"))
        return []
    using = scalar(runs.get("using")) or ""
    if using == "docker":
        img = scalar(runs.get("image"))
        return (
            [Step(path, key_line(runs, "image"), name=f"docker action {img}", uses=f"docker://{img}", via=path)]
            if img
            else []
        )
    if using != "composite":
        return []  # a JavaScript action: its code is not a pipeline
    if path in stack or len(stack) >= MAX_DEPTH:
        step.unresolved = "composite action nests itself or too deep; not followed"
        return []
    steps = runs.get("steps")
    if not isinstance(steps, list):
        ctx.error(path, "composite action 'runs.steps' must be a list", key_line(runs, "steps"))
        return []
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            ctx.error(path, f"composite action step {i + 1} must be a mapping", item_line(steps, i))
    return _github_steps(ctx, project, path, steps, dict(step.with_), path, stack + [path])
