"""How long requests wait while DynamoDB is black-holed (accepts, never answers).

Two figures, with the library's defaults (`store_timeout=3.0`, 4 attempts, 2 s
read timeout):

- a request with a valid cookie to a route that never uses the session;
- a plain sync endpoint while 60 requests with a cookie are stuck on the store
  (more than anyio's default thread limiter holds).

    .venv/bin/python -m benchmarks.blackhole [--rounds 5]

Run it with `PYTHONPATH=<other checkout>/src` to measure another version of the
library (one without `store_timeout` is measured with its own defaults).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from devservers import dynamodb as servers
from devservers.faulty import BlackHoleServer
from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore

ANYIO_THREADS = 40  # anyio's default thread limiter
STUCK = 60  # more requests stuck on the store than that limiter has threads


async def nosession(request: Request) -> Response:
    """A route that never uses the session."""
    return PlainTextResponse("ok")


def sync_endpoint(request: Request) -> Response:
    """A plain sync route: Starlette runs it in anyio's thread pool."""
    return PlainTextResponse("sync")


async def write(request: Request) -> Response:
    """Creates a session, so that the response carries a cookie."""
    request.session["a"] = 1
    return PlainTextResponse("ok")


def app_for(store: DynamoDBStore) -> DynamoDBSessionMiddleware:
    """The three routes behind the library's middleware, on `store`."""
    routes = [
        Route("/nosession", nosession),
        Route("/sync", sync_endpoint),
        Route("/write", write, methods=["POST"]),
    ]
    return DynamoDBSessionMiddleware(Starlette(routes=routes), store=store, secret_key="bench-key")


async def valid_cookie(endpoint_url: str) -> str:
    """A cookie for a session stored on a real server, to send to the black hole later."""
    table = "blackhole-bench"
    store = DynamoDBStore(table, endpoint_url=endpoint_url, region_name="us-east-1")
    client = store.client
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table)
    transport = httpx.ASGITransport(app=app_for(store))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as browser:
        await browser.post("/write")
        return browser.cookies["session"]


async def cookie_request_wait(hole: BlackHoleServer, cookie: str) -> float:
    """Seconds a request with `cookie` to a session-free route waits on the black hole."""
    store = DynamoDBStore("sessions", endpoint_url=hole.endpoint_url, region_name="us-east-1")
    transport = httpx.ASGITransport(app=app_for(store))
    async with httpx.AsyncClient(transport=transport, base_url="https://t", timeout=60) as c:
        started = time.monotonic()
        await c.get("/nosession", headers={"cookie": f"session={cookie}"})
        return time.monotonic() - started


async def sync_wait(hole: BlackHoleServer, cookie: str) -> float:
    """Seconds a sync route waits while STUCK requests with `cookie` hang on the store."""
    store = DynamoDBStore("sessions", endpoint_url=hole.endpoint_url, region_name="us-east-1")
    transport = httpx.ASGITransport(app=app_for(store))
    async with (
        httpx.AsyncClient(transport=transport, base_url="https://t", timeout=60) as client,
        anyio.create_task_group() as group,
    ):

        async def stuck() -> None:
            await client.get("/nosession", headers={"cookie": f"session={cookie}"})

        for _ in range(STUCK):
            group.start_soon(stuck)
        while hole.held < ANYIO_THREADS:  # the pool is full: now time the sync route
            await anyio.sleep(0.01)
        started = time.monotonic()
        await client.get("/sync")
        waited = time.monotonic() - started
    return waited


async def main(rounds: int) -> None:
    """Measure both waits `rounds` times and print their median and maximum."""
    os.environ.update(servers.DUMMY_CREDENTIALS)  # local servers only
    logging.getLogger("dynamodb_sessions").setLevel(logging.CRITICAL)  # one error per request
    with servers.running("dynalite") as server:
        cookie = await valid_cookie(server.endpoint_url)
    cookie_waits, sync_waits = [], []
    for _ in range(rounds):
        with BlackHoleServer() as hole:
            cookie_waits.append(await cookie_request_wait(hole, cookie))
        with BlackHoleServer() as hole:
            sync_waits.append(await sync_wait(hole, cookie))
    for name, waits in (("cookie request", cookie_waits), ("sync endpoint", sync_waits)):
        print(
            f"{name:15} median {statistics.median(waits):6.2f} s  max {max(waits):6.2f} s  "
            f"({rounds} rounds)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    anyio.run(main, parser.parse_args().rounds)
