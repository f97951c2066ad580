"""Rendering: each chart copied into the sandbox, then ``helm template`` once per value profile.

A chart whose dependencies are missing is not rendered; a ``values.schema.json``
with an external ``$ref`` is rendered without schema validation; a failed render
becomes a GC401 issue on the template line Helm names.  Successful output goes to
:mod:`guidecheck.loaders.helm.rendered`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from guidecheck.config import Config
from guidecheck.loaders import Loaded
from guidecheck.loaders.fs import ReadError, read_text
from guidecheck.loaders.helm.charts import _ChartJob
from guidecheck.loaders.helm.deps import _display_of_copy, _resolve_deps, _source_path
from guidecheck.loaders.helm.options import CLI_PROFILE, HelmOptions
from guidecheck.loaders.helm.rendered import _add_rendered
from guidecheck.loaders.helm.sandbox import _copy_files, _inside, _sandbox_env
from guidecheck.model import SourceFile
from guidecheck.parsers.chart import Issue
from guidecheck.sanitize import path as clean_path

_ERR_AT = re.compile(r"([^\s():\"']+/(?:templates|crds)/[^\s():\"']+?):(\d+)(?::(\d+))?")
_YAML_LINE = re.compile(r"YAML parse error on ([^\s:]+): .*?yaml: line (\d+)")


def _render_all(jobs: list[_ChartJob], helm: str, config: Config, opts: HelmOptions, loaded: Loaded) -> None:
    if not jobs:
        return
    tmp = tempfile.mkdtemp(prefix="guidecheck-helm-")
    try:
        env = _sandbox_env(tmp)
        prepared = []
        for i, job in enumerate(jobs):
            start = time.perf_counter()
            copy_dir = os.path.join(tmp, "charts", str(i), os.path.basename(job.abspath) or "chart")
            _copy_files(job.abspath, job.inventory, copy_dir)
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
        workers = max(1, min(len(prepared), os.cpu_count() or 1, 8))
        lock = threading.Lock()

        def run(item):
            job, copy_dir, profile, files, _ = item
            start = time.perf_counter()
            res = _helm_template(helm, copy_dir, job, profile, files, opts, env, tmp)
            with lock:
                job.model.seconds[profile] = time.perf_counter() - start
            return res

        if workers == 1:
            results = [run(p) for p in prepared]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, prepared))
        # files the walk already read (a chart's crds/ are plain YAML): not loaded twice
        seen_sources: dict[str, SourceFile | None] = {t.path: None for t in loaded.targets if t.kind == "file"}
        values_cache: dict[str, Any] = {}
        for (job, copy_dir, profile, files, copy_time), (rc, out, err) in zip(prepared, results, strict=True):
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
                n_obj, n_work = _add_rendered(
                    out, job, copy_dir, profile, files, config, opts, loaded, seen_sources, values_cache
                )
            except Exception as exc:  # noqa: BLE001 - never a traceback: the chart is reported as not checked
                loaded.incomplete.append(
                    f"{job.model.path} [{profile}]: rendered output not loaded: "
                    f"internal error {type(exc).__name__}: {exc}"
                )
                continue
            job.model.objects[profile] = n_obj
            job.model.rendered[profile] = n_work
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
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_REF = re.compile(r'"\$ref"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _external_schema_refs(copy_dir: str, job: _ChartJob) -> list[Issue]:
    """``$ref`` in a values.schema.json that is not local (``#/...``): Helm would open the file or fetch the
    URL while validating (even in fixed versions it reads ``file://`` targets), so the chart is rendered
    without schema validation and the reference is a GC401 finding."""
    issues = []
    for dirpath, _dirs, files in os.walk(copy_dir):
        if "values.schema.json" not in files:
            continue
        path = os.path.join(dirpath, "values.schema.json")
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read(8 * 1024 * 1024)
        except OSError:
            continue
        rel = os.path.relpath(path, copy_dir).replace(os.sep, "/")
        shown = _display_of_copy(rel, job)
        for m in _REF.finditer(text):
            ref = m.group(1)
            if ref.startswith("#"):
                continue
            line = text.count("\n", 0, m.start()) + 1
            issues.append(
                Issue(
                    f"values.schema.json refers to '{ref[:100]}' outside the schema: not followed "
                    "(Helm would read that file or fetch that URL while rendering); the chart is "
                    "rendered without schema validation: inline the definition under $defs",
                    shown,
                    line,
                )
            )
    return issues


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
    try:
        p = subprocess.run(cmd, capture_output=True, env=env, timeout=opts.timeout, stdin=subprocess.DEVNULL, cwd=tmp)
    except subprocess.TimeoutExpired:
        return 124, "", f"helm template timed out after {opts.timeout:g} s"
    except OSError as exc:
        return 126, "", f"cannot run {helm}: {exc.strerror}"
    limit = _output_limit(opts)
    if len(p.stdout) > limit:
        return (
            125,
            "",
            (
                f"the rendered output is {_size(len(p.stdout))}, more than the {_size(limit)} "
                "guidecheck reads (8 x limits.max-file-bytes)"
            ),
        )
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def _size(n: int) -> str:
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


def _render_error(err: str, job: _ChartJob, copy_dir: str, tmp: str, profile: str, files: list[str]) -> Issue:
    text = err.replace(copy_dir + "/", job.prefix).replace(copy_dir, job.model.path).replace(tmp + "/", "")
    text = re.sub(r"Use --debug flag to render out invalid YAML", "", text)
    text = re.sub(r"^Error:\s*", "", text.strip())
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
    return Issue(f"helm template failed [profile {profile}]: {message}", path, line, col, profile)
