"""SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``) and other viewers.

One run.  ``tool.driver.rules`` holds every rule of the scan (id, name,
short and full description, help = remediation, ``helpUri`` to the rule's
page, properties with the guideline bullet and tags).  Each finding is a
result with ``ruleId``/``ruleIndex``, ``level`` (error, warning, note), the
message, one physical location (a URI relative to the directory guidecheck
ran in, percent-encoded, with ``startLine``/``startColumn``), a logical
location for the Kubernetes object or Dockerfile stage, and
``partialFingerprints`` that do not depend on the line, so that alerts
survive lines moving.  A suppressed finding carries an ``inSource``
suppression whose justification is the reason.  ``invocations`` records the
exit code and, for an incomplete scan, why (``executionSuccessful: false``).

Upload tools validate the file against the SARIF schema, including URI
formats: ``helpUri`` must be an absolute URI, and an artifact URI must be a
valid URI reference (a colon in the first segment, a space or a newline in a
file name would make the whole upload fail), hence the percent-encoding.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from typing import Any
from urllib.parse import quote

from guidecheck.model import Finding, ScanResult, Severity
from guidecheck.sanitize import clean

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/guidecheck/guidecheck"
# rule pages (docs/rules/<ID>.md in the repository)
DOCS_BASE = INFORMATION_URI + "/blob/main/docs/rules/"
FINGERPRINT_KEY = "guidecheck/v1"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _bytes(text: str) -> bytes:
    try:
        return os.fsencode(text)  # surrogate escapes back to the file name's bytes
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def artifact_uri(path: str) -> tuple[str, bool]:
    """``(uri, relative)``: the file's path as a percent-encoded URI reference.

    Paths hold the raw file name (undecodable bytes as surrogate escapes), so
    the URI names the real file: bytes are percent-encoded, never dropped.
    """
    raw = _bytes(path) if isinstance(path, str) else bytes(path)
    raw = raw.replace(b"\\", b"/") if os.sep == "\\" else raw
    if raw.startswith(b"/"):
        return "file://" + quote(raw, safe="/"), False
    while raw.startswith(b"./"):
        raw = raw[2:]
    return quote(raw, safe="/") or ".", True


def rule_name(title: str) -> str:
    """``Containers set CPU and memory limits`` -> ``ContainersSetCpuAndMemoryLimits``."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:].lower() for w in words) or "Rule"


def _rule(rule: Any) -> dict[str, Any]:
    bullet = rule.bullet
    tags = ["guidecheck", *(f"target:{t}" for t in rule.targets)]
    if bullet:
        tags.insert(1, f"guideline-{bullet}")
    remediation = clean(" ".join(rule.remediation.split()), mask=False)
    rationale = clean(" ".join(rule.rationale.split()), mask=False)
    page = f"{DOCS_BASE}{rule.id}.md"
    return {
        "id": rule.id,
        "name": rule_name(rule.title),
        "shortDescription": {"text": clean(rule.title, mask=False)},
        "fullDescription": {"text": rationale},
        "help": {
            "text": remediation,
            "markdown": f"{remediation}\n\n[{rule.id} documentation]({page})",
        },
        "helpUri": page,
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "bullet": bullet,
            "tags": tags,
            "targets": list(rule.targets),
            "docs": f"docs/rules/{rule.id}.md",
        },
    }


def fingerprint_base(f: Finding) -> str:
    """The finding's line-independent identity (rule, path, object, container,
    message), the same one baselines use (:func:`guidecheck.engine.fingerprint`)."""
    fp = f.extra.get("fingerprint")
    if isinstance(fp, str) and fp:
        return fp
    from guidecheck.engine import fingerprint

    return fingerprint(f)


def _location(f: Finding) -> dict[str, Any]:
    uri, relative = artifact_uri(f.path)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "%SRCROOT%"
    loc: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {"startLine": max(1, int(f.line or 1)), "startColumn": max(1, int(f.column or 1))},
        }
    }
    if f.object is not None:
        name = clean(str(f.object))
        logical = {
            "name": clean(f.object.name) if f.object.name is not None else name,
            "fullyQualifiedName": name,
            "kind": "object",
        }
        loc["logicalLocations"] = [logical]
    return loc


def _result(f: Finding, rule_index: dict[str, int], occurrence: int) -> dict[str, Any]:
    message = clean(f.message)
    res: dict[str, Any] = {
        "ruleId": f.rule_id,
        "level": LEVELS[f.severity],
        "message": {"text": message},
        "locations": [_location(f)],
        "partialFingerprints": {FINGERPRINT_KEY: f"{fingerprint_base(f)}:{occurrence}"},
        "properties": {"bullet": f.bullet, "severity": str(f.severity)},
    }
    if f.rule_id in rule_index:
        res["ruleIndex"] = rule_index[f.rule_id]
    if f.object is not None:
        res["properties"]["object"] = {
            k: (clean(v) if isinstance(v, str) else v) for k, v in f.object.to_json().items()
        }
    if f.container:
        res["properties"]["container"] = clean(f.container)
    units = f.extra.get("units")
    if isinstance(units, list) and units:
        res["properties"]["units"] = [clean(str(u)) for u in units]  # the deployment units it holds in
    origin = f.extra.get("origin")
    if isinstance(origin, dict) and origin.get("source") == "helm":
        res["properties"]["origin"] = _clean_tree(origin)
        related = _related(origin)
        if related:
            res["relatedLocations"] = related
    if f.suppressed:
        by = f.extra.get("suppressed_by")
        # comments and annotations live in the scanned files; waivers and baselines outside them
        external = isinstance(by, dict) and by.get("origin") in ("waiver", "baseline")
        kind = "external" if external else "inSource"
        suppression: dict[str, Any] = {"kind": kind, "status": "accepted"}
        if f.suppression_reason:
            suppression["justification"] = clean(f.suppression_reason)
        res["suppressions"] = [suppression]
    return res


def _related(origin: dict[str, Any]) -> list[dict[str, Any]]:
    """The values files lines that supply the field (docs/helm.md): where the fix usually goes."""
    related = []
    for i, v in enumerate(v for v in origin.get("values") or () if isinstance(v, dict) and v.get("path")):
        uri, relative = artifact_uri(str(v["path"]))
        artifact: dict[str, Any] = {"uri": uri}
        if relative:
            artifact["uriBaseId"] = "%SRCROOT%"
        line = v.get("line")
        related.append(
            {
                "id": i + 1,
                "message": {"text": f"value {clean(str(v.get('key')))}"},
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {"startLine": max(1, line if isinstance(line, int) else 1)},
                },
            }
        )
    return related


def _clean_tree(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {str(k): _clean_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_tree(v) for v in value]
    return value


def document(result: ScanResult, meta: dict[str, Any]) -> dict[str, Any]:
    rules = [_rule(r) for r in result.rules]
    rule_index = {r.id: i for i, r in enumerate(result.rules)}
    occurrences: dict[str, int] = defaultdict(int)
    results = []
    for f in result.findings:  # sorted by path, line, column, rule: occurrence numbers are stable
        base = fingerprint_base(f)
        occurrences[base] += 1
        results.append(_result(f, rule_index, occurrences[base]))
    version = str(meta.get("version") or "0")
    invocation: dict[str, Any] = {
        "executionSuccessful": not result.incomplete,
        "exitCode": meta.get("exit_code", 0),
    }
    if result.incomplete:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": clean(r)}, "descriptor": {"id": "incomplete"}}
            for r in result.incomplete
        ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "guidecheck",
                        "version": version,
                        "semanticVersion": version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"fail-on": meta.get("threshold"), "incomplete": [clean(r) for r in result.incomplete]},
            }
        ],
    }


_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), allow_nan=False).encode


def _dumps(value: Any, compact_items: frozenset[str], level: int = 0, key: str | None = None) -> str:
    """Indented JSON in which every item of the lists named ``compact_items``
    (rules, results) is one line: readable, diff-friendly, and written by the
    C encoder (``json.dumps(indent=...)`` is pure Python, ten times slower)."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict) and value:
        fields = [f"{inner}{_compact(k)}: {_dumps(v, compact_items, level + 1, k)}" for k, v in value.items()]
        return "{\n" + ",\n".join(fields) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        if key in compact_items:
            items = [inner + _compact(v) for v in value]
        else:
            items = [inner + _dumps(v, compact_items, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return _compact(value)


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    return _dumps(document(result, meta), frozenset({"rules", "results"})) + "\n"
