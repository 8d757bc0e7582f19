/*
 * uart.c - CMSDK APB UART driver (see uart.h).
 */
#include "uart.h"

void uart_init(uart_t *u, unsigned n, int rx_irq)
{
    u->regs = (cmsdk_uart_t *)mps2_uart_base[n];
    u->head = u->tail = 0;
    u->overruns = 0;
    u->regs->BAUDDIV = MPS2_SYSCLK_HZ / 115200u;
    u->regs->INTSTATUS = 0xFu;
    u->regs->CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN | (rx_irq ? UART_CTRL_RXIRQ : 0u);
    if (rx_irq)
        NVIC_ISER0 = 1u << mps2_uart_rx_irq[n];
}

void uart_isr(uart_t *u)
{
    /* clear first, then drain: a byte landing after the drain raises the interrupt again */
    u->regs->INTSTATUS = UART_INT_RX;
    while (u->regs->STATE & UART_STATE_RXFULL) {
        uint8_t b = (uint8_t)u->regs->DATA;
        uint32_t next = (u->head + 1u) & (UART_RING - 1u);
        if (next == u->tail) {
            u->overruns++; /* the main loop fell behind: drop, the CRC will notice */
            continue;
        }
        u->ring[u->head] = b;
        u->head = next;
    }
}

int uart_getc(uart_t *u)
{
    if (u->tail == u->head)
        return -1;
    int b = u->ring[u->tail];
    u->tail = (u->tail + 1u) & (UART_RING - 1u);
    return b;
}

void uart_flush_rx(uart_t *u) { u->tail = u->head; }

size_t uart_write(uart_t *u, const uint8_t *data, size_t n, uint32_t spin_limit)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t spins = 0;
        while (u->regs->STATE & UART_STATE_TXFULL)
            if (spin_limit && ++spins >= spin_limit)
                return i;
        u->regs->DATA = data[i];
    }
    return n;
}
