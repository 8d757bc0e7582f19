/*
 * mbrtu.h - a small Modbus RTU master (the plant link) and slave (the host link), for the
 * MCU build. No heap: every frame lives in a caller's or a static buffer.
 *
 * Frames are recognised by their length, which the function code determines, rather than by
 * the 3.5-character silence alone: on a pseudo-terminal (and under an emulator) bytes arrive
 * in bursts with no meaningful inter-character timing. A silence still discards a partial
 * frame, so a corrupt or foreign frame cannot wedge the receiver.
 */
#ifndef MBRTU_H
#define MBRTU_H

#include <stddef.h>
#include <stdint.h>

#include "uart.h"

#define MBRTU_MAX_ADU 256

uint16_t mbrtu_crc(const uint8_t *p, size_t n);

/* master: errors (negative), else the number of registers handled */
#define MBRTU_ETIMEOUT (-1)
#define MBRTU_ECRC (-2)
#define MBRTU_EFRAME (-3)
#define MBRTU_EEXCEPTION (-4)

/* The clock (µs) and the idle wait the link uses: the HAL's. */
uint64_t mbrtu_now_us(void);
void mbrtu_idle(uart_t *u);

int mbrtu_read_input(uart_t *u, uint8_t unit, uint16_t addr, uint16_t count, uint16_t *out,
                     uint32_t timeout_us);
int mbrtu_write_multiple(uart_t *u, uint8_t unit, uint16_t addr, uint16_t count,
                         const uint16_t *values, uint32_t timeout_us);

/* slave: collects one request at a time */
typedef struct {
    uint8_t unit;
    uint8_t buf[MBRTU_MAX_ADU];
    size_t len;
    uint64_t last_rx_us;
    uint32_t crc_errors, dropped;
} mbrtu_slave_t;

/* Feed received bytes; returns the length of a complete request addressed to us (or a
 * broadcast) in s->buf, 0 when there is none yet. */
size_t mbrtu_slave_poll(mbrtu_slave_t *s, uart_t *u, uint64_t now_us);
/* Send `pdu` (function code first) with the slave's unit and a CRC. */
void mbrtu_slave_reply(mbrtu_slave_t *s, uart_t *u, const uint8_t *pdu, size_t n);

#endif /* MBRTU_H */
