"""The copy of ``src/dynamodb_sessions`` that one run measures, and its fingerprint.

Others edit the library while a run is going: without a copy, contenders started later
in the run would measure different code. The run copies the package once at its start,
every app process imports that copy, and the report names it (HEAD + a hash of the copy).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.paths import ROOT

PACKAGE = "dynamodb_sessions"


@dataclass(frozen=True)
class LibrarySnapshot:
    """A copy of the library in `directory`, and what it was copied from."""

    directory: Path
    fingerprint: str  # HEAD when the run started + a hash of the copied source

    def env(self) -> dict[str, str]:
        """Environment additions that make a subprocess import this copy."""
        paths = [str(self.directory), os.environ.get("PYTHONPATH", "")]
        return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


@contextlib.contextmanager
def snapshot_library() -> Iterator[LibrarySnapshot]:
    """Copy the library into a temporary directory, removed on exit."""
    directory = Path(tempfile.mkdtemp(prefix="bench-lib-"))
    try:
        shutil.copytree(
            ROOT / "src" / PACKAGE,
            directory / PACKAGE,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        yield LibrarySnapshot(directory, f"{_head()}+src:{_source_hash(directory)}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _source_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((directory / PACKAGE).rglob("*.py")):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _head() -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return commit or "unknown"
