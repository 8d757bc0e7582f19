"""The device side of an ASCII instrument profile, on a served port (a pseudo-terminal).

Each request line that equals a signal's ``request`` is answered with the signal's
``reply_format`` filled with the live value in the signal's unit; a command's request is
answered ``OK`` (a tare zeroes the force). Anything else is answered ``?``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..serving.port_server import PortServer
from ..serving.ports import ServedPort

log = logging.getLogger("presshil.profiles")
MAX_LINE = 256


class AsciiInstrumentServer(PortServer[bytes]):
    """Answers an ASCII instrument's requests from the profile emulation's datastore."""

    def __init__(self, handle: Any, port: ServedPort) -> None:
        super().__init__(port)
        self.handle = handle
        profile = handle.profile
        self.eol = profile.ascii.terminator.encode(profile.ascii.encoding)
        self.encoding = profile.ascii.encoding
        self._buffer = b""

    def _readable(self) -> None:
        try:
            data = os.read(self.port.fd, 4096)
        except OSError:
            return
        self._buffer += data
        while self.eol in self._buffer:
            line, self._buffer = self._buffer.split(self.eol, 1)
            self._queue.put_nowait(line)
        if len(self._buffer) > MAX_LINE:
            self._buffer = b""

    async def _worker(self) -> None:
        while True:
            line = await self._queue.get()
            try:
                reply = self.answer(line.decode(self.encoding, "replace").strip())
            except Exception:
                log.exception("ASCII request failed: %r", line)
                reply = "ERR"
            try:
                os.write(self.port.fd, reply.encode(self.encoding) + self.eol)
            except OSError:
                log.info("ASCII reply dropped: nobody reads %s", self.port.path)

    def answer(self, request: str) -> str:
        """The instrument's reply to ``request``."""
        store = self.handle.store
        profile = self.handle.profile
        sample = store.vp.sample()
        for name, sig in profile.signals.items():
            if request == (sig.request or "").strip():
                value = store._value(name, sample, store._die_mm2())
                number = store.map.converters[name].unit.from_canonical(float(value))
                number = (number - sig.offset) / sig.scale
                return (sig.reply_format or "{value}").format(value=number)
        for name, cmd in profile.commands.items():
            if request == (cmd.request or "").strip():
                if name == "tare":
                    store.tare_kn = sample.force_kn
                return "OK"
        return "?"


def ascii_server(handle: Any, port: ServedPort) -> AsciiInstrumentServer:
    """The server of ``handle``'s ASCII profile on ``port``."""
    return AsciiInstrumentServer(handle, port)


__all__ = ["AsciiInstrumentServer", "ascii_server"]
