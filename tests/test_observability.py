"""Observability: the Fluent Bit and alert loaders, and rules GC501, GC503, GC504, GC505, GC904."""

from __future__ import annotations

import json

import pytest

from guidecheck.model import Status
from guidecheck.parsers.alerts import has_comparison, rules_from_dashboard, rules_from_grafana, rules_of_data
from guidecheck.parsers.fluentbit import Pipeline, parse_classic
from guidecheck.parsers.yaml import load_yaml

from conftest import ROOT, SHARED
from obs_support import CART, cluster_targets, found, run_targets, scan_tree

DEPLOY = (
    CART
    + """\
          ports:
            - name: metrics
              containerPort: 9100
"""
)
SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: cart
  namespace: shop
  labels: {app: cart}
spec:
  selector: {app: cart}
  ports:
    - name: http-metrics
      port: 9100
      targetPort: metrics
"""


def monitor(namespace: str, ns_selector: str = "") -> str:
    return f"""
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: cart
  namespace: {namespace}
spec:{ns_selector}
  selector:
    matchLabels: {{app: cart}}
  endpoints:
    - port: http-metrics
"""


# ------------------------------------------------------------ Fluent Bit classic format


def test_classic_sections_variables_and_errors_have_lines():
    text = (
        "# comment\n@SET OUT=loki\n[INPUT]\n    Name tail\n\n[OUTPUT]\n    Name ${OUT}\n    Host ${LOKI_HOST}\n"
        "    Lonely\n@FOO bar\n"
    )
    pipe, errors = Pipeline("p", "f.conf", 1), []
    parse_classic(text, "f.conf", 1, pipe, errors)
    assert [(s.name, s.line, s.plugin) for s in pipe.sections] == [("INPUT", 3, "tail"), ("OUTPUT", 6, "loki")]
    assert pipe.sections[1].get("host") == "${LOKI_HOST}"  # unknown variables stay as written
    assert [(e.line, e.message.split(" (")[0]) for _, e in errors] == [
        (9, "key 'Lonely' has no value"),
        (10, "unknown directive @FOO"),
    ]


def test_entry_outside_a_section_is_an_error():
    pipe, errors = Pipeline("p", "f.conf", 1), []
    parse_classic("Name tail\n[INPUT]\n    Name tail\n", "f.conf", 1, pipe, errors)
    assert [(e.line, e.message) for _, e in errors] == [(1, "'Name' is outside any [SECTION]")]


def test_includes_resolve_inside_the_repository_only(tmp_path):
    result = scan_tree(
        tmp_path,
        {
            "fluent-bit/fluent-bit.conf": """
            [SERVICE]
                Flush 1
            @INCLUDE missing.conf
            @INCLUDE ../../etc/outside.conf
            @INCLUDE /fluent-bit/etc/not-in-repo.conf
            @INCLUDE self.conf
            [INPUT]
                Name tail
            """,
            "fluent-bit/self.conf": "@INCLUDE self.conf\n",
            "deploy.yaml": DEPLOY,
        },
        ("GC001", "GC504"),
    )
    got = found(result, tmp_path)
    assert [(p, line, r) for p, line, r, _ in got] == [
        ("fluent-bit/fluent-bit.conf", 1, "GC504"),
        ("fluent-bit/fluent-bit.conf", 3, "GC001"),
        ("fluent-bit/fluent-bit.conf", 4, "GC001"),
        ("fluent-bit/self.conf", 1, "GC001"),
    ]
    msgs = [m for *_, m in got]
    assert msgs[0].startswith("the Fluent Bit pipeline has no [OUTPUT] section")
    assert "not followed: @INCLUDE /fluent-bit/etc/not-in-repo.conf (line 5)" in msgs[0]
    assert msgs[1].endswith("fluent-bit/missing.conf does not exist")
    assert "outside the scanned directory" in msgs[2]
    assert "include cycle" in msgs[3]


def test_glob_include_and_variables_make_one_pipeline(tmp_path):
    result = scan_tree(
        tmp_path,
        {
            "fluent-bit.conf": """
            @SET OUTPUT_PLUGIN=loki
            [INPUT]
                Name tail
            @INCLUDE conf.d/*.conf
            """,
            "conf.d/10-filter.conf": "[FILTER]\n    Name kubernetes\n    Merge_Log On\n",
            "conf.d/20-output.conf": "[OUTPUT]\n    Name ${OUTPUT_PLUGIN}\n    Match *\n",
            "deploy.yaml": DEPLOY,
        },
        ("GC001", "GC503", "GC504"),
    )
    assert found(result, tmp_path) == []
    assert {o.rule_id for o in result.outcomes if o.status == Status.PASS} >= {"GC503", "GC504"}


def test_a_conf_file_that_is_not_fluent_bit_is_not_read_as_one(tmp_path):
    result = scan_tree(
        tmp_path,
        {
            "nginx/nginx.conf": "events {}\nhttp { server { listen 80; } }\n",
            "supervisord.conf": "[program:app]\ncommand=/app\n",
            "fluentd/fluentd.conf": "<source>\n  @type forward\n</source>\n@include loki.conf\n",  # fluentd, not Fluent Bit
            "deploy.yaml": DEPLOY,
        },
        ("GC001", "GC504"),
    )
    assert [(p, r) for p, _, r, _ in found(result, tmp_path)] == [(".", "GC504")]


def test_configmap_parse_errors_are_pinned_inside_the_configmap(tmp_path):
    result = scan_tree(
        tmp_path,
        {
            "cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: fluent-bit
        data:
          fluent-bit.conf: |
            [INPUT]
                Name tail
                Broken
            @INCLUDE outputs.conf
          outputs.conf: |
            [OUTPUT]
                Name loki
        """
        },
        ("GC001", "GC504"),
    )
    assert [(p, line, r) for p, line, r, _ in found(result, tmp_path)] == [("cm.yaml", 9, "GC001")]


def test_yaml_format_includes_and_chart_values_of_a_subchart(tmp_path):
    result = scan_tree(
        tmp_path,
        {
            "fluent-bit.yaml": """
            includes:
              - outputs.yaml
            pipeline:
              inputs:
                - name: tail
                  path: /var/log/containers/*.log
            """,
            "outputs.yaml": """
            pipeline:
              outputs:
                - name: stdout
                  match: "*"
              inputs:
                - name: dummy
            """,
            "inputs-only.yaml": """
            includes: [filters.yaml]
            pipeline:
              inputs:
                - name: tail
            """,
            "filters.yaml": """
            pipeline:
              filters:
                - name: kubernetes
            """,
            "platform/values.yaml": """
            fluent-bit:
              config:
                inputs: |
                  [INPUT]
                      Name tail
                outputs: |
                  [OUTPUT]
                      Name es
                      Match *
            """,
            "deploy.yaml": DEPLOY,
        },
        ("GC001", "GC504"),
    )
    got = [(p, line, r) for p, line, r, _ in found(result, tmp_path)]
    # fluent-bit.yaml gets its (stdout) output from outputs.yaml: pinned there, once (an included file is
    # not a pipeline of its own); inputs-only.yaml has no output at all; in the values the [OUTPUT] line is
    # pinned inside the block scalar
    assert got == [("inputs-only.yaml", 1, "GC504"), ("outputs.yaml", 3, "GC504"), ("platform/values.yaml", 7, "GC504")]


# ------------------------------------------------------------ alert loading and classification


@pytest.mark.parametrize(
    "expr,expected",
    [
        ('up{job="a"} == 0', True),
        ('rate(x_total{code!="200"}[5m])', False),  # != inside a matcher is not a comparison
        ('sum(rate(x{a=~">1"}[5m]))', False),
        ("histogram_quantile(0.9, rate(h_bucket[5m])) > bool 0.5", True),
        ('absent(up{job="a"})', False),
        ("a / b >= 0.99", True),
    ],
)
def test_threshold_comparison(expr, expected):
    assert has_comparison(expr) is expected


def test_rule_groups_in_values_and_grafana_provisioning_are_read_with_lines():
    doc = load_yaml("""serverFiles:
  alerting_rules.yml:
    groups:
      - name: g
        rules:
          - alert: Down
            expr: up == 0
          - record: r:latency
            expr: histogram_quantile(0.9, rate(x_duration_seconds_bucket[5m]))
""")[0].data
    rules = rules_of_data(doc, "values.yaml")
    assert [(r.kind, r.name, r.line, r.threshold) for r in rules] == [
        ("alert", "Down", 6, True),
        ("record", "r:latency", 8, False),
    ]
    graf = load_yaml("""apiVersion: 1
groups:
  - name: g
    rules:
      - title: No threshold
        data:
          - refId: A
            model: {expr: 'up{job="a"}'}
      - title: Math threshold
        data:
          - refId: A
            model: {expr: 'up{job="a"}'}
          - refId: B
            model: {type: math, expression: '$A < 1'}
""")[0].data
    got = [(r.name, r.line, r.threshold, r.exprs) for r in rules_from_grafana(graf["groups"], "g.yaml")]
    assert got == [("No threshold", 5, False, ['up{job="a"}']), ("Math threshold", 9, True, ['up{job="a"}'])]


def test_dashboard_alert_uses_the_queries_its_conditions_name():
    dash = json.loads("""{"panels": [{"type": "row", "panels": [
      {"title": "p", "targets": [{"refId": "A", "expr": "rate(errors_total[5m])"},
                                 {"refId": "B", "expr": "up"}],
       "alert": {"name": "Errors", "conditions": [{"evaluator": {"type": "gt", "params": [1]},
                                                    "query": {"params": ["A", "5m", "now"]}}]}},
      {"title": "no threshold", "targets": [{"refId": "A", "expr": "up"}],
       "alert": {"name": "Up", "conditions": [{"evaluator": {"type": "no_value", "params": []}}]}}]}]}""")
    got = [(r.name, r.exprs, r.threshold) for r in rules_from_dashboard(dash, "d.json")]
    assert got == [("Errors", ["rate(errors_total[5m])"], True), ("Up", ["up"], False)]


def test_default_patterns_and_extra_patterns(tmp_path):
    files = {
        "rules.yaml": """
        groups:
          - name: g
            rules:
              - alert: SloBurn
                expr: slo:sli_error:ratio_rate1h{service="cart"} > 14.4 * 0.001
              - alert: P95
                expr: histogram_quantile(0.95, sum by (le) (rate(grpc_server_handling_seconds_bucket[5m]))) > 1
              - alert: GrpcErrors
                expr: sum(rate(grpc_server_handled_total{grpc_code!="OK"}[5m])) > 1
        """,
        "deploy.yaml": DEPLOY,
    }
    got = found(scan_tree(tmp_path, files, ("GC505",)), tmp_path)
    # grpc_server_handling_seconds is a latency histogram the default patterns do not know
    assert [(p, line, r) for p, line, r, _ in got] == [("rules.yaml", 1, "GC505")]
    assert "no threshold alert for latency among 3 alert(s)" in got[0][3]
    extended = scan_tree(
        tmp_path,
        {},
        ("GC505",),
        settings={"extra-alert-signal-patterns": {"latency": [r"grpc_server_handling_seconds_bucket"]}},
    )
    assert found(extended, tmp_path) == []


def test_invalid_signal_pattern_is_a_configuration_error(tmp_path, run_cli):
    (tmp_path / ".guidecheck.yaml").write_text("settings:\n  extra-alert-signal-patterns:\n    errors: ['(']\n")
    proc = run_cli("scan", str(tmp_path), "--config", str(tmp_path / ".guidecheck.yaml"))
    assert proc.returncode == 2
    assert "settings.extra-alert-signal-patterns.errors" in proc.stderr


def test_dashboard_in_a_configmap_counts(tmp_path):
    dash = {
        "title": "cart",
        "panels": [
            {
                "title": "Availability",
                "targets": [{"refId": "A", "expr": "up"}],
                "alert": {
                    "name": "Down",
                    "conditions": [{"evaluator": {"type": "lt", "params": [1]}, "query": {"params": ["A"]}}],
                },
            }
        ],
    }
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dash\ndata:\n  cart.json: |\n" + "".join(
        "    " + line + "\n" for line in json.dumps(dash, indent=1).splitlines()
    )
    got = found(scan_tree(tmp_path, {"dash.yaml": cm, "deploy.yaml": DEPLOY}, ("GC505",)), tmp_path)
    assert [(p, line, r) for p, line, r, _ in got] == [("dash.yaml", 1, "GC505")]
    assert "no threshold alert for latency / errors among 1 alert(s)" in got[0][3]
    assert "found availability: 'Down'" in got[0][3]


# ------------------------------------------------------------ GC501 cross-object


@pytest.mark.parametrize(
    "ns_selector,passes",
    [
        ("", False),  # a ServiceMonitor selects Services of its own namespace only
        ("\n  namespaceSelector: {any: true}", True),
        ("\n  namespaceSelector: {matchNames: [shop]}", True),
        ("\n  namespaceSelector: {matchNames: [other]}", False),
    ],
)
def test_servicemonitor_namespace_selector(tmp_path, ns_selector, passes):
    result = scan_tree(
        tmp_path,
        {"app/deploy.yaml": DEPLOY, "app/svc.yaml": SERVICE, "monitoring/sm.yaml": monitor("monitoring", ns_selector)},
        ("GC501",),
    )
    got = found(result, tmp_path)
    if passes:
        assert got == []
    else:
        assert [(p, line, r) for p, line, r, _ in got] == [("app/deploy.yaml", 17, "GC501")]
        assert got[0][3].startswith("no scrape config: container 'cart' declares port 9100")


def test_servicemonitor_port_that_the_service_lacks(tmp_path):
    sm = monitor("shop").replace("port: http-metrics", "port: metrics")
    got = found(scan_tree(tmp_path, {"deploy.yaml": DEPLOY, "svc.yaml": SERVICE, "sm.yaml": sm}, ("GC501",)), tmp_path)
    assert [(p, line) for p, line, _, _ in got] == [("deploy.yaml", 17)]
    assert "names port 'metrics', which Service 'cart' does not have" in got[0][3]


def test_an_idle_monitor_is_named_only_where_it_may_have_been_meant(tmp_path):
    """kubernetes/examples: the vllm-gemma ServiceMonitor (app: gemma-server) selects nothing; the guestbook's
    finding no longer names it, the cart's (a monitor named for it) still does."""
    gemma = monitor("shop").replace("name: cart", "name: vllm-gemma", 1).replace("app: cart", "app: gemma-server")
    files = {"deploy.yaml": DEPLOY, "svc.yaml": SERVICE, "sm.yaml": gemma}
    [(_p, _l, _r, message)] = found(scan_tree(tmp_path, files, ("GC501",)), tmp_path)
    assert "vllm-gemma" not in message, message
    near = monitor("shop").replace("app: cart", "app.kubernetes.io/name: cart")  # the Service says app: cart
    [(_p, _l, _r, message)] = found(scan_tree(tmp_path, {**files, "sm.yaml": near}, ("GC501",)), tmp_path)
    assert "ServiceMonitor 'cart'" in message and "selects no Service" in message, message
    # kube-green's monitor_tls_patch.yaml: a kustomize patch with no selector (the CRD requires one) is no monitor
    # anybody meant for the cart, even named for it
    patch = monitor("shop").replace("  selector:\n    matchLabels: {app: cart}\n", "")
    [(_p, _l, _r, message)] = found(scan_tree(tmp_path, {**files, "sm.yaml": patch}, ("GC501",)), tmp_path)
    assert "selects no" not in message, message


def test_owned_replicaset_is_judged_on_its_deployment(tmp_path):
    rs = DEPLOY.replace("kind: Deployment", "kind: ReplicaSet").replace(
        "  namespace: shop\n",
        "  namespace: shop\n  ownerReferences:\n    - {kind: Deployment, name: cart, "
        "controller: true, apiVersion: apps/v1, uid: x}\n",
        1,
    )
    result = scan_tree(tmp_path, {"rs.yaml": rs}, ("GC501",))
    assert [o.status for o in result.outcomes if o.target.kind == "k8s"] == []  # judged through its owner
    result = scan_tree(tmp_path, {"rs.yaml": rs}, ("GC001",))
    [(path, line, _rule, message)] = found(result, tmp_path)
    assert path == "rs.yaml" and message.startswith(
        "1 object(s) made by their controller (ReplicaSet 'cart' of Deployment/cart)"
    )


def test_operator_made_statefulset_is_judged_on_its_custom_resource(tmp_path):
    """percona's e2e expectations: the StatefulSet the operator made from its PerconaServerMongoDB."""
    sts = DEPLOY.replace("kind: Deployment", "kind: StatefulSet").replace(
        "  namespace: shop\n",
        "  namespace: shop\n  ownerReferences:\n    - {kind: PerconaServerMongoDB, name: some-name, controller: true}\n",
        1,
    )
    result = scan_tree(tmp_path, {"sts.yaml": sts}, ("GC001", "GC403", "GC501"))
    [(path, line, rule, message)] = found(result, tmp_path)
    assert (path, line, rule) == ("sts.yaml", 1, "GC001") and message.startswith(
        "1 object(s) made by their controller (StatefulSet 'cart' of PerconaServerMongoDB/some-name)"
    )
    # without the controller flag it is an object of the repository, judged on its own
    plain = sts.replace("controller: true", "controller: false")
    got = found(scan_tree(tmp_path, {"sts.yaml": plain}, ("GC001", "GC403", "GC501")), tmp_path)
    assert sorted(rule for _p, _l, rule, _m in got) == ["GC403", "GC501"]


NODE_EXPORTER = SHARED / "corpus" / "dev" / "prometheus-operator__kube-prometheus" / "manifests"


@pytest.mark.skipif(not NODE_EXPORTER.is_dir(), reason="shared corpus not present")
def test_node_exporter_of_kube_prometheus_passes_gc501(run_cli):
    proc = run_cli("scan", "--isolated", "-f", "json", "--select", "GC501", str(NODE_EXPORTER))
    doc = json.loads(proc.stdout)
    status = {o["target"]["object"]["name"]: o["status"] for o in doc["outcomes"]}
    assert status["node-exporter"] == "pass"
    assert status["grafana"] == "fail"  # scraped, but on 3000


# ------------------------------------------------------------ objects read from a cluster


CLUSTER = """
apiVersion: v1
kind: ConfigMap
metadata: {name: fluent-bit, namespace: logging}
data:
  fluent-bit.conf: |
    [INPUT]
        Name tail
    [OUTPUT]
        Name es
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: cart, namespace: shop}
spec:
  groups:
    - name: cart
      rules:
        - alert: CartDown
          expr: up{job="cart"} == 0
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec:
      containers: [{name: cart, image: "r/cart:1.0.0-abcdef1"}]
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{port: 80}]
"""


def test_cluster_objects_are_judged_without_a_repository():
    result = run_targets(cluster_targets(CLUSTER), ("GC503", "GC504", "GC505", "GC904"))
    got = sorted((f.rule_id, str(f.object)) for f in result.findings)
    assert got == [
        ("GC503", "ConfigMap/logging/fluent-bit"),
        ("GC504", "ConfigMap/logging/fluent-bit"),
        ("GC505", "PrometheusRule/shop/cart"),  # the scope's first alert source carries the scope's verdict
        ("GC904", "Deployment/shop/cart"),
    ]
    # objects a rule never looks at have no outcome at all (no "not applicable" per Service)
    assert not [o for o in result.outcomes if o.target.data.get("kind") == "Service"]
    assert all(o.status == Status.FAIL for o in result.outcomes)


def test_configmap_glob_include_skips_the_including_key_and_aggregators_are_not_judged_for_json(tmp_path):
    result = scan_tree(
        tmp_path,
        {
            "agent.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: agent}
            data:
              fluent-bit.conf: |
                [INPUT]
                    Name tail
                @INCLUDE /fluent-bit/etc/*.conf
              filters.conf: |
                [FILTER]
                    Name kubernetes
                    Merge_Log On
              out.conf: |
                [OUTPUT]
                    Name forward
                    Host aggregator
            """,
            "aggregator.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: aggregator}
            data:
              fluent-bit.conf: |
                [INPUT]
                    Name forward
                [OUTPUT]
                    Name loki
            """,
        },
        ("GC001", "GC503", "GC504"),
    )
    assert found(result, tmp_path) == []
    passed = sorted(
        (o.rule_id, o.target.ref.name) for o in result.outcomes if o.status == Status.PASS and o.rule_id != "GC001"
    )
    # the repository passes too: its pipelines are judged on their ConfigMaps
    assert passed == sorted(
        [
            ("GC503", "agent"),
            ("GC503", "aggregator"),
            ("GC504", "agent"),
            ("GC504", "aggregator"),
            ("GC503", tmp_path.name),
            ("GC504", tmp_path.name),
        ]
    )


def test_latency_rule_refers_through_single_quoted_and_regex_matchers(tmp_path):
    from guidecheck.checks.alerts import refers_to
    from guidecheck.parsers.alerts import AlertRule

    def rule(expr: str) -> AlertRule:
        return AlertRule("record", "r", [expr], "f", 1, False)

    names = {"cart", "shop-cart"}
    assert refers_to(rule("rate(x_bucket{job='cart'}[5m])"), names)
    assert refers_to(rule('rate(x_bucket{service=~"shop-.*"}[5m])'), names)
    assert refers_to(rule('rate(x_bucket{job="shop/cart"}[5m])'), names)  # namespace/name jobs
    assert refers_to(rule("rate(shop_cart_request_duration_seconds_bucket[5m])"), names)
    assert not refers_to(rule('rate(x_bucket{job!="cart"}[5m])'), names)
    assert not refers_to(rule('rate(x_bucket{job=~"cart-v2"}[5m])'), names)


# ------------------------------------------------------------ rendered charts (real helm)

HELM = ROOT / ".tools" / "bin" / "helm"
NE_CHART = SHARED / "corpus" / "dev" / "prometheus-community__helm-charts" / "charts" / "prometheus-node-exporter"


def _render(chart, out_dir, *args: str) -> None:
    import subprocess

    proc = subprocess.run(
        [str(HELM), "template", "rel", str(chart), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(out_dir),
            "HELM_CACHE_HOME": str(out_dir / ".c"),
            "HELM_CONFIG_HOME": str(out_dir / ".h"),
        },
    )
    assert proc.returncode == 0, proc.stderr
    (out_dir / "rendered.yaml").write_text(proc.stdout, encoding="utf-8")


@pytest.mark.skipif(not HELM.is_file() or not NE_CHART.is_dir(), reason="helm or the shared corpus not present")
@pytest.mark.parametrize(
    "args,passes",
    [
        ((), True),  # the Service's prometheus.io/scrape annotation, every Service port
        (("--set", "prometheus.monitor.enabled=true", "--set-json", "service.annotations=null"), True),  # named port
        (("--set", "prometheus.podMonitor.enabled=true", "--set-json", "service.annotations=null"), True),
        (("--set-json", "service.annotations=null"), False),
    ],
)
def test_rendered_node_exporter_chart(tmp_path, args, passes):
    _render(NE_CHART, tmp_path, *args)
    result = scan_tree(tmp_path, {}, ("GC501",))
    statuses = [o.status for o in result.outcomes if o.target.ref.kind == "DaemonSet"]
    assert statuses == [Status.PASS if passes else Status.FAIL]


@pytest.mark.skipif(not HELM.is_file(), reason="helm not present")
def test_compliant_example_chart_renders_compliant(tmp_path):
    import shutil

    example = ROOT / "examples" / "compliant-service"
    shutil.copytree(example, tmp_path / "svc", ignore=shutil.ignore_patterns("chart"))
    _render(example / "chart", tmp_path / "svc")
    result = scan_tree(tmp_path / "svc", {}, ("GC501", "GC503", "GC504", "GC505", "GC903", "GC904"))
    assert found(result, tmp_path / "svc") == []
    passed = {(o.rule_id, o.target.ref.kind) for o in result.outcomes if o.status == Status.PASS}
    assert {
        ("GC501", "Deployment"),
        ("GC903", "Deployment"),
        ("GC904", "Deployment"),
        ("GC505", "Repository"),
        ("GC503", "Repository"),
        ("GC504", "Repository"),
    } <= passed


def test_a_repository_that_deploys_nothing_is_not_applicable(tmp_path):
    result = scan_tree(tmp_path, {"Dockerfile": "FROM alpine:3.20\n"}, ("GC503", "GC504", "GC505", "GC904"))
    assert found(result, tmp_path) == []
    assert sorted((o.rule_id, o.status) for o in result.outcomes) == [
        (r, Status.NOT_APPLICABLE) for r in ("GC503", "GC504", "GC505", "GC904")
    ]
    assert all("nothing in this directory is deployed" in o.reason for o in result.outcomes)


def test_a_fluent_bit_file_named_on_the_command_line_is_checked_for_syntax(tmp_path, run_cli):
    (tmp_path / "fluent-bit.conf").write_text("[INPUT]\n    Name tail\n    Path\n", encoding="utf-8")
    proc = run_cli("scan", "--isolated", "fluent-bit.conf", cwd=tmp_path)
    assert proc.returncode == 1
    assert "fluent-bit.conf:3:1: error GC001 key 'Path' has no value" in proc.stdout


def test_chart_values_are_not_judged_again_when_the_chart_was_rendered(tmp_path):
    from guidecheck import engine
    from guidecheck.catalog import load_rules
    from guidecheck.config import Config
    from guidecheck.loaders import load

    from obs_support import write_tree

    write_tree(
        tmp_path,
        {
            "logging/values.yaml": """
        config:
          outputs: |
            [OUTPUT]
                Name es
          inputs: |
            [INPUT]
                Name tail
        """,
            "deploy.yaml": DEPLOY,
        },
    )
    config = Config(select=("GC504",))
    loaded = load([str(tmp_path)], config)
    before = engine.run(load_rules(), loaded.targets, config)
    assert [(f.line, f.path.endswith("logging/values.yaml")) for f in before.findings] == [(3, True)]
    # what the Helm loader adds: the chart's ConfigMap, rendered from those values
    rendered = cluster_targets("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: fluent-bit}
        data:
          fluent-bit.conf: |
            [INPUT]
                Name tail
            [OUTPUT]
                Name es
        """)[0]
    rendered.path = str(tmp_path / "logging/templates/configmap.yaml")
    rendered.origin = {
        "source": "helm",
        "repo": str(tmp_path) + "/",
        "chart": str(tmp_path / "logging"),
        "profile": "default",
    }
    after = engine.run(load_rules(), loaded.targets + [rendered], config)
    assert [(f.path.endswith("templates/configmap.yaml"), str(f.object)) for f in after.findings] == [
        (True, "ConfigMap/fluent-bit")
    ]


def test_an_input_that_decodes_json_itself_parses_logs_as_json(tmp_path):
    """fluent-bit's kafka example: `[INPUT] Name kafka ... format json` parses the payload as JSON."""
    conf = (
        "[INPUT]\n    Name kafka\n    Brokers kafka:9092\n    Topics logs\n    format {}\n\n[OUTPUT]\n    Name stdout\n"
    )
    result = scan_tree(tmp_path / "json", {"fluent-bit.conf": conf.format("json")}, ("GC503",))
    assert found(result, tmp_path / "json") == []
    result = scan_tree(tmp_path / "none", {"fluent-bit.conf": conf.format("none")}, ("GC503",))
    assert [(p, line) for p, line, _r, _m in found(result, tmp_path / "none")] == [("fluent-bit.conf", 1)]


def test_gc904_needs_a_workload_that_a_service_selects(tmp_path):
    """bitnami-labs/kubewatch: Pods that watch the cluster and post to webhooks, behind no Service, serve no
    requests whose response time to monitor; a file that does not parse may hold the Service, so it still applies."""
    files = {"deploy.yaml": DEPLOY, "Dockerfile": "FROM alpine:3.20.3\n"}
    result = scan_tree(tmp_path, files, ("GC904",))
    [o] = [o for o in result.outcomes if o.rule_id == "GC904" and o.target.kind == "repo"]
    assert o.status == Status.NOT_APPLICABLE and "no Service selects a workload" in (o.reason or ""), o
    result = scan_tree(
        tmp_path, {**files, "svc.yaml": "apiVersion: v1\nkind: Service\nspec: {selector: [\n"}, ("GC904",)
    )
    assert [r for _p, _l, r, _m in found(result, tmp_path)] == ["GC904"]
    # a metrics Service is scraped, not called (fluent-operator's): still no requests to time
    result = scan_tree(tmp_path, {**files, "svc.yaml": SERVICE}, ("GC904",))
    assert found(result, tmp_path) == []
    web = SERVICE + "    - name: http\n      port: 80\n      targetPort: 8080\n"
    result = scan_tree(tmp_path, {**files, "svc.yaml": web}, ("GC904",))
    assert [r for _p, _l, r, _m in found(result, tmp_path)] == ["GC904"]
    # an admission webhook's Service is called by the kube-apiserver only (keda-olm-operator's), as for GC601
    hook = SERVICE.replace(
        "- name: http-metrics\n      port: 9100\n      targetPort: metrics",
        ("- name: webhook\n      port: 443\n      targetPort: 8080"),
    )
    assert "name: webhook" in hook, hook
    result = scan_tree(tmp_path, {**files, "svc.yaml": hook}, ("GC904",))
    assert found(result, tmp_path) == []


def test_no_port_9100_points_at_the_container_serving_metrics_not_a_sidecar(tmp_path):
    """cert-manager csi-driver: node-driver-registrar comes first; the driver serves metrics on http-metrics."""
    daemonset = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: csi}
spec:
  selector: {matchLabels: {app: csi}}
  template:
    metadata: {labels: {app: csi}}
    spec:
      containers:
        - name: node-driver-registrar
          image: registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0
        - name: csi-driver
          image: quay.io/jetstack/cert-manager-csi-driver:v0.10.0
          ports:
            - {name: http-metrics, containerPort: 9402}
"""
    [(path, line, rule, _m)] = found(scan_tree(tmp_path, {"ds.yaml": daemonset}, ("GC501",)), tmp_path)
    assert (path, line, rule) == ("ds.yaml", 12, "GC501")


LOGGING = """\
apiVersion: logging.banzaicloud.io/v1beta1
kind: Logging
metadata: {name: default}
spec:
  controlNamespace: logging
  fluentd: {}
  fluentbit: {}
"""
LOKI_OUTPUT = """\
apiVersion: logging.banzaicloud.io/v1beta1
kind: ClusterOutput
metadata: {name: loki, namespace: logging}
spec:
  loki:
    url: http://loki.monitoring:3100
"""


def test_the_logging_operator_runs_fluent_bit_that_merges_json_and_ships_to_loki(tmp_path):
    """kube-logging/logging-operator: a Logging's spec.fluentbit runs Fluent Bit with the kubernetes filter
    (Merge_Log On unless said Off), forwarding to the aggregator, whose ClusterOutput ships to Loki."""
    files = {"deploy.yaml": DEPLOY, "logging.yaml": LOGGING, "output.yaml": LOKI_OUTPUT}
    assert found(scan_tree(tmp_path, files, ("GC503", "GC504")), tmp_path) == []
    off = LOGGING.replace("  fluentbit: {}\n", '  fluentbit:\n    filterKubernetes:\n      Merge_Log: "Off"\n')
    es = LOKI_OUTPUT.replace("name: loki,", "name: es,").replace(
        "  loki:\n    url: http://loki.monitoring:3100\n", "  elasticsearch:\n    host: es\n"
    )
    got = found(scan_tree(tmp_path, {**files, "logging.yaml": off, "output.yaml": es}, ("GC503", "GC504")), tmp_path)
    assert [(p, line, r) for p, line, r, _m in got] == [("logging.yaml", 9, "GC503"), ("output.yaml", 5, "GC504")], got
    assert "outputs: elasticsearch, forward" in got[1][3], got[1][3]


def test_a_workflow_s_own_error_does_not_keep_gc904_applicable(tmp_path):
    """mongodb-kubernetes-operator: a step with an empty name: is the workflow's problem; it holds no Service."""
    flow = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - name:\n        run: make\n"
    files = {"deploy.yaml": DEPLOY, "Dockerfile": "FROM alpine:3.20.3\n", ".github/workflows/ci.yml": flow}
    result = scan_tree(tmp_path, files, ("GC904",))
    [o] = [o for o in result.outcomes if o.rule_id == "GC904" and o.target.kind == "repo"]
    assert o.status == Status.NOT_APPLICABLE, o


@pytest.mark.parametrize(
    "expr, latency",
    [
        # Altinity's ZookeeperHighLatency and ClickHouseKeeperHighLatency: a latency gauge over a threshold
        ("avg_latency{app=~'zookeeper.*'} > 500", True),
        ("ClickHouseAsyncMetrics_KeeperMaxLatency{app=~'clickhouse-keeper.*'} > 500", True),
        ("nginx_upstream_response_time >= 2", True),
        ("kube_job_duration_seconds > 3600", False),  # how long a job ran, not a request's latency
        ("sum(kube_pod_info) > 0", False),
        # camel-k: the share of reconciliations slower than 0.5 s, from the bucket its le= selects
        (
            '1 - sum(rate(camel_k_reconciliation_duration_seconds_bucket{le="0.5"}[5m])) '
            "/ sum(rate(camel_k_reconciliation_duration_seconds_count[5m])) * 100 > 10",
            True,
        ),
        ('sum(rate(http_request_duration_seconds_bucket{code="500"}[5m])) > 1', False),  # no bound: a count
    ],
)
def test_a_latency_gauge_over_a_threshold_is_a_latency_alert(expr, latency):
    from guidecheck.checks import Context
    from guidecheck.checks.alerts import classify
    from guidecheck.config import DEFAULT_SETTINGS
    from guidecheck.parsers.alerts import AlertRule

    rule = AlertRule(kind="alert", name="a", exprs=[expr], path="r.yaml", line=1, threshold=True)
    assert ("latency" in classify(rule, Context(settings=dict(DEFAULT_SETTINGS), options={}))) is latency


@pytest.mark.parametrize(
    "expr, errors",
    [
        ("rate(otelcol_exporter_send_failed_spans_total[5m]) > 0", True),  # alloy's failure-ratio alerts
        ("rate(http_requests_errors_total[5m]) > 1", True),
        ("rate(grpc_server_failures[5m]) > 1", True),
        ("rate(http_requests_total[5m]) > 100", False),
        ("sum(kube_pod_info) > 0", False),
    ],
)
def test_error_counters_with_a_noun_after_the_keyword_are_error_alerts(expr, errors):
    from guidecheck.checks import Context
    from guidecheck.checks.alerts import classify
    from guidecheck.config import DEFAULT_SETTINGS
    from guidecheck.parsers.alerts import AlertRule

    rule = AlertRule(kind="alert", name="a", exprs=[expr], path="r.yaml", line=1, threshold=True)
    assert ("errors" in classify(rule, Context(settings=dict(DEFAULT_SETTINGS), options={}))) is errors
