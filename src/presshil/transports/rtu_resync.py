"""Resynchronisation of Modbus RTU replies after line noise.

pymodbus' RTU framer drops its whole receive buffer at the first candidate frame whose CRC
fails, so a few noise bytes in front of a good reply cost a timeout. :class:`RtuResync` is
installed as the client's ``trace_packet`` hook: it remembers the request just sent and
hands the framer only the bytes from the first complete, CRC-valid reply for that request
(same unit, same function code or its exception), skipping whatever precedes it.
"""

from __future__ import annotations

from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU


class RtuResync:
    """A ``trace_packet(sending, data) -> data`` hook that finds the reply in noisy bytes."""

    def __init__(self) -> None:
        self._decoder = DecodePDU(False)
        self._unit = -1
        self._fc = -1
        #: bytes seen since the last request and whether a CRC-failing candidate was among them
        self.received = 0
        self.bad_crc = False

    def __call__(self, sending: bool, data: bytes) -> bytes:
        if sending:
            if len(data) >= 2:
                self._unit, self._fc = data[0], data[1]
            self.received, self.bad_crc = 0, False
            return data
        self.received = len(data)
        return self._find_reply(data)

    def _find_reply(self, data: bytes) -> bytes:
        waiting_from = None
        for i in range(len(data) - 1):
            if data[i] != self._unit or data[i + 1] not in (self._fc, self._fc | 0x80):
                continue
            size = self._frame_size(data[i:])
            if size == 0 or len(data) - i < size:
                if waiting_from is None:
                    waiting_from = i  # may be a reply still arriving
                continue
            body, crc = data[i : i + size - 2], data[i + size - 2 : i + size]
            if FramerRTU.check_CRC(body, int.from_bytes(crc, "big")):
                return data[i : i + size]
            self.bad_crc = True
        return data[waiting_from:] if waiting_from is not None else b""

    def _frame_size(self, frame: bytes) -> int:
        if len(frame) < 3:
            return 0
        pdu_class = self._decoder.lookupPduClass(frame)
        if pdu_class is None:
            return 0
        try:
            return pdu_class.calculateRtuFrameSize(frame)
        except Exception:  # noqa: BLE001 - an implausible header is just noise here
            return 0


__all__ = ["RtuResync"]
