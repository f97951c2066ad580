#!/usr/bin/env python3
"""Is a scan linear in the size of its input?  Generated inputs at two or three sizes, measured side by side.

Run by hand, not by the tests (see benchmarks/README.md)::

    .venv/bin/python benchmarks/scaling.py                  # both tables
    .venv/bin/python benchmarks/scaling.py --manifests 2500,5000 --no-corpus
    .venv/bin/python benchmarks/bench.py --all              # the same, with the rest of issue 14's table

Two inputs, each built in a temporary directory:

* **manifests**: N Kubernetes objects in one directory, as a service platform keeps them: per
  application a Deployment, the Service selecting its pods, a HorizontalPodAutoscaler, a
  ServiceMonitor, a NetworkPolicy, a PodDisruptionBudget and a ConfigMap, spread over a few
  namespaces; half of the applications one file per object, the other half one multi-document
  file each.
* **corpus copies**: the development corpus copied ×1, ×2 and ×4 into sibling directories of one
  root (each copy its own directory of repositories), scanned as one directory argument.
* **test suites**: N sibling directories that each hold the same few objects under the same names,
  as a policy library keeps one test suite per policy (kyverno/policies: 5,000 `.chainsaw-test/` and
  `.kyverno-test/` directories, each with its `badpod01`): every object has N copies, so any work
  per object over its copies is quadratic (a "looked in" message once took 9 of 41 seconds there).

Every scan runs as its own process (``os.wait4``: wall, CPU of the process and its children such
as ``helm``, peak RSS), ``--repeat`` times (median), the sizes interleaved so that each sees the
same load.  The goal (issue 14): twice the input in at most 2.2× the time, four times in 4.4×.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMESPACES = ("payments", "catalog", "identity", "shipping")


def _bench():
    """bench.py's measuring helpers (``run``, ``median``, ``guidecheck_cmd``): one way to time a command."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench

    return bench


# ------------------------------------------------------------------ manifests


def app_objects(i: int) -> list[dict]:
    """The objects of application ``i``: a Deployment and what refers to it (by selector or by name)."""
    ns = NAMESPACES[i % len(NAMESPACES)]
    name = f"app-{i:05d}"
    team = f"team-{i % 13:02d}"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "platform"}
    meta_labels = {
        **labels,
        "team": team,
        "tier": "web" if i % 3 else "worker",
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": f"{name}-1.{i % 7}.0",
    }
    meta = {
        "name": name,
        "namespace": ns,
        "labels": meta_labels,
        "annotations": {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns},
    }
    container = {
        "name": "app",
        "image": f"registry.example.com/platform/{name}:1.{i % 7}.{i % 11}@sha256:{i:064x}",
        "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9100, "name": "metrics"}],
        "env": [{"name": "LOG_FORMAT", "value": "json"}, {"name": "SERVICE", "value": name}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, "team": team}},
                "spec": {"serviceAccountName": name, "containers": [container]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "selector": labels,
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "metrics", "port": 9100, "targetPort": "metrics"},
            ],
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": labels},
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        },
    }
    netpol = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {
            "podSelector": {"matchLabels": labels},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "platform"}}}]}],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
    }
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {**meta, "name": f"{name}-config"},
        "data": {"application.yaml": f"server:\n  port: 8080\nservice: {name}\n"},
    }
    authz = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": labels},
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"requestPrincipals": ["*"]}}]}],
        },
    }
    objs = [deployment, service, hpa, monitor, netpol, pdb, authz, config]
    if i < len(NAMESPACES):  # once per namespace: the JWT issuer for every workload of the namespace
        objs.append(
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "RequestAuthentication",
                "metadata": {"name": "jwt", "namespace": ns},
                "spec": {
                    "jwtRules": [{"issuer": "https://auth.example.com", "jwksUri": "https://auth.example.com/jwks"}]
                },
            }
        )
    if i % 10 == 0:  # the alerting of a team: latency, errors and availability of its services
        rules = []
        for j in range(i, i + 10):
            svc = f"app-{j:05d}"
            rules += [
                {
                    "alert": f"{svc}-latency",
                    "expr": "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket"
                    f'{{service="{svc}"}}[5m]))) > 0.5',
                    "for": "10m",
                },
                {
                    "alert": f"{svc}-errors",
                    "expr": f'sum(rate(http_requests_total{{service="{svc}",code=~"5.."}}[5m])) '
                    f'/ sum(rate(http_requests_total{{service="{svc}"}}[5m])) > 0.05',
                },
                {"alert": f"{svc}-down", "expr": f'up{{service="{svc}"}} == 0', "for": "5m"},
            ]
        objs.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": {**meta, "name": f"{name}-alerts"},
                "spec": {"groups": [{"name": name, "rules": rules}]},
            }
        )
    return objs


def write_manifests(directory: Path, n: int) -> int:
    """``n`` objects in ``directory`` (applications in order, the last one cut short); returns the number of files."""
    import yaml  # PyYAML: guidecheck's own dependency

    directory.mkdir(parents=True, exist_ok=True)
    files = written = 0
    i = 0
    while written < n:
        objs = app_objects(i)[: n - written]
        written += len(objs)
        if i % 2:
            text = "".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in objs)
            (directory / f"app-{i:05d}.yaml").write_text(text)
            files += 1
        else:
            for o in objs:
                kind = o["kind"].lower()
                (directory / f"{o['metadata']['name']}-{kind}.yaml").write_text(yaml.safe_dump(o, sort_keys=False))
                files += 1
        i += 1
    return files


def write_suites(directory: Path, n: int) -> int:
    """``n`` sibling test-suite directories, each with the same Pod, Deployment and Service; returns files."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: badpod01\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx:1.27\n"
    )
    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n"
        "    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n"
        "      containers:\n      - name: web\n        image: web:1.0.0\n"
    )
    svc = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
    )
    for i in range(n):
        suite = directory / f"policy-{i:05d}" / ".chainsaw-test"
        suite.mkdir(parents=True, exist_ok=True)
        (suite / "pod-bad.yaml").write_text(pod)
        (suite / "deploy.yaml").write_text(deploy + "---\n" + svc)
    return 2 * n


def _generated(work: Path, name: str, sizes: list[int], write, label: str) -> list[tuple[str, Path]]:
    """(label, directory) of the input ``write`` makes at each size (``label`` formats ``n`` and ``files``)."""
    inputs = []
    for n in sizes:
        directory = work / f"{name}-{n}"
        files = write(directory, n)
        inputs.append((label.format(n=n, files=files), directory))
    return inputs


# ------------------------------------------------------------------ corpus copies


def copy_corpus(corpus: Path, root: Path, copies: int) -> None:
    """``copies`` copies of ``corpus`` under ``root`` (``root/copy-1``, ...), symlinks kept as symlinks."""
    root.mkdir(parents=True, exist_ok=True)
    for k in range(1, copies + 1):
        shutil.copytree(corpus, root / f"copy-{k}", symlinks=True)


# ------------------------------------------------------------------ measuring


def measure(label: str, inputs: list[tuple[str, Path]], gc: list[str], env: dict, repeat: int, limit: list[float]):
    """Scan each input ``repeat`` times, interleaved; print one table with ratios to the first."""
    bench = _bench()
    run, median = bench.run, bench.median
    out = Path(tempfile.mkdtemp(prefix="gc-scaling-out-"))
    runs: dict[str, list] = {name: [] for name, _ in inputs}
    for _name, path in inputs:  # warm-up: bytecode, file system cache
        run([*gc, "scan", str(path), "-q", "-f", "json", "-o", str(out / "warm.json")], env=env)
    for _ in range(repeat):
        for name, path in inputs:
            runs[name].append(
                run([*gc, "scan", str(path), "-q", "-f", "json", "-o", str(out / f"{name}.json")], env=env)
            )
    for name, ms in runs.items():
        if any(m.rc not in (0, 1) for m in ms):  # 0 clean, 1 findings; anything else did not scan it all
            print(f"warning: {name}: exit codes {[m.rc for m in ms]}, the timings are not of a whole scan")
    base = median(runs[inputs[0][0]])
    print(f"\n{label} (median of {repeat}):\n")
    print("| input | wall s | CPU s | peak RSS MB | wall ratio | CPU ratio | goal |")
    print("|---|---:|---:|---:|---:|---:|---|")
    worst = 0.0
    for (name, _), goal in zip(inputs, limit, strict=True):
        m = median(runs[name])
        rw, rc = m.wall / base.wall, m.cpu / base.cpu
        verdict = "" if goal <= 1 else f"<= {goal:.1f}x: {'met' if rc <= goal else 'NOT met'}"
        if goal > 1:
            worst = max(worst, rc / goal)
        print(f"| {name} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mb:.0f} | {rw:.2f}x | {rc:.2f}x | {verdict} |")
    shutil.rmtree(out, ignore_errors=True)
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    ap.add_argument("--manifests", default="2500,5000", help="object counts of the one-directory scans")
    ap.add_argument("--copies", default="1,2,4", help="corpus copies to compare (the first is the base)")
    ap.add_argument("--suites", default="1000,2000", help="test-suite directory counts (the first is the base)")
    ap.add_argument("--no-suites", action="store_true", help="skip the test-suite directories")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each scan (median)")
    ap.add_argument("--no-corpus", action="store_true", help="only the manifest scans")
    ap.add_argument("--no-manifests", action="store_true", help="only the corpus copies")
    ap.add_argument("--keep", action="store_true", help="keep the generated inputs (their directory is printed)")
    args = ap.parse_args(argv)
    gc = _bench().guidecheck_cmd()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("NO_COLOR", "1")
    env["GUIDECHECK_NO_CACHE"] = "1"  # every run a whole scan: linearity, not the incremental cache
    work = Path(tempfile.mkdtemp(prefix="gc-scaling-"))
    status = 0
    try:
        if not args.no_manifests:
            sizes = [int(x) for x in args.manifests.split(",") if x.strip()]
            inputs = _generated(work, "manifests", sizes, write_manifests, "{n} objects ({files} files), one directory")
            goals = [1.0] + [2.2 * n / sizes[0] / 2 for n in sizes[1:]]
            if measure("One directory of manifests", inputs, gc, env, args.repeat, goals) > 1:
                status = 1
        if not args.no_suites:
            sizes = [int(x) for x in args.suites.split(",") if x.strip()]
            inputs = _generated(work, "suites", sizes, write_suites, "{n} test suites ({files} files), same names")
            goals = [1.0] + [1.1 * n / sizes[0] for n in sizes[1:]]
            if measure("Sibling test suites with the same object names", inputs, gc, env, args.repeat, goals) > 1:
                status = 1
        if not args.no_corpus:
            corpus = args.corpus.resolve()
            if not corpus.is_dir():
                raise SystemExit(f"corpus not found: {corpus}")
            copies = [int(x) for x in args.copies.split(",") if x.strip()]
            inputs = []
            for k in copies:
                copy_corpus(corpus, work / f"corpus-x{k}", k)
                inputs.append((f"corpus x{k}", work / f"corpus-x{k}"))
            goals = [1.0] + [1.1 * k / copies[0] for k in copies[1:]]
            if measure(f"Copies of {corpus.name} under one root", inputs, gc, env, args.repeat, goals) > 1:
                status = 1
    finally:
        if args.keep:
            print(f"\ninputs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
