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
        "EVENT_NAMES",
        "EventHook",
        "MemoryStore",
        "SessionAccessDeniedError",
        "SessionConfigError",
        "SessionConflictError",
        "SessionDataError",
        "SessionError",
        "SessionEvent",
        "SessionNotLoadedError",
        "SessionSerializationError",
        "SessionStore",
        "SessionStoreError",
        "SessionStoreUnavailableError",
        "SessionTableNotFoundError",
        "SessionTooLargeError",
        "SessionTooManyChangesError",
        "StoredSession",
        "UserSession",
        "UserSessionStore",
        "__version__",
        "load_session",
    ]
    for name in dynamodb_sessions.__all__:
        assert getattr(dynamodb_sessions, name) is not None


def test_import_loads_no_aws_sdk() -> None:
    # What a Lambda cold start must avoid is boto3 at import time (hundreds of ms);
    # `typing`, anyio and the like come with Starlette anyway. The import's cost
    # on top of Starlette is measured in the benchmarks, not asserted here.
    code = (
        "import sys; import dynamodb_sessions; "
        "from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore, MemoryStore; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_memory_store_follows_the_session_store_protocol() -> None:
    from dynamodb_sessions import MemoryStore, SessionStore, UserSessionStore

    assert isinstance(MemoryStore(), SessionStore)
    assert isinstance(MemoryStore(), UserSessionStore)
