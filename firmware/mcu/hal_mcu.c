/*
 * hal_mcu.c - the HAL on QEMU's mps2-an385 (Cortex-M3), for firmware in the loop.
 *
 * "Hardware" is the presshil plant server on UART FW_UART_PLANT, reached by this file's
 * Modbus RTU master (mbrtu.c): the sensor block is one FC04 read, the actuator block one FC16
 * write, exactly as hal_posix.c does with libmodbus. The host interface is a Modbus RTU slave
 * on UART FW_UART_HOST answering press register map v1 through hostif.c. Time is the CMSDK
 * timer 0, free-running at 25 MHz and extended to 64 bits here; SysTick interrupts at 1 kHz
 * only to wake the loop from WFI.
 */
#include "hal.h"
#include "hal_mcu.h"

#include <string.h>

#include "config.h"
#include "hostif.h"
#include "mbrtu.h"
#include "mps2_an385.h"
#include "plant_codec.h"
#include "plant_map.h"
#include "press_map.h"

#define PLANT_TIMEOUT_US 35000u   /* + a resync (at most 10 ms) stays inside the 50 ms stale-sensor limit */
#define MAX_REQUESTS_PER_SERVICE 8

static uart_t uarts[MPS2_UART_COUNT];
static uart_t *const console = &uarts[FW_UART_CONSOLE];
static uart_t *const plant = &uarts[FW_UART_PLANT];
static uart_t *const host = &uarts[FW_UART_HOST];
static mbrtu_slave_t host_slave;
static const char *error_text = "";
static uint32_t plant_errors, host_requests;
static uint64_t cycles;
static uint32_t last_timer;
static uint64_t link_clock_us, link_last_us; /* the plant link's clock (see mbrtu_now_us) */
static uint32_t stalls, longest_stall_us;

/* ------------------------------------------------------------------ interrupts */
void SysTick_Handler(void) {}
void UART0RX_Handler(void) { uart_isr(&uarts[0]); }
void UART1RX_Handler(void) { uart_isr(&uarts[1]); }
void UART2RX_Handler(void) { uart_isr(&uarts[2]); }
void UART3RX_Handler(void) { uart_isr(&uarts[3]); }
void UART4RX_Handler(void) { uart_isr(&uarts[4]); }

/* ------------------------------------------------------------------ time */
uint64_t hal_time_us(void)
{
    uint32_t now = MPS2_TIMER0->VALUE; /* counts down */
    cycles += (uint32_t)(last_timer - now);
    last_timer = now;
    return cycles / (MPS2_SYSCLK_HZ / 1000000u);
}

void hal_mcu_init(void)
{
    MPS2_TIMER0->CTRL = 0;
    MPS2_TIMER0->RELOAD = 0xFFFFFFFFu;
    MPS2_TIMER0->VALUE = 0xFFFFFFFFu;
    MPS2_TIMER0->CTRL = 1u;
    last_timer = MPS2_TIMER0->VALUE;
    link_last_us = hal_time_us();
    SYST_RVR = MPS2_SYSCLK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
    uart_init(console, FW_UART_CONSOLE, 0);
    uart_init(plant, FW_UART_PLANT, 1);
    uart_init(host, FW_UART_HOST, 1);
    host_slave.unit = 1;
    irq_enable();
}

void hal_mcu_idle(void)
{
    irq_disable(); /* WFI wakes on a pending interrupt even when masked: no lost wake-up */
    if (plant->tail == plant->head && host->tail == host->head)
        wait_for_interrupt();
    irq_enable();
}

/* The plant link's clock: its timeouts count only the time this firmware was running.
 * Between two looks at the clock the loop is never away longer than one SysTick (1 ms, the
 * WFI wake-up) on silicon; a longer gap means the CPU itself was not running (QEMU not
 * scheduled by its host, a debugger halt), and the plant's reply may be sitting in the host's
 * pseudo-terminal undelivered. Counting that gap would turn the emulator's stall into a plant
 * timeout, a stale sample and a SENSOR trip that silicon would never see. The gap counts as
 * at most LINK_STALL_US; stalls are counted and reported on the STATS line. The stale-sensor
 * check (control.c) and the watchdog keep the true time: only "has the plant answered yet"
 * is asked on the link's clock. */
#define LINK_STALL_US 5000u

uint64_t mbrtu_now_us(void)
{
    uint64_t now = hal_time_us();
    uint64_t step = now - link_last_us;
    link_last_us = now;
    if (step > LINK_STALL_US) {
        stalls++;
        if (step > longest_stall_us)
            longest_stall_us = step > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)step;
        step = LINK_STALL_US;
    }
    link_clock_us += step;
    return link_clock_us;
}
void mbrtu_idle(uart_t *u)
{
    (void)u;
    hal_mcu_idle();
}

/* ------------------------------------------------------------------ console */
void console_puts(const char *s)
{
    /* bounded: a console nobody reads must not stop the control loop */
    uart_write(console, (const uint8_t *)s, strlen(s), 20000u);
}

void fmt_str(char *buf, unsigned cap, unsigned *pos, const char *s)
{
    while (*s && *pos + 1 < cap)
        buf[(*pos)++] = *s++;
    buf[*pos] = '\0';
}

void fmt_u32(char *buf, unsigned cap, unsigned *pos, uint32_t v)
{
    char tmp[11];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n > 0 && *pos + 1 < cap)
        buf[(*pos)++] = tmp[--n];
    buf[*pos] = '\0';
}

void fmt_hex(char *buf, unsigned cap, unsigned *pos, uint32_t v)
{
    fmt_str(buf, cap, pos, "0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        if (*pos + 1 >= cap)
            break;
        buf[(*pos)++] = "0123456789abcdef"[(v >> shift) & 0xFu];
    }
    buf[*pos] = '\0';
}

const char *hal_last_error(void) { return error_text; }

void hal_mcu_stats(uint32_t *errors, uint32_t *requests)
{
    *errors = plant_errors;
    *requests = host_requests;
}

void hal_mcu_stalls(uint32_t *count, uint32_t *longest_us)
{
    *count = stalls;
    *longest_us = longest_stall_us;
}

/* ------------------------------------------------------------------ the plant (master) */
static int plant_failed(const char *what)
{
    plant_errors++;
    error_text = what;
    return -1;
}

int hal_read_nameplate(hal_nameplate_t *np)
{
    uint16_t r[PLANT_NAMEPLATE_COUNT];
    uint16_t n;
    if (mbrtu_read_input(plant, PLANT_DEVICE_ID, PLANT_IN_PLANT_MAP_VERSION, PLANT_NAMEPLATE_COUNT,
                         r, PLANT_TIMEOUT_US * 5) != PLANT_NAMEPLATE_COUNT ||
        mbrtu_read_input(plant, PLANT_DEVICE_ID, PLANT_IN_CHANNEL_COUNT, 1, &n,
                         PLANT_TIMEOUT_US * 5) != 1)
        return plant_failed("plant: no answer to the nameplate read (FC04 input 100..)");
    if (plant_decode_nameplate(r, n, np) != 0) {
        error_text = "plant speaks another plant map version";
        return -2;
    }
    return 0;
}

int hal_check_plant_link(void)
{
    uint16_t r[16];
    return mbrtu_read_input(plant, PLANT_DEVICE_ID, PLANT_IN_PLANT_MAP_VERSION, 16, r,
                            PLANT_TIMEOUT_US) == 16
               ? 0
               : -1;
}

int hal_read_sensors(hal_sensors_t *s)
{
    uint16_t r[PLANT_SENSOR_COUNT];
    /* only the channels present: every byte costs on a serial line (and under QEMU, whose
     * CMSDK UART model holds one received byte at a time, a round trip per byte) */
    unsigned n = s->n_channels >= 1 && s->n_channels <= HAL_MAX_CHANNELS ? s->n_channels
                                                                          : HAL_MAX_CHANNELS;
    const int count = (int)(PLANT_IN_LOAD_CELL + 2 * n);
    for (unsigned i = n; i < HAL_MAX_CHANNELS; i++)
        r[PLANT_IN_LOAD_CELL + 2 * i] = r[PLANT_IN_LOAD_CELL + 2 * i + 1] = 0;
    if (mbrtu_read_input(plant, PLANT_DEVICE_ID, 0, count, r, PLANT_TIMEOUT_US) != count)
        return plant_failed("plant: read sensors failed");
    plant_decode_sensors(r, s);
    return 0;
}

int hal_write_actuator(const hal_actuator_t *cmd)
{
    uint16_t r[PLANT_ACTUATOR_COUNT];
    const int count = (int)(sizeof r / sizeof r[0]);
    plant_encode_actuator(cmd, r);
    if (mbrtu_write_multiple(plant, PLANT_DEVICE_ID, 0, count, r, PLANT_TIMEOUT_US) != count)
        return plant_failed("plant: write actuator failed");
    return 0;
}

/* From the HardFault handler: the SAFE command, sent blind (no reply awaited, no interrupts). */
void hal_mcu_emergency_safe(void)
{
    hal_actuator_t safe = {HAL_DRIVE_SAFE, 0.0f, 0u};
    uint16_t r[PLANT_ACTUATOR_COUNT];
    uint8_t f[7 + 2 * sizeof r / sizeof r[0] + 2];
    const unsigned count = sizeof r / sizeof r[0];
    plant_encode_actuator(&safe, r);
    f[0] = PLANT_DEVICE_ID;
    f[1] = 0x10;
    f[2] = f[3] = f[4] = 0;
    f[5] = (uint8_t)count;
    f[6] = (uint8_t)(2 * count);
    for (unsigned i = 0; i < count; i++) {
        f[7 + 2 * i] = (uint8_t)(r[i] >> 8);
        f[8 + 2 * i] = (uint8_t)r[i];
    }
    uint16_t crc = mbrtu_crc(f, 7 + 2 * count);
    f[7 + 2 * count] = (uint8_t)crc;
    f[8 + 2 * count] = (uint8_t)(crc >> 8);
    uart_write(plant, f, sizeof f, 20000u);
}

/* ------------------------------------------------------------------ the host (slave) */
static const char *const identity[][2] = {{"\x00", FW_VENDOR}, {"\x01", "presshil-fw"},
                                          {"\x02", FW_VERSION FW_FLAVOUR},
                                          {"\x05", FW_PRODUCT " (mps2-an385)"},
                                          {"\x80", "FIL-MCU-0001"}};

static size_t reply_identification(const uint8_t *req, uint8_t *pdu)
{
    size_t n = 0;
    if (req[1] != 0x0E) { /* req[0] is the function code, req[1] the MEI type */
        pdu[n++] = 0x2B | 0x80;
        pdu[n++] = 1;
        return n;
    }
    pdu[n++] = 0x2B;
    pdu[n++] = 0x0E;
    pdu[n++] = req[2]; /* read device id code */
    pdu[n++] = 0x83;   /* conformity: extended, individual access */
    pdu[n++] = 0x00;   /* no more follows */
    pdu[n++] = 0x00;
    pdu[n++] = (uint8_t)(sizeof identity / sizeof identity[0]);
    for (size_t i = 0; i < sizeof identity / sizeof identity[0]; i++) {
        size_t len = strlen(identity[i][1]);
        pdu[n++] = (uint8_t)identity[i][0][0];
        pdu[n++] = (uint8_t)len;
        memcpy(pdu + n, identity[i][1], len);
        n += len;
    }
    return n;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static size_t put_registers(uint8_t *pdu, uint8_t fc, const uint16_t *vals, uint16_t count)
{
    pdu[0] = fc;
    pdu[1] = (uint8_t)(2 * count);
    for (unsigned i = 0; i < count; i++) {
        pdu[2 + 2 * i] = (uint8_t)(vals[i] >> 8);
        pdu[3 + 2 * i] = (uint8_t)vals[i];
    }
    return 2u + 2u * count;
}

/* One request (unit first, CRC checked) into a reply PDU; its length. */
static size_t handle(hostif_t *hi, const uint8_t *req, uint8_t *pdu)
{
    const uint8_t fc = req[1];
    const uint8_t *d = req + 2;
    uint16_t vals[128];
    uint64_t now = hal_time_us();
    int ex = 0;
    host_requests++;
    switch (fc) {
    case 0x03:
    case 0x04: {
        uint16_t addr = be16(d), count = be16(d + 2);
        if (count < 1 || count > 125) {
            ex = 3;
            break;
        }
        ex = hostif_read(hi, fc == 0x04 ? HOSTIF_INPUT : HOSTIF_HOLDING, addr, count, vals, now);
        if (!ex)
            return put_registers(pdu, fc, vals, count);
        break;
    }
    case 0x06:
        vals[0] = be16(d + 2);
        ex = hostif_write(hi, be16(d), 1, vals, now);
        if (!ex) {
            memcpy(pdu, req + 1, 5);
            return 5;
        }
        break;
    case 0x10: {
        uint16_t addr = be16(d), count = be16(d + 2);
        if (count < 1 || count > 123 || d[4] != 2 * count) {
            ex = 3;
            break;
        }
        for (int i = 0; i < count; i++)
            vals[i] = be16(d + 5 + 2 * i);
        ex = hostif_write(hi, addr, count, vals, now);
        if (!ex) {
            memcpy(pdu, req + 1, 5);
            return 5;
        }
        break;
    }
    case 0x17: {
        uint16_t raddr = be16(d), rcount = be16(d + 2), waddr = be16(d + 4), wcount = be16(d + 6);
        if (rcount < 1 || rcount > 125 || wcount < 1 || wcount > 121 || d[8] != 2 * wcount) {
            ex = 3;
            break;
        }
        for (int i = 0; i < wcount; i++)
            vals[i] = be16(d + 9 + 2 * i);
        ex = hostif_write(hi, waddr, wcount, vals, now);
        if (!ex)
            ex = hostif_read(hi, HOSTIF_HOLDING, raddr, rcount, vals, now);
        if (!ex)
            return put_registers(pdu, fc, vals, rcount);
        break;
    }
    case 0x2B:
        return reply_identification(req + 1, pdu);
    default:
        ex = 1;
    }
    pdu[0] = (uint8_t)(fc | 0x80u);
    pdu[1] = (uint8_t)ex;
    return 2;
}

void hal_mcu_warm_up_host(struct hostif *scratch)
{
    /* each kind of request the host sends, answered once into a scratch buffer */
    static const uint8_t requests[][32] = {
        {1, 0x04, 0, 0, 0, 24},
        {1, 0x04, 0, 100, 0, 6},
        {1, 0x04, 0, 110, 0, 16},
        {1, 0x03, 0, 0, 0, 12},
        {1, 0x06, 0, 1, 0, 7},
        {1, 0x10, 0, 0, 0, 2, 4, 0, 0, 0, 9},
        {1, 0x10, 0, 8, 0, 1, 2, 0, 0},
        {1, 0x17, 1, 0, 0, 24, 0, 1, 0, 1, 2, 0, 10},
        {1, 0x2B, 0x0E, 1, 0},
        {1, 0x05, 0, 0, 0xFF, 0},
    };
    static uint8_t pdu[MBRTU_MAX_ADU];
    uint32_t requests_before = host_requests;
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++)
        (void)handle(scratch, requests[i], pdu);
    (void)mbrtu_crc(pdu, sizeof pdu);
    host_requests = requests_before;
}

int hal_host_service(struct hostif *hi, uint64_t deadline_us)
{
    static uint8_t pdu[MBRTU_MAX_ADU];
    int served = 0;
    for (;;) {
        uint64_t now = hal_time_us();
        size_t n = mbrtu_slave_poll(&host_slave, host, now);
        if (n > 0) {
            size_t len = handle(hi, host_slave.buf, pdu);
            if (host_slave.buf[0] != 0) /* broadcasts get no reply */
                mbrtu_slave_reply(&host_slave, host, pdu, len);
            if (++served >= MAX_REQUESTS_PER_SERVICE)
                return served;
            continue;
        }
        if (now >= deadline_us)
            return served;
        hal_mcu_idle();
    }
}
