"""`load_session`: load a request's session when the app asks (lazy loading)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._exceptions import SessionConfigError
from ._lifecycle import SessionHandle

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from ._session import DynamoDBSessionDict

# Where the middleware leaves a request's SessionHandle, for `load_session`.
HANDLE = "dynamodb_sessions.handle"


async def load_session(connection: HTTPConnection) -> DynamoDBSessionDict:
    """Load this request's session if it isn't yet, and return it (`request.session`).

    Needed with `lazy=True` (and on `skip_paths`) before `request.session` is used;
    harmless otherwise. The store is called at most once per request: later calls
    return the same session. Takes a `Request` or a `WebSocket`. Raises
    `SessionStoreError` when the store fails (the middleware answers 503).
    """
    handle = connection.scope.get(HANDLE)
    if not isinstance(handle, SessionHandle):
        raise SessionConfigError(
            "load_session() found no DynamoDBSessionMiddleware in front of this route: "
            "add it with app.add_middleware(DynamoDBSessionMiddleware, ...)"
        )
    session = await handle.ensure_loaded()
    connection.scope["session"] = session  # what request.session returns from now on
    return session
