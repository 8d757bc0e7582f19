/*
 * config.h - tuning and safety constants of the reference firmware (compile-time, as on an
 * MCU). Hardware data (piston area, valve flow, load-cell capacity...) come from the
 * nameplate at boot; these are the controller's own choices.
 */
#ifndef FW_CONFIG_H
#define FW_CONFIG_H

#define FW_VENDOR "presshil"
#define FW_PRODUCT "presshil-fw reference firmware"
#define FW_VERSION "1.0.0"

#define FW_LOOP_HZ_DEFAULT 1000.0   /* control period target */

/* loop shaping on the nameplate's nominal compliance (see docs/simulator.md "Firmware tuning") */
#define FW_CROSSOVER_HZ 5.0
#define FW_INTEGRAL_CORNER_HZ 1.0
#define FW_DERIVATIVE_S 0.0
#define FW_DERIVATIVE_FILTER_HZ 20.0
#define FW_FEEDFORWARD 1.0

/* ramp generator and interlocks */
#define FW_MAX_RATE_MPA_S 50.0          /* rate limit inside the loop */
#define FW_TRIP_MARGIN_FRAC 0.02        /* over-pressure trip: limit + max(2 %, 0.5 MPa) */
#define FW_TRIP_MARGIN_MIN_MPA 0.5
#define FW_RATE_TRIP_KN_S 20.0          /* force-rate trip (runaway) */
#define FW_FOLLOW_ERR_MPA 5.0           /* following error: stuck actuator */
#define FW_FOLLOW_ERR_S 2.0
#define FW_AT_SETPOINT_BAND_MPA 0.25
#define FW_RELEASED_BELOW_MPA 0.2
#define FW_ADC_LOW_FRAC (-0.09)         /* a channel beyond the ADC span is an open wire */
#define FW_ADC_HIGH_FRAC 1.09
#define FW_STALE_SENSOR_MS 50.0         /* no fresh sample for this long: SENSOR fault */

#endif /* FW_CONFIG_H */
