"""Concurrent requests on one session, on dynalite (atomic conditional writes).

Browsers with several tabs do this all the time. Different keys must all persist;
the same key must never be lost silently.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devservers.dynamodb import LocalServer
from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore
from tests.support import store_with_client

pytestmark = pytest.mark.anyio


class Gate:
    """Holds requests after they loaded the session until `size` of them have."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.arrived = 0
        self.open = anyio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived >= self.size:
            self.open.set()
        await self.open.wait()


def build_app(store: DynamoDBStore, gate: Gate, **options: Any) -> Starlette:
    async def start(request: Request) -> Response:
        request.session["n"] = 0
        return JSONResponse(0)

    async def bump(request: Request) -> Response:
        key = request.path_params["key"]
        value = request.session.get(key, 0) + 1  # read before the others write
        await gate.wait()
        request.session[key] = value
        return JSONResponse(value)

    async def read(request: Request) -> Response:
        return JSONResponse(dict(request.session))

    app = Starlette(
        routes=[
            Route("/start", start, methods=["POST"]),
            Route("/bump/{key}", bump, methods=["POST"]),
            Route("/read", read),
        ]
    )
    return DynamoDBSessionMiddleware(app, store=store, secret_key="test-secret", **options)  # type: ignore[return-value]


@pytest.fixture
def store(dynalite_server: LocalServer) -> DynamoDBStore:
    return store_with_client(dynalite_server, max_pool_connections=64)


async def run_parallel(
    app: Starlette, paths: list[str]
) -> tuple[list[httpx.Response], dict[str, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        await client.post("/start")
        cookie = client.cookies["session"]
        responses: list[httpx.Response] = []

        async def one(path: str) -> None:
            async with httpx.AsyncClient(transport=transport, base_url="https://t") as tab:
                tab.cookies.set("session", cookie)
                responses.append(await tab.post(path))

        async with anyio.create_task_group() as group:
            for path in paths:
                group.start_soon(one, path)
        final = (await client.get("/read")).json()
    return responses, final


async def test_different_keys_changed_at_once_all_persist(store: DynamoDBStore) -> None:
    keys = [f"k{i}" for i in range(20)]
    app = build_app(store, Gate(len(keys)))
    responses, final = await run_parallel(app, [f"/bump/{k}" for k in keys])
    assert [r.status_code for r in responses] == [200] * len(keys)
    assert final == {"n": 0, **dict.fromkeys(keys, 1)}


async def test_same_key_changed_at_once_is_never_lost_silently(store: DynamoDBStore) -> None:
    app = build_app(store, Gate(10))
    responses, final = await run_parallel(app, ["/bump/n"] * 10)
    statuses = sorted(r.status_code for r in responses)
    # Every request read n=0 and wrote 1: exactly one wins, the others hear 409.
    assert statuses == [200] + [409] * 9
    assert final == {"n": 1}


async def test_last_writer_wins_policy_overwrites_with_a_warning(
    store: DynamoDBStore, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(store, Gate(5), on_conflict="last_writer_wins")
    with caplog.at_level(logging.WARNING, logger="dynamodb_sessions"):
        responses, final = await run_parallel(app, ["/bump/n"] * 5)
    assert [r.status_code for r in responses] == [200] * 5
    assert final == {"n": 1}
    warnings = [r for r in caplog.records if "last writer wins" in r.getMessage()]
    assert len(warnings) == 4


async def test_sequential_tabs_count_every_increment(store: DynamoDBStore) -> None:
    # Without a gate the requests interleave freely; any that lose a race hear 409
    # and the count equals exactly the number of successes.
    app = build_app(store, Gate(1))
    responses, final = await run_parallel(app, ["/bump/n"] * 30)
    successes = sum(r.status_code == 200 for r in responses)
    assert all(r.status_code in (200, 409) for r in responses)
    assert final == {"n": successes}
