"""Metrics on recorded samples, and the expect keys that turn them into verdicts.

The functions at the top are pure: numpy arrays in, numbers out, with definitions written so
that a person can redo them by hand (``docs/protocols.md`` states each one). Below them,
:data:`EXPECT_KEYS` maps every ``expect`` key of a protocol step to its metric, and
:func:`evaluate` / :func:`evaluate_all` turn one executed step (a :class:`Segment`) into
:class:`Verdict` s. A segment too short to judge yields a failed verdict that says so, never an
exception and never a NaN that passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

ArrayLike = Any  # numpy array or something np.asarray accepts

# ---------------------------------------------------------------------------------------------
# pure metrics


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


def nonuniformity_pct(mean_forces: ArrayLike) -> tuple[float, int]:
    """``(max − min) / mean × 100`` across channels, and the channel farthest from the mean."""
    f = np.asarray(mean_forces, float)
    mean = f.mean()
    return float((f.max() - f.min()) / mean * 100.0), int(np.argmax(np.abs(f - mean)))


def cv_pct(mean_forces: ArrayLike) -> float:
    """Coefficient of variation across channels: population std / mean × 100."""
    f = np.asarray(mean_forces, float)
    return float(f.std(ddof=0) / f.mean() * 100.0)


def cof_offset_mm(mean_forces: ArrayLike, positions_mm: ArrayLike) -> float:
    """Distance of the centre of force ``Σ Fᵢ·(xᵢ, yᵢ) / Σ Fᵢ`` from the die centre (0, 0)."""
    f = np.asarray(mean_forces, float)
    xy = np.asarray(positions_mm, float).reshape(-1, 2)
    centre = (f[:, None] * xy).sum(axis=0) / f.sum()
    return float(math.hypot(centre[0], centre[1]))


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


def pellet_nonuniformity_pct(cof_offset_mm: float, die_radius_mm: float) -> float:
    """Pellet pressure non-uniformity ``(p_max − p_min) / p_mean × 100`` from the centre-of-force
    offset ``e`` on a die of radius ``R``: ``800 · e / R``.

    A rigid platen tilted on an elastic pellet loads it linearly across the face,
    ``p(x) = p̄ (1 + k x)``; the centre of force is ``e = k R² / 4`` (``∫x² dA / A = R²/4`` on a
    disc), and the pressure runs from ``p̄ (1 − kR)`` to ``p̄ (1 + kR)``, a spread of
    ``2kR = 8e/R`` of the mean.
    """
    if not die_radius_mm > 0:
        raise ValueError(f"die radius must be > 0 mm, got {die_radius_mm!r}")
    return 800.0 * cof_offset_mm / die_radius_mm


def cof_limit_for_pellet_mm(pellet_tolerance_pct: float, die_radius_mm: float) -> float:
    """The centre-of-force offset that spends a pellet tolerance of ``±pellet_tolerance_pct``:
    a spread of ``2 × tolerance`` is ``8e/R``, so ``e = 2·tol/100 · R / 8``."""
    return 2.0 * pellet_tolerance_pct / 100.0 * die_radius_mm / 8.0


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


def irreversible_growth_um(position_at_cycle_start_mm: ArrayLike) -> float:
    """Ram position at the start of the last cycle minus that at the start of the first, µm:
    the growth the cell did not give back."""
    x = np.asarray(position_at_cycle_start_mm, float)
    if x.size < 2:
        return math.nan
    return float((x[-1] - x[0]) * 1000.0)


# ---------------------------------------------------------------------------------------------
# verdicts


@dataclass(frozen=True)
class Verdict:
    """One criterion of one step: measured ``value`` against ``limit``.

    ``t_s`` is the time of the worst sample and ``channel`` the worst load cell's 0-based index,
    when the metric has one (texts count cells from 1, as the serial protocol does: ch1 is
    index 0).

    Times have one base, named wherever they appear. :func:`evaluate` gives ``t_s`` in *step
    time* (0 at the step's command) and ``detail`` says "step time". The runner moves ``t_s``
    onto the run's axis with :meth:`on_run_time`, which records the step's start in
    ``step_start_s``: then ``t_s`` is *run time* and ``t_s − step_start_s`` the step time of
    the detail text.
    """

    step: str
    criterion: str
    value: float
    limit: float
    unit: str
    passed: bool
    detail: str = ""
    t_s: float | None = None
    channel: int | None = None
    step_start_s: float | None = None

    @property
    def time_base(self) -> str:
        """``"step"`` (0 at the step's command) or ``"run"`` (after :meth:`on_run_time`)."""
        return "step" if self.step_start_s is None else "run"

    def on_run_time(self, step_start_s: float) -> Verdict:
        """This verdict with ``t_s`` moved from step time to run time (the step began at
        ``step_start_s`` on the run's axis); ``detail`` keeps its step times."""
        if self.step_start_s is not None:
            raise ValueError(f"{self.step}/{self.criterion}: t_s is already on run time")
        t = None if self.t_s is None else self.t_s + step_start_s
        return replace(self, t_s=t, step_start_s=step_start_s)

    def where(self) -> str:
        """``run time t = 337 s (step time 37 s)``, ``step time t = 37 s``, or ``""``."""
        if self.t_s is None:
            return ""
        if self.step_start_s is None:
            return f"step time t = {self.t_s:g} s"
        return f"run time t = {self.t_s:g} s (step time {self.t_s - self.step_start_s:g} s)"


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class Segment:
    """The samples of one executed step, as the runner cut them from the trace.

    ``t`` is *step time*: 0 is the instant the step was commanded, so the first sample sits at
    up to one sample period after 0. Settling times and settle allowances are measured from
    that 0, not from the first sample. ``setpoint`` is the press's active (ramped) setpoint,
    ``target_mpa`` the step's goal and ``start_mpa`` the setpoint it started from.
    ``channels`` is (n, N) in kN; ``channel_positions_mm`` the load cells' (x, y) as mounted,
    from the press axis; ``die_radius_mm`` the pellet's radius, ``die_position_mm`` where the
    die was declared to be (same frame) and ``die_placement_tolerance_mm`` how well it is
    placed there (for the centre-of-force offset and the pellet estimate, :mod:`.pellet`).
    """

    kind: str
    t: np.ndarray
    setpoint: np.ndarray
    pressure: np.ndarray
    channels: np.ndarray
    target_mpa: float
    start_mpa: float
    channel_positions_mm: tuple[tuple[float, float], ...] = ()
    die_radius_mm: float | None = None
    #: ram position (mm) per sample, when the press reports one (NaN where it does not)
    position: np.ndarray | None = None
    #: temperature (°C) per sample, when the press reports one (NaN where it does not)
    temperature: np.ndarray | None = None
    die_position_mm: tuple[float, float] = (0.0, 0.0)
    die_placement_tolerance_mm: float | None = None

    def __post_init__(self) -> None:
        t = np.asarray(self.t, float)
        for name in ("t", "setpoint", "pressure"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), float))
        if self.setpoint.shape != t.shape or self.pressure.shape != t.shape:
            raise ValueError(
                f"t, setpoint and pressure must have one shape; got {t.shape}, "
                f"{self.setpoint.shape}, {self.pressure.shape}"
            )
        ch = np.asarray(self.channels, float)
        object.__setattr__(self, "channels", ch.reshape(t.size, -1) if ch.size else
                           np.zeros((t.size, 0)))

    @classmethod
    def from_trace(
        cls,
        kind: str,
        trace: Any,
        rows: slice,
        *,
        target_mpa: float,
        start_mpa: float,
        channel_positions_mm: tuple[tuple[float, float], ...] = (),
        t_command_s: float = 0.0,
        die_radius_mm: float | None = None,
    ) -> Segment:
        """Cut rows ``rows`` of a :class:`~presshil.trace.Trace` into a segment; the step was
        commanded at ``t_command_s`` on the trace's axis, which becomes the segment's 0."""
        return cls(kind, trace.t[rows] - t_command_s, trace.setpoint[rows], trace.pressure[rows],
                   trace.channels[rows], target_mpa, start_mpa, channel_positions_mm,
                   die_radius_mm)


class ExpectSpec(NamedTuple):
    """What an expect key means: its unit, whether the limit is a ``max`` or a ``min``, the
    step types it applies to, and a one-line definition."""

    unit: str
    comparison: str
    applies_to: frozenset[str]
    doc: str
    requires: tuple[str, ...] = ()
    allow_zero: bool = True
    max_limit: float = math.inf


class _Measured(NamedTuple):
    value: float
    detail: str
    t_s: float | None = None
    channel: int | None = None
    #: expanded uncertainty of a "max" value: it passes only when value + U ≤ limit
    u_expanded: float = 0.0


class _Unjudgeable(Exception):
    """The segment cannot support the metric; becomes a failed verdict, never escapes."""


def _window(seg: Segment, settle_s: float, need: int = 2) -> np.ndarray:
    """Boolean mask of the samples at step time ≥ ``settle_s`` (the allowance runs from the
    command); at least ``need`` of them."""
    if seg.t.size < need:
        raise _Unjudgeable(f"segment has {seg.t.size} sample(s); need at least {need}")
    mask = seg.t >= settle_s
    if np.count_nonzero(mask) < need:
        raise _Unjudgeable(
            f"only {np.count_nonzero(mask)} sample(s) after the {settle_s:g} s settle allowance "
            f"(last sample at step time {seg.t[-1]:g} s); need at least {need}"
        )
    return mask


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
        raise _Unjudgeable(f"step size is 0 (start = target = {seg.target_mpa:g} MPa)")
    return size


# Each metric: (segment, settle_s, band_mpa) -> _Measured


def _tracking(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    _window(seg, 0.0)
    v, i = max_abs_error(seg.pressure, seg.setpoint)
    return _Measured(v, f"|p − active setpoint| = {v:.3g} MPa at step time t = {seg.t[i]:g} s "
                        f"(p = {seg.pressure[i]:.4g}, setpoint {seg.setpoint[i]:.4g} MPa)",
                     float(seg.t[i]))


def _overshoot(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    from .overshoot import overshoot

    _window(seg, 0.0)
    size = _step_size(seg)
    # settle_s here is the step's settling window (its settling_time_s limit), 0 if none
    end = settle_s if settle_s > 0 else math.inf
    o = overshoot(seg.t, seg.pressure, seg.setpoint, seg.start_mpa, seg.target_mpa, end)
    floor = (f"beyond a noise floor of 3σ = {3 * o.sigma_mpa:.2g} MPa ({o.settled_samples} "
             "settled samples)" if o.settled_samples >= 3 else "no settled samples for a noise "
             "floor")
    return _Measured(o.pct, f"peak {o.peak_mpa:.4g} MPa (0.1 s average) at step time "
                            f"t = {o.t_peak_s:g} s, "
                            f"judged from t = {o.window_s[0]:g} s (setpoint or pressure at the target) to "
                            f"{o.window_s[1]:g} s, {floor}, for a {size:+g} MPa step to "
                            f"{seg.target_mpa:g} MPa", o.t_peak_s)


def _settle(seg: Segment, settle_s: float, band_mpa: float | None) -> _Measured:
    _window(seg, 0.0)
    band, band_text = _band(seg, band_mpa)
    v = settling_time_s(seg.t, seg.pressure, seg.target_mpa, band)
    if math.isinf(v):
        return _Measured(v, f"never settled within {band_text} of {seg.target_mpa:g} MPa; "
                            f"last sample {seg.pressure[-1]:.4g} MPa", float(seg.t[-1]))
    return _Measured(v, f"entered {band_text} of {seg.target_mpa:g} MPa for good at step "
                        f"time t = {v:g} s (from the command)", float(v))


def _band_max(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    m = _window(seg, settle_s, need=1)
    p, how = _smoothed(seg)
    v, i = max_abs_error(p[m], seg.target_mpa)
    t = float(seg.t[m][i])
    return _Measured(v, f"max |p − {seg.target_mpa:g}| = {v:.3g} MPa ({how}) at step time "
                        f"t = {t:g} s (p = {p[m][i]:.4g} MPa), after {settle_s:g} s settle", t)


def _in_band(seg: Segment, settle_s: float, band_mpa: float | None) -> _Measured:
    m = _window(seg, settle_s, need=1)
    band, band_text = _band(seg, band_mpa)
    v = in_band_pct(seg.pressure[m], seg.target_mpa, band)
    worst, i = max_abs_error(seg.pressure[m], seg.target_mpa)
    t = float(seg.t[m][i])
    return _Measured(v, f"{v:.4g} % of {np.count_nonzero(m)} samples within {band_text}; "
                        f"worst |error| {worst:.3g} MPa at step time t = {t:g} s", t)


def _drift(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    m = _window(seg, settle_s)
    slope = drift_per_min(seg.t[m], seg.pressure[m])
    if math.isnan(slope):
        raise _Unjudgeable("all samples after settle share one time stamp")
    return _Measured(abs(slope), f"least-squares slope {slope:+.3g} MPa/min over "
                                 f"{seg.t[m][-1] - seg.t[m][0]:g} s after {settle_s:g} s settle")


def _rms(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    m = _window(seg, settle_s, need=1)
    v = rms_error(seg.pressure[m], seg.target_mpa)
    return _Measured(v, f"RMS of p − {seg.target_mpa:g} MPa over {np.count_nonzero(m)} samples")


def _channels(seg: Segment, settle_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = _window(seg, settle_s, need=1)
    ch = seg.channels[m]
    if ch.shape[1] < 2:
        raise _Unjudgeable(f"uniformity needs at least 2 load-cell channels; this press has "
                           f"{ch.shape[1]}")
    means = ch.mean(axis=0)
    if means.mean() <= 0:
        raise _Unjudgeable(f"mean channel force is {means.mean():.3g} kN; nothing is loaded")
    return m, ch, means


def _worst_instant(seg: Segment, m: np.ndarray, ch: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        inst = (ch.max(axis=1) - ch.min(axis=1)) / ch.mean(axis=1)
    return float(seg.t[m][int(np.argmax(np.where(np.isfinite(inst), inst, -np.inf)))])


def _forces_text(means: np.ndarray) -> str:
    return "time-averaged forces " + ", ".join(
        f"ch{i + 1} {f:.4g}" for i, f in enumerate(means)) + " kN"


def _nonuniformity(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    m, ch, means = _channels(seg, settle_s)
    v, worst = nonuniformity_pct(means)
    t = _worst_instant(seg, m, ch)
    return _Measured(v, f"{_forces_text(means)}; ch{worst + 1} farthest from the mean; "
                        f"worst instant at step time t = {t:g} s", t, worst)


def _cv(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    m, ch, means = _channels(seg, settle_s)
    _, worst = nonuniformity_pct(means)
    t = _worst_instant(seg, m, ch)
    return _Measured(cv_pct(means), f"{_forces_text(means)}; ch{worst + 1} farthest from "
                                    f"the mean", t, worst)


def _cof(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    e, u, text, worst = _die_offset(seg, settle_s, "centre of force")
    return _Measured(e, text, channel=worst, u_expanded=u)


def _die_offset(seg: Segment, settle_s: float, what: str) -> tuple[float, float, str, int]:
    """Offset of the centre of force from the declared die position, its U, a text, and the
    channel farthest from the mean."""
    from .pellet import offset_from_die_mm, offset_uncertainty_mm

    _, ch, means = _channels(seg, settle_s)
    if len(seg.channel_positions_mm) != ch.shape[1]:
        raise _Unjudgeable(f"the {what} needs a position for each of the {ch.shape[1]} "
                           f"channels; the press reports {len(seg.channel_positions_mm)}")
    if seg.die_placement_tolerance_mm is None:
        raise _Unjudgeable("the die position is not declared: set [specimen]."
                           "die_placement_tolerance_mm (and die_position_mm)")
    e = offset_from_die_mm(means, seg.channel_positions_mm, seg.die_position_mm)
    u_p, u_g, big_u = offset_uncertainty_mm(means, seg.channel_positions_mm,
                                            seg.die_placement_tolerance_mm)
    _, worst = nonuniformity_pct(means)
    d = seg.die_position_mm
    return e, big_u, (f"{_forces_text(means)}; centre of force {e:.3g} mm from the declared die "
                      f"position ({d[0]:g}, {d[1]:g}) mm, U = {big_u:.2g} mm (k = 2: placement "
                      f"±{seg.die_placement_tolerance_mm:g} mm → {u_p:.2g} mm, channel gains → "
                      f"{u_g:.2g} mm); largest deviation on ch{worst + 1}"), worst


def _pellet(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    from .pellet import BLIND_SPOT, LIFT_OFF_PCT

    if seg.die_radius_mm is None or not seg.die_radius_mm > 0:
        raise _Unjudgeable("the pellet estimate needs the die radius (the protocol's [specimen])")
    e, u, text, worst = _die_offset(seg, settle_s, "pellet estimate")
    v = pellet_nonuniformity_pct(e, seg.die_radius_mm)
    big_u = pellet_nonuniformity_pct(u, seg.die_radius_mm)
    if v > LIFT_OFF_PCT:
        return _Measured(math.inf, f"pellet partly unloaded (lift-off): 8e/R would be {v:.3g} %, "
                         f"above {LIFT_OFF_PCT:g} % one edge carries no load; {text}; "
                         f"{BLIND_SPOT}", channel=worst)
    return _Measured(v, f"8e/R = {v:.3g} % ± {big_u:.2g} % (U, k = 2) on a die of radius "
                        f"R = {seg.die_radius_mm:g} mm; {text}; {BLIND_SPOT}", channel=worst,
                     u_expanded=big_u)


def _channel_shift(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    from .consistency import channel_share_shift_pct

    m = _window(seg, settle_s)
    try:
        shift, start, end = channel_share_shift_pct(seg.channels[m])
    except ValueError as exc:
        raise _Unjudgeable(str(exc)) from None
    i = int(np.argmax(np.abs(shift)))
    return _Measured(float(abs(shift[i])), f"largest change on ch{i + 1}: its share of the total "
                     f"force went from {start[i]:.3g} % to {end[i]:.3g} % ({shift[i]:+.3g} %) "
                     "between the first and last 10 % of the hold (a drifting load cell or a "
                     "load that moved shifts it)", channel=i)


def _rise(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    _window(seg, 0.0)
    size = _step_size(seg)
    v = rise_time_s(seg.t, seg.pressure, seg.start_mpa, seg.target_mpa)
    if math.isinf(v):
        return _Measured(v, f"never reached 90 % of the {size:+g} MPa step; closest "
                            f"{seg.pressure[-1]:.4g} MPa at the end", float(seg.t[-1]))
    return _Measured(v, f"10–90 % of a {size:+g} MPa step")


def _step_settle(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    _window(seg, 0.0)
    size = _step_size(seg)
    tol = 0.02 * abs(size)
    v = settling_time_s(seg.t, seg.pressure, seg.target_mpa, tol)
    if math.isinf(v):
        return _Measured(v, f"still outside ±{tol:.3g} MPa (2 % of the step) at the end: "
                            f"{seg.pressure[-1]:.4g} MPa", float(seg.t[-1]))
    return _Measured(v, f"within ±{tol:.3g} MPa (2 % of the {size:+g} MPa step) for good "
                        f"from step time t = {v:g} s (from the command)", float(v))


def _steady_state(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    _window(seg, 0.0)
    v = steady_state_error(seg.t, seg.pressure, seg.target_mpa)
    return _Measured(v, f"|mean of the last 10 % − {seg.target_mpa:g}| MPa")


def _iae(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    _window(seg, 0.0)
    return _Measured(iae(seg.t, seg.pressure, seg.setpoint),
                     f"∫|p − active setpoint| dt over {seg.t[-1] - seg.t[0]:g} s")


def _residual(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    _window(seg, 0.0, need=1)
    return _Measured(abs(float(seg.pressure[-1])),
                     f"pressure at the end of the release: {seg.pressure[-1]:.4g} MPa",
                     float(seg.t[-1]))


def _positions(seg: Segment, settle_s: float) -> tuple[np.ndarray, np.ndarray]:
    mask = _window(seg, settle_s, need=1)
    if seg.position is None or not np.all(np.isfinite(seg.position[mask])):
        raise _Unjudgeable("the press reports no ram position")
    return seg.t[mask], seg.position[mask]


def _dilatometry(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    t, x = _positions(seg, settle_s)
    i_lo, i_hi = int(np.argmin(x)), int(np.argmax(x))
    return _Measured(dilatometry_range_um(x),
                     f"ram from {x[i_lo]:.4f} mm (step time t = {t[i_lo]:g} s) to {x[i_hi]:.4f} mm "
                     f"(step time t = {t[i_hi]:g} s)", float(t[i_hi]))


def _swing(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    mask = _window(seg, settle_s, need=1)
    p, t = seg.pressure[mask], seg.t[mask]
    i_lo, i_hi = int(np.argmin(p)), int(np.argmax(p))
    return _Measured(float(p[i_hi] - p[i_lo]),
                     f"stack pressure from {p[i_lo]:.4g} MPa (step time t = {t[i_lo]:g} s) to "
                     f"{p[i_hi]:.4g} MPa (step time t = {t[i_hi]:g} s) at a held gap",
                     float(t[i_hi]))


def _temperature(seg: Segment, settle_s: float, band: float | None) -> _Measured:
    from .temperature import temperature_change_c

    mask = _window(seg, settle_s, need=1)
    if seg.temperature is None or not np.any(np.isfinite(seg.temperature[mask])):
        raise _Unjudgeable("the press reported no temperature during the hold")
    t, c = seg.t[mask], seg.temperature[mask]
    v, i_lo, i_hi = temperature_change_c(c)
    return _Measured(v, f"temperature from {c[i_lo]:.3f} °C (step time t = {t[i_lo]:g} s) to "
                        f"{c[i_hi]:.3f} °C (step time t = {t[i_hi]:g} s)", float(t[i_hi]))


_RAMP, _HOLD, _STEP, _RELEASE = (frozenset({k}) for k in ("ramp", "hold", "step", "release"))
_GAP = frozenset({"hold_gap"})

EXPECT_KEYS: dict[str, ExpectSpec] = {
    "max_pressure_swing_mpa": ExpectSpec(
        "MPa", "max", _GAP, "largest minus smallest stack pressure while the gap is held "
        "(after settle_s): the stress the cell's breathing and creep cause at a fixed gap"),
    "max_dilatometry_um": ExpectSpec(
        "µm", "max", _HOLD | _GAP, "largest minus smallest ram position (after settle_s): the "
        "cell's breathing stroke at constant pressure; about 0 when the gap is held"),
    "max_tracking_error_mpa": ExpectSpec(
        "MPa", "max", _RAMP, "largest |pressure − active setpoint| over the ramp"),
    "max_overshoot_pct": ExpectSpec(
        "%", "max", _RAMP | _STEP,
        "largest excursion of the 0.1 s moving average past target + 3σ (σ the noise of the "
        "settled response), from the "
        "moment the setpoint reaches the target to the end of the settling window (the step's "
        "settling_time_s, else the segment's end), in % of |target − start|; 0 if never past"),
    "settle_s": ExpectSpec(
        "s", "max", _HOLD,
        "time from the hold's command until pressure enters target ± band_mpa for good; the "
        "other hold criteria ignore the first settle_s seconds after the command",
        requires=("band_mpa",)),
    "band_mpa": ExpectSpec(
        "MPa", "max", _HOLD, "largest |moving median (±0.05 s) of pressure − target| after "
        "settle_s", allow_zero=False),
    "min_in_band_pct": ExpectSpec(
        "%", "min", _HOLD, "percentage of samples after settle_s within target ± band_mpa",
        requires=("band_mpa",), max_limit=100.0),
    "max_drift_mpa_per_min": ExpectSpec(
        "MPa/min", "max", _HOLD, "|least-squares slope| of pressure vs time after settle_s"),
    "max_rms_error_mpa": ExpectSpec(
        "MPa", "max", _HOLD, "RMS of pressure − target over the samples after settle_s"),
    "max_nonuniformity_pct": ExpectSpec(
        "%", "max", _HOLD,
        "(max − min) / mean of the time-averaged channel forces after settle_s, × 100"),
    "max_cv_pct": ExpectSpec(
        "%", "max", _HOLD,
        "population std / mean of the time-averaged channel forces after settle_s, × 100"),
    "max_cof_offset_mm": ExpectSpec(
        "mm", "max", _HOLD,
        "distance of the centre of force (channel-force-weighted load-cell position) from "
        "the declared die position, after settle_s; passes when e + U ≤ limit"),
    "max_pellet_nonuniformity_pct": ExpectSpec(
        "%", "max", _HOLD,
        "estimated pellet pressure (max − min) / mean × 100 = 800·e/R, e the centre-of-force "
        "offset from the declared die position after settle_s and R the die radius (a rigid "
        "platen on an elastic pellet); passes when value + U ≤ limit; above 200 % the pellet "
        "is partly unloaded (lift-off)"),
    "max_channel_shift_pct": ExpectSpec(
        "%", "max", _HOLD,
        "largest change of a channel's share of the total force, first vs last 10 % of the "
        "samples after settle_s, in % of its starting share: the channels' consistency with "
        "the controlled signal (a drifting load cell moves its share)"),
    "max_rise_s": ExpectSpec(
        "s", "max", _STEP, "10–90 % rise time of the step, crossings interpolated"),
    "settling_time_s": ExpectSpec(
        "s", "max", _STEP,
        "time from the step command until pressure stays within ±2 % of the step of the target"),
    "max_steady_state_error_mpa": ExpectSpec(
        "MPa", "max", _STEP, "|mean pressure over the last 10 % of the step − target|"),
    "max_iae_mpa_s": ExpectSpec(
        "MPa·s", "max", _STEP, "∫|pressure − active setpoint| dt over the step, trapezoidal"),
    "max_residual_mpa": ExpectSpec(
        "MPa", "max", _RELEASE, "|pressure| at the last sample of the release"),
    "max_temperature_change_c": ExpectSpec(
        "°C", "max", _HOLD | _GAP, "largest minus smallest temperature the press reports over "
        "the hold (after settle_s): how far the room moved while the cell was held"),
}

_METRICS: dict[str, Callable[[Segment, float, float | None], _Measured]] = {
    "max_tracking_error_mpa": _tracking,
    "max_pressure_swing_mpa": _swing,
    "max_dilatometry_um": _dilatometry,
    "max_overshoot_pct": _overshoot,
    "settle_s": _settle,
    "band_mpa": _band_max,
    "min_in_band_pct": _in_band,
    "max_drift_mpa_per_min": _drift,
    "max_rms_error_mpa": _rms,
    "max_nonuniformity_pct": _nonuniformity,
    "max_cv_pct": _cv,
    "max_cof_offset_mm": _cof,
    "max_pellet_nonuniformity_pct": _pellet,
    "max_channel_shift_pct": _channel_shift,
    "max_rise_s": _rise,
    "settling_time_s": _step_settle,
    "max_steady_state_error_mpa": _steady_state,
    "max_iae_mpa_s": _iae,
    "max_residual_mpa": _residual,
    "max_temperature_change_c": _temperature,
}


def evaluate(
    step_name: str,
    key: str,
    limit: float,
    seg: Segment,
    settle_s: float = 0.0,
    band_mpa: float | None = None,
) -> Verdict:
    """Judge one expect ``key`` with its ``limit`` on ``seg``.

    ``settle_s`` is the hold's settle allowance (skipped by the other hold metrics);
    ``band_mpa`` the hold band for ``settle_s`` and ``min_in_band_pct`` (default: the
    band of docs/domain.md, ±1 % or ±0.25 MPa). Raises ``ValueError`` only for a key that is not in
    :data:`EXPECT_KEYS`.
    """
    spec = EXPECT_KEYS.get(key)
    if spec is None:
        raise ValueError(f"unknown expect key {key!r}; known: {', '.join(EXPECT_KEYS)}")
    try:
        m = _METRICS[key](seg, settle_s, band_mpa)
    except _Unjudgeable as exc:
        return Verdict(step_name, key, math.nan, limit, spec.unit, False, f"not judged: {exc}")
    ok = m.value <= limit if spec.comparison == "max" else m.value >= limit
    detail = m.detail
    if ok and m.u_expanded > 0 and not m.value + m.u_expanded <= limit:
        # guarded acceptance: within U of the limit is inconclusive, which is not a pass
        ok = False
        detail = (f"inconclusive (not a pass): value + U = {m.value + m.u_expanded:.3g} > "
                  f"{limit:g}; " + detail)
    # NaN compares False either way, so a NaN value can never pass.
    return Verdict(step_name, key, m.value, limit, spec.unit, bool(ok), detail, m.t_s,
                   m.channel)


#: criteria of a ``repeat`` step, judged on the ram position at the start of each iteration
#: (and after the last): how the cell grows from cycle to cycle
REPEAT_KEYS: dict[str, ExpectSpec] = {
    "max_growth_per_cycle_um": ExpectSpec(
        "µm", "max", frozenset({"repeat"}), "least-squares slope of the ram position at the "
        "start of each iteration against the iteration number (positive: the stack grows)"),
    "max_irreversible_growth_um": ExpectSpec(
        "µm", "max", frozenset({"repeat"}), "ram position after the last iteration minus that "
        "before the first: the growth the cell did not give back"),
}


def evaluate_cycles(step_name: str, expect: dict[str, float],
                    positions_mm: ArrayLike) -> list[Verdict]:
    """Judge a repeat's :data:`REPEAT_KEYS` on the ram position at each iteration boundary
    (``count + 1`` values, fewer when the run stopped early)."""
    x = np.asarray(positions_mm, float)
    out = []
    for key, limit in expect.items():
        spec = REPEAT_KEYS[key]
        if x.size < 2 or not np.all(np.isfinite(x)):
            why = ("the press reports no ram position" if x.size >= 2
                   else f"{x.size} iteration boundary(ies) recorded; need at least 2")
            out.append(Verdict(step_name, key, math.nan, limit, spec.unit, False, f"not judged: {why}"))
            continue
        value = growth_per_cycle_um(x) if key == "max_growth_per_cycle_um" else irreversible_growth_um(x)
        detail = (f"ram at iteration starts {x[0]:.4f} … {x[-1]:.4f} mm over {x.size - 1} "
                  f"iteration(s)")
        out.append(Verdict(step_name, key, value, limit, spec.unit, bool(value <= limit), detail))
    return out


def evaluate_all(step_name: str, expect: dict[str, float], seg: Segment) -> list[Verdict]:
    """One verdict per expect key of a step, in the order the protocol lists them."""
    settle = expect.get("settle_s", 0.0)
    band = expect.get("band_mpa")
    # a step's overshoot is judged up to the end of its settling window
    window = expect.get("settling_time_s", 0.0)
    return [evaluate(step_name, key, limit, seg,
                     settle_s=window if key == "max_overshoot_pct" else settle, band_mpa=band)
            for key, limit in expect.items()]


__all__ = [
    "EXPECT_KEYS",
    "MEDIAN_HALF_WIDTH_S",
    "ExpectSpec",
    "Segment",
    "Verdict",
    "cof_limit_for_pellet_mm",
    "cof_offset_mm",
    "cv_pct",
    "default_band_mpa",
    "dilatometry_range_um",
    "drift_per_min",
    "evaluate",
    "evaluate_all",
    "growth_per_cycle_um",
    "iae",
    "in_band_pct",
    "irreversible_growth_um",
    "max_abs_error",
    "median_half_width_samples",
    "moving_median",
    "nonuniformity_pct",
    "normalized_response",
    "overshoot_pct",
    "pellet_nonuniformity_pct",
    "rise_time_s",
    "rms_error",
    "settling_time_s",
    "steady_state_error",
]
