"""`dynamodb_sessions.testing`, as an app's test suite uses it: a TestClient with a
seeded session, what requests stored, and time moved on the store's clock."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from dynamodb_sessions import (
    DynamoDBSessionDict,
    DynamoDBSessionMiddleware,
    DynamoDBStore,
    MemoryStore,
    SessionConfigError,
    SessionSerializationError,
)
from dynamodb_sessions.testing import AppSessions, FakeClock

DAY = 24 * 3600


def session_of(request: Request) -> DynamoDBSessionDict:
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    return session


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"session": dict(request.session), "bound": session_of(request).bound})


async def add(request: Request) -> JSONResponse:
    request.session["cart"] = [*request.session.get("cart", []), request.query_params["item"]]
    return JSONResponse(request.session["cart"])


async def sign_in(request: Request) -> PlainTextResponse:
    session = session_of(request)
    session.regenerate_id()
    session["user"] = "bob"
    session.bind_user("bob")
    return PlainTextResponse("ok")


async def sign_out(request: Request) -> PlainTextResponse:
    request.session.clear()
    return PlainTextResponse("bye")


ROUTES = [
    Route("/", whoami),
    Route("/add", add, methods=["POST"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
]


def make_app(**options: Any) -> Starlette:
    """An app as in production: a DynamoDBStore (never called in these tests)."""
    store = DynamoDBStore("never-used", region_name="us-east-1")
    settings = {"store": store, "secret_key": "test-secret-key", **options}
    return Starlette(routes=ROUTES, middleware=[Middleware(DynamoDBSessionMiddleware, **settings)])


@pytest.fixture
def sessions() -> Any:
    with AppSessions(make_app(max_age=DAY, absolute_lifetime=3 * DAY)) as sessions:
        yield sessions


def test_a_client_starts_with_a_seeded_user_bound_session(sessions: AppSessions) -> None:
    client = sessions.client({"user": "ann", "cart": ["tea"]}, user_id="ann")
    assert str(client.base_url) == "https://testserver"  # the cookie is Secure by default
    assert client.get("/").json() == {"session": {"user": "ann", "cart": ["tea"]}, "bound": True}
    assert sessions.user_id(client) == "ann"


def test_a_client_without_data_has_no_session(sessions: AppSessions) -> None:
    client = sessions.client()
    assert client.get("/").json() == {"session": {}, "bound": False}
    assert sessions.data(client) is None  # an empty session is never stored


def test_data_reads_back_what_requests_stored(sessions: AppSessions) -> None:
    client = sessions.client({"user": "ann"})
    client.post("/add", params={"item": "tea"})
    client.post("/add", params={"item": "cake"})
    assert sessions.data(client) == {"user": "ann", "cart": ["tea", "cake"]}
    assert sessions.user_id(client) is None


def test_data_follows_the_new_cookie_after_a_sign_in(sessions: AppSessions) -> None:
    client = sessions.client({"cart": ["tea"]})
    before = sessions.stored(client)
    client.post("/sign-in")
    assert sessions.data(client) == {"cart": ["tea"], "user": "bob"}
    assert sessions.user_id(client) == "bob"
    assert sessions.stored(client) is not before
    client.post("/sign-out")
    assert sessions.data(client) is None


def test_a_session_outlives_activity_within_its_idle_timeout(sessions: AppSessions) -> None:
    client = sessions.client({"user": "ann"})
    sessions.clock.advance(DAY - 1)
    assert client.get("/").json()["session"] == {"user": "ann"}


def test_a_session_ends_past_its_idle_timeout(sessions: AppSessions) -> None:
    client = sessions.client({"user": "ann"})
    sessions.clock.advance(DAY)
    assert sessions.data(client) is None
    assert client.get("/").json()["session"] == {}


def test_a_session_ends_at_its_absolute_lifetime_however_active(sessions: AppSessions) -> None:
    client = sessions.client({"user": "ann"})
    for _ in range(3):  # a request every 20 hours keeps sliding the idle expiry
        sessions.clock.advance(20 * 3600)
        assert client.get("/").json()["session"] == {"user": "ann"}
    sessions.clock.advance(12 * 3600)  # 72 hours since it was created
    assert client.get("/").json()["session"] == {}


def test_seed_checks_values_as_the_session_would() -> None:
    sessions = AppSessions(make_app())
    with pytest.raises(SessionSerializationError, match="session\\['when'\\]"):
        sessions.client({"when": object()})


def test_a_plain_http_cookie_gets_a_plain_http_client() -> None:
    with AppSessions(make_app(https_only=False)) as sessions:
        client = sessions.client({"n": 1})
        assert client.base_url.scheme == "http"
        assert client.get("/").json()["session"] == {"n": 1}


def test_leaving_the_block_puts_the_apps_store_back() -> None:
    app = make_app()
    with AppSessions(app) as sessions:
        middleware = sessions._middleware
        assert middleware.policy.store is sessions.store
    assert isinstance(middleware.policy.store, DynamoDBStore)


def test_a_store_of_ones_own_and_its_clock() -> None:
    clock = FakeClock(start=1_000_000)
    store = MemoryStore(clock=clock)
    with AppSessions(make_app(), store=store) as sessions:
        client = sessions.client({"n": 1})
        assert len(store) == 1
        assert sessions.clock is clock
        assert sessions.stored(client).created == 1_000_000  # type: ignore[union-attr]
    sessions = AppSessions(make_app(), store=MemoryStore())
    with pytest.raises(TypeError, match="can't be moved"):
        sessions.clock.advance(1)


def test_time_only_moves_forward() -> None:
    with pytest.raises(ValueError, match="only moves forward"):
        FakeClock().advance(-1)


def test_an_app_already_serving_requests_and_a_bare_middleware() -> None:
    app = make_app()
    TestClient(app).get("/")  # Starlette builds its middleware stack on the first request
    with AppSessions(app) as sessions:
        assert sessions.client({"n": 1}).get("/").json()["session"] == {"n": 1}
    bare = DynamoDBSessionMiddleware(
        Starlette(routes=ROUTES), store=MemoryStore(), secret_key="test-secret-key"
    )
    with AppSessions(bare) as sessions:
        assert sessions.client({"n": 2}).get("/").json()["session"] == {"n": 2}


def test_an_app_without_the_middleware_is_refused() -> None:
    with pytest.raises(SessionConfigError, match="no DynamoDBSessionMiddleware found"):
        AppSessions(Starlette(routes=ROUTES))


@pytest.mark.anyio
async def test_the_helpers_work_inside_an_async_test() -> None:
    with AppSessions(make_app()) as sessions:
        client = sessions.client({"n": 1}, user_id="ann")
        assert sessions.data(client) == {"n": 1}
        assert sessions.user_id(client) == "ann"


def test_the_public_names_are_pinned() -> None:
    import dynamodb_sessions.testing as testing

    assert testing.__all__ == ["AppSessions", "FakeClock"]
    for name in testing.__all__:
        assert getattr(testing, name).__doc__


def test_importing_it_loads_neither_pytest_nor_boto3_nor_httpx() -> None:
    code = (
        "import sys, dynamodb_sessions.testing; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pytest', '_pytest', 'boto3', 'botocore', 'httpx'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
