"""The store contract, run against every store: MemoryStore, and DynamoDBStore on
moto and on dynalite (real servers over HTTP, real boto3)."""

from __future__ import annotations

import pytest

from dynamodb_sessions import SessionConfigError, SessionConflictError, SessionStoreError
from tests.support import AnyStore, Clock, new_key, stored_data

pytestmark = pytest.mark.anyio


async def test_missing_key_loads_as_none(any_store: AnyStore) -> None:
    assert await any_store.load(new_key()) is None


async def test_created_session_loads_back(any_store: AnyStore, clock: Clock) -> None:
    key = new_key()
    await any_store.create(key, data={"user": '"ann"', "n": "1"}, expires=int(clock()) + 60)
    stored = await any_store.load(key)
    assert stored is not None
    assert dict(stored.data) == {"user": '"ann"', "n": "1"}
    assert stored.expires == int(clock()) + 60
    assert stored.created == int(clock())


async def test_expired_session_is_absent_though_still_stored(
    any_store: AnyStore, clock: Clock
) -> None:
    key = new_key()
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 10)
    clock.advance(9)
    assert await any_store.load(key) is not None
    clock.advance(1)  # expires is the first second at which the session is dead
    assert await any_store.load(key) is None


async def test_update_writes_only_the_given_keys(any_store: AnyStore, clock: Clock) -> None:
    key = new_key()
    await any_store.create(key, data={"a": "1", "b": "2", "c": "3"}, expires=int(clock()) + 60)
    await any_store.update(
        key, changed={"a": "10", "d": "4"}, removed={"c"}, expected=None, expires=int(clock()) + 120
    )
    stored = await any_store.load(key)
    assert stored is not None
    assert dict(stored.data) == {"a": "10", "b": "2", "d": "4"}
    assert stored.expires == int(clock()) + 120


async def test_two_updates_of_different_keys_both_persist(
    any_store: AnyStore, clock: Clock
) -> None:
    key = new_key()
    await any_store.create(key, data={"x": "0"}, expires=int(clock()) + 60)
    expires = int(clock()) + 60
    await any_store.update(
        key, changed={"a": "1"}, removed=(), expected={"a": None}, expires=expires
    )
    await any_store.update(
        key, changed={"b": "2"}, removed=(), expected={"b": None}, expires=expires
    )
    assert await stored_data(any_store, key) == {"x": "0", "a": "1", "b": "2"}


async def test_update_with_stale_expectation_conflicts_and_writes_nothing(
    any_store: AnyStore, clock: Clock
) -> None:
    key = new_key()
    expires = int(clock()) + 60
    await any_store.create(key, data={"n": "1", "other": "1"}, expires=expires)
    await any_store.update(
        key, changed={"n": "2"}, removed=(), expected={"n": "1"}, expires=expires
    )
    with pytest.raises(SessionConflictError) as caught:
        await any_store.update(
            key,
            changed={"n": "2", "other": "9"},
            removed=(),
            expected={"n": "1", "other": "1"},
            expires=expires,
        )
    assert caught.value.keys == {"n"}
    assert not caught.value.gone
    assert await stored_data(any_store, key) == {"n": "2", "other": "1"}


async def test_update_expecting_absence_conflicts_when_key_exists(
    any_store: AnyStore, clock: Clock
) -> None:
    key = new_key()
    await any_store.create(key, data={"k": '"v"'}, expires=int(clock()) + 60)
    with pytest.raises(SessionConflictError) as caught:
        await any_store.update(
            key, changed={"k": '"w"'}, removed=(), expected={"k": None}, expires=int(clock()) + 60
        )
    assert caught.value.keys == {"k"}


async def test_update_never_resurrects_a_deleted_session(any_store: AnyStore, clock: Clock) -> None:
    key = new_key()
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 60)
    await any_store.delete(key)
    with pytest.raises(SessionConflictError) as caught:
        await any_store.update(key, changed={"a": "2"}, removed=(), expected=None, expires=9**9)
    assert caught.value.gone
    assert await any_store.load(key) is None


async def test_update_never_resurrects_an_expired_session(
    any_store: AnyStore, clock: Clock
) -> None:
    key = new_key()
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 5)
    clock.advance(5)
    with pytest.raises(SessionConflictError) as caught:
        await any_store.update(
            key, changed={"a": "2"}, removed=(), expected=None, expires=int(clock()) + 60
        )
    assert caught.value.gone
    assert await any_store.load(key) is None


async def test_deleting_a_missing_key_is_fine(any_store: AnyStore) -> None:
    await any_store.delete(new_key())


async def test_create_refuses_an_existing_live_key(any_store: AnyStore, clock: Clock) -> None:
    key = new_key()
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 60)
    with pytest.raises(SessionStoreError):
        await any_store.create(key, data={"a": "2"}, expires=int(clock()) + 60)
    assert await stored_data(any_store, key) == {"a": "1"}


async def test_create_may_reuse_the_key_of_an_expired_session(
    any_store: AnyStore, clock: Clock
) -> None:
    key = new_key()
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 1)
    clock.advance(2)
    await any_store.create(key, data={"b": "2"}, expires=int(clock()) + 60)
    assert await stored_data(any_store, key) == {"b": "2"}


async def test_keys_with_dots_spaces_and_reserved_words(any_store: AnyStore, clock: Clock) -> None:
    key = new_key()
    odd = {"a.b": "1", "with space": "2", "ttl": "3", "#x": "4", ":v0": "5", "data": "6"}
    await any_store.create(key, data={}, expires=int(clock()) + 60)
    await any_store.update(
        key, changed=odd, removed=(), expected=dict.fromkeys(odd), expires=int(clock()) + 60
    )
    assert await stored_data(any_store, key) == odd


async def rotate(store: AnyStore, key: str, new: str, clock: Clock, *, version: int) -> None:
    await store.rotate(
        key,
        new,
        version=version,
        data={"user": '"ann"'},
        created=int(clock()) - 5,
        expires=int(clock()) + 60,
        user_id=store.hash_user_id("ann"),
        tombstone_expires=int(clock()) + 10,
    )


async def test_rotate_moves_the_session_and_leaves_a_tombstone(
    any_store: AnyStore, clock: Clock
) -> None:
    key, new = new_key(), new_key()
    ann = any_store.hash_user_id("ann")
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 60, user_id=ann)
    loaded = await any_store.load(key)
    assert loaded is not None
    await rotate(any_store, key, new, clock, version=loaded.version)
    moved = await any_store.load(new)
    assert moved is not None
    assert (dict(moved.data), moved.user_id, moved.rotated) == ({"user": '"ann"'}, ann, False)
    assert (moved.created, moved.expires) == (int(clock()) - 5, int(clock()) + 60)
    tombstone = await any_store.load(key)
    assert tombstone is not None
    assert (dict(tombstone.data), tombstone.user_id, tombstone.rotated) == ({}, None, True)
    clock.advance(10)
    assert await any_store.load(key) is None  # the tombstone lives `tombstone_expires` only


async def test_a_tombstone_refuses_every_write(any_store: AnyStore, clock: Clock) -> None:
    key = new_key()
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 60)
    await rotate(any_store, key, new_key(), clock, version=1)
    with pytest.raises(SessionConflictError) as update:
        await any_store.update(key, changed={"a": "2"}, removed=(), expected=None, expires=2**31)
    with pytest.raises(SessionConflictError) as delete:
        await any_store.delete(key)
    with pytest.raises(SessionConflictError) as again:
        await rotate(any_store, key, new_key(), clock, version=1)
    assert update.value.rotated
    assert delete.value.rotated
    assert again.value.gone
    tombstone = await any_store.load(key)
    assert tombstone is not None
    assert tombstone.rotated


async def test_rotate_refuses_a_changed_or_ended_session_and_creates_nothing(
    any_store: AnyStore, clock: Clock
) -> None:
    key, new = new_key(), new_key()
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 60)
    await any_store.update(key, changed={"b": "2"}, removed=(), expected=None, expires=2**31)
    with pytest.raises(SessionConflictError) as changed:
        await rotate(any_store, key, new, clock, version=1)  # loaded before the update
    assert not changed.value.gone
    assert await any_store.load(new) is None
    stored = await any_store.load(key)
    assert stored is not None
    assert dict(stored.data) == {"a": "1", "b": "2"}
    await any_store.delete(key)
    with pytest.raises(SessionConflictError) as ended:
        await rotate(any_store, key, new, clock, version=stored.version)
    assert ended.value.gone
    assert await any_store.load(new) is None


async def test_a_refresh_of_the_expiry_alone_keeps_the_version(
    any_store: AnyStore, clock: Clock
) -> None:
    key = new_key()
    await any_store.create(key, data={"a": "1"}, expires=int(clock()) + 60)
    await any_store.update(key, changed={}, removed=(), expected=None, expires=int(clock()) + 90)
    refreshed = await any_store.load(key)
    assert refreshed is not None
    assert refreshed.version == 1
    await any_store.update(key, changed={"a": "2"}, removed=(), expected=None, expires=2**31)
    written = await any_store.load(key)
    assert written is not None
    assert written.version == 2


async def test_every_write_sets_last_seen_and_keeps_the_device(
    any_store: AnyStore, clock: Clock
) -> None:
    key, new = new_key(), new_key()
    user = any_store.hash_user_id("ann")
    await any_store.create(key, data={}, expires=int(clock()) + 60, user_id=user, device="Firefox")
    stored = await any_store.load(key)
    assert stored is not None
    assert (stored.last_seen, stored.device) == (int(clock()), "Firefox")
    clock.advance(7)
    await any_store.update(key, changed={}, removed=(), expected=None, expires=int(clock()) + 60)
    stored = await any_store.load(key)
    assert stored is not None
    assert (stored.last_seen, stored.device, stored.version) == (int(clock()), "Firefox", 1)
    clock.advance(3)
    await any_store.update(
        key, changed={"a": "1"}, removed=(), expected=None, expires=int(clock()) + 60,
        device="Chrome",
    )  # fmt: skip
    await any_store.rotate(
        key, new, version=2, data={"a": "1"}, created=stored.created, expires=int(clock()) + 60,
        user_id=user, tombstone_expires=int(clock()) + 10, device="Chrome",
    )  # fmt: skip
    moved = await any_store.load(new)
    assert moved is not None
    assert (moved.last_seen, moved.device, moved.user_id) == (int(clock()), "Chrome", user)
    tombstone = await any_store.load(key)
    assert tombstone is not None
    assert tombstone.device is None


async def test_a_raw_user_id_is_refused(any_store: AnyStore, clock: Clock) -> None:
    key = new_key()
    with pytest.raises(SessionConfigError, match="hash_user_id"):
        await any_store.create(key, data={}, expires=int(clock()) + 60, user_id="ann@example.com")
    assert await any_store.load(key) is None
