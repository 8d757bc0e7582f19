/*
 * hal_posix.c - the HAL on a POSIX host, for firmware in the loop.
 *
 * "Hardware" is the presshil plant server, reached as a Modbus client (TCP or RTU on a pty /
 * serial line): the sensor block is one FC04 read, the actuator block one FC16 write (see
 * plant_map.h, generated from docs/plant-map.md's table). The host interface is a Modbus TCP
 * server answering press register map v1 through hostif.c. Both with libmodbus.
 */
#define _POSIX_C_SOURCE 200809L
#include "hal.h"
#include "hal_posix.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus.h>

#include "config.h"
#include "hostif.h"
#include "plant_codec.h"
#include "plant_map.h"
#include "press_map.h"

#define MAX_CLIENTS 8
#define MAX_REQUESTS_PER_SERVICE 64

static modbus_t *plant;
static modbus_t *host;
static modbus_mapping_t *mapping;
static int listen_fd = -1;
static int clients[MAX_CLIENTS];
static char error_text[256];
static const char *revision = FW_VERSION;
static uint32_t plant_errors, host_requests;
static uint64_t next_reconnect_us;

const char *hal_last_error(void) { return error_text; }

uint64_t hal_time_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------------------ the plant (client) */
static int plant_open(const char *spec)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    if (strncmp(buf, "tcp:", 4) == 0) {
        char *host_part = buf + 4, *colon = strrchr(host_part, ':');
        if (!colon) {
            snprintf(error_text, sizeof error_text, "plant %s: expected tcp:HOST:PORT", spec);
            return -1;
        }
        *colon = '\0';
        plant = modbus_new_tcp(host_part, atoi(colon + 1));
        if (plant)
            modbus_set_response_timeout(plant, 0, 50000);
    } else if (strncmp(buf, "rtu:", 4) == 0) {
        char *dev = buf + 4, *colon = strrchr(dev, ':');
        int baud = 115200;
        if (colon && colon != dev && strchr(colon, '/') == NULL) {
            *colon = '\0';
            baud = atoi(colon + 1);
        }
        plant = modbus_new_rtu(dev, baud, 'N', 8, 1);
        if (plant)
            modbus_set_response_timeout(plant, 0, 200000);
    } else {
        snprintf(error_text, sizeof error_text,
                 "plant %s: expected tcp:HOST:PORT or rtu:DEVICE[:BAUD]", spec);
        return -1;
    }
    if (!plant) {
        snprintf(error_text, sizeof error_text, "plant %s: %s", spec, modbus_strerror(errno));
        return -1;
    }
    modbus_set_slave(plant, PLANT_DEVICE_ID);
    if (modbus_connect(plant) == -1) {
        snprintf(error_text, sizeof error_text, "plant %s: connect: %s", spec,
                 modbus_strerror(errno));
        return -1;
    }
    return 0;
}

/* after a failed transaction: flush, and reconnect at most every 100 ms */
static void plant_failed(const char *what)
{
    plant_errors++;
    snprintf(error_text, sizeof error_text, "plant %s: %s", what, modbus_strerror(errno));
    uint64_t now = hal_time_us();
    if (now >= next_reconnect_us) {
        next_reconnect_us = now + 100000u;
        modbus_close(plant);
        modbus_connect(plant);
    } else {
        modbus_flush(plant);
    }
}

int hal_read_nameplate(hal_nameplate_t *np)
{
    uint16_t r[PLANT_NAMEPLATE_COUNT];
    uint16_t n;
    if (modbus_read_input_registers(plant, PLANT_IN_PLANT_MAP_VERSION, PLANT_NAMEPLATE_COUNT, r) !=
            PLANT_NAMEPLATE_COUNT ||
        modbus_read_input_registers(plant, PLANT_IN_CHANNEL_COUNT, 1, &n) != 1) {
        plant_failed("read nameplate");
        return -1;
    }
    if (plant_decode_nameplate(r, n, np) != 0) {
        snprintf(error_text, sizeof error_text, "plant speaks plant map %u, firmware speaks %d",
                 r[0], PLANT_MAP_VERSION);
        return -2;
    }
    return 0;
}

int hal_read_sensors(hal_sensors_t *s)
{
    uint16_t r[PLANT_SENSOR_COUNT];
    if (modbus_read_input_registers(plant, 0, PLANT_SENSOR_COUNT, r) != PLANT_SENSOR_COUNT) {
        plant_failed("read sensors");
        return -1;
    }
    plant_decode_sensors(r, s);
    return 0;
}

int hal_write_actuator(const hal_actuator_t *cmd)
{
    uint16_t r[PLANT_ACTUATOR_COUNT];
    plant_encode_actuator(cmd, r);
    if (modbus_write_registers(plant, 0, PLANT_ACTUATOR_COUNT, r) != PLANT_ACTUATOR_COUNT) {
        plant_failed("write actuator");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the host (server) */
static int host_open(const char *bind, int port, int *port_out)
{
    host = modbus_new_tcp(bind, port);
    mapping = modbus_mapping_new_start_address(0, 0, 0, 0, 0, PRESS_STATE_MIRROR_BASE + 64, 0,
                                               PRESS_STATE_MIRROR_BASE);
    if (!host || !mapping) {
        snprintf(error_text, sizeof error_text, "host interface: out of memory");
        return -1;
    }
    modbus_set_indication_timeout(host, 0, 200000); /* a half-sent request cannot hang us */
    listen_fd = modbus_tcp_listen(host, MAX_CLIENTS);
    if (listen_fd == -1) {
        snprintf(error_text, sizeof error_text, "host interface %s:%d: listen: %s", bind, port,
                 modbus_strerror(errno));
        return -1;
    }
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    getsockname(listen_fd, (struct sockaddr *)&addr, &len);
    *port_out = ntohs(addr.sin_port);
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i] = -1;
    return 0;
}

/* FC43/14 read device identification: libmodbus has no server side for it */
static void reply_identification(int fd, const uint8_t *req)
{
    const char *objects[][2] = {{"\x00", FW_VENDOR}, {"\x01", "presshil-fw"},
                                {"\x02", revision},  {"\x05", FW_PRODUCT},
                                {"\x80", "FIL-0001"}};
    uint8_t rsp[260];
    int n = 7;
    memcpy(rsp, req, 2); /* transaction id */
    rsp[2] = rsp[3] = 0;
    rsp[6] = req[6];
    rsp[n++] = 0x2B;
    rsp[n++] = 0x0E;
    rsp[n++] = req[9]; /* read device id code */
    rsp[n++] = 0x83;   /* conformity: extended, individual access */
    rsp[n++] = 0x00;   /* no more follows */
    rsp[n++] = 0x00;
    rsp[n++] = (uint8_t)(sizeof objects / sizeof objects[0]);
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
        size_t len = strlen(objects[i][1]);
        rsp[n++] = (uint8_t)objects[i][0][0];
        rsp[n++] = (uint8_t)len;
        memcpy(rsp + n, objects[i][1], len);
        n += (int)len;
    }
    rsp[4] = (uint8_t)((n - 6) >> 8);
    rsp[5] = (uint8_t)(n - 6);
    if (write(fd, rsp, (size_t)n) != n)
        snprintf(error_text, sizeof error_text, "host: short write of FC43 reply");
}

/* libmodbus 3.1 does not know the length of an FC43 request (it would read only its
 * function code and leave the rest in the socket): peek at the MBAP header and answer
 * FC43/14 here. Returns 1 when the pending request was an FC43 and has been consumed. */
static int take_identification_request(int fd)
{
    uint8_t adu[16];
    ssize_t n = recv(fd, adu, sizeof adu, MSG_PEEK | MSG_DONTWAIT);
    if (n < 8 || adu[7] != 0x2B)
        return 0;
    size_t total = 6u + (size_t)((adu[4] << 8) | adu[5]);
    if (total != 11 || n < (ssize_t)total)
        return 0; /* not a well-formed FC43/14 request (yet): let libmodbus deal with it */
    if (recv(fd, adu, total, 0) != (ssize_t)total)
        return 0;
    host_requests++;
    if (adu[8] == 0x0E) {
        reply_identification(fd, adu);
    } else {
        uint8_t ex[9] = {adu[0], adu[1], 0, 0, 0, 3, adu[6], 0x2B | 0x80,
                         MODBUS_EXCEPTION_ILLEGAL_FUNCTION};
        if (write(fd, ex, sizeof ex) != (ssize_t)sizeof ex)
            snprintf(error_text, sizeof error_text, "host: short write of an exception");
    }
    return 1;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static void handle(hostif_t *hi, const uint8_t *req, int len)
{
    const int o = modbus_get_header_length(host);
    const uint8_t fc = req[o];
    uint16_t vals[128];
    uint64_t now = hal_time_us();
    int ex = 0;
    host_requests++;
    switch (fc) {
    case MODBUS_FC_READ_HOLDING_REGISTERS:
    case MODBUS_FC_READ_INPUT_REGISTERS: {
        uint16_t addr = be16(req + o + 1), count = be16(req + o + 3);
        int space = fc == MODBUS_FC_READ_INPUT_REGISTERS ? HOSTIF_INPUT : HOSTIF_HOLDING;
        if (count < 1 || count > 125) {
            ex = MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
            break;
        }
        ex = hostif_read(hi, space, addr, count, vals, now);
        if (!ex)
            memcpy((space == HOSTIF_INPUT ? mapping->tab_input_registers
                                          : mapping->tab_registers) + addr,
                   vals, count * sizeof vals[0]);
        break;
    }
    case MODBUS_FC_WRITE_SINGLE_REGISTER:
        vals[0] = be16(req + o + 3);
        ex = hostif_write(hi, be16(req + o + 1), 1, vals, now);
        break;
    case MODBUS_FC_WRITE_MULTIPLE_REGISTERS: {
        uint16_t addr = be16(req + o + 1), count = be16(req + o + 3);
        if (count < 1 || count > 123 || req[o + 5] != 2 * count) {
            ex = MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
            break;
        }
        for (int i = 0; i < count; i++)
            vals[i] = be16(req + o + 6 + 2 * i);
        ex = hostif_write(hi, addr, count, vals, now);
        break;
    }
    case MODBUS_FC_WRITE_AND_READ_REGISTERS: {
        uint16_t raddr = be16(req + o + 1), rcount = be16(req + o + 3);
        uint16_t waddr = be16(req + o + 5), wcount = be16(req + o + 7);
        if (rcount < 1 || rcount > 125 || wcount < 1 || wcount > 121 ||
            req[o + 9] != 2 * wcount) {
            ex = MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
            break;
        }
        for (int i = 0; i < wcount; i++)
            vals[i] = be16(req + o + 10 + 2 * i);
        ex = hostif_write(hi, waddr, wcount, vals, now);
        if (!ex) {
            /* libmodbus writes the values into the mapping before it reads: keep them there */
            memcpy(mapping->tab_registers + waddr, vals, wcount * sizeof vals[0]);
            ex = hostif_read(hi, HOSTIF_HOLDING, raddr, rcount, vals, now);
            if (!ex)
                memcpy(mapping->tab_registers + raddr, vals, rcount * sizeof vals[0]);
        }
        break;
    }
    default:
        ex = MODBUS_EXCEPTION_ILLEGAL_FUNCTION;
    }
    if (ex)
        modbus_reply_exception(host, req, (unsigned)ex);
    else
        modbus_reply(host, req, len, mapping);
}

int hal_host_service(struct hostif *hi, uint64_t deadline_us)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    int served = 0;
    for (int round = 0; round < MAX_REQUESTS_PER_SERVICE; round++) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(listen_fd, &rd);
        int maxfd = listen_fd;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i] >= 0) {
                FD_SET(clients[i], &rd);
                if (clients[i] > maxfd)
                    maxfd = clients[i];
            }
        uint64_t now = hal_time_us();
        uint64_t wait = deadline_us > now ? deadline_us - now : 0;
        struct timeval tv = {(time_t)(wait / 1000000u), (suseconds_t)(wait % 1000000u)};
        int ready = select(maxfd + 1, &rd, NULL, NULL, &tv);
        if (ready < 0)
            return errno == EINTR ? served : -1;
        if (ready == 0)
            return served; /* the deadline: back to the control loop */
        if (FD_ISSET(listen_fd, &rd)) {
            int fd = accept(listen_fd, NULL, NULL);
            int slot = -1;
            for (int i = 0; i < MAX_CLIENTS && fd >= 0; i++)
                if (clients[i] < 0) {
                    slot = i;
                    break;
                }
            if (fd >= 0 && slot >= 0) {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                clients[slot] = fd;
            } else if (fd >= 0) {
                close(fd); /* too many hosts */
            }
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (clients[i] < 0 || !FD_ISSET(clients[i], &rd))
                continue;
            if (take_identification_request(clients[i])) {
                served++;
                continue;
            }
            modbus_set_socket(host, clients[i]);
            int len = modbus_receive(host, req);
            if (len > 0) {
                handle(hi, req, len);
                served++;
            } else if (len < 0) {
                close(clients[i]); /* the host went away, or sent garbage */
                clients[i] = -1;
            }
        }
        if (hal_time_us() >= deadline_us)
            return served;
    }
    return served;
}

/* ------------------------------------------------------------------ lifecycle */
int hal_posix_open(const hal_posix_config_t *cfg, int *port_out)
{
    if (cfg->revision)
        revision = cfg->revision;
    if (plant_open(cfg->plant) != 0)
        return -1;
    return host_open(cfg->host_bind, cfg->host_port, port_out);
}

void hal_posix_close(void)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i] >= 0)
            close(clients[i]);
    if (listen_fd >= 0)
        close(listen_fd);
    if (host) {
        modbus_set_socket(host, -1);
        modbus_free(host);
    }
    if (mapping)
        modbus_mapping_free(mapping);
    if (plant) {
        modbus_close(plant);
        modbus_free(plant);
    }
}

void hal_posix_stats(uint32_t *errors, uint32_t *requests)
{
    *errors = plant_errors;
    *requests = host_requests;
}
