"""DynamoDBStore's user index: list a user's sessions, end one, end all (or all others).

Each operation starts with one Query of the `user_id-index` GSI, keyed by the hashed
user id. The index projects what a listing shows (`_item.LISTED`), so listing costs
that Query alone. A table whose index was created before (KEYS_ONLY) still works: each
session is then read with a GetItem, and a warning says how to recreate the index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._exceptions import SessionTableNotFoundError
from .._logging import logger
from . import _item as item_format
from ._calls import ConditionFailed, missing_index
from ._users import revoked, session_handle, sorted_sessions

if TYPE_CHECKING:
    from ._calls import DynamoDBCalls
    from ._users import UserSession
    from .dynamodb import DynamoDBStore

Item = dict[str, Any]
# `ttl` is a reserved word: named through "#ttl".
_LISTED_PROJECTION = ", ".join(
    [item_format.PARTITION_KEY, item_format.USER_ID, "#ttl", *item_format.LISTED[1:]]
)


class UserIndex:
    """The user-index operations of one `DynamoDBStore`."""

    def __init__(self, store: DynamoDBStore, call: DynamoDBCalls) -> None:
        self.store, self.call = store, call
        self._warned = False

    async def sessions(self, user_key: str, current: str | None) -> list[UserSession]:
        """The live sessions bound to `user_key` (a hashed user id)."""
        listed = [
            item_format.user_session(self._opened(item), self._handle(item), current)
            for item in await self._live_items(user_key)
        ]
        return sorted_sessions(listed)

    async def revoke(self, user_key: str, *, keep: str | None = None) -> int:
        """End the live sessions bound to `user_key`, but the one whose handle is `keep`."""
        ended = 0
        for item in await self._live_items(user_key):
            if keep is None or self._handle(item) != keep:
                ended += await self._end(item, user_key)
        return ended

    async def revoke_one(self, user_key: str, handle: str) -> bool:
        """End the live session of `user_key` whose handle is `handle`; False if none is."""
        for item in await self._live_items(user_key):
            if self._handle(item) == handle:
                return bool(await self._end(item, user_key))
        return False

    def _opened(self, item: Item) -> Item:
        # With `encryption_keys` the device label is sealed, in the index too.
        return dict(self.store._items.open_device(_key_of(item), item))

    def _handle(self, item: Item) -> str:
        handle = session_handle(self.store.user_id_key_bytes, _key_of(item))
        assert handle is not None  # the user id was hashed with this key
        return handle

    async def _end(self, item: Item, user_key: str) -> int:
        store, key = self.store, _key_of(item)
        try:
            await self.call(
                "delete_item",
                TableName=store.table_name,
                Key=item_format.key(key),
                # Skip an item rebound to another user since the index was read;
                # expired ones are left to TTL (they are dead already).
                ConditionExpression=f"{item_format.USER_ID} = :u AND #ttl > :now",
                ExpressionAttributeNames=item_format.TTL_NAME,
                ExpressionAttributeValues={
                    ":u": {"S": user_key},
                    ":now": {"N": str(int(store.clock()))},
                },
            )
        except ConditionFailed:
            return 0
        await revoked(store.on_event, key)
        return 1

    async def _live_items(self, user_key: str) -> list[Item]:
        items = await self._query(user_key)
        if any(item_format.TTL not in item for item in items):
            items = await self._read_each(items)  # an index that projects keys only
        now = self.store.clock()
        # The index may lag behind a rebinding or a delete (on AWS, about a second):
        # what the index read still names the user and lives; the writes check again.
        return [item for item in items if item_format.bound_and_live(item, user_key, now)]

    async def _query(self, user_key: str) -> list[Item]:
        store = self.store
        # Collect every page first, so that deletes don't race the pagination.
        request: dict[str, Any] = {
            "TableName": store.table_name,
            "IndexName": item_format.USER_INDEX,
            "KeyConditionExpression": f"{item_format.USER_ID} = :u",
            "ExpressionAttributeValues": {":u": {"S": user_key}},
        }
        items: list[Item] = []
        while True:
            try:
                page = await self.call("query", **request)
            except SessionTableNotFoundError:
                await store.ping()  # moto says ResourceNotFound for a missing index too
                raise missing_index(store.table_name) from None
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def _read_each(self, items: list[Item]) -> list[Item]:
        store = self.store
        if not self._warned:
            self._warned = True
            logger.warning(
                "table %s: the %s index projects keys only, so listing a user's sessions "
                "reads each one (a GetItem per session); recreate the index to make it one "
                "Query (docs/DYNAMODB_TABLES_SETUP.md, 'Upgrading the user index')",
                store.table_name,
                item_format.USER_INDEX,
            )
        found = []
        for item in items:
            response = await self.call(
                "get_item",
                TableName=store.table_name,
                Key=item_format.key(_key_of(item)),
                ConsistentRead=True,
                ProjectionExpression=_LISTED_PROJECTION,
                ExpressionAttributeNames=item_format.TTL_NAME,
            )
            if "Item" in response:
                found.append(response["Item"])
        return found


def _key_of(item: Item) -> str:
    key: str = item[item_format.PARTITION_KEY]["S"]
    return key
