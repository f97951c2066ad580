#!/usr/bin/env python3
"""Benchmark guidecheck (and Checkov, side by side) on the real-world corpus.

Run by hand, not by the tests (see benchmarks/README.md)::

    .venv/bin/python benchmarks/bench.py                 # corpus: ../shared/corpus/dev
    .venv/bin/python benchmarks/bench.py --no-checkov    # guidecheck only
    .venv/bin/python benchmarks/bench.py --audit         # audit --from-dump, 10k/20k objects, each dump format
    .venv/bin/python benchmarks/bench.py --audit-live    # guidecheck audit of the test API server, 2,500-20,000
    .venv/bin/python benchmarks/bench.py --parsers       # in-process timings of the hostile-input cases
    .venv/bin/python benchmarks/bench.py --kustomize     # the corpus's kustomizations: rendered or not, time

Prints a Markdown table.  Every command runs as its own process and is measured
with ``os.wait4`` (Linux): wall time, CPU time (user + system) and peak resident
memory of that process and the worker processes it waited for (Checkov runs
parallel workers; their CPU time counts, the peak is the largest process's).
Small timings are the median of ``--repeat`` runs after one warm-up run; the
corpus scans run ``--corpus-repeat`` times each, alternating the two tools, so
that both see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = Path("/tmp/bench-checkov-venv")


@dataclass
class Measure:
    wall: float
    cpu: float
    rss_mb: float
    rc: int


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None, timeout: float = 3600) -> Measure:
    """Run ``cmd`` with its output discarded; measure that process alone."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise SystemExit(f"timed out after {timeout} s: {' '.join(cmd)}")
            time.sleep(0.002)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def median(ms: list[Measure]) -> Measure:
    return Measure(
        statistics.median(m.wall for m in ms),
        statistics.median(m.cpu for m in ms),
        max(m.rss_mb for m in ms),
        ms[-1].rc,
    )


def guidecheck_cmd() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "guidecheck"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("guidecheck")
    return [found] if found else [sys.executable, "-m", "guidecheck"]


def checkov_cmd(install: bool) -> list[str] | None:
    exe = CHECKOV_VENV / "bin" / "checkov"
    if not exe.exists() and install:
        print(f"installing checkov=={CHECKOV_VERSION} into {CHECKOV_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run(
            [str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", f"checkov=={CHECKOV_VERSION}"], check=True
        )
    if not exe.exists():
        return None
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip()
    if version != CHECKOV_VERSION:
        print(f"warning: checkov {version!r} found, the comparison is defined for {CHECKOV_VERSION}", file=sys.stderr)
    return [str(exe)]


def count_files(corpus: Path) -> tuple[int, int]:
    """Files guidecheck reads in the corpus (YAML, JSON, Dockerfiles) and their bytes."""
    sys.path.insert(0, str(ROOT / "src"))
    from guidecheck.loaders.fs import walk

    w = walk(str(corpus))
    size = 0
    for f in w.files:
        try:
            size += os.stat(f.abspath).st_size
        except OSError:
            pass
    return len(w.files), size


def small_repo() -> Path:
    for candidate in (ROOT / "examples" / "compliant-service", ROOT / "fixtures" / "golden"):
        if candidate.is_dir():
            return candidate
    raise SystemExit("no small repository to scan (examples/compliant-service or fixtures/golden)")


def top_charts(corpus: Path) -> list[Path]:
    """Application charts of the corpus that are not vendored subcharts (what guidecheck renders)."""
    out = []
    for chart_yaml in sorted(corpus.rglob("Chart.yaml")):
        d = chart_yaml.parent
        if d.parent.name == "charts" and (d.parent.parent / "Chart.yaml").is_file():
            continue
        if "type: library" in chart_yaml.read_text(errors="replace"):
            continue
        out.append(d)
    return out


def vendored_copy(chart: Path, charts: list[Path], dest: Path) -> Path:
    """A copy of ``chart`` with its missing dependencies taken from sibling charts of the corpus (by name),
    as guidecheck resolves them, so that plain ``helm template`` can render it offline."""
    import re

    copy = dest / chart.name
    shutil.copytree(chart, copy, symlinks=True)
    names = {c.name: c for c in charts}
    for lib in chart.parent.glob("*/Chart.yaml"):
        names.setdefault(lib.parent.name, lib.parent)
    text = (chart / "Chart.yaml").read_text(errors="replace")
    for name in re.findall(r"^\s*-?\s*name:\s*[\"']?([A-Za-z0-9_.-]+)", text.split("dependencies:", 1)[-1], re.M):
        src = names.get(name)
        if src and not (copy / "charts" / name).exists() and src != chart:
            shutil.copytree(src, copy / "charts" / name, symlinks=True)
    return copy


def helm_bench(corpus: Path, gc: list[str], env: dict, out: Path, repeat: int) -> None:
    """Render time: ``helm template`` alone on each chart vs guidecheck scanning all of them (all rules)."""
    import re

    helm = shutil.which("helm", path=str(ROOT / ".tools" / "bin") + os.pathsep + env.get("PATH", ""))
    if helm is None:
        print("\nHelm: no helm found (scripts/install-test-tools.sh); render times not measured.")
        return
    charts = top_charts(corpus)
    prepared = Path(tempfile.mkdtemp(prefix="gc-bench-helm-"))
    rows = []
    total_helm = 0.0
    for i, chart in enumerate(charts):
        copy = vendored_copy(chart, charts, prepared / str(i))
        ms = [
            run([helm, "template", "release-name", str(copy), "--skip-tests", "--include-crds"], env=env)
            for _ in range(repeat)
        ]
        m = median(ms)
        rows.append((chart, m))
        if m.rc == 0:
            total_helm += m.wall
    genv = {**env, "PATH": str(Path(helm).parent) + os.pathsep + env.get("PATH", "")}
    libraries = [
        p.parent for p in sorted(corpus.rglob("Chart.yaml")) if "type: library" in p.read_text(errors="replace")
    ]
    scan = [*gc, "scan", "--verbose", "-q", "-f", "json", "-o", str(out / "charts.json"), *map(str, charts + libraries)]
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.run(scan, env=genv, stdout=subprocess.DEVNULL, stderr=err)
            runs.append(time.perf_counter() - start)
            err.seek(0)
            log = err.read().decode("utf-8", "replace")
    rendered = dict(re.findall(r"guidecheck: rendered (\S+) \[default\] in ([0-9.]+) s", log))
    wall = statistics.median(runs)
    version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True).stdout.strip()
    print(f"\nHelm render time ({Path(helm).name} {version}; {len(charts)} application charts; median of {repeat}):\n")
    print("| chart | `helm template` alone, s | rendered by guidecheck in, s |")
    print("|---|---:|---:|")
    for chart, m in rows:
        rel = chart.relative_to(corpus)
        mine = rendered.get(str(chart))
        alone = f"{m.wall:.3f}" if m.rc == 0 else f"fails ({m.rc})"
        print(f"| {rel} | {alone} | {mine if mine else 'not rendered (GC401)'} |")
    ratio = wall / total_helm if total_helm else float("inf")
    ok = "met" if ratio < 2 else "NOT met"
    print(f"| **all charts: `helm template` one by one** | **{total_helm:.2f}** | |")
    print(f"| **guidecheck scan of all charts (every rule, exit {proc.returncode})** | | **{wall:.2f}** |")
    print(f"\nguidecheck / helm template alone: {ratio:.2f}x (target < 2x: {ok}).")
    shutil.rmtree(prepared, ignore_errors=True)


def kustomize_bench(corpus: Path, gc: list[str], env: dict, repeat: int) -> int:
    """The corpus's kustomizations: which render, which not and why, and what rendering costs the scan."""
    import json
    import re

    tools = str(ROOT / ".tools" / "bin") + os.pathsep + env.get("PATH", "")
    kubectl = shutil.which("kubectl", path=tools)
    if kubectl is None:
        print("kustomize: no kubectl found (scripts/install-test-tools.sh); not measured.")
        return 1
    genv = {**env, "PATH": tools}
    files = sorted(p for n in ("kustomization.yaml", "kustomization.yml", "Kustomization") for p in corpus.rglob(n))
    out = Path(tempfile.mkdtemp(prefix="gc-bench-kustomize-"))
    scan = [*gc, "scan", str(corpus), "--verbose", "-q", "-f", "json", "-o", str(out / "k.json")]
    walls, log = [], ""
    for _ in range(repeat):
        with tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            subprocess.run(scan, env=genv, stdout=subprocess.DEVNULL, stderr=err)
            walls.append(time.perf_counter() - start)
            err.seek(0)
            log = err.read().decode("utf-8", "replace")
    off = median(
        [
            run([*gc, "scan", str(corpus), "--no-render", "-q", "-f", "json", "-o", str(out / "n.json")], env=genv)
            for _ in range(repeat)
        ]
    )
    rendered = {
        Path(k).resolve(): v for k, v in re.findall(r"guidecheck: rendered (\S+) \(kustomize\) in ([0-9.]+) s", log)
    }
    report = json.loads((out / "k.json").read_text())
    failed = {
        Path(f["path"]).resolve().parent: f["message"]
        for f in report["findings"]
        if f["rule_id"] == "GC401" and (f.get("object") or {}).get("kind") in ("Kustomization", "Component")
    }
    counts = {"rendered": 0, "through others": 0, "not rendered": 0}
    version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout.split("\n")
    print(f"Kustomizations of `{corpus}` ({len(files)}; {' '.join(v.strip() for v in version if v)}):\n")
    print("| kustomization | result |")
    print("|---|---|")
    for f in files:
        d = f.parent.resolve()
        if d in rendered:
            what, key = f"rendered in {rendered[d]} s", "rendered"
        elif d in failed:
            what, key = "not rendered: " + failed[d][:120], "not rendered"
        else:
            what, key = "checked through the kustomizations that list it", "through others"
        counts[key] += 1
        print(f"| {f.parent.relative_to(corpus)} | {what} |")
    total = sum(float(v) for v in rendered.values())
    print(
        f"\n{counts['rendered']} rendered (kustomize time {total:.2f} s summed over the units, up to "
        f"{min(4, os.cpu_count() or 1)} at a time), {counts['through others']} checked through others, "
        f"{counts['not rendered']} not rendered."
    )
    print(
        f"guidecheck scan of the corpus: {statistics.median(walls):.2f} s wall (median of {repeat}); with "
        f"--no-render (neither Helm nor kustomize): {off.wall:.2f} s wall, {off.cpu:.2f} s CPU."
    )
    return 0


def fmt(m: Measure) -> tuple[str, str, str]:
    return f"{m.wall:.2f}", f"{m.cpu:.2f}", f"{m.rss_mb:.0f}"


def synthetic_objects(n: int) -> list[dict]:
    """``n`` cluster objects as an API server holds them (managedFields included), in 50 namespaces.

    Per 10 objects: 3 Deployments, 2 Services, 2 ConfigMaps, 1 Secret, and a ReplicaSet and a Pod
    controlled by one of the Deployments (read, but checked through their Deployment).
    """
    managed = [
        {
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": "2026-11-01T10:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {f"f:l{i}": {} for i in range(12)}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {}}}},
            },
        }
    ]
    out: list[dict] = []
    i = 0
    while len(out) < n:
        ns = f"team-{i % 50:02d}"
        name = f"svc-{i:05d}"
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop", "tier": "web"}
        helm = i % 2 == 0
        meta_labels = {
            **labels,
            **({"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": f"{name}-1.0.0"} if helm else {}),
        }
        ann = {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns} if helm else {}
        container = {
            "name": "app",
            "image": f"registry.example.com/shop/{name}:1.0.{i % 9}-3f2c1ab",
            "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9100, "name": "metrics"}],
            "env": [{"name": f"SETTING_{k}", "value": f"value-{k}"} for k in range(8)],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        }
        if i % 3:
            container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}}
        pod_spec = {"containers": [container], "serviceAccountName": name}
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": meta_labels,
                    "annotations": ann,
                    "managedFields": managed,
                },
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                },
                "status": {"replicas": 2, "readyReplicas": 2},
            }
        )
        if len(out) % 10 in (1, 4):
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "namespace": ns, "labels": meta_labels},
                    "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
                }
            )
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"{name}-config", "namespace": ns},
                    "data": {"application.yaml": "server:\n  port: 8080\n" * 20},
                }
            )
        if len(out) % 10 == 7:
            rs = f"{name}-5d8f7c9b6"
            owner = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "controller": True, "uid": "u"}]
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {"name": rs, "namespace": ns, "ownerReferences": owner},
                    "spec": {
                        "selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                    },
                }
            )
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{rs}-x2x9q",
                        "namespace": ns,
                        "labels": labels,
                        "ownerReferences": [{**owner[0], "kind": "ReplicaSet", "name": rs}],
                    },
                    "spec": pod_spec,
                    "status": {"phase": "Running"},
                }
            )
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": f"{name}-key", "namespace": ns, "labels": {"guidecheck.io/key": "jwt"}},
                    "type": "Opaque",
                    "data": {"key": "c2VjcmV0" * 64},
                }
            )
        i += 1
    return out[:n]


def serve(n: int) -> int:
    """``--serve N``: a test API server with N synthetic objects, in its own process (see audit_bench)."""
    import json as _json

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "src"))
    from kube_server import KubeServer

    objs = synthetic_objects(n)
    raw_mb = sum(len(_json.dumps(o)) for o in objs) / 1e6
    with KubeServer(objs) as srv:
        print(_json.dumps({"kubeconfig": srv.kubeconfig, "mb": raw_mb}), flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin
    return 0


def audit_bench(sizes: list[int], env: dict) -> int:
    """``guidecheck audit`` of a test API server (tests/kube_server.py) holding N objects, one process each.

    The server runs in a process of its own: a process's peak RSS as ``wait4`` reports it includes the
    memory of the process that forked it, so the measuring process must stay small.
    """
    import json as _json

    gc = guidecheck_cmd()
    out = Path(tempfile.mkdtemp(prefix="gc-bench-audit-"))
    # a child's peak RSS includes its parent's at fork time (vfork/exec keep the high-water mark):
    # measure everything before this process reads any report
    empty = run([*gc, "--version"], env=env)
    measured = []
    for n in sizes:
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            info = _json.loads(server.stdout.readline())
            cmd = [
                *gc,
                "audit",
                "--kubeconfig",
                info["kubeconfig"],
                "--isolated",
                "--no-progress",
                "-q",
                "-f",
                "json",
                "-o",
                str(out / f"audit-{n}.json"),
            ]
            run(cmd, env=env)  # warm-up
            m = run(cmd, env=env)
            text = run([*cmd[:-4], "-f", "text", "-o", str(out / f"audit-{n}.txt")], env=env)
            junit = run([*cmd[:-4], "-f", "junit", "-o", str(out / f"audit-{n}.xml")], env=env)
        finally:
            server.stdin.close()
            server.wait(timeout=60)
        measured.append((n, info["mb"], m, text, junit))
    rows = []
    for n, mb, m, text, junit in measured:
        report = _json.loads((out / f"audit-{n}.json").read_text())
        rows.append((n, mb, m, text, junit, len(report["findings"]), len(report["incomplete"])))
    print(
        f"guidecheck audit of the test API server (HTTPS on 127.0.0.1, the real kubernetes client, "
        f"500 objects per page); {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}.\n"
    )
    print(
        "| objects | JSON served MB | wall s | CPU s | peak RSS MB (JSON report) | peak RSS MB (JUnit report) "
        "| peak RSS MB (text report) | objects/s | findings | incomplete |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, raw_mb, m, text, junit, nf, ni in rows:
        print(
            f"| {n} | {raw_mb:.1f} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mb:.0f} | {junit.rss_mb:.0f} | "
            f"{text.rss_mb:.0f} | {n / m.wall:.0f} | {nf} | {ni} |"
        )
    if len(rows) >= 2:
        (n1, _, m1, t1, j1, _, _), (n2, mb2, m2, t2, j2, _, _) = rows[0], rows[-1]

        def growth(a, b):
            return (b.rss_mb - a.rss_mb) * 1024 / (n2 - n1)

        print(
            f"\nMemory growth between {n1} and {n2} objects: {growth(t1, t2):.1f} KB of peak RSS per object with "
            f"the text report, {growth(m1, m2):.1f} KB with the JSON report and {growth(j1, j2):.1f} KB with the "
            f"JUnit report (both list every rule's outcome on every object); each object is "
            f"{mb2 * 1e3 / n2:.1f} KB of JSON on the wire. `guidecheck --version` alone: {empty.rss_mb:.0f} MB."
        )
    print(f"Reports in `{out}`.")
    return 0


def _parser_cases() -> list[tuple[str, Callable[[], object]]]:
    """What the tests once bounded in wall-clock seconds (they bound CPU time now): hostile inputs for
    the pure parsers and patterns.  Imports are inside each case, so a moved module fails its row only."""
    import textwrap

    def dockerfile(text: str):
        def case():
            from guidecheck.parsers.docker import parse_dockerfile

            return parse_dockerfile(text)

        return case

    def yaml(text: str, max_line: int | None = None):
        def case():
            from guidecheck.parsers.yaml import Limits, load_yaml

            return load_yaml(text, Limits(max_line_length=max_line)) if max_line else load_yaml(text)

        return case

    def cron_every_minute():
        from guidecheck.parsers import cron

        cron._cron_worst_gap.cache_clear()
        return cron.worst_gap("* * * * *", "Europe/Madrid")

    def judge_image():
        from guidecheck.checks import workloads
        from guidecheck.config import DEFAULT_SETTINGS

        return workloads.judge_image("{{" * 500 + "$(" * 500, DEFAULT_SETTINGS["floating-tags"])

    def sanitize():
        from guidecheck.sanitize import clean, mask_secrets

        for s in (
            "a." * 500_000,
            "password" * 100_000,
            "-----BEGIN RSA PRIVATE KEY-----" * 30_000,
            "Ab1" * 300_000,
            "://" * 300_000,
            "\x1b" * 1_000_000,
        ):
            clean(s)
            mask_secrets(s[:200_000])

    def odd_globs():
        from guidecheck.checks import repo

        inv = ["a" * 200 + "/" + "b" * 200 + ".py", "src/app.py"]
        for pattern in ["[", "[]", "[!", "**", "***", "a/**/**/b", "\\", "(", "?*?*?*?*?*?*?*?*?*x"]:
            repo.analyse_tests(inv, {"unit-test-patterns": {"python": [pattern]}})

    manifest = textwrap.dedent("""\
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: d{i}
          labels: {{app: a{i}, tier: web}}
        spec:
          replicas: 2
          template:
            spec:
              containers:
                - name: c
                  image: nginx:1.25
                  ports: [{{containerPort: 8080}}]
                  resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}
        """)
    laughs = ROOT / "fixtures" / "hostile" / "yaml" / "billion_laughs.yaml"
    return [
        (
            "Dockerfile: RUN with 20,000 continuations",
            dockerfile(
                "FROM alpine:3.19\nRUN true \\\n"
                + "".join(f"    && echo line{i} \\\n" for i in range(20000))
                + "    && true\nUSER 1000\n"
            ),
        ),
        ("Dockerfile: a 1 MB line", dockerfile("FROM alpine\nRUN echo " + "A" * 1_000_000 + ' "unclosed ${X:-\n')),
        (
            "Dockerfile: 10,000 heredocs and labels",
            dockerfile("FROM alpine:3.20\n" + 'RUN <<EOF\necho x\nEOF\nLABEL a=b c="d"\n' * 9999),
        ),
        ("YAML: billion laughs", yaml(laughs.read_text(encoding="utf-8") if laughs.is_file() else "a: 1\n")),
        ("YAML: 1 MB, 3,000 manifests", yaml("".join(manifest.format(i=i) for i in range(3000)))),
        ("YAML: 200,000 nested complex keys", yaml("? " * 200_000 + "x\n---\nok: 1\n", 10**7)),
        ("cron: worst gap of * * * * * over a year", cron_every_minute),
        ("image reference: 1,000 unclosed placeholders", judge_image),
        ("sanitize: 6 hostile texts of 0.6-1 MB", sanitize),
        ("globs: 9 odd unit-test patterns", odd_globs),
    ]


def parser_bench(repeat: int) -> int:
    """``--parsers``: wall and CPU time (this process) of each case, median of ``repeat`` runs."""
    sys.path.insert(0, str(ROOT / "src"))
    print(
        f"In-process timings, median of {repeat} runs after a warm-up; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}.\n"
    )
    print("| case | wall s | CPU s |")
    print("|---|---:|---:|")
    failed = 0
    for name, case in _parser_cases():
        try:
            case()  # warm-up: imports, caches
            walls, cpus = [], []
            for _ in range(repeat):
                w0, c0 = time.perf_counter(), time.process_time()
                case()
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
        except Exception as exc:  # noqa: BLE001 - one broken case must not hide the others
            print(f"| {name} | failed: {type(exc).__name__}: {exc} | |")
            failed += 1
            continue
        print(f"| {name} | {statistics.median(walls):.3f} | {statistics.median(cpus):.3f} |")
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    ap.add_argument(
        "--small",
        type=Path,
        default=None,
        help="small service repository (default: examples/compliant-service, else fixtures/golden)",
    )
    ap.add_argument("--repeat", type=int, default=5, help="runs of the small timings (median)")
    ap.add_argument("--corpus-repeat", type=int, default=1, help="runs of each corpus scan (median)")
    ap.add_argument("--no-checkov", action="store_true", help="skip Checkov")
    ap.add_argument("--no-helm", action="store_true", help="skip the Helm render-time table")
    ap.add_argument("--helm-only", action="store_true", help="only the Helm render-time table")
    ap.add_argument("--no-install", action="store_true", help="do not create the Checkov venv when missing")
    ap.add_argument(
        "--audit",
        action="store_true",
        help="benchmark guidecheck audit --from-dump instead (benchmarks/audit.py: 10k/20k objects, each format)",
    )
    ap.add_argument("--audit-live", action="store_true", help="benchmark guidecheck audit of the test API server")
    ap.add_argument(
        "--audit-objects",
        default=None,
        help="comma-separated object counts (default: 10000,20000 for --audit, 2500,10000,20000 for --audit-live)",
    )
    ap.add_argument(
        "--parsers",
        action="store_true",
        help="in-process timings of the hostile-input cases the tests bound in CPU time",
    )
    ap.add_argument("--kustomize", action="store_true", help="the corpus's kustomizations and their render time")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.kustomize:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        return kustomize_bench(args.corpus.resolve(), guidecheck_cmd(), env, args.repeat)
    if args.serve is not None:
        return serve(args.serve)
    if args.parsers:
        return parser_bench(args.repeat)
    if args.audit:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from audit import main as audit_main

        sizes = ["--objects", args.audit_objects] if args.audit_objects else []
        return audit_main([*sizes, "--repeat", str(min(args.repeat, 3))])
    if args.audit_live:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "KUBECONFIG")}
        sizes = args.audit_objects or "2500,10000,20000"
        return audit_bench([int(x) for x in sizes.split(",") if x.strip()], env)
    return corpus_bench(args)


def corpus_bench(args: argparse.Namespace) -> int:
    """The default: guidecheck's start and small scan, then the corpus against Checkov, then Helm."""
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        raise SystemExit(f"corpus not found: {corpus}")
    small = (args.small or small_repo()).resolve()
    gc = guidecheck_cmd()
    # as an installed tool runs: with its bytecode cache (this sandbox sets PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("NO_COLOR", "1")
    ck = None if args.no_checkov else checkov_cmd(install=not args.no_install)

    n_files, n_bytes = count_files(corpus)
    out = Path(tempfile.mkdtemp(prefix="gc-bench-"))
    if args.helm_only:
        helm_bench(corpus, gc, env, out, args.repeat)
        return 0

    # warm-up: bytecode caches, rule catalogue cache, file system cache
    run([*gc, "--version"], env=env)
    run([*gc, "scan", str(small), "-q", "-f", "json", "-o", str(out / "warm.json")], env=env)
    run([*gc, "scan", str(corpus), "-q", "-f", "json", "-o", str(out / "warm-corpus.json")], env=env)

    version = median([run([*gc, "--version"], env=env) for _ in range(args.repeat)])
    small_scan = median(
        [
            run([*gc, "scan", str(small), "-q", "-f", "json", "-o", str(out / "small.json")], env=env)
            for _ in range(args.repeat)
        ]
    )

    gc_runs, ck_runs = [], []
    for _ in range(args.corpus_repeat):
        gc_runs.append(run([*gc, "scan", str(corpus), "-q", "-f", "json", "-o", str(out / "gc.json")], env=env))
        if ck:
            ck_runs.append(
                run(
                    [
                        *ck,
                        "-d",
                        str(corpus),
                        "--framework",
                        "kubernetes",
                        "dockerfile",
                        "--skip-download",
                        "--compact",
                        "--quiet",
                        "-o",
                        "json",
                    ],
                    cwd=out,
                    env=env,
                )
            )
    gc_corpus = median(gc_runs)
    ck_corpus = median(ck_runs) if ck_runs else None

    print(
        f"Corpus: `{corpus}` ({n_files} YAML/JSON/Dockerfile files, {n_bytes / 1e6:.1f} MB); "
        f"small repository: `{small.relative_to(ROOT) if small.is_relative_to(ROOT) else small}`; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}.\n"
    )
    print("| measurement | wall s | CPU s | peak RSS MB | files/s (wall) | target |")
    print("|---|---:|---:|---:|---:|---|")
    w, c, r = fmt(version)
    print(f"| `guidecheck --version` | {w} | {c} | {r} | | |")
    w, c, r = fmt(small_scan)
    ok = "met" if small_scan.wall < 0.3 else "NOT met"
    print(f"| guidecheck scan, small repository | {w} | {c} | {r} | | < 0.3 s incl. start: {ok} |")
    w, c, r = fmt(gc_corpus)
    print(f"| guidecheck scan, corpus | {w} | {c} | {r} | {n_files / gc_corpus.wall:.0f} | |")
    if ck_corpus:
        w, c, r = fmt(ck_corpus)
        print(
            f"| Checkov {CHECKOV_VERSION}, corpus (kubernetes, dockerfile) | {w} | {c} | {r} | "
            f"{n_files / ck_corpus.wall:.0f} | |"
        )
        ratio_wall = ck_corpus.wall / gc_corpus.wall
        ratio_cpu = ck_corpus.cpu / gc_corpus.cpu if gc_corpus.cpu else float("inf")
        ok = "met" if ratio_wall >= 5 else "NOT met"
        print(
            f"| **Checkov / guidecheck** | **{ratio_wall:.1f}x** | **{ratio_cpu:.1f}x** | "
            f"{ck_corpus.rss_mb / gc_corpus.rss_mb:.1f}x | | >= 5x: {ok} |"
        )
    print(
        f"\nExit codes: guidecheck {gc_corpus.rc} (1 = findings)"
        + (f", Checkov {ck_corpus.rc} (1 = failed checks)" if ck_corpus else "")
        + f"; reports in `{out}`."
    )
    if not args.no_helm:
        helm_bench(corpus, gc, env, out, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
