"""What a force verification may claim: the staircase, the covered working forces, the
reference instrument and the uncertainty of q.

Pure functions on numbers, like :mod:`.iso7500`, so that every line of the report can be redone
by hand (``docs/acceptance.md`` works the examples):

* :func:`iso_staircase_problems` / :func:`astm_staircase_problems`: does a set of forces (in %
  of the range maximum) follow ISO 7500-1 (≥ 5 forces at roughly equal intervals from 20 % to
  100 %, supplementary points below 20 % allowed) and ASTM E4 (neighbouring forces 1/20 to 1/3
  of the range apart)?
* :func:`supplementary_pct`: the ISO supplementary points (10, 5, 2, 1, 0.5, 0.2, 0.1 %) down
  to and including the lowest working force.
* :func:`coverage`: which working forces a class covers: from the lowest force that was judged
  for that class (inside its range, at or above ``k × r``; k = 400/200/100/67 for classes
  0.5/1/2/3) and passed, to the top of the verified range.
* :func:`resolution_at_rest_kn`: ``r`` by the ISO 7500-1 rule over a defined window: half the
  range of fluctuation of a reading, averaged over the readings of the window, plus one
  increment.
* :func:`reference_class_ok` and :data:`REFERENCE_CLASS_FOR`: the ISO 376 class of the
  force-proving instrument a machine class needs.
* :func:`q_uncertainty`: the budget of ``q`` at one force (reference, resolution,
  repeatability, temperature), standard uncertainties combined in quadrature, ``U = k u_c``
  with k from Student's t at the Welch–Satterthwaite degrees of freedom; budgets of f₀ and b
  (:func:`zero_uncertainty_pct`, :func:`repeatability_b_uncertainty_pct`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .iso7500 import LOWEST_FORCE_RESOLUTIONS, readings_and_increment

#: ISO 7500-1 supplementary forces below 20 % of the range, in %
SUPPLEMENTARY_PCT = (10.0, 5.0, 2.0, 1.0, 0.5, 0.2, 0.1)
#: the coarsest ISO 376 class of force-proving instrument each machine class may be verified with
REFERENCE_CLASS_FOR: dict[str, str] = {"0.5": "00", "1": "0.5", "2": "1", "3": "2"}
#: ISO 376 classes, finest first
ISO376_CLASSES = ("00", "0.5", "1", "2")
#: ISO 376 interpolation-error limit per class, %: taken as the reference's expanded
#: uncertainty (k = 2) when its certificate's uncertainty is not given
ISO376_INTERPOLATION_PCT: dict[str, float] = {"00": 0.025, "0.5": 0.05, "1": 0.10, "2": 0.20}
#: ambient temperature range of a verification, °C, and the largest change during a series, K
TEMPERATURE_RANGE_C = (10.0, 35.0)
MAX_TEMPERATURE_CHANGE_K = 2.0


def iso_staircase_problems(forces_pct: Sequence[float]) -> list[str]:
    """What keeps ``forces_pct`` from being an ISO 7500-1 staircase ([] when it is one).

    Forces at or above 20 % are the main series: at least 5, the lowest at most 25 %, the top
    exactly 100 %, every gap within 0.5–1.5 × the even spacing. Forces below 20 % are
    supplementary points and are allowed.
    """
    f = [float(x) for x in forces_pct]
    why: list[str] = []
    if any(not 0 < x <= 100 for x in f) or any(b <= a for a, b in pairwise(f)):
        return ["strictly increasing values in (0, 100] expected"]
    main = [x for x in f if x >= 20.0]
    if len(main) < 5:
        why.append(f"{len(main)} force(s) from 20 % to 100 %; ISO 7500-1 needs at least 5")
        return why
    if main[0] > 25.0:
        why.append(f"the main series starts at {main[0]:g} %; it must start at about 20 % "
                   "(at most 25 %)")
    if main[-1] != 100.0:
        why.append(f"the top force is {main[-1]:g} %; it must be 100 % of the range")
    even = (main[-1] - main[0]) / (len(main) - 1)
    for a, b in pairwise(main):
        if not 0.5 * even <= b - a <= 1.5 * even:
            why.append(f"{a:g} % → {b:g} % is not roughly even: gaps must lie within "
                       f"{0.5 * even:.3g}–{1.5 * even:.3g} % (even spacing {even:.3g} %)")
    return why


def astm_staircase_problems(forces_pct: Sequence[float]) -> list[str]:
    """What keeps ``forces_pct`` from an ASTM E4 staircase: neighbouring forces must lie
    between 1/20 and 1/3 of the range (top − lowest) apart ([] when they do)."""
    f = sorted(float(x) for x in forces_pct)
    if len(f) < 5:
        return [f"{len(f)} force(s); ASTM E4 needs at least 5"]
    span = f[-1] - f[0]
    why = []
    for a, b in pairwise(f):
        if not span / 20.0 - 1e-9 <= b - a <= span / 3.0 + 1e-9:
            why.append(f"{a:g} % → {b:g} % is {b - a:.3g} % apart; ASTM E4 allows "
                       f"{span / 20:.3g}–{span / 3:.3g} % (1/20 to 1/3 of the {span:.3g} % range)")
    return why


def supplementary_pct(lowest_working_pct: float) -> list[float]:
    """The ISO supplementary points below 20 % needed to reach ``lowest_working_pct``: 10, 5,
    2, … % down to and including the first one at or below it (none at or above 20 %)."""
    if lowest_working_pct >= 20.0:
        return []
    out = []
    for x in SUPPLEMENTARY_PCT:
        out.append(x)
        if x <= lowest_working_pct:
            break
    return sorted(out)


def resolution_at_rest_kn(readings_at_rest_kn: Sequence[float], n_readings: int,
                          increment_kn: float | None = None) -> float:
    """``r`` from the indications at rest, split into ``n_readings`` consecutive readings.

    ISO 7500-1 (6.4.6): one increment when the indication is steady, else half the range of
    fluctuation plus one increment. The range of one reading's fluctuation is a noisy
    statistic (over 2 s of a noisy indicator it moves ±20 % from one run to the next), so it
    is taken per reading and averaged over ``n_readings`` readings: the same rule, stable from
    run to run. ``increment_kn`` as in :func:`~.iso7500.relative_resolution_kn` (estimated
    from the smallest step between distinct readings when absent).
    """
    x, increment_kn = readings_and_increment(readings_at_rest_kn, increment_kn)
    if float(x.max() - x.min()) <= increment_kn:
        return float(increment_kn)
    chunks = np.array_split(x, max(1, min(int(n_readings), x.size)))
    half_range = float(np.mean([float(c.max() - c.min()) / 2.0 for c in chunks]))
    return half_range + float(increment_kn)


@dataclass(frozen=True)
class Coverage:
    """Which working forces a class covers, and why the others are not."""

    #: the class's lower limit: the lowest force judged for the class (and passed)
    lower_limit_kn: float
    upper_limit_kn: float
    covered: tuple[float, ...]  # working forces, kN
    not_covered: tuple[tuple[float, str], ...]  # (force kN, reason)


def lowest_judged_kn(nominals_kn: Sequence[float], main_lowest_kn: float, resolution_kn: float,
                     cls: str) -> float:
    """The lowest force judged for class ``cls``: the main series always, a supplementary
    point only at or above the class's lower limit ``k × r``."""
    floor = LOWEST_FORCE_RESOLUTIONS[cls] * resolution_kn
    judged = [float(f) for f in nominals_kn if f >= main_lowest_kn or f >= floor]
    if not judged:
        raise ValueError(f"no force was judged for class {cls}")
    return min(judged)


def coverage(
    working_kn: Sequence[float], lowest_kn: float, top_kn: float, resolution_kn: float, cls: str,
    met: bool = True,
) -> Coverage:
    """The working forces inside ``[lowest_kn, top_kn]`` for class ``cls``.

    ``lowest_kn`` is the lowest force judged *for this class* (:func:`lowest_judged_kn`):
    a point measured below ``k × r`` was not judged for the class, and nothing between it and
    the next judged force was verified for it. ``met``: the class held at every judged force
    (when it did not, it covers nothing).
    """
    k = LOWEST_FORCE_RESOLUTIONS[cls]
    lower = max(lowest_kn, k * resolution_kn)
    covered: list[float] = []
    missing: list[tuple[float, str]] = []
    tol = 1e-9 * max(top_kn, 1.0)
    for f in sorted(float(x) for x in working_kn):
        if not met:
            missing.append((f, f"not covered by class {cls}: the class is not met"))
        elif f > top_kn + tol:
            missing.append((f, f"not covered by class {cls}: above the verified range "
                               f"(top {top_kn:.4g} kN)"))
        elif f < k * resolution_kn - tol:
            missing.append((f, f"not covered by class {cls}: below {k:g} × r = "
                               f"{k * resolution_kn:.4g} kN, the class {cls} lower limit"))
        elif f < lowest_kn - tol:
            missing.append((f, f"not covered by class {cls}: below {lowest_kn:.4g} kN, the "
                               f"lowest force judged for class {cls}; no force between was "
                               "verified for it"))
        else:
            covered.append(f)
    return Coverage(lower, top_kn, tuple(covered), tuple(missing))


def reference_class_ok(reference_class: str, machine_class: str) -> bool:
    """Is an ISO 376 ``reference_class`` instrument fine enough to verify ``machine_class``?"""
    need = REFERENCE_CLASS_FOR[machine_class]
    return ISO376_CLASSES.index(reference_class) <= ISO376_CLASSES.index(need)


#: coverage probability of the expanded uncertainties (k = 2.00 for infinite degrees of freedom)
COVERAGE_PROBABILITY = 0.9545


def coverage_factor(dof: float) -> float:
    """``k`` from Student's t for ``dof`` effective degrees of freedom at 95.45 % (two-sided):
    2.00 for ∞, 4.53 for 2, 2.87 for 4 (JCGM 100, G.3)."""
    from scipy.stats import norm, t

    if not dof > 0:
        return math.nan
    p = 0.5 + COVERAGE_PROBABILITY / 2.0
    return float(norm.ppf(p) if math.isinf(dof) else t.ppf(p, dof))


def welch_satterthwaite(components: Sequence[tuple[float, float]]) -> float:
    """Effective degrees of freedom ``u_c⁴ / Σ uᵢ⁴/νᵢ`` of ``(uᵢ, νᵢ)`` (νᵢ = inf for a Type B
    component taken as exactly known; inf when every component is)."""
    u_c2 = sum(u * u for u, _ in components)
    den = sum(u**4 / nu for u, nu in components if math.isfinite(nu) and u > 0)
    return math.inf if den == 0 else u_c2 * u_c2 / den


@dataclass(frozen=True)
class QBudget:
    """Standard uncertainties of q at one force, in % of the force, and their combination.

    Degrees of freedom: the repeatability ``n − 1`` (Type A from n series); the reference,
    resolution and temperature are Type B taken as exactly known (∞). ``U = k·u_c`` with k from
    Student's t at the Welch–Satterthwaite effective degrees of freedom.
    """

    nominal_kn: float
    u_reference_pct: float
    u_resolution_pct: float
    u_repeatability_pct: float
    u_temperature_pct: float
    repeatability_dof: float = math.inf

    @property
    def u_combined_pct(self) -> float:
        """Root sum of squares of the four components."""
        return math.sqrt(self.u_reference_pct**2 + self.u_resolution_pct**2
                         + self.u_repeatability_pct**2 + self.u_temperature_pct**2)

    @property
    def effective_dof(self) -> float:
        """Welch–Satterthwaite effective degrees of freedom."""
        return welch_satterthwaite([(self.u_reference_pct, math.inf),
                                    (self.u_resolution_pct, math.inf),
                                    (self.u_repeatability_pct, self.repeatability_dof),
                                    (self.u_temperature_pct, math.inf)])

    @property
    def coverage_factor(self) -> float:
        """``k`` from Student's t at :attr:`effective_dof`, 95.45 %."""
        return coverage_factor(self.effective_dof)

    @property
    def expanded_pct(self) -> float:
        """``U = k · u_c``."""
        return self.coverage_factor * self.u_combined_pct


def q_uncertainty(
    nominal_kn: float,
    normalised_reference_kn: Sequence[float],
    resolution_kn: float,
    reference_expanded_pct: float,
    temperature_coefficient_pct_per_k: float,
    temperature_deviation_k: float,
) -> QBudget:
    """The uncertainty budget of q at ``nominal_kn``.

    * reference: its expanded uncertainty (k = 2) halved;
    * resolution: the zero and the load reading each within ±r/2 (rectangular), so
      ``√2 · (r/F)/√12 = a/√6``;
    * repeatability: the standard deviation of the mean of the series' ``X``, ``s/√n``, in %
      of their mean;
    * temperature: the reference's sensitivity change ``α·ΔT`` as a rectangular half-width,
      ``α·ΔT/√3``, with ΔT the deviation from its calibration temperature.
    """
    xs = np.asarray(normalised_reference_kn, float)
    a_pct = resolution_kn / nominal_kn * 100.0
    mean = float(xs.mean())
    rep = float(xs.std(ddof=1) / math.sqrt(xs.size) / mean * 100.0) if xs.size > 1 else math.nan
    return QBudget(
        nominal_kn=nominal_kn,
        u_reference_pct=reference_expanded_pct / 2.0,
        u_resolution_pct=a_pct / math.sqrt(6.0),
        u_repeatability_pct=rep,
        u_temperature_pct=abs(temperature_coefficient_pct_per_k * temperature_deviation_k)
        / math.sqrt(3.0),
        repeatability_dof=float(xs.size - 1) if xs.size > 1 else math.nan,
    )


def zero_uncertainty_pct(resolution_kn: float, range_max_kn: float) -> float:
    """Standard uncertainty of f₀, % of F_N: the zero reading within ±r/2 (rectangular),
    ``r / (2√3) / F_N`` (Type B, ∞ degrees of freedom: U = 2u)."""
    return resolution_kn / (2.0 * math.sqrt(3.0)) / range_max_kn * 100.0


def repeatability_b_uncertainty_pct(a_pct: float) -> float:
    """Standard uncertainty of b, %: two readings each within ±r/2, ``a / √6`` (Type B, ∞)."""
    return a_pct / math.sqrt(6.0)


__all__ = [
    "ISO376_CLASSES",
    "ISO376_INTERPOLATION_PCT",
    "MAX_TEMPERATURE_CHANGE_K",
    "REFERENCE_CLASS_FOR",
    "SUPPLEMENTARY_PCT",
    "TEMPERATURE_RANGE_C",
    "Coverage",
    "QBudget",
    "astm_staircase_problems",
    "coverage",
    "coverage_factor",
    "repeatability_b_uncertainty_pct",
    "welch_satterthwaite",
    "zero_uncertainty_pct",
    "iso_staircase_problems",
    "lowest_judged_kn",
    "q_uncertainty",
    "reference_class_ok",
    "resolution_at_rest_kn",
    "supplementary_pct",
]
