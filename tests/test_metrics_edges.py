"""Edges of the verdict arithmetic, each worked by hand: the noise median's width in the
text, a trace cut into a segment, a ramp and a hold judged on one sample, a repeat's growth
at its limit.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from presshil.metrics import Segment, evaluate, evaluate_cycles


def _hold(rate_hz: float, n: int = 10) -> Segment:
    t = np.arange(n) / rate_hz
    p = np.full(n, 10.0)
    p[5] = 10.5  # one sample of spike: the median must remove it
    return Segment("hold", t=t, setpoint=np.full(n, 10.0), pressure=p, channels=[],
                   target_mpa=10.0, start_mpa=10.0)


@pytest.mark.parametrize("rate_hz, width", [(50.0, 5), (20.0, 3)])
def test_the_band_names_the_median_it_looked_through(rate_hz: float, width: int) -> None:
    # ±0.05 s of median: at 50 Hz (0.02 s) two samples a side, 5 in all; at 20 Hz one, 3 in all
    v = evaluate("h", "band_mpa", 0.25, _hold(rate_hz))
    assert v.value == 0.0 and v.passed  # the single 0.5 MPa spike is not an excursion
    assert f"({width}-sample moving median)" in v.detail


def test_below_10_hz_the_band_looks_at_single_samples() -> None:
    v = evaluate("h", "band_mpa", 0.25, _hold(5.0))  # 0.2 s apart: no median
    assert v.value == pytest.approx(0.5) and not v.passed
    assert "(single samples, no median below 10 Hz)" in v.detail


def test_a_trace_cut_into_a_segment_keeps_the_load_cells_and_the_die() -> None:
    trace = SimpleNamespace(
        t=np.array([9.0, 10.0, 11.0, 12.0]), setpoint=np.array([0.0, 1.0, 2.0, 3.0]),
        pressure=np.array([0.0, 0.9, 1.9, 2.9]),
        channels=np.array([[0.0, 0.0], [0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]))
    cells = ((40.0, 0.0), (-40.0, 0.0))
    seg = Segment.from_trace("ramp", trace, slice(1, 3), target_mpa=3.0, start_mpa=0.0,
                             channel_positions_mm=cells, t_command_s=9.5, die_radius_mm=5.0)
    assert seg.t.tolist() == [0.5, 1.5]  # step time: the command at 9.5 s is 0
    assert seg.pressure.tolist() == [0.9, 1.9]
    assert seg.channels.tolist() == [[0.1, 0.2], [0.3, 0.4]]
    assert seg.channel_positions_mm == cells
    assert seg.die_radius_mm == 5.0


def test_a_ramp_shorter_than_a_second_is_judged_from_the_command() -> None:
    seg = Segment("ramp", t=[0.25, 0.5], setpoint=[0.5, 1.0], pressure=[0.5, 0.8], channels=[],
                  target_mpa=1.0, start_mpa=0.0)
    v = evaluate("r", "max_tracking_error_mpa", 0.5, seg)
    assert v.value == pytest.approx(0.2) and v.passed and v.t_s == 0.5


def test_a_hold_with_one_temperature_after_the_allowance_is_judged() -> None:
    seg = Segment("hold", t=[0.0, 1.0, 2.0], setpoint=[5.0] * 3, pressure=[5.0] * 3,
                  channels=[], target_mpa=5.0, start_mpa=5.0,
                  temperature=np.array([20.0, 20.4, 21.0]))
    one = evaluate("h", "max_temperature_change_c", 0.5, seg, settle_s=2.0)
    assert one.value == 0.0 and one.passed  # one sample: no change
    allv = evaluate("h", "max_temperature_change_c", 0.5, seg)
    assert allv.value == pytest.approx(1.0) and not allv.passed and allv.t_s == 2.0
    blind = Segment("hold", t=[0.0, 1.0], setpoint=[5.0] * 2, pressure=[5.0] * 2,
                    channels=[], target_mpa=5.0, start_mpa=5.0)
    none = evaluate("h", "max_temperature_change_c", 0.5, blind)
    assert none.passed is False
    assert none.detail == "not judged: the press reported no temperature during the hold"


def test_a_repeat_with_one_boundary_judges_neither_key_and_passes_neither() -> None:
    out = evaluate_cycles("cycles", {"max_growth_per_cycle_um": 1.0,
                                     "max_irreversible_growth_um": 2.0}, [1.0])
    assert [v.criterion for v in out] == ["max_growth_per_cycle_um", "max_irreversible_growth_um"]
    for v in out:
        assert v.passed is False and math.isnan(v.value)
        assert v.detail == "not judged: 1 iteration boundary(ies) recorded; need at least 2"


def test_a_repeat_growing_exactly_its_limit_passes() -> None:
    # ram at 1, 1 + 2⁻¹⁰, 1 + 2⁻⁹ mm (exact in binary): slope 2⁻¹⁰ mm = 0.9765625 µm a cycle,
    # last minus first 2⁻⁹ mm = 1.953125 µm; a maximum met exactly passes
    x = [1.0, 1.0 + 2**-10, 1.0 + 2**-9]
    growth, irreversible = evaluate_cycles(
        "cycles", {"max_growth_per_cycle_um": 0.9765625, "max_irreversible_growth_um": 1.953125}, x)
    assert growth.value == 0.9765625 and growth.passed
    assert irreversible.value == 1.953125 and irreversible.passed
    assert growth.detail == "ram at iteration starts 1.0000 … 1.0020 mm over 2 iteration(s)"
    (tight,) = evaluate_cycles("cycles", {"max_growth_per_cycle_um": 0.97}, x)
    assert not tight.passed


def test_a_ramp_shorter_than_a_second_has_its_iae_by_hand() -> None:
    # |p − setpoint| = 0 then 0.2 MPa, 0.25 s apart: trapezoid 0.5 × 0.2 × 0.25 = 0.025 MPa·s
    seg = Segment("ramp", t=[0.25, 0.5], setpoint=[0.5, 1.0], pressure=[0.5, 0.8], channels=[],
                  target_mpa=1.0, start_mpa=0.0)
    v = evaluate("r", "max_iae_mpa_s", 0.03, seg)
    assert v.value == pytest.approx(0.025) and v.passed
    assert v.detail == "∫|p − active setpoint| dt over 0.25 s"


def test_a_channel_share_shift_by_hand_names_the_channel_and_says_why() -> None:
    # 10 samples: the first 10 % is sample 0 (1 + 3 kN: shares 25 / 75 %), the last 10 % is
    # sample 9 (2 + 2 kN: 50 / 50 %). ch1: 50 / 25 − 1 = +100 %; ch2: 50 / 75 − 1 = −33.3 %.
    ch = np.array([[1.0, 3.0]] + [[1.5, 2.5]] * 8 + [[2.0, 2.0]])
    seg = Segment("hold", t=np.arange(10.0), setpoint=np.full(10, 50.0),
                  pressure=np.full(10, 50.0), channels=ch, target_mpa=50.0, start_mpa=50.0)
    v = evaluate("h", "max_channel_shift_pct", 1.0, seg)
    assert v.value == pytest.approx(100.0) and not v.passed and v.channel == 0
    assert v.detail == ("largest change on ch1: its share of the total force went from 25 % to "
                        "50 % (+100 %) between the first and last 10 % of the hold (a drifting "
                        "load cell or a load that moved shifts it)")


def test_a_centre_of_force_without_a_position_per_channel_is_not_judged() -> None:
    seg = Segment("hold", t=[0.0, 1.0], setpoint=[50.0] * 2, pressure=[50.0] * 2,
                  channels=[[1.0, 1.0], [1.0, 1.0]], target_mpa=50.0, start_mpa=50.0,
                  channel_positions_mm=((40.0, 0.0), (-40.0, 0.0), (0.0, 40.0)),
                  die_placement_tolerance_mm=0.02)
    v = evaluate("h", "max_cof_offset_mm", 0.1, seg)
    assert v.passed is False
    assert v.detail == ("not judged: the centre of force needs a position for each of the 2 "
                        "channels; the press reports 3")


CELLS = ((40.0, 40.0), (-40.0, 40.0), (-40.0, -40.0), (40.0, -40.0))


def _pellet_seg(forces: list[float], tol: float | None, die: tuple[float, float] = (0.0, 0.0)
                ) -> Segment:
    return Segment("hold", np.arange(5.0), np.full(5, 74.0), np.full(5, 74.0),
                   np.tile(forces, (5, 1)), 74.0, 74.0, CELLS, die_radius_mm=5.0,
                   die_position_mm=die, die_placement_tolerance_mm=tol)


# centre of force 0.02 mm along x: (1.0005, 0.9995, 0.9995, 1.0005) → 40 × 0.002 / 4
NUDGED = [1.0005, 0.9995, 0.9995, 1.0005]


def test_inconclusive_says_the_value_plus_u_it_compared() -> None:
    # placed by hand, ±0.1 mm: u_p = 0.1/√3 = 0.057735, gains 0.0141421 (tests/test_pellet.py);
    # U = 2 √(0.057735² + 0.0141421²) = 0.118884 mm; e + U = 0.02 + 0.118884 = 0.139 > 0.0625
    v = evaluate("h", "max_cof_offset_mm", 0.0625, _pellet_seg(NUDGED, 0.1))
    assert not v.passed
    assert v.detail.startswith("inconclusive (not a pass): value + U = 0.139 > 0.0625; ")
    # the pellet estimate carries the same U, × 800 / R: 8e/R = 3.2 %, U = 19.02 %: 22.2 > 10
    pellet = evaluate("h", "max_pellet_nonuniformity_pct", 10.0, _pellet_seg(NUDGED, 0.1))
    assert pellet.value == pytest.approx(3.2) and not pellet.passed
    assert pellet.detail.startswith("inconclusive (not a pass): value + U = 22.2 > 10; ")


def test_the_offset_text_names_the_declared_die_position() -> None:
    # die declared at (0.3, 0.1): the centre of force at (0.02, 0) is √(0.28² + 0.1²) = 0.2973 mm
    v = evaluate("h", "max_cof_offset_mm", 1.0, _pellet_seg(NUDGED, 0.02, die=(0.3, 0.1)))
    assert v.value == pytest.approx(math.hypot(0.28, 0.1))
    assert "centre of force 0.297 mm from the declared die position (0.3, 0.1) mm" in v.detail


def test_an_undeclared_die_position_is_not_judged_in_words() -> None:
    v = evaluate("h", "max_cof_offset_mm", 1.0, _pellet_seg(NUDGED, None))
    assert v.passed is False
    assert v.detail == ("not judged: the die position is not declared: set "
                        "[specimen].die_placement_tolerance_mm (and die_position_mm)")


def test_exactly_200_pct_is_a_spread_not_a_lift_off() -> None:
    # f = 1 ± 2⁻⁵ (exact in binary): e = 40 × 4 × 2⁻⁵ / 4 = 1.25 mm; 800 × 1.25 / 5 = 200 %:
    # the low edge just touches zero pressure, it has not lifted off
    f = [1.03125, 0.96875, 0.96875, 1.03125]
    v = evaluate("h", "max_pellet_nonuniformity_pct", 250.0, _pellet_seg(f, 0.02))
    assert v.value == 200.0 and not v.detail.startswith("pellet partly unloaded")
    assert v.channel == 0  # all four deviate equally: the first is named


def test_a_step_that_never_reaches_90_pct_says_where_it_ended() -> None:
    seg = Segment("step", t=[0.1, 0.2, 0.3], setpoint=[20.0] * 3, pressure=[10.0, 12.0, 13.0],
                  channels=[], target_mpa=20.0, start_mpa=10.0)
    v = evaluate("s", "max_rise_s", 5.0, seg)
    assert math.isinf(v.value) and not v.passed and v.t_s == 0.3
    assert v.detail == "never reached 90 % of the +10 MPa step; closest 13 MPa at the end"


def test_a_lift_off_names_the_channel_farthest_from_the_mean() -> None:
    # e = 1.5 mm on R = 5 mm would be 240 %; ch1 and ch4 carry 1.0375, ch2 and ch3 0.9625:
    # all four 0.0375 from the mean, the first of them is named
    f = [1.0375, 0.9625, 0.9625, 1.0375]
    v = evaluate("h", "max_pellet_nonuniformity_pct", 10.0, _pellet_seg(f, 0.02))
    assert math.isinf(v.value) and v.channel == 0


def test_too_few_samples_after_the_allowance_says_how_many_there_were() -> None:
    seg = Segment("hold", t=[0.0, 1.0, 2.0], setpoint=[5.0] * 3, pressure=[5.0, 5.1, 5.2],
                  channels=[], target_mpa=5.0, start_mpa=5.0)
    v = evaluate("h", "max_drift_mpa_per_min", 1.0, seg, settle_s=2.0)
    assert not v.passed
    assert v.detail == ("not judged: only 1 sample(s) after the 2 s settle allowance (last "
                        "sample at step time 2 s); need at least 2")
