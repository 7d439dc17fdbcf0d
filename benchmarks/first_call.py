"""Cold start: the first `store.load` of a fresh process, with and without `warm()`.

    .venv/bin/python -m benchmarks.first_call [--runs 9]

First the import: `-X importtime` cumulative µs of `import dynamodb_sessions` on
top of `import starlette.applications` (median of `--runs`, bytecode cached).
Each run then is a fresh interpreter against the answering server of `benchmarks.floor`:
it imports the package, builds a `DynamoDBStore`, optionally awaits `store.warm()`
(what Lambda's INIT phase would pay), then times the first `store.load`: wall
milliseconds and CPU milliseconds (`time.process_time()`). Medians of `--runs`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from benchmarks.floor import KEY, answering_server, make_store


def child(url: str, warm: bool) -> dict[str, float]:
    """In this fresh process: the warm-up's and the first load's costs, in ms."""
    import anyio

    async def run() -> dict[str, float]:
        store = make_store(url)
        figures: dict[str, float] = {}
        wall, cpu = time.perf_counter(), time.process_time()
        if warm:
            await store.warm()
        figures["warm_wall"] = (time.perf_counter() - wall) * 1e3
        figures["warm_cpu"] = (time.process_time() - cpu) * 1e3
        wall, cpu = time.perf_counter(), time.process_time()
        assert await store.load(KEY) is not None
        figures["first_wall"] = (time.perf_counter() - wall) * 1e3
        figures["first_cpu"] = (time.process_time() - cpu) * 1e3
        wall, cpu = time.perf_counter(), time.process_time()
        await store.load(KEY)
        figures["second_wall"] = (time.perf_counter() - wall) * 1e3
        return figures

    return anyio.run(run)


def import_us(runs: int) -> float:
    """Median `-X importtime` cumulative µs of `import dynamodb_sessions` once
    `starlette.applications` is imported (bytecode cached: the first run is dropped)."""
    code = "import starlette.applications; import dynamodb_sessions"
    times: list[int] = []
    for i in range(runs + 1):
        command = [sys.executable, "-X", "importtime", "-c", code]
        stderr = subprocess.run(command, capture_output=True, text=True, check=True).stderr
        rows = [line.split("|") for line in stderr.splitlines() if line.startswith("import time:")]
        top = [
            int(row[1]) for row in rows if len(row) == 3 and row[2].strip() == "dynamodb_sessions"
        ]
        if i > 0 and top:
            times.append(top[-1])
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--child", nargs=2, metavar=("URL", "WARM"), help="internal")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1] == "warm")))
        return
    print(f"import dynamodb_sessions after starlette.applications: {import_us(args.runs):.0f} µs")
    with answering_server() as url:
        for mode in ("cold", "warm"):
            command = [sys.executable, "-m", "benchmarks.first_call", "--child", url, mode]
            runs = [
                json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
                for _ in range(args.runs)
            ]
            medians = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
            print(
                f"{mode}: warm() {medians['warm_wall']:.1f} ms ({medians['warm_cpu']:.1f} CPU); "
                f"first load {medians['first_wall']:.1f} ms ({medians['first_cpu']:.1f} CPU); "
                f"second load {medians['second_wall']:.2f} ms"
            )


if __name__ == "__main__":
    main()
