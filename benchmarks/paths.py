"""Where the benchmarks read and write: the repository, the results and the docs page."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
DOCS_TEMPLATE = ROOT / "benchmarks" / "performance.md.in"
DOCS_OUT = ROOT / "docs" / "performance.md"
