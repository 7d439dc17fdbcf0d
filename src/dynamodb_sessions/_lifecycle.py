"""The life of one request's session: load it, then save exactly what changed.

The middleware owns the ASGI plumbing; this module owns the decisions: which
store call (if any) a request needs, and which Set-Cookie header follows.
"""

from __future__ import annotations

from ._cookies import new_session_id, store_key
from ._exceptions import SessionConflictError, SessionNotLoadedError, SessionStoreError
from ._logging import log_id, logger
from ._session import Changes, DynamoDBSessionDict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    from ._cookies import SessionCookie
    from .stores._base import SessionStore
    from .stores._stored import StoredSession

    ConflictPolicy = Literal["raise", "last_writer_wins"]


class Policy:
    """The middleware's settings that decide what a save does."""

    def __init__(
        self,
        *,
        cookie: SessionCookie,
        store: SessionStore,
        fallback_store: SessionStore | None,
        idle_timeout: int,
        absolute_lifetime: int | None,
        refresh_interval: int,
        on_conflict: ConflictPolicy,
    ) -> None:
        self.cookie = cookie
        self.store = store
        self.fallback_store = fallback_store
        self.idle_timeout = idle_timeout
        self.absolute_lifetime = absolute_lifetime
        self.refresh_interval = refresh_interval
        self.on_conflict = on_conflict


class SessionHandle:
    """One request's session, from `load` to `save`."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.store = policy.store
        self.session = DynamoDBSessionDict()
        self.session_id: str | None = None
        self.stored: StoredSession | None = None
        self.cookie_presented = False
        self._presented_key: str | None = None

    @property
    def key(self) -> str | None:
        return store_key(self.session_id) if self.session_id else None

    @property
    def log_key(self) -> str | None:
        """The key to name this request's session by in logs, even if it failed to load."""
        return self.key or self._presented_key

    def skip(self, path: str) -> None:
        """Leave the session unloaded: using it raises `SessionNotLoadedError`."""
        self.session = DynamoDBSessionDict.unavailable(SessionNotLoadedError(path))

    async def load(self, cookie_value: str | None) -> None:
        """Load the session named by the cookie; a bad cookie gives an empty session."""
        self.cookie_presented = cookie_value is not None
        session_id = self.policy.cookie.read(cookie_value)
        if session_id is None:
            return  # absent, forged or garbled: no store call at all
        key = self._presented_key = store_key(session_id)
        try:
            stored = await self.store.load(key)
        except SessionStoreError as exc:
            if not self._degrade(exc, key):
                self.session = DynamoDBSessionDict.unavailable(exc)
                return
            stored = await self.store.load(key)
        if stored is not None:  # an unknown or expired id is never adopted
            self.session_id, self.stored = session_id, stored
            self.session = DynamoDBSessionDict(stored.data, user_id=stored.user_id)
        self.session.degraded = self.store is not self.policy.store

    def _degrade(self, exc: SessionStoreError, key: str | None) -> bool:
        fallback = self.policy.fallback_store
        if fallback is None or self.store is fallback:
            logger().error("session store failed for session %s: %s", log_id(key), exc)
            return False
        logger().error(
            "session store failed for session %s (%s); DEGRADED to the fallback store: "
            "sessions now live in this process only",
            log_id(key),
            exc,
        )
        self.store = fallback
        return True

    async def save(self) -> str | None:
        """Write what changed; return the Set-Cookie header value to send, if any."""
        if not self.session.is_available:
            return None
        try:
            return await self._save()
        except SessionStoreError as exc:
            # A new session can start on the fallback; a stored one lives on the primary.
            if self.stored is not None or not self._degrade(exc, None):
                raise
            self.session.degraded = True
            return await self._save()

    async def _save(self) -> str | None:
        session, stored, cookie = self.session, self.stored, self.policy.cookie
        if stored is None:
            if not session:
                return cookie.expire_header() if self.cookie_presented else None
            return await self._create()
        if not session:
            await self._delete()
            return cookie.expire_header()
        if session.regenerate_requested or session.cleared:
            return await self._rotate()
        changes = session.changes()
        expires = self._expires(stored.created)
        if changes or session.user_changed:
            await self._update(changes, expires)
        elif expires - stored.expires < self.policy.refresh_interval:
            return None  # read-only, and the sliding expiry is fresh enough
        else:
            await self.store.update(self._key(), set={}, remove=(), expected=None, expires=expires)
        assert self.session_id is not None
        return cookie.set_header(self.session_id)

    def _key(self) -> str:
        key = self.key
        assert key is not None
        return key

    def _now(self) -> int:
        return int(self.store.clock())

    def _expires(self, created: int) -> int:
        expires = self._now() + self.policy.idle_timeout
        if self.policy.absolute_lifetime is not None:
            expires = min(expires, created + self.policy.absolute_lifetime)
        return expires

    async def _create(self) -> str:
        data = self.session.encoded()
        session_id = new_session_id()
        await self.store.create(
            store_key(session_id),
            data=data,
            expires=self._expires(self._now()),
            user_id=self.session.user_id,  # a new id keeps the binding (see `clear`)
        )
        self.session_id = session_id
        return self.policy.cookie.set_header(session_id)

    async def _delete(self) -> None:
        await self.store.delete(self._key())
        logger().info("session %s ended", log_id(self.key))

    async def _rotate(self) -> str:
        # New id first, then the old item goes: the old cookie is dead either way.
        old_key = self._key()
        header = await self._create()
        try:
            await self.store.delete(old_key)
        except SessionStoreError:
            await self.store.delete(self._key())  # don't leave two live copies
            raise
        logger().info("session %s got a new id %s", log_id(old_key), log_id(self.key))
        return header

    async def _update(self, changes: Changes, expires: int) -> None:
        try:
            await self._write(changes, changes.expected, expires)
        except SessionConflictError as exc:
            if exc.gone or self.policy.on_conflict == "raise":
                raise
            logger().warning(
                "session %s: keys %s were changed by another request; last writer wins",
                log_id(self.key),
                sorted(exc.keys),
            )
            await self._write(changes, None, expires)

    async def _write(
        self, changes: Changes, expected: dict[str, str | None] | None, expires: int
    ) -> None:
        await self.store.update(
            self._key(),
            set=changes.set,
            remove=changes.remove,
            expected=expected,
            expires=expires,
            user_id=self.session.user_id if self.session.user_changed else None,
        )
