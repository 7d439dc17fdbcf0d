"""Decisions of the session lifecycle that need no DynamoDB, on a MemoryStore."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from dynamodb_sessions import DynamoDBSessionMiddleware, MemoryStore


async def sign_in(request: Request) -> Response:
    request.session["user"] = "ann"
    return JSONResponse(dict(request.session))


async def read(request: Request) -> Response:
    return JSONResponse(dict(request.session))


async def start_afresh(websocket: WebSocket) -> None:
    await websocket.accept()
    websocket.session.clear()  # "start a new game": a new id, which needs a new cookie
    websocket.session["game"] = 1
    await websocket.send_json(dict(websocket.session))
    await websocket.close()


def test_a_websocket_never_moves_the_session_to_an_id_no_cookie_names() -> None:
    # Found in review: the session moved to a new id whose cookie a websocket can't
    # send, and the browser's cookie named a tombstone: signed out.
    store = MemoryStore()
    app = Starlette(
        routes=[
            Route("/sign-in", sign_in),
            Route("/read", read),
            WebSocketRoute("/ws", start_afresh),
        ]
    )
    app.add_middleware(DynamoDBSessionMiddleware, store=store, secret_key="test-secret")
    with TestClient(app, base_url="https://t") as client:
        client.get("/sign-in")
        with client.websocket_connect("/ws") as socket:
            socket.receive_json()
        assert client.get("/read").json() == {"user": "ann"}  # nothing saved, nothing lost
    assert len(store) == 1
