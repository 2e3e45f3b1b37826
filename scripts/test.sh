#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite, on every core, then ruff.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# One worker per core (pytest-xdist); a file's tests share a worker, so its module fixtures are
# built once. OBSLAWS_TEST_WORKERS=0 runs them in this process, one after another.
.venv/bin/python -m pytest -q -n "${OBSLAWS_TEST_WORKERS:-auto}" --dist loadfile "$@"
.venv/bin/ruff check .
