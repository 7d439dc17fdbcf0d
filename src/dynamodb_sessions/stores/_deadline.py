"""The deadline of the current request's store calls.

The middleware gives each request a budget of time to wait for the store; a
store that blocks a worker thread reads this variable there (anyio copies the
context into the thread) to stop retrying once nobody waits for the answer.
"""

from __future__ import annotations

from contextvars import ContextVar

#: `time.monotonic()` by which the current store call must be done, or None.
store_deadline: ContextVar[float | None] = ContextVar(
    "dynamodb_sessions.store_deadline", default=None
)
