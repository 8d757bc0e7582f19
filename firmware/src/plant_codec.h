/*
 * plant_codec.h - the plant map's register blocks as the HAL's structs, for every build.
 *
 * Both HALs (hal_posix.c over libmodbus, mcu/hal_mcu.c over its own RTU master) read and write
 * the same blocks of the plant map (plant_map.h); only the transport differs. Decoding and
 * encoding live here once.
 */
#ifndef PLANT_CODEC_H
#define PLANT_CODEC_H

#include <stdint.h>

#include "hal.h"
#include "plant_map.h"

/* Registers of the nameplate block read from PLANT_IN_PLANT_MAP_VERSION on. */
#define PLANT_NAMEPLATE_COUNT                                                                   \
    (PLANT_IN_LOAD_CELL_POSITION + PLANT_IN_LOAD_CELL_POSITION_WIDTH - PLANT_IN_PLANT_MAP_VERSION)
/* Registers of the sensor block (from input 0) and of the actuator block (from holding 0). */
#define PLANT_SENSOR_COUNT (PLANT_IN_LOAD_CELL + PLANT_IN_LOAD_CELL_WIDTH)
#define PLANT_ACTUATOR_COUNT (PLANT_HOLD_BASED_ON + PLANT_HOLD_BASED_ON_WIDTH)

/* Big-endian word pairs: an unsigned 32-bit value and an IEEE-754 float. */
uint32_t plant_u32(const uint16_t *r);
float plant_f32(const uint16_t *r);

/* The nameplate from its block `r` (PLANT_NAMEPLATE_COUNT registers) and the channel count
 * (input PLANT_IN_CHANNEL_COUNT). Returns -2 when the plant speaks another map version. */
int plant_decode_nameplate(const uint16_t *r, uint16_t n_channels, hal_nameplate_t *np);
/* A sample from the sensor block `r` (PLANT_SENSOR_COUNT registers). */
void plant_decode_sensors(const uint16_t *r, hal_sensors_t *s);
/* The actuator block (PLANT_ACTUATOR_COUNT registers) of a command. */
void plant_encode_actuator(const hal_actuator_t *cmd, uint16_t *r);

#endif /* PLANT_CODEC_H */
