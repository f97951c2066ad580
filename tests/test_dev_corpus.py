"""The whole dev corpus (../shared/corpus/dev) scanned once: properties every report must have.

Skipped when the shared corpus is not next to the project.  The scan runs once per test module
(in process, every rule, default configuration) and each test reads its result.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from guidecheck import runner
from guidecheck.catalog import load_rules
from guidecheck.config import Config

from conftest import SHARED

CORPUS = SHARED / "corpus" / "dev"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present (../shared/corpus/dev)")


@pytest.fixture(scope="module")
def report():
    return runner.scan([str(CORPUS)], Config(), load_rules())


def test_no_two_findings_share_a_fingerprint(report):
    """One problem is one finding: a fingerprint (line-independent) names one finding of a report."""
    counts = Counter(f.extra.get("fingerprint") for f in report.findings)
    shared = [f for f in report.findings if counts[f.extra.get("fingerprint")] > 1]
    assert not shared, "\n".join(f"{f.path}:{f.line} {f.rule_id} {f.message[:120]}" for f in shared[:20])
    assert None not in counts


_CI = re.compile(
    r"(^|/)(\.github/workflows/[^/]+|\.gitlab-ci\.ya?ml|\.gitlab-ci/.+\.ya?ml|Jenkinsfile[^/]*|"
    r"cloudbuild[^/]*\.ya?ml|azure-pipelines[^/]*\.ya?ml)$"
)


def _deployment_file(path: Path) -> bool:
    """A file GC001 may speak about: a Dockerfile, a pipeline, a chart's file, a Kubernetes manifest or an
    OpenAPI document (by its content)."""
    name = path.name
    if name.startswith(("Dockerfile", "Containerfile")) or name.endswith((".Dockerfile", ".dockerfile")):
        return True
    if _CI.search(path.as_posix()):
        return True
    if any((d / "Chart.yaml").is_file() for d in path.parents if CORPUS in d.parents or d == CORPUS):
        return True
    text = path.read_text(encoding="utf-8", errors="replace")[:262144]
    return bool(re.search(r"\bapiVersion\b", text) and re.search(r"\bkind\b", text)) or bool(
        re.search(r"\b(openapi|swagger)\b", text)
    )


def test_gc001_only_on_files_guidecheck_reads(report):
    """A parse error is reported only on deployment, pipeline, OpenAPI or chart files."""
    errors = [f for f in report.findings if f.rule_id == "GC001"]
    others = [f for f in errors if not _deployment_file(Path(f.path))]
    assert not others, "\n".join(f"{f.path}:{f.line} {f.message[:120]}" for f in others)
