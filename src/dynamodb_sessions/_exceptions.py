"""The exceptions of dynamodb-sessions, in one place.

Hierarchy::

    SessionError
    ├── SessionConfigError        bad arguments, raised at construction (also a ValueError)
    ├── SessionDataError          the app put something in the session that can't be stored
    │   ├── SessionSerializationError   a value JSON can't encode (also a TypeError)
    │   ├── SessionTooLargeError        the item would pass DynamoDB's 400 KB limit (HTTP 413)
    │   └── SessionTooManyChangesError  more changed keys than one atomic write holds (HTTP 413)
    ├── SessionConflictError      another request changed the same key first (HTTP 409)
    ├── SessionNotLoadedError     the session was used before `load_session` (lazy=True or
    │                             a path in `skip_paths`)
    └── SessionStoreError         the store failed (HTTP 503); never becomes an empty session
        ├── SessionStoreUnavailableError  throttled, timed out or unreachable after retries
        ├── SessionTableNotFoundError     the table doesn't exist
        ├── SessionAccessDeniedError      the credentials may not use the table
        └── SessionStoreConfigError       the store's setup is incomplete (no region), found at
                                          its first use (also a SessionConfigError; HTTP 500)

A bad *cookie* is not an error: it yields a fresh empty session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection


class SessionError(Exception):
    """Base class of every error this library raises."""


class SessionConfigError(SessionError, ValueError):
    """An argument is invalid; raised when the middleware or a store is built."""


class SessionDataError(SessionError, ValueError):
    """The session holds data that can't be stored; the stored state stays as it was."""


class SessionSerializationError(SessionDataError, TypeError):
    """A session value is not JSON-serializable (sessions never use pickle)."""

    def __init__(self, key: str, cause: Exception) -> None:
        super().__init__(
            f"session[{key!r}] can't be stored: {cause}. Store JSON types only "
            "(str, int, float, bool, None, list, dict with str keys); convert other "
            "objects first, for example a datetime with .isoformat()."
        )
        self.key = key


class SessionTooLargeError(SessionDataError):
    """The session would pass DynamoDB's item size limit (400 KB).

    Raised where a value is set when the size is known then, else at save; also
    when DynamoDB itself refuses the item as too large (`size` is then None), and
    by a MemoryStore for a session over its `max_bytes`. The middleware answers 413.
    """

    def __init__(
        self, size: int | None, limit: int, largest_key: str | None, *, detail: str = ""
    ) -> None:
        hint = f" The largest value is session[{largest_key!r}]." if largest_key else ""
        what = detail or (
            f"the session would take {size} bytes, over the {limit}-byte limit of a "
            "DynamoDB item (less a bound user id)"
        )
        super().__init__(
            f"{what}.{hint} Keep large data in S3 or its own table and store only a "
            "reference in the session."
        )
        self.size = size
        self.limit = limit
        self.largest_key = largest_key


class SessionTooManyChangesError(SessionDataError):
    """One request changed more keys of a stored session than one DynamoDB write holds.

    A save is one conditional UpdateItem, so that it lands whole or not at all; its
    expressions are limited to 4 KB, about `limit` keys. Nothing is written; the
    middleware answers 413. New sessions, `regenerate_id()` and `clear()` write
    the whole item and have no such limit.
    """

    def __init__(self, changed: int, limit: int) -> None:
        super().__init__(
            f"one request changed {changed} keys of a stored session; at most {limit} "
            "can be saved at once, atomically. Group related values under one key "
            '(session["cart"] = {...} rather than one key per item).'
        )
        self.changed = changed
        self.limit = limit


class SessionConflictError(SessionError):
    """Another request changed the same session keys, or ended or replaced the session, first.

    Raised on save with the default ``on_conflict="raise"``; the middleware answers
    409, leaves the cookie alone, and the other request's value stays. `gone` is
    True when the session ended (logout, revocation, expiry); `rotated` when its id
    was replaced by a newer one (a sign-in with `regenerate_id()` in another request).
    """

    def __init__(self, keys: Collection[str], *, gone: bool = False, rotated: bool = False) -> None:
        if rotated:
            message = "the session got a new id (a sign-in) in another request"
        elif gone:
            message = "the session ended (logout, revocation or expiry) while this request ran"
        else:
            message = f"another request changed session keys {sorted(keys)!r} first"
        super().__init__(message + "; reload and try again.")
        self.keys = frozenset(keys)
        self.gone = gone or rotated
        self.rotated = rotated


class SessionNotLoadedError(SessionError):
    """``request.session`` was used before the session was loaded: with ``lazy=True``,
    or on a path listed in `skip_paths`, until ``await load_session(request)``.
    The middleware answers 500: it is a bug in the app, not a transient failure."""

    def __init__(self, path: str, *, lazy: bool = False) -> None:
        if lazy:
            message = (
                f"the session is not loaded yet for {path!r}: the middleware runs with "
                "lazy=True, so call `await load_session(request)` (or use the FastAPI "
                "dependency `dynamodb_sessions.fastapi.Session`) before request.session."
            )
        else:
            message = (
                f"the session is not loaded for {path!r} because it matches `skip_paths`; "
                "call `await load_session(request)` first to load it there, or remove "
                "that prefix from `skip_paths`."
            )
        super().__init__(message)
        self.path = path
        self.lazy = lazy


class SessionStoreError(SessionError):
    """The session store failed. The middleware answers 503 with Retry-After."""


class SessionStoreUnavailableError(SessionStoreError):
    """The store was throttled, timed out or unreachable, after botocore's retries."""


class SessionTableNotFoundError(SessionStoreError):
    """The DynamoDB table doesn't exist (or is in another region or account)."""

    def __init__(self, table_name: str) -> None:
        super().__init__(
            f"DynamoDB table {table_name!r} was not found. Create it with "
            f"`dynamodb-sessions create-table --table-name {table_name}` "
            "(add --region/--endpoint-url as needed), or check AWS_REGION."
        )
        self.table_name = table_name


class SessionStoreConfigError(SessionStoreError, SessionConfigError):
    """The store can't be used as configured (no AWS region; a header value, such as
    the session token, holding a line break), found at its first use.

    Not transient: the middleware answers 500 (never 503) and logs this message.
    """


class SessionAccessDeniedError(SessionStoreError):
    """The credentials in use may not call DynamoDB on the sessions table."""

    def __init__(self, table_name: str, detail: str) -> None:
        super().__init__(
            f"access to DynamoDB table {table_name!r} was denied ({detail}). Grant the "
            "policy printed by `dynamodb-sessions iam-policy` to the function's role."
        )
        self.table_name = table_name
