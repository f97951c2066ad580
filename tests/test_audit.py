"""guidecheck audit against a real HTTPS Kubernetes API (tests/kube_server.py) through the real kubernetes client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidecheck.cli import main

from kube_server import PARTIAL, KubeServer

SECRET_VALUE = "c3VwZXItc2VjcmV0LXZhbHVl"  # base64 of a value that must never leave the API server


def deployment(
    name: str,
    ns: str = "shop",
    *,
    image: str = "registry.example.com/shop/app:1.2.3-3f2c1ab",
    labels: dict | None = None,
    annotations: dict | None = None,
    probes: bool = True,
) -> dict:
    c = {
        "name": "app",
        "image": image,
        "ports": [{"containerPort": 9100, "name": "metrics"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
    }
    if probes:
        c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}}
        c["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}}
    meta = {"name": name, "namespace": ns, "labels": labels or {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [c]}},
        },
    }


HELM = {
    "labels": {"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "cart-1.4.2", "app": "cart"},
    "annotations": {"meta.helm.sh/release-name": "cart", "meta.helm.sh/release-namespace": "shop"},
}


def secret(name: str, ns: str = "shop") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"guidecheck.io/key": "signing"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"data": {"key": SECRET_VALUE}})
            },
        },
        "type": "Opaque",
        "data": {"key": SECRET_VALUE},
    }


def replicaset_and_pod(deploy: str, ns: str = "shop", running: bool = True) -> list[dict]:
    rs = f"{deploy}-7d9f8b6c4"
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs,
                "namespace": ns,
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy, "controller": True, "uid": "u1"}
                ],
            },
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:latest"}]}}},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{rs}-x2x9q",
                "namespace": ns,
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "controller": True, "uid": "u2"}
                ],
            },
            "spec": {"containers": [{"name": "app", "image": "nginx:latest", "ports": [{"containerPort": 9100}]}]},
            "status": {"phase": "Running" if running else "Pending"},
        },
    ]


def audit(*args: str, expect: int | None = None):
    result = CliRunner().invoke(main, ["audit", "--isolated", "--no-progress", *args], catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, (result.stdout, result.stderr)
    return result


def findings(result) -> list[dict]:
    return json.loads(result.stdout)["findings"]


def keyed(fs: list[dict]) -> set[tuple]:
    """Findings without their location: (rule, object, container, message)."""
    return {(f["rule_id"], json.dumps(f["object"], sort_keys=True), f["container"], f["message"]) for f in fs}


# ---------------------------------------------------------------- reading


def test_paginated_typed_lists_become_cluster_targets():
    objs = [deployment(f"svc{i}", probes=i % 2 == 0) for i in range(7)]
    with KubeServer(objs) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "--page-size", "3", "-f", "json", "--select", "GC405", expect=1)
        lists = srv.lists_of("deployments")
    assert [q.get("limit") for _, q, _ in lists] == ["3", "3", "3"]
    assert sum(1 for _, q, _ in lists if q.get("continue")) == 2  # three pages: two continue tokens
    got = sorted((f["path"], f["line"], f["rule_id"]) for f in findings(r))
    assert got == [(f"cluster/test/shop/Deployment/svc{i}", 1, "GC405") for i in (1, 3, 5)]
    assert all(f["origin"]["source"] == "cluster" and f["origin"]["context"] == "test" for f in findings(r))


def test_secrets_are_read_as_metadata_only_and_never_written(tmp_path):
    dump = tmp_path / "cluster.json"
    with KubeServer([secret("jwt-signing-key"), deployment("cart", **HELM)]) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "--dump", str(dump), "-f", "json", "--select", "GC004", expect=0)
        secret_requests = srv.lists_of("secrets")
    assert secret_requests and all(PARTIAL in accept for _, _, accept in secret_requests)
    text = dump.read_text()
    assert SECRET_VALUE not in text and SECRET_VALUE not in r.stdout and SECRET_VALUE not in r.stderr
    assert (dump.stat().st_mode & 0o777) == 0o600
    items = json.loads(text)["items"]
    sec = next(i for i in items if i["kind"] == "Secret")
    assert sec == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "jwt-signing-key",
            "namespace": "shop",
            "labels": {"guidecheck.io/key": "signing"},
            "annotations": {},
            "uid": sec["metadata"]["uid"],
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "resourceVersion": sec["metadata"]["resourceVersion"],
        },
    }


def test_a_kubectl_dump_with_secret_data_never_reports_the_data(tmp_path):
    dump = tmp_path / "secrets.yaml"
    dump.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: k\n    namespace: shop\n"
        "    annotations:\n      guidecheck.io/ignore: GC999\n"
        f"  data:\n    key: {SECRET_VALUE}\n"
    )
    r = audit("--from-dump", str(dump), "-f", "json", "--select", "GC002", expect=0)
    assert SECRET_VALUE not in r.stdout
    # the metadata is kept (the suppression annotation without a reason, at its line); the data is not
    assert [(f["path"], f["line"], f["rule_id"]) for f in findings(r)] == [(str(dump), 10, "GC002")]
    assert findings(r)[0]["origin"]["metadata_only"] is True


def test_secrets_are_never_read_in_full_from_a_server_without_metadata_lists():
    with KubeServer([secret("jwt-signing-key"), deployment("cart", **HELM)], partial_metadata=False) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC004", expect=3)
    assert SECRET_VALUE not in r.stdout
    gaps = [(f["path"], f["message"]) for f in findings(r)]
    assert len(gaps) == 1 and gaps[0][0] == "cluster/test/_all/Secret"
    assert "not acceptable (HTTP 406): the server did not answer with object metadata only" in gaps[0][1]


def test_an_expired_continue_token_restarts_the_list_once():
    objs = [deployment(f"svc{i}", probes=False) for i in range(5)]
    with KubeServer(objs, expire_continue={"deployments.apps"}) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "--page-size", "2", "-f", "json", "--select", "GC004,GC405", expect=1)
        lists = srv.lists_of("deployments")
    assert len(lists) == 5  # page 1, the 410, then pages 1-3 again
    assert sorted(f["path"] for f in findings(r)) == [f"cluster/test/shop/Deployment/svc{i}" for i in range(5)]


def test_forbidden_kind_is_a_gap_naming_kind_and_namespace():
    with KubeServer([deployment("cart", **HELM), secret("s")], forbidden={("secrets", "*")}) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", expect=3)
    gaps = [f for f in findings(r) if f["rule_id"] == "GC004"]
    assert [(g["path"], g["object"]) for g in gaps] == [
        ("cluster/test/_all/Secret", {"kind": "Secret", "namespace": None, "name": None})
    ]
    assert "Secret (secrets) could not be read in all namespaces: forbidden (RBAC) (HTTP 403)" in gaps[0]["message"]
    report = json.loads(r.stdout)
    assert any("could not read Secret (secrets) in all namespaces" in x for x in report["incomplete"])


def test_forbidden_cluster_wide_list_falls_back_namespace_by_namespace():
    objs = [
        deployment("cart", "shop", probes=False),
        deployment("pay", "payments", probes=False),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}},
    ]
    forbidden = {("deployments.apps", None), ("deployments.apps", "payments")}
    with KubeServer(objs, forbidden=forbidden) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC004,GC405", expect=3)
    got = sorted((f["path"], f["rule_id"]) for f in findings(r))
    assert got == [("cluster/test/payments/Deployment", "GC004"), ("cluster/test/shop/Deployment/cart", "GC405")]


def test_missing_custom_resources_are_not_read_and_not_gaps():
    with KubeServer([deployment("cart", **HELM)]) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC004", expect=0)
        paths = [p for p, _, _ in srv.state.requests]
    assert not any("monitoring.coreos.com" in p or "velero.io" in p for p in paths)
    assert findings(r) == []


def test_custom_resources_are_read_where_their_api_exists():
    sm = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "cart", "namespace": "shop", "annotations": {"guidecheck.io/ignore": "GC501"}},
        "spec": {"selector": {"matchLabels": {"app": "cart"}}, "endpoints": [{"port": "metrics"}]},
    }
    with KubeServer([deployment("cart", **HELM), sm]) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC002", expect=0)
        lists = srv.lists_of("servicemonitors")
    assert [p for p, _, _ in lists] == ["/apis/monitoring.coreos.com/v1/servicemonitors"]
    # the annotation on the custom resource was read (its missing reason is GC002's finding, a warning)
    assert [(f["path"], f["rule_id"]) for f in findings(r)] == [("cluster/test/shop/ServiceMonitor/cart", "GC002")]


@pytest.mark.parametrize("aggregated", [True, False], ids=["aggregated-discovery", "legacy-discovery"])
def test_both_discovery_protocols(aggregated):
    with KubeServer([deployment("cart", probes=False)], aggregated=aggregated) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC405", expect=1)
        gv_requests = [p for p, _, _ in srv.state.requests if p.startswith("/apis/") and p.count("/") == 3]
    assert [f["path"] for f in findings(r)] == ["cluster/test/shop/Deployment/cart"]
    assert bool(gv_requests) is not aggregated  # legacy discovery reads /apis/<group>/<version>


def test_429_is_retried_after_retry_after():
    with KubeServer([deployment("cart", probes=False)], flaky={"deployments.apps": [429]}) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC004,GC405", expect=1)
        lists = srv.lists_of("deployments")
    assert len(lists) == 2
    assert [f["rule_id"] for f in findings(r)] == ["GC405"]


def test_persistent_5xx_becomes_a_gap_after_retries():
    with KubeServer([deployment("cart")], flaky={"configmaps": [503] * 5}) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC004", expect=3)
        lists = srv.lists_of("configmaps")
    assert len(lists) == 5
    assert [(f["path"], f["rule_id"]) for f in findings(r)] == [("cluster/test/_all/ConfigMap", "GC004")]
    assert "HTTP 503" in findings(r)[0]["message"]


def test_timeout_turns_what_was_not_read_into_gaps():
    with KubeServer([deployment("cart")], flaky={"configmaps": [429] * 5}) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "--timeout", "1.5", "-f", "json", "--select", "GC004", expect=3)
    msgs = [f["message"] for f in findings(r)]
    assert msgs and all("--timeout of 1.5 s reached" in m for m in msgs)
    assert any(m.startswith("ConfigMap (configmaps)") for m in msgs)


def test_namespace_selection_and_default_exclusions():
    objs = [
        deployment("cart", "shop", probes=False),
        deployment("dns", "kube-system", probes=False),
        deployment("pay", "payments", probes=False),
    ]
    with KubeServer(objs) as srv:
        everything = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC405", expect=1)
        one = audit("--kubeconfig", srv.kubeconfig, "-n", "kube-system", "-f", "json", "--select", "GC405", expect=1)
        excluded = audit(
            "--kubeconfig", srv.kubeconfig, "--exclude-namespace", "pay*", "-f", "json", "--select", "GC405", expect=1
        )
        per_ns = [p for p, _, _ in srv.lists_of("deployments")]
    assert sorted(f["path"] for f in findings(everything)) == [
        "cluster/test/payments/Deployment/pay",
        "cluster/test/shop/Deployment/cart",
    ]
    assert [f["path"] for f in findings(one)] == ["cluster/test/kube-system/Deployment/dns"]
    assert "/apis/apps/v1/namespaces/kube-system/deployments" in per_ns
    assert [f["path"] for f in findings(excluded)] == ["cluster/test/shop/Deployment/cart"]


def test_label_selector_is_sent_to_the_server():
    objs = [
        deployment("cart", labels={"app": "cart", "tier": "web"}, probes=False),
        deployment("batch", labels={"app": "batch", "tier": "jobs"}, probes=False),
    ]
    with KubeServer(objs) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-l", "tier in (web)", "-f", "json", "--select", "GC405", expect=1)
        sent = {q.get("labelSelector") for _, q, _ in srv.lists_of("deployments")}
    assert sent == {"tier in (web)"}
    assert [f["path"] for f in findings(r)] == ["cluster/test/shop/Deployment/cart"]


def test_helm_release_and_chart_are_named_and_controller_owned_objects_are_not_checked_twice():
    objs = [deployment("cart", image="nginx:latest", **HELM), *replicaset_and_pod("cart")]
    with KubeServer(objs) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC306", expect=1)
    fs = findings(r)
    assert [f["path"] for f in fs] == ["cluster/test/shop/Deployment/cart"]  # not its ReplicaSet nor its Pod
    assert fs[0]["origin"] == {
        "source": "cluster",
        "context": "test",
        "namespace": "shop",
        "release": "cart",
        "release_namespace": "shop",
        "chart": "cart-1.4.2",
    }


def test_gc402_on_live_objects():
    objs = [deployment("cart", **HELM), deployment("legacy", probes=False)]
    with KubeServer(objs) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC402", expect=0)
    fs = findings(r)
    assert [(f["path"], f["rule_id"]) for f in fs] == [("cluster/test/shop/Deployment/legacy", "GC402")]
    assert "runs outside any Helm release" in fs[0]["message"]


# ---------------------------------------------------------------- credentials and usage


def test_context_names_paths_and_unknown_context_is_a_usage_error():
    with KubeServer([deployment("cart", probes=False)], contexts=("staging", "prod-eu")) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "--context", "prod-eu", "-f", "json", "--select", "GC405", expect=1)
        bad = audit("--kubeconfig", srv.kubeconfig, "--context", "nope", expect=2)
        named = audit(
            "--kubeconfig", srv.kubeconfig, "--cluster-name", "eu/west", "-f", "json", "--select", "GC405", expect=1
        )
    assert [f["path"] for f in findings(r)] == ["cluster/prod-eu/shop/Deployment/cart"]
    assert "no context 'nope'" in bad.stderr and "staging" in bad.stderr
    assert [f["path"] for f in findings(named)] == ["cluster/eu_west/shop/Deployment/cart"]


def test_no_kubeconfig_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    r = audit(expect=2)
    assert "no kubeconfig" in r.stderr
    r = audit("--kubeconfig", str(tmp_path / "missing"), expect=2)
    assert "no such file" in r.stderr
    r = audit("--in-cluster", expect=2)
    assert "in-cluster configuration" in r.stderr


def test_kubeconfig_from_the_environment(monkeypatch):
    with KubeServer([deployment("cart", probes=False)]) as srv:
        monkeypatch.setenv("KUBECONFIG", srv.kubeconfig)
        r = audit("-f", "json", "--select", "GC405", expect=1)
    assert [f["path"] for f in findings(r)] == ["cluster/test/shop/Deployment/cart"]


def test_wrong_token_and_unreachable_server_make_the_audit_incomplete(tmp_path):
    with KubeServer([deployment("cart")]) as srv:
        srv.state.token = "rotated"
        r = audit("--kubeconfig", srv.kubeconfig, "-f", "json", expect=3)
        url = srv.url
    assert any("unauthorized (HTTP 401)" in x for x in json.loads(r.stdout)["incomplete"])
    cfg = Path(srv.kubeconfig) if Path(srv.kubeconfig).exists() else None
    assert cfg is None  # the server's directory is gone; write a kubeconfig pointing at the closed port
    kc = tmp_path / "kubeconfig"
    kc.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "gone",
                "clusters": [{"name": "c", "cluster": {"server": url, "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    r = audit("--kubeconfig", str(kc), "--timeout", "20", "-f", "json", expect=3)
    assert any(x.startswith(f"cannot read the API server at {url} (gone)") for x in json.loads(r.stdout)["incomplete"])


def test_dump_arguments_need_from_dump_and_exclude_live_options(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("apiVersion: v1\nkind: List\nitems: []\n")
    assert "only with --from-dump" in audit(str(f), expect=2).stderr
    assert "for live audits" in audit("--from-dump", str(f), "--probe-metrics", expect=2).stderr


# ---------------------------------------------------------------- probes

METRICS = (
    '# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 1027\n'
)


def probe_cluster(**options) -> KubeServer:
    objs = [
        deployment("cart", **HELM),
        *replicaset_and_pod("cart"),
        deployment("search", probes=True),
        *replicaset_and_pod("search"),
        deployment("idle"),
        *replicaset_and_pod("idle", running=False),
    ]
    rs = "-7d9f8b6c4-x2x9q"
    return KubeServer(
        objs,
        metrics={
            ("shop", "cart" + rs): (200, METRICS),
            ("shop", "search" + rs): (200, "<!DOCTYPE html><html>hello</html>\n"),
        },
        logs={
            ("shop", "cart" + rs, "app"): '{"level":"info","msg":"ok"}\n' * 20 + "plain start\n",
            ("shop", "search" + rs, "app"): "INFO started\n" * 9 + '{"msg":"x"}\n',
        },
        **options,
    )


def test_probes_are_off_by_default():
    with probe_cluster() as srv:
        audit("--kubeconfig", srv.kubeconfig, "-f", "json", "--select", "GC502")
        assert not any("proxy" in p or p.endswith("/log") for p, _, _ in srv.state.requests)


def test_metrics_probe_through_the_pod_proxy(tmp_path):
    dump = tmp_path / "d.json"
    with probe_cluster() as srv:
        r = audit(
            "--kubeconfig",
            srv.kubeconfig,
            "--probe-metrics",
            "--dump",
            str(dump),
            "-f",
            "json",
            "--select",
            "GC502",
            expect=1,
        )
        proxied = sorted(p for p, _, _ in srv.state.requests if "/proxy/" in p)
    assert proxied == [
        "/api/v1/namespaces/shop/pods/cart-7d9f8b6c4-x2x9q:9100/proxy/metrics",
        "/api/v1/namespaces/shop/pods/search-7d9f8b6c4-x2x9q:9100/proxy/metrics",
    ]  # not the Pending pod
    fs = findings(r)
    assert [(f["path"], f["rule_id"]) for f in fs] == [("cluster/test/shop/Deployment/search", "GC502")]
    assert "not Prometheus text exposition" in fs[0]["message"] and "search-7d9f8b6c4-x2x9q" in fs[0]["message"]
    assert fs[0]["origin"]["source"] == "cluster"
    # the same findings from the dump, at the ProbeResult's line
    again = audit("--from-dump", str(dump), "-f", "json", "--select", "GC502", expect=1)
    assert keyed(findings(again)) == keyed(fs)
    line = next(i for i, text in enumerate(dump.read_text().splitlines(), 1) if '"pod":"search-' in text)
    assert [(f["path"], f["line"]) for f in findings(again)] == [(str(dump), line)]


def test_probes_are_bounded_in_pods_and_bytes():
    with probe_cluster() as srv:
        r = audit(
            "--kubeconfig",
            srv.kubeconfig,
            "--probe-metrics",
            "--probe-max-pods",
            "1",
            "--probe-max-bytes",
            "1024",
            "-f",
            "json",
            "--select",
            "GC502",
            expect=0,
        )
        proxied = [p for p, _, _ in srv.state.requests if "/proxy/" in p]
    assert proxied == ["/api/v1/namespaces/shop/pods/cart-7d9f8b6c4-x2x9q:9100/proxy/metrics"]
    assert findings(r) == []


def test_nothing_listening_fails_and_denied_proxy_is_a_gap():
    with probe_cluster(forbidden={("pods/proxy", "shop")}) as srv:
        r = audit("--kubeconfig", srv.kubeconfig, "--probe-metrics", "-f", "json", "--select", "GC004,GC502", expect=3)
    assert [(f["path"], f["rule_id"]) for f in findings(r)] == [("cluster/test/shop/pods_proxy", "GC004")]
    with probe_cluster() as srv:
        srv.state.metrics.clear()
        r = audit("--kubeconfig", srv.kubeconfig, "--probe-metrics", "-f", "json", "--select", "GC502", expect=1)
    assert [f["path"] for f in findings(r)] == [
        "cluster/test/shop/Deployment/cart",
        "cluster/test/shop/Deployment/search",
    ]
    assert all("connection refused" in f["message"] for f in findings(r))


def test_log_probe_counts_json_lines(tmp_path):
    from guidecheck.checks import Context
    from guidecheck.checks.live import logs_json
    from guidecheck.cluster.dump import read_dumps
    from guidecheck.config import Config

    dump = tmp_path / "d.json"
    with probe_cluster() as srv:
        audit(
            "--kubeconfig",
            srv.kubeconfig,
            "--probe-logs",
            "--log-lines",
            "10",
            "--dump",
            str(dump),
            "--select",
            "GC004",
            expect=0,
        )
        logs = [(p, q) for p, q, _ in srv.state.requests if p.endswith("/log")]
    assert logs and all(
        q["tailLines"] == "10" and q["limitBytes"] == str(256 * 1024) and q["container"] == "app" for _, q in logs
    )
    audited = read_dumps([str(dump)], Config())
    live = {t.data["pod"]: t for t in audited.targets if t.kind == "live" and t.data.get("probe") == "logs"}
    ctx = Context(settings=Config().settings, options={})
    assert list(logs_json(live["cart-7d9f8b6c4-x2x9q"], ctx)) == []  # 9 of the last 10 lines are JSON
    hits = list(logs_json(live["search-7d9f8b6c4-x2x9q"], ctx))
    assert [h.message for h in hits] == [
        "container 'app' of pod shop/search-7d9f8b6c4-x2x9q: 9 of 10 recent log "
        "lines are not JSON objects (at least 50% must be); e.g. 'INFO started'"
    ]
    assert live["search-7d9f8b6c4-x2x9q"].path == "d.json" or live["search-7d9f8b6c4-x2x9q"].path.endswith("d.json")


def test_live_checks_do_not_apply_to_other_targets():
    from guidecheck.checks import Context, NotApplicable
    from guidecheck.checks.live import coverage_gaps, logs_json, metrics_endpoint
    from guidecheck.model import ObjectRef, Target

    ctx = Context(settings={}, options={})
    k8s_target = Target("k8s", "x.yaml", 1, ObjectRef("Deployment", None, "a"), {"kind": "Deployment"})
    metrics = Target(
        "live",
        "cluster/c/ns/Deployment/a",
        1,
        ObjectRef("Deployment", "ns", "a"),
        {"probe": "metrics", "status": 200, "families": 3, "error": None},
    )
    for check in (coverage_gaps, logs_json, metrics_endpoint):
        with pytest.raises(NotApplicable):
            list(check(k8s_target, ctx))
    with pytest.raises(NotApplicable):
        list(logs_json(metrics, ctx))
    assert list(metrics_endpoint(metrics, ctx)) == []
    silent = Target("live", "p", 1, ObjectRef("Pod", "ns", "p"), {"probe": "logs", "lines": 0, "json": 0})
    with pytest.raises(NotApplicable):
        list(logs_json(silent, ctx))


# ---------------------------------------------------------------- dumps


def test_live_and_dump_give_the_same_findings(tmp_path):
    dump = tmp_path / "cluster.json"
    objs = [
        deployment("cart", image="nginx:latest", **HELM),
        *replicaset_and_pod("cart"),
        deployment("legacy", image="busybox", probes=False),
        secret("jwt"),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {"selector": {"app": "cart"}, "ports": [{"port": 80}]},
        },
    ]
    with KubeServer(objs, forbidden={("configmaps", "*")}) as srv:
        live = audit("--kubeconfig", srv.kubeconfig, "--dump", str(dump), "-f", "json", expect=3)
    offline = audit("--from-dump", str(dump), "-f", "json", expect=3)
    # GC004 (ConfigMaps), GC306 on both images, legacy's GC402, GC405, GC406, and more from other rules
    assert {"GC004", "GC306", "GC402", "GC405", "GC406"} <= {f["rule_id"] for f in findings(live)}
    assert keyed(findings(live)) == keyed(findings(offline))
    assert {f["path"] for f in findings(offline)} == {str(dump)}
    # every finding points at the line of its object in the dump
    lines = dump.read_text().splitlines()
    for f in findings(offline):
        obj = f["object"]
        assert f'"name":"{obj["name"]}"' in lines[f["line"] - 1] or obj["name"] is None, f


def test_kubectl_yaml_and_json_dumps(tmp_path):
    from guidecheck.parsers.yaml import load_yaml  # noqa: F401 - the same reader as scans

    y = tmp_path / "deploy.yaml"
    y.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: a\n    namespace: shop\n"
        "  spec:\n    template:\n      spec:\n        containers:\n        - name: c\n          image: x:latest\n"
        "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: b\n    namespace: shop\n"
        "  spec:\n    template:\n      spec:\n        containers:\n        - name: c\n          image: x:1.0.0-3f2c1ab\n"
    )
    j = tmp_path / "pods.json"
    j.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {"name": "p", "namespace": "shop"},
                        "spec": {"containers": [{"name": "c", "image": "y:latest"}]},
                    }
                ],
            },
            indent=4,
        )
    )
    r = audit("--from-dump", str(y), str(j), "--cluster-name", "prod", "-f", "json", "--select", "GC306", expect=1)
    got = sorted((f["path"], f["line"], f["object"]["name"]) for f in findings(r))
    assert got == [(str(y), 14, "a"), (str(j), 16, "p")]  # the image lines
    assert {f["origin"]["source"] for f in findings(r)} == {"dump"}


def test_a_broken_dump_is_a_gc001_finding(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: [\n")
    # nothing of it could be read: the cluster it holds was not audited (exit 3), and GC001 says where
    r = audit("--from-dump", str(bad), "-f", "json", expect=3)
    assert [(f["path"], f["rule_id"]) for f in findings(r)] == [(str(bad), "GC001")]
    r = audit("--from-dump", str(tmp_path / "none.yaml"), "-f", "json", expect=3)
    assert [f["rule_id"] for f in findings(r)] == ["GC001"]


def test_the_dump_clock_is_the_audit_time(tmp_path):
    from guidecheck.cluster.dump import read_dumps
    from guidecheck.config import Config

    with KubeServer([deployment("cart")]) as srv:
        audit("--kubeconfig", srv.kubeconfig, "--dump", str(tmp_path / "d.json"), "--select", "GC004", expect=0)
    audited = read_dumps([str(tmp_path / "d.json")], Config())
    assert audited.now is not None and audited.now.tzinfo is not None
    assert audited.context == "test"
    r = audit("--from-dump", str(tmp_path / "d.json"), "--at", "not-a-time", expect=2)
    assert "--at" in r.stderr


def test_exec_credential_plugin_of_the_operators_kubeconfig(tmp_path):
    """An exec plugin (as gke-gcloud-auth-plugin or `aws eks get-token`) of --kubeconfig supplies the token."""
    import sys

    with KubeServer([deployment("cart", probes=False)]) as srv:
        plugin = tmp_path / "token-plugin.py"
        plugin.write_text(
            "import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
            "'kind': 'ExecCredential', 'status': {'token': " + repr(srv.state.token) + "}}))\n"
        )
        cfg = json.loads(Path(srv.kubeconfig).read_text())
        cfg["users"] = [
            {
                "name": "auditor",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": sys.executable,
                        "args": [str(plugin)],
                        "interactiveMode": "Never",
                    }
                },
            }
        ]
        kc = tmp_path / "kubeconfig"
        kc.write_text(json.dumps(cfg))
        r = audit("--kubeconfig", str(kc), "-f", "json", "--select", "GC405", expect=1)
    assert [f["path"] for f in findings(r)] == ["cluster/test/shop/Deployment/cart"]


def test_in_cluster_service_account(tmp_path, monkeypatch):
    """--in-cluster: the pod's token and CA files and KUBERNETES_SERVICE_HOST/PORT, as the CronJob runs."""
    from kubernetes.config import incluster_config

    with KubeServer([deployment("cart", probes=False)]) as srv:
        token = tmp_path / "token"
        token.write_text(srv.state.token)
        monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
        monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", srv.ca)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", srv.url.rsplit(":", 1)[1])
        r = audit("--in-cluster", "--cluster-name", "prod-eu", "-f", "json", "--select", "GC405", expect=1)
    assert [f["path"] for f in findings(r)] == ["cluster/prod-eu/shop/Deployment/cart"]


def test_progress_line_only_on_a_terminal(monkeypatch):
    import io
    import sys

    from guidecheck.cluster.audit import run_live
    from guidecheck.cluster.model import AuditOptions
    from guidecheck.config import Config

    class Tty(io.StringIO):
        def isatty(self):
            return True

    with KubeServer([deployment(f"d{i}") for i in range(5)]) as srv:
        for tty, expected in ((True, True), (False, False)):
            err = Tty() if tty else io.StringIO()
            monkeypatch.setattr(sys, "stderr", err)
            run_live(AuditOptions(kubeconfig=srv.kubeconfig, progress=True, page_size=2), Config())
            text = err.getvalue()
            assert ("deployments.apps: page 3, " in text) is expected, text
            assert text.endswith("\r\x1b[K") is expected  # the line is cleared at the end


def test_audit_reports_validate_against_the_report_schema(tmp_path):
    import jsonschema

    from conftest import ROOT

    schema = json.loads((ROOT / "src" / "guidecheck" / "schemas" / "report.schema.json").read_text())
    objs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        secret("k"),
        deployment("cart", **HELM),
        *replicaset_and_pod("cart"),
    ]
    with KubeServer(
        objs, forbidden={("configmaps", "*")}, metrics={("shop", "cart-7d9f8b6c4-x2x9q"): (200, "x")}
    ) as srv:
        r = audit(
            "--kubeconfig",
            srv.kubeconfig,
            "--probe-metrics",
            "--dump",
            str(tmp_path / "d.json"),
            "-f",
            "json",
            expect=3,
        )
    offline = audit("--from-dump", str(tmp_path / "d.json"), "-f", "json", expect=3)
    for report in (json.loads(r.stdout), json.loads(offline.stdout)):
        jsonschema.validate(report, schema)
        assert {f["rule_id"] for f in report["findings"]} >= {"GC004", "GC502"}
