/*
 * hal.h - the hardware abstraction layer of the presshil reference firmware.
 *
 * The control code (control.c) and the host interface (hostif.c) are portable C99 with no
 * I/O of their own: everything that touches hardware or time goes through these functions.
 * Ports that exist or are sketched:
 *
 *   hal_posix.c   host build: the "hardware" is the presshil plant server (Modbus client,
 *                 libmodbus) and the host link is a Modbus TCP server (libmodbus).
 *   ../mcu/hal_mcu.c  Cortex-M3 on QEMU's mps2-an385 (make TARGET=mps2-an385): the plant
 *                 over a Modbus RTU master on a UART, the host over an RTU slave on another.
 *   (your MCU)    ADC + encoder for hal_read_sensors, DAC/PWM + relay outputs for
 *                 hal_write_actuator, a free-running timer for hal_time_us, a Modbus RTU or
 *                 TCP slave stack feeding hostif_* for hal_host_service. See docs/firmware.md.
 *
 * Contract: single-threaded; hal_read_sensors and hal_write_actuator are called once per
 * control period, in that order; hal_host_service is called between control periods and
 * must return by the deadline it is given.
 */
#ifndef HAL_H
#define HAL_H

#include <stdint.h>

#define HAL_MAX_CHANNELS 8

/* One sensor sample: what the ADCs and the encoder read at one instant. */
typedef struct {
    uint32_t counter;       /* advances by one per sample (stale data does not advance it) */
    uint32_t time_us;       /* when the sample was taken (wraps) */
    uint16_t inputs;        /* digital inputs: HAL_IN_* bits */
    uint16_t n_channels;    /* load-cell channels present (1..8) */
    float position_mm;      /* ram encoder */
    float channel_kn[HAL_MAX_CHANNELS]; /* load-cell readings */
} hal_sensors_t;

#define HAL_IN_ESTOP (1u << 0) /* e-stop button pressed */

/* What the firmware asks of the actuator. */
typedef enum {
    HAL_DRIVE_SAFE = 0,   /* hydraulic: pump off + dump valve open; screw press: retract */
    HAL_DRIVE_FOLLOW = 1, /* follow the demand */
    HAL_DRIVE_HOLD = 2    /* valve closed / motor stopped, actuator enabled */
} hal_drive_t;

typedef struct {
    hal_drive_t drive;
    float demand;       /* hydraulic: spool opening -1..1; screw press: ram speed, mm/s */
    uint32_t based_on;  /* counter of the sample the demand was computed from */
} hal_actuator_t;

/* The machine's configuration memory: read once at boot. */
typedef struct {
    int hydraulic;                    /* 1 pump + servo valve, 0 motor + ball screw */
    float sample_rate_hz;
    float rated_force_kn;
    float rated_max_pressure_mpa;     /* die-set rating */
    float load_cell_capacity_kn;
    float piston_area_mm2, supply_pressure_mpa, valve_flow_l_min, pump_flow_l_min;
    float max_speed_mm_s;
    float nominal_compliance_um_per_kn;
    float die_area_mm2;
    uint16_t n_channels;
    float channel_position_mm[2 * HAL_MAX_CHANNELS]; /* (x, y) per channel, NaN = unknown */
} hal_nameplate_t;

/* All return 0 on success, a negative number on failure (hal_last_error says why). */
int hal_read_nameplate(hal_nameplate_t *out);
int hal_read_sensors(hal_sensors_t *out);
int hal_write_actuator(const hal_actuator_t *cmd);

/* Monotonic time since boot, microseconds; sleep/serve until an absolute time. */
uint64_t hal_time_us(void);

/* Serve the host link until deadline_us (absolute, hal_time_us): receive requests and hand
 * them to hostif_read / hostif_write (hostif.h). Returns the number served, <0 on error. */
struct hostif;
int hal_host_service(struct hostif *hi, uint64_t deadline_us);

const char *hal_last_error(void);

#endif /* HAL_H */
