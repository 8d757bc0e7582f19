"""The virtual press's rules for every writable value, in one place for every wire.

A refused request raises :class:`Refused` with the Modbus exception code (the line
protocol's ``ERR`` code is the same number). The physical bounds are :mod:`presshil.bounds`',
shared with the simulated press and the protocol files; the soft max and the rated pressure
are checked on top.
"""

from __future__ import annotations

import math

from ..bounds import DIE_AREA_MM2, PRESSURE_MPA, RAMP_RATE_MPA_S, WATCHDOG_MS
from ..maps.press_v1 import COMMAND_NAMES
from .host_loss import POLICIES

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE, DEVICE_FAILURE = 1, 2, 3, 4
_FLOATS = ("setpoint", "ramp_rate", "soft_max_pressure", "die_area")
#: the physical bounds of each writable value (the rated maximum is checked on top)
_BOUNDS = {
    "setpoint": PRESSURE_MPA,
    "soft_max_pressure": PRESSURE_MPA,
    "ramp_rate": RAMP_RATE_MPA_S,
    "die_area": DIE_AREA_MM2,
    "watchdog_timeout": WATCHDOG_MS,
}


class Refused(Exception):
    """A request the device refuses; ``code`` is the Modbus exception code (1 to 4)."""

    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(f"exception {code:02d}: {text}")


def check_value(name: str, value: float, soft_max: float, rated: float) -> None:
    """Raise :class:`Refused` (code 03) if ``value`` may not be written to ``name``."""
    if name in _FLOATS and not math.isfinite(value):
        raise Refused(ILLEGAL_VALUE, f"{name} {value} is not a finite number")
    bound = _BOUNDS.get(name)
    if bound is not None and (why := bound.problem(value)):
        raise Refused(ILLEGAL_VALUE, why)
    if name == "command" and value not in COMMAND_NAMES:
        raise Refused(ILLEGAL_VALUE, f"command {value} unknown (0..4)")
    if name == "setpoint" and not 0.0 <= value <= min(soft_max, rated):
        raise Refused(
            ILLEGAL_VALUE,
            f"setpoint {value:g} MPa outside 0..{min(soft_max, rated):g} MPa "
            f"(soft max {soft_max:g}, rated {rated:g})",
        )
    if name == "ramp_rate" and not value > 0:
        raise Refused(ILLEGAL_VALUE, f"ramp rate {value:g} MPa/s must be > 0")
    if name == "soft_max_pressure" and not 0.0 < value <= rated:
        raise Refused(
            ILLEGAL_VALUE, f"soft max {value:g} MPa outside (0, {rated:g}] MPa (rated)"
        )
    if name == "die_area" and not value > 0:
        raise Refused(ILLEGAL_VALUE, f"die area {value:g} mm² must be > 0")
    if name in ("watchdog_timeout", "heartbeat") and not 0 <= value <= 0xFFFF:
        raise Refused(ILLEGAL_VALUE, f"{name} {value} outside 0..65535")
    if name == "on_host_loss" and value not in POLICIES:
        raise Refused(ILLEGAL_VALUE, f"on_host_loss {value} unknown (0 release, 1 hold)")
    if name == "lease_token" and not 0 <= value <= 0xFFFF:
        raise Refused(ILLEGAL_VALUE, f"lease token {value} outside 0..65535")
    if name == "reserved_9" and value != 0:
        raise Refused(ILLEGAL_VALUE, "holding register 9 is reserved: only 0 may be written")


__all__ = [
    "DEVICE_FAILURE",
    "ILLEGAL_ADDRESS",
    "ILLEGAL_FUNCTION",
    "ILLEGAL_VALUE",
    "Refused",
    "check_value",
]
