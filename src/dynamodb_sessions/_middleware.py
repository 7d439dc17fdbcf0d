"""DynamoDBSessionMiddleware: a pure ASGI drop-in for Starlette's SessionMiddleware.

Pure ASGI rather than BaseHTTPMiddleware: the latter breaks ContextVar
propagation and runs the app in another task for no gain here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._cookies import SessionCookie, first_secret
from ._devices import check_labeler, compute_label, default_label
from ._exceptions import (
    SessionConfigError,
    SessionConflictError,
    SessionError,
    SessionNotLoadedError,
    SessionStoreError,
    SessionTooLargeError,
    SessionTooManyChangesError,
)
from ._lifecycle import SessionHandle
from ._loading import HANDLE
from ._logging import log_id, logger
from ._policy import Policy, check_settings, check_timing, path_prefixes

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from ._cookies import SameSite
    from ._devices import DeviceLabel
    from ._events import EventHook
    from ._policy import ConflictPolicy
    from .stores._base import SessionStore

DEFAULT_MAX_AGE = 14 * 24 * 60 * 60  # 14 days, as Starlette


class DynamoDBSessionMiddleware:
    """Server-side sessions: the cookie holds a signed id, the data lives in `store`.

    Accepts every argument of Starlette's `SessionMiddleware` with the same meaning
    and cookie format (Starlette's own session tests pass against it), but defaults
    to Secure cookies (`https_only=True`) and checks more: `secret_key` must be
    strings of at least 6 characters, `path` and `domain` valid cookie attribute
    values, `max_age` an int or None (0 or less: a cookie expired at once). Extra:

    - `absolute_lifetime`: seconds after creation when a session ends however active.
    - `refresh_interval`: how stale the sliding expiry may get before a read-only
      request rewrites it (one UpdateItem); default a tenth of `max_age`.
    - `on_conflict`: "raise" (409 to the later of two requests that changed the
      same key) or "last_writer_wins" (the later one overwrites, with a warning).
    - `lazy`: when True, no request loads its session until the app calls
      `await load_session(request)` (or uses the FastAPI dependency
      `dynamodb_sessions.fastapi.Session`); `request.session` before that raises
      `SessionNotLoadedError` (a 500). A request that never loads makes no store
      call and gets no Set-Cookie. Default False: every request with a cookie
      loads its session before the app runs, as Starlette's middleware does.
    - `skip_paths`: path prefixes (each starting with "/") whose requests don't
      load the session unless the app calls `load_session` (lazy on those paths).
    - `fallback_store`: a store to degrade to when `store` fails, instead of 503.
    - `retry_after`: seconds for the Retry-After header of a 503.
    - `rotation_grace`: seconds during which an id replaced by `regenerate_id()`
      still names a tombstone: requests in flight with the old cookie get an
      empty read-only session and no Set-Cookie, so they can't undo the sign-in.
    - `store_timeout`: the most time, in seconds, one request waits for the store
      (load and save together, retries included) before it is answered 503.
    - `on_event`: a plain or async callable given a `SessionEvent` for each step
      of a request's session (loaded, created, saved, rotated, ended, ...), for
      audit logs and metrics; what it raises is logged, never breaks the request.
    - `device_label`: a callable given the request (a Starlette `HTTPConnection`)
      that returns the label to list a signed-in session under, or None; by
      default the browser and OS families of the User-Agent ("Firefox on Linux").
      Asked at most once a request, when a bound session is written; what it
      raises is logged and costs the label, never the request.

    A store without a `user_id_key` gets the first `secret_key` as one: the key of
    the hash that stands for user ids in the table, and of session handles.
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
        lazy: bool = False,
        fallback_store: SessionStore | None = None,
        retry_after: int = 1,
        rotation_grace: int = 60,
        store_timeout: float = 3.0,
        on_event: EventHook | None = None,
        device_label: DeviceLabel | None = None,
    ) -> None:
        check_settings(absolute_lifetime, refresh_interval, on_conflict, retry_after)
        check_timing(rotation_grace, store_timeout)
        if on_event is not None and not callable(on_event):
            raise SessionConfigError(f"on_event must be a callable or None, not {on_event!r}")
        check_labeler(device_label)
        self.device_label: DeviceLabel = device_label or default_label
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
        idle = _idle_timeout(max_age)
        self.policy = Policy(
            cookie=cookie,
            store=store,
            fallback_store=fallback_store,
            idle_timeout=idle,
            absolute_lifetime=absolute_lifetime,
            refresh_interval=idle // 10 if refresh_interval is None else refresh_interval,
            on_conflict=on_conflict,
            rotation_grace=rotation_grace,
            store_timeout=store_timeout,
            on_event=on_event,
            entry_overhead=getattr(store, "value_overhead", 0),  # encryption's, if any
        )
        for each in (store, fallback_store):
            if each is not None and each.user_id_key is None:
                each.user_id_key = first_secret(secret_key)
        self.skip_paths = path_prefixes(skip_paths)
        if not isinstance(lazy, bool):
            raise SessionConfigError(f"lazy must be True or False, not {lazy!r}")
        self.lazy = lazy
        self.retry_after = str(retry_after)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        handle = SessionHandle(self.policy)
        handle.label_device = lambda: compute_label(self.device_label, scope)
        cookie_value = _cookie_value(scope, self.policy.cookie.name)
        path: str = scope["path"]
        if self.lazy:
            handle.defer(cookie_value, SessionNotLoadedError(path, lazy=True))
        elif path.startswith(self.skip_paths):  # False for an empty tuple
            handle.defer(cookie_value, SessionNotLoadedError(path))
        else:
            await handle.load(cookie_value)
        scope["session"] = handle.session
        scope[HANDLE] = handle
        if scope["type"] == "websocket":
            await self._websocket(handle, scope, receive, send)
        else:
            await self._http(handle, scope, receive, send)

    async def _http(
        self, handle: SessionHandle, scope: Scope, receive: Receive, send: Send
    ) -> None:
        started = replaced = False
        # A 5xx that starts after the app was handed one of our errors is held back
        # until the app returns, because only then is it clear whose answer it is. If
        # our error propagates out of the app, a handler inside it answered and
        # re-raised (Starlette's ServerErrorMiddleware does, when this middleware wraps
        # the whole app): we answer instead, as if the error had reached us directly.
        # If the app returns, it caught the error and answered for itself: its
        # response stands, whatever its status, body and headers.
        held: list[Message] = []

        async def send_wrapper(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return  # we answered with an error instead; drop the app's body
            if held or _follows_our_error(handle, message):
                held.append(message)
                return
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
                return  # answered (and logged) already
            if started:
                raise
            await self._send_error(send, handle, exc)  # in place of any held response
            return
        except Exception:
            await self._send_held(handle, held, send)  # an outer answer to another error
            raise
        await self._send_held(handle, held, send)

    async def _before_headers(self, handle: SessionHandle, message: Message) -> SessionError | None:
        # Save before the headers go out: a client never sees success for a failed write.
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

    async def _send_held(self, handle: SessionHandle, held: list[Message], send: Send) -> None:
        for message in held:
            if message["type"] == "http.response.start":
                await self._before_headers(handle, message)  # a 5xx: headers only, no save
            await send(message)

    async def _send_error(self, send: Send, handle: SessionHandle, exc: SessionError) -> None:
        status, text = _error_status(exc)
        log = logger.warning if status < 500 else logger.error
        log("session %s: answering %d: %s", log_id(handle.log_key), status, exc)
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]
        if status == 503:
            headers.append((b"retry-after", self.retry_after.encode()))
            await handle.events.record("unavailable", handle.log_key, exc)
        # No Set-Cookie, whatever the error: by the time a 409 arrives the browser
        # may hold a newer cookie (a sign-in in another request), and expiring
        # "the" cookie would sign the user out.
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
        if handle.moves_to_new_id:
            # A new id needs a new cookie, which a websocket can't send: moving the
            # session would strand the browser on a dead id.
            logger.error(
                "session %s: regenerate_id() or clear() with new data can't be saved "
                "from a websocket (no cookie can be set); nothing was saved",
                log_id(handle.log_key),
            )
            return
        import anyio

        # The server may cancel the task once the socket closes (Starlette's test
        # client does): the save still runs, within `store_timeout`.
        with anyio.CancelScope(shield=True):
            try:
                await handle.save()
            except SessionError as exc:
                logger.error(
                    "session %s: websocket changes not saved: %s", log_id(handle.log_key), exc
                )


def _idle_timeout(max_age: int | None) -> int:
    if max_age is None:
        return DEFAULT_MAX_AGE  # a browser-session cookie still expires server-side
    # As Starlette, max_age <= 0 gives a cookie the browser drops at once and whose
    # signature expires within the second: the stored copy lasts a second too.
    return max(max_age, 1)


def _follows_our_error(handle: SessionHandle, message: Message) -> bool:
    return (
        message["type"] == "http.response.start"
        and message["status"] >= 500
        and handle.session.raised is not None
    )


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
    if isinstance(exc, SessionTooManyChangesError):
        return 413, "This request changed too many session values at once.\n"
    return 500, "Internal Server Error\n"
