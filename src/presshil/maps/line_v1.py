"""The ASCII serial line protocol v1: message formats both ends share.

ASCII, LF-terminated (a CR before the LF is ignored), one reply per command: ``OK``,
``ERR <code> <text>`` or data. Commands are case-insensitive. See
``docs/serial-protocol.md`` for the full description, including the extensions
``RATED?``, ``FAULT?`` and ``POS?``.
"""

from __future__ import annotations

import re

from ..press import Identity, Sample
from .press_v1 import (
    BY_NAME,
    COMMAND_REGULATE,
    COMMAND_RELEASE,
    COMMAND_RESET,
    COMMAND_STOP,
    RegType,
)

OK = "OK"
#: setter keyword -> the map v1 register it sets (the line protocol speaks map v1's values)
SETTER_REGISTERS = {
    "SETP": "setpoint",
    "RATE": "ramp_rate",
    "LIM": "soft_max_pressure",
    "AREA": "die_area",
    "WDOG": "watchdog_timeout",
    "HOSTLOSS": "on_host_loss",
}
#: commands that set a value: keyword -> (register-map parameter name, argument type), the
#: type from the register's in map v1's table
SETTERS: dict[str, tuple[str, type]] = {
    kw: (name, float if BY_NAME[name].type is RegType.F32 else int)
    for kw, name in SETTER_REGISTERS.items()
}
#: commands that act: keyword -> register-map command number
ACTIONS = {
    "REG": COMMAND_REGULATE,
    "REL": COMMAND_RELEASE,
    "STOP": COMMAND_STOP,
    "RST": COMMAND_RESET,
}
QUERIES = ("*IDN?", "MEAS?", "RATED?", "FAULT?", "POS?")
MAX_LINE = 256

_ERR = re.compile(r"^ERR\s+(\d+)\s*(.*)$")


def _num(x: float) -> str:
    return format(x, ".7g")


def format_meas(sample: Sample) -> str:
    """``MEAS?`` reply: ``<counter> <t_ms> <status_hex> <p> <f> <pos> <sp> <ch1>,<ch2>,…``."""
    channels = ",".join(_num(c) for c in sample.channels_kn)
    return (
        f"{sample.counter} {round(sample.t_s * 1000)} {sample.status:04X} {_num(sample.pressure_mpa)} "
        f"{_num(sample.force_kn)} {_num(sample.position_mm)} {_num(sample.setpoint_mpa)} {channels}"
    )


def parse_meas(text: str, fault_code: int = 0) -> Sample:
    """A :class:`Sample` from a ``MEAS?`` reply; ``ValueError`` if it is not one."""
    parts = text.split()
    if len(parts) != 8:
        raise ValueError(f"MEAS? reply has {len(parts)} fields, expected 8")
    counter, t_ms = int(parts[0]), int(parts[1])
    status = int(parts[2], 16)
    p, f, pos, sp = (float(x) for x in parts[3:7])
    channels = tuple(float(c) for c in parts[7].split(","))
    if counter < 0 or t_ms < 0 or not 0 <= status <= 0xFFFF:
        raise ValueError("MEAS? reply out of range")
    return Sample(t_ms / 1000.0, counter, status, fault_code, sp, p, f, pos, channels)


def format_idn(identity: Identity) -> str:
    """``*IDN?`` reply: ``VENDOR,MODEL,SERIAL,FIRMWARE`` (commas inside fields dropped)."""
    fields = (identity.vendor, identity.model, identity.serial or "-", identity.firmware)
    return ",".join(str(x).replace(",", " ").strip() for x in fields)


def parse_idn(text: str) -> tuple[str, str, str, str]:
    """``(vendor, model, serial, firmware)`` from an ``*IDN?`` reply."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4 or not parts[0] or not parts[1]:
        raise ValueError("*IDN? reply is not VENDOR,MODEL,SERIAL,FIRMWARE")
    return parts[0], parts[1], parts[2], parts[3]


def format_rated(identity: Identity) -> str:
    """``RATED?`` reply (extension): ``<rated_mpa> <rated_kn> <channel_count>``."""
    return f"{_num(identity.rated_max_pressure_mpa)} {_num(identity.rated_max_force_kn)} {identity.channel_count}"


def parse_rated(text: str) -> tuple[float, float, int]:
    """``(rated_mpa, rated_kn, channels)`` from a ``RATED?`` reply."""
    parts = text.split()
    if len(parts) != 3:
        raise ValueError("RATED? reply is not '<mpa> <kn> <channels>'")
    return float(parts[0]), float(parts[1]), int(parts[2])


def format_positions(identity: Identity) -> str:
    """``POS?`` reply (extension): ``<x1>,<y1> <x2>,<y2> …`` in mm from the die centre."""
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in identity.channel_positions_mm)


def parse_positions(text: str, channels: int) -> tuple[tuple[float, float], ...]:
    """Load-cell positions from a ``POS?`` reply; ``ValueError`` if it is not one."""
    pairs = text.split()
    if len(pairs) != channels:
        raise ValueError(f"POS? reply has {len(pairs)} positions, expected {channels}")
    out = []
    for pair in pairs:
        x, y = pair.split(",")
        out.append((float(x), float(y)))
    return tuple(out)


def parse_err(text: str) -> tuple[int, str] | None:
    """``(code, text)`` of an ``ERR`` reply, or None if ``text`` is not one."""
    m = _ERR.match(text)
    return (int(m.group(1)), m.group(2)) if m else None


def format_err(code: int, text: str) -> str:
    """An ``ERR`` reply (one line, ASCII)."""
    clean = text.encode("ascii", "replace").decode().replace("\n", " ")
    return f"ERR {code} {clean}"


__all__ = [
    "ACTIONS",
    "MAX_LINE",
    "OK",
    "QUERIES",
    "SETTERS",
    "SETTER_REGISTERS",
    "format_err",
    "format_idn",
    "format_meas",
    "format_positions",
    "format_rated",
    "parse_err",
    "parse_idn",
    "parse_meas",
    "parse_positions",
    "parse_rated",
]
