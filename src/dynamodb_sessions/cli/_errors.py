"""Why a `dynamodb-sessions` command failed, in one line: the one place failures
become messages, so every command (and any added later) words each the same way.

A store error is classified by its root cause, the error at the end of its
`__cause__` chain, since the store wraps botocore's errors in its own. The CLI's
own errors (a table with another key...) carry their message already.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .._exceptions import SessionError, SessionTableNotFoundError
from ..stores._calls import DENIED_CODES, UNAVAILABLE_CODES, MissingIndexError
from ._text import one_line

if TYPE_CHECKING:
    import argparse
NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or run `aws configure` (local servers accept any values)"
)
NO_REGION = "no AWS region: pass --region or set AWS_REGION"


def command_line(args: argparse.Namespace, command: str) -> str:
    """`command` with the table options the user gave, to suggest as a fix."""
    line = f"dynamodb-sessions {command} --table-name {args.table_name}"
    if getattr(args, "region", None):
        line += f" --region {args.region}"
    if getattr(args, "endpoint_url", None):
        line += f" --endpoint-url {args.endpoint_url}"
    return line


def _endpoint(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The endpoint URL in use if not AWS's, and the variable that set it if no flag did
    (boto3 reads these two; a command without --endpoint-url has neither)."""
    import os

    if getattr(args, "endpoint_url", None):
        return args.endpoint_url, None
    for variable in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"):
        if os.environ.get(variable):
            return os.environ[variable], f"${variable}"
    return None, None


def reason(exc: BaseException, args: argparse.Namespace) -> str:
    """The one-line reason to print for `exc`, a failure of the command in `args`."""
    root = _root(exc) if _wrapped(exc) else exc
    for classify in (_local, _transport, _answer):
        text = classify(root, args)
        if text is not None:
            return text
    return one_line(str(exc)) or type(exc).__name__


def _wrapped(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, SessionError | BotoCoreError | ClientError)


def _root(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _local(exc: BaseException, args: argparse.Namespace) -> str | None:
    """Failures found before anything is sent."""
    from botocore.exceptions import NoCredentialsError, NoRegionError

    if isinstance(exc, NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(exc, NoRegionError):
        return NO_REGION
    if isinstance(exc, SessionTableNotFoundError):
        return _table_missing(args)
    if isinstance(exc, MissingIndexError):
        return _index_missing(args)
    return None


def _transport(exc: BaseException, args: argparse.Namespace) -> str | None:
    """Failures to reach the endpoint, or to read its answer."""
    from botocore.exceptions import ConnectionError, HTTPClientError

    from ..stores._wire import NotJSONAnswerError

    endpoint, variable = _endpoint(args)
    where = endpoint or "the AWS endpoint"
    if isinstance(exc, ConnectionError | HTTPClientError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or where
        if endpoint is None:
            check = "check your network and --region, or pass --endpoint-url for a local server"
        else:
            check = "is the server running? Check --endpoint-url"
            check += f" ({variable} set it)" if variable else ""
        return f"could not reach DynamoDB at {url} ({_kind(exc)}): {check}"
    if isinstance(exc, NotJSONAnswerError):
        status = exc.kwargs.get("status", "?")
        return _not_dynamodb(where, f"HTTP {status}", _looks_like(exc.kwargs.get("start", b"")))
    return None


def _answer(exc: BaseException, args: argparse.Namespace) -> str | None:
    """DynamoDB's own error answers, by error code."""
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error", {})
    code, message = error.get("Code", ""), one_line(error.get("Message", ""))
    if code.isdigit():  # botocore's code when the body wasn't DynamoDB's JSON
        answer = f"HTTP {code}" + (f" ({message})" if message else "")
        return _not_dynamodb(_endpoint(args)[0] or "the AWS endpoint", answer, "a page")
    if code == "ResourceNotFoundException":
        return _table_missing(args)
    if code in DENIED_CODES:
        return (
            f"access to table {args.table_name} was denied ({code}: {message}): the "
            "credentials in use need the policy of `dynamodb-sessions iam-policy --for setup`"
        )
    if code == "ValidationException" and "specified index" in message:
        return _index_missing(args)
    if code in UNAVAILABLE_CODES:
        return f"DynamoDB is unavailable after retries ({code}: {message}): try again later"
    return f"DynamoDB refused the request ({code}: {message})"


def _table_missing(args: argparse.Namespace) -> str:
    return (
        f"table {args.table_name} was not found: create it with "
        f"`{command_line(args, 'create-table')}`, or check --region and --endpoint-url"
    )


def _index_missing(args: argparse.Namespace) -> str:
    return (
        f"table {args.table_name} has no user index: add it with "
        f"`{command_line(args, 'create-table')} --with-user-index`"
    )


def _not_dynamodb(where: str, answer: str, what: str) -> str:
    return (
        f"{where} answered {answer} with {what}, not DynamoDB's JSON: check --endpoint-url, "
        "or a proxy in between (HTTPS_PROXY)"
    )


def _looks_like(start: bytes) -> str:
    title = re.search(rb"<title>([^<]{1,60})", start, re.IGNORECASE)
    if title:
        return f'an HTML page titled "{one_line(title.group(1).decode(errors="replace"))}"'
    return "an HTML page" if start.lstrip().startswith(b"<") else "a body"


def _kind(exc: BaseException) -> str:
    from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError

    if isinstance(exc, ConnectTimeoutError):
        return "timed out connecting"
    if isinstance(exc, ReadTimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionClosedError):
        return "connection closed without an answer"
    return "could not connect"
