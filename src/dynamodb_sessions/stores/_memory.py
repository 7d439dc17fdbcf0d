"""MemoryStore: sessions in a dict, with the same contract as the DynamoDB store.

For tests, development, and the degraded mode. Sessions live in one process
only: on Lambda, every container has its own, so logins don't carry over.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .._exceptions import (
    SessionConfigError,
    SessionConflictError,
    SessionStoreError,
    SessionTooLargeError,
)
from ._stored import StoredSession
from ._users import (
    UNKNOWN_DEVICE,
    UserIdKey,
    UserSession,
    check_user_id_key,
    check_user_key,
    hash_user_id,
    revoked,
    session_handle,
    sorted_sessions,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from .._events import EventHook

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class MemoryStore:
    """An in-process store, bounded to `max_entries` sessions and to `max_bytes` of
    session data (the UTF-8 bytes of every session's keys and JSON values): past
    either bound, the least recently used sessions go first. A single session over
    `max_bytes` is refused with `SessionTooLargeError`.

    `clock` returns epoch seconds; pass your own to move time in tests. `on_event`
    gets a "revoked" event per session a revoke ends. `user_id_key`: as
    `DynamoDBStore`'s (the middleware's first `secret_key` when None).
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
        on_event: EventHook | None = None,
        user_id_key: UserIdKey | None = None,
    ) -> None:
        if max_entries < 1:
            raise SessionConfigError(f"max_entries must be at least 1, not {max_entries}")
        if max_bytes < 1:
            raise SessionConfigError(f"max_bytes must be at least 1, not {max_bytes}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.clock = clock
        self.on_event = on_event
        self.user_id_key = user_id_key
        # A dict keeps insertion order: re-inserting on use makes the first key the LRU one.
        self._sessions: dict[str, StoredSession] = {}
        self._sizes: dict[str, int] = {}
        self._bytes = 0

    @property
    def user_id_key(self) -> UserIdKey | None:
        """The key of the user-id hash and of session handles."""
        return self._user_id_key

    @user_id_key.setter
    def user_id_key(self, value: UserIdKey | None) -> None:
        self._key_bytes = check_user_id_key(value)
        self._user_id_key = value

    def hash_user_id(self, user_id: str) -> str:
        """The keyed hash that stands for `user_id` in the store."""
        return hash_user_id(self._key_bytes, user_id, store="MemoryStore")

    def __len__(self) -> int:
        return len(self._sessions)

    def __bool__(self) -> bool:
        # An empty store is still a store: `store or default()` must keep it.
        return True

    async def load(self, key: str) -> StoredSession | None:
        """Return the live session under `key`, or None (expired ones are dropped)."""
        return self._live(key)

    async def create(
        self,
        key: str,
        *,
        data: Mapping[str, str],
        expires: int,
        user_id: str | None = None,
        device: str | None = None,
    ) -> None:
        """Store a new session under `key`, bound to `user_id` if given."""
        check_user_key(user_id)
        if self._live(key) is not None:
            raise SessionStoreError("a session with this key exists already")
        now = int(self.clock())
        self._put(key, StoredSession(dict(data), expires, now, 1, user_id, False, now, device))

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
        """Write the changed keys of a live session; see `SessionStore.update`."""
        check_user_key(user_id)
        current = self._writable(key)
        if expected is not None:
            clashes = [k for k, text in expected.items() if current.data.get(k) != text]
            if clashes:
                raise SessionConflictError(clashes)
        data = {k: v for k, v in current.data.items() if k not in removed}
        data.update(changed)
        changed_anything = bool(changed or removed or user_id)
        self._put(
            key,
            StoredSession(
                data,
                expires,
                current.created,
                current.version + changed_anything,
                user_id or current.user_id,
                last_seen=int(self.clock()),
                device=device or current.device,
            ),
        )

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
        """Move the session under `key` to `new_key`; see `SessionStore.rotate`."""
        check_user_key(user_id)
        current = self._writable(key)
        if current.version != version:
            raise SessionConflictError(())
        if self._live(new_key) is not None:
            raise SessionStoreError("a session with this key exists already")
        now = int(self.clock())
        moved = StoredSession(dict(data), expires, created, 1, user_id, False, now, device)
        self._check_size(moved)  # before anything changes: all or nothing
        tombstone = StoredSession({}, tombstone_expires, created, version, rotated=True)
        self._put(key, tombstone, keep=new_key)
        self._put(new_key, moved, keep=key)

    async def delete(self, key: str) -> None:
        """Remove the session under `key`, if any; a tombstone stays."""
        current = self._live(key)
        if current is not None and current.rotated:
            raise SessionConflictError((), rotated=True)
        self._drop(key)

    async def list_user_sessions(
        self, user_id: str, *, current: str | None = None
    ) -> list[UserSession]:
        """The live sessions bound to `user_id`, most recently seen first."""
        listed = []
        for key, stored in self._bound_to(user_id):
            handle = self._handle(key)
            listed.append(
                UserSession(
                    handle=handle,
                    created=stored.created,
                    last_seen=stored.last_seen,
                    device=stored.device or UNKNOWN_DEVICE,
                    current=handle == current,
                )
            )
        return sorted_sessions(listed)

    async def revoke_session(self, user_id: str, handle: str) -> bool:
        """End the live session of `user_id` whose handle is `handle`; whether one ended."""
        for key, _ in self._bound_to(user_id):
            if self._handle(key) == handle:
                await self._revoke(key)
                return True
        return False

    async def revoke_user_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session bound to `user_id` but `keep`; return how many live ones ended."""
        keys = [k for k, _ in self._bound_to(user_id) if keep is None or self._handle(k) != keep]
        for key in keys:
            await self._revoke(key)
        return len(keys)

    def _bound_to(self, user_id: str) -> list[tuple[str, StoredSession]]:
        user_key, now = self.hash_user_id(user_id), self.clock()
        return [
            (k, s) for k, s in self._sessions.items() if s.user_id == user_key and s.expires > now
        ]

    def _handle(self, key: str) -> str:
        handle = session_handle(self._key_bytes, key)
        assert handle is not None  # only reached after a user id was hashed with the key
        return handle

    async def _revoke(self, key: str) -> None:
        self._drop(key)
        await revoked(self.on_event, key)

    def _writable(self, key: str) -> StoredSession:
        current = self._live(key)
        if current is None or current.rotated:
            raise SessionConflictError((), gone=True, rotated=current is not None)
        return current

    def _live(self, key: str) -> StoredSession | None:
        stored = self._sessions.get(key)
        if stored is None:
            return None
        if stored.expires <= self.clock():
            self._drop(key)
            return None
        self._sessions[key] = self._sessions.pop(key)
        return stored

    def _check_size(self, stored: StoredSession) -> int:
        size = sum(len(k.encode()) + len(v.encode()) for k, v in stored.data.items())
        if size > self.max_bytes:
            # Checked before anything changes: the store stays as it was.
            over = f"the session takes {size} bytes, over MemoryStore(max_bytes={self.max_bytes})"
            raise SessionTooLargeError(size, self.max_bytes, None, detail=over)
        return size

    def _put(self, key: str, stored: StoredSession, *, keep: str | None = None) -> None:
        size = self._check_size(stored)
        self._drop(key)
        self._sessions[key], self._sizes[key] = stored, size
        self._bytes += size
        # The new session is the most recently used, and fits: it is never evicted
        # here; nor is `keep`, the other half of a rotation (its tombstone must hold).
        spared = {key, keep}
        while len(self._sessions) > self.max_entries or self._bytes > self.max_bytes:
            victim = next((k for k in self._sessions if k not in spared), None)
            if victim is None:
                return
            self._drop(victim)

    def _drop(self, key: str) -> None:
        if self._sessions.pop(key, None) is not None:
            self._bytes -= self._sizes.pop(key)
