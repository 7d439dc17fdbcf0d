"""DynamoDBStore: sessions in a DynamoDB table, one item per session. The item format
is in `_item.py`, how calls reach DynamoDB in `_calls.py`; this module holds the
contract: what each operation writes, when, and what a refusal means."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    SessionConfigError,
    SessionConflictError,
    SessionStoreError,
    SessionStoreUnavailableError,
    SessionTooManyChangesError,
)
from . import _item as item_format
from ._calls import ConditionFailed, DynamoDBCalls, fresh_deadline
from ._client import ClientSettings
from ._item import USER_INDEX
from ._outcome import ConditionalWrites
from ._sealed import PlainItems
from ._user_index import UserIndex
from ._users import UserIdKey, check_user_id_key, check_user_key, hash_user_id

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from botocore.config import Config
    from types_boto3_dynamodb.client import DynamoDBClient

    from .._events import EventHook
    from ._cipher import Cipher
    from ._lean import LeanDynamoDB
    from ._stored import StoredSession
    from ._users import UserSession

__all__ = ["MAX_KEYS_PER_UPDATE", "USER_INDEX", "DynamoDBStore"]

# One UpdateItem expression may be at most 4 KB; 100 keys stay well inside it.
MAX_KEYS_PER_UPDATE = 100


class DynamoDBStore(ConditionalWrites):
    """A session store backed by one DynamoDB table.

    Without `client`, the store builds one boto3 client on first use, shared by
    all requests, with short timeouts that suit Lambda, and sends through a lean
    caller (`lean=True`, about two thirds of a boto3 call's CPU; `_lean.py`).
    `client=` runs every call through your own boto3 client (moto's in-process
    mocks need that). Without `endpoint_url` boto3 reads `AWS_ENDPOINT_URL_DYNAMODB`
    and `AWS_ENDPOINT_URL`; without `region_name`, `AWS_DEFAULT_REGION`, the
    profile, then `AWS_REGION` (Lambda's). `verify` (False or a CA bundle) and
    `config` (a botocore `Config` merged over the store's) go to the client;
    `on_event` gets a "revoked" event per session a revoke ends. `user_id_key` (a
    secret string or bytes) keys the hash that stands for user ids in the table and
    the sessions' handles; the middleware sets its first `secret_key` when it is None,
    so pass it only to use the store alone (an admin script) or a key of its own. The
    store never creates the table: run `dynamodb-sessions create-table` once.
    `encryption_keys` (`"<id>:<base64>"` each; the first seals, all open) encrypts
    each session value and the device label with AES-256-GCM
    (docs/DYNAMODB_SESSIONS.md, "Encryption at rest").
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
        encryption_keys: Sequence[str] | None = None,
        user_id_key: UserIdKey | None = None,
    ) -> None:
        if not table_name:
            raise SessionConfigError("table_name must not be empty")
        if max_attempts < 1:
            raise SessionConfigError(f"max_attempts must be at least 1, not {max_attempts}")
        self.table_name, self.clock, self.on_event = table_name, clock, on_event
        self.user_id_key = user_id_key
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
        self._items = PlainItems() if encryption_keys is None else _sealer(encryption_keys)
        self._users = UserIndex(self, self._call)

    @property
    def user_id_key(self) -> UserIdKey | None:
        """The key of the user-id hash and of session handles; see the class docstring."""
        return self._user_id_key

    @user_id_key.setter
    def user_id_key(self, value: UserIdKey | None) -> None:
        self.user_id_key_bytes = check_user_id_key(value)
        self._user_id_key = value

    @property
    def cipher(self) -> Cipher | None:
        """The cipher of `encryption_keys`, or None: `cipher.bound(key)` seals and opens
        other attributes of a session's item."""
        return self._items.cipher

    @property
    def value_overhead(self) -> int:
        """Bytes each stored value takes beyond its JSON text (the seal's), for the
        session's size guard."""
        return self._items.overhead

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
        # DynamoDB deletes expired items lazily, often days later: never serve one.
        if item is None or int(item[item_format.TTL]["N"]) <= self.clock():
            return None
        return self._items.stored(key, item)

    async def create(
        self,
        key: str,
        *,
        data: Mapping[str, str],
        expires: int,
        user_id: str | None = None,
        device: str | None = None,
    ) -> None:
        """Put a new item; an expired item under the same key counts as absent."""
        now = int(self.clock())
        await self._put_new(key, data, expires=expires, created=now, user_id=user_id, device=device)

    async def _put_new(
        self,
        key: str,
        data: Mapping[str, str],
        *,
        expires: int,
        created: int,
        user_id: str | None,
        device: str | None,
    ) -> None:
        check_user_key(user_id)
        token, now = item_format.write_token(), int(self.clock())
        item = item_format.new_item(
            key,
            self._items.seal(key, data),
            expires=expires,
            created=created,
            now=now,
            token=token,
            user_id=user_id,
            device=None if device is None else self._items.seal_device(key, device),
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
        device: str | None = None,
    ) -> None:
        """Write only the changed map entries, conditioned on what they held when loaded."""
        check_user_key(user_id)
        if len(changed) + len(removed) > MAX_KEYS_PER_UPDATE:
            # Not split into several calls: a later call could fail its conditions after
            # an earlier one landed, leaving half of this request's changes stored.
            raise SessionTooManyChangesError(len(changed) + len(removed), MAX_KEYS_PER_UPDATE)
        token = item_format.write_token()
        now = int(self.clock())
        sealed = self._items.seal(key, changed)
        sealed_device = None if device is None else self._items.seal_device(key, device)

        def build(conditions: Mapping[str, str | bytes | None] | None) -> dict[str, Any]:
            builder = item_format.UpdateBuilder(now, expires, token)
            return builder.build(sealed, removed, conditions, user_id, sealed_device)

        conditions = None if expected is None else await self._conditions(key, expected)
        await self._conditional_update(key, token, build(conditions), expected, rebuild=build)

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
        device: str | None = None,
    ) -> None:
        """Put the new item, then retire the old one on the condition that it is
        live and still at `version`; if that fails, delete the new item again.

        Two writes rather than a transaction: dynalite has none, transactions cost
        twice the write units, and until the old item is retired nobody knows the
        new key (its cookie is not sent yet), so the new item alone is harmless.
        """
        await self._put_new(
            new_key, data, expires=expires, created=created, user_id=user_id, device=device
        )
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

    def hash_user_id(self, user_id: str) -> str:
        """The keyed hash that stands for `user_id` in the table (see `user_id_key`)."""
        return hash_user_id(self.user_id_key_bytes, user_id, store="DynamoDBStore")

    async def list_user_sessions(
        self, user_id: str, *, current: str | None = None
    ) -> list[UserSession]:
        """The live sessions bound to `user_id`, most recently seen first: one Query of
        the `user_id-index` GSI (eventually consistent on AWS: a session bound or ended
        within about a second may be missing, or still listed)."""
        return await self._users.sessions(self.hash_user_id(user_id), current)

    async def revoke_session(self, user_id: str, handle: str) -> bool:
        """End the live session of `user_id` whose handle is `handle`; return whether
        one ended. A handle of no session of this user ends nothing."""
        return await self._users.revoke_one(self.hash_user_id(user_id), handle)

    async def revoke_user_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """Delete every live session bound to `user_id` but the one whose handle is
        `keep`; return how many ended. Each one's next request finds no session. The
        index is eventually consistent on AWS: a session bound within about a second
        may survive."""
        return await self._users.revoke(self.hash_user_id(user_id), keep=keep)


def _sealer(keys: Sequence[str]) -> PlainItems:
    from ._cipher import Cipher  # only now: `cryptography` loads with it
    from ._sealed import ItemSealer

    return ItemSealer(Cipher(keys))
