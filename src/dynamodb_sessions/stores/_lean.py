"""A lean DynamoDB caller for the store's hot path.

A boto3 client call costs about 2.3 ms of CPU here, most of it in botocore's
generic machinery (event hooks, model-driven serialization and parsing, endpoint
rules); sending the same JSON request, signed by botocore's own SigV4 signer,
over urllib3 costs about 1.3 ms (figures and command in docs/performance.md).
Sessions make one or two calls per request, so this halves the library's CPU.

Nothing is hand-written that a library does: botocore resolves the endpoint,
region and credentials (through a real boto3 client built once) and signs;
urllib3 (botocore's own HTTP library) pools connections. This module adds only
the DynamoDB JSON 1.0 envelope and retries in the spirit of botocore's standard
mode: throttling, 5xx, CRC32 mismatches and connection errors are retried with
exponential backoff and full jitter. Errors are raised as botocore's own
`ClientError` and connection errors, so the store maps both paths in one place.
"""

from __future__ import annotations

import json
import random
import time
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from botocore.credentials import Credentials
    from types_boto3_dynamodb.client import DynamoDBClient

_TARGET = "DynamoDB_20120810."
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottledException",
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
_BACKOFF_BASE = 0.025  # seconds; doubles per attempt, capped below
_BACKOFF_CAP = 1.0


class LeanDynamoDB:
    """Calls DynamoDB operations by name with wire-format parameters and results."""

    def __init__(
        self,
        client: DynamoDBClient,
        credentials: Credentials,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_attempts: int,
        max_pool_connections: int,
    ) -> None:
        import urllib3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        self.url = client.meta.endpoint_url
        self.region = client.meta.region_name
        self._credentials = credentials
        self._signer_class = SigV4Auth
        self._request_class = AWSRequest
        self._max_attempts = max_attempts
        self._pool = urllib3.connection_from_url(
            self.url,
            maxsize=max_pool_connections,
            block=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=False,
        )

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run `operation` (e.g. "GetItem"); retry what is transient; raise botocore errors."""
        body = json.dumps(params).encode()
        attempt = 1
        while True:
            try:
                return self._attempt(operation, body)
            except _Retryable as retryable:
                if attempt >= self._max_attempts:
                    raise retryable.error from retryable.__cause__
            time.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))  # noqa: S311 - jitter
            attempt += 1

    def _attempt(self, operation: str, body: bytes) -> dict[str, Any]:
        from botocore.exceptions import (
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )
        from urllib3.exceptions import ConnectTimeoutError as Urllib3ConnectTimeout
        from urllib3.exceptions import HTTPError
        from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeout

        headers = self._signed_headers(operation, body)
        try:
            response = self._pool.urlopen(
                "POST", "/", body=body, headers=headers, retries=False, preload_content=True
            )
        except Urllib3ConnectTimeout as exc:
            raise _Retryable(ConnectTimeoutError(endpoint_url=self.url, error=exc)) from exc
        except Urllib3ReadTimeout as exc:
            raise _Retryable(ReadTimeoutError(endpoint_url=self.url, error=exc)) from exc
        except HTTPError as exc:
            raise _Retryable(EndpointConnectionError(endpoint_url=self.url, error=exc)) from exc
        return self._result(operation, response.status, response.headers, response.data)

    def _signed_headers(self, operation: str, body: bytes) -> dict[str, str]:
        request = self._request_class(
            method="POST",
            url=self.url,
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": _TARGET + operation,
            },
        )
        # Refreshable credentials renew themselves here when they are about to expire.
        frozen = self._credentials.get_frozen_credentials()
        self._signer_class(frozen, "dynamodb", self.region).add_auth(request)
        return dict(request.headers.items())

    def _result(self, operation: str, status: int, headers: Any, data: bytes) -> dict[str, Any]:
        expected_crc = headers.get("x-amz-crc32")
        if expected_crc is not None and int(expected_crc) != zlib.crc32(data) & 0xFFFFFFFF:
            mismatch = _client_error(
                "CRC32CheckFailed", "response CRC32 mismatch", status, operation
            )
            raise _Retryable(mismatch)
        if status == 200:
            result: dict[str, Any] = json.loads(data)
            return result
        code, message = _error_fields(data)
        error = _client_error(code, message, status, operation)
        if code in _RETRYABLE_CODES or status >= 500:
            raise _Retryable(error)
        raise error


class _Retryable(Exception):
    """Wraps an error that another attempt may cure."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _client_error(code: str, message: str, status: int, operation: str) -> Exception:
    from botocore.exceptions import ClientError

    response = {"Error": {"Code": code, "Message": message}}
    response["ResponseMetadata"] = {"HTTPStatusCode": status}  # type: ignore[dict-item]
    return ClientError(response, operation)  # type: ignore[arg-type]


def _error_fields(data: bytes) -> tuple[str, str]:
    try:
        document = json.loads(data)
    except ValueError:
        return "UnknownError", data[:200].decode("utf-8", "replace")
    if not isinstance(document, dict):
        return "UnknownError", str(document)[:200]
    code = str(document.get("__type", "UnknownError")).rpartition("#")[2]
    message = str(document.get("message", document.get("Message", "")))
    return code, message
