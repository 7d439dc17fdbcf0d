"""The life of one request's session: load it, then save exactly what changed.

The middleware owns the ASGI plumbing; this module the decisions: which store call
a request needs, and which Set-Cookie follows. Three rules keep a sign-in safe:

- `regenerate_id()` leaves a short-lived tombstone under the old id: a request that
  presents it sees an empty, read-only session, never a Set-Cookie; writes get 409.
- A 409 never touches the cookie: the browser may hold a newer one by now.
- With a fallback store, a cookie that verified is never expired or replaced
  because the primary store failed: a transient failure must not log anyone out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ._cookies import new_session_id, store_key
from ._deadline import StoreBudget
from ._events import EventName, Recorder
from ._exceptions import (
    SessionConflictError,
    SessionError,
    SessionNotLoadedError,
    SessionStoreError,
)
from ._logging import log_id, logger
from ._rotation import loaded_session, rotate, user_to_store
from ._session import Changes, DynamoDBSessionDict

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._policy import Policy
    from .stores._stored import StoredSession


class SessionHandle:
    """One request's session, from `load` to `save`."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.store = policy.store
        self.session = policy.new_session()
        self.session_id: str | None = None
        self.stored: StoredSession | None = None
        self.cookie_presented = False
        self._presented_key: str | None = None
        self._degraded_by: SessionStoreError | None = None
        self.events = Recorder(policy.on_event)
        self.budget = StoreBudget(policy.store_timeout, self.events.usage)
        self._done: EventName | None = None  # what the save did, for its event
        self._deferred: tuple[str | None, anyio.Lock] | None = None  # until `ensure_loaded`
        #: The label of this request's device (set by the middleware), asked only
        #: when a write records it.
        self.label_device: Callable[[], str | None] = lambda: None
        self._label: tuple[str | None] | None = None

    @property
    def key(self) -> str | None:
        return store_key(self.session_id) if self.session_id else None

    @property
    def log_key(self) -> str | None:
        """The key to name this request's session by in logs, even if it failed to load."""
        return self.key or self._presented_key

    @property
    def moves_to_new_id(self) -> bool:
        """Whether the save would put the session under a new id (and so need a cookie)."""
        s = self.session
        return s.is_available and not s.is_empty and (s.regenerate_requested or s.cleared)

    def defer(self, cookie_value: str | None, error: SessionNotLoadedError) -> None:
        """Leave the session unloaded until `ensure_loaded`: using it raises `error`."""
        self._deferred = cookie_value, anyio.Lock()
        self.session = DynamoDBSessionDict.unavailable(error)

    async def ensure_loaded(self) -> DynamoDBSessionDict:
        """Load a deferred session, once; raise the store's error if it failed."""
        if self._deferred is not None:
            cookie_value, lock = self._deferred
            async with lock:  # two tasks of one request that both ask wait for one load
                if self._deferred is not None:
                    await self._load_deferred(cookie_value)
        if not self.session.is_available:
            self.session.mark_accessed()  # raises, as using request.session would
        return self.session

    async def _load_deferred(self, cookie_value: str | None) -> None:
        unloaded, self.session = self.session, self.policy.new_session()
        try:
            await self.load(cookie_value)
        except BaseException:
            # Cancelled half-way: an empty session left behind would expire the cookie.
            self.session = unloaded
            raise
        self._deferred = None

    async def load(self, cookie_value: str | None) -> None:
        """Load the session named by the cookie; a bad cookie gives an empty session."""
        self.cookie_presented = cookie_value is not None
        session_id = self.policy.cookie.read(cookie_value)
        if session_id is None:
            return  # absent, forged or garbled: no store call at all
        key = self._presented_key = store_key(session_id)
        try:
            stored = await self.budget.run(self.store.load(key))
        except SessionStoreError as exc:
            if not await self._degrade(exc, key):
                self.session = DynamoDBSessionDict.unavailable(exc)
                await self.events.record("store_error", key, exc)
                return
            stored = await self.budget.run(self.store.load(key))
            self.session_id = session_id  # a cookie that verified is kept while degraded
        if stored is None:
            stored = await self._left_on_fallback(key)
        if stored is not None:  # an unknown or expired id is never adopted
            self.session_id, self.stored = session_id, stored
            if not stored.rotated:
                self.session = loaded_session(stored, self.store, key, self.policy)
                await self.events.record("loaded", key)
        self.session.degraded = self.store is not self.policy.store

    async def _left_on_fallback(self, key: str) -> StoredSession | None:
        # A session started on the fallback during an outage (a sign-in) lives on there
        # until it ends: serve it rather than sign that user out once the primary is back.
        fallback = self.policy.fallback_store
        if fallback is None or self.store is fallback:
            return None
        try:
            stored = await self.budget.run(fallback.load(key))
        except SessionStoreError:
            return None
        if stored is not None:
            self.store = fallback
        return stored

    async def _degrade(self, exc: SessionStoreError, key: str | None) -> bool:
        fallback = self.policy.fallback_store
        if fallback is None or self.store is fallback:
            logger.error("session store failed for session %s: %s", log_id(key), exc)
            return False
        message = "session store failed for session %s (%s); DEGRADED to the fallback store"
        logger.error(message + ": sessions now live in this process only", log_id(key), exc)
        self.store, self._degraded_by = fallback, exc
        await self.events.record("degraded", key, exc)
        return True

    async def save(self) -> str | None:
        """Write what changed; return the Set-Cookie header value to send, if any."""
        if not self.session.is_available:
            return None
        try:
            header = await self._save_or_degrade()
        except SessionConflictError as exc:
            await self.events.record("conflict", self.log_key, exc)
            raise
        except SessionStoreError as exc:
            await self.events.record("store_error", self.log_key, exc)
            raise
        if self._done is not None:
            size = (lambda: self.session.size) if self._done not in ("ended", "refreshed") else None
            await self.events.record(self._done, self.log_key, session_bytes=size)
        return header

    async def _save_or_degrade(self) -> str | None:
        try:
            return await self._save()
        except SessionStoreError as exc:
            # A new session can start on the fallback; a stored one lives on the primary.
            if self.stored is not None or self.session_id is not None:
                raise
            if not await self._degrade(exc, None):
                raise
            self.session.degraded = True
            return await self._save()

    async def _save(self) -> str | None:
        session, stored, cookie = self.session, self.stored, self.policy.cookie
        if stored is not None and stored.rotated:
            if session.modified:  # the read-only view of a replaced id
                raise SessionConflictError((), rotated=True)
            return None
        if self._degraded_by is not None and (session.cleared or (stored and session.is_empty)):
            # Ending the session here would leave it alive on the primary store.
            raise self._degraded_by
        if stored is None:
            if self.session_id is not None:  # degraded, with a cookie that verified
                return None if session.is_empty else await self._create_degraded()
            if session.is_empty:
                return cookie.expire_header() if self.cookie_presented else None
            return await self._create()
        if session.is_empty:
            await self._delete()
            return cookie.expire_header()
        if self.moves_to_new_id:
            return await self._rotate(stored)
        changes = session.changes()
        expires = self.expires(stored.created)
        if changes or session.user_changed:
            await self._update(changes, expires)
        elif expires - stored.expires < self.policy.refresh_interval:
            return None  # read-only, and the sliding expiry is fresh enough
        elif not await self._refresh(expires):
            return None
        assert self.session_id is not None
        return cookie.set_header(self.session_id)

    def _key(self) -> str:
        key = self.key
        assert key is not None
        return key

    def now(self) -> int:
        return int(self.store.clock())

    def device_for(self, user_key: str | None, stored_device: str | None) -> str | None:
        """The device label a write of a session bound to `user_key` records: None when
        unbound, or when the item holds that label already."""
        if user_key is None:
            return None
        if self._label is None:
            self._label = (self.label_device(),)
        label = self._label[0]
        return label if label != stored_device else None

    def expires(self, created: int) -> int:
        expires = self.now() + self.policy.idle_timeout
        if self.policy.absolute_lifetime is not None:
            expires = min(expires, created + self.policy.absolute_lifetime)
        return expires

    async def _create(self) -> str:
        data = self.session.encoded()
        session_id = new_session_id()
        user_key = user_to_store(self.session, self.store)
        await self.budget.run(
            self.store.create(
                store_key(session_id),
                data=data,
                expires=self.expires(self.now()),
                user_id=user_key,  # a new id keeps the binding (see `clear`)
                device=self.device_for(user_key, None),
            )
        )
        self.session_id, self._done = session_id, "created"
        return self.policy.cookie.set_header(session_id)

    async def _create_degraded(self) -> str:
        # The fallback has nothing under the cookie's id yet: keep that id rather
        # than replace the cookie (the user's session still lives on the primary).
        # A sign-in still gets a new id: `regenerate_id()` never keeps one.
        if self.session.regenerate_requested:
            return await self._create()
        user_key = user_to_store(self.session, self.store)
        await self.budget.run(
            self.store.create(
                self._key(),
                data=self.session.encoded(),
                expires=self.expires(self.now()),
                user_id=user_key,
                device=self.device_for(user_key, None),
            )
        )
        assert self.session_id is not None
        self._done = "created"
        return self.policy.cookie.set_header(self.session_id)

    async def _delete(self) -> None:
        await self.budget.run(self.store.delete(self._key()))
        self._done = "ended"
        logger.info("session %s ended", log_id(self.key))

    async def _refresh(self, expires: int) -> bool:
        """Push the sliding expiry out (and `last_seen`, which every write sets);
        best-effort, since the app asked for nothing."""
        stored = self.stored
        assert stored is not None
        device = self.device_for(stored.user_id, stored.device)
        try:
            await self.budget.run(
                self.store.update(
                    self._key(),
                    changed={},
                    removed=(),
                    expected=None,
                    expires=expires,
                    device=device,
                )
            )
        except SessionError as exc:
            logger.warning("session %s: expiry not refreshed: %s", log_id(self.key), exc)
            return False
        self._done = "refreshed"
        return True

    async def _rotate(self, stored: StoredSession) -> str:
        session_id = await rotate(self, stored)
        self.session_id, self._done = session_id, "rotated"
        return self.policy.cookie.set_header(session_id)

    async def _update(self, changes: Changes, expires: int) -> None:
        try:
            await self._write(changes, changes.expected, expires)
        except SessionConflictError as exc:
            if exc.gone or self.policy.on_conflict == "raise":
                raise
            logger.warning(
                "session %s: keys %s were changed by another request; last writer wins",
                log_id(self.key),
                sorted(exc.keys),
            )
            await self._write(changes, None, expires)

    async def _write(
        self, changes: Changes, expected: dict[str, str | None] | None, expires: int
    ) -> None:
        user_key = user_to_store(self.session, self.store)
        stored_device = self.stored.device if self.stored is not None else None
        await self.budget.run(
            self.store.update(
                self._key(),
                changed=changes.changed,
                removed=changes.removed,
                expected=expected,
                expires=expires,
                user_id=user_key if self.session.user_changed else None,
                device=self.device_for(user_key, stored_device),
            )
        )
        self._done = "saved"
