"""Temperature: the change over a hold, and load-cell temperature compensation.

A strain-gauge load cell's span moves with its temperature: a cell with a span coefficient
``α`` (% of reading per °C), calibrated at ``T_cal``, reads

    reading = true · (1 + α/100 · (T − T_cal))

so a cell of α = 0.02 %/°C in a room 2.5 °C warmer than at calibration reads 0.05 % high
(100 MPa reads 100.05 MPa). :func:`compensate` divides that factor out again. Both the
simulated press (its load cells drift with the room) and a profile-driven press (a profile
that declares a coefficient) use the same two functions, so the host does the same thing
whichever press it drives.

:func:`temperature_change_c` is the metric of the ``max_temperature_change_c`` expect key:
largest minus smallest temperature over a hold, after ``settle_s``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: calibration temperature of the load cells when nothing else is said (a lab at 20 °C)
DEFAULT_CALIBRATION_C = 20.0


def span_factor(temperature_c: float, coefficient_pct_per_c: float,
                calibration_c: float = DEFAULT_CALIBRATION_C) -> float:
    """``1 + α/100 · (T − T_cal)``: what a cell's reading is multiplied by at ``T``."""
    return 1.0 + coefficient_pct_per_c / 100.0 * (temperature_c - calibration_c)


def compensate(reading: float, temperature_c: float, coefficient_pct_per_c: float,
               calibration_c: float = DEFAULT_CALIBRATION_C) -> float:
    """The reading with the cell's span error at ``temperature_c`` divided out."""
    return reading / span_factor(temperature_c, coefficient_pct_per_c, calibration_c)


def compensate_all(values: Sequence[float], temperature_c: float, coefficient_pct_per_c: float,
                   calibration_c: float = DEFAULT_CALIBRATION_C) -> tuple[float, ...]:
    """:func:`compensate` on each of ``values`` (the channels of one sample)."""
    k = span_factor(temperature_c, coefficient_pct_per_c, calibration_c)
    return tuple(v / k for v in values)


#: the signals a load cell gives (a ``pressure`` made from them follows them)
LOAD_CELL_SIGNALS = ("force", "channel_force")


def compensated(values: Mapping[str, Any], temperature_c: float,
                cfg: Any | None) -> dict[str, Any]:
    """A profile press's canonical signal values with the load-cell signals compensated at
    ``temperature_c`` by ``cfg`` (a profile's ``[temperature]``: ``load_cell_coefficient_pct_per_c``,
    ``calibration_c``); unchanged when ``cfg`` is None."""
    out = dict(values)
    if cfg is None:
        return out
    alpha, cal = cfg.load_cell_coefficient_pct_per_c, cfg.calibration_c
    for name in LOAD_CELL_SIGNALS:
        v = out.get(name)
        if isinstance(v, tuple):
            out[name] = compensate_all(v, temperature_c, alpha, cal)
        elif v is not None:
            out[name] = compensate(float(v), temperature_c, alpha, cal)
    return out


def aligned_temperatures(temps: Sequence[float], n: int) -> np.ndarray:
    """A step's temperatures aligned with its ``n`` rows: rows carried over from before a
    resume have none (NaN at the front)."""
    kept = np.asarray(temps[len(temps) - n:] if n else [], float)
    return np.concatenate([np.full(n - kept.size, math.nan), kept])


def temperature_change_c(temperature_c: np.ndarray) -> tuple[float, int, int]:
    """Largest minus smallest finite temperature, and the indices of the min and the max.

    NaN when no sample carries a temperature (the caller says "not judged").
    """
    t = np.asarray(temperature_c, float)
    finite = np.isfinite(t)
    if not finite.any():
        return math.nan, -1, -1
    masked_lo = np.where(finite, t, np.inf)
    masked_hi = np.where(finite, t, -np.inf)
    i_lo, i_hi = int(np.argmin(masked_lo)), int(np.argmax(masked_hi))
    return float(t[i_hi] - t[i_lo]), i_lo, i_hi


__all__ = [
    "DEFAULT_CALIBRATION_C",
    "LOAD_CELL_SIGNALS",
    "aligned_temperatures",
    "compensated",
    "compensate",
    "compensate_all",
    "span_factor",
    "temperature_change_c",
]
