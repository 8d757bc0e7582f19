"""An asyncio loop in a daemon thread: what a blocking client (OPC UA) and the servers both run
their coroutines on."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any


class LoopThread:
    """An asyncio loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="presshil-device", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout_s: float = 10.0) -> Any:
        """Run ``coro`` in the loop and wait (bounded) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        """Cancel what still runs in the loop (a connection's reader, a refresh task), then
        stop the loop and its thread. Tasks left pending would be closed later by the garbage
        collector, on a closed loop, and complain."""
        if self.thread.is_alive():
            # a task that will not end: the loop is stopped anyway
            with contextlib.suppress(TimeoutError, RuntimeError):
                self.run(_cancel_tasks(), timeout_s=3.0)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5.0)
        if not self.thread.is_alive() and not self.loop.is_closed():
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


async def _cancel_tasks() -> None:
    """Cancel every other task of the running loop and wait (bounded) for them to end."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2.0)


__all__ = ["LoopThread"]
