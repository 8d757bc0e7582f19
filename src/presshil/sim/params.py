"""From catalogue entries (engineering units) to the kernel's flat SI parameter array.

This is the one place where units are converted and derived quantities are computed: the oil
column's compliance ``V0 / (beta A_p²)``, leak and dump conductances from "flow at rated
pressure", the platen's support coefficients, and the controller gains from the loop-shaping
figures in the catalogue (crossover and integral-corner frequencies on a nominal compliance).
"""

from __future__ import annotations

import math

import numpy as np

from .catalogue import HydraulicCfg, ManualCfg, PressCfg, ServoCfg, SpecimenCfg
from .layout import (
    ACT_HYDRAULIC,
    ACT_MANUAL,
    ACT_SERVO,
    MAX_CH,
    P_ACT_KIND,
    P_AT_SP_BAND_MPA,
    P_CH_AX_PER_M,
    P_CH_AY_PER_M,
    P_CH_BASE,
    P_CH_FS_N,
    P_CH_GAIN,
    P_CH_HYST_N,
    P_CH_LSB_N,
    P_CH_NL_N,
    P_CH_NOISE_N,
    P_CH_ZERO_N,
    P_COF_X_M,
    P_COF_Y_M,
    P_D_ALPHA,
    P_DELAY_TICKS,
    P_DIE_RADIUS_M,
    P_DT_S,
    P_DUMP_LAMBDA,
    P_E_ALPHA,
    P_FOLLOW_ERR_MPA,
    P_FOLLOW_ERR_S,
    P_FRAME_K_N_M,
    P_GAP_KI,
    P_GAP_KP,
    P_GAP_SETTLE_BAND_M,
    P_KD,
    P_KFF,
    P_KI,
    P_KP,
    P_LEAK_LAMBDA,
    P_LI_E_PA,
    P_LI_H_M,
    P_LI_HARDENING,
    P_LI_MAX_STRAIN,
    P_LI_N,
    P_LI_RATE_REF_PER_S,
    P_LI_RECOVERY_S,
    P_LI_SIGMA_REF_PA,
    P_MAX_RATE_MPA_S,
    P_MOTOR_A_MAX_M_S2,
    P_MOTOR_ALPHA,
    P_MOTOR_V_MAX_M_S,
    P_N_CH,
    P_OIL_COMPLIANCE_M_N,
    P_OP_DEADBAND_MPA,
    P_OP_GAIN0_MPA,
    P_PISTON_AREA_M2,
    P_POS_LSB_M,
    P_POS_NOISE_M,
    P_POW_D0,
    P_POW_E_DENSE_PA,
    P_POW_E_EXP,
    P_POW_H_SOLID_M,
    P_POW_HECKEL_K_PER_PA,
    P_PUMP_FLOW_M3_S,
    P_RATE_TRIP_N_S,
    P_RATED_MAX_MPA,
    P_RELEASE_LAMBDA,
    P_RELEASE_OPEN_S,
    P_RELEASED_BELOW_MPA,
    P_RELIEF_FORCE_N,
    P_RELIEF_LAMBDA,
    P_RETRACT_M,
    P_SETTLE_BAND_N,
    P_SETTLE_TICKS,
    P_SIZE,
    P_SPEC_AREA_M2,
    P_STROKE_M3,
    P_STROKE_PERIOD_S,
    P_SUPPLY_PA,
    P_TILT_X_RAD,
    P_TILT_Y_RAD,
    P_TRIP_MARGIN_FRAC,
    P_TRIP_MARGIN_MIN_MPA,
    P_U_APPROACH,
    P_U_MAX,
    P_U_MIN,
    P_VALVE_ALPHA,
    P_VALVE_FLOW_M3_S,
    P_VALVE_LINEARISE,
)
from .platen import support_shares

L_PER_MIN = 1e-3 / 60.0  # m³/s
ML_PER_MIN = 1e-6 / 60.0
#: the settling detector's error filter corner (Hz)
SETTLE_FILTER_HZ = 2.0


def _alpha(dt: float, tau_or_hz: float, *, hz: bool = False) -> float:
    """Discrete first-order filter coefficient for a time constant (or corner frequency)."""
    tau = 1.0 / (2.0 * math.pi * tau_or_hz) if hz else tau_or_hz
    return 1.0 - math.exp(-dt / tau)


def rated_max_pressure_mpa(press: PressCfg, die_area_mm2: float) -> float:
    """The lower of the die-set rating and rated force over the die area."""
    return min(
        press.identity.rated_max_pressure_mpa, press.identity.rated_force_kn * 1e3 / die_area_mm2
    )


def build_params(
    press: PressCfg,
    spec: SpecimenCfg,
    *,
    tilt_mrad: tuple[float, float] | None = None,
    die_offset_mm: tuple[float, float] | None = None,
) -> np.ndarray:
    """The kernel's parameter array for ``press`` loaded with ``spec``."""
    p = np.zeros(P_SIZE)
    fw = press.firmware
    dt = 1.0 / fw.loop_hz
    p[P_DT_S] = dt
    act = press.actuator
    p[P_FRAME_K_N_M] = press.frame.stiffness_n_per_m

    # -- actuator ------------------------------------------------------------------------
    if isinstance(act, (HydraulicCfg, ManualCfg)):
        area = math.pi * (act.piston_diameter_mm * 1e-3 / 2.0) ** 2
        p_rated = press.identity.rated_force_kn * 1e3 / area
        p[P_PISTON_AREA_M2] = area
        p[P_OIL_COMPLIANCE_M_N] = (
            act.oil_volume_l * 1e-3 / (act.oil_bulk_modulus_gpa * 1e9 * area**2)
        )
        p[P_SUPPLY_PA] = act.relief_pressure_mpa * 1e6
        p[P_RELIEF_FORCE_N] = act.relief_pressure_mpa * 1e6 * area
        p[P_RELIEF_LAMBDA] = act.relief_flow_l_per_min_per_mpa * L_PER_MIN / 1e6 / area**2
        # laminar restrictions: Q = G p  ->  ram speed lost = (G / A²) F
        p[P_LEAK_LAMBDA] = act.leak_flow_ml_per_min_at_rated * ML_PER_MIN / p_rated / area**2
        p[P_DUMP_LAMBDA] = act.dump_flow_l_per_min_at_rated * L_PER_MIN / p_rated / area**2
    if isinstance(act, HydraulicCfg):
        p[P_ACT_KIND] = ACT_HYDRAULIC
        p[P_PUMP_FLOW_M3_S] = act.pump_flow_l_per_min * L_PER_MIN
        p[P_VALVE_FLOW_M3_S] = act.valve_flow_l_per_min * L_PER_MIN
        p[P_VALVE_ALPHA] = _alpha(dt, act.valve_time_constant_ms * 1e-3)
        p[P_VALVE_LINEARISE] = 1.0
    elif isinstance(act, ServoCfg):
        p[P_ACT_KIND] = ACT_SERVO
        p[P_MOTOR_V_MAX_M_S] = act.max_speed_mm_s * 1e-3
        p[P_MOTOR_A_MAX_M_S2] = act.max_acceleration_mm_s2 * 1e-3
        p[P_MOTOR_ALPHA] = _alpha(dt, act.speed_loop_time_constant_ms * 1e-3)
        p[P_RETRACT_M] = act.retract_mm * 1e-3
    else:
        p[P_ACT_KIND] = ACT_MANUAL
        p[P_STROKE_M3] = act.stroke_volume_ml * 1e-6
        p[P_STROKE_PERIOD_S] = act.stroke_period_s
        p[P_OP_GAIN0_MPA] = act.operator_first_guess_mpa_per_stroke
        p[P_OP_DEADBAND_MPA] = act.operator_deadband_mpa
        p[P_RELEASE_OPEN_S] = act.operator_release_open_s
        p[P_RELEASE_LAMBDA] = (
            act.release_flow_l_per_min_at_rated
            * L_PER_MIN
            / (press.identity.rated_force_kn * 1e3 / p[P_PISTON_AREA_M2])
        ) / p[P_PISTON_AREA_M2] ** 2

    # -- specimen -------------------------------------------------------------------------
    spec_area = spec.die_area_mm2 * 1e-6
    p[P_SPEC_AREA_M2] = spec_area
    p[P_DIE_RADIUS_M] = spec.die_diameter_mm * 1e-3 / 2.0
    pw = spec.powder
    p[P_POW_H_SOLID_M] = pw.solid_thickness_um * 1e-6
    p[P_POW_D0] = pw.initial_relative_density
    p[P_POW_HECKEL_K_PER_PA] = pw.heckel_k_per_mpa * 1e-6
    p[P_POW_E_DENSE_PA] = pw.dense_modulus_gpa * 1e9
    p[P_POW_E_EXP] = pw.modulus_density_exponent
    li = spec.lithium
    if li is not None:
        p[P_LI_H_M] = li.thickness_um * 1e-6
        p[P_LI_E_PA] = li.modulus_gpa * 1e9
        p[P_LI_N] = li.creep_exponent
        p[P_LI_RATE_REF_PER_S] = li.creep_rate_per_s_at_ref
        p[P_LI_SIGMA_REF_PA] = li.creep_ref_stress_mpa * 1e6
        p[P_LI_MAX_STRAIN] = li.creep_max_strain
        p[P_LI_HARDENING] = li.creep_hardening
        p[P_LI_RECOVERY_S] = li.creep_recovery_s
    else:
        p[P_LI_E_PA] = 1.0
        p[P_LI_SIGMA_REF_PA] = 1.0
        p[P_LI_MAX_STRAIN] = 1.0

    # -- platen and load cells ------------------------------------------------------------
    lc = press.load_cells
    nch = len(lc.positions_mm)
    p[P_N_CH] = nch
    pos_m = np.array(lc.positions_mm, dtype=float) / 1000.0
    centroid, ax, ay = support_shares(pos_m)
    p[P_CH_BASE] = 1.0 / nch
    p[P_CH_AX_PER_M : P_CH_AX_PER_M + nch] = ax
    p[P_CH_AY_PER_M : P_CH_AY_PER_M + nch] = ay
    offset = die_offset_mm if die_offset_mm is not None else press.platen.die_offset_mm
    tilt = tilt_mrad if tilt_mrad is not None else press.platen.tilt_mrad
    p[P_COF_X_M] = offset[0] / 1000.0 - centroid[0]
    p[P_COF_Y_M] = offset[1] / 1000.0 - centroid[1]
    p[P_TILT_X_RAD] = tilt[0] * 1e-3
    p[P_TILT_Y_RAD] = tilt[1] * 1e-3
    fs = lc.capacity_kn * 1e3
    p[P_CH_FS_N] = fs
    for i in range(nch):
        p[P_CH_GAIN + i] = 1.0 + lc.gain_error_pct[i] / 100.0
        p[P_CH_ZERO_N + i] = lc.zero_offset_n[i]
        p[P_CH_NL_N + i] = lc.nonlinearity_pct_fs / 100.0 * fs
        p[P_CH_HYST_N + i] = lc.hysteresis_pct_fs / 100.0 * fs
    p[P_CH_NOISE_N] = lc.noise_n_rms
    p[P_CH_LSB_N] = lc.resolution_n
    p[P_DELAY_TICKS] = min(round(lc.delay_ms * 1e-3 / dt), 31)
    p[P_POS_LSB_M] = press.position_sensor.resolution_um * 1e-6
    p[P_POS_NOISE_M] = press.position_sensor.noise_um_rms * 1e-6

    # -- firmware -------------------------------------------------------------------------
    if fw.nominal_compliance_um_per_kn is not None and fw.crossover_hz is not None:
        c_nom = fw.nominal_compliance_um_per_kn * 1e-9  # m/N
        if isinstance(act, HydraulicCfg):
            # output = flow demand (fraction of rated valve flow): dF/dt = (Q_v / A_p) u / C
            gain = p[P_VALVE_FLOW_M3_S] / p[P_PISTON_AREA_M2] / c_nom
            p[P_U_MAX] = min(1.0, p[P_PUMP_FLOW_M3_S] / p[P_VALVE_FLOW_M3_S])
            p[P_U_MIN] = -1.0
        else:
            # output = ram speed demand (m/s): dF/dt = u / C
            gain = 1.0 / c_nom
            p[P_U_MAX] = p[P_MOTOR_V_MAX_M_S]
            p[P_U_MIN] = -p[P_MOTOR_V_MAX_M_S]
        kp = 2.0 * math.pi * fw.crossover_hz / gain
        p[P_KP] = kp
        p[P_KI] = kp * 2.0 * math.pi * (fw.integral_corner_hz or 0.0)
        p[P_KD] = kp * fw.derivative_ms * 1e-3
        p[P_KFF] = fw.feedforward / gain
        # approach speed: meeting a stack as stiff as the nominal one at this output makes the
        # force rise at half the rate trip, so closing a gap never trips the press
        p[P_U_APPROACH] = min(p[P_U_MAX], 0.5 * fw.rate_trip_kn_per_s * 1e3 / gain)
        # constant gap: a PI loop on the encoder; the ram speed is u (servo) or u Q_v / A_p
        # (hydraulic), so the loop crosses over at gap_crossover_hz, integral corner 1/5 of it
        per_speed = 1.0
        if isinstance(act, HydraulicCfg):
            per_speed = p[P_PISTON_AREA_M2] / p[P_VALVE_FLOW_M3_S]
        p[P_GAP_KP] = 2.0 * math.pi * fw.gap_crossover_hz * per_speed
        p[P_GAP_KI] = p[P_GAP_KP] * 2.0 * math.pi * fw.gap_crossover_hz / 5.0
    p[P_D_ALPHA] = _alpha(dt, fw.derivative_filter_hz, hz=True)
    p[P_E_ALPHA] = _alpha(dt, SETTLE_FILTER_HZ, hz=True)
    p[P_MAX_RATE_MPA_S] = fw.max_rate_mpa_s
    p[P_RATED_MAX_MPA] = rated_max_pressure_mpa(press, spec.die_area_mm2)
    p[P_TRIP_MARGIN_FRAC] = fw.overpressure_margin_pct / 100.0
    p[P_TRIP_MARGIN_MIN_MPA] = fw.overpressure_margin_min_mpa
    p[P_RATE_TRIP_N_S] = fw.rate_trip_kn_per_s * 1e3
    p[P_FOLLOW_ERR_MPA] = fw.following_error_mpa
    p[P_FOLLOW_ERR_S] = fw.following_error_s
    p[P_AT_SP_BAND_MPA] = fw.at_setpoint_band_mpa
    p[P_RELEASED_BELOW_MPA] = fw.released_below_mpa
    # settling band: 5 sigma of the filtered total noise (plus quantisation), at least 0.2 N
    a = p[P_E_ALPHA]
    sigma = math.sqrt(nch * (lc.noise_n_rms**2 + lc.resolution_n**2 / 12.0)) * math.sqrt(
        a / (2.0 - a)
    )
    p[P_SETTLE_BAND_N] = max(5.0 * sigma, 0.2)
    p[P_SETTLE_TICKS] = round(fw.settle_s * fw.loop_hz)
    # constant gap: 5 sigma of the filtered encoder noise (plus quantisation), at least 1 nm
    ps = press.position_sensor
    sigma_pos = math.sqrt((ps.noise_um_rms * 1e-6) ** 2 + (ps.resolution_um * 1e-6) ** 2 / 12.0)
    p[P_GAP_SETTLE_BAND_M] = max(5.0 * sigma_pos * math.sqrt(a / (2.0 - a)), 1e-9)
    assert nch <= MAX_CH
    return p


__all__ = ["build_params", "rated_max_pressure_mpa"]
