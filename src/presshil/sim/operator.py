"""The operator of a manual hydraulic press: no regulation, just a person and a gauge.

``command(setpoint, rate)`` on a manual press means: *an operator pumps the hand lever
toward the setpoint, roughly at the asked rate, watching the readout, and stops.* Each stroke
the operator sizes to reach where the ramp should be one stroke later, using a running
estimate of "MPa per full stroke" learned from the previous stroke (the first guess comes
from the catalogue). Once the gauge reads within the dead band of the setpoint the operator
stops pumping; the press then holds on its check valve and leaks down — nobody re-pumps.

A setpoint below the present reading makes the operator crack the release valve until the
gauge drops to it. ``release()`` makes the operator open the release valve fully over
``release_open_s``; its rate argument cannot be honoured by hand and is ignored.
"""

from __future__ import annotations

from .jitcache import jit
from .layout import (
    N_OP_PUMPING,
    P_OP_DEADBAND_MPA,
    P_RELEASE_OPEN_S,
    P_STROKE_PERIOD_S,
    X_OP_GAIN_MPA,
    X_OP_P0_MPA,
    X_OP_P_START_MPA,
    X_OP_PHASE,
    X_OP_RELEASE_OPEN,
    X_OP_STROKE,
    X_OP_T0_S,
    X_RATE_MPA_S,
    X_TARGET_MPA,
)

#: release-valve opening the operator uses to bleed down to a lower setpoint
BLEED_OPENING = 0.05


@jit
def start_pumping(p, x, n, gauge_mpa: float, t_s: float) -> None:
    """Begin a pumping task toward ``x[X_TARGET_MPA]``."""
    n[N_OP_PUMPING] = 1
    x[X_OP_T0_S] = t_s
    x[X_OP_P0_MPA] = gauge_mpa
    x[X_OP_PHASE] = p[P_STROKE_PERIOD_S]  # decide a stroke on the next tick
    x[X_OP_STROKE] = 0.0
    x[X_OP_RELEASE_OPEN] = 0.0


@jit
def pump_tick(p, x, n, gauge_mpa: float, t_s: float, dt: float) -> bool:
    """One tick of a pumping task; returns True while the operator is still pumping."""
    target = x[X_TARGET_MPA]
    band = p[P_OP_DEADBAND_MPA]
    x[X_OP_RELEASE_OPEN] = BLEED_OPENING if gauge_mpa > target + band else 0.0
    if n[N_OP_PUMPING] == 0:
        return False
    if gauge_mpa >= target - band:
        n[N_OP_PUMPING] = 0
        x[X_OP_STROKE] = 0.0
        return False
    period = p[P_STROKE_PERIOD_S]
    x[X_OP_PHASE] += dt
    if x[X_OP_PHASE] >= period:
        x[X_OP_PHASE] -= period
        if x[X_OP_STROKE] > 0.05:
            gained = gauge_mpa - x[X_OP_P_START_MPA]
            if gained > 0.0:
                x[X_OP_GAIN_MPA] = 0.5 * x[X_OP_GAIN_MPA] + 0.5 * gained / x[X_OP_STROKE]
        plan = min(target, x[X_OP_P0_MPA] + x[X_RATE_MPA_S] * (t_s + period - x[X_OP_T0_S]))
        x[X_OP_STROKE] = min(1.0, max(0.0, (plan - gauge_mpa) / max(x[X_OP_GAIN_MPA], 1e-6)))
        x[X_OP_P_START_MPA] = gauge_mpa
    return True


@jit
def open_release_tick(p, x, dt: float) -> None:
    """The operator turns the release valve open, fully after ``release_open_s``."""
    x[X_OP_RELEASE_OPEN] = min(1.0, x[X_OP_RELEASE_OPEN] + dt / max(p[P_RELEASE_OPEN_S], dt))
