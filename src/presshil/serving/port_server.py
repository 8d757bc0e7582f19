"""The lifecycle both serial-port servers share: a reader on the port, a queue, a worker.

The Modbus RTU slave (:class:`presshil.serving.rtu_server.RtuServer`, also served by the
plant) and the line-protocol server (:class:`presshil.device.line_server.LineServer`) read
their port from the loop's reader callback (:meth:`PortServer._readable`), which splits the
bytes into requests and queues them, and answer them one at a time, in order, in a worker
task (:meth:`PortServer._worker`). Framing and answering differ and stay with each server.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

from .ports import ServedPort

Q = TypeVar("Q")


class PortServer(Generic[Q]):
    """Base of a server on a :class:`ServedPort`, run in an asyncio loop's thread."""

    def __init__(self, port: ServedPort) -> None:
        self.port = port
        self._queue: asyncio.Queue[Q] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start serving (call in the loop's thread)."""
        self._loop = loop
        loop.add_reader(self.port.fd, self._readable)
        self._task = loop.create_task(self._worker())

    def close(self) -> None:
        """Stop serving (call in the loop's thread)."""
        if self._loop is not None:
            self._loop.remove_reader(self.port.fd)
        if self._task is not None:
            self._task.cancel()

    def _readable(self) -> None:
        """The port has data: read it, queue every complete request (subclasses)."""
        raise NotImplementedError

    async def _worker(self) -> None:
        """Answer queued requests in order, forever (subclasses)."""
        raise NotImplementedError


__all__ = ["PortServer"]
