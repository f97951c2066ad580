"""GitLab CI pipelines into :mod:`guidecheck.parsers.ci.model` (a pure parser: parsed YAML in).

:func:`parse_gitlab` adds one GitLab pipeline (a ``.gitlab-ci.yml``) to its
:class:`Project`: ``include:`` (local files read through the loader's
:data:`Reader`, wildcards matched against the project's inventory; remote,
project, template and component includes recorded, not fetched), ``extends:``
(hashes deep-merged, other values replaced, as GitLab does), ``default:`` and
the old top-level keywords, ``!reference [job, key]`` in scripts,
``rules:``/``only:``/``except:``/``when:`` as triggers and manual gates, and
parent-child pipelines (``trigger: include:`` a local file).  Hidden jobs
(``.name``) are templates only.  Ill-typed files are returned as
:class:`PipelineError` s.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any

from guidecheck import globs
from guidecheck.parsers.ci.common import MAX_DEPTH, Parse, PipelineError, Reader, norm_local, scalar, type_name
from guidecheck.parsers.ci.model import Include, Job, PipelineFile, Project, Step, Trigger
from guidecheck.parsers.yaml import item_line, key_line, line_of, value_line

# GitLab top-level keywords that are not jobs
GITLAB_GLOBALS = frozenset(
    {
        "image",
        "services",
        "stages",
        "types",
        "before_script",
        "after_script",
        "variables",
        "cache",
        "include",
        "default",
        "workflow",
        "spec",
    }
)
GITLAB_DEFAULT_STAGES = [".pre", "build", "test", "deploy", ".post"]

Keyword = tuple[Any, str, int]  # a keyword's value, and the display path and line it was written at
Keywords = dict[str, Keyword]  # a job's keywords
Resolved = dict[str, "Keywords | None"]  # job name -> its keywords with extends: resolved


class _Entry:
    """A GitLab top-level entry (job or template) merged across files: key -> (value, path, line)."""

    def __init__(self, name: str, path: str, line: int):
        self.name = name
        self.path = path
        self.line = line
        self.keys: dict[str, Keyword] = {}


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


def parse_gitlab(project: Project, main: str, read: Reader) -> list[PipelineError]:
    """Add the GitLab pipeline ``main`` (a display path) to the project; ``read`` gives it and what it includes.

    Returns the errors found, in order.
    """
    ctx = Parse(project, read)
    _gitlab(ctx, project, main)
    return ctx.errors


def _gitlab(ctx: Parse, project: Project, main: str, parent: Job | None = None, depth: int = 0) -> None:
    """One GitLab pipeline (the main one, or a child pipeline started by ``parent``'s ``trigger:``)."""
    pf = PipelineFile("gitlab", main)
    project.files.append(pf)
    entries: dict[str, _Entry] = {}
    globals_: dict[str, Keyword] = {}
    seen: list[str] = []
    _gitlab_file(ctx, project, pf, main, entries, globals_, seen, 0, main)
    if not seen:
        return
    stages = _stages(ctx, globals_.get("stages"))
    if parent is None:
        project.stages = list(stages)
    default = globals_.get("default")
    default_map = default[0] if default and isinstance(default[0], dict) else {}
    remote_includes = any(i.kind != "local" for i in pf.includes)
    resolved: Resolved = {}
    made: list[tuple[Job, Keywords]] = []
    for name in sorted(entries, key=lambda n: (entries[n].path, entries[n].line)):
        if name.startswith("."):
            continue
        e = entries[name]
        keys = _gitlab_resolve(ctx, entries, name, resolved, [], remote_includes)
        if keys is None:
            continue
        job = _gitlab_job(ctx, project, e, keys, default_map, globals_, stages, entries, resolved, remote_includes)
        if job is not None:
            made.append((job, keys))
    ids = {j.id for j, _ in made}
    allowed = _workflow_events(ctx, globals_.get("workflow"))
    for job, _keys in made:
        job.needs = [(parent.id + "/" if parent is not None else "") + n for n in job.needs if n in ids]
        job.file = main
        job.stage_index = stages.index(job.stage) if job.stage in stages else 0
        job.triggers = _created_triggers(job.triggers, allowed)
        if parent is not None:
            _as_child(job, parent)
        project.jobs.append(job)
        pf.jobs.append(job.id)
    if not pf.jobs and not remote_includes:
        ctx.error(main, "the pipeline defines no visible job (GitLab rejects it)", 1)
    for job, keys in made:  # parent-child pipelines: trigger: include: <local file>
        _child_pipelines(ctx, project, job, keys.get("trigger"), depth)


def _stages(ctx: Parse, stages_v: Keyword | None) -> list[str]:
    """The pipeline's stage order, with ``.pre`` and ``.post``."""
    stages = GITLAB_DEFAULT_STAGES
    if stages_v is not None:
        if isinstance(stages_v[0], list) and all(isinstance(s, str) for s in stages_v[0]):
            stages = [".pre", *stages_v[0], ".post"]
        else:
            ctx.error(stages_v[1], "'stages:' must be a list of stage names", stages_v[2])
    return stages


def _created_triggers(triggers: list[Trigger], allowed: set[str] | None) -> list[Trigger]:
    """A job's triggers in the pipelines that are created.

    workflow: rules decide which pipelines are created at all; without them, branch and
    merge-request pipelines.
    """
    created = allowed if allowed is not None else {"push", "merge_request"}
    expanded: list[Trigger] = []
    for t in triggers:
        for ev in sorted(created) if t.event == "*" else [t.event]:
            if (allowed is None or ev in allowed) and all(x.event != ev for x in expanded):
                expanded.append(Trigger(ev, t.path, t.line, t.detail))
    return expanded


def _as_child(job: Job, parent: Job) -> None:
    """A job of a child pipeline runs when, and after what, its parent's trigger job does."""
    job.id = parent.id + "/" + job.id
    job.parent = parent.id
    job.name = f"{parent.label} / {job.label}"
    job.triggers = list(parent.triggers)
    job.needs += list(parent.needs)
    if parent.manual and not job.manual:
        job.manual, job.manual_why = True, f"child pipeline of manual job '{parent.label}' ({parent.manual_why})"


def _child_pipelines(ctx: Parse, project: Project, job: Job, trig: Keyword | None, depth: int) -> None:
    """Follow ``trigger: include:`` of a local file (a child pipeline); note what is not followed."""
    if trig is None or not isinstance(trig[0], dict) or "include" not in trig[0]:
        if trig is not None and isinstance(trig[0], (str, dict)):
            project.notes.append(f"job '{job.label}' ({job.where()}) triggers another project's pipeline; not followed")
        return
    inc = trig[0]["include"]
    items = inc if isinstance(inc, list) else [inc]
    for item in items:
        ref = item if isinstance(item, str) else item.get("local") if isinstance(item, dict) else None
        if not isinstance(ref, str):
            project.notes.append(
                f"child pipeline of job '{job.label}' ({job.where()}) is not a local file; not followed"
            )
            continue
        child = norm_local(project, ref)
        if child is None or not ctx.exists(child):
            ctx.error(trig[1], f"job '{job.label}': child pipeline {ref} does not exist in the repository", trig[2])
            continue
        if depth >= MAX_DEPTH or any(f.path == child for f in project.files):
            project.notes.append(
                f"child pipeline {ref} ({trig[1]}:{trig[2]}) already read or nested too deep; not followed again"
            )
            continue
        _gitlab(ctx, project, child, parent=job, depth=depth + 1)


def _workflow_events(ctx: Parse, workflow: Keyword | None) -> set[str] | None:
    """Events for which ``workflow: rules:`` creates a pipeline (None: any)."""
    if workflow is None or not isinstance(workflow[0], dict):
        return None
    rules = workflow[0].get("rules")
    if not isinstance(rules, list):
        return None
    events: set[str] = set()
    for r in rules:
        if not isinstance(r, dict) or scalar(r.get("when")) == "never":
            continue
        cond = scalar(r.get("if"))
        if not cond:
            return None  # a catch-all rule
        events.update(_gitlab_rule_events(cond))
    return events


def _gitlab_file(
    ctx: Parse,
    project: Project,
    pf: PipelineFile,
    path: str,
    entries: dict[str, _Entry],
    globals_: Keywords,
    seen: list[str],
    depth: int,
    main: str,
) -> None:
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
        ctx.error(path, "a GitLab CI file is a mapping of jobs and keywords", line_of(data))
        return
    if data.get("include") is not None:
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
                if not ctx.all_data(target) and ctx.exists(target):
                    continue
                _gitlab_file(ctx, project, pf, target, entries, globals_, seen, depth + 1, main)
    _gitlab_keys(ctx, path, data, entries, globals_)


def _gitlab_keys(ctx: Parse, path: str, data: dict[Any, Any], entries: dict[str, _Entry], globals_: Keywords) -> None:
    """A file's top-level keys: global keywords into ``globals_``, jobs and templates into ``entries``."""
    for key, value in data.items():
        if not isinstance(key, str):
            ctx.error(path, f"top-level key {key!r} must be a string", key_line(data, key))
            continue
        line = key_line(data, key)
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
            ctx.error(path, f"job '{key}' must be a mapping (its keywords), not {type_name(value)}", line)
            continue
        e = _Entry(key, path, line)
        for k, v in value.items():
            if isinstance(k, str):
                e.keys[k] = (v, path, key_line(value, k))
        if key in entries:
            _merge_entry(entries[key], e)
            entries[key].path, entries[key].line = path, line
        else:
            entries[key] = e


def _gitlab_includes(ctx: Parse, project: Project, path: str, data: Any) -> list[Include]:
    out = _include_entries(ctx, path, data)
    for include in out:
        if include.kind != "local":
            project.notes.append(
                f"{include.kind} include {include.ref} ({include.path}:{include.line}) is recorded, not fetched"
            )
            continue
        _resolve_local(ctx, project, path, include)
    return out


def _include_entries(ctx: Parse, path: str, data: Any) -> list[Include]:
    """The entries of a file's ``include:`` as written (a path, a mapping or a list of them)."""
    inc = data["include"]
    line = key_line(data, "include")
    items: list[tuple[Any, int]]
    if isinstance(inc, (str, dict)):
        items = [(inc, value_line(data, "include"))]
    elif isinstance(inc, list):
        items = [(x, item_line(inc, i)) for i, x in enumerate(inc)]
    else:
        ctx.error(path, "'include:' must be a path, a mapping or a list of them", line)
        return []
    out: list[Include] = []
    for item, ln in items:
        if isinstance(item, str):
            kind = "remote" if item.startswith(("http://", "https://")) else "local"
            out.append(Include(kind, item, path, ln))
        elif isinstance(item, dict):
            include = _include_mapping(ctx, path, item, ln)
            if include is not None:
                out.append(include)
        else:
            ctx.error(path, "include entries are paths or mappings", ln)
    return out


def _include_mapping(ctx: Parse, path: str, item: dict[Any, Any], ln: int) -> Include | None:
    for kind in ("local", "remote", "project", "template", "component"):
        if kind in item:
            ref = item[kind]
            if not isinstance(ref, str):
                ctx.error(path, f"'include: {kind}:' must be a string", key_line(item, kind))
                return None
            if kind == "project":
                files = item.get("file")
                ref = f"{ref}:{','.join(files) if isinstance(files, list) else files}"
            return Include(kind, ref, path, key_line(item, kind))
    ctx.error(path, "include entry has none of local:, remote:, project:, template:, component:", ln)
    return None


def _resolve_local(ctx: Parse, project: Project, path: str, include: Include) -> None:
    """The project files a local include brings in (``include.resolved``); wildcards matched."""
    ref = include.ref.strip()
    if "://" in ref:
        return
    rel = ref.lstrip("/")
    if any(c in rel for c in "*?["):
        # GitLab's wildcards: ``*`` within a directory, ``**`` across directories, ``?`` one character
        match = globs.wildcard(posixpath.normpath(rel))
        matches = [project.display(m) for m in sorted(project.inventory) if match(m) and m.endswith((".yml", ".yaml"))]
        include.resolved = matches
        if not matches:
            ctx.error(path, f"local include {ref} matches no file in the repository", include.line)
        return
    target = norm_local(project, rel)
    if target is None:
        ctx.error(path, f"local include {ref} points outside the repository; not followed", include.line)
        return
    relp = target[len(project.root) + 1 :] if project.root else target
    if relp not in project.inventory:
        ctx.error(
            path, f"local include {ref} does not exist in the repository (GitLab fails the pipeline)", include.line
        )
        return
    if not relp.endswith((".yml", ".yaml")):
        ctx.error(path, f"local include {ref} is not a YAML file", include.line)
        return
    include.resolved = [target]


def _gitlab_resolve(
    ctx: Parse, entries: dict[str, _Entry], name: str, memo: Resolved, stack: list[str], remote: bool
) -> Keywords | None:
    if name in memo:
        return memo[name]
    e = entries[name]
    ext = e.keys.get("extends")
    result: dict[str, Keyword] = {}
    if ext is not None:
        value, path, line = ext
        parents = [value] if isinstance(value, str) else value if isinstance(value, list) else None
        if parents is None or not all(isinstance(p, str) for p in parents):
            ctx.error(path, f"job '{name}': 'extends:' must be a job name or a list of them", line)
            parents = []
        for parent in parents:
            if parent in stack or parent == name or len(stack) >= MAX_DEPTH:
                ctx.error(
                    path, f"job '{name}': 'extends: {parent}' is circular or nests deeper than {MAX_DEPTH} levels", line
                )
                continue
            if parent not in entries:
                if not remote:
                    ctx.error(path, f"job '{name}': 'extends: {parent}' names no job or template in the pipeline", line)
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


def _flatten_script(
    ctx: Parse,
    value: Any,
    path: str,
    line: int,
    entries: dict[str, _Entry],
    memo: Resolved,
    remote: bool,
    out: list[tuple[str, int, str]],
    depth: int = 0,
) -> None:
    """Commands of a script keyword as (command, line, path); ``!reference [job, key]`` resolved."""
    if isinstance(value, str):
        # a block scalar (| or >) ends with a newline and starts on the line after its indicator
        out.append((value, line + 1 if value.endswith("\n") else line, path))
    elif isinstance(value, list):
        if (
            len(value) in (2, 3)
            and all(isinstance(x, str) for x in value)
            and value[0] in entries
            and depth < MAX_DEPTH
        ):  # !reference [.job, script]
            ref = _gitlab_resolve(ctx, entries, value[0], memo, [], remote)
            node = ref.get(value[1]) if ref else None
            if node is not None:
                v = node[0]
                if len(value) == 3 and isinstance(v, dict):
                    v = v.get(value[2])
                _flatten_script(ctx, v, node[1], node[2], entries, memo, remote, out, depth + 1)
            return
        for i, item in enumerate(value):
            _flatten_script(ctx, item, path, item_line(value, i, line), entries, memo, remote, out, depth + 1)
    elif value is not None:
        sv = scalar(value)
        if sv is not None:
            out.append((sv, line, path))
        else:
            ctx.error(path, "script lines must be strings or lists of strings", line)


_CI_SOURCE = re.compile(r"\$CI_PIPELINE_SOURCE\s*==\s*[\"']?([a-z_]+)")


def _gitlab_rule_events(cond: str) -> list[str]:
    m = _CI_SOURCE.findall(cond)
    if m:
        mapping = {
            "push": "push",
            "merge_request_event": "merge_request",
            "schedule": "schedule",
            "web": "manual",
            "api": "manual",
            "trigger": "manual",
            "pipeline": "pipeline",
            "parent_pipeline": "pipeline",
            "chat": "manual",
            "external_pull_request_event": "pull_request",
        }
        return sorted({mapping.get(x, x) for x in m})
    if re.search(r"\$CI_COMMIT_TAG\b(?!\s*==\s*null)", cond) and not re.search(
        r"!\s*\$CI_COMMIT_TAG|"
        r"\$CI_COMMIT_TAG\s*==\s*null",
        cond,
    ):
        return ["tag"]
    if "CI_MERGE_REQUEST" in cond:
        return ["merge_request"]
    return ["push"]


def _gitlab_job(
    ctx: Parse,
    project: Project,
    e: _Entry,
    keys: Keywords,
    default_map: dict[Any, Any],
    globals_: Keywords,
    stages: list[str],
    entries: dict[str, _Entry],
    memo: Resolved,
    remote: bool,
) -> Job | None:
    j = Job("gitlab", e.name, e.path, e.line, name=e.name, file=project.main or e.path)
    inherit = keys.get("inherit", (None,))[0]
    use_default = not (isinstance(inherit, dict) and inherit.get("default") is False)

    def kw(name: str) -> Keyword | None:
        if name in keys:
            return keys[name]
        if use_default and name in default_map:
            return (default_map[name], globals_["default"][1], key_line(default_map, name))
        if name in globals_ and name in ("image", "services", "before_script", "after_script"):
            return globals_[name]
        return None

    j.stage = _job_stage(ctx, e, keys.get("stage"), stages, remote)
    j.steps = _job_script(ctx, e, kw, entries, memo, remote)
    j.images = _job_images(kw)
    if "trigger" not in keys and "script" not in keys and not (use_default and "script" in default_map):
        if not remote:
            ctx.error(e.path, f"job '{e.name}' has no 'script:' (nor 'trigger:'): GitLab rejects it", e.line)
    _job_needs(ctx, e, j, keys.get("needs"))
    _job_environment(ctx, e, j, keys.get("environment"))
    _job_when(ctx, e, j, keys, entries, memo, remote)
    return j


def _job_stage(ctx: Parse, e: _Entry, stage: Keyword | None, stages: list[str], remote: bool) -> str | None:
    if stage is None:
        return "test"
    if isinstance(stage[0], str):
        if stage[0] not in stages and not remote:
            ctx.error(stage[1], f"job '{e.name}': stage '{stage[0]}' is not in 'stages:'", stage[2])
        return stage[0]
    ctx.error(stage[1], f"job '{e.name}': 'stage:' must be a stage name", stage[2])
    return None


def _job_script(
    ctx: Parse, e: _Entry, kw: Callable[[str], Keyword | None], entries: dict[str, _Entry], memo: Resolved, remote: bool
) -> list[Step]:
    """before_script, script and after_script commands, one step each."""
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
    return [Step(p, ln, run=c) for c, ln, p in cmds]


def _job_images(kw: Callable[[str], Keyword | None]) -> list[str]:
    images = []
    for key in ("image", "services"):
        node = kw(key)
        if node is None:
            continue
        vals = node[0] if isinstance(node[0], list) else [node[0]]
        for v in vals:
            img = v.get("name") if isinstance(v, dict) else v
            if isinstance(img, str):
                images.append(img)
    return images


def _job_needs(ctx: Parse, e: _Entry, j: Job, needs: Keyword | None) -> None:
    if needs is None:
        return
    nv = needs[0]
    if isinstance(nv, list):
        for n in nv:
            if isinstance(n, str):
                j.needs.append(n)
            elif isinstance(n, dict) and isinstance(n.get("job"), str):
                j.needs.append(n["job"])
    else:
        ctx.error(needs[1], f"job '{e.name}': 'needs:' must be a list", needs[2])


def _job_environment(ctx: Parse, e: _Entry, j: Job, env: Keyword | None) -> None:
    if env is None:
        return
    v, p, ln = env
    if isinstance(v, str):
        j.environment = v
    elif isinstance(v, dict):
        if isinstance(v.get("name"), str):
            j.environment = v["name"]
        j.environment_action = scalar(v.get("action"))
        j.environment_tier = scalar(v.get("deployment_tier"))
    else:
        ctx.error(p, f"job '{e.name}': 'environment:' must be a name or a mapping with name:", ln)


_ONLY_EVENTS = {
    "schedules": "schedule",
    "web": "manual",
    "api": "manual",
    "triggers": "manual",
    "pipelines": "pipeline",
    "tags": "tag",
    "merge_requests": "merge_request",
    "external_pull_requests": "pull_request",
    "chat": "manual",
    "pushes": "push",
}


def _job_when(
    ctx: Parse, e: _Entry, j: Job, keys: Keywords, entries: dict[str, _Entry], memo: Resolved, remote: bool
) -> None:
    """When the job runs: its triggers, conditions and manual gate (rules:, only:, except:, when:)."""
    when = keys.get("when")
    job_manual = bool(when and when[0] == "manual")
    if when is not None and not isinstance(when[0], str):
        ctx.error(when[1], f"job '{e.name}': 'when:' must be a string", when[2])
    rules = keys.get("rules")
    if rules is not None:
        rules = _rules_of(ctx, rules, entries, memo, remote)
    events, manual_rules, auto_rules = _rules_events(ctx, e, j, rules, when)
    only = keys.get("only")
    if only is not None:
        events |= _only_events(j, only[0])
    if keys.get("except") is not None:
        ev = keys["except"][0]
        j.conditions.append("except: " + (", ".join(str(x) for x in ev) if isinstance(ev, list) else str(ev)))
    if not events:
        events = {"*"}  # no rules: the job runs in every pipeline that is created
    line = (rules or only or when or (None, e.path, e.line))[2]
    j.triggers = [Trigger(ev, e.path, line) for ev in sorted(events)]
    if job_manual and not auto_rules and when is not None:
        j.manual, j.manual_why = True, f"when: manual at {when[1]}:{when[2]}"
    elif manual_rules and not auto_rules:
        j.manual, j.manual_why = True, f"rules: when: manual at {manual_rules[0][0]}:{manual_rules[0][1]}"


def _only_events(j: Job, ov: Any) -> set[str]:
    """Events of a job's ``only:`` (its refs); the condition added to the job."""
    refs = ov if isinstance(ov, list) else ov.get("refs") if isinstance(ov, dict) else [ov]
    refs = refs if isinstance(refs, list) else [refs] if refs is not None else []
    j.conditions.append("only: " + ", ".join(str(r) for r in refs))
    return {_ONLY_EVENTS.get(r, "push") for r in refs if isinstance(r, str)}


def _reference(value: Any, entries: dict[str, _Entry]) -> bool:
    """Whether a value read from ``!reference [job, key(, key)]`` names a job or template of the pipeline."""
    return (
        isinstance(value, list)
        and len(value) in (2, 3)
        and all(isinstance(x, str) for x in value)
        and value[0] in entries
    )


def _rules_of(
    ctx: Parse, rules: Keyword, entries: dict[str, _Entry], memo: Resolved, remote: bool, depth: int = 0
) -> Keyword | None:
    """A job's ``rules:`` with ``!reference [job, rules]`` resolved, as a whole or as list items.

    GitLab splices a referenced list into the list that holds it, so each item that is a reference
    becomes the rules it names. A reference to a job the pipeline does not hold (one from a remote,
    template or component include) is left as it is: an item is skipped, and a whole ``rules:``
    that is such a reference is read as no rules when the pipeline has includes guidecheck does
    not read.
    """
    value, path, line = rules
    if depth >= MAX_DEPTH:
        return rules
    if _reference(value, entries):
        ref = _gitlab_resolve(ctx, entries, value[0], memo, [], remote)
        node = ref.get(value[1]) if ref else None
        if node is None:
            return None
        v = node[0]
        if len(value) == 3:
            v = v.get(value[2]) if isinstance(v, dict) else None
            if v is None:
                return None
        return _rules_of(ctx, (v, node[1], node[2]), entries, memo, remote, depth + 1)
    if remote and isinstance(value, list) and len(value) in (2, 3) and all(isinstance(x, str) for x in value):
        return None  # !reference [job, rules] to a job of an include guidecheck does not read
    if not isinstance(value, list) or not any(_reference(r, entries) for r in value):
        return rules
    out: list[Any] = []
    for i, r in enumerate(value):
        if _reference(r, entries):
            sub = _rules_of(ctx, (r, path, item_line(value, i, line)), entries, memo, remote, depth + 1)
            if sub is not None and isinstance(sub[0], list):
                out.extend(sub[0])
        else:
            out.append(r)
    return (out, path, line)


def _rules_events(
    ctx: Parse, e: _Entry, j: Job, rules: Keyword | None, when: Keyword | None
) -> tuple[set[str], list[tuple[str, int]], list[tuple[str, int]]]:
    """(events, manual rules, automatic rules) of a job's ``rules:``; their conditions added to the job."""
    events: set[str] = set()
    manual_rules: list[tuple[str, int]] = []
    auto_rules: list[tuple[str, int]] = []
    if rules is None:
        return events, manual_rules, auto_rules
    rv, rp, rl = rules
    if not isinstance(rv, list):
        ctx.error(rp, f"job '{e.name}': 'rules:' must be a list", rl)
        return events, manual_rules, auto_rules
    for i, r in enumerate(rv):
        if not isinstance(r, dict):
            if isinstance(r, list):
                continue  # !reference of rules
            ctx.error(rp, f"job '{e.name}': each rule must be a mapping", item_line(rv, i, rl))
            continue
        rwhen = scalar(r.get("when")) or (when[0] if when and isinstance(when[0], str) else "on_success")
        cond = scalar(r.get("if")) or ""
        if cond:
            j.conditions.append(f"rules: if {cond}" + (f" (when: {rwhen})" if "when" in r else ""))
        if rwhen == "never":
            continue
        evs = _gitlab_rule_events(cond) if cond else ["*"]  # every pipeline that is created
        events.update(evs)
        (manual_rules if rwhen == "manual" else auto_rules).append((rp, item_line(rv, i, rl)))
    return events, manual_rules, auto_rules


def _vline_for(value: Any, line: int) -> int:
    return line_of(value, line) if isinstance(value, list) else line
