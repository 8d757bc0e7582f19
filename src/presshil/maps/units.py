"""A small checked table of the units presses report in, and their conversion.

Every signal is converted to presshil's canonical units on reading (pressure MPa, force kN,
length mm, area mm², time s) and back on writing. A unit is known with its dimension, so a
profile that gives a force in bar is refused when it is loaded, not when the press moves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: canonical unit of each dimension
CANONICAL = {
    "pressure": "MPa",
    "force": "kN",
    "length": "mm",
    "area": "mm2",
    "time": "s",
    "count": "",
    "temperature": "degC",
}

#: unit -> (dimension, factor to the canonical unit)
UNITS: dict[str, tuple[str, float]] = {
    "MPa": ("pressure", 1.0),
    "bar": ("pressure", 0.1),
    "mbar": ("pressure", 1e-4),
    "kPa": ("pressure", 1e-3),
    "Pa": ("pressure", 1e-6),
    "psi": ("pressure", 0.006894757293168361),
    "ksi": ("pressure", 6.894757293168361),
    "N": ("force", 1e-3),
    "daN": ("force", 1e-2),
    "kN": ("force", 1.0),
    "kgf": ("force", 0.00980665),
    "tf": ("force", 9.80665),  # metric tonne-force
    "tonf_us": ("force", 8.896443230521),  # short ton-force (2000 lbf)
    "lbf": ("force", 0.0044482216152605),
    "kip": ("force", 4.4482216152605),
    "mm": ("length", 1.0),
    "um": ("length", 1e-3),
    "µm": ("length", 1e-3),
    "cm": ("length", 10.0),
    "m": ("length", 1000.0),
    "in": ("length", 25.4),
    "mm2": ("area", 1.0),
    "mm²": ("area", 1.0),
    "cm2": ("area", 100.0),
    "cm²": ("area", 100.0),
    "in2": ("area", 645.16),
    "in²": ("area", 645.16),
    "s": ("time", 1.0),
    "ms": ("time", 1e-3),
    # a temperature in kelvin or °F needs an offset: give it with the signal's scale/offset
    "degC": ("temperature", 1.0),
    "°C": ("temperature", 1.0),
    "": ("count", 1.0),
}


class UnitError(ValueError):
    """An unknown unit, or a unit of the wrong dimension."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A known unit, optionally per second (``"bar/s"``)."""

    name: str
    dimension: str
    factor: float
    per_second: bool = False

    def to_canonical(self, value: float) -> float:
        """``value`` in this unit, expressed in the canonical unit of its dimension."""
        return value * self.factor

    def from_canonical(self, value: float) -> float:
        """A canonical value expressed in this unit."""
        return value / self.factor


def allowed_units(dimension: str | None = None) -> str:
    """The unit names of ``dimension`` (all of them when None), for error messages."""
    names = [u for u, (d, _) in UNITS.items() if u and (dimension is None or d == dimension)]
    return ", ".join(names)


def parse_unit(name: str, dimension: str | None = None, *, rate: bool = False) -> Unit:
    """The unit ``name``; checks its dimension when given (``rate``: a ``X/s`` unit)."""
    text = name.strip()
    per_second = text.endswith("/s")
    if per_second:
        text = text[:-2].strip()
    if text not in UNITS:
        raise UnitError(f"unknown unit {name!r}; allowed: {allowed_units(dimension)}")
    dim, factor = UNITS[text]
    if dimension is not None and dim != dimension:
        raise UnitError(
            f"unit {name!r} is a {dim} unit, a {dimension} is expected "
            f"({allowed_units(dimension)})"
        )
    if rate != per_second and dimension is not None:
        want = f"a {dimension} unit per second, e.g. 'MPa/s'" if rate else f"a {dimension} unit"
        raise UnitError(f"unit {name!r}: expected {want}")
    return Unit(text, dim, factor, per_second)


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def parse_quantity(text: str | float, dimension: str) -> float:
    """``"250 kN"`` -> 250.0 in the canonical unit of ``dimension`` (a bare number: canonical)."""
    if isinstance(text, bool):
        raise UnitError(f"expected a {dimension} such as '10 {CANONICAL[dimension]}', got {text!r}")
    if isinstance(text, (int, float)):
        return float(text)
    match = _QUANTITY.match(text)
    if not match:
        raise UnitError(f"expected a {dimension} such as '10 {CANONICAL[dimension]}', got {text!r}")
    number, unit = match.groups()
    return parse_unit(unit or CANONICAL[dimension], dimension).to_canonical(float(number))


__all__ = ["CANONICAL", "UNITS", "Unit", "UnitError", "allowed_units", "parse_quantity", "parse_unit"]
