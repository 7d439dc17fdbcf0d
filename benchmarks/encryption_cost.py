"""What encryption at rest costs: CPU per request, and bytes per stored value.

    .venv/bin/python -m benchmarks.encryption_cost [--requests 2000] [--runs 5]

Starts dynalite, then runs a fresh interpreter `--runs` times for each mode, in turns, that
sends `--requests` requests through the test app (tests/sessions_app.py) on the
lean path, in-process over httpx's ASGI transport, and measures
`time.process_time()` (every thread of this process; dynalite runs in its own).
The session holds what the reference app keeps after a sign-in (an OIDC id_token,
email, name, a few small values) plus a counter. Prints the median per request:

- plain: `DynamoDBStore(table)`;
- encrypted: `DynamoDBStore(table, encryption_keys=[key])`.

GET /read opens every value (one GetItem); POST /incr opens every value and seals
the counter (GetItem, UpdateItem); "seal+open" is one value of 100 bytes sealed and
opened without a request. The size lines compare the item of the same session
stored both ways, by DynamoDB's size rules.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

MODES = ("plain", "encrypted")
PATHS = ("/read", "/incr", "seal+open")
KEY = "bench:" + "K" * 43 + "="  # a fixed key: a benchmark, not an app
# What the reference app keeps after a sign-in (app/routers/auth.py), with an
# id_token of a typical size.
SESSION: dict[str, Any] = {
    "id_token": "eyJ" + "x" * 1100,
    "user": {"sub": "0b6e5f1c-9a0d-4c1e-8d35-1f0a7c2b9e44", "email": "ann@example.com"},
    "name": "Ann Example",
    "csrf": "Jq4n1YwTQ0m3mVf4n2yGzA",
    "theme": "dark",
    "n": 0,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
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
        table = "encryption-cost"
        create_table(make_client(server.endpoint_url), table, say=lambda _: None)
        print(f"CPU per request (median of {runs} runs of {requests} requests), microseconds")
        results: dict[str, list[list[float]]] = {mode: [] for mode in MODES}
        for _ in range(runs):  # the modes take turns: a machine's load drifts
            for mode in MODES:
                results[mode].append(_child(mode, server.endpoint_url, table, requests))
        medians: dict[str, list[float]] = {}
        for mode in MODES:
            medians[mode] = [statistics.median(run[i] for run in results[mode]) for i in range(3)]
            cells = (f"{path} {us:7.1f}   " for path, us in zip(PATHS, medians[mode], strict=True))
            print(f"  {mode:<11}" + "".join(cells))
        extra = [e - p for e, p in zip(medians["encrypted"], medians["plain"], strict=True)]
        cells = (f"{path} {us:+7.1f}   " for path, us in zip(PATHS, extra, strict=True))
        print("  difference " + "".join(cells))
        _sizes(server.endpoint_url, table)


def _child(mode: str, url: str, table: str, requests: int) -> list[float]:
    command = [sys.executable, "-m", "benchmarks.encryption_cost", "--requests", str(requests)]
    command += ["--child", mode, url, table]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [float(us) for us in out.split()]


def _measure(mode: str, url: str, table: str, requests: int) -> Sequence[float]:
    import anyio

    per_request = anyio.run(_requests, mode, url, table, requests)
    per_request.append(_per_seal(20 * requests))
    return per_request


def _store(mode: str, url: str, table: str) -> Any:
    from dynamodb_sessions import DynamoDBStore

    keys = [KEY] if mode == "encrypted" else None
    return DynamoDBStore(table, endpoint_url=url, region_name="us-east-1", encryption_keys=keys)


async def _requests(mode: str, url: str, table: str, requests: int) -> list[float]:
    import httpx

    from tests.sessions_app import make_app

    transport = httpx.ASGITransport(app=make_app(_store(mode, url, table)))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        (await client.post("/set", json=SESSION)).raise_for_status()
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


def _per_seal(values: int) -> float:
    """One value of 100 bytes sealed and opened again, without a request."""
    from dynamodb_sessions.stores._cipher import Cipher

    cipher, text, key = Cipher([KEY]), '"' + "v" * 98 + '"', "0" * 64
    started = time.process_time()
    for _ in range(values):
        cipher.open(key, "name", cipher.seal(key, "name", text))
    return (time.process_time() - started) / values * 1e6


def _sizes(url: str, table: str) -> None:
    import anyio

    from dynamodb_sessions.cli._maintenance import item_size
    from tests.support import make_client

    client = make_client(url)
    sizes = {}
    for mode in MODES:
        store = _store(mode, url, table)
        key = f"size-{mode}".ljust(64, "0")
        anyio.run(lambda: store.create(key, data=_encoded(), expires=2**31))  # noqa: B023
        item = client.get_item(TableName=table, Key={"session_id": {"S": key}})["Item"]
        sizes[mode] = item_size(item)
    extra = sizes["encrypted"] - sizes["plain"]
    print(f"Item size of that session ({len(SESSION)} values), bytes")
    print(f"  plain {sizes['plain']}   encrypted {sizes['encrypted']}   difference +{extra}")
    print(f"  per value: +{extra / len(SESSION):.0f} (30 + the key id's {len(KEY.split(':')[0])})")


def _encoded() -> dict[str, str]:
    import json

    return {k: json.dumps(v, separators=(",", ":")) for k, v in SESSION.items()}


if __name__ == "__main__":
    main()
