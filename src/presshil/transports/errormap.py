"""The one place where pymodbus, pyserial and socket errors become presshil errors.

Bindings wrap every wire operation in :func:`map_link_errors` (or call
:func:`translate` in a hot path); device refusals (Modbus
exception responses, ``ERR`` replies) go through :func:`modbus_exception` and
:func:`line_error`. Callers above the transports catch presshil's types only:
:class:`~presshil.errors.TransportTimeout` (no answer in time),
:class:`~presshil.errors.TransportError` (link down, bad frame, stale data) and
:class:`~presshil.errors.DeviceFault` (the press answered "no").
"""

from __future__ import annotations

import logging
import struct
import termios
from collections.abc import Iterator
from contextlib import contextmanager

import serial
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from ..errors import DeviceFault, PressError, TransportError, TransportTimeout
from ..maps.line_v1 import ERR_MEANINGS

# pymodbus logs connection failures at ERROR through the "pymodbus" logger; without a
# handler Python's last-resort handler would print them on stderr for every refused
# connect. presshil raises instead; applications can still attach their own handler.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())

#: Modbus exception codes -> what they mean for a press speaking map v1
MODBUS_EXCEPTIONS = {
    1: "illegal function (not supported by the device)",
    2: "illegal data address",
    3: "value out of range",
    4: "device failure (the press refused the command in its current state)",
    5: "acknowledge (busy with a long operation)",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}

#: Modbus exception codes that mean "busy, ask again", not "refused": 05 acknowledge (a long
#: operation under way; the data is not there yet), 06 device busy, 0A gateway path
#: unavailable, 0B gateway target did not respond. They are transport errors the sampler
#: retries within its budget; every other exception code is the device's "no".
MODBUS_BUSY = frozenset({5, 6, 10, 11})

#: ``ERR <code>`` of the line protocol, same numbering as the Modbus exceptions
LINE_ERRORS = ERR_MEANINGS


class StaleDataError(TransportError):
    """The press answers, but its sample counter has stopped advancing."""


class DeviceBusy(TransportError):
    """The device (or a gateway before it) answered "busy, ask again" (:data:`MODBUS_BUSY`)."""

    def __init__(self, message: str, *, code: int) -> None:
        self.code = code
        super().__init__(message)


class CorruptReply(TransportError):
    """Bytes arrived but no well-formed reply could be found in them (bad CRC, garbage)."""


def translate(exc: BaseException, where: str, timeout_s: float) -> PressError | None:
    """The presshil error for library error ``exc`` at ``where`` (None: not ours to map).

    ``where`` says which press and which operation (``"modbus+tcp://h:p: read state
    (FC04 input 0..21)"``); ``timeout_s`` is quoted in timeout messages.
    """
    if isinstance(exc, PressError):
        return exc
    if isinstance(exc, ModbusIOException):
        # pymodbus reports "no response" and "undecodable frame" with one class
        text = getattr(exc, "string", str(exc))
        if "No response" in text:
            return TransportTimeout(f"{where}: no reply within {timeout_s:g} s")
        return TransportError(f"{where}: bad reply ({text})")
    if isinstance(exc, ConnectionException):
        return TransportError(f"{where}: connection failed or lost ({exc.string})")
    if isinstance(exc, ModbusException):
        return TransportError(f"{where}: {exc}")
    if isinstance(exc, (TimeoutError, serial.SerialTimeoutException)):
        return TransportTimeout(f"{where}: no reply within {timeout_s:g} s")
    if isinstance(exc, (serial.SerialException, termios.error)):
        return TransportError(f"{where}: serial port error ({exc})")
    if isinstance(exc, OSError):
        return TransportError(f"{where}: {exc.strerror or exc}")
    if isinstance(exc, (struct.error, IndexError, UnicodeDecodeError)):
        return CorruptReply(f"{where}: malformed reply ({exc})")
    return None


@contextmanager
def map_link_errors(where: str, timeout_s: float) -> Iterator[None]:
    """Raise :func:`translate`'s presshil error for any library error inside the block."""
    try:
        yield
    except Exception as exc:
        mapped = translate(exc, where, timeout_s)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc


def modbus_exception(where: str, code: int) -> DeviceFault | DeviceBusy:
    """The error for Modbus exception ``code`` received at ``where``: :class:`DeviceBusy`
    (retried) for the codes of :data:`MODBUS_BUSY`, else :class:`DeviceFault` (never retried)."""
    meaning = MODBUS_EXCEPTIONS.get(code, "unknown exception code")
    if code in MODBUS_BUSY:
        return DeviceBusy(f"{where}: exception {code:02d}: {meaning}; asked again within the retry budget", code=code)
    return DeviceFault(f"{where}: exception {code:02d}: {meaning}", code=code)


def line_error(where: str, code: int, text: str) -> DeviceFault:
    """The :class:`DeviceFault` for an ``ERR <code> <text>`` reply received at ``where``."""
    meaning = LINE_ERRORS.get(code, "error")
    return DeviceFault(f"{where}: ERR {code} ({meaning}): {text}", code=code)


__all__ = [
    "LINE_ERRORS",
    "MODBUS_BUSY",
    "MODBUS_EXCEPTIONS",
    "CorruptReply",
    "DeviceBusy",
    "StaleDataError",
    "line_error",
    "map_link_errors",
    "modbus_exception",
    "translate",
]
