"""What the cell does under the press: its breathing stroke and its temperature while held, the
pressure swing at a held gap, and its growth from cycle to cycle (a ``repeat``'s criteria,
judged on the ram position at each iteration boundary by :func:`~.criteria.evaluate_cycles`).
"""

from __future__ import annotations

import math

import numpy as np

from ..temperature import temperature_change_c
from .criteria import GAP, HOLD, REPEAT, Measured, Unjudgeable, criterion, window
from .segment import Segment
from .signals import ArrayLike


def dilatometry_range_um(position_mm: ArrayLike) -> float:
    """Largest minus smallest ram position over the samples, in µm (the cell's breathing
    stroke when the gap is held)."""
    x = np.asarray(position_mm, float)
    return float((x.max() - x.min()) * 1000.0)


def growth_per_cycle_um(position_at_cycle_start_mm: ArrayLike) -> float:
    """Least-squares slope of the ram position at the same phase of each cycle against the
    cycle number, in µm per cycle (positive: the stack grows)."""
    x = np.asarray(position_at_cycle_start_mm, float)
    if x.size < 2:
        return math.nan
    k = np.arange(x.size, dtype=float)
    kc = k - k.mean()
    return float(np.dot(kc, x - x.mean()) / np.dot(kc, kc) * 1000.0)
criterion("max_growth_per_cycle_um", "µm", "max", REPEAT,
           "least-squares slope of the ram position at the start of each iteration against the "
           "iteration number (positive: the stack grows)",
           name="growth per cycle", judged_on="cycles", needs="positions")(growth_per_cycle_um)


def irreversible_growth_um(position_at_cycle_start_mm: ArrayLike) -> float:
    """Ram position at the start of the last cycle minus that at the start of the first, µm:
    the growth the cell did not give back."""
    x = np.asarray(position_at_cycle_start_mm, float)
    if x.size < 2:
        return math.nan
    return float((x[-1] - x[0]) * 1000.0)
criterion("max_irreversible_growth_um", "µm", "max", REPEAT,
           "ram position after the last iteration minus that before the first: the growth the "
           "cell did not give back",
           name="irreversible growth", judged_on="cycles", needs="positions")(irreversible_growth_um)


def _positions(seg: Segment, settle_s: float) -> tuple[np.ndarray, np.ndarray]:
    mask = window(seg, settle_s, need=1)
    if seg.position is None or not np.all(np.isfinite(seg.position[mask])):
        raise Unjudgeable("the press reports no ram position")
    return seg.t[mask], seg.position[mask]


def _dilatometry(seg: Segment, settle_s: float, band: float | None) -> Measured:
    t, x = _positions(seg, settle_s)
    i_lo, i_hi = int(np.argmin(x)), int(np.argmax(x))
    return Measured(dilatometry_range_um(x),
                     f"ram from {x[i_lo]:.4f} mm (step time t = {t[i_lo]:g} s) to {x[i_hi]:.4f} mm "
                     f"(step time t = {t[i_hi]:g} s)", float(t[i_hi]))
criterion("max_dilatometry_um", "µm", "max", HOLD | GAP,
           "largest minus smallest ram position (after settle_s): the cell's breathing stroke at "
           "constant pressure; about 0 when the gap is held",
           name="ram stroke (dilatometry)", needs="positions")(_dilatometry)


def _swing(seg: Segment, settle_s: float, band: float | None) -> Measured:
    mask = window(seg, settle_s, need=1)
    p, t = seg.pressure[mask], seg.t[mask]
    i_lo, i_hi = int(np.argmin(p)), int(np.argmax(p))
    return Measured(float(p[i_hi] - p[i_lo]),
                     f"stack pressure from {p[i_lo]:.4g} MPa (step time t = {t[i_lo]:g} s) to "
                     f"{p[i_hi]:.4g} MPa (step time t = {t[i_hi]:g} s) at a held gap",
                     float(t[i_hi]))
criterion("max_pressure_swing_mpa", "MPa", "max", GAP,
           "largest minus smallest stack pressure while the gap is held (after settle_s): the "
           "stress the cell's breathing and creep cause at a fixed gap",
           name="pressure swing at a held gap")(_swing)


def _temperature(seg: Segment, settle_s: float, band: float | None) -> Measured:
    mask = window(seg, settle_s, need=1)
    if seg.temperature is None or not np.any(np.isfinite(seg.temperature[mask])):
        raise Unjudgeable("the press reported no temperature during the hold")
    t, c = seg.t[mask], seg.temperature[mask]
    v, i_lo, i_hi = temperature_change_c(c)
    return Measured(v, f"temperature from {c[i_lo]:.3f} °C (step time t = {t[i_lo]:g} s) to "
                        f"{c[i_hi]:.3f} °C (step time t = {t[i_hi]:g} s)", float(t[i_hi]))
criterion("max_temperature_change_c", "°C", "max", HOLD | GAP,
           "largest minus smallest temperature the press reports over the hold (after "
           "settle_s): how far the room moved while the cell was held",
           name="temperature change over the hold", needs="temperature")(_temperature)


__all__ = ["dilatometry_range_um", "growth_per_cycle_um", "irreversible_growth_um"]
