"""A short, seeded mutation-fuzzing run in CI (benchmarks/fuzz.py; a longer run is made by hand, see there).

YAML manifests, a Dockerfile, an OpenAPI document, GitHub and GitLab pipelines and a Helm chart are mutated
and scanned in-process: no exception, a valid JSON report, every finding at a file and line, and a CPU
budget per scan.  The chart is rendered with the real Helm in a few of the cases when Helm is installed.
"""

from __future__ import annotations

import shutil
import sys
import time

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import fuzz  # benchmarks/ is not a package


def test_seeded_mutations_break_no_promise():
    start = time.process_time()
    failures = fuzz.run(30, seed=13, render_every=15 if shutil.which("helm") else 0, cpu_budget=10.0)
    assert failures == [], "\n".join(f"case {f.iteration}: {f.problem} [{f.mutation}]" for f in failures)
    assert time.process_time() - start < 60  # a bound on the work, not a timing
