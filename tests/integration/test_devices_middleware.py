"""A user's devices through the middleware, on moto and dynalite: the device list,
ending one session or all the others, handles, the table naming no user, `last_seen`
riding the refresh, device labels, and the migration of raw user ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from devservers.dynamodb import LocalServer
from dynamodb_sessions import (
    DynamoDBSessionDict,
    DynamoDBSessionMiddleware,
    DynamoDBStore,
    MemoryStore,
    SessionConfigError,
)
from dynamodb_sessions._devices import label_from_user_agent
from dynamodb_sessions.cli._rotate import rotate_keys
from dynamodb_sessions.stores._cipher import Cipher
from dynamodb_sessions.stores._users import UNKNOWN_DEVICE
from tests.support import (
    OTHER_KEY,
    TEST_KEY,
    Clock,
    RequestCounter,
    indexed_table,
    session_cookie,
    store_with_client,
    stored_item,
    unique_name,
)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)


@pytest.fixture
def indexed_store(server: LocalServer, clock: Clock) -> DynamoDBStore:
    return store_with_client(server, table=indexed_table(server), clock=clock)


# --- Through the middleware ---------------------------------------------------------------


async def login(request: Request) -> Response:
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    session.regenerate_id()
    session["signed_in"] = True  # the user id itself is not in the data
    session.bind_user(request.query_params["user"])
    return PlainTextResponse("signed in")


async def touch(request: Request) -> Response:
    return JSONResponse({"handle": request.session.handle})  # type: ignore[attr-defined]


async def devices(request: Request) -> Response:
    store: DynamoDBStore = request.app.state.store
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    listed = await store.list_user_sessions(request.query_params["user"], current=session.handle)
    return JSONResponse([[s.handle, s.device, s.current, s.last_seen] for s in listed])


async def end(request: Request) -> Response:
    store: DynamoDBStore = request.app.state.store
    user, handle = request.query_params["user"], request.query_params["handle"]
    return JSONResponse(await store.revoke_session(user, handle))


async def end_others(request: Request) -> Response:
    store: DynamoDBStore = request.app.state.store
    session = request.session
    assert isinstance(session, DynamoDBSessionDict)
    user = request.query_params["user"]
    return JSONResponse(await store.revoke_user_sessions(user, keep=session.handle))


def make_app(store: DynamoDBStore | MemoryStore, **options: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/touch", touch),
            Route("/devices", devices),
            Route("/end", end, methods=["POST"]),
            Route("/end-others", end_others, methods=["POST"]),
        ]
    )
    app.state.store = store
    app.add_middleware(DynamoDBSessionMiddleware, store=store, secret_key="test-secret", **options)
    return app


@pytest.fixture
def browsers(indexed_store: DynamoDBStore) -> Iterator[list[TestClient]]:
    app = make_app(indexed_store)
    agents = (FIREFOX, SAFARI_IPHONE, EDGE)
    clients = [
        TestClient(app, base_url="https://testserver", headers={"user-agent": agent})
        for agent in agents
    ]
    for client in clients:
        client.__enter__()
    yield clients
    for client in clients:
        client.__exit__(None, None, None)


def test_three_devices_end_one_then_all_the_others(browsers: list[TestClient]) -> None:
    laptop, phone, desktop = browsers
    user = unique_name("ann") + "@example.com"
    for browser in browsers:
        assert browser.post("/login", params={"user": user}).status_code == 200
    listed = laptop.get("/devices", params={"user": user}).json()
    assert sorted(d for _, d, _, _ in listed) == [
        "Edge on Windows",
        "Firefox on Linux",
        "Safari on iOS",
    ]
    assert [d for _, d, current, _ in listed if current] == ["Firefox on Linux"]
    phones = next(h for h, d, _, _ in listed if d == "Safari on iOS")

    assert laptop.post("/end", params={"user": user, "handle": phones}).json() is True
    assert phone.get("/touch").json() == {"handle": None}  # signed out: a fresh session
    assert len(laptop.get("/devices", params={"user": user}).json()) == 2

    assert laptop.post("/end-others", params={"user": user}).json() == 1
    assert desktop.get("/touch").json() == {"handle": None}
    (only,) = laptop.get("/devices", params={"user": user}).json()
    assert only[1:3] == ["Firefox on Linux", True]


def test_a_handle_is_none_until_stored_and_survives_nothing_of_the_id(
    indexed_store: DynamoDBStore,
) -> None:
    with TestClient(make_app(indexed_store), base_url="https://testserver") as browser:
        assert browser.get("/touch").json() == {"handle": None}
        cookie = session_cookie(browser.post("/login", params={"user": "eve"}))
        handle = browser.get("/touch").json()["handle"]
    assert handle is not None
    assert handle not in cookie
    assert handle not in json.dumps(stored_item(indexed_store, cookie))


def test_the_table_names_no_user(indexed_store: DynamoDBStore) -> None:
    user = f"{unique_name('scan')}@example.com"
    with TestClient(make_app(indexed_store), base_url="https://testserver") as browser:
        browser.post("/login", params={"user": user})
        assert len(browser.get("/devices", params={"user": user}).json()) == 1
    items: list[dict[str, Any]] = []
    for page in indexed_store.client.get_paginator("scan").paginate(
        TableName=indexed_store.table_name
    ):
        items += page["Items"]
    dumped = json.dumps(items, default=repr)  # sealed values (bytes) of other tests too
    assert user not in dumped
    assert user.split("@")[0] not in dumped
    assert indexed_store.hash_user_id(user) in dumped


def test_last_seen_moves_only_with_the_refresh_it_rides_on(
    indexed_store: DynamoDBStore, clock: Clock
) -> None:
    app, fay = make_app(indexed_store, refresh_interval=100), unique_name("fay")
    counter = RequestCounter(indexed_store.client)
    with TestClient(app, base_url="https://testserver") as browser:
        browser.post("/login", params={"user": fay})
        signed_in = int(clock())
        counter.take()
        clock.advance(50)
        browser.get("/touch")
        assert counter.take() == {"GetItem": 1}  # within the refresh window: no write
        (listed,) = anyio.run(indexed_store.list_user_sessions, fay)
        assert listed.last_seen == signed_in
        counter.take()
        clock.advance(60)
        browser.get("/touch")
        assert counter.take() == {"GetItem": 1, "UpdateItem": 1}  # the refresh, as before
        (listed,) = anyio.run(indexed_store.list_user_sessions, fay)
        assert listed.last_seen == signed_in + 110


def test_the_apps_own_label_and_a_failing_one(indexed_store: DynamoDBStore) -> None:
    def label(connection: HTTPConnection) -> str:
        return "  Kiosk\n" + connection.headers.get("x-kiosk", "?") + "x" * 100

    def broken(connection: HTTPConnection) -> str:
        raise RuntimeError("boom")

    def not_text(connection: HTTPConnection) -> Any:
        return 42

    cases = (
        (label, "Kiosk 7" + "x" * 57),
        (broken, "Unknown device"),
        (not_text, "Unknown device"),
    )
    for labeler, expected in cases:
        user = unique_name("label")
        app = make_app(indexed_store, device_label=labeler)
        with TestClient(app, base_url="https://testserver") as browser:
            response = browser.post("/login", params={"user": user}, headers={"x-kiosk": "7"})
            assert response.status_code == 200
        (listed,) = anyio.run(indexed_store.list_user_sessions, user)
        assert listed.device == expected


def test_device_label_must_be_callable() -> None:
    with pytest.raises(SessionConfigError, match="device_label must be a callable"):
        DynamoDBSessionMiddleware(
            Starlette(),
            store=MemoryStore(),
            secret_key="test-secret",
            device_label="Firefox",  # type: ignore[arg-type]
        )


def test_the_middleware_keys_a_store_without_one_with_its_first_secret() -> None:
    store = MemoryStore()
    DynamoDBSessionMiddleware(Starlette(), store=store, secret_key=["first-secret", "old-one"])
    assert store.user_id_key == "first-secret"
    assert store.hash_user_id("ann") == MemoryStore(user_id_key="first-secret").hash_user_id("ann")
    own = MemoryStore(user_id_key="own-user-id-key")
    DynamoDBSessionMiddleware(Starlette(), store=own, secret_key="first-secret")
    assert own.user_id_key == "own-user-id-key"


def test_a_binding_from_before_hashing_is_rewritten_on_its_next_request(
    indexed_store: DynamoDBStore,
) -> None:
    """The migration: an item that names its user is hashed by its next request."""
    user = unique_name("legacy")
    with TestClient(make_app(indexed_store), base_url="https://testserver") as browser:
        cookie = session_cookie(browser.post("/login", params={"user": user}))
        item = stored_item(indexed_store, cookie)
        assert item is not None
        indexed_store.client.update_item(  # as an earlier release wrote it
            TableName=indexed_store.table_name,
            Key={"session_id": item["session_id"]},
            UpdateExpression="SET user_id = :raw",
            ExpressionAttributeValues={":raw": {"S": user}},
        )
        assert anyio.run(indexed_store.list_user_sessions, user) == []  # meanwhile: unseen
        counter = RequestCounter(indexed_store.client)
        assert browser.get("/touch").status_code == 200
        assert counter.take() == {"GetItem": 1, "UpdateItem": 1}
        browser.get("/touch")
        assert counter.take() == {"GetItem": 1}  # once
    assert stored_item(indexed_store, cookie)["user_id"] == {  # type: ignore[index]
        "S": indexed_store.hash_user_id(user)
    }
    assert len(anyio.run(indexed_store.list_user_sessions, user)) == 1


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (FIREFOX, "Firefox on Linux"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (EDGE, "Edge on Windows"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "Safari on macOS",
        ),
        ("curl/8.5.0", "Unknown device"),
        ("", "Unknown device"),
        (None, "Unknown device"),
    ],
)
def test_labels_name_the_browser_and_os_families_only(agent: str | None, label: str) -> None:
    assert label_from_user_agent(agent) == label


def test_with_encryption_the_device_label_is_sealed_and_still_listed(server: LocalServer) -> None:
    sealed = store_with_client(
        server, table=indexed_table(server), clock=Clock(), encryption_keys=[TEST_KEY]
    )
    user = unique_name("sealed")
    with TestClient(
        make_app(sealed), base_url="https://testserver", headers={"user-agent": FIREFOX}
    ) as browser:
        cookie = session_cookie(browser.post("/login", params={"user": user}))
        listed = browser.get("/devices", params={"user": user}).json()
    assert [device for _, device, _, _ in listed] == ["Firefox on Linux"]
    item = stored_item(sealed, cookie)
    assert item is not None
    assert "B" in item["device"]  # sealed, bound to this session and attribute
    assert b"Firefox" not in item["device"]["B"]
    # Without the key the label can't be read: listed as an unknown device.
    keyless = store_with_client(server, table=sealed.table_name, clock=sealed.clock)
    assert [s.device for s in anyio.run(keyless.list_user_sessions, user)] == [UNKNOWN_DEVICE]


def test_rotate_keys_seals_the_device_label_with_the_new_key(server: LocalServer) -> None:
    table, clock = indexed_table(server), Clock()
    old = store_with_client(server, table=table, clock=clock, encryption_keys=[TEST_KEY])
    user = unique_name("rotated")
    with TestClient(
        make_app(old), base_url="https://testserver", headers={"user-agent": FIREFOX}
    ) as browser:
        browser.post("/login", params={"user": user})
    rotate_keys(old.client, table, Cipher([OTHER_KEY, TEST_KEY]))
    new_only = store_with_client(server, table=table, clock=clock, encryption_keys=[OTHER_KEY])
    assert [s.device for s in anyio.run(new_only.list_user_sessions, user)] == ["Firefox on Linux"]
