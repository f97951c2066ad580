"""Service authentication with signed JWTs (GC601, 6.a) and signing-key rotation (GC602, 6.b).

GC601 has two kinds of evidence, and either covers a service:

* its OpenAPI document requires a JWT security scheme on every operation
  (health and metrics paths excepted), or
* the mesh enforces JWTs on its pods: an Istio ``RequestAuthentication`` with
  ``jwtRules`` plus ``AuthorizationPolicy`` rules that require a request
  principal, both covering the pods.

So an OpenAPI document that does not declare JWT security passes when every
long-running workload exposed by a Service in its scope is covered by the mesh
(the mesh enforces what the document does not say), and a workload without
mesh coverage passes when its scope's OpenAPI documents secure every
operation with JWTs.

GC602 judges each rotation mechanism it can identify (a CronJob marked as key
rotation, a cert-manager Certificate or an ExternalSecret for a signing key),
each manifest Secret marked as a signing key (is something rotating it?), and
each live Secret marked as a signing key (its age, from metadata only).
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from guidecheck import crossref
from guidecheck.checks import NotApplicable, workload_object
from guidecheck.checks import settings as settings_of
from guidecheck.checks.exposure import SERVING_KINDS, apiserver_backend, datagram_only
from guidecheck.checks.exposure import metrics_only as _metrics_only
from guidecheck.checks.exposure import non_http as _non_http
from guidecheck.checks.openapi import exempt_path, operations, spec_of
from guidecheck.model import Hit, Target
from guidecheck.parsers import k8s
from guidecheck.parsers.yaml import key_line, line_of

# ======================================================================= GC601


def jwt_schemes(spec) -> dict[str, str]:
    """Security scheme name -> description, for the schemes that carry signed JWTs."""
    if spec.family == "2.0":
        defs = spec.data.get("securityDefinitions")
    else:
        comps = spec.data.get("components")
        defs = comps.get("securitySchemes") if isinstance(comps, dict) else None
    out: dict[str, str] = {}
    if not isinstance(defs, dict):
        return out
    for name, raw in defs.items():
        scheme, _ = spec.deref(raw, spec.abspath)
        if not isinstance(scheme, dict):
            continue
        typ = str(scheme.get("type", "")).lower()
        if (
            typ == "http"
            and str(scheme.get("scheme", "")).lower() == "bearer"
            and str(scheme.get("bearerFormat", "")).upper() == "JWT"
        ):
            out[name] = "HTTP bearer JWT"
        elif typ == "openidconnect":
            out[name] = "OpenID Connect"
        elif typ == "oauth2":
            out[name] = "OAuth 2"
        elif (
            spec.family == "2.0"
            and typ == "apikey"
            and str(scheme.get("in", "")).lower() == "header"
            and str(scheme.get("name", "")).lower() == "authorization"
            and _mentions_jwt(scheme)
        ):
            out[name] = "Authorization header bearer JWT"
    return out


def _mentions_jwt(scheme: dict) -> bool:
    texts = [scheme.get("description"), scheme.get("x-bearerFormat"), scheme.get("x-bearer-format")]
    return any(isinstance(t, str) and "jwt" in t.lower() for t in texts)


def _unsecured_operations(spec, ctx) -> list[tuple[str, int, str, bool]]:
    """(file, line, message, own) for each operation not requiring a JWT scheme; ``own`` is False when the
    operation inherits the global requirement (or the lack of one)."""
    schemes = jwt_schemes(spec)
    global_sec = spec.data.get("security")
    out = []
    for api_path, method, op, item, ab in operations(spec):
        if exempt_path(api_path, ctx):
            continue
        where = f"{method.upper()} {api_path}"
        own = "security" in op
        if own:
            sec, line = op.get("security"), key_line(op, "security")
        else:
            sec, line = global_sec, key_line(item, method, line_of(op))
        problem = _requirement_problem(sec, schemes, own)
        if problem:
            out.append((spec.display(ab), line, f"{where} {problem}", own))
    return out


def _requirement_problem(sec: Any, schemes: dict[str, str], own: bool) -> str | None:
    if sec is None:
        return "has no security requirement (neither its own nor a global one)"
    if not isinstance(sec, list) or not sec:
        return "explicitly requires no security (security: [])" if own else "has an empty global security list"
    for alt in sec:
        if not isinstance(alt, dict) or not alt:
            return "allows anonymous calls (an empty {} alternative in security)"
        if not any(name in schemes for name in alt):
            names = ", ".join(sorted(str(n) for n in alt))[:120]
            return (
                f"can be called with {names} alone, which is not a JWT scheme (http bearer with bearerFormat: "
                "JWT, openIdConnect or oauth2)"
            )
    return None


def _mesh_covered(workload: Target, ctx) -> tuple[bool, str]:
    """Whether Istio enforces a JWT on the workload's pods (and if not, what is missing)."""
    obj = workload.data
    root_ns = str(ctx.settings["mesh-root-namespace"])
    pod_labels = k8s.pod_labels(obj)

    def selecting(kind: str) -> list[Target]:
        """The Istio policies of ``kind`` in scope that act on the workload's pods."""
        candidates = _policy_index(ctx).get((crossref.scope(workload), kind))
        if candidates is None:
            return []
        return [
            t
            for _, t in candidates.seen_candidates(workload, ctx, pod_labels)
            if t is not workload
            and crossref.visible(workload, t)
            and _istio(t.data)
            and _applies(t.data, obj, pod_labels, root_ns)
        ]

    if not any(_has_jwt_rules(t.data) for t in selecting("RequestAuthentication")):
        return False, "no RequestAuthentication with jwtRules selects its pods"
    return _authorization_verdict(selecting("AuthorizationPolicy"), ctx)


def _policy_index(ctx) -> dict[tuple[str, str], crossref.SelectorIndex]:
    """(scope, kind) -> the Istio policies by the labels their ``selector.matchLabels`` requires.

    A policy without such a selector (namespace- or mesh-wide) is a candidate for every workload;
    gateway policies (``targetRef``) and those of other API groups act on no pods (:func:`_applies`).
    """

    def build(c) -> dict[tuple[str, str], crossref.SelectorIndex]:
        entries: dict[tuple[str, str], list[tuple[int, Target, object]]] = {}
        for kind in ("RequestAuthentication", "AuthorizationPolicy"):
            for sc, pairs in crossref.scope_kind_index(c, kind).items():
                for pos, t in pairs:
                    spec = k8s.as_map(t.data.get("spec"))
                    if not _istio(t.data) or spec.get("targetRef") or spec.get("targetRefs"):
                        continue
                    sel = k8s.get(spec, "selector", "matchLabels")
                    # sel None or {}: namespace-wide, no label required; a non-map selects nothing
                    if sel is None or isinstance(sel, dict):
                        entries.setdefault((sc, kind), []).append((pos, t, {"matchLabels": sel or {}}))
        return {key: crossref.SelectorIndex(e) for key, e in entries.items()}

    return ctx.cached("security.policy-index", build)


def _authorization_verdict(pols: list[Target], ctx) -> tuple[bool, str]:
    """Whether the AuthorizationPolicies acting on a workload's pods require a request principal on every call."""
    if any(_deny_without_principal(t.data, ctx) for t in pols):
        return True, ""
    allows = [t for t in pols if str(k8s.get(t.data, "spec", "action") or "ALLOW").upper() == "ALLOW"]
    if not any(_allow_requires(t.data) for t in allows):
        return False, (
            "no AuthorizationPolicy requires a request principal (rules from.source.requestPrincipals, "
            "or a DENY rule with notRequestPrincipals: ['*']) for its pods"
        )
    holes = [t for t in allows if _allow_hole(t.data, ctx)]
    if holes:
        names = ", ".join(sorted(crossref.name(t.data) or "?" for t in holes))
        return False, f"AuthorizationPolicy {names} also allows requests without a request principal"
    return True, ""


def _istio(obj: dict) -> bool:
    api = obj.get("apiVersion")
    return isinstance(api, str) and api.startswith("security.istio.io/")


def _applies(policy: dict, workload: dict, pod_labels: dict, root_ns: str) -> bool:
    pns, wns = crossref.namespace(policy), crossref.namespace(workload)
    if not (pns == root_ns or pns is None or wns is None or pns == wns):
        return False
    spec = k8s.as_map(policy.get("spec"))
    if spec.get("targetRef") or spec.get("targetRefs"):
        return False  # gateway / waypoint policies do not act on the pods' sidecars
    sel = k8s.get(spec, "selector", "matchLabels")
    if sel is None or sel == {}:
        return True  # namespace-wide (or mesh-wide in the root namespace)
    return isinstance(sel, dict) and k8s.selector_matches({"matchLabels": sel}, pod_labels)


def _has_jwt_rules(obj: dict) -> bool:
    rules = k8s.as_list(k8s.get(obj, "spec", "jwtRules"))
    return any(isinstance(r, dict) and (r.get("issuer") or r.get("jwksUri") or r.get("jwks")) for r in rules)


def _requires_principal(rule: dict) -> bool:
    froms = k8s.as_list(rule.get("from"))
    if not froms:
        return False
    return all(k8s.as_list(k8s.get(f, "source", "requestPrincipals")) for f in froms)


def _exempt_rule(rule: dict, ctx) -> bool:
    """A rule that only opens health/metrics paths."""
    tos = k8s.as_list(rule.get("to"))
    if not tos:
        return False
    for t in tos:
        paths = k8s.as_list(k8s.get(t, "operation", "paths"))
        if not paths or not all(isinstance(p, str) and exempt_path(p, ctx) for p in paths):
            return False
    return True


def _allow_requires(policy: dict) -> bool:
    return any(isinstance(r, dict) and _requires_principal(r) for r in k8s.as_list(k8s.get(policy, "spec", "rules")))


def _allow_hole(policy: dict, ctx) -> bool:
    return any(
        isinstance(r, dict) and not _requires_principal(r) and not _exempt_rule(r, ctx)
        for r in k8s.as_list(k8s.get(policy, "spec", "rules"))
    )


def _deny_without_principal(policy: dict, ctx) -> bool:
    if str(k8s.get(policy, "spec", "action") or "").upper() != "DENY":
        return False
    for r in k8s.as_list(k8s.get(policy, "spec", "rules")):
        if not isinstance(r, dict):
            continue
        froms = k8s.as_list(r.get("from"))
        if any("*" in k8s.as_list(k8s.get(f, "source", "notRequestPrincipals")) for f in froms):
            tos = k8s.as_list(r.get("to"))
            if not tos or all(not k8s.get(t, "operation", "paths") for t in tos):
                return True
    return False


def _serving_index(ctx) -> dict[int, bool]:
    """id(target) -> whether the mesh covers it, for every long-running workload a Service exposes (once per scan)."""

    def build(c) -> dict[int, bool]:
        out: dict[int, bool] = {}
        for t in c.of_kind("k8s"):
            obj = t.data
            if not isinstance(obj, dict) or obj.get("kind") not in SERVING_KINDS or not k8s.is_long_running(obj):
                continue
            if _non_http(obj, c):
                continue  # a database, broker or cache: no HTTP call to carry a JWT
            services = crossref.services_for(t, c)
            if services and not all(
                _metrics_only(sv.data, c) or apiserver_backend(sv.data, c, obj) or datagram_only(sv.data)
                for sv in services
            ):
                out[id(t)] = _mesh_covered(t, c)[0]
        return out

    return ctx.cached("security.serving-workloads", build)


def _serving_workloads(scope_target: Target, ctx) -> list[Target]:
    """Long-running workloads in a target's scope that a Service exposes."""
    index = _serving_index(ctx)

    def build(c) -> dict[str, list[Target]]:
        out: dict[str, list[Target]] = {}
        for t in c.of_kind("k8s"):
            if id(t) in index:
                out.setdefault(crossref.scope(t), []).append(t)
        return out

    # by scope once, not a walk of every object per OpenAPI document
    return ctx.cached("security.serving-by-scope", build).get(crossref.scope(scope_target), [])


def jwt_authentication(target: Target, ctx) -> Iterator[Hit]:
    """GC601 on an OpenAPI document or a workload."""
    if target.kind == "openapi":
        yield from _openapi_jwt(target, ctx)
    else:
        yield from _workload_jwt(target, ctx)


def _openapi_jwt(target: Target, ctx) -> Iterator[Hit]:
    spec = spec_of(target)
    if spec.family is None:
        raise NotApplicable(f"unsupported {spec.keyword} version {spec.version!r} (see GC902)")
    if not any(True for _ in operations(spec)):
        raise NotApplicable("the document has no operations")
    problems = _unsecured_operations(spec, ctx)
    if not problems:
        return
    workloads = _serving_workloads(target, ctx)
    index = _serving_index(ctx)
    if workloads and all(index[id(w)] for w in workloads):
        return  # the mesh enforces JWTs on every pod that serves this API
    if workloads:
        # which pods serve the document is not known: any workload a Service exposes in its scope may. No count in
        # the message: a finding keeps its fingerprint (and its baseline entry) when a workload is added
        if any(index[id(w)] for w in workloads):
            suffix = (
                "; and an Istio JWT policy (RequestAuthentication + AuthorizationPolicy) covers some of the workloads "
                "a Service exposes in its scope, not all"
            )
        else:
            suffix = (
                "; and no Istio JWT policy (RequestAuthentication + AuthorizationPolicy) covers the workloads a "
                "Service exposes in its scope"
            )
    else:
        suffix = "; and no workload exposed by a Service is in this scan for a mesh JWT policy to cover"
    inherited = [p for p in problems if not p[3]]
    if len(inherited) > 1:
        # one finding where it is fixed (the global requirement), not one per operation that inherits it
        global_sec = spec.data.get("security")
        problem = _requirement_problem(global_sec, jwt_schemes(spec), False)
        if global_sec is None:
            line, what = key_line(spec.data, "paths", target.line), "the document has no global security requirement"
        else:
            line, what = key_line(spec.data, "security", target.line), f"the global security requirement {problem}"
        yield Hit(
            f"{len(inherited)} operations (health and metrics excepted) have no security requirement of their "
            f"own and {what}" + suffix,
            line=line,
        )
        problems = [p for p in problems if p[3]]
    # operations of their own requirement that all admit the same non-JWT scheme (signoz's 194 operations,
    # `security: [{api_key: [...]}, {tokenizer: [...]}]` each): one defect of the document's design, one finding,
    # at the first of them, listing the others
    alike: dict[str, list[tuple[str, int, str, bool]]] = {}
    for p in sorted(problems):
        m = _NOT_JWT.search(p[2])
        if m:
            alike.setdefault(m.group(0), []).append(p)
    for what, group in alike.items():
        if len(group) < 2:
            continue
        first = group[0]
        shown = [f"{g[2][: g[2].index(what)].strip()} (line {g[1]})" for g in group[:_OPS_SHOWN]]
        more = f" and {len(group) - _OPS_SHOWN} more" if len(group) > _OPS_SHOWN else ""
        yield Hit(
            f"{len(group)} operations (health and metrics excepted) {what}: {', '.join(shown)}{more}" + suffix,
            line=first[1],
            path=None if first[0] == target.path else first[0],
            extra={
                "operations": [
                    {"path": g[0], "line": g[1], "operation": g[2][: g[2].index(what)].strip()} for g in group
                ]
            },
        )
        problems = [p for p in problems if p not in group]
    for path, line, message, _own in sorted(problems):
        yield Hit(message + suffix, line=line, path=None if path == target.path else path)


# the problem of an operation whose requirement admits a scheme that carries no JWT (:func:`_requirement_problem`)
_NOT_JWT = re.compile(r"can be called with .* alone, which is not a JWT scheme \(.*\)$")
_OPS_SHOWN = 3


def _scope_specs_secure(target: Target, ctx) -> bool | None:
    """True if every OpenAPI document of the target's scope secures all its operations with JWTs; None if none."""
    return _scope_insecure_spec(target, ctx)[0]


def _scope_insecure_spec(target: Target, ctx) -> tuple[bool | None, str | None]:
    """(:func:`_scope_specs_secure`, the first document of the scope that does not), judged once per scope."""
    return ctx.memoized("security.scope-specs-secure", crossref.scope(target), lambda: _specs_secure(target, ctx))


def _specs_secure(target: Target, ctx) -> tuple[bool | None, str | None]:
    specs = [t for t in ctx.of_kind("openapi") if (t.origin or {}).get("repo", "") == crossref.scope(target)]
    if not specs:
        return None, None
    for t in specs:
        spec = t.data
        if spec.family is None or _unsecured_operations(spec, ctx):
            return False, t.path
    return True, None


JWT_ANNOTATION = "guidecheck.io/jwt-verified-in-code"


def _workload_jwt(target: Target, ctx) -> Iterator[Hit]:
    obj = workload_object(target, ctx)
    if obj.get("kind") not in SERVING_KINDS or not k8s.is_long_running(obj):
        raise NotApplicable("not a long-running workload that serves calls")
    non_http = _non_http(obj, ctx)
    if non_http:
        raise NotApplicable(
            f"speaks no HTTP a JWT could ride on: {non_http} (settings non-http-images, non-http-ports)"
        )
    if id(target) not in _serving_index(ctx):
        raise NotApplicable(
            "no Service exposes its pods (other than for metrics, to the kube-apiserver as a webhook or "
            "aggregated API, or on UDP/SCTP ports only)"
        )
    covered, why = _mesh_covered(target, ctx)
    if covered:
        return
    secure = _scope_specs_secure(target, ctx)
    if secure:
        return
    documented = _documented_in_code(obj)
    if documented:
        return
    # the documents of the workload's scope (its repository): which one describes this workload is not known, so the
    # message names the one that fails (ftgo's CDC service is judged with the restaurant service's swagger)
    openapi = (
        "an OpenAPI document of this service requiring a JWT security scheme on every operation (none in its scope)"
        if secure is None
        else "every OpenAPI document in its scope requiring a JWT security scheme on every operation "
        f"({_scope_insecure_spec(target, ctx)[1] or 'one'} does not)"
    )
    annotation = "" if documented is None else f" ({JWT_ANNOTATION} is empty: say where the code verifies them)"
    yield Hit(
        f"no evidence that calls to its pods must carry a signed JWT: looked for an Istio RequestAuthentication "
        f"with jwtRules and an AuthorizationPolicy requiring a request principal for its pods ({why}), and for "
        f"{openapi}; if the service verifies JWTs in its own code, document it with the annotation "
        f"{JWT_ANNOTATION}{annotation}{crossref.looked_in(target, ctx)}",
        line=target.line,
    )


def _documented_in_code(obj: dict) -> bool | None:
    """The workload (or its pod template) documents that its code verifies JWTs: True with a non-empty
    description, False when the annotation is empty, None without it."""
    for meta in (obj.get("metadata"), k8s.get(obj, "spec", "template", "metadata")):
        ann = meta.get("annotations") if isinstance(meta, dict) else None
        if isinstance(ann, dict) and JWT_ANNOTATION in ann:
            value = ann.get(JWT_ANNOTATION)
            return isinstance(value, str) and bool(value.strip())
    return None


# ======================================================================= GC602


def _marked(obj: dict, selectors: Any) -> bool:
    labels, ann = k8s.labels(obj), k8s.annotations(obj)
    for sel in selectors or ():
        if not isinstance(sel, str) or not sel:
            continue
        key, eq, value = sel.partition("=")
        for m in (labels, ann):
            v = m.get(key)
            if v is None:
                continue
            if eq:
                if str(v) == value:
                    return True
            elif str(v).lower() not in ("false", "no", "0", "off", ""):
                return True
    return False


def _name_matches(name: Any, patterns: Any) -> bool:
    return isinstance(name, str) and any(
        isinstance(p, str) and fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns or ()
    )


def _is_rotation(obj: dict, ctx) -> bool:
    return _marked(obj, ctx.settings.get("key-rotation-selectors")) or _name_matches(
        crossref.name(obj), ctx.settings.get("key-rotation-name-patterns")
    )


def _is_signing_key(obj: dict, ctx, *names: Any) -> bool:
    selectors = ctx.settings.get("signing-key-selectors")
    if _marked(obj, selectors):
        return True
    # the labels/annotations a Certificate (spec.secretTemplate) or an ExternalSecret (spec.target.template.metadata)
    # puts on the Secret it writes
    for tmpl in (k8s.get(obj, "spec", "secretTemplate"), k8s.get(obj, "spec", "target", "template", "metadata")):
        if isinstance(tmpl, dict) and _marked({"metadata": tmpl}, selectors):
            return True
    patterns = ctx.settings.get("signing-key-name-patterns")
    if obj.get("kind") == "Secret" and obj.get("type") == "kubernetes.io/tls":
        # a JWKS is JSON: a TLS Secret named for one is the certificate of the server that publishes it (envoy
        # gateway's remote-jwks-server-secret), not the key set; its other patterns still count
        patterns = [p for p in patterns or () if not (isinstance(p, str) and "jwks" in p.lower())]
    return any(_name_matches(n, patterns) for n in (crossref.name(obj),) + names)


def _limit(ctx) -> _dt.timedelta:
    hours = ctx.settings["key-rotation-hours"]
    try:
        return _dt.timedelta(hours=float(hours))
    except (TypeError, ValueError):  # a value of the wrong type (settings built in code)
        return _dt.timedelta(hours=float(settings_of.default("key-rotation-hours")))


def key_rotation(target: Target, ctx) -> Iterator[Hit]:
    """GC602 on one Kubernetes object."""
    obj = target.data
    if not isinstance(obj, dict):
        raise NotApplicable("not an object")
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    api = api_version if isinstance(api_version, str) else ""
    if kind == "CronJob":
        yield from _cronjob(target, obj, ctx)
    elif kind == "Certificate" and api.startswith("cert-manager.io/"):
        yield from _certificate(target, obj, ctx)
    elif kind == "ExternalSecret" and api.startswith("external-secrets.io/"):
        yield from _external_secret(target, obj, ctx)
    elif kind == "Secret" and api == "v1":
        yield from _secret(target, obj, ctx)
    else:
        raise NotApplicable(f"{kind} is not a key rotation mechanism or a key Secret")


def rotation_interval(target: Target, ctx) -> tuple[_dt.timedelta | None, str, int]:
    """Worst-case rotation interval of a mechanism object, a description, and the line to report at.

    ``None`` with a reason when the object does not rotate anything periodically."""
    obj = target.data
    kind = obj.get("kind")
    if kind == "CronJob":
        return _cron_interval(obj, target)
    if kind == "Certificate":
        return _cert_interval(obj, target)
    return _es_interval(obj, target)


def _cron_interval(obj: dict, target: Target):
    from guidecheck.parsers import cron

    spec = k8s.as_map(obj.get("spec"))
    line = k8s.line(spec, "schedule", target.line)
    if spec.get("suspend") is True:
        return None, "the CronJob is suspended (spec.suspend: true)", k8s.line(spec, "suspend", target.line)
    tz = spec.get("timeZone") if isinstance(spec.get("timeZone"), str) else None
    raw: Any = spec.get("schedule")  # cron.parse reports a schedule that is not a string
    if isinstance(raw, str):
        body = " ".join(raw.split())
        if re.match(r"^(?:CRON_TZ|TZ)=", body):
            return (
                None,
                (
                    f"its schedule {body!r} is invalid: Kubernetes (1.27 and later) rejects TZ/CRON_TZ in "
                    "spec.schedule; set spec.timeZone"
                ),
                line,
            )
        if not body.startswith("@") and len(body.split(" ")) != 5:
            return (
                None,
                (
                    f"its schedule {body!r} is invalid: a CronJob schedule has 5 fields (minute hour "
                    "day-of-month month day-of-week)"
                ),
                line,
            )
    try:
        sched = cron.parse(raw, tz)
        gap = sched.worst_gap()
    except cron.CronError as exc:
        return None, f"its schedule cannot be used: {exc}", line
    return gap, f"schedule {sched.describe()!r}", line


CERT_DEFAULT_DURATION = _dt.timedelta(days=90)


def _cert_interval(obj: dict, target: Target):
    from guidecheck.parsers import cron

    spec = k8s.as_map(obj.get("spec"))
    line = target.line
    if str(k8s.get(spec, "privateKey", "rotationPolicy") or "Always") == "Never":
        return (
            None,
            "privateKey.rotationPolicy is Never: renewals reuse the same private key",
            k8s.line(k8s.as_map(spec.get("privateKey")), "rotationPolicy", line),
        )
    try:
        duration = (
            cron.parse_go_duration(spec["duration"]) if isinstance(spec.get("duration"), str) else CERT_DEFAULT_DURATION
        )
        if isinstance(spec.get("renewBefore"), str):
            before = cron.parse_go_duration(spec["renewBefore"])
        elif isinstance(spec.get("renewBeforePercentage"), (int, float)) and not isinstance(
            spec.get("renewBeforePercentage"), bool
        ):
            before = duration * (float(spec["renewBeforePercentage"]) / 100.0)
        else:
            before = duration / 3
    except cron.CronError as exc:
        return None, f"its duration cannot be read: {exc}", line
    if duration < _dt.timedelta(hours=1):
        return None, "duration is shorter than 1h (cert-manager rejects it)", k8s.line(spec, "duration", line)
    if before >= duration:
        return (
            None,
            "renewBefore is not shorter than duration (cert-manager rejects it)",
            k8s.line(spec, "renewBefore", line),
        )
    where = k8s.line(spec, "duration", line) if "duration" in spec else line
    return (
        duration - before,
        f"duration {cron.format_duration(duration)} - renewBefore {cron.format_duration(before)}",
        where,
    )


def _es_interval(obj: dict, target: Target):
    from guidecheck.parsers import cron

    spec = k8s.as_map(obj.get("spec"))
    gens = [d for d in k8s.as_list(spec.get("dataFrom")) if k8s.get(d, "sourceRef", "generatorRef")]
    if not gens:
        return (
            None,
            (
                "it copies a stored secret (no dataFrom[].sourceRef.generatorRef): refreshing it does not "
                "create a new key"
            ),
            target.line,
        )
    policy = spec.get("refreshPolicy")
    if policy in ("CreatedOnce", "OnChange"):
        return (
            None,
            f"refreshPolicy {policy} never regenerates the key periodically",
            k8s.line(spec, "refreshPolicy", target.line),
        )
    raw = spec.get("refreshInterval", "1h")
    line = k8s.line(spec, "refreshInterval", target.line)
    if str(raw).strip() in ("0", "0s", "0m", "0h"):
        return None, "refreshInterval 0 disables refreshing", line
    try:
        interval = cron.parse_go_duration(str(raw))
    except cron.CronError as exc:
        return None, f"refreshInterval cannot be read: {exc}", line
    if interval <= _dt.timedelta(0):
        return None, "refreshInterval 0 disables refreshing", line
    return interval, f"refreshInterval {raw}", line


def _judge(target: Target, ctx, what: str) -> Iterator[Hit]:
    from guidecheck.parsers import cron

    gap, desc, line = rotation_interval(target, ctx)
    limit = _limit(ctx)
    if gap is None:
        yield Hit(f"{what} does not rotate the key periodically: {desc}", line=line)
    elif gap > limit:
        yield Hit(
            f"{what} rotates the key at worst every {cron.format_duration(gap)} ({desc}), more than "
            f"{cron.format_duration(limit)} (settings key-rotation-hours)",
            line=line,
        )


def _cronjob(target: Target, obj: dict, ctx) -> Iterator[Hit]:
    if not _is_rotation(obj, ctx):
        raise NotApplicable("not marked as key rotation (settings key-rotation-selectors, key-rotation-name-patterns)")
    yield from _judge(target, ctx, "key-rotation CronJob")


def _certificate(target: Target, obj: dict, ctx) -> Iterator[Hit]:
    secret = k8s.get(obj, "spec", "secretName")
    if not (_is_rotation(obj, ctx) or _is_signing_key(obj, ctx, secret)):
        raise NotApplicable("not a signing-key Certificate (settings signing-key-selectors, signing-key-name-patterns)")
    yield from _judge(target, ctx, "signing-key Certificate")


def _external_secret(target: Target, obj: dict, ctx) -> Iterator[Hit]:
    secret = k8s.get(obj, "spec", "target", "name") or crossref.name(obj)
    if not (_is_rotation(obj, ctx) or _is_signing_key(obj, ctx, secret)):
        raise NotApplicable(
            "not a signing-key ExternalSecret (settings signing-key-selectors, signing-key-name-patterns)"
        )
    yield from _judge(target, ctx, "signing-key ExternalSecret")


def _secret(target: Target, obj: dict, ctx) -> Iterator[Hit]:
    if not _is_signing_key(obj, ctx):
        raise NotApplicable("not a signing-key Secret (settings signing-key-selectors, signing-key-name-patterns)")
    source = (target.origin or {}).get("source")
    if source in ("cluster", "dump"):
        yield from _live_secret(target, obj, ctx)
        return
    name = crossref.name(obj)
    limit = _limit(ctx)
    mechanisms = []
    for t in crossref.related(target, ctx, kinds=("CronJob", "Certificate", "ExternalSecret")):
        o = t.data
        if not crossref.same_namespace(obj, o):
            continue
        kind = o.get("kind")
        if kind == "Certificate" and k8s.get(o, "spec", "secretName") == name:
            mechanisms.append(t)
        elif kind == "ExternalSecret" and (k8s.get(o, "spec", "target", "name") or crossref.name(o)) == name:
            mechanisms.append(t)
        elif kind == "CronJob" and _is_rotation(o, ctx):
            mechanisms.append(t)
    if not mechanisms:
        yield Hit(
            f"signing-key Secret {name!r} has no rotation mechanism: no key-rotation CronJob, cert-manager "
            "Certificate (secretName) or generator-backed ExternalSecret (target.name) in scope writes it"
            f"{crossref.looked_in(target, ctx)}",
            line=target.line,
        )
        return
    ok = []
    for m in mechanisms:
        gap, _desc, _line = rotation_interval(m, ctx)
        if gap is not None and gap <= limit:
            ok.append(m)
    if not ok:
        names = ", ".join(sorted(f"{m.data.get('kind')}/{crossref.name(m.data)}" for m in mechanisms))
        yield Hit(
            f"signing-key Secret {name!r} is rotated by {names}, but none rotates it at least every "
            f"{ctx.settings['key-rotation-hours']} h (see that object's finding)",
            line=target.line,
        )


def _parse_time(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        t = value
    elif isinstance(value, str) and value.strip():
        try:
            t = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


def last_rotation(obj: dict, ctx) -> tuple[_dt.datetime | None, str]:
    """The latest evidence of a key Secret's (re)creation, from metadata only, and where it came from.

    creationTimestamp; the annotations in settings key-rotated-at-annotations; and managedFields entries that
    wrote the Secret's data (each controller update of ``data`` records its time there)."""
    meta = k8s.as_map(obj.get("metadata"))
    best: tuple[_dt.datetime | None, str] = (_parse_time(meta.get("creationTimestamp")), "creationTimestamp")
    if best[0] is None:
        best = (None, "")
    ann = k8s.annotations(obj)
    for key in ctx.settings.get("key-rotated-at-annotations") or ():
        t = _parse_time(ann.get(key)) if isinstance(key, str) else None
        if t is not None and (best[0] is None or t > best[0]):
            best = (t, f"annotation {key}")
    for mf in k8s.as_list(meta.get("managedFields")):
        if not isinstance(mf, dict):
            continue
        fields = k8s.as_map(mf.get("fieldsV1"))
        if not any(k in fields for k in ("f:data", "f:stringData")):
            continue
        t = _parse_time(mf.get("time"))
        if t is not None and (best[0] is None or t > best[0]):
            best = (t, f"managedFields ({str(mf.get('manager') or '?')[:40]} wrote data)")
    return best


def _live_secret(target: Target, obj: dict, ctx) -> Iterator[Hit]:
    from guidecheck.parsers import cron

    when, source = last_rotation(obj, ctx)
    if when is None:
        yield Hit(
            "signing-key Secret has no creationTimestamp or rotation timestamp: its age is unknown", line=target.line
        )
        return
    age = ctx.now - when
    limit = _limit(ctx)
    if age > limit:
        yield Hit(
            f"signing-key Secret was last rotated {cron.format_duration(age)} ago (by {source}: "
            f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')}), more than {cron.format_duration(limit)} "
            "(settings key-rotation-hours)",
            line=target.line,
        )


__all__ = ["jwt_authentication", "jwt_schemes", "key_rotation", "last_rotation", "rotation_interval"]
