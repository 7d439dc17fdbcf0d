"""DynamoDBSessionMiddleware: a pure ASGI drop-in for Starlette's SessionMiddleware.

Pure ASGI rather than BaseHTTPMiddleware: the latter breaks ContextVar
propagation and runs the app in another task for no gain here.
"""

from __future__ import annotations

from ._cookies import SessionCookie
from ._exceptions import (
    SessionConfigError,
    SessionConflictError,
    SessionError,
    SessionStoreError,
    SessionTooLargeError,
)
from ._lifecycle import Policy, SessionHandle
from ._logging import log_id, logger

TYPE_CHECKING = False  # no `typing` at cold start; mypy still reads this block
if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from ._cookies import SameSite
    from ._lifecycle import ConflictPolicy
    from .stores._base import SessionStore

DEFAULT_MAX_AGE = 14 * 24 * 60 * 60  # 14 days, as Starlette
_CONFLICT_POLICIES = ("raise", "last_writer_wins")


class DynamoDBSessionMiddleware:
    """Server-side sessions: the cookie holds a signed id, the data lives in `store`.

    Accepts every argument of Starlette's `SessionMiddleware` with the same meaning
    and cookie format, but defaults to Secure cookies (`https_only=True`). Extra:

    - `absolute_lifetime`: seconds after creation when a session ends however active.
    - `refresh_interval`: how stale the sliding expiry may get before a read-only
      request rewrites it (one UpdateItem); default a tenth of `max_age`.
    - `on_conflict`: "raise" (409 to the later of two requests that changed the
      same key) or "last_writer_wins" (the later one overwrites, with a warning).
    - `skip_paths`: path prefixes whose requests never load the session.
    - `fallback_store`: a store to degrade to when `store` fails, instead of 503.
    - `retry_after`: seconds for the Retry-After header of a 503.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: SessionStore,
        secret_key: str | Sequence[str] | object,
        session_cookie: str = "session",
        max_age: int | None = DEFAULT_MAX_AGE,
        path: str = "/",
        same_site: SameSite = "lax",
        https_only: bool = True,
        domain: str | None = None,
        partitioned: bool = False,
        absolute_lifetime: int | None = None,
        refresh_interval: int | None = None,
        on_conflict: ConflictPolicy = "raise",
        skip_paths: Collection[str] = (),
        fallback_store: SessionStore | None = None,
        retry_after: int = 1,
    ) -> None:
        idle = max_age or DEFAULT_MAX_AGE  # a browser-session cookie still expires server-side
        _validate(absolute_lifetime, refresh_interval, on_conflict, retry_after)
        self.app = app
        cookie = SessionCookie(
            secret_key=secret_key,
            name=session_cookie,
            max_age=max_age,
            path=path,
            domain=domain,
            same_site=same_site,
            https_only=https_only,
            partitioned=partitioned,
        )
        self.policy = Policy(
            cookie=cookie,
            store=store,
            fallback_store=fallback_store,
            idle_timeout=idle,
            absolute_lifetime=absolute_lifetime,
            refresh_interval=idle // 10 if refresh_interval is None else refresh_interval,
            on_conflict=on_conflict,
        )
        self.skip_paths = tuple(skip_paths)
        self.retry_after = str(retry_after)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        handle = SessionHandle(self.policy)
        if scope["path"].startswith(self.skip_paths):  # False for an empty tuple
            handle.skip(scope["path"])
        else:
            await handle.load(_cookie_value(scope, self.policy.cookie.name))
        scope["session"] = handle.session
        if scope["type"] == "websocket":
            await self._websocket(handle, scope, receive, send)
        else:
            await self._http(handle, scope, receive, send)

    async def _http(
        self, handle: SessionHandle, scope: Scope, receive: Receive, send: Send
    ) -> None:
        started = replaced = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return  # we answered with an error instead; drop the app's body
            if message["type"] == "http.response.start":
                started = True
                error = await self._before_headers(handle, message)
                if error is not None:
                    replaced = True
                    await self._send_error(send, handle, error)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except SessionError as exc:
            # Raised where the app used a session that could not be loaded, or put
            # data in it that can't be stored.
            if replaced:
                return  # answered (and logged) already, in place of an outer 500
            if started:
                raise
            await self._send_error(send, handle, exc)

    async def _before_headers(self, handle: SessionHandle, message: Message) -> SessionError | None:
        # Save before the headers go out: a client never sees success for a failed write.
        if message["status"] >= 500 and handle.session.raised is not None:
            # An error handler outside the app (Starlette's, when this middleware wraps
            # the whole app) turned our error into a plain 500: answer it properly.
            return handle.session.raised
        headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
        if handle.session.accessed:
            headers.append((b"vary", b"Cookie"))
        if message["status"] < 500:  # nothing is saved when the app failed
            try:
                set_cookie = await handle.save()
            except SessionError as exc:
                return exc
            if set_cookie is not None:
                headers.append((b"set-cookie", set_cookie.encode("latin-1")))
        message["headers"] = headers
        return None

    async def _send_error(self, send: Send, handle: SessionHandle, exc: SessionError) -> None:
        status, text = _error_status(exc)
        log = logger().warning if status < 500 else logger().error
        log("session %s: answering %d: %s", log_id(handle.log_key), status, exc)
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]
        if status == 503:
            headers.append((b"retry-after", self.retry_after.encode()))
        if isinstance(exc, SessionConflictError) and exc.gone:
            headers.append((b"set-cookie", self.policy.cookie.expire_header().encode("latin-1")))
        body = text.encode()
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _websocket(
        self, handle: SessionHandle, scope: Scope, receive: Receive, send: Send
    ) -> None:
        await self.app(scope, receive, send)
        # A websocket can't set a cookie after the handshake: only a session that
        # already has one is saved, once the app is done.
        if handle.stored is None:
            return
        try:
            await handle.save()
        except SessionError as exc:
            logger().error(
                "session %s: websocket changes not saved: %s", log_id(handle.log_key), exc
            )


def _validate(
    absolute_lifetime: int | None, refresh_interval: int | None, on_conflict: str, retry_after: int
) -> None:
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


def _cookie_value(scope: Scope, name: str) -> str | None:
    # Lenient like browsers and Starlette: one bad pair must not hide the others.
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for header, value in headers:
        if header != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            key, sep, cookie = pair.partition("=")
            if sep and key.strip() == name:
                return cookie.strip()
    return None


def _error_status(exc: SessionError) -> tuple[int, str]:
    if isinstance(exc, SessionConfigError):
        return 500, "Internal Server Error\n"  # not transient: no 503, no Retry-After
    if isinstance(exc, SessionStoreError):
        return 503, "The session store is unavailable. Please retry shortly.\n"
    if isinstance(exc, SessionConflictError):
        return 409, "This session was changed by another request. Please reload and retry.\n"
    if isinstance(exc, SessionTooLargeError):
        return 413, "The session would be too large to store.\n"
    return 500, "Internal Server Error\n"
