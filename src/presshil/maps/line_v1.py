"""The ASCII serial line protocol v1: message formats both ends share.

ASCII, LF-terminated (a CR before the LF is ignored), one reply per command: ``OK``,
``ERR <code> <text>`` or data. Commands are case-insensitive. See
``docs/serial-protocol.md`` for the full description, including the extensions
``RATED?``, ``FAULT?`` and ``POS?``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

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
MAX_LINE = 256

# ---- fault codes of ``ERR <code> <text>`` ----------------------------------------------
#: the command is not one the device knows (a device without an extension answers this)
ERR_UNKNOWN = 1
#: the line does not parse: a missing or malformed argument, not ASCII, too long
ERR_MALFORMED = 2
#: a value the device's rules refuse (the code Modbus answers with exception 03)
ERR_RANGE = 3
#: refused in the device's current state, or it lacks what a query asks for
ERR_STATE = 4
#: what each code means (same numbering as the Modbus exceptions)
ERR_MEANINGS = {
    ERR_UNKNOWN: "unknown command",
    ERR_MALFORMED: "malformed argument",
    ERR_RANGE: "value out of range",
    ERR_STATE: "refused in the current state",
}
#: ``LEASE?`` when nobody holds the control lease
LEASE_FREE = "none"
#: how ``LEASE?`` names a master on the serial line (the device's own line)
LEASE_HOLDER_SERIAL = "serial line"


class Kind(Enum):
    """What a line command does."""

    SET = "set"  # ``WORD <value>``: write a map v1 register; reply ``OK``
    ACT = "act"  # ``WORD``: a map v1 command number (or feed the watchdog); reply ``OK``
    QUERY = "query"  # ``WORD``: one data line


@dataclass(frozen=True)
class LineCommand:
    """One command of line v1: its wire spelling, what it does, how its reply reads."""

    #: the host-side name (:meth:`SerialPress.speak` takes it)
    name: str
    #: the command as sent (the device compares case-insensitively)
    word: str
    kind: Kind
    #: SET: the map v1 register it writes (its type gives the argument's)
    register: str | None = None
    #: ACT: the map v1 command number; None for ``HB`` (feeds the watchdog)
    command: int | None = None
    #: QUERY: the reply parsed on the host (``ValueError`` when the line is not one)
    parse: Callable[[str], Any] | None = None
    #: QUERY: the reply formatted by the device from its state (a press with ``identity``,
    #: ``sample()`` and ``lease.holder``); may be an ``ERR`` line
    reply: Callable[[Any], str] | None = None
    #: the step in error messages (``set setpoint (SETP 740)``)
    what: str = ""

    @property
    def arg_type(self) -> type:
        """SET: ``float`` for an f32 register, ``int`` otherwise."""
        assert self.register is not None, self.name
        return float if BY_NAME[self.register].type is RegType.F32 else int

    def line(self, value: float | None = None) -> str:
        """The command line (without terminator) with ``value`` for a setter."""
        if self.kind is Kind.SET:
            if value is None:
                raise ValueError(f"{self.word} needs a value")
            return f"{self.word} {self.arg_type(value)!r}"
        if value is not None:
            raise ValueError(f"{self.word} takes no value")
        return self.word


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


def parse_positions(text: str, channels: int | None = None) -> tuple[tuple[float, float], ...]:
    """Load-cell positions from a ``POS?`` reply (``channels`` of them when given);
    ``ValueError`` if it is not one."""
    pairs = text.split()
    if channels is not None and len(pairs) != channels:
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


def parse_fault(text: str) -> int:
    """The fault code of a ``FAULT?`` reply (a decimal number)."""
    if not text.isdigit():
        raise ValueError("FAULT? reply is not a number")
    return int(text)


def _positions_reply(press: Any) -> str:
    if not press.identity.channel_positions_mm:
        return format_err(ERR_STATE, "load-cell positions are not known")
    return format_positions(press.identity)


def _lease_reply(press: Any) -> str:
    holder = press.lease.holder
    return LEASE_FREE if holder is None else str(holder)


def _set(name: str, word: str, register: str, what: str) -> LineCommand:
    return LineCommand(name, word, Kind.SET, register=register, what=what)


def _act(name: str, word: str, command: int | None, what: str) -> LineCommand:
    return LineCommand(name, word, Kind.ACT, command=command, what=what)


def _query(
    name: str, word: str, parse: Callable[[str], Any], reply: Callable[[Any], str], what: str
) -> LineCommand:
    return LineCommand(name, word, Kind.QUERY, parse=parse, reply=reply, what=what)


#: line v1, the one table: the host (:mod:`presshil.transports.serial_line`) speaks and the
#: device (:mod:`presshil.device.line_server`) serves exactly these commands
COMMANDS: tuple[LineCommand, ...] = (
    _set("setpoint", "SETP", "setpoint", "set setpoint"),
    _set("ramp_rate", "RATE", "ramp_rate", "set ramp rate"),
    _set("soft_max", "LIM", "soft_max_pressure", "configure soft max"),
    _set("die_area", "AREA", "die_area", "configure die area"),
    _set("watchdog", "WDOG", "watchdog_timeout", "configure watchdog"),
    _set("on_host_loss", "HOSTLOSS", "on_host_loss", "set the host-loss policy"),
    _set("lease", "LEASE", "lease_token", "claim the control lease"),
    _act("regulate", "REG", COMMAND_REGULATE, "regulate"),
    _act("release", "REL", COMMAND_RELEASE, "release"),
    _act("stop", "STOP", COMMAND_STOP, "stop"),
    _act("reset", "RST", COMMAND_RESET, "reset fault"),
    _act("heartbeat", "HB", None, "heartbeat"),
    _query("identity", "*IDN?", parse_idn, lambda p: format_idn(p.identity), "identify"),
    _query("measure", "MEAS?", parse_meas, lambda p: format_meas(p.sample()), "read state"),
    _query("rated", "RATED?", parse_rated, lambda p: format_rated(p.identity), "read ratings"),
    _query("fault", "FAULT?", parse_fault, lambda p: str(p.sample().fault_code), "read fault code"),
    _query("positions", "POS?", parse_positions, _positions_reply, "read positions"),
    _query("lease_holder", "LEASE?", str.strip, _lease_reply, "read the lease"),
)


def by_name() -> dict[str, LineCommand]:
    """The table by host-side name (read at call time, so an added command is known)."""
    return {c.name: c for c in COMMANDS}


def by_word() -> dict[str, LineCommand]:
    """The table by wire spelling, upper case."""
    return {c.word.upper(): c for c in COMMANDS}


#: setter keyword -> the map v1 register it sets (the line protocol speaks map v1's values)
SETTER_REGISTERS = {c.word: c.register for c in COMMANDS if c.kind is Kind.SET and c.register}
#: commands that set a value: keyword -> (register-map parameter name, argument type)
SETTERS: dict[str, tuple[str, type]] = {
    c.word: (c.register, c.arg_type) for c in COMMANDS if c.kind is Kind.SET and c.register
}
#: commands that act: keyword -> register-map command number
ACTIONS = {c.word: c.command for c in COMMANDS if c.kind is Kind.ACT and c.command is not None}
QUERIES = tuple(c.word for c in COMMANDS if c.kind is Kind.QUERY)


__all__ = [
    "ACTIONS",
    "COMMANDS",
    "ERR_MALFORMED",
    "ERR_MEANINGS",
    "ERR_RANGE",
    "ERR_STATE",
    "ERR_UNKNOWN",
    "LEASE_FREE",
    "LEASE_HOLDER_SERIAL",
    "Kind",
    "LineCommand",
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
    "by_name",
    "by_word",
    "parse_err",
    "parse_fault",
    "parse_idn",
    "parse_meas",
    "parse_positions",
    "parse_rated",
]
