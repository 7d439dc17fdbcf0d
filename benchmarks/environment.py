"""What a run records about where it ran: the machine and the versions of everything."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from benchmarks.paths import ROOT
from benchmarks.schema import Machine

DISTRIBUTIONS = (
    "dynamodb-sessions",
    "starlette",
    "starsessions",
    "boto3",
    "botocore",
    "moto",
    "uvicorn",
    "httpx",
    "anyio",
    "matplotlib",
)


def versions() -> dict[str, str]:
    """Python, the installed distributions, dynalite and node."""
    out: dict[str, str] = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    try:
        pkg = json.loads((ROOT / "node_modules" / "dynalite" / "package.json").read_text())
        out["dynalite"] = str(pkg["version"])
        out["node"] = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except (OSError, ValueError, KeyError):
        out["dynalite"] = "not installed"
    return out


def machine() -> Machine:
    """CPU count and model, platform and Python version."""
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
