"""Join a cycler's rows and a press run on Unix time (numpy; no data frame library).

``onto="cycler"``: the cycler's rows keep their times; the press's pressure, force, ram
position and load-cell forces are interpolated linearly onto them. ``onto="press"``: the
reverse, the cycler's numeric columns onto the press's samples. A time that falls in a gap of
the record being interpolated (two neighbouring samples further apart than ``max_gap_s``), or
outside it, gets no value (an empty cell): a gap is never interpolated across.

The clocks' offset: ``offset_s`` is added to the cycler's times. ``estimate_offset`` finds it
from an event both sides saw: the start of cycling (the press run's first ``cycle`` event;
the cycler's first row with a current).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

#: a gap is this many times the record's median sample interval, unless given
GAP_FACTOR = 10.0
#: |current| above which the cycler is taken to be cycling (A)
CURRENT_ON_A = 1e-9


@dataclass(frozen=True)
class Interpolator:
    """Where each target time falls in a source record: the bracketing samples and weight,
    and whether it may be interpolated (inside the record, not across a gap)."""

    left: np.ndarray
    right: np.ndarray
    weight: np.ndarray
    ok: np.ndarray
    span_s: np.ndarray

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per source sample) at the target times; NaN where not ``ok``."""
        v = np.asarray(values, float)
        out = v[self.left] + self.weight * (v[self.right] - v[self.left])
        out[~self.ok] = np.nan
        return out

    @property
    def max_span_s(self) -> float:
        """The widest source interval interpolated across (0 when none was)."""
        spans = self.span_s[self.ok]
        return float(spans.max()) if spans.size else 0.0


def default_max_gap(t: np.ndarray) -> float:
    """``GAP_FACTOR`` × the median interval of an ascending time record."""
    dt = np.diff(t)
    dt = dt[dt > 0]
    return float(GAP_FACTOR * np.median(dt)) if dt.size else 0.0


def interpolator(source_t: np.ndarray, target_t: np.ndarray, max_gap_s: float) -> Interpolator:
    """How to interpolate a record sampled at ``source_t`` (ascending) onto ``target_t``."""
    src = np.asarray(source_t, float)
    x = np.asarray(target_t, float)
    n = src.size
    if n < 2:
        z = np.zeros(x.size, np.int64)
        return Interpolator(z, z, np.zeros(x.size), np.zeros(x.size, bool), np.zeros(x.size))
    right = np.clip(np.searchsorted(src, x, side="right"), 1, n - 1)
    left = right - 1
    span = src[right] - src[left]
    inside = (x >= src[0]) & (x <= src[-1])
    ok = inside & (span <= max_gap_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(span > 0, (x - src[left]) / np.where(span > 0, span, 1.0), 0.0)
    return Interpolator(left, right, weight, ok, span)


def estimate_offset(press_cycling_unix_s: float | None, cycler_unix_s: np.ndarray,
                    current_a: np.ndarray | None, where: str) -> float:
    """The offset to add to the cycler's times so that its first row with a current falls on
    the press run's start of cycling."""
    if press_cycling_unix_s is None:
        raise ConfigError(f"{where}: --offset cycling needs a run with a repeat step (its "
                          "start of cycling); give --offset SECONDS")
    if current_a is None:
        raise ConfigError(f"{where}: --offset cycling needs column 'Current / A'")
    on = np.flatnonzero(np.abs(np.nan_to_num(current_a)) > CURRENT_ON_A)
    if on.size == 0:
        raise ConfigError(f"{where}: column 'Current / A' is never non-zero: no start of cycling")
    return float(press_cycling_unix_s - cycler_unix_s[on[0]])


def check_overlap(a: np.ndarray, b: np.ndarray, where: str) -> None:
    """ConfigError when the two records' time ranges do not overlap."""
    if a.size == 0 or b.size == 0 or a[-1] < b[0] or b[-1] < a[0]:
        def rng(t: np.ndarray) -> str:
            return f"{t[0]:.3f}..{t[-1]:.3f}" if t.size else "empty"

        raise ConfigError(f"{where}: no overlap in Unix time: cycler {rng(a)} s, press run "
                          f"{rng(b)} s (give --offset SECONDS, or --offset cycling)")


__all__ = ["CURRENT_ON_A", "GAP_FACTOR", "Interpolator", "check_overlap", "default_max_gap",
           "estimate_offset", "interpolator"]
