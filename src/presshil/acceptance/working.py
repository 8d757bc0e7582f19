"""The pressures a press is used at: what its force verification must cover.

By default they are the target pressures of the protocol library (every ``to_mpa`` and
``at_mpa`` of ``protocols/*.toml``: preload, assembly, step, cycling holds); a suite's
``[force_verification].working_pressures_mpa`` or ``presshil accept --working-range`` names
them instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ProtocolError
from ..library import shipped_dir
from ..protocol import load_protocol

_shipped = shipped_dir("protocols")
#: the protocol library shipped with presshil
LIBRARY_DIR = _shipped if _shipped is not None else Path("protocols")


def _targets(steps: Iterable[Any]) -> Iterable[float]:
    for step in steps:
        inner = getattr(step, "steps", None)
        if inner:
            yield from _targets(inner)
        for key in ("to_mpa", "at_mpa"):
            value = getattr(step, key, None)
            if isinstance(value, (int, float)) and value > 0:
                yield float(value)


def library_working_pressures_mpa(directory: Path | None = None) -> list[float]:
    """The distinct positive target pressures of the protocols in ``directory`` (default: the
    library), ascending. Raises :class:`~presshil.errors.ConfigError` if there are none."""
    directory = LIBRARY_DIR if directory is None else Path(directory)
    found: set[float] = set()
    for path in sorted(directory.glob("*.toml")):
        found.update(_targets(load_protocol(path).steps))
    if not found:
        raise ConfigError(f"no protocol in {directory} names a pressure; give the working "
                          "pressures with --working-range or [force_verification]."
                          "working_pressures_mpa")
    return sorted(found)


def parse_working_range(text: str) -> list[float]:
    """``"15,50,74"`` (pressures) or ``"10..74"`` (the two ends), MPa, ascending.

    Raises :class:`~presshil.errors.ProtocolError` naming ``--working-range`` and what is
    allowed.
    """
    def bad(why: str) -> ProtocolError:
        return ProtocolError(f"{why}; expected MPa values 'A,B,C' or a range 'LO..HI', "
                             f"e.g. 10..74, got {text!r}", field="--working-range")

    parts = text.split("..") if ".." in text else text.split(",")
    if ".." in text and len(parts) != 2:
        raise bad("a range has exactly two ends")
    try:
        values = [float(p) for p in parts if p.strip()]
    except ValueError:
        raise bad("not a number") from None
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise bad("pressures must be finite and > 0")
    if ".." in text and values[0] >= values[1]:
        raise bad("LO must be below HI")
    return sorted(set(values))


def check_against_rating(pressures_mpa: list[float], die_area_mm2: float, rating_kn: float,
                         source: str) -> None:
    """A working force above the press's rating is bad input: say which and by how much."""
    top = max(pressures_mpa)
    force = top * die_area_mm2 / 1000.0
    if force > rating_kn * (1 + 1e-9):
        raise ConfigError(
            f"{source}: working pressure {top:g} MPa is {force:.4g} kN on the {die_area_mm2:.4g} "
            f"mm² die, above the press's rating of {rating_kn:.4g} kN "
            f"({rating_kn * 1000.0 / die_area_mm2:.4g} MPa); lower it or use a smaller die")


__all__ = ["LIBRARY_DIR", "check_against_rating", "library_working_pressures_mpa",
           "parse_working_range"]
