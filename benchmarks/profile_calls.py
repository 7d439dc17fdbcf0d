"""Where the CPU of `store.load` goes: cProfile over many calls to an answering server.

    .venv/bin/python -m benchmarks.profile_calls [--calls 2000] [--top 10]

Uses the server of `benchmarks.floor` (a subprocess answering a fixed GetItem at
once) and prints the top entries by cumulative and by own time (tottime): of the
event loop's thread, and of the worker threads if calls went there (the threaded
path: `lean=False`, a proxy, client certificates).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
from typing import Any

from benchmarks.floor import KEY, answering_server, make_store


def profile(url: str, count: int) -> dict[str, pstats.Stats]:
    """cProfile of `count` awaits of `store.load`, after a warm-up: the event
    loop's thread, and the worker threads' (each call's `_invoke`)."""
    import anyio

    store = make_store(url)
    calls = store._call
    invoke, worker = calls._invoke, cProfile.Profile()

    def profiled_invoke(operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = worker.runcall(invoke, operation, kwargs)
        return result

    async def loads(n: int) -> None:
        for _ in range(n):
            await store.load(KEY)

    anyio.run(loads, 100)
    calls._invoke = profiled_invoke
    loop = cProfile.Profile()
    loop.enable()
    anyio.run(loads, count)
    loop.disable()
    profiles = {"event loop": pstats.Stats(loop, stream=io.StringIO())}
    worker.create_stats()
    if worker.stats:
        profiles["worker"] = pstats.Stats(worker, stream=io.StringIO())
    return profiles


def top(stats: pstats.Stats, order: str, count: int) -> str:
    """The first `count` rows of `stats` sorted by `order`."""
    stream = io.StringIO()
    stats.stream = stream  # type: ignore[attr-defined]
    stats.sort_stats(order).print_stats(count)
    lines = stream.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return "\n".join(lines[start : start + count + 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    with answering_server() as url:
        threads = profile(url, args.calls)
    for name, stats in threads.items():
        print(f"{args.calls} store.load calls, {name} thread; by cumulative time:")
        print(top(stats, "cumulative", args.top))
        print("by own time (tottime):")
        print(top(stats, "tottime", args.top))
        print()


if __name__ == "__main__":
    main()
