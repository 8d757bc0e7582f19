# The MCU build (included by ../Makefile when TARGET is set).
#
#   make TARGET=mps2-an385            build/mps2-an385/presshil-fw.elf
#   make TARGET=mps2-an385 broken     build/mps2-an385/presshil-fw-FLAVOUR.elf
#   MCU_EXTRA="-DFW_UART_HOST=3 -DFW_UART_PLANT=4"   other UARTs (console: the lowest free)
#
# control.c and hostif.c are the host build's, unchanged; the HAL (hal_mcu.c), the Modbus RTU
# master and slave (mbrtu.c), the UART driver, the startup code and the linker script are the
# MCU's. newlib-nano supplies memcpy and libm; nothing allocates (_sbrk always fails).

ifneq ($(TARGET),mps2-an385)
$(error TARGET=$(TARGET) unknown: the MCU build supports TARGET=mps2-an385)
endif

BUILD ?= build
CROSS ?= arm-none-eabi-
MCU_CC := $(CROSS)gcc
MCU_BUILD := $(BUILD)/$(TARGET)
MCU_FLAGS := -mcpu=cortex-m3 -mthumb -mfloat-abi=soft
MCU_EXTRA ?=
MCU_CFLAGS := $(MCU_FLAGS) -std=c99 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-ffunction-sections -fdata-sections -ffreestanding -Isrc -Imcu $(MCU_EXTRA)
MCU_LDFLAGS = $(MCU_FLAGS) --specs=nano.specs -nostartfiles -Wl,--gc-sections \
	-Wl,-T,mcu/$(TARGET).ld -Wl,-Map,$(MCU_BUILD)/$(basename $(notdir $@)).map
MCU_LDLIBS := -lm -lc -lgcc

MCU_SRC := src/control.c src/hostif.c src/plant_codec.c mcu/main.c mcu/hal_mcu.c mcu/mbrtu.c mcu/uart.c \
	mcu/startup.c
MCU_HDR := $(wildcard src/*.h) $(wildcard mcu/*.h)
BROKEN := pid-sign no-antiwindup no-watchdog no-overpressure
FLAG_pid-sign := -DFW_BREAK_PID_SIGN
FLAG_no-antiwindup := -DFW_BREAK_NO_ANTIWINDUP
FLAG_no-watchdog := -DFW_BREAK_NO_WATCHDOG
FLAG_no-overpressure := -DFW_BREAK_NO_OVERPRESSURE

.PHONY: all broken clean
all: $(MCU_BUILD)/presshil-fw.elf
broken: $(addprefix $(MCU_BUILD)/presshil-fw-,$(addsuffix .elf,$(BROKEN)))

$(MCU_BUILD)/presshil-fw.elf: $(MCU_SRC) $(MCU_HDR) Makefile mcu/target.mk mcu/$(TARGET).ld
	@mkdir -p $(MCU_BUILD)
	$(MCU_CC) $(MCU_CFLAGS) $(MCU_LDFLAGS) -o $@ $(MCU_SRC) $(MCU_LDLIBS)

$(MCU_BUILD)/presshil-fw-%.elf: $(MCU_SRC) $(MCU_HDR) Makefile mcu/target.mk mcu/$(TARGET).ld
	@mkdir -p $(MCU_BUILD)
	$(MCU_CC) $(MCU_CFLAGS) $(FLAG_$*) $(MCU_LDFLAGS) -o $@ $(MCU_SRC) $(MCU_LDLIBS)

clean:
	rm -rf $(MCU_BUILD)
