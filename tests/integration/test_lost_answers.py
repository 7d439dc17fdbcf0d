"""A write whose answer was lost is reported as it happened: a success when it
landed (its token is in the item's short write history), a failure when it did
not, and never the reverse. On both call paths, on dynalite and moto."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from devservers.dynamodb import LocalServer
from devservers.faulty import LossyProxy
from dynamodb_sessions import DynamoDBStore, SessionStoreUnavailableError
from tests.conftest import make_client, sessions_table

pytestmark = pytest.mark.anyio
both_paths = pytest.mark.parametrize("lean", [True, False], ids=["lean", "boto3"])
FOREVER = 2**31


def through(proxy: LossyProxy, server: LocalServer, *, lean: bool) -> DynamoDBStore:
    return DynamoDBStore(
        sessions_table(server), endpoint_url=proxy.endpoint_url, region_name="us-east-1", lean=lean
    )


def direct(server: LocalServer) -> DynamoDBStore:
    return DynamoDBStore(sessions_table(server), client=make_client(server.endpoint_url))


@both_paths
async def test_lost_answer_then_another_writer_is_still_a_success(
    server: LocalServer, lean: bool
) -> None:
    # Our UpdateItem lands, its answer is lost, another tab writes another key, and
    # our retry then fails its condition: the item's last token is the other tab's,
    # but ours is in the history, so the write is reported as the success it was.
    key = uuid.uuid4().hex * 2
    other = direct(server)
    await other.create(key, data={"n": "0"}, expires=FOREVER)

    def other_tab_writes(operation: str) -> None:
        asyncio.run(
            other.update(key, changed={"m": '"x"'}, removed=(), expected=None, expires=FOREVER)
        )

    with LossyProxy(
        server.endpoint_url, lose_once={"UpdateItem"}, on_lost=other_tab_writes
    ) as proxy:
        store = through(proxy, server, lean=lean)
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
    key = uuid.uuid4().hex * 2
    with LossyProxy(server.endpoint_url, lose_always={"PutItem", "UpdateItem"}) as proxy:
        store = through(proxy, server, lean=lean)
        await store.create(key, data={"n": "0"}, expires=FOREVER)
        await store.update(
            key, changed={"n": "1"}, removed=(), expected={"n": "0"}, expires=FOREVER
        )
        assert proxy.forwarded.count("PutItem") == store.max_attempts
        assert proxy.forwarded.count("UpdateItem") == store.max_attempts
    stored = await direct(server).load(key)
    assert stored is not None
    assert dict(stored.data) == {"n": "1"}
    assert stored.version == 2


@both_paths
async def test_a_write_that_did_not_land_is_never_reported_as_landed(
    server: LocalServer, lean: bool
) -> None:
    key = uuid.uuid4().hex * 2
    other = direct(server)
    await other.create(key, data={"n": "0"}, expires=FOREVER)
    with LossyProxy(server.endpoint_url, fail_always={"PutItem", "UpdateItem"}) as proxy:
        store = through(proxy, server, lean=lean)
        with pytest.raises(SessionStoreUnavailableError):
            await store.create(uuid.uuid4().hex * 2, data={"n": "0"}, expires=FOREVER)
        with pytest.raises(SessionStoreUnavailableError):
            await store.update(
                key, changed={"n": "1"}, removed=(), expected={"n": "0"}, expires=FOREVER
            )
        assert proxy.forwarded.count("GetItem") == 2  # one read-back per write, no more
    stored = await other.load(key)
    assert stored is not None
    assert dict(stored.data) == {"n": "0"}


async def test_the_write_history_stays_short(dynalite_server: LocalServer) -> None:
    key = uuid.uuid4().hex * 2
    store = direct(dynalite_server)
    await store.create(key, data={"n": "0"}, expires=FOREVER)
    for n in range(10):
        await store.update(key, changed={"n": str(n)}, removed=(), expected=None, expires=FOREVER)
    item = store.client.get_item(TableName=store.table_name, Key={"session_id": {"S": key}})
    tokens = [name for name in item["Item"] if name.startswith("wid")]
    assert sorted(tokens) == ["wid", "wid1", "wid2", "wid3", "wid4", "wid5"]
    assert len({item["Item"][name]["S"] for name in tokens}) == 6
