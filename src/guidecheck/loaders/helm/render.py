"""Rendering: each chart copied into the sandbox, then ``helm template`` once per value profile.

A chart whose dependencies are missing is not rendered; a ``values.schema.json``
that refers outside itself (decided on the parsed document, whatever escapes spell
``$ref``) or does not parse is rendered without Helm's schema validation; a failed
render becomes a GC401 issue on the template line Helm names.  Helm runs isolated
and bounded (:func:`guidecheck.loaders.helm.sandbox.run_limited`).  Successful output goes to
:mod:`guidecheck.loaders.helm.rendered`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from typing import Any

from guidecheck.config import Config
from guidecheck.loaders import Loaded, scratch
from guidecheck.loaders.fs import ReadError, read_text
from guidecheck.loaders.helm.charts import _ChartJob
from guidecheck.loaders.helm.deps import _display_of_copy, _resolve_deps, _source_path
from guidecheck.loaders.helm.options import CLI_PROFILE, DEFAULT_PROFILE, HelmOptions
from guidecheck.loaders.helm.rendered import _add_rendered
from guidecheck.loaders.helm.sandbox import _copy_files, _inside, _sandbox_env, run_limited
from guidecheck.model import SourceFile
from guidecheck.parsers.chart import Issue
from guidecheck.sanitize import path as clean_path

_ERR_AT = re.compile(r"([^\s():\"']+/(?:templates|crds)/[^\s():\"']+?):(\d+)(?::(\d+))?")
_YAML_LINE = re.compile(r"YAML parse error on ([^\s:]+): .*?yaml: line (\d+)")


def _render_all(
    jobs: list[_ChartJob], helm: str, config: Config, opts: HelmOptions, loaded: Loaded, *, fresh: bool = True
) -> None:
    """Render ``jobs``; ``fresh=False`` for a second pass of the same scan (its secrets are still masked)."""
    renders = _start_renders(jobs, helm, opts, fresh=fresh)
    if renders is not None:
        renders.finish(config, opts, loaded)


class _Renders:
    """``helm template`` of every prepared chart and profile, under way in a thread pool from the moment it is
    made (:func:`_start_renders`); :meth:`finish` loads each output as it comes, in order, while the next ones
    still render, then removes the sandbox."""

    def __init__(self, tmp: str, prepared: list, pool: Any, results: Any, run: Any = None) -> None:
        self.tmp = tmp
        self.prepared = prepared
        self.pool = pool
        self.results = results
        self.run = run  # renders one more (job, copy, profile, files, copy time): the ci/ values fallback

    def finish(self, config: Config, opts: HelmOptions, loaded: Loaded) -> None:
        try:
            _load_renders(self.prepared, self.results, self.tmp, config, opts, loaded, self.rerun)
        finally:
            self.close()

    def rerun(self, items: list) -> list:
        """The results of rendering ``items`` too, on the pool's threads (both cores), in their order."""
        if self.run is None:
            return [(1, "", "helm template is not available for another render")] * len(items)
        if self.pool is not None:
            return list(self.pool.map(self.run, items))
        return [self.run(item) for item in items]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def _start_renders(jobs: list[_ChartJob], helm: str, opts: HelmOptions, *, fresh: bool = True) -> _Renders | None:
    """Copy each chart of ``jobs`` into the sandbox and start rendering them (see :class:`_Renders`); None
    when there is nothing to render."""
    from guidecheck.sanitize import forget_secrets

    if fresh:
        forget_secrets()  # the values of an earlier scan in this process are not this one's
    if not jobs:
        return None
    need = sum(
        scratch.size_of(job.abspath, job.inventory) + scratch.size_of(job.root, job.links.values()) for job in jobs
    )
    tmp = scratch.make("helm", need)
    try:
        env = _sandbox_env(tmp, opts.max_memory)
        prepared = []
        for i, job in enumerate(jobs):
            start = time.perf_counter()
            copy_dir = os.path.join(tmp, "charts", str(i), os.path.basename(job.abspath) or "chart")
            for rel, why in _copy_files(
                job.abspath, job.inventory, copy_dir, opts.max_chart_file, links=job.links, link_root=job.root
            ):
                job.model.issues.append(
                    Issue(
                        f"{rel} is not copied into the render sandbox: {why} (limits.max-file-bytes); "
                        "the chart is rendered without it",
                        job.prefix + rel,
                    )
                )
            issues = _resolve_deps(job, copy_dir, job.abspath, opts)
            job.model.issues.extend(issues)
            refs = _external_schema_refs(copy_dir, job)
            job.model.issues.extend(refs)
            job.__dict__["_skip_schema"] = bool(refs)
            copy_time = time.perf_counter() - start
            if issues:
                job.model.skipped = "dependencies missing"
                if opts.verbose:
                    print(
                        f"guidecheck: not rendered {clean_path(job.model.path)}: dependencies missing (GC401)",
                        file=sys.stderr,
                    )
                continue
            for profile, files in job.profiles:
                prepared.append((job, copy_dir, profile, files, copy_time))
            _remember_values_secrets(job, copy_dir, opts)
        workers = max(1, min(len(prepared), os.cpu_count() or 1, 8))
        lock = threading.Lock()

        def run(item):
            job, copy_dir, profile, files, _ = item
            start = time.perf_counter()
            res = _cached_template(helm, copy_dir, job, profile, files, opts, env, tmp)
            with lock:
                job.model.seconds[profile] = time.perf_counter() - start
            return res

        from concurrent.futures import ThreadPoolExecutor

        # a pool even for one render: it runs while the files are read (helm.start), not when it is loaded
        pool = ThreadPoolExecutor(max_workers=workers) if prepared else None
        results = pool.map(run, prepared) if pool is not None else iter(())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _Renders(tmp, prepared, pool, results, run)


def ci_values_files(job: _ChartJob) -> list[str]:
    """chart-testing's value files of the chart (``ci/*-values.yaml``, relative to the chart directory): the
    values ``ct lint`` and ``ct install`` test it with, sorted."""
    return sorted(r for r in job.inventory if r.startswith("ci/") and r.count("/") == 1 and r.endswith("-values.yaml"))


def _ci_fallback(job: _ChartJob, copy_dir: str, copy_time: float) -> list:
    """The render with one of chart-testing's value files, for a chart whose default values did not render:
    ``ci/default-values.yaml`` when there is one, else the first by name.  One: the others are test cases of
    the chart's options, not deployments of it (each would repeat every finding); a configured value profile
    renders any of them (``helm.charts.<dir>.profiles``)."""
    files = [r for r in ci_values_files(job) if r not in {p for p, _f in job.profiles}]
    if not files:
        return []
    rel = next((r for r in files if r == "ci/default-values.yaml"), files[0])
    return [(job, copy_dir, rel, [os.path.join(job.abspath, rel)], copy_time)]


def _load_renders(
    prepared: list, results, tmp: str, config: Config, opts: HelmOptions, loaded: Loaded, rerun: Any = None
) -> None:
    """Every render's output as ``k8s`` targets, its failure as a GC401 issue of its chart.

    A chart whose default values do not render (a value it ``required``s, a schema that wants one) and that
    holds chart-testing's ``ci/*-values.yaml`` is rendered with one of those instead (:func:`_ci_fallback`), as
    ``ct install`` tests it: the default failure becomes a note when it renders, and stays a finding when not.
    """
    # files the walk already read (a chart's crds/ are plain YAML): not loaded twice
    seen_sources: dict[str, SourceFile | None] = {t.path: None for t in loaded.targets if t.kind == "file"}
    values_cache: dict[str, Any] = {}
    queue = list(zip(prepared, results, strict=True))
    fallback_of: dict[int, tuple[Issue, list[str], int]] = {}  # id(job) -> (the default error, ci profiles, others)
    i = 0
    while i < len(queue):
        (job, copy_dir, profile, files, copy_time), (rc, out, err) = queue[i]
        i += 1
        if rc != 0 and profile == DEFAULT_PROFILE and rerun is not None and id(job) not in fallback_of:
            extra = _ci_fallback(job, copy_dir, copy_time)
            if extra:
                error = _render_error(err, job, copy_dir, tmp, profile, files)
                others = len(ci_values_files(job)) - len(extra)
                fallback_of[id(job)] = (error, [p for _j, _c, p, _f, _t in extra], others)
                queue.extend(zip(extra, rerun(extra), strict=True))
                continue
        if rc != 0:
            job.model.issues.append(_render_error(err, job, copy_dir, tmp, profile, files))
            if opts.verbose:
                print(
                    f"guidecheck: failed to render {clean_path(job.model.path)} [{profile}] in "
                    f"{job.model.seconds.get(profile, 0):.2f} s (GC401)",
                    file=sys.stderr,
                )
            continue
        try:
            n_obj, n_work, crds_only = _add_rendered(
                out, job, copy_dir, profile, files, config, opts, loaded, seen_sources, values_cache
            )
        except Exception as exc:  # noqa: BLE001 - never a traceback: the chart is reported as not checked
            loaded.incomplete.append(
                f"{job.model.path} [{profile}]: rendered output not loaded: internal error {type(exc).__name__}: {exc}"
            )
            continue
        job.model.objects[profile] = n_obj
        job.model.rendered[profile] = n_work
        if crds_only:
            job.model.crds_only.add(profile)
        if id(job) in fallback_of and profile in fallback_of[id(job)][1]:  # not another configured profile
            error, ci_profiles, others = fallback_of.pop(id(job))
            more = (
                f" (the other {others} ci/*-values.yaml file(s) render when configured as value profiles)"
                if others
                else ""
            )
            job.model.notes.append(
                Issue(
                    f"the default values do not render "
                    f"({error.message.replace(_REQUIRED_HINT, '').split(': ', 1)[-1][:300]}); rendered with "
                    f"chart-testing's {', '.join(ci_profiles)} instead{more}",
                    job.model.chart_yaml,
                    profile=DEFAULT_PROFILE,
                )
            )
        if opts.verbose:
            print(
                f"guidecheck: rendered {clean_path(job.model.path)} [{profile}] in "
                f"{job.model.seconds.get(profile, 0):.2f} s (copy {copy_time:.2f} s): "
                f"{n_obj} object(s)"
                + (
                    "; dependencies from the tree: " + clean_path(", ".join(job.model.resolved))
                    if job.model.resolved
                    else ""
                ),
                file=sys.stderr,
            )
    for job_id, (
        error,
        _ci,
        _others,
    ) in fallback_of.items():  # no ci/ values file rendered either: the default fails too
        job = next(j for (j, *_rest), _r in queue if id(j) == job_id)
        job.model.issues.insert(0, error)


# keywords through which a JSON Schema validator loads another document
_REF_KEYS = frozenset({"$ref", "$dynamicref", "$recursiveref"})
# meta-schemas Helm's validator has built in (anything else in "$schema" would be loaded)
_KNOWN_METASCHEMAS = frozenset(
    {
        "json-schema.org/schema",
        "json-schema.org/draft-04/schema",
        "json-schema.org/draft-06/schema",
        "json-schema.org/draft-07/schema",
        "json-schema.org/draft/2019-09/schema",
        "json-schema.org/draft/2020-12/schema",
    }
)


def _middle(text: str, limit: int = 100) -> str:
    """``text`` cut in the middle when longer than ``limit``: a reference's file and its definition's name both
    show (nginx-ingress's file://./.../_definitions.json#/definitions/io.k8s.api.core.v1.Container)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 5
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def _external_schema_refs(copy_dir: str, job: _ChartJob) -> list[Issue]:
    """What in a values.schema.json would make Helm read a file or fetch a URL while validating: a ``$ref``
    (``$dynamicRef``, ``$recursiveRef``) that is not local (``#...``), or a ``$schema`` that is not a built-in
    draft.  Decided on the parsed JSON document, so no escape (``"\\u0024ref"``) hides a key; a schema that
    does not parse as strict JSON counts too.  Any of them: the chart is rendered without schema validation
    and each is a GC401 finding at its line."""
    from guidecheck.loaders.fs import ReadError, read_text
    from guidecheck.parsers.yaml import Limits, load_json

    issues = []
    for rel in sorted(r for r in job.inventory if r == "values.schema.json" or r.endswith("/values.schema.json")):
        path = os.path.join(copy_dir, rel)
        if not os.path.isfile(path):
            continue  # not copied (over the size cap): Helm does not see it either
        shown = _display_of_copy(rel, job)
        try:
            text = read_text(path, 8 * 1024 * 1024, root=copy_dir)
        except ReadError as exc:
            issues.append(_schema_issue(f"cannot be read ({exc.error.message})", shown, exc.error.line))
            continue
        docs = load_json(text, Limits())
        errors = [e for d in docs for e in d.errors]
        if errors or len(docs) != 1:
            e = errors[0] if errors else None
            issues.append(
                _schema_issue(f"is not valid JSON ({e.message if e else 'no document'})", shown, e.line if e else 1)
            )
            continue
        # one finding per document referred to, at its first reference: nginx-ingress refers to 68 definitions of one
        # _definitions.json, which one fix (vendoring it under $defs) removes
        by_document: dict[str, list[tuple[str, int]]] = {}
        for key, value, line in _schema_loads(docs[0].data):
            document = value if key == "$schema" else value.split("#", 1)[0] or value
            by_document.setdefault(f"{key} {document}", []).append((value, line))
        for kd, refs in sorted(by_document.items(), key=lambda item: item[1][0][1]):
            value, line = refs[0]
            if kd.startswith("$schema "):
                what = f"names the meta-schema '{_middle(value)}', which Helm does not have built in"
            elif len(refs) == 1:
                what = f"refers to '{_middle(value)}' outside the schema"
            else:
                what = (
                    f"refers to '{_middle(kd.split(' ', 1)[1])}' outside the schema {len(refs)} times (first "
                    f"'{_middle(value)}')"
                )
            issues.append(
                Issue(
                    f"values.schema.json {what}: not followed (Helm would read that file or fetch that URL "
                    "while rendering); the chart is rendered without schema validation: inline the "
                    "definition under $defs",
                    shown,
                    line,
                )
            )
    return issues


def _schema_issue(what: str, shown: str, line: int) -> Issue:
    return Issue(f"values.schema.json {what}: the chart is rendered without schema validation", shown, max(1, line))


def _schema_loads(data: Any) -> list[tuple[str, str, int]]:
    """``(keyword, value, line)`` of every keyword in a parsed schema that would load another document."""
    from guidecheck.parsers.yaml import key_line

    found: list[tuple[str, str, int]] = []
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            k = str(key).lower()
            if k in _REF_KEYS:
                if not (isinstance(value, str) and value.startswith("#")):
                    found.append(("$ref", str(value), key_line(node, key)))
            elif k == "$schema" and isinstance(value, str):
                bare = re.sub(r"^https?://", "", value).rstrip("#")
                if bare not in _KNOWN_METASCHEMAS:
                    found.append(("$schema", value, key_line(node, key)))
            if isinstance(value, (dict, list)):
                stack.append(value)
    found.sort(key=lambda f: (f[2], f[1]))
    return found


def _remember_values_secrets(job: _ChartJob, copy_dir: str, opts: HelmOptions) -> None:
    """The values under secrets' keys in the chart's values files, its profiles' and ``--set``: masked in every
    output from now on (a template's ``fail`` message or a value piped through ``b64enc`` matches no pattern)."""
    from guidecheck.loaders.fs import ReadError
    from guidecheck.parsers.yaml import load_yaml
    from guidecheck.sanitize import remember_secrets

    paths = [os.path.join(copy_dir, r) for r in job.inventory if os.path.basename(r).startswith("values")]
    paths += [f for _, files in job.profiles for f in files]
    pairs: list[tuple[str, object]] = []
    for path in dict.fromkeys(p for p in paths if p.endswith((".yaml", ".yml"))):
        try:
            root = copy_dir if path.startswith(copy_dir + os.sep) else (job.root if _inside(path, job.root) else None)
            text = read_text(path, 8 * 1024 * 1024, root=root)
        except ReadError:
            continue
        for doc in load_yaml(text):
            stack = [doc.data]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    pairs.extend((str(k), v) for k, v in node.items())
                    stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
                elif isinstance(node, list):
                    stack.extend(v for v in node if isinstance(v, (dict, list)))
    for s in opts.cli_set:
        key, _, value = s.partition("=")
        pairs.append((key.rsplit(".", 1)[-1], value))
    # the words of the chart's name and directory are in every path of it: never a secret worth masking
    name = job.target.origin.get("chart_name") or ""
    public = re.split(r"[^A-Za-z0-9]+", f"{job.model.path} {name}") + [name, *job.model.path.split("/")]
    remember_secrets(pairs, public=[w for w in public if w])  # express-gateway's password: express-gateway


def _helm_template(
    helm: str, copy_dir: str, job: _ChartJob, profile: str, files: list[str], opts: HelmOptions, env: dict, tmp: str
) -> tuple[int, str, str]:
    spec = opts.charts.get(job.abspath, {})
    release = str(spec.get("release-name") or opts.release)
    namespace = spec.get("namespace") or opts.namespace
    cmd = [helm, "template", release, copy_dir, "--skip-tests", "--include-crds"]
    if job.__dict__.get("_skip_schema"):
        cmd.append("--skip-schema-validation")  # its external $refs would be read or fetched by Helm
    if namespace:
        cmd += ["--namespace", str(namespace)]
    for f in files:
        cmd += ["--values", _stage_values(f, job, tmp, copy_dir)]
    if profile == CLI_PROFILE:
        for s in opts.cli_set:
            cmd += ["--set", s]
    for a in opts.api_versions:
        cmd += ["--api-versions", a]
    if opts.kube_version:
        cmd += ["--kube-version", opts.kube_version]
    limit = _output_limit(opts)
    r = run_limited(cmd, env=env, cwd=tmp, timeout=opts.timeout, max_stdout=limit, max_memory=opts.max_memory)
    if r.problem == "output cap":
        return (
            125,
            "",
            (
                f"the rendered output is more than the {_size(limit)} guidecheck reads (8 x limits.max-file-bytes); "
                "helm was stopped there"
            ),
        )
    if r.problem is not None:
        return r.returncode, "", r.problem
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0 and ("out of memory" in err or "cannot allocate memory" in err):
        return (
            r.returncode,
            "",
            f"helm ran out of memory: it may use at most {_size(opts.max_memory)} of address space "
            "(helm.max-memory-bytes)",
        )
    if r.returncode < 0:
        return r.returncode, "", f"helm was killed by signal {-r.returncode}"
    return r.returncode, r.stdout.decode("utf-8", "replace"), err


def _cached_template(
    helm: str, copy_dir: str, job: _ChartJob, profile: str, files: list[str], opts: HelmOptions, env: dict, tmp: str
) -> tuple[int, str, str]:
    """:func:`_helm_template`, or a successful render of the same sandbox files, values files, flags and Helm
    binary from the incremental cache (:mod:`guidecheck.cache`). Failed renders are not kept; neither is a
    render with --set values (they may be secrets: never written to disk)."""
    from guidecheck import cache

    if cache.active() is None or (profile == CLI_PROFILE and opts.cli_set):
        return _helm_template(helm, copy_dir, job, profile, files, opts, env, tmp)
    spec = opts.charts.get(job.abspath, {})
    staged = [_stage_values(f, job, tmp, copy_dir) for f in files]
    key = (
        cache.binary_identity(helm),
        cache.tree_digest(copy_dir),
        os.path.basename(copy_dir),
        [
            (
                os.path.relpath(s, copy_dir) if s.startswith(copy_dir + os.sep) else os.path.basename(s),
                cache.file_digest(s),
            )
            for s in staged
        ],
        str(spec.get("release-name") or opts.release),
        spec.get("namespace") or opts.namespace,
        bool(job.__dict__.get("_skip_schema")),
        list(opts.api_versions),
        opts.kube_version,
        _output_limit(opts),
    )

    def render() -> tuple[int, str, str]:
        return _helm_template(helm, copy_dir, job, profile, files, opts, env, tmp)

    return cache.get_or_compute("helm", key, render, lambda r: r[0] == 0)


def _size(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _output_limit(opts: HelmOptions) -> int:
    return opts.max_output


def _stage_values(path: str, job: _ChartJob, tmp: str, copy_dir: str) -> str:
    """Values files inside the chart are read from the copy; others are copied once (no symlink escapes)."""
    rel = os.path.relpath(path, job.abspath)
    if not rel.startswith(".."):
        return os.path.join(copy_dir, rel)
    dest = os.path.join(tmp, "values", str(abs(hash(path))), os.path.basename(path))
    if not os.path.exists(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            inside = _inside(path, job.root)
            text = read_text(path, 8 * 1024 * 1024, root=job.root if inside else None)
        except ReadError:
            text = ""
        with open(dest, "w", encoding="utf-8") as fh:
            fh.write(text)
    return dest


_REQUIRED_HINT = (
    " (the chart's own `required`/`fail`: its values.yaml leaves out a value every deployment gives; give it in "
    "a values file configured as a value profile, helm.charts.<chart dir>.profiles, to have the chart rendered "
    "and checked)"
)


_ASKS_RELEASE = re.compile(
    r"\b(?:installed|deployed|rendered) (?:in|into|to) (?:the )?\S+ namespace\b|\brelease[ -]?name\b", re.I
)


def _render_error(err: str, job: _ChartJob, copy_dir: str, tmp: str, profile: str, files: list[str]) -> Issue:
    text = err.replace(copy_dir + "/", job.prefix).replace(copy_dir, job.model.path).replace(tmp + "/", "")
    text = re.sub(r"Use --debug flag to render out invalid YAML", "", text)
    # Helm 4 logs warnings before its error (level=INFO msg="Warning: Dependencies are handled in Chart.yaml ..."):
    # the message is the error, from its "Error:" line on
    lines = text.strip().splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.startswith("Error:")), 0)
    text = re.sub(r"^Error:\s*", "", "\n".join(lines[first:]).strip())
    message = re.sub(r"\s+", " ", text).strip() or "helm template failed"
    chart_name = job.target.origin.get("chart_name") or ""
    path, line, col = job.model.chart_yaml, 1, 1
    m = _ERR_AT.search(text)
    ym = _YAML_LINE.search(text)
    if m:
        resolved = _source_path(m.group(1), job, chart_name)
        if resolved:
            path, line, col = resolved[0], int(m.group(2)), int(m.group(3) or 1)
    elif ym:
        resolved = _source_path(ym.group(1), job, chart_name)
        if resolved:
            path, line = resolved[0], int(ym.group(2))
            message += " (a line of the rendered document)"
    elif "values don't meet the specifications of the schema" in text:
        schema = job.prefix + "values.schema.json"
        path = schema if "values.schema.json" in job.inventory else job.model.chart_yaml
    if len(message) > 600:
        message = message[:600] + "..."
    if message.startswith("execution error at") and _ASKS_RELEASE.search(message):
        # rancher/fleet's fleet-agent: "This chart must be installed in the cattle-fleet-system namespace" (or
        # "with release name fleet-agent"): the render's release, not a value, is what the chart refuses
        message += (
            " (the chart's own `fail` on the release it is rendered as: give the namespace or release name it asks "
            "for as helm.charts.<chart dir>.namespace / release-name in .guidecheck.yaml)"
        )
    elif profile == DEFAULT_PROFILE and message.startswith("execution error at"):
        # the chart's own `required` or `fail`: a value every deployment must give (aws-load-balancer-controller's
        # clusterName), which its values.yaml leaves out on purpose
        message += _REQUIRED_HINT
    return Issue(f"helm template failed [profile {profile}]: {message}", path, line, col, profile)
