/*
 * uart.h - interrupt-driven receive, polled transmit, on a CMSDK APB UART.
 *
 * The RX interrupt moves each byte into a static ring buffer (no heap) and wakes the main
 * loop from WFI; the main loop takes bytes out. Transmit polls TX-full: a Modbus reply is at
 * most 256 bytes, and a real line would take that long anyway.
 */
#ifndef UART_H
#define UART_H

#include <stddef.h>
#include <stdint.h>

#include "mps2_an385.h"

#define UART_RING 512u /* power of two; larger than any Modbus RTU frame (256) */

typedef struct {
    cmsdk_uart_t *regs;
    volatile uint8_t ring[UART_RING];
    volatile uint32_t head; /* written by the ISR */
    uint32_t tail;          /* written by the main loop */
    volatile uint32_t overruns;
} uart_t;

/* Set up UART n (0..4) for 115200 Bd, RX interrupt on; `rx_irq` enables it in the NVIC. */
void uart_init(uart_t *u, unsigned n, int rx_irq);
/* The RX interrupt handler's body. */
void uart_isr(uart_t *u);
/* The next received byte, or -1. */
int uart_getc(uart_t *u);
/* Drop everything received so far. */
void uart_flush_rx(uart_t *u);
/* Send n bytes (waits while TX is full, at most `spin_limit` polls per byte; 0 = no limit).
 * Returns the number sent. */
size_t uart_write(uart_t *u, const uint8_t *data, size_t n, uint32_t spin_limit);

#endif /* UART_H */
