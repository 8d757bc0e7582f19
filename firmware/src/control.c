/*
 * control.c - the press controller (see control.h).
 *
 * Each period, in this order, as the simulator's reference firmware does:
 *   1. safety on the fresh sample: e-stop input, plausibility (open wire), stale sensors,
 *      over-pressure, force-rate trip, communication watchdog, following error. Any trip
 *      latches FAULT with its code; only a host RESET_FAULT clears it.
 *   2. ramp generator: the active setpoint moves toward the target at the commanded rate,
 *      clamped to FW_MAX_RATE_MPA_S.
 *   3. PID in force units, derivative on the filtered measurement, feed-forward of the
 *      setpoint rate, anti-windup by conditional integration and clamping. On a hydraulic
 *      press the output is a flow demand, linearised into a spool opening by the pressure
 *      drop estimated from the measured force.
 *
 * Deliberately broken builds (tests/test_fil_broken.py) compile with one of:
 *   -DFW_BREAK_PID_SIGN        inverted controller sign
 *   -DFW_BREAK_NO_ANTIWINDUP   integrate always, no clamp
 *   -DFW_BREAK_NO_WATCHDOG     communication watchdog never trips
 *   -DFW_BREAK_NO_OVERPRESSURE over-pressure check removed
 */
#include "control.h"

#include <math.h>
#include <string.h>

#include "config.h"

#define TWO_PI 6.283185307179586

static double clamp(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

static double rated_pressure_mpa(const hal_nameplate_t *np, double area_mm2)
{
    double by_force = np->rated_force_kn * 1e3 / area_mm2;
    return np->rated_max_pressure_mpa < by_force ? np->rated_max_pressure_mpa : by_force;
}

void control_init(controller_t *c, const hal_nameplate_t *np)
{
    memset(c, 0, sizeof(*c));
    c->np = *np;
    double area_mm2 = np->die_area_mm2 > 0 ? np->die_area_mm2 : 78.53981633974483;
    c->die_area_m2 = area_mm2 * 1e-6;
    c->rated_max_mpa = rated_pressure_mpa(np, area_mm2);
    c->soft_max_mpa = c->rated_max_mpa;
    c->rate_mpa_s = 1.0;
    c->state = ST_IDLE;
    c->released = 1;
    /* loop shaping: the plant is an integrator dF/dt = G u on the nominal compliance */
    double c_nom = np->nominal_compliance_um_per_kn * 1e-9; /* m/N */
    double gain;
    if (np->hydraulic) {
        double qv = np->valve_flow_l_min / 60e3, ap = np->piston_area_mm2 * 1e-6;
        gain = qv / ap / c_nom; /* u = flow demand, fraction of rated valve flow */
        c->u_max = fmin(1.0, np->pump_flow_l_min / np->valve_flow_l_min);
        c->u_min = -1.0;
    } else {
        gain = 1.0 / c_nom; /* u = ram speed, m/s */
        c->u_max = np->max_speed_mm_s * 1e-3;
        c->u_min = -c->u_max;
    }
    c->kp = TWO_PI * FW_CROSSOVER_HZ / gain;
    c->ki = c->kp * TWO_PI * FW_INTEGRAL_CORNER_HZ;
    c->kd = c->kp * FW_DERIVATIVE_S;
    c->kff = FW_FEEDFORWARD / gain;
#ifdef FW_BREAK_PID_SIGN
    c->kp = -c->kp;
    c->ki = -c->ki;
    c->kff = -c->kff;
#endif
}

double control_trip_limit_mpa(const controller_t *c)
{
    double limit = c->soft_max_mpa < c->rated_max_mpa ? c->soft_max_mpa : c->rated_max_mpa;
    double margin = FW_TRIP_MARGIN_FRAC * limit;
    return limit + (margin > FW_TRIP_MARGIN_MIN_MPA ? margin : FW_TRIP_MARGIN_MIN_MPA);
}

static void trip(controller_t *c, uint16_t code, uint16_t bits)
{
    if (c->state == ST_FAULT)
        return;
    c->state = ST_FAULT;
    c->fault_code = code;
    c->latched_bits = bits;
    c->integral = 0.0;
    c->u = 0.0;
}

static void safety(controller_t *c, const hal_sensors_t *s, int implausible, uint64_t now_us,
                   double dt)
{
    if (s->inputs & HAL_IN_ESTOP) {
        trip(c, FAULT_ESTOP, STATUS_ESTOP);
        return;
    }
    if (implausible || (now_us - c->last_fresh_us) * 1e-3 > FW_STALE_SENSOR_MS) {
        trip(c, FAULT_SENSOR, 0);
        return;
    }
#ifndef FW_BREAK_NO_OVERPRESSURE
    if (c->meas_mpa > control_trip_limit_mpa(c)) {
        trip(c, FAULT_OVERPRESSURE, STATUS_OVERPRESSURE);
        return;
    }
#endif
    if (c->dfilt_n_s > FW_RATE_TRIP_KN_S * 1e3) {
        trip(c, FAULT_RATE_LIMIT, 0);
        return;
    }
#ifndef FW_BREAK_NO_WATCHDOG
    if (c->watchdog_ms > 0 && (now_us - c->last_hb_us) >= (uint64_t)c->watchdog_ms * 1000u) {
        trip(c, FAULT_WATCHDOG, STATUS_WATCHDOG);
        return;
    }
#endif
    if (c->state == ST_RAMP || c->state == ST_HOLD) {
        if (fabs(c->sp_mpa - c->meas_mpa) > FW_FOLLOW_ERR_MPA) {
            c->follow_s += dt;
            if (c->follow_s > FW_FOLLOW_ERR_S)
                trip(c, FAULT_ACTUATOR, 0);
        } else {
            c->follow_s = 0.0;
        }
    }
}

static void ramp(controller_t *c, double dt)
{
    double step = c->rate_mpa_s * dt;
    if (fabs(c->target_mpa - c->sp_mpa) <= step) {
        c->sp_rate_mpa_s = (c->target_mpa - c->sp_mpa) / dt;
        c->sp_mpa = c->target_mpa;
        if (c->state == ST_RAMP)
            c->state = ST_HOLD;
    } else {
        double sign = c->target_mpa > c->sp_mpa ? 1.0 : -1.0;
        c->sp_mpa += sign * step;
        c->sp_rate_mpa_s = sign * c->rate_mpa_s;
    }
}

static double pid(controller_t *c, double dt)
{
    double err = c->sp_mpa * 1e6 * c->die_area_m2 - c->meas_n;
    double ff = c->kff * c->sp_rate_mpa_s * 1e6 * c->die_area_m2;
    double pd = c->kp * err - c->kd * c->dfilt_n_s + ff;
    double integral = c->integral + c->ki * err * dt;
    double u = pd + integral;
#ifdef FW_BREAK_NO_ANTIWINDUP
    c->integral = integral;
    u = clamp(u, c->u_min, c->u_max);
#else
    /* conditional integration: not while the output is saturated in the error's direction */
    if (u > c->u_max) {
        if (err < 0.0)
            c->integral = integral;
        u = c->u_max;
    } else if (u < c->u_min) {
        if (err > 0.0)
            c->integral = integral;
        u = c->u_min;
    } else {
        c->integral = integral;
    }
    c->integral = clamp(c->integral, c->u_min, c->u_max);
#endif
    return u;
}

/* hydraulic: the spool opening that passes flow fraction u at the estimated pressure drop */
static double spool_for_flow(const controller_t *c, double u)
{
    double ps = c->np.supply_pressure_mpa * 1e6;
    double p_oil = fmax(c->meas_n, 0.0) / (c->np.piston_area_mm2 * 1e-6);
    double dp = u >= 0.0 ? fmax(ps - p_oil, 1e-9 * ps) : fmax(p_oil, 1e-9 * ps);
    return clamp(u / sqrt(dp / ps), -1.0, 1.0);
}

static uint16_t status_word(const controller_t *c)
{
    if (c->state == ST_FAULT)
        return STATUS_FAULT | c->latched_bits;
    uint16_t st = STATUS_READY;
    switch (c->state) {
    case ST_IDLE:
        if (c->released)
            st |= STATUS_RELEASED;
        break;
    case ST_RAMP:
    case ST_RELEASE:
        st |= STATUS_REGULATING | STATUS_RAMPING;
        break;
    case ST_HOLD:
        st |= STATUS_REGULATING;
        if (fabs(c->meas_mpa - c->sp_mpa) <= FW_AT_SETPOINT_BAND_MPA)
            st |= STATUS_AT_SETPOINT;
        break;
    default:
        break;
    }
    return st;
}

void control_step(controller_t *c, const hal_sensors_t *s, uint64_t now_us, double dt,
                  hal_actuator_t *out)
{
    int implausible = 0;
    double total = 0.0, fs = c->np.load_cell_capacity_kn;
    unsigned n = s->n_channels <= HAL_MAX_CHANNELS ? s->n_channels : HAL_MAX_CHANNELS;
    for (unsigned i = 0; i < n; i++) {
        double v = s->channel_kn[i];
        c->channel_kn[i] = v;
        total += v * 1e3;
        if (!isfinite(v) || v < FW_ADC_LOW_FRAC * fs || v > FW_ADC_HIGH_FRAC * fs)
            implausible = 1;
    }
    int fresh = !c->have_prev || s->counter != c->last_counter;
    uint32_t advanced = c->have_prev ? s->counter - c->last_counter : 0u;
    if (fresh)
        c->last_fresh_us = now_us;
    c->last_counter = s->counter;
    c->meas_n = total;
    c->meas_mpa = total / c->die_area_m2 * 1e-6;
    c->position_mm = s->position_mm;
    if (dt <= 0.0)
        dt = 1.0 / FW_LOOP_HZ_DEFAULT;
    /* The force rate is taken over the time between the two samples as the sensor took
     * them (samples advanced x sample period), not over this loop's period: a late sample
     * (a jittery bus, a plant catching up) must not look like a force runaway. A repeated
     * (stale) sample carries no new rate. */
    if (c->have_prev && fresh) {
        double fs_hz = c->np.sample_rate_hz > 0.0f ? c->np.sample_rate_hz : FW_LOOP_HZ_DEFAULT;
        double dt_meas = advanced > 0u ? (double)advanced / fs_hz : dt;
        double alpha = 1.0 - exp(-dt_meas * TWO_PI * FW_DERIVATIVE_FILTER_HZ);
        c->dfilt_n_s += alpha * ((total - c->prev_meas_n) / dt_meas - c->dfilt_n_s);
        c->prev_meas_n = total;
    } else if (!c->have_prev) {
        c->prev_meas_n = total;
    }
    c->have_prev = 1;
    c->samples++;

    if (c->state != ST_FAULT)
        safety(c, s, implausible, now_us, dt);

    out->drive = HAL_DRIVE_SAFE;
    out->demand = 0.0f;
    out->based_on = s->counter;
    double u = 0.0;
    switch (c->state) {
    case ST_FAULT:
        break; /* safe state: pump off + dump / retract */
    case ST_IDLE:
        c->sp_rate_mpa_s = 0.0;
        out->drive = c->np.hydraulic ? HAL_DRIVE_SAFE : HAL_DRIVE_HOLD;
        break;
    default:
        ramp(c, dt);
        if (c->state == ST_RELEASE && c->sp_mpa <= 0.0) {
            c->integral = 0.0;
            if (c->meas_mpa < FW_RELEASED_BELOW_MPA) {
                c->state = ST_IDLE;
                c->released = 1;
            }
        } else {
            u = pid(c, dt);
            out->drive = HAL_DRIVE_FOLLOW;
            out->demand = (float)(c->np.hydraulic ? spool_for_flow(c, u) : u * 1e3);
        }
    }
    c->u = u;
    c->status = status_word(c);
}

int control_regulate(controller_t *c, double setpoint_mpa, double rate_mpa_s)
{
    if (c->state == ST_FAULT)
        return 4;
    if (!isfinite(setpoint_mpa) || setpoint_mpa < 0.0 ||
        setpoint_mpa > fmin(c->soft_max_mpa, c->rated_max_mpa) || !(rate_mpa_s > 0.0))
        return 3;
    if (c->state == ST_IDLE) {
        c->sp_mpa = fmax(0.0, c->meas_mpa);
        c->integral = 0.0;
    }
    c->target_mpa = setpoint_mpa;
    c->rate_mpa_s = fmin(rate_mpa_s, FW_MAX_RATE_MPA_S);
    c->follow_s = 0.0;
    c->state = ST_RAMP;
    c->released = 0;
    return 0;
}

int control_release(controller_t *c, double rate_mpa_s)
{
    if (!(rate_mpa_s > 0.0))
        return 3;
    if (c->state == ST_FAULT || c->state == ST_IDLE)
        return 0;
    c->target_mpa = 0.0;
    c->rate_mpa_s = fmin(rate_mpa_s, FW_MAX_RATE_MPA_S);
    c->state = ST_RELEASE;
    return 0;
}

void control_stop(controller_t *c)
{
    if (c->state == ST_FAULT)
        c->latched_bits |= STATUS_ESTOP;
    else
        trip(c, FAULT_ESTOP, STATUS_ESTOP);
    c->status = status_word(c);
}

int control_reset(controller_t *c, uint64_t now_us)
{
    if (c->state != ST_FAULT)
        return 0;
    c->state = ST_IDLE;
    c->fault_code = FAULT_NONE;
    c->latched_bits = 0;
    c->released = 1;
    c->last_hb_us = now_us;
    c->integral = c->sp_mpa = c->target_mpa = c->sp_rate_mpa_s = c->follow_s = 0.0;
    c->dfilt_n_s = 0.0;
    c->prev_meas_n = c->meas_n;
    c->status = status_word(c);
    return 0;
}

void control_heartbeat(controller_t *c, uint64_t now_us) { c->last_hb_us = now_us; }

void control_set_die_area(controller_t *c, double area_mm2)
{
    c->die_area_m2 = area_mm2 * 1e-6;
    c->rated_max_mpa = rated_pressure_mpa(&c->np, area_mm2);
    if (c->soft_max_mpa > c->rated_max_mpa)
        c->soft_max_mpa = c->rated_max_mpa;
}

void control_set_soft_max(controller_t *c, double mpa) { c->soft_max_mpa = mpa; }

void control_set_watchdog(controller_t *c, uint32_t ms, uint64_t now_us)
{
    c->watchdog_ms = ms;
    c->last_hb_us = now_us;
}
