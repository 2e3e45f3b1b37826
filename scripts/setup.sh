#!/usr/bin/env bash
# Create .venv (if needed) and install obslaws with its test and ray extras (Ray so that CI runs
# the Ray tests), pinned for these machines by constraints.txt (the CPU build of torch). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip 2>/dev/null || true
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test,ray]"
for example in examples/*/; do
    [ -f "$example/pyproject.toml" ] && .venv/bin/python -m pip install --quiet -c constraints.txt -e "$example"
done
exit 0
