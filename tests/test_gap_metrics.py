"""The held-gap metrics by hand: ram stroke (dilatometry) and stack-pressure swing.

One segment, worked on paper. Step times 0.5, 1, 2, 3, 4 s; the first sample (before a 0.8 s
settle allowance) is the end of the approach and must not count once the allowance is given.

    t (s)          0.5     1.0     2.0     3.0     4.0
    p (MPa)        20.0    15.0    16.5    14.8    15.2
    ram (mm)       0.0990  0.1000  0.1003  0.1001  0.0998

After 0.8 s: ram 0.0998 (t = 4) .. 0.1003 (t = 2) → 0.5 µm, its highest at t = 2 s;
pressure 14.8 (t = 3) .. 16.5 (t = 2) → 1.7 MPa, its highest at t = 2 s.
From 0 s: ram 0.0990 (t = 0.5) .. 0.1003 (t = 2) → 1.3 µm; pressure 14.8 .. 20.0 → 5.2 MPa,
highest at t = 0.5 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from presshil.metrics import Segment, evaluate

T = [0.5, 1.0, 2.0, 3.0, 4.0]
P = [20.0, 15.0, 16.5, 14.8, 15.2]
X = [0.0990, 0.1000, 0.1003, 0.1001, 0.0998]


def _seg(position: list[float] | None = X) -> Segment:
    return Segment("hold_gap", t=T, setpoint=[15.0] * 5, pressure=P, channels=[],
                   target_mpa=15.0, start_mpa=15.0,
                   position=None if position is None else np.array(position))


def test_ram_stroke_after_the_settle_allowance_by_hand() -> None:
    v = evaluate("g", "max_dilatometry_um", 0.6, _seg(), settle_s=0.8)
    assert v.value == pytest.approx(0.5) and v.passed and v.unit == "µm"
    assert v.t_s == 2.0  # the time of the highest ram position
    assert v.detail == "ram from 0.0998 mm (step time t = 4 s) to 0.1003 mm (step time t = 2 s)"


def test_ram_stroke_from_the_command_counts_the_approach() -> None:
    v = evaluate("g", "max_dilatometry_um", 1.0, _seg(), settle_s=0.0)
    assert v.value == pytest.approx(1.3) and not v.passed
    assert v.detail.startswith("ram from 0.0990 mm (step time t = 0.5 s) to 0.1003 mm")


def test_pressure_swing_after_the_settle_allowance_by_hand() -> None:
    v = evaluate("g", "max_pressure_swing_mpa", 1.7, _seg(), settle_s=0.8)
    assert v.value == pytest.approx(1.7) and v.unit == "MPa"
    assert v.passed  # exactly at the limit: a maximum is met
    assert v.t_s == 2.0
    assert v.detail == ("stack pressure from 14.8 MPa (step time t = 3 s) to 16.5 MPa "
                        "(step time t = 2 s) at a held gap")


def test_pressure_swing_from_the_command_by_hand() -> None:
    v = evaluate("g", "max_pressure_swing_mpa", 5.0, _seg(), settle_s=0.0)
    assert v.value == pytest.approx(5.2) and not v.passed and v.t_s == 0.5


def test_a_missing_ram_position_inside_the_window_is_not_judged() -> None:
    gap = [0.0990, 0.1000, float("nan"), 0.1001, 0.0998]
    v = evaluate("g", "max_dilatometry_um", 10.0, _seg(gap), settle_s=0.8)
    assert not v.passed and np.isnan(v.value)
    assert v.detail == "not judged: the press reports no ram position"
    none = evaluate("g", "max_dilatometry_um", 10.0, _seg(None), settle_s=0.8)
    assert not none.passed and none.detail == "not judged: the press reports no ram position"


def test_a_missing_ram_position_before_the_window_does_not_matter() -> None:
    early_gap = [float("nan"), 0.1000, 0.1003, 0.1001, 0.0998]
    v = evaluate("g", "max_dilatometry_um", 0.6, _seg(early_gap), settle_s=0.8)
    assert v.value == pytest.approx(0.5) and v.passed


def test_a_window_with_one_sample_is_judged_as_no_stroke_and_no_swing() -> None:
    ram = evaluate("g", "max_dilatometry_um", 0.1, _seg(), settle_s=4.0)
    assert ram.value == 0.0 and ram.passed and ram.t_s == 4.0
    swing = evaluate("g", "max_pressure_swing_mpa", 0.1, _seg(), settle_s=4.0)
    assert swing.value == 0.0 and swing.passed and swing.t_s == 4.0
    empty = evaluate("g", "max_pressure_swing_mpa", 0.1, _seg(), settle_s=4.5)
    assert not empty.passed and "only 0 sample(s) after the 4.5 s settle allowance" in empty.detail
