"""GC903: HorizontalPodAutoscaler coverage of Deployments and StatefulSets."""

from __future__ import annotations

import pytest

from guidecheck.checks.autoscaling import scaler_problems, scaler_resources
from guidecheck.model import Status
from guidecheck.parsers.yaml import load_yaml

from obs_support import CART, cluster_targets, found, run_targets, scan_tree

DEPLOY = CART


def hpa(api: str, spec: str, namespace: str = "shop", kind: str = "Deployment", name: str = "cart") -> str:
    return f"""
apiVersion: {api}
kind: HorizontalPodAutoscaler
metadata:
  name: cart
  namespace: {namespace}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: {kind}
    name: {name}
{spec}
"""


def obj(text: str) -> dict:
    return load_yaml(text.lstrip("\n"))[0].data


@pytest.mark.parametrize(
    "text,resources",
    [
        (hpa("autoscaling/v1", "  maxReplicas: 4"), ["cpu"]),  # targetCPUUtilizationPercentage defaults to 80
        (hpa("autoscaling/v2", "  maxReplicas: 4"), ["cpu"]),  # no metrics: CPU at 80 %
        (
            hpa(
                "autoscaling/v2beta1",
                "  maxReplicas: 4\n  metrics:\n    - type: Resource\n      resource:\n"
                "        name: memory\n        targetAverageUtilization: 80",
            ),
            ["memory"],
        ),
        (
            hpa(
                "autoscaling/v2",
                "  maxReplicas: 4\n  metrics:\n    - type: ContainerResource\n"
                "      containerResource: {name: cpu, container: app, target: {type: Utilization}}",
            ),
            ["cpu"],
        ),
        (
            hpa(
                "autoscaling/v2",
                "  maxReplicas: 4\n  metrics:\n    - type: External\n      external: {metric: {name: queue_depth}}",
            ),
            [],
        ),
    ],
)
def test_resources_per_api_version(text, resources):
    assert scaler_resources(obj(text)) == resources


@pytest.mark.parametrize(
    "spec,problem",
    [
        ("  minReplicas: 3\n  maxReplicas: 3", "minReplicas 3 is not below maxReplicas 3: it cannot scale"),
        ("  minReplicas: 1", "maxReplicas is missing, not a number"),
        ("  minReplicas: '{{ .Values.min }}'\n  maxReplicas: 5", "minReplicas is '{{ .Values.min }}', not a number"),
        ("  maxReplicas: 1", "minReplicas 1 is not below maxReplicas 1: it cannot scale"),  # minReplicas defaults to 1
    ],
)
def test_replica_range_problems(spec, problem):
    problems = scaler_problems(obj(hpa("autoscaling/v2", spec)), {"cpu", "memory"})
    assert any(problem in p for p in problems), problems


def test_hpa_in_another_namespace_does_not_count(tmp_path):
    result = scan_tree(
        tmp_path,
        {"deploy.yaml": DEPLOY, "hpa.yaml": hpa("autoscaling/v2", "  maxReplicas: 5", namespace="other")},
        ("GC903",),
    )
    got = found(result, tmp_path)
    assert [(p, line) for p, line, _, _ in got] == [("deploy.yaml", 1), ("hpa.yaml", 10)]
    assert got[0][3].startswith("no HorizontalPodAutoscaler has scaleTargetRef Deployment 'cart'")
    assert got[1][3] == "scale target Deployment 'cart' in namespace other does not exist in this scan"


def test_a_workload_with_only_a_generate_name_cannot_be_named_by_an_hpa(tmp_path):
    deploy = DEPLOY.replace("  name: cart\n", "  generateName: cart-\n", 1)
    assert "generateName: cart-" in deploy
    result = scan_tree(
        tmp_path, {"deploy.yaml": deploy, "hpa.yaml": hpa("autoscaling/v2", "  maxReplicas: 5")}, ("GC903",)
    )
    got = found(result, tmp_path)
    assert [(p, line) for p, line, _, _ in got] == [("deploy.yaml", 1), ("hpa.yaml", 10)]
    assert got[0][3] == (
        "Deployment has no fixed name (generateName 'cart-'), so no HorizontalPodAutoscaler can name it in "
        "scaleTargetRef: it does not scale on cpu or memory usage"
    )


def test_one_good_autoscaler_is_enough_and_others_are_not_reported(tmp_path):
    result = scan_tree(
        tmp_path,
        {
            "deploy.yaml": DEPLOY,
            "hpa.yaml": hpa("autoscaling/v2", "  minReplicas: 2\n  maxReplicas: 5")
            + "---\n"
            + hpa("autoscaling/v2", "  minReplicas: 5\n  maxReplicas: 5").replace(
                "name: cart\n  namespace", "name: b\n  namespace"
            ),
        },
        ("GC903",),
    )
    assert found(result, tmp_path) == []


def test_rollouts_count_when_configured_and_objects_never_judged_have_no_outcome(tmp_path):
    rollout = DEPLOY.replace("apps/v1\nkind: Deployment", "argoproj.io/v1alpha1\nkind: Rollout")
    files = {"rollout.yaml": rollout, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}
    default = scan_tree(tmp_path, files, ("GC903",))
    assert [(o.target.ref.kind, o.status) for o in default.outcomes] == [("Rollout", Status.NOT_APPLICABLE)]
    configured = scan_tree(tmp_path, {}, ("GC903",), settings={"autoscaled-kinds": ["Deployment", "Rollout"]})
    assert [(p, line, r) for p, line, r, _ in found(configured, tmp_path)] == [("rollout.yaml", 1, "GC903")]


def test_memory_only_policy(tmp_path):
    files = {"deploy.yaml": DEPLOY, "hpa.yaml": hpa("autoscaling/v1", "  maxReplicas: 5")}
    assert found(scan_tree(tmp_path, files, ("GC903",)), tmp_path) == []
    strict = found(scan_tree(tmp_path, {}, ("GC903",), settings={"autoscaling-resources": ["memory"]}), tmp_path)
    assert [(p, line) for p, line, _, _ in strict] == [("hpa.yaml", 1)]
    assert "scales on cpu, not on memory" in strict[0][3]


def test_cluster_hpa_and_deployment():
    targets = cluster_targets(
        DEPLOY
        + "---\n"
        + hpa("autoscaling/v2", "  minReplicas: 2\n  maxReplicas: 6")
        + "---\n"
        + hpa("autoscaling/v2", "  maxReplicas: 6", name="gone").replace(
            "name: cart\n  namespace", "name: gone\n  namespace"
        )
    )
    result = run_targets(targets, ("GC903",))
    assert sorted((str(f.object), f.message) for f in result.findings) == [
        (
            "HorizontalPodAutoscaler/shop/gone",
            "scale target Deployment 'gone' in namespace shop does not exist in this scan",
        )
    ]
    assert sorted((o.target.ref.name, o.status) for o in result.outcomes) == [
        ("cart", Status.PASS),
        ("cart", Status.PASS),
        ("gone", Status.FAIL),
    ]


@pytest.mark.parametrize(
    "env, applies",
    [
        ('[{name: LEADER_ELECTION, value: "true"}]', False),  # crossplane's core and RBAC manager
        ('[{name: ENABLE_LEADER_ELECTION, value: "1"}]', False),
        ('[{name: KH_LEADER_ELECTION_ENABLED, value: "true"}]', False),  # kuberhealthy's, with its prefix
        ('[{name: LEADER_ELECTION, value: "false"}]', True),
        ('[{name: LEADER_ELECTION_NAMESPACE, value: "true"}]', True),  # not the switch
    ],
)
def test_leader_election_switched_on_by_an_environment_variable(tmp_path, env, applies):
    """A controller whose binary binds its leader-election flag to an environment variable."""
    _assert_leader_elected(tmp_path, "env", env, applies)


def _assert_leader_elected(tmp_path, key: str, value: str, applies: bool) -> None:
    """GC903 on the cart Deployment with ``key: value`` in its container: judged (FAIL) or, when not ``applies``,
    not applicable as a leader-elected controller."""
    deploy = DEPLOY.replace("image: registry.example/cart:1.4.2-3f2c1ab", f"image: x:1\n          {key}: {value}")
    assert f"{key}:" in deploy
    result = scan_tree(tmp_path, {"deploy.yaml": deploy}, ("GC903",))
    [o] = [o for o in result.outcomes if o.rule_id == "GC903"]
    assert (o.status == Status.FAIL) is applies, (o.status, o.reason)
    if not applies:
        assert o.status == Status.NOT_APPLICABLE and "a leader-elected controller (" in (o.reason or ""), o.reason


@pytest.mark.parametrize(
    "args, applies",
    [
        ('["--leader-elect"]', False),  # controller-runtime's managers (kubebuilder's scaffold)
        ('["--leader-elect=true"]', False),
        ('["--enable-leader-election", "--metrics-bind-address=:8080"]', False),
        ('["--leader-elect", "true"]', False),
        ('["--leader-elect=false"]', True),  # every replica works: it scales
        ('["--leader-elect", "false"]', True),
        ('["--port=8080"]', True),
        # cert-manager elects a leader by default and its chart passes where the lease lives
        ('["--leader-election-namespace=kube-system", "--v=2"]', False),
        ('["--leader-elect-lease-duration=15s"]', False),  # kube-controller-manager's
        ('["--leader-election-namespace=kube-system", "--leader-elect=false"]', True),
    ],
)
def test_a_leader_elected_controller_needs_no_autoscaler(tmp_path, args, applies):
    """Operators (keptn's, cloudnative-pg's) run one active replica that holds the lease: an HPA on CPU adds
    standbys. With an autoscaler given, it is judged as any other."""
    _assert_leader_elected(tmp_path, "args", args, applies)


@pytest.mark.parametrize("elect, applies", [("true", False), ("false", True)])
def test_leader_election_a_mounted_component_config_turns_on(tmp_path, elect, applies):
    """lws and jobset patch --leader-elect into --config=/controller_manager_config.yaml, a file of the
    manager-config ConfigMap whose leaderElection.leaderElect is true."""
    deploy = DEPLOY.replace(
        "image: registry.example/cart:1.4.2-3f2c1ab",
        'image: x:1\n          args: ["--config=/controller_manager_config.yaml"]\n'
        "          volumeMounts:\n            - {name: manager-config, mountPath: /controller_manager_config.yaml, "
        "subPath: controller_manager_config.yaml}\n"
        "      volumes:\n        - {name: manager-config, configMap: {name: manager-config}}",
    )
    config = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: manager-config, namespace: shop}\ndata:\n"
        "  controller_manager_config.yaml: |\n    apiVersion: config.lws.x-k8s.io/v1alpha1\n"
        f"    kind: Configuration\n    leaderElection:\n      leaderElect: {elect}\n"
    )
    result = scan_tree(tmp_path, {"deploy.yaml": deploy, "config.yaml": config}, ("GC903",))
    [o] = [o for o in result.outcomes if o.rule_id == "GC903"]
    assert (o.status == Status.FAIL) is applies, (o.status, o.reason)
    if not applies:
        assert "--config /controller_manager_config.yaml, whose leaderElection.leaderElect is true" in (o.reason or "")


@pytest.mark.parametrize("env, applies", [("SYSTEM_NAMESPACE", False), ("OTHER", True)])
def test_leader_election_of_a_knative_shared_main(tmp_path, env, applies):
    """tekton-operator's controllers run knative's shared main (SYSTEM_NAMESPACE in their environment), which
    elects leaders by default, configured by the config-leader-election ConfigMap beside them. A Deployment
    that is no knative controller is not exempted by that ConfigMap in its namespace."""
    deploy = DEPLOY.replace(
        "image: registry.example/cart:1.4.2-3f2c1ab",
        f"image: x:1\n          env:\n            - {{name: {env}, value: shop}}",
    )
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config-leader-election, namespace: shop}\n"
    result = scan_tree(tmp_path, {"deploy.yaml": deploy, "config.yaml": config}, ("GC903",))
    [o] = [o for o in result.outcomes if o.rule_id == "GC903"]
    assert (o.status == Status.FAIL) is applies, (o.status, o.reason)
