"""Modbus RTU slave on a served port, in the device's asyncio loop.

pymodbus' serial server opens its port by name, which a pseudo-terminal's master side does
not have, so this small loop owns the I/O and reuses the rest of pymodbus: its RTU framer,
its request decoder and the same ``SimDevice`` datastore the TCP server uses. Frames are
delimited as on a real line: a silence longer than the inter-frame gap discards a partial
frame.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Protocol

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest
from pymodbus.simulator.simcore import SimCore

from ..maps.press_v1 import DEVICE_ID
from .faults import WireFaults
from .master import Link, Master, current_master
from .modbus import identity_reply
from .port_server import PortServer
from .ports import ServedPort

log = logging.getLogger("presshil.serving")


class HasWireFaults(Protocol):
    """What the RTU slave asks of the device it serves: the faults on its wires."""

    faults: WireFaults

MAX_BUFFER = 512


class RtuServer(PortServer[ModbusPDU]):
    """Answers RTU requests for ``unit`` arriving on ``port`` (broadcasts: executed, no reply)."""

    def __init__(
        self,
        port: ServedPort,
        datastore: SimCore,
        press: HasWireFaults,
        *,
        baud: int = 115200,
        unit: int = DEVICE_ID,
        identity: ModbusDeviceIdentification | None = None,
        gap_s: float | None = None,
    ) -> None:
        super().__init__(port)
        self.datastore = datastore
        #: what FC43/14 answers (None: pymodbus' process-wide identity)
        self.identity = identity
        self.press = press  # its faults are read on every reply (a press or the plant)
        self.unit = unit
        #: the one master on this port
        self.master = Master(Link.MODBUS_RTU, name=port.path)
        #: a silence this long ends a partial frame: 3.5 characters on a line (5 ms at
        #: least); ``gap_s`` overrides it where the writer is an emulator on a pty, whose
        #: bytes arrive when its host schedules it, not at the line's pace
        self.gap_s = gap_s if gap_s is not None else max(3.5 * 11 / baud, 0.005)
        self._framer = FramerRTU(DecodePDU(True))
        self._buffer = b""
        self._last_rx = 0.0

    def _readable(self) -> None:
        try:
            data = os.read(self.port.fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: no host has the port open; an implicit lease ends
            lease = getattr(self.press, "lease", None)
            if lease is not None:
                lease.disconnected(self.master)
            return
        now = time.monotonic()
        if now - self._last_rx > self.gap_s:
            self._buffer = b""  # a silence ends any partial frame
        self._last_rx = now
        self._buffer = (self._buffer + data)[-MAX_BUFFER:]
        for _ in range(8):  # bounded: a burst holds at most a few frames
            try:
                used, pdu = self._framer.handleFrame(self._buffer, 0, 0)
            except ModbusIOException:
                self._buffer = b""
                return
            self._buffer = self._buffer[used:]
            if pdu is None:
                return
            self._queue.put_nowait(pdu)

    async def _worker(self) -> None:
        current_master.set(self.master)
        while True:
            request = await self._queue.get()
            try:
                await self._answer(request)
            except Exception:
                log.exception("RTU request failed: %s", request)

    async def _answer(self, request: ModbusPDU) -> None:
        if request.dev_id not in (self.unit, 0):
            return  # another slave's request
        try:
            if self.identity is not None and isinstance(request, ReadDeviceInformationRequest):
                response = identity_reply(request, self.identity, request.dev_id)
            else:
                response = await request.datastore_update(self.datastore, request.dev_id)  # type: ignore[arg-type]
        except Exception:
            log.exception("datastore failed: %s", request)
            response = ExceptionResponse(request.function_code, ExcCodes.DEVICE_FAILURE)
        if request.dev_id == 0:
            return
        response.dev_id, response.transaction_id = request.dev_id, 0
        frame = self._framer.buildFrame(response)
        faults = self.press.faults
        if faults.take_corrupt():
            frame = frame[:-2] + bytes([frame[-2] ^ 0xA5, frame[-1] ^ 0x5A])
        frame = faults.take_garbage() + frame
        try:
            os.write(self.port.fd, frame)
        except (BlockingIOError, OSError):
            log.info("RTU reply dropped: nobody reads %s", self.port.path)


__all__ = ["RtuServer"]
