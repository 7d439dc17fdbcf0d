"""Policy: the middleware's settings that decide what a request's session does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ._exceptions import SessionConfigError
from ._session import DynamoDBSessionDict

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from ._cookies import SessionCookie
    from ._events import EventHook
    from .stores._base import SessionStore

ConflictPolicy = Literal["raise", "last_writer_wins"]
_CONFLICT_POLICIES = ("raise", "last_writer_wins")


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
        self,
        stored: Mapping[str, str] | None = None,
        *,
        user_id: str | None = None,
        user_key: str | None = None,
        hash_user_id: Callable[[str], str] | None = None,
    ) -> DynamoDBSessionDict:
        """A request's session, sized as the store will store it."""
        return DynamoDBSessionDict(
            stored,
            user_id=user_id,
            user_key=user_key,
            hash_user_id=hash_user_id,
            entry_overhead=self.entry_overhead,
        )


def check_settings(
    absolute_lifetime: int | None, refresh_interval: int | None, on_conflict: str, retry_after: int
) -> None:
    """Refuse a bad lifetime, refresh interval, conflict policy or Retry-After."""
    if absolute_lifetime is not None and absolute_lifetime <= 0:
        raise SessionConfigError(
            f"absolute_lifetime must be positive or None, not {absolute_lifetime}"
        )
    if refresh_interval is not None and refresh_interval < 0:
        raise SessionConfigError(f"refresh_interval must be >= 0 or None, not {refresh_interval}")
    if on_conflict not in _CONFLICT_POLICIES:
        raise SessionConfigError(
            f"on_conflict must be one of {_CONFLICT_POLICIES}, not {on_conflict!r}"
        )
    if retry_after < 0:
        raise SessionConfigError(f"retry_after must be >= 0, not {retry_after}")


def check_timing(rotation_grace: int, store_timeout: float) -> None:
    """Refuse a negative rotation grace or a store timeout that is not positive."""
    if rotation_grace < 0:
        raise SessionConfigError(f"rotation_grace must be >= 0 seconds, not {rotation_grace}")
    if not store_timeout > 0:
        raise SessionConfigError(
            f"store_timeout must be a positive number of seconds, not {store_timeout}"
        )


def path_prefixes(skip_paths: Collection[str]) -> tuple[str, ...]:
    """`skip_paths` as a tuple, checked: each a prefix that starts with '/'."""
    # A bare string would be iterated char by char: "/static" would skip every path.
    prefixes = None if isinstance(skip_paths, (str, bytes)) else tuple(skip_paths)
    if prefixes is None or not all(isinstance(p, str) and p.startswith("/") for p in prefixes):
        raise SessionConfigError(
            f"skip_paths must be a list of path prefixes that start with '/', not "
            f"{skip_paths!r}; for one prefix write skip_paths=['/static']"
        )
    return prefixes
