"""Bad arguments fail fast, at construction, with a message that names the fix."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.datastructures import Secret

from dynamodb_sessions import (
    DynamoDBSessionMiddleware,
    DynamoDBStore,
    MemoryStore,
    SessionConfigError,
)


async def app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("not called")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secret_key": ""}, "secret_key"),
        ({"secret_key": []}, "secret_key"),
        ({"secret_key": ["a", ""]}, "secret_key"),
        ({"same_site": "sometimes"}, "same_site"),
        ({"max_age": -1}, "max_age"),
        ({"max_age": 0}, "max_age"),
        ({"session_cookie": "bad name;"}, "session_cookie"),
        ({"absolute_lifetime": 0}, "absolute_lifetime"),
        ({"refresh_interval": -5}, "refresh_interval"),
        ({"on_conflict": "merge"}, "on_conflict"),
        ({"retry_after": -1}, "retry_after"),
    ],
)
def test_middleware_rejects_bad_arguments(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"store": MemoryStore(), "secret_key": "s", **options}
    with pytest.raises(SessionConfigError, match=message):
        DynamoDBSessionMiddleware(app, **arguments)


def test_middleware_accepts_starlette_secret_and_key_lists() -> None:
    DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=Secret("s"))
    DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=["new", "old"])


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        DynamoDBSessionMiddleware(app, MemoryStore(), "secret")  # type: ignore[call-arg]


def test_store_rejects_bad_arguments() -> None:
    with pytest.raises(SessionConfigError):
        DynamoDBStore("")
    with pytest.raises(SessionConfigError):
        DynamoDBStore("t", max_attempts=0)
    with pytest.raises(SessionConfigError):
        MemoryStore(max_entries=0)
