"""OpenAPI documents: discovery, safe $ref resolution, validation (GC902), input constraints (GC603), GC901.

The fixtures pin the common cases; these tests cover what fixtures cannot: that
nothing is ever fetched or read outside the tree (a real HTTP server on
127.0.0.1 that must see zero requests, and a FIFO that would hang a reader),
circular references, parse-once, the corpus verdicts and the validator's lazy
import.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import types
from functools import partial
from pathlib import Path

import pytest

from guidecheck import runner
from guidecheck.catalog import load_rules
from guidecheck.config import Config, config_from_dict
from guidecheck.loaders import load
from guidecheck.model import Status

from conftest import SHARED

RULES = load_rules()
CORPUS = SHARED / "corpus" / "dev"  # ../shared next to the project; the corpus tests are skipped without it


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")


def scan(paths, rules=("GC902",), settings: dict | None = None):
    config = config_from_dict({"settings": settings}) if settings else Config()
    config = dataclasses.replace(config, select=tuple(rules) + ("GC001",))
    loaded = load([str(p) for p in paths], config)
    result = runner.scan_loaded(loaded, config, RULES)
    assert not result.incomplete, result.incomplete
    return loaded, result


def found(result, rule: str = "GC902", root: Path | None = None) -> list[tuple[str, int, str]]:
    out = []
    for f in result.findings:
        if f.rule_id != rule:
            continue
        path = f.path
        if root is not None and path.startswith(str(root) + "/"):
            path = path[len(str(root)) + 1 :]
        out.append((path, f.line, f.message))
    return sorted(out)


SPEC_HEAD = """\
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /v1/x:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "REF"}
"""


# ------------------------------------------------------------------ never fetched, never read outside the tree


class _Counter(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms wait for a delayed ACK

    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def canary_server():
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Counter.hits
    finally:
        server.shutdown()
        server.server_close()


def test_server_fixture_really_counts(canary_server):
    # the canary works: a real fetch is seen (so zero below means zero)
    import urllib.request

    url, hits = canary_server
    with urllib.request.urlopen(url + "/probe.json", timeout=30) as r:
        assert r.status == 200
    assert hits == ["/probe.json"]


def test_remote_ref_is_never_fetched(tmp_path, canary_server, run_cli):
    url, hits = canary_server
    write(
        tmp_path,
        {
            "openapi.yaml": SPEC_HEAD.replace("REF", url + "/canary.json"),
            "v2.yaml": SPEC_HEAD.replace("REF", url.replace("http", "https") + "/c.json#/x").replace(
                "openapi: 3.0.3", "openapi: 3.1.0"
            ),
        },
    )
    proc = run_cli("scan", str(tmp_path), "--select", "GC902", "--isolated", timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "external $ref not followed" in proc.stdout
    assert f"{tmp_path}/openapi.yaml:11:" in proc.stdout
    assert hits == []  # not one request reached the server


def test_file_url_absolute_and_escaping_refs_are_never_read(tmp_path, run_cli):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "token.json"
    secret.write_text('{"canary": "SECRET-CANARY-d41d8cd9"}', encoding="utf-8")
    fifo = outside / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would block forever: a read would hang the scan
    repo = tmp_path / "repo"
    write(
        repo,
        {
            "api/a.yaml": SPEC_HEAD.replace("REF", f"file://{secret}"),
            "api/b.yaml": SPEC_HEAD.replace("REF", str(fifo)),
            "api/c.yaml": SPEC_HEAD.replace("REF", "../../outside/pipe.yaml"),
            "api/d.yaml": SPEC_HEAD.replace("REF", "../../outside/token.json#/canary"),
        },
    )
    proc = run_cli("scan", str(repo), "--select", "GC902", "--isolated", timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "SECRET-CANARY" not in proc.stdout + proc.stderr
    out = proc.stdout
    assert f"{repo}/api/a.yaml:11:30: error GC902 external $ref not followed" in out
    assert f"{repo}/api/b.yaml:11:30: error GC902 absolute-path $ref not followed" in out
    assert f"{repo}/api/c.yaml:11:30: error GC902 $ref escapes the scanned tree" in out
    assert f"{repo}/api/d.yaml:11:30: error GC902 $ref escapes the scanned tree" in out


def test_handlers_refuse_every_scheme_and_unresolved_files(tmp_path):
    from guidecheck.checks.openapi import _Denied, _Handlers

    write(tmp_path, {"openapi.yaml": SPEC_HEAD.replace("REF", "#/components/x")})
    loaded, _ = scan([tmp_path])
    spec = next(t.data for t in loaded.targets if t.kind == "openapi")
    h = _Handlers(spec)
    for scheme in ("http", "https", "ftp", "data", "jar", "gopher", ""):
        assert scheme in h
        with pytest.raises(_Denied):
            h[scheme](f"{scheme}://127.0.0.1/x")
    with pytest.raises(_Denied):
        h["file"]("file:///etc/passwd")
    with pytest.raises(_Denied):
        h["file"]("file://evil.example.com" + spec.abspath)
    assert h["file"]("file://" + spec.abspath) is spec.data  # served from the parsed tree, not re-read


# ------------------------------------------------------------------ circular references


def test_mutual_recursion_is_legal_and_self_reference_is_reported(tmp_path):
    write(
        tmp_path,
        {
            "circ.yaml": """\
        openapi: 3.0.3
        info: {title: circ, version: "1"}
        paths:
          /a:
            get:
              responses:
                "200":
                  description: ok
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/A"}
        components:
          schemas:
            A:
              type: object
              properties:
                b: {$ref: "#/components/schemas/B"}
            B:
              type: object
              properties:
                a: {$ref: "#/components/schemas/A"}
            Self: {$ref: "#/components/schemas/Self"}
            X: {$ref: "#/components/schemas/Y"}
            Y: {$ref: "#/components/schemas/X"}
        """
        },
    )
    _, result = scan([tmp_path])
    got = found(result, root=tmp_path)
    circular = [(p, line) for p, line, m in got if "circular $ref" in m and "validation skipped" not in m]
    # Self -> Self once; X -> Y -> X once (not once per member); A <-> B never
    assert circular == [("circ.yaml", 22), ("circ.yaml", 23)]
    assert not any(line in (17, 21) for _, line, _ in got)


def test_mutual_recursion_alone_validates(tmp_path):
    write(
        tmp_path,
        {
            "ok.yaml": """\
        openapi: 3.1.0
        info: {title: tree, version: "1"}
        paths: {}
        components:
          schemas:
            Node:
              type: object
              properties:
                children: {type: array, items: {$ref: "#/components/schemas/Node"}}
                parent: {$ref: "#/components/schemas/Parent"}
            Parent:
              type: object
              properties:
                node: {$ref: "#/components/schemas/Node"}
        """
        },
    )
    _, result = scan([tmp_path])
    assert found(result) == []
    assert [o.status for o in result.outcomes if o.rule_id == "GC902"] == [Status.PASS]


# ------------------------------------------------------------------ multi-file specs, parse once


def test_multi_file_refs_are_parsed_once_and_errors_pinned(tmp_path, monkeypatch):
    import guidecheck.loaders as loaders_mod
    import guidecheck.parsers.yaml as ys

    write(
        tmp_path,
        {
            "spec/openapi.yaml": """\
            openapi: 3.0.3
            info: {title: pets, version: "1"}
            paths:
              /pets:
                get:
                  parameters:
                    - $ref: "../common/params.yaml#/Limit"
                  responses:
                    "200":
                      description: ok
                      content:
                        application/json:
                          schema: {$ref: "schemas/pets.yaml"}
            """,
            "spec/schemas/pets.yaml": "type: array\nitems: {$ref: 'pet.yaml'}\n",
            "spec/schemas/pet.yaml": "type: object\nproperties:\n  name: {type: string, default: 3}\n",
            "common/params.yaml": "Limit:\n  name: limit\n  in: query\n  schema: {type: integer, default: x}\n",
            "common/missing.yaml": "Ref:\n  $ref: './nowhere.yaml'\n",
        },
    )
    calls: list[int] = []
    real = ys.load_yaml

    def counting(text, *a, **k):
        calls.append(1)
        return real(text, *a, **k)

    monkeypatch.setattr(loaders_mod, "load_yaml", counting)
    monkeypatch.setattr(ys, "load_yaml", counting)
    _, result = scan([tmp_path])
    assert len(calls) == 5  # each file parsed once, by the walk; the resolver and validator reuse the parse
    got = [(p, line) for p, line, _ in found(result, root=tmp_path)]
    assert ("common/params.yaml", 4) in got  # default 'x' is not an integer: pinned in the referenced file
    # common/missing.yaml is not referenced by the spec: its dangling $ref is not the spec's problem
    assert not any(p == "common/missing.yaml" for p, _ in got)


def test_ref_to_missing_file_and_pointer(tmp_path):
    write(
        tmp_path,
        {
            "openapi.yaml": SPEC_HEAD.replace("REF", "schemas/nope.yaml"),
            "b/openapi.yaml": SPEC_HEAD.replace("REF", "#/components/schemas/Missing"),
        },
    )
    _, result = scan([tmp_path])
    msgs = {(p, line): m for p, line, m in found(result, root=tmp_path)}
    assert "$ref target file schemas/nope.yaml not found" in msgs[("openapi.yaml", 11)]
    assert "points at nothing" in msgs[("b/openapi.yaml", 11)]


# ------------------------------------------------------------------ discovery and versions


def test_discovery_versions_and_non_specs(tmp_path):
    write(
        tmp_path,
        {
            "a.json": '{"swagger": "2.0", "info": {"title": "a", "version": "1"}, "paths": {}}',
            "b.yaml": "openapi: 4.0.0\ninfo: {title: b, version: '1'}\npaths: {}\n",
            "c.yaml": "# tool settings, not a spec\nopenapi:\n  generator: typescript\n",
            "d.yaml": "paths: {}\ninfo: {title: d}\n",
            "e.yaml": "openapi: 3.2.0\ninfo: {title: e, version: '1'}\npaths: {}\n",
            "deploy.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {openapi: '3.0.0'}\n",
        },
    )
    loaded, result = scan([tmp_path])
    specs = sorted(t.path[len(str(tmp_path)) + 1 :] for t in loaded.targets if t.kind == "openapi")
    assert specs == ["a.json", "b.yaml", "e.yaml"]
    got = found(result, root=tmp_path)
    assert [(p, line) for p, line, _ in got] == [("b.yaml", 1)]
    assert "unsupported openapi version '4.0.0'" in got[0][2]


def test_error_line_of_keyword_phase_error(tmp_path):
    write(
        tmp_path,
        {
            "openapi.yaml": """\
        openapi: 3.0.3
        info: {title: t, version: "1"}
        paths:
          /pets/{petId}:
            get:
              responses:
                "200": {description: ok}
        """
        },
    )
    _, result = scan([tmp_path])
    got = found(result, root=tmp_path)
    assert len(got) == 1 and "petId" in got[0][2]
    assert got[0][1] in (4, 5)  # at the path or operation, not at line 1


def test_validator_is_imported_only_when_gc902_runs(tmp_path):
    write(tmp_path, {"openapi.yaml": SPEC_HEAD.replace("REF", "#/x"), "Dockerfile": "FROM alpine:3.20\n"})
    code = textwrap.dedent(f"""
        import sys, dataclasses
        from guidecheck import engine
        from guidecheck.catalog import load_rules
        from guidecheck.config import Config
        from guidecheck.loaders import load
        cfg = dataclasses.replace(Config(), select=("GC901", "GC603", "GC601"))
        engine.run(load_rules(), load([{str(tmp_path)!r}], cfg).targets, cfg)
        assert "openapi_spec_validator" not in sys.modules, "imported without GC902"
        cfg = dataclasses.replace(Config(), select=("GC902",))
        engine.run(load_rules(), load([{str(tmp_path)!r}], cfg).targets, cfg)
        assert "openapi_spec_validator" in sys.modules
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr


DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kured}
spec:
  selector: {matchLabels: {app: kured}}
  template:
    metadata: {labels: {app: kured}}
    spec:
      containers:
        - name: kured
          image: ghcr.io/kubereboot/kured:1.17.0
          ports: [{containerPort: 8080, name: metrics}]
"""


def gc901_status(root):
    """GC901's one outcome's status for a scan of ``root``."""
    _, result = scan([root], rules=("GC901",))
    [o] = [o for o in result.outcomes if o.rule_id == "GC901"]
    return o.status


def test_gc901_a_port_only_health_probes_call_serves_no_api(tmp_path):
    """karpenter: its `http` port answers the liveness and readiness probes (/healthz, /readyz); its Service
    exposes `http-metrics` only: no API to describe. Without that Service, the port may be an API's."""

    status = partial(gc901_status, tmp_path)

    probes = (
        "          ports: [{containerPort: 8080, name: http-metrics}, {containerPort: 8081, name: http}]\n"
        "          livenessProbe: {httpGet: {path: /healthz, port: http}}\n"
        "          readinessProbe: {httpGet: {path: /readyz, port: 8081}}\n"
    )
    ds = DAEMONSET.replace("          ports: [{containerPort: 8080, name: metrics}]\n", probes)
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: kured}\nspec:\n  selector: {app: kured}\n  ports: "
    write(
        tmp_path,
        {"Dockerfile": "FROM alpine:3.20\n", "ds.yaml": ds, "svc.yaml": svc + "[{name: http-metrics, port: 8080}]\n"},
    )
    assert status() == Status.NOT_APPLICABLE
    # a check's name below a health path (apisix-ingress-controller's /healthz/ready) is a health path too
    write(tmp_path, {"ds.yaml": ds.replace("path: /readyz", "path: /healthz/ready")})
    assert status() == Status.NOT_APPLICABLE
    # a probe on another path calls the API itself
    write(tmp_path, {"ds.yaml": ds.replace("path: /readyz", "path: /api/v1/items")})
    assert status() == Status.FAIL
    # no Service: the probed port may be the API's, exposed elsewhere
    write(tmp_path, {"ds.yaml": ds})
    (tmp_path / "svc.yaml").unlink()
    assert status() == Status.FAIL
    # unless it is named for health (secrets-store-csi-driver's `healthz`, which only the liveness probe calls)
    write(tmp_path, {"ds.yaml": ds.replace("name: http}", "name: healthz}").replace("port: http}", "port: healthz}")})
    assert status() == Status.NOT_APPLICABLE


def test_gc901_a_port_the_metrics_server_binds_is_a_metrics_port(tmp_path):
    """IngressMonitorController (kubebuilder): its one port, 8443 named https, is where
    --metrics-bind-address=:8443 serves metrics; without the flag the port may serve an API."""

    status = partial(gc901_status, tmp_path)

    ds = DAEMONSET.replace(
        "          ports: [{containerPort: 8080, name: metrics}]\n",
        "          args: ['--metrics-bind-address=:8443']\n          ports: [{containerPort: 8443, name: https}]\n",
    )
    write(tmp_path, {"Dockerfile": "FROM alpine:3.20\n", "ds.yaml": ds})
    assert status() == Status.NOT_APPLICABLE
    write(tmp_path, {"ds.yaml": ds.replace("--metrics-bind-address=:8443", "--listen=:8443")})
    assert status() == Status.FAIL
    # a port the pod template's prometheus.io/port annotation scrapes at /metrics (version-checker's `web`)
    annotated = ds.replace("--metrics-bind-address=:8443", "--listen=:8443").replace(
        "    metadata: {labels: {app: kured}}",
        "    metadata: {labels: {app: kured}, annotations: {prometheus.io/port: '8443'}}",
    )
    assert "prometheus.io/port" in annotated
    write(tmp_path, {"ds.yaml": annotated})
    assert status() == Status.NOT_APPLICABLE
    write(tmp_path, {"ds.yaml": annotated.replace("prometheus.io/port: '8443'", "prometheus.io/port: '9000'")})
    assert status() == Status.FAIL
    # jetstack/version-checker: --metrics-serving-address=0.0.0.0:8443
    write(tmp_path, {"ds.yaml": ds.replace("--metrics-bind-address=:8443", "--metrics-serving-address=0.0.0.0:8443")})
    assert status() == Status.NOT_APPLICABLE


def test_gc901_a_port_only_a_webhook_service_points_at_serves_no_api(tmp_path):
    """emqx-operator: besides metrics, its one port is 9443, where its webhook Service (named by the
    ValidatingWebhookConfiguration) points: only the kube-apiserver calls it. Another Service on it is an API's."""

    status = partial(gc901_status, tmp_path)

    ds = DAEMONSET.replace(
        "          ports: [{containerPort: 8080, name: metrics}]\n",
        "          ports: [{containerPort: 8080, name: metrics}, {containerPort: 9443, name: webhook-server}]\n",
    )
    svc = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: emqx-webhook}\nspec:\n  selector: {app: kured}\n"
        "  ports: [{port: 443, targetPort: 9443}]\n"
    )
    hook = (
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: v}\n"
        "webhooks:\n  - name: v.emqx.io\n    clientConfig: {service: {name: emqx-webhook, namespace: system}}\n"
    )
    write(tmp_path, {"Dockerfile": "FROM alpine:3.20\n", "ds.yaml": ds, "svc.yaml": svc, "hook.yaml": hook})
    assert status() == Status.NOT_APPLICABLE
    # by the port's name too
    write(tmp_path, {"svc.yaml": svc.replace("targetPort: 9443", "targetPort: webhook-server")})
    assert status() == Status.NOT_APPLICABLE
    # without the webhook configuration, a Service leading to a container port named webhook still serves the
    # kube-apiserver (crossplane registers its webhooks at run time); one leading to another port is an API's
    (tmp_path / "hook.yaml").unlink()
    assert status() == Status.NOT_APPLICABLE
    write(tmp_path, {"ds.yaml": ds.replace("name: webhook-server", "name: https"), "svc.yaml": svc})
    assert status() == Status.FAIL


def test_gc901_needs_a_workload_that_serves_more_than_metrics(tmp_path):
    """kubereboot/kured: a DaemonSet whose only endpoint is /metrics, exposed by no Service, has no API."""

    def status():
        _, result = scan([tmp_path], rules=("GC901",))
        [o] = [o for o in result.outcomes if o.rule_id == "GC901"]
        return o.status, o.reason or ""

    write(tmp_path, {"Dockerfile": "FROM alpine:3.20\n", "kured-ds.yaml": DAEMONSET})
    got = status()
    assert got[0] == Status.NOT_APPLICABLE and "exposed by a Service for anything but metrics" in got[1], got
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: kured}\nspec:\n  selector: {app: kured}\n  ports: "
    write(tmp_path, {"svc.yaml": svc + "[{name: metrics, port: 8080}]\n"})
    assert status()[0] == Status.NOT_APPLICABLE  # a metrics Service serves no API
    write(tmp_path, {"svc.yaml": svc + "[{name: http, port: 80, targetPort: 8080}]\n"})
    assert status()[0] == Status.FAIL
    (tmp_path / "svc.yaml").unlink()
    # a port of its own besides metrics: it may serve an API whose Service lives elsewhere
    write(tmp_path, {"kured-ds.yaml": DAEMONSET.replace("name: metrics}]", "name: metrics}, {containerPort: 80}]")})
    assert status()[0] == Status.FAIL
    # kubewatch: no port, no Service: nothing serves; unless a file that does not parse may hold the Service
    write(
        tmp_path, {"kured-ds.yaml": DAEMONSET.replace("          ports: [{containerPort: 8080, name: metrics}]\n", "")}
    )
    assert status()[0] == Status.NOT_APPLICABLE
    write(tmp_path, {"svc.yaml": "apiVersion: v1\nkind: Service\nspec: {ports: [\n"})
    assert status()[0] == Status.FAIL
    # kaniko: a templated Job that does not parse names no Service, so it held none
    write(tmp_path, {"svc.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Name }}\nspec: {a: [\n"})
    assert status()[0] == Status.NOT_APPLICABLE
    write(tmp_path, {"svc.yaml": "apiVersion: v1\nkind: {{ .Kind }}\nspec: {a: [\n"})  # a templated kind may be one
    assert status()[0] == Status.FAIL
    (tmp_path / "svc.yaml").unlink()
    (tmp_path / "kured-ds.yaml").unlink()
    assert status()[0] == Status.FAIL  # a Dockerfile alone shows nothing either way


# ------------------------------------------------------------------ the real-world corpus


CORPUS_INVALID = {
    # openapi-spec-validator's own test data for invalid documents
    "python-openapi__openapi-spec-validator/tests/integration/data/v2.0/empty.yaml",
    "python-openapi__openapi-spec-validator/tests/integration/data/v2.0/missing-reference.yaml",
    "python-openapi__openapi-spec-validator/tests/integration/data/v3.0/empty.yaml",
    "python-openapi__openapi-spec-validator/tests/integration/data/v3.0/missing-description.yaml",
    "python-openapi__openapi-spec-validator/tests/integration/data/v3.0/property-missing-reference.yaml",
    # the Docker Engine API bench spec: `default: null` on non-nullable properties (Swagger 2.0 has no null)
    "python-openapi__openapi-spec-validator/tests/bench/specs/docker.yaml",
}


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_corpus_verdicts():
    dirs = [
        CORPUS / d
        for d in ("OAI__OpenAPI-Specification", "python-openapi__openapi-spec-validator", "twilio__twilio-oai")
    ]
    t0 = time.process_time()  # CPU time: a loaded machine stretches wall time, not this
    loaded, result = scan(dirs)
    elapsed = time.process_time() - t0
    verdicts = {
        o.target.path.split("/dev/", 1)[-1].split("corpus/dev/")[-1]: o.status
        for o in result.outcomes
        if o.rule_id == "GC902"
    }
    verdicts = {k[k.index(d.name) :]: v for k, v in verdicts.items() for d in dirs if d.name in k}
    assert len(verdicts) == 22
    invalid = {k for k, v in verdicts.items() if v == Status.FAIL}
    assert invalid == CORPUS_INVALID
    assert all(v == Status.PASS for k, v in verdicts.items() if k not in CORPUS_INVALID)
    assert elapsed < 30, elapsed  # ~2 s of CPU on a laptop core for 22 documents (1.3 MB)


# ------------------------------------------------------------------ odd shapes never crash a check


ODD = [
    "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: [1, 2]\n",
    "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {/x: str, /y: {get: 5, post: {parameters: x}}}\n",
    "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nsecurity: x\ncomponents: []\npaths:\n  /x:\n    parameters: [5, {$ref: 5}]\n"
    "    get: {security: [5, {}], parameters: [{name: a, in: query, schema: {type: 5, properties: [], items: [],"
    " allOf: x, additionalProperties: 7}}], requestBody: {content: []}, responses: {'200': {description: ok}}}\n",
    "openapi: 3.1.0\ninfo: {title: t, version: '1'}\ncomponents: {securitySchemes: {a: 1, b: {$ref: '#/nowhere'}}}\n"
    "paths:\n  /x:\n    $ref: '#/components/pathItems/missing'\n  /y:\n    post:\n      requestBody: {$ref: '#/a/~1b/0'}\n"
    "      responses: {'200': {description: ok}}\n",
    "swagger: '2.0'\ninfo: {title: t, version: '1'}\nsecurityDefinitions: []\npaths:\n  /x:\n    get:\n"
    "      parameters: [{in: body}, {in: query, name: q}, {in: query, name: r, type: array, items: {type: string}}]\n"
    "      responses: {'200': {description: ok}}\n",
    '{"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"parameters": '
    '[{"name": "x", "in": "path", "required": true, "schema": {"$ref": "#/paths/~1a/get/parameters/0/schema"}}], '
    '"responses": {"200": {"description": "ok"}}}}}}',
    "openapi: 3.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
    "swagger: 2\ninfo: {title: t, version: '1'}\npaths: {}\n",
]


@pytest.mark.parametrize("text", ODD)
def test_odd_documents_never_crash(tmp_path, text):
    name = "odd.json" if text.startswith("{") else "odd.yaml"
    (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    loaded, result = scan([tmp_path], rules=("GC601", "GC603", "GC901", "GC902"))  # asserts nothing is incomplete
    assert [t for t in loaded.targets if t.kind == "openapi"]
    assert not [f for f in result.findings if f.rule_id == "GC001"]


def test_absolute_ref_to_an_id_in_the_tree_is_resolved_locally(tmp_path):
    write(
        tmp_path,
        {
            "openapi.yaml": """\
            openapi: 3.1.0
            info: {title: ids, version: "1"}
            paths:
              /pets:
                get:
                  responses:
                    "200":
                      description: ok
                      content:
                        application/json:
                          schema: {$ref: "https://schemas.example.com/pet"}
            """,
            "schemas/pet.yaml": """\
            $id: https://schemas.example.com/pet
            type: object
            properties:
              name: {type: string}
            """,
        },
    )
    # the schema file is not referenced by path: its $id is only known once it is loaded
    loaded, result = scan([tmp_path])
    spec = next(t.data for t in loaded.targets if t.kind == "openapi")
    assert [p.kind for p in spec.problems] == ["external"]  # not in the tree by path: never fetched
    write(
        tmp_path,
        {
            "openapi.yaml": (tmp_path / "openapi.yaml")
            .read_text()
            .replace("paths:", "components:\n  schemas:\n    Pet: {$ref: 'schemas/pet.yaml'}\npaths:")
        },
    )
    loaded, result = scan([tmp_path])
    spec = next(t.data for t in loaded.targets if t.kind == "openapi")
    # now the file is part of the document: its $id is honoured, though the reference comes first in the document
    assert spec.problems == []
    assert [o.status for o in result.outcomes if o.rule_id == "GC902"] == [Status.PASS]


def test_gc603_object_and_string_edges(tmp_path):
    write(
        tmp_path,
        {
            "openapi.yaml": """\
        openapi: 3.1.0
        info: {title: edges, version: "1"}
        paths:
          /v1/things:
            post:
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      unevaluatedProperties: false
                      properties:
                        labels: {type: object, additionalProperties: {type: string, maxLength: 63}, maxProperties: 64}
                        notes: {type: object, additionalProperties: {type: string, maxLength: 10}}
                        nick: {type: [string, "null"]}
                        kind:
                          oneOf:
                            - {type: string, enum: [a, b]}
                            - {type: string}
                        any: {}
              responses:
                "200":
                  description: responses are not inputs
                  content:
                    application/json:
                      schema: {type: object, properties: {free: {type: string}}}
        """
        },
    )
    _, result = scan([tmp_path], rules=("GC603",))
    got = [(line, m.split(":")[0], m) for _, line, m in found(result, "GC603", tmp_path)]
    assert [(line, kind) for line, kind, _ in got] == [
        (14, "open object"),  # a map without maxProperties
        (15, "unbounded string"),  # a nullable string is still a string
        (19, "unbounded string"),  # the second oneOf alternative
        (
            20,
            "property 'any' of request body of POST /v1/things (application/json) has an empty schema (any value "
            "is accepted)",
        ),
    ]
    assert "a map whose additionalProperties is a schema" in got[0][2]


def test_ref_targets_outside_the_walk_are_read_once_through_the_safe_reader(tmp_path, run_cli):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "pipe.yaml")  # reading it would hang the scan
    repo = tmp_path / "repo"
    write(
        repo,
        {
            "api/openapi.yaml": """\
            openapi: 3.0.3
            info: {title: t, version: "1"}
            paths:
              /v1/x:
                get:
                  responses:
                    "200": {description: ok, content: {application/json: {schema: {$ref: ../vendor/schemas/pet.yaml}}}}
              /v1/y:
                get:
                  responses:
                    "200": {description: ok, content: {application/json: {schema: {$ref: ../linked/pipe.yaml}}}}
              /v1/z:
                get:
                  responses:
                    "200": {description: ok, content: {application/json: {schema: {$ref: ../vendor/schemas/broken.yaml}}}}
            """,
            "vendor/schemas/pet.yaml": "type: object\nproperties:\n  name: {type: string, maxLength: 9}\n",
            "vendor/schemas/broken.yaml": "type: object\nproperties: {a: [\n",
        },
    )
    os.symlink(outside, repo / "linked")  # a directory symlink inside the tree, pointing out of it
    proc = run_cli("scan", str(repo), "--select", "GC902,GC001", "--isolated", timeout=120)
    out = proc.stdout
    assert proc.returncode == 1, proc.stderr
    # vendor/ is skipped by the walk, but a spec's $ref into it is read (safely) and resolved
    assert "vendor/schemas/pet.yaml" not in out.replace("vendor/schemas/broken.yaml", "")
    assert "linked/pipe.yaml is reached through a symlink that leaves the scanned tree" in out
    assert f"{repo}/vendor/schemas/broken.yaml:2:17: error GC001" in out  # its parse error, pinned
    assert "broken.yaml could not be parsed (see GC001)" in out


def test_pre_commit_mode_reads_referenced_files_once(tmp_path, run_cli):
    write(
        tmp_path,
        {
            "api/openapi.yaml": SPEC_HEAD.replace("REF", "schemas/pet.yaml"),
            "api/other.yaml": SPEC_HEAD.replace("REF", "schemas/pet.yaml#/properties/name"),
            "api/schemas/pet.yaml": "type: object\nproperties:\n  name: {type: string, default: 3}\n",
        },
    )
    # pre-commit passes only the changed files: the schema file is not among them
    proc = run_cli("scan", "api/openapi.yaml", "api/other.yaml", "--select", "GC902", "--isolated", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = [x for x in proc.stdout.splitlines() if " GC902 " in x]
    assert lines and all(x.startswith("api/schemas/pet.yaml:3:") for x in lines), proc.stdout


def test_documents_validated_by_the_prefetch_worker_get_the_same_answers(tmp_path):
    """The worker GC902 starts before the rules run answers each document as validating it on its own does."""
    from guidecheck.checks import openapi

    write(
        tmp_path,
        {
            "a/openapi.yaml": "openapi: 3.0.3\ninfo: {title: a, version: '1'}\npaths: {}\n",
            "b/openapi.yaml": "openapi: 3.0.3\ninfo: {title: b}\npaths: {}\n",  # no version: invalid
            "c/swagger.yaml": "swagger: '2.0'\ninfo: {title: c, version: '1'}\npaths: {/x: {get: {responses: 7}}}\n",
            # over a 1 s budget, validated first: the worker's CPU then passes whole seconds between documents
            "0/openapi.json": json.dumps(_exponential_document()),
        },
    )
    loaded = load([str(tmp_path)], Config())
    targets = sorted((t for t in loaded.targets if t.kind == "openapi"), key=lambda t: t.path)
    assert len(targets) == 4
    openapi.prefetch(targets, {"openapi-validation-seconds": 1})
    try:
        assert openapi._prefetched is not None
        answers = {}
        for t in targets:
            spec = t.data
            by_worker = openapi._prefetched.get(spec, spec.family, 1)
            assert by_worker is not None, spec.path  # answered by the worker, not validated anew
            assert by_worker == openapi._validate_in_child(spec, spec.family, 1)
            answers[t.path.rsplit("/", 2)[-2]] = by_worker
        assert [bool(answers[k]) for k in "0abc"] == [True, False, True, True]
        assert answers["0"][0][0] == openapi._OVER_BUDGET  # the worker's CPU timer, as a child's RLIMIT_CPU
    finally:
        openapi.end_prefetch()
    assert openapi._prefetched is None


def test_the_worker_starts_while_charts_render_and_the_rules_keep_it(tmp_path, monkeypatch):
    """runner.scan's on_found hook forks the validating worker as soon as the walk's OpenAPI documents are
    parsed, while Helm and kustomize render; GC902 then takes that worker's answers instead of starting
    another. With GC902 deselected no worker starts."""
    from guidecheck import loaders
    from guidecheck.checks import openapi

    write(
        tmp_path,
        {
            "a/openapi.yaml": "openapi: 3.0.3\ninfo: {title: a, version: '1'}\npaths: {}\n",
            "b/openapi.yaml": "openapi: 3.0.3\ninfo: {title: b}\npaths: {}\n",  # no version: invalid
        },
    )
    started: list[list] = []
    real_init = openapi._Prefetch.__init__

    def counting(self, jobs):
        started.append(sorted(spec.path.rsplit("/", 2)[-2] for spec, _family, _seconds in jobs))
        real_init(self, jobs)

    monkeypatch.setattr(openapi._Prefetch, "__init__", counting)
    when: list[int] = []
    real_load = loaders.load

    def load_noting_when(paths, config, options=None):
        hook = (options or {}).get("on_found")

        def noted(loaded):
            hook(loaded)
            when.append(len(started))  # the worker exists when the hook returns, before the rules run

        return real_load(paths, config, {**(options or {}), "on_found": noted} if hook else options)

    monkeypatch.setattr(loaders, "load", load_noting_when)
    config = dataclasses.replace(Config(), select=("GC902", "GC001"))
    result = runner.scan([str(tmp_path)], config, RULES)
    assert when == [1] and started == [["a", "b"]]  # one worker, started by the hook and kept by the engine
    assert openapi._prefetched is None  # stopped once the rules ran
    assert [f.path.rsplit("/", 2)[-2] for f in result.findings if f.rule_id == "GC902"] == ["b"]
    started.clear()
    runner.scan([str(tmp_path)], dataclasses.replace(config, select=("GC001",)), RULES)
    assert started == [] and openapi._prefetched is None


def _exponential_document() -> dict:
    """allOf of the same schema twice, 16 levels deep: the validator's work doubles per level."""
    schemas: dict = {"S0": {"type": "object", "properties": {"a": {"type": "string"}}}}
    for i in range(1, 17):
        ref = {"$ref": f"#/components/schemas/S{i - 1}"}
        schemas[f"S{i}"] = {"allOf": [ref, ref]}
    return {"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}, "components": {"schemas": schemas}}


def test_without_a_process_to_spare_every_document_is_still_validated(tmp_path, monkeypatch):
    """fork failing (EAGAIN: a process limit) leaves no worker; GC902 validates each document itself."""
    from guidecheck.checks import openapi

    write(
        tmp_path,
        {
            "a/openapi.yaml": "openapi: 3.0.3\ninfo: {title: a, version: '1'}\npaths: {}\n",
            "b/openapi.yaml": "openapi: 3.0.3\ninfo: {title: b}\npaths: {}\n",  # no version: invalid
        },
    )
    _, expected = scan([tmp_path])

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(openapi._Prefetch, "__init__", lambda self, jobs: no_fork())
    _, result = scan([tmp_path])
    assert openapi._prefetched is None
    assert found(result, root=tmp_path) == found(expected, root=tmp_path) != []


def test_a_validating_child_that_gives_no_answer_is_stopped_in_wall_time(tmp_path, monkeypatch):
    """A child stuck without using CPU (its RLIMIT_CPU never fires: forked while other threads held a lock, or
    stopped) is killed after the wall-time bound: the document is 'not validated' and the scan incomplete, never
    a hang."""
    from guidecheck.checks import openapi

    write(tmp_path, {"a/openapi.yaml": "openapi: 3.0.3\ninfo: {title: a, version: '1'}\npaths: {}\n"})
    loaded = load([str(tmp_path)], Config())
    (target,) = [t for t in loaded.targets if t.kind == "openapi"]

    def asleep(spec, family):
        time.sleep(60)  # no CPU used: only the wall-time bound can end it
        yield from ()

    monkeypatch.setattr(openapi, "_validate", asleep)
    monkeypatch.setattr(openapi, "_stall_seconds", lambda seconds: 0.5)
    start = time.monotonic()
    answer = openapi._validate_in_child(target.data, target.data.family, 30)
    assert time.monotonic() - start < 30
    assert answer == [
        (openapi._OVER_BUDGET, 0, "not validated: the validator stopped without an answer, none in 0.5 s")
    ]
    # GC902 reports it at the document's line and the scan is incomplete (exit 3), as over its CPU budget
    monkeypatch.setattr(openapi, "_validate_bounded", lambda spec, family, seconds: answer)
    hits = list(
        openapi.valid_document(target, types.SimpleNamespace(settings={"openapi-validation-seconds": 30}, options={}))
    )
    assert [(h.line, h.incomplete) for h in hits] == [(target.line, True)], hits


def test_a_prefetch_worker_that_stops_answering_is_replaced_by_one_child_per_document(tmp_path, monkeypatch):
    """The worker answers nothing for the stall bound: it is killed, get() returns None, and GC902 validates
    the document in a child of its own (here answered at once)."""
    from guidecheck.checks import openapi

    write(
        tmp_path,
        {
            "a/openapi.yaml": "openapi: 3.0.3\ninfo: {title: a, version: '1'}\npaths: {}\n",
            "b/openapi.yaml": "openapi: 3.0.3\ninfo: {title: b}\npaths: {}\n",
        },
    )
    loaded = load([str(tmp_path)], Config())
    targets = sorted((t for t in loaded.targets if t.kind == "openapi"), key=lambda t: t.path)
    real = openapi._validate
    monkeypatch.setattr(openapi, "_stall_seconds", lambda seconds: 0.5)
    monkeypatch.setattr(openapi, "_validate_timed", lambda spec, family, seconds: time.sleep(60) or [])
    openapi.prefetch(targets, {"openapi-validation-seconds": 1})
    try:
        worker = openapi._prefetched
        assert worker is not None
        spec = targets[1].data
        start = time.monotonic()
        assert worker.get(spec, spec.family, 1) is None
        assert time.monotonic() - start < 30 and worker.done.is_set()  # killed, reader finished
        monkeypatch.setattr(openapi, "_validate", real)
        answer = openapi._validate_bounded(spec, spec.family, 1)
        assert answer and answer[0][0] is not None  # b has no info.version: a real validation error
    finally:
        openapi.end_prefetch()


def test_a_swagger_2_file_response_is_valid_as_the_specification_says(tmp_path):
    """Harbor's API downloads files: `schema: {type: file}` on a 2.0 Response Object (also a shared one) is
    valid, though openapi-spec-validator's JSON Schema rejects it; `file` anywhere else still is not."""
    write(
        tmp_path,
        {
            "swagger.yaml": """\
            swagger: '2.0'
            info: {title: t, version: '1'}
            produces: [application/octet-stream]
            responses:
              Download: {description: a file, schema: {type: file}}
            paths:
              /cert:
                get:
                  responses:
                    '200':
                      description: the certificate
                      schema:
                        type: file
              /export:
                get:
                  responses:
                    '200': {$ref: '#/responses/Download'}
              /bad:
                get:
                  responses:
                    '200':
                      description: a file inside an object is no file response
                      schema:
                        type: object
                        properties:
                          content: {type: file}
            """
        },
    )
    _loaded, result = scan([tmp_path])
    got = found(result, root=tmp_path)
    assert got and all(path == "swagger.yaml" and 20 <= line <= 28 and "/bad" in m for path, line, m in got), got
    assert any("'file' is not one of" in m for _p, _l, m in got), got


def test_gc603_names_a_long_schema_in_full(tmp_path):
    """argo-workflows' NATSAuth, NATSEventsSource and NATSTrigger all read '...v1alpha1.NAT' when names were cut
    at 60 characters: a message named a schema the document does not have."""
    long_name = "github.com.argoproj.argo_events.pkg.apis.events.v1alpha1.NATSEventsSource"
    write(
        tmp_path,
        {
            "openapi.yaml": f"""\
            openapi: 3.0.3
            info: {{title: t, version: "1"}}
            paths:
              /v1/x:
                post:
                  security: [{{jwt: []}}]
                  requestBody:
                    content:
                      application/json:
                        schema: {{$ref: '#/components/schemas/{long_name}'}}
                  responses: {{'200': {{description: ok}}}}
            components:
              securitySchemes: {{jwt: {{type: http, scheme: bearer, bearerFormat: JWT}}}}
              schemas:
                {long_name}:
                  type: object
                  additionalProperties: false
                  properties:
                    queue: {{type: string}}
            """
        },
    )
    _loaded, result = scan([tmp_path], rules=("GC603",))
    [(path, line, message)] = found(result, "GC603", root=tmp_path)
    assert f"property 'queue' of schema '{long_name}'" in message, message


def test_a_validation_error_inside_a_schema_is_at_its_own_line(tmp_path):
    """litmus' auth API lists `required` inside `properties`: the error is at that key, not at `schema:`."""
    write(
        tmp_path,
        {
            "swagger.yaml": """\
            swagger: '2.0'
            info: {title: t, version: '1'}
            paths:
              /create_user:
                post:
                  parameters:
                    - name: body
                      in: body
                      schema:
                        type: object
                        properties:
                          required: [username, password]
                          username: {type: string}
                  responses: {'200': {description: ok}}
            """
        },
    )
    _loaded, result = scan([tmp_path])
    got = found(result, root=tmp_path)
    specific = [(line, m) for _p, line, m in got if "is not of type 'object'" in m]
    assert [line for line, _m in specific] == [12], got
    assert specific[0][1].endswith("at paths > /create_user > post > parameters > 0 > schema > properties > required")


def test_gc901_a_test_s_workload_does_not_make_the_service_serve_an_api(tmp_path):
    """openkruise/rollouts: the controller serves webhooks and metrics; its e2e tests deploy an HTTP echoserver.
    The service's own workloads decide; a repository with only a test's workloads shows nothing either way."""

    status = partial(gc901_status, tmp_path)

    echo = (
        DAEMONSET.replace("name: kured", "name: echo")
        .replace("app: kured", "app: echo")
        .replace("{containerPort: 8080, name: metrics}", "{containerPort: 8080, name: http}")
    )
    write(tmp_path, {"Dockerfile": "FROM alpine:3.20\n", "config/ds.yaml": DAEMONSET, "test/e2e/echo.yaml": echo})
    assert status() == Status.NOT_APPLICABLE
    write(tmp_path, {"config/echo.yaml": echo})  # the same workload as the service's own: it serves HTTP
    assert status() == Status.FAIL
    (tmp_path / "config" / "echo.yaml").unlink()
    (tmp_path / "config" / "ds.yaml").unlink()
    assert status() == Status.FAIL  # only a test's workload, and a Dockerfile: nothing shows the service has no API
