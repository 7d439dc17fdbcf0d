"""Policy: the middleware's settings that decide what a request's session does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ._session import DynamoDBSessionDict

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._cookies import SessionCookie
    from ._events import EventHook
    from .stores._base import SessionStore

ConflictPolicy = Literal["raise", "last_writer_wins"]


@dataclass(slots=True, kw_only=True)
class Policy:
    """The middleware's settings that decide what a save does (see its docstring)."""

    cookie: SessionCookie
    store: SessionStore
    fallback_store: SessionStore | None
    idle_timeout: int
    absolute_lifetime: int | None
    refresh_interval: int
    on_conflict: ConflictPolicy
    rotation_grace: int = 60
    store_timeout: float = 3.0
    on_event: EventHook | None = None
    #: Bytes the store adds to each value (a sealed value's), counted by the size guard.
    entry_overhead: int = 0

    def new_session(
        self, stored: Mapping[str, str] | None = None, *, user_id: str | None = None
    ) -> DynamoDBSessionDict:
        """A request's session, sized as the store will store it."""
        return DynamoDBSessionDict(stored, user_id=user_id, entry_overhead=self.entry_overhead)
