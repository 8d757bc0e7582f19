"""Physically meaningful limits of every value a host can set, in one place.

The simulated press (:mod:`presshil.sim.press`), the virtual press's wire rules
(:mod:`presshil.device.virtual`) and the protocol file's fields
(:mod:`presshil.protocol`) all check against these bounds, so a value the protocol file
accepts is one the press accepts, and a value no real press could hold (a die of
1e-40 mm², a ramp of 1e30 MPa/s) is refused at the edge instead of overflowing a
32-bit float register later. The bounds are wide: they exclude nonsense, not unusual labs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """A closed (or left-open) interval for one named value."""

    name: str
    unit: str
    low: float
    high: float
    #: ``low`` itself is excluded (``> low`` instead of ``>= low``)
    low_open: bool = False

    def problem(self, value: object) -> str | None:
        """Why ``value`` is refused, or None when it is within the bound."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{self.name} must be a number of {self.unit}, got {value!r}"
        if not math.isfinite(value):
            return f"{self.name} {value} is not a finite number"
        low_ok = value > self.low if self.low_open else value >= self.low
        if not (low_ok and value <= self.high):
            left = "(" if self.low_open else "["
            return (
                f"{self.name} {value:g} {self.unit} outside {left}{self.low:g}, "
                f"{self.high:g}] {self.unit}"
            )
        return None


#: die area: 0.5 mm² (a 0.8 mm die) to 50 000 mm² (a 252 mm die)
DIE_AREA_MM2 = Bound("die area", "mm²", 0.5, 50_000.0)
#: die diameter, the same range as :data:`DIE_AREA_MM2`
DIE_DIAMETER_MM = Bound("die diameter", "mm", 0.8, 252.0)
#: pressure setpoints and soft limits; the press's rated maximum is checked on top
PRESSURE_MPA = Bound("pressure", "MPa", 0.0, 10_000.0)
#: ramp rates: 1 kPa/s (slower never finishes in a lab's lifetime) to 10 GPa/s (the
#: press's own rate limit clamps fast ramps)
RAMP_RATE_MPA_S = Bound("ramp rate", "MPa/s", 1e-3, 10_000.0)
#: watchdog timeout (0 = off), one 16-bit register
WATCHDOG_MS = Bound("watchdog timeout", "ms", 0, 65_535)
#: sampling rates of a protocol: one sample per 10 s to 1 kHz
SAMPLING_RATE_HZ = Bound("sampling rate", "Hz", 0.1, 1_000.0)
#: the longest single step or hold: one year
DURATION_S = Bound("duration", "s", 0.0, 366 * 86_400.0, low_open=True)
#: the most repetitions of one repeat block
REPEAT_COUNT = Bound("repeat count", "", 1, 100_000)


__all__ = [
    "DIE_AREA_MM2",
    "DIE_DIAMETER_MM",
    "DURATION_S",
    "PRESSURE_MPA",
    "RAMP_RATE_MPA_S",
    "REPEAT_COUNT",
    "SAMPLING_RATE_HZ",
    "WATCHDOG_MS",
    "Bound",
]
