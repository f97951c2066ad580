"""GitLab Code Quality: ``artifacts: reports: codequality`` shows findings in merge requests.

A JSON array with one issue per active finding, with the fields GitLab documents
(https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format):
``description``, ``check_name`` (the rule id), ``fingerprint`` (unique per issue, stable
when lines move: the finding's fingerprint and its occurrence, hashed), ``severity``
(``error`` -> ``major``, ``warning`` -> ``minor``, ``info`` -> ``info``) and ``location``
(``path`` relative to the repository and ``lines.begin``), plus ``categories`` and
``type`` of the Code Climate format GitLab reads.  Suppressed findings are left out: a
suppressed finding is not a quality issue of the merge request.  Run the scan from the
repository root so that paths are relative to it.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from guidecheck.model import Finding, ScanResult, Severity
from guidecheck.sanitize import clean
from guidecheck.sanitize import path as clean_path

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def issue(f: Finding, occurrence: int) -> dict[str, Any]:
    from guidecheck.reporters.sarif import fingerprint_base

    context = []
    if f.object is not None and f.object.name != f.path:
        context.append(clean(str(f.object)) + (f" container {clean(f.container)}" if f.container else ""))
    context.append(f"guideline {f.bullet}" if f.bullet else "tool")
    unique = hashlib.sha256(f"{fingerprint_base(f)}:{occurrence}".encode()).hexdigest()[:32]
    return {
        "type": "issue",
        "check_name": f.rule_id,
        "description": f"{f.rule_id} {clean(f.message)} [{', '.join(context)}]",
        "content": {"body": clean(" ".join(f.remediation.split()), mask=False)},
        "categories": ["Compliance"],
        "severity": SEVERITIES[f.severity],
        "fingerprint": unique,
        "location": {"path": clean_path(f.path), "lines": {"begin": max(1, int(f.line or 1))}},
    }


def chunks(result: ScanResult, meta: dict[str, Any]) -> Iterator[str]:
    """One issue per line (streamed), in the findings' order."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    seen: dict[str, int] = defaultdict(int)
    first = True
    for f in result.findings:
        if f.suppressed:
            continue
        key = str(f.extra.get("fingerprint") or "")
        seen[key] += 1
        yield ("[\n  " if first else ",\n  ") + encode(issue(f, seen[key]))
        first = False
    yield "[]\n" if first else "\n]\n"


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    return "".join(chunks(result, meta))
