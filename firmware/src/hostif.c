/*
 * hostif.c - press register map v1 on top of the controller (see hostif.h).
 */
#include "hostif.h"

#include <math.h>
#include <string.h>

#include "press_map.h"

#define EX_ADDRESS 2
#define EX_VALUE 3

static void put_u32(uint16_t *r, uint32_t v) { r[0] = (uint16_t)(v >> 16); r[1] = (uint16_t)v; }

static void put_f32(uint16_t *r, float f)
{
    uint32_t v;
    memcpy(&v, &f, sizeof v);
    put_u32(r, v);
}

static float get_f32(const uint16_t *r)
{
    uint32_t v = ((uint32_t)r[0] << 16) | r[1];
    float f;
    memcpy(&f, &v, sizeof f);
    return f;
}

void hostif_init(hostif_t *hi, controller_t *ctl, uint64_t boot_us)
{
    memset(hi, 0, sizeof(*hi));
    hi->ctl = ctl;
    hi->boot_us = boot_us;
    hi->ramp_rate_mpa_s = 1.0f;
}

static unsigned n_channels(const hostif_t *hi)
{
    unsigned n = hi->ctl->np.n_channels;
    return n < 1 ? 1 : (n > HAL_MAX_CHANNELS ? HAL_MAX_CHANNELS : n);
}

/* the state block, input 0..15+2N */
static void state_block(const hostif_t *hi, uint16_t *r, uint64_t now_us)
{
    const controller_t *c = hi->ctl;
    unsigned n = n_channels(hi);
    memset(r, 0, (16 + 2 * n) * sizeof *r);
    r[PRESS_IN_STATUS] = c->status;
    r[PRESS_IN_FAULT_CODE] = c->fault_code;
    put_u32(r + PRESS_IN_COUNTER, c->samples);
    put_u32(r + PRESS_IN_DEVICE_TIME, (uint32_t)((now_us - hi->boot_us) / 1000u));
    put_f32(r + PRESS_IN_PRESSURE, (float)c->meas_mpa);
    put_f32(r + PRESS_IN_FORCE, (float)(c->meas_n * 1e-3));
    put_f32(r + PRESS_IN_POSITION, (float)c->position_mm);
    put_f32(r + PRESS_IN_SETPOINT_ACTIVE, (float)c->sp_mpa);
    r[PRESS_IN_CHANNEL_COUNT] = (uint16_t)n;
    for (unsigned i = 0; i < n; i++)
        put_f32(r + PRESS_IN_CHANNEL_FORCE + 2 * i, (float)c->channel_kn[i]);
}

/* every defined input register, by address (0 when the address is not defined) */
static int input_defined(const hostif_t *hi, unsigned a)
{
    unsigned n = n_channels(hi);
    return a < 16 + 2 * n || (a >= PRESS_IN_RATED_MAX_PRESSURE && a <= PRESS_IN_MAP_VERSION) ||
           (a >= PRESS_IN_CHANNEL_POSITION && a < PRESS_IN_CHANNEL_POSITION + 4 * n);
}

static int holding_defined(const hostif_t *hi, unsigned a)
{
    return a <= PRESS_HOLD_DIE_AREA + 1 ||
           (a >= PRESS_STATE_MIRROR_BASE && a < PRESS_STATE_MIRROR_BASE + 16 + 2 * n_channels(hi));
}

static void input_image(const hostif_t *hi, uint16_t *img, uint64_t now_us)
{
    const controller_t *c = hi->ctl;
    unsigned n = n_channels(hi);
    state_block(hi, img, now_us);
    put_f32(img + PRESS_IN_RATED_MAX_PRESSURE, (float)c->rated_max_mpa);
    put_f32(img + PRESS_IN_RATED_MAX_FORCE, c->np.rated_force_kn);
    img[PRESS_IN_MAP_VERSION] = PRESS_MAP_VERSION;
    for (unsigned i = 0; i < 2 * n; i++)
        put_f32(img + PRESS_IN_CHANNEL_POSITION + 2 * i, c->np.channel_position_mm[i]);
}

int hostif_read(hostif_t *hi, int space, uint16_t addr, uint16_t count, uint16_t *out,
                uint64_t now_us)
{
    uint16_t img[PRESS_STATE_MIRROR_BASE + 64];
    unsigned end = (unsigned)addr + count;
    hi->requests++;
    if (count == 0 || end > sizeof img / sizeof img[0])
        return EX_ADDRESS;
    for (unsigned a = addr; a < end; a++)
        if (!(space == HOSTIF_INPUT ? input_defined(hi, a) : holding_defined(hi, a)))
            return EX_ADDRESS;
    memset(img, 0, sizeof img);
    if (space == HOSTIF_INPUT) {
        input_image(hi, img, now_us);
    } else {
        const controller_t *c = hi->ctl;
        img[PRESS_HOLD_COMMAND] = hi->command;
        img[PRESS_HOLD_HEARTBEAT] = hi->heartbeat;
        put_f32(img + PRESS_HOLD_SETPOINT, hi->setpoint_mpa);
        put_f32(img + PRESS_HOLD_RAMP_RATE, hi->ramp_rate_mpa_s);
        put_f32(img + PRESS_HOLD_SOFT_MAX_PRESSURE, (float)c->soft_max_mpa);
        img[PRESS_HOLD_WATCHDOG_TIMEOUT] = (uint16_t)c->watchdog_ms;
        img[PRESS_HOLD_RESERVED_9] = 0;
        put_f32(img + PRESS_HOLD_DIE_AREA, (float)(c->die_area_m2 * 1e6));
        state_block(hi, img + PRESS_STATE_MIRROR_BASE, now_us);
    }
    memcpy(out, img + addr, count * sizeof *out);
    return 0;
}

/* a write must cover whole fields: f32 at 2..3, 4..5, 6..7, 10..11 */
static int splits_a_float(unsigned first, unsigned end)
{
    static const unsigned floats[] = {PRESS_HOLD_SETPOINT, PRESS_HOLD_RAMP_RATE,
                                      PRESS_HOLD_SOFT_MAX_PRESSURE, PRESS_HOLD_DIE_AREA};
    for (unsigned i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        unsigned f = floats[i];
        int has_lo = first <= f && f < end, has_hi = first <= f + 1 && f + 1 < end;
        if (has_lo != has_hi)
            return 1;
    }
    return 0;
}

int hostif_write(hostif_t *hi, uint16_t addr, uint16_t count, const uint16_t *values,
                 uint64_t now_us)
{
    controller_t *c = hi->ctl;
    unsigned end = (unsigned)addr + count;
    hi->requests++;
    if (count == 0 || end > PRESS_HOLD_DIE_AREA + 2 || splits_a_float(addr, end))
        return EX_ADDRESS;
#define HAS(a) ((a) >= addr && (a) < end)
#define U16(a) (values[(a) - addr])
#define F32(a) get_f32(values + (a) - addr)
    /* 1. check everything; change nothing on a bad value */
    double soft = HAS(PRESS_HOLD_SOFT_MAX_PRESSURE) ? F32(PRESS_HOLD_SOFT_MAX_PRESSURE)
                                                     : c->soft_max_mpa;
    double rated = HAS(PRESS_HOLD_DIE_AREA) ? INFINITY : c->rated_max_mpa;
    if (HAS(PRESS_HOLD_COMMAND) && U16(PRESS_HOLD_COMMAND) > 4)
        return EX_VALUE;
    if (HAS(PRESS_HOLD_SETPOINT)) {
        double sp = F32(PRESS_HOLD_SETPOINT);
        if (!isfinite(sp) || sp < 0.0 || sp > fmin(soft, rated))
            return EX_VALUE;
    }
    if (HAS(PRESS_HOLD_RAMP_RATE)) {
        double r = F32(PRESS_HOLD_RAMP_RATE);
        if (!isfinite(r) || !(r > 0.0))
            return EX_VALUE;
    }
    if (HAS(PRESS_HOLD_SOFT_MAX_PRESSURE) && (!isfinite(soft) || !(soft > 0.0) || soft > rated))
        return EX_VALUE;
    if (HAS(PRESS_HOLD_DIE_AREA)) {
        double area = F32(PRESS_HOLD_DIE_AREA);
        if (!isfinite(area) || !(area > 0.0))
            return EX_VALUE;
    }
    if (HAS(PRESS_HOLD_RESERVED_9) && U16(PRESS_HOLD_RESERVED_9) != 0)
        return EX_VALUE;
    /* 2. configuration and parameters */
    if (HAS(PRESS_HOLD_DIE_AREA))
        control_set_die_area(c, F32(PRESS_HOLD_DIE_AREA));
    if (HAS(PRESS_HOLD_SOFT_MAX_PRESSURE)) {
        if (soft > c->rated_max_mpa)
            return EX_VALUE; /* above the rating of the new die area */
        control_set_soft_max(c, soft);
    }
    if (HAS(PRESS_HOLD_WATCHDOG_TIMEOUT))
        control_set_watchdog(c, U16(PRESS_HOLD_WATCHDOG_TIMEOUT), now_us);
    if (HAS(PRESS_HOLD_SETPOINT))
        hi->setpoint_mpa = F32(PRESS_HOLD_SETPOINT);
    if (HAS(PRESS_HOLD_RAMP_RATE))
        hi->ramp_rate_mpa_s = F32(PRESS_HOLD_RAMP_RATE);
    if (HAS(PRESS_HOLD_HEARTBEAT) && U16(PRESS_HOLD_HEARTBEAT) != hi->heartbeat) {
        hi->heartbeat = U16(PRESS_HOLD_HEARTBEAT);
        control_heartbeat(c, now_us);
    }
    /* 3. the command, last */
    if (!HAS(PRESS_HOLD_COMMAND))
        return 0;
    int rc = 0;
    switch (U16(PRESS_HOLD_COMMAND)) {
    case 1: rc = control_regulate(c, hi->setpoint_mpa, hi->ramp_rate_mpa_s); break;
    case 2: rc = control_release(c, hi->ramp_rate_mpa_s); break;
    case 3: control_stop(c); break;
    case 4: rc = control_reset(c, now_us); break;
    default: break;
    }
    if (rc == 0)
        hi->command = U16(PRESS_HOLD_COMMAND);
    return rc;
#undef HAS
#undef U16
#undef F32
}
