#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the main job on the embedded default: build the database
# from registry/, refit every fitter, run the standard backtests and write the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/obslaws init
.venv/bin/obslaws refresh --out obslaws-report
