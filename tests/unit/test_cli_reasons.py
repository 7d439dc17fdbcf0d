"""The CLI's one-line reasons (cli/_errors.py) for failures the local servers can't
produce: timeouts, denied access, throttling, AWS's own endpoint. The classes met on
real servers are tested end to end in tests/integration/test_cli_errors.py."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from dynamodb_sessions import SessionStoreUnavailableError
from dynamodb_sessions.cli._errors import reason

AWS = argparse.Namespace(table_name="T", region="eu-west-1", endpoint_url=None)
LOCAL = argparse.Namespace(table_name="T", region=None, endpoint_url="http://127.0.0.1:8001")


def client_error(code: str, message: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "Scan")


def wrapped(exc: Exception) -> SessionStoreUnavailableError:
    """`exc` as the store raises it: wrapped in its own error."""
    try:
        raise SessionStoreUnavailableError("DynamoDB is unavailable") from exc
    except SessionStoreUnavailableError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "args", "expected"),
    [
        (ConnectTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com/"), AWS,
         "could not reach DynamoDB at https://dynamodb.eu-west-1.amazonaws.com/ (timed out "
         "connecting): check your network and --region, or pass --endpoint-url for a local "
         "server"),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:8001/"), LOCAL,
         "could not reach DynamoDB at http://127.0.0.1:8001/ (no answer in time): is the "
         "server running? Check --endpoint-url"),
        (client_error("AccessDeniedException", "User: x is not\nauthorized"), AWS,
         "access to table T was denied (AccessDeniedException: User: x is not authorized): "
         "the credentials in use need the policy of `dynamodb-sessions iam-policy --for setup`"),
        (client_error("ThrottlingException", "Rate exceeded"), AWS,
         "DynamoDB is unavailable after retries (ThrottlingException: Rate exceeded): try "
         "again later"),
        (client_error("ValidationException", "1 validation error"), AWS,
         "DynamoDB refused the request (ValidationException: 1 validation error)"),
        (client_error("403", "Forbidden", 403), AWS,
         "the AWS endpoint answered HTTP 403 (Forbidden) with a page, not DynamoDB's JSON: "
         "check --endpoint-url, or a proxy in between (HTTPS_PROXY)"),
        (RuntimeError("table T exists with another key;\n choose another --table-name"), AWS,
         "table T exists with another key; choose another --table-name"),
    ],
)  # fmt: skip
def test_reasons(exc: Exception, args: argparse.Namespace, expected: str) -> None:
    assert reason(exc, args) == expected
    if not isinstance(exc, RuntimeError):  # the store's wrapping changes nothing
        assert reason(wrapped(exc), args) == expected
