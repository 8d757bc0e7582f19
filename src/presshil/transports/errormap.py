"""The one place where pymodbus, pyserial and socket errors become presshil errors.

Bindings wrap every wire operation in :func:`map_link_errors`; device refusals (Modbus
exception responses, ``ERR`` replies) go through :func:`modbus_exception` and
:func:`line_error`. Callers above the transports catch presshil's types only:
:class:`~presshil.errors.TransportTimeout` (no answer in time),
:class:`~presshil.errors.TransportError` (link down, bad frame, stale data) and
:class:`~presshil.errors.DeviceFault` (the press answered "no").
"""

from __future__ import annotations

import logging
import socket
import struct
import termios
from collections.abc import Iterator
from contextlib import contextmanager

import serial
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from ..errors import DeviceFault, PressError, TransportError, TransportTimeout

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

#: ``ERR <code>`` of the line protocol, same numbering as the Modbus exceptions
LINE_ERRORS = {
    1: "unknown command",
    2: "malformed argument",
    3: "value out of range",
    4: "refused in the current state",
}


class StaleDataError(TransportError):
    """The press answers, but its sample counter has stopped advancing."""


class CorruptReply(TransportError):
    """Bytes arrived but no well-formed reply could be found in them (bad CRC, garbage)."""


@contextmanager
def map_link_errors(where: str, timeout_s: float) -> Iterator[None]:
    """Turn any library error raised inside the block into a presshil error naming ``where``.

    ``where`` says which press and which operation (``"modbus+tcp://h:p: read state
    (FC04 input 0..21)"``); ``timeout_s`` is quoted in timeout messages.
    """
    try:
        yield
    except PressError:
        raise
    except ModbusIOException as exc:
        # pymodbus reports "no response" and "undecodable frame" with one class
        text = exc.string if hasattr(exc, "string") else str(exc)
        if "No response" in text:
            raise TransportTimeout(f"{where}: no reply within {timeout_s:g} s") from exc
        raise TransportError(f"{where}: bad reply ({text})") from exc
    except ConnectionException as exc:
        raise TransportError(f"{where}: connection failed or lost ({exc.string})") from exc
    except ModbusException as exc:
        raise TransportError(f"{where}: {exc}") from exc
    except (TimeoutError, socket.timeout, serial.SerialTimeoutException) as exc:
        raise TransportTimeout(f"{where}: no reply within {timeout_s:g} s") from exc
    except (serial.SerialException, termios.error) as exc:
        raise TransportError(f"{where}: serial port error ({exc})") from exc
    except OSError as exc:
        raise TransportError(f"{where}: {exc.strerror or exc}") from exc
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise CorruptReply(f"{where}: malformed reply ({exc})") from exc


def modbus_exception(where: str, code: int) -> DeviceFault:
    """The :class:`DeviceFault` for Modbus exception ``code`` received at ``where``."""
    meaning = MODBUS_EXCEPTIONS.get(code, "unknown exception code")
    return DeviceFault(f"{where}: exception {code:02d}: {meaning}", code=code)


def line_error(where: str, code: int, text: str) -> DeviceFault:
    """The :class:`DeviceFault` for an ``ERR <code> <text>`` reply received at ``where``."""
    meaning = LINE_ERRORS.get(code, "error")
    return DeviceFault(f"{where}: ERR {code} ({meaning}): {text}", code=code)


__all__ = [
    "MODBUS_EXCEPTIONS",
    "LINE_ERRORS",
    "StaleDataError",
    "CorruptReply",
    "map_link_errors",
    "modbus_exception",
    "line_error",
]
