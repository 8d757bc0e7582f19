"""The per-tick integration kernel: sensors → firmware → actuator → plant, in numba.

:func:`advance` runs ticks until ``tick_end``. Between SimPy events nothing outside the
press changes, so the Python side calls it once per stretch between events; the per-tick cost
is that of compiled code (well under a microsecond).

**Fast path.** When the firmware holds a settled setpoint (HOLD, filtered error inside the
settling band for ``settle_ticks``, no fault, no injected transient), the force is constant
and only slow states move: Li creep (at constant stress, in sub-steps, see
:func:`presshil.sim.specimen.creep_span`), breathing thickness (constant rate within a cycler
phase), and the actuator output that balances them. :func:`macro_step` jumps to one tick
before the next boundary (the caller's ``tick_end`` — the next SimPy event — or the watchdog
deadline) and sets the controller's integrator and the actuator to the quasi-static balance;
the last tick is computed normally, so the sample there carries its own noise. Commands,
faults and cycler phase changes are SimPy events: they end a macro step and reset the
settling detector, so the transient after them runs tick by tick.
"""

from __future__ import annotations

import sys

from . import actuator, firmware, gap, operator, platen, rng, sensors, specimen
from .jitcache import jit, refresh_stale_cache
from .layout import (
    ACT_HYDRAULIC,
    ACT_MANUAL,
    FW_GAP_HOLD,
    FW_HOLD,
    MAX_CH,
    N_ACT_MODE,
    N_COUNTER,
    N_FAST,
    N_FAULT_CODE,
    N_FROZEN,
    N_FULL_TICKS,
    N_FW_STATE,
    N_HOST_LOST,
    N_LAST_HB_TICK,
    N_MACRO_STEPS,
    N_MACRO_TICKS,
    N_REC_IDX,
    N_REC_ON,
    N_RING_POS,
    N_SAMPLE_TICK,
    N_SEED,
    N_SETTLED_TICKS,
    N_STATUS,
    N_TICK,
    N_WDOG_TICKS,
    P_ACT_KIND,
    P_DELAY_TICKS,
    P_DT_S,
    P_FRAME_K_N_M,
    P_LEAK_LAMBDA,
    P_LI_H_M,
    P_N_CH,
    P_OIL_COMPLIANCE_M_N,
    P_SETTLE_BAND_N,
    P_SETTLE_TICKS,
    P_SPEC_AREA_M2,
    R_CH_N,
    R_FAULT_CODE,
    R_MEAS_FORCE_N,
    R_MEAS_P_MPA,
    R_POS_M,
    R_SP_MPA,
    R_STATUS,
    R_T_S,
    R_TRUE_FORCE_N,
    R_U,
    RET_DONE,
    RET_RECORD_FULL,
    RING_LEN,
    X_ACT_FLOW,
    X_C_EL_M_N,
    X_CREEP_HARDNESS,
    X_CREEP_STRAIN,
    X_DFILT,
    X_DIE_AREA_M2,
    X_EFILT_N,
    X_FORCE_N,
    X_GAP_M,
    X_LEAK_EXTRA_LAMBDA,
    X_MEAS_CH_N,
    X_MEAS_FORCE_N,
    X_MEAS_P_MPA,
    X_MEAS_POS_M,
    X_PMAX_PA,
    X_POS_FILT_M,
    X_RING_N,
    X_SP_MPA,
    X_SPIKE_RATE_M_S,
    X_SWELL_M,
    X_SWELL_RATE_M_S,
    X_U,
)
from .rng import normal_pair


@jit
def stack_stiffness(p, x) -> float:
    """Elastic stiffness (N/m) of the stack in its present compaction state."""
    return 1.0 / x[X_C_EL_M_N]


@jit
def ram_position(p, x) -> float:
    """True ram travel from first touch (m)."""
    f = x[X_FORCE_N]
    return f / p[P_FRAME_K_N_M] + specimen.compression(p, x, f) - x[X_SWELL_M] - x[X_GAP_M]


@jit
def series_compliance(p, x) -> float:
    """Ram travel per newton (m/N) of frame + oil column + stack at the present state."""
    return (
        1.0 / p[P_FRAME_K_N_M]
        + p[P_OIL_COMPLIANCE_M_N]
        + specimen.tangent_compliance(p, x, x[X_FORCE_N])
    )


@jit
def _plant(p, x, v_src: float, lam: float, dt: float) -> None:
    """Integrate the force chain over one tick (semi-implicit in the linear sink)."""
    f = x[X_FORCE_N]
    eps = x[X_CREEP_STRAIN]
    eps_new, hardness = specimen.creep_evolve(p, f, eps, x[X_CREEP_HARDNESS], dt)
    v_creep = p[P_LI_H_M] * (eps_new - eps) / dt
    x[X_CREEP_STRAIN] = eps_new
    x[X_CREEP_HARDNESS] = hardness
    v_swell = x[X_SWELL_RATE_M_S] + x[X_SPIKE_RATE_M_S]
    x[X_SWELL_M] += v_swell * dt
    c = series_compliance(p, x)
    gap = x[X_GAP_M]
    if gap > 0.0:
        gap -= (v_src + v_swell) * dt
        if gap < 0.0:
            f = -gap / c
            gap = 0.0
    else:
        f = (f + dt * (v_src - v_creep + v_swell) / c) / (1.0 + dt * lam / c)
        if f < 0.0:
            gap = -f * c
            f = 0.0
    x[X_FORCE_N] = f
    x[X_GAP_M] = gap
    pressure = f / p[P_SPEC_AREA_M2]
    if pressure > x[X_PMAX_PA]:
        specimen.set_compaction(p, x, pressure)
    x[X_ACT_FLOW] = v_src - lam * f


@jit
def _one_tick(p, x, n, ch_true, rec) -> bool:
    """Sensors, firmware, actuator and plant for one tick; True when the record is full."""
    return _tick(p, x, n, ch_true, rec, False)


@jit
def _tick(p, x, n, ch_true, rec, external: bool) -> bool:
    """One tick; with ``external`` the firmware is skipped (plant mode: :func:`advance_plant`)."""
    dt = p[P_DT_S]
    k = n[N_TICK]
    t = k * dt
    seed = n[N_SEED]
    nch = int(p[P_N_CH])
    kind = int(p[P_ACT_KIND])
    f_true = x[X_FORCE_N]
    # load cells: true split, delay line, reading chain
    platen.split(p, f_true, specimen.tilt_stiffness(p, x), ch_true, specimen.elastic_stiffness(x))
    pos = (n[N_RING_POS] + 1) % RING_LEN
    n[N_RING_POS] = pos
    delay = int(p[P_DELAY_TICKS])
    frozen = n[N_FROZEN] != 0
    mode = n[N_ACT_MODE]
    if not frozen:
        total = 0.0
        bad = False
        for j in range(0, nch, 2):
            z0, z1 = normal_pair(seed, j // 2, k)
            ch_true[MAX_CH + j] = z0
            ch_true[MAX_CH + j + 1] = z1
        for i in range(nch):
            base = X_RING_N + i * RING_LEN
            x[base + pos] = ch_true[i]
            delayed = x[base + (pos - delay) % RING_LEN]
            r = sensors.read_channel(p, x, n, i, delayed, t, ch_true[MAX_CH + i])
            x[X_MEAS_CH_N + i] = r
            total += r
            if sensors.implausible(p, r):
                bad = True
        x[X_MEAS_FORCE_N] = total
        x[X_MEAS_P_MPA] = total / x[X_DIE_AREA_M2] * 1e-6
        x[X_MEAS_POS_M] = sensors.read_position(p, ram_position(p, x), seed, k)
        if not external:
            mode = firmware.tick(p, x, n, total, bad, t, k, dt)
            n[N_ACT_MODE] = mode
        n[N_COUNTER] += 1
        n[N_SAMPLE_TICK] = k
    else:
        for i in range(nch):
            x[X_RING_N + i * RING_LEN + pos] = ch_true[i]
    v_src, lam = actuator.drive(p, x, n, kind, mode, x[X_U], f_true, dt)
    _plant(p, x, v_src, lam, dt)
    n[N_TICK] = k + 1
    n[N_FULL_TICKS] += 1
    if n[N_REC_ON] != 0:
        j = n[N_REC_IDX]
        rec[j, R_T_S] = t
        rec[j, R_STATUS] = n[N_STATUS]
        rec[j, R_FAULT_CODE] = n[N_FAULT_CODE]
        rec[j, R_SP_MPA] = x[X_SP_MPA]
        rec[j, R_MEAS_P_MPA] = x[X_MEAS_P_MPA]
        rec[j, R_MEAS_FORCE_N] = x[X_MEAS_FORCE_N]
        rec[j, R_TRUE_FORCE_N] = f_true
        rec[j, R_POS_M] = x[X_MEAS_POS_M]
        rec[j, R_U] = x[X_U]
        for i in range(nch):
            rec[j, R_CH_N + i] = x[X_MEAS_CH_N + i]
        n[N_REC_IDX] = j + 1
        return j + 1 >= rec.shape[0]
    return False


@jit
def can_jump(p, x, n) -> bool:
    """True when the fast path may replace ticks by a macro step."""
    return (
        n[N_FAST] != 0
        and n[N_REC_ON] == 0
        and n[N_FROZEN] == 0
        and (n[N_FW_STATE] == FW_HOLD or n[N_FW_STATE] == FW_GAP_HOLD)
        and int(p[P_ACT_KIND]) != ACT_MANUAL
        and n[N_SETTLED_TICKS] >= int(p[P_SETTLE_TICKS])
        and x[X_GAP_M] == 0.0
    )


@jit
def hold_equilibrium_force(p, x, ch_true) -> float:
    """True force (N) at which the noise-free measured force equals the held setpoint.

    In a settled hold the integrator drives the *mean* reading to the setpoint; the force
    itself then sits where the sensor chain maps it there (gain, zero, non-linearity and the
    present hysteretic offset). Two secant steps from the present force: the chain is linear
    to a part in 10⁴ over the step.
    """
    target = x[X_SP_MPA] * 1e6 * x[X_DIE_AREA_M2]
    nch = int(p[P_N_CH])
    k_stack = specimen.tilt_stiffness(p, x)
    k_el = specimen.elastic_stiffness(x)
    f0 = x[X_FORCE_N]
    f1 = f0 * (1.0 + 1e-4) + 1e-3
    g0 = 0.0
    platen.split(p, f0, k_stack, ch_true, k_el)
    for i in range(nch):
        g0 += sensors.static_reading(p, x, i, ch_true[i])
    g0 -= target
    for _ in range(2):
        g1 = 0.0
        platen.split(p, f1, k_stack, ch_true, k_el)
        for i in range(nch):
            g1 += sensors.static_reading(p, x, i, ch_true[i])
        g1 -= target
        if g1 == g0:
            break
        f2 = f1 - g1 * (f1 - f0) / (g1 - g0)
        f0, g0, f1 = f1, g1, f2
    return f1


@jit
def macro_step(p, x, n, ticks: int, ch_true) -> bool:
    """Jump ``ticks`` ticks along the settled hold; False (and no change) if not feasible.

    The force is put at the hold's equilibrium (:func:`hold_equilibrium_force`) — the mean
    the full-fidelity loop jitters around — and stays there; creep and breathing advance in
    closed form; the integrator and the actuator take the values that balance them.
    """
    dt = p[P_DT_S]
    span = ticks * dt
    f = hold_equilibrium_force(p, x, ch_true)
    if abs(f - x[X_FORCE_N]) > p[P_SETTLE_BAND_N] or f <= 0.0:
        return False
    eps_new, hardness = specimen.creep_span(p, f, x[X_CREEP_STRAIN], x[X_CREEP_HARDNESS], span)
    # creep speed at the end of the jump
    v_creep = p[P_LI_H_M] * specimen.creep_rate_per_s(p, f, eps_new, hardness)
    v_need = v_creep - x[X_SWELL_RATE_M_S]  # ram speed that keeps the force constant
    kind = int(p[P_ACT_KIND])
    # a hydraulic ram also makes up what leaks past the piston; a screw does not leak
    v_src = v_need + (p[P_LEAK_LAMBDA] + x[X_LEAK_EXTRA_LAMBDA]) * f if kind == ACT_HYDRAULIC else v_need
    if not actuator.hold_output(p, x, kind, v_src, f):
        return False
    # the delay line holds the steady channel forces
    nch = int(p[P_N_CH])
    platen.split(p, f, specimen.tilt_stiffness(p, x), ch_true, specimen.elastic_stiffness(x))
    for i in range(nch):
        base = X_RING_N + i * RING_LEN
        for j in range(RING_LEN):
            x[base + j] = ch_true[i]
    x[X_FORCE_N] = f
    x[X_CREEP_STRAIN] = eps_new
    x[X_CREEP_HARDNESS] = hardness
    x[X_SWELL_M] += x[X_SWELL_RATE_M_S] * span
    x[X_ACT_FLOW] = v_need
    x[X_EFILT_N] = 0.0
    x[X_DFILT] = 0.0
    x[X_POS_FILT_M] = ram_position(p, x)
    n[N_TICK] += ticks
    n[N_COUNTER] += ticks
    n[N_MACRO_STEPS] += 1
    n[N_MACRO_TICKS] += ticks
    return True


@jit
def advance(p, x, n, tick_end: int, ch_true, rec) -> int:
    """Run ticks until ``n[N_TICK] == tick_end``; RET_RECORD_FULL if the record fills first."""
    while n[N_TICK] < tick_end:
        if can_jump(p, x, n):
            boundary = tick_end
            wd = n[N_WDOG_TICKS]
            if wd > 0 and n[N_HOST_LOST] == 0:  # once lost under "hold", nothing more to catch
                boundary = min(boundary, n[N_LAST_HB_TICK] + wd)
            jump = boundary - 1 - n[N_TICK]
            if jump > 1:
                if n[N_FW_STATE] == FW_GAP_HOLD:
                    if gap.macro_step_gap(p, x, n, jump, ch_true, int(p[P_ACT_KIND])):
                        continue
                elif macro_step(p, x, n, jump, ch_true):
                    continue
        if _one_tick(p, x, n, ch_true, rec):
            return RET_RECORD_FULL
    return RET_DONE


@jit
def advance_plant(p, x, n, tick_end: int, ch_true, rec) -> int:
    """Plant mode: as :func:`advance`, but the firmware is outside the model.

    The actuator mode ``n[N_ACT_MODE]`` and command ``x[X_U]`` are whatever the caller
    (external firmware, through :mod:`presshil.plant`) last wrote; sensors and the sample
    counter still advance every tick. No macro steps: nobody here knows the hold is settled.
    """
    while n[N_TICK] < tick_end:
        if _tick(p, x, n, ch_true, rec, True):
            return RET_RECORD_FULL
    return RET_DONE


refresh_stale_cache(
    [rng, specimen, platen, sensors, actuator, operator, firmware, gap, sys.modules[__name__]]
)

__all__ = [
    "MAX_CH",
    "advance",
    "advance_plant",
    "ram_position",
    "series_compliance",
    "stack_stiffness",
]
