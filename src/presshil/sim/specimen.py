"""The cell stack between the platens: a powder bed, a lithium layer, and breathing.

Three layers in series carry the same force F through the specimen die area A:

* **Powder bed** (composite cathode + sulfide separator). Irreversible densification follows
  Heckel's law, ``D(p) = 1 - (1 - D0) exp(-K p)``, driven by the highest pressure seen
  (``pmax``); the bed thickness is ``h = h_solid / D``. Its elastic modulus grows with density,
  ``E = E_dense * D**m`` (Gibson–Ashby-type scaling for porous solids), so the bed stiffens
  as it densifies and springs back elastically by ``F / k_el`` on release.
* **Lithium foil**. Elastic (E ≈ 7.8 GPa) in series, plus power-law creep with a
  deformation resistance ``s`` that hardens with strain and may recover with time
  (Bailey–Orowan)::

      de/dt = r_ref (sigma / (sigma_ref s))**n (1 - e / e_max)
      ds/dt = h de/dt - (s - 1) / tau

  At a fixed gap the stress relaxes, fast at first, then on and on at a slowing rate.
  ``e_max`` stands for the confinement of the die (the Li cannot flow further than the die
  wall or the voids it can reach). For Li metal, n, r_ref and h are fitted to the power law
  of Masias et al. (2019) acting on a foil squeezed in the die, where ``h`` is the foil's
  geometric stiffening and does not recover (``tau`` = 0: ``sims/fit_li_creep.py``); for
  the In-Li alloy, h and tau are estimates of hardening that recovers in minutes.
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
    P_LI_HARDENING,
    P_LI_MAX_STRAIN,
    P_LI_N,
    P_LI_RATE_REF_PER_S,
    P_LI_RECOVERY_S,
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

#: longest creep sub-step (s) of a macro step when the hardening does not recover
CREEP_SUBSTEP_S = 30.0


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
    pressure = force_n / p[P_SPEC_AREA_M2]
    if pressure < x[X_PMAX_PA] or p[P_POW_HECKEL_K_PER_PA] <= 0.0:
        return x[X_C_EL_M_N]
    return virgin_compliance(p, x, pressure)


@jit
def virgin_compliance(p, x, pressure_pa: float) -> float:
    """d(compression)/dF (m/N) on the compaction (virgin) curve at ``pressure_pa``."""
    area = p[P_SPEC_AREA_M2]
    c_el = x[X_C_EL_M_N]
    if p[P_POW_HECKEL_K_PER_PA] <= 0.0:
        return c_el
    # on the virgin curve pmax follows the pressure: differentiate through D(p)
    k = p[P_POW_HECKEL_K_PER_PA]
    d = relative_density(p, pressure_pa)
    dd_dp = k * (1.0 - d)
    h_s = p[P_POW_H_SOLID_M]
    m = p[P_POW_E_EXP]
    plastic = h_s * dd_dp / (d * d * area)
    dcel_dp = -(m + 1.0) * h_s / (p[P_POW_E_DENSE_PA] * area) * d ** (-(m + 2.0)) * dd_dp
    return plastic + c_el + pressure_pa * dcel_dp


@jit
def elastic_stiffness(x) -> float:
    """Stiffness (N/m) of the formed stack on unloading and reloading below its highest
    pressure: ``1 / c_el``. A tilt added to a formed pellet acts through it."""
    return 1.0 / x[X_C_EL_M_N]


@jit
def tilt_stiffness(p, x) -> float:
    """Stiffness (N/m) a platen tilt acts through: the tilt is there from first contact, so
    the extra compression on the low side was taken up along the compaction curve; the
    pressure gradient it left is that of the curve's tangent at the highest pressure reached
    (docs/simulator.md works it by hand). A formed pellet tilted afterwards would see the
    elastic stiffness ``1 / c_el`` instead."""
    if x[X_PMAX_PA] <= 0.0:
        return 1.0 / x[X_C_EL_M_N]
    return 1.0 / virgin_compliance(p, x, x[X_PMAX_PA])


@jit
def creep_rate_per_s(p, force_n: float, creep_strain: float, hardness: float) -> float:
    """Li creep strain rate at ``force_n`` in the present state (zero without Li or load)."""
    if p[P_LI_H_M] <= 0.0 or force_n <= 0.0:
        return 0.0
    sigma = force_n / p[P_SPEC_AREA_M2]
    geometric = max(0.0, 1.0 - creep_strain / p[P_LI_MAX_STRAIN])
    ratio = sigma / (p[P_LI_SIGMA_REF_PA] * hardness)
    return p[P_LI_RATE_REF_PER_S] * ratio ** p[P_LI_N] * geometric


@jit
def creep_evolve(p, force_n: float, creep_strain: float, hardness: float, dt_s: float):
    """(strain, hardness) after ``dt_s`` at constant force: hardening, then recovery.

    Over the step the geometric factor is frozen; the hardening part is then exact,
    ``s^(n+1) = s0^(n+1) + (n+1) h a dt`` with ``de = ds / h``, and the recovery part
    ``s - 1`` decays by ``exp(-dt / tau)`` (operator splitting, first order in ``dt``).
    """
    e = creep_strain
    s = hardness
    e_max = p[P_LI_MAX_STRAIN]
    if p[P_LI_H_M] > 0.0 and force_n > 0.0 and e_max - e > 1e-12 * e_max:
        sigma = force_n / p[P_SPEC_AREA_M2]
        a = p[P_LI_RATE_REF_PER_S] * (sigma / p[P_LI_SIGMA_REF_PA]) ** p[P_LI_N]
        a *= 1.0 - e / e_max
        h = p[P_LI_HARDENING]
        n = p[P_LI_N]
        if h > 0.0:
            s_new = (s ** (n + 1.0) + (n + 1.0) * h * a * dt_s) ** (1.0 / (n + 1.0))
            de = (s_new - s) / h
            s = s_new
        else:
            de = a * s ** (-n) * dt_s
        e = min(e + de, e_max)
    tau = p[P_LI_RECOVERY_S]
    if tau > 0.0 and s > 1.0:
        s = 1.0 + (s - 1.0) * math.exp(-dt_s / tau)
    return e, s


@jit
def creep_span(p, force_n: float, creep_strain: float, hardness: float, span_s: float):
    """(strain, hardness) after ``span_s`` at constant force: sub-steps of a tenth of the
    recovery time, or of ``CREEP_SUBSTEP_S`` without recovery, so the geometric factor frozen
    within a sub-step stays close (a macro step of the fast path may span hours)."""
    tau = p[P_LI_RECOVERY_S]
    sub = 0.1 * tau if tau > 0.0 else CREEP_SUBSTEP_S
    steps = 1
    if p[P_LI_H_M] > 0.0 and force_n > 0.0:
        steps = min(max(int(math.ceil(span_s / sub)), 1), 10000)
    dt = span_s / steps
    e = creep_strain
    s = hardness
    for _ in range(steps):
        e, s = creep_evolve(p, force_n, e, s, dt)
    return e, s
