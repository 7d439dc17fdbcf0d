#!/usr/bin/env bash
# Sourced by the demo and test commands: creates .venv and installs the Python and
# npm dependencies declared in pyproject.toml and package-lock.json. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev,docs]'
  touch "$stamp"
fi
if [ ! -d node_modules/dynalite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # dynalite's optional native LevelDB binding is not needed: it runs in memory.
  npm ci --ignore-scripts --no-audit --no-fund --silent
fi

# The browser test (pytest -m browser) drives Debian's Chromium through Playwright's
# Python package; Playwright never downloads a browser. The test command calls this
# only when its selection holds a browser test.
install_chromium() {
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && command -v apt-get >/dev/null; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  fi
}
