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
