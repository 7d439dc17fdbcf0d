"""A user's devices, at the store: the listing (one Query on DynamoDB, and with an
index that projects keys only), ending one session or all the others, hostile
handles, hashed user ids and the key they need; on every store. Through the
middleware: test_devices_middleware.py."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from devservers.dynamodb import LocalServer
from dynamodb_sessions import (
    DynamoDBStore,
    MemoryStore,
    SessionConfigError,
    UserSession,
)
from tests.support import (
    AnyStore,
    Clock,
    RequestCounter,
    StoreFactory,
    handle_of,
    handles,
    indexed_table,
    make_client,
    new_key,
    store_with_client,
    unique_name,
)


@pytest.fixture
def store(store_factory: StoreFactory) -> AnyStore:
    """Every store, on a table with the user index."""
    return store_factory(indexed_table)


@pytest.fixture
def ann() -> str:
    return unique_name("ann")


@pytest.fixture
def bob() -> str:
    return unique_name("bob")


async def bind(store: AnyStore, user: str, clock: Clock, device: str | None = None) -> str:
    key = new_key()
    await store.create(
        key, data={}, expires=int(clock()) + 60, user_id=store.hash_user_id(user), device=device
    )
    return key


# --- The store methods, on every store -------------------------------------------------


@pytest.mark.anyio
async def test_list_gives_each_device_with_its_times_label_and_handle(
    store: AnyStore, clock: Clock, ann: str, bob: str
) -> None:
    laptop = await bind(store, ann, clock, "Firefox on Linux")
    clock.advance(10)
    phone = await bind(store, ann, clock)
    await bind(store, bob, clock, "Edge on Windows")
    clock.advance(5)
    await store.update(laptop, changed={}, removed=(), expected=None, expires=int(clock()) + 60)

    listed = await store.list_user_sessions(ann, current=handle_of(phone))

    now = int(clock())
    assert listed == [  # most recently seen first
        UserSession(handle_of(laptop), now - 15, now, "Firefox on Linux", current=False),
        UserSession(handle_of(phone), now - 5, now - 5, "Unknown device", current=True),
    ]
    assert handle_of(laptop) not in laptop  # opaque: not the key, nor a part of it


@pytest.mark.anyio
async def test_revoke_session_ends_exactly_that_one(
    store: AnyStore, clock: Clock, ann: str, bob: str
) -> None:
    first, second, third = [await bind(store, ann, clock) for _ in range(3)]
    assert await store.revoke_session(ann, handle_of(second)) is True
    assert await store.load(second) is None
    assert handles(await store.list_user_sessions(ann)) == sorted(map(handle_of, [first, third]))
    assert await store.revoke_session(ann, handle_of(second)) is False  # ended already


@pytest.mark.anyio
async def test_revoke_with_keep_ends_all_the_others(
    store: AnyStore, clock: Clock, ann: str, bob: str
) -> None:
    keys = [await bind(store, ann, clock) for _ in range(3)]
    bobs = await bind(store, bob, clock)
    assert await store.revoke_user_sessions(ann, keep=handle_of(keys[1])) == 2
    assert handles(await store.list_user_sessions(ann)) == [handle_of(keys[1])]
    assert await store.load(bobs) is not None
    assert await store.revoke_user_sessions(ann, keep="no-such-handle") == 1


@pytest.mark.anyio
async def test_a_forged_or_another_users_handle_ends_nothing(
    store: AnyStore, clock: Clock, ann: str, bob: str
) -> None:
    anns, bobs = await bind(store, ann, clock), await bind(store, bob, clock)
    for forged in ("", "x", handle_of(anns) + "x", bobs, anns, "' OR 1=1", "\x00" * 16):
        assert await store.revoke_session(ann, forged) is False
    # Bob's handle, presented as Ann's: Ann can't end Bob's session.
    assert await store.revoke_session(ann, handle_of(bobs)) is False
    assert await store.revoke_session(ann + "-mallory", handle_of(anns)) is False
    assert await store.load(anns) is not None
    assert await store.load(bobs) is not None


@pytest.mark.anyio
async def test_stores_refuse_raw_user_ids_and_say_how_to_hash(
    store: AnyStore, clock: Clock, ann: str, bob: str
) -> None:
    with pytest.raises(SessionConfigError, match=r"store\.hash_user_id"):
        await store.create(new_key(), data={}, expires=int(clock()) + 60, user_id=ann)
    assert store.hash_user_id(ann) != store.hash_user_id(bob)
    assert ann not in store.hash_user_id(ann)


@pytest.mark.anyio
@pytest.mark.parametrize("make", [MemoryStore, lambda: DynamoDBStore("t")])
async def test_a_store_without_a_key_names_the_fix(make: Any) -> None:
    store = make()
    for call in (store.list_user_sessions(ann), store.revoke_user_sessions(ann)):
        with pytest.raises(SessionConfigError, match="user_id_key=") as caught:
            await call
        assert "secret_key" in str(caught.value)
        assert "DYNAMODB_SESSIONS_USER_ID_KEY" in str(caught.value)
    with pytest.raises(SessionConfigError, match="user_id_key"):
        MemoryStore(user_id_key="short")


# --- DynamoDB: one Query, the old projection, nothing raw in the table --------------------


@pytest.fixture
def indexed_store(server: LocalServer, clock: Clock) -> DynamoDBStore:
    return store_with_client(server, table=indexed_table(server), clock=clock)


@pytest.mark.anyio
async def test_listing_costs_one_query(
    indexed_store: DynamoDBStore, clock: Clock, ann: str
) -> None:
    for _ in range(5):
        await bind(indexed_store, ann, clock, "Safari on iOS")
    counter = RequestCounter(indexed_store.client)
    listed = await indexed_store.list_user_sessions(ann)
    assert len(listed) == 5
    assert {s.device for s in listed} == {"Safari on iOS"}
    assert counter.take() == {"Query": 1}


@pytest.mark.anyio
async def test_an_index_that_projects_keys_only_still_lists(
    server: LocalServer, clock: Clock, caplog: pytest.LogCaptureFixture, ann: str
) -> None:
    """A table created by an earlier release: a GetItem per session, and a hint, once."""
    table, client = unique_name("keys-only"), make_client(server.endpoint_url)
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "session_id", "AttributeType": "S"},
            {"AttributeName": "user_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "user_id-index",
                "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    while client.describe_table(TableName=table)["Table"]["TableStatus"] != "ACTIVE":
        await anyio.sleep(0.05)  # dynalite creates tables in the background
    store = store_with_client(server, table=table, clock=clock)
    keys = [await bind(store, ann, clock, "Chrome on Android") for _ in range(2)]
    counter = RequestCounter(store.client)
    with caplog.at_level(logging.WARNING, logger="dynamodb_sessions"):
        listed = await store.list_user_sessions(ann)
        await store.list_user_sessions(ann)
    assert handles(listed) == sorted(map(handle_of, keys))
    assert {s.device for s in listed} == {"Chrome on Android"}
    assert counter.take() == {"Query": 2, "GetItem": 4}
    hints = [r for r in caplog.records if "Upgrading the user index" in r.getMessage()]
    assert len(hints) == 1
    assert await store.revoke_user_sessions(ann, keep=handle_of(keys[0])) == 1
