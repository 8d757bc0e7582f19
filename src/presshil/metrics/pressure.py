"""Criteria on a step's pressure: how it tracked, settled, held and released.

Each function measures one expect key on a :class:`~.segment.Segment` and is declared, with
everything else about its key, by the :func:`~.criteria.criterion` above it.
"""

from __future__ import annotations

import math

import numpy as np

from ..overshoot import overshoot
from .criteria import HOLD, RAMP, RELEASE, STEP, Measured, Unjudgeable, criterion, window
from .segment import Segment
from .signals import (
    default_band_mpa,
    drift_per_min,
    iae,
    in_band_pct,
    max_abs_error,
    median_half_width_samples,
    moving_median,
    rise_time_s,
    rms_error,
    settling_time_s,
    steady_state_error,
)


def _smoothed(seg: Segment, values: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The pressure (or ``values``) through the noise median, and a text saying how."""
    half = median_half_width_samples(seg.t)
    v = seg.pressure if values is None else values
    if half == 0:
        return v, "single samples, no median below 10 Hz"
    return moving_median(v, half), f"{2 * half + 1}-sample moving median"


def _band(seg: Segment, band_mpa: float | None) -> tuple[float, str]:
    if band_mpa is not None:
        return band_mpa, f"±{band_mpa:g} MPa"
    band = default_band_mpa(seg.target_mpa)
    return band, f"±{band:g} MPa (default band)"


def _step_size(seg: Segment) -> float:
    size = seg.target_mpa - seg.start_mpa
    if size == 0:
        raise Unjudgeable(f"step size is 0 (start = target = {seg.target_mpa:g} MPa)")
    return size



# Each metric: (segment, settle_s, band_mpa) -> Measured


def _tracking(seg: Segment, settle_s: float, band: float | None) -> Measured:
    window(seg, 0.0)
    v, i = max_abs_error(seg.pressure, seg.setpoint)
    return Measured(v, f"|p − active setpoint| = {v:.3g} MPa at step time t = {seg.t[i]:g} s "
                        f"(p = {seg.pressure[i]:.4g}, setpoint {seg.setpoint[i]:.4g} MPa)",
                     float(seg.t[i]))
criterion("max_tracking_error_mpa", "MPa", "max", RAMP,
           "largest |pressure − active setpoint| over the ramp", name="ramp tracking error")(_tracking)


def _overshoot(seg: Segment, settle_s: float, band: float | None) -> Measured:
    window(seg, 0.0)
    size = _step_size(seg)
    # settle_s here is the step's settling window (its settling_time_s limit), 0 if none
    end = settle_s if settle_s > 0 else math.inf
    o = overshoot(seg.t, seg.pressure, seg.setpoint, seg.start_mpa, seg.target_mpa, end)
    floor = (f"beyond a noise floor of 3σ = {3 * o.sigma_mpa:.2g} MPa ({o.settled_samples} "
             "settled samples)" if o.settled_samples >= 3 else "no settled samples for a noise "
             "floor")
    return Measured(o.pct, f"peak {o.peak_mpa:.4g} MPa (0.1 s average) at step time "
                            f"t = {o.t_peak_s:g} s, "
                            f"judged from t = {o.window_s[0]:g} s (setpoint or pressure at the target) to "
                            f"{o.window_s[1]:g} s, {floor}, for a {size:+g} MPa step to "
                            f"{seg.target_mpa:g} MPa", o.t_peak_s)
criterion("max_overshoot_pct", "%", "max", RAMP | STEP,
           "largest excursion of the 0.1 s moving average past target + 3σ (σ the noise of the "
           "settled response), from the "
           "moment the setpoint reaches the target to the end of the settling window (the step's "
           "settling_time_s, else the segment's end), in % of |target − start|; 0 if never past",
           name="overshoot", limit_kind="share")(_overshoot)


def _settle(seg: Segment, settle_s: float, band_mpa: float | None) -> Measured:
    window(seg, 0.0)
    band, band_text = _band(seg, band_mpa)
    v = settling_time_s(seg.t, seg.pressure, seg.target_mpa, band)
    if math.isinf(v):
        return Measured(v, f"never settled within {band_text} of {seg.target_mpa:g} MPa; "
                            f"last sample {seg.pressure[-1]:.4g} MPa", float(seg.t[-1]))
    return Measured(v, f"entered {band_text} of {seg.target_mpa:g} MPa for good at step "
                        f"time t = {v:g} s (from the command)", float(v))
criterion("settle_s", "s", "max", HOLD,
           "time from the hold's command until pressure enters target ± band_mpa for good; the "
           "other hold criteria ignore the first settle_s seconds after the command",
           name="time to enter the band", requires=("band_mpa",), limit_kind="within_step")(_settle)


def _band_max(seg: Segment, settle_s: float, band: float | None) -> Measured:
    m = window(seg, settle_s, need=1)
    p, how = _smoothed(seg)
    v, i = max_abs_error(p[m], seg.target_mpa)
    t = float(seg.t[m][i])
    return Measured(v, f"max |p − {seg.target_mpa:g}| = {v:.3g} MPa ({how}) at step time "
                        f"t = {t:g} s (p = {p[m][i]:.4g} MPa), after {settle_s:g} s settle", t)
criterion("band_mpa", "MPa", "max", HOLD,
           "largest |moving median (±0.05 s) of pressure − target| after settle_s",
           name="largest deviation after settling", allow_zero=False)(_band_max)


def _in_band(seg: Segment, settle_s: float, band_mpa: float | None) -> Measured:
    m = window(seg, settle_s, need=1)
    band, band_text = _band(seg, band_mpa)
    v = in_band_pct(seg.pressure[m], seg.target_mpa, band)
    worst, i = max_abs_error(seg.pressure[m], seg.target_mpa)
    t = float(seg.t[m][i])
    return Measured(v, f"{v:.4g} % of {np.count_nonzero(m)} samples within {band_text}; "
                        f"worst |error| {worst:.3g} MPa at step time t = {t:g} s", t)
criterion("min_in_band_pct", "%", "min", HOLD,
           "percentage of samples after settle_s within target ± band_mpa",
           name="samples in band", requires=("band_mpa",), max_limit=100.0, limit_kind="share")(_in_band)


def _drift(seg: Segment, settle_s: float, band: float | None) -> Measured:
    m = window(seg, settle_s)
    slope = drift_per_min(seg.t[m], seg.pressure[m])
    if math.isnan(slope):
        raise Unjudgeable("all samples after settle share one time stamp")
    return Measured(abs(slope), f"least-squares slope {slope:+.3g} MPa/min over "
                                 f"{seg.t[m][-1] - seg.t[m][0]:g} s after {settle_s:g} s settle")
criterion("max_drift_mpa_per_min", "MPa/min", "max", HOLD,
           "|least-squares slope| of pressure vs time after settle_s", name="drift")(_drift)


def _rms(seg: Segment, settle_s: float, band: float | None) -> Measured:
    m = window(seg, settle_s, need=1)
    v = rms_error(seg.pressure[m], seg.target_mpa)
    return Measured(v, f"RMS of p − {seg.target_mpa:g} MPa over {np.count_nonzero(m)} samples")
criterion("max_rms_error_mpa", "MPa", "max", HOLD,
           "RMS of pressure − target over the samples after settle_s", name="RMS error")(_rms)


def _rise(seg: Segment, settle_s: float, band: float | None) -> Measured:
    window(seg, 0.0)
    size = _step_size(seg)
    v = rise_time_s(seg.t, seg.pressure, seg.start_mpa, seg.target_mpa)
    if math.isinf(v):
        return Measured(v, f"never reached 90 % of the {size:+g} MPa step; closest "
                            f"{seg.pressure[-1]:.4g} MPa at the end", float(seg.t[-1]))
    return Measured(v, f"10–90 % of a {size:+g} MPa step")
criterion("max_rise_s", "s", "max", STEP,
           "10–90 % rise time of the step, crossings interpolated", name="rise time 10–90 %",
           limit_kind="within_step")(_rise)


def _step_settle(seg: Segment, settle_s: float, band: float | None) -> Measured:
    window(seg, 0.0)
    size = _step_size(seg)
    tol = 0.02 * abs(size)
    v = settling_time_s(seg.t, seg.pressure, seg.target_mpa, tol)
    if math.isinf(v):
        return Measured(v, f"still outside ±{tol:.3g} MPa (2 % of the step) at the end: "
                            f"{seg.pressure[-1]:.4g} MPa", float(seg.t[-1]))
    return Measured(v, f"within ±{tol:.3g} MPa (2 % of the {size:+g} MPa step) for good "
                        f"from step time t = {v:g} s (from the command)", float(v))
criterion("settling_time_s", "s", "max", STEP,
           "time from the step command until pressure stays within ±2 % of the step of the target",
           name="settling time", limit_kind="within_step")(_step_settle)


def _steady_state(seg: Segment, settle_s: float, band: float | None) -> Measured:
    window(seg, 0.0)
    v = steady_state_error(seg.t, seg.pressure, seg.target_mpa)
    return Measured(v, f"|mean of the last 10 % − {seg.target_mpa:g}| MPa")
criterion("max_steady_state_error_mpa", "MPa", "max", STEP,
           "|mean pressure over the last 10 % of the step − target|", name="steady-state error")(_steady_state)


def _iae(seg: Segment, settle_s: float, band: float | None) -> Measured:
    window(seg, 0.0)
    return Measured(iae(seg.t, seg.pressure, seg.setpoint),
                     f"∫|p − active setpoint| dt over {seg.t[-1] - seg.t[0]:g} s")
criterion("max_iae_mpa_s", "MPa·s", "max", STEP,
           "∫|pressure − active setpoint| dt over the step, trapezoidal",
           name="integrated absolute error (IAE)")(_iae)


def _residual(seg: Segment, settle_s: float, band: float | None) -> Measured:
    window(seg, 0.0, need=1)
    return Measured(abs(float(seg.pressure[-1])),
                     f"pressure at the end of the release: {seg.pressure[-1]:.4g} MPa",
                     float(seg.t[-1]))
criterion("max_residual_mpa", "MPa", "max", RELEASE,
           "|pressure| at the last sample of the release", name="residual pressure")(_residual)
