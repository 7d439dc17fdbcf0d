"""A DynamoDB that is down, throttling or hanging: 503 for the requests that need
the session, nothing for those that don't, and never a raw id in the logs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import anyio
import anyio.to_thread
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from devservers.dynamodb import LocalServer, free_port
from devservers.faulty import BlackHoleServer, LossyProxy, ThrottlingServer
from dynamodb_sessions import (
    DynamoDBSessionMiddleware,
    DynamoDBStore,
    MemoryStore,
    SessionStoreError,
)
from dynamodb_sessions._serialization import DATA_LIMIT
from tests.sessions_app import make_app, routes, wrap_app
from tests.support import key_of, make_client, new_key, store_at_url, store_with_client


def down_store() -> DynamoDBStore:
    # Nothing listens on this port: every call fails to connect.
    return DynamoDBStore(
        "sessions", client=make_client(f"http://127.0.0.1:{free_port()}"), max_attempts=2
    )


@pytest.fixture
def signed_cookie(moto_server: LocalServer) -> str:
    """A valid cookie for a live session (made while the store was up)."""
    store = store_with_client(moto_server)
    with TestClient(make_app(store), base_url="https://t") as client:
        client.post("/set", json={"user": "ann"})
        cookie: str = client.cookies["session"]
        return cookie


@pytest.fixture
def down_client() -> Iterator[TestClient]:
    with TestClient(make_app(down_store(), retry_after=7), base_url="https://t") as client:
        yield client


def test_store_down_gives_503_with_retry_after_to_a_session_request(
    down_client: TestClient, signed_cookie: str, caplog: pytest.LogCaptureFixture
) -> None:
    down_client.cookies.set("session", signed_cookie)
    with caplog.at_level(logging.ERROR, logger="dynamodb_sessions"):
        response = down_client.get("/read")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert "Traceback" not in response.text
    assert caplog.records, "the failure must be logged"
    assert signed_cookie.split(".")[0] not in caplog.text  # never the raw id


def test_store_down_leaves_requests_that_skip_the_session_alone(
    down_client: TestClient, signed_cookie: str
) -> None:
    down_client.cookies.set("session", signed_cookie)
    assert down_client.get("/none").status_code == 200
    down_client.cookies.clear()
    assert down_client.get("/none").status_code == 200


def test_store_down_never_reports_a_failed_write_as_success(down_client: TestClient) -> None:
    response = down_client.post("/set", json={"a": 1})
    assert response.status_code == 503
    assert "set-cookie" not in response.headers


def test_throttling_is_retried_then_answered_503(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ThrottlingServer() as throttled:
        store = DynamoDBStore(
            "sessions",
            client=None,
            endpoint_url=throttled.endpoint_url,
            region_name="us-east-1",
            max_attempts=3,
        )
        # A deadline long enough for every retry (1 s, then 2 s backoff when throttled).
        with TestClient(make_app(store, store_timeout=60), base_url="https://t") as client:
            response = client.post("/set", json={"a": 1})
        # botocore's standard retries of the PutItem, then give up; then the same
        # for the one read that checks whether the write had landed after all.
        assert throttled.requests == 3 + 3
    assert response.status_code == 503
    assert "ThrottlingException" in caplog.text


def test_missing_table_names_the_fix_in_the_log(
    moto_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = DynamoDBStore("no-such-table", client=make_client(moto_server.endpoint_url))
    with TestClient(make_app(store), base_url="https://t") as client:
        assert client.post("/set", json={"a": 1}).status_code == 503
    assert "dynamodb-sessions create-table --table-name no-such-table" in caplog.text


def test_fallback_store_degrades_loudly_and_visibly(caplog: pytest.LogCaptureFixture) -> None:
    fallback = MemoryStore()
    app = make_app(down_store(), fallback_store=fallback)
    with TestClient(app, base_url="https://t") as client:
        response = client.post("/set", json={"a": 1})
        assert response.status_code == 200
        assert len(fallback) == 1
        assert client.get("/read").json() == {"a": 1}
    assert "DEGRADED" in caplog.text


@pytest.mark.anyio
async def test_slow_dynamodb_does_not_block_requests_without_session() -> None:
    with BlackHoleServer() as hole:
        store = DynamoDBStore(
            "sessions", endpoint_url=hole.endpoint_url, region_name="us-east-1", max_attempts=1
        )
        app = make_app(store, https_only=False)
        transport = httpx.ASGITransport(app=app)
        results: dict[str, int] = {}
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
            anyio.create_task_group() as group,
        ):

            async def session_request() -> None:
                results["session"] = (await client.post("/set", json={"a": 1})).status_code

            group.start_soon(session_request)
            # Wait (off the loop) until DynamoDB holds the session request...
            await anyio.to_thread.run_sync(hole.received.wait, 10)
            # ...then a request without a session still completes meanwhile.
            results["plain"] = (await client.get("/none")).status_code
            assert "session" not in results
            hole.release()
        assert results == {"plain": 200, "session": 503}


@pytest.mark.anyio
@pytest.mark.parametrize("lean", [True, False])
async def test_a_write_whose_answer_was_lost_is_retried_and_counted_once(
    dynalite_server: LocalServer, lean: bool
) -> None:
    # The first UpdateItem and PutItem reach DynamoDB, but their answers are lost; the
    # client retries, the retry fails its own condition, and the write token shows the
    # write had landed: success, not a 409, and no double application.
    with LossyProxy(dynalite_server.endpoint_url, lose_once={"PutItem", "UpdateItem"}) as proxy:
        store = store_at_url(dynalite_server, proxy.endpoint_url, lean=lean)
        key = new_key()
        await store.create(key, data={"n": "0"}, expires=2**31)
        await store.update(key, changed={"n": "1"}, removed=(), expected={"n": "0"}, expires=2**31)
        stored = await store.load(key)
        assert stored is not None
        assert dict(stored.data) == {"n": "1"}
        assert stored.version == 2  # one create, one update: nothing applied twice
        assert proxy.forwarded.count("PutItem") == 2
        assert proxy.forwarded.count("UpdateItem") == 2


def test_store_down_gives_503_when_the_middleware_wraps_the_whole_app(signed_cookie: str) -> None:
    # Here Starlette's ServerErrorMiddleware catches the error inside and starts a 500;
    # the middleware answers 503 in its place, as with app.add_middleware.
    with TestClient(wrap_app(down_store()), base_url="https://t") as client:
        client.cookies.set("session", signed_cookie)
        response = client.get("/read")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert client.get("/none").status_code == 200


def test_too_large_gives_413_when_the_middleware_wraps_the_whole_app(
    moto_server: LocalServer,
) -> None:
    store = store_with_client(moto_server)
    with TestClient(wrap_app(store), base_url="https://t") as client:
        assert client.post("/big").status_code == 413


def test_failure_log_names_the_presented_session_by_its_hash(
    down_client: TestClient, signed_cookie: str, caplog: pytest.LogCaptureFixture
) -> None:
    down_client.cookies.set("session", signed_cookie)
    with caplog.at_level(logging.ERROR, logger="dynamodb_sessions"):
        down_client.get("/read")
    key = key_of(signed_cookie)
    assert f"session {key[:12]}" in caplog.text
    assert "session new" not in caplog.text


def test_item_dynamodb_refuses_as_too_large_is_answered_413(moto_server: LocalServer) -> None:
    # moto refuses items over 405,000 bytes, under DynamoDB's 409,600 (our budget):
    # a real server saying "Item size has exceeded the maximum allowed size".
    store = store_with_client(moto_server)
    with TestClient(make_app(store), base_url="https://t") as client:
        response = client.post(f"/big?size={DATA_LIMIT - 100}")
        assert response.status_code == 413
        assert response.text == "The session would be too large to store.\n"
        assert "set-cookie" not in response.headers


@pytest.mark.parametrize("build", [make_app, wrap_app], ids=["add_middleware", "wrapping"])
@pytest.mark.parametrize("status", [503, 500])
def test_an_app_that_answers_a_store_failure_itself_keeps_its_answer(
    signed_cookie: str, build: Callable[..., ASGIApp], status: int
) -> None:
    with TestClient(build(down_store()), base_url="https://t") as client:
        client.cookies.set("session", signed_cookie)
        response = client.get(f"/guarded?status={status}")
    assert response.status_code == status
    assert response.text == "our own page"
    assert response.headers["x-app"] == "own"
    assert "retry-after" not in response.headers
    assert "set-cookie" not in response.headers


def test_an_exception_handler_of_the_app_keeps_its_answer(signed_cookie: str) -> None:
    async def maintenance(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("maintenance", status_code=503, headers={"retry-after": "60"})

    inner = Starlette(routes=routes, exception_handlers={SessionStoreError: maintenance})
    app = DynamoDBSessionMiddleware(inner, store=down_store(), secret_key="test-secret")
    with TestClient(app, base_url="https://t") as client:
        client.cookies.set("session", signed_cookie)
        response = client.get("/read")
    assert (response.status_code, response.text) == (503, "maintenance")
    assert response.headers["retry-after"] == "60"


def test_an_outer_500_for_our_error_is_still_answered_properly(
    signed_cookie: str,
) -> None:
    # Starlette's ServerErrorMiddleware (inside ours here) answers 500 and re-raises:
    # that error propagates out of the app, so the 503 is ours.
    with TestClient(wrap_app(down_store()), base_url="https://t") as client:
        client.cookies.set("session", signed_cookie)
        response = client.get("/read")
    assert response.status_code == 503
    assert response.text == "The session store is unavailable. Please retry shortly.\n"
