"""The repeat step's growth verdicts, every field worked by hand (no press)."""

from __future__ import annotations

import math

import pytest

from presshil.metrics import Verdict, evaluate_cycles


def test_two_boundaries_are_enough_and_every_field_is_set() -> None:
    # one iteration: ram at 0.1000 then 0.1030 mm -> slope 3 µm per cycle, growth 3 µm
    [slope, total] = evaluate_cycles(
        "cycles", {"max_growth_per_cycle_um": 3.0, "max_irreversible_growth_um": 2.0},
        [0.100, 0.103])
    detail = "ram at iteration starts 0.1000 … 0.1030 mm over 1 iteration(s)"
    assert slope == Verdict("cycles", "max_growth_per_cycle_um", pytest.approx(3.0), 3.0, "µm",
                            True, detail)
    assert slope.value == pytest.approx(3.0) and slope.passed  # on the limit passes
    assert total.step == "cycles" and total.unit == "µm" and total.detail == detail
    assert total.value == pytest.approx(3.0) and not total.passed and total.limit == 2.0


def test_fewer_than_two_boundaries_or_no_position_is_not_judged() -> None:
    [one] = evaluate_cycles("rep", {"max_irreversible_growth_um": 1.0}, [0.1])
    assert one.step == "rep" and one.criterion == "max_irreversible_growth_um"
    assert math.isnan(one.value) and not one.passed and one.limit == 1.0 and one.unit == "µm"
    assert one.detail == ("not judged: 1 iteration boundary(ies) recorded; need at least 2")
    [nan] = evaluate_cycles("rep", {"max_growth_per_cycle_um": 1.0}, [0.1, math.nan, 0.2])
    assert nan.detail == "not judged: the press reports no ram position" and not nan.passed
    [shrink] = evaluate_cycles("rep", {"max_growth_per_cycle_um": 0.0}, [0.103, 0.102, 0.101])
    assert shrink.value == pytest.approx(-1.0) and shrink.passed
    assert shrink.detail == "ram at iteration starts 0.1030 … 0.1010 mm over 2 iteration(s)"
