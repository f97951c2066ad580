"""Helpers for the observability and autoscaling tests: scan a small tree, or objects as if read from a cluster."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from guidecheck import runner
from guidecheck.catalog import load_rules
from guidecheck.config import Config
from guidecheck.model import Target
from guidecheck.parsers import k8s
from guidecheck.parsers.yaml import load_yaml

from conftest import in_process_scan

# the workload the observability and autoscaling rules look at: Deployment shop/cart
CART = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  selector:
    matchLabels: {app: cart}
  template:
    metadata:
      labels: {app: cart}
    spec:
      containers:
        - name: cart
          image: registry.example/cart:1.4.2-3f2c1ab
"""


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def scan_tree(root: Path, files: dict[str, str], select: tuple[str, ...], settings: dict | None = None):
    write_tree(root, files)
    config = Config(select=select)
    if settings:
        config = dataclasses.replace(config, settings={**config.settings, **settings})
    return in_process_scan([root], config)


def found(result, root: Path) -> list[tuple[str, int, str, str]]:
    prefix = str(root) + "/"
    out = []
    for f in result.findings:
        path = "." if f.path == str(root) else (f.path[len(prefix) :] if f.path.startswith(prefix) else f.path)
        out.append((path, f.line, f.rule_id, f.message))
    return sorted(out)


def cluster_targets(text: str, context: str = "prod") -> list[Target]:
    """Objects as the live audit hands them over: k8s targets with origin source 'cluster', no repo target."""
    out = []
    for doc in load_yaml(textwrap.dedent(text).lstrip("\n")):
        obj = doc.data
        if isinstance(obj, dict):
            ref = k8s.object_ref(obj)
            out.append(
                Target(
                    kind="k8s",
                    path=f"cluster/{context}/{ref.namespace}/{ref.kind}/{ref.name}",
                    line=1,
                    ref=ref,
                    data=obj,
                    source=None,
                    origin={"source": "cluster", "repo": f"cluster/{context}"},
                )
            )
    return out


def run_targets(targets: list[Target], select: tuple[str, ...]):
    return runner.evaluate(targets, Config(select=select), load_rules())
