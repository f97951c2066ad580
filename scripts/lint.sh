#!/usr/bin/env bash
# Static checks: ruff (lint rules and formatting, line length 120) and mypy (strict on the core and the
# parsers, a baseline elsewhere); their configuration is in pyproject.toml.
# Run by scripts/test.sh before the tests (so by .ci/run through the README's test command), or alone:
#   bash scripts/lint.sh
# Uses the tools of .venv (the `test` extra installs them), else those on PATH. Runs all three checks and
# fails if any of them fails.
set -uo pipefail
cd "$(dirname "$0")/.."
tool() {
  if [ -x ".venv/bin/$1" ]; then echo ".venv/bin/$1"; else command -v "$1" || echo "$1"; fi
}
RUFF=$(tool ruff)
MYPY=$(tool mypy)
rc=0
echo "== ruff check" >&2
"$RUFF" check . || rc=1
echo "== ruff format --check" >&2
"$RUFF" format --check --output-format concise . || rc=1  # `ruff format --diff` shows the changes
echo "== mypy" >&2
"$MYPY" || rc=1
if [ "$rc" -ne 0 ]; then
  echo "lint: failed (see above)" >&2
fi
exit "$rc"
