/*
 * hal_mcu.h - the MCU port's own calls beyond hal.h: bring-up, the console, statistics.
 */
#ifndef HAL_MCU_H
#define HAL_MCU_H

#include <stdint.h>

/* which UART does what (compile time, as pins are on a board) */
#ifndef FW_UART_CONSOLE
#define FW_UART_CONSOLE 0
#endif
#ifndef FW_UART_PLANT
#define FW_UART_PLANT 1
#endif
#ifndef FW_UART_HOST
#define FW_UART_HOST 2
#endif

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

/* The MCU build's control period. Its plant link is Modbus RTU: one sensor read and one
 * actuator write are ~70 bytes, 6 ms at 115.2 kBd on a real line, so 1 kHz (the host build's
 * rate over TCP) is out of reach (≈150 Hz at most). 100 Hz is 20x the control crossover
 * (5 Hz) and leaves QEMU idle (WFI) between periods: on a shared machine the plant's own
 * real-time thread needs that CPU (at 250 Hz the latency tail under load was ten times
 * longer). control.c takes the measured dt each step. */
#ifndef FW_MCU_LOOP_HZ
#define FW_MCU_LOOP_HZ 100
#endif

void hal_mcu_init(void);
/* One short read of the plant's nameplate block (a link check); 0 when it answered. */
int hal_check_plant_link(void);
/* The HardFault handler's last act: command SAFE to the plant, blind. */
void hal_mcu_emergency_safe(void);
/* Wait for the next interrupt (a received byte, the 1 kHz tick), without losing a wake-up. */
void hal_mcu_idle(void);
/* Write a line to the console UART (bytes are dropped rather than stall the loop). */
void console_puts(const char *s);
/* Append decimal / hexadecimal to buf at *pos (bounded by cap). */
void fmt_str(char *buf, unsigned cap, unsigned *pos, const char *s);
void fmt_u32(char *buf, unsigned cap, unsigned *pos, uint32_t v);
void fmt_hex(char *buf, unsigned cap, unsigned *pos, uint32_t v);
/* Answer one request of each kind on a scratch host interface, replies discarded (see
 * main.c: warming QEMU's translation cache before READY). */
struct hostif;
void hal_mcu_warm_up_host(struct hostif *scratch);
void hal_mcu_stats(uint32_t *plant_errors, uint32_t *host_requests);
/* How often the CPU was not running for longer than the plant link's stall allowance (an
 * emulator not scheduled by its host), and the longest such gap. */
void hal_mcu_stalls(uint32_t *count, uint32_t *longest_us);

#endif /* HAL_MCU_H */
