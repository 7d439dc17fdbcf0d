"""`lazy=True` and `load_session`: what the decision table doesn't show (errors and their
messages, events, the store_timeout budget, websockets, concurrent loads) and the FastAPI
dependency `dynamodb_sessions.fastapi.Session`, in both modes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
import pytest
from fastapi import FastAPI, WebSocket
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from dynamodb_sessions import (
    DynamoDBSessionMiddleware,
    MemoryStore,
    SessionConfigError,
    SessionEvent,
    StoredSession,
    load_session,
)
from dynamodb_sessions.fastapi import Session
from tests.sessions_app import make_app
from tests.support import CountingStore, session_cookie

HTTPS = "https://testserver"


def signed_in(client: TestClient) -> str:
    return session_cookie(client.post("/load/set", json={"user": "ann"}))


def test_session_before_load_names_load_session(caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(make_app(MemoryStore(), lazy=True), base_url=HTTPS)
    signed_in(client)
    with caplog.at_level(logging.WARNING, logger="dynamodb_sessions"):
        response = client.get("/read")
    assert response.status_code == 500
    assert "set-cookie" not in response.headers
    assert "lazy=True" in caplog.text
    assert "await load_session(request)" in caplog.text


def test_skip_paths_message_is_distinct(caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(make_app(MemoryStore(), skip_paths=["/skip"]), base_url=HTTPS)
    signed_in(client)
    with caplog.at_level(logging.WARNING, logger="dynamodb_sessions"):
        assert client.get("/skip/read").status_code == 500
    assert "skip_paths" in caplog.text
    assert "lazy=True" not in caplog.text
    assert client.get("/skip/load/read").json() == {"user": "ann"}  # on demand


def test_lazy_must_be_a_bool() -> None:
    with pytest.raises(SessionConfigError, match="lazy"):
        DynamoDBSessionMiddleware(Starlette(), store=MemoryStore(), secret_key="secret", lazy=1)  # type: ignore[arg-type]


def test_load_session_without_the_middleware() -> None:
    async def endpoint(request: Request) -> Response:
        await load_session(request)
        return PlainTextResponse("unreachable")

    app = Starlette(routes=[Route("/", endpoint)])
    with pytest.raises(SessionConfigError, match="DynamoDBSessionMiddleware"):
        TestClient(app).get("/")


def test_a_lazy_load_records_its_event() -> None:
    events: list[SessionEvent] = []
    client = TestClient(make_app(MemoryStore(), lazy=True, on_event=events.append), HTTPS)
    signed_in(client)
    events.clear()
    client.get("/none")
    assert events == []
    client.get("/load/twice")
    assert [event.name for event in events] == ["loaded"]


class SlowStore(MemoryStore):
    async def load(self, key: str) -> StoredSession | None:
        await anyio.sleep(0.2)
        return await super().load(key)


def test_a_lazy_load_keeps_to_store_timeout() -> None:
    client = TestClient(make_app(SlowStore(), lazy=True, store_timeout=0.05), HTTPS)
    signed_in(client)
    response = client.get("/load/read")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "set-cookie" not in response.headers
    assert client.get("/none").status_code == 200  # never loaded: never waits


def test_concurrent_loads_of_one_request_make_one_call() -> None:
    async def both(request: Request) -> Response:
        first, second = await asyncio.gather(load_session(request), load_session(request))
        assert first is second is request.session
        return JSONResponse(dict(first))

    store = CountingStore()
    app = make_app(store, lazy=True)
    app.add_route("/both", both)
    client = TestClient(app, base_url=HTTPS)
    signed_in(client)
    store.take()
    assert client.get("/both").json() == {"user": "ann"}
    assert store.take() == {"load": 1}


def test_websocket_loads_on_demand() -> None:
    store = CountingStore()
    # https_only=False: the test client's websocket URL is ws://, a Secure cookie stays home.
    client = TestClient(make_app(store, lazy=True, https_only=False))
    client.post("/load/set", json={"user": "ann"})
    store.take()
    with client.websocket_connect("/load/ws") as ws:
        assert ws.receive_json() == {"user": "ann"}
    assert store.take() == {"load": 1, "update": 1}
    assert client.get("/load/read").json() == {"user": "ann", "ws": True}


def fastapi_app(store: CountingStore, **options: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/cart")
    async def cart(session: Session) -> Any:
        return session.get("cart", [])

    @app.post("/cart")
    async def add(item: str, session: Session, request: Request) -> Any:
        assert request.session is session  # shared with libraries that read request.session
        session["cart"] = [*session.get("cart", []), item]
        return session["cart"]

    @app.get("/plain")
    async def plain() -> Any:
        return "no session"

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, session: Session) -> None:
        await websocket.accept()
        await websocket.send_json(session.get("cart", []))
        await websocket.close()

    app.add_middleware(DynamoDBSessionMiddleware, store=store, secret_key="secret", **options)
    return app


@pytest.mark.parametrize("lazy", [True, False])
def test_fastapi_session_dependency(lazy: bool) -> None:
    store = CountingStore()
    client = TestClient(fastapi_app(store, lazy=lazy, https_only=False))
    assert client.post("/cart", params={"item": "pear"}).json() == ["pear"]
    assert store.take() == {"create": 1}
    assert client.get("/cart").json() == ["pear"]
    assert store.take() == {"load": 1}
    response = client.post("/cart", params={"item": "fig"})
    assert response.json() == ["pear", "fig"]
    assert "set-cookie" in response.headers
    assert store.take() == {"load": 1, "update": 1}
    response = client.get("/plain")
    assert "set-cookie" not in response.headers
    assert store.take() == ({} if lazy else {"load": 1})
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == ["pear", "fig"]
    assert store.take() == {"load": 1}
