"""The Kubernetes side of the loaders: documents to objects, their lines, and structure errors (GC001)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from guidecheck.config import Config
from guidecheck.loaders import load
from guidecheck.model import Severity
from guidecheck.parsers import k8s
from guidecheck.parsers.yaml import load_yaml


def load_text(tmp_path: Path, text: str, name: str = "m.yaml"):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    loaded = load([str(tmp_path)], Config())
    objects = [t for t in loaded.targets if t.kind == "k8s"]
    [src] = [t.data for t in loaded.targets if t.kind == "file" and t.path.endswith(name)]
    return objects, src.errors


def obj(text: str):
    [doc] = load_yaml(textwrap.dedent(text))
    assert not doc.errors
    return doc.data


def test_multi_document_stream_gives_one_target_per_object_at_its_line(tmp_path):
    objects, errors = load_text(
        tmp_path,
        """\
        # leading comment
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: cart, namespace: shop}
        ---
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: cart
        ...
        ---
        just: a mapping, not an object
        ---
        - a list
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: 42
    """,
    )
    # a numeric name is loaded (rules still see the object) but kubectl would reject it: GC001
    assert [(e.line, e.message) for e in errors] == [(20, "metadata.name must be a string, not a number")]
    assert [(t.line, str(t.ref)) for t in objects] == [
        (2, "Deployment/shop/cart"),
        (7, "Service/cart"),
        (17, "ConfigMap/42"),
    ]
    assert objects[0].origin["span"][0] == 2
    assert all(t.path.endswith("m.yaml") for t in objects)


def test_bad_document_in_the_middle_keeps_the_others(tmp_path):
    objects, errors = load_text(
        tmp_path,
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: first}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: [unclosed
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: third}
    """,
    )
    assert [str(t.ref) for t in objects] == ["Pod/first", "Pod/third"]
    assert [t.line for t in objects] == [1, 9]
    assert len(errors) == 1 and 5 <= errors[0].line <= 8


@pytest.mark.parametrize(
    "text, line, kind",
    [
        # Go templates (rook's embedded DaemonSets), Liquid (samber's alert rule templates), Terraform
        # templatefile() directives (aws-containers' Helm values under terraform/)
        (
            # the `{{- range ... := ... }}` line, read as a key without ':', is where the YAML breaks
            "spec:\n  nodeSelector:\n  {{- range $k, $v := .Sel }}\n    {{ $k }}: {{ $v }}\n  {{- end }}\n",
            3,
            "{{ }} template placeholders",
        ),
        ("groups:\n{% for g in groups %}\n- name: {{ g }}\n{% endfor %}\n", 2, "Jinja or Liquid {% %} template tags"),
        ("image:\n  tag: ${tag}\n%{ if otel }\notel: true\n%{ endif }\n", 3, "Terraform %{ } template directives"),
        # solr-operator's docs/antora.template.yml: a line a script writes (no "quote the value" hint either)
        ("name: solr\nversion: v1\n@PRERELEASE_LINE@\n", 3, "@NAME@ placeholders a script fills in"),
        # cert-manager's make/config/bind/service.yaml, filled in by a Makefile's sed
        (
            "kind: Service\nspec:\n  clusterIP: {SERVICE_IP_PREFIX}.16\n  ports: []\n",
            3,
            "{NAME} placeholders a script fills in",
        ),
    ],
)
def test_a_template_s_parse_error_says_what_template_it_is(tmp_path, text, line, kind):
    _objects, errors = load_text(tmp_path, text)
    [e] = errors
    assert e.line == line, e
    assert e.message.endswith(f"(the file has {kind}: scan the rendered output, or exclude the template)"), e.message
    if kind.startswith("@"):
        assert "quote the value" not in e.message, e.message


def test_a_parse_error_without_template_marks_has_no_template_hint(tmp_path):
    _objects, errors = load_text(tmp_path, "a: {b: [unclosed\nprice: 100%\n")
    [e] = errors
    assert "template" not in e.message, e.message


def test_an_envsubst_placeholder_where_yaml_cannot_take_it_gets_the_hint_on_its_line(tmp_path):
    """clickhouse-operator's templates-config/config.yaml: `namespaces: [${WATCH_NAMESPACES}]`, which envsubst
    fills in. ${NAME} elsewhere in a broken file (a script's variable) says nothing about the error."""
    _objects, errors = load_text(tmp_path, "watch:\n  # a comment\n  namespaces: [${WATCH_NAMESPACES}]\nx: 1\n")
    [e] = errors
    assert e.line == 3, e
    assert e.message.endswith(
        "(the line has ${NAME} placeholders that envsubst or a script fills in: scan the substituted output, "
        "or exclude the template)"
    ), e.message
    _objects, errors = load_text(tmp_path, "run: |\n  echo ${HOME}\nother: 1\nprice: [unclosed\nnext: 1\n")
    [e] = errors
    assert "placeholders" not in e.message, e.message


def test_an_object_named_by_a_mapping_is_reported_and_not_judged(tmp_path):
    """emissary's test manifests: `name: {self.path.k8s}` (a Python format placeholder) is a flow mapping."""
    objects, errors = load_text(
        tmp_path,
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {self.path.k8s}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: kept, namespace: [a, b]}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: fine}
    """,
    )
    assert [(e.line, e.message, e.checked) for e in errors] == [
        (4, "metadata.name must be a string, not a mapping", False),
        (8, "metadata.namespace must be a string, not a list", False),
    ]
    assert [str(t.ref) for t in objects] == ["ConfigMap/fine"]


def test_a_patch_fragment_no_kustomization_names_is_noted_not_judged(tmp_path):
    """kubebuilder's config/default/manager_webhook_patch.yaml (chaos-mesh): a Deployment with no selector whose
    container only names a port. A Deployment with an image, or with a selector, is an object as before."""
    objects, errors = load_text(
        tmp_path,
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: controller-manager, namespace: system}
        spec:
          template:
            spec:
              containers:
                - name: manager
                  ports: [{containerPort: 9443, name: webhook-server}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: no-selector-but-an-image}
        spec:
          template:
            spec:
              containers: [{name: app, image: "app:1.0.0"}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: selector-but-no-image}
        spec:
          selector: {matchLabels: {app: x}}
          template:
            spec:
              containers: [{name: app}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: tolerations-only}
        spec:
          template:
            spec:
              tolerations: [{key: dedicated, operator: Exists}]
    """,
    )
    assert [t.ref.name for t in objects] == ["no-selector-but-an-image", "selector-but-no-image"]
    [note, template_only] = errors
    assert (note.line, note.severity) == (1, Severity.INFO)
    assert note.message.startswith(
        "Deployment 'controller-manager' has no spec.selector and a container without an image: a patch fragment"
    )
    # camel-k's patch-toleration.yaml: the pod template's tolerations alone, no selector and no container
    assert (template_only.line, template_only.severity) == (28, Severity.INFO)
    assert template_only.message.startswith(
        "Deployment 'tolerations-only' has no spec.selector and no container: a patch fragment"
    )


def test_a_pod_without_images_is_a_patch_fragment(tmp_path):
    """kube-prometheus' tests/e2e/kind/patches/kube-controller-manager.yaml: a kubeadm patch kind applies to the
    static Pod (a command flag and a CPU request); the API server refuses a Pod without an image."""
    objects, errors = load_text(
        tmp_path,
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: kube-controller-manager, namespace: kube-system}
        spec:
          containers:
            - name: kube-controller-manager
              resources: {requests: {cpu: 100m}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: app}
        spec:
          containers: [{name: app, image: "app:1.0.0"}]
    """,
    )
    assert [t.ref.name for t in objects] == ["app"]
    [note] = errors
    assert (note.line, note.severity) == (1, Severity.INFO)
    assert note.message.startswith("Pod 'kube-controller-manager' has a container without an image: a patch fragment")


def test_a_patch_that_adds_a_whole_container_is_still_a_patch(tmp_path):
    """kubebuilder's manager_auth_proxy_patch.yaml adds kube-rbac-proxy (with its image) and gives the manager
    container args only: no spec.selector, and one container without an image."""
    objects, errors = load_text(
        tmp_path,
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: controller-manager}
        spec:
          template:
            spec:
              containers:
                - name: kube-rbac-proxy
                  image: quay.io/brancz/kube-rbac-proxy:v0.18.0
                - name: manager
                  args: ["--metrics-bind-address=127.0.0.1:8080"]
    """,
    )
    assert objects == []
    [note] = errors
    assert "a patch fragment" in note.message, note.message


def test_kind_list_items_become_objects_with_their_own_lines(tmp_path):
    objects, errors = load_text(
        tmp_path,
        """\
        apiVersion: v1
        kind: List
        items:
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: cart}
          - null
          - "a string"
          - {kind: NoApiVersion}
          -
            apiVersion: v1
            kind: Service
            metadata: {name: cart}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: after}
    """,
    )
    assert errors == []
    assert [(t.line, str(t.ref)) for t in objects] == [(4, "Deployment/cart"), (11, "Service/cart"), (15, "Pod/after")]
    assert objects[0].origin["span"] == [4, 14]


def test_kind_list_without_an_items_list_is_an_object_itself(tmp_path):
    objects, _ = load_text(tmp_path, "apiVersion: v1\nkind: List\nitems: {}\n")
    assert [str(t.ref) for t in objects] == ["List"]


def test_json_manifest_lines(tmp_path):
    objects, errors = load_text(
        tmp_path,
        """\
        {
          "apiVersion": "v1",
          "kind": "List",
          "items": [
            {
              "apiVersion": "v1",
              "kind": "Pod",
              "metadata": {"name": "p"},
              "spec": {"containers": [{"name": "c", "image": "nginx"}]}
            }
          ]
        }
    """,
        name="list.json",
    )
    assert errors == []
    [pod] = objects
    assert pod.line == 5
    [c] = list(k8s.containers(pod.data))
    assert c.data.value_line("image") == 9


def test_hostile_wrong_types_shape(tmp_path):
    """/tmp/hostile/yaml/wrong_types.yaml: kind 123 -> GC001 at its line, no target, no exception."""
    objects, errors = load_text(
        tmp_path,
        """\
        apiVersion: v1
        kind: 123
        metadata: null
        spec:
          containers: "not-a-list"
          volumes: {a: 1}
          initContainers:
            - null
            - 42
            - {name: x, securityContext: "privileged"}
    """,
    )
    assert objects == []
    assert [(e.line, e.message) for e in errors] == [(2, "kind must be a non-empty string, not a number")]


def test_wrong_types_in_a_pod_are_reported_with_lines(tmp_path):
    objects, errors = load_text(
        tmp_path,
        """\
        apiVersion: v1
        kind: Pod
        metadata: null
        spec:
          containers: "not-a-list"
          initContainers:
            - null
            - 42
            - {securityContext: "privileged"}
            - {name: x, image: 5}
            - {name: web, image: nginx}
            - {name: fill-in, image: }
          ephemeralContainers: [[1]]
    """,
    )
    assert [str(t.ref) for t in objects] == ["Pod"]  # still checked by the rules that can
    assert sorted((e.line, e.message) for e in errors) == [
        (5, "containers must be a list, not a string"),
        (7, "initContainers[0] must be a mapping, not null"),
        (8, "initContainers[1] must be a mapping, not a number"),
        (9, "initContainers[2] has no name (Kubernetes requires one)"),
        (10, "initContainers[3].image must be a string, not a number"),
        (13, "ephemeralContainers[0] must be a mapping, not a list"),
    ]  # `image:` with nothing after it is null: unset, as Kubernetes reads it (GC306 does not judge it)
    assert [c.name for c in k8s.containers(objects[0].data, "every")] == ["#2", "x", "web", "fill-in"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("apiVersion: v1\nkind: [Pod]\nspec: {}\n", [(2, "kind must be a non-empty string, not a list")]),
        ("apiVersion: v1\nkind: {a: 1}\n", [(2, "kind must be a non-empty string, not a mapping")]),
        (
            "apiVersion: 1\nkind: ''\n",
            [
                (1, "apiVersion must be a non-empty string, not a number"),
                (2, "kind must be a non-empty string, not a string"),
            ],
        ),
        ("apiVersion: v1\nkind: Pod\nmetadata: [a]\n", [(3, "metadata must be a mapping, not a list")]),
        (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: x\n  annotations: [1]\n",
            [
                (4, "metadata.labels must be a mapping, not a string"),
                (5, "metadata.annotations must be a mapping, not a list"),
            ],
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template: []\n",
            [(4, "spec.template must be a mapping, not a list")],
        ),
        (
            "apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate:\n    spec: 3\n",
            [(5, "spec.jobTemplate.spec must be a mapping, not a number")],
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers: {name: a}\n",
            [(6, "containers must be a list, not a mapping")],
        ),
    ],
)
def test_structure_errors(tmp_path, text, expected):
    _, errors = load_text(tmp_path, text)
    assert [(e.line, e.message) for e in errors] == expected


def test_kinds_of_the_wrong_type_never_raise():
    for kind in ([1], {"a": 1}, None, 3, True):
        o = {"apiVersion": "v1", "kind": kind, "spec": {"containers": [{"name": "a"}]}}
        assert k8s.pod_spec(o) is None
        assert k8s.is_long_running(o) is False
        assert list(k8s.containers(o)) == []
        assert k8s.structure_errors(o)


def test_pod_spec_paths():
    cron = obj("""\
        kind: CronJob
        spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c}]}}}}}
    """)
    assert k8s.pod_spec(cron) == {"containers": [{"name": "c"}]}
    assert k8s.pod_spec(obj("kind: Deployment\nspec: {template: null}\n")) is None
    assert k8s.pod_spec(obj("kind: Service\nspec: {}\n")) is None


def test_containers_selections_and_lines():
    pod = obj("""\
        kind: Pod
        spec:
          initContainers:
            - name: init
            - name: sidecar
              restartPolicy: Always
          containers:
            - name: app
            - image: nameless
          ephemeralContainers:
            - name: debug
    """)

    def names(which):
        return [(c.name, c.section, c.line) for c in k8s.containers(pod, which)]

    assert names("all") == [
        ("init", "initContainers", 4),
        ("sidecar", "initContainers", 5),
        ("app", "containers", 8),
        ("#1", "containers", 9),
    ]
    assert names("app") == [("app", "containers", 8), ("#1", "containers", 9)]
    assert [n for n, _, _ in names("long-running")] == ["sidecar", "app", "#1"]
    assert [n for n, _, _ in names("every")] == ["init", "sidecar", "app", "#1", "debug"]
    flags = {c.name: (c.is_init, c.is_sidecar, c.is_ephemeral) for c in k8s.containers(pod, "every")}
    assert flags == {
        "init": (True, False, False),
        "sidecar": (True, True, False),
        "app": (False, False, False),
        "#1": (False, False, False),
        "debug": (False, False, True),
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ("kind: Deployment", True),
        ("kind: DaemonSet", True),
        ("kind: Job", False),
        ("kind: CronJob", False),
        ("kind: Pod", True),
        ("kind: Pod\nspec: {restartPolicy: Always}", True),
        ("kind: Pod\nspec: {restartPolicy: Never}", False),
        ("kind: Pod\nspec: {restartPolicy: OnFailure}", False),
        ("kind: PodTemplate", False),
        ("kind: Service", False),
        # spegel's post-delete cleanup DaemonSet: a Helm hook runs while `helm uninstall` does, outside the release
        ("kind: DaemonSet\nmetadata: {annotations: {helm.sh/hook: post-delete}}", False),
        ("kind: DaemonSet\nmetadata: {annotations: {helm.sh/hook-weight: '1'}}", True),
    ],
)
def test_is_long_running(text, expected):
    assert k8s.is_long_running(obj(text)) is expected


def test_labels_and_annotations_tolerate_wrong_types():
    assert k8s.labels(obj("metadata: {labels: x}")) == {}
    assert k8s.annotations(obj("metadata: null")) == {}
    assert k8s.labels(obj("metadata: {labels: {a: b}}")) == {"a": "b"}
    assert k8s.get(obj("a: {b: [1]}"), "a", "b", "c") is None


def test_another_tool_s_apiversion_and_kind_are_no_kubernetes_object(tmp_path):
    """inspektor-gadget's instance specs say `apiVersion: 1` and `kind: instance-spec`: not a Kubernetes object,
    no type error; `apiVersion: 1` with a Kubernetes kind is a broken object."""
    objects, errors = load_text(tmp_path, "apiVersion: 1\nkind: instance-spec\nimage: trace_dns:latest\n")
    assert objects == [] and errors == []
    objects, errors = load_text(tmp_path, "apiVersion: 1\nkind: Deployment\nmetadata: {name: x}\n")
    assert [e.message for e in errors] == ["apiVersion must be a non-empty string, not a number"]
