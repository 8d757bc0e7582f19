"""Metrics against numbers worked out by hand (the working is in each test's comment)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from presshil import metrics as m
from presshil.metrics import EXPECT_KEYS, Segment, Verdict, evaluate, evaluate_all
from presshil.trace import Trace

approx = pytest.approx


# --- pure functions --------------------------------------------------------------------------


def test_default_band_is_one_percent_or_quarter_mpa():
    assert m.default_band_mpa(74.0) == approx(0.74)
    assert m.default_band_mpa(15.0) == 0.25  # 1 % would be 0.15


def test_max_abs_error_value_and_index():
    # |74.1-74| = 0.1, |73.7-74| = 0.3, |74.2-74| = 0.2 -> 0.3 at index 1
    value, i = m.max_abs_error([74.1, 73.7, 74.2], 74.0)
    assert value == approx(0.3) and i == 1


def test_rms_error():
    # errors +1, -1, +1, -1 -> mean square 1 -> RMS 1; errors 0, 0, 0, 2 -> sqrt(4/4) = 1
    assert m.rms_error([75, 73, 75, 73], 74) == approx(1.0)
    assert m.rms_error([74, 74, 74, 76], 74) == approx(1.0)


def test_in_band_pct():
    # errors 0, 0.4, 0.6, 0.5 with band 0.5 -> 0, 0.4 and the edge 0.5 inside: 3/4
    assert m.in_band_pct([74.0, 74.4, 74.6, 73.5], 74.0, 0.5) == approx(75.0)


def test_drift_is_least_squares_slope_per_minute():
    # t = 0, 30, 60, 90 s; p = 74.0, 74.2, 74.1, 74.3. t̄ = 45, p̄ = 74.15.
    # Σ(t−t̄)(p−p̄) = (−45)(−.15) + (−15)(.05) + (15)(−.05) + (45)(.15) = 12.0
    # Σ(t−t̄)² = 2025 + 225 + 225 + 2025 = 4500 -> 12/4500 MPa/s = 0.16 MPa/min
    assert m.drift_per_min([0, 30, 60, 90], [74.0, 74.2, 74.1, 74.3]) == approx(0.16)
    assert m.drift_per_min([0, 60, 120], [50.0, 49.9, 49.8]) == approx(-0.1)


def test_drift_of_a_single_instant_is_nan():
    assert math.isnan(m.drift_per_min([5.0, 5.0], [1.0, 2.0]))


def test_settling_time_interpolates_the_last_entry():
    # errors −4, −1, +0.8, +0.2, +0.1 with band 0.5: last outside is index 2 (t = 2, +0.8);
    # next is +0.2: crossing +0.5 at fraction (0.8 − 0.5)/(0.8 − 0.2) = 0.5 -> t = 2.5
    t = [0, 1, 2, 3, 4]
    assert m.settling_time_s(t, [70, 73, 74.8, 74.2, 74.1], 74.0, 0.5) == approx(2.5)


def test_settling_time_measured_from_the_command_not_the_first_sample():
    # the same samples, the first one 10 s after the command (t = 0): entry at t = 12.5 s,
    # which is 12.5 s after the command, not 2.5 s after the first sample
    t = [10, 11, 12, 13, 14]
    assert m.settling_time_s(t, [70, 73, 74.8, 74.2, 74.1], 74.0, 0.5) == approx(12.5)
    # a command at t = 9 on that axis: 3.5 s
    assert m.settling_time_s(t, [70, 73, 74.8, 74.2, 74.1], 74.0, 0.5, t_command_s=9.0) == approx(3.5)


def test_slow_hold_settling_counts_the_first_sample_period():
    # 0.2 Hz: samples at 5, 10, …, 70 s after the command. Error 1 MPa until the sample at
    # 60 s, 0.5 MPa at 65 s, 0 after; band 0.75: crossing between 60 (1.0) and 65 (0.5) at
    # 60 + 5·(1.0 − 0.75)/(1.0 − 0.5) = 62.5 s from the command (57.5 s from the first sample,
    # which would pass a 60 s limit)
    t = np.arange(5.0, 75.0, 5.0)
    p = np.where(t <= 60, 16.0, 15.0)
    p[t == 65] = 15.5
    assert m.settling_time_s(t, p, 15.0, 0.75) == approx(62.5)
    seg = hold_segment(p, target=15.0, t0=5.0, dt=5.0)
    v = evaluate("charge", "settle_s", 60.0, seg, band_mpa=0.75)
    assert v.value == approx(62.5) and not v.passed
    assert "step time t = 62.5 s" in v.detail


def test_settling_time_always_inside_and_never():
    assert m.settling_time_s([0, 1, 2], [74.1, 73.9, 74.0], 74.0, 0.5) == 0.0
    assert m.settling_time_s([0, 1, 2], [74.1, 73.9, 75.0], 74.0, 0.5) == math.inf


def test_overshoot_pct_of_step():
    # start 10, target 74: step 64 MPa; peak 74.64 is 0.64 past = 1 % of the step
    value, i = m.overshoot_pct([10, 50, 74.64, 74.2, 74.0], 10.0, 74.0)
    assert value == approx(1.0) and i == 2


def test_overshoot_of_a_downward_step_is_undershoot():
    # 74 -> 64 (step −10): minimum 63.8 is 0.2 past the target = 2 %
    value, i = m.overshoot_pct([74, 68, 63.8, 64.0], 74.0, 64.0)
    assert value == approx(2.0) and i == 2


def test_no_overshoot_is_zero():
    value, _ = m.overshoot_pct([10, 40, 73.9], 10.0, 74.0)
    assert value == 0.0


def test_rise_time_10_90_interpolated():
    # p = 10 + 8t sampled at whole seconds, target 74: y = t/8.
    # 10 % between t=0 (y 0) and t=1 (y .125): 0.1/0.125 = 0.8 s
    # 90 % between t=7 (y .875) and t=8 (y 1): 7 + 0.025/0.125 = 7.2 s -> rise 6.4 s
    t = np.arange(11.0)
    p = np.minimum(10 + 8 * t, 74.0)
    assert m.rise_time_s(t, p, 10.0, 74.0) == approx(6.4)


def test_rise_time_down():
    # 74 -> 64 at 2 MPa/s: y = 0.2 t; 10 % at 0.5 s, 90 % at 4.5 s -> 4.0 s
    t = np.arange(8.0)
    p = np.maximum(74 - 2 * t, 64.0)
    assert m.rise_time_s(t, p, 74.0, 64.0) == approx(4.0)


def test_rise_time_never_reaching_90_pct_is_inf():
    assert m.rise_time_s([0, 1, 2], [10, 30, 60], 10.0, 74.0) == math.inf


def test_steady_state_error_over_last_tenth():
    # t = 0..10: last 10 % of the duration is t >= 9 -> p 74.2, 74.4 -> mean 74.3 -> 0.3
    t = np.arange(11.0)
    p = np.full(11, 70.0)
    p[9:] = [74.2, 74.4]
    assert m.steady_state_error(t, p, 74.0) == approx(0.3)


def test_iae_trapezoidal():
    # |e| = 1, 0, 0 at t = 0, 1, 2 -> (1+0)/2·1 + 0 = 0.5
    assert m.iae([0, 1, 2], [0, 1, 1], [1, 1, 1]) == approx(0.5)
    # |e| = 2, 2, 0 at t = 0, 2, 4 -> 2·2 + (2+0)/2·2 = 6
    assert m.iae([0, 2, 4], [72, 76, 74], 74.0) == approx(6.0)


def test_nonuniformity_and_worst_channel():
    # forces 1.0, 1.1, 0.9, 1.0 kN: mean 1.0, range 0.2 -> 20 %; channels 1 and 2 deviate
    # most (0.1), the first of them is reported
    value, worst = m.nonuniformity_pct([1.0, 1.1, 0.9, 1.0])
    assert value == approx(20.0) and worst == 1


def test_cv_is_population_std():
    # deviations 0, .1, −.1, 0 -> variance (0.01 + 0.01)/4 = 0.005 -> std 0.0707 -> 7.07 %
    assert m.cv_pct([1.0, 1.1, 0.9, 1.0]) == approx(100 * math.sqrt(0.005))


def test_centre_of_force_offset():
    pos = [(10, 0), (0, 10), (-10, 0), (0, -10)]
    assert m.cof_offset_mm([1, 1, 1, 1], pos) == approx(0.0)
    # x = (1.2·10 − 0.8·10)/4 = 1.0, y = (1·10 − 1·10)/4 = 0 -> 1.0 mm
    assert m.cof_offset_mm([1.2, 1.0, 0.8, 1.0], pos) == approx(1.0)
    # y too: (10·1.0 + ... ) forces 1, 1.4, 1, 0.6: y = (14 − 6)/4 = 2, x = 0 -> 2 mm
    assert m.cof_offset_mm([1, 1.4, 1, 0.6], pos) == approx(2.0)


def test_median_half_width_follows_the_sample_rate():
    # ±0.05 s: 2 samples each side at 50 Hz (0.04 s), 1 at 20 Hz (0.05 s), none at 5 Hz
    assert m.median_half_width_samples(np.arange(10) * 0.02) == 2
    assert m.median_half_width_samples(np.arange(10) * 0.05) == 1
    assert m.median_half_width_samples(np.arange(10) * 0.2) == 0
    assert m.median_half_width_samples([3.0]) == 0


def test_moving_median_removes_a_spike_keeps_a_plateau():
    # window 3: [1,1,9,1,1] -> medians of (1,1,1) (1,1,9) (1,9,1) (9,1,1) (1,1,1) = all 1
    assert m.moving_median([1, 1, 9, 1, 1], 1).tolist() == [1, 1, 1, 1, 1]
    # a 3-sample plateau survives a 3-sample window: (1,1,5)=1 (1,5,5)=5 (5,5,5) (5,5,1) (5,1,1)
    assert m.moving_median([1, 1, 5, 5, 5, 1, 1], 1).tolist() == [1, 1, 5, 5, 5, 1, 1]
    # the ends use the samples that exist: (2, 0) -> 1, (2, 0, 4) -> 2, (0, 4) -> 2; an end
    # spike is not repeated into a plateau: [0, 0, 0, 9] -> 0, 0, 0, median(0, 9) = 4.5
    assert m.moving_median([2, 0, 4], 1).tolist() == [1, 2, 2]
    assert m.moving_median([0, 0, 0, 9], 1).tolist() == [0, 0, 0, 4.5]
    # fewer samples than the window: each takes what there is
    assert m.moving_median([1, 5], 2).tolist() == [3, 3]
    assert m.moving_median([2, 0, 4], 0).tolist() == [2, 0, 4]


def test_overshoot_counts_only_its_window_beyond_the_noise_floor():
    # a 10 → 74 MPa step at 50 Hz whose setpoint is at the target from the command; 10 samples
    # of rise, then noise ±0.05 MPa about 74. Settling window: 1 s. Settled part t > 1 s:
    # 149 samples alternating ±0.05 (75 low, 74 high: mean −0.05/149) ->
    # σ² = (149·0.0025 − 0.0025/149)/148, σ = 0.050168, 3σ = 0.15050 MPa
    t = 0.02 * np.arange(200)
    p = 74.0 + 0.05 * (-1.0) ** np.arange(200)
    p[:10] = np.linspace(10, 70, 10)
    sp = np.full(200, 74.0)
    sigma3 = 3 * math.sqrt((149 * 0.0025 - 0.0025 / 149) / 148)

    def judge(p):
        return evaluate_all("s", {"max_overshoot_pct": 0.5, "settling_time_s": 1.0},
                            Segment("step", t, sp, p, np.ones((200, 4)), 74.0, 10.0))[0]

    v = judge(p)
    assert v.value == 0.0 and v.passed and "3σ = 0.15 MPa (149 settled samples)" in v.detail
    p[25] = 74.12  # one sample inside the window, within the noise floor
    assert judge(p).value == 0.0
    p[150] = 75.0  # a spike after the settling window is the hold's business, not overshoot
    q = p.copy()
    q[150] = 74.05
    assert judge(p).value == 0.0
    q[20:30] = 74.3  # a real 0.3 MPa overshoot inside the window, 0.2 s long
    v = judge(q)
    # the 0.1 s average (5 samples at 50 Hz) is 74.3 first at sample 22 (samples 20–24)
    assert v.value == approx((0.3 - sigma3) / 64 * 100) and v.passed  # 0.234 %
    assert v.t_s == approx(0.44)


def test_a_pressure_running_ahead_of_its_ramp_overshoots_before_the_setpoint_arrives():
    # a 30 → 60 MPa step at 50 Hz whose setpoint ramps at 10 MPa/s (at the target at t = 3 s).
    # The press stalls, then a wound-up integrator drives it to 66 MPa at t = 1.6–2.0 s (0.4 s
    # flat, so the 0.1 s average reads 66 there) while the setpoint is still at 46–50 MPa; it
    # comes back to 60 and stays. No settling window: judged to the segment's end, no floor.
    # Overshoot = (66 − 60) / 30 × 100 = 20 %. Judged only from the setpoint's arrival it read 0.
    t = 0.02 * np.arange(400)
    sp = np.minimum(30.0 + 10.0 * t, 60.0)
    p = np.full(400, 60.0)
    p[:60] = 30.0 + 10.0 * t[:60] * 0.5  # stalled: half the commanded rate
    p[60:80] = np.linspace(39.0, 66.0, 20)
    p[80:101] = 66.0  # t = 1.60 … 2.00 s
    p[101:150] = np.linspace(66.0, 60.0, 49)
    v = evaluate_all("s", {"max_overshoot_pct": 2.0},
                     Segment("step", t, sp, p, np.ones((400, 4)), 60.0, 30.0))[0]
    assert v.value == approx(20.0) and not v.passed
    assert 1.6 <= v.t_s <= 2.0


def test_band_max_is_judged_on_the_median_at_50_hz():
    # hold at 20 Hz (half-width 1): a single 1 MPa spike is gone, a 3-sample 0.6 MPa hump is not
    p = np.full(40, 74.0)
    p[10] = 75.0
    seg = hold_segment(p, dt=0.05)
    assert evaluate("h", "band_mpa", 0.5, seg).value == approx(0.0)
    p[20:23] = 74.6
    v = evaluate("h", "band_mpa", 0.5, hold_segment(p, dt=0.05))
    assert v.value == approx(0.6) and not v.passed and v.t_s == approx(1.0)


def test_pellet_nonuniformity_is_8e_over_r():
    # e = 1 mm on R = 5 mm: 8/5 = 160 % of the mean (±80 %); e = 0.0625 mm: 10 % (±5 %)
    assert m.pellet_nonuniformity_pct(1.0, 5.0) == approx(160.0)
    assert m.pellet_nonuniformity_pct(0.0625, 5.0) == approx(10.0)
    assert m.cof_limit_for_pellet_mm(5.0, 5.0) == approx(0.0625)
    assert m.cof_limit_for_pellet_mm(5.0, 6.5) == approx(0.08125)
    with pytest.raises(ValueError, match="radius"):
        m.pellet_nonuniformity_pct(1.0, 0.0)


def test_pellet_verdict_from_channel_forces():
    # forces 1.2, 1.0, 0.8, 1.0 at (±10, 0), (0, ±10): e = 1 mm (see test_centre_of_force);
    # R = 5 mm -> 160 %; load-cell spread 40 %
    ch = np.tile([1.2, 1.0, 0.8, 1.0], (5, 1))
    v = evaluate("h", "max_pellet_nonuniformity_pct", 10.0,
                 hold_segment([74.0] * 5, channels=ch, radius=5.0))
    assert v.value == approx(160.0) and not v.passed and v.channel == 0
    assert "centre of force 1 mm from the declared die position (0, 0) mm" in v.detail
    assert "cannot see radially symmetric non-uniformity" in v.detail
    v = evaluate("h", "max_pellet_nonuniformity_pct", 10.0, hold_segment([74.0] * 5))
    assert not v.passed and "die radius" in v.detail


def test_position_metrics_by_hand():
    # positions at the start of 4 cycles: 1.000, 1.003, 1.004, 1.007 mm
    # x̄ = 1.0035; slope vs k = 0..3 (k̄ 1.5): Σ(k−k̄)(x−x̄) = (−1.5)(−.0035) + (−.5)(−.0005)
    # + (.5)(.0005) + (1.5)(.0035) = .011; Σ(k−k̄)² = 5 -> .0022 mm = 2.2 µm/cycle
    x = [1.000, 1.003, 1.004, 1.007]
    assert m.growth_per_cycle_um(x) == approx(2.2)
    assert m.irreversible_growth_um(x) == approx(7.0)
    assert m.dilatometry_range_um([1.0, 1.012, 0.998, 1.005]) == approx(14.0)
    assert math.isnan(m.growth_per_cycle_um([1.0])) and math.isnan(m.irreversible_growth_um([1.0]))


def test_verdict_time_base_is_explicit():
    v = evaluate("hold-74", "band_mpa", 0.4, hold_segment(HOLD_P), settle_s=2.0, band_mpa=0.4)
    assert v.time_base == "step" and v.where() == "step time t = 8 s"
    r = v.on_run_time(300.0)
    assert (r.t_s, r.step_start_s, r.time_base) == (308.0, 300.0, "run")
    assert r.where() == "run time t = 308 s (step time 8 s)"
    assert r.detail == v.detail  # the detail keeps its step times, and says so
    with pytest.raises(ValueError, match="already on run time"):
        r.on_run_time(1.0)


# --- segments and verdicts -------------------------------------------------------------------

POS = ((10.0, 0.0), (0.0, 10.0), (-10.0, 0.0), (0.0, -10.0))


def hold_segment(p, channels=None, target=74.0, t0=0.0, dt=1.0, radius=None):
    """A hold sampled every ``dt`` from step time ``t0`` (the command is at 0); channels
    default to an even split of 5.81 kN."""
    p = np.asarray(p, float)
    t = t0 + dt * np.arange(p.size, dtype=float)
    if channels is None:
        channels = np.full((p.size, 4), 5.81 / 4)
    return Segment("hold", t, np.full(p.size, target), p, np.asarray(channels, float),
                   target_mpa=target, start_mpa=target, channel_positions_mm=POS,
                   die_radius_mm=radius, die_placement_tolerance_mm=0.0)


def by_key(verdicts):
    return {v.criterion: v for v in verdicts}


HOLD_P = [72.0, 73.6, 74.3, 74.1, 73.8, 74.0, 74.2, 73.9, 74.45, 74.0, 74.1]


def test_hold_verdicts_from_expect():
    # t = 0..10 (first sample at the command), errors −2, −0.4, ... Band 0.5: the last sample
    # outside is index 0 (−2); the next is −0.4: crossing −0.5 at (−2 + 0.5)/(−2 + 0.4) =
    # 0.9375 -> 0.9375 s. After settle 2 s (t >= 2): errors .3 .1 −.2 0 .2 −.1 .45 0 .1 ->
    # max .45 at t = 8 (1 Hz: no median)
    seg = hold_segment(HOLD_P)
    expect = {"settle_s": 2.0, "band_mpa": 0.5, "min_in_band_pct": 99.0,
              "max_rms_error_mpa": 0.2}
    v = by_key(evaluate_all("hold-74", expect, seg))
    assert list(v) == list(expect)  # protocol order kept
    assert v["settle_s"].value == approx(0.9375) and v["settle_s"].passed
    assert v["band_mpa"].value == approx(0.45) and v["band_mpa"].t_s == 8.0
    assert v["band_mpa"].passed and v["band_mpa"].unit == "MPa"
    assert v["min_in_band_pct"].value == 100.0 and v["min_in_band_pct"].passed
    # RMS: squares .09 .01 .04 0 .04 .01 .2025 0 .01 = 0.4025 / 9
    assert v["max_rms_error_mpa"].value == approx(math.sqrt(0.4025 / 9))
    assert all(x.step == "hold-74" for x in v.values())


def test_failed_band_carries_worst_sample_time_and_value():
    seg = hold_segment(HOLD_P)
    v = evaluate("hold-74", "band_mpa", 0.4, seg, settle_s=2.0, band_mpa=0.4)
    assert not v.passed
    assert (v.value, v.limit, v.t_s) == (approx(0.45), 0.4, 8.0)
    assert "step time t = 8 s" in v.detail


def test_min_in_band_is_a_minimum():
    # band 0.25 after settle 2 s: |e| .3 and .45 outside, 7 of 9 inside = 77.8 %
    seg = hold_segment(HOLD_P)
    v = evaluate("h", "min_in_band_pct", 75.0, seg, settle_s=2.0, band_mpa=0.25)
    assert v.value == approx(700 / 9) and v.passed
    v = evaluate("h", "min_in_band_pct", 80.0, seg, settle_s=2.0, band_mpa=0.25)
    assert not v.passed and v.t_s == 8.0


def test_min_in_band_default_band_is_domain_rule():
    seg = hold_segment(HOLD_P)
    v = evaluate("h", "min_in_band_pct", 99.0, seg, settle_s=2.0)
    assert v.value == 100.0  # ±0.74 MPa
    assert "default band" in v.detail


def test_settle_never_reached_fails_with_inf():
    seg = hold_segment([70, 71, 72, 73, 75])
    v = evaluate("h", "settle_s", 5.0, seg, band_mpa=0.5)
    assert v.value == math.inf and not v.passed and "never settled" in v.detail


def test_drift_verdict_is_absolute_slope():
    p = 74.0 - 0.5 / 60 * np.arange(61)  # −0.5 MPa/min for a minute
    v = evaluate("h", "max_drift_mpa_per_min", 0.4, hold_segment(p))
    assert v.value == approx(0.5) and not v.passed and "-0.5" in v.detail


def test_uniformity_verdicts_name_the_channel():
    ch = np.tile([1.2, 1.0, 0.8, 1.0], (5, 1))
    seg = hold_segment([74.0] * 5, channels=ch)
    v = by_key(evaluate_all("h", {"max_nonuniformity_pct": 10.0, "max_cv_pct": 20.0,
                                  "max_cof_offset_mm": 0.5}, seg))
    # range 0.4 / mean 1.0 = 40 %; std sqrt(.08/4) = .1414 -> 14.1 %; offset 1.0 mm
    assert v["max_nonuniformity_pct"].value == approx(40.0)
    assert not v["max_nonuniformity_pct"].passed and v["max_nonuniformity_pct"].channel == 0
    assert "ch1 farthest" in v["max_nonuniformity_pct"].detail  # texts count from 1
    assert v["max_cv_pct"].value == approx(100 * math.sqrt(0.02)) and v["max_cv_pct"].passed
    assert v["max_cof_offset_mm"].value == approx(1.0) and not v["max_cof_offset_mm"].passed


def test_uniformity_uses_time_averaged_forces_after_settle():
    # first two samples badly skewed (inside the 2 s allowance), then even. Without the
    # allowance the averages are 1.4, 0.6, 1, 1 -> range 0.8 / mean 1 = 80 %
    ch = np.array([[2, 0, 1, 1]] * 2 + [[1, 1, 1, 1]] * 3, float)
    seg = hold_segment([74.0] * 5, channels=ch)
    assert evaluate("h", "max_nonuniformity_pct", 1.0, seg, settle_s=2.0).value == approx(0.0)
    v = evaluate("h", "max_nonuniformity_pct", 1.0, seg)
    assert v.value == approx(80.0) and v.t_s == 0.0  # worst instant: the first sample


def test_uniformity_needs_two_channels_and_positions():
    seg = hold_segment([74.0] * 5, channels=np.ones((5, 1)))
    v = evaluate("h", "max_cv_pct", 5.0, seg)
    assert not v.passed and "at least 2" in v.detail
    seg = Segment("hold", np.arange(3.0), np.full(3, 74.0), np.full(3, 74.0), np.ones((3, 4)),
                  74.0, 74.0)
    v = evaluate("h", "max_cof_offset_mm", 1.0, seg)
    assert not v.passed and "position" in v.detail


def step_segment(start=10.0, target=74.0):
    # p follows the setpoint 10 -> 74 at 8 MPa/s with 1 s lag, overshoots to 74.5, settles
    t = np.arange(13.0)
    sp = np.minimum(start + 8 * t, target)
    p = np.array([10, 10, 18, 26, 34, 42, 50, 58, 66, 74.5, 74.2, 74.05, 74.0])
    return Segment("step", t, sp, p, np.ones((13, 4)), target_mpa=target, start_mpa=start)


def test_step_response_verdicts():
    expect = {"max_overshoot_pct": 1.0, "max_rise_s": 7.0, "settling_time_s": 9.0,
              "max_steady_state_error_mpa": 0.1, "max_iae_mpa_s": 60.0}
    v = by_key(evaluate_all("step-up", expect, step_segment()))
    # setpoint at 74 from t = 8; window to the settling limit, 9 s: peak 74.5 at t = 9.
    # settled t = 10, 11, 12: p − 74 = 0.2, 0.05, 0 -> σ = 0.104083 (n − 1), 3σ = 0.31225;
    # overshoot (0.5 − 0.31225)/64 = 0.29336 %
    assert v["max_overshoot_pct"].value == approx((0.5 - 3 * 0.1040833) / 64 * 100, rel=1e-5)
    assert v["max_overshoot_pct"].t_s == 9
    # 10 % = 16.4 MPa: between t=1 (10) and t=2 (18): 1 + 6.4/8 = 1.8
    # 90 % = 67.6 MPa: between t=8 (66) and t=9 (74.5): 8 + 1.6/8.5 -> rise 6.2 + 1.6/8.5
    assert v["max_rise_s"].value == approx(6.2 + 1.6 / 8.5)
    # 2 % band = ±1.28: last outside t=8 (e −8), next +0.5: crossing −1.28 at
    # (−8 + 1.28)/(−8 − 0.5) = 0.790588 -> 8.790588 s
    assert v["settling_time_s"].value == approx(8 + 6.72 / 8.5)
    # last 10 % of 12 s: t >= 10.8 -> t = 11, 12: mean 74.025 -> 0.025
    assert v["max_steady_state_error_mpa"].value == approx(0.025)
    # |p − sp|: 0 8 8 8 8 8 8 8 8 0.5 0.2 0.05 0 -> trapezoid: 4 + 7·8 + 4.25 + .35 + .125
    # + .025 = 64.75
    assert v["max_iae_mpa_s"].value == approx(64.75) and not v["max_iae_mpa_s"].passed
    assert all(v[k].passed for k in expect if k != "max_iae_mpa_s")


def test_step_that_never_rises_fails():
    seg = Segment("step", np.arange(3.0), np.full(3, 74.0), np.array([10, 11, 12.0]),
                  np.ones((3, 2)), 74.0, 10.0)
    v = evaluate("s", "max_rise_s", 10.0, seg)
    assert not v.passed and v.value == math.inf and "never reached 90 %" in v.detail
    v = evaluate("s", "settling_time_s", 10.0, seg)
    assert not v.passed and v.value == math.inf


def test_zero_size_step_is_not_judged():
    seg = Segment("step", np.arange(3.0), np.full(3, 74.0), np.full(3, 74.0),
                  np.ones((3, 2)), 74.0, 74.0)
    v = evaluate("s", "max_overshoot_pct", 1.0, seg)
    assert not v.passed and "step size is 0" in v.detail


def test_ramp_tracking_error():
    t = np.arange(5.0)
    sp = 2.0 * t
    p = np.array([0.0, 1.5, 3.2, 5.0, 8.1])  # errors 0, .5, .8, 1.0, .1 -> 1.0 at t = 3
    seg = Segment("ramp", t, sp, p, np.ones((5, 3)), target_mpa=8.0, start_mpa=0.0)
    v = evaluate("0", "max_tracking_error_mpa", 1.5, seg)
    assert v.value == approx(1.0) and v.t_s == 3.0 and v.passed
    v = evaluate("0", "max_overshoot_pct", 1.0, seg)
    assert v.value == approx(1.25) and not v.passed  # 0.1 past an 8 MPa ramp


def test_release_residual():
    seg = Segment("release", np.arange(4.0), np.array([3, 2, 1, 0.0]),
                  np.array([3, 2.1, 1.0, 0.3]), np.ones((4, 3)), 0.0, 3.0)
    v = evaluate("release", "max_residual_mpa", 0.2, seg)
    assert v.value == approx(0.3) and v.t_s == 3.0 and not v.passed


# --- nothing to judge: fail clearly, never raise, never pass on NaN --------------------------


def empty_segment(kind, n):
    return Segment(kind, np.arange(float(n)), np.full(n, 74.0), np.full(n, 74.0),
                   np.ones((n, 4)), 74.0, 10.0, POS, die_radius_mm=5.0,
                   die_placement_tolerance_mm=0.0)


def _kind(key):
    return min(EXPECT_KEYS[key].applies_to)


@pytest.mark.parametrize("key", sorted(EXPECT_KEYS))
def test_empty_segment_fails_with_detail(key):
    v = evaluate("s", key, 1.0, empty_segment(_kind(key), 0), band_mpa=0.5)
    assert isinstance(v, Verdict) and not v.passed
    assert "not judged" in v.detail and "0 sample" in v.detail


# A slope, a rise, a settling time or an integral needs two samples; a level needs one.
NEEDS_TWO = {"max_tracking_error_mpa", "max_overshoot_pct", "settle_s", "max_drift_mpa_per_min",
             "max_channel_shift_pct", "max_rise_s", "settling_time_s", "max_steady_state_error_mpa", "max_iae_mpa_s"}


@pytest.mark.parametrize("key", sorted(NEEDS_TWO))
def test_single_sample_fails_where_two_are_needed(key):
    limit = 1e9 if EXPECT_KEYS[key].comparison == "max" else 0.0
    v = evaluate("s", key, limit, empty_segment(_kind(key), 1), band_mpa=0.5)
    assert not v.passed and "need at least 2" in v.detail


NEEDS_POSITION = {"max_dilatometry_um"}


@pytest.mark.parametrize("key", sorted(NEEDS_POSITION))
def test_position_metrics_are_not_judged_without_a_ram_position(key):
    v = evaluate("s", key, 1e9, empty_segment(_kind(key), 5))
    assert not v.passed and "no ram position" in v.detail


# a temperature criterion needs the press's temperature (tests/test_temperature.py)
NEEDS_TEMPERATURE = {"max_temperature_change_c"}


@pytest.mark.parametrize("key", sorted(set(EXPECT_KEYS) - NEEDS_TWO - NEEDS_POSITION
                                       - NEEDS_TEMPERATURE))
def test_single_sample_is_judged_where_one_suffices(key):
    limit = 1e9 if EXPECT_KEYS[key].comparison == "max" else 0.0
    v = evaluate("s", key, limit, empty_segment(_kind(key), 1), band_mpa=0.5)
    assert v.passed and math.isfinite(v.value)


def test_settle_allowance_longer_than_the_hold_fails():
    seg = hold_segment([74.0] * 3)
    v = evaluate("h", "max_drift_mpa_per_min", 1.0, seg, settle_s=5.0)
    assert not v.passed and "after the 5 s settle allowance" in v.detail


@pytest.mark.parametrize("key", ["band_mpa", "max_rms_error_mpa", "max_tracking_error_mpa",
                                 "max_residual_mpa"])
def test_nan_pressure_never_passes(key):
    seg = Segment(_kind(key), np.arange(4.0), np.full(4, 74.0),
                  np.array([74.0, math.nan, 74.0, 74.0]), np.ones((4, 4)), 74.0, 74.0)
    if key == "max_residual_mpa":
        seg = Segment("release", np.arange(2.0), np.zeros(2), np.array([0.0, math.nan]),
                      np.ones((2, 4)), 0.0, 74.0)
    assert not evaluate("s", key, 1e9, seg).passed


def test_unknown_key_is_a_programming_error():
    with pytest.raises(ValueError, match="known:"):
        evaluate("s", "max_nonsense", 1.0, empty_segment("hold", 3))


def test_segment_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="one shape"):
        Segment("hold", np.arange(3.0), np.zeros(2), np.zeros(3), np.zeros((3, 1)), 0.0, 0.0)


def test_segment_from_trace():
    rows = [(float(i), 74.0, 74.0 + 0.1 * i, 5.8, 1.0, 0, (1.0, 1.0)) for i in range(6)]
    tr = Trace.from_rows(rows)
    seg = Segment.from_trace("hold", tr, slice(2, 5), target_mpa=74.0, start_mpa=74.0,
                             t_command_s=1.5)
    assert seg.t.tolist() == [0.5, 1.5, 2.5] and seg.channels.shape == (3, 2)
    assert evaluate("h", "band_mpa", 1.0, seg).value == approx(0.4)


# --- registry --------------------------------------------------------------------------------


def test_registry_is_complete_and_consistent():
    from presshil.protocol import STEP_TYPES

    step_types = set(STEP_TYPES) - {"repeat"}  # a repeat is judged on its cycles
    for key, spec in EXPECT_KEYS.items():
        assert spec.key == key and spec.judged_on == "segment", key
        assert spec.comparison in ("max", "min"), key
        assert spec.applies_to and spec.applies_to <= step_types, key
        assert spec.unit and spec.doc and spec.name, key
        assert callable(spec.measure), key
        for needed in spec.requires:
            assert needed in EXPECT_KEYS
    assert set(EXPECT_KEYS) <= set(m.CRITERIA)
    for kind in step_types:
        assert any(kind in s.applies_to for s in EXPECT_KEYS.values()), kind


# --- edges that once let a wrong formula pass (mutation testing) -----------------------------


def test_settling_band_edge_is_inside():
    # the last two samples sit exactly on the band edge (|e| = 0.5 = band): inside, settled.
    # Last outside is index 0 (e = −4); next e = +0.5: crossing −0.5 at (−4 + .5)/(−4 − .5)
    # = 0.7778 of the way -> 0.7778 s
    assert m.settling_time_s([0, 1, 2], [70.0, 74.5, 74.5], 74.0, 0.5) == approx(3.5 / 4.5)


def test_rise_time_with_uneven_samples_and_an_early_start():
    # y = 0, .2, .5, .95, 1 at t = 0, 2, 3, 7, 8: 10 % at 0 + (.1/.2)·2 = 1.0;
    # 90 % at 3 + (.4/.45)·4 = 6.5556 -> 5.5556 s
    t = [0.0, 2.0, 3.0, 7.0, 8.0]
    p = [10 + 64 * y for y in (0.0, 0.2, 0.5, 0.95, 1.0)]
    assert m.rise_time_s(t, p, 10.0, 74.0) == approx(3.0 + 0.4 / 0.45 * 4 - 1.0)
    # the first sample (t = 5) is already past 10 %: the 10 % time is that sample's;
    # y = .5, .95 at t = 5, 6: 90 % at 5 + .4/.45 -> rise .8889 s
    assert m.rise_time_s([5.0, 6.0], [42.0, 10 + 64 * 0.95], 10.0, 74.0) == approx(0.4 / 0.45)


def test_steady_state_tail_counts_from_the_segment_start():
    # t = 10..20: the last 10 % of 10 s is t >= 19 -> p 75, 75 -> error 1.0 (t >= 17 would
    # take 73, 73 too)
    t = np.arange(10.0, 21.0)
    p = np.full(11, 74.0)
    p[7:9] = 73.0
    p[9:] = 75.0
    assert m.steady_state_error(t, p, 74.0) == approx(1.0)


def test_uniformity_with_a_mean_that_is_not_one():
    # forces 2.0, 2.1, 1.7, 2.2 kN: mean 2.0; range 0.5 / 2 = 25 %; farthest from the mean
    # is ch3 (−0.3, index 2); std √((0 + .01 + .09 + .04)/4) = .18708 -> 9.354 %
    value, worst = m.nonuniformity_pct([2.0, 2.1, 1.7, 2.2])
    assert value == approx(25.0) and worst == 2
    assert m.cv_pct([2.0, 2.1, 1.7, 2.2]) == approx(100 * math.sqrt(0.035) / 2.0)


def test_pellet_estimate_on_a_small_die_and_position_metrics_of_two_cycles():
    # R = 0.5 mm, e = 0.01 mm: 800 · 0.01 / 0.5 = 16 %
    assert m.pellet_nonuniformity_pct(0.01, 0.5) == approx(16.0)
    # two cycles: the slope is the one difference
    assert m.growth_per_cycle_um([2.000, 2.003]) == approx(3.0)
    assert m.irreversible_growth_um([2.000, 2.003]) == approx(3.0)


def test_verdict_without_a_time_and_segment_from_trace_defaults():
    v = Verdict("s", "max_residual_mpa", 0.1, 0.5, "MPa", True)
    assert v.where() == ""
    r = v.on_run_time(12.0)
    assert r.t_s is None and r.step_start_s == 12.0 and r.time_base == "run"
    rows = [(float(i), 74.0, 74.0, 5.8, 1.0, 0, (1.0, 1.0)) for i in range(4)]
    seg = Segment.from_trace("hold", Trace.from_rows(rows), slice(1, 3), target_mpa=74.0,
                             start_mpa=70.0)
    assert seg.t.tolist() == [1.0, 2.0]  # no command time given: the trace's axis
    assert (seg.kind, seg.start_mpa, seg.target_mpa, seg.die_radius_mm) == ("hold", 70.0, 74.0, None)


# --- what a failure says: value, time, channel and text of every key on worked segments ------

# A 1 Hz hold of 50 MPa whose first sample comes 1 s after the command; ch forces 2.0, 2.1,
# 1.7, 2.2 kN except at t = 4 s (2.0, 2.6, 1.4, 2.0). Worked by hand:
# settle: last outside t = 2 (−0.8), next +0.3: −0.5 crossed at 2 + 0.3/1.1 = 2.2727 s
# after 3 s (t = 3..11, 9 samples): worst 0.45 at t = 9; slope Σ(t−7)p = 0.1 over Σ(t−7)² = 60
# -> 0.1 MPa/min; channel means 2, 19.4/9, 15/9, 19.6/9 (mean 2.0): spread 0.5111/2 = 25.56 %;
# e = |(2 − 1.6667)·10/8, (2.1556 − 2.1778)·10/8| = 0.4176 mm -> 8e/R = 66.81 % (R = 5 mm)
HOLD_GOLDEN = {
    "settle_s": (2.2727272727, 2.2727272727, None,
                 "entered ±0.5 MPa of 50 MPa for good at step time t = 2.27273 s (from the command)"),
    "band_mpa": (0.45, 9.0, None, "max |p − 50| = 0.45 MPa (single samples, no median below "
                                  "10 Hz) at step time t = 9 s (p = 50.45 MPa), after 3 s settle"),
    "min_in_band_pct": (100.0, 9.0, None, "100 % of 9 samples within ±0.5 MPa; worst |error| "
                                          "0.45 MPa at step time t = 9 s"),
    "max_drift_mpa_per_min": (0.1, None, None, "least-squares slope +0.1 MPa/min over 8 s after "
                                               "3 s settle"),
    "max_rms_error_mpa": (0.2114762923, None, None, "RMS of p − 50 MPa over 9 samples"),
    "max_nonuniformity_pct": (25.5555555556, 4.0, 2, "time-averaged forces ch1 2, ch2 2.156, ch3 "
                              "1.667, ch4 2.178 kN; ch3 farthest from the mean; worst instant at "
                              "step time t = 4 s"),
    "max_cv_pct": (10.2137646171, 4.0, 2, "time-averaged forces ch1 2, ch2 2.156, ch3 1.667, ch4 "
                                          "2.178 kN; ch3 farthest from the mean"),
    # U by hand: c = (3.33, -0.22)/8.001 mm; levers |rᵢ - c| 9.584, 10.036, 10.416, 9.981 mm;
    # Fᵢ·lever/ΣF 2.396, 2.704, 2.170, 2.717 -> root sum of squares 5.014 mm × 0.05 % =
    # 0.0025 mm; U = 2 × 0.0025 = 0.005 mm, on the pellet 800 × 0.005 / 5 = 0.8 %
    "max_cof_offset_mm": (0.4175915661, None, 2, "time-averaged forces ch1 2, ch2 2.156, ch3 "
                          "1.667, ch4 2.178 kN; centre of force 0.418 mm from the declared die "
                          "position (0, 0) mm, U = 0.005 mm (k = 2: placement ±0 mm → 0 mm, "
                          "channel gains → 0.0025 mm); largest deviation on ch3"),
    "max_pellet_nonuniformity_pct": (66.8146505705, None, 2, "8e/R = 66.8 % ± 0.8 % (U, k = 2) "
                                     "on a die of radius R = 5 mm; time-averaged forces ch1 2, "
                                     "ch2 2.156, ch3 1.667, ch4 2.178 kN; centre of force 0.418 "
                                     "mm from the declared die position (0, 0) mm, U = 0.005 mm "
                                     "(k = 2: placement ±0 mm → 0 mm, channel gains → 0.0025 "
                                     "mm); largest deviation on ch3; a centre-of-force estimate "
                                     "cannot see radially symmetric non-uniformity (die-wall "
                                     "friction, punch cupping)"),
}


def golden_hold():
    p = np.array([47.0, 49.2, 50.3, 50.1, 49.8, 50.0, 50.2, 49.9, 50.45, 50.0, 50.1])
    ch = np.tile([2.0, 2.1, 1.7, 2.2], (p.size, 1))
    ch[3] = [2.0, 2.6, 1.4, 2.0]
    return Segment("hold", 1.0 + np.arange(p.size), np.full(p.size, 50.0), p, ch, 50.0, 50.0,
                   POS, die_radius_mm=5.0, die_placement_tolerance_mm=0.0)


@pytest.mark.parametrize("key", sorted(HOLD_GOLDEN))
def test_hold_verdict_says_what_where_and_when(key):
    value, t_s, channel, detail = HOLD_GOLDEN[key]
    v = evaluate("h", key, 1.0, golden_hold(), settle_s=3.0, band_mpa=0.5)
    assert v.value == approx(value) and v.detail == detail
    assert (v.t_s if v.t_s is None else approx(v.t_s)) == t_s and v.channel == channel


# A 1 Hz step 10 -> 74 MPa at 8 MPa/s, first sample 1 s after the command. 10 % (16.4) at
# 1 + 6.4/8 = 1.8 s, 90 % (67.6) at 8 + 1.6/8.5 s; 2 % band ±1.28 entered at 8 + 6.72/8.5 s;
# tail t >= 10.9: 74.05, 74.0 -> 0.025; IAE 7·8 + 4.25 + .35 + .125 + .025 = 60.75
STEP_GOLDEN = {
    # no settling window given: judged to the end, no settled samples, no floor: 0.5/64
    "max_overshoot_pct": (0.78125, 9.0, "peak 74.5 MPa (0.1 s average) at step time t = 9 s, "
                                        "judged from t = 8 s "
                                        "(setpoint or pressure at the target) to 12 s, no settled samples for "
                                        "a noise floor, for a +64 MPa step to 74 MPa"),
    "max_rise_s": (6.2 + 1.6 / 8.5, None, "10–90 % of a +64 MPa step"),
    "settling_time_s": (8 + 6.72 / 8.5, 8 + 6.72 / 8.5, "within ±1.28 MPa (2 % of the +64 MPa "
                        "step) for good from step time t = 8.79059 s (from the command)"),
    "max_steady_state_error_mpa": (0.025, None, "|mean of the last 10 % − 74| MPa"),
    "max_iae_mpa_s": (60.75, None, "∫|p − active setpoint| dt over 11 s"),
}


def golden_step(p=None):
    t = 1.0 + np.arange(12.0)
    sp = np.minimum(10 + 8 * t, 74.0)
    if p is None:
        p = np.array([10, 18, 26, 34, 42, 50, 58, 66, 74.5, 74.2, 74.05, 74.0])
    return Segment("step", t, sp, np.asarray(p, float), np.ones((12, 4)), 74.0, 10.0)


@pytest.mark.parametrize("key", sorted(STEP_GOLDEN))
def test_step_verdict_says_what_and_when(key):
    value, t_s, detail = STEP_GOLDEN[key]
    v = evaluate("s", key, 1.0, golden_step())
    assert v.value == approx(value) and v.detail == detail
    assert (v.t_s if v.t_s is None else approx(v.t_s)) == t_s


def test_other_verdict_texts():
    seg = golden_step()
    ramp = Segment("ramp", seg.t, seg.setpoint, seg.pressure, seg.channels, 74.0, 10.0)
    v = evaluate("r", "max_tracking_error_mpa", 1.0, ramp)
    assert (v.value, v.t_s) == (8.0, 1.0)
    assert v.detail == "|p − active setpoint| = 8 MPa at step time t = 1 s (p = 10, setpoint 18 MPa)"
    rel = Segment("release", np.array([1.0, 2.0]), np.zeros(2), np.array([3.0, 0.3]),
                  np.ones((2, 4)), 0.0, 3.0)
    v = evaluate("x", "max_residual_mpa", 1.0, rel)
    assert (v.value, v.t_s, v.detail) == (0.3, 2.0, "pressure at the end of the release: 0.3 MPa")
    never = Segment("hold", seg.t, np.full(12, 74.0), np.full(12, 70.0), np.ones((12, 4)), 74.0, 74.0)
    v = evaluate("h", "settle_s", 1.0, never, band_mpa=0.5)
    assert (v.value, v.t_s) == (math.inf, 12.0)
    assert v.detail == "never settled within ±0.5 MPa of 74 MPa; last sample 70 MPa"
    v = evaluate("s", "settling_time_s", 1.0, golden_step(np.full(12, 70.0)))
    assert (v.value, v.t_s) == (math.inf, 12.0)
    assert v.detail == "still outside ±1.28 MPa (2 % of the step) at the end: 70 MPa"
    v = evaluate("s", "max_rise_s", 1.0, golden_step(np.full(12, 40.0)))
    assert v.t_s == 12.0 and v.detail == "never reached 90 % of the +64 MPa step; closest 40 MPa at the end"


def test_unjudgeable_texts():
    seg = hold_segment([74.0] * 3)
    v = evaluate("h", "band_mpa", 1.0, seg, settle_s=5.0)
    assert v.detail == ("not judged: only 0 sample(s) after the 5 s settle allowance (last "
                        "sample at step time 2 s); need at least 1")
    v = evaluate("h", "max_drift_mpa_per_min", 1.0, hold_segment([74.0, 74.1], dt=0.0))
    assert v.detail == "not judged: all samples after settle share one time stamp"
    v = evaluate("h", "max_cv_pct", 1.0, hold_segment([74.0] * 3, channels=np.zeros((3, 4))))
    assert v.detail == "not judged: mean channel force is 0 kN; nothing is loaded"
    v = evaluate("h", "max_cv_pct", 1.0, hold_segment([74.0] * 3, channels=np.ones((3, 2))))
    assert v.passed and v.value == 0.0  # two cells are enough
    v = evaluate("h", "max_pellet_nonuniformity_pct", 1.0,
                 Segment("hold", np.arange(3.0), np.full(3, 74.0), np.full(3, 74.0),
                         np.ones((3, 4)), 74.0, 74.0, die_radius_mm=5.0))
    assert v.detail == ("not judged: the pellet estimate needs a position for each of the 4 "
                        "channels; the press reports 0")


def _instants(rows):
    ch = np.array(rows, float)
    n = len(rows)
    return Segment("hold", np.arange(float(n)), np.full(n, 74.0), np.full(n, 74.0), ch, 74.0,
                   74.0, POS)


def test_worst_instant_is_the_largest_spread_over_mean():
    # spread/mean: [.5, 1.5, 1, 1] 1.0/1.0 = 1.0; [1, 1, 1, 1.8] 0.8/1.2 = 0.667 -> t = 0
    v = evaluate("h", "max_nonuniformity_pct", 100.0, _instants([[.5, 1.5, 1, 1], [1, 1, 1, 1.8]]))
    assert v.t_s == 0.0
    # + [.1, .1, .1, .85]: .75/.2875 = 2.61 -> t = 2; an all-equal row (0) and an unloaded row
    # (0/0, skipped) change nothing
    rows = [[0, 0, 0, 0], [.5, 1.5, 1, 1], [1, 1, 1, 1.8], [.1, .1, .1, .85], [.1, .1, .1, .1]]
    assert evaluate("h", "max_nonuniformity_pct", 100.0, _instants(rows)).t_s == 3.0


def test_moving_median_when_the_window_is_as_long_as_the_segment():
    # n = 4 = 2 × half: every sample is an edge: (1,5,3) 3, (1,5,3,7) 4, (1,5,3,7) 4, (5,3,7) 5
    assert m.moving_median([1, 5, 3, 7], 2).tolist() == [3, 4, 4, 5]


def test_median_half_width_edges():
    assert m.median_half_width_samples([0.0, 0.02]) == 2  # two samples give a period
    assert m.median_half_width_samples([1.0, 1.0, 1.0]) == 0  # no period: no smoothing


def test_short_fast_segments_are_judged_from_the_command():
    # 5 Hz, 3 samples at 0.2, 0.4, 0.6 s: enough for settling, rise and step settling
    t = np.array([0.2, 0.4, 0.6])
    hold = Segment("hold", t, np.full(3, 74.0), np.array([73.0, 74.1, 74.0]), np.ones((3, 4)),
                   74.0, 74.0, POS)
    v = evaluate("h", "settle_s", 1.0, hold)  # default band ±0.74: crossing at 0.2 + 0.26/1.1·0.2
    assert v.value == approx(0.2 + 0.2 * 0.26 / 1.1) and "(default band)" in v.detail
    step = Segment("step", t, np.full(3, 74.0), np.array([10.0, 60.0, 74.0]), np.ones((3, 4)),
                   74.0, 10.0)
    assert evaluate("s", "max_rise_s", 10.0, step).passed
    assert evaluate("s", "settling_time_s", 10.0, step).value == approx(0.4 + 0.2 * (12.72 / 14))
    # never settled: the text quotes the last sample, not another
    late = Segment("hold", t, np.full(3, 74.0), np.array([70.0, 71.0, 72.0]), np.ones((3, 4)),
                   74.0, 74.0)
    assert evaluate("h", "settle_s", 1.0, late, band_mpa=0.5).detail.endswith("last sample 72 MPa")
    late_step = Segment("step", t, np.full(3, 74.0), np.array([10.0, 30.0, 50.0]), np.ones((3, 4)),
                        74.0, 10.0)
    assert evaluate("s", "settling_time_s", 1.0, late_step).detail.endswith("at the end: 50 MPa")


def test_pellet_needs_a_positive_radius():
    seg = Segment("hold", np.arange(3.0), np.full(3, 74.0), np.full(3, 74.0), np.ones((3, 4)),
                  74.0, 74.0, POS, die_radius_mm=0.0)
    v = evaluate("h", "max_pellet_nonuniformity_pct", 1.0, seg)
    assert v.detail == "not judged: the pellet estimate needs the die radius (the protocol's [specimen])"
    seg = Segment("hold", np.arange(3.0), np.full(3, 74.0), np.full(3, 74.0), np.ones((3, 4)),
                  74.0, 74.0, POS, die_radius_mm=0.5, die_placement_tolerance_mm=0.0)
    assert evaluate("h", "max_pellet_nonuniformity_pct", 1.0, seg).value == approx(0.0)


def test_limits_are_inclusive_and_unjudged_verdicts_are_complete():
    assert evaluate("h", "band_mpa", 0.5, hold_segment([74.5, 73.5])).passed  # value == limit
    seg = hold_segment(HOLD_P)
    assert evaluate("h", "min_in_band_pct", 100.0, seg, settle_s=2.0, band_mpa=0.5).passed
    v = evaluate("step-x", "max_rise_s", 6.0, empty_segment("step", 0))
    assert (v.step, v.criterion, v.limit, v.unit, v.passed) == ("step-x", "max_rise_s", 6.0, "s", False)
    assert math.isnan(v.value)
    with pytest.raises(ValueError) as info:
        evaluate("s", "max_nonsense", 1.0, empty_segment("hold", 3))
    assert str(info.value) == ("unknown expect key 'max_nonsense'; known: " + ", ".join(EXPECT_KEYS))
    # no settle_s: nothing is skipped (the first sample, −2 MPa off, counts)
    (v,) = evaluate_all("h", {"band_mpa": 3.0}, seg)
    assert v.value == approx(2.0)


def test_segment_shapes_its_channels():
    seg = Segment("hold", np.arange(3.0), np.zeros(3), np.zeros(3), np.ones(6), 0.0, 0.0)
    assert seg.channels.shape == (3, 2)
    seg = Segment("hold", np.arange(3.0), np.zeros(3), np.zeros(3), [], 0.0, 0.0)
    assert seg.channels.shape == (3, 0)
