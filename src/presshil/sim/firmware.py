"""Reference press firmware: the loop a real press controller runs, once per tick.

States: IDLE → RAMP → HOLD → RELEASE → IDLE, and FAULT (latched) from anywhere.

Each tick, in this order, as a 1 kHz controller would:

1. **safety** on the fresh sample — plausibility of every channel (open wire), over-pressure
   (``min(soft, rated) + margin``), force-rate trip (runaway), following error (stuck actuator),
   communication watchdog. Any trip latches FAULT with its code; only a reset clears it.
   With the ``hold`` host-loss policy an expired watchdog does not trip: the press holds its
   active setpoint (a ramp stops where it is) and raises the host-loss alarm, which the
   host's next heartbeat clears.
2. **ramp generator** — the active setpoint moves toward the target at the commanded rate,
   clamped to the press's maximum rate (the rate limit lives inside the loop).
3. **PID** in force units (error = setpoint × die area − measured force), derivative on the
   filtered measurement, feed-forward of the setpoint rate, anti-windup by conditional
   integration and clamping. Hydraulic presses linearise the valve: the controller asks for a
   flow, the firmware opens the spool by ``flow / sqrt(dp / p_supply)`` using the pressure drop
   estimated from the measured force.
4. **actuator mode** — drive, hold, unload (safe state: pump off + dump / retract), lock.
5. **status word**, and a settling detector the fast path uses.

Host commands (regulate, release, stop, reset, heartbeat, configure) are applied between
ticks by :mod:`presshil.sim.model`; they only write the command fields read here.
"""

from __future__ import annotations

from .actuator import spool_for_flow
from .jitcache import jit
from .layout import (
    ACT_HYDRAULIC,
    ACT_MANUAL,
    AM_DRIVE,
    AM_HOLD,
    AM_OPEN,
    AM_UNLOAD,
    FC_ACTUATOR,
    FC_OVERPRESSURE,
    FC_RATE_LIMIT,
    FC_SENSOR,
    FC_WATCHDOG,
    FW_FAULT,
    FW_GAP_HOLD,
    FW_HOLD,
    FW_IDLE,
    FW_RAMP,
    FW_RELEASE,
    N_ACT_FAULTS,
    N_CH_FAULT,
    N_FAULT_CODE,
    N_FW_STATE,
    N_HOST_HOLD,
    N_HOST_LOST,
    N_LAST_HB_TICK,
    N_LATCHED_BITS,
    N_RELEASED,
    N_SETTLED_TICKS,
    N_STATUS,
    N_WDOG_TICKS,
    P_ACT_KIND,
    P_AT_SP_BAND_MPA,
    P_D_ALPHA,
    P_E_ALPHA,
    P_FOLLOW_ERR_MPA,
    P_FOLLOW_ERR_S,
    P_GAP_KI,
    P_GAP_KP,
    P_GAP_SETTLE_BAND_M,
    P_KD,
    P_KFF,
    P_KI,
    P_KP,
    P_N_CH,
    P_RATE_TRIP_N_S,
    P_RATED_MAX_MPA,
    P_RELEASED_BELOW_MPA,
    P_SETTLE_BAND_N,
    P_TRIP_MARGIN_FRAC,
    P_TRIP_MARGIN_MIN_MPA,
    P_U_APPROACH,
    P_U_MAX,
    P_U_MIN,
    P_VALVE_FLOW_M3_S,
    P_VALVE_LINEARISE,
    ST_AT_SETPOINT,
    ST_FAULT,
    ST_OVERPRESSURE,
    ST_RAMPING,
    ST_READY,
    ST_REGULATING,
    ST_RELEASED,
    ST_WATCHDOG,
    X_DFILT,
    X_DIE_AREA_M2,
    X_EFILT_N,
    X_FOLLOW_S,
    X_GAP_LOCK_M,
    X_INTEGRAL,
    X_MEAS_POS_M,
    X_POS_FILT_M,
    X_PREV_MEAS_N,
    X_RATE_MPA_S,
    X_SOFT_MAX_MPA,
    X_SP_MPA,
    X_SP_RATE_MPA_S,
    X_SPIKE_RATE_M_S,
    X_TARGET_MPA,
    X_U,
)
from .operator import open_release_tick, pump_tick


@jit
def trip(x, n, code: int, bits: int) -> None:
    """Latch a fault: FAULT state, fault code, cause bits; the actuator unloads."""
    if n[N_FW_STATE] == FW_FAULT:
        return
    n[N_FW_STATE] = FW_FAULT
    n[N_FAULT_CODE] = code
    n[N_LATCHED_BITS] = bits
    n[N_SETTLED_TICKS] = 0
    x[X_INTEGRAL] = 0.0
    x[X_U] = 0.0


@jit
def host_lost_hold(x, n) -> None:
    """The host is gone under the ``hold`` policy: raise the alarm; a ramp stops where it is.

    The active setpoint was accepted under the soft max and only moves toward the target, so
    holding it never goes above the soft max. A release in progress goes on (it unloads).
    """
    n[N_HOST_LOST] = 1
    if n[N_FW_STATE] == FW_RAMP:
        x[X_TARGET_MPA] = x[X_SP_MPA]
        x[X_SP_RATE_MPA_S] = 0.0
        n[N_FW_STATE] = FW_HOLD


@jit
def trip_limit_mpa(p, x) -> float:
    """Measured pressure above which the over-pressure trip fires."""
    limit = min(x[X_SOFT_MAX_MPA], p[P_RATED_MAX_MPA])
    return limit + max(p[P_TRIP_MARGIN_FRAC] * limit, p[P_TRIP_MARGIN_MIN_MPA])


@jit
def _safety(
    p, x, n, meas_n: float, meas_mpa: float, implausible: bool, tick: int, dt: float
) -> None:
    if implausible:
        trip(x, n, FC_SENSOR, 0)
        return
    if meas_mpa > trip_limit_mpa(p, x):
        trip(x, n, FC_OVERPRESSURE, ST_OVERPRESSURE)
        return
    if x[X_DFILT] > p[P_RATE_TRIP_N_S]:
        trip(x, n, FC_RATE_LIMIT, 0)
        return
    wd = n[N_WDOG_TICKS]
    if wd > 0 and n[N_HOST_LOST] == 0 and tick - n[N_LAST_HB_TICK] >= wd:
        if n[N_HOST_HOLD] == 0:
            trip(x, n, FC_WATCHDOG, ST_WATCHDOG)
            return
        host_lost_hold(x, n)
    state = n[N_FW_STATE]
    if int(p[P_ACT_KIND]) != ACT_MANUAL and (state == FW_RAMP or state == FW_HOLD):
        err_mpa = abs(x[X_SP_MPA] - meas_mpa)
        if err_mpa > p[P_FOLLOW_ERR_MPA]:
            x[X_FOLLOW_S] += dt
            if x[X_FOLLOW_S] > p[P_FOLLOW_ERR_S]:
                trip(x, n, FC_ACTUATOR, 0)
        else:
            x[X_FOLLOW_S] = 0.0


@jit
def _ramp(x, n, dt: float) -> None:
    """Move the active setpoint toward the target; RAMP → HOLD when it gets there."""
    target = x[X_TARGET_MPA]
    sp = x[X_SP_MPA]
    step = x[X_RATE_MPA_S] * dt
    if abs(target - sp) <= step:
        x[X_SP_RATE_MPA_S] = (target - sp) / dt
        x[X_SP_MPA] = target
        if n[N_FW_STATE] == FW_RAMP:
            n[N_FW_STATE] = FW_HOLD
    else:
        sign = 1.0 if target > sp else -1.0
        x[X_SP_MPA] = sp + sign * step
        x[X_SP_RATE_MPA_S] = sign * x[X_RATE_MPA_S]


@jit
def _saturate(x, u: float, integral: float, err: float, u_min: float, u_max: float) -> float:
    """Clamp ``u`` to [u_min, u_max] with conditional integration (anti-windup): the new
    ``integral`` is kept only when it does not push further into the limit; either way the
    stored integral stays within the output range. Shared by the force and the gap loop."""
    if u > u_max:
        if err < 0.0:
            x[X_INTEGRAL] = integral
        u = u_max
    elif u < u_min:
        if err > 0.0:
            x[X_INTEGRAL] = integral
        u = u_min
    else:
        x[X_INTEGRAL] = integral
    x[X_INTEGRAL] = min(max(x[X_INTEGRAL], u_min), u_max)
    return u


@jit
def _pid(p, x, meas_n: float, dt: float) -> float:
    """Controller output for this tick (anti-windup: integrate only when not pushing a limit)."""
    area = x[X_DIE_AREA_M2]
    err = x[X_SP_MPA] * 1e6 * area - meas_n
    ff = p[P_KFF] * x[X_SP_RATE_MPA_S] * 1e6 * area
    pd = p[P_KP] * err - p[P_KD] * x[X_DFILT] + ff
    u_max = p[P_U_MAX]
    if meas_n < 2.0 * p[P_RELEASED_BELOW_MPA] * 1e6 * area:
        # no contact yet: integrating across a free gap would wind the loop up and slam the
        # ram into the stack, so hold the integral and close the gap at the approach speed
        integral = x[X_INTEGRAL]
        u_max = min(u_max, p[P_U_APPROACH])
    else:
        integral = x[X_INTEGRAL] + p[P_KI] * err * dt
    u = pd + integral
    u_min = p[P_U_MIN]
    u = _saturate(x, u, integral, err, u_min, u_max)
    x[X_EFILT_N] += p[P_E_ALPHA] * (err - x[X_EFILT_N])
    return u


@jit
def _status(p, x, n, meas_mpa: float) -> int:
    state = n[N_FW_STATE]
    if state == FW_FAULT:
        return ST_FAULT | n[N_LATCHED_BITS]
    st = ST_READY
    if state == FW_IDLE:
        if n[N_RELEASED]:
            st |= ST_RELEASED
    elif state == FW_RAMP or state == FW_RELEASE:
        st |= ST_REGULATING | ST_RAMPING
    elif state == FW_HOLD:
        st |= ST_REGULATING
        if abs(meas_mpa - x[X_SP_MPA]) <= p[P_AT_SP_BAND_MPA]:
            st |= ST_AT_SETPOINT
    return st


@jit
def _settled(p, x, n) -> bool:
    """Settled hold: what lets the fast path jump (see :mod:`presshil.sim.kernel`)."""
    state = n[N_FW_STATE]
    if state != FW_HOLD and state != FW_GAP_HOLD:
        return False
    if n[N_ACT_FAULTS] != 0 or x[X_SPIKE_RATE_M_S] != 0.0:
        return False
    band = p[P_SETTLE_BAND_N] if state == FW_HOLD else p[P_GAP_SETTLE_BAND_M]
    if abs(x[X_EFILT_N]) > band:
        return False
    u = x[X_INTEGRAL]  # the hold's steady output is all integral
    if u >= 0.9 * p[P_U_MAX] or u <= 0.9 * p[P_U_MIN]:
        return False
    for i in range(int(p[P_N_CH])):
        if n[N_CH_FAULT + i] != 0:
            return False
    return True


@jit
def _gap_pi(p, x, dt: float) -> float:
    """Constant gap: PI loop on the measured ram position (anti-windup as in :func:`_pid`).

    The output has the force loop's units (ram speed or flow demand), so the hold takes over
    the force loop's integrator without a bump.
    """
    err = x[X_GAP_LOCK_M] - x[X_MEAS_POS_M]
    x[X_EFILT_N] += p[P_E_ALPHA] * (err - x[X_EFILT_N])  # settling detector, in metres here
    integral = x[X_INTEGRAL] + p[P_GAP_KI] * err * dt
    u = p[P_GAP_KP] * err + integral
    u_max = p[P_U_MAX]
    u_min = p[P_U_MIN]
    u = _saturate(x, u, integral, err, u_min, u_max)
    return u


@jit
def tick(p, x, n, meas_n: float, implausible: bool, t_s: float, tick_index: int, dt: float) -> int:
    """One firmware loop iteration on the fresh sample; returns the actuator mode.

    The actuator command (spool opening or speed demand) is left in ``x[X_U]``.
    """
    area = x[X_DIE_AREA_M2]
    meas_mpa = meas_n / area * 1e-6
    x[X_DFILT] += p[P_D_ALPHA] * ((meas_n - x[X_PREV_MEAS_N]) / dt - x[X_DFILT])
    x[X_PREV_MEAS_N] = meas_n
    x[X_POS_FILT_M] += p[P_E_ALPHA] * (x[X_MEAS_POS_M] - x[X_POS_FILT_M])
    kind = int(p[P_ACT_KIND])
    if n[N_FW_STATE] != FW_FAULT:
        _safety(p, x, n, meas_n, meas_mpa, implausible, tick_index, dt)
    state = n[N_FW_STATE]
    mode = AM_HOLD
    u = 0.0
    if state == FW_FAULT:
        mode = AM_UNLOAD
    elif state == FW_GAP_HOLD:
        mode = AM_DRIVE
        u = _gap_pi(p, x, dt)
    elif state == FW_IDLE:
        # hydraulic: dump open; manual: release valve left open; servo: motor stopped
        mode = AM_UNLOAD if kind == ACT_HYDRAULIC else (AM_OPEN if kind == ACT_MANUAL else AM_HOLD)
        x[X_SP_RATE_MPA_S] = 0.0
    elif kind == ACT_MANUAL:
        if state == FW_RELEASE:
            mode = AM_OPEN
            open_release_tick(p, x, dt)
            x[X_SP_MPA] = 0.0
            if meas_mpa < p[P_RELEASED_BELOW_MPA]:
                n[N_FW_STATE] = FW_IDLE
                n[N_RELEASED] = 1
        else:
            mode = AM_DRIVE
            _ramp(x, n, dt)
            if pump_tick(p, x, n, meas_mpa, t_s, dt):
                n[N_FW_STATE] = FW_RAMP
            else:
                n[N_FW_STATE] = FW_HOLD
                x[X_SP_MPA] = x[X_TARGET_MPA]
    else:
        _ramp(x, n, dt)
        if state == FW_RELEASE and x[X_SP_MPA] <= 0.0:
            mode = AM_UNLOAD
            x[X_INTEGRAL] = 0.0
            if meas_mpa < p[P_RELEASED_BELOW_MPA]:
                n[N_FW_STATE] = FW_IDLE
                n[N_RELEASED] = 1
        else:
            mode = AM_DRIVE
            u = _pid(p, x, meas_n, dt)
    x[X_U] = u
    if mode == AM_DRIVE and kind == ACT_HYDRAULIC and p[P_VALVE_LINEARISE] > 0.0:
        x[X_U] = min(max(spool_for_flow(p, u * p[P_VALVE_FLOW_M3_S], meas_n), -1.0), 1.0)
    if _settled(p, x, n):
        n[N_SETTLED_TICKS] += 1
    else:
        n[N_SETTLED_TICKS] = 0
    n[N_STATUS] = _status(p, x, n, meas_mpa)
    return mode


__all__ = ["tick", "trip", "trip_limit_mpa"]
