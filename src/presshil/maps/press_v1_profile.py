"""Map v1 as the ``presshil-v1`` profile, generated from the one table.

``profiles/presshil-v1.toml`` is what every ``modbus+tcp://`` or ``modbus+rtu://`` URL without
``profile=`` is driven through. Its addresses, data types, units, status bits and fault codes
are not written by hand: :func:`render` writes them from :data:`~presshil.maps.press_v1.REGISTERS`
(and the :class:`~presshil.press.Status` and :class:`~presshil.press.FaultCode` the table's
status and fault code registers hold), and a test compares the committed file with it::

    python3 -m presshil.maps.press_v1_profile    # rewrite profiles/presshil-v1.toml

What the profile adds to the table (the device strings a silent device shows, the ratings the
profile states, staleness, the channel count of the shipped copy) is written here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..press import FaultCode, Status
from .press_v1 import (
    BY_NAME,
    COMMAND_HOLD_GAP,
    PROFILE_COMMANDS,
    STATE_MIRROR_BASE,
    Register,
    RegType,
)

#: the channel count of the shipped copy (a device's own count is followed at connect)
CHANNELS = 4
#: where the file lives in a checkout
PATH = Path("profiles") / "presshil-v1.toml"

#: profile signal → map v1 register
SIGNALS = {
    "status": "status",
    "fault_code": "fault_code",
    "counter": "counter",
    "device_time": "device_time",
    "pressure": "pressure",
    "force": "force",
    "position": "position",
    "setpoint": "setpoint_active",
    "channel_force": "channel_force",
}
#: profile command → value written to the ``command`` register
ACTIONS = PROFILE_COMMANDS
#: profile command → map v1 register it writes
SETTERS = {
    "setpoint": "setpoint",
    "rate": "ramp_rate",
    "soft_max": "soft_max_pressure",
    "watchdog": "watchdog_timeout",
    "die_area": "die_area",
}
_DATA_TYPE = {RegType.U16: "uint16", RegType.U32: "uint32", RegType.F32: "float32"}
#: table units that name no physical unit (a profile leaves them out) and how the rest are
#: spelled in a profile
_NO_UNIT = {"", "bits", "samples"}
_UNIT = {"mm²": "mm2"}

_HEADER = """\
# presshil's own register map v1 (docs/register-map.md) written as a profile, for a device
# with four load-cell channels. This is the profile every modbus+tcp:// or modbus+rtu:// URL
# without profile= is driven through (the copy shipped with presshil): that binding also reads
# the ratings, channel count and load-cell positions from the device itself, and follows its
# channel count. With profile=presshil-v1 the values below are taken as they are.
# Generated from presshil.maps.press_v1.REGISTERS by `python3 -m presshil.maps.press_v1_profile`;
# do not edit by hand.
name = "presshil-v1"
description = "presshil register map v1 (4 channels), as served by `presshil serve`"
transport = "modbus"
word_order = "ABCD"
staleness = "counter"
stale_s = 0.5
max_gap = 2
# the device mirrors input 0.. at holding 256..: a control cycle is one FC23 round trip
state_mirror = {mirror}

[device]
vendor = "presshil"
model = "map v1 device"
firmware = "map v1"
# the device names itself (FC43); the strings above are what a silent one shows
identify = "fc43"

[rating]
force = "245.2 kN"
pressure = "500 MPa"
"""


def _typed(reg: Register) -> list[str]:
    lines = [f'data_type = "{_DATA_TYPE[reg.type]}"']
    if reg.unit not in _NO_UNIT:
        lines.append(f'unit = "{_UNIT.get(reg.unit, reg.unit)}"')
    return lines


def _signal(name: str, reg: Register) -> list[str]:
    lines = [f"[signals.{name}]", f'space = "{reg.space.value}"', f"address = {reg.address}"]
    lines += _typed(reg)
    if name == "status":
        bits = ", ".join(f"{s.name} = {s.value.bit_length() - 1}" for s in Status)
        lines.append(f"bits = {{ {bits} }}")
    elif name == "fault_code":
        codes = ", ".join(f'"{f.value}" = "{f.name}"' for f in FaultCode if f)
        lines.append(f"table = {{ {codes} }}")
    if reg.per_channel:
        lines.append(f"count = {reg.per_channel * CHANNELS}")
    return lines


def render() -> str:
    """The text of ``profiles/presshil-v1.toml``."""
    parts = [_HEADER.format(mirror=STATE_MIRROR_BASE)]
    for name, reg_name in SIGNALS.items():
        parts.append("\n".join(_signal(name, BY_NAME[reg_name])) + "\n")
    command = BY_NAME["command"]
    for name, value in ACTIONS.items():
        lines = [f"[commands.{name}]", f"address = {command.address}", f"value = {value}"]
        if value == COMMAND_HOLD_GAP:
            lines.insert(
                0,
                "# extension: hold the ram where it is (input 105 bit 0 says whether the device can)",
            )
        parts.append("\n".join(lines) + "\n")
    for name, reg_name in SETTERS.items():
        reg = BY_NAME[reg_name]
        parts.append(
            "\n".join([f"[commands.{name}]", f"address = {reg.address}", *_typed(reg)]) + "\n"
        )
    heartbeat = BY_NAME["heartbeat"]
    parts.append(f'[heartbeat]\naddress = {heartbeat.address}\nmode = "increment"\n')
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Write the profile into the checkout at ``argv[0]`` (default: the current directory)."""
    root = Path(argv[0]) if argv else Path()
    (root / PATH).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__ = ["ACTIONS", "CHANNELS", "PATH", "SETTERS", "SIGNALS", "main", "render"]
