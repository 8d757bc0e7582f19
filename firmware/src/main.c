/*
 * main.c - the reference firmware's main loop (host build).
 *
 *   presshil-fw --plant tcp:127.0.0.1:5021 [--host 127.0.0.1:5502] [--loop-hz 1000]
 *               [--max-run-s S]
 *
 * Each control period: read the sensors, run the controller, write the actuator, then serve
 * the host until the next period's deadline (absolute deadlines: no drift; an overrun
 * restarts the schedule from now and is counted). On start it prints one line
 * "READY host=HOST:PORT ..." once the plant's nameplate is read and the host interface
 * listens; on SIGTERM / SIGINT it puts the actuator in its safe state, prints a "STATS ..."
 * line and exits 0. Exit 2: bad arguments; 3: plant or host link could not be opened.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "control.h"
#include "hal.h"
#include "hal_posix.h"
#include "hostif.h"

#if defined(FW_BREAK_PID_SIGN)
#define FW_FLAVOUR "+broken-pid-sign"
#elif defined(FW_BREAK_NO_ANTIWINDUP)
#define FW_FLAVOUR "+broken-no-antiwindup"
#elif defined(FW_BREAK_NO_WATCHDOG)
#define FW_FLAVOUR "+broken-no-watchdog"
#elif defined(FW_BREAK_NO_OVERPRESSURE)
#define FW_FLAVOUR "+broken-no-overpressure"
#else
#define FW_FLAVOUR ""
#endif

static volatile sig_atomic_t running = 1;

static void on_signal(int sig)
{
    (void)sig;
    running = 0;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s --plant tcp:HOST:PORT|rtu:DEVICE[:BAUD] [--host HOST:PORT] "
            "[--loop-hz HZ] [--max-run-s S]\n",
            argv0);
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    hal_posix_config_t cfg = {NULL, "127.0.0.1", 5502, FW_VERSION FW_FLAVOUR};
    double loop_hz = FW_LOOP_HZ_DEFAULT, max_run_s = 0.0;
    static char host_buf[128];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage(argv[0]);
            return 2;
        }
        if (strcmp(a, "--plant") == 0) {
            cfg.plant = v;
        } else if (strcmp(a, "--host") == 0) {
            snprintf(host_buf, sizeof host_buf, "%s", v);
            char *colon = strrchr(host_buf, ':');
            if (!colon) {
                usage(argv[0]);
                return 2;
            }
            *colon = '\0';
            cfg.host_bind = host_buf[0] ? host_buf : "127.0.0.1";
            cfg.host_port = atoi(colon + 1);
        } else if (strcmp(a, "--loop-hz") == 0) {
            loop_hz = atof(v);
        } else if (strcmp(a, "--max-run-s") == 0) {
            max_run_s = atof(v);
        } else {
            usage(argv[0]);
            return 2;
        }
        i++;
    }
    if (!cfg.plant || !(loop_hz > 0.0 && loop_hz <= 20000.0)) {
        usage(argv[0]);
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    int port = 0;
    if (hal_posix_open(&cfg, &port) != 0) {
        fprintf(stderr, "presshil-fw: %s\n", hal_last_error());
        hal_posix_close();
        return 3;
    }
    hal_nameplate_t np;
    int rc = -1;
    for (int tries = 0; tries < 50 && running && rc != 0; tries++) { /* bounded: 5 s */
        rc = hal_read_nameplate(&np);
        if (rc == -2)
            break;
        if (rc != 0)
            sleep_us(100000);
    }
    if (rc != 0) {
        fprintf(stderr, "presshil-fw: cannot read the plant's nameplate: %s\n", hal_last_error());
        hal_posix_close();
        return 3;
    }
    controller_t ctl;
    hostif_t hi;
    uint64_t boot = hal_time_us();
    control_init(&ctl, &np);
    hostif_init(&hi, &ctl, boot);
    printf("READY host=%s:%d plant=%s revision=%s loop_hz=%g %s\n", cfg.host_bind, port,
           cfg.plant, cfg.revision, loop_hz, np.hydraulic ? "hydraulic" : "servo-electric");
    fflush(stdout);

    const uint64_t period = (uint64_t)(1e6 / loop_hz);
    uint64_t next = hal_time_us(), prev = next, loops = 0, overruns = 0, sensor_errors = 0;
    hal_sensors_t s;
    memset(&s, 0, sizeof s);
    s.n_channels = np.n_channels;
    hal_actuator_t cmd;
    while (running) {
        uint64_t now = hal_time_us();
        if (max_run_s > 0 && (now - boot) * 1e-6 > max_run_s)
            break;
        if (hal_read_sensors(&s) != 0)
            sensor_errors++; /* the stale sample stays: the controller's staleness trip acts */
        now = hal_time_us();
        control_step(&ctl, &s, now, (double)(now - prev) * 1e-6, &cmd);
        prev = now;
        hal_write_actuator(&cmd);
        loops++;
        next += period;
        if (hal_time_us() > next + period) { /* more than a period late: restart the schedule */
            overruns++;
            next = hal_time_us();
        }
        hal_host_service(&hi, next);
    }
    cmd.drive = HAL_DRIVE_SAFE;
    cmd.demand = 0.0f;
    hal_write_actuator(&cmd);
    uint32_t plant_errors, host_requests;
    hal_posix_stats(&plant_errors, &host_requests);
    double up = (double)(hal_time_us() - boot) * 1e-6;
    printf("STATS loops=%llu loop_hz=%.1f overruns=%llu sensor_errors=%llu plant_errors=%u "
           "host_requests=%u\n",
           (unsigned long long)loops, up > 0 ? loops / up : 0.0, (unsigned long long)overruns,
           (unsigned long long)sensor_errors, plant_errors, host_requests);
    fflush(stdout);
    hal_posix_close();
    return 0;
}
