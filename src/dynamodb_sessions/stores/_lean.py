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
- **How**: through the HTTP session botocore built for that client: `verify`,
  `AWS_CA_BUNDLE`, proxies, `NO_PROXY`, client certificates, timeouts, the pool.
- **Retries**: each failed attempt goes to the client's own retry handler
  (`needs-retry`): botocore's standard mode decides what is retried, the backoff
  and the retry quota, shared with the client.

Where it can't be the same (no SigV4, a header or body a hook changed, another
HTTP session, adaptive retries), `LeanUnsupported` sends the store to the client.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any, NamedTuple

# Loaded with the client, never at import of the package: boto3 is loaded by then.
from ._wire import (
    CachedSigV4,
    NotJSONAnswerError,
    client_error,
    json_body,
    prepared,
    reject_non_json_answers,
)

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
    from botocore.credentials import Credentials, ReadOnlyCredentials
    from botocore.model import OperationModel
    from types_boto3_dynamodb.client import DynamoDBClient

__all__ = ["LeanDynamoDB", "LeanUnsupported", "NotJSONAnswerError", "reject_non_json_answers"]

_TARGET = "DynamoDB_20120810."
_CONTENT_TYPE = "application/x-amz-json-1.0"
# What botocore puts on a DynamoDB request. The lean caller sends the same, but
# for the SDK's per-attempt bookkeeping headers; any other header means a setting
# or a hook changed the request, and the lean caller steps aside.
_KNOWN_HEADERS = frozenset(
    {
        "authorization",
        "content-length",
        "content-type",
        "user-agent",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-target",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
    }
)
_SIGV4_SCOPE = re.compile(r"AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request,")


class _Route(NamedTuple):
    """Where and how one operation is sent: learnt from the client once."""

    url: str
    region: str
    service: str
    user_agent: str
    model: OperationModel


class LeanUnsupported(Exception):
    """This client's requests can't be sent exactly as boto3 would: use the client."""


class _Captured(Exception):
    """Carries the request the client prepared in a dry run."""

    def __init__(self, request: AWSPreparedRequest) -> None:
        super().__init__("dry run")
        self.request = request


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
        self._client = client
        self._http = http
        self._events = client.meta.events
        self._credentials = credentials
        self._read_timeout = float(config.read_timeout)
        self._routes: dict[tuple[str, str | None, str | None], _Route] = {}
        self._dry_run = threading.local()
        self._events.register("before-send.dynamodb", self._capture)

    def call(
        self, operation: str, params: dict[str, Any], *, deadline: float | None = None
    ) -> dict[str, Any]:
        """Run `operation` (e.g. "GetItem"), retrying as the client would; raise
        botocore's errors. `deadline`, a `time.monotonic()` value, ends the retries
        early and shortens the read timeout of the attempt it would interrupt."""
        body = json.dumps(params, default=_binary).encode()
        route = self._route(operation, params)
        context: dict[str, Any] = {}  # the retry handler's per-call state
        attempt = 1
        while True:
            try:
                result = self._attempt(route, operation, body, context, deadline)
            except _Retryable as failed:
                delay = self._retry_delay(route, attempt, failed, context)
                if delay is None or _passes(deadline, delay):
                    _report_retries(getattr(failed.error, "response", None), attempt)
                    raise failed.error from None
            else:
                if attempt > 1:  # as boto3 reports it (the span shows it)
                    _report_retries(result, attempt)
                return result
            time.sleep(delay)
            attempt += 1

    def warm(self, table_name: str) -> None:
        """Learn the routes of the store's calls on `table_name` now, without sending."""
        key = {"session_id": {"S": "warm"}}
        for operation, params in (
            ("GetItem", {"Key": key}),
            ("PutItem", {"Item": key}),
            ("UpdateItem", {"Key": key}),
            ("DeleteItem", {"Key": key}),
        ):
            self._route(operation, {"TableName": table_name, **params})

    def _route(self, operation: str, params: dict[str, Any]) -> _Route:
        # Account-based endpoints depend on the credentials' account: part of the key.
        account = getattr(self._credentials.get_frozen_credentials(), "account_id", None)
        key = (operation, params.get("TableName"), account)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self._learn(operation, params)
        return route

    def _learn(self, operation: str, params: dict[str, Any]) -> _Route:
        """Have the client prepare this call, unsent, and take its URL and scope."""
        from botocore import xform_name

        self._dry_run.active = True
        try:
            getattr(self._client, xform_name(operation))(**params)
        except _Captured as captured:
            request = captured.request
        else:
            raise LeanUnsupported(f"the client answered {operation} without sending it")
        finally:
            self._dry_run.active = False
        model = self._client.meta.service_model.operation_model(operation)
        return _route_of(request, params, model)

    def _capture(self, request: AWSPreparedRequest, **_: Any) -> None:
        if getattr(self._dry_run, "active", False):
            raise _Captured(request)

    def _attempt(
        self,
        route: _Route,
        operation: str,
        body: bytes,
        context: dict[str, Any],
        deadline: float | None,
    ) -> dict[str, Any]:
        from botocore.exceptions import ConnectionError as Unreachable
        from botocore.exceptions import HTTPClientError

        request = self._signed(route, operation, body)
        self._limit_read_timeout(request, route, deadline)
        try:
            response = self._http.send(prepared(request, body))
        except (Unreachable, HTTPClientError) as exc:
            raise _Retryable(exc) from exc
        return self._result(route, response, context)

    def _signed(self, route: _Route, operation: str, body: bytes) -> AWSRequest:
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
        return request

    def _limit_read_timeout(
        self, request: AWSRequest, route: _Route, deadline: float | None
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
        self, route: _Route, response: AWSResponse, context: dict[str, Any]
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

    def _retry_delay(
        self, route: _Route, attempt: int, failed: _Retryable, context: dict[str, Any]
    ) -> float | None:
        """Seconds to wait before the next attempt, or None: the client's retry
        handler decides, and draws on (and keeps) its retry quota."""
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
        return delay


def _route_of(request: AWSPreparedRequest, params: dict[str, Any], model: OperationModel) -> _Route:
    """Where and how the client sends this operation, if the lean caller can do the same."""
    headers = {name.lower(): _text(value) for name, value in request.headers.items()}
    unknown = sorted(set(headers) - _KNOWN_HEADERS)
    if unknown:
        raise LeanUnsupported(f"boto3 adds the headers {unknown}")
    scope = _SIGV4_SCOPE.match(headers.get("authorization", ""))
    if scope is None:
        raise LeanUnsupported("the client does not sign with SigV4")
    body = request.body if isinstance(request.body, (bytes, str)) else None
    # Sealed values are bytes in `params`, base64 text in either body.
    sent = json.loads(json.dumps(params, default=_binary))
    if request.method != "POST" or body is None or json.loads(body) != sent:
        raise LeanUnsupported("the client sends another body")
    return _Route(request.url, scope[1], scope[2], headers.get("user-agent", ""), model)


def _binary(value: object) -> str:
    # A Binary attribute value (a sealed session value) travels as base64 text.
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _report_retries(response: dict[str, Any] | None, attempt: int) -> None:
    if response is not None:
        response.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempt - 1


def _passes(deadline: float | None, delay: float) -> bool:
    return deadline is not None and time.monotonic() + delay >= deadline
