"""The rate line of ramps and releases, and the host's model of the active setpoint."""

from __future__ import annotations

import numpy as np
import pytest

from presshil.errors import DeviceFault, TransportError
from presshil.metrics import Segment
from presshil.metrics.rate import NotJudged, default_limit_pct, judge_rate
from presshil.setpoint_model import AsWritten, SetpointRamp, rounding_note
from presshil.transports.errormap import DeviceBusy, modbus_exception


def _segment(kind: str, t: np.ndarray, p: np.ndarray, start: float, target: float) -> Segment:
    return Segment(kind, t, np.full_like(t, target), p, np.zeros((t.size, 0)), target, start)


def test_the_default_tolerance_is_25_pct_or_half_an_mpa_per_s() -> None:
    assert default_limit_pct(5.0) == 25.0
    assert default_limit_pct(1.0) == 50.0  # 0.5 MPa/s of 1 MPa/s
    assert default_limit_pct(2.0) == 25.0  # 0.5 of 2 is exactly 25 %


def test_a_release_thirty_times_too_fast_fails_with_the_measured_rate() -> None:
    # 75 MPa unloaded at 150 MPa/s (sampled at 100 Hz) where 5 MPa/s was asked:
    # 20..80 % of 75 MPa is 60 → 15 MPa, 45 MPa in 0.3 s = 150 MPa/s; (150 − 5) / 5 = 2900 %
    t = np.arange(0.0, 2.0, 0.01)
    p = np.maximum(0.0, 75.0 - 150.0 * t)
    v = judge_rate("release", _segment("release", t, p, 75.0, 0.0), 5.0, None)
    assert not v.passed
    assert v.value == pytest.approx(2900.0, rel=1e-6)
    assert "measured 150 MPa/s" in v.detail and "commanded 5 MPa/s: faster" in v.detail


def test_a_ramp_that_lags_at_the_start_and_slows_at_the_end_is_judged_on_its_middle() -> None:
    # 0 → 30 MPa at 3.75 MPa/s after a 1 s dead time, then an exponential approach from
    # 27 MPa: the window 6..24 MPa lies on the straight part, 18 MPa / 4.8 s = 3.75 MPa/s,
    # 6.25 % slower than the 4 MPa/s asked
    t = np.arange(0.0, 15.0, 0.02)
    p = np.clip(3.75 * (t - 1.0), 0.0, None)
    tail = p > 27.0
    t27 = 1.0 + 27.0 / 3.75
    p[tail] = 30.0 - 3.0 * np.exp(-(t[tail] - t27) / 0.8)
    v = judge_rate("ramp", _segment("ramp", t, p, 0.0, 30.0), 4.0, None)
    assert v.passed and v.limit == 25.0
    assert v.value == pytest.approx(6.25, abs=0.05)
    tight = judge_rate("ramp", _segment("ramp", t, p, 0.0, 30.0), 4.0, 5.0)
    assert not tight.passed and tight.limit == 5.0


def test_a_ramp_that_never_gets_there_is_not_judged_with_the_reason() -> None:
    t = np.arange(0.0, 5.0, 0.02)
    with pytest.raises(NotJudged, match="never reached 24 MPa"):
        judge_rate("ramp", _segment("ramp", t, np.minimum(3.0 * t, 10.0), 0.0, 30.0), 3.0, None)
    with pytest.raises(NotJudged, match="too small"):
        judge_rate("ramp", _segment("ramp", t, t * 0.1, 10.0, 10.5), 1.0, None)


def test_the_modelled_setpoint_ramps_from_the_pressure_at_the_command() -> None:
    up = SetpointRamp(t0_s=100.0, start_mpa=0.4, end_mpa=30.0, rate_mpa_s=3.746)
    assert up.at(100.0) == 0.4
    assert up.at(102.0) == pytest.approx(0.4 + 7.492)
    assert up.at(200.0) == 30.0
    assert up.arrives_s() == pytest.approx(100.0 + 29.6 / 3.746)
    down = SetpointRamp(0.0, 30.0, 0.0, 5.0)
    assert down.at(3.0) == 15.0 and down.at(10.0) == 0.0
    assert SetpointRamp(0.0, 0.0, 30.0, 0.0).at(0.0) == 30.0  # no rate: a jump


def test_a_rounding_of_more_than_2_pct_is_noted() -> None:
    assert rounding_note([AsWritten("rate", 5.0, 4.994, "MPa/s")]) is None  # −0.1 %
    note = rounding_note([AsWritten("rate", 4.0, 3.7459, "MPa/s")])
    assert note is not None and "rate 4 MPa/s is written as 3.746 MPa/s (-6.4 %)" in note


@pytest.mark.parametrize(("code", "busy"), [(1, False), (2, False), (3, False), (4, False),
                                            (5, True), (6, True), (10, True), (11, True)])
def test_busy_modbus_exceptions_are_retried_and_refusals_are_not(code: int, busy: bool) -> None:
    err = modbus_exception("modbus+tcp://h:1: read", code)
    assert err.code == code
    if busy:
        assert isinstance(err, DeviceBusy) and isinstance(err, TransportError)
    else:
        assert isinstance(err, DeviceFault) and not isinstance(err, TransportError)
    assert f"exception {code:02d}" in str(err)
