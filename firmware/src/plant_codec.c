/*
 * plant_codec.c - the plant map's register blocks as the HAL's structs (see plant_codec.h).
 */
#include "plant_codec.h"

#include <string.h>

uint32_t plant_u32(const uint16_t *r) { return ((uint32_t)r[0] << 16) | r[1]; }

float plant_f32(const uint16_t *r)
{
    uint32_t v = plant_u32(r);
    float f;
    memcpy(&f, &v, sizeof f);
    return f;
}

int plant_decode_nameplate(const uint16_t *r, uint16_t n_channels, hal_nameplate_t *np)
{
    const int base = PLANT_IN_PLANT_MAP_VERSION;
    if (r[0] != PLANT_MAP_VERSION)
        return -2;
#define F(name) plant_f32(r + PLANT_IN_##name - base)
    np->hydraulic = r[PLANT_IN_ACTUATOR_KIND - base] == PLANT_KIND_HYDRAULIC;
    np->sample_rate_hz = F(SAMPLE_RATE);
    np->rated_force_kn = F(RATED_FORCE);
    np->rated_max_pressure_mpa = F(RATED_MAX_PRESSURE);
    np->load_cell_capacity_kn = F(LOAD_CELL_CAPACITY);
    np->piston_area_mm2 = F(PISTON_AREA);
    np->supply_pressure_mpa = F(SUPPLY_PRESSURE);
    np->valve_flow_l_min = F(VALVE_FLOW);
    np->pump_flow_l_min = F(PUMP_FLOW);
    np->max_speed_mm_s = F(MAX_SPEED);
    np->nominal_compliance_um_per_kn = F(NOMINAL_COMPLIANCE);
    np->die_area_mm2 = F(DIE_AREA);
    for (int i = 0; i < 2 * HAL_MAX_CHANNELS; i++)
        np->channel_position_mm[i] = plant_f32(r + PLANT_IN_LOAD_CELL_POSITION - base + 2 * i);
#undef F
    np->n_channels = n_channels;
    return 0;
}

void plant_decode_sensors(const uint16_t *r, hal_sensors_t *s)
{
    s->inputs = (r[PLANT_IN_STATUS] & PLANT_STATUS_ESTOP) ? HAL_IN_ESTOP : 0;
    s->n_channels = r[PLANT_IN_CHANNEL_COUNT];
    s->counter = plant_u32(r + PLANT_IN_SAMPLE_COUNTER);
    s->time_us = plant_u32(r + PLANT_IN_SAMPLE_TIME);
    s->position_mm = plant_f32(r + PLANT_IN_POSITION);
    for (int i = 0; i < HAL_MAX_CHANNELS; i++)
        s->channel_kn[i] = plant_f32(r + PLANT_IN_LOAD_CELL + 2 * i);
}

void plant_encode_actuator(const hal_actuator_t *cmd, uint16_t *r)
{
    uint32_t v;
    memset(r, 0, PLANT_ACTUATOR_COUNT * sizeof *r);
    r[PLANT_HOLD_DRIVE_MODE] = (uint16_t)cmd->drive;
    memcpy(&v, &cmd->demand, sizeof v);
    r[PLANT_HOLD_DEMAND] = (uint16_t)(v >> 16);
    r[PLANT_HOLD_DEMAND + 1] = (uint16_t)v;
    r[PLANT_HOLD_BASED_ON] = (uint16_t)(cmd->based_on >> 16);
    r[PLANT_HOLD_BASED_ON + 1] = (uint16_t)cmd->based_on;
}
