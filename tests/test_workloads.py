"""Kubernetes workload rules GC306, GC307, GC402, GC404, GC405, GC406 (and GC403's edges).

The fixtures under fixtures/rules/ pin the common cases to file and line; these
tests cover the edges: outcomes and their reasons, settings, placeholders,
malformed values, and objects of the wrong shape.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from guidecheck.catalog import load_rules
from guidecheck.checks import workloads
from guidecheck.config import DEFAULT_SETTINGS, Config, config_from_dict
from guidecheck.model import ObjectRef, Status, Target
from guidecheck.parsers.yaml import load_yaml

from conftest import in_process_scan

RULES = load_rules()
WORKLOAD_RULES = ("GC306", "GC307", "GC402", "GC403", "GC404", "GC405", "GC406")
DIGEST = "sha256:" + "4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac"


def scan(tmp_path: Path, text: str, rule: str, settings: dict | None = None, name: str = "manifest.yaml"):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    config = config_from_dict({"settings": settings}) if settings else Config()
    result = in_process_scan([tmp_path], config, select=(rule, "GC001"), rules=RULES)
    assert not result.incomplete, result.incomplete
    return result


def findings(result, rule: str) -> list[tuple[int, str]]:
    return sorted((f.line, f.message) for f in result.findings if f.rule_id == rule and not f.suppressed)


def outcomes(result, rule: str) -> list[tuple[str, str, str | None]]:
    return [(str(o.target.ref), o.status.value, o.reason) for o in result.outcomes if o.rule_id == rule]


def deployment(*containers: str, init: str = "", kind: str = "Deployment") -> str:
    """A Deployment whose containers are given as YAML flow mappings."""
    text = f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: cart\nspec:\n  template:\n    spec:\n"
    if init:
        text += f"      initContainers:\n        - {init}\n"
    text += "      containers:\n" + "".join(f"        - {c}\n" for c in containers)
    return text


# ------------------------------------------------------------------ GC306/GC307: image references

FLOATING = DEFAULT_SETTINGS["floating-tags"]


@pytest.mark.parametrize(
    "image, state, tag",
    [
        ("nginx", "untagged", None),
        ("nginx:latest", "floating", "latest"),
        ("nginx:LATEST", "floating", "LATEST"),
        ("nginx:latest-alpine", "floating", "latest-alpine"),
        ("nginx:1.27.0-latest", "floating", "1.27.0-latest"),
        ("nginx:latest-amd64", "floating", "latest-amd64"),
        # a branch word naming one build (loki's token-refresher): a commit hash or a date after it
        ("token-refresher:master-2024-12-11-08b888a", "tagged", "master-2024-12-11-08b888a"),
        ("app:main-3f2c1ab", "tagged", "main-3f2c1ab"),
        # a floating word before a full version names that release (Kepler's release-0.8.0); a minor line moves
        ("kepler:release-0.8.0", "tagged", "release-0.8.0"),
        ("app:stable-1.27", "floating", "stable-1.27"),
        ("nginx:1.27.0", "tagged", "1.27.0"),
        ("registry:5000/app", "untagged", None),  # the port is not a tag
        ("registry.example.com:5000/shop/app", "untagged", None),
        ("registry:5000/app:1.2.3", "tagged", "1.2.3"),
        ("localhost/app", "untagged", None),
        (f"app:latest@{DIGEST}", "pinned", "latest"),  # the digest wins
        (f"app@{DIGEST}", "pinned", None),
        ("app@sha256:abc", "bad-digest", None),
        ("app:1.2@md5:zz", "bad-digest", "1.2"),
        ("app@${DIGEST}", "pinned", None),  # digest filled in by the pipeline
        ("${IMAGE}", "unknown", None),
        ("$(IMAGE)", "unknown", None),
        ("$IMAGE", "unknown", None),
        ("{{ .Values.image }}", "unknown", None),
        ("<your-image>", "unknown", None),
        ("{app-docker-img}", "unknown", None),  # an AsciiDoc attribute (cerbos' docs)
        ("ghcr.io/cerbos/cerbos:{app-version}", "unknown", None),
        ("(env('KAT_SERVER_IMAGE'))", "unknown", None),  # a Chainsaw binding (emissary's e2e fixtures)
        ("registry.example.com/app:${TAG}", "unknown", None),
        ("registry.example.com/app:1.4.2-${GIT_SHA}", "unknown", None),
        ("registry.example.com/${NAME}", "unknown", None),
        ("${REGISTRY}/app", "untagged", None),  # the last component is literal: no tag
        ("${REGISTRY}/app:latest", "floating", "latest"),
        ("$LOCATION-docker.pkg.dev/$PROJECT/repo/app:latest", "floating", "latest"),
        ("${REGISTRY}/app:1.4.2-3f2c1ab", "tagged", "1.4.2-3f2c1ab"),
        ("app:", "invalid", None),
        (":1.0", "invalid", None),
        ("app with spaces:1.0", "invalid", None),
        ("  ", "empty", None),
        ("", "empty", None),
        ("a" * 2000, "invalid", None),
    ],
)
def test_judge_image(image, state, tag):
    v = workloads.judge_image(image, FLOATING)
    assert v.state == state
    assert v.tag == tag


def test_judge_image_many_unclosed_placeholders_is_fast():
    import time

    start = time.process_time()  # CPU time: a loaded machine stretches wall time, not this
    workloads.judge_image("{{" * 500 + "$(" * 500, FLOATING)
    assert time.process_time() - start < 0.5


def test_gc306_finding_points_at_the_image_value(tmp_path):
    r = scan(
        tmp_path,
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
            - name: app
              image:
                nginx
    """,
        "GC306",
    )
    [(line, msg)] = findings(r, "GC306")
    assert line == 8
    assert "'nginx'" in msg and "no tag" in msg
    f = next(f for f in r.findings if f.rule_id == "GC306")
    assert f.container == "app" and f.column == 9 and f.extra["image"] == "nginx"


def test_gc306_only_placeholders_is_not_applicable_with_reason(tmp_path):
    r = scan(tmp_path, deployment("{name: cart, image: '${IMAGE}'}", "{name: proxy, image: 'envoy:${TAG}'}"), "GC306")
    assert findings(r, "GC306") == []
    [(ref, status, reason)] = outcomes(r, "GC306")
    assert status == "not_applicable"
    assert "${IMAGE}" in reason and "placeholder" in reason and "rendered manifests" in reason


def test_gc306_placeholder_next_to_a_judged_image(tmp_path):
    r = scan(tmp_path, deployment("{name: cart, image: 'cart:$(TAG)'}", "{name: proxy, image: nginx}"), "GC306")
    assert [m for _, m in findings(r, "GC306")] == [
        "image 'nginx' of container 'proxy' has no tag (Kubernetes pulls ':latest') and no digest"
    ]


def test_gc306_an_image_the_build_sets_with_kustomize_edit_is_a_placeholder(tmp_path):
    """cloudnative-pg (kubebuilder): config/manager/manager.yaml says `image: controller:latest`; the Makefile runs
    `$(KUSTOMIZE) edit set image controller=${CONTROLLER_IMG}` before every build of the kustomization. A manifest
    applied as it is keeps its own image (aks-store-demo's all-in-one files beside its overlays)."""
    text = deployment("{name: manager, image: 'controller:latest'}", "{name: proxy, image: 'envoy:latest'}")
    both = [
        "image 'controller:latest' of container 'manager' uses the floating tag 'latest' and no digest",
        "image 'envoy:latest' of container 'proxy' uses the floating tag 'latest' and no digest",
    ]
    (tmp_path / "Makefile").write_text(
        "deploy:\n\tcd config/manager && \\\n\t$(KUSTOMIZE) edit set image controller=${CONTROLLER_IMG}\n"
    )
    assert [m for _, m in findings(scan(tmp_path, text, "GC306"), "GC306")] == both  # a plain manifest
    (tmp_path / "kustomization.yaml").write_text("resources: [manifest.yaml]\n")
    r = scan(tmp_path, text, "GC306")
    assert [m for _, m in findings(r, "GC306")] == both[1:]
    (tmp_path / "Makefile").unlink()
    assert [m for _, m in findings(scan(tmp_path, text, "GC306"), "GC306")] == both
    (tmp_path / "Makefile").write_text("deploy:\n\t$(KUSTOMIZE) edit set image controller=x:1\n")
    r = scan(tmp_path, deployment("{name: manager, image: 'controller:latest'}"), "GC306")
    [(_ref, status, reason)] = outcomes(r, "GC306")
    assert status == "not_applicable" and "replaced by the build with `kustomize edit set image` (" in (reason or "")
    assert (reason or "").endswith("/Makefile:2) before it deploys: the deployed image is chosen there"), reason


def test_gc306_an_image_tilt_builds_for_a_manifest_it_loads_is_a_placeholder(tmp_path):
    """kubetail's Tiltfile loads hack/tilt/kubetail.yaml with k8s_yaml() and builds kubetail-dashboard with
    docker_build_with_restart(): Tilt deploys that manifest with the image it built. The same image in a manifest
    the Tiltfile does not load keeps its own tag."""
    text = deployment("{name: dashboard, image: kubetail-dashboard}", "{name: proxy, image: 'envoy:latest'}")
    (tmp_path / "Tiltfile").write_text(
        "load('ext://restart_process', 'docker_build_with_restart')\n"
        "docker_build_with_restart(\n  'kubetail-dashboard',\n  dockerfile='hack/tilt/Dockerfile.dashboard',\n)\n"
        "k8s_yaml(['hack/tilt/kubetail.yaml', 'hack/tilt/other.yaml'])\n"
    )
    (tmp_path / "hack" / "tilt").mkdir(parents=True)
    r = scan(tmp_path, text, "GC306", name="hack/tilt/kubetail.yaml")
    assert [m for _, m in findings(r, "GC306")] == [
        "image 'envoy:latest' of container 'proxy' uses the floating tag 'latest' and no digest"
    ]
    r = scan(
        tmp_path, deployment("{name: dashboard, image: kubetail-dashboard}"), "GC306", name="hack/tilt/kubetail.yaml"
    )
    [(_ref, status, reason)] = [o for o in outcomes(r, "GC306") if o[0] == "Deployment/cart"]
    assert status == "not_applicable" and "replaced by the build with Tilt (" in (reason or ""), reason
    assert "/Tiltfile:2, for the manifests its k8s_yaml() loads)" in (reason or ""), reason
    (tmp_path / "hack" / "tilt" / "kubetail.yaml").unlink()
    (tmp_path / "deploy").mkdir()
    r = scan(tmp_path, text, "GC306", name="deploy/kubetail.yaml")
    assert len(findings(r, "GC306")) == 2


@pytest.mark.parametrize(
    "image, words",
    [
        ("'app@sha256:abc'", ["malformed digest", "sha256:abc"]),
        ("'app:'", ["not a valid image reference"]),
        ("'app:latest'", ["floating tag 'latest'"]),
    ],
)
def test_gc306_messages(tmp_path, image, words):
    r = scan(tmp_path, deployment(f"{{name: cart, image: {image}}}"), "GC306")
    [(_, msg)] = findings(r, "GC306")
    for w in words:
        assert w in msg


def test_gc306_empty_or_missing_image_is_not_judged(tmp_path):
    # OpenShift DeploymentConfigs leave image empty for an image-change trigger to fill in
    r = scan(tmp_path, deployment("{name: cart, image: ' '}", "{name: proxy}", kind="DeploymentConfig"), "GC306")
    [(_, status, reason)] = outcomes(r, "GC306")
    assert status == "not_applicable" and "empty" in reason


def test_gc306_not_a_workload(tmp_path):
    r = scan(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {image: nginx}\n", "GC306")
    assert outcomes(r, "GC306") == []  # not a workload: not a target of the rule at all


def test_gc306_floating_tags_setting(tmp_path):
    text = deployment("{name: cart, image: 'nginx:mainline'}")
    assert findings(scan(tmp_path, text, "GC306", settings={"floating-tags": ["latest"]}), "GC306") == []
    r = scan(tmp_path, text, "GC306", settings={"floating-tags": ["latest", "mainline"]})
    assert len(findings(r, "GC306")) == 1


def test_gc306_version_less_variant_tags_float(tmp_path):
    """nginx:alpine follows the newest release (issue 12); nginx:1.27-alpine has a version."""
    text = deployment("{name: cart, image: 'nginx:alpine'}", "{name: proxy, image: 'nginx:1.27-alpine'}")
    assert [m for _line, m in findings(scan(tmp_path, text, "GC306"), "GC306")] == [
        "image 'nginx:alpine' of container 'cart' uses the floating tag 'alpine' and no digest"
    ]
    assert findings(scan(tmp_path, text, "GC306", settings={"floating-variant-tags": []}), "GC306") == []


def test_gc306_workload_kinds_setting(tmp_path):
    r = scan(tmp_path, deployment("{name: cart, image: nginx}"), "GC306", settings={"workload-kinds": ["Pod"]})
    assert outcomes(r, "GC306") == []


def test_gc307_skips_what_gc306_reports(tmp_path):
    r = scan(tmp_path, deployment("{name: cart, image: nginx}", "{name: proxy, image: 'envoy:latest'}"), "GC307")
    assert findings(r, "GC307") == []
    [(_, status, reason)] = outcomes(r, "GC307")
    assert status == "not_applicable" and "GC306" in reason


def test_gc307_digest_pinned_passes_any_tag(tmp_path):
    r = scan(
        tmp_path,
        deployment(f"{{name: cart, image: 'cart:1.4@{DIGEST}'}}", f"{{name: proxy, image: 'envoy@{DIGEST}'}}"),
        "GC307",
    )
    assert [s for _, s, _ in outcomes(r, "GC307")] == ["pass"]


@pytest.mark.parametrize(
    "tag, ok",
    [
        ("1.4.2-3f2c1ab", True),
        ("v1.4.2-3f2c1ab", True),
        ("v2.0.0-sha-3f2c1ab9", True),
        ("1.4.2-rc.1+g3f2c1ab", True),
        ("1.4-3f2c1ab9d4e5f60718293a4b5c6d7e8f90a1b2c3", True),
        ("1.4.2", False),
        ("3f2c1ab", False),  # a hash without a version
        ("1.4.2-alpine", False),
        ("build-3f2c1ab", False),
        ("1.4.2_3f2c1ab", True),
        # a build date before the version (apisix-ingress-controller's git describe tags), or a branch name
        ("v20240412-v1.0.0-394-g40c666fd", True),
        ("release-1.2-abcdef12", True),
        ("20240412-3f2c1ab", False),  # a date is no version
    ],
)
def test_gc307_default_pattern(tmp_path, tag, ok):
    r = scan(tmp_path, deployment(f"{{name: cart, image: 'registry.example.com/cart:{tag}'}}"), "GC307")
    assert (findings(r, "GC307") == []) is ok
    if not ok:
        [(_, msg)] = findings(r, "GC307")
        assert f"tag '{tag}'" in msg


@pytest.mark.parametrize("shape", [".1", "1.1-", "-1.1", "1.", "-a"])
def test_gc307_default_pattern_is_linear_in_the_tag(shape):
    """The earlier default split `1.1.1...-` every way its qualifiers could: 2.4 s for 52 characters, doubling with
    each two more, a hang on a manifest's hostile tag (Docker allows 128)."""
    import re
    import time

    pattern = re.compile(DEFAULT_SETTINGS["image-tag-pattern"])
    start = time.process_time()  # CPU time: a loaded machine stretches wall time, not this
    tags = {("1.1" + shape * n)[:47] + "-" for n in range(1, 48)}  # up to 48 characters: seconds for the old one
    for tag in tags:
        assert pattern.search(tag) is None, tag
    assert time.process_time() - start < 0.5


@pytest.mark.parametrize("image", ["cart:${VERSION}-${SHA}", "kubeedge/edgesite-agent-amd64:[YOUR-VERSION]"])
def test_gc307_placeholder_tag_not_judged(tmp_path, image):
    r = scan(tmp_path, deployment(f"{{name: cart, image: '{image}'}}"), "GC307")
    [(_, status, reason)] = outcomes(r, "GC307")
    assert status == "not_applicable" and "placeholder" in reason


# ------------------------------------------------------------------ GC402: Helm


@pytest.mark.parametrize(
    "metadata, ok",
    [
        ("labels: {helm.sh/chart: cart-1.4.2}", True),
        ("labels: {app.kubernetes.io/managed-by: Helm}", True),
        ("labels: {app.kubernetes.io/managed-by: helm}", True),
        ("labels: {app.kubernetes.io/managed-by: Tiller}", True),
        ("labels: {heritage: Helm}", True),
        ("annotations: {meta.helm.sh/release-name: cart}", True),
        ("labels: {helm.sh/chart: ''}", False),
        ("labels: {app.kubernetes.io/managed-by: kustomize}", False),
        ("labels: {app: cart}", False),
        ("annotations: {meta.helm.sh/release-name: ''}", False),
        ("labels: {app.kubernetes.io/managed-by: [Helm]}", False),
    ],
)
def test_gc402_evidence(tmp_path, metadata, ok):
    text = f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\n  {metadata}\nspec: {{}}\n"
    r = scan(tmp_path, text, "GC402")
    assert [s for _, s, _ in outcomes(r, "GC402")] == ["pass" if ok else "fail"]


def test_gc402_controller_owned_objects_are_not_applicable(tmp_path):
    r = scan(
        tmp_path,
        """\
        apiVersion: v1
        kind: Pod
        metadata:
          name: cart-5d8f7-abcde
          ownerReferences:
            - {apiVersion: apps/v1, kind: ReplicaSet, name: cart-5d8f7, controller: true}
        spec:
          containers: [{name: cart, image: 'cart:1.4.2-3f2c1ab'}]
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: lonely
          ownerReferences: [{kind: ConfigMap, name: x}]
        spec: {containers: [{name: c, image: 'c:1'}]}
    """,
        "GC402",
    )
    got = {ref: (status, reason) for ref, status, reason in outcomes(r, "GC402")}
    # made by its controller: judged through the ReplicaSet, as an audit does, so it is no target of its own
    assert "Pod/cart-5d8f7-abcde" not in got
    assert got["Pod/lonely"][0] == "fail"  # not a controller: the Pod is on its own


def test_gc402_wrong_types_point_at_metadata(tmp_path):
    r = scan(
        tmp_path, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\n  labels: oops\nspec: {}\n", "GC402"
    )
    assert [f.line for f in r.findings if f.rule_id == "GC001"] == [5]
    assert [line for line, _ in findings(r, "GC402")] == [3]


def test_gc402_passes_objects_rendered_from_a_chart():
    """helm install stamps managed-by: Helm and the release annotations: a rendered object is Helm-managed."""
    [doc] = load_yaml("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\nspec: {}\n")
    target = Target(
        "k8s",
        "chart/templates/deployment.yaml",
        1,
        ObjectRef("Deployment", None, "cart"),
        doc.data,
        origin={"source": "helm", "chart": "chart"},
    )
    from guidecheck.checks import Context

    assert list(workloads.helm_managed(target, Context(settings=dict(DEFAULT_SETTINGS), options={}))) == []


# ------------------------------------------------------------------ GC404: requests


@pytest.mark.parametrize(
    "resources, expected",
    [
        ("{requests: {cpu: 100m, memory: 64Mi}}", None),
        ("{limits: {cpu: 100m, memory: 64Mi}}", None),  # requests default to limits
        ("{requests: {cpu: 100m}, limits: {memory: 64Mi}}", None),
        ("{requests: {cpu: 0.5, memory: 1e9}}", None),
        ("{requests: {cpu: 100m}}", "has no memory request"),
        ("{}", "has no CPU or memory request"),
        ("{requests: {cpu: '0', memory: 64Mi}}", "a zero CPU request"),
        ("{requests: {cpu: 0, memory: 0Mi}}", "a zero CPU request; and a zero memory request"),
        ("{requests: {cpu: '', memory: 64Mi}}", "has no CPU request"),
        ("{limits: {cpu: 0m, memory: 64Mi}}", "a zero CPU limit and no CPU request"),
        ("{requests: {cpu: '0', memory: 64Mi}, limits: {cpu: '1'}}", "a zero CPU request"),  # explicit 0 stays 0
        ("{requests: null, limits: {cpu: 1}}", "has no memory request"),
        ("{requests: [cpu, memory]}", "has no CPU or memory request"),
        ("big", "has no CPU or memory request"),
        ("null", "has no CPU or memory request"),
    ],
)
def test_gc404_requests(tmp_path, resources, expected):
    r = scan(tmp_path, deployment(f"{{name: cart, image: 'cart:1', resources: {resources}}}"), "GC404")
    got = findings(r, "GC404")
    if expected is None:
        assert got == [] and [s for _, s, _ in outcomes(r, "GC404")] == ["pass"]
    else:
        [(_, msg)] = got
        assert msg.startswith("container 'cart' ") and expected in msg


def test_gc404_init_containers_and_cronjobs(tmp_path):
    r = scan(
        tmp_path,
        """\
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: report}
        spec:
          schedule: "@daily"
          jobTemplate:
            spec:
              template:
                spec:
                  initContainers:
                    - {name: fetch, image: 'fetch:1'}
                  containers:
                    - {name: report, image: 'report:1', resources: {requests: {cpu: 1, memory: 1Gi}}}
    """,
        "GC404",
    )
    assert findings(r, "GC404") == [
        (11, "init container 'fetch' has no CPU or memory request (nor a limit Kubernetes would copy into it)")
    ]


# ------------------------------------------------------------------ GC405/GC406: probes


@pytest.mark.parametrize(
    "probe, problem",
    [
        ({"httpGet": {"port": 8080}}, None),
        ({"httpGet": {"port": "http", "path": "/healthz"}}, None),
        ({"tcpSocket": {"port": 5432}}, None),
        ({"grpc": {"port": 9090}}, None),
        ({"exec": {"command": ["true"]}}, None),
        ({"exec": {"command": ["true"]}, "httpGet": None}, None),
        ({}, "has no handler"),
        ({"initialDelaySeconds": 5}, "has no handler"),
        ({"httpGet": {"path": "/"}}, "httpGet has no port"),
        ({"httpGet": {"port": ""}}, "httpGet has no port"),
        ({"httpGet": {"port": True}}, "httpGet has no port"),
        ({"httpGet": "8080"}, "httpGet is not a mapping"),
        ({"exec": {"command": []}}, "exec has no command"),
        ({"exec": {"command": "true"}}, "exec has no command"),
        ({"exec": {"command": [1]}}, "exec has no command"),
        ({"exec": {"command": ["true"]}, "tcpSocket": {"port": 1}}, "more than one handler"),
        ("yes", "is not a mapping"),
        ([{"httpGet": {"port": 1}}], "is not a mapping"),
    ],
)
def test_probe_problem(probe, problem):
    got = workloads.probe_problem(probe)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got


@pytest.mark.parametrize("rule, field", [("GC405", "livenessProbe"), ("GC406", "readinessProbe")])
def test_probe_rules_scope(tmp_path, rule, field):
    r = scan(
        tmp_path,
        """\
        apiVersion: batch/v1
        kind: Job
        metadata: {name: migrate}
        spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: 'm:1'}]}}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: once}
        spec: {restartPolicy: OnFailure, containers: [{name: o, image: 'o:1'}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: server}
        spec: {restartPolicy: Always, containers: [{name: s, image: 's:1'}]}
        ---
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: rs}
        spec: {template: {spec: {initContainers: [{name: i, image: 'i:1'}], containers: []}}}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: ro}
        spec: {workloadRef: {apiVersion: apps/v1, kind: Deployment, name: cart}}
    """,
        rule,
    )
    got = {ref: (status, reason) for ref, status, reason in outcomes(r, rule)}
    assert got["Job/migrate"] == ("not_applicable", "Job runs to completion")
    assert got["Pod/once"] == ("not_applicable", "a Pod with restartPolicy OnFailure runs to completion")
    assert got["Pod/server"][0] == "fail"
    assert got["ReplicaSet/rs"] == ("not_applicable", "no long-running containers")
    assert got["Rollout/ro"] == ("not_applicable", "no pod spec")
    assert findings(r, rule) == [(14, f"container 's' has no {field}")]


@pytest.mark.parametrize("rule, field", [("GC405", "livenessProbe"), ("GC406", "readinessProbe")])
def test_probe_null_and_invalid(tmp_path, rule, field):
    r = scan(
        tmp_path,
        deployment(
            f"{{name: a, image: 'a:1', {field}: null}}",
            f"{{name: b, image: 'b:1', {field}: {{tcpSocket: {{}}}}}}",
            "{name: c, image: 'c:1', startupProbe: {tcpSocket: {port: 1}}}",
        ),
        rule,
    )
    assert [m for _, m in findings(r, rule)] == [
        f"container 'a' has no {field}",
        f"container 'b': {field} tcpSocket has no port, so it probes nothing",
        f"container 'c' has no {field}",  # a startup probe is no substitute
    ]


# ------------------------------------------------------------------ robustness


HOSTILE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: [not, a, string]
  labels: {app.kubernetes.io/managed-by: null}
  ownerReferences: "me"
spec:
  template:
    spec:
      initContainers:
        - null
        - 42
        - {name: x, image: 5, resources: "big", restartPolicy: [Always]}
        - {name: y, restartPolicy: Always, livenessProbe: 3, readinessProbe: {exec: null}}
      containers:
        - {name: a, image: {repo: nginx}, resources: {requests: "cpu"}, livenessProbe: [1]}
        - {image: 'nginx:1.27', resources: {limits: {cpu: {x: 1}, memory: [1]}}}
        - "just a string"
      ephemeralContainers: {name: e}
---
apiVersion: v1
kind: Pod
metadata: null
spec:
  restartPolicy: 7
  containers: "not-a-list"
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: [1, 2]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec: {jobTemplate: {spec: {template: null}}}
"""


@pytest.mark.parametrize("rule", WORKLOAD_RULES)
def test_rules_never_raise_on_wrong_types(tmp_path, rule):
    r = scan(tmp_path, HOSTILE, rule)  # scan() asserts nothing was left incomplete
    assert {f.rule_id for f in r.findings} <= {rule, "GC001"}
    assert any(f.rule_id == "GC001" for f in r.findings)


def test_rules_on_hostile_wrong_types_fixture(tmp_path):
    """The shape of /tmp/hostile/yaml/wrong_types.yaml, plus a Pod variant that becomes a target."""
    text = (
        'apiVersion: v1\nkind: 123\nmetadata: null\nspec:\n  containers: "not-a-list"\n  volumes: {a: 1}\n'
        '  initContainers:\n    - null\n    - 42\n    - {name: x, securityContext: "privileged"}\n'
    )
    for rule in WORKLOAD_RULES:
        r = scan(tmp_path, text, rule)
        assert [f.rule_id for f in r.findings] == ["GC001"]
        assert not [o for o in r.outcomes if o.rule_id == rule]  # no target: kind is not a string


def test_all_rules_on_a_complete_workload_pass(tmp_path):
    text = f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: cart
          labels: {{helm.sh/chart: cart-1.4.2, app.kubernetes.io/managed-by: Helm}}
        spec:
          template:
            spec:
              initContainers:
                - name: migrate
                  image: registry.example.com/shop/cart-migrate:1.4.2-3f2c1ab
                  resources: {{limits: {{cpu: 200m, memory: 128Mi}}}}
              containers:
                - name: cart
                  image: registry.example.com/shop/cart@{DIGEST}
                  resources:
                    requests: {{cpu: 250m, memory: 256Mi}}
                    limits: {{cpu: "1", memory: 256Mi}}
                  livenessProbe: {{httpGet: {{path: /healthz, port: 8080}}}}
                  readinessProbe: {{httpGet: {{path: /ready, port: 8080}}}}
    """
    (tmp_path / "d.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    result = in_process_scan([tmp_path], select=WORKLOAD_RULES + ("GC001",), rules=RULES)
    assert result.findings == []
    assert {o.rule_id: o.status for o in result.outcomes if o.rule_id != "GC001"} == {
        r: Status.PASS for r in WORKLOAD_RULES
    }


def test_rule_metadata():
    by_id = {r.id: r for r in RULES}
    expected = {
        "GC306": ("3.c", "error"),
        "GC307": ("3.c", "warning"),
        "GC402": ("4.a", "warning"),
        "GC403": ("4.b", "error"),
        "GC404": ("4.b", "warning"),
        "GC405": ("4.c", "error"),
        "GC406": ("4.c", "error"),
    }
    for rid, (bullet, severity) in expected.items():
        rule = by_id[rid]
        assert (rule.bullet, str(rule.severity), rule.targets) == (bullet, severity, ("workload",))
        assert rule.remediation.rstrip().endswith(".") and rule.evidence and rule.rationale
        assert bullet in rule.rationale


@pytest.mark.parametrize("rule", [r for r in WORKLOAD_RULES if r != "GC403"])  # GC403: declarative
def test_kustomize_delete_patch_is_not_applicable(tmp_path, rule):
    r = scan(
        tmp_path, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: loadgenerator\n$patch: delete\n", rule
    )
    [(_, status, reason)] = outcomes(r, rule)
    assert status == "not_applicable" and "$patch: delete" in reason


def test_an_openkruise_rollout_is_no_workload(tmp_path):
    """openkruise/rollouts' Rollout (rollouts.kruise.io) names a Deployment in workloadRef and runs no pods; Argo
    Rollouts' Rollout has a pod template and is a workload."""
    kruise = (
        "apiVersion: rollouts.kruise.io/v1beta1\nkind: Rollout\nmetadata: {name: r}\n"
        "spec:\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: echoserver}\n"
    )
    r = scan(tmp_path, kruise, "GC402")
    [(_ref, status, reason)] = outcomes(r, "GC402")
    assert status == "not_applicable" and "rollouts.kruise.io/v1beta1 Rollout" in (reason or ""), reason
    argo = kruise.replace("rollouts.kruise.io/v1beta1", "argoproj.io/v1alpha1")
    assert [m for _, m in findings(scan(tmp_path, argo, "GC402"), "GC402")][0].startswith("Rollout 'r' is not managed")
