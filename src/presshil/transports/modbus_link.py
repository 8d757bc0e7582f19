"""The Modbus link: one synchronous pymodbus client and presshil's policy around it.

pymodbus carries one request and returns one response; everything else is decided here:

- **timeout**: ``timeout`` seconds per attempt (connect and reply), from the URL;
- **retries**: pymodbus' own retries are off; a failed attempt (timeout, reset, bad frame)
  closes the link and, while ``retries`` remain, reconnects and tries again. Every request
  presshil sends is idempotent (map v1 commands are levels, not toggles), so a retry cannot
  double an action. Closing first means a late reply can never be taken for the next one;
- **late replies** (RTU): RTU has no transaction id, so after a timeout the port is
  reopened only once ``timeout`` more has passed (opening flushes the input): a late reply
  to the abandoned request is discarded, never taken for the next one. TCP reconnects at
  once: a new connection cannot carry an old reply;
- **reconnect**: explicit, by building a fresh client (no pymodbus background reconnect and
  no internal counters carried over from a broken connection);
- **errors**: mapped in :mod:`.errormap`; exception responses become ``DeviceFault``, except
  "busy, ask again" (05, 06, 0A, 0B): ``DeviceBusy``, asked again on the same link.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from ..errors import DeviceFault, TransportError, TransportTimeout
from ..url_schemes import MODBUS_RTU_KEYS, MODBUS_TCP_KEYS
from ..urls import PressURL
from .errormap import CorruptReply, DeviceBusy, map_link_errors, modbus_exception, translate
from .rtu_client import SelectSerialClient
from .rtu_resync import RtuResync

TCP_KEYS = MODBUS_TCP_KEYS  # registered with the modbus+tcp:// and modbus+rtu:// schemes
RTU_KEYS = MODBUS_RTU_KEYS


class ModbusLink:
    """A connection to one Modbus device, with presshil's timeout, retry and error policy."""

    def __init__(self, parsed: PressURL) -> None:
        self.parsed = parsed
        self.url = parsed.raw
        self.rtu = parsed.scheme == "modbus+rtu"
        parsed.check_keys(RTU_KEYS if self.rtu else TCP_KEYS)
        self.unit = parsed.get_int("unit", 1)
        self.timeout_s = parsed.get_float("timeout", 0.1 if self.rtu else 0.05)
        self.retries = max(0, parsed.get_int("retries", 0))
        self.baud = parsed.get_int("baud", 115200)
        self.parity = parsed.query.get("parity", "N").upper()
        self.stopbits = parsed.get_int("stopbits", 1)
        self._resync = RtuResync() if self.rtu else None
        self._client: ModbusTcpClient | ModbusSerialClient | None = None
        self._late_until = 0.0

    def _new_client(self) -> ModbusTcpClient | ModbusSerialClient:
        if self.rtu:
            return SelectSerialClient(
                self.parsed.target,
                framer=FramerType.RTU,
                baudrate=self.baud,
                parity=self.parity,
                stopbits=self.stopbits,
                timeout=self.timeout_s,
                retries=0,
                trace_packet=self._resync,
            )
        return ModbusTcpClient(
            self.parsed.host or "127.0.0.1",
            port=self.parsed.port or 502,
            timeout=self.timeout_s,
            retries=0,
        )

    @property
    def client(self) -> ModbusTcpClient | ModbusSerialClient:
        """The connected pymodbus client (connecting first if needed)."""
        if self._client is None:
            self.connect()
        assert self._client is not None
        return self._client

    def connect(self) -> None:
        """Open the connection; :class:`TransportError` naming the URL when it fails."""
        self.close()
        wait_s = self._late_until - time.monotonic()
        if self.rtu and wait_s > 0:
            time.sleep(min(wait_s, self.timeout_s))  # let a late reply land, then flush it
        client = self._new_client()
        with map_link_errors(f"{self.url}: connect", self.timeout_s):
            ok = client.connect()
        if not ok:
            client.close()
            what = "open serial device" if self.rtu else "connect"
            raise TransportError(f"{self.url}: cannot {what} {self.parsed.target}")
        self._client = client

    def close(self) -> None:
        """Close the connection (the next request reconnects)."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing a broken link must not raise
                client.close()

    def reconnect(self) -> None:
        """Drop the connection and open a fresh one."""
        self.connect()

    def call(
        self, what: str, request: Callable[[ModbusTcpClient | ModbusSerialClient], ModbusPDU]
    ) -> ModbusPDU:
        """Run ``request(client)`` under the policy; ``what`` names the operation in errors."""
        where = f"{self.url}: {what}"
        last: TransportError | None = None
        for _attempt in range(self.retries + 1):
            try:
                client = self._client if self._client is not None else self.client
                try:
                    response = request(client)
                except Exception as exc:  # every library error, mapped in one place
                    mapped = translate(exc, where, self.timeout_s)
                    if mapped is None or mapped is exc:
                        raise
                    raise mapped from exc
                if response.isError():
                    raise modbus_exception(where, response.exception_code)
                return response
            except DeviceFault:
                raise
            except DeviceBusy as exc:
                last = exc  # the link is fine: ask again on it, no reconnect
            except TransportError as exc:
                last = self._explain(exc, where)
                self.close()
                if isinstance(exc, TransportTimeout):
                    self._late_until = time.monotonic() + self.timeout_s
        assert last is not None
        raise last

    def _explain(self, exc: TransportError, where: str) -> TransportError:
        """A timeout on RTU with bytes received is a corrupt reply, not silence."""
        resync = self._resync
        if isinstance(exc, TransportTimeout) and resync is not None and resync.received:
            why = (
                "reply failed its CRC check"
                if resync.bad_crc
                else "no well-formed reply in the bytes"
            )
            err = CorruptReply(f"{where}: {why} ({resync.received} bytes received)")
            err.__cause__ = exc
            return err
        return exc


__all__ = ["RTU_KEYS", "TCP_KEYS", "ModbusLink"]
