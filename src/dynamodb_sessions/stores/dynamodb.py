"""DynamoDBStore: sessions in a DynamoDB table, one item per session.

Item layout (the table's partition key is `session_id`, a string)::

    session_id  S  SHA-256 of the session id (the cookie's id never reaches the table)
    data        M  session key -> JSON text of its value
    ttl         N  epoch second after which the session is dead (DynamoDB TTL attribute)
    created     N  epoch second of creation, for the absolute lifetime
    ver         N  number of writes that changed data or binding: `rotate` is conditioned on it
    rotated     N  set on the tombstone `rotate` leaves: when the id was replaced
    wid         S  a random token of the last write, and wid1..wid5 those of the five
                   writes before it: a write whose answer was lost recognises its own
                   work by its token, even after other writes (see `_landed`)
    user_id     S  the user the session is bound to, if any (key of the `user_id-index` GSI)

boto3 is imported only when the first client is built, so importing this module
costs a Lambda cold start nothing. Calls run in worker threads: boto3 blocks.
"""

from __future__ import annotations

import contextlib
import time
from itertools import pairwise

from .._exceptions import (
    SessionAccessDeniedError,
    SessionConfigError,
    SessionConflictError,
    SessionError,
    SessionStoreConfigError,
    SessionStoreError,
    SessionStoreUnavailableError,
    SessionTableNotFoundError,
    SessionTooLargeError,
    SessionTooManyChangesError,
)
from .._logging import logger
from .._serialization import ITEM_LIMIT
from ._deadline import store_deadline
from ._stored import StoredSession

TYPE_CHECKING = False  # no `typing` at cold start; mypy still reads this block
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping
    from types import TracebackType
    from typing import Any

    import boto3
    from anyio import CapacityLimiter
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from types_boto3_dynamodb.client import DynamoDBClient

    from ._lean import LeanDynamoDB

__all__ = ["DynamoDBStore"]

#: The global secondary index on `user_id` that `create-table --with-user-index` adds.
USER_INDEX = "user_id-index"

# One UpdateItem expression may be at most 4 KB; 100 keys stay well inside it.
MAX_KEYS_PER_UPDATE = 100

# The write tokens an item keeps, newest first. Each update shifts them down one
# place (the right-hand sides read the item as it was); the oldest drops out.
_TOKENS = ("wid", "wid1", "wid2", "wid3", "wid4", "wid5")  # about 100 bytes in all
_SHIFT_TOKENS = [f"{new} = if_not_exists({old}, :wid)" for old, new in pairwise(_TOKENS)]

_UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}
_DENIED = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
}


class _ConditionFailed(Exception):
    """A conditional write was refused; callers decide what it means."""


class DynamoDBStore:
    """A session store backed by one DynamoDB table.

    Without `client`, the store builds one boto3 client on first use (shared by
    all requests) with short timeouts that suit Lambda, and sends its calls
    through a lean caller on botocore's signer and the client's HTTP session
    (`lean=True`, about two thirds of the CPU of a boto3 call; see
    `stores/_lean.py`). Pass `client=` to use a boto3 client of your own for
    every call instead (moto's in-process mocks need that). Without
    `endpoint_url`, boto3 reads `AWS_ENDPOINT_URL_DYNAMODB` and
    `AWS_ENDPOINT_URL`; without `region_name`, `AWS_DEFAULT_REGION`, the profile,
    then `AWS_REGION` (Lambda's). `verify` (False, or a CA bundle path) and
    `config` (a botocore `Config`, merged over the store's timeouts and retries)
    go to the client, and the lean caller sends as it would. The store never
    creates the table: run `dynamodb-sessions create-table` once.
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
    ) -> None:
        if not table_name:
            raise SessionConfigError("table_name must not be empty")
        if max_attempts < 1:
            raise SessionConfigError(f"max_attempts must be at least 1, not {max_attempts}")
        import threading

        self.table_name = table_name
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.clock = clock
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self.max_pool_connections = max_pool_connections
        self.verify = verify
        self.config = config
        self._client = client
        self._missing_region = False
        self._lean_wanted = lean and client is None
        self._lean: LeanDynamoDB | None = None
        self._client_lock = threading.Lock()
        # Threads still running calls whose caller gave up (see `_call`) keep their
        # place here, so that at most `max_pool_connections` calls run at once.
        self._in_flight = threading.BoundedSemaphore(max_pool_connections)
        from anyio.lowlevel import RunVar

        self._limiters: RunVar[CapacityLimiter] = RunVar(f"dynamodb_sessions.limiter.{id(self)}")

    @property
    def client(self) -> DynamoDBClient:
        """The boto3 client, built on first use (thread-safe)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._build_client()
        return self._client

    def _build_client(self) -> DynamoDBClient:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import NoRegionError

        from ._lean import reject_non_json_answers

        if self._missing_region:
            raise _no_region()  # found at the first use; building again can't help
        session = boto3.session.Session()
        config = Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            max_pool_connections=self.max_pool_connections,
        )
        try:
            client = session.client(
                "dynamodb",
                region_name=self._region(session),
                endpoint_url=self.endpoint_url,
                verify=self.verify,
                config=config if self.config is None else config.merge(self.config),
            )
        except NoRegionError:
            self._missing_region = True
            raise _no_region() from None
        reject_non_json_answers(client)
        if self._lean_wanted:
            self._lean = self._lean_caller(client, session)
        return client

    def _region(self, session: boto3.session.Session) -> str | None:
        # botocore reads AWS_DEFAULT_REGION and the profile, but not AWS_REGION,
        # the one Lambda sets (with AWS_DEFAULT_REGION) and most users know.
        import os

        return self.region_name or session.region_name or os.environ.get("AWS_REGION") or None

    def _lean_caller(
        self, client: DynamoDBClient, session: boto3.session.Session
    ) -> LeanDynamoDB | None:
        from botocore.exceptions import NoCredentialsError

        from ._lean import LeanDynamoDB, LeanUnsupported

        credentials = session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        try:
            return LeanDynamoDB(client, credentials)
        except LeanUnsupported as reason:
            self._step_aside(reason)
            return None

    def _step_aside(self, reason: Exception) -> None:
        """Send this store's calls through the boto3 client from now on."""
        self._lean = None
        logger().debug("DynamoDBStore(%r): calls go through boto3: %s", self.table_name, reason)

    async def ping(self) -> None:
        """Check that the table answers; raise a `SessionStoreError` subclass if not."""
        await self._call("describe_table", TableName=self.table_name)

    async def load(self, key: str) -> StoredSession | None:
        """Read the session with a strongly consistent GetItem; expired items count as absent."""
        response = await self._call(
            "get_item", TableName=self.table_name, Key=_key(key), ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return None
        stored = _from_item(item)
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
        now, token = int(self.clock()), _write_token()
        item: dict[str, Any] = {
            "session_id": {"S": key},
            "data": {"M": {k: {"S": v} for k, v in data.items()}},
            "ttl": {"N": str(expires)},
            "created": {"N": str(created)},
            "ver": {"N": "1"},
            "wid": {"S": token},
        }
        if user_id is not None:
            item["user_id"] = {"S": user_id}
        try:
            await self._call(
                "put_item",
                TableName=self.table_name,
                Item=item,
                # `ttl` is a DynamoDB reserved word, hence the #ttl placeholder.
                ConditionExpression="attribute_not_exists(session_id) OR #ttl <= :now",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except _ConditionFailed:
            current = await self._read_after_refusal(key)
            # Ids are 256 random bits: a live item here can only be this very write,
            # landed by an attempt whose answer was lost; its token tells.
            if not _holds_token(current, token):
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
        token = _write_token()
        request = _UpdateBuilder(int(self.clock()), expires, token).build(
            changed, removed, expected, user_id
        )
        try:
            await self._call("update_item", TableName=self.table_name, Key=_key(key), **request)
        except _ConditionFailed:
            conflict = await self._explain_refusal(key, token, expected)
            if conflict is not None:
                raise conflict from None
        except SessionStoreUnavailableError:
            if not await self._landed(key, token):
                raise

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
        token = _write_token()
        try:
            await self._retire(key, version, tombstone_expires, token)
        except SessionConflictError:
            await self._discard(new_key)
            raise
        except SessionStoreError:
            # The retirement's outcome is unknown (its own read-back failed, or the
            # request's deadline had passed): look once more, with time of its own,
            # since deleting the new item after the old one was retired would lose
            # the session.
            with _fresh_deadline(self.connect_timeout + self.read_timeout):
                if await self._landed(key, token):
                    return
                await self._discard(new_key)
            raise

    async def _discard(self, key: str) -> None:
        with contextlib.suppress(SessionError):
            await self._call("delete_item", TableName=self.table_name, Key=_key(key))

    async def _retire(self, key: str, version: int, tombstone_expires: int, token: str) -> None:
        now = int(self.clock())
        # A session loaded from an item without `ver` (written before it existed) has version 0.
        unchanged = "ver = :ver" if version else "attribute_not_exists(ver)"
        values = {":now": {"N": str(now)}, ":ttl": {"N": str(tombstone_expires)}}
        values[":wid"] = {"S": token}
        if version:
            values[":ver"] = {"N": str(version)}
        try:
            await self._call(
                "update_item",
                TableName=self.table_name,
                Key=_key(key),
                UpdateExpression=(
                    "SET rotated = :now, #ttl = :ttl, wid = :wid, "
                    + ", ".join(_SHIFT_TOKENS)
                    + " REMOVE #d, user_id"
                ),
                ConditionExpression=(
                    "attribute_exists(session_id) AND #ttl > :now AND "
                    f"attribute_not_exists(rotated) AND {unchanged}"
                ),
                ExpressionAttributeNames={"#ttl": "ttl", "#d": "data"},
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            conflict = await self._explain_refusal(key, token, None)
            if conflict is not None:
                raise conflict from None
        except SessionStoreUnavailableError:
            if not await self._landed(key, token):
                raise

    async def delete(self, key: str) -> None:
        """Delete the item; a missing item is fine; a tombstone left by `rotate` stays."""
        try:
            await self._call(
                "delete_item",
                TableName=self.table_name,
                Key=_key(key),
                ConditionExpression="attribute_not_exists(rotated)",
            )
        except _ConditionFailed:
            raise SessionConflictError((), rotated=True) from None

    async def list_user_sessions(self, user_id: str) -> list[str]:
        """The keys (hashed ids) of the live sessions bound to `user_id`.

        Needs the `user_id-index` GSI. On AWS a GSI is eventually consistent: a
        session bound less than about a second ago may be missing.
        """
        live = []
        for key in await self._user_keys(user_id):
            response = await self._call(
                "get_item",
                TableName=self.table_name,
                Key=_key(key),
                ConsistentRead=True,
                ProjectionExpression="#ttl, user_id",
                ExpressionAttributeNames={"#ttl": "ttl"},
            )
            # The index may lag behind a rebinding or a delete: the item itself decides.
            item = response.get("Item", {})
            if item.get("user_id", {}).get("S") == user_id and self._live_ttl(item):
                live.append(key)
        return sorted(live)

    def _live_ttl(self, item: Mapping[str, Any]) -> bool:
        return int(item["ttl"]["N"]) > self.clock()

    async def revoke_user_sessions(self, user_id: str) -> int:
        """Delete every live session bound to `user_id`; return how many ended.

        Each session's next request finds no item and gets an empty session. Uses
        the `user_id-index` GSI, which on AWS is eventually consistent: a session
        bound less than about a second ago may survive; run it again to be sure.
        """
        ended = 0
        for key in await self._user_keys(user_id):
            try:
                await self._call(
                    "delete_item",
                    TableName=self.table_name,
                    Key=_key(key),
                    # Skip an item rebound to another user since the index was read;
                    # expired ones are left to TTL (they are dead already).
                    ConditionExpression="user_id = :u AND #ttl > :now",
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues={
                        ":u": {"S": user_id},
                        ":now": {"N": str(int(self.clock()))},
                    },
                )
            except _ConditionFailed:
                continue
            ended += 1
        return ended

    async def _user_keys(self, user_id: str) -> list[str]:
        # Collect every page first, so that deletes don't race the pagination.
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": USER_INDEX,
            "KeyConditionExpression": "user_id = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
        }
        keys: list[str] = []
        while True:
            try:
                page = await self._call("query", **request)
            except SessionTableNotFoundError:
                await self.ping()  # moto says ResourceNotFound for a missing index too
                raise _missing_index(self.table_name) from None
            keys += [item["session_id"]["S"] for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return keys
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def _read_after_refusal(self, key: str) -> dict[str, Any] | None:
        # Only reached when a conditional write was refused, which is rare.
        response = await self._call(
            "get_item", TableName=self.table_name, Key=_key(key), ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    async def _landed(self, key: str, token: str) -> bool:
        """Whether a write that ran out of attempts had landed after all (its answer
        lost): one consistent read of the write tokens. Only ever reached on failure."""
        try:
            response = await self._call(
                "get_item",
                TableName=self.table_name,
                Key=_key(key),
                ConsistentRead=True,
                ProjectionExpression=", ".join(_TOKENS),
            )
        except SessionStoreError:
            return False  # unknown: the write stays reported as failed
        return _holds_token(response.get("Item"), token)

    async def _explain_refusal(
        self, key: str, token: str, expected: Mapping[str, str | None] | None
    ) -> SessionConflictError | None:
        """Why an update was refused, or None if it had in fact succeeded."""
        item = await self._read_after_refusal(key)
        if _holds_token(item, token):
            # An attempt landed but its answer was lost; the retry then failed its
            # condition (on our own write, or on one made since, which shifted our
            # token down the item's short history).
            return None
        current = _from_item(item) if item is not None else None
        if current is None or current.expires <= self.clock():
            return SessionConflictError((), gone=True)
        if current.rotated:
            return SessionConflictError((), rotated=True)
        clashes = [k for k, v in (expected or {}).items() if current.data.get(k) != v]
        return SessionConflictError(clashes or list(expected or ()))

    async def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from anyio.to_thread import run_sync

        with _BotocoreErrors(self.table_name):
            # boto3 blocks: run it in a worker thread, and build the client there
            # too, since that takes tens of milliseconds. The threads are counted
            # against this store's own limiter, not anyio's default one that the
            # app's sync endpoints share, so a stalled DynamoDB can't starve them.
            # A caller's deadline (the middleware's `store_timeout`) abandons the
            # thread, which ends on its own (the lean caller stops at that deadline);
            # until it does it keeps its place in `_in_flight`.
            result: dict[str, Any] = await run_sync(
                self._invoke, operation, kwargs, abandon_on_cancel=True, limiter=self._limiter()
            )
            return result

    def _limiter(self) -> CapacityLimiter:
        # One limiter per event loop: a store may serve several loops over its life
        # (each Starlette TestClient runs its own), and a limiter belongs to one.
        from anyio import CapacityLimiter

        try:
            return self._limiters.get()
        except LookupError:
            limiter = CapacityLimiter(self.max_pool_connections)
            self._limiters.set(limiter)
            return limiter

    def _invoke(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if not self._in_flight.acquire(blocking=False):
            raise SessionStoreUnavailableError(
                f"{self.max_pool_connections} DynamoDB calls are still in flight "
                "(DynamoDB is slow or unreachable); not starting another"
            )
        try:
            return self._send(operation, kwargs)
        finally:
            self._in_flight.release()

    def _send(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        if self._lean is not None:
            from ._lean import LeanUnsupported  # loaded with the client

            try:
                # "get_item" -> "GetItem": the wire name of the operation.
                return self._lean.call(
                    operation.title().replace("_", ""), kwargs, deadline=store_deadline.get()
                )
            except LeanUnsupported as reason:
                self._step_aside(reason)
        result: dict[str, Any] = getattr(client, operation)(**kwargs)
        return result


class _UpdateBuilder:
    """Builds one UpdateItem request: placeholders for every session key, since
    keys may contain dots, spaces or reserved words."""

    def __init__(self, now: int, expires: int, token: str) -> None:
        self.names: dict[str, str] = {"#ttl": "ttl"}
        self.values: dict[str, Any] = {
            ":now": {"N": str(now)},
            ":ttl": {"N": str(expires)},
            ":one": {"N": "1"},
            ":wid": {"S": token},
        }
        self._placeholders: dict[str, str] = {}

    def _name(self, session_key: str) -> str:
        if session_key not in self._placeholders:
            placeholder = f"#k{len(self._placeholders)}"
            self._placeholders[session_key] = placeholder
            self.names[placeholder] = session_key
            self.names["#d"] = "data"  # only when used: DynamoDB refuses unused names
        return "#d." + self._placeholders[session_key]

    def _value(self, text: str) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = {"S": text}
        return placeholder

    def build(
        self,
        changed: Mapping[str, str],
        removed: Collection[str],
        expected: Mapping[str, str | None] | None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        sets = ["#ttl = :ttl", "wid = :wid", *_SHIFT_TOKENS]
        sets += [f"{self._name(k)} = {self._value(v)}" for k, v in changed.items()]
        if user_id is not None:
            sets.append(f"user_id = {self._value(user_id)}")
        expression = "SET " + ", ".join(sets)
        if removed:
            expression += " REMOVE " + ", ".join(self._name(k) for k in removed)
        if changed or removed or user_id is not None:
            # A refresh of the expiry alone must not make a concurrent `rotate` fail.
            expression += " ADD ver :one"
        else:
            del self.values[":one"]  # DynamoDB refuses unused values
        # Never resurrect a session that was deleted, has expired or was rotated meanwhile.
        conditions = [
            "attribute_exists(session_id)",
            "#ttl > :now",
            "attribute_not_exists(rotated)",
        ]
        for k, text in (expected or {}).items():
            if text is None:
                conditions.append(f"attribute_not_exists({self._name(k)})")
            else:
                conditions.append(f"{self._name(k)} = {self._value(text)}")
        return {
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": self.names,
            "ExpressionAttributeValues": self.values,
        }


@contextlib.contextmanager
def _fresh_deadline(seconds: float) -> Iterator[None]:
    reset = store_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        store_deadline.reset(reset)


def _holds_token(item: Mapping[str, Any] | None, token: str) -> bool:
    return item is not None and any(item.get(name, {}).get("S") == token for name in _TOKENS)


def _no_region() -> SessionStoreConfigError:
    return SessionStoreConfigError(
        "DynamoDBStore has no AWS region: pass DynamoDBStore(..., region_name='us-east-1') "
        "or set AWS_REGION (or AWS_DEFAULT_REGION) to the table's region"
    )


def _key(key: str) -> dict[str, Any]:
    return {"session_id": {"S": key}}


def _from_item(item: Mapping[str, Any]) -> StoredSession:
    data = {k: v["S"] for k, v in item.get("data", {}).get("M", {}).items()}
    user = item.get("user_id", {}).get("S")
    return StoredSession(
        data=data,
        expires=int(item["ttl"]["N"]),
        created=int(item.get("created", {}).get("N", "0")),
        version=int(item.get("ver", {}).get("N", "0")),
        user_id=user,
        rotated="rotated" in item,
    )


def _missing_index(table_name: str) -> SessionStoreError:
    return SessionStoreError(
        f"DynamoDB table {table_name!r} has no {USER_INDEX!r} index. Add it with "
        f"`dynamodb-sessions create-table --with-user-index --table-name {table_name}`"
    )


class _BotocoreErrors:
    """Turns botocore's errors into this library's, switching on the error code.

    The one place where botocore errors are mapped; always `raise ... from exc`.
    """

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        mapped = self._map(exc)
        if mapped is not None:
            raise mapped from exc

    def _map(self, exc: BaseException) -> Exception | None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if isinstance(exc, ClientError):
            return self._map_client_error(exc)
        if isinstance(exc, NoCredentialsError):
            return SessionAccessDeniedError(self.table_name, "no AWS credentials were found")
        if isinstance(exc, BotoCoreError):
            return SessionStoreUnavailableError(f"DynamoDB could not be reached ({exc})")
        return None

    def _map_client_error(self, exc: ClientError) -> Exception:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "ConditionalCheckFailedException":
            return _ConditionFailed()
        if code == "ResourceNotFoundException":
            return SessionTableNotFoundError(self.table_name)
        if code in _DENIED:
            return SessionAccessDeniedError(self.table_name, f"{code}: {message}")
        if code in _UNAVAILABLE or status >= 500:
            return SessionStoreUnavailableError(
                f"DynamoDB is unavailable after retries ({code}: {message})"
            )
        if code == "ValidationException" and "specified index" in message:
            return _missing_index(self.table_name)
        if code == "ValidationException" and "size" in message.lower():
            return SessionTooLargeError(
                None,
                ITEM_LIMIT,
                None,
                detail=f"DynamoDB refused the session as too large ({message})",
            )
        return SessionStoreError(f"DynamoDB refused the request ({code}: {message})")


def _write_token() -> str:
    import secrets

    # 72 random bits: no two writes of one session ever share a token.
    return secrets.token_urlsafe(9)
