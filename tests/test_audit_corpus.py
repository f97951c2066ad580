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
* objects a scan cannot tell apart by file and line (items of a JSON List whose
  lines are unknown) are left out, since messages quoting them could not be compared;
* an object without a namespace is applied, as ``kubectl apply`` would, to the
  ``default`` namespace: on the scan side it is given that namespace too, so
  that both sides relate the same objects to each other.

The scan side is what ``guidecheck scan`` does (the loader, then the engine
with every rule) on those objects; the audit side is ``guidecheck audit``
through the real kubernetes client.  Findings must be equal but for their
location (file:line vs cluster/<context>/<namespace>/<Kind>/<name>, also where a
message quotes another object's location).  GC602, GC801 and GC803 have a live
part that judges what only a cluster shows (ages, completed backups and restore
tests): there the audit must flag at least the objects the scan flags.  The same
objects as a dump (``--dump`` then ``--from-dump``) give the same findings too.
"""

from __future__ import annotations

import collections
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidecheck import runner
from guidecheck.catalog import load_rules
from guidecheck.cli import main
from guidecheck.cluster.objects import checked_through_owner
from guidecheck.config import load_config
from guidecheck.loaders import load
from guidecheck.parsers.k8s import object_ref

from conftest import SHARED
from kube_server import BUILTIN, KubeServer, split_api_version

CORPUS = Path(os.environ.get("GUIDECHECK_CORPUS", SHARED / "corpus" / "dev"))
NOT_IN_CLUSTERS = ("kustomize.config.k8s.io", "skaffold", "descheduler", "kind.x-k8s.io")
LIVE_ONLY = {"GC004"}
# rules whose live part judges what only a cluster shows (Secret ages, completed backups and restores from
# status and timestamps) in addition to, or instead of, the manifests' schedules: compared by object only
LIVE_PARTS = {"GC602", "GC801", "GC803"}
# what a whole scope lacks (no Fluent Bit pipeline, no alerting) is reported once, on the scope's first
# workload, whose order differs between files and cluster paths: compared by rule and count
ONCE = "reported once, on the first workload"


def select_cluster_objects(targets, workload_kinds):
    """The corpus objects a real cluster would hold, once each (see the module docstring)."""
    candidates = []
    for t in targets:
        obj = t.data
        api, kind = obj.get("apiVersion"), obj.get("kind")
        name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
        if not (
            isinstance(api, str)
            and isinstance(kind, str)
            and isinstance(name, str)
            and name.strip() == name
            and name
            and "/" not in name
        ):
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
    versions = collections.Counter(
        (split_api_version(t.data["apiVersion"])[0], t.data["kind"], split_api_version(t.data["apiVersion"])[1])
        for t in candidates
    )
    best = {}
    for (g, k, v), n in sorted(versions.items()):
        if (g, k) not in best or n > versions[(g, k, best[(g, k)])]:
            best[(g, k)] = v
    candidates = [
        t
        for t in candidates
        if split_api_version(t.data["apiVersion"])[1]
        == best[(split_api_version(t.data["apiVersion"])[0], t.data["kind"])]
    ]
    seen: set[tuple] = set()
    out = []
    for t in sorted(candidates, key=lambda t: (t.path, t.line)):
        if key(t.data) not in seen:
            seen.add(key(t.data))
            out.append(t)
    # objects a scan cannot tell apart by file:line (JSON Lists whose lines are unknown) are left out:
    # messages that quote another object's location could not be compared
    at = collections.Counter((t.path, t.line) for t in out)
    return [t for t in out if at[(t.path, t.line)] == 1]


def flagged(findings, rules) -> set[tuple]:
    return {
        (f["rule_id"], f["object"]["kind"], f["object"]["namespace"] or "default", f["object"]["name"])
        for f in findings
        if f["rule_id"] in rules and f["object"] and not f["suppressed"]
    }


class Spans(dict):
    """``path:line`` → the object whose span (in the scan) holds that line."""

    def __init__(self, chosen):
        super().__init__()
        self.by_path: dict[str, list] = {}
        for t in chosen:
            span = t.origin.get("span") or [t.line, t.line]
            self.by_path.setdefault(t.path, []).append((span[0], span[1], ref_of(t.data)))

    def get(self, loc, default=None):
        path, _, line = loc.rpartition(":")
        for start, end, ref in self.by_path.get(path, ()):
            if start <= int(line) <= end:
                return ref
        return default


def ref_of(obj) -> str:
    meta = obj["metadata"]
    return f"<{obj['kind']}/{meta.get('namespace') or 'default'}/{meta['name']}>"


def key(obj) -> tuple:
    return (
        split_api_version(obj["apiVersion"])[0],
        obj["kind"],
        obj["metadata"].get("namespace") or "default",
        obj["metadata"]["name"],
    )


_LOCATION = re.compile(r"[^\s()'\",;]+:[0-9]+")
# where a cross-object rule looked is a place by nature: the scanned directory, or the cluster
_LOOKED_IN = re.compile(r" \(looked in [^()]*\)$")


def comparable(findings, locations: dict[str, str]) -> collections.Counter:
    """Findings without their location; a location quoted in a message (another object's) becomes that object."""
    out = collections.Counter()
    for f in findings:
        obj = f["object"]
        if obj is None or f["rule_id"] in LIVE_ONLY | LIVE_PARTS | {"GC001"} or f["message"].endswith(ONCE):
            continue
        # GC402 words its message for where the object was seen (a file, or a cluster outside any release)
        message = (
            ""
            if f["rule_id"] == "GC402"
            else _LOCATION.sub(lambda m: locations.get(m.group(0), m.group(0)), _LOOKED_IN.sub("", f["message"]))
        )
        out[
            (
                f["rule_id"],
                obj["kind"],
                obj["namespace"] or "default",
                obj["name"],
                f["container"],
                message,
                f["suppressed"],
            )
        ] += 1
    return out


@pytest.fixture(scope="module")
def corpus_case(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS} (set GUIDECHECK_CORPUS)")
    tmp = tmp_path_factory.mktemp("corpus-audit")
    cfg = tmp / "guidecheck.yaml"
    cfg.write_text("settings:\n  audit-resources: ['*', endpoints]\n  audit-exclude-namespaces: []\n")
    config = load_config(str(cfg))
    # the manifests as files (--no-render: a kustomization's resources stay plain manifests, its patches
    # are no objects), as one cluster holds them: without the deployment units a scan judges
    # cross-object evidence by (a cluster has none)
    loaded = load([str(CORPUS)], config, {"no_render": True})
    k8s_targets = [
        t
        for t in loaded.targets
        if t.kind == "k8s" and isinstance(t.data, dict) and t.origin.get("source") == "manifest"
    ]
    for t in k8s_targets:
        t.origin.pop("unit", None)
        t.origin.pop("unit_kind", None)
    chosen = select_cluster_objects(k8s_targets, set(config.settings["workload-kinds"]))
    for t in chosen:  # kubectl apply puts a namespace-less object in "default"
        meta = t.data["metadata"]
        if (
            not meta.get("namespace")
            and BUILTIN.get(t.data["kind"], ("", "", "", True))[3]
            and t.data["kind"]
            not in (
                "Namespace",
                "PersistentVolume",
                "ClusterRole",
                "ClusterRoleBinding",
                "StorageClass",
                "CustomResourceDefinition",
                "APIService",
                "VolumeSnapshotClass",
                "ClusterImageCatalog",
                "PodSecurityPolicy",
            )
        ):
            meta["namespace"] = "default"
            t.ref = object_ref(t.data)
    for t in chosen:  # helm install stamps its release annotations on every object it creates
        if (t.origin or {}).get("source") == "helm":
            meta = t.data["metadata"]
            ann = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
            meta["annotations"] = {
                **ann,
                "meta.helm.sh/release-name": t.origin.get("release") or "release-name",
                "meta.helm.sh/release-namespace": meta.get("namespace") or "default",
            }
    from guidecheck.reporters.json import finding_json

    scanned = runner.evaluate(chosen, config, load_rules())
    scan_findings = [finding_json(f) for f in scanned.findings]
    return tmp, cfg, chosen, scan_findings


def test_audit_of_the_corpus_objects_finds_what_scan_finds(corpus_case):
    tmp, cfg, chosen, scan_findings = corpus_case
    assert len(chosen) > 550, len(chosen)  # most of the corpus's ~940 objects are distinct cluster objects
    dump = tmp / "corpus-cluster.json"
    with KubeServer([t.data for t in chosen]) as srv:
        r = CliRunner().invoke(
            main,
            [
                "audit",
                "--kubeconfig",
                srv.kubeconfig,
                "--config",
                str(cfg),
                "--no-progress",
                "--page-size",
                "50",
                "--dump",
                str(dump),
                "-f",
                "json",
            ],
            catch_exceptions=False,
        )
    report = json.loads(r.stdout)
    assert report["incomplete"] == []
    audit_findings = report["findings"]
    assert all(f["path"].startswith("cluster/test/") and f["line"] == 1 for f in audit_findings)
    scan = comparable(scan_findings, Spans(chosen))
    cluster_paths = {}
    for t in chosen:
        meta = t.data["metadata"]
        cluster_paths[f"cluster/test/{meta.get('namespace') or '_cluster'}/{t.data['kind']}/{meta['name']}:1"] = ref_of(
            t.data
        )
    live = comparable(audit_findings, cluster_paths)
    assert sum(scan.values()) > 500  # the corpus has plenty to find
    print(f"{len(chosen)} objects, {sum(scan.values())} findings compared")
    if os.environ.get("GUIDECHECK_DIFF"):
        Path(os.environ["GUIDECHECK_DIFF"]).write_text(
            json.dumps({"live_only": sorted(live - scan), "scan_only": sorted(scan - live)}, indent=1)
        )
    assert sorted(live - scan) == [] and sorted(scan - live) == []
    # the rules with a live part flag at least the objects the scan flags; GC803 reports once per cluster
    # or repository, on the first backup in its order (file order vs cluster path order): compared by count
    assert flagged(scan_findings, {"GC602", "GC801"}) <= flagged(audit_findings, {"GC602", "GC801"})
    assert len(flagged(scan_findings, {"GC803"})) == len(flagged(audit_findings, {"GC803"})) == 1
    once = [
        collections.Counter(f["rule_id"] for f in fs if f["message"].endswith(ONCE))
        for fs in (scan_findings, audit_findings)
    ]
    assert once[0] == once[1] == {"GC503": 1, "GC504": 1}, once  # the corpus's manifests hold no Fluent Bit

    # the same objects as a dump give the same findings, each at its object's line of the dump
    r2 = CliRunner().invoke(
        main, ["audit", "--from-dump", str(dump), "--config", str(cfg), "-f", "json"], catch_exceptions=False
    )
    offline = json.loads(r2.stdout)
    dump_lines = {}
    for i, line in enumerate(dump.read_text().splitlines(), 1):
        if line.startswith("{") and not line.startswith('{"apiVersion":"v1","kind":"List"'):
            obj = json.loads(line.rstrip(","))
            if "name" in obj.get("metadata", {}):
                dump_lines[f"{dump}:{i}"] = ref_of(obj)
    assert comparable(offline["findings"], dump_lines) == live
    assert {f["path"] for f in offline["findings"]} == {str(dump)}
