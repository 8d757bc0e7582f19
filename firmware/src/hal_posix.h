/*
 * hal_posix.h - options of the host (POSIX + libmodbus) port of the HAL.
 */
#ifndef HAL_POSIX_H
#define HAL_POSIX_H

#include <stdint.h>

typedef struct {
    const char *plant;     /* "tcp:HOST:PORT" or "rtu:DEVICE[:BAUD]" */
    const char *host_bind; /* address the host interface listens on */
    int host_port;         /* 0: any free port */
    const char *revision;  /* firmware revision reported by FC43 */
} hal_posix_config_t;

/* Connect to the plant, listen for the host. 0 on success; *port_out = the host port. */
int hal_posix_open(const hal_posix_config_t *cfg, int *port_out);
void hal_posix_close(void);
/* Counters of the port: plant transactions that failed, host requests served. */
void hal_posix_stats(uint32_t *plant_errors, uint32_t *host_requests);

#endif /* HAL_POSIX_H */
