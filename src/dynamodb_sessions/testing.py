"""Helpers for an app's own tests: sessions without DynamoDB and without a login.

    from dynamodb_sessions.testing import AppSessions

    with AppSessions(app) as sessions:             # a MemoryStore on a FakeClock
        client = sessions.client({"cart": ["tea"]}, user_id="ann")  # a TestClient, signed in
        client.post("/cart", json={"item": "cake"})
        assert sessions.data(client) == {"cart": ["tea", "cake"]}
        sessions.clock.advance(15 * 24 * 3600)     # past the idle timeout
        assert sessions.data(client) is None

`AppSessions` finds the app's `DynamoDBSessionMiddleware` and swaps its store for
a `MemoryStore` (restored on leaving the `with`), so the app's code, cookie
settings and session policy stay as they are in production. It imports neither
pytest nor boto3; `client()` needs httpx, as Starlette's `TestClient` does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TypeVar

from ._cookies import new_session_id, store_key
from ._exceptions import SessionConfigError
from ._middleware import DynamoDBSessionMiddleware
from ._serialization import encode
from .stores import MemoryStore

if TYPE_CHECKING:
    from collections.abc import Coroutine, Mapping
    from types import TracebackType

    from starlette.testclient import TestClient
    from starlette.types import ASGIApp
    from typing_extensions import Self

    from ._policy import Policy
    from .stores import SessionStore, StoredSession

__all__ = ["AppSessions", "FakeClock"]

_T = TypeVar("_T")


class FakeClock:
    """A clock for a store that moves only when told to: epoch seconds, starting
    at the current whole second (or `start`)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(time.time()) if start is None else start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (expiry and absolute lifetimes follow)."""
        if seconds < 0:
            raise ValueError(f"time only moves forward, not by {seconds}")
        self.now += seconds


class AppSessions:
    """The sessions of `app` (a Starlette or FastAPI app, or any ASGI app wrapping a
    `DynamoDBSessionMiddleware`), held in `store` for the length of a test.

    `store` defaults to a new `MemoryStore` on a `FakeClock`. Use it as a context
    manager (or call `restore()`) to put the app's own store back, so one test's
    sessions never leak into the next one.
    """

    def __init__(self, app: ASGIApp, *, store: MemoryStore | None = None) -> None:
        self.app = app
        self.store = _RememberingStore(clock=FakeClock()) if store is None else store
        self._middleware = _find_middleware(app)
        self._policy: Policy = self._middleware.policy
        self._original_store: SessionStore = self._policy.store
        if self.store.user_id_key is None:  # as the middleware does for its own store
            self.store.user_id_key = self._original_store.user_id_key
        self._policy.store = self.store

    @property
    def clock(self) -> FakeClock:
        """The store's clock, to move time with `advance(seconds)`."""
        clock = self.store.clock
        if not isinstance(clock, FakeClock):
            raise TypeError(
                "the store's clock can't be moved: pass AppSessions(app, "
                "store=MemoryStore(clock=FakeClock())), or no store at all"
            )
        return clock

    def client(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        **kwargs: Any,
    ) -> TestClient:
        """A Starlette `TestClient` for the app (keyword arguments are passed to it),
        holding a session with `data` (and bound to `user_id`) if either is given.

        Its base URL is https when the cookie is Secure (the default,
        `https_only=True`), so that the client sends the cookie back.
        """
        from starlette.testclient import TestClient

        scheme = "https" if self._policy.cookie.secure else "http"
        kwargs.setdefault("base_url", f"{scheme}://testserver")
        client = TestClient(self.app, **kwargs)
        if data is not None or user_id is not None:
            self.seed(client, data or {}, user_id=user_id)
        return client

    def seed(self, client: Any, data: Mapping[str, Any], *, user_id: str | None = None) -> str:
        """Store a session holding `data` (bound to `user_id` if given), as the app
        would have saved it, and give `client` its signed cookie; return the store
        key (the hashed id). `client` is a `TestClient` or any httpx client."""
        session_id = new_session_id()
        key = store_key(session_id)
        encoded = {name: encode(name, value) for name, value in data.items()}
        expires = int(self.store.clock()) + self._policy.idle_timeout
        if self._policy.absolute_lifetime is not None:
            expires = min(expires, int(self.store.clock()) + self._policy.absolute_lifetime)
        binding = None if user_id is None else self.store.hash_user_id(user_id)
        _at_once(self.store.create(key, data=encoded, expires=expires, user_id=binding))
        cookie = self._policy.cookie
        client.cookies.set(
            cookie.name, cookie.value(session_id), domain=_cookie_domain(client), path=cookie.path
        )
        return key

    def stored(self, client: Any) -> StoredSession | None:
        """The live stored session that `client`'s cookie names, or None."""
        cookie = self._policy.cookie
        session_id = cookie.read(client.cookies.get(cookie.name))
        if session_id is None:
            return None
        return _at_once(self.store.load(store_key(session_id)))

    def data(self, client: Any) -> dict[str, Any] | None:
        """What the requests of `client` left in its session, decoded; None when it
        has no live session (never saved, signed out, expired)."""
        import json

        stored = self.stored(client)
        if stored is None:
            return None
        return {name: json.loads(text) for name, text in stored.data.items()}

    def user_id(self, client: Any) -> str | None:
        """The user `client`'s session is bound to (`bind_user()`), or None. The
        store keeps only a keyed hash of it: with a store of your own (`store=`), this
        is that hash (compare it with `store.hash_user_id("ann")`)."""
        stored = self.stored(client)
        if stored is None or stored.user_id is None:
            return None
        known = getattr(self.store, "user_ids", {})
        return known.get(stored.user_id, stored.user_id)  # type: ignore[no-any-return]

    def restore(self) -> None:
        """Put the app's own store back."""
        self._policy.store = self._original_store

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.restore()


def _at_once(call: Coroutine[Any, Any, _T]) -> _T:
    # A MemoryStore's methods never wait: run one to its end right here, so these
    # helpers work in sync tests and inside an async test's event loop alike.
    try:
        call.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    call.close()
    raise RuntimeError("the store's call waited: AppSessions needs a MemoryStore")


class _RememberingStore(MemoryStore):
    """A `MemoryStore` that remembers which user id each hash stands for, so that
    `AppSessions.user_id()` can name the user a request bound."""

    def __init__(self, *, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.user_ids: dict[str, str] = {}

    def hash_user_id(self, user_id: str) -> str:
        """The keyed hash of `user_id`, remembered."""
        hashed = super().hash_user_id(user_id)
        self.user_ids[hashed] = user_id
        return hashed


def _cookie_domain(client: Any) -> str:
    # The domain the app's own Set-Cookie (no Domain attribute) is filed under, so
    # that a cookie it sends later replaces this one instead of joining it: the
    # client's host, with ".local" for a host without a dot ("testserver"), as
    # http.cookiejar files it.
    host: str = client.base_url.host
    return host if "." in host else f"{host}.local"


def _find_middleware(app: Any) -> DynamoDBSessionMiddleware:
    """The `DynamoDBSessionMiddleware` in `app`'s middleware stack (built if need be,
    as Starlette would on its first request), found through each layer's `.app`."""
    layer = app
    if getattr(app, "middleware_stack", "absent") is None:  # Starlette builds it lazily
        app.middleware_stack = app.build_middleware_stack()
        layer = app.middleware_stack
    elif getattr(app, "middleware_stack", None) is not None:
        layer = app.middleware_stack
    for _ in range(100):  # a stack has a few layers; a cycle must not hang the test
        if isinstance(layer, DynamoDBSessionMiddleware):
            return layer
        layer = getattr(layer, "app", None)
        if layer is None:
            break
    raise SessionConfigError(
        "no DynamoDBSessionMiddleware found in the app: add it with "
        "app.add_middleware(DynamoDBSessionMiddleware, store=..., secret_key=...)"
    )
