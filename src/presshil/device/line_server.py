"""The ASCII line protocol v1 on a served port, in the device's asyncio loop.

Lines are answered strictly in order, one reply each, so a host may pipeline commands.
The commands are those of line v1's table (:data:`presshil.maps.line_v1.COMMANDS`): a
setter writes its map v1 register, an action its command number, a query formats its reply
from the press. Values go through :meth:`VirtualPress.apply`, so the rules (and the codes of
refusals) are the Modbus map's: ``ERR 3`` where Modbus answers exception 03.
"""

from __future__ import annotations

import asyncio
import logging
import os

from ..maps.line_v1 import (
    ERR_MALFORMED,
    ERR_STATE,
    ERR_UNKNOWN,
    MAX_LINE,
    OK,
    Kind,
    by_word,
    format_err,
)
from ..serving.master import Link, Master, current_master
from ..serving.port_server import PortServer
from ..serving.ports import ServedPort
from .rules import Refused
from .virtual import VirtualPress

log = logging.getLogger("presshil.device")
UNKNOWN, MALFORMED = ERR_UNKNOWN, ERR_MALFORMED
#: queued in place of a line longer than MAX_LINE (a NUL never arrives in a real line)
TOO_LONG = b"\x00too long"


class LineServer(PortServer[bytes]):
    """Answers line-protocol commands arriving on ``port`` (start/close: :class:`PortServer`)."""

    def __init__(self, port: ServedPort, press: VirtualPress) -> None:
        super().__init__(port)
        self.press = press
        #: the one master on this port
        self.master = Master(Link.SERIAL_LINE, name=port.path)
        self._buffer = b""
        #: a line over MAX_LINE was answered ERR 2; drop bytes up to its newline
        self._discarding = False

    def _readable(self) -> None:
        try:
            data = os.read(self.port.fd, 4096)
        except BlockingIOError:
            return
        except OSError:  # EIO while no host has the port open: its implicit lease ends
            self.press.lease.disconnected(self.master)
            return
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if self._discarding:  # the end of a line already answered ERR 2
                self._discarding = False
            elif len(line.rstrip(b"\r")) > MAX_LINE:
                self._queue.put_nowait(TOO_LONG)
            else:
                self._queue.put_nowait(line)
        if len(self._buffer) > MAX_LINE + 1:  # + a CR that may precede the LF
            # answer once, then drop everything up to the end of this line: its tail must
            # never be executed as a command of its own
            self._buffer = b""
            if not self._discarding:
                self._discarding = True
                self._queue.put_nowait(TOO_LONG)

    async def _worker(self) -> None:
        current_master.set(self.master)
        while True:
            line = await self._queue.get()
            try:
                reply = self.handle(line)
            except Exception as exc:
                log.exception("line command failed: %r", line)
                reply = format_err(ERR_STATE, f"device failure: {exc}")
            if reply is None:
                continue
            delay = self.press.faults.reply_delay_s
            if delay > 0:
                await asyncio.sleep(delay)
            payload = self.press.faults.take_garbage() + reply.encode("ascii", "replace") + b"\n"
            try:
                os.write(self.port.fd, payload)
            except OSError:
                log.info("line reply dropped: nobody reads %s", self.port.path)

    def handle(self, raw: bytes) -> str | None:
        """The reply to one received line (None for an empty line)."""
        if raw == TOO_LONG:
            return format_err(MALFORMED, f"line longer than {MAX_LINE} characters")
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            return format_err(MALFORMED, "line is not ASCII")
        if not text:
            return None
        word, _, arg = text.partition(" ")
        word, arg = word.upper(), arg.strip()
        try:
            return self._dispatch(word, arg)
        except Refused as exc:
            return format_err(exc.code, exc.text)

    def _dispatch(self, word: str, arg: str) -> str:
        press = self.press
        cmd = by_word().get(word)
        if cmd is None:
            return format_err(UNKNOWN, f"unknown command {word!r}")
        if cmd.kind is Kind.QUERY:
            assert cmd.reply is not None
            return cmd.reply(press)
        if cmd.kind is Kind.ACT:
            if arg:
                return format_err(MALFORMED, f"{word} takes no argument")
            if cmd.command is None:
                press.feed_heartbeat()
            else:
                press.apply({"command": cmd.command})
            return OK
        assert cmd.register is not None
        try:
            value = cmd.arg_type(arg)
        except ValueError:
            return format_err(MALFORMED, f"{word} needs a number, got {arg!r}")
        press.apply({cmd.register: value})
        return OK


__all__ = ["LineServer"]
