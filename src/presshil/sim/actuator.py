"""Actuators: what drives the ram, as a source velocity and a linear sink.

Every actuator returns ``(v_src, lam)`` for the tick: the ram would advance at ``v_src``
(m/s) against no load, and a linear sink ``lam`` (m per newton-second) removes ram travel in
proportion to the force (oil leaking or dumped through a laminar restriction). The plant
integrates ``dF/dt = (v_src - lam F - v_creep + v_swell) / C`` semi-implicitly in ``lam``,
so a fast dump or relief valve is stable at any loop rate.

**Automatic hydraulic** — pump (flow-limited) → servo valve (first-order spool lag, orifice
flow ``Q = u Q_v sqrt(dp / p_s)``) → cylinder with oil compressibility (its compliance
``V0 / (beta A_p²)`` is in series with the frame, see :mod:`presshil.sim.model`), internal
leakage, a relief valve at the supply pressure and a dump valve that opens in the safe state
(the pump stops then).

**Servo-electric** — motor + ball screw: the drive's speed loop follows the speed demand with
a short lag, limited in speed and acceleration; the screw is stiff (part of the frame
stiffness) and does not leak. In the safe state the drive retracts.

**Manual hydraulic** — hand pump delivering one stroke volume per stroke, a release (needle)
valve the operator opens by hand, and a solenoid dump valve the readout unit opens on a trip.
There is no regulation; the operator (:mod:`presshil.sim.operator`) decides the strokes.
"""

from __future__ import annotations

import math

from .jitcache import jit
from .layout import (
    ACT_HYDRAULIC,
    AF_RUNAWAY,
    AF_STUCK,
    AM_DRIVE,
    AM_HOLD,
    AM_OPEN,
    AM_UNLOAD,
    N_ACT_FAULTS,
    N_OP_PUMPING,
    P_DUMP_LAMBDA,
    P_LEAK_LAMBDA,
    P_MOTOR_A_MAX_M_S2,
    P_MOTOR_ALPHA,
    P_MOTOR_V_MAX_M_S,
    P_PISTON_AREA_M2,
    P_PUMP_FLOW_M3_S,
    P_RELEASE_LAMBDA,
    P_RELIEF_FORCE_N,
    P_RELIEF_LAMBDA,
    P_RETRACT_M,
    P_STROKE_M3,
    P_STROKE_PERIOD_S,
    P_SUPPLY_PA,
    P_VALVE_ALPHA,
    P_VALVE_FLOW_M3_S,
    P_VALVE_LINEARISE,
    X_ACT_STATE,
    X_GAP_M,
    X_INTEGRAL,
    X_LEAK_EXTRA_LAMBDA,
    X_OP_PHASE,
    X_OP_RELEASE_OPEN,
    X_OP_STROKE,
    X_U,
)


@jit
def valve_flow(p, spool: float, force_n: float, pump_on: bool) -> float:
    """Servo-valve flow into the cylinder (m³/s) at spool opening ``spool`` (−1..1)."""
    ps = p[P_SUPPLY_PA]
    p_oil = max(force_n, 0.0) / p[P_PISTON_AREA_M2]
    if spool >= 0.0:
        if not pump_on:
            return 0.0
        q = spool * p[P_VALVE_FLOW_M3_S] * math.sqrt(max(ps - p_oil, 0.0) / ps)
        return min(q, p[P_PUMP_FLOW_M3_S])
    return spool * p[P_VALVE_FLOW_M3_S] * math.sqrt(min(p_oil, ps) / ps)


@jit
def spool_for_flow(p, flow_m3_s: float, force_n: float) -> float:
    """Spool opening that passes ``flow_m3_s`` at ``force_n`` (inverse of :func:`valve_flow`)."""
    ps = p[P_SUPPLY_PA]
    p_oil = max(force_n, 0.0) / p[P_PISTON_AREA_M2]
    if flow_m3_s >= 0.0:
        dp = max(ps - p_oil, 1e-9 * ps)
    else:
        dp = max(p_oil, 1e-9 * ps)
    return flow_m3_s / (p[P_VALVE_FLOW_M3_S] * math.sqrt(dp / ps))


@jit
def _relief(p, force_n: float, v: float, lam: float):
    if force_n > p[P_RELIEF_FORCE_N]:
        lam += p[P_RELIEF_LAMBDA]
        v += p[P_RELIEF_LAMBDA] * p[P_RELIEF_FORCE_N]
    return v, lam


@jit
def hydraulic(p, x, n, mode: int, u: float, force_n: float):
    """Automatic hydraulic press: ``u`` is the spool opening the firmware asks for."""
    faults = n[N_ACT_FAULTS]
    pump_on = mode != AM_UNLOAD
    target = u if mode == AM_DRIVE else 0.0
    if faults & AF_RUNAWAY and pump_on:
        target = 1.0
    if not faults & AF_STUCK:
        x[X_ACT_STATE] += p[P_VALVE_ALPHA] * (target - x[X_ACT_STATE])
    q = valve_flow(p, x[X_ACT_STATE], force_n, pump_on)
    v = q / p[P_PISTON_AREA_M2]
    lam = p[P_LEAK_LAMBDA] + x[X_LEAK_EXTRA_LAMBDA]
    if mode == AM_UNLOAD:
        lam += p[P_DUMP_LAMBDA]
    return _relief(p, force_n, v, lam)


@jit
def servo(p, x, n, mode: int, u: float, force_n: float, dt: float):
    """Servo-electric press: ``u`` is the ram speed demand (m/s)."""
    faults = n[N_ACT_FAULTS]
    v_max = p[P_MOTOR_V_MAX_M_S]
    if mode == AM_DRIVE:
        target = min(max(u, -v_max), v_max)
    elif mode == AM_UNLOAD:
        # retract until unloaded and clear of the stack; safe torque-off overrides a runaway
        target = -v_max if (force_n > 0.0 or x[X_GAP_M] < p[P_RETRACT_M]) else 0.0
    else:
        target = 0.0
    if faults & AF_RUNAWAY and mode != AM_UNLOAD:
        target = v_max
    if not faults & AF_STUCK:
        v = x[X_ACT_STATE]
        dv = p[P_MOTOR_ALPHA] * (target - v)
        dv_max = p[P_MOTOR_A_MAX_M_S2] * dt
        dv = min(max(dv, -dv_max), dv_max)
        x[X_ACT_STATE] = v + dv
    return x[X_ACT_STATE], 0.0


@jit
def manual(p, x, n, mode: int, force_n: float, dt: float):
    """Manual hydraulic press: hand-pump strokes in, release or dump valve out, leakage."""
    lam = p[P_LEAK_LAMBDA] + x[X_LEAK_EXTRA_LAMBDA]
    v = 0.0
    period = p[P_STROKE_PERIOD_S]
    # the plunger delivers its (partial) stroke during the first half of the period; the
    # pump cannot push above its relief pressure
    pumping = mode == AM_DRIVE and n[N_OP_PUMPING] == 1 and x[X_OP_PHASE] < 0.5 * period
    if pumping and force_n < p[P_RELIEF_FORCE_N]:
        v = x[X_OP_STROKE] * p[P_STROKE_M3] / (0.5 * period) / p[P_PISTON_AREA_M2]
    if n[N_ACT_FAULTS] & AF_RUNAWAY and mode != AM_UNLOAD:
        v = p[P_STROKE_M3] / (0.5 * period) / p[P_PISTON_AREA_M2]
    if mode == AM_UNLOAD:
        lam += p[P_DUMP_LAMBDA]
    elif (mode == AM_OPEN or mode == AM_DRIVE) and not n[N_ACT_FAULTS] & AF_STUCK:
        # the release valve: opened for a release, or cracked to bleed down to a lower setpoint
        lam += x[X_OP_RELEASE_OPEN] * p[P_RELEASE_LAMBDA]
    return _relief(p, force_n, v, lam)


@jit
def hold_output(p, x, kind: int, v_src: float, force_n: float) -> bool:
    """Set the actuator, controller output and integrator that hold the ram at source
    velocity ``v_src`` (m/s) under ``force_n``, as a settled loop would have them (the
    jumps of a hold use it). False, and nothing set, if the valve could not pass that flow."""
    if kind == ACT_HYDRAULIC:
        q = v_src * p[P_PISTON_AREA_M2]
        spool = spool_for_flow(p, q, force_n)
        if abs(spool) > 0.9 or q > 0.9 * valve_flow(p, 1.0, force_n, True):
            return False
        x[X_ACT_STATE] = spool
        x[X_U] = spool
        # with valve linearisation the controller's output is a flow demand (fraction of
        # rated valve flow); without it, the spool opening itself
        x[X_INTEGRAL] = q / p[P_VALVE_FLOW_M3_S] if p[P_VALVE_LINEARISE] > 0.0 else spool
    else:
        x[X_ACT_STATE] = v_src
        x[X_U] = v_src
        x[X_INTEGRAL] = v_src
    return True


@jit
def drive(p, x, n, kind: int, mode: int, u: float, force_n: float, dt: float):
    """Dispatch to the actuator of ``kind`` (ACT_HYDRAULIC / ACT_SERVO / ACT_MANUAL)."""
    if kind == 0:
        return hydraulic(p, x, n, mode, u, force_n)
    if kind == 1:
        return servo(p, x, n, mode, u, force_n, dt)
    return manual(p, x, n, mode, force_n, dt)


__all__ = ["AM_HOLD", "AM_OPEN", "AM_UNLOAD", "drive", "hold_output", "spool_for_flow", "valve_flow"]
