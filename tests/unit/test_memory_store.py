"""MemoryStore specifics beyond the shared contract: its bounds on memory, in
sessions and in bytes."""

from __future__ import annotations

import pytest

from dynamodb_sessions import MemoryStore, SessionConfigError, SessionTooLargeError
from tests.support import Clock, stored_data

pytestmark = pytest.mark.anyio


async def test_least_recently_used_sessions_go_first_past_the_cap() -> None:
    store = MemoryStore(max_entries=2, clock=lambda: 1000.0)
    await store.create("a", data={}, expires=2000)
    await store.create("b", data={}, expires=2000)
    assert await store.load("a") is not None  # "a" is now the most recently used
    await store.create("c", data={}, expires=2000)
    assert len(store) == 2
    assert await store.load("b") is None
    assert await store.load("a") is not None
    assert await store.load("c") is not None


def text(size: int) -> str:
    return "x" * size


async def test_least_recently_used_sessions_go_first_past_the_byte_budget() -> None:
    store = MemoryStore(max_bytes=1000, clock=lambda: 1000.0)
    await store.create("a", data={"k": text(399)}, expires=2000)  # 400 bytes: key + value
    await store.create("b", data={"k": text(399)}, expires=2000)
    assert await store.load("a") is not None  # "a" is now the most recently used
    await store.create("c", data={"k": text(399)}, expires=2000)
    assert await store.load("b") is None
    assert await store.load("a") is not None
    assert await store.load("c") is not None
    assert len(store) == 2


async def test_an_update_that_grows_a_session_evicts_others() -> None:
    store = MemoryStore(max_bytes=1000, clock=lambda: 1000.0)
    await store.create("a", data={"k": text(99)}, expires=2000)
    await store.create("b", data={"k": text(99)}, expires=2000)
    await store.update("b", changed={"big": text(800)}, removed=(), expected=None, expires=2000)
    assert await store.load("a") is None
    assert await stored_data(store, "b") == {"k": text(99), "big": text(800)}


async def test_the_byte_budget_counts_utf8_bytes_and_frees_removed_values() -> None:
    store = MemoryStore(max_bytes=1000, clock=lambda: 1000.0)
    await store.create("a", data={"k": "\u00e9" * 300}, expires=2000)  # 601 bytes in UTF-8
    await store.update("a", changed={}, removed={"k"}, expected=None, expires=2000)
    await store.create("b", data={"k": text(599)}, expires=2000)
    assert await store.load("a") is not None  # the removed value no longer counts
    await store.create("c", data={"k": "\u00e9" * 300}, expires=2000)
    assert await store.load("b") is None


async def test_expired_sessions_give_their_bytes_back(clock: Clock) -> None:
    store = MemoryStore(max_bytes=1000, clock=clock)
    await store.create("b", data={"k": text(399)}, expires=int(clock()) + 100)
    await store.create("a", data={"k": text(499)}, expires=int(clock()) + 10)
    clock.advance(10)
    assert await store.load("a") is None  # expired, dropped, and its bytes freed
    await store.create("c", data={"k": text(499)}, expires=int(clock()) + 100)
    assert await store.load("b") is not None


async def test_a_session_larger_than_the_whole_budget_is_refused_and_nothing_changes() -> None:
    store = MemoryStore(max_bytes=1000, clock=lambda: 1000.0)
    await store.create("a", data={"k": text(99)}, expires=2000)
    with pytest.raises(SessionTooLargeError, match="max_bytes"):
        await store.create("b", data={"k": text(1000)}, expires=2000)
    with pytest.raises(SessionTooLargeError, match="max_bytes"):
        await store.update("a", changed={"k": text(1000)}, removed=(), expected=None, expires=2000)
    assert await stored_data(store, "a") == {"k": text(99)}
    assert await store.load("b") is None


def test_the_default_byte_budget_is_64_mib() -> None:
    assert MemoryStore().max_bytes == 64 * 1024 * 1024


@pytest.mark.parametrize("max_bytes", [0, -1])
def test_max_bytes_must_be_positive(max_bytes: int) -> None:
    with pytest.raises(SessionConfigError, match="max_bytes"):
        MemoryStore(max_bytes=max_bytes)


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        MemoryStore(10, 100)  # type: ignore[call-arg]


async def rotate_old_to_new(store: MemoryStore, data: dict[str, str]) -> None:
    """Rotate the session "old" (as first written) to "new", holding `data` there."""
    await store.rotate(
        "old",
        "new",
        version=1,
        data=data,
        created=0,
        expires=2**40,
        user_id=None,
        tombstone_expires=2**40,
    )


async def test_a_rotate_refused_for_size_leaves_the_old_session_alone() -> None:
    # Found in review: the tombstone was written before the size check of the new item.
    store = MemoryStore(max_bytes=1000)
    await store.create("old", data={"cart": '"apple"'}, expires=2**40)
    with pytest.raises(SessionTooLargeError):
        await rotate_old_to_new(store, {"blob": '"' + "x" * 2000 + '"'})
    old = await store.load("old")
    assert old is not None
    assert not old.rotated
    assert dict(old.data) == {"cart": '"apple"'}


async def test_a_rotate_keeps_its_tombstone_when_the_store_is_full() -> None:
    # Found in review: evicting the fresh tombstone made the old id writable again.
    store = MemoryStore(max_entries=1)
    await store.create("old", data={"cart": '"apple"'}, expires=2**40)
    await rotate_old_to_new(store, {"cart": '"apple"'})
    tombstone = await store.load("old")
    assert tombstone is not None
    assert tombstone.rotated
    assert await store.load("new") is not None
