# mypy: disable-error-code="unreachable"
# (upstream asserts `not session.modified`, then mutates and asserts it again: mypy
# narrows the attribute to False and calls the second assert unreachable.)
"""Starlette's own SessionMiddleware tests, run against DynamoDBSessionMiddleware.

A drop-in must pass them all. Ported from Starlette 1.10.0 (the version installed
here): `tests/middleware/test_session.py` as shipped in the starlette-1.10.0 sdist,
Copyright (c) 2018, Encode OSS Ltd., BSD 3-Clause licence. Every test runs twice:
with a MemoryStore and with a DynamoDBStore on moto. The test bodies below the
marker are upstream's, unchanged; what differs is defined above it:

- `SessionMiddleware` is DynamoDBSessionMiddleware on the store under test, with
  Starlette's default `https_only=False` (ours is True; these tests use http URLs).
- `Session` is DynamoDBSessionDict, whose constructor takes the stored JSON text
  of each value: upstream's "1" and "2" are JSON texts too (of the ints 1 and 2).
- `test_client_factory` is a plain TestClient factory (upstream's also runs trio).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Literal

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from devservers.dynamodb import LocalServer
from dynamodb_sessions import DynamoDBSessionDict as Session
from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore, MemoryStore
from dynamodb_sessions.stores._base import SessionStore
from tests.support import make_client, sessions_table

TestClientFactory = Callable[..., TestClient]
_stores: list[SessionStore] = []
SameSite = Literal["lax", "strict", "none"]


class SessionMiddleware(DynamoDBSessionMiddleware):
    """DynamoDBSessionMiddleware as upstream's tests build SessionMiddleware."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_key: str,
        max_age: int | None = 14 * 24 * 60 * 60,
        path: str = "/",
        same_site: SameSite = "lax",
        https_only: bool = False,
        domain: str | None = None,
        partitioned: bool = False,
    ) -> None:
        super().__init__(
            app,
            store=_stores[-1],
            secret_key=secret_key,
            max_age=max_age,
            path=path,
            same_site=same_site,
            https_only=https_only,
            domain=domain,
            partitioned=partitioned,
        )


@pytest.fixture(autouse=True, params=["memory", "moto"])
def store(request: pytest.FixtureRequest) -> Iterator[SessionStore]:
    if request.param == "memory":
        store: SessionStore = MemoryStore()
    else:
        server: LocalServer = request.getfixturevalue("moto_server")
        store = DynamoDBStore(sessions_table(server), client=make_client(server.endpoint_url))
    _stores.append(store)
    yield store
    _stores.remove(store)


@pytest.fixture
def test_client_factory() -> TestClientFactory:
    return functools.partial(TestClient)


# ---- Upstream's module, from here on unchanged ----


def view_session(request: Request) -> JSONResponse:
    return JSONResponse({"session": request.session})


async def update_session(request: Request) -> JSONResponse:
    data = await request.json()
    request.session.update(data)
    return JSONResponse({"session": request.session})


async def inplace_update_session(request: Request) -> JSONResponse:
    data = await request.json()
    session = request.session
    session |= data
    return JSONResponse({"session": request.session})


async def popitem_session(request: Request) -> JSONResponse:
    request.session.popitem()
    return JSONResponse({"session": request.session})


async def clear_session(request: Request) -> JSONResponse:
    request.session.clear()
    return JSONResponse({"session": request.session})


def no_session_access(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def test_session(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
            Route("/clear_session", endpoint=clear_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example")],
    )
    client = test_client_factory(app)

    response = client.get("/view_session")
    assert response.json() == {"session": {}}

    response = client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}

    # check cookie max-age
    set_cookie = response.headers["set-cookie"]
    max_age_matches = re.search(r"; Max-Age=([0-9]+);", set_cookie)
    assert max_age_matches is not None
    assert int(max_age_matches[1]) == 14 * 24 * 3600

    response = client.get("/view_session")
    assert response.json() == {"session": {"some": "data"}}

    response = client.post("/clear_session")
    assert response.json() == {"session": {}}

    response = client.get("/view_session")
    assert response.json() == {"session": {}}


@pytest.mark.parametrize("partitioned", [False, True])
def test_partitioned_session(test_client_factory: TestClientFactory, partitioned: bool) -> None:
    app = Starlette(
        routes=[
            Route("/update_session", endpoint=update_session, methods=["POST"]),
            Route("/clear_session", endpoint=clear_session, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key="example",
                https_only=True,
                same_site="none",
                partitioned=partitioned,
            )
        ],
    )
    client = test_client_factory(app, base_url="https://testserver")
    response = client.post("/update_session", json={"some": "data"})
    attributes = response.headers["set-cookie"].split("; ")
    assert ("partitioned" in attributes) is partitioned

    response = client.post("/clear_session")
    attributes = response.headers["set-cookie"].split("; ")
    assert ("partitioned" in attributes) is partitioned


def test_session_expires(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example", max_age=-1)],
    )
    client = test_client_factory(app)

    response = client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}

    # requests removes expired cookies from response.cookies, we need to
    # fetch session id from the headers and pass it explicitly
    expired_cookie_header = response.headers["set-cookie"]
    expired_session_match = re.search(r"session=([^;]*);", expired_cookie_header)
    assert expired_session_match is not None
    expired_session_value = expired_session_match[1]
    client = test_client_factory(app, cookies={"session": expired_session_value})
    response = client.get("/view_session")
    assert response.json() == {"session": {}}


def test_secure_session(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
            Route("/clear_session", endpoint=clear_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example", https_only=True)],
    )
    secure_client = test_client_factory(app, base_url="https://testserver")
    unsecure_client = test_client_factory(app, base_url="http://testserver")

    response = unsecure_client.get("/view_session")
    assert response.json() == {"session": {}}

    response = unsecure_client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}

    response = unsecure_client.get("/view_session")
    assert response.json() == {"session": {}}

    response = secure_client.get("/view_session")
    assert response.json() == {"session": {}}

    response = secure_client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}

    response = secure_client.get("/view_session")
    assert response.json() == {"session": {"some": "data"}}

    response = secure_client.post("/clear_session")
    assert response.json() == {"session": {}}

    response = secure_client.get("/view_session")
    assert response.json() == {"session": {}}


def test_session_cookie_subpath(test_client_factory: TestClientFactory) -> None:
    second_app = Starlette(
        routes=[
            Route("/update_session", endpoint=update_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example", path="/second_app")],
    )
    app = Starlette(routes=[Mount("/second_app", app=second_app)])
    client = test_client_factory(app, base_url="http://testserver/second_app")
    response = client.post("/update_session", json={"some": "data"})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    cookie_path_match = re.search(r"; path=(\S+);", cookie)
    assert cookie_path_match is not None
    cookie_path = cookie_path_match.groups()[0]
    assert cookie_path == "/second_app"


def test_invalid_session_cookie(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example")],
    )
    client = test_client_factory(app)

    response = client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}

    # we expect it to not raise an exception if we provide a bogus session cookie
    client = test_client_factory(app, cookies={"session": "invalid"})
    response = client.get("/view_session")
    assert response.json() == {"session": {}}


def test_session_cookie(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example", max_age=None)],
    )
    client: TestClient = test_client_factory(app)

    response = client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}

    # check cookie max-age
    set_cookie = response.headers["set-cookie"]
    assert "Max-Age" not in set_cookie

    client.cookies.delete("session")
    response = client.get("/view_session")
    assert response.json() == {"session": {}}


def test_session_zero_max_age(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[Route("/update_session", endpoint=update_session, methods=["POST"])],
        middleware=[Middleware(SessionMiddleware, secret_key="example", max_age=0)],
    )
    client = test_client_factory(app)

    response = client.post("/update_session", json={"some": "data"})
    assert "; Max-Age=0; " in response.headers["set-cookie"]


def test_domain_cookie(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example", domain=".example.com")],
    )
    client: TestClient = test_client_factory(app)

    response = client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}

    # check cookie max-age
    set_cookie = response.headers["set-cookie"]
    assert "domain=.example.com" in set_cookie

    client.cookies.delete("session")
    response = client.get("/view_session")
    assert response.json() == {"session": {}}


def test_set_cookie_only_on_modification(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example")],
    )
    client = test_client_factory(app)

    # Write to session - should send Set-Cookie
    response = client.post("/update_session", json={"some": "data"})
    assert "set-cookie" in response.headers

    # Read-only access - should NOT send Set-Cookie
    response = client.get("/view_session")
    assert response.json() == {"session": {"some": "data"}}
    assert "set-cookie" not in response.headers


def test_vary_cookie_on_access(test_client_factory: TestClientFactory) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
            Route("/no_session", endpoint=no_session_access),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example")],
    )
    client = test_client_factory(app)

    # Modifying session should add Vary: Cookie
    response = client.post("/update_session", json={"some": "data"})
    assert "cookie" in response.headers.get("vary", "").lower()

    # Reading a non-empty session should add Vary: Cookie
    response = client.get("/view_session")
    assert "cookie" in response.headers.get("vary", "").lower()

    # Not accessing session at all should NOT add Vary: Cookie
    response = client.get("/no_session")
    assert "cookie" not in response.headers.get("vary", "").lower()


def test_session_tracks_modification() -> None:
    session = Session({"a": "1", "b": "2"})
    assert not session.modified

    # __setitem__
    session["c"] = "3"
    assert session.modified

    # __delitem__
    session = Session({"a": "1"})
    del session["a"]
    assert session.modified

    # clear
    session = Session({"a": "1"})
    session.clear()
    assert session.modified

    # pop with existing key
    session = Session({"a": "1"})
    session.pop("a")
    assert session.modified
    assert session.accessed

    # pop with missing key
    session = Session({"a": "1"})
    session.pop("missing", None)
    assert not session.modified
    assert not session.accessed

    # setdefault with missing key
    session = Session({"a": "1"})
    session.setdefault("b", "2")
    assert session.modified

    # setdefault with existing key
    session = Session({"a": "1"})
    session.setdefault("a", "2")
    assert not session.modified


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        ("/inplace_update_session", {"c": "3"}, {"a": "1", "b": "2", "c": "3"}),
        ("/popitem_session", None, {"a": "1"}),
    ],
)
def test_session_persists_mutations(
    test_client_factory: TestClientFactory,
    path: str,
    data: dict[str, str] | None,
    expected: dict[str, str],
) -> None:
    app = Starlette(
        routes=[
            Route("/view_session", endpoint=view_session),
            Route("/update_session", endpoint=update_session, methods=["POST"]),
            Route("/inplace_update_session", endpoint=inplace_update_session, methods=["POST"]),
            Route("/popitem_session", endpoint=popitem_session, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="example")],
    )
    client = test_client_factory(app)

    response = client.post("/update_session", json={"a": "1", "b": "2"})
    assert response.json() == {"session": {"a": "1", "b": "2"}}

    response = client.post(path, json=data)
    assert response.json() == {"session": expected}

    response = client.get("/view_session")
    assert response.json() == {"session": expected}
