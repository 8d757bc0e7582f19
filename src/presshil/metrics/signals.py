"""Pure signal metrics: numpy arrays of one segment in, numbers out.

The definitions are written so that a person can redo them by hand; ``docs/protocols.md``
states each one. Nothing here knows about steps, limits or verdicts: the criteria built on
these functions are in :mod:`.pressure`, :mod:`.spatial` and :mod:`.cell`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ArrayLike = Any  # numpy array or something np.asarray accepts


def default_band_mpa(target_mpa: float) -> float:
    """The hold band docs/domain.md gives: ±1 % of the target or ±0.25 MPa, whichever is larger."""
    return max(0.01 * abs(target_mpa), 0.25)


def max_abs_error(value: ArrayLike, reference: ArrayLike) -> tuple[float, int]:
    """Largest ``|value − reference|`` and the index of the sample where it occurs."""
    err = np.abs(np.asarray(value, float) - np.asarray(reference, float))
    i = int(np.argmax(err))
    return float(err[i]), i


def rms_error(value: ArrayLike, reference: ArrayLike) -> float:
    """Root mean square of ``value − reference`` over the samples (not time-weighted)."""
    err = np.asarray(value, float) - np.asarray(reference, float)
    return float(np.sqrt(np.mean(err**2)))


def in_band_pct(value: ArrayLike, reference: ArrayLike, band: float) -> float:
    """Percentage of samples with ``|value − reference| <= band``."""
    err = np.abs(np.asarray(value, float) - np.asarray(reference, float))
    return float(100.0 * np.count_nonzero(err <= band) / err.size)


def drift_per_min(t_s: ArrayLike, value: ArrayLike) -> float:
    """Least-squares slope of ``value`` against time, per minute (signed)."""
    t = np.asarray(t_s, float)
    v = np.asarray(value, float)
    tc = t - t.mean()
    denom = float(np.dot(tc, tc))
    if denom == 0.0:
        return math.nan
    return 60.0 * float(np.dot(tc, v - v.mean())) / denom


def settling_time_s(
    t_s: ArrayLike, value: ArrayLike, reference: ArrayLike, band: float, t_command_s: float = 0.0
) -> float:
    """Time from the command at ``t_command_s`` until ``value`` enters ``reference ± band`` for
    good.

    The clock starts at the command, not at the first sample after it (which may come up to
    one sample period later). The entry is interpolated linearly between the last sample
    outside the band and the next one. 0 if every sample is inside (the value was in band when
    commanded); ``inf`` if the last sample is outside (never settled).
    """
    t = np.asarray(t_s, float)
    err = np.asarray(value, float) - np.broadcast_to(np.asarray(reference, float), t.shape)
    outside = np.flatnonzero(np.abs(err) > band)
    if outside.size == 0:
        return 0.0
    j = int(outside[-1])
    if j == t.size - 1:
        return math.inf
    edge = band if err[j] > 0 else -band
    frac = (err[j] - edge) / (err[j] - err[j + 1])
    return float(t[j] + frac * (t[j + 1] - t[j]) - t_command_s)


def normalized_response(value: ArrayLike, start: float, target: float) -> np.ndarray:
    """``(value − start) / (target − start)``: 0 at the start, 1 at the target, any direction."""
    return (np.asarray(value, float) - start) / (target - start)


def overshoot_pct(value: ArrayLike, start: float, target: float) -> tuple[float, int]:
    """Largest excursion beyond ``target``, in % of the step ``|target − start|``, and where.

    0 when the response never passes the target (the index is then that of the closest
    approach).
    """
    y = normalized_response(value, start, target)
    i = int(np.argmax(y))
    return max(0.0, float(y[i] - 1.0) * 100.0), i


def _first_crossing_s(t: np.ndarray, y: np.ndarray, level: float) -> float:
    hits = np.flatnonzero(y >= level)
    if hits.size == 0:
        return math.inf
    k = int(hits[0])
    if k == 0:
        return float(t[0])
    return float(t[k - 1] + (level - y[k - 1]) / (y[k] - y[k - 1]) * (t[k] - t[k - 1]))


def rise_time_s(
    t_s: ArrayLike, value: ArrayLike, start: float, target: float, low: float = 0.1, high: float = 0.9
) -> float:
    """Time from the first crossing of 10 % of the step to the first crossing of 90 %.

    Crossings are interpolated linearly between samples; ``inf`` if 90 % is never reached.
    """
    t = np.asarray(t_s, float)
    y = normalized_response(value, start, target)
    t_high = _first_crossing_s(t, y, high)
    return math.inf if math.isinf(t_high) else t_high - _first_crossing_s(t, y, low)


def steady_state_error(
    t_s: ArrayLike, value: ArrayLike, target: float, tail_fraction: float = 0.1
) -> float:
    """``|mean(value) − target|`` over the last ``tail_fraction`` of the segment's duration."""
    t = np.asarray(t_s, float)
    v = np.asarray(value, float)
    tail = t >= t[-1] - tail_fraction * (t[-1] - t[0])
    return float(abs(v[tail].mean() - target))


def iae(t_s: ArrayLike, value: ArrayLike, reference: ArrayLike) -> float:
    """Integral of ``|value − reference|`` over time, trapezoidal rule."""
    t = np.asarray(t_s, float)
    e = np.abs(np.asarray(value, float) - np.broadcast_to(np.asarray(reference, float), t.shape))
    return float(np.sum(0.5 * (e[1:] + e[:-1]) * np.diff(t)))



#: half-width of the moving median that overshoot and largest deviation are judged on
MEDIAN_HALF_WIDTH_S = 0.05


def median_half_width_samples(t_s: ArrayLike, half_width_s: float = MEDIAN_HALF_WIDTH_S) -> int:
    """How many samples each side of a sample lie within ``half_width_s`` at the segment's
    (median) sample period: 2 at 50 Hz, 1 at 20 Hz, 0 below 10 Hz (no smoothing)."""
    t = np.asarray(t_s, float)
    if t.size < 2:
        return 0
    dt = float(np.median(np.diff(t)))
    if not dt > 0:
        return 0
    return int(math.floor(half_width_s / dt + 1e-6))


def moving_median(value: ArrayLike, half: int) -> np.ndarray:
    """Centred moving median over ``2·half + 1`` samples; near the ends the window holds only
    the samples that exist (so the last sample counts once, never ``half + 1`` times).

    A single-sample spike of sensor noise does not survive it; a real excursion that lasts
    longer than ``half`` samples does. A NaN sample makes its windows NaN (never a pass).
    """
    v = np.asarray(value, float)
    if half <= 0 or v.size == 0:
        return v.copy()
    n = v.size
    out = np.empty(n)
    if n > 2 * half:
        windows = np.lib.stride_tricks.sliding_window_view(v, 2 * half + 1)
        out[half:n - half] = np.median(windows, axis=1)
    for k in sorted(set(range(min(half, n))) | set(range(max(n - half, 0), n))):
        out[k] = np.median(v[max(0, k - half):k + half + 1])
    return out



__all__ = [
    "MEDIAN_HALF_WIDTH_S",
    "ArrayLike",
    "default_band_mpa",
    "drift_per_min",
    "iae",
    "in_band_pct",
    "max_abs_error",
    "median_half_width_samples",
    "moving_median",
    "normalized_response",
    "overshoot_pct",
    "rise_time_s",
    "rms_error",
    "settling_time_s",
    "steady_state_error",
]
