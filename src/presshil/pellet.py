"""The pellet's pressure spread from what a real press knows, with its uncertainty.

A press knows where its load cells are mounted (relative to the press axis) and where the die
was *meant* to be: a declared nominal position and a placement tolerance (a centring fixture
holds ±0.02 mm; by hand, ±0.5 mm). It does not know where the die actually is. The centre of
force ``c = Σ Fᵢ·rᵢ / Σ Fᵢ`` is therefore compared with the declared die position, and the
offset ``e = |c − d|`` carries the uncertainty of that declaration and of the channels' gains:

* placement: ±T on each axis, rectangular: ``u = T / √3``;
* channel gains, each with a relative standard uncertainty ``u_g``: ``∂c/∂gᵢ = Fᵢ (rᵢ − c) / ΣF``,
  so ``u_c² = Σ (Fᵢ |rᵢ − c| / ΣF)² u_g²`` (four cells at (±40, ±40) mm sharing the load
  equally: ``u_c = 28.3 mm × u_g``, 0.014 mm for 0.05 %).

``U = 2·√(u_place² + u_gain²)`` and the estimated pellet spread ``800·e/R`` carries ``800·U/R``.
The verdict is PASS only when value + U ≤ limit (guarded acceptance). A centre-of-force
reading is blind to radially symmetric non-uniformity (die-wall friction, punch cupping):
those keep the centre of force on the axis.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: the relative standard uncertainty of a load-cell channel's gain, %: an estimate for a
#: channel calibrated to ±0.1 % (rectangular: 0.058 %, rounded); the simulated presses' cells
#: have gain errors of -0.08 to +0.05 %
DEFAULT_GAIN_UNCERTAINTY_PCT = 0.05
#: coverage factor of the offset's expanded uncertainty (about 95 %)
K = 2.0
BLIND_SPOT = ("a centre-of-force estimate cannot see radially symmetric non-uniformity "
              "(die-wall friction, punch cupping)")
#: above this spread the linear pressure field would be negative at one edge
LIFT_OFF_PCT = 200.0


def offset_from_die_mm(mean_forces: Any, positions_mm: Any,
                       die_position_mm: tuple[float, float]) -> float:
    """``|c − d|``: the centre of force from the declared die position (same frame)."""
    f = np.asarray(mean_forces, float)
    xy = np.asarray(positions_mm, float).reshape(-1, 2)
    c = (f[:, None] * xy).sum(axis=0) / f.sum()
    return float(math.hypot(c[0] - die_position_mm[0], c[1] - die_position_mm[1]))


def offset_uncertainty_mm(mean_forces: Any, positions_mm: Any, placement_tolerance_mm: float,
                          gain_uncertainty_pct: float = DEFAULT_GAIN_UNCERTAINTY_PCT
                          ) -> tuple[float, float, float]:
    """``(u_placement, u_gain, U)`` of the offset, mm (``U = 2 √(u_p² + u_g²)``)."""
    f = np.asarray(mean_forces, float)
    xy = np.asarray(positions_mm, float).reshape(-1, 2)
    total = f.sum()
    c = (f[:, None] * xy).sum(axis=0) / total
    lever = np.hypot(*(xy - c).T)
    u_gain = float(math.sqrt(((f * lever / total) ** 2).sum()) * gain_uncertainty_pct / 100.0)
    u_place = placement_tolerance_mm / math.sqrt(3.0)
    return u_place, u_gain, K * math.hypot(u_place, u_gain)


__all__ = [
    "BLIND_SPOT",
    "DEFAULT_GAIN_UNCERTAINTY_PCT",
    "K",
    "LIFT_OFF_PCT",
    "offset_from_die_mm",
    "offset_uncertainty_mm",
]
