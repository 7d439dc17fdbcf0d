"""How DynamoDBStore reaches DynamoDB: one boto3 client built on first use, the
lean caller when it can send exactly as that client would (from the event loop
where its asyncio transport can, else in worker threads on a limiter of the
store's own), and botocore's errors mapped to ours in one function.

boto3 is imported only when the client is built, so importing this module costs a
Lambda cold start nothing.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._deadline import store_deadline
from .._events import current_usage
from .._exceptions import (
    SessionAccessDeniedError,
    SessionStoreConfigError,
    SessionStoreError,
    SessionStoreUnavailableError,
    SessionTableNotFoundError,
    SessionTooLargeError,
)
from .._logging import logger
from .._serialization import ITEM_LIMIT
from . import _tracing
from ._item import USER_INDEX

if TYPE_CHECKING:
    from collections.abc import Iterator

    from anyio import CapacityLimiter
    from types_boto3_dynamodb.client import DynamoDBClient

    from ._client import ClientSettings
    from ._lean import LeanDynamoDB


# Error codes that mean "try later", after the client's own retries.
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)
DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
    }
)


_READS = frozenset({"get_item", "query"})
_WRITES = frozenset({"put_item", "update_item", "delete_item"})


class ConditionFailed(Exception):
    """A conditional write was refused; the store decides what it means."""


class DynamoDBCalls:
    """Runs DynamoDB operations by name for one table, from the event loop or in
    worker threads."""

    def __init__(
        self,
        table_name: str,
        settings: ClientSettings,
        *,
        client: DynamoDBClient | None,
        lean: bool,
    ) -> None:
        self.table_name = table_name
        self.settings = settings
        self._client = client
        self._lean_wanted = lean and client is None
        #: The lean caller, once the client is built and if it can be used.
        self.lean: LeanDynamoDB | None = None
        self._missing_region = False
        self._client_lock = threading.Lock()
        # Threads still running calls whose caller gave up (see `__call__`) keep
        # their place here, so that at most `max_pool_connections` calls run at once.
        self._in_flight = threading.BoundedSemaphore(settings.max_pool_connections)
        from anyio.lowlevel import RunVar

        self._limiters: RunVar[CapacityLimiter] = RunVar(f"dynamodb_sessions.limiter.{id(self)}")

    @property
    def client(self) -> DynamoDBClient:
        """The boto3 client, built on first use (thread-safe)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client, self.lean = self._build()
        return self._client

    async def __call__(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Run `operation` ("get_item"...) in a span of its own (if OpenTelemetry
        records); raise this library's errors."""
        if operation in _READS or operation in _WRITES:
            kwargs["ReturnConsumedCapacity"] = "TOTAL"  # free; reported on the events
        span = _tracing.start(operation, self.table_name, kwargs)
        usage = current_usage.get()
        try:
            result = await self._run(operation, kwargs)
        except BaseException as exc:  # a cancellation (the request's deadline) too
            if span is not None:
                span.failed(exc)
            if usage is not None:
                usage.add()  # a call all the same; DynamoDB reports no capacity for it
            raise
        if span is not None:
            span.succeeded(result)
        if usage is not None:
            units = float(result.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
            usage.add(**{"read_units" if operation in _READS else "write_units": units})
        return result

    async def _run(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        from anyio.to_thread import run_sync

        lean = self.lean  # set once the client is built
        try:
            if lean is not None and self._from_the_loop(lean, operation, kwargs):
                # No thread: the asyncio transport sends from this event loop. A
                # caller's deadline cancels the call, closing its connection.
                return await lean.acall(
                    _wire_name(operation), kwargs, deadline=store_deadline.get()
                )
            # boto3 blocks: run it in a worker thread, and build the client there
            # too, since that takes tens of milliseconds. The threads are counted
            # against this store's own limiter, not anyio's default one that the
            # app's sync endpoints share, so a stalled DynamoDB can't starve them.
            # A caller's deadline (the middleware's `store_timeout`) abandons the
            # thread, which ends on its own (the lean caller stops at that
            # deadline); until it does it keeps its place in `_in_flight`.
            result: dict[str, Any] = await run_sync(
                self._invoke, operation, kwargs, abandon_on_cancel=True, limiter=self._limiter()
            )
        except Exception as exc:
            mapped = map_error(exc, self.table_name)
            if mapped is None:
                raise
            raise mapped from exc
        return result

    def _from_the_loop(self, lean: LeanDynamoDB, operation: str, kwargs: dict[str, Any]) -> bool:
        from ._lean import LeanUnsupported

        try:
            return lean.can_send_async(_wire_name(operation), kwargs)
        except LeanUnsupported as reason:  # learning the route showed it
            self._step_aside(reason)
            return False

    def _limiter(self) -> CapacityLimiter:
        # One limiter per event loop: a store may serve several loops over its life
        # (each Starlette TestClient runs its own), and a limiter belongs to one.
        from anyio import CapacityLimiter

        try:
            return self._limiters.get()
        except LookupError:
            limiter = CapacityLimiter(self.settings.max_pool_connections)
            self._limiters.set(limiter)
            return limiter

    def _invoke(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if not self._in_flight.acquire(blocking=False):
            raise SessionStoreUnavailableError(
                f"{self.settings.max_pool_connections} DynamoDB calls are still in flight "
                "(DynamoDB is slow or unreachable); not starting another"
            )
        try:
            return self.send(operation, kwargs)
        finally:
            self._in_flight.release()

    def send(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """One operation, in this thread: through the lean caller if it can."""
        client = self.client
        if self.lean is not None:
            from ._lean import LeanUnsupported  # loaded with the client

            try:
                return self.lean.call(_wire_name(operation), kwargs, deadline=store_deadline.get())
            except LeanUnsupported as reason:
                self._step_aside(reason)
        result: dict[str, Any] = getattr(client, operation)(**kwargs)
        return result

    async def warm(self) -> None:
        """Build the client and learn the lean caller's routes, in a worker thread,
        without a network call."""
        from anyio.to_thread import run_sync

        await run_sync(self._warm, limiter=self._limiter())

    def _warm(self) -> None:
        self.client  # noqa: B018 (built on first use)
        if self.lean is not None:
            from ._lean import LeanUnsupported

            try:
                self.lean.warm(self.table_name)
            except LeanUnsupported as reason:
                self._step_aside(reason)

    def _build(self) -> tuple[DynamoDBClient, LeanDynamoDB | None]:
        from ._client import build_client, no_region

        if self._missing_region:
            raise no_region()  # found at the first use; building again can't help
        try:
            return build_client(self.settings, lean=self._lean_wanted, table=self.table_name)
        except SessionStoreConfigError:
            self._missing_region = True
            raise

    def _step_aside(self, reason: Exception) -> None:
        """Send this store's calls through the boto3 client from now on."""
        self.lean = None
        logger.debug("DynamoDBStore(%r): calls go through boto3: %s", self.table_name, reason)


def map_error(exc: BaseException, table_name: str) -> Exception | None:
    """This library's error for one of botocore's, switching on the error code, or
    None for an error that is not botocore's. The one place they are mapped."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return _map_code(error.get("Code", ""), error.get("Message", ""), status, table_name)
    if isinstance(exc, NoCredentialsError):
        return SessionAccessDeniedError(table_name, "no AWS credentials were found")
    if isinstance(exc, BotoCoreError):
        return SessionStoreUnavailableError(f"DynamoDB could not be reached ({exc})")
    return None


def _map_code(code: str, message: str, status: int, table_name: str) -> Exception:
    if code == "ConditionalCheckFailedException":
        return ConditionFailed()
    if code == "ResourceNotFoundException":
        return SessionTableNotFoundError(table_name)
    if code in DENIED_CODES:
        return SessionAccessDeniedError(table_name, f"{code}: {message}")
    if code in UNAVAILABLE_CODES or status >= 500:
        return SessionStoreUnavailableError(
            f"DynamoDB is unavailable after retries ({code}: {message})"
        )
    if code == "ValidationException" and "specified index" in message:
        return missing_index(table_name)
    if code == "ValidationException" and "size" in message.lower():
        detail = f"DynamoDB refused the session as too large ({message})"
        return SessionTooLargeError(None, ITEM_LIMIT, None, detail=detail)
    return SessionStoreError(f"DynamoDB refused the request ({code}: {message})")


class MissingIndexError(SessionStoreError):
    """The table has no user index (not exported: a SessionStoreError to callers;
    the CLI words it with the flags it was given)."""


def missing_index(table_name: str) -> SessionStoreError:
    """The error for a table without the user index, naming the command that adds it."""
    return MissingIndexError(
        f"DynamoDB table {table_name!r} has no {USER_INDEX!r} index. Add it with "
        f"`dynamodb-sessions create-table --with-user-index --table-name {table_name}`"
    )


def _wire_name(operation: str) -> str:
    return operation.title().replace("_", "")  # "get_item" -> "GetItem"


@contextmanager
def fresh_deadline(seconds: float) -> Iterator[None]:
    """Give the calls inside `seconds` of their own, whatever the request has left."""
    reset = store_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        store_deadline.reset(reset)
