"""Where and how the lean caller sends each operation, learnt from the boto3 client.

The client prepares the call, and the request is taken at `before-send` unsent:
so botocore's endpoint rules decide the URL (`endpoint_url` with its path, FIPS,
dual-stack, account-based endpoints, ARNs), and its signer the signing scope.

Loaded with the client, never at import of the package: boto3 is loaded by then.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest
    from botocore.credentials import Credentials
    from botocore.model import OperationModel
    from types_boto3_dynamodb.client import DynamoDBClient

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


class LeanUnsupported(Exception):
    """This client's requests can't be sent exactly as boto3 would: use the client."""


class Route(NamedTuple):
    """Where and how one operation is sent: learnt from the client once."""

    url: str
    region: str
    service: str
    user_agent: str
    model: OperationModel


class _Captured(Exception):
    """Carries the request the client prepared in a dry run."""

    def __init__(self, request: AWSPreparedRequest) -> None:
        super().__init__("dry run")
        self.request = request


class Routes:
    """The routes of one client's operations, per table and account, learnt once."""

    def __init__(self, client: DynamoDBClient, credentials: Credentials) -> None:
        self._client = client
        self._credentials = credentials
        self._routes: dict[tuple[str, str | None, str | None], Route] = {}
        self._dry_run = threading.local()
        client.meta.events.register("before-send.dynamodb", self._capture)

    def of(self, operation: str, params: dict[str, Any]) -> Route:
        """The route of `operation` (e.g. "GetItem") with these parameters, learnt
        now if it is not known (that blocks: not from the event loop)."""
        key = self._key(operation, params)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self._learn(operation, params)
        return route

    def known(self, operation: str, params: dict[str, Any]) -> Route | None:
        """The route of `operation` if it is learnt already, else None."""
        return self._routes.get(self._key(operation, params))

    def _key(self, operation: str, params: dict[str, Any]) -> tuple[str, str | None, str | None]:
        # Account-based endpoints depend on the credentials' account: part of the key.
        account = getattr(self._credentials.get_frozen_credentials(), "account_id", None)
        return (operation, params.get("TableName"), account)

    def learnt(self) -> set[str]:
        """The operations whose routes are known."""
        return {operation for operation, _, _ in self._routes}

    def _learn(self, operation: str, params: dict[str, Any]) -> Route:
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


def _route_of(request: AWSPreparedRequest, params: dict[str, Any], model: OperationModel) -> Route:
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
    sent = json.loads(request_body(params))
    if request.method != "POST" or body is None or json.loads(body) != sent:
        raise LeanUnsupported("the client sends another body")
    return Route(request.url, scope[1], scope[2], headers.get("user-agent", ""), model)


def request_body(params: dict[str, Any]) -> bytes:
    """The JSON body of a call: a Binary attribute value (a sealed session value)
    travels as base64 text, as botocore sends it."""
    return json.dumps(params, default=_binary).encode()


def _binary(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
