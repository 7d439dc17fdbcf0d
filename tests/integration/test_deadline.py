"""A slow or black-holed DynamoDB must not stall the rest of the app.

Each request waits for the store at most `store_timeout` in all (load and save,
retries included); store calls run on the store's own thread limiter, so stuck
calls never delay the app's sync endpoints; requests without a cookie make no
store call. The bounds asserted here are the documented guarantee with a wide
margin for a noisy machine, not performance figures (those are in benchmarks/).
"""

from __future__ import annotations

import time

import anyio
import anyio.to_thread
import boto3
import httpx
import pytest
from botocore.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from devservers.dynamodb import LocalServer
from devservers.faulty import BlackHoleServer
from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore, MemoryStore
from tests.sessions_app import make_app
from tests.support import store_at_url

pytestmark = pytest.mark.anyio
STORE_TIMEOUT = 0.5
# The guarantee is STORE_TIMEOUT; the margin absorbs a loaded 2-core machine. Before
# the deadline existed, such a request waited about 8 s (4 attempts x 2 s).
MARGIN = 2.0


async def valid_cookie(dynalite_server: LocalServer) -> str:
    """A signed cookie of a live session, made while the store answered."""
    store = store_at_url(dynalite_server)
    transport = httpx.ASGITransport(app=make_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        await client.post("/set", json={"a": 1})
        return client.cookies["session"]


def black_holed_store(
    hole: BlackHoleServer, *, read_timeout: float = 2.0, max_attempts: int = 4
) -> DynamoDBStore:
    return DynamoDBStore(
        "sessions",
        endpoint_url=hole.endpoint_url,
        region_name="us-east-1",
        read_timeout=read_timeout,
        max_attempts=max_attempts,
    )


async def timed(client: httpx.AsyncClient, method: str, path: str) -> tuple[int, float]:
    started = time.monotonic()
    response = await client.request(method, path, json={"b": 2} if method == "POST" else None)
    return response.status_code, time.monotonic() - started


async def test_a_black_holed_store_answers_within_the_deadline(
    dynalite_server: LocalServer,
) -> None:
    cookie = await valid_cookie(dynalite_server)
    with BlackHoleServer() as hole:
        app = make_app(black_holed_store(hole), store_timeout=STORE_TIMEOUT)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://t", cookies={"session": cookie}
        ) as client:
            # A route that never uses the session: the load gives up, the route answers.
            plain = await timed(client, "GET", "/none")
            reading = await timed(client, "GET", "/read")
            writing = await timed(client, "POST", "/set")
    assert [plain[0], reading[0], writing[0]] == [200, 503, 503]
    print(f"waits with a black-holed store: {plain[1]:.2f} {reading[1]:.2f} {writing[1]:.2f} s")
    assert max(plain[1], reading[1], writing[1]) < STORE_TIMEOUT + MARGIN


def sync_endpoint(request: Request) -> Response:
    # A plain def: Starlette runs it on anyio's default thread limiter.
    return PlainTextResponse("sync")


async def test_stuck_store_calls_never_delay_sync_endpoints(
    dynalite_server: LocalServer,
) -> None:
    cookie = await valid_cookie(dynalite_server)
    stuck = 60  # more than anyio's default limiter has threads (40)
    with BlackHoleServer() as hole:
        inner = Starlette(routes=[Route("/sync", sync_endpoint), Route("/none", sync_endpoint)])
        # Each stuck call holds its thread until the hole is released.
        store = black_holed_store(hole, read_timeout=60, max_attempts=1)
        app = DynamoDBSessionMiddleware(
            inner, store=store, secret_key="test-secret", store_timeout=60
        )
        transport = httpx.ASGITransport(app=app)
        done: list[int] = []
        async with (
            httpx.AsyncClient(transport=transport, base_url="https://t", timeout=90) as client,
            anyio.create_task_group() as group,
        ):

            async def with_cookie() -> None:
                response = await client.get("/none", headers={"cookie": f"session={cookie}"})
                done.append(response.status_code)

            for _ in range(stuck):
                group.start_soon(with_cookie)
            with anyio.fail_after(20):
                while hole.held < 40:  # as many as anyio's default limiter has threads
                    await anyio.sleep(0.01)
            # Sharing anyio's default limiter, the sync endpoint would wait for the
            # release below, forever; on the store's own limiter it runs at once.
            with anyio.fail_after(10):
                response = await client.get("/sync")
            assert response.text == "sync"
            assert done == []
            hole.release()
    assert len(done) == stuck


async def test_requests_without_a_cookie_make_no_store_call_while_it_is_stuck() -> None:
    with BlackHoleServer() as hole:
        app = make_app(black_holed_store(hole), store_timeout=30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            assert (await client.get("/none")).status_code == 200
            assert (await client.get("/read")).json() == {}
        assert hole.held == 0


async def test_store_timeout_is_checked_at_construction() -> None:
    inner = Starlette()
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="store_timeout"):
            DynamoDBSessionMiddleware(
                inner, store=MemoryStore(), secret_key="test-secret", store_timeout=bad
            )
    with pytest.raises(ValueError, match="rotation_grace"):
        DynamoDBSessionMiddleware(
            inner, store=MemoryStore(), secret_key="test-secret", rotation_grace=-1
        )


async def test_calls_given_up_on_still_count_against_max_pool_connections(
    dynalite_server: LocalServer,
) -> None:
    # Found in review: a call abandoned at store_timeout gave its limiter place back
    # while its thread still ran; on the boto3 path nothing cut that thread short,
    # so a stalled DynamoDB grew one thread per request.
    cookie = await valid_cookie(dynalite_server)
    with BlackHoleServer() as hole:
        client = boto3.client(
            "dynamodb",
            endpoint_url=hole.endpoint_url,
            region_name="us-east-1",
            config=Config(read_timeout=30, retries={"total_max_attempts": 1}),
        )
        store = DynamoDBStore("sessions", client=client, max_pool_connections=10)
        app = make_app(store, store_timeout=0.2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://t", headers={"cookie": f"session={cookie}"}
        ) as browser:
            statuses: list[int] = []

            async def read() -> None:
                statuses.append((await browser.get("/read")).status_code)

            for _ in range(5):  # waves of requests, each given up on after 0.2 s
                async with anyio.create_task_group() as group:
                    for _ in range(20):
                        group.start_soon(read)
            assert statuses == [503] * 100
            assert hole.held <= 10  # calls that reached DynamoDB: never more at once
            hole.release()
