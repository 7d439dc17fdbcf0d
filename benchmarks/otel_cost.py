"""The CPU one request costs with OpenTelemetry absent, present but unused, and tracing.

    .venv/bin/python -m benchmarks.otel_cost [--requests 2000] [--runs 5]

Starts dynalite, then, for each mode, runs a fresh interpreter `--runs` times that
sends `--requests` requests through the test app (tests/sessions_app.py) on the
lean path, in-process over httpx's ASGI transport, and measures
`time.process_time()` (every thread of the process; dynalite runs in its own).
Prints the median per request of each mode and path:

- absent: opentelemetry can't be imported;
- api: opentelemetry-api without an SDK (what an uninstrumented app pays);
- sdk: an SDK TracerProvider recording every span, exporting to nowhere.

GET /read makes one DynamoDB call (a GetItem); POST /incr two (GetItem, UpdateItem);
"a span alone" is the tracing of one GetItem without the call (less noisy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

MODES = ("absent", "api", "sdk")
PATHS = ("/read", "/incr", "a span alone")
_exported = [0]  # spans, in the "sdk" mode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "URL", "TABLE"), help="internal")
    args = parser.parse_args()
    if args.child:
        mode, url, table = args.child
        print(" ".join(f"{us:.1f}" for us in _measure(mode, url, table, args.requests)))
    else:
        _compare(args.requests, args.runs)


def _compare(requests: int, runs: int) -> None:
    from devservers.dynamodb import DUMMY_CREDENTIALS, running
    from dynamodb_sessions.cli._table import create_table
    from tests.support import make_client

    os.environ.update(DUMMY_CREDENTIALS)
    with running("dynalite") as server:
        table = "otel-cost"
        create_table(make_client(server.endpoint_url), table, say=lambda _: None)
        print(f"CPU per request (median of {runs} runs of {requests} requests), microseconds")
        for mode in MODES:
            results = [_child(mode, server.endpoint_url, table, requests) for _ in range(runs)]
            medians = [statistics.median(run[i] for run in results) for i in range(len(PATHS))]
            cells = (f"{path} {us:7.1f}   " for path, us in zip(PATHS, medians, strict=True))
            print(f"  {mode:<7}" + "".join(cells))


def _child(mode: str, url: str, table: str, requests: int) -> list[float]:
    command = [sys.executable, __file__, "--requests", str(requests), "--child", mode, url, table]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [float(us) for us in out.split()]


def _measure(mode: str, url: str, table: str, requests: int) -> Sequence[float]:
    if mode == "absent":
        _block_opentelemetry()
    elif mode == "sdk":
        _record_every_span()
    import anyio

    per_request = anyio.run(_requests, url, table, requests)
    per_request.append(_per_span(20 * requests))
    # Every call a span: the requests' (1 + 2 calls each) and the spans alone.
    assert mode != "sdk" or _exported[0] >= 23 * requests, _exported
    return per_request


async def _requests(url: str, table: str, requests: int) -> list[float]:
    import httpx

    from dynamodb_sessions import DynamoDBStore
    from tests.sessions_app import make_app

    store = DynamoDBStore(table, endpoint_url=url, region_name="us-east-1")
    transport = httpx.ASGITransport(app=make_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        await client.post("/set", json={"n": 0})
        for _ in range(200):  # warm up: the client, the lean caller's routes, imports
            await client.post("/incr")
        per_request = []
        for path in PATHS[:2]:
            method = client.get if path == "/read" else client.post
            started = time.process_time()
            for _ in range(requests):
                (await method(path)).raise_for_status()
            per_request.append((time.process_time() - started) / requests * 1e6)
    return per_request


def _per_span(calls: int) -> float:
    """What the store's tracing of one GetItem costs, without the call itself."""
    from dynamodb_sessions.stores import _tracing

    params = {"TableName": "t", "Key": {"session_id": {"S": "0" * 64}}, "ConsistentRead": True}
    result = {"Item": {}, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}}
    started = time.process_time()
    for _ in range(calls):
        span = _tracing.start("get_item", "t", params)
        if span is not None:
            span.succeeded(result)
    return (time.process_time() - started) / calls * 1e6


def _block_opentelemetry() -> None:
    class Blocker:
        def find_spec(self, name: str, *_: object) -> None:
            if name.split(".")[0] == "opentelemetry":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, Blocker())


def _record_every_span() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Nowhere(SpanExporter):
        def export(self, spans: Sequence[object]) -> SpanExportResult:
            _exported[0] += len(spans)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Nowhere()))
    trace.set_tracer_provider(provider)


if __name__ == "__main__":
    main()
