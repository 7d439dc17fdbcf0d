"""The store interface: a few async methods with an exact contract.

A store keeps sessions by *key*: the one-way hash of a session id, never the id
itself, so stores never see cookies. Values are JSON strings, one per session
key, so a store can change some keys without touching the others. Times are
whole epoch seconds, read from the store's own `clock`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Protocol, runtime_checkable

from ._stored import StoredSession
from ._users import UserIdKey, UserSession


@runtime_checkable
class SessionStore(Protocol):
    """What the middleware needs from a session store.

    Contract, checked by the shared contract tests for every store:

    - `load` returns None for a missing key, and for a session whose `expires`
      is at or before `clock()`, even if the backend still holds it. It never
      raises for those; it raises `SessionStoreError` only when the store fails.
      A live tombstone (see `rotate`) is returned with `rotated=True`.
    - `create` stores a new session; the key must not exist yet. `user_id`, if
      given, binds it to that user. Every `user_id` a write takes, and the one
      `load` gives back, is the binding as stored: `hash_user_id(user_id)`, never
      a raw id (a write refuses one with `SessionConfigError`). `device`, if given,
      records the label of the device; every write sets `last_seen` to now.
    - `update` sets and removes the given keys only, leaving other keys as they
      are, and sets `expires`. It raises `SessionConflictError` with `gone=True`
      if the session no longer exists or has expired (it never resurrects one),
      with `rotated=True` if it is a tombstone left by `rotate`,
      and with the conflicting keys if `expected` is given and any key in it does
      not hold that JSON text now (None meaning "absent"). With `expected=None`
      the last writer wins. Nothing is written when it raises. A `user_id` binds
      the session to that user; None leaves its binding as it is. `version`
      counts the writes that changed data or binding: an update of `expires`
      alone leaves it as it is.
    - `rotate` moves a session to a new key in one step that either happens
      whole or not at all: the new key gets `data`, `user_id`, `expires` and the
      old `created` (an absolute lifetime survives); the old key becomes a
      tombstone (`StoredSession.rotated`, no data, no user) until
      `tombstone_expires`. It raises `SessionConflictError` and creates nothing
      if the old session is gone, expired or already rotated (`gone=True`), or
      if its `version` is no longer the one given (another request wrote).
    - A write is applied at most once: if the backend client retries a write
      whose first answer was lost, the retry counts as that write's success, not
      as a conflict, even if other writes landed in between; and a write that ran
      out of retries but had landed is a success too (DynamoDBStore tags each
      write with a random token and checks for it). A failed write is never
      reported as a success.
    - `delete` removes a session; deleting a missing key is fine; a tombstone is
      not deleted: that raises `SessionConflictError` with `rotated=True`.
    - Every failure of the backend raises a `SessionStoreError` subclass.
    """

    clock: Callable[[], float]
    #: The secret that keys `hash_user_id` and session handles; None until given
    #: (the middleware sets its first `secret_key` on a store without one).
    user_id_key: UserIdKey | None

    def hash_user_id(self, user_id: str) -> str:
        """The keyed hash that stands for `user_id` in the store; raises
        `SessionConfigError` (saying how to fix it) without a `user_id_key`."""
        ...

    async def load(self, key: str) -> StoredSession | None:
        """Return the live session stored under `key`, or None."""
        ...

    async def create(
        self,
        key: str,
        *,
        data: Mapping[str, str],
        expires: int,
        user_id: str | None = None,
        device: str | None = None,
    ) -> None:
        """Store a new session under `key`, created now."""
        ...

    async def update(
        self,
        key: str,
        *,
        changed: Mapping[str, str],
        removed: Collection[str],
        expected: Mapping[str, str | None] | None,
        expires: int,
        user_id: str | None = None,
        device: str | None = None,
    ) -> None:
        """Write only the changed keys of a live session, and its new expiry."""
        ...

    async def rotate(
        self,
        key: str,
        new_key: str,
        *,
        version: int,
        data: Mapping[str, str],
        created: int,
        expires: int,
        user_id: str | None,
        tombstone_expires: int,
        device: str | None = None,
    ) -> None:
        """Move the session under `key`, as loaded at `version`, to `new_key`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the session stored under `key`, if any."""
        ...


@runtime_checkable
class UserSessionStore(SessionStore, Protocol):
    """A store that also finds sessions by the user they are bound to (`bind_user`):
    both `DynamoDBStore` (with the table's user index) and `MemoryStore`. Each method
    takes the raw user id and hashes it with `hash_user_id`.

    - `list_user_sessions` returns a `UserSession` per live session bound to
      `user_id`, most recently seen first; tombstones and expired sessions are
      not among them. `current` marks the one with that handle (`current=True`).
    - `revoke_session` ends the live session of `user_id` whose handle is
      `handle` and returns True; a handle of no live session of that user (unknown,
      forged, another user's) ends nothing and returns False.
    - `revoke_user_sessions` ends each of them but the one whose handle is `keep`
      and returns how many it ended; a request of an ended one that is in flight
      can't bring it back (its save gets `SessionConflictError` with `gone=True`).
    """

    async def list_user_sessions(
        self, user_id: str, *, current: str | None = None
    ) -> list[UserSession]:
        """The live sessions (devices) bound to `user_id`."""
        ...

    async def revoke_session(self, user_id: str, handle: str) -> bool:
        """End the session of `user_id` whose handle is `handle`; whether one ended."""
        ...

    async def revoke_user_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """End every live session bound to `user_id` but `keep`; return how many ended."""
        ...
