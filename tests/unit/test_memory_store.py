"""MemoryStore specifics beyond the shared contract: its bound on memory."""

from __future__ import annotations

import pytest

from dynamodb_sessions import MemoryStore

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
