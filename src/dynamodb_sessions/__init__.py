"""Server-side sessions for Starlette and FastAPI, stored in Amazon DynamoDB.

    from dynamodb_sessions import DynamoDBSessionMiddleware, DynamoDBStore

    app.add_middleware(
        DynamoDBSessionMiddleware,
        store=DynamoDBStore("LLM-Duel-Sessions"),
        secret_key=os.environ["SESSION_SECRET"],
    )

Importing this package does not import boto3: the first store call does.
"""

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
from ._middleware import DynamoDBSessionMiddleware
from ._session import DynamoDBSessionDict
from .stores import DynamoDBStore, MemoryStore, StoredSession

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .stores._base import SessionStore

__version__ = "0.1.0"

__all__ = [
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


def __getattr__(name: str) -> object:
    # The store Protocol imports `typing`; load it only when asked for (cold starts).
    if name == "SessionStore":
        from .stores._base import SessionStore

        return SessionStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
