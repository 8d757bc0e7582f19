"""Metrics on recorded samples, and the expect keys that turn them into verdicts.

- :mod:`.signals`: pure signal metrics (numpy arrays in, numbers out), written so that a
  person can redo them by hand (``docs/protocols.md`` states each one);
- :mod:`.segment`: a step's samples (:class:`Segment`) and a criterion's :class:`Verdict`;
- :mod:`.criteria`: the expect-key registry (:data:`CRITERIA`, each key declared once as a
  :class:`Criterion`) and :func:`evaluate` / :func:`evaluate_all` / :func:`evaluate_cycles`;
- :mod:`.pressure`, :mod:`.spatial`, :mod:`.cell`: the criteria themselves, each declared
  on the function that measures it: on the pressure; on the load cells' forces; on the
  cell's stroke, temperature and growth;
- :mod:`.rate`: the rate line of every ramp and release (``max_rate_deviation_pct``), judged
  by the runner against the commanded rate.

Importing the package registers every built-in criterion.
"""

from __future__ import annotations

from . import cell, pressure, rate, spatial  # noqa: F401  (each registers its criteria)
from .cell import dilatometry_range_um, growth_per_cycle_um, irreversible_growth_um
from .criteria import (
    CRITERIA,
    EXPECT_KEYS,
    REPEAT_KEYS,
    CriteriaView,
    Criterion,
    allowed_keys,
    criterion,
    evaluate,
    evaluate_all,
    evaluate_cycles,
    register,
)
from .segment import Segment, Verdict
from .signals import (
    MEDIAN_HALF_WIDTH_S,
    default_band_mpa,
    drift_per_min,
    iae,
    in_band_pct,
    max_abs_error,
    median_half_width_samples,
    moving_median,
    normalized_response,
    overshoot_pct,
    rise_time_s,
    rms_error,
    settling_time_s,
    steady_state_error,
)
from .spatial import (
    cof_limit_for_pellet_mm,
    cof_offset_mm,
    cv_pct,
    nonuniformity_pct,
    pellet_nonuniformity_pct,
)

__all__ = [
    "CRITERIA",
    "EXPECT_KEYS",
    "MEDIAN_HALF_WIDTH_S",
    "REPEAT_KEYS",
    "CriteriaView",
    "Criterion",
    "Segment",
    "Verdict",
    "allowed_keys",
    "cof_limit_for_pellet_mm",
    "cof_offset_mm",
    "criterion",
    "cv_pct",
    "default_band_mpa",
    "dilatometry_range_um",
    "drift_per_min",
    "evaluate",
    "evaluate_all",
    "evaluate_cycles",
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
    "register",
    "rise_time_s",
    "rms_error",
    "settling_time_s",
    "steady_state_error",
]
