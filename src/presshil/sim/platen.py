"""A rigid platen on N load cells: how the stack force splits between the channels.

Statics of a rigid plate on N equal elastic supports at ``r_i = (x_i, y_i)``: the supports
deflect as a plane, ``w_i = a + b dx_i + c dy_i`` (``d`` = relative to the supports'
centroid ``r̄``). Force and moment balance about the centroid give

    f_i = F / N + (dx_i, dy_i) · S⁻¹ · M,     S = Σ (dx_i, dy_i)ᵀ(dx_i, dy_i),

where ``M = F (e - r̄)`` is the moment of the load about the centroid and ``e`` the centre of
force. For N = 3 this is the exact, statically determinate split; for N = 4 it is the split of
a rigid platen on equal supports. The same equations predict the imbalance in the tests.

The centre of force moves for two reasons:

* an **off-centre die** (``die_offset_mm``): ``e`` is the die centre;
* a **tilted platen** (face slope ``s``, rad): the stack is compressed more on the low side,
  a linear pressure gradient ``(k_stack / A) s`` over the die face, whose moment is
  ``M_tilt = k_stack s R² / 4`` (second moment of a disc, ``I = π R⁴ / 4``). ``k_stack`` is the
  stiffness the tilt acts through (:func:`.specimen.tilt_stiffness`: the compaction curve's
  tangent, since the tilt is there while the powder compacts). The shift
  ``M_tilt / F`` is capped at ``R / 4``, where the far edge would lose contact.
"""

from __future__ import annotations

import math

import numpy as np

from .jitcache import jit
from .layout import (
    MAX_CH,
    P_CH_AX_PER_M,
    P_CH_AY_PER_M,
    P_CH_BASE,
    P_COF_X_M,
    P_COF_Y_M,
    P_DIE_RADIUS_M,
    P_LATE_TILT_X_RAD,
    P_LATE_TILT_Y_RAD,
    P_N_CH,
    P_TILT_X_RAD,
    P_TILT_Y_RAD,
)


def support_shares(positions_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroid and per-channel moment coefficients ``a_i = S⁻¹ (dx_i, dy_i)`` (1/m)."""
    pos = np.asarray(positions_m, dtype=float).reshape(-1, 2)
    centroid = pos.mean(axis=0)
    d = pos - centroid
    s = d.T @ d
    a = d @ np.linalg.pinv(s)  # pinv: one or two collinear supports carry no moment about the line
    return centroid, a[:, 0].copy(), a[:, 1].copy()


def predicted_channel_forces(
    positions_mm: np.ndarray, force_n: float, cof_mm: tuple[float, float]
) -> np.ndarray:
    """Channel forces (N) a rigid platen puts on supports at ``positions_mm`` for a load
    ``force_n`` whose centre of force is ``cof_mm`` (same frame as the positions)."""
    pos = np.asarray(positions_mm, dtype=float).reshape(-1, 2) / 1000.0
    centroid, ax, ay = support_shares(pos)
    mx = force_n * (cof_mm[0] / 1000.0 - centroid[0])
    my = force_n * (cof_mm[1] / 1000.0 - centroid[1])
    return force_n / len(pos) + ax * mx + ay * my


@jit
def split(p, force_n: float, k_stack_n_m: float, out, k_elastic_n_m: float) -> None:
    """Write the channel forces for total ``force_n`` into ``out[0:N]``.

    The platen's own tilt acts through ``k_stack_n_m`` (there while the powder compacted);
    a tilt added after forming (``P_LATE_TILT_*``, the ``platen_tilt`` fault) through the
    formed pellet's elastic stiffness ``k_elastic_n_m``.
    """
    nch = int(p[P_N_CH])
    mx = force_n * p[P_COF_X_M]
    my = force_n * p[P_COF_Y_M]
    if force_n > 0.0 and (p[P_TILT_X_RAD] != 0.0 or p[P_TILT_Y_RAD] != 0.0
                          or p[P_LATE_TILT_X_RAD] != 0.0 or p[P_LATE_TILT_Y_RAD] != 0.0):
        r = p[P_DIE_RADIUS_M]
        tx = (k_stack_n_m * p[P_TILT_X_RAD] + k_elastic_n_m * p[P_LATE_TILT_X_RAD]) * r * r / 4.0
        ty = (k_stack_n_m * p[P_TILT_Y_RAD] + k_elastic_n_m * p[P_LATE_TILT_Y_RAD]) * r * r / 4.0
        limit = force_n * r / 4.0
        mag = math.sqrt(tx * tx + ty * ty)
        if mag > limit:
            tx *= limit / mag
            ty *= limit / mag
        mx += tx
        my += ty
    base = force_n * p[P_CH_BASE]
    for i in range(nch):
        out[i] = base + p[P_CH_AX_PER_M + i] * mx + p[P_CH_AY_PER_M + i] * my
    for i in range(nch, MAX_CH):
        out[i] = 0.0
