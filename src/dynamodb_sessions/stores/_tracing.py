"""OpenTelemetry spans for the store's DynamoDB calls, if opentelemetry-api is installed.

One CLIENT span per DynamoDB operation, named and attributed as OpenTelemetry's
semantic conventions for DynamoDB say ("DynamoDB.GetItem", `db.system.name`,
`rpc.*`, `aws.dynamodb.*`), a child of whatever span is current (the request's,
when the app is instrumented). opentelemetry is imported at the first store call,
never at import of the package; without it, or without an SDK behind the API,
`start` returns None and nothing else happens.

A span never names a session, unless `dynamodb_sessions.otel.trace_session_keys()`
asked for the log name of its hashed id (the store never sees the raw id anyway).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from .._logging import log_id
from ._item import PARTITION_KEY

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

#: Whether spans carry `dynamodb_sessions.session` (see `otel.trace_session_keys`).
trace_keys = False

# "get_item" -> "GetItem": the operation's name in the API, and in the span's name.
_METHODS = {
    name: name.title().replace("_", "")
    for name in ("get_item", "put_item", "update_item", "delete_item", "query", "describe_table")
}
_NO_RETRIES = {"RetryAttempts": 0}


class _OTel:
    """The few parts of the OpenTelemetry API a span needs, imported once."""

    def __init__(self) -> None:
        from opentelemetry import context, trace

        from .. import __version__

        self.tracer: Tracer = trace.get_tracer("dynamodb_sessions", __version__)
        self.client = trace.SpanKind.CLIENT
        self.set_span_in_context = trace.set_span_in_context
        self.attach, self.detach = context.attach, context.detach
        self.status, self.error = trace.Status, trace.StatusCode.ERROR


@functools.cache
def _otel() -> _OTel | None:
    try:
        return _OTel()
    except ImportError:
        return None


class CallSpan:
    """The span of one DynamoDB call, current while the call runs."""

    __slots__ = ("_otel", "_span", "_token")

    def __init__(self, otel: _OTel, span: Span) -> None:
        self._otel, self._span = otel, span
        context: Context = otel.set_span_in_context(span)
        self._token = otel.attach(context)  # so that spans made below (botocore's) nest

    def succeeded(self, result: dict[str, Any]) -> None:
        """End the span with what DynamoDB answered."""
        span = self._span
        consumed = result.get("ConsumedCapacity")
        if consumed is not None:
            span.set_attribute("aws.dynamodb.consumed_capacity", [json.dumps(consumed)])
        if "Count" in result:
            span.set_attribute("aws.dynamodb.count", result["Count"])
            span.set_attribute("aws.dynamodb.scanned_count", result.get("ScannedCount", 0))
        # The lean caller reports retries only when it made some, as "RetryAttempts".
        self._end(result.get("ResponseMetadata", _NO_RETRIES))

    def failed(self, exc: BaseException) -> None:
        """End the span as failed: `error.type` is DynamoDB's error code if it sent one."""
        cause = exc.__cause__ or exc  # this library's errors are raised from botocore's
        response: dict[str, Any] = getattr(cause, "response", None) or {}
        code = response.get("Error", {}).get("Code") or type(cause).__name__
        self._span.set_attribute("error.type", code)
        description = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self._span.set_status(self._otel.status(self._otel.error, description))
        self._end(response.get("ResponseMetadata"))

    def _end(self, metadata: dict[str, Any] | None) -> None:
        self._otel.detach(self._token)
        if metadata is not None:  # None: no answer, as after a timeout
            if "RetryAttempts" in metadata:
                self._span.set_attribute(
                    "dynamodb_sessions.retry_attempts", metadata["RetryAttempts"]
                )
            if "RequestId" in metadata:  # boto3's; the lean caller doesn't parse it
                self._span.set_attribute("aws.request_id", metadata["RequestId"])
        self._span.end()


def start(operation: str, table_name: str, params: dict[str, Any]) -> CallSpan | None:
    """A span for `operation` ("get_item"...) on `table_name` with `params`, or None
    if OpenTelemetry is absent or records nothing."""
    otel = _otel()
    if otel is None:
        return None
    method = _METHODS.get(operation) or operation.title().replace("_", "")
    span = otel.tracer.start_span(
        f"DynamoDB.{method}",
        kind=otel.client,
        attributes={
            "db.system.name": "aws.dynamodb",
            "rpc.system": "aws-api",
            "rpc.service": "DynamoDB",
            "rpc.method": method,
            "aws.dynamodb.table_names": [table_name],
        },
    )
    if not span.is_recording():
        return None  # no SDK, or not sampled: a non-recording span needs no end
    _request_attributes(span, params)
    return CallSpan(otel, span)


def _request_attributes(span: Span, params: dict[str, Any]) -> None:
    if "ConsistentRead" in params:
        span.set_attribute("aws.dynamodb.consistent_read", params["ConsistentRead"])
    if "IndexName" in params:
        span.set_attribute("aws.dynamodb.index_name", params["IndexName"])
    if "ProjectionExpression" in params:
        span.set_attribute("aws.dynamodb.projection", params["ProjectionExpression"])
    if trace_keys:
        item = params.get("Key") or params.get("Item") or {}
        key = item.get(PARTITION_KEY, {}).get("S")
        if key is not None:
            span.set_attribute("dynamodb_sessions.session", log_id(key))
