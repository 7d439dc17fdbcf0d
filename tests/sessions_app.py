"""A small Starlette app whose endpoints each exercise one session scenario."""

from __future__ import annotations

import contextvars
import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from dynamodb_sessions import (
    DynamoDBSessionDict,
    DynamoDBSessionMiddleware,
    SessionStore,
    SessionStoreError,
    load_session,
)

request_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_var", default="unset")


async def no_session(request: Request) -> Response:
    return PlainTextResponse("ok")


async def read(request: Request) -> Response:
    return JSONResponse(dict(request.session))


async def set_values(request: Request) -> Response:
    values: dict[str, Any] = await request.json()
    for key, value in values.items():
        request.session[key] = value
    return JSONResponse(dict(request.session))


async def append(request: Request) -> Response:
    # A nested change: no __setitem__ on the session itself.
    item = await request.json()
    request.session["cart"].append(item)
    return JSONResponse(request.session["cart"])


async def increment(request: Request) -> Response:
    request.session["n"] = request.session.get("n", 0) + 1
    return JSONResponse(request.session["n"])


async def login(request: Request) -> Response:
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    session.regenerate_id()
    request.session["user"] = request.query_params.get("user", "ann")
    return PlainTextResponse("logged in")


async def logout(request: Request) -> Response:
    request.session.clear()
    return PlainTextResponse("logged out")


async def fail(request: Request) -> Response:
    request.session["written"] = True
    return PlainTextResponse("failed", status_code=500)


async def big(request: Request) -> Response:
    request.session["blob"] = "x" * int(request.query_params.get("size", "500000"))
    return PlainTextResponse("stored")


async def bind_big(request: Request) -> Response:
    # A long user id on top of data near the limit: together past DynamoDB's item limit.
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    session["blob"] = "x" * int(request.query_params["size"])
    session.bind_user("u" * int(request.query_params["user_bytes"]))
    return PlainTextResponse("stored")


async def nested_big(request: Request) -> Response:
    request.session["cart"].append("x" * 420_000)
    return PlainTextResponse("stored")


async def not_json(request: Request) -> Response:
    request.session["when"] = datetime.datetime(2026, 1, 1)
    return PlainTextResponse("stored")


async def guarded(request: Request) -> Response:
    # An app that answers a store failure for itself, with its own page and headers.
    try:
        return JSONResponse(dict(request.session))
    except SessionStoreError:
        status = int(request.query_params.get("status", "503"))
        return PlainTextResponse("our own page", status_code=status, headers={"x-app": "own"})


async def context_var(request: Request) -> Response:
    request_var.set("set-in-endpoint")
    request.session["cv"] = 1
    return PlainTextResponse("ok")


async def load_read(request: Request) -> Response:
    session = await load_session(request)
    assert request.session is session
    return JSONResponse(dict(session))


async def load_twice(request: Request) -> Response:
    session = await load_session(request)
    assert await load_session(request) is session
    return JSONResponse(dict(session))


async def load_set(request: Request) -> Response:
    await load_session(request)
    return await set_values(request)


async def load_logout(request: Request) -> Response:
    await load_session(request)
    return await logout(request)


async def load_websocket(websocket: WebSocket) -> None:
    await load_session(websocket)
    await websocket_endpoint(websocket)


async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(dict(websocket.session))
    websocket.session["ws"] = True
    await websocket.close()


routes = [
    Route("/none", no_session),
    Route("/skip/none", no_session),
    Route("/skip/read", read),
    Route("/skip/load/read", load_read),
    Route("/load/read", load_read),
    Route("/load/twice", load_twice),
    Route("/load/set", load_set, methods=["POST"]),
    Route("/load/logout", load_logout, methods=["POST"]),
    Route("/read", read),
    Route("/set", set_values, methods=["POST"]),
    Route("/append", append, methods=["POST"]),
    Route("/incr", increment, methods=["POST"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/fail", fail, methods=["POST"]),
    Route("/big", big, methods=["POST"]),
    Route("/bind-big", bind_big, methods=["POST"]),
    Route("/nested-big", nested_big, methods=["POST"]),
    Route("/not-json", not_json, methods=["POST"]),
    Route("/context-var", context_var, methods=["POST"]),
    Route("/guarded", guarded),
    WebSocketRoute("/ws", websocket_endpoint),
    WebSocketRoute("/load/ws", load_websocket),
]


def make_app(store: SessionStore, **options: Any) -> Starlette:
    """The test app behind DynamoDBSessionMiddleware with `options`."""
    app = Starlette(routes=routes)
    options.setdefault("secret_key", "test-secret")
    app.add_middleware(DynamoDBSessionMiddleware, store=store, **options)
    return app


def wrap_app(store: SessionStore, **options: Any) -> DynamoDBSessionMiddleware:
    """The middleware *around* the Starlette app object: Starlette's own error
    middleware then sits inside ours and sees the app's exceptions first."""
    options.setdefault("secret_key", "test-secret")
    return DynamoDBSessionMiddleware(Starlette(routes=routes), store=store, **options)
