/*
 * control.h - the press controller: state machine, ramp generator, PID, interlocks.
 *
 * Pure computation: control_step() takes one sensor sample and returns one actuator
 * command. Commands from the host arrive through control_regulate() & co. (called by
 * hostif.c). No I/O, no globals: portable to any target.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <stdint.h>

#include "hal.h"

typedef enum { ST_IDLE = 0, ST_RAMP, ST_HOLD, ST_RELEASE, ST_FAULT } ctl_state_t;

/* status bits and fault codes: press register map v1 (input registers 0 and 1) */
#define STATUS_READY (1u << 0)
#define STATUS_REGULATING (1u << 1)
#define STATUS_AT_SETPOINT (1u << 2)
#define STATUS_RAMPING (1u << 3)
#define STATUS_RELEASED (1u << 4)
#define STATUS_FAULT (1u << 8)
#define STATUS_ESTOP (1u << 9)
#define STATUS_WATCHDOG (1u << 10)
#define STATUS_OVERPRESSURE (1u << 11)

enum {
    FAULT_NONE = 0, FAULT_OVERPRESSURE = 1, FAULT_WATCHDOG = 2, FAULT_ESTOP = 3,
    FAULT_SENSOR = 4, FAULT_RATE_LIMIT = 5, FAULT_ACTUATOR = 6, FAULT_CONTROLLER = 7
};

typedef struct {
    /* configuration */
    hal_nameplate_t np;
    double die_area_m2, soft_max_mpa, rated_max_mpa;
    uint32_t watchdog_ms;
    double kp, ki, kd, kff, u_max, u_min;
    /* host command */
    double target_mpa, rate_mpa_s;
    /* state */
    ctl_state_t state;
    uint16_t fault_code, latched_bits;
    int released;
    double sp_mpa, sp_rate_mpa_s, integral, dfilt_n_s, prev_meas_n, follow_s, u;
    uint64_t last_hb_us, last_fresh_us;
    uint32_t last_counter, samples;
    int have_prev;
    /* the latest sample, as the host sees it */
    double meas_n, meas_mpa, position_mm, channel_kn[HAL_MAX_CHANNELS];
    uint16_t status;
} controller_t;

void control_init(controller_t *c, const hal_nameplate_t *np);
/* One control period on sample s at time now_us; dt_s is the time since the last period. */
void control_step(controller_t *c, const hal_sensors_t *s, uint64_t now_us, double dt_s,
                  hal_actuator_t *out);

/* host commands: 0 done, else the Modbus exception code (3 bad value, 4 refused now) */
int control_regulate(controller_t *c, double setpoint_mpa, double rate_mpa_s);
int control_release(controller_t *c, double rate_mpa_s);
void control_stop(controller_t *c);
int control_reset(controller_t *c, uint64_t now_us);
void control_heartbeat(controller_t *c, uint64_t now_us);
void control_set_die_area(controller_t *c, double area_mm2);
void control_set_soft_max(controller_t *c, double mpa);
void control_set_watchdog(controller_t *c, uint32_t ms, uint64_t now_us);
double control_trip_limit_mpa(const controller_t *c);

#endif /* CONTROL_H */
