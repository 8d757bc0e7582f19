/*
 * startup.c - reset and fault handlers and the vector table for the Cortex-M3 of mps2-an385.
 *
 * Reset copies .data from flash, zeroes .bss and calls main(). A HardFault (and the faults
 * that escalate to it) prints one line on the console UART, sends the plant the SAFE command
 * and stops: on a real board a watchdog would reset the MCU; here presshil sees the line and
 * ends the run.
 */
#include <stdint.h>

#include "hal_mcu.h"
#include "mps2_an385.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    main();
    for (;;)
        wait_for_interrupt();
}

/* called with the stacked exception frame: r0 r1 r2 r3 r12 lr pc xpsr */
void hard_fault_report(const uint32_t *frame)
{
    char line[128];
    unsigned pos = 0;
    irq_disable();
    fmt_str(line, sizeof line, &pos, "\nHARDFAULT pc=");
    fmt_hex(line, sizeof line, &pos, frame[6]);
    fmt_str(line, sizeof line, &pos, " lr=");
    fmt_hex(line, sizeof line, &pos, frame[5]);
    fmt_str(line, sizeof line, &pos, " cfsr=");
    fmt_hex(line, sizeof line, &pos, SCB_CFSR);
    fmt_str(line, sizeof line, &pos, " hfsr=");
    fmt_hex(line, sizeof line, &pos, SCB_HFSR);
    fmt_str(line, sizeof line, &pos, "\n");
    hal_mcu_emergency_safe();
    console_puts(line);
    for (;;)
        wait_for_interrupt(); /* masked: nothing wakes us for long */
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile("tst lr, #4\n"
                   "ite eq\n"
                   "mrseq r0, msp\n"
                   "mrsne r0, psp\n"
                   "b hard_fault_report\n");
}

static void Default_Handler(void)
{
    for (;;)
        wait_for_interrupt();
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UART0RX_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UART1RX_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UART2RX_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UART3RX_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UART4RX_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*vector_t)(void);

/* 16 system exceptions, then external interrupts 0..31 of the AN385 */
__attribute__((section(".vectors"), used)) const vector_t vectors[16 + 32] = {
    (vector_t)(uintptr_t)&_estack, Reset_Handler, NMI_Handler, HardFault_Handler,
    MemManage_Handler, BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0, SVC_Handler, 0, 0,
    PendSV_Handler, SysTick_Handler,
    [16 + 0] = UART0RX_Handler, [16 + 2] = UART1RX_Handler, [16 + 4] = UART2RX_Handler,
    [16 + 18] = UART3RX_Handler, [16 + 20] = UART4RX_Handler,
};

/* newlib's system calls, none of which the firmware needs: no files, and no heap at all
 * (malloc fails rather than grow into the stack) */
void *_sbrk(int incr)
{
    (void)incr;
    return (void *)-1;
}
