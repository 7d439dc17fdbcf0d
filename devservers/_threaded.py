"""Background threads for servers that tests drive from plain code: an asyncio loop in
a daemon thread, and the `with` support the servers here share."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from typing_extensions import Self

T = TypeVar("T")


class LoopThread:
    """Runs coroutines on a private event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], *, timeout: float = 30) -> T:
        """Run `coroutine` on the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        """Cancel what still runs (connection handlers), let it close its sockets,
        then stop the loop and join the thread."""
        self.run(_cancel_others())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


async def _cancel_others() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # A closed transport lets go of its socket one loop iteration later.
    for _ in range(3):
        await asyncio.sleep(0)


class ClosedOnExit:
    """A server usable in `with`: leaving the block calls its `close()`."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class LoopServer(ClosedOnExit):
    """A server whose connections are served on its own `LoopThread`."""

    def __init__(self) -> None:
        self._loop = LoopThread()

    async def _close(self) -> None:
        """Stop listening and drop open connections (runs on the loop)."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop listening, drop open connections and stop the loop thread."""
        self._loop.run(self._close())
        self._loop.stop()
