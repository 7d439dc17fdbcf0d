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

KEY = "a-test-secret"


async def app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("not called")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secret_key": ""}, "secret_key"),
        ({"secret_key": []}, "secret_key"),
        ({"secret_key": ["a-long-key", ""]}, "secret_key"),
        ({"same_site": "sometimes"}, "same_site"),
        ({"session_cookie": "bad name;"}, "session_cookie"),
        ({"absolute_lifetime": 0}, "absolute_lifetime"),
        ({"refresh_interval": -5}, "refresh_interval"),
        ({"on_conflict": "merge"}, "on_conflict"),
        ({"retry_after": -1}, "retry_after"),
    ],
)
def test_middleware_rejects_bad_arguments(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"store": MemoryStore(), "secret_key": KEY, **options}
    with pytest.raises(SessionConfigError, match=message):
        DynamoDBSessionMiddleware(app, **arguments)


@pytest.mark.parametrize(
    "secret_key",
    [
        None,  # str(None) would sign every cookie with the key "None"
        b"bytes-are-not-keys",
        123456789,
        {"a-set-has-no-order"},
        "s",
        "short",
        ["a-long-key", "x"],
        ["a-long-key", b"bytes-key"],
        ("a-long-key", None),
        Secret("short"),
    ],
    ids=repr,
)
def test_secret_key_must_be_strings_of_at_least_six_characters(secret_key: Any) -> None:
    with pytest.raises(SessionConfigError, match=r"secret_key.*secrets\.token_urlsafe\(32\)"):
        DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=secret_key)


def test_middleware_accepts_starlette_secret_and_key_lists() -> None:
    DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=Secret("example"))
    DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key="secret")  # Starlette's tests
    DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=["new-key", "old-key"])
    DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=("new-key", Secret("old-key")))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "/app; domain=evil.example"}, "path"),
        ({"path": "/app\r\nSet-Cookie: x=1"}, "path"),
        ({"path": "/caf\u00e9"}, "path"),
        ({"path": "/tab\there"}, "path"),
        ({"path": "app"}, "path"),  # browsers ignore a path without the leading "/"
        ({"path": ""}, "path"),
        ({"domain": "example.com; secure"}, "domain"),
        ({"domain": "example.com\n"}, "domain"),
        ({"domain": "b\u00fccher.example"}, "punycode"),
        ({"domain": "exa mple.com"}, "domain"),
        ({"domain": ""}, "domain"),
    ],
)
def test_path_and_domain_must_be_valid_cookie_attribute_values(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(SessionConfigError, match=message):
        DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=KEY, **options)


@pytest.mark.parametrize(
    "skip_paths",
    [
        "/static",  # a bare string would be iterated char by char: "/" skips every path
        b"/static",
        ["static"],
        ["/health", ""],
        [b"/static"],
    ],
    ids=repr,
)
def test_skip_paths_must_be_a_collection_of_paths(skip_paths: Any) -> None:
    with pytest.raises(SessionConfigError, match="skip_paths"):
        DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=KEY, skip_paths=skip_paths)


def test_skip_paths_accepts_any_collection_of_paths() -> None:
    for skip_paths in (["/static"], ("/static", "/health"), {"/static"}, ()):
        middleware = DynamoDBSessionMiddleware(
            app, store=MemoryStore(), secret_key=KEY, skip_paths=skip_paths
        )
        assert set(middleware.skip_paths) == set(skip_paths)


@pytest.mark.parametrize("max_age", [None, -1, 0, 1, 60])
def test_max_age_accepts_what_starlette_accepts(max_age: int | None) -> None:
    DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=KEY, max_age=max_age)


@pytest.mark.parametrize("max_age", ["3600", 3600.5, True])
def test_max_age_must_be_whole_seconds(max_age: Any) -> None:
    with pytest.raises(SessionConfigError, match="max_age"):
        DynamoDBSessionMiddleware(app, store=MemoryStore(), secret_key=KEY, max_age=max_age)


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
