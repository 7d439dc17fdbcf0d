"""What the stores share about the sessions of a user."""

from __future__ import annotations

from .._events import EventHook, SessionEvent, emit
from .._logging import log_id


async def revoked(hook: EventHook | None, key: str) -> None:
    """Tell `hook` (a store's `on_event`) that `revoke_user_sessions` ended `key`."""
    if hook is not None:
        await emit(hook, SessionEvent("revoked", log_id(key)))
