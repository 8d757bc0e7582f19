"""The line link: a serial port carrying one-line commands and one-line replies.

- **total-time timeouts**: a reply must be complete within ``timeout`` seconds of the
  request, however the bytes trickle in (pyserial's ``readline`` timeout is per read call,
  so a device sending one byte every 0.9 × timeout would hold it forever);
- **resynchronisation**: stale input is flushed before each request, and lines that are not
  a well-formed reply to it (noise, a late reply to an earlier request) are discarded until
  one is, within the same deadline;
- **pipelining**: several commands in one write, their replies taken in order;
- **retries**: like the Modbus link, a failed exchange closes the port and, while
  ``retries`` remain, reopens it and tries again. After a timeout the port is reopened only
  once ``timeout`` more has passed (opening flushes the input), so that a late reply to the
  abandoned request is discarded rather than taken for the answer to the next one;
- **errors**: mapped in :mod:`.errormap`; ``ERR <code> <text>`` becomes ``DeviceFault``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import serial

from ..errors import DeviceFault, TransportError, TransportTimeout
from ..maps.line_v1 import MAX_LINE, OK, parse_err
from ..urls import PressURL
from .errormap import CorruptReply, line_error, map_link_errors

#: a reply parser: the parsed value, or None when the line is not a reply of that kind
Accept = Callable[[str], Any]


def accept_ok(text: str) -> str | None:
    """Accepts exactly ``OK``."""
    return text if text == OK else None


def _after_noise(raw: bytes) -> str:
    """The line after its last non-printable byte: noise glued in front of a reply is cut."""
    cut = max(
        (i for i, b in enumerate(raw) if not 0x20 <= b < 0x7F and b not in (0x09, 0x0D)), default=-1
    )
    return raw[cut + 1 :].decode("ascii").strip()


class LineLink:
    """One serial port speaking a line protocol, with presshil's timeout and retry policy."""

    def __init__(self, parsed: PressURL, *, default_timeout_s: float = 0.2) -> None:
        self.parsed = parsed
        self.url = parsed.raw
        self.timeout_s = parsed.get_float("timeout", default_timeout_s)
        self.retries = max(0, parsed.get_int("retries", 0))
        self.baud = parsed.get_int("baud", 115200)
        self._port: serial.Serial | None = None
        self._buffer = b""
        self._late_until = 0.0
        #: lines discarded while looking for a reply, over the link's life
        self.discarded = 0

    def connect(self) -> None:
        """Open the port; :class:`TransportError` naming the URL when it fails."""
        self.close()
        wait_s = self._late_until - time.monotonic()
        if wait_s > 0:
            time.sleep(min(wait_s, self.timeout_s))  # let a late reply land, then flush it
        with map_link_errors(f"{self.url}: open {self.parsed.target}", self.timeout_s):
            self._port = serial.serial_for_url(
                self.parsed.target,
                baudrate=self.baud,
                timeout=0,
                write_timeout=self.timeout_s,
                exclusive=True,
            )
        self._buffer = b""

    def close(self) -> None:
        """Close the port (the next exchange reopens it)."""
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(Exception):  # closing a broken port must not raise
                port.close()

    def exchange(self, lines: Sequence[str], accepts: Sequence[Accept], what: str) -> list[Any]:
        """Send ``lines`` in one write; return one accepted reply per line, in order."""
        where = f"{self.url}: {what}"
        last: TransportError | None = None
        for _attempt in range(self.retries + 1):
            try:
                with map_link_errors(where, self.timeout_s):
                    return self._exchange_once(lines, accepts, where)
            except DeviceFault:
                raise
            except TransportError as exc:
                last = exc
                self.close()
                if isinstance(exc, TransportTimeout):
                    self._late_until = time.monotonic() + self.timeout_s
        assert last is not None
        raise last

    def _exchange_once(
        self, lines: Sequence[str], accepts: Sequence[Accept], where: str
    ) -> list[Any]:
        if self._port is None:
            self.connect()
        port = self._port
        assert port is not None
        port.reset_input_buffer()  # whatever is waiting answers an earlier request
        self._buffer = b""
        port.write("".join(line + "\n" for line in lines).encode("ascii"))
        deadline = time.monotonic() + self.timeout_s
        return [self._reply(port, accept, deadline, where) for accept in accepts]

    def _reply(self, port: serial.Serial, accept: Accept, deadline: float, where: str) -> Any:
        discarded = 0
        for _ in range(10_000):  # bounded; the deadline ends it long before
            while b"\n" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\n", 1)
                text = _after_noise(raw)
                err = parse_err(text)
                if err is not None:
                    raise line_error(where, *err)
                value = accept(text) if text else None
                if value is not None:
                    return value
                discarded += 1
                self.discarded += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            port.timeout = remaining
            chunk = port.read(max(1, port.in_waiting))
            self._buffer = (self._buffer + chunk)[-4 * MAX_LINE :]
        if discarded or self._buffer:
            raise CorruptReply(
                f"{where}: no well-formed reply within {self.timeout_s:g} s "
                f"({discarded} malformed line(s) discarded)"
            )
        raise TransportTimeout(f"{where}: no reply within {self.timeout_s:g} s")


__all__ = ["Accept", "LineLink", "accept_ok"]
