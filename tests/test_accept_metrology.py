"""Staircase rules, coverage, reference class and the q budget against hand-worked numbers
(presshil.acceptance.metrology)."""

from __future__ import annotations

import math

import pytest

from presshil.acceptance.metrology import (
    astm_staircase_problems,
    coverage,
    coverage_factor,
    iso_staircase_problems,
    lowest_judged_kn,
    q_uncertainty,
    reference_class_ok,
    repeatability_b_uncertainty_pct,
    resolution_at_rest_kn,
    supplementary_pct,
    welch_satterthwaite,
    zero_uncertainty_pct,
)


def test_iso_staircase_accepts_the_standard_and_supplementary_points() -> None:
    assert iso_staircase_problems([20, 40, 60, 80, 100]) == []
    assert iso_staircase_problems([10, 20, 40, 60, 80, 100]) == []  # 10 % is supplementary
    assert iso_staircase_problems([25, 40, 55, 70, 85, 100]) == []  # gaps 15, even 15


@pytest.mark.parametrize(
    ("forces", "words"),
    [
        ([20, 40, 60, 100], "needs at least 5"),
        ([10, 20, 40, 60, 100], "4 force(s) from 20 % to 100 %"),
        ([30, 45, 60, 80, 100], "starts at 30 %"),
        ([20, 40, 60, 80, 90], "top force is 90 %"),
        # even spacing (100 − 20)/4 = 20: gaps must lie in 10–30; 20 -> 22 is 2 apart
        ([20, 22, 60, 80, 100], "20 % → 22 % is not roughly even"),
        ([20, 51, 60, 80, 100], "20 % → 51 %"),  # 31 > 1.5 × 20
        ([20, 40, 40, 80, 100], "strictly increasing"),
        ([0, 20, 40, 60, 80, 100], "strictly increasing"),
    ],
)
def test_iso_staircase_rules(forces: list[float], words: str) -> None:
    why = iso_staircase_problems(forces)
    assert any(words in w for w in why), why


def test_iso_staircase_gap_edges_are_inside() -> None:
    # even spacing 20: 20 -> 50 is 30 (1.5 ×) and 50 -> 60 is 10 (0.5 ×), both allowed
    assert iso_staircase_problems([20, 50, 60, 80, 100]) == []


def test_astm_spacing_is_a_twentieth_to_a_third_of_the_range() -> None:
    # range 100 − 10 = 90: gaps between 4.5 and 30 -> 10, 20, 20, 20, 20 pass
    assert astm_staircase_problems([10, 20, 40, 60, 80, 100]) == []
    # range 98: a gap of 4 is below 98/20 = 4.9
    why = astm_staircase_problems([2, 6, 20, 40, 60, 80, 100])
    assert len(why) == 1 and "2 % → 6 % is 4 % apart" in why[0] and "4.9–32.7" in why[0]
    # range 80: 20 -> 60 is 40, above 80/3 = 26.7
    why = astm_staircase_problems([20, 60, 70, 80, 90, 100])
    assert len(why) == 1 and "20 % → 60 %" in why[0]
    assert astm_staircase_problems([20, 40, 60, 100]) == ["4 force(s); ASTM E4 needs at least 5"]


def test_supplementary_points_down_to_the_lowest_working_force() -> None:
    assert supplementary_pct(25.0) == []
    assert supplementary_pct(20.0) == []
    assert supplementary_pct(13.5) == [10.0]
    assert supplementary_pct(10.0) == [10.0]
    assert supplementary_pct(4.0) == [2.0, 5.0, 10.0]
    assert supplementary_pct(0.05) == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]


def test_coverage_by_hand() -> None:
    # verified 0.581–5.812 kN, r = 0.0051 kN: class 1 starts at 200 r = 1.02 kN, class 2 at
    # max(0.581, 100 r = 0.51) = 0.581 kN
    working = [0.7854, 1.178, 3.927, 5.812]
    c1 = coverage(working, 0.581, 5.812, 0.0051, "1")
    assert c1.lower_limit_kn == pytest.approx(1.02) and c1.upper_limit_kn == 5.812
    assert c1.covered == (1.178, 3.927, 5.812)
    ((f, why),) = c1.not_covered
    assert f == 0.7854 and "200 × r = 1.02 kN" in why
    c2 = coverage(working, 0.581, 5.812, 0.0051, "2")
    assert c2.lower_limit_kn == 0.581 and c2.covered == tuple(working) and not c2.not_covered
    c3 = coverage([0.5, 6.0], 0.581, 5.812, 0.0051, "3")
    assert [w for _, w in c3.not_covered] == [
        "not covered by class 3: below 0.581 kN, the lowest force judged for class 3; no force "
        "between was verified for it",
        "not covered by class 3: above the verified range (top 5.812 kN)"]
    # the edges are inside
    assert coverage([0.581, 5.812], 0.581, 5.812, 0.001, "0.5").covered == (0.581, 5.812)


def test_reference_class_for_machine_class() -> None:
    assert reference_class_ok("00", "0.5") and not reference_class_ok("0.5", "0.5")
    assert reference_class_ok("0.5", "1") and not reference_class_ok("1", "1")
    assert reference_class_ok("1", "2") and not reference_class_ok("2", "2")
    assert reference_class_ok("2", "3") and reference_class_ok("00", "3")


def test_q_uncertainty_budget_by_hand() -> None:
    # X = 9.99, 10.00, 10.01 kN at 10 kN: s = 0.01, s/√3 = 0.005774 kN -> 0.05774 % of 10
    # r = 0.005 kN -> a = 0.05 % -> a/√6 = 0.020412 %
    # reference U = 0.05 % (k = 2) -> 0.025 %; α = 0.005 %/K, ΔT = 3 K -> 0.015/√3 = 0.0086603 %
    b = q_uncertainty(10.0, [9.99, 10.00, 10.01], 0.005, 0.05, 0.005, 3.0)
    assert b.u_repeatability_pct == pytest.approx(0.1 / math.sqrt(3), rel=1e-6)
    assert b.u_resolution_pct == pytest.approx(0.05 / math.sqrt(6))
    assert b.u_reference_pct == 0.025
    assert b.u_temperature_pct == pytest.approx(0.015 / math.sqrt(3))
    u_c = math.sqrt((0.1 / math.sqrt(3)) ** 2 + 0.05**2 / 6 + 0.025**2 + 0.015**2 / 3)
    assert b.u_combined_pct == pytest.approx(u_c)
    # Welch–Satterthwaite: only the repeatability has finite dof (n − 1 = 2):
    # ν = u_c⁴ / (u_rep⁴ / 2) = 2 × (0.066708 / 0.057735)⁴ = 3.5645; t(95.45 %, 3.5645) = 3.019
    assert b.effective_dof == pytest.approx(3.5645, rel=1e-4)
    assert b.coverage_factor == pytest.approx(3.019, abs=1e-3)
    assert b.expanded_pct == pytest.approx(3.019 * u_c, rel=1e-3)  # 0.2014 %, not 2 u_c
    # 0.003333 + 0.000417 + 0.000625 + 0.000075 = 0.004450 -> 0.06671 %
    assert b.u_combined_pct == pytest.approx(0.06671, abs=1e-5)
    # one series: repeatability unknown, never 0
    assert math.isnan(q_uncertainty(10.0, [10.0], 0.005, 0.05, 0.0, 0.0).u_repeatability_pct)


def test_staircase_edges_and_texts() -> None:
    assert iso_staircase_problems([0.5, 20, 40, 60, 80, 100]) == []  # 0.5 % is a valid point
    assert iso_staircase_problems([20, 40, 60, 80, 100.5]) == [
        "strictly increasing values in (0, 100] expected"]
    assert iso_staircase_problems([25.5, 44, 62.5, 81, 100]) == [
        "the main series starts at 25.5 %; it must start at about 20 % (at most 25 %)"]
    assert iso_staircase_problems([25, 43.75, 62.5, 81.25, 100]) == []
    assert iso_staircase_problems([20, 22, 40, 80, 100])[0] == (
        "20 % → 22 % is not roughly even: gaps must lie within 10–30 % (even spacing 20 %)")
    # ASTM: exactly five forces; gaps of exactly 1/20 and 1/3 of the range are allowed
    assert astm_staircase_problems([20, 40, 60, 80, 100]) == []
    assert astm_staircase_problems([20, 24, 40, 60, 80, 100]) == []  # 4 = 80/20
    assert astm_staircase_problems([10, 20, 30, 40, 70, 100]) == []  # 30 = 90/3


def test_coverage_edges() -> None:
    # a working force exactly at k × r, at the lowest verified force and at the top: covered
    assert coverage([1.0], 0.5, 2.0, 0.005, "1").covered == (1.0,)
    assert coverage([0.5, 2.0], 0.5, 2.0, 0.001, "1").covered == (0.5, 2.0)
    assert q_uncertainty(10.0, [10.0, 10.0], 0.005, 0.05, 0.0, 0.0).nominal_kn == 10.0


def test_a_point_not_judged_for_a_class_verifies_nothing_for_it() -> None:
    # the audit case: staircase 0.581 (10 %), 1.162 (20 %) … 5.812 kN, r = 3.7 N. Class 1's
    # lower limit 200 r = 0.74 kN lies above 0.581 kN, so the 10 % point is not judged for
    # class 1 (its a = 0.64 % would fail 0.5 %); the next judged force is 1.162 kN, and 10 MPa
    # (0.7854 kN) lies between: not covered by class 1, though it is above 200 r
    nominals = [0.5812, 1.1624, 2.3248, 3.4872, 4.6496, 5.812]
    assert lowest_judged_kn(nominals, 1.1624, 0.0037, "1") == 1.1624
    assert lowest_judged_kn(nominals, 1.1624, 0.0037, "2") == 0.5812  # 100 r = 0.37 kN
    c1 = coverage([0.7854, 1.178, 5.812], 1.1624, 5.812, 0.0037, "1")
    assert c1.lower_limit_kn == 1.1624 and c1.covered == (1.178, 5.812)
    ((f, why),) = c1.not_covered
    assert f == 0.7854 and why.startswith("not covered by class 1: below 1.162 kN, the lowest "
                                          "force judged for class 1")
    # a class that was not met covers nothing
    c0 = coverage([0.7854, 5.812], 1.1624, 5.812, 0.0037, "0.5", met=False)
    assert c0.covered == () and [w for _, w in c0.not_covered] == [
        "not covered by class 0.5: the class is not met"] * 2
    with pytest.raises(ValueError, match="no force was judged for class 0.5"):
        lowest_judged_kn([0.1], 1.0, 0.01, "0.5")


def test_resolution_at_rest_by_hand() -> None:
    # two readings of four samples, increment 1 N: ranges 4 N and 2 N -> half 2 and 1 N,
    # mean 1.5 N, + 1 N = 2.5 N (the range of the whole window, 5 N, would give 3.5 N)
    x = [0.100, 0.104, 0.101, 0.102, 0.105, 0.103, 0.104, 0.104]
    assert resolution_at_rest_kn(x, 2) == pytest.approx(0.0025)
    assert resolution_at_rest_kn(x, 1) == pytest.approx(0.0035)
    # steady within one increment: one increment; the increment given wins over the estimate
    assert resolution_at_rest_kn([0.1, 0.101, 0.1], 3) == pytest.approx(0.001)
    assert resolution_at_rest_kn(x, 2, increment_kn=0.002) == pytest.approx(0.0035)
    with pytest.raises(ValueError, match="indicator_resolution_kn"):
        resolution_at_rest_kn([0.1, 0.1], 1)
    with pytest.raises(ValueError, match="no readings"):
        resolution_at_rest_kn([], 1)
    with pytest.raises(ValueError, match="must be > 0"):
        resolution_at_rest_kn([0.1, 0.2], 1, increment_kn=0.0)


def test_coverage_factor_and_welch_satterthwaite_by_hand() -> None:
    # JCGM 100 Table G.2 (95.45 %): ν = 2 -> 4.53, 4 -> 2.87, 10 -> 2.28, ∞ -> 2.00
    assert coverage_factor(2) == pytest.approx(4.53, abs=0.005)
    assert coverage_factor(4) == pytest.approx(2.87, abs=0.005)
    assert coverage_factor(10) == pytest.approx(2.28, abs=0.005)
    assert coverage_factor(math.inf) == pytest.approx(2.00, abs=1e-4)
    assert math.isnan(coverage_factor(0))
    # two components 0.3 (ν = 4) and 0.4 (∞): u_c² = 0.25, ν = 0.0625 / (0.0081/4) = 30.86
    assert welch_satterthwaite([(0.3, 4), (0.4, math.inf)]) == pytest.approx(30.864, rel=1e-4)
    assert welch_satterthwaite([(0.3, math.inf)]) == math.inf
    # f0: r = 5 N on F_N = 5 kN: 0.005/(2√3)/5 = 0.0288675 %; b: a = 0.1 % -> 0.040825 %
    assert zero_uncertainty_pct(0.005, 5.0) == pytest.approx(0.0288675, rel=1e-6)
    assert repeatability_b_uncertainty_pct(0.1) == pytest.approx(0.0408248, rel=1e-6)
