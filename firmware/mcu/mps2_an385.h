/*
 * mps2_an385.h - the few peripherals of QEMU's mps2-an385 board (ARM MPS2, AN385 FPGA image,
 * Cortex-M3 at 25 MHz) the reference firmware uses: CMSDK APB UARTs and timer, SysTick, NVIC.
 * Addresses and IRQ numbers from ARM's AN385 application note (as QEMU models them).
 */
#ifndef MPS2_AN385_H
#define MPS2_AN385_H

#include <stdint.h>

#define MPS2_SYSCLK_HZ 25000000u

typedef struct {
    volatile uint32_t DATA;      /* 0x00 */
    volatile uint32_t STATE;     /* 0x04: bit 0 TX full, bit 1 RX full */
    volatile uint32_t CTRL;      /* 0x08: bit 0 TX enable, 1 RX enable, 3 RX interrupt */
    volatile uint32_t INTSTATUS; /* 0x0C: read status / write 1 to clear */
    volatile uint32_t BAUDDIV;   /* 0x10 */
} cmsdk_uart_t;

#define UART_STATE_TXFULL (1u << 0)
#define UART_STATE_RXFULL (1u << 1)
#define UART_CTRL_TXEN (1u << 0)
#define UART_CTRL_RXEN (1u << 1)
#define UART_CTRL_RXIRQ (1u << 3)
#define UART_INT_RX (1u << 1)

/* UART n: base address and RX interrupt number (TX is RX + 1) */
#define MPS2_UART_COUNT 5
static const uintptr_t mps2_uart_base[MPS2_UART_COUNT] = {0x40004000u, 0x40005000u, 0x40006000u,
                                                         0x40007000u, 0x40009000u};
static const uint8_t mps2_uart_rx_irq[MPS2_UART_COUNT] = {0, 2, 4, 18, 20};

typedef struct {
    volatile uint32_t CTRL;      /* bit 0 enable */
    volatile uint32_t VALUE;     /* counts down at the APB clock */
    volatile uint32_t RELOAD;
    volatile uint32_t INTSTATUS;
} cmsdk_timer_t;

#define MPS2_TIMER0 ((cmsdk_timer_t *)0x40000000u)

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)

static inline void irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void wait_for_interrupt(void) { __asm volatile("wfi" ::: "memory"); }

#endif /* MPS2_AN385_H */
