"""Did the press ramp (or unload) at the rate it was asked for?

Every ``ramp`` and ``release`` step on a press that takes a rate gets one verdict,
``max_rate_deviation_pct``: the measured rate against the commanded one, in % of the
commanded rate. The default tolerance is the larger of 25 % and 0.5 MPa/s; the step's
``expect.max_rate_deviation_pct`` overrides it (and asks for the line on an operator-guided
press too, where the default does not apply: a person is asked for "about" a rate).

The rate is measured only where the press's own dynamics do not limit it: between the
first crossings of 20 % and 80 % of the way from the step's start to its target (for a
release, 80 % and 20 % of the start pressure), on the pressure through the same moving
median the other criteria use, crossings interpolated between samples. The start of a ramp
(the press accelerating) and its end (the approach to the target; the exponential tail of an
unload through a valve) are outside that window.
"""

from __future__ import annotations

import math

import numpy as np

from .criteria import CriteriaView, Criterion, register
from .segment import Segment, Verdict
from .signals import median_half_width_samples, moving_median

RATE_KEY = "max_rate_deviation_pct"
#: default tolerance: the larger of this share of the commanded rate …
DEFAULT_TOLERANCE_PCT = 25.0
#: … and this absolute rate
DEFAULT_TOLERANCE_MPA_S = 0.5
#: the part of the step the rate is measured over (fractions of the way to the target)
WINDOW = (0.2, 0.8)
#: steps smaller than this are not judged: 60 % of it would be within the sensor noise
MIN_STEP_MPA = 1.0
#: the kinds of step (see :mod:`presshil.steps`) that have a commanded rate
RATE_KINDS = frozenset({"ramp", "release"})

register(Criterion(
    RATE_KEY, "%", "max", RATE_KINDS,
    "|measured − commanded rate| / commanded rate × 100, the rate measured between 20 % "
    "and 80 % of the way to the target (default limit: 25 % or 0.5 MPa/s, whichever is "
    "larger)", name="rate deviation from the commanded rate", judged_on="rate",
    limit_kind="spread"))
#: the rate criterion, as a view of the registry (:func:`judge_rate` judges it)
RATE_KEYS = CriteriaView("rate")


class NotJudged(Exception):
    """The segment cannot support a rate measurement; the message says why."""


def default_limit_pct(rate_mpa_s: float) -> float:
    """The default tolerance for ``rate_mpa_s``: max(25 %, 0.5 MPa/s), in % of the rate."""
    return max(DEFAULT_TOLERANCE_PCT, DEFAULT_TOLERANCE_MPA_S / rate_mpa_s * 100.0)


def _crossing_s(t: np.ndarray, p: np.ndarray, level: float, rising: bool) -> float:
    """First time ``p`` reaches ``level`` (interpolated between samples); NaN if never."""
    hit = p >= level if rising else p <= level
    idx = np.flatnonzero(hit)
    if idx.size == 0:
        return math.nan
    i = int(idx[0])
    if i == 0 or p[i] == p[i - 1]:
        return float(t[i])
    return float(t[i - 1] + (level - p[i - 1]) * (t[i] - t[i - 1]) / (p[i] - p[i - 1]))


def measured_rate(seg: Segment) -> tuple[float, float, float, float, float]:
    """(rate MPa/s, t_low, t_high, level at t_low, level at t_high) of ``seg``'s pressure over
    the window of :data:`WINDOW`; :class:`NotJudged` when the data cannot say."""
    size = seg.target_mpa - seg.start_mpa
    if abs(size) < MIN_STEP_MPA:
        raise NotJudged(f"a {abs(size):g} MPa step is too small to measure a rate on (need ≥ {MIN_STEP_MPA:g} MPa)")
    half = median_half_width_samples(seg.t)
    p = moving_median(seg.pressure, half) if half else seg.pressure
    rising = size > 0
    lo, hi = (seg.start_mpa + f * size for f in WINDOW)
    t_lo, t_hi = _crossing_s(seg.t, p, lo, rising), _crossing_s(seg.t, p, hi, rising)
    if math.isnan(t_lo) or math.isnan(t_hi):
        missed = lo if math.isnan(t_lo) else hi
        raise NotJudged(f"the pressure never reached {missed:.4g} MPa ({WINDOW[0 if missed == lo else 1]:.0%} of the way)")
    inside = int(np.count_nonzero((seg.t > t_lo) & (seg.t < t_hi)))
    if t_hi <= t_lo or inside < 2:
        raise NotJudged(
            f"{inside} sample(s) between {lo:.4g} and {hi:.4g} MPa; need at least 2 to measure a rate "
            "(sample faster)"
        )
    return abs(hi - lo) / (t_hi - t_lo), t_lo, t_hi, lo, hi


def judge_rate(step_name: str, seg: Segment, rate_mpa_s: float, limit_pct: float | None) -> Verdict:
    """The ``max_rate_deviation_pct`` verdict of one ramp or release (step time in
    ``t_s``); ``limit_pct`` None takes the default tolerance. :class:`NotJudged` propagates."""
    limit = default_limit_pct(rate_mpa_s) if limit_pct is None else float(limit_pct)
    rate, t_lo, t_hi, lo, hi = measured_rate(seg)
    value = abs(rate - rate_mpa_s) / rate_mpa_s * 100.0
    how = "default: 25 % or 0.5 MPa/s, whichever is larger" if limit_pct is None else "the step's limit"
    detail = (
        f"measured {rate:.3g} MPa/s from {lo:.4g} to {hi:.4g} MPa (step time {t_lo:.3f}..{t_hi:.3f} s), "
        f"commanded {rate_mpa_s:g} MPa/s: {'faster' if rate > rate_mpa_s else 'slower'} by {value:.1f} % "
        f"(tolerance {limit:.3g} %, {how})"
    )
    return Verdict(step_name, RATE_KEY, value, limit, "%", bool(value <= limit), detail, t_hi)


__all__ = [
    "DEFAULT_TOLERANCE_MPA_S",
    "DEFAULT_TOLERANCE_PCT",
    "RATE_KEY",
    "RATE_KEYS",
    "RATE_KINDS",
    "WINDOW",
    "NotJudged",
    "default_limit_pct",
    "judge_rate",
    "measured_rate",
]
