"""Kustomizations rendered with the real kustomize (kubectl from .tools/bin, see scripts/install-test-tools.sh).

Findings on rendered objects point at the base resource or patch line that causes them, a
defect several overlays share is one finding listing them, consumed files and patches are not
standalone manifests, remote bases are never fetched, and cross-object evidence is matched per
deployment unit (and, for plain manifests, to the nearest copy of its target).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest

from guidecheck.crossref import distance
from guidecheck.loaders.kustomize.binary import find_kustomize
from guidecheck.parsers.kustomization import is_remote, parse
from guidecheck.parsers.yaml import load_yaml

from conftest import FIXTURES, ROOT

KUBECTL = shutil.which("kubectl") or shutil.which("kustomize")
SHOP = FIXTURES / "kustomize" / "shop"
ALTERNATIVES = FIXTURES / "kustomize" / "alternatives"
RULES = "GC306,GC307,GC401,GC403,GC903"

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="run scripts/install-test-tools.sh (real kubectl needed)")


def scan_json(run_cli, *args, cwd=None):
    p = run_cli("scan", "--isolated", "-f", "json", *args, cwd=cwd, timeout=120)
    assert p.returncode in (0, 1, 3), p.stderr
    return p, json.loads(p.stdout)


def located(report):
    return sorted(
        (f["path"], f["line"], f["column"], f["rule_id"], tuple(f.get("units") or ()))
        for f in report["findings"]
        if not f["suppressed"]
    )


# ----------------------------------------------------------------------------- pure parts


def test_remote_references_are_recognised():
    for ref in (
        "https://github.com/example/shop//base?ref=v1",
        "github.com/example/shop/base?ref=v1",
        "git@github.com:example/shop.git",
        "oci://registry.example.com/shop",
        "127.0.0.1:8080/base",
        "example.com/org/repo",
    ):
        assert is_remote(ref), ref
    for ref in ("../../base", "deployment.yaml", "base", "./overlays/prod"):
        assert not is_remote(ref), ref


def test_the_kustomization_model_lists_what_it_consumes_with_lines():
    text = (SHOP / "overlays" / "limits" / "kustomization.yaml").read_text()
    k = parse(load_yaml(text)[0].data)
    assert [(r.what, r.path, r.line) for r in k.refs] == [("resource", "../../base", 5), ("patch", "limits.yaml", 7)]
    assert [(p.path, p.line) for p in k.patches] == [("limits.yaml", 7)]


def test_directory_distance_is_the_steps_between_directories():
    assert distance("k8s/deploy", "k8s/hpa") == 2
    assert distance("a", "a") == 0
    assert distance(".", "release") == 1
    assert distance("kubernetes-manifests", "release") == 2


def test_a_missing_evidence_finding_says_where_it_looked():
    """crossref.looked_in names the unit or the scope a cross-object rule searched (issue 11)."""
    from guidecheck.crossref import looked_in
    from guidecheck.model import ObjectRef, Target

    class Ctx:
        def __init__(self, targets):
            self.targets = targets

        def cached(self, _key, build):
            return build(self)

        def memoized(self, _name, _key, compute):
            return compute()

        def of_kind(self, kind):
            return [t for t in self.targets if t.kind == kind]

    def deployment(path, **origin):
        data = {"kind": "Deployment", "metadata": {"name": "cart"}}
        return Target("k8s", path, 1, ObjectRef("Deployment", None, "cart"), data, origin=origin)

    lone = deployment("repo/k8s/d.yaml", repo="repo/", unit="repo/k8s", unit_kind="manifests")
    copy = deployment("repo/extras/d.yaml", repo="repo/", unit="repo/extras", unit_kind="manifests")
    chart = deployment("repo/chart/templates/d.yaml", repo="repo/", chart="repo/chart", profile="prod")
    chart.origin.update(unit="repo/chart (prod)", unit_kind="helm")
    overlay = deployment("repo/base/d.yaml", repo="repo/", unit="repo/overlays/prod", unit_kind="kustomize")
    live = deployment("cluster/kind-dev/Deployment/cart", repo="cluster/kind-dev")
    named = deployment("d.yaml", repo="")
    assert looked_in(lone, Ctx([lone])) == " (looked in the whole scan)"
    assert looked_in(lone, Ctx([lone, copy])) == (
        " (looked in the manifests nearer to repo/k8s than to its other copies in repo/extras)"
    )
    # a copy in the same directory (velero's base.yaml and with-pv.yaml) sees the same manifests: it bounds nothing
    twin = deployment("repo/k8s/with-pv.yaml", repo="repo/", unit="repo/k8s", unit_kind="manifests")
    assert looked_in(lone, Ctx([lone, twin])) == " (looked in the whole scan)"
    assert looked_in(lone, Ctx([lone, twin, copy])) == (
        " (looked in the manifests nearer to repo/k8s than to its other copies in repo/extras)"
    )
    assert looked_in(chart, Ctx([chart])) == (
        " (looked in its chart rendered with the same values, and in the plain manifests and other "
        "charts' default renderings of the whole scan)"
    )
    assert looked_in(overlay, Ctx([overlay])).startswith(" (looked in each kustomization that renders it")
    assert looked_in(live, Ctx([live])) == " (looked in cluster kind-dev)"
    assert looked_in(named, Ctx([named])) == " (looked in the whole scan)"


# ----------------------------------------------------------------------------- rendering


@needs_kubectl
def test_findings_are_pinned_to_base_and_patch_lines_and_shared_defects_merged(run_cli):
    p, report = scan_json(run_cli, "--select", RULES, "shop", cwd=SHOP.parent)
    assert p.returncode == 1
    assert located(report) == [
        # no HPA in the two overlays without the component: one finding, at the base object, listing both
        ("shop/base/deployment.yaml", 1, 1, "GC903", ("shop/overlays/limits", "shop/overlays/staging")),
        # no limits at all in two overlays; only a CPU limit (set by the patch) in the third
        ("shop/base/deployment.yaml", 17, 11, "GC403", ("shop/overlays/autoscaled", "shop/overlays/staging")),
        ("shop/base/deployment.yaml", 17, 11, "GC403", ("shop/overlays/limits",)),
        # the tag set by the overlay's images: entry, at that entry
        ("shop/overlays/autoscaled/kustomization.yaml", 10, 5, "GC307", ("shop/overlays/autoscaled",)),
        # helmCharts: is not inflated inside kustomize, a remote base is not fetched: not rendered
        ("shop/overlays/helm/kustomization.yaml", 6, 1, "GC401", ("shop/overlays/helm",)),
        # the container and the floating tag the patch adds, at the patch's lines
        ("shop/overlays/limits/limits.yaml", 14, 11, "GC403", ("shop/overlays/limits",)),
        ("shop/overlays/limits/limits.yaml", 15, 18, "GC306", ("shop/overlays/limits",)),
        ("shop/overlays/remote/kustomization.yaml", 4, 1, "GC401", ("shop/overlays/remote",)),
    ]
    fingerprints = Counter(f["fingerprint"] for f in report["findings"])
    assert [fp for fp, n in fingerprints.items() if n > 1] == []
    merged = next(f for f in report["findings"] if f["rule_id"] == "GC903")
    assert merged["object"] == {"kind": "Deployment", "namespace": None, "name": "web"}
    assert merged["rendered"] == {
        "shop/overlays/limits": "Deployment/shop-limits/web",
        "shop/overlays/staging": "Deployment/shop-staging/web",
    }
    assert "looked in each kustomization that renders it" in merged["message"]
    # the patch file is never a workload, the consumed base never a standalone manifest
    assert all(f.get("units") for f in report["findings"])
    targets = {o["target"]["path"] for o in report["outcomes"] if o["rule_id"] == "GC403"}
    assert "shop/overlays/limits/limits.yaml" not in targets


@needs_kubectl
def test_a_fingerprint_stays_the_same_when_an_overlay_is_added(run_cli, tmp_path):
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    _, before = scan_json(run_cli, "--select", "GC403", "shop", cwd=tmp_path)
    shutil.copytree(shop / "overlays" / "staging", shop / "overlays" / "qa")
    _, after = scan_json(run_cli, "--select", "GC403", "shop", cwd=tmp_path)

    def base_gc403(report):
        return {
            f["fingerprint"]: f["units"]
            for f in report["findings"]
            if f["path"] == "shop/base/deployment.yaml" and "cpu and" in f["message"]
        }

    ((fp, units_before),) = base_gc403(before).items()
    assert base_gc403(after) == {fp: sorted([*units_before, "shop/overlays/qa"])}


class _Canary(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms wait for a delayed ACK

    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@needs_kubectl
def test_a_remote_base_is_reported_and_never_fetched(run_cli, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    _Canary.hits = []
    try:
        overlay = tmp_path / "repo" / "overlay"
        overlay.mkdir(parents=True)
        (overlay / "kustomization.yaml").write_text(
            "resources:\n"
            f"  - http://127.0.0.1:{port}/shop/base?ref=v1\n"
            f"  - 127.0.0.1:{port}/shop/other\n"
            f"  - git::http://127.0.0.1:{port}/shop.git//base?ref=main\n"
        )
        # GC401 deselected: the unit that was not rendered makes the scan incomplete (exit 3), never a pass
        p, report = scan_json(run_cli, "--select", "GC403", "repo", cwd=tmp_path)
        assert p.returncode == 3
        assert report["incomplete"] and "is remote: guidecheck never fetches" in report["incomplete"][0]
        assert "3 place(s)" in report["incomplete"][0]
    finally:
        server.shutdown()
        server.server_close()
    assert _Canary.hits == []


DEPLOY_NO_LIMITS = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: web:1.0.0
"""

INLINE_PATCH_TRANSFORMER = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deploy.yaml
transformers:
  - |-
    apiVersion: builtin
    kind: PatchTransformer
    metadata:
      name: limits
    path: PATCH
    target:
      kind: Deployment
"""


def test_an_inline_plugin_configuration_is_no_path_and_its_files_are_read():
    k = parse(load_yaml(INLINE_PATCH_TRANSFORMER.replace("PATCH", "patches/limits.yaml"))[0].data)
    assert [(r.what, r.path, r.line) for r in k.refs] == [
        ("resource", "deploy.yaml", 4),
        ("plugin-input", "patches/limits.yaml", 6),
    ]


@needs_kubectl
def test_an_inline_patch_transformer_renders_with_its_patch(run_cli, tmp_path):
    app = tmp_path / "repo" / "app"
    (app / "patches").mkdir(parents=True)
    (app / "kustomization.yaml").write_text(INLINE_PATCH_TRANSFORMER.replace("PATCH", "patches/limits.yaml"))
    (app / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (app / "patches" / "limits.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: web\n          resources: {limits: {cpu: 500m, memory: 256Mi}}\n"
    )
    p, report = scan_json(run_cli, "--select", "GC401,GC403", "repo", cwd=tmp_path)
    assert p.returncode == 0 and report["findings"] == [], p.stdout
    # without the patch's limits, GC403 fails on the rendered Deployment: it was rendered and checked
    (app / "patches" / "limits.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n"
    )
    p, report = scan_json(run_cli, "--select", "GC401,GC403", "repo", cwd=tmp_path)
    assert [(f["rule_id"], f["path"], f["line"]) for f in report["findings"]] == [("GC403", "repo/app/deploy.yaml", 11)]


@needs_kubectl
def test_an_image_a_patch_adds_is_pinned_to_the_images_entry_that_renames_it(run_cli, tmp_path):
    """nginx-ingress-helm-operator: a patch adds container kube-rbac-proxy with image: kube-rbac-proxy, and the
    kustomization's images: entry renames it and sets the tag; the finding sits on that entry, not on images:."""
    app = tmp_path / "repo" / "app"
    app.mkdir(parents=True)
    (app / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (app / "proxy_patch.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: kube-rbac-proxy\n          image: kube-rbac-proxy\n"
    )
    (app / "kustomization.yaml").write_text(
        "resources: [deploy.yaml]\npatches:\n- path: proxy_patch.yaml\nimages:\n- name: other\n  newTag: v1.0.0\n"
        "- name: kube-rbac-proxy\n  newName: quay.io/brancz/kube-rbac-proxy\n  newTag: v0.18.0\n"
    )
    _p, report = scan_json(run_cli, "--select", "GC307", "repo", cwd=tmp_path)
    got = [(f["path"], f["line"], f["container"]) for f in report["findings"]]
    assert ("repo/app/kustomization.yaml", 7, "kube-rbac-proxy") in got, got


# kubebuilder's manager: its image is `controller`, which an images: entry names and the build may set
CONTROLLER_DEPLOY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
    "      containers:\n        - name: manager\n          image: controller\n"
)


@needs_kubectl
def test_an_overlay_s_images_entry_that_renames_the_base_s_result_is_where_the_image_is(run_cli, tmp_path):
    """kube-green's config/e2e-test overlay retags docker.io/kubegreen/kube-green, the name its base's images:
    entry gives `controller`: the rendered localhost/kubegreen/kube-green:e2e-test comes from the overlay's entry,
    not from the base's (newTag 0.7.1), where the finding sat."""
    base = tmp_path / "repo" / "config" / "manager"
    overlay = tmp_path / "repo" / "config" / "e2e-test"
    base.mkdir(parents=True)
    overlay.mkdir()
    (base / "deploy.yaml").write_text(CONTROLLER_DEPLOY)
    (base / "kustomization.yaml").write_text(
        "resources: [deploy.yaml]\nimages:\n- name: controller\n  newName: docker.io/kubegreen/kube-green\n"
        "  newTag: 0.7.1\n"
    )
    (overlay / "kustomization.yaml").write_text(
        "resources: [../manager]\nimages:\n  - name: docker.io/kubegreen/kube-green\n"
        "    newName: localhost/kubegreen/kube-green\n    newTag: e2e-test\n"
    )
    _p, report = scan_json(run_cli, "--select", "GC307", "repo", cwd=tmp_path)
    got = sorted((f["path"], f["line"], f["message"].split("'")[1]) for f in report["findings"])
    # the base is a unit only through the overlay that lists it
    assert got == [("repo/config/e2e-test/kustomization.yaml", 3, "localhost/kubegreen/kube-green:e2e-test")], got


@needs_kubectl
def test_an_images_entry_the_build_edits_is_a_placeholder_under_its_new_name(run_cli, tmp_path):
    """jobset's config/components/manager renames `controller` to its staging registry with newTag: main, and
    its Makefile runs `kustomize edit set image controller=${IMAGE_TAG}` there before every build: the rendered
    ...jobset:main is the placeholder the build fills in, as `controller:latest` is where no entry renames it."""
    app = tmp_path / "repo" / "config" / "manager"
    app.mkdir(parents=True)
    (app / "deploy.yaml").write_text(CONTROLLER_DEPLOY)
    (app / "kustomization.yaml").write_text(
        "resources: [deploy.yaml]\nimages:\n- name: controller\n  newName: registry.example.com/jobset/jobset\n"
        "  newTag: main\n"
    )
    _p, report = scan_json(run_cli, "--select", "GC306", "repo", cwd=tmp_path)
    assert [f["message"].split("'")[1] for f in report["findings"]] == ["registry.example.com/jobset/jobset:main"]
    (tmp_path / "repo" / "Makefile").write_text(
        "deploy:\n\tcd config/manager && $(KUSTOMIZE) edit set image controller=${IMAGE_TAG}\n"
    )
    _p, report = scan_json(run_cli, "--select", "GC306", "repo", cwd=tmp_path)
    assert report["findings"] == [], report["findings"]


@needs_kubectl
def test_a_long_build_error_keeps_its_hint(run_cli, tmp_path):
    """kubernetes-engine-samples' tgi overlays: kustomize's error names two long paths; the hint comes after."""
    deep = tmp_path / "repo" / ("models-" + "x" * 200) / ("overlay-" + "y" * 200)
    deep.mkdir(parents=True)
    (deep.parent / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (deep / "kustomization.yaml").write_text("# a header\n\nresources:\n  - ../deploy.yaml\n")
    _p, report = scan_json(run_cli, "--select", "GC401", "repo", cwd=tmp_path)
    [f] = report["findings"]
    assert f["line"] == 4 and f["message"].endswith("set kustomize.load-restrictor: none)"), f["message"]
    assert "..." in f["message"]


@needs_kubectl
def test_files_outside_a_kustomization_s_directory_need_load_restrictor_none(run_cli, tmp_path):
    repo = tmp_path / "repo"
    (repo / "config" / "bases").mkdir(parents=True)
    (repo / "config" / "waf").mkdir()
    (repo / "config" / "bases" / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (repo / "config" / "waf" / "kustomization.yaml").write_text("resources:\n  - ../bases/deploy.yaml\n")
    # kustomize's default restrictor refuses the file; the finding says what the build may be doing instead
    p, report = scan_json(run_cli, "--select", "GC401,GC403", "repo", cwd=tmp_path)
    [f] = report["findings"]
    # at the resource entry that reaches out (its line, not the file's first)
    assert (f["rule_id"], f["path"], f["line"]) == ("GC401", "repo/config/waf/kustomization.yaml", 2)
    assert "is not in or below" in f["message"] and "set kustomize.load-restrictor: none" in f["message"]
    # a trusted configuration turns it off as `kustomize build --load-restrictor LoadRestrictionsNone` does
    trusted = tmp_path / "trusted.yaml"
    trusted.write_text("kustomize:\n  load-restrictor: none\n")
    p, report = scan_json(run_cli, "--config", str(trusted), "--select", "GC401,GC403", "repo", cwd=tmp_path)
    assert [(f["rule_id"], f["path"], f["line"]) for f in report["findings"]] == [
        ("GC403", "repo/config/bases/deploy.yaml", 11)
    ]
    # even then nothing outside the scanned tree is read, named by an inline plugin configuration or otherwise
    evil = repo / "apps" / "evil"
    evil.mkdir(parents=True)
    (evil / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (evil / "kustomization.yaml").write_text(
        INLINE_PATCH_TRANSFORMER.replace("PATCH", "../../../../../../../etc/passwd")
    )
    p, report = scan_json(run_cli, "--config", str(trusted), "--select", "GC401", "repo/apps", cwd=tmp_path)
    [f] = report["findings"]
    assert (f["path"], f["line"]) == ("repo/apps/evil/kustomization.yaml", 6)
    assert "plugin-input '../../../../../../../etc/passwd' is outside the scanned tree: not read" in f["message"]
    assert "root:" not in p.stdout


@needs_kubectl
def test_symlinks_inside_the_tree_are_resolved_as_kustomize_resolves_them(run_cli, tmp_path):
    repo = tmp_path / "repo"
    (repo / "app" / "real").mkdir(parents=True)
    (repo / "shared").mkdir()
    (repo / "overlay").mkdir()
    (repo / "strict").mkdir()
    (repo / "app" / "real" / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (repo / "app" / "deploy.yaml").symlink_to("real/deploy.yaml")  # a linked file inside the unit's directory
    (repo / "app" / "kustomization.yaml").write_text("resources:\n  - deploy.yaml\n")
    (repo / "shared" / "deploy.yaml").write_text(DEPLOY_NO_LIMITS.replace("name: web\n", "name: api\n", 1))
    (repo / "shared" / "kustomization.yaml").write_text("resources:\n  - deploy.yaml\n")
    (repo / "overlay" / "base").symlink_to("../shared", target_is_directory=True)  # a base through a link
    (repo / "overlay" / "kustomization.yaml").write_text("resources:\n  - base\n")
    # a link whose file is outside the kustomization's directory: kustomize's load restrictor refuses it
    (repo / "strict" / "deploy.yaml").symlink_to("../shared/deploy.yaml")
    (repo / "strict" / "kustomization.yaml").write_text("resources:\n  - deploy.yaml\n")
    p, report = scan_json(run_cli, "--select", "GC401,GC403", "repo", cwd=tmp_path)
    assert sorted((f["rule_id"], f["path"], f["line"], tuple(f.get("units") or ())) for f in report["findings"]) == [
        ("GC401", "repo/strict/kustomization.yaml", 2, ("repo/strict",)),  # the entry of the link
        ("GC403", "repo/app/real/deploy.yaml", 11, ("repo/app",)),  # at the file, not the link
        ("GC403", "repo/shared/deploy.yaml", 11, ("repo/overlay",)),  # not overlay/base/deploy.yaml
    ]
    [strict] = [f for f in report["findings"] if f["rule_id"] == "GC401"]
    assert "is not in or below" in strict["message"], strict["message"]
    assert "does not exist" not in p.stdout


@needs_kubectl
def test_a_patch_fragment_a_kustomization_names_gets_no_note(run_cli, tmp_path):
    """opentelemetry-operator's config/default names manager_webhook_patch.yaml in its patches: it is a patch,
    never a manifest, and the orphan-patch note is not given."""
    repo = tmp_path / "repo"
    (repo / "default").mkdir(parents=True)
    (repo / "default" / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
    patch += "      containers: [{name: web, ports: [{containerPort: 9443}]}]\n"
    (repo / "default" / "webhook_patch.yaml").write_text(patch)
    (repo / "default" / "kustomization.yaml").write_text(
        "resources: [deploy.yaml]\npatches:\n  - path: webhook_patch.yaml\n"
    )
    (repo / "orphan_patch.yaml").write_text(patch)
    p, report = scan_json(run_cli, "--select", "GC001", "repo", cwd=tmp_path)
    assert [(f["path"], f["severity"]) for f in report["findings"]] == [("repo/orphan_patch.yaml", "info")]


@needs_kubectl
def test_a_container_a_json6902_patch_appends_is_found_at_the_patch(run_cli, tmp_path):
    """bank-of-anthos adds its cloud-sql-proxy with `op: add, path: /spec/template/spec/containers/-`."""
    repo = tmp_path / "repo"
    (repo / "base").mkdir(parents=True)
    (repo / "overlay").mkdir()
    (repo / "base" / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (repo / "base" / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    (repo / "overlay" / "add-proxy.yaml").write_text(
        "- op: add\n  path: /spec/template/spec/containers/-\n  value:\n    name: proxy\n    image: proxy:1.0.0\n"
    )
    (repo / "overlay" / "kustomization.yaml").write_text(
        "resources: [../base]\npatches:\n  - path: add-proxy.yaml\n    target: {kind: Deployment, name: web}\n"
    )
    p, report = scan_json(run_cli, "--select", "GC406", "repo", cwd=tmp_path)
    got = sorted((f["path"], f["line"], f["container"]) for f in report["findings"])
    assert got == [("repo/base/deploy.yaml", 11, "web"), ("repo/overlay/add-proxy.yaml", 1, "proxy")], got


@needs_kubectl
def test_a_base_in_a_vendored_directory_is_read_for_the_kustomization_that_names_it(run_cli, tmp_path):
    """third-party/ is never scanned on its own, but kubeflow's overlays list bases inside it."""
    repo = tmp_path / "repo"
    (repo / "third-party" / "mysql" / "base").mkdir(parents=True)
    (repo / "third-party" / "mysql" / "base" / "kustomization.yaml").write_text("resources:\n  - deploy.yaml\n")
    (repo / "third-party" / "mysql" / "base" / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (repo / "third-party" / "unused").mkdir()
    (repo / "third-party" / "unused" / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)  # named by nothing: not read
    (repo / "env" / "dev").mkdir(parents=True)
    (repo / "env" / "dev" / "kustomization.yaml").write_text("resources:\n  - ../../third-party/mysql/base\n")
    p, report = scan_json(run_cli, "--select", "GC401,GC403", "repo", cwd=tmp_path)
    assert [(f["rule_id"], f["path"], f["line"], f["units"]) for f in report["findings"]] == [
        ("GC403", "repo/third-party/mysql/base/deploy.yaml", 11, ["repo/env/dev"])
    ]
    # the vendored file is an input of the scan: the incremental cache notices it changed
    env = {**os.environ, "GUIDECHECK_CACHE_DIR": str(tmp_path / "cache")}
    for cached in (False, True):
        p = run_cli("scan", "--isolated", "-v", "--select", "GC403", "repo", cwd=tmp_path, env=env)
        assert p.returncode == 1 and ("the result of an earlier scan" in p.stderr) == cached, p.stderr
    deploy = repo / "third-party" / "mysql" / "base" / "deploy.yaml"
    deploy.write_text(DEPLOY_NO_LIMITS + "          resources: {limits: {cpu: 500m, memory: 256Mi}}\n")
    p = run_cli("scan", "--isolated", "--select", "GC403", "repo", cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stdout
    # GC001 never reads a vendored file: a vendored kustomization that does not parse says why in GC401
    (repo / "third-party" / "mysql" / "base" / "kustomization.yaml").write_text("resources:\n  - [deploy.yaml\n")
    p, report = scan_json(run_cli, "--select", "GC001,GC401", "repo", cwd=tmp_path)
    [f] = report["findings"]
    assert (f["rule_id"], f["path"], f["line"]) == ("GC401", "repo/third-party/mysql/base/kustomization.yaml", 2)
    assert f["message"].startswith("the kustomization does not parse: flow sequence opened here is not closed")


def test_a_flux_kustomization_in_a_file_named_kustomization_yaml_is_a_manifest(run_cli, tmp_path):
    """Flux's Kustomization (kustomize.toolkit.fluxcd.io) is a Kubernetes object, not kustomize's configuration."""
    d = tmp_path / "repo" / "clusters" / "prod"
    d.mkdir(parents=True)
    (d / "kustomization.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n"
        "  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n"
    )
    p, report = scan_json(run_cli, "--select", "GC001,GC401", "repo", cwd=tmp_path)
    assert p.returncode == 0 and report["findings"] == [], p.stdout
    from guidecheck.config import Config
    from guidecheck.loaders import load

    targets = {(t.kind, t.ref.kind, t.ref.name) for t in load([str(tmp_path / "repo")], Config()).targets}
    assert ("k8s", "Kustomization", "apps") in targets and not any(k == "kustomization" for k, _, _ in targets)


def test_a_problem_in_a_shared_base_is_one_finding_listing_the_overlays(run_cli, tmp_path):
    repo = tmp_path / "repo"
    (repo / "base").mkdir(parents=True)
    (repo / "base" / "kustomization.yaml").write_text(
        "resources:\n  - https://example.com/org/platform/releases/v1/install.yaml\n"
    )
    for env in ("dev", "prod"):
        (repo / env).mkdir()
        (repo / env / "kustomization.yaml").write_text("resources:\n  - ../base\n")
    p, report = scan_json(run_cli, "--select", "GC401", "repo", cwd=tmp_path)
    [f] = report["findings"]
    assert (f["path"], f["line"], f["units"]) == ("repo/base/kustomization.yaml", 2, ["repo/dev", "repo/prod"])
    assert f["object"]["name"] == "repo/base" and "is remote" in f["message"]
    # the fingerprint names the base, never an overlay: adding one keeps it
    (repo / "qa").mkdir()
    (repo / "qa" / "kustomization.yaml").write_text("resources:\n  - ../base\n")
    _p, again = scan_json(run_cli, "--select", "GC401", "repo", cwd=tmp_path)
    [g] = again["findings"]
    assert g["fingerprint"] == f["fingerprint"] and g["units"] == ["repo/dev", "repo/prod", "repo/qa"]


@needs_kubectl
def test_alternative_manifest_sets_are_judged_apart(run_cli):
    p, report = scan_json(run_cli, "--select", "GC903", "alternatives", cwd=ALTERNATIVES.parent)
    assert p.returncode == 1
    # the HPAs of kubernetes-manifests/ cover its own copies only; k8s/deploy + k8s/hpa (one copy) pass
    assert [(f["path"], f["line"], f["object"]["name"]) for f in report["findings"]] == [
        ("alternatives/release/shop.yaml", 1, "frontend"),
        ("alternatives/release/shop.yaml", 16, "cart"),
    ]
    assert "than to its other copies in alternatives/kubernetes-manifests" in report["findings"][0]["message"]
    assert len({f["fingerprint"] for f in report["findings"]}) == len(report["findings"])


def test_no_render_lists_what_it_skips_and_is_not_incomplete(run_cli, tmp_path):
    p, report = scan_json(run_cli, "--no-render", "--select", "GC401,GC403", "shop", cwd=SHOP.parent)
    assert p.returncode == 1, p.stdout
    assert report["incomplete"] == []  # what cannot render at all (remote, helmCharts) is still GC401's
    assert report["skipped"] == [
        "kustomization shop/overlays/autoscaled",
        "kustomization shop/overlays/limits",
        "kustomization shop/overlays/staging",
    ]
    # the resources are checked as plain manifests; the patch never is
    assert {(f["path"], f["rule_id"]) for f in report["findings"]} == {
        ("shop/base/deployment.yaml", "GC403"),
        ("shop/overlays/helm/kustomization.yaml", "GC401"),
        ("shop/overlays/remote/kustomization.yaml", "GC401"),
    }
    text = run_cli("scan", "--isolated", "--no-render", "--select", "GC403", "shop", cwd=SHOP.parent).stdout
    assert "not rendered on request (--no-render): kustomization shop/overlays/autoscaled" in text
    # the report, with its skipped list, is what the shipped schema describes
    import jsonschema

    schema = json.loads((ROOT / "src" / "guidecheck" / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)


def test_a_missing_kubectl_is_a_clear_incomplete_scan(run_cli):
    p, report = scan_json(run_cli, "--kustomize", "/nonexistent/kubectl", "--select", "GC403", str(SHOP))
    assert p.returncode == 3
    assert any(
        "kustomizations not rendered (3): '/nonexistent/kubectl' not found" in r and "docs/kustomize.md" in r
        for r in report["incomplete"]
    )
    assert find_kustomize("/nonexistent/kubectl")[0] is None


@needs_kubectl
def test_the_rendered_output_is_capped(run_cli, tmp_path):
    """Output past 8 x limits.max-file-bytes kills the child: a GC401 finding, never an unbounded read."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "kustomization.yaml").write_text("resources:\n" + "".join(f"  - c{i}.yaml\n" for i in range(14)))
    for i in range(14):
        (repo / f"c{i}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  k: {'x' * 700}\n"
        )
    cfg = tmp_path / "guidecheck.yaml"
    cfg.write_text("limits:\n  max-file-bytes: 1200\n")
    _, report = scan_json(run_cli, "--config", str(cfg), "--select", "GC401", "repo", cwd=tmp_path)
    assert [(f["path"], f["message"]) for f in report["findings"]] == [
        (
            "repo/kustomization.yaml",
            "kustomize the rendered output is more than the 9.6 kB guidecheck reads (8 x limits.max-file-bytes); "
            "not rendered",
        )
    ]


_FAKE_KUBECTL = """#!{python}
# a stand-in kubectl: reports kustomize v5.7.1, then misbehaves when asked to render
import os, subprocess, sys, time

if sys.argv[1:2] == ["version"]:
    print('{{"kustomizeVersion": "v5.7.1"}}')
    sys.exit(0)
{body}
"""

_SLEEPS = """
child = subprocess.Popen(["/bin/sleep", "30"])  # a grandchild in the same process group
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "grandchild.pid"), "w") as fh:
    fh.write(str(child.pid))
time.sleep(30)
print("apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: late")
"""

_ALLOCATES = """
import mmap  # address space, never touched: the cap is on address space, and the test machine's RAM is spared
held = [mmap.mmap(-1, 64 * 1024 * 1024) for _ in range(4 * 1024 // 64)]  # four times kustomize.max-memory-mb
print("apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: fits")
"""


def _fake_kubectl_scan(run_cli, tmp_path, body: str, config: str):
    import sys

    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    fake.write_text(_FAKE_KUBECTL.format(python=sys.executable, body=body))
    fake.chmod(0o755)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "kustomization.yaml").write_text("resources:\n  - cm.yaml\n")
    (repo / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n")
    cfg = tmp_path / "guidecheck.yaml"
    cfg.write_text(config)
    p = run_cli(
        "scan",
        "--isolated",
        "-f",
        "json",
        "--config",
        str(cfg),
        "--kustomize",
        str(fake),
        "--select",
        "GC401",
        "repo",
        cwd=tmp_path,
        timeout=30,  # the scan must end on its own well before: a hang fails here
    )
    assert p.returncode == 1, p.stderr
    report = json.loads(p.stdout)
    return [(f["rule_id"], f["path"], f["message"]) for f in report["findings"]]


def test_a_kustomize_that_runs_too_long_is_killed_with_its_process_group(run_cli, tmp_path):
    """kustomize.timeout: the child and its grandchildren are killed, the unit reported as not rendered."""
    found = _fake_kubectl_scan(run_cli, tmp_path, _SLEEPS, "kustomize:\n  timeout: 1\n")
    assert found == [
        ("GC401", "repo/kustomization.yaml", "kustomize timed out after 1 s (kustomize.timeout); not rendered")
    ]
    pid = int((tmp_path / "bin" / "grandchild.pid").read_text())
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (FileNotFoundError, IndexError):
        state = "gone"
    assert state in ("gone", "Z"), f"the grandchild sleep {pid} outlived the timeout ({state})"


def test_a_kustomize_that_allocates_past_the_memory_cap_is_stopped(run_cli, tmp_path):
    """kustomize.max-memory-mb caps the child's address space: it cannot allocate past it, and says so."""
    found = _fake_kubectl_scan(run_cli, tmp_path, _ALLOCATES, "kustomize:\n  max-memory-mb: 1024\n")
    assert found == [
        (
            "GC401",
            "repo/kustomization.yaml",
            "kustomize ran out of the 1.0 GiB of memory it may use (kustomize.max-memory-mb); not rendered",
        )
    ]


@needs_kubectl
def test_a_stream_on_stdin_is_one_unit(tmp_path):
    import subprocess

    from conftest import gc_bin

    tool, _ = find_kustomize(None)
    assert tool is not None
    rendered = subprocess.run(tool.command(str(SHOP / "overlays" / "staging")), capture_output=True, check=True).stdout
    p = subprocess.run(
        [*gc_bin(), "scan", "--isolated", "-", "--stdin-filename", "staging.yaml", "--select", "GC903", "-q"],
        input=rendered,
        capture_output=True,
        timeout=60,
    )
    out = p.stdout.decode()
    assert p.returncode == 1, out + p.stderr.decode()
    assert out.startswith("staging.yaml:") and "GC903" in out


def test_kustomizations_start_rendering_before_the_helm_charts_and_render_once(monkeypatch, tmp_path):
    """kubectl kustomize runs while Helm charts render (start()); extend() takes those renders, not new ones."""
    if find_kustomize(None)[0] is None:
        pytest.skip("no kubectl/kustomize with kustomize v5 (scripts/install-test-tools.sh installs it)")
    import guidecheck.loaders.helm as helm_ext
    import guidecheck.loaders.kustomize as kz
    from guidecheck.config import Config
    from guidecheck.loaders import load

    events: list[str] = []
    made = kz._Renders.__init__

    def spy_renders(self, units, tool, opts):
        events.append(f"kustomize renders {len(units)}")
        made(self, units, tool, opts)

    helm_extend = helm_ext.extend
    monkeypatch.setattr(kz._Renders, "__init__", spy_renders)
    monkeypatch.setattr(helm_ext, "extend", lambda *a: (events.append("helm"), helm_extend(*a))[1])
    shutil.copytree(SHOP, tmp_path / "shop")
    loaded = load([str(tmp_path / "shop")], Config())
    assert events[:2] == [events[0], "helm"] and events[0].startswith("kustomize renders ")
    assert len([e for e in events if e.startswith("kustomize")]) == 1, events
    assert not loaded.pending
    assert any(t.kind == "k8s" and t.origin.get("source") == "kustomize" for t in loaded.targets)


def test_a_large_crd_s_schema_in_kustomize_output_is_not_built(tmp_path):
    """argo-workflows renders 11.5 MB of CRDs: load_yaml blanks their schemas (tests/test_yamlsafe.py)."""
    from guidecheck.parsers.yaml import load_yaml

    props = "".join(f"          p{i}:\n            type: string\n" for i in range(3000))
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x.example.com\n"
        "spec:\n  group: example.com\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n"
        "        properties:\n" + props + "status:\n  acceptedNames: {kind: ''}\n"
    )
    out = crd + "---\n" + DEPLOY_NO_LIMITS
    docs = load_yaml(out)
    assert docs[0].data["metadata"]["name"] == "x.example.com" and "spec" not in docs[0].data
    assert docs[1].data["kind"] == "Deployment" and docs[1].line == out.split("\n").index("kind: Deployment")


def _big_crd() -> str:
    props = "".join(f"          p{i}:\n            type: string\n" for i in range(3000))
    return (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: xs.example.com\n"
        "spec:\n  group: example.com\n  names: {kind: X, plural: xs}\n  scope: Namespaced\n  versions:\n"
        "  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n"
        "        type: object\n        properties:\n" + props
    )


@needs_kubectl
def test_kustomize_builds_large_crds_without_their_schemas_and_whole_when_a_patch_needs_them(monkeypatch, tmp_path):
    """kserve's overlays hold 5 MB of CRDs: kubectl spent 28 s of CPU on schemas no rule reads. The sandbox copy
    leaves them out; an overlay whose JSON 6902 patch replaces a field of the schema fails on that copy and is
    built again from the files as they are."""
    import guidecheck.loaders.kustomize as kz
    from guidecheck.config import Config
    from guidecheck.loaders import load

    repo = tmp_path / "repo"
    for d in ("base", "plain", "patched"):
        (repo / d).mkdir(parents=True)
    (repo / "base" / "crd.yaml").write_text(_big_crd())
    (repo / "base" / "deploy.yaml").write_text(DEPLOY_NO_LIMITS)
    (repo / "base" / "kustomization.yaml").write_text("resources: [crd.yaml, deploy.yaml]\n")
    (repo / "plain" / "kustomization.yaml").write_text("resources: [../base]\nnamePrefix: a-\n")
    (repo / "patched" / "kustomization.yaml").write_text(
        "resources: [../base]\npatches:\n  - target: {kind: CustomResourceDefinition, name: xs.example.com}\n"
        "    patch: |\n      - op: replace\n        path: /spec/versions/0/served\n        value: false\n"
    )
    seen: list[tuple[str, int, int]] = []
    real_run = kz.run

    def spy(cmd, *, env, cwd, caps):
        res = real_run(cmd, env=env, cwd=cwd, caps=caps)
        unit = os.path.basename(cmd[-1] if not cmd[-1].startswith("--") else cmd[-2])
        seen.append((unit, os.path.getsize(os.path.join(cwd, "base", "crd.yaml")), res.rc))
        return res

    monkeypatch.setattr(kz, "run", spy)
    monkeypatch.setenv("GUIDECHECK_CACHE_DIR", "/dev/null")
    loaded = load([str(repo)], Config())
    whole = len(_big_crd())
    by_unit: dict[str, list[tuple[int, int]]] = {}
    for unit, size, rc in seen:
        by_unit.setdefault(unit, []).append((size, rc))
    assert [(s < whole // 10, rc == 0) for s, rc in by_unit["plain"]] == [(True, True)], seen
    assert [(s < whole // 10, rc == 0) for s, rc in by_unit["patched"]] == [(True, False), (False, True)], seen
    units = {t.origin.get("unit") for t in loaded.targets if t.kind == "k8s" and t.origin.get("source") == "kustomize"}
    assert any(u and u.endswith("plain") for u in units) and any(u and u.endswith("patched") for u in units), units
    crds = [t for t in loaded.targets if t.kind == "k8s" and t.ref.kind == "CustomResourceDefinition"]
    assert crds and all("spec" not in t.data for t in crds)  # nor is the whole one's schema built
