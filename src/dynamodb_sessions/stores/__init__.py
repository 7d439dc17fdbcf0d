"""Session stores: the interface, an in-memory store, and the DynamoDB store."""

from __future__ import annotations

from ._memory import MemoryStore
from ._stored import StoredSession
from .dynamodb import DynamoDBStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._base import SessionStore

__all__ = ["DynamoDBStore", "MemoryStore", "SessionStore", "StoredSession"]


def __getattr__(name: str) -> object:
    # The Protocol needs `typing` (~15 ms here); load it only when asked for.
    if name == "SessionStore":
        from ._base import SessionStore

        return SessionStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
