"""Run the whole session-store comparison and write benchmarks/results/.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.run            # full run, about 8 minutes
    .venv/bin/python -m benchmarks.run --quick    # short smoke run, about 3 minutes

Everything runs on 127.0.0.1: the harness starts a DynamoDB-compatible server (moto or
dynalite), the counting proxy (``devservers.proxy``) in front of it, and each contender
under uvicorn (one worker, its own process), then drives it with ``benchmarks.loadgen``.
See benchmarks/README.md for the modules and what each holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
from pathlib import Path

from benchmarks.paths import RESULTS_DIR
from benchmarks.report import write_docs, write_report
from benchmarks.runner import Options, run_all
from benchmarks.scenarios import CONTENDERS, SCENARIOS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Benchmark session middlewares on DynamoDB.")
    parser.add_argument("--quick", action="store_true", help="short smoke run (~3 minutes)")
    parser.add_argument("--users", type=int, default=None, help="virtual users (default 32)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per load run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="raw",
        help="load generator HTTP client (default raw: a minimal asyncio client; httpx costs"
        " about 2.5 ms of CPU per request on the benchmark box, which the app then lacks)",
    )
    parser.add_argument(
        "--only", default="", help="comma-separated contender labels to run (default all)"
    )
    parser.add_argument(
        "--scenarios", default="", help="comma-separated scenario keys to run (default all)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also rewrite docs/performance.md (done anyway by a full default run)",
    )
    return parser


def parse_args(argv: list[str] | None) -> Options:
    """The command line as :class:`Options`, with the defaults that depend on --quick."""
    args = _parser().parse_args(argv)
    labels = _names(args.only)
    keys = _names(args.scenarios)
    return Options(
        command=shlex.join(["python", "-m", "benchmarks.run", *(argv or sys.argv[1:])]),
        quick=args.quick,
        users=args.users if args.users is not None else (8 if args.quick else 32),
        duration=args.duration if args.duration is not None else (3.0 if args.quick else 12.0),
        seed=args.seed,
        client=args.client,
        contenders=tuple(c for c in CONTENDERS if not labels or c.label in labels),
        scenarios=tuple(s for s in SCENARIOS if not keys or s.key in keys),
        out=args.out,
        docs=args.docs,
    )


def _names(csv: str) -> set[str]:
    return {name for name in csv.split(",") if name}


def main(argv: list[str] | None = None) -> None:
    """Run, write results.json, results.md and the plots, and maybe docs/performance.md."""
    options = parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    options.log_dir.mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run_all(options))
    (options.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, options.out)
    print(f"wrote {options.out / 'results.md'} in {results['meta']['wall_s']}s", flush=True)
    if options.docs or _is_reference_run(options):
        write_docs(results)
        print("wrote docs/performance.md", flush=True)


def _is_reference_run(options: Options) -> bool:
    """A full, default run: the one docs/performance.md is written from."""
    complete = options.contenders == CONTENDERS and options.scenarios == SCENARIOS
    return complete and not options.quick and options.out == RESULTS_DIR


if __name__ == "__main__":
    main()
