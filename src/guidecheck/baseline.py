"""Baselines: accept the findings a legacy repository has today, fail only on new ones.

``guidecheck scan . --baseline .guidecheck-baseline.json --update-baseline`` records the
active findings' fingerprints (rule, path, object, container and message; not the line,
so edits elsewhere in a file do not invalidate them).  Later scans with ``--baseline``
report those findings as suppressed ("accepted in the baseline") and fail only on new ones.
"""

from __future__ import annotations

import json

from guidecheck.engine import fingerprint
from guidecheck.model import Finding
from guidecheck.sanitize import clean
from guidecheck.sanitize import path as clean_path

BASELINE_VERSION = 1


class BaselineError(Exception):
    pass


def read(path: str) -> frozenset[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise BaselineError(f"{path}: not found (create it with --update-baseline)") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: not a baseline file: {exc}") from None
    if not isinstance(data, dict) or data.get("baseline_version") != BASELINE_VERSION:
        raise BaselineError(f"{path}: not a guidecheck baseline (baseline_version {BASELINE_VERSION})")
    items = data.get("findings")
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("fingerprint"), str) for i in items
    ):
        raise BaselineError(f"{path}: 'findings' must be a list of objects with a fingerprint")
    return frozenset(i["fingerprint"] for i in items)


def write(path: str, findings: list[Finding]) -> int:
    entries = sorted(
        {(fingerprint(f), f.rule_id, clean_path(f.path), clean(f.message)) for f in findings},
        key=lambda e: e[1:] + e[:1],
    )
    data = {
        "baseline_version": BASELINE_VERSION,
        "tool": "guidecheck",
        "findings": [{"fingerprint": fp, "rule_id": r, "path": p, "message": m} for fp, r, p, m in entries],
    }
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return len(entries)
