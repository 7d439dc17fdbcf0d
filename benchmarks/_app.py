"""The endpoints every contender serves, and the settings they read from the environment.

The harness starts each contender under uvicorn with these environment variables:

* ``BENCH_ENDPOINT_URL``: the DynamoDB endpoint (the counting proxy), for DynamoDB contenders;
* ``BENCH_TABLE``: the table name (already created by the harness, key ``session_id`` S);
* ``BENCH_SKIP_PATHS``: ``1`` to let a contender skip the session on ``/nosession``;
* ``BENCH_LAZY``: ``1`` to run dynamodb-sessions with ``lazy=True``: the session routes
  ``await load_session(request)`` first, ``/nosession`` never loads;
* ``BENCH_SESSION_BYTES``: pad each session at login so that its JSON is this many bytes
  (the cost scenarios); the cart then adds up to about 140 bytes.

Endpoints (all answer JSON):

* ``POST /login?user=NAME``: sets ``user``, an empty ``cart``, ``counter`` 0 and, with
  ``BENCH_SESSION_BYTES``, a ``profile`` string of padding;
* ``GET /read``: the session's user, counter and cart length (user null when logged out);
* ``POST /write?item=N``: appends ``N`` to the cart (the last 20 kept) and increments the
  counter, answers the new counter; 401 when not logged in;
* ``GET /nosession``: never touches the session;
* ``POST /logout``: clears the session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CART_LIMIT = 20
SECRET_KEY = "benchmark-secret-key-not-for-production"


def endpoint_url() -> str:
    """The DynamoDB endpoint the contender talks to (the counting proxy)."""
    return os.environ.get("BENCH_ENDPOINT_URL", "http://127.0.0.1:8000")


def table_name() -> str:
    """The sessions table the harness created for this run."""
    return os.environ.get("BENCH_TABLE", "bench_sessions")


def skip_paths_enabled() -> bool:
    """Whether the contender should leave the session alone on ``/nosession``."""
    return os.environ.get("BENCH_SKIP_PATHS", "") == "1"


def lazy_enabled() -> bool:
    """Whether the contender loads the session only on the routes that use it."""
    return os.environ.get("BENCH_LAZY", "") == "1"


def session_bytes() -> int:
    """The size of a session's JSON at login, 0 for no padding."""
    return int(os.environ.get("BENCH_SESSION_BYTES") or 0)


def new_session(user: str, size: int) -> dict[str, Any]:
    """A logged-in session; with `size`, padded so that its compact JSON is `size` bytes."""
    session: dict[str, Any] = {"user": user, "cart": [], "counter": 0}
    if size:
        session["profile"] = ""
        used = len(json.dumps(session, separators=(",", ":")))
        session["profile"] = "x" * max(size - used, 0)
    return session


async def login(request: Request) -> JSONResponse:
    """Start a fresh session for ``?user=``."""
    user = request.query_params.get("user", "anonymous")
    session: dict[str, Any] = request.session
    session.clear()
    session.update(new_session(user, session_bytes()))
    return JSONResponse({"user": user})


async def read(request: Request) -> JSONResponse:
    """The session's user, counter and cart length."""
    session = request.session
    return JSONResponse(
        {
            "user": session.get("user"),
            "counter": session.get("counter"),
            "cart_len": len(session.get("cart", [])),
        }
    )


def _write(request: Request, *, nested_mutation: bool) -> JSONResponse:
    session = request.session
    user = session.get("user")
    if user is None:
        return JSONResponse({"error": "not logged in"}, status_code=401)
    item = int(request.query_params.get("item", "0"))
    if nested_mutation:
        cart = session["cart"]
        cart.append(item)
        if len(cart) > CART_LIMIT:
            del cart[0]
    else:
        session["cart"] = [*session.get("cart", []), item][-CART_LIMIT:]
    session["counter"] = int(session.get("counter", 0)) + 1
    return JSONResponse({"user": user, "counter": session["counter"]})


async def nosession(request: Request) -> JSONResponse:
    """Never touches the session."""
    return JSONResponse({"ok": True})


async def logout(request: Request) -> JSONResponse:
    """Clear the session."""
    request.session.clear()
    return JSONResponse({"ok": True})


#: What a lazy contender awaits before a route uses the session (``load_session``).
Loader = Callable[[Request], Awaitable[object]]


def build_app(*, nested_mutation: bool, load: Loader | None = None) -> Starlette:
    """The benchmark endpoints.

    With ``nested_mutation`` the write endpoint appends to ``session["cart"]`` in place, as
    dynamodb-sessions allows; otherwise it reassigns the list, which is what Starlette's
    and starsessions' sessions need to notice the change. With ``load``, every endpoint
    but ``/nosession`` awaits it first (dynamodb-sessions' ``load_session``, lazy mode).
    """

    async def write(request: Request) -> JSONResponse:
        return _write(request, nested_mutation=nested_mutation)

    def loading(endpoint: Callable[[Request], Awaitable[JSONResponse]]) -> Any:
        if load is None:
            return endpoint

        async def loaded(request: Request) -> JSONResponse:
            await load(request)
            return await endpoint(request)

        return loaded

    return Starlette(
        routes=[
            Route("/login", loading(login), methods=["POST"]),
            Route("/read", loading(read), methods=["GET"]),
            Route("/write", loading(write), methods=["POST"]),
            Route("/nosession", nosession, methods=["GET"]),
            Route("/logout", loading(logout), methods=["POST"]),
        ]
    )
