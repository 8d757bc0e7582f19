"""Modbus register map v1 as ONE declarative table.

Everything else is generated from :data:`REGISTERS`: the client's decoding of the state
block, the payloads it writes, the server's register layout and its write validation, and
``docs/register-map.md`` (see :mod:`presshil.maps.press_v1_doc`).

Conventions (pinned; docs/register-map.md): device id 1; 0-based protocol addresses; ``f32`` and
``u32`` take two registers, big-endian, high word first. The wire types and the layout and
codec steps are :mod:`presshil.maps.regtable`'s, shared with the plant map.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Iterator, Mapping, Sequence

from ..press import Sample
from .regtable import (
    MAX_CHANNELS,
    Codec,
    Register,
    RegisterAddressError,
    RegType,
    Space,
    codecs,
    coerce,
    cover,
    merge_ranges,
)

MAP_VERSION = 1
DEVICE_ID = 1
#: extension: holding registers STATE_MIRROR_BASE + a mirror input register a, so that one
#: FC23 read/write-multiple can write a command and read the whole state back
STATE_MIRROR_BASE = 256
#: extension: input registers of the load-cell positions, N × (x, y) f32 in mm
CHANNEL_POSITION_BASE = 110
#: extension: the control lease's holding register and input block (see docs/register-map.md)
LEASE_TOKEN_ADDRESS = 12
LEASE_BASE = 150
#: values of the ``*_link`` lease registers (as :class:`presshil.serving.master.Link`)
LEASE_LINKS = {
    0: "none",
    1: "modbus tcp",
    2: "modbus tls",
    3: "modbus rtu",
    4: "serial line",
    5: "in-process",
    6: "opc ua",
}


_I, _H = Space.INPUT, Space.HOLDING
U16, U32, F32 = RegType.U16, RegType.U32, RegType.F32

REGISTERS: tuple[Register, ...] = (
    Register(
        "status",
        _I,
        0,
        U16,
        "R",
        "bits",
        "status bits: 0 READY, 1 REGULATING, 2 AT_SETPOINT, "
        "3 RAMPING, 4 RELEASED, 8 FAULT, 9 ESTOP, 10 WATCHDOG_TRIPPED, 11 OVERPRESSURE",
    ),
    Register("fault_code", _I, 1, U16, "R", "", "fault code (0 none; see presshil.FaultCode)"),
    Register(
        "counter", _I, 2, U32, "R", "samples", "sample counter (advances every firmware sample)"
    ),
    Register("device_time", _I, 4, U32, "R", "ms", "device time (wraps at 2^32 ms)"),
    Register("pressure", _I, 6, F32, "R", "MPa", "pressure (total force / die area)"),
    Register("force", _I, 8, F32, "R", "kN", "total force"),
    Register("position", _I, 10, F32, "R", "mm", "ram position"),
    Register("setpoint_active", _I, 12, F32, "R", "MPa", "active (ramped) setpoint"),
    Register("channel_count", _I, 14, U16, "R", "", "channel count N (1..8)"),
    Register(
        "reserved_15",
        _I,
        15,
        U16,
        "R",
        "",
        "reserved, reads 0 (keeps 0..15+2N one read)",
        extension=True,
    ),
    Register(
        "channel_force",
        _I,
        16,
        F32,
        "R",
        "kN",
        "channel force, N × f32 (registers 16..15+2N)",
        per_channel=1,
    ),
    Register("rated_max_pressure", _I, 100, F32, "R", "MPa", "rated max pressure"),
    Register("rated_max_force", _I, 102, F32, "R", "kN", "rated max force"),
    Register("map_version", _I, 104, U16, "R", "", "register map version (1)"),
    Register(
        "capabilities",
        _I,
        105,
        U16,
        "R",
        "",
        "what the press can do beyond the contract, one bit each: bit 0 hold a constant gap "
        "(command 5); a device without this register can do none of it",
        extension=True,
    ),
    Register(
        "channel_position",
        _I,
        CHANNEL_POSITION_BASE,
        F32,
        "R",
        "mm",
        "load-cell position relative to the die centre, N × (x, y) (registers 110..109+4N); "
        "NaN when unknown",
        per_channel=2,
        extension=True,
    ),
    Register(
        "command",
        _H,
        0,
        U16,
        "RW",
        "",
        "command: 0 none, 1 REGULATE (go to setpoint at ramp "
        "rate and hold), 2 RELEASE, 3 STOP (safe state now), 4 RESET_FAULT, 5 HOLD_GAP (ext: "
        "hold the ram at its present position, the pressure then follows the cell; REGULATE or "
        "RELEASE leaves it; exception 03 on a press without bit 0 of input 105); executed after "
        "the other registers of the same write; reads back the last accepted command",
    ),
    Register(
        "heartbeat",
        _H,
        1,
        U16,
        "RW",
        "",
        "heartbeat: the host writes a new value (increments) to feed the watchdog",
    ),
    Register(
        "setpoint",
        _H,
        2,
        F32,
        "RW",
        "MPa",
        "setpoint for the next REGULATE, 0 ≤ value ≤ soft max ≤ rated",
    ),
    Register(
        "ramp_rate",
        _H,
        4,
        F32,
        "RW",
        "MPa/s",
        "ramp rate of REGULATE and RELEASE, > 0 (1 MPa/s until written)",
    ),
    Register(
        "soft_max_pressure",
        _H,
        6,
        F32,
        "RW",
        "MPa",
        "soft max pressure, 0 < value ≤ rated (rated until written)",
    ),
    Register("watchdog_timeout", _H, 8, U16, "RW", "ms", "watchdog timeout (0 = off)"),
    Register(
        "reserved_9",
        _H,
        9,
        U16,
        "RW",
        "",
        "reserved, reads 0, only 0 may be written (keeps 0..11 one write)",
        extension=True,
    ),
    Register("die_area", _H, 10, F32, "RW", "mm²", "die area, > 0"),
    Register(
        "lease_token",
        _H,
        LEASE_TOKEN_ADDRESS,
        U16,
        "RW",
        "",
        "control lease: write a non-zero session token to claim, 0 to release; reads 0",
        extension=True,
    ),
    Register(
        "on_host_loss",
        _H,
        13,
        U16,
        "RW",
        "",
        "when the watchdog expires: 0 release (trip to the safe state), 1 hold the setpoint",
        extension=True,
    ),
    *(
        Register(name, _I, address, typ, "R", unit, doc, extension=True)
        for name, address, typ, unit, doc in (
            ("lease_holder_link", 150, U16, "", "link of the lease holder (0 = lease free)"),
            ("lease_holder_ipv4", 151, U32, "", "IPv4 address of the lease holder (0 if none)"),
            ("lease_holder_port", 153, U16, "", "TCP port of the lease holder"),
            ("last_stop_link", 154, U16, "", "link of the master that last sent STOP"),
            ("last_stop_ipv4", 155, U32, "", "IPv4 address of that master"),
            ("last_stop_port", 157, U16, "", "TCP port of that master"),
            ("config_generation", 158, U16, "", "accepted changes of setpoint/limits (wraps)"),
            ("lease_refusals", 159, U16, "", "writes refused for the lease (wraps)"),
            ("host_lost", 160, U16, "", "1 while holding because the host was lost"),
            ("host_losses", 161, U16, "", "times the host was lost since start (wraps)"),
        )
    ),
    Register(
        "state_mirror",
        _H,
        STATE_MIRROR_BASE,
        U16,
        "R",
        "",
        "read-only mirror of input "
        "registers 0..15+2N at 256..271+2N, for one FC23 command-and-read round trip",
        extension=True,
    ),
)

COMMAND_NONE, COMMAND_REGULATE, COMMAND_RELEASE, COMMAND_STOP, COMMAND_RESET, COMMAND_HOLD_GAP = (
    range(6)
)
COMMAND_NAMES = {0: "none", 1: "REGULATE", 2: "RELEASE", 3: "STOP", 4: "RESET_FAULT", 5: "HOLD_GAP"}
#: a device profile's command names for map v1's commands (what a profile's REGULATE … write
#: means on map v1; the ``presshil-v1`` profile and the profile emulations use it)
PROFILE_COMMANDS = {
    "regulate": COMMAND_REGULATE,
    "release": COMMAND_RELEASE,
    "stop": COMMAND_STOP,
    "reset": COMMAND_RESET,
    "hold_gap": COMMAND_HOLD_GAP,
}
#: bits of input register 105 (``capabilities``)
CAPABILITY_CONSTANT_GAP = 1 << 0

BY_NAME: Mapping[str, Register] = {r.name: r for r in REGISTERS}


def state_count(channels: int) -> int:
    """Number of input registers in the state block 0..15+2N."""
    return 16 + 2 * channels


def fields(space: Space, channels: int) -> Iterator[tuple[int, Register, int]]:
    """``(address, register, index)`` of every value in ``space`` for ``channels`` channels.

    ``index`` is the element index of array fields (0 for scalars). The state mirror is
    not listed: it is the input state block seen at another address.
    """
    for reg in REGISTERS:
        if reg.space is not space or reg.name == "state_mirror":
            continue
        for i in range(reg.values(channels)):
            yield reg.address + i * reg.type.width, reg, i


def defined_ranges(space: Space, channels: int) -> list[tuple[int, int]]:
    """Contiguous ``(first, last)`` address ranges that exist in ``space``."""
    ranges = merge_ranges(fields(space, channels))
    if space is Space.HOLDING:
        ranges.append((STATE_MIRROR_BASE, STATE_MIRROR_BASE + state_count(channels) - 1))
    return ranges


def encode(
    space: Space, start: int, values: Mapping[str, float | int], channels: int = 1
) -> list[int]:
    """Registers from ``start`` on holding the named scalar ``values`` (contiguous, whole fields)."""
    regs, codec = _encode_plan(space, start, tuple(sorted(values)), channels)
    packed = codec[0].pack(*(coerce(r.type, values[r.name]) for r in regs))
    return list(codec[1].unpack(packed))


def decode(
    space: Space, start: int, regs: Sequence[int], channels: int = 1
) -> dict[str, float | int]:
    """Named scalar values in ``regs`` written at ``start``; every field must be covered whole."""
    fields_, (values, words) = _decode_plan(space, start, len(regs), channels)
    return dict(zip((r.name for r in fields_), values.unpack(words.pack(*regs)), strict=False))


def _codec(regs: tuple[Register, ...]) -> Codec:
    """(values struct, registers struct) for ``regs`` in address order."""
    return codecs(r.type for r in regs)


@functools.lru_cache(maxsize=256)
def _decode_plan(
    space: Space, start: int, count: int, channels: int
) -> tuple[tuple[Register, ...], Codec]:
    slots = cover(fields(space, channels), space, start, count, "register map v1")
    regs = tuple(reg for _, reg, _ in slots)
    return regs, _codec(regs)


@functools.lru_cache(maxsize=256)
def _encode_plan(
    space: Space, start: int, names: tuple[str, ...], channels: int
) -> tuple[tuple[Register, ...], Codec]:
    regs: list[Register] = []
    addr = start
    for faddr, reg, _ in fields(space, channels):
        if faddr < start or reg.name not in names:
            continue
        if faddr != addr:
            break
        regs.append(reg)
        addr += reg.type.width
    missing = set(names) - {r.name for r in regs}
    if missing:
        raise RegisterAddressError(
            space, start, f"fields {sorted(missing)} are not contiguous from here"
        )
    return tuple(regs), _codec(tuple(regs))


def encode_positions(positions: Sequence[tuple[float, float]], channels: int) -> list[int]:
    """Input registers 110..109+4N for load-cell ``positions`` (NaN when not known)."""
    flat = [c for xy in positions for c in xy] if len(positions) == channels else []
    flat = flat or [math.nan] * (2 * channels)
    return list(struct.unpack(f">{4 * channels}H", struct.pack(f">{2 * channels}f", *flat)))


def decode_positions(regs: Sequence[int], channels: int) -> tuple[tuple[float, float], ...]:
    """Load-cell positions from input registers 110..109+4N; () when the device does not know."""
    flat = struct.unpack(f">{2 * channels}f", struct.pack(f">{4 * channels}H", *regs))
    if not all(math.isfinite(c) for c in flat):
        return ()
    return tuple((flat[2 * i], flat[2 * i + 1]) for i in range(channels))


class StateCodec:
    """Packs and unpacks the state block (input registers 0..15+2N) for N channels.

    The struct format is generated from the table, so client and server cannot disagree.
    """

    def __init__(self, channels: int) -> None:
        if not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"channel count must be 1..{MAX_CHANNELS}, got {channels}")
        self.channels = channels
        self.count = state_count(channels)
        codes = "".join(r.type.code for a, r, _ in fields(Space.INPUT, channels) if a < self.count)
        self._struct = struct.Struct(">" + codes)
        self._regs = struct.Struct(">" + "H" * self.count)

    def decode(self, regs: Sequence[int]) -> Sample:
        """A :class:`Sample` from the ``count`` registers read at address 0."""
        v = self._struct.unpack(self._regs.pack(*regs))
        return Sample(
            t_s=v[3] / 1000.0,
            counter=v[2],
            status=v[0],
            fault_code=v[1],
            setpoint_mpa=v[7],
            pressure_mpa=v[4],
            force_kn=v[5],
            position_mm=v[6],
            channels_kn=tuple(v[10 : 10 + self.channels]),
        )

    def encode(self, sample: Sample) -> list[int]:
        """The ``count`` registers that describe ``sample``."""
        ch = tuple(sample.channels_kn)[: self.channels]
        ch = ch + (0.0,) * (self.channels - len(ch))
        payload = self._struct.pack(
            int(sample.status) & 0xFFFF,
            int(sample.fault_code) & 0xFFFF,
            int(sample.counter) & 0xFFFFFFFF,
            round(sample.t_s * 1000.0) & 0xFFFFFFFF,
            sample.pressure_mpa,
            sample.force_kn,
            sample.position_mm,
            sample.setpoint_mpa,
            self.channels,
            0,
            *ch,
        )
        return list(self._regs.unpack(payload))


__all__ = [
    "BY_NAME",
    "CHANNEL_POSITION_BASE",
    "CAPABILITY_CONSTANT_GAP",
    "COMMAND_HOLD_GAP",
    "COMMAND_NAMES",
    "COMMAND_NONE",
    "COMMAND_REGULATE",
    "COMMAND_RELEASE",
    "COMMAND_RESET",
    "COMMAND_STOP",
    "DEVICE_ID",
    "MAP_VERSION",
    "MAX_CHANNELS",
    "PROFILE_COMMANDS",
    "REGISTERS",
    "STATE_MIRROR_BASE",
    "RegType",
    "Register",
    "RegisterAddressError",
    "Space",
    "StateCodec",
    "decode",
    "decode_positions",
    "defined_ranges",
    "encode",
    "encode_positions",
    "fields",
    "state_count",
]
