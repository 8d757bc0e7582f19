"""ISO 7500-1 / ASTM E4 arithmetic against hand-worked numbers (presshil.acceptance.iso7500)."""

from __future__ import annotations

import math

import pytest

from presshil.acceptance.iso7500 import (
    ForceRow,
    Reading,
    astm_e4,
    class_rank,
    classify,
    force_rows,
    relative_resolution_kn,
    zero_error_pct,
)


def _series(refs: list[float], nominal: float = 10.0) -> list[Reading]:
    return [Reading(nominal, nominal, r) for r in refs]


def test_q_b_v_a_by_hand() -> None:
    # 3 series at 10 kN: reference 9.90, 9.95, 10.00 -> X̄ = 9.95 kN
    inc = [[Reading(10.0, 10.0, x)] for x in (9.90, 9.95, 10.00)]
    # a second force so that 10 kN is not the maximum (v is not defined at the top)
    for s in inc:
        s.append(Reading(20.0, 20.0, 20.0))
    dec = [Reading(10.0, 10.0, 10.05)]
    (row, top) = force_rows(inc, dec, resolution_kn=0.005)
    assert row.q_pct == pytest.approx((10 - 9.95) / 9.95 * 100)  # +0.50251 %
    assert row.q_pct == pytest.approx(0.502513, abs=1e-6)
    assert row.b_pct == pytest.approx(0.10 / 9.95 * 100)  # 1.00503 %
    assert row.v_pct == pytest.approx((10.05 - 10.00) / 10.00 * 100)  # +0.5 %, vs the last series
    assert row.a_pct == pytest.approx(0.05)
    assert row.series_error_pct == pytest.approx(
        ((10 - 9.9) / 9.9 * 100, (10 - 9.95) / 9.95 * 100, 0.0))
    assert math.isnan(top.v_pct)


def test_reading_normalised_to_the_nominal() -> None:
    # the press stopped 1 % high; the reference saw the same 1 %: no error of indication
    r = Reading(nominal_kn=10.0, indicated_kn=10.1, reference_kn=10.1)
    assert r.normalised_reference_kn == pytest.approx(10.0)
    (row,) = force_rows([[r], [r]], [], 0.001)
    assert row.q_pct == pytest.approx(0.0, abs=1e-12)


def test_series_with_other_forces_rejected() -> None:
    with pytest.raises(ValueError, match="series 2"):
        force_rows([_series([10.0]), _series([10.0], nominal=11.0)], [], 0.001)


def test_zero_error_keeps_the_sign_of_the_worst() -> None:
    assert zero_error_pct([0.002, -0.004], range_max_kn=20.0) == pytest.approx(-0.02)


def test_resolution_from_readings_at_rest() -> None:
    assert relative_resolution_kn([0.0, 0.0, 0.001]) == pytest.approx(0.001)
    # fluctuating by more than one increment: half the range plus one increment
    assert relative_resolution_kn([0.0, 0.004, 0.002], increment_kn=0.002) == pytest.approx(0.004)


def _row(q=0.0, b=0.0, v=0.0, a=0.0, f=10.0) -> ForceRow:
    return ForceRow(f, f, q, b, v, a, (q, q))


@pytest.mark.parametrize(
    ("row", "f0", "expected"),
    [
        (_row(q=0.4, b=0.4, v=0.7, a=0.2), 0.04, "0.5"),
        (_row(q=0.6), 0.0, "1"),          # q above ±0.5
        (_row(q=-1.0), 0.0, "1"),         # the limit itself is inside
        (_row(b=1.5), 0.0, "2"),
        (_row(v=-1.6), 0.0, "2"),         # v above ±1.5 (class 1)
        (_row(v=3.1), 0.0, "3"),
        (_row(a=0.6), 0.0, "2"),
        (_row(), 0.25, "3"),              # f0 above ±0.2 (class 2)
        (_row(q=3.5), 0.0, None),
        (_row(), -0.35, None),
    ],
)
def test_class_table(row: ForceRow, f0: float, expected: str | None) -> None:
    assert classify([row], f0, resolution_kn=1e-6).achieved == expected


def test_lowest_force_against_resolution() -> None:
    # lowest force 10 kN, r = 0.04 kN: 250 r -> not 400 r (class 0.5), but 200 r (class 1)
    result = classify([_row()], 0.0, resolution_kn=0.04)
    assert result.achieved == "1"
    assert "lowest force" in result.failures["0.5"][0]


def test_nan_v_is_not_judged_but_nan_q_fails() -> None:
    assert classify([_row(v=math.nan)], 0.0, 1e-6).achieved == "0.5"
    assert classify([_row(q=math.nan)], 0.0, 1e-6).achieved is None


def test_class_rank_orders_best_first() -> None:
    assert [class_rank(c) for c in ("0.5", "1", "2", "3", None)] == [0, 1, 2, 3, 4]


def test_astm_e4_by_hand() -> None:
    rows = [ForceRow(10.0, 10.0, 0, 0, 0, 0, (0.4, -0.7, 0.1)),
            ForceRow(20.0, 20.0, 0, 0, 0, 0, (0.9, 0.8, 0.85))]
    res = astm_e4(rows, resolution_kn=0.01)
    assert res.max_error_pct == pytest.approx(0.9)
    assert res.max_run_difference_pct == pytest.approx(1.1)  # |0.4 − (−0.7)|
    assert res.passed_error and not res.passed_repeatability and res.passed_lower_limit
    assert not res.passed
    assert astm_e4(rows, resolution_kn=0.06).passed_lower_limit is False  # 200 r = 12 kN > 10


# --- edges and messages: each of these once let a wrong formula pass (mutation testing) -----


def test_resolution_messages_and_edges() -> None:
    with pytest.raises(ValueError, match="no readings at rest"):
        relative_resolution_kn([])
    # one steady reading and no increment: nothing to estimate it from, never r = 0
    with pytest.raises(ValueError, match=r"the 3 readings at rest are all 0.003 kN.*"
                                         r"\[force_verification\].indicator_resolution_kn"):
        relative_resolution_kn([0.003, 0.003, 0.003])
    with pytest.raises(ValueError, match="no readings at rest"):
        relative_resolution_kn([], increment_kn=0.001)
    assert relative_resolution_kn([0.003], increment_kn=0.001) == 0.001  # steady: one increment
    with pytest.raises(ValueError, match="increment must be > 0 kN, got 0.0"):
        relative_resolution_kn([0.0, 0.001], increment_kn=0.0)
    # 1.000, 1.004, 1.002 with increment 0.002: spread 0.004 > 0.002 -> 0.002 + 0.002
    assert relative_resolution_kn([1.0, 1.004, 1.002], increment_kn=0.002) == pytest.approx(0.004)
    # spread equal to one increment: one increment
    assert relative_resolution_kn([0.0, 0.002], increment_kn=0.002) == pytest.approx(0.002)


def test_force_rows_without_decreasing_series_and_row_fields() -> None:
    with pytest.raises(ValueError, match="need at least one increasing series"):
        force_rows([], [], 0.001)
    inc = [[Reading(10.0, 10.0, x), Reading(20.0, 20.0, 20.0)] for x in (9.90, 9.95, 10.00)]
    low, top = force_rows(inc, [], 0.005)
    assert math.isnan(low.v_pct) and math.isnan(top.v_pct)  # no decreasing series: v undefined
    assert (low.nominal_kn, low.reference_mean_kn) == (10.0, pytest.approx(9.95))
    assert top.a_pct == pytest.approx(0.025)  # 0.005 / 20


def test_class_limits_are_inclusive() -> None:
    # every limit value itself is inside the class (ISO 7500-1 Table 2: "maximum permissible")
    assert classify([_row(q=1.0, b=1.0, v=1.5, a=0.5)], 0.1, 1e-6).achieved == "1"
    assert classify([_row(q=-0.5, b=0.5, v=-0.75, a=0.25)], -0.05, 1e-6).achieved == "0.5"
    # lowest force exactly 200 r: class 1, not 0.5 (400 r)
    result = classify([_row(f=10.0)], 0.0, resolution_kn=0.05)
    assert result.achieved == "1"
    assert result.failures["0.5"] == ["lowest force 10 kN < 400 × resolution = 20 kN"]


def test_class_failure_texts() -> None:
    result = classify([_row(q=0.6, b=0.7, v=0.8, a=0.3, f=12.0)], 0.06, 1e-6)
    assert result.failures["0.5"] == [
        "q = +0.600 % at 12 kN (limit ±0.5 %)",
        "b = 0.700 % at 12 kN (limit 0.5 %)",
        "v = +0.800 % at 12 kN (limit ±0.75 %)",
        "a = 0.300 % at 12 kN (limit 0.25 %)",
        "f0 = +0.0600 % (limit ±0.05 %)",
    ]
    assert result.failures["1"] == [] and result.achieved == "1"


def test_supplementary_point_below_a_class_floor_is_outside_its_range() -> None:
    # r = 0.01 kN: class 1 starts at 2 kN, class 2 at 1 kN. A 1.5 kN supplementary point with
    # q = 1.5 % is outside class 1's range (not judged) but inside class 2's (judged: passes)
    # and a 0.5 kN one with q = 2.5 % is outside both; the main series starts at 4 kN
    rows = [_row(q=2.5, f=0.5), _row(q=1.5, f=1.5), _row(q=0.2, f=4.0), _row(q=0.9, f=8.0)]
    result = classify(rows, 0.0, resolution_kn=0.01, main_lowest_kn=4.0)
    assert result.achieved == "1"
    assert result.failures["0.5"] == ["q = +0.900 % at 8 kN (limit ±0.5 %)"]
    # class 2's floor is 1 kN: 0.5 kN is outside, 1.5 kN inside and within ±2 %
    assert result.failures["2"] == []
    # r = 0.1 kN: class 2's floor is 10 kN; the 4 kN main series is below it
    result = classify(rows, 0.0, resolution_kn=0.1, main_lowest_kn=4.0)
    assert "lowest force 4 kN < 100 × resolution = 10 kN" in result.failures["2"]
    # a point below the main series but above the floor is judged
    rows = [_row(q=1.6, f=3.0), _row(q=0.2, f=4.0)]
    result = classify(rows, 0.0, resolution_kn=0.01, main_lowest_kn=4.0)
    assert result.failures["1"] == ["q = +1.600 % at 3 kN (limit ±1 %)"]
    # the main series' lowest row is judged even below the floor, and the floor is reported
    result = classify([_row(q=0.7, f=4.0)], 0.0, resolution_kn=0.015, main_lowest_kn=4.0)
    assert result.failures["0.5"] == ["q = +0.700 % at 4 kN (limit ±0.5 %)",
                                      "lowest force 4 kN < 400 × resolution = 6 kN"]


def test_astm_e4_defaults_edges_and_two_runs() -> None:
    rows = [ForceRow(10.0, 10.0, 0, 0, 0, 0, (1.0, 0.2)), ForceRow(20.0, 20.0, 0, 0, 0, 0, (-0.3, 0.0))]
    res = astm_e4(rows, resolution_kn=0.05)  # defaults: ±1 %, 1 %
    assert res.max_error_pct == 1.0 and res.passed_error is True  # the limit is inside
    assert res.max_run_difference_pct == pytest.approx(0.8) and res.passed_repeatability is True
    assert res.lower_limit_kn == pytest.approx(10.0) and res.passed_lower_limit is True
    assert res.passed is True
    res = astm_e4([ForceRow(10.0, 10.0, 0, 0, 0, 0, (-1.2, 0.5))], resolution_kn=0.01)
    assert res.max_error_pct == pytest.approx(-1.2)  # the worst keeps its sign
    assert res.passed_error is False and res.passed_repeatability is False
    assert res.max_run_difference_pct == pytest.approx(1.7)
    one_run = astm_e4([ForceRow(10.0, 10.0, 0, 0, 0, 0, (0.1,))], resolution_kn=0.01)
    assert math.isnan(one_run.max_run_difference_pct) and one_run.passed_repeatability is False


def test_exact_error_texts_and_inclusive_edges() -> None:
    with pytest.raises(ValueError) as info:
        relative_resolution_kn([])
    assert str(info.value) == "no readings at rest to estimate the resolution from"
    with pytest.raises(ValueError) as info:
        relative_resolution_kn([0.003, 0.003])
    assert str(info.value) == ("the 2 readings at rest are all 0.003 kN, so the indicator's "
                               "increment cannot be estimated from them; give it as "
                               "[force_verification].indicator_resolution_kn")
    with pytest.raises(ValueError) as info:
        force_rows([], [], 0.001)
    assert str(info.value) == "need at least one increasing series"
    # a supplementary point exactly on a class's floor (k × r) is inside its range
    rows = [_row(q=1.2, f=2.0), _row(q=0.2, f=4.0)]
    result = classify(rows, 0.0, resolution_kn=0.01, main_lowest_kn=4.0)
    assert result.failures["1"] == ["q = +1.200 % at 2 kN (limit ±1 %)"]  # 200 r = 2 kN
    assert result.failures["0.5"] == []  # 400 r = 4 kN: the 2 kN point is outside
    # two runs exactly 1 % apart agree (ASTM E4 allows 1 %)
    res = astm_e4([ForceRow(10.0, 10.0, 0, 0, 0, 0, (0.5, -0.5))], resolution_kn=0.01)
    assert res.max_run_difference_pct == pytest.approx(1.0) and res.passed_repeatability is True
