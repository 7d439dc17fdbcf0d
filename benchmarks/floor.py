"""The CPU floor of one DynamoDB GetItem, and what the store's paths cost over it.

    .venv/bin/python -m benchmarks.floor [--calls 2000] [--runs 5]

A local HTTP/1.1 server in a subprocess (its CPU is not counted) answers every
request at once with a fixed, valid GetItem body. In this process,
`time.process_time()` over `--calls` calls, median of `--runs` runs, in µs per call:

- floor: the request signed by botocore's `SigV4Auth`, sent with `http.client`
  on one kept-alive connection, the answer read and parsed as JSON;
- thread hop: `anyio.to_thread.run_sync` of a no-op on the store's limiter (what
  a call on the threaded path pays on top of `lean .call`);
- executor hop: asyncio's `loop.run_in_executor` of a no-op (for comparison);
- lean .call: `store.lean.call("GetItem", ...)`, in this thread (the threaded path:
  botocore's HTTP session);
- boto3 get_item: `store.client.get_item(...)`, in this thread;
- store.load: `await store.load(key)`: the lean caller's asyncio transport, from
  the event loop, with no thread hop (everything a store call does included).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TABLE = "floor"
KEY = "k" * 64
# A session item as the store writes it, expiring in 2100.
ANSWER = json.dumps(
    {
        "Item": {
            "session_id": {"S": KEY},
            "data": {"M": {"user": {"S": '"alice"'}, "n": {"S": "1"}}},
            "ttl": {"N": "4102444800"},
            "created": {"N": "1764000000"},
            "ver": {"N": "3"},
            "wid": {"S": "abcdefghijkl"},
        },
        "ConsumedCapacity": {"TableName": TABLE, "CapacityUnits": 1.0},
    }
).encode()
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDFLOOR",
    "AWS_SECRET_ACCESS_KEY": "floor-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
PARAMS: dict[str, Any] = {
    "TableName": TABLE,
    "Key": {"session_id": {"S": KEY}},
    "ConsistentRead": True,
    "ReturnConsumedCapacity": "TOTAL",
}


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go in two writes

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve() -> None:
    """Answer forever on a free port; print the port first."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextmanager
def answering_server() -> Iterator[str]:
    """The server in a subprocess; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.floor", "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}"
    finally:
        proc.terminate()
        proc.wait()


def floor_call(connection: http.client.HTTPConnection, url: str) -> Callable[[], object]:
    """One raw signed GetItem over `connection`, as a function."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

    frozen = ReadOnlyCredentials(
        CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"], None
    )

    def call() -> object:
        request = AWSRequest(
            method="POST",
            url=url + "/",
            data=json.dumps(PARAMS).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.GetItem",
            },
        )
        SigV4Auth(frozen, "dynamodb", "us-east-1").add_auth(request)
        connection.request("POST", "/", body=request.body, headers=dict(request.headers))
        return json.loads(connection.getresponse().read())

    return call


def per_call_us(call: Callable[[], object], calls: int) -> float:
    """CPU µs per call of `call`, over `calls` calls."""
    start = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - start) / calls * 1e6


async def per_await_us(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """CPU µs per await of `call()`, over `calls` calls."""
    start = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - start) / calls * 1e6


def make_store(url: str) -> Any:
    """A DynamoDBStore on the lean path against `url`."""
    from dynamodb_sessions import DynamoDBStore

    os.environ.update(CREDENTIALS)
    return DynamoDBStore(TABLE, endpoint_url=url, region_name="us-east-1")


def measure(url: str, calls: int, runs: int) -> dict[str, float]:
    """Median µs per call of each path, over `runs` runs of `calls` calls."""
    import anyio
    from anyio.to_thread import run_sync

    store = make_store(url)
    lean = store.client and store.lean
    assert lean is not None, "the store is not on the lean path"
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port))
    limiter = store._call._limiter

    def noop() -> None:
        pass

    async def async_runs() -> tuple[list[float], list[float], list[float]]:
        hop = lambda: run_sync(noop, limiter=limiter())  # noqa: E731
        loop = asyncio.get_running_loop()
        executor_hop = lambda: loop.run_in_executor(None, noop)  # noqa: E731
        await per_await_us(lambda: store.load(KEY), 200)  # warm: the route, the threads
        loads, hops, executor_hops = [], [], []
        for _ in range(runs):
            loads.append(await per_await_us(lambda: store.load(KEY), calls))
            hops.append(await per_await_us(hop, calls))
            executor_hops.append(await per_await_us(executor_hop, calls))
        return loads, hops, executor_hops

    paths: dict[str, Callable[[], object]] = {
        "floor": floor_call(connection, url),
        "lean .call": lambda: lean.call("GetItem", dict(PARAMS)),
        "boto3 get_item": lambda: store.client.get_item(**PARAMS),
    }
    figures: dict[str, list[float]] = {name: [] for name in paths}
    for call in paths.values():
        per_call_us(call, 200)  # warm
    for _ in range(runs):
        for name, call in paths.items():
            figures[name].append(per_call_us(call, calls))
    figures["store.load"], figures["thread hop"], figures["executor hop"] = anyio.run(async_runs)
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help="internal: run the server")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    with answering_server() as url:
        figures = measure(url, args.calls, args.runs)
    floor = figures["floor"]
    print(f"CPU per GetItem, µs (median of {args.runs} runs of {args.calls} calls)")
    for name in (
        "floor",
        "thread hop",
        "executor hop",
        "lean .call",
        "boto3 get_item",
        "store.load",
    ):
        print(f"  {name:<15} {figures[name]:7.1f}   {figures[name] / floor:4.2f}x floor")


if __name__ == "__main__":
    main()
