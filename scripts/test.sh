#!/usr/bin/env bash
# The test command: installs what the project needs from its own files, then runs
# ruff, mypy --strict and the whole test suite. The test suite starts (and stops)
# every server it needs on 127.0.0.1: moto, dynalite, an OIDC provider, the app.
set -euo pipefail
cd "$(dirname "$0")/.."
export SETUP_CHROMIUM=1
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy --strict"
.venv/bin/mypy
echo "== cfn-lint"
.venv/bin/cfn-lint template.yaml
echo "== pytest"
.venv/bin/pytest "$@"
