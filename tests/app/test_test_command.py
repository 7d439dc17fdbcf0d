"""scripts/test.sh installs Chromium only when the pytest selection holds a browser test:
its `selects_browser_tests` function, run on its own (installing nothing)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROWSER_TESTS = "tests/app/test_real_servers.py"  # its browser tests and others

# Defines the function from the script, without running the script, then calls it.
PROBE = """
eval "$(sed -n '/^selects_browser_tests() {/,/^}/p' scripts/test.sh)"
status=0
selects_browser_tests "$@" || status=$?
echo "$status"
"""


def _selects(*pytest_args: str) -> int:
    done = subprocess.run(
        ["bash", "-c", PROBE, "probe", *pytest_args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(done.stdout.split()[-1])


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ((BROWSER_TESTS,), 0),  # selected: install
        ((BROWSER_TESTS, "-m", "browser"), 0),
        ((BROWSER_TESTS, "-m", "not browser"), 1),  # none selected: no Chromium
        (("tests/unit/test_public_api.py",), 1),
        (("tests/no_such_file.py",), 2),  # can't tell: the script installs it
    ],
)
def test_chromium_is_wanted_only_for_a_selection_with_a_browser_test(
    args: tuple[str, ...], status: int
) -> None:
    assert _selects(*args) == status
