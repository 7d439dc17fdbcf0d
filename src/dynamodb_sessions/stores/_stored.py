"""StoredSession: a session as a store hands it back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .._exceptions import SessionConflictError


@dataclass(slots=True, repr=False)
class StoredSession:
    """A session as loaded from a store.

    `data` maps each session key to its JSON text; `expires` is the epoch second
    at which the session stops existing (DynamoDB's `ttl`); `created` is when it
    was first stored, for the absolute lifetime; `version` counts the writes that
    changed data or binding; `user_id` is the user the session is bound to, if
    any, as stored: the keyed hash `hash_user_id` gives (a raw id in an item
    written before ids were hashed). `last_seen` is the epoch second of the last
    write, `device` the label of the device it was bound on. `rotated` marks
    the short-lived tombstone that `rotate` leaves under an old key: no data, no
    user, and no write is accepted on it.
    """

    data: Mapping[str, str]
    expires: int
    created: int
    version: int = 0
    user_id: str | None = None
    rotated: bool = False
    last_seen: int = 0
    device: str | None = None

    def __repr__(self) -> str:
        # Keys only: the values are the session's data, which logs must not hold.
        return (
            f"StoredSession(keys={sorted(self.data)!r}, expires={self.expires}, "
            f"created={self.created}, version={self.version}, rotated={self.rotated})"
        )


def conflict(
    current: StoredSession | None, expected: Mapping[str, str | None] | None, now: float
) -> SessionConflictError:
    """Why a conditional write on a session now `current` was refused."""
    if current is None or current.expires <= now:
        return SessionConflictError((), gone=True)
    if current.rotated:
        return SessionConflictError((), rotated=True)
    clashes = [k for k, v in (expected or {}).items() if current.data.get(k) != v]
    return SessionConflictError(clashes or list(expected or ()))
