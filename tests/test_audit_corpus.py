"""An audit of a cluster holding the corpus's plain manifests finds what ``guidecheck scan`` finds in those files.

The test API server (tests/kube_server.py) is loaded with the objects of every
plain manifest of ``shared/corpus/dev`` that a real cluster would hold:

* objects of client-side or foreign formats are left out (kustomize and
  skaffold configuration, ``*List`` kinds, ``v1`` kinds that are not core
  kinds), and so are deprecated API versions a current API server no longer
  serves (``extensions/v1beta1``, ``apps/v1beta1``, ``autoscaling/v2beta2``, ...);
* of objects whose (group, kind, namespace, name) occurs more than once, only
  the first (by path) is kept: a cluster holds one;
* Secrets are left out (an audit reads only their metadata, by design), and so
  are objects controlled by a workload (the audit checks their controller);
* an object without a namespace is applied, as ``kubectl apply`` would, to the
  ``default`` namespace: on the scan side it is given that namespace too, so
  that both sides relate the same objects to each other.

The scan side is what ``guidecheck scan`` does (the loader, then the engine
with every rule) on those objects; the audit side is ``guidecheck audit``
through the real kubernetes client.  Findings must be equal but for their
location (file:line vs cluster/<context>/<namespace>/<Kind>/<name>).  The same
objects as a dump (``--dump`` then ``--from-dump``) give the same findings too.
"""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SHARED
from guidecheck import engine
from guidecheck.catalog import load_rules
from guidecheck.cli import main
from guidecheck.cluster.objects import checked_through_owner
from guidecheck.config import load_config
from guidecheck.loaders import load
from kube_server import BUILTIN, KubeServer, split_api_version

CORPUS = Path(os.environ.get("GUIDECHECK_CORPUS", SHARED / "corpus" / "dev"))
NOT_IN_CLUSTERS = ("kustomize.config.k8s.io", "skaffold", "descheduler", "kind.x-k8s.io")
LIVE_ONLY = {"GC004"}


def select_cluster_objects(targets, workload_kinds):
    """The corpus objects a real cluster would hold, once each (see the module docstring)."""
    candidates = []
    for t in targets:
        obj = t.data
        api, kind = obj.get("apiVersion"), obj.get("kind")
        name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
        if not (isinstance(api, str) and isinstance(kind, str) and isinstance(name, str) and name.strip() == name
                and name and "/" not in name):
            continue
        group, version = split_api_version(api)
        if kind.endswith("List") or group in NOT_IN_CLUSTERS or kind == "Secret":
            continue
        if kind in BUILTIN and BUILTIN[kind][0] == group:
            if BUILTIN[kind][1] != version:
                continue  # a deprecated version
        elif group == "" or "." not in group and group not in ("apps", "batch", "autoscaling", "policy"):
            continue
        if checked_through_owner(obj, workload_kinds):
            continue
        ns = obj["metadata"].get("namespace")
        if ns is not None and not isinstance(ns, str):
            continue
        candidates.append(t)
    # one version per custom (group, kind): the most common one
    versions = collections.Counter((split_api_version(t.data["apiVersion"])[0], t.data["kind"],
                                    split_api_version(t.data["apiVersion"])[1]) for t in candidates)
    best = {}
    for (g, k, v), n in sorted(versions.items()):
        if (g, k) not in best or n > versions[(g, k, best[(g, k)])]:
            best[(g, k)] = v
    candidates = [t for t in candidates
                  if split_api_version(t.data["apiVersion"])[1] == best[(split_api_version(t.data["apiVersion"])[0],
                                                                          t.data["kind"])]]
    seen: set[tuple] = set()
    out = []
    for t in sorted(candidates, key=lambda t: (t.path, t.line)):
        if key(t.data) not in seen:
            seen.add(key(t.data))
            out.append(t)
    return out


def key(obj) -> tuple:
    return (split_api_version(obj["apiVersion"])[0], obj["kind"], obj["metadata"].get("namespace") or "default",
            obj["metadata"]["name"])


def comparable(findings) -> collections.Counter:
    out = collections.Counter()
    for f in findings:
        obj = f["object"]
        if obj is None or f["rule_id"] in LIVE_ONLY | {"GC001"}:
            continue
        # GC402 words its message for where the object was seen (a file, or a cluster outside any release)
        message = "" if f["rule_id"] == "GC402" else f["message"]
        out[(f["rule_id"], obj["kind"], obj["namespace"] or "default", obj["name"], f["container"], message,
             f["suppressed"])] += 1
    return out


@pytest.fixture(scope="module")
def corpus_case(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS} (set GUIDECHECK_CORPUS)")
    tmp = tmp_path_factory.mktemp("corpus-audit")
    cfg = tmp / "guidecheck.yaml"
    cfg.write_text("settings:\n  audit-resources: ['*', endpoints]\n  audit-exclude-namespaces: []\n")
    config = load_config(str(cfg))
    loaded = load([str(CORPUS)], config)
    k8s_targets = [t for t in loaded.targets if t.kind == "k8s" and isinstance(t.data, dict)]
    chosen = select_cluster_objects(k8s_targets, set(config.settings["workload-kinds"]))
    for t in chosen:  # kubectl apply puts a namespace-less object in "default"
        meta = t.data["metadata"]
        if not meta.get("namespace") and BUILTIN.get(t.data["kind"], ("", "", "", True))[3] \
                and t.data["kind"] not in ("Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
                                           "StorageClass", "CustomResourceDefinition", "APIService",
                                           "VolumeSnapshotClass", "ClusterImageCatalog", "PodSecurityPolicy"):
            meta["namespace"] = "default"
    from guidecheck.reporters.json import finding_json

    scanned = engine.run(load_rules(), chosen, config)
    scan_findings = [finding_json(f) for f in scanned.findings]
    return tmp, cfg, chosen, scan_findings


def test_audit_of_the_corpus_objects_finds_what_scan_finds(corpus_case):
    tmp, cfg, chosen, scan_findings = corpus_case
    assert len(chosen) > 550, len(chosen)  # most of the corpus's ~940 objects are distinct cluster objects
    dump = tmp / "corpus-cluster.json"
    with KubeServer([t.data for t in chosen]) as srv:
        r = CliRunner().invoke(main, ["audit", "--kubeconfig", srv.kubeconfig, "--config", str(cfg), "--no-progress",
                                      "--page-size", "50", "--dump", str(dump), "-f", "json"],
                               catch_exceptions=False)
    report = json.loads(r.stdout)
    assert report["incomplete"] == []
    audit_findings = report["findings"]
    assert all(f["path"].startswith("cluster/test/") and f["line"] == 1 for f in audit_findings)
    scan = comparable(scan_findings)
    live = comparable(audit_findings)
    assert sum(scan.values()) > 500  # the corpus has plenty to find
    print(f"{len(chosen)} objects, {sum(scan.values())} findings compared")
    assert sorted(live - scan) == [] and sorted(scan - live) == []
    # the audit read and checked every object it was given (none dropped, none doubled)
    assert f"{len(chosen)} objects read, {len(chosen)} checked, 0 coverage gap(s)" in r.stderr

    # the same objects as a dump give the same findings, each at its object's line of the dump
    r2 = CliRunner().invoke(main, ["audit", "--from-dump", str(dump), "--config", str(cfg), "-f", "json"],
                            catch_exceptions=False)
    offline = json.loads(r2.stdout)
    assert comparable(offline["findings"]) == live
    assert {f["path"] for f in offline["findings"]} == {str(dump)}
