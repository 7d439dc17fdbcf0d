"""What the stores share about the sessions of a user: the keyed hash that stands for
a user id in the table, the opaque handle of a session, and the record a listing gives.

The table never holds a raw user id (an email, an OIDC `sub`): the user index is
keyed by `hash_user_id`, an HMAC-SHA256 of the id under the store's `user_id_key`.
A session's `handle` is an HMAC of its table key under the same key: stable while
the session keeps its id, opaque, and useless to anyone without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from .._events import EventHook, SessionEvent, emit
from .._exceptions import SessionConfigError
from .._logging import log_id

# "u1." tags the format (a later one can tell itself apart) and keeps a hashed id
# from ever equalling a raw one an app passed before ids were hashed (no "@", no ".").
_PREFIX = "u1."
_USER_KEY = re.compile(r"u1\.[A-Za-z0-9_-]{32}")
_MIN_KEY_LENGTH = 6  # as secret_key: a floor against placeholders, not a strength

UserIdKey = str | bytes
#: The label a session without one is listed with.
UNKNOWN_DEVICE = "Unknown device"


def check_user_id_key(user_id_key: object) -> bytes | None:
    """The key as bytes, or None; raise `SessionConfigError` for anything else."""
    if user_id_key is None:
        return None
    if isinstance(user_id_key, str):
        user_id_key = user_id_key.encode()
    if not isinstance(user_id_key, bytes) or len(user_id_key) < _MIN_KEY_LENGTH:
        raise SessionConfigError(
            f"user_id_key must be a string or bytes of at least {_MIN_KEY_LENGTH} characters "
            "(a secret: the middleware's first secret_key is the default), not "
            f"{type(user_id_key).__name__ if not isinstance(user_id_key, bytes) else 'a short key'}"
        )
    return user_id_key


def missing_key_error(store: str) -> SessionConfigError:
    """The error of a store asked to hash a user id without a key."""
    return SessionConfigError(
        f"{store} has no user_id_key: the table keeps a keyed hash of each user id, never "
        f"the id. Pass {store}(..., user_id_key=KEY) with the key the app's sessions use: "
        "the middleware's first secret_key, unless the app passes its own user_id_key "
        "(the CLI reads it from DYNAMODB_SESSIONS_USER_ID_KEY)"
    )


def _mac(key: bytes, domain: bytes, text: str) -> bytes:
    return hmac.new(key, domain + b"\0" + text.encode(), hashlib.sha256).digest()


def _text(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hash_user_id(key: bytes | None, user_id: str, *, store: str) -> str:
    """The value that stands for `user_id` in the table: "u1." and 192 bits of HMAC."""
    if key is None:
        raise missing_key_error(store)
    return _PREFIX + _text(_mac(key, b"user_id", user_id)[:24])


def is_user_key(value: str) -> bool:
    """Whether a stored binding is a hashed user id (else: a raw one, from before)."""
    return _USER_KEY.fullmatch(value) is not None


def check_user_key(user_key: str | None) -> None:
    """Refuse to store a binding that is not a hashed user id."""
    if user_key is not None and not is_user_key(user_key):
        raise SessionConfigError(
            "a store binds sessions to hashed user ids only: pass store.hash_user_id(user_id)"
        )


def session_handle(key: bytes | None, session_key: str) -> str | None:
    """The handle of the session stored under `session_key` (96 bits, URL-safe), or
    None without a key."""
    if key is None:
        return None
    return _text(_mac(key, b"handle", session_key)[:12])


@dataclass(frozen=True, slots=True)
class UserSession:
    """One live session of a user, as `list_user_sessions` gives it: a device.

    `handle` names the session for `revoke_session` and `revoke_user_sessions(keep=)`:
    opaque (neither the session id nor its hash), stable while the session keeps its
    id (a `regenerate_id()` gives it a new one). `created` and `last_seen` are epoch
    seconds (`last_seen`: the last write, at most `refresh_interval` behind the last
    request); `device` is the label the middleware recorded ("Firefox on Linux"),
    "Unknown device" without one; `current` is True for the handle given as `current=`.
    """

    handle: str
    created: int
    last_seen: int
    device: str
    current: bool = False


def sorted_sessions(sessions: list[UserSession]) -> list[UserSession]:
    """Most recently seen first; ties by handle, so the order is stable."""
    return sorted(sessions, key=lambda s: (-s.last_seen, s.handle))


async def revoked(hook: EventHook | None, key: str) -> None:
    """Tell `hook` (a store's `on_event`) that a revoke ended `key`."""
    if hook is not None:
        await emit(hook, SessionEvent("revoked", log_id(key)))
