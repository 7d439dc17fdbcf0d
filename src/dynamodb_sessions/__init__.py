"""Server-side sessions for Starlette and FastAPI, stored in Amazon DynamoDB.

    from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore

    app.add_middleware(
        DynamoDBSessionMiddleware,
        store=DynamoDBStore("LLM-Duel-Sessions"),
        secret_key=os.environ["SESSION_SECRET"],
    )

Importing this package does not import boto3: the first store call does.
"""

from ._events import EVENT_NAMES, EventHook, SessionEvent
from ._exceptions import (
    SessionAccessDeniedError,
    SessionConfigError,
    SessionConflictError,
    SessionDataError,
    SessionError,
    SessionNotLoadedError,
    SessionSerializationError,
    SessionStoreError,
    SessionStoreUnavailableError,
    SessionTableNotFoundError,
    SessionTooLargeError,
    SessionTooManyChangesError,
)
from ._loading import load_session
from ._middleware import DynamoDBSessionMiddleware
from ._session import DynamoDBSessionDict
from .stores import (
    DynamoDBStore,
    MemoryStore,
    SessionStore,
    StoredSession,
    UserSession,
    UserSessionStore,
)

__version__ = "1.0.0"

__all__ = [
    "EVENT_NAMES",
    "DynamoDBSessionDict",
    "DynamoDBSessionMiddleware",
    "DynamoDBStore",
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
