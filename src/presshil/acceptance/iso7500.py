"""ISO 7500-1 and ASTM E4 arithmetic: readings in, relative errors and a class out.

Pure functions on numbers, so that every value in a report can be redone by hand
(``docs/acceptance.md`` works an example). The verification follows the *indicated force*
method: the press is brought to a nominal indicated force ``F_i`` and the reference
transducer (ISO 376) is read. A press regulates to its own reading, which never sits exactly
on the nominal, so each reference reading is first scaled to the nominal,
``X = F_ref · F_i / F_ind``, where ``F_ind`` is the indicated force averaged over the same
window as ``F_ref``. Then, per nominal force (ISO 7500-1:2018, 6.4):

* accuracy ``q = (F_i − X̄) / X̄ · 100`` with ``X̄`` the mean over the increasing series;
* repeatability ``b = (X_max − X_min) / X̄ · 100`` over the increasing series;
* reversibility ``v = (X' − X) / X · 100``, ``X'`` from the decreasing series and ``X`` from the
  increasing series just before it (not defined at the maximum, where the load turns);
* zero ``f₀ = F_i0 / F_N · 100``, the indicated residual after unloading over the range maximum
  (the worst of the series);
* resolution ``a = r / F_i · 100``, ``r`` the indicator's resolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: ISO 7500-1 Table 2 limits in %: class -> (q, b, v, f0, a)
CLASS_LIMITS_PCT: dict[str, tuple[float, float, float, float, float]] = {
    "0.5": (0.5, 0.5, 0.75, 0.05, 0.25),
    "1": (1.0, 1.0, 1.5, 0.1, 0.5),
    "2": (2.0, 2.0, 3.0, 0.2, 1.0),
    "3": (3.0, 3.0, 4.5, 0.3, 1.5),
}
#: lowest verifiable force, in multiples of the resolution, per class (ISO 7500-1, 6.4.6)
LOWEST_FORCE_RESOLUTIONS: dict[str, float] = {"0.5": 400.0, "1": 200.0, "2": 100.0, "3": 67.0}
CLASSES = tuple(CLASS_LIMITS_PCT)
PARAMETERS = ("q", "b", "v", "f0", "a")


@dataclass(frozen=True)
class Reading:
    """One dwell at a nominal force: mean indicated and mean reference force, kN."""

    nominal_kn: float
    indicated_kn: float
    reference_kn: float

    @property
    def normalised_reference_kn(self) -> float:
        """The reference reading scaled to the nominal indicated force, ``X = F_ref·F_i/F_ind``."""
        if self.indicated_kn <= 0:
            return math.nan
        return self.reference_kn * self.nominal_kn / self.indicated_kn


@dataclass(frozen=True)
class ForceRow:
    """ISO 7500-1 results at one nominal force; ``v_pct`` is NaN where it is not defined."""

    nominal_kn: float
    reference_mean_kn: float
    q_pct: float
    b_pct: float
    v_pct: float
    a_pct: float
    series_error_pct: tuple[float, ...]  # (F_i − X_j)/X_j per increasing series (ASTM E4 error)


@dataclass(frozen=True)
class ClassResult:
    """The class the results support and, for each class, what keeps the press out of it."""

    achieved: str | None  # "0.5", "1", "2", "3" or None
    failures: dict[str, list[str]]  # class -> human-readable reasons (empty list = met)


def readings_and_increment(readings_at_rest_kn: Sequence[float],
                           increment_kn: float | None) -> tuple[np.ndarray, float]:
    """The readings at rest as an array and the indicator's increment: as given, else the
    smallest non-zero difference between distinct readings. ``ValueError`` with what to give
    when there are no readings, or all are equal and no increment is given."""
    x = np.asarray(readings_at_rest_kn, float)
    if x.size == 0:
        raise ValueError("no readings at rest to estimate the resolution from")
    if increment_kn is None:
        steps = np.diff(np.unique(x))
        if not steps.size:
            raise ValueError(
                f"the {x.size} readings at rest are all {x[0]:g} kN, so the indicator's "
                "increment cannot be estimated from them; give it as "
                "[force_verification].indicator_resolution_kn")
        increment_kn = float(steps.min())
    if not increment_kn > 0:
        raise ValueError(f"the indicator increment must be > 0 kN, got {increment_kn!r}")
    return x, float(increment_kn)


def relative_resolution_kn(readings_at_rest_kn: Sequence[float], increment_kn: float | None = None) -> float:
    """Resolution ``r`` of the force indicator from readings taken at rest (ISO 7500-1, 6.4.6).

    ``increment_kn`` is one step of the last active digit; when not given it is estimated as
    the smallest non-zero difference between distinct readings. ``r`` is at least one
    increment, never 0: steady readings give ``r`` = one increment; readings that fluctuate
    by more than one increment give half the range of fluctuation plus one increment.
    Raises ``ValueError`` when the readings are all equal and no increment is given (nothing
    to estimate it from).
    """
    x, increment_kn = readings_and_increment(readings_at_rest_kn, increment_kn)
    spread = float(x.max() - x.min())
    if spread <= increment_kn:
        return float(increment_kn)
    return spread / 2.0 + float(increment_kn)


def force_rows(
    increasing: Sequence[Sequence[Reading]],
    decreasing: Sequence[Reading],
    resolution_kn: float,
) -> list[ForceRow]:
    """Per-force q, b, v, a from the increasing series (one list of readings per series, each
    in the same nominal order) and the decreasing series (any order; matched by nominal)."""
    if not increasing:
        raise ValueError("need at least one increasing series")
    nominals = [r.nominal_kn for r in increasing[0]]
    for j, series in enumerate(increasing):
        if [r.nominal_kn for r in series] != nominals:
            raise ValueError(f"increasing series {j + 1} has other nominal forces than series 1")
    down = {r.nominal_kn: r for r in decreasing}
    last = increasing[-1]
    rows = []
    for i, f_nom in enumerate(nominals):
        xs = np.array([series[i].normalised_reference_kn for series in increasing])
        x_mean = float(xs.mean())
        q = (f_nom - x_mean) / x_mean * 100.0
        b = float(xs.max() - xs.min()) / x_mean * 100.0
        v = math.nan
        if f_nom in down and f_nom != max(nominals):
            x_up = last[i].normalised_reference_kn
            v = (down[f_nom].normalised_reference_kn - x_up) / x_up * 100.0
        a = resolution_kn / f_nom * 100.0
        errors = tuple(float((f_nom - x) / x * 100.0) for x in xs)
        rows.append(ForceRow(f_nom, x_mean, float(q), float(b), float(v), float(a), errors))
    return rows


def zero_error_pct(residuals_kn: Sequence[float], range_max_kn: float) -> float:
    """``f₀``: the largest |indicated residual after unloading| over the range maximum, in %."""
    if not residuals_kn:
        return math.nan
    worst = max(residuals_kn, key=abs)
    return float(worst) / range_max_kn * 100.0


def classify(rows: Sequence[ForceRow], f0_pct: float, resolution_kn: float,
             main_lowest_kn: float | None = None) -> ClassResult:
    """The best ISO 7500-1 class whose every limit holds at every force (None if class 3 fails).

    ``main_lowest_kn`` is the lowest force of the main series (about 20 % of the range;
    default: the lowest force). A class's range starts at ``k × r`` (k = 400/200/100/67): a
    supplementary force below it is outside that class's range and not judged for it, but the
    main series must lie inside.
    """
    failures: dict[str, list[str]] = {}
    lowest = min(r.nominal_kn for r in rows) if main_lowest_kn is None else main_lowest_kn
    for cls, (q_lim, b_lim, v_lim, f0_lim, a_lim) in CLASS_LIMITS_PCT.items():
        why: list[str] = []
        floor = LOWEST_FORCE_RESOLUTIONS[cls] * resolution_kn
        for r in rows:
            if r.nominal_kn < lowest and r.nominal_kn < floor:
                continue  # a supplementary point below this class's lower limit
            at = f"at {r.nominal_kn:.4g} kN"
            if not abs(r.q_pct) <= q_lim:
                why.append(f"q = {r.q_pct:+.3f} % {at} (limit ±{q_lim:g} %)")
            if not r.b_pct <= b_lim:
                why.append(f"b = {r.b_pct:.3f} % {at} (limit {b_lim:g} %)")
            if not math.isnan(r.v_pct) and not abs(r.v_pct) <= v_lim:
                why.append(f"v = {r.v_pct:+.3f} % {at} (limit ±{v_lim:g} %)")
            if not r.a_pct <= a_lim:
                why.append(f"a = {r.a_pct:.3f} % {at} (limit {a_lim:g} %)")
        if not abs(f0_pct) <= f0_lim:
            why.append(f"f0 = {f0_pct:+.4f} % (limit ±{f0_lim:g} %)")
        need = LOWEST_FORCE_RESOLUTIONS[cls] * resolution_kn
        if lowest < need:
            why.append(f"lowest force {lowest:.4g} kN < {LOWEST_FORCE_RESOLUTIONS[cls]:g} × "
                       f"resolution = {need:.4g} kN")
        failures[cls] = why
    achieved = next((c for c in CLASSES if not failures[c]), None)
    return ClassResult(achieved, failures)


def class_rank(cls: str | None) -> int:
    """Order classes best first: "0.5" → 0 … "3" → 3, None → 4 (for "at least class X")."""
    return CLASSES.index(cls) if cls in CLASSES else len(CLASSES)


@dataclass(frozen=True)
class AstmResult:
    """ASTM E4 verdict: worst error, worst difference between two runs, lower-limit check."""

    max_error_pct: float
    max_run_difference_pct: float
    lower_limit_kn: float
    passed_error: bool
    passed_repeatability: bool
    passed_lower_limit: bool

    @property
    def passed(self) -> bool:
        """All three ASTM E4 conditions hold."""
        return self.passed_error and self.passed_repeatability and self.passed_lower_limit


def astm_e4(
    rows: Sequence[ForceRow],
    resolution_kn: float,
    max_error_pct: float = 1.0,
    max_run_difference_pct: float = 1.0,
) -> AstmResult:
    """ASTM E4: every error within ±``max_error_pct``; runs 1 and 2 agree within
    ``max_run_difference_pct`` at every force; the lowest force ≥ 200 × resolution."""
    errors = [e for r in rows for e in r.series_error_pct]
    worst = max(errors, key=abs)
    diffs = [abs(r.series_error_pct[0] - r.series_error_pct[1]) for r in rows
             if len(r.series_error_pct) >= 2]
    worst_diff = max(diffs) if diffs else math.nan
    lower = 200.0 * resolution_kn
    return AstmResult(
        max_error_pct=float(worst),
        max_run_difference_pct=float(worst_diff),
        lower_limit_kn=lower,
        passed_error=abs(worst) <= max_error_pct,
        passed_repeatability=bool(worst_diff <= max_run_difference_pct),
        passed_lower_limit=min(r.nominal_kn for r in rows) >= lower,
    )


__all__ = [
    "CLASSES",
    "CLASS_LIMITS_PCT",
    "LOWEST_FORCE_RESOLUTIONS",
    "PARAMETERS",
    "AstmResult",
    "ClassResult",
    "ForceRow",
    "Reading",
    "astm_e4",
    "class_rank",
    "classify",
    "force_rows",
    "relative_resolution_kn",
    "zero_error_pct",
]
