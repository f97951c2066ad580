#!/usr/bin/env python3
"""Benchmark ``guidecheck audit --from-dump`` on synthetic clusters, in each dump format it reads.

Run by hand (``bench.py --audit`` calls :func:`main`), not by the tests::

    .venv/bin/python benchmarks/audit.py                          # 10,000 and 20,000 objects
    .venv/bin/python benchmarks/audit.py --objects 5000,10000,20000 --repeat 3

A synthetic cluster (:func:`synthetic_cluster`) is what a platform of microservices holds: per
application a Deployment with its Service, PodDisruptionBudget, NetworkPolicy and ConfigMap, a
HorizontalPodAutoscaler (five in six) and a ServiceMonitor (three in four), a ReplicaSet and a Pod
(one in three), a CronJob and a Secret (one in five; with data, as kubectl dumps hold it: guidecheck
drops it); one Namespace per 200 objects (a cluster grows by teams), ``managedFields`` on workloads,
half of the applications Helm-managed.  Each cluster is written three ways, as users produce dumps:

* ``own``: guidecheck's own dump (``guidecheck audit --dump``: a JSON List, one object per line,
  Secrets as metadata only, an ``AuditInfo`` record);
* ``kubectl-json``: ``kubectl get ... -A -o json`` (a ``List``, 4-space indentation, sorted keys);
* ``kubectl-yaml``: ``kubectl get ... -A -o yaml``.

Each audit runs as its own process (``bench.run``: wall, CPU, peak RSS from ``wait4``), median of
``--repeat`` runs after a warm-up; the table gives each format's 2N/N ratio (the goal: <= 2.2) and
the peak RSS per object between the sizes (memory flat per object).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FORMATS = ("own", "kubectl-json", "kubectl-yaml")
PER_APP = 8  # objects per application, on average (see synthetic_cluster)


def _managed(api_version: str) -> list[dict]:
    return [
        {
            "manager": "helm",
            "operation": "Update",
            "apiVersion": api_version,
            "time": "2026-11-01T10:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {f"f:l{i}": {} for i in range(10)}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {}}}},
            },
        }
    ]


def synthetic_cluster(n: int, namespaces: int | None = None) -> list[dict]:
    """``n`` objects of a cluster of microservices, as ``kubectl get -o json`` lists them (see the module docstring).

    ``namespaces``: how many (default: one per 200 objects).
    """
    out: list[dict] = []
    namespaces = namespaces or max(1, n // 200)
    for k in range(namespaces):
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": f"team-{k:03d}", "labels": {"kubernetes.io/metadata.name": f"team-{k:03d}"}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )
    i = 0
    while len(out) < n:
        ns = f"team-{i % namespaces:03d}"
        name = f"svc-{i:05d}"
        sel = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
        helm = i % 2 == 0
        labels = {
            **sel,
            "app.kubernetes.io/part-of": "shop",
            **({"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": f"{name}-1.4.{i % 7}"} if helm else {}),
        }
        ann = {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns} if helm else {}
        meta = {"namespace": ns, "labels": labels, "annotations": ann}
        container = {
            "name": "app",
            "image": f"registry.example.com/shop/{name}:1.0.{i % 9}-3f2c1ab",
            "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9100, "name": "metrics"}],
            "env": [{"name": f"SETTING_{k}", "value": f"value-{k}"} for k in range(6)],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
        }
        if i % 3:
            container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}}
        pod_spec = {"containers": [container], "serviceAccountName": name}
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, **meta, "managedFields": _managed("apps/v1")},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": sel},
                    "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                },
                "status": {"replicas": 2, "readyReplicas": 2},
            }
        )
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, **meta},
                "spec": {
                    "selector": sel,
                    "ports": [
                        {"name": "http", "port": 80, "targetPort": "http"},
                        {"name": "metrics", "port": 9100, "targetPort": "metrics"},
                    ],
                },
            }
        )
        if i % 6 != 5:  # some applications run a fixed number of replicas
            out.append(
                {
                    "apiVersion": "autoscaling/v2",
                    "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": name, **meta},
                    "spec": {
                        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                        "minReplicas": 2,
                        "maxReplicas": 10,
                        "metrics": [
                            {
                                "type": "Resource",
                                "resource": {
                                    "name": "cpu",
                                    "target": {"type": "Utilization", "averageUtilization": 70},
                                },
                            }
                        ],
                    },
                }
            )
        out.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": name, **meta},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": sel}},
            }
        )
        if i % 4 != 3:  # and some are not scraped
            out.append(
                {
                    "apiVersion": "monitoring.coreos.com/v1",
                    "kind": "ServiceMonitor",
                    "metadata": {"name": name, **meta},
                    "spec": {"selector": {"matchLabels": sel}, "endpoints": [{"port": "metrics", "interval": "30s"}]},
                }
            )
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": name, **meta},
                "spec": {
                    "podSelector": {"matchLabels": sel},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 8080}, {"port": 9100}]}],
                },
            }
        )
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{name}-config", **meta},
                "data": {"application.yaml": "server:\n  port: 8080\n" * 10},
            }
        )
        if i % 3 == 0:
            rs = f"{name}-5d8f7c9b6"
            owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "controller": True, "uid": "u"}
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {"name": rs, "namespace": ns, "labels": labels, "ownerReferences": [owner]},
                    "spec": {
                        "selector": {"matchLabels": sel},
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
                        "ownerReferences": [{**owner, "kind": "ReplicaSet", "name": rs}],
                    },
                    "spec": pod_spec,
                    "status": {"phase": "Running"},
                }
            )
        if i % 5 == 0:
            job = {"containers": [{**container, "name": "report", "ports": []}], "restartPolicy": "OnFailure"}
            out.append(
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "metadata": {"name": f"{name}-report", **meta},
                    "spec": {
                        "schedule": f"{i % 60} 3 * * *",
                        "concurrencyPolicy": "Forbid",
                        "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": job}}},
                    },
                }
            )
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": f"{name}-key", "namespace": ns, "labels": {"guidecheck.io/key": "jwt"}},
                    "type": "Opaque",
                    "data": {"key": "c2VjcmV0" * 32},
                }
            )
        i += 1
    return out[:n]


def write_dumps(objs: list[dict], directory: Path, formats=FORMATS) -> dict[str, Path]:
    """The same objects as each dump format (see the module docstring); returns format -> file."""
    sys.path.insert(0, str(ROOT / "src"))
    paths: dict[str, Path] = {}
    if "own" in formats:
        from guidecheck.cluster.dump import DumpWriter
        from guidecheck.cluster.objects import trim

        p = directory / "own.json"  # the names main() expects
        w = DumpWriter(str(p))
        for o in objs:
            w.write(trim(json.loads(json.dumps(o))))
        w.finish({"context": "dump", "time": "2026-11-02T00:00:00Z", "server": "https://127.0.0.1"}, [], [])
        paths["own"] = p
    doc = {"apiVersion": "v1", "items": objs, "kind": "List", "metadata": {"resourceVersion": ""}}
    if "kubectl-json" in formats:
        p = directory / "kubectl.json"
        p.write_text(json.dumps(doc, indent=4, sort_keys=True) + "\n")
        paths["kubectl-json"] = p
    if "kubectl-yaml" in formats:
        import yaml

        p = directory / "kubectl.yaml"
        with p.open("w") as fh:  # through JSON: shared dicts would become YAML anchors, which kubectl never writes
            yaml.dump(
                json.loads(json.dumps(doc)),
                fh,
                Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                default_flow_style=False,
                width=1 << 20,
            )
        paths["kubectl-yaml"] = p
    return paths


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(HERE))
    from bench import guidecheck_cmd, median, run

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", default="10000,20000", help="comma-separated object counts (default: 10000,20000)")
    ap.add_argument("--formats", default=",".join(FORMATS), help=f"dump formats (default: {','.join(FORMATS)})")
    ap.add_argument("--repeat", type=int, default=3, help="runs per size and format (median)")
    ap.add_argument("--keep", action="store_true", help="keep the dumps and reports")
    ap.add_argument("--write", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.write:  # in a process of its own (see below)
        write_dumps(synthetic_cluster(int(args.write[1])), Path(args.write[0]), args.formats.split(","))
        return 0
    sizes = [int(x) for x in args.objects.split(",") if x.strip()]
    formats = [f for f in args.formats.split(",") if f in FORMATS]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "KUBECONFIG")}
    gc = guidecheck_cmd()
    work = Path(tempfile.mkdtemp(prefix="gc-bench-dump-"))
    dumps: dict[int, dict[str, Path]] = {}
    names = {"own": "own.json", "kubectl-json": "kubectl.json", "kubectl-yaml": "kubectl.yaml"}
    for n in sizes:
        d = work / str(n)
        d.mkdir()
        # a child's peak RSS includes its parent's at fork time: the clusters are made in another process,
        # and everything is measured before this one reads any report
        fmt = ",".join(formats)
        subprocess.run([sys.executable, __file__, "--write", str(d), str(n), "--formats", fmt], check=True, env=env)
        dumps[n] = {f: d / names[f] for f in formats}
    empty = run([*gc, "--version"], env=env)
    print(f"measuring {len(sizes) * len(formats)} audits ...", file=sys.stderr)
    results: dict[tuple[int, str], object] = {}
    for f in formats:
        # the sizes alternate run by run, so that the ratio of 2N to N compares runs under the same machine load
        # (measured one size after the other, a slower quarter of an hour made 20,000 objects look superlinear)
        cmds = {}
        for n in sizes:
            cmds[n] = [*gc, "audit", "--from-dump", str(dumps[n][f]), "--isolated", "-q", "-f", "json"]
            cmds[n] += ["-o", str(work / f"report-{n}-{f}.json")]
            run(cmds[n], env=env)  # warm-up
        runs: dict[int, list] = {n: [] for n in sizes}
        for _ in range(max(1, args.repeat)):
            for n in sizes:
                runs[n].append(run(cmds[n], env=env))
        for n in sizes:
            results[(n, f)] = median(runs[n])
    print(
        f"guidecheck audit --from-dump of synthetic clusters (every rule enabled, JSON report); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; median of {args.repeat}.\n"
    )
    print("| objects | format | dump MB | wall s | CPU s | peak RSS MB | objects/s | findings | exit |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    findings: dict[tuple[int, str], int] = {}
    for n in sizes:
        for f in formats:
            m = results[(n, f)]
            report = json.loads((work / f"report-{n}-{f}.json").read_text())
            findings[(n, f)] = len(report["findings"])
            mb = dumps[n][f].stat().st_size / 1e6
            print(
                f"| {n} | {f} | {mb:.1f} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mb:.0f} | {n / m.wall:.0f} | "
                f"{findings[(n, f)]} | {m.rc} |"
            )
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        print(f"\n| format | wall {b}/{a} | CPU {b}/{a} | peak RSS KB per object ({a}..{b}) | goal (on CPU time) |")
        print("|---|---:|---:|---:|---|")
        for f in formats:
            ma, mb_ = results[(a, f)], results[(b, f)]
            ratio = mb_.cpu / ma.cpu
            # on a shared machine wall time measures the neighbours too: the goals are judged on CPU time
            ok = "met" if ratio <= 1.1 * b / a and (a != 10000 or ma.cpu <= 5) else "NOT met"
            per = (mb_.rss_mb - ma.rss_mb) * 1024 / (b - a)
            print(
                f"| {f} | {mb_.wall / ma.wall:.2f} | {ratio:.2f} | {per:.1f} | "
                f"2N in <= 2.2x the time of N, 10k in <= 5 s: {ok} |"
            )
    print(f"\n`guidecheck --version` alone: {empty.rss_mb:.0f} MB peak RSS; dumps and reports in `{work}`.")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
