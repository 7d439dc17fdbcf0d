"""A lean DynamoDB caller for the store's hot path.

A boto3 client call costs about 1.5 times the CPU of the same JSON request,
signed by botocore's SigV4 signer and sent through botocore's HTTP session (0.82
vs 0.55 ms per GetItem here): the difference is botocore's generic machinery
(event hooks, model-driven serialization, endpoint rules on every call).

It sends every request where and how the store's boto3 client would:

- **Where**: the URL and signing scope of each operation (and table, and account)
  are learnt from the client once: the client prepares the call, and the lean
  caller takes it at `before-send` unsent. So botocore's endpoint rules decide
  (`endpoint_url` with its path, FIPS, dual-stack, account-based endpoints, ARNs).
- **How**: from the event loop, through an asyncio transport (`_aio.py`) that
  honours the client's `verify`, `AWS_CA_BUNDLE`, timeouts and pool size; where
  it can't be exact (a proxy, client certificates, trio), in a worker thread
  through the HTTP session botocore built for that client.
- **Retries**: each failed attempt goes to the client's own retry handler
  (`needs-retry`): botocore's standard mode decides what is retried, the backoff
  and the retry quota, shared with the client. A backoff never sleeps past the
  call's deadline: it is cut to leave time for a last attempt, or the call gives
  up at once when no attempt can start in time.

Where it can't be the same (no SigV4, a header or body a hook changed, another
HTTP session, adaptive retries), `LeanUnsupported` sends the store to the client.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Any

# Loaded with the client, never at import of the package: boto3 is loaded by then.
from ._aio import AsyncTransport
from ._routes import LeanUnsupported, Route, Routes, request_body
from ._wire import (
    CachedSigV4,
    NotJSONAnswerError,
    client_error,
    json_body,
    prepared,
    reject_non_json_answers,
)

if TYPE_CHECKING:
    from botocore.awsrequest import AWSRequest, AWSResponse
    from botocore.credentials import Credentials, ReadOnlyCredentials
    from types_boto3_dynamodb.client import DynamoDBClient

__all__ = ["LeanDynamoDB", "LeanUnsupported", "NotJSONAnswerError", "reject_non_json_answers"]

_TARGET = "DynamoDB_20120810."
_CONTENT_TYPE = "application/x-amz-json-1.0"
#: The least time worth starting an attempt with: below it, a backoff gives up.
MIN_ATTEMPT = 0.1


class _Retryable(Exception):
    """A failed attempt, as botocore's retry handler wants to see it."""

    def __init__(
        self,
        error: Exception,
        *,
        response: AWSResponse | None = None,
        parsed: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response
        self.parsed = parsed


class LeanDynamoDB:
    """Calls DynamoDB operations by name with wire-format parameters and results."""

    def __init__(self, client: DynamoDBClient, credentials: Credentials) -> None:
        from botocore.httpsession import URLLib3Session

        # The client's own HTTP session: every TLS and proxy setting comes with it.
        http = getattr(getattr(client, "_endpoint", None), "http_session", None)
        if not isinstance(http, URLLib3Session):
            raise LeanUnsupported(f"the client's HTTP session is a {type(http).__name__}")
        config: Any = client.meta.config  # the stubs don't list Config's options
        if (config.retries or {}).get("mode") == "adaptive":
            raise LeanUnsupported("adaptive retries limit the rate inside botocore's send")
        self._http = http
        self._events = client.meta.events
        self._credentials = credentials
        self._read_timeout = float(config.read_timeout)
        self._routes = Routes(client, credentials)
        #: Sends from the event loop where it can (`can_send`).
        self.transport = AsyncTransport(
            http, connect_timeout=float(config.connect_timeout), size=config.max_pool_connections
        )

    def can_send_async(self, operation: str, params: dict[str, Any]) -> bool:
        """Whether `acall` can send this call from the running event loop: not
        when it would block the loop first, to refresh the credentials (a network
        call) or to learn the operation's route (botocore prepares the call)."""
        if self._refresh_due():
            return False
        route = self._routes.known(operation, params)
        return route is not None and self.transport.can_send(route.url)

    def call(
        self, operation: str, params: dict[str, Any], *, deadline: float | None = None
    ) -> dict[str, Any]:
        """Run `operation` (e.g. "GetItem"), retrying as the client would; raise
        botocore's errors. `deadline`, a `time.monotonic()` value, ends the retries
        early and shortens the read timeout of the attempt it would interrupt."""
        route, body, context = self._start(operation, params)
        attempt = 1
        while True:
            try:
                request = self._signed(route, operation, body, deadline)
                result = self._result(route, self._send(request, body), context)
            except _Retryable as failed:
                time.sleep(self._backoff(route, attempt, failed, context, deadline))
                attempt += 1
            else:
                return _done(result, attempt)

    async def acall(
        self, operation: str, params: dict[str, Any], *, deadline: float | None = None
    ) -> dict[str, Any]:
        """`call`, sent from the event loop through the asyncio transport (when
        `can_send_async` says it can)."""
        import asyncio

        route, body, context = self._start(operation, params)
        attempt = 1
        while True:
            if attempt > 1 and self._refresh_due():  # came due in a backoff: off the loop
                await asyncio.to_thread(self._credentials.get_frozen_credentials)
            try:
                request = self._signed(route, operation, body, deadline)
                response = await self._asend(route, request, body, deadline)
                result = self._result(route, response, context)
            except _Retryable as failed:
                await asyncio.sleep(self._backoff(route, attempt, failed, context, deadline))
                attempt += 1
            else:
                return _done(result, attempt)

    def warm(self, table_name: str) -> None:
        """Learn the routes of the store's calls on `table_name` now, without sending."""
        key = {"session_id": {"S": "warm"}}
        for operation, params in (
            ("GetItem", {"Key": key}),
            ("PutItem", {"Item": key}),
            ("UpdateItem", {"Key": key}),
            ("DeleteItem", {"Key": key}),
        ):
            self._routes.of(operation, {"TableName": table_name, **params})

    def _refresh_due(self) -> bool:
        # Refreshable credentials (a role's) renew themselves in get_frozen_credentials
        # once inside botocore's advisory window; static ones never do.
        due = getattr(self._credentials, "refresh_needed", None)
        return due is not None and bool(due())

    def _start(self, operation: str, params: dict[str, Any]) -> tuple[Route, bytes, dict[str, Any]]:
        # The body, the route, and the retry handler's per-call state.
        return self._routes.of(operation, params), request_body(params), {}

    def _send(self, request: AWSRequest, body: bytes) -> AWSResponse:
        from botocore.exceptions import ConnectionError as Unreachable
        from botocore.exceptions import HTTPClientError

        try:
            return self._http.send(prepared(request, body))
        except (Unreachable, HTTPClientError) as exc:
            raise _Retryable(exc) from exc

    async def _asend(
        self, route: Route, request: AWSRequest, body: bytes, deadline: float | None
    ) -> AWSResponse:
        from botocore.exceptions import ConnectionError as Unreachable
        from botocore.exceptions import HTTPClientError

        try:
            return await self.transport.send(
                route.url,
                request.headers.items(),
                body,
                read_timeout=self._read_timeout,
                deadline=deadline,
            )
        except (Unreachable, HTTPClientError) as exc:
            raise _Retryable(exc) from exc

    def _signed(
        self, route: Route, operation: str, body: bytes, deadline: float | None
    ) -> AWSRequest:
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(
            method="POST",
            url=route.url,
            data=body,
            headers={
                "Content-Type": _CONTENT_TYPE,
                "X-Amz-Target": _TARGET + operation,
                "User-Agent": route.user_agent,
            },
        )
        # Refreshable credentials renew themselves here when they are about to expire.
        frozen: ReadOnlyCredentials = self._credentials.get_frozen_credentials()
        CachedSigV4(frozen, route.service, route.region).add_auth(request)
        self._limit_read_timeout(request, route, deadline)
        return request

    def _limit_read_timeout(
        self, request: AWSRequest, route: Route, deadline: float | None
    ) -> None:
        if deadline is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            from botocore.exceptions import ReadTimeoutError

            raise ReadTimeoutError(endpoint_url=route.url, error="the call's deadline passed")
        if remaining < self._read_timeout:
            # botocore's HTTP session honours a per-request read timeout here.
            request.context["read_timeout"] = remaining

    def _result(
        self, route: Route, response: AWSResponse, context: dict[str, Any]
    ) -> dict[str, Any]:
        data, status = response.content, response.status_code
        expected_crc = response.headers.get("x-amz-crc32")
        if expected_crc is not None and int(expected_crc) != zlib.crc32(data) & 0xFFFFFFFF:
            from botocore.exceptions import ChecksumError

            mismatch = ChecksumError(
                checksum_type="crc32",
                expected_checksum=expected_crc,
                actual_checksum=str(zlib.crc32(data) & 0xFFFFFFFF),
            )
            raise _Retryable(mismatch, response=response, parsed={})
        if 200 <= status < 300:
            result = json_body(status, data)
            # Gives back retry quota, as after every call of the client.
            self._events.emit(
                f"after-call.dynamodb.{route.model.name}",
                http_response=response,
                parsed=result,
                model=route.model,
                context=context,
            )
            return result
        error = client_error(data, status, route.model.name)
        raise _Retryable(error, response=response, parsed=dict(error.response))

    def _backoff(
        self,
        route: Route,
        attempt: int,
        failed: _Retryable,
        context: dict[str, Any],
        deadline: float | None,
    ) -> float:
        """Seconds to sleep before the next attempt, or raise the attempt's error:
        the client's retry handler decides the delay (and draws on its retry
        quota); the deadline cuts it to leave a last attempt `MIN_ATTEMPT`, or
        ends the call at once when not even that is left."""
        from botocore.hooks import first_non_none_response

        response = None if failed.response is None else (failed.response, failed.parsed)
        answers = self._events.emit(
            f"needs-retry.dynamodb.{route.model.name}",
            response=response,
            endpoint=None,
            operation=route.model,
            attempts=attempt,
            caught_exception=failed.error if response is None else None,
            request_dict={"context": context},
        )
        delay: float | None = first_non_none_response(answers)
        if delay is not None and deadline is not None:
            delay = min(delay, deadline - time.monotonic() - MIN_ATTEMPT)
        if delay is None or delay < 0:
            _report_retries(getattr(failed.error, "response", None), attempt)
            raise failed.error from None
        return delay


def _done(result: dict[str, Any], attempt: int) -> dict[str, Any]:
    if attempt > 1:  # as boto3 reports it (the span shows it)
        _report_retries(result, attempt)
    return result


def _report_retries(response: dict[str, Any] | None, attempt: int) -> None:
    if response is not None:
        response.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempt - 1
