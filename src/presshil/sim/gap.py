"""Fast path of the constant gap: a macro step over a settled ram-position hold.

With the ram held (``FW_GAP_HOLD``, position loop settled), the frame and the stack keep a
constant total length in the elastic regime::

    F (1/k_frame + c_el) + h_Li e - swell = const

so the force follows the cell: breathing (a constant rate within a cycler phase) and Li
creep, which itself depends on the force. :func:`macro_step_gap` integrates that pair —
force from the invariant, creep from :func:`presshil.sim.specimen.creep_evolve` — in
sub-steps that change the force by at most 0.1 %, then puts the actuator at the output that
holds the ram (leak and oil compression on a hydraulic press, standstill on a screw press),
fills the sensor delay line and moves the load cells' hysteresis along the force change.
The last tick before the next event is computed normally, as for the regulated hold.
"""

from __future__ import annotations

from . import actuator, platen, sensors, specimen
from .jitcache import jit
from .layout import (
    N_COUNTER,
    N_MACRO_STEPS,
    N_MACRO_TICKS,
    N_TICK,
    P_DT_S,
    P_FRAME_K_N_M,
    P_LEAK_LAMBDA,
    P_LI_H_M,
    P_LI_RECOVERY_S,
    P_N_CH,
    P_OIL_COMPLIANCE_M_N,
    P_SPEC_AREA_M2,
    RING_LEN,
    X_ACT_FLOW,
    X_C_EL_M_N,
    X_CREEP_HARDNESS,
    X_CREEP_STRAIN,
    X_DFILT,
    X_EFILT_N,
    X_FORCE_N,
    X_LEAK_EXTRA_LAMBDA,
    X_PMAX_PA,
    X_PREV_MEAS_N,
    X_RING_N,
    X_SWELL_M,
    X_SWELL_RATE_M_S,
)

#: largest relative force change of one sub-step
_DF_REL = 1e-3
#: a jump that needs more sub-steps than this is left to the tick-by-tick path
_MAX_SUBSTEPS = 200_000


@jit
def macro_step_gap(p, x, n, ticks: int, ch_true, kind: int) -> bool:
    """Jump ``ticks`` ticks along a settled constant gap; False (and no change) if not
    feasible (out of the elastic regime, force lost, too many sub-steps, valve limit)."""
    dt = p[P_DT_S]
    span = ticks * dt
    f = x[X_FORCE_N]
    if f <= 0.0:
        return False
    c_fs = 1.0 / p[P_FRAME_K_N_M] + x[X_C_EL_M_N]
    h_li = p[P_LI_H_M]
    e = x[X_CREEP_STRAIN]
    s = x[X_CREEP_HARDNESS]
    swell = x[X_SWELL_M]
    rate_sw = x[X_SWELL_RATE_M_S]
    invariant = f * c_fs + h_li * e - swell
    f_elastic_max = x[X_PMAX_PA] * p[P_SPEC_AREA_M2]
    tau = p[P_LI_RECOVERY_S]
    t = 0.0
    steps = 0
    while t < span:
        d = span - t
        if tau > 0.0:
            d = min(d, 0.1 * tau)
        v_creep = h_li * specimen.creep_rate_per_s(p, f, e, s)
        speed = abs(rate_sw - v_creep)  # thickness change the force answers
        if speed > 0.0:
            d = min(d, _DF_REL * f * c_fs / speed)
        e, s = specimen.creep_evolve(p, f, e, s, d)
        swell += rate_sw * d
        f = (invariant + swell - h_li * e) / c_fs
        t += d
        steps += 1
        if steps > _MAX_SUBSTEPS or f <= 0.0 or f >= f_elastic_max:
            return False
    # the output that holds the ram: dF/dt from the invariant, then leak and oil compression
    df_dt = (rate_sw - h_li * specimen.creep_rate_per_s(p, f, e, s)) / c_fs
    lam = p[P_LEAK_LAMBDA] + x[X_LEAK_EXTRA_LAMBDA]
    v_src = lam * f + p[P_OIL_COMPLIANCE_M_N] * df_dt
    if not actuator.hold_output(p, x, kind, v_src, f):
        return False
    # load cells: hysteresis moved along the force change, delay line at the new forces
    nch = int(p[P_N_CH])
    platen.split(p, f, specimen.tilt_stiffness(p, x), ch_true, specimen.elastic_stiffness(x))
    meas = 0.0
    for i in range(nch):
        sensors.travel_hysteresis(p, x, i, ch_true[i])
        meas += sensors.static_reading(p, x, i, ch_true[i])
        base = X_RING_N + i * RING_LEN
        for j in range(RING_LEN):
            x[base + j] = ch_true[i]
    x[X_FORCE_N] = f
    x[X_CREEP_STRAIN] = e
    x[X_CREEP_HARDNESS] = s
    x[X_SWELL_M] = swell
    x[X_ACT_FLOW] = v_src - lam * f
    x[X_EFILT_N] = 0.0
    x[X_DFILT] = df_dt
    x[X_PREV_MEAS_N] = meas
    n[N_TICK] += ticks
    n[N_COUNTER] += ticks
    n[N_MACRO_STEPS] += 1
    n[N_MACRO_TICKS] += ticks
    return True


__all__ = ["macro_step_gap"]
