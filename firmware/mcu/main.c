/*
 * main.c (MCU) - the reference firmware's main loop on mps2-an385.
 *
 * The same loop as the host build's src/main.c, around the same control.c and hostif.c:
 * each control period read the sensors, run the controller, write the actuator, then serve
 * the host until the next period's deadline (absolute deadlines; an overrun restarts the
 * schedule and is counted). The console UART says what the host build says on stdout:
 *
 *   READY host=uart2 plant=uart1 revision=1.0.0 loop_hz=100 hydraulic    once serving
 *   STATS loops=… loop_hz=… overruns=… sensor_errors=… plant_errors=… host_requests=…
 *         max_period_us=… (the longest control period so far)
 *                                                                        every second
 *   ERROR …                                                              cannot start
 *   HARDFAULT pc=… lr=… cfsr=… hfsr=…                                    crashed (startup.c)
 *
 * There is no SIGTERM on a microcontroller: the emulator is stopped from outside, and the
 * plant drops its actuator when its link goes quiet.
 */
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "hal.h"
#include "hal_mcu.h"
#include "hostif.h"

#ifndef FW_STATS_PERIOD_US
#define FW_STATS_PERIOD_US 1000000u /* a STATS line every second */
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

static controller_t ctl; /* static: the stack stays small and its use bounded */
static hostif_t hi;

static void halt(void)
{
    for (;;)
        hal_mcu_idle();
}

static void stats_line(uint64_t loops, uint64_t up_us, uint32_t overruns, uint32_t sensor_errors,
                       uint32_t max_period_us)
{
    char line[256];
    unsigned pos = 0;
    uint32_t plant_errors, host_requests;
    hal_mcu_stats(&plant_errors, &host_requests);
    uint32_t hz10 = up_us ? (uint32_t)(loops * 10000000u / up_us) : 0u;
    fmt_str(line, sizeof line, &pos, "STATS loops=");
    fmt_u32(line, sizeof line, &pos, (uint32_t)loops);
    fmt_str(line, sizeof line, &pos, " loop_hz=");
    fmt_u32(line, sizeof line, &pos, hz10 / 10u);
    fmt_str(line, sizeof line, &pos, ".");
    fmt_u32(line, sizeof line, &pos, hz10 % 10u);
    fmt_str(line, sizeof line, &pos, " overruns=");
    fmt_u32(line, sizeof line, &pos, overruns);
    fmt_str(line, sizeof line, &pos, " sensor_errors=");
    fmt_u32(line, sizeof line, &pos, sensor_errors);
    fmt_str(line, sizeof line, &pos, " plant_errors=");
    fmt_u32(line, sizeof line, &pos, plant_errors);
    fmt_str(line, sizeof line, &pos, " host_requests=");
    fmt_u32(line, sizeof line, &pos, host_requests);
    fmt_str(line, sizeof line, &pos, " max_period_us=");
    fmt_u32(line, sizeof line, &pos, max_period_us);
    uint32_t stalls, longest_stall_us;
    hal_mcu_stalls(&stalls, &longest_stall_us);
    fmt_str(line, sizeof line, &pos, " stalls=");
    fmt_u32(line, sizeof line, &pos, stalls);
    fmt_str(line, sizeof line, &pos, " max_stall_us=");
    fmt_u32(line, sizeof line, &pos, longest_stall_us);
    fmt_str(line, sizeof line, &pos, "\n");
    console_puts(line);
}

/* Run every path of the control law and of the host interface once, on scratch copies,
 * before READY. On silicon this costs nothing and changes nothing; under QEMU the first run
 * of a piece of code is translated first (tens of ms for the soft-float library on a busy
 * host), and that stall, landing in the first control period or the host's first request,
 * would trip the stale-sensor check for reasons that have nothing to do with the firmware. */
static void warm_up(const hal_nameplate_t *np)
{
    static controller_t scratch;
    static hostif_t scratch_hi;
    hal_sensors_t s;
    hal_actuator_t out;
    memset(&s, 0, sizeof s);
    s.n_channels = np->n_channels;
    uint64_t t = 1000u;
    control_init(&scratch, np);
    hostif_init(&scratch_hi, &scratch, 0);
    control_set_die_area(&scratch, 78.5);
    control_set_soft_max(&scratch, 50.0);
    control_set_watchdog(&scratch, 0, t);
    control_step(&scratch, &s, t, 0.004, &out);
    control_regulate(&scratch, 10.0, 10.0);
    for (uint32_t i = 1; i <= 50; i++) {
        s.counter = i;
        for (unsigned k = 0; k < s.n_channels && k < HAL_MAX_CHANNELS; k++)
            s.channel_kn[k] = 0.01f * (float)i;
        t += 4000u;
        control_step(&scratch, &s, t, 0.004, &out);
        if (i == 25)
            control_release(&scratch, 10.0);
    }
    control_heartbeat(&scratch, t);
    control_stop(&scratch);
    control_reset(&scratch, t);
    (void)control_trip_limit_mpa(&scratch);
    hal_mcu_warm_up_host(&scratch_hi);
}

int main(void)
{
    hal_mcu_init();
    console_puts("BOOT presshil-fw " FW_VERSION FW_FLAVOUR " mps2-an385\n");
    hal_nameplate_t np;
    int rc = -1;
    uint64_t give_up = hal_time_us() + 20000000u; /* bounded: 20 s (a plant still starting) */
    while (rc != 0 && rc != -2 && hal_time_us() < give_up)
        rc = hal_read_nameplate(&np);
    if (rc != 0) {
        console_puts("ERROR cannot read the plant's nameplate: ");
        console_puts(hal_last_error());
        console_puts("\n");
        halt();
    }
    /* power-on link check: until 50 nameplate reads in a row answer within 20 ms (5 s at
     * most). Under QEMU the first thousand transactions are slow while code is translated;
     * a firmware that trips its stale-sensor check before the host has even connected is
     * no use to anyone. The sensor block is not read here: the plant times those reads. */
    uint64_t check_end = hal_time_us() + 5000000u;
    for (int good = 0; good < 50 && hal_time_us() < check_end;) {
        uint64_t t0 = hal_time_us();
        good = hal_check_plant_link() == 0 && hal_time_us() - t0 < 20000u ? good + 1 : 0;
    }
    warm_up(&np);
    uint64_t boot = hal_time_us();
    control_init(&ctl, &np);
    hostif_init(&hi, &ctl, boot);
    console_puts(np.hydraulic ? "READY host=uart" STR(FW_UART_HOST) " plant=uart" STR(
                                    FW_UART_PLANT) " revision=" FW_VERSION FW_FLAVOUR
                                    " loop_hz=" STR(FW_MCU_LOOP_HZ) " hydraulic\n"
                              : "READY host=uart" STR(FW_UART_HOST) " plant=uart" STR(
                                    FW_UART_PLANT) " revision=" FW_VERSION FW_FLAVOUR
                                    " loop_hz=" STR(FW_MCU_LOOP_HZ) " servo-electric\n");

    const uint64_t period = 1000000u / FW_MCU_LOOP_HZ;
    uint64_t next = hal_time_us(), prev = next, loops = 0, next_stats = next + FW_STATS_PERIOD_US;
    uint32_t overruns = 0, sensor_errors = 0, max_period_us = 0;
    hal_sensors_t s;
    memset(&s, 0, sizeof s);
    s.n_channels = np.n_channels;
    hal_actuator_t cmd;
    for (;;) {
        if (hal_read_sensors(&s) != 0)
            sensor_errors++; /* the stale sample stays: the controller's staleness trip acts */
        uint64_t now = hal_time_us();
        if (loops > 0 && now - prev > max_period_us)
            max_period_us = (uint32_t)(now - prev); /* sensor read to sensor read */
        control_step(&ctl, &s, now, (double)(now - prev) * 1e-6, &cmd);
        prev = now;
        hal_write_actuator(&cmd);
        loops++;
        next += period;
        if (hal_time_us() > next + period) { /* more than a period late: restart the schedule */
            overruns++;
            next = hal_time_us();
        }
        if (now >= next_stats) {
            stats_line(loops, now - boot, overruns, sensor_errors, max_period_us);
            next_stats += FW_STATS_PERIOD_US;
        }
        hal_host_service(&hi, next);
    }
}
