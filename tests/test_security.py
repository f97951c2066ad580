"""GC601 (JWT authentication: OpenAPI security and Istio mesh policies) and GC602 (signing-key rotation).

The fixtures pin the common cases; these tests cover the edges: policy scope
(namespace, root namespace, selectors, gateway policies), how the OpenAPI and
mesh evidence combine, Swagger 2.0 schemes, every rotation mechanism's
arithmetic, and the live part on Secrets from a cluster dump (metadata only).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from guidecheck.catalog import load_rules
from guidecheck.config import Config, config_from_dict
from guidecheck.model import ObjectRef, Target
from guidecheck.parsers.yaml import load_yaml

from conftest import in_process_scan

RULES = load_rules()
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def scan(tmp_path: Path, files: dict[str, str], rule: str, settings: dict | None = None, extra=(), strict=True):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    config = config_from_dict({"settings": settings}) if settings else Config()
    result = in_process_scan([tmp_path], config, select=(rule, "GC001"), now=NOW, targets=extra, rules=RULES)
    assert not result.incomplete, result.incomplete
    assert not strict or not [f for f in result.findings if f.rule_id == "GC001"]
    return result


def findings(result, rule: str, root: Path | None = None) -> list[tuple[str, int, str]]:
    out = []
    for f in result.findings:
        if f.rule_id == rule:
            path = f.path[len(str(root)) + 1 :] if root and f.path.startswith(str(root)) else f.path
            out.append((path, f.line, f.message))
    return sorted(out)


def outcomes(result, rule: str) -> dict[str, tuple[str, str | None]]:
    return {str(o.target.ref): (o.status.value, o.reason) for o in result.outcomes if o.rule_id == rule}


DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart, tier: api}}
    spec:
      containers: [{name: cart, image: x}]
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{port: 80}]
"""


def ra(ns="shop", selector="{matchLabels: {app: cart}}", rules="[{issuer: https://auth.example.com}]", extra=""):
    sel = f"  selector: {selector}\n" if selector else ""
    return (
        f"apiVersion: security.istio.io/v1beta1\nkind: RequestAuthentication\nmetadata: {{name: jwt, "
        f"namespace: {ns}}}\nspec:\n{sel}  jwtRules: {rules}\n{extra}"
    )


def ap(
    ns="shop",
    selector="{matchLabels: {app: cart}}",
    rules='[{from: [{source: {requestPrincipals: ["*"]}}]}]',
    action="ALLOW",
    name="require-jwt",
    extra="",
):
    sel = f"  selector: {selector}\n" if selector else ""
    return (
        f"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: {name}, "
        f"namespace: {ns}}}\nspec:\n{sel}  action: {action}\n  rules: {rules}\n{extra}"
    )


# ------------------------------------------------------------------ GC601: mesh


@pytest.mark.parametrize(
    "mesh, covered",
    [
        (ra() + "---\n" + ap(), True),
        # namespace-wide policies (no selector) in the workload's namespace
        (ra(selector="") + "---\n" + ap(selector=""), True),
        # mesh-wide: the root namespace, no selector
        (ra(ns="istio-system", selector="") + "---\n" + ap(ns="istio-system", selector=""), True),
        # a DENY policy rejecting requests without a principal instead of an ALLOW policy
        (ra() + "---\n" + ap(action="DENY", rules='[{from: [{source: {notRequestPrincipals: ["*"]}}]}]'), True),
        # RequestAuthentication alone accepts requests without a token
        (ra(), False),
        # no jwtRules
        (ra(rules="[]") + "---\n" + ap(), False),
        # policies of another namespace
        (ra(ns="billing") + "---\n" + ap(ns="billing"), False),
        # selectors that pick other pods
        (ra(selector="{matchLabels: {app: other}}") + "---\n" + ap(), False),
        # a gateway policy (targetRef) does not act on the pods
        (ra(selector="", extra="  targetRef: {kind: Gateway, name: ingress}\n") + "---\n" + ap(), False),
        # an ALLOW rule without principals opens a hole; one only for /healthz does not
        (
            ra()
            + "---\n"
            + ap(rules='[{from: [{source: {requestPrincipals: ["*"]}}]}, {to: [{operation: {methods: [GET]}}]}]'),
            False,
        ),
        (
            ra()
            + "---\n"
            + ap(
                rules='[{from: [{source: {requestPrincipals: ["*"]}}]}, '
                '{to: [{operation: {paths: ["/healthz", "/metrics"]}}]}]'
            ),
            True,
        ),
        # a second ALLOW policy without principals
        (ra() + "---\n" + ap() + "---\n" + ap(name="open", rules="[{from: [{source: {namespaces: [web]}}]}]"), False),
    ],
)
def test_mesh_coverage(tmp_path, mesh, covered):
    result = scan(tmp_path, {"app.yaml": DEPLOY, "mesh.yaml": mesh}, "GC601")
    status = outcomes(result, "GC601")["Deployment/shop/cart"][0]
    assert status == ("pass" if covered else "fail")
    if not covered:
        ((path, line, msg),) = findings(result, "GC601", tmp_path)
        assert (path, line) == ("app.yaml", 1) and "signed JWT" in msg


def test_workloads_not_serving_are_not_applicable(tmp_path):
    files = {
        "w.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: worker}
        spec:
          template:
            metadata: {labels: {app: worker}}
            spec: {containers: [{name: w, image: x}]}
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: nightly}
        spec:
          schedule: "0 1 * * *"
          jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: j, image: x}]}}}}
        """
    }
    result = scan(tmp_path, files, "GC601")
    got = outcomes(result, "GC601")
    assert got["Deployment/worker"][0] == "not_applicable"
    assert got["Deployment/worker"][1].startswith("no Service exposes its pods (other than for metrics")
    assert got["CronJob/nightly"][0] == "not_applicable"


def test_a_database_port_is_no_http_whether_or_not_its_containers_name_an_image(tmp_path):
    """percona's expected StatefulSets leave images out; port 27017 alone says it speaks no HTTP."""
    files = {
        "db.yaml": """\
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: rs0}
        spec:
          selector: {matchLabels: {app: rs0}}
          template:
            metadata: {labels: {app: rs0}}
            spec: {containers: [{name: mongod, ports: [{containerPort: 27017}]}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: rs0}
        spec: {selector: {app: rs0}, ports: [{port: 27017}]}
        """
    }
    got = outcomes(scan(tmp_path, files, "GC601"), "GC601")
    assert got["StatefulSet/rs0"][0] == "not_applicable" and "speaks no HTTP" in got["StatefulSet/rs0"][1], got


@pytest.mark.parametrize(
    "container",
    [
        # Altinity's clickhouse-keeper StatefulSet: ZooKeeper's protocol on 2181, Raft on 9444, metrics on 7000
        "{name: keeper, image: 'clickhouse/clickhouse-keeper:24.8', ports: [{containerPort: 2181, name: client}, "
        "{containerPort: 9444, name: quorum}, {containerPort: 7000, name: metrics}]}",
        # ClickHouse Keeper's own defaults: its client port 9181 and Raft port 9234
        "{name: keeper, image: 'example/keeper:1.0', ports: [{containerPort: 9181}, {containerPort: 9234}]}",
    ],
)
def test_clickhouse_keeper_speaks_no_http(tmp_path, container):
    files = {
        "keeper.yaml": f"""\
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {{name: keeper}}
        spec:
          selector: {{matchLabels: {{app: keeper}}}}
          template:
            metadata: {{labels: {{app: keeper}}}}
            spec: {{containers: [{container}]}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: keeper}}
        spec: {{selector: {{app: keeper}}, ports: [{{port: 2181}}, {{port: 9181}}]}}
        """
    }
    got = outcomes(scan(tmp_path, files, "GC601"), "GC601")
    assert got["StatefulSet/keeper"][0] == "not_applicable" and "speaks no HTTP" in got["StatefulSet/keeper"][1], got


def test_a_dns_server_speaks_no_http(tmp_path):
    """coredns: 53/UDP and 53/TCP, a Service in front of both."""
    files = {
        "dns.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: dns}
        spec:
          selector: {matchLabels: {app: dns}}
          template:
            metadata: {labels: {app: dns}}
            spec:
              containers:
                - name: dns
                  image: registry.example.com/resolver:1.0.0
                  ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: dns}
        spec: {selector: {app: dns}, ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]}
        """
    }
    got = outcomes(scan(tmp_path, files, "GC601"), "GC601")
    assert got["Deployment/dns"][0] == "not_applicable" and "port 53" in got["Deployment/dns"][1], got
    files["dns.yaml"] = files["dns.yaml"].replace(", {containerPort: 53, protocol: TCP}", "")
    got = outcomes(scan(tmp_path, files, "GC601"), "GC601")
    assert "UDP/SCTP port 53" in got["Deployment/dns"][1], got


def test_a_backend_of_the_kube_apiserver_needs_no_jwt(tmp_path):
    """prometheus-adapter: its Service backs APIService v1beta1.metrics.k8s.io; kube-apiserver is the caller."""
    files = {
        "adapter.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: adapter, namespace: monitoring}
        spec:
          selector: {matchLabels: {app: adapter}}
          template:
            metadata: {labels: {app: adapter}}
            spec: {containers: [{name: a, image: adapter:1.0.0, ports: [{containerPort: 6443}]}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: adapter, namespace: monitoring}
        spec: {selector: {app: adapter}, ports: [{name: https, port: 443, targetPort: 6443}]}
        ---
        apiVersion: apiregistration.k8s.io/v1
        kind: APIService
        metadata: {name: v1beta1.metrics.k8s.io}
        spec:
          group: metrics.k8s.io
          version: v1beta1
          service: {name: adapter, namespace: monitoring}
        """
    }
    got = outcomes(scan(tmp_path, files, "GC601"), "GC601")
    assert got["Deployment/monitoring/adapter"][0] == "not_applicable", got
    # without the APIService the same Service is an HTTP service like any other
    # a chart's objects without a namespace, its APIService naming {{ .Release.Namespace }} as rendered
    # (cert-manager's samplewebhook): the Service is in the namespace it is applied to, the one named
    unspaced = (
        files["adapter.yaml"]
        .replace("service: {name: adapter, namespace: monitoring}", "service: {name: adapter, namespace: default}")
        .replace(", namespace: monitoring}", "}")
    )
    assert "namespace: monitoring" not in unspaced and "namespace: default" in unspaced, unspaced
    got = outcomes(scan(tmp_path, {"adapter.yaml": unspaced}, "GC601"), "GC601")
    assert got["Deployment/adapter"][0] == "not_applicable", got
    files["adapter.yaml"] = files["adapter.yaml"].split("        ---\n        apiVersion: apiregistration")[0]
    got = outcomes(scan(tmp_path, files, "GC601"), "GC601")
    assert got["Deployment/monitoring/adapter"][0] == "fail", got


def test_a_workload_only_udp_services_expose_speaks_no_http(tmp_path):
    """traefik's integration fixture whoamiudp: its containerPort leaves protocol at TCP, but the only Service
    exposing it is UDP: no HTTP call with a JWT reaches it. A TCP port on the Service makes it a service again."""
    files = {
        "udp.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: whoamiudp, namespace: shop}
        spec:
          selector: {matchLabels: {app: whoamiudp}}
          template:
            metadata: {labels: {app: whoamiudp}}
            spec: {containers: [{name: w, image: whoamiudp:1.0.0, ports: [{containerPort: 8090}]}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: whoamiudp, namespace: shop}
        spec: {selector: {app: whoamiudp}, ports: [{name: udp, port: 8090, protocol: UDP}]}
        """
    }
    got = outcomes(scan(tmp_path, files, "GC601"), "GC601")
    assert got["Deployment/shop/whoamiudp"][0] == "not_applicable", got
    assert "UDP/SCTP ports only" in got["Deployment/shop/whoamiudp"][1], got
    files["udp.yaml"] = files["udp.yaml"].replace("protocol: UDP}", "protocol: UDP}, {name: web, port: 80}")
    got = outcomes(scan(tmp_path, files, "GC601"), "GC601")
    assert got["Deployment/shop/whoamiudp"][0] == "fail", got


UNSECURED_SPEC = """\
openapi: 3.0.3
info: {title: cart, version: "1"}
paths:
  /v1/basket:
    get:
      responses:
        "200": {description: ok}
  /healthz:
    get:
      responses:
        "200": {description: ok}
"""

SECURED_SPEC = (
    UNSECURED_SPEC.replace("paths:", "security: [{jwt: []}]\npaths:")
    + """\
components:
  securitySchemes:
    jwt: {type: http, scheme: bearer, bearerFormat: jwt}
"""
)


def test_openapi_and_mesh_evidence_combine(tmp_path):
    # no evidence at all: both the document and the workload fail
    result = scan(tmp_path, {"app.yaml": DEPLOY, "openapi.yaml": UNSECURED_SPEC}, "GC601")
    got = findings(result, "GC601", tmp_path)
    assert [(p, line) for p, line, _ in got] == [("app.yaml", 1), ("openapi.yaml", 5)]
    # the workload's message names the document of its scope that fails (ftgo's CDC service was told "every
    # OpenAPI document of this service" of the restaurant service's swagger)
    assert "every OpenAPI document in its scope requiring a JWT security scheme on every operation (" in got[0][2]
    assert "openapi.yaml does not)" in got[0][2], got[0][2]
    # which pods serve the document is not known: the message speaks of the workloads Services expose, and says
    # when no mesh JWT policy covers any of them (external-dns's webhook API, no Istio policy in the repository)
    assert got[1][2].endswith(
        "; and no Istio JWT policy (RequestAuthentication + AuthorizationPolicy) covers the workloads a Service "
        "exposes in its scope"
    ), got[1][2]
    # the mesh covers one of two serving workloads: the document fails, and the message says so
    other = DEPLOY.replace("cart", "basket")
    (tmp_path / "mesh.yaml").write_text(ra() + "---\n" + ap())
    result = scan(tmp_path, {"basket.yaml": other}, "GC601")
    [doc] = [m for p, _, m in findings(result, "GC601", tmp_path) if p == "openapi.yaml"]
    assert doc.endswith("covers some of the workloads a Service exposes in its scope, not all"), doc
    # the mesh covers every serving workload: the document passes too
    (tmp_path / "basket.yaml").unlink()
    result = scan(tmp_path, {}, "GC601")
    assert findings(result, "GC601") == []
    assert set(s for s, _ in outcomes(result, "GC601").values()) == {"pass"}
    # the document secures every operation: the workload passes without a mesh
    (tmp_path / "mesh.yaml").unlink()
    (tmp_path / "openapi.yaml").write_text(SECURED_SPEC)
    result = scan(tmp_path, {}, "GC601")
    assert findings(result, "GC601") == []


def test_exempt_paths_are_configurable(tmp_path):
    result = scan(
        tmp_path,
        {"openapi.yaml": SECURED_SPEC.replace("  /healthz:", "  /status:").replace("security: [{jwt: []}]\n", "")},
        "GC601",
        settings={"openapi-exempt-paths": ["/status"]},
    )
    assert [m.split(" has")[0] for _, _, m in findings(result, "GC601")] == ["GET /v1/basket"]


@pytest.mark.parametrize(
    "definition, ok",
    [
        ("{type: oauth2, flows: {clientCredentials: {tokenUrl: 'https://a/t', scopes: {}}}}", True),
        ("{type: openIdConnect, openIdConnectUrl: 'https://a/.well-known/openid-configuration'}", True),
        ("{type: http, scheme: Bearer, bearerFormat: JWT}", True),
        ("{type: http, scheme: bearer}", False),
        ("{type: http, scheme: basic}", False),
        ("{type: apiKey, in: header, name: Authorization, description: 'a JWT'}", False),  # 3.x has http bearer
    ],
)
def test_jwt_schemes_openapi3(tmp_path, definition, ok):
    spec = (
        UNSECURED_SPEC.replace("paths:", "security: [{s: []}]\npaths:")
        + f"components:\n  securitySchemes:\n    s: {definition}\n"
    )
    result = scan(tmp_path, {"openapi.yaml": spec}, "GC601")
    assert (findings(result, "GC601") == []) is ok


@pytest.mark.parametrize(
    "definition, ok",
    [
        ("{type: oauth2, flow: application, tokenUrl: 'https://a/t', scopes: {}}", True),
        ("{type: apiKey, in: header, name: Authorization, description: 'Bearer JWT signed by the auth service'}", True),
        ("{type: apiKey, in: header, name: Authorization}", False),
        ("{type: basic}", False),
    ],
)
def test_jwt_schemes_swagger2(tmp_path, definition, ok):
    spec = (
        "swagger: '2.0'\ninfo: {title: s, version: '1'}\nsecurity: [{s: []}]\npaths:\n  /v1/x:\n    get:\n"
        f"      responses:\n        '200': {{description: ok}}\nsecurityDefinitions:\n  s: {definition}\n"
    )
    result = scan(tmp_path, {"swagger.yaml": spec}, "GC601")
    assert (findings(result, "GC601") == []) is ok


# ------------------------------------------------------------------ GC602: mechanisms


def cronjob(
    schedule: str, extra_spec: str = "", labels: str = "{guidecheck.io/key-rotation: 'true'}", name: str = "keys"
) -> str:
    return (
        f"apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: {name}, namespace: auth, labels: {labels}}}\n"
        f'spec:\n  schedule: "{schedule}"\n'
        + textwrap.indent(extra_spec, "  ")
        + "  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: r, image: x}]}}}}\n"
    )


@pytest.mark.parametrize(
    "schedule, extra, verdict",
    [
        ("0 */12 * * *", "", "pass"),
        ("@daily", "", "pass"),
        ("@every 6h", "", "pass"),
        ("0 0 * * *", "timeZone: America/New_York\n", "fail: 1 d 1 h"),  # the autumn change-over day has 25 h
        ("0 */6 * * *", "timeZone: Europe/Madrid\n", "pass"),
        ("CRON_TZ=Europe/Madrid 0 */6 * * *", "", "fail: rejects TZ/CRON_TZ"),  # Kubernetes >= 1.27
        ("0 0 */6 * * *", "", "fail: 5 fields"),  # a seconds field is not CronJob syntax
        ("0 3 */2 * *", "", "fail: 2 d"),  # and 3 d at month ends: worst case reported
        ("0 3 * * *", "suspend: true\n", "fail: suspended"),
        ("61 3 * * *", "", "fail: cannot be used"),
        ("@reboot", "", "fail: cannot be used"),
    ],
)
def test_cronjob_worst_case(tmp_path, schedule, extra, verdict):
    result = scan(tmp_path, {"cj.yaml": cronjob(schedule, extra)}, "GC602")
    got = findings(result, "GC602")
    if verdict == "pass":
        assert got == [] and outcomes(result, "GC602")["CronJob/auth/keys"][0] == "pass"
    else:
        ((_, line, msg),) = got
        assert verdict.split(": ", 1)[1] in msg
        assert line in (5, 6)


def test_cronjob_selected_by_name_or_setting(tmp_path):
    files = {
        "a.yaml": cronjob("0 3 * * 1", labels="{}", name="jwks-rotation"),
        "b.yaml": cronjob("0 3 * * 1", labels="{}", name="report-mailer"),
        "c.yaml": cronjob("0 3 * * 1", labels="{team: sec, rotates: keys}", name="weekly"),
    }
    result = scan(tmp_path, files, "GC602", settings={"key-rotation-selectors": ["rotates=keys"]})
    got = outcomes(result, "GC602")
    assert got["CronJob/auth/jwks-rotation"][0] == "fail"
    assert got["CronJob/auth/weekly"][0] == "fail"
    assert got["CronJob/auth/report-mailer"][0] == "not_applicable"


def certificate(spec: str, name: str = "token-signing-key") -> str:
    return (
        f"apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {{name: {name}, namespace: auth}}\n"
        f"spec:\n  secretName: {name}\n  issuerRef: {{name: ca}}\n{textwrap.indent(spec, '  ')}"
    )


@pytest.mark.parametrize(
    "spec, verdict",
    [
        ("duration: 24h\nrenewBefore: 1h\n", "pass"),  # reissued after 23 h
        ("duration: 36h\nrenewBefore: 12h\n", "pass"),  # exactly 24 h
        ("duration: 36h\nrenewBefore: 11h59m\n", "fail: 1 d"),
        ("duration: 36h\n", "pass"),  # default renewBefore: a third, so 24 h
        ("duration: 48h\nrenewBeforePercentage: 50\n", "pass"),
        ("duration: 48h\nrenewBeforePercentage: 25\n", "fail: 1 d 12 h"),
        ("", "fail: 60 d"),  # cert-manager's defaults: 90 d, renewed 30 d before expiry
        ("duration: 24h\nrenewBefore: 8h\nprivateKey: {rotationPolicy: Never}\n", "fail: reuse the same private key"),
        ("duration: 12h\nrenewBefore: 12h\n", "fail: not shorter"),
        ("duration: soon\n", "fail: cannot be read"),
        ("duration: 30m\n", "fail: shorter than 1h"),
    ],
)
def test_certificate_interval(tmp_path, spec, verdict):
    result = scan(tmp_path, {"cert.yaml": certificate(spec)}, "GC602")
    got = findings(result, "GC602")
    if verdict == "pass":
        assert got == [], got
    else:
        ((_, _, msg),) = got
        assert verdict.split(": ", 1)[1] in msg, msg


def test_certificate_not_for_signing_is_not_applicable(tmp_path):
    result = scan(tmp_path, {"cert.yaml": certificate("duration: 2160h\n", name="www-tls")}, "GC602")
    assert outcomes(result, "GC602")["Certificate/auth/www-tls"][0] == "not_applicable"


def test_marker_on_the_secret_template_selects_the_mechanism(tmp_path):
    files = {
        "cert.yaml": certificate(
            "duration: 2160h\nsecretTemplate: {labels: {guidecheck.io/signing-key: 'true'}}\n", name="tokens"
        ),
        "es.yaml": external_secret(
            "refreshInterval: 48h\ntarget:\n  name: idp\n  template:\n    metadata:\n"
            "      annotations: {guidecheck.io/signing-key: 'true'}\n" + GEN,
            name="idp",
        ),
    }
    result = scan(tmp_path, files, "GC602")
    got = outcomes(result, "GC602")
    assert got["Certificate/auth/tokens"][0] == "fail" and got["ExternalSecret/auth/idp"][0] == "fail"


def external_secret(spec: str, name: str = "jwt-signing-key") -> str:
    return (
        f"apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {{name: {name}, "
        f"namespace: auth}}\nspec:\n{textwrap.indent(spec, '  ')}"
    )


GEN = "dataFrom: [{sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: g}}}]\n"


@pytest.mark.parametrize(
    "spec, verdict",
    [
        (GEN, "pass"),  # default refreshInterval 1h
        ("refreshInterval: 24h\n" + GEN, "pass"),
        ("refreshInterval: 25h\n" + GEN, "fail: 1 d 1 h"),
        ("refreshInterval: '0'\n" + GEN, "fail: disables"),
        ("refreshInterval: 1h\nrefreshPolicy: CreatedOnce\n" + GEN, "fail: CreatedOnce"),
        ("refreshInterval: 1h\ndataFrom: [{extract: {key: signing}}]\n", "fail: copies a stored secret"),
    ],
)
def test_external_secret_interval(tmp_path, spec, verdict):
    result = scan(tmp_path, {"es.yaml": external_secret(spec)}, "GC602")
    got = findings(result, "GC602")
    if verdict == "pass":
        assert got == [], got
    else:
        ((_, _, msg),) = got
        assert verdict.split(": ", 1)[1] in msg, msg


def test_key_secret_needs_a_mechanism_in_scope(tmp_path):
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: jwt-signing-key, namespace: auth}\ntype: Opaque\n"
    result = scan(tmp_path, {"s.yaml": secret}, "GC602")
    ((_, line, msg),) = findings(result, "GC602")
    assert line == 1 and "no rotation mechanism" in msg
    # an ExternalSecret in another file writes it (target name defaults to the ExternalSecret's name)
    result = scan(tmp_path, {"es.yaml": external_secret("refreshInterval: 12h\n" + GEN)}, "GC602")
    assert findings(result, "GC602") == []


# ------------------------------------------------------------------ GC602: live Secrets (metadata only)


def live_secret(meta: str) -> Target:
    doc = load_yaml("apiVersion: v1\nkind: Secret\nmetadata:\n" + textwrap.indent(textwrap.dedent(meta), "  "))[0]
    obj = doc.data
    return Target(
        kind="k8s",
        path="cluster/test/auth/secrets",
        line=1,
        ref=ObjectRef("Secret", "auth", obj["metadata"]["name"]),
        data=obj,
        origin={"source": "dump", "repo": "cluster/test"},
    )


@pytest.mark.parametrize(
    "meta, verdict",
    [
        ("name: jwt-signing-key\ncreationTimestamp: '2026-11-27T01:00:00Z'\n", "pass"),  # 11 h old
        ("name: jwt-signing-key\ncreationTimestamp: '2026-11-20T12:00:00Z'\n", "fail: 7 d"),
        # an old Secret whose data a controller rewrote 2 h ago (managedFields)
        (
            """\
     name: jwt-signing-key
     creationTimestamp: '2026-01-01T00:00:00Z'
     managedFields:
       - {manager: external-secrets, operation: Update, time: '2026-11-27T10:00:00Z', fieldsV1: {'f:data': {}}}
       - {manager: kubectl, operation: Update, time: '2026-11-27T11:00:00Z', fieldsV1: {'f:metadata': {}}}
     """,
            "pass",
        ),
        # a metadata-only update does not count as a rotation
        (
            """\
     name: jwt-signing-key
     creationTimestamp: '2026-01-01T00:00:00Z'
     managedFields:
       - {manager: kubectl, operation: Update, time: '2026-11-27T11:00:00Z', fieldsV1: {'f:metadata': {}}}
     """,
            "fail: managed",
        ),
        (
            "name: keys\nlabels: {guidecheck.io/signing-key: 'true'}\ncreationTimestamp: '2026-01-01T00:00:00Z'\n"
            "annotations: {guidecheck.io/rotated-at: '2026-11-27T06:00:00+00:00'}\n",
            "pass",
        ),
        ("name: jwt-signing-key\n", "fail: age is unknown"),
        ("name: db-password\ncreationTimestamp: '2020-01-01T00:00:00Z'\n", "not_applicable"),
    ],
)
def test_live_key_secret_age(tmp_path, meta, verdict):
    target = live_secret(meta)
    result = scan(tmp_path, {}, "GC602", extra=[target])
    status, _ = outcomes(result, "GC602")[str(target.ref)]
    got = findings(result, "GC602")
    if verdict in ("pass", "not_applicable"):
        assert status == verdict and got == []
    else:
        ((path, line, msg),) = got
        assert (path, line) == ("cluster/test/auth/secrets", 1)
        want = verdict.split(": ", 1)[1]
        assert want in msg or (want == "managed" and "creationTimestamp" in msg), msg


def test_live_secret_message_never_shows_data(tmp_path):
    target = live_secret("name: jwt-signing-key\ncreationTimestamp: '2026-11-01T00:00:00Z'\n")
    target.data["data"] = {"key.pem": "U0VDUkVULUNBTkFSWQ=="}  # a dump that kept values: never read
    result = scan(tmp_path, {}, "GC602", extra=[target])
    ((_, _, msg),) = findings(result, "GC602")
    assert "U0VDUkVU" not in msg and "26 d" in msg


@pytest.mark.parametrize(
    "text",
    [
        cronjob("0 3 * * *", "timeZone: Mars/Olympus\n"),
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: key-rotation}\nspec: {schedule: 5, suspend: yes}\n",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: key-rotation}\nspec: []\n",
        certificate("duration: 5\nrenewBeforePercentage: x\nprivateKey: []\n"),
        external_secret("refreshInterval: [1]\ndataFrom: {a: 1}\ntarget: 5\n"),
        external_secret("refreshInterval: 1h\ndataFrom: [5, {sourceRef: []}, {sourceRef: {generatorRef: {}}}]\n"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: jwks, labels: [], annotations: 5}\n",
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p}\nspec: {rules: [5, {from: x}]}\n",
    ],
)
def test_odd_objects_never_crash(tmp_path, text):
    for rule in ("GC601", "GC602"):
        scan(tmp_path, {"odd.yaml": text, "app.yaml": DEPLOY}, rule, strict=False)  # asserts nothing is incomplete


def test_live_secret_odd_metadata_never_crashes(tmp_path):
    target = live_secret(
        "name: jwt-signing-key\ncreationTimestamp: 5\nannotations: {guidecheck.io/rotated-at: [1]}\n"
        "managedFields: [5, {fieldsV1: 3}, {fieldsV1: {'f:data': {}}, time: yesterday}]\n"
    )
    result = scan(tmp_path, {}, "GC602", extra=[target])
    ((_, _, msg),) = findings(result, "GC602")
    assert "age is unknown" in msg


def test_workloads_exposed_only_for_metrics_are_not_applicable(tmp_path):
    exporter = DEPLOY.replace("ports: [{port: 80}]", "ports: [{name: http-metrics, port: 8080}, {port: 9100}]")
    result = scan(tmp_path, {"app.yaml": exporter}, "GC601")
    assert outcomes(result, "GC601")["Deployment/shop/cart"][0] == "not_applicable"
    result = scan(
        tmp_path, {"app.yaml": exporter.replace("{port: 9100}", "{port: 9100}, {name: api, port: 80}")}, "GC601"
    )
    assert outcomes(result, "GC601")["Deployment/shop/cart"][0] == "fail"


@pytest.mark.parametrize(
    "ports, applies",
    [
        # tekton's controllers: metrics, pprof and the probes' port behind one Service
        ("[{name: http-metrics, port: 9090}, {name: http-profiling, port: 8008}, {name: probes, port: 8080}]", False),
        ("[{name: healthz, port: 8081}, {name: pprof, port: 6060}]", False),
        ("[{name: http-metrics, port: 9090}, {name: http, port: 8080}]", True),
    ],
)
def test_a_service_for_metrics_health_and_profiling_only_receives_no_calls(tmp_path, ports, applies):
    app = DEPLOY.replace("ports: [{port: 80}]", f"ports: {ports}")
    result = scan(tmp_path, {"app.yaml": app}, "GC601")
    assert outcomes(result, "GC601")["Deployment/shop/cart"][0] == ("fail" if applies else "not_applicable")


def test_a_service_named_for_metrics_is_exposed_for_metrics(tmp_path):
    """kubebuilder's controller-manager-metrics-service serves the manager's metrics on a port named https."""
    named = DEPLOY.replace(
        "metadata: {name: cart, namespace: shop}\nspec:\n  selector: {app: cart}",
        ("metadata: {name: cart-metrics-service, namespace: shop}\nspec:\n  selector: {app: cart}"),
    ).replace("ports: [{port: 80}]", "ports: [{name: https, port: 8443}]")
    result = scan(tmp_path, {"app.yaml": named}, "GC601")
    assert outcomes(result, "GC601")["Deployment/shop/cart"][0] == "not_applicable"
    for other in ("cart-metricsx", "metrics-api"):
        result = scan(tmp_path, {"app.yaml": named.replace("cart-metrics-service", other)}, "GC601")
        assert outcomes(result, "GC601")["Deployment/shop/cart"][0] == "fail", other


def test_a_service_of_webhook_ports_serves_the_kube_apiserver(tmp_path):
    """spark-on-k8s-operator registers its admission webhook at run time: only its Service, port named webhook,
    is in the files."""
    hook = DEPLOY.replace("ports: [{port: 80}]", "ports: [{name: webhook, port: 443, targetPort: 8080}]")
    result = scan(tmp_path, {"app.yaml": hook}, "GC601")
    assert outcomes(result, "GC601")["Deployment/shop/cart"][0] == "not_applicable"
    mixed = hook.replace("ports: [{name: webhook", "ports: [{name: http, port: 80}, {name: webhook")
    result = scan(tmp_path, {"app.yaml": mixed}, "GC601")
    assert outcomes(result, "GC601")["Deployment/shop/cart"][0] == "fail"


@pytest.mark.parametrize(
    "container_port, service_port, applies",
    [
        ("{name: webhooks, containerPort: 9443}", "{port: 9443}", False),  # crossplane's: unnamed, by number
        ("{name: webhook-server, containerPort: 9443}", "{port: 443, targetPort: webhook-server}", False),
        ("{name: http, containerPort: 9443}", "{port: 9443}", True),  # a port of the service's own
        ("{name: webhooks, containerPort: 9443}", "{port: 80, targetPort: 8080}", True),  # leads elsewhere
    ],
)
def test_a_service_leading_to_a_webhook_container_port_serves_the_kube_apiserver(
    tmp_path, container_port, service_port, applies
):
    """crossplane registers its webhooks at run time behind a Service whose one port is unnamed: the container
    port it leads to is named webhooks."""
    hook = DEPLOY.replace("image: x}", f"image: x, ports: [{container_port}]}}").replace(
        "ports: [{port: 80}]", f"ports: [{service_port}]"
    )
    assert container_port in hook and service_port in hook
    result = scan(tmp_path, {"app.yaml": hook}, "GC601")
    assert outcomes(result, "GC601")["Deployment/shop/cart"][0] == ("fail" if applies else "not_applicable")


def test_operations_that_admit_the_same_non_jwt_scheme_get_one_finding(tmp_path):
    """signoz's 194 operations each say `security: [{api_key: [...]}, {tokenizer: [...]}]`: one design, one
    finding at the first operation, listing the others; an operation with another scheme is its own."""
    op = "    {m}:\n      security: [{{api_key: []}}, {{jwt: []}}]\n      responses:\n        '200': {{description: ok}}\n"
    spec = (
        "openapi: 3.0.3\ninfo: {title: cart, version: '1'}\npaths:\n  /v1/a:\n"
        + op.format(m="get")
        + op.format(m="post")
        + "  /v1/b:\n"
        + op.format(m="get")
        + "  /v1/c:\n    get:\n      security: [{basic: []}]\n      responses:\n        '200': {description: ok}\n"
        + "components:\n  securitySchemes:\n    api_key: {type: apiKey, in: header, name: X-Key}\n"
        "    basic: {type: http, scheme: basic}\n    jwt: {type: http, scheme: bearer, bearerFormat: JWT}\n"
    )
    result = scan(tmp_path, {"openapi.yaml": spec}, "GC601")
    got = findings(result, "GC601", tmp_path)
    assert [(p, line) for p, line, _ in got] == [("openapi.yaml", 6), ("openapi.yaml", 20)], got
    assert got[0][2].startswith(
        "3 operations (health and metrics excepted) can be called with api_key alone, which is not a JWT scheme "
        "(http bearer with bearerFormat: JWT, openIdConnect or oauth2): GET /v1/a (line 6), POST /v1/a (line 10), "
        "GET /v1/b (line 15);"
    ), got[0][2]
    assert got[1][2].startswith("GET /v1/c can be called with basic alone"), got[1][2]


def test_a_document_without_any_security_gets_one_finding(tmp_path):
    spec = UNSECURED_SPEC.replace(
        "  /healthz:", "  /v1/orders:\n    post:\n      responses:\n        '201': {description: ok}\n  /healthz:"
    )
    result = scan(tmp_path, {"openapi.yaml": spec}, "GC601")
    [(path, line, msg)] = findings(result, "GC601", tmp_path)
    assert (path, line) == ("openapi.yaml", 3)
    assert msg.startswith(
        "2 operations (health and metrics excepted) have no security requirement of their own and "
        "the document has no global security requirement"
    )


def test_an_inherited_global_requirement_is_reported_once_at_its_line(tmp_path):
    spec = (
        UNSECURED_SPEC.replace("paths:", "security: [{basic: []}]\npaths:").replace(
            "  /healthz:",
            "  /v1/orders:\n    post:\n      security: [{basic: []}]\n      responses:\n"
            "        '201': {description: ok}\n  /v1/items:\n    get:\n      responses:\n        '200': {description: ok}\n"
            "  /healthz:",
        )
        + "components:\n  securitySchemes:\n    basic: {type: http, scheme: basic}\n"
    )
    result = scan(tmp_path, {"openapi.yaml": spec}, "GC601")
    got = findings(result, "GC601", tmp_path)
    assert [(p, line) for p, line, _ in got] == [("openapi.yaml", 3), ("openapi.yaml", 11)]
    assert got[0][2].startswith(
        "2 operations (health and metrics excepted) have no security requirement of their "
        "own and the global security requirement can be called with basic alone"
    )
    assert got[1][2].startswith("POST /v1/orders can be called with basic alone")


def test_a_tls_secret_named_for_a_jwks_server_is_no_signing_key(tmp_path):
    """envoy gateway's e2e data: remote-jwks-server-secret is the TLS certificate of the server that publishes
    the JWKS (a JSON document), not the key set; a TLS Secret named as a signing key still is one."""
    tls = "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: auth}}\ntype: kubernetes.io/tls\n"
    r = scan(tmp_path, {"a.yaml": tls.format(name="remote-jwks-server-secret")}, "GC602")
    assert findings(r, "GC602") == [] and outcomes(r, "GC602")["Secret/auth/remote-jwks-server-secret"][0] == (
        "not_applicable"
    )
    opaque = tls.format(name="jwks-keys").replace("kubernetes.io/tls", "Opaque")
    r = scan(tmp_path / "o", {"a.yaml": opaque}, "GC602")
    assert len(findings(r, "GC602")) == 1
    r = scan(tmp_path / "s", {"a.yaml": tls.format(name="jwt-signing-key")}, "GC602")
    assert len(findings(r, "GC602")) == 1
