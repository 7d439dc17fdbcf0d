"""Two requests racing on one session, on dynalite: sign-in with requests in flight,
logout or revocation during a sign-in, a write during a sign-in, a refresh during a
logout. Each test holds one request after the middleware loaded its session, lets
another run to the end, then releases the first; it checks what each client was
told and what the table holds afterwards."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from devservers.dynamodb import LocalServer
from devservers.proxy import ProxyServer
from dynamodb_sessions import (
    DynamoDBSessionDict,
    DynamoDBSessionMiddleware,
    DynamoDBStore,
    MemoryStore,
    SessionStore,
)
from dynamodb_sessions._cookies import store_key
from tests.support import Clock, indexed_table, store_at_url, stored_item

pytestmark = pytest.mark.anyio
BASE = "https://t"


class Pause:
    """Holds a request (after its session was loaded) until the test releases it."""

    def __init__(self) -> None:
        self.arrived = anyio.Event()
        self.go = anyio.Event()

    async def wait(self) -> None:
        self.arrived.set()
        await self.go.wait()


async def paused(request: Request) -> None:
    name = request.query_params.get("pause")
    if name:
        await request.app.state.pauses.setdefault(name, Pause()).wait()


async def read(request: Request) -> Response:
    await paused(request)
    return JSONResponse(dict(request.session))


async def write(request: Request) -> Response:
    await paused(request)
    request.session[request.path_params["key"]] = request.query_params.get("value", "v")
    return JSONResponse(dict(request.session))


async def login(request: Request) -> Response:
    # What an OIDC callback does: bind the user, keep what the session held, new id.
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    user = request.query_params.get("user", "ann")
    session.bind_user(user)
    session["user"] = user
    session.regenerate_id()
    await paused(request)
    return PlainTextResponse("signed in")


async def logout(request: Request) -> Response:
    await paused(request)
    request.session.clear()
    return PlainTextResponse("signed out")


async def revoke(request: Request) -> Response:
    store: DynamoDBStore = request.app.state.store
    return JSONResponse(await store.revoke_user_sessions(request.query_params["user"]))


async def untouched(request: Request) -> Response:
    await paused(request)
    return PlainTextResponse("no session used")


def make_app(store: SessionStore, **options: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/read", read),
            Route("/write/{key}", write, methods=["POST"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/revoke", revoke, methods=["POST"]),
            Route("/none", untouched),
        ]
    )
    app.state.store = store
    app.state.pauses = {}
    app.add_middleware(DynamoDBSessionMiddleware, store=store, secret_key="test-secret", **options)
    return app


class Browser:
    """One browser: a cookie jar, and requests that may run concurrently."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.transport = httpx.ASGITransport(app=app)
        self.cookie: str | None = None

    async def send(
        self, method: str, path: str, *, cookie: str | None = None, keep: bool = True
    ) -> httpx.Response:
        """Send with `cookie` (default: the jar's); store a Set-Cookie in the jar if `keep`."""
        sent = cookie if cookie is not None else self.cookie
        cookies = {"session": sent} if sent else {}
        async with httpx.AsyncClient(
            transport=self.transport, base_url=BASE, cookies=cookies
        ) as client:
            response = await client.request(method, path)
        if keep and "set-cookie" in response.headers:
            value = response.cookies.get("session")
            self.cookie = value if value and value != "null" else None
        return response


@contextlib.asynccontextmanager
async def in_flight(
    app: Starlette, name: str, request: Awaitable[httpx.Response]
) -> AsyncIterator[list[httpx.Response]]:
    """Start `request`, wait until it is held at pause `name`, and on exit release it
    and wait for its answer (in the yielded list)."""
    pause = app.state.pauses.setdefault(name, Pause())
    answers: list[httpx.Response] = []

    async def run() -> None:
        answers.append(await request)

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        with anyio.fail_after(10):
            await pause.arrived.wait()
        try:
            yield answers
        finally:
            pause.go.set()


def items_holding(store: DynamoDBStore, marker: str) -> list[dict[str, Any]]:
    """Every live (non-tombstone) item whose data holds `marker` anywhere."""
    found = []
    pages = store.client.get_paginator("scan").paginate(TableName=store.table_name)
    for page in pages:
        for entry in page["Items"]:
            values = entry.get("data", {}).get("M", {}).values()
            if any(marker in value.get("S", "") for value in values):
                found.append(entry)
    return found


async def shopper(store: SessionStore, **options: Any) -> tuple[Browser, str]:
    """A browser of a new app whose session holds a cart: the browser and its cookie."""
    browser = Browser(make_app(store, **options))
    await browser.send("POST", "/write/cart?value=apple")
    assert browser.cookie is not None
    return browser, browser.cookie


@pytest.fixture
def store(dynalite_server: LocalServer, clock: Clock) -> DynamoDBStore:
    return store_at_url(dynalite_server, clock=clock)


@pytest.fixture
def indexed_store(dynalite_server: LocalServer, clock: Clock) -> DynamoDBStore:
    return store_at_url(dynalite_server, table=indexed_table(dynalite_server), clock=clock)


async def test_requests_in_flight_during_sign_in_never_sign_the_user_out(
    store: DynamoDBStore,
) -> None:
    browser, before = await shopper(store)
    app = browser.app
    # Two requests of a single-page app load the pre-login session, then the login runs.
    async with (
        in_flight(app, "w", browser.send("POST", "/write/theme?pause=w", keep=False)) as writer,
        in_flight(app, "r", browser.send("GET", "/read?pause=r", keep=False)) as reader,
    ):
        signed_in = await browser.send("POST", "/login?user=ann")
    assert signed_in.status_code == 200
    after = browser.cookie
    assert after is not None
    assert after != before
    # The writer is refused without a Set-Cookie (which would drop the new cookie).
    assert writer[0].status_code == 409
    assert "set-cookie" not in writer[0].headers
    assert reader[0].status_code == 200
    assert reader[0].json() == {"cart": "apple"}
    assert "set-cookie" not in reader[0].headers
    # Requests that start with the old cookie just after: empty, read-only, no cookie.
    late_read = await browser.send("GET", "/read", cookie=before, keep=False)
    assert (late_read.json(), "set-cookie" in late_read.headers) == ({}, False)
    late_write = await browser.send("POST", "/write/x", cookie=before, keep=False)
    assert (late_write.status_code, "set-cookie" in late_write.headers) == (409, False)
    # The user is signed in, with what the session held; the table agrees.
    assert (await browser.send("GET", "/read")).json() == {"cart": "apple", "user": "ann"}
    old = stored_item(store, before)
    assert old is not None
    assert "rotated" in old
    assert "data" not in old
    new = stored_item(store, after)
    assert new is not None
    assert new["data"]["M"] == {
        "cart": {"S": '"apple"'},
        "user": {"S": '"ann"'},
    }


async def test_the_pre_login_id_never_reaches_the_signed_in_session(
    store: DynamoDBStore, clock: Clock
) -> None:
    app = make_app(store, rotation_grace=60)
    attacker, victim = Browser(app), Browser(app)
    await attacker.send("POST", "/write/bait")
    fixed = attacker.cookie
    assert fixed is not None
    victim.cookie = fixed  # planted in the victim's browser
    await victim.send("POST", "/login?user=victim")
    assert victim.cookie != fixed
    assert (await attacker.send("GET", "/read")).json() == {}
    assert (await attacker.send("POST", "/write/steal")).status_code == 409
    clock.advance(61)  # the tombstone is dead: the old id is unknown
    assert (await attacker.send("GET", "/read")).json() == {}
    fresh = await attacker.send("POST", "/write/steal")
    assert fresh.json() == {"steal": "v"}  # a new anonymous session, nothing of the victim
    assert attacker.cookie not in (fixed, victim.cookie)
    assert (await victim.send("GET", "/read")).json() == {"bait": "v", "user": "victim"}


async def test_logout_during_sign_in_wins_and_nothing_is_created(
    store: DynamoDBStore,
) -> None:
    app = make_app(store)
    browser = Browser(app)
    await browser.send("POST", "/write/marker?value=logout-vs-login-" + store_key("a")[:8])
    before = browser.cookie
    assert before is not None
    async with in_flight(app, "l", browser.send("POST", "/login?pause=l", keep=False)) as login_:
        assert (await browser.send("POST", "/logout")).status_code == 200
    assert login_[0].status_code == 409
    assert "set-cookie" not in login_[0].headers
    assert stored_item(store, before) is None
    assert items_holding(store, "logout-vs-login-" + store_key("a")[:8]) == []


async def test_revocation_during_sign_in_wins_and_nothing_is_created(
    indexed_store: DynamoDBStore,
) -> None:
    app = make_app(indexed_store)
    browser = Browser(app)
    await browser.send("POST", "/login?user=rita")  # bound to rita
    before = browser.cookie
    assert before is not None
    async with in_flight(
        app, "l", browser.send("POST", "/login?user=rita&pause=l", keep=False)
    ) as login_:
        assert (await browser.send("POST", "/revoke?user=rita")).json() == 1
    assert login_[0].status_code == 409
    assert await indexed_store.list_user_sessions("rita") == []
    assert (await browser.send("GET", "/read", cookie=before)).json() == {}


@pytest.mark.parametrize(
    ("write", "signed_in", "session"),
    [
        # The sign-in rebases on the write that was answered 200 meanwhile.
        ("/write/theme?value=dark", 200, {"cart": "apple", "theme": "dark", "user": "ann"}),
        # A clash: nothing moves, the old session keeps the write that was answered 200.
        ("/write/user?value=eve", 409, {"cart": "apple", "user": "eve"}),
    ],
    ids=["another-key-is-kept", "the-same-key-refuses-the-sign-in"],
)
async def test_a_write_made_during_sign_in(
    store: DynamoDBStore, write: str, signed_in: int, session: dict[str, str]
) -> None:
    browser, before = await shopper(store)
    async with in_flight(browser.app, "l", browser.send("POST", "/login?pause=l")) as login_:
        assert (await browser.send("POST", write, keep=False)).status_code == 200
    assert login_[0].status_code == signed_in
    assert ("set-cookie" in login_[0].headers) is (signed_in == 200)
    assert (browser.cookie != before) is (signed_in == 200)
    assert (await browser.send("GET", "/read")).json() == session


async def test_logout_with_the_pre_login_cookie_after_sign_in_is_refused(
    store: DynamoDBStore,
) -> None:
    browser, _ = await shopper(store)
    logout = browser.send("POST", "/logout?pause=o", keep=False)
    async with in_flight(browser.app, "o", logout) as logout_:
        assert (await browser.send("POST", "/login")).status_code == 200
    assert logout_[0].status_code == 409
    assert "set-cookie" not in logout_[0].headers
    assert (await browser.send("GET", "/read")).json() == {"cart": "apple", "user": "ann"}


async def test_absolute_lifetime_survives_sign_in(store: DynamoDBStore, clock: Clock) -> None:
    app = make_app(store, absolute_lifetime=100)
    browser = Browser(app)
    created = int(clock())
    await browser.send("POST", "/write/cart")
    clock.advance(50)
    await browser.send("POST", "/login")
    assert browser.cookie is not None
    new = stored_item(store, browser.cookie)
    assert new is not None
    assert (new["created"]["N"], new["ttl"]["N"]) == (str(created), str(created + 100))
    clock.advance(49)
    assert (await browser.send("GET", "/read")).json() == {"cart": "v", "user": "ann"}
    clock.advance(1)
    assert (await browser.send("GET", "/read")).json() == {}


async def test_a_refresh_racing_a_logout_never_answers_409(store: DynamoDBStore) -> None:
    app = make_app(store, refresh_interval=0)  # every request refreshes the expiry
    browser = Browser(app)
    await browser.send("POST", "/write/cart")
    async with in_flight(app, "n", browser.send("GET", "/none?pause=n", keep=False)) as plain:
        assert (await browser.send("POST", "/logout")).status_code == 200
    assert plain[0].status_code == 200
    assert "set-cookie" not in plain[0].headers


async def test_a_failed_refresh_never_fails_a_request_that_did_not_use_the_session(
    dynalite_server: LocalServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = ProxyServer(dynalite_server.endpoint_url)
    await proxy.start()
    try:
        store = store_at_url(dynalite_server, proxy.url, clock=clock, max_attempts=2)
        app = make_app(store, refresh_interval=0)
        browser = Browser(app)
        await browser.send("POST", "/write/cart")
        request = browser.send("GET", "/none?pause=n", keep=False)
        with caplog.at_level(logging.WARNING, logger="dynamodb_sessions"):
            async with in_flight(app, "n", request) as plain:
                proxy.state.configure({"faults": {"500": 1.0}})
        assert plain[0].status_code == 200
        assert "set-cookie" not in plain[0].headers
        assert "expiry not refreshed" in caplog.text
    finally:
        await proxy.close()


async def test_a_sign_in_whose_answers_come_late_still_completes(store: DynamoDBStore) -> None:
    # Found in review: cut by store_timeout after the old item was retired but
    # before the answer, a sign-in left the browser on a tombstone (empty session,
    # every write 409) and the data in an item nobody could reach. A rotation now
    # runs to its end: late, but whole.
    browser, before = await shopper(store, store_timeout=1.0)
    real = store._call.send

    def late(operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        result = real(operation, kwargs)  # DynamoDB applies the write...
        if "rotated" in kwargs.get("UpdateExpression", ""):
            time.sleep(1.5)  # ...and its answer arrives after the request's deadline
        return result

    store._call.send = late  # type: ignore[method-assign]
    try:
        signed_in = await browser.send("POST", "/login")
    finally:
        store._call.send = real  # type: ignore[method-assign]
    assert signed_in.status_code == 200
    assert browser.cookie != before
    assert (await browser.send("GET", "/read")).json() == {"cart": "apple", "user": "ann"}


async def test_a_sign_in_that_only_binds_the_user_is_kept() -> None:
    # Found in review: a session holding no data but bound to a user counted as empty,
    # so this sign-in deleted the session and expired the cookie, answered 200.
    store = MemoryStore()

    async def bind_only(request: Request) -> Response:
        session = request.session
        assert isinstance(session, DynamoDBSessionDict)
        session.pop("next", None)
        session.regenerate_id()
        session.bind_user("ann")
        return PlainTextResponse("signed in")

    async def who(request: Request) -> Response:
        session = request.session
        assert isinstance(session, DynamoDBSessionDict)
        return JSONResponse(session.bound)  # to a user the table names by a hash only

    app = make_app(store)
    app.router.routes += [Route("/bind-only", bind_only, methods=["POST"]), Route("/who", who)]
    browser = Browser(app)
    await browser.send("POST", "/write/next?value=/account")
    response = await browser.send("POST", "/bind-only")
    assert response.status_code == 200
    assert "null" not in response.headers["set-cookie"]
    assert (await browser.send("GET", "/who")).json() is True
    assert await store.list_user_sessions("ann") != []
