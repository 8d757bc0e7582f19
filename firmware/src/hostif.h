/*
 * hostif.h - the host interface: press register map v1 (docs/register-map.md) over any Modbus stack.
 *
 * The HAL's Modbus server hands every register request to hostif_read / hostif_write and
 * sends back what they return; the rules of the map (defined addresses, value ranges,
 * commands executed after the parameters of the same write) live here, portable.
 */
#ifndef HOSTIF_H
#define HOSTIF_H

#include <stdint.h>

#include "control.h"

#define HOSTIF_INPUT 0
#define HOSTIF_HOLDING 1

typedef struct hostif {
    controller_t *ctl;
    uint64_t boot_us;
    /* holding-register parameters, as last accepted */
    uint16_t command, heartbeat, reserved_9;
    float setpoint_mpa, ramp_rate_mpa_s;
    /* statistics */
    uint32_t requests, exceptions;
} hostif_t;

void hostif_init(hostif_t *hi, controller_t *ctl, uint64_t boot_us);

/* Fill out[0..count) with registers of `space` from `addr`. Returns 0 or exception code. */
int hostif_read(hostif_t *hi, int space, uint16_t addr, uint16_t count, uint16_t *out,
                uint64_t now_us);

/* Check, then apply, a write of holding registers. Returns 0 or exception code
 * (2 illegal address, 3 illegal value: nothing changed, 4 command refused now). */
int hostif_write(hostif_t *hi, uint16_t addr, uint16_t count, const uint16_t *values,
                 uint64_t now_us);

#endif /* HOSTIF_H */
