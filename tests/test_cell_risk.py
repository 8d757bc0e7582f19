"""The cell's short-circuit risk pressure is judged on every step and recorded when crossed.

A lithium-metal cell shorts when the stack pressure drives Li through the separator; 5 MPa is
safe for over 1000 h (Doux et al. 2020) and presshil takes 10 MPa as the risk limit
(docs/domain.md). A protocol declares it as ``specimen.short_circuit_risk_above_mpa``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from presshil.cell_risk import RISK_KEY, ShortCircuitWatch
from presshil.errors import ProtocolError
from presshil.protocol import load_protocol, parse_protocol
from presshil.runner import run
from presshil.urls import open_press

LI_CELL = "sim://?seed=2&specimen=nmc-lpscl-li-10mm"
LI_PROTOCOL = Path(__file__).resolve().parents[1] / "protocols" / "lithium-metal" / "cycling-hold-li-5mpa.toml"


def _watch() -> tuple[ShortCircuitWatch, list[tuple[str, str]]]:
    events: list[tuple[str, str]] = []
    return ShortCircuitWatch(10.0, lambda kind, msg: events.append((kind, msg))), events


def test_a_step_above_the_limit_fails_at_its_highest_sample_and_is_recorded_once() -> None:
    watch, events = _watch()
    # run times 100..103 s; the step began at 99.5 s
    for t, p in [(100.0, 5.0), (101.0, 9.9), (102.0, 10.4), (103.0, 10.2)]:
        watch.observe("charge", t, p)
    v = watch.verdict("charge", 99.5)
    assert v is not None
    assert (v.criterion, v.value, v.limit, v.passed) == (RISK_KEY, 10.4, 10.0, False)
    assert v.t_s == pytest.approx(2.5)  # step time of the 10.4 MPa sample: 102 − 99.5
    assert len(events) == 1  # the first crossing (10.4 at 102 s), not every sample above
    kind, message = events[0]
    assert kind == "short-circuit-risk"
    assert "10.400 MPa" in message and "t = 102.000 s" in message and "10 MPa" in message


def test_a_step_at_or_below_the_limit_passes_without_an_event() -> None:
    watch, events = _watch()
    for t, p in [(0.0, 4.9), (1.0, 10.0), (2.0, 5.1)]:
        watch.observe("hold", t, p)
    v = watch.verdict("hold", 0.0)
    assert v is not None and v.passed and v.value == 10.0  # the limit itself is allowed
    assert events == []


def test_each_step_is_judged_on_its_own_samples() -> None:
    watch, events = _watch()
    watch.observe("ramp", 0.0, 12.0)
    assert watch.verdict("ramp", 0.0) is not None
    watch.observe("hold", 1.0, 5.0)  # a new step: the 12 MPa of the ramp is not its own
    v = watch.verdict("hold", 1.0)
    assert v is not None and v.passed and v.value == 5.0
    assert watch.verdict("release", 2.0) is None  # no sample, no verdict
    assert math.isfinite(v.limit) and len(events) == 1


def test_the_limit_must_be_positive() -> None:
    text = """
name = "x"
[specimen]
die_diameter_mm = 10.0
short_circuit_risk_above_mpa = 0
[limits]
max_pressure_mpa = 8.0
max_rate_mpa_s = 1.0
[[steps]]
type = "release"
rate_mpa_s = 1.0
"""
    with pytest.raises(ProtocolError, match="short_circuit_risk_above_mpa"):
        parse_protocol(text)


def _li_protocol(to_mpa: float) -> str:
    return f"""
name = "li-{to_mpa:g}"
[specimen]
die_diameter_mm = 10.0
short_circuit_risk_above_mpa = 10.0
[limits]
max_pressure_mpa = 20.0
max_rate_mpa_s = 5.0
[sampling]
rate_hz = 10
[[steps]]
type = "ramp"
label = "ramp"
to_mpa = {to_mpa}
rate_mpa_s = 2.0
[[steps]]
type = "hold"
label = "hold"
duration_s = 20
[[steps]]
type = "release"
label = "release"
rate_mpa_s = 2.0
"""


def test_a_li_metal_cell_pressed_to_12_mpa_fails_with_the_risk_on_the_record() -> None:
    press = open_press(LI_CELL)
    try:
        result = run(parse_protocol(_li_protocol(12.0)), press)
    finally:
        press.close()
    assert result.status == "failed"
    bad = {v.step for v in result.verdicts if v.criterion == RISK_KEY and not v.passed}
    # the ramp crosses 10 MPa, the hold sits at 12, the release starts from 12
    assert bad == {"ramp", "hold", "release"}
    risk = [e for e in result.events if e.kind == "short-circuit-risk"]
    assert [e.message.split(":")[0] for e in risk] == ["ramp", "hold", "release"]
    # the ramp crosses 10 MPa at 2 MPa/s five seconds after it starts
    ramp = next(s for s in result.steps if s.name == "ramp")
    assert risk[0].t_s is not None and risk[0].t_s - ramp.t_start_s == pytest.approx(5.0, abs=0.5)


def test_a_li_metal_cell_held_at_5_mpa_is_judged_and_passes() -> None:
    press = open_press(LI_CELL)
    try:
        result = run(parse_protocol(_li_protocol(5.0)), press)
    finally:
        press.close()
    risk = [v for v in result.verdicts if v.criterion == RISK_KEY]
    assert [v.step for v in risk] == ["ramp", "hold", "release"]
    assert all(v.passed and v.value < 5.3 for v in risk)
    assert result.passed
    assert not [e for e in result.events if e.kind == "short-circuit-risk"]


def test_the_library_li_metal_protocol_stays_far_below_its_risk_limit() -> None:
    protocol = load_protocol(LI_PROTOCOL)
    assert protocol.specimen.short_circuit_risk_above_mpa == 10.0
    # its safety limit trips the press before the cell's risk pressure can be reached
    assert protocol.limits.max_pressure_mpa < protocol.specimen.short_circuit_risk_above_mpa
