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
from benchmarks.schema import Results


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
        "--merge",
        action="store_true",
        help="put this run's scenarios into the existing OUT/results.json (replacing those"
        " with the same key) instead of overwriting it, e.g. to add the cost scenarios to a"
        " full run",
    )
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
        merge=args.merge,
    )


def _names(csv: str) -> set[str]:
    return {name for name in csv.split(",") if name}


def main(argv: list[str] | None = None) -> None:
    """Run, write (or merge into) results.json, write results.md and the plots, and maybe
    docs/performance.md."""
    options = parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    options.log_dir.mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run_all(options))
    print(f"ran in {results['meta']['wall_s']}s", flush=True)
    path = options.out / "results.json"
    if options.merge and path.exists():
        results = merge(json.loads(path.read_text()), results)
    path.write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, options.out)
    print(f"wrote {options.out / 'results.md'}", flush=True)
    if options.docs or _is_reference_run(options):
        write_docs(results)
        print("wrote docs/performance.md", flush=True)


def merge(earlier: Results, later: Results) -> Results:
    """`earlier` with `later`'s scenarios in it, each marked with the command that measured
    it; a scenario of `earlier` with the same key is replaced in place."""
    meta = later["meta"]
    new = {}
    for scenario in later["scenarios"]:
        scenario["measured_by"] = f"`{meta['command']}` at {meta['started_utc']} UTC"
        new[scenario["key"]] = scenario
    kept = [new.pop(s["key"], s) for s in earlier["scenarios"]]
    earlier["scenarios"] = [*kept, *new.values()]
    known = {c["label"] for c in earlier["contenders"]}
    earlier["contenders"] += [c for c in later["contenders"] if c["label"] not in known]
    return earlier


def _is_reference_run(options: Options) -> bool:
    """A full, default run: the one docs/performance.md is written from."""
    complete = options.contenders == CONTENDERS and options.scenarios == SCENARIOS
    return complete and not options.quick and options.out == RESULTS_DIR and not options.merge


if __name__ == "__main__":
    main()
