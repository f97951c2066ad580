"""Google Cloud Build: ``cloudbuild.yaml`` build configurations (and trigger definitions kept beside them).

Each build step is a job (``system: cloudbuild``, id ``<file>:<step id>``) named by
its ``id:``, with one :class:`~guidecheck.parsers.ci.model.Step`; it ``needs`` the
steps it waits for (``waitFor``; by default every step before it, ``waitFor: ['-']``
none).  The step's ``run`` is the command it runs:

* ``script:`` as written;
* ``entrypoint: bash|sh`` with ``args: [-c, "..."]``: the script;
* otherwise the builder's tool and its arguments: ``gcr.io/cloud-builders/docker``
  with ``args: [push, ...]`` runs ``docker push ...``; ``entrypoint: x`` runs ``x args``.

The top-level ``images:`` list is pushed by Cloud Build when the steps succeed: it
becomes a last job ``images`` (after every step) running ``docker push <image>``.

Triggers are not in the build file: they are configured in Google Cloud (or in a
trigger file imported with ``gcloud builds triggers import``: a YAML mapping with
``filename:`` naming the build file and ``github:``/``triggerTemplate:``/
``pubsubConfig:``/``webhookConfig:``, and ``approvalConfig.approvalRequired``).
Such a trigger file gives the job its events and its approval; without one, the
job's trigger is ``cloud-build-trigger`` (configured outside the repository) and
approval cannot be seen.  Plain data in, models out; no I/O.
"""

from __future__ import annotations

import shlex
from typing import Any

from guidecheck.parsers.ci.common import Parse, PipelineError, Reader, scalar, type_name
from guidecheck.parsers.ci.model import Job, PipelineFile, Project, Step, Trigger
from guidecheck.parsers.yaml import item_line, key_line, line_of, value_line

EXTERNAL_TRIGGER = "cloud-build-trigger"
_SHELLS = ("bash", "sh", "/bin/bash", "/bin/sh")


def is_trigger_file(data: Any) -> bool:
    """A Cloud Build trigger definition (``gcloud builds triggers import``) rather than a build config."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("filename"), str)
        and any(k in data for k in ("github", "triggerTemplate", "pubsubConfig", "webhookConfig", "sourceToBuild"))
    )


def is_build_config(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("steps"), list)


def parse_cloudbuild(
    project: Project, path: str, read: Reader, triggers: list[tuple[str, Any]] | None = None
) -> list[PipelineError]:
    """Add the build configuration at ``path`` (display path) to the project; ``triggers`` are the trigger files
    of the project, (display path, data), whose ``filename:`` may name it."""
    ctx = Parse(project, read)
    data = ctx.data(path)
    if not isinstance(data, dict):
        ctx.error(path, f"a Cloud Build configuration is a mapping with steps:, not {type_name(data)}", line_of(data))
        return ctx.errors
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list):
        ctx.error(path, "a Cloud Build configuration needs 'steps:', a list of build steps", key_line(data, "steps"))
        return ctx.errors
    fname = path.rsplit("/", 1)[-1]
    triggers_, manual, why = _triggers(project, path, triggers or [])
    jobs: list[Job] = []
    by_id: dict[str, str] = {}
    for i, raw in enumerate(steps_raw):
        step = _step(ctx, path, steps_raw, i, raw)
        if step is None:
            continue
        sid = scalar(raw.get("id")) or f"step-{i + 1}"
        line = line_of(raw, step.line)
        job = Job("cloudbuild", f"{fname}:{sid}", path, line, name=sid, file=path, triggers=list(triggers_))
        job.manual, job.manual_why = manual, why
        job.steps.append(step)
        job.images.append(str(raw.get("name")))
        wait = raw.get("waitFor")
        if isinstance(wait, list) and "-" in wait:
            job.needs = []
        elif isinstance(wait, list):
            job.needs = [by_id[w] for w in wait if isinstance(w, str) and w in by_id]
        else:  # by default a step waits for every step before it
            job.needs = [j.id for j in jobs]
        by_id[sid] = job.id
        jobs.append(job)
    images = data.get("images")
    if isinstance(images, list):
        push = Job("cloudbuild", f"{fname}:images", path, key_line(data, "images"), name="images", file=path)
        push.triggers, push.manual, push.manual_why = list(triggers_), manual, why
        push.needs = [j.id for j in jobs]  # Cloud Build pushes images: after every step succeeded
        for k, img in enumerate(images):
            if isinstance(img, str) and img.strip():
                line = item_line(images, k, key_line(data, "images"))
                push.steps.append(Step(path, line, name="images", run=f"docker push {img}"))
        if push.steps:
            jobs.append(push)
    elif images is not None:
        ctx.error(path, f"'images:' must be a list of image names, not {type_name(images)}", key_line(data, "images"))
    project.files.append(PipelineFile("cloudbuild", path, list(triggers_), [j.id for j in jobs]))
    project.jobs.extend(jobs)
    return ctx.errors


def _triggers(project: Project, path: str, triggers: list[tuple[str, Any]]) -> tuple[list[Trigger], bool, str]:
    """Events, manual approval and why, from the trigger files naming this build file; else an external trigger."""
    out: list[Trigger] = []
    approval = ""
    for tpath, t in triggers:
        filename = t.get("filename") if isinstance(t, dict) else None
        if not isinstance(filename, str):
            continue
        want = filename.strip().removeprefix("./").lstrip("/")  # relative to the repository root
        if not want or not (path == want or path.endswith("/" + want)):
            continue
        line = key_line(t, "filename")
        gh = t.get("github")
        if isinstance(gh, dict):
            if "push" in gh:
                push = gh.get("push")
                tag = isinstance(push, dict) and "tag" in push
                out.append(Trigger("tag" if tag else "push", tpath, key_line(gh, "push"), _detail(push)))
            if "pullRequest" in gh:
                out.append(Trigger("pull_request", tpath, key_line(gh, "pullRequest"), _detail(gh.get("pullRequest"))))
        tt = t.get("triggerTemplate")
        if isinstance(tt, dict):
            out.append(
                Trigger("tag" if "tagName" in tt else "push", tpath, key_line(t, "triggerTemplate"), _detail(tt))
            )
        if "pubsubConfig" in t or "webhookConfig" in t:
            out.append(Trigger("external", tpath, line, "pubsub/webhook"))
        if "sourceToBuild" in t and not (gh or tt):
            out.append(Trigger("manual", tpath, key_line(t, "sourceToBuild"), "manual trigger"))
        ac = t.get("approvalConfig")
        if isinstance(ac, dict) and ac.get("approvalRequired") is True:
            approval = f"approvalConfig.approvalRequired at {tpath}:{key_line(t, 'approvalConfig')}"
    if not out:
        # configured in Google Cloud: the events (push, pull request, manual) and approvals are not in the files
        out.append(Trigger(EXTERNAL_TRIGGER, path, 1, "a Cloud Build trigger configured outside the repository"))
    return out, bool(approval), approval


def _detail(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}: {scalar(x)}" for k, x in v.items() if scalar(x) is not None)
    return ""


def _step(ctx: Parse, path: str, steps: list[Any], i: int, raw: Any) -> Step | None:
    line = line_of(raw, item_line(steps, i))
    if not isinstance(raw, dict):
        ctx.error(path, f"build step {i + 1} must be a mapping with name: (the builder image)", line)
        return None
    builder = raw.get("name")
    if not isinstance(builder, str):
        ctx.error(path, f"build step {i + 1} has no 'name:' (the builder image it runs)", line)
        return None
    sid = scalar(raw.get("id"))
    script = raw.get("script")
    args = raw.get("args")
    words = [scalar(a) or "" for a in args] if isinstance(args, list) else []
    entry = scalar(raw.get("entrypoint"))
    run_line = line
    if isinstance(script, str):
        run, run_line = script, value_line(raw, "script")
    elif entry in _SHELLS and len(words) >= 2 and words[0] in ("-c", "-ec", "-xc", "-eux", "-ex", "-euc"):
        run, run_line = words[1], value_line(raw, "args")
    else:
        tool = entry or _tool(builder)
        run = " ".join([tool] + [shlex.quote(w) if " " in w else w for w in words]).strip()
        if "args" in raw:
            run_line = key_line(raw, "args")
    return Step(path, run_line or line, name=sid or builder, uses=builder, run=run)


def _tool(builder: str) -> str:
    """The command a builder image runs: gcr.io/cloud-builders/docker -> docker, .../gcloud -> gcloud."""
    base = builder.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    return {"cloud-sdk": "gcloud", "google-cloud-cli": "gcloud", "kubectl": "kubectl"}.get(base, base)
