"""The time one request may wait for its session store, and its deadline.

The middleware gives each request `store_timeout` seconds to wait for the store,
load and save together. A store that blocks a worker thread reads `store_deadline`
there (anyio copies the context into the thread) to stop retrying once nobody
waits for the answer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TypeVar

import anyio

from ._events import Usage, current_usage
from ._exceptions import SessionStoreUnavailableError

T = TypeVar("T")

#: `time.monotonic()` by which the current store call must be done, or None.
store_deadline: ContextVar[float | None] = ContextVar(
    "dynamodb_sessions.store_deadline", default=None
)


class StoreBudget:
    """What is left of one request's `store_timeout`, and what its calls cost."""

    def __init__(self, store_timeout: float, usage: Usage) -> None:
        self.store_timeout = store_timeout
        self.left = store_timeout
        self.usage = usage

    async def run(self, call: Awaitable[T], *, whole: bool = False) -> T:
        """Await a store call within what is left of the budget.

        With `whole`, the call is not cut short: it gets the deadline (the lean
        caller stops retrying there) but runs to its end, for a call made of
        several writes that must not be abandoned half-way (`rotate`).
        """
        started = time.monotonic()
        deadline = store_deadline.set(started + self.left)
        usage = current_usage.set(self.usage)
        try:
            with anyio.CancelScope(shield=True) if whole else anyio.move_on_after(self.left):
                return await call
        finally:
            store_deadline.reset(deadline)
            current_usage.reset(usage)
            waited = time.monotonic() - started
            self.left = max(0.0, self.left - waited)
            self.usage.seconds += waited
        raise SessionStoreUnavailableError(
            f"the session store did not answer within store_timeout={self.store_timeout:g} s"
        )
