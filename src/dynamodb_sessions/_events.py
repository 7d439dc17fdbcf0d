"""Lifecycle events: what happened to a request's session, for hooks and metrics.

The middleware calls `on_event` (a plain or async callable) once per step of a
request's session: loaded, created, saved, refreshed, rotated, ended, or a
conflict, a store error, degraded mode. An event names the session only by the
short prefix of its hashed id that the logs use, never by its id. A hook that
raises is logged and otherwise ignored: it never breaks the request.

Each event carries what the step cost: the time spent waiting for the store, the
DynamoDB calls it made, and the capacity units DynamoDB reported as consumed
(requested with `ReturnConsumedCapacity=TOTAL`, which is free).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

from ._exceptions import SessionConflictError
from ._logging import log_id, logger

EventName = Literal[
    "loaded", "created", "saved", "refreshed", "rotated", "ended", "revoked", "conflict",
    "store_error", "unavailable", "degraded",
]  # fmt: skip
#: Every event name, in the order of a request's life.
EVENT_NAMES: tuple[EventName, ...] = (
    "loaded",
    "created",
    "saved",
    "refreshed",
    "rotated",
    "ended",
    "revoked",
    "conflict",
    "store_error",
    "unavailable",
    "degraded",
)


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One step of a request's session.

    - `name`: one of `EVENT_NAMES`.
    - `session`: the session's log name (12 characters of its hashed id, or "new").
    - `outcome`: "ok"; for "conflict" the kind ("keys", "gone", "rotated"); for
      "store_error" and "degraded" the error's class name.
    - `detail`: a message for errors and conflicts ("" otherwise); never an id.
    - `seconds`: time spent waiting for the store in this step.
    - `calls`: store operations made in this step (DynamoDB's own retries not counted).
    - `read_units`, `write_units`: capacity DynamoDB reported as consumed.
    - `session_bytes`: after a write ("created", "saved", "rotated"), the bytes the
      session's data and user binding take in the item; None otherwise.

    "revoked" comes from a store's `revoke_user_sessions` or `revoke_session` (its
    own `on_event`), one per session ended; "unavailable" when the middleware answered 503.
    """

    name: EventName
    session: str
    outcome: str = "ok"
    detail: str = ""
    seconds: float = 0.0
    calls: int = 0
    read_units: float = 0.0
    write_units: float = 0.0
    session_bytes: int | None = None


#: What `on_event` may be.
EventHook = Callable[[SessionEvent], "Awaitable[None] | None"]


@dataclass(slots=True)
class Usage:
    """What the store calls of one request cost; the store adds to it."""

    seconds: float = 0.0
    calls: int = 0
    read_units: float = 0.0
    write_units: float = 0.0

    def add(self, *, read_units: float = 0.0, write_units: float = 0.0) -> None:
        """Count one store operation and the capacity it consumed."""
        self.calls += 1
        self.read_units += read_units
        self.write_units += write_units

    def snapshot(self) -> tuple[float, int, float, float]:
        """The totals so far, to take the difference of a step."""
        return self.seconds, self.calls, self.read_units, self.write_units


#: The usage of the current request's store calls (set by the middleware).
current_usage: ContextVar[Usage | None] = ContextVar("dynamodb_sessions.usage", default=None)


async def emit(hook: EventHook, event: SessionEvent) -> None:
    """Hand `event` to `hook`; log, never raise, what the hook raises."""
    try:
        result = hook(event)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("on_event hook failed on a %r event; the request goes on", event.name)


class Recorder:
    """Turns one request's steps into events for `on_event`; idle without a hook."""

    def __init__(self, hook: EventHook | None) -> None:
        self.hook = hook
        self.usage = Usage()
        self._mark = self.usage.snapshot()

    async def record(
        self,
        name: EventName,
        session: str | None,
        error: BaseException | None = None,
        *,
        session_bytes: Callable[[], int] | None = None,
    ) -> None:
        """Emit event `name` with what the store calls cost since the last one."""
        if self.hook is None:
            return
        (seconds, calls, reads, writes), self._mark = self._mark, self.usage.snapshot()
        usage = self.usage
        event = SessionEvent(
            name,
            log_id(session),
            outcome=_outcome(error),
            detail="" if error is None else str(error),
            seconds=usage.seconds - seconds,
            calls=usage.calls - calls,
            read_units=usage.read_units - reads,
            write_units=usage.write_units - writes,
            session_bytes=None if session_bytes is None else session_bytes(),
        )
        await emit(self.hook, event)


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, SessionConflictError):
        return "rotated" if error.rotated else "gone" if error.gone else "keys"
    return type(error).__name__
