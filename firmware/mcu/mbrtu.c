/*
 * mbrtu.c - Modbus RTU master and slave framing (see mbrtu.h).
 */
#include "mbrtu.h"

#include <string.h>

/* a partial request older than this is discarded (3.5 characters at 115.2 kBd is 0.33 ms;
 * generous, because an emulator delivers bytes in bursts) */
#define SLAVE_GAP_US 5000u

uint16_t mbrtu_crc(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0xA001u) : (uint16_t)(crc >> 1);
    }
    return crc;
}

static size_t put_crc(uint8_t *f, size_t n)
{
    uint16_t crc = mbrtu_crc(f, n);
    f[n] = (uint8_t)crc;
    f[n + 1] = (uint8_t)(crc >> 8);
    return n + 2;
}

static int crc_ok(const uint8_t *f, size_t n)
{
    return n >= 4 && mbrtu_crc(f, n - 2) == (uint16_t)(f[n - 2] | (f[n - 1] << 8));
}

/* After a failed transaction: wait for the line to fall silent (2 ms, at most 10 ms), so
 * that a late reply is not taken for the beginning of the next one, then drop what came. */
static void resync(uart_t *u)
{
    uint64_t now = mbrtu_now_us(), quiet_since = now, give_up = now + 10000u;
    while ((now = mbrtu_now_us()) < give_up && now - quiet_since < 2000u) {
        if (uart_getc(u) >= 0)
            quiet_since = now;
        else
            mbrtu_idle(u);
    }
    uart_flush_rx(u);
}

static int transact_once(uart_t *u, uint8_t *req, size_t n, uint8_t *rsp, size_t expect,
                         uint32_t timeout_us);

/* Send a request, collect `expect` bytes of reply (or a 5-byte exception). */
static int transact(uart_t *u, uint8_t *req, size_t n, uint8_t *rsp, size_t expect,
                    uint32_t timeout_us)
{
    int rc = transact_once(u, req, n, rsp, expect, timeout_us);
    if (rc == MBRTU_ETIMEOUT || rc == MBRTU_ECRC || rc == MBRTU_EFRAME)
        resync(u);
    return rc;
}

static int transact_once(uart_t *u, uint8_t *req, size_t n, uint8_t *rsp, size_t expect,
                         uint32_t timeout_us)
{
    n = put_crc(req, n);
    uart_flush_rx(u); /* a late reply to an earlier request is not this one's */
    uart_write(u, req, n, 0);
    uint64_t deadline = mbrtu_now_us() + timeout_us;
    size_t got = 0;
    while (got < expect) {
        int b = uart_getc(u);
        if (b < 0) {
            if (mbrtu_now_us() >= deadline)
                return MBRTU_ETIMEOUT;
            mbrtu_idle(u);
            continue;
        }
        rsp[got++] = (uint8_t)b;
        if (got == 5 && (rsp[1] & 0x80u))
            break; /* exception reply */
    }
    if (!crc_ok(rsp, got))
        return MBRTU_ECRC;
    if (rsp[0] != req[0] || (rsp[1] & 0x7Fu) != req[1])
        return MBRTU_EFRAME;
    if (rsp[1] & 0x80u)
        return MBRTU_EEXCEPTION;
    return 0;
}

int mbrtu_read_input(uart_t *u, uint8_t unit, uint16_t addr, uint16_t count, uint16_t *out,
                     uint32_t timeout_us)
{
    uint8_t req[8] = {unit, 0x04, (uint8_t)(addr >> 8), (uint8_t)addr, (uint8_t)(count >> 8),
                      (uint8_t)count};
    uint8_t rsp[MBRTU_MAX_ADU];
    if (count < 1 || count > 125)
        return MBRTU_EFRAME;
    int rc = transact(u, req, 6, rsp, 5u + 2u * count, timeout_us);
    if (rc != 0)
        return rc;
    if (rsp[2] != 2 * count)
        return MBRTU_EFRAME;
    for (unsigned i = 0; i < count; i++)
        out[i] = (uint16_t)((rsp[3 + 2 * i] << 8) | rsp[4 + 2 * i]);
    return count;
}

int mbrtu_write_multiple(uart_t *u, uint8_t unit, uint16_t addr, uint16_t count,
                         const uint16_t *values, uint32_t timeout_us)
{
    uint8_t req[MBRTU_MAX_ADU];
    uint8_t rsp[8];
    if (count < 1 || count > 123)
        return MBRTU_EFRAME;
    req[0] = unit;
    req[1] = 0x10;
    req[2] = (uint8_t)(addr >> 8);
    req[3] = (uint8_t)addr;
    req[4] = (uint8_t)(count >> 8);
    req[5] = (uint8_t)count;
    req[6] = (uint8_t)(2 * count);
    for (unsigned i = 0; i < count; i++) {
        req[7 + 2 * i] = (uint8_t)(values[i] >> 8);
        req[8 + 2 * i] = (uint8_t)values[i];
    }
    int rc = transact(u, req, 7u + 2u * count, rsp, 8, timeout_us);
    return rc != 0 ? rc : count;
}

/* The full length of the request in buf[0..have), 0 if not known yet, SIZE_MAX if never. */
static size_t request_length(const uint8_t *f, size_t have)
{
    if (have < 2)
        return 0;
    switch (f[1]) {
    case 0x03: case 0x04: case 0x06: return 8;
    case 0x10: return have < 7 ? 0 : 9u + f[6];
    case 0x17: return have < 11 ? 0 : 13u + f[10];
    case 0x2B: return 7;
    default: return (size_t)-1;
    }
}

size_t mbrtu_slave_poll(mbrtu_slave_t *s, uart_t *u, uint64_t now_us)
{
    int b, got = 0;
    while ((b = uart_getc(u)) >= 0) {
        got = 1;
        s->last_rx_us = now_us;
        if (s->len >= sizeof s->buf) {
            s->len = 0;
            s->dropped++;
        }
        s->buf[s->len++] = (uint8_t)b;
        size_t want = request_length(s->buf, s->len);
        if (want == (size_t)-1 || want > sizeof s->buf) {
            /* a function code we do not know: answer ILLEGAL FUNCTION once the line is
             * quiet; until then keep collecting (the frame's length is unknown) */
            if (s->len == 2 && (s->buf[0] == s->unit)) {
                uint8_t ex[2] = {(uint8_t)(s->buf[1] | 0x80u), 0x01};
                /* the CRC is not checked here: its position is unknown */
                mbrtu_slave_reply(s, u, ex, 2);
            }
            continue;
        }
        if (want == 0 || s->len < want)
            continue;
        size_t n = s->len;
        s->len = 0;
        if (!crc_ok(s->buf, n)) {
            s->crc_errors++;
            continue;
        }
        if (s->buf[0] != s->unit && s->buf[0] != 0)
            continue; /* another device's request */
        return n;
    }
    /* A silence ends a partial frame - judged only with the ring empty: bytes that arrived
     * while the loop was busy elsewhere (a control period) sit in the ring, and the time
     * since we last took one is not silence on the line. */
    if (!got && s->len > 0 && now_us - s->last_rx_us > SLAVE_GAP_US) {
        s->len = 0;
        s->dropped++;
    }
    return 0;
}

void mbrtu_slave_reply(mbrtu_slave_t *s, uart_t *u, const uint8_t *pdu, size_t n)
{
    uint8_t f[MBRTU_MAX_ADU];
    if (n + 3 > sizeof f)
        return;
    f[0] = s->unit;
    memcpy(f + 1, pdu, n);
    uart_write(u, f, put_crc(f, n + 1), 0);
}
