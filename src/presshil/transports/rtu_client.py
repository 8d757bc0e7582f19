"""A Modbus RTU client that waits for reply bytes with ``select`` instead of sleep-polling.

pymodbus' synchronous serial client waits for a reply by polling ``in_waiting`` every
millisecond (at least) until the count stops growing, which costs about 2 ms per request
whatever the line speed. Here :meth:`recv` blocks in ``select`` until bytes arrive (or the
timeout passes) and returns what is there; pymodbus' transaction loop calls it again while
the frame is incomplete, so a reply is handed over as soon as its last byte is in.
"""

from __future__ import annotations

import select
import time

from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ConnectionException


class SelectSerialClient(ModbusSerialClient):
    """``ModbusSerialClient`` with an event-driven :meth:`recv`."""

    def recv(self, size: int | None) -> bytes:
        """Up to ``size`` bytes (None: whatever has arrived), waiting at most the timeout."""
        port = self.socket
        if not port:
            raise ConnectionException(str(self))
        timeout_s = self.comm_params.timeout_connect or 0.0
        deadline = time.monotonic() + timeout_s
        try:
            fd = port.fileno()
            while True:
                waiting = port.in_waiting
                if waiting:
                    return port.read(waiting if size is None else min(size, waiting))
                left = deadline - time.monotonic()
                if left <= 0:
                    return b""
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    return b""
        except (BlockingIOError, InterruptedError):
            raise
        except OSError:
            self.close()
            raise ConnectionException(str(self)) from None


__all__ = ["SelectSerialClient"]
