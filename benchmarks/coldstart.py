"""Cold start: how long ``import M`` takes, from ``python -X importtime``.

Measured before the harness starts anything, because import times are the figures most
sensitive to other load on the box. The reference modules (starsessions, Starlette's
sessions, boto3) show how loaded the box was.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from benchmarks.harness import APP_ENV
from benchmarks.library import LibrarySnapshot
from benchmarks.paths import ROOT
from benchmarks.schema import ColdStart, ImportFailure, ImportTiming

MODULES = ("dynamodb_sessions", "starsessions", "starlette.middleware.sessions", "boto3")


def cold_start(library: LibrarySnapshot) -> ColdStart:
    """Import timings of the library (the run's copy of it) and of the reference modules."""
    return {module: import_time(module, library) for module in MODULES}


def import_time(
    module: str, library: LibrarySnapshot, runs: int = 9
) -> ImportTiming | ImportFailure:
    """Cumulative `-X importtime` microseconds for `module` (median of `runs`, warm cache)."""
    cumulative: list[int] = []
    boto3_imported = False
    modules = 0
    for i in range(runs + 1):
        proc = _importtime(module, library)
        if proc.returncode != 0:
            return {"module": module, "error": proc.stderr.strip().splitlines()[-1:]}
        if i == 0:
            continue  # the first run may compile .pyc files
        rows = _import_rows(proc.stderr)
        top = [cum for cum, name in rows if name == module]
        if top:
            cumulative.append(top[-1])
        boto3_imported = boto3_imported or any(name == "boto3" for _, name in rows)
        modules = len(rows)
    return {
        "module": module,
        "cumulative_us_median": int(statistics.median(cumulative)) if cumulative else None,
        "cumulative_us_runs": cumulative,
        "boto3_imported": boto3_imported,
        "modules_imported": modules,
    }


def _importtime(module: str, library: LibrarySnapshot) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **APP_ENV, **library.env()},
        timeout=60,
        check=False,
    )


def _import_rows(stderr: str) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of every line of an importtime report."""
    lines = [line for line in stderr.splitlines() if line.startswith("import time:")]
    rows = []
    for line in lines[1:]:  # the first line is the table's header
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].strip()))
    return rows
