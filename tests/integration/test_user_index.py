"""Binding sessions to users, and revoking every session of a user ("sign out
everywhere"): the store methods on every store, and the middleware end to end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import (
    DynamoDBSessionDict,
    DynamoDBSessionMiddleware,
    DynamoDBStore,
    SessionConflictError,
    SessionDataError,
    SessionStoreError,
)
from tests.support import (
    EXPIRED,
    AnyStore,
    Clock,
    RequestCounter,
    StoreFactory,
    handle_of,
    handles,
    indexed_table,
    new_key,
    store_at_url,
    store_with_client,
)


@pytest.fixture
def store(store_factory: StoreFactory) -> AnyStore:
    """Every store, on a table with the user index."""
    return store_factory(indexed_table)


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


# --- The store methods, on every store -------------------------------------------------


@pytest.mark.anyio
async def test_create_binds_the_session_to_a_user(store: AnyStore, clock: Clock) -> None:
    key, user = new_key(), new_user()
    await store.create(
        key, data={"a": "1"}, expires=int(clock()) + 60, user_id=store.hash_user_id(user)
    )
    stored = await store.load(key)
    assert stored is not None
    assert stored.user_id == store.hash_user_id(user) != user
    assert handles(await store.list_user_sessions(user)) == [handle_of(key)]


@pytest.mark.anyio
async def test_update_binds_and_none_leaves_the_binding(store: AnyStore, clock: Clock) -> None:
    key, user = new_key(), new_user()
    expires = int(clock()) + 60
    await store.create(key, data={"a": "1"}, expires=expires)
    assert (await store.load(key)).user_id is None  # type: ignore[union-attr]
    hashed = store.hash_user_id(user)
    await store.update(key, changed={}, removed=(), expected=None, expires=expires, user_id=hashed)
    await store.update(key, changed={"a": "2"}, removed=(), expected=None, expires=expires)
    stored = await store.load(key)
    assert stored is not None
    assert (stored.user_id, dict(stored.data)) == (hashed, {"a": "2"})


@pytest.mark.anyio
async def test_list_returns_the_users_live_sessions_only(store: AnyStore, clock: Clock) -> None:
    ann, bob = new_user(), new_user()
    short, long, other = new_key(), new_key(), new_key()
    await store.create(short, data={}, expires=int(clock()) + 5, user_id=store.hash_user_id(ann))
    await store.create(long, data={}, expires=int(clock()) + 60, user_id=store.hash_user_id(ann))
    await store.create(other, data={}, expires=int(clock()) + 60, user_id=store.hash_user_id(bob))
    assert handles(await store.list_user_sessions(ann)) == sorted(map(handle_of, [short, long]))
    clock.advance(5)
    assert handles(await store.list_user_sessions(ann)) == [handle_of(long)]
    assert await store.list_user_sessions(new_user()) == []


@pytest.mark.anyio
async def test_revoke_ends_every_session_of_the_user_only(store: AnyStore, clock: Clock) -> None:
    ann, bob = new_user(), new_user()
    first, second, bobs = new_key(), new_key(), new_key()
    for key, user in ((first, ann), (second, ann), (bobs, bob)):
        hashed = store.hash_user_id(user)
        await store.create(key, data={"u": "1"}, expires=int(clock()) + 60, user_id=hashed)
    assert await store.revoke_user_sessions(ann) == 2
    assert await store.load(first) is None
    assert await store.load(second) is None
    assert await store.load(bobs) is not None
    assert await store.revoke_user_sessions(ann) == 0
    with pytest.raises(SessionConflictError) as caught:  # a revoked session never comes back
        await store.update(first, changed={"u": "2"}, removed=(), expected=None, expires=9**9)
    assert caught.value.gone


@pytest.mark.anyio
async def test_a_rebound_session_belongs_to_its_new_user(store: AnyStore, clock: Clock) -> None:
    ann, bob, key = new_user(), new_user(), new_key()
    expires = int(clock()) + 60
    await store.create(key, data={}, expires=expires, user_id=store.hash_user_id(ann))
    await store.update(
        key, changed={}, removed=(), expected=None, expires=expires, user_id=store.hash_user_id(bob)
    )
    assert await store.list_user_sessions(ann) == []
    assert await store.revoke_user_sessions(ann) == 0
    assert handles(await store.list_user_sessions(bob)) == [handle_of(key)]


@pytest.mark.anyio
async def test_revoke_pages_through_many_sessions(store: AnyStore, clock: Clock) -> None:
    user = new_user()
    keys = [new_key() for _ in range(30)]
    for key in keys:
        await store.create(key, data={"pad": '"' + "x" * 2000 + '"'}, expires=int(clock()) + 60,
                           user_id=store.hash_user_id(user))  # fmt: skip
    assert handles(await store.list_user_sessions(user)) == sorted(map(handle_of, keys))
    assert await store.revoke_user_sessions(user) == 30
    assert await store.list_user_sessions(user) == []


@pytest.mark.anyio
async def test_a_table_without_the_index_says_how_to_add_it(server: LocalServer) -> None:
    for store in (store_with_client(server), store_at_url(server)):
        with pytest.raises(SessionStoreError, match="create-table --with-user-index"):
            await store.revoke_user_sessions("ann")


def test_bind_user_refuses_an_empty_or_huge_id() -> None:
    session = DynamoDBSessionDict()
    for bad in ("", "x" * 1025):
        with pytest.raises(SessionDataError, match="user_id"):
            session.bind_user(bad)
    session.bind_user("x" * 1024)
    assert session.user_id == "x" * 1024


def test_clear_drops_the_binding_and_regenerate_keeps_it() -> None:
    session = DynamoDBSessionDict({"a": "1"}, user_id="ann")
    session.regenerate_id()
    assert session.user_id == "ann"
    session.clear()
    assert session.user_id is None


# --- Through the middleware -------------------------------------------------------------


async def login(request: Request) -> Response:
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    session.regenerate_id()
    session["user"] = request.query_params["user"]
    session.bind_user(request.query_params["user"])
    return PlainTextResponse("signed in")


async def bind_only(request: Request) -> Response:
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    session.bind_user(request.query_params["user"])
    return PlainTextResponse("bound")


async def read(request: Request) -> Response:
    return JSONResponse(dict(request.session))


async def set_values(request: Request) -> Response:
    request.session.update(await request.json())
    return JSONResponse(dict(request.session))


async def sign_out_everywhere(request: Request) -> Response:
    # What the reference app's account page does.
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    store: DynamoDBStore = request.app.state.store
    assert session.bound  # session.user_id is None: the table keeps only its hash
    ended = await store.revoke_user_sessions(session["user"])
    session.clear()  # this session was among them: end it here too, without a 409
    return JSONResponse({"ended": ended})


async def revoke_then_set(request: Request) -> Response:
    request.session["seen"] = True  # loaded before the revoke
    store: DynamoDBStore = request.app.state.store
    await store.revoke_user_sessions(request.query_params["user"])
    request.session["after"] = True
    return PlainTextResponse("saved?")


def make_app(store: DynamoDBStore) -> Starlette:
    app = Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/bind", bind_only, methods=["POST"]),
            Route("/read", read),
            Route("/set", set_values, methods=["POST"]),
            Route("/sign-out-everywhere", sign_out_everywhere, methods=["POST"]),
            Route("/revoke-then-set", revoke_then_set, methods=["POST"]),
        ]
    )
    app.state.store = store
    app.add_middleware(DynamoDBSessionMiddleware, store=store, secret_key="test-secret")
    return app


@pytest.fixture
def indexed_store(server: LocalServer, clock: Clock) -> DynamoDBStore:
    return store_with_client(server, table=indexed_table(server), clock=clock)


@pytest.fixture
def app(indexed_store: DynamoDBStore) -> Starlette:
    return make_app(indexed_store)


@pytest.fixture
def browsers(app: Starlette) -> Iterator[list[TestClient]]:
    """Three browsers of the same app, each with its own cookie jar."""
    clients = [TestClient(app, base_url="https://testserver") for _ in range(3)]
    for client in clients:
        client.__enter__()
    yield clients
    for client in clients:
        client.__exit__(None, None, None)


def test_revoke_signs_out_every_browser_of_the_user_only(
    browsers: list[TestClient], indexed_store: DynamoDBStore
) -> None:
    laptop, phone, other = browsers
    ann, bob = new_user(), new_user()
    for browser, user in ((laptop, ann), (phone, ann), (other, bob)):
        assert browser.post("/login", params={"user": user}).status_code == 200
        browser.post("/set", json={"cart": [1, 2]})
    response = laptop.post("/sign-out-everywhere")
    assert response.json() == {"ended": 2}
    assert EXPIRED in response.headers["set-cookie"]
    # The phone's very next request, in the same second, finds no session.
    response = phone.get("/read")
    assert response.json() == {}
    assert EXPIRED in response.headers["set-cookie"]
    assert other.get("/read").json() == {"user": bob, "cart": [1, 2]}


def test_a_save_racing_the_revoke_never_brings_the_session_back(
    browsers: list[TestClient], indexed_store: DynamoDBStore
) -> None:
    phone = browsers[0]
    user = new_user()
    phone.post("/login", params={"user": user})
    # The revoke lands after this request loaded the session and before it saves.
    response = phone.post("/revoke-then-set", params={"user": user})
    assert response.status_code == 409
    # A 409 leaves the cookie alone (the browser may hold a newer one by now); the
    # next request finds the session gone.
    assert "set-cookie" not in response.headers
    assert anyio.run(indexed_store.list_user_sessions, user) == []
    assert phone.get("/read").json() == {}


def test_binding_costs_no_extra_request(app: Starlette, indexed_store: DynamoDBStore) -> None:
    counter = RequestCounter(indexed_store.client)
    user = new_user()
    with TestClient(app, base_url="https://testserver") as browser:
        browser.post("/set", json={"a": 1})
        assert counter.take() == {"PutItem": 1}  # unbound, as before
        browser.post("/login", params={"user": user})
        assert counter.take() == {"GetItem": 1, "PutItem": 1, "UpdateItem": 1}
        browser.get("/read")
        assert counter.take() == {"GetItem": 1}  # bound and read-only: no write
        browser.post("/bind", params={"user": user})
        assert counter.take() == {"GetItem": 1}  # bound to the same user: no write
        browser.post("/bind", params={"user": new_user()})
        assert counter.take() == {"GetItem": 1, "UpdateItem": 1}
    with TestClient(app, base_url="https://testserver") as fresh:
        fresh.post("/bind", params={"user": user})
        # A session bound to a user is stored even without data: it is a sign-in.
        assert counter.take() == {"PutItem": 1}


def test_the_binding_survives_login_rotation(app: Starlette, indexed_store: DynamoDBStore) -> None:
    user = new_user()
    with TestClient(app, base_url="https://testserver") as browser:
        browser.post("/login", params={"user": user})
        first = anyio.run(indexed_store.list_user_sessions, user)
        browser.post("/login", params={"user": user})  # regenerate_id: a new key, same user
        second = anyio.run(indexed_store.list_user_sessions, user)
    assert len(first) == len(second) == 1
    assert first != second
