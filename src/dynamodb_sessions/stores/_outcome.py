"""How DynamoDBStore learns what became of a write: the outcome of a conditional
write that was refused or ran out of attempts, and the conditions themselves (on
the bytes the table holds, which differ from the text when values are sealed)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    SessionError,
    SessionStoreError,
    SessionStoreUnavailableError,
)
from . import _item as item_format
from ._calls import ConditionFailed
from ._stored import conflict

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._calls import DynamoDBCalls
    from ._sealed import PlainItems
    from ._stored import StoredSession


class ConditionalWrites:
    """The reads that decide a write's outcome; `DynamoDBStore` is one."""

    table_name: str
    clock: Callable[[], float]
    _call: DynamoDBCalls
    _items: PlainItems

    async def _conditions(
        self, key: str, expected: Mapping[str, str | None]
    ) -> Mapping[str, str | bytes | None]:
        # Sealed values compare as the bytes loaded; a caller's own text needs a read.
        current = None
        if self._items.needs_current(expected):
            item = await self._read(key)
            current = None if item is None else self._items.opened(key, item)
        return self._items.expected(expected, current)

    async def _conditional_update(
        self,
        key: str,
        token: str,
        request: dict[str, Any],
        expected: Mapping[str, str | None] | None,
        *,
        rebuild: Callable[[Mapping[str, str | bytes | None]], dict[str, Any]] | None = None,
    ) -> None:
        """Send an UpdateItem; on a refusal, find out why. `rebuild(conditions)` makes
        the same request on other conditions: given, a refusal where every expected
        text is still there, only sealed again (other bytes: `rotate-keys`, or another
        request writing the same text), is tried once more on the bytes now stored."""
        try:
            await self._call(
                "update_item", TableName=self.table_name, Key=item_format.key(key), **request
            )
        except ConditionFailed:
            item = await self._read(key)  # only after a refusal, which is rare
            if item_format.holds_token(item, token):
                # An attempt landed but its answer was lost; the retry then failed its
                # condition (on our own write, or on one made since, which shifted our
                # token down the item's short history).
                return
            current = self._items.stored(key, item) if item is not None else None
            resealed = None if item is None else self._same_texts(key, item, current, expected)
            retry = None if rebuild is None or resealed is None else rebuild(resealed)
            if retry is None or retry == request:  # nothing sealed again: a true conflict
                raise conflict(current, expected, self.clock()) from None
            await self._conditional_update(key, token, retry, expected)
        except SessionStoreUnavailableError:
            if not await self._landed(key, token):
                raise

    def _same_texts(
        self,
        key: str,
        item: Mapping[str, Any],
        current: StoredSession | None,
        expected: Mapping[str, str | None] | None,
    ) -> Mapping[str, str | bytes | None] | None:
        """The conditions on the bytes `item` holds, if it holds every expected text
        (a live, unrotated session): else None, a true conflict."""
        if current is None or current.rotated or current.expires <= self.clock():
            return None
        if expected is None or any(current.data.get(k) != v for k, v in expected.items()):
            return None
        texts = {name: None if text is None else str(text) for name, text in expected.items()}
        return self._items.expected(texts, self._items.opened(key, item))

    async def _read(self, key: str) -> dict[str, Any] | None:
        response = await self._call(
            "get_item", TableName=self.table_name, Key=item_format.key(key), ConsistentRead=True
        )
        return response.get("Item")

    async def _discard(self, key: str) -> None:
        with contextlib.suppress(SessionError):
            await self._call("delete_item", TableName=self.table_name, Key=item_format.key(key))

    async def _landed(self, key: str, token: str) -> bool:
        """Whether a write that ran out of attempts had landed after all (its answer
        lost): one consistent read of the write tokens. Only ever reached on failure."""
        try:
            response = await self._call(
                "get_item",
                TableName=self.table_name,
                Key=item_format.key(key),
                ConsistentRead=True,
                ProjectionExpression=", ".join(item_format.TOKENS),
            )
        except SessionStoreError:
            return False  # unknown: the write stays reported as failed
        return item_format.holds_token(response.get("Item"), token)
