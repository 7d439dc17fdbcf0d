#!/usr/bin/env bash
# The test command: installs what the project needs from its own files, then runs
# ruff, mypy --strict, cfn-lint, the docs site build and the test suite, then the
# library's tests again against the lowest supported dependencies. The test suite
# starts (and stops) every server it needs on 127.0.0.1: moto, dynalite, an OIDC
# provider, the app.
#
#   bash scripts/test.sh                     everything, as CI does (.ci/run)
#   bash scripts/test.sh -m "not browser"    arguments go to pytest; Chromium is
#                                            installed only if they select a browser test
#   TEST_LOWEST=0 bash scripts/test.sh       skip the lowest-versions run (it runs by
#                                            default only without arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

# Exit 0 if the pytest arguments select at least one test marked `browser`, 1 if none;
# any other status (a collection error) counts as "maybe", so Chromium gets installed.
selects_browser_tests() {
  .venv/bin/python - "$@" >/dev/null 2>&1 <<'PY'
import sys

import pytest


class Probe:
    found = False

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        Probe.found = any(item.get_closest_marker("browser") for item in session.items)


status = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]], [Probe()])
sys.exit(0 if Probe.found else 1 if status in (0, 5) else 2)
PY
}

# The library's own tests (unit, and the real-server ones that exercise the store and
# middleware) in .venv-lowest, with the lowest versions pyproject.toml accepts.
test_lowest() {
  if [ ! -x .venv-lowest/bin/python ]; then
    python3 -m venv .venv-lowest
  fi
  local stamp=.venv-lowest/.installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints-lowest.txt -nt "$stamp" ]; then
    .venv-lowest/bin/python -m pip install --quiet --upgrade pip
    .venv-lowest/bin/python -m pip install --quiet -c constraints-lowest.txt -e '.[fastapi]' \
      pytest pytest-timeout hypothesis httpx 'moto[server]' 'types-boto3[dynamodb]'
    touch "$stamp"
  fi
  .venv-lowest/bin/python -m pip list 2>/dev/null | grep -iE '^(starlette|itsdangerous|boto3|botocore|anyio|fastapi) '
  .venv-lowest/bin/pytest -q -p no:cacheprovider tests/unit \
    tests/integration/test_store_contract.py tests/integration/test_middleware.py \
    tests/integration/test_user_index.py tests/integration/test_events.py \
    tests/integration/test_warm.py \
    tests/integration/test_lean_routing.py
}

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy --strict"
.venv/bin/mypy
echo "== cfn-lint"
.venv/bin/cfn-lint template.yaml
echo "== mkdocs build --strict"
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
echo "== pytest"
selected=0
selects_browser_tests "$@" || selected=$?
if [ "$selected" != 1 ]; then
  install_chromium
fi
.venv/bin/pytest "$@"
if [ "${TEST_LOWEST:-$([ $# = 0 ] && echo 1 || echo 0)}" = 1 ]; then
  echo "== pytest, lowest supported versions (constraints-lowest.txt)"
  test_lowest
fi
