"""Session stores: the interface, an in-memory store, and the DynamoDB store."""

from __future__ import annotations

from ._base import SessionStore, UserSessionStore
from ._memory import MemoryStore
from ._stored import StoredSession
from ._users import UserSession
from .dynamodb import DynamoDBStore

__all__ = [
    "DynamoDBStore",
    "MemoryStore",
    "SessionStore",
    "StoredSession",
    "UserSession",
    "UserSessionStore",
]
