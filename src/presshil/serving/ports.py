"""Serial ports a server serves: a pseudo-terminal it creates, or a named device.

Shared by the virtual press and the plant; the device and plant servers import it from here.
"""

from __future__ import annotations

import contextlib
import os
import tty
from collections.abc import Callable
from dataclasses import dataclass, field

import serial

from ..errors import ConfigError


@dataclass
class ServedPort:
    """The device's end of a serial line: a non-blocking ``fd`` and the ``path`` hosts open."""

    fd: int
    path: str
    _close: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Close the device's end (idempotent)."""
        closers, self._close = self._close, []
        for close in closers:
            with contextlib.suppress(OSError):
                close()


def open_served_port(spec: str, baud: int = 115200) -> ServedPort:
    """``"pty"``: a new pseudo-terminal (hosts open :attr:`ServedPort.path`, its slave side);
    anything else: the serial device at that path."""
    if spec == "pty":
        master, slave = os.openpty()
        # raw line discipline: no echo, no line editing, no CR/LF translation; keeping our own
        # slave fd open means the master never sees EIO while no host has the port open
        tty.setraw(slave)
        os.set_blocking(master, False)
        path = os.ttyname(slave)
        return ServedPort(master, path, [lambda: os.close(master), lambda: os.close(slave)])
    try:
        port = serial.Serial(spec, baudrate=baud, timeout=0, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise ConfigError(f"cannot open serial device {spec!r}: {exc}") from exc
    return ServedPort(port.fileno(), spec, [port.close])


__all__ = ["ServedPort", "open_served_port"]
