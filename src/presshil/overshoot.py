"""Overshoot judged on its window, against the noise floor of the settled response.

Overshoot is a transient: the excursion past the target after the command has arrived there.
It is measured

* from the moment the active setpoint reaches the target (for a step the press ramps its
  setpoint), or from the moment the pressure itself first passes the target if that comes
  earlier (a press running ahead of its ramp, e.g. a wound-up integrator after a stall);
* until the settling window ends: the step's allowed settling time (its ``settling_time_s``
  limit, from the command; the end of the segment when none is given). Later excursions are
  the hold's business (band, drift), not the controller's overshoot;
* against a noise floor: ``σ`` is the standard deviation of ``p − target`` over the settled
  part (after the settling window, at least 3 samples; else no floor), and only the excursion
  beyond ``target + 3σ`` counts.

The peak is read on a moving average over a fixed time, :data:`AVERAGE_S` (0.1 s), not a
fixed number of samples: the old 5-sample median smoothed 0.25 s at 20 Hz and 25 ms at 200 Hz,
so a 25 ms dip that 200 Hz sampling sees and 20 Hz sampling misses changed the verdict. σ is
that of the raw samples, the same at every rate for white sensor noise, so the floor does not
move with the rate either. Noise alone gives 0; a real overshoot, slow next to 0.1 s, comes
out the same at 20, 50 and 200 Hz (``tests/test_overshoot_rates.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: the noise floor, in standard deviations of the settled response
NOISE_SIGMAS = 3.0
#: the time the pressure is averaged over (centred) before its peak is read, s
AVERAGE_S = 0.1


def moving_average_s(t_s: Any, value: Any, width_s: float = AVERAGE_S) -> np.ndarray:
    """Centred moving average over ``width_s`` of time (samples with |tⱼ − tᵢ| ≤ width/2;
    fewer near the ends): the same smoothing at any sampling rate."""
    t = np.asarray(t_s, float)
    v = np.asarray(value, float)
    half = width_s / 2.0 + 1e-9  # a sample exactly half a width away counts
    lo = np.searchsorted(t, t - half, side="left")
    hi = np.searchsorted(t, t + half, side="right")
    cs = np.concatenate(([0.0], np.cumsum(v)))
    return (cs[hi] - cs[lo]) / (hi - lo)


@dataclass(frozen=True)
class Overshoot:
    """An overshoot and how it was measured (times are step times, s)."""

    pct: float  # excursion beyond target + 3σ, in % of |target − start|; 0 if none
    peak_mpa: float  # the pressure at the largest excursion in the window
    t_peak_s: float
    window_s: tuple[float, float]
    sigma_mpa: float  # noise of the settled part (0 when there is none to estimate it from)
    settled_samples: int


def overshoot(t_s: Any, pressure: Any, setpoint: Any, start: float, target: float,
              window_end_s: float) -> Overshoot:
    """Overshoot of a response to ``target`` from ``start`` (see the module docstring).

    ``window_end_s``: the end of the settling window, step time (``inf``: the last sample).
    """
    t = np.asarray(t_s, float)
    p = np.asarray(pressure, float)
    sp = np.asarray(setpoint, float)
    size = target - start
    if size == 0 or t.size == 0:
        raise ValueError("overshoot needs a non-zero step and at least one sample")
    sign = 1.0 if size > 0 else -1.0
    # the active setpoint reaches the target: within a millionth of the step
    reached = np.flatnonzero(sign * (sp - target) >= -1e-6 * abs(size))
    t0 = float(t[reached[0]]) if reached.size else float(t[0])
    # ... or earlier, where the pressure itself went past the target first: a press that runs
    # ahead of its ramp (a wound-up integrator after a stall) overshoots a target it has not
    # been asked for yet, and that is the worst overshoot of all
    ahead = np.flatnonzero(sign * (moving_average_s(t, p) - target) > 0)
    if ahead.size:
        t0 = min(t0, float(t[ahead[0]]))
    t1 = float(window_end_s) if math.isfinite(window_end_s) else float(t[-1])
    t1 = max(t1, t0)
    win = (t >= t0) & (t <= t1)
    if not win.any():  # no sample between reaching and settling: take the nearest after
        win = t >= t0
        win[np.flatnonzero(win)[1:]] = False
    settled = t > t1
    n_settled = int(np.count_nonzero(settled))
    sigma = float(np.std(p[settled] - target, ddof=1)) if n_settled >= 3 else 0.0
    smooth = moving_average_s(t, p)[win]
    excess = sign * (smooth - target)
    i = int(np.argmax(excess))
    beyond = max(0.0, float(excess[i]) - NOISE_SIGMAS * sigma)
    t_win = t[win]
    return Overshoot(beyond / abs(size) * 100.0, float(smooth[i]), float(t_win[i]),
                     (t0, t1), sigma, n_settled)


__all__ = ["AVERAGE_S", "NOISE_SIGMAS", "Overshoot", "moving_average_s", "overshoot"]
