"""The cell stack between the platens: a powder bed, a lithium layer, and breathing.

Three layers in series carry the same force F through the specimen die area A:

* **Powder bed** (composite cathode + sulfide separator). Irreversible densification follows
  Heckel's law, ``D(p) = 1 - (1 - D0) exp(-K p)``, driven by the highest pressure seen
  (``pmax``); the bed thickness is ``h = h_solid / D``. Its elastic modulus grows with density,
  ``E = E_dense * D**m`` (Gibson–Ashby-type scaling for porous solids), so the bed stiffens
  as it densifies and springs back elastically by ``F / k_el`` on release.
* **Lithium foil**. Elastic (E ≈ 7.8 GPa) in series, plus power-law creep
  ``de/dt = r_ref (sigma / sigma_ref)**n (1 - e / e_max)``: at a fixed gap the stress
  relaxes. ``e_max`` stands for the confinement of the die (Li stops flowing once it fills
  the voids it can reach).
* **Breathing**. The thickness change during cycling (``x[X_SWELL_M]``) is set by the cycler
  process as a rate per phase; the kernel only integrates it.

Compression ``delta`` is positive when the stack gets thinner. The ram position is
``F / k_frame + delta - swell - gap``.
"""

from __future__ import annotations

import math

from .jitcache import jit
from .layout import (
    P_LI_E_PA,
    P_LI_H_M,
    P_LI_MAX_STRAIN,
    P_LI_N,
    P_LI_RATE_REF_PER_S,
    P_LI_SIGMA_REF_PA,
    P_POW_D0,
    P_POW_E_DENSE_PA,
    P_POW_E_EXP,
    P_POW_H_SOLID_M,
    P_POW_HECKEL_K_PER_PA,
    P_SPEC_AREA_M2,
    X_C_EL_M_N,
    X_CREEP_STRAIN,
    X_PLASTIC_M,
    X_PMAX_PA,
)


@jit
def relative_density(p, pmax_pa: float) -> float:
    """Heckel: relative density of the powder bed after compaction to ``pmax_pa``."""
    return 1.0 - (1.0 - p[P_POW_D0]) * math.exp(-p[P_POW_HECKEL_K_PER_PA] * pmax_pa)


@jit
def elastic_compliance(p, pmax_pa: float) -> float:
    """Elastic compliance (m/N) of the whole stack after compaction to ``pmax_pa``."""
    area = p[P_SPEC_AREA_M2]
    d = relative_density(p, pmax_pa)
    h_pow = p[P_POW_H_SOLID_M] / d
    c = h_pow / (p[P_POW_E_DENSE_PA] * d ** p[P_POW_E_EXP] * area)
    if p[P_LI_H_M] > 0.0:
        c += p[P_LI_H_M] / (p[P_LI_E_PA] * area)
    return c


@jit
def plastic_compaction(p, pmax_pa: float) -> float:
    """Irreversible thinning (m) of the powder bed after compaction to ``pmax_pa``."""
    return p[P_POW_H_SOLID_M] / p[P_POW_D0] - p[P_POW_H_SOLID_M] / relative_density(p, pmax_pa)


@jit
def set_compaction(p, x, pmax_pa: float) -> None:
    """Record a new compaction state and cache what depends on it only."""
    x[X_PMAX_PA] = pmax_pa
    x[X_C_EL_M_N] = elastic_compliance(p, pmax_pa)
    x[X_PLASTIC_M] = plastic_compaction(p, pmax_pa)


@jit
def compression(p, x, force_n: float) -> float:
    """Stack compression (m) relative to the loose, unloaded stack, at the cached state."""
    return x[X_PLASTIC_M] + force_n * x[X_C_EL_M_N] + p[P_LI_H_M] * x[X_CREEP_STRAIN]


@jit
def tangent_compliance(p, x, force_n: float) -> float:
    """d(compression)/dF (m/N): plastic + elastic on the virgin curve, elastic below it."""
    area = p[P_SPEC_AREA_M2]
    pressure = force_n / area
    c_el = x[X_C_EL_M_N]
    if pressure < x[X_PMAX_PA] or p[P_POW_HECKEL_K_PER_PA] <= 0.0:
        return c_el
    # on the virgin curve pmax follows the pressure: differentiate through D(p)
    k = p[P_POW_HECKEL_K_PER_PA]
    d = relative_density(p, pressure)
    dd_dp = k * (1.0 - d)
    h_s = p[P_POW_H_SOLID_M]
    m = p[P_POW_E_EXP]
    plastic = h_s * dd_dp / (d * d * area)
    dcel_dp = -(m + 1.0) * h_s / (p[P_POW_E_DENSE_PA] * area) * d ** (-(m + 2.0)) * dd_dp
    return plastic + c_el + force_n * dcel_dp / area


@jit
def creep_rate_per_s(p, force_n: float, creep_strain: float) -> float:
    """Li creep strain rate at ``force_n`` (zero without a Li layer or load)."""
    if p[P_LI_H_M] <= 0.0 or force_n <= 0.0:
        return 0.0
    sigma = force_n / p[P_SPEC_AREA_M2]
    r0 = p[P_LI_RATE_REF_PER_S] * (sigma / p[P_LI_SIGMA_REF_PA]) ** p[P_LI_N]
    return r0 * max(0.0, 1.0 - creep_strain / p[P_LI_MAX_STRAIN])


@jit
def creep_step(p, force_n: float, creep_strain: float, dt_s: float) -> float:
    """Creep strain after ``dt_s`` at constant force.

    Exact for constant stress: the saturating law is linear in the strain, so
    ``e(t) = e_max - (e_max - e0) exp(-r0 t / e_max)``. Used for a single tick and for a
    macro step alike.
    """
    e_max = p[P_LI_MAX_STRAIN]
    if p[P_LI_H_M] <= 0.0 or force_n <= 0.0 or e_max - creep_strain <= 1e-12 * e_max:
        return creep_strain  # no Li, no load, or the confined Li has stopped flowing
    sigma = force_n / p[P_SPEC_AREA_M2]
    r0 = p[P_LI_RATE_REF_PER_S] * (sigma / p[P_LI_SIGMA_REF_PA]) ** p[P_LI_N]
    return e_max - (e_max - creep_strain) * math.exp(-r0 * dt_s / e_max)
