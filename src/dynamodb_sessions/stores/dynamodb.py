"""DynamoDBStore: sessions in a DynamoDB table, one item per session. The item format
is in `_item.py`, how calls reach DynamoDB in `_calls.py`; this module holds the
contract: what each operation writes, when, and what a refusal means."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    SessionConfigError,
    SessionConflictError,
    SessionError,
    SessionStoreError,
    SessionStoreUnavailableError,
    SessionTableNotFoundError,
    SessionTooManyChangesError,
)
from . import _item as item_format
from ._calls import ConditionFailed, DynamoDBCalls, fresh_deadline, missing_index
from ._client import ClientSettings
from ._item import USER_INDEX
from ._users import revoked

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from botocore.config import Config
    from types_boto3_dynamodb.client import DynamoDBClient

    from .._events import EventHook
    from ._lean import LeanDynamoDB
    from ._stored import StoredSession

__all__ = ["MAX_KEYS_PER_UPDATE", "USER_INDEX", "DynamoDBStore"]

# One UpdateItem expression may be at most 4 KB; 100 keys stay well inside it.
MAX_KEYS_PER_UPDATE = 100


class DynamoDBStore:
    """A session store backed by one DynamoDB table.

    Without `client`, the store builds one boto3 client on first use, shared by
    all requests, with short timeouts that suit Lambda, and sends through a lean
    caller (`lean=True`, about two thirds of a boto3 call's CPU; `_lean.py`).
    `client=` runs every call through your own boto3 client (moto's in-process
    mocks need that). Without `endpoint_url` boto3 reads `AWS_ENDPOINT_URL_DYNAMODB`
    and `AWS_ENDPOINT_URL`; without `region_name`, `AWS_DEFAULT_REGION`, the
    profile, then `AWS_REGION` (Lambda's). `verify` (False or a CA bundle) and
    `config` (a botocore `Config` merged over the store's) go to the client;
    `on_event` gets a "revoked" event per session `revoke_user_sessions` ends. The
    store never creates the table: run `dynamodb-sessions create-table` once.
    """

    def __init__(
        self,
        table_name: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
        connect_timeout: float = 1.0,
        read_timeout: float = 2.0,
        max_attempts: int = 4,
        max_pool_connections: int = 50,
        lean: bool = True,
        verify: bool | str | None = None,
        config: Config | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        if not table_name:
            raise SessionConfigError("table_name must not be empty")
        if max_attempts < 1:
            raise SessionConfigError(f"max_attempts must be at least 1, not {max_attempts}")
        self.table_name, self.clock, self.on_event = table_name, clock, on_event
        self.settings = ClientSettings(
            region_name=region_name,
            endpoint_url=endpoint_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
            max_pool_connections=max_pool_connections,
            verify=verify,
            config=config,
        )
        self._call = DynamoDBCalls(table_name, self.settings, client=client, lean=lean)

    @property
    def client(self) -> DynamoDBClient:
        """The boto3 client, built on first use (thread-safe)."""
        return self._call.client

    @property
    def lean(self) -> LeanDynamoDB | None:
        """The lean caller in use, or None when calls go through the boto3 client."""
        return self._call.lean

    async def ping(self) -> None:
        """Check that the table answers; raise a `SessionStoreError` subclass if not."""
        await self._call("describe_table", TableName=self.table_name)

    async def warm(self) -> None:
        """Build the client and learn each call's route, with no network call (Lambda INIT)."""
        await self._call.warm()

    async def load(self, key: str) -> StoredSession | None:
        """Read the session with a strongly consistent GetItem; expired items count as absent."""
        item = await self._read(key)
        if item is None:
            return None
        stored = item_format.stored_session(item)
        # DynamoDB deletes expired items lazily, often days later: never serve one.
        return stored if stored.expires > self.clock() else None

    async def create(
        self, key: str, *, data: Mapping[str, str], expires: int, user_id: str | None = None
    ) -> None:
        """Put a new item; an expired item under the same key counts as absent."""
        await self._put_new(key, data, expires=expires, created=int(self.clock()), user_id=user_id)

    async def _put_new(
        self, key: str, data: Mapping[str, str], *, expires: int, created: int, user_id: str | None
    ) -> None:
        token = item_format.write_token()
        item = item_format.new_item(
            key, data, expires=expires, created=created, token=token, user_id=user_id
        )
        try:
            await self._call(
                "put_item",
                TableName=self.table_name,
                Item=item,
                ConditionExpression=item_format.CREATE_CONDITION,
                ExpressionAttributeNames=item_format.TTL_NAME,
                ExpressionAttributeValues={":now": {"N": str(int(self.clock()))}},
            )
        except ConditionFailed:
            # Ids are 256 random bits: a live item here can only be this very write,
            # landed by an attempt whose answer was lost; its token tells.
            if not item_format.holds_token(await self._read(key), token):
                raise SessionStoreError("a live session with this key exists already") from None
        except SessionStoreUnavailableError:
            if not await self._landed(key, token):
                raise

    async def update(
        self,
        key: str,
        *,
        changed: Mapping[str, str],
        removed: Collection[str],
        expected: Mapping[str, str | None] | None,
        expires: int,
        user_id: str | None = None,
    ) -> None:
        """Write only the changed map entries, conditioned on what they held when loaded."""
        if len(changed) + len(removed) > MAX_KEYS_PER_UPDATE:
            # Not split into several calls: a later call could fail its conditions after
            # an earlier one landed, leaving half of this request's changes stored.
            raise SessionTooManyChangesError(len(changed) + len(removed), MAX_KEYS_PER_UPDATE)
        token = item_format.write_token()
        builder = item_format.UpdateBuilder(int(self.clock()), expires, token)
        request = builder.build(changed, removed, expected, user_id)
        await self._conditional_update(key, token, request, expected)

    async def rotate(
        self,
        key: str,
        new_key: str,
        *,
        version: int,
        data: Mapping[str, str],
        created: int,
        expires: int,
        user_id: str | None,
        tombstone_expires: int,
    ) -> None:
        """Put the new item, then retire the old one on the condition that it is
        live and still at `version`; if that fails, delete the new item again.

        Two writes rather than a transaction: dynalite has none, transactions cost
        twice the write units, and until the old item is retired nobody knows the
        new key (its cookie is not sent yet), so the new item alone is harmless.
        """
        await self._put_new(new_key, data, expires=expires, created=created, user_id=user_id)
        token = item_format.write_token()
        request = item_format.retire_request(
            version=version, now=int(self.clock()), tombstone_expires=tombstone_expires, token=token
        )
        try:
            await self._conditional_update(key, token, request, None)
        except SessionConflictError:
            await self._discard(new_key)
            raise
        except SessionStoreError:
            # The retirement's outcome is unknown (its own read-back failed, or the
            # request's deadline had passed): look once more, with time of its own,
            # since deleting the new item after the old one was retired would lose
            # the session.
            settings = self.settings
            with fresh_deadline(settings.connect_timeout + settings.read_timeout):
                if await self._landed(key, token):
                    return
                await self._discard(new_key)
            raise

    async def delete(self, key: str) -> None:
        """Delete the item; a missing item is fine; a tombstone left by `rotate` stays."""
        try:
            await self._call(
                "delete_item",
                TableName=self.table_name,
                Key=item_format.key(key),
                ConditionExpression=f"attribute_not_exists({item_format.ROTATED})",
            )
        except ConditionFailed:
            raise SessionConflictError((), rotated=True) from None

    async def list_user_sessions(self, user_id: str) -> list[str]:
        """The keys (hashed ids) of the live sessions bound to `user_id`, through the
        `user_id-index` GSI (on AWS a session bound within about a second may be missing)."""
        live = []
        for key in await self._user_keys(user_id):
            response = await self._call(
                "get_item",
                TableName=self.table_name,
                Key=item_format.key(key),
                ConsistentRead=True,
                ProjectionExpression=item_format.USER_PROJECTION,
                ExpressionAttributeNames=item_format.TTL_NAME,
            )
            # The index may lag behind a rebinding or a delete: the item itself decides.
            if item_format.bound_and_live(response.get("Item", {}), user_id, self.clock()):
                live.append(key)
        return sorted(live)

    async def revoke_user_sessions(self, user_id: str) -> int:
        """Delete every live session bound to `user_id`; return how many ended. Each
        one's next request finds no session. The `user_id-index` GSI is eventually
        consistent on AWS: a session bound within about a second may survive."""
        ended = 0
        for key in await self._user_keys(user_id):
            try:
                await self._call(
                    "delete_item",
                    TableName=self.table_name,
                    Key=item_format.key(key),
                    # Skip an item rebound to another user since the index was read;
                    # expired ones are left to TTL (they are dead already).
                    ConditionExpression=f"{item_format.USER_ID} = :u AND #ttl > :now",
                    ExpressionAttributeNames=item_format.TTL_NAME,
                    ExpressionAttributeValues={
                        ":u": {"S": user_id},
                        ":now": {"N": str(int(self.clock()))},
                    },
                )
            except ConditionFailed:
                continue
            ended += 1
            await revoked(self.on_event, key)
        return ended

    async def _user_keys(self, user_id: str) -> list[str]:
        # Collect every page first, so that deletes don't race the pagination.
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": USER_INDEX,
            "KeyConditionExpression": f"{item_format.USER_ID} = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
        }
        keys: list[str] = []
        while True:
            try:
                page = await self._call("query", **request)
            except SessionTableNotFoundError:
                await self.ping()  # moto says ResourceNotFound for a missing index too
                raise missing_index(self.table_name) from None
            keys += [item[item_format.PARTITION_KEY]["S"] for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return keys
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def _conditional_update(
        self,
        key: str,
        token: str,
        request: dict[str, Any],
        expected: Mapping[str, str | None] | None,
    ) -> None:
        try:
            await self._call(
                "update_item", TableName=self.table_name, Key=item_format.key(key), **request
            )
        except ConditionFailed:
            conflict = await self._explain_refusal(key, token, expected)
            if conflict is not None:
                raise conflict from None
        except SessionStoreUnavailableError:
            if not await self._landed(key, token):
                raise

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

    async def _explain_refusal(
        self, key: str, token: str, expected: Mapping[str, str | None] | None
    ) -> SessionConflictError | None:
        """Why an update was refused, or None if it had in fact succeeded."""
        item = await self._read(key)  # only after a refusal, which is rare
        if item_format.holds_token(item, token):
            # An attempt landed but its answer was lost; the retry then failed its
            # condition (on our own write, or on one made since, which shifted our
            # token down the item's short history).
            return None
        current = item_format.stored_session(item) if item is not None else None
        if current is None or current.expires <= self.clock():
            return SessionConflictError((), gone=True)
        if current.rotated:
            return SessionConflictError((), rotated=True)
        clashes = [k for k, v in (expected or {}).items() if current.data.get(k) != v]
        return SessionConflictError(clashes or list(expected or ()))
