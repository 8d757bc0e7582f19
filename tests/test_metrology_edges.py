"""Edges of the ISO 7500-1 uncertainty and resolution rules, worked by hand."""

from __future__ import annotations

import math

import pytest

from presshil.acceptance.metrology import coverage_factor, q_uncertainty, resolution_at_rest_kn


def test_coverage_factor_for_one_degree_of_freedom() -> None:
    # Student's t at 95.45 % two-sided with ν = 1: tan(π · 0.9545 − π/2) = 13.97 (JCGM 100 G.2
    # gives 13.97); ν = 0 carries no information: NaN, never a factor
    assert coverage_factor(1.0) == pytest.approx(math.tan(math.pi * (0.97725 - 0.5)), rel=1e-3)
    assert coverage_factor(1.0) == pytest.approx(13.97, abs=0.01)
    assert math.isnan(coverage_factor(0.0))


def test_two_series_have_a_repeatability_with_one_degree_of_freedom() -> None:
    # X = 9.9 and 10.1 kN: s = 0.141421 (ddof 1), s/√2 = 0.1, over the mean 10.0: 1.0 %
    b = q_uncertainty(10.0, [9.9, 10.1], 0.001, 0.0, 0.0, 0.0)
    assert b.u_repeatability_pct == pytest.approx(1.0)
    assert b.repeatability_dof == 1.0
    one = q_uncertainty(10.0, [10.0], 0.001, 0.0, 0.0, 0.0)
    assert math.isnan(one.u_repeatability_pct) and math.isnan(one.repeatability_dof)


def test_a_steady_indication_is_one_increment() -> None:
    # range 0.25 kN within the 0.5 kN increment: r is one increment, 0.5 kN
    assert resolution_at_rest_kn([4.0, 4.25, 4.0, 4.25], 2, increment_kn=0.5) == 0.5
    # range exactly one increment (4.0 to 4.5, exact in binary): still steady, r = 0.5
    assert resolution_at_rest_kn([4.0, 4.5, 4.0, 4.5], 2, increment_kn=0.5) == 0.5
    # range 1.0 kN, fluctuating: half the range of each reading (1.0 / 2 in both halves)
    # plus one increment: 0.5 + 0.5 = 1.0
    assert resolution_at_rest_kn([4.0, 5.0, 4.0, 5.0], 2, increment_kn=0.5) == 1.0
