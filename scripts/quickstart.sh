#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the main job on the embedded default: build the database
# from registry/ and print what it holds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/obslaws init
