"""A write whose answer was lost is reported as it happened: a success when it
landed (its token is in the item's short write history), a failure when it did
not, and never the reverse. On both call paths, on dynalite and moto."""

from __future__ import annotations

import asyncio

import pytest

from devservers.dynamodb import LocalServer
from devservers.faulty import LossyProxy
from dynamodb_sessions import DynamoDBStore, SessionStoreUnavailableError
from tests.support import new_key, store_at_url, store_with_client, stored_data

pytestmark = pytest.mark.anyio
both_paths = pytest.mark.parametrize("lean", [True, False], ids=["lean", "boto3"])
FOREVER = 2**31


async def written_directly(server: LocalServer) -> tuple[DynamoDBStore, str]:
    """A session {"n": "0"} created on `server` without a proxy: that store, and its key."""
    key = new_key()
    store = store_with_client(server)
    await store.create(key, data={"n": "0"}, expires=FOREVER)
    return store, key


@both_paths
async def test_lost_answer_then_another_writer_is_still_a_success(
    server: LocalServer, lean: bool
) -> None:
    # Our UpdateItem lands, its answer is lost, another tab writes another key, and
    # our retry then fails its condition: the item's last token is the other tab's,
    # but ours is in the history, so the write is reported as the success it was.
    other, key = await written_directly(server)

    def other_tab_writes(operation: str) -> None:
        asyncio.run(
            other.update(key, changed={"m": '"x"'}, removed=(), expected=None, expires=FOREVER)
        )

    with LossyProxy(
        server.endpoint_url, lose_once={"UpdateItem"}, on_lost=other_tab_writes
    ) as proxy:
        store = store_at_url(server, proxy.endpoint_url, lean=lean)
        await store.update(
            key, changed={"n": "1"}, removed=(), expected={"n": "0"}, expires=FOREVER
        )
        assert proxy.forwarded.count("UpdateItem") == 2
    stored = await other.load(key)
    assert stored is not None
    assert dict(stored.data) == {"n": "1", "m": '"x"'}
    assert stored.version == 3  # create, ours, theirs: ours applied once


@both_paths
async def test_a_write_whose_every_answer_is_lost_is_read_back(
    server: LocalServer, lean: bool
) -> None:
    # The first attempt lands; it and every retry lose their answers, so the client
    # runs out of attempts. One consistent read finds the write's token: success.
    key = new_key()
    with LossyProxy(server.endpoint_url, lose_always={"PutItem", "UpdateItem"}) as proxy:
        store = store_at_url(server, proxy.endpoint_url, lean=lean)
        await store.create(key, data={"n": "0"}, expires=FOREVER)
        await store.update(
            key, changed={"n": "1"}, removed=(), expected={"n": "0"}, expires=FOREVER
        )
        assert proxy.forwarded.count("PutItem") == store.settings.max_attempts
        assert proxy.forwarded.count("UpdateItem") == store.settings.max_attempts
    stored = await store_with_client(server).load(key)
    assert stored is not None
    assert dict(stored.data) == {"n": "1"}
    assert stored.version == 2


@both_paths
async def test_a_write_that_did_not_land_is_never_reported_as_landed(
    server: LocalServer, lean: bool
) -> None:
    other, key = await written_directly(server)
    with LossyProxy(server.endpoint_url, fail_always={"PutItem", "UpdateItem"}) as proxy:
        store = store_at_url(server, proxy.endpoint_url, lean=lean)
        with pytest.raises(SessionStoreUnavailableError):
            await store.create(new_key(), data={"n": "0"}, expires=FOREVER)
        with pytest.raises(SessionStoreUnavailableError):
            await store.update(
                key, changed={"n": "1"}, removed=(), expected={"n": "0"}, expires=FOREVER
            )
        assert proxy.forwarded.count("GetItem") == 2  # one read-back per write, no more
    assert await stored_data(other, key) == {"n": "0"}


async def test_the_write_history_stays_short(dynalite_server: LocalServer) -> None:
    store, key = await written_directly(dynalite_server)
    for n in range(10):
        await store.update(key, changed={"n": str(n)}, removed=(), expected=None, expires=FOREVER)
    item = store.client.get_item(TableName=store.table_name, Key={"session_id": {"S": key}})
    tokens = [name for name in item["Item"] if name.startswith("wid")]
    assert sorted(tokens) == ["wid", "wid1", "wid2", "wid3", "wid4", "wid5"]
    assert len({item["Item"][name]["S"] for name in tokens}) == 6
