"""The curated public API, and what importing it costs a cold start."""

from __future__ import annotations

import subprocess
import sys

import dynamodb_sessions


def test_export_list_is_pinned() -> None:
    assert sorted(dynamodb_sessions.__all__) == [
        "DynamoDBSessionDict",
        "DynamoDBSessionMiddleware",
        "DynamoDBStore",
        "MemoryStore",
        "SessionAccessDeniedError",
        "SessionConfigError",
        "SessionConflictError",
        "SessionDataError",
        "SessionError",
        "SessionNotLoadedError",
        "SessionSerializationError",
        "SessionStore",
        "SessionStoreError",
        "SessionStoreUnavailableError",
        "SessionTableNotFoundError",
        "SessionTooLargeError",
        "SessionTooManyChangesError",
        "StoredSession",
        "__version__",
    ]
    for name in dynamodb_sessions.__all__:
        assert getattr(dynamodb_sessions, name) is not None


def test_import_loads_neither_boto3_nor_typing() -> None:
    code = (
        "import sys; import dynamodb_sessions; "
        "from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore, MemoryStore; "
        "print(sorted(m for m in ('boto3', 'botocore', 'typing', 'anyio', 'itsdangerous', 'json')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_session_store_protocol_is_available_on_demand() -> None:
    from dynamodb_sessions import MemoryStore, SessionStore

    assert isinstance(MemoryStore(), SessionStore)
