"""A store is built once per process and used from several event loops over its
life (each Starlette TestClient runs its own; a Lambda runtime may replace its
loop): it keeps working on each, and its connections don't pile up."""

from __future__ import annotations

import gc
import os

import anyio

from devservers.dynamodb import LocalServer
from dynamodb_sessions import DynamoDBStore
from tests.support import new_key, sessions_table, store_at_url


def open_sockets() -> int:
    """Sockets this process holds open (Linux: /proc/self/fd), once garbage is gone."""
    gc.collect()  # sockets that earlier tests dropped close here, not during the count
    fds = os.listdir("/proc/self/fd")
    links = []
    for fd in fds:
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # closed meanwhile
    return sum(link.startswith("socket:") for link in links)


async def some_calls(store: DynamoDBStore) -> None:
    async with anyio.create_task_group() as group:
        for _ in range(10):
            key = new_key()

            async def round_trip(key: str = key) -> None:
                await store.create(key, data={"n": "1"}, expires=2**31)
                stored = await store.load(key)
                assert stored is not None

            group.start_soon(round_trip)


def test_one_store_serves_successive_event_loops_without_piling_up_sockets(
    dynalite_server: LocalServer,
) -> None:
    store = store_at_url(dynalite_server, table=sessions_table(dynalite_server))
    anyio.run(some_calls, store)  # the first loop builds the client and fills the pool
    after_first = open_sockets()
    for _ in range(5):
        anyio.run(some_calls, store)  # a new loop each time, the same store
    # The pool is the client's, not a loop's: later loops reuse its connections. A
    # pool per loop would leave about 10 more sockets per loop (50), not a few.
    assert open_sockets() <= after_first + 5
