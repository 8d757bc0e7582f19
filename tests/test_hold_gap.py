"""The constant-gap step (``hold_gap``): the ram is held, the pressure follows the cell.

Judged by the stack-pressure swing and the ram travel at the held gap, and, on a repeat, by
the cell's growth from cycle to cycle (ram position at each iteration boundary).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import presshil
from presshil.device.server import start_server
from presshil.errors import CapabilityError, ConfigError, DeviceFault, ProtocolError
from presshil.maps.press_v1 import COMMAND_HOLD_GAP, Space, encode
from presshil.metrics import evaluate_cycles
from presshil.protocol import load_protocol, parse_protocol
from presshil.runner import run

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def gap_run():
    """Three 2 h charge/discharge cycles at a held gap on the default simulated press."""
    return run(load_protocol(DATA / "gap-cycling.toml"), presshil.open_press("sim://?seed=1"))


def test_a_held_gap_is_judged_on_the_stack_pressure_swing_and_the_ram(gap_run) -> None:
    assert gap_run.status == "passed", gap_run.failed_verdicts()
    by = {(v.step, v.criterion): v for v in gap_run.verdicts}
    swing = by[("discharge", "max_pressure_swing_mpa")]
    # the breathing cell swings the pressure by MPa at a fixed gap, never by 0
    assert 0.5 < swing.value < 10.0 and "at a held gap" in swing.detail
    # the ram really is held: well under a micrometre of travel while the pressure moves
    assert by[("charge", "max_dilatometry_um")].value < 1.0
    trace = gap_run.trace
    cycles = gap_run.step_record("cycles")
    inside = trace.window(cycles.t_start_s, cycles.t_end_s)
    assert inside.pressure.max() - inside.pressure.min() > 0.5
    assert inside.position.max() - inside.position.min() < 0.002  # mm


def test_cycle_growth_is_judged_on_the_repeat(gap_run) -> None:
    by = {(v.step, v.criterion): v for v in gap_run.verdicts}
    growth = by[("cycles", "max_growth_per_cycle_um")]
    irreversible = by[("cycles", "max_irreversible_growth_um")]
    assert math.isfinite(growth.value) and abs(growth.value) < 1.0
    assert "over 3 iteration(s)" in irreversible.detail


def test_growth_metrics_by_hand() -> None:
    # ram at the iteration boundaries: +2 µm per cycle, 1 µm given back at the end
    [slope, total] = evaluate_cycles(
        "cycles", {"max_growth_per_cycle_um": 1.0, "max_irreversible_growth_um": 10.0},
        [0.100, 0.102, 0.104, 0.105])
    assert slope.value == pytest.approx(1.7, abs=1e-9) and not slope.passed
    assert total.value == pytest.approx(5.0) and total.passed
    [missing] = evaluate_cycles("cycles", {"max_growth_per_cycle_um": 1.0}, [math.nan, math.nan])
    assert not missing.passed and "no ram position" in missing.detail


def _text(extra: str) -> str:
    return (DATA / "gap-cycling.toml").read_text() + extra


def test_a_hold_without_a_pressure_after_a_held_gap_is_refused() -> None:
    text = _text('\n[[steps]]\ntype = "hold"\nduration_s = 10\n')
    text = text.replace('[[steps]]\ntype = "release"\nlabel = "release"\nrate_mpa_s = 2.0\n', "")
    with pytest.raises(ProtocolError, match=r"step 4, field 'at_mpa': .*or hold_gap since"):
        parse_protocol(text)


def test_cycle_keys_belong_on_a_repeat_and_gap_keys_on_a_held_gap() -> None:
    bad = (DATA / "gap-cycling.toml").read_text().replace(
        "expect = { max_dilatometry_um = 50.0 }", "expect = { max_pressure_swing_mpa = 1.0 }")
    with pytest.raises(ProtocolError, match="does not apply to a hold step"):
        parse_protocol(bad)
    bad = (DATA / "gap-cycling.toml").read_text().replace(
        "expect = { max_pressure_swing_mpa = 10.0 }\n\n[[steps]]",
        "expect = { max_growth_per_cycle_um = 1.0 }\n\n[[steps]]")
    with pytest.raises(ProtocolError, match="does not apply to a hold_gap step"):
        parse_protocol(bad)


SHORT_GAP = """
name = "gap over a wire"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 40.0
max_rate_mpa_s = 50.0
[sampling]
rate_hz = 20
[[steps]]
type = "ramp"
label = "set-15"
to_mpa = 15.0
rate_mpa_s = 20.0
[[steps]]
type = "hold"
label = "settle"
duration_s = 1.0
[[steps]]
type = "hold_gap"
label = "gap"
duration_s = 2.0
expect = { max_dilatometry_um = 2.0 }
[[steps]]
type = "release"
label = "down"
rate_mpa_s = 20.0
"""


@pytest.mark.slow
def test_a_held_gap_over_a_wire_holds_the_ram_as_in_process() -> None:
    """HOLD_GAP (command 5) on map v1: the served press says it can (input 105 bit 0), the
    run holds the ram over Modbus TCP and judges it as it does in-process."""
    proto = parse_protocol(SHORT_GAP, "gap-wire.toml")
    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        press = presshil.open_press(f"modbus+tcp://{server.endpoints['modbus_tcp']}")
        try:
            assert press.capabilities.constant_gap
            result = run(proto, press)
        finally:
            press.close()
    in_process = run(proto, presshil.open_press("sim://?seed=1"))
    assert result.status == "passed", result.failed_verdicts() or result.abort_reason
    assert [(v.step, v.criterion) for v in result.verdicts] == [
        (v.step, v.criterion) for v in in_process.verdicts
    ]
    (ram,) = [v for v in result.verdicts if v.criterion == "max_dilatometry_um"]
    assert ram.value < 2.0  # the ram held, over the wire
    held = result.trace.window(*(lambda r: (r.t_start_s + 0.2, r.t_end_s))(result.step_record("gap")))
    assert held.position.max() - held.position.min() < 0.002  # mm


@pytest.mark.slow
def test_a_press_that_cannot_hold_a_gap_is_refused_before_anything_is_commanded() -> None:
    """The manual press (nobody regulates its ram) says so in input 105: the protocol is
    refused before the run claims or commands anything; a HOLD_GAP written anyway is
    exception 03."""
    with start_server("sim://manual-hydraulic-15t?seed=1", modbus_tcp="127.0.0.1:0") as server:
        press = presshil.open_press(f"modbus+tcp://{server.endpoints['modbus_tcp']}")
        try:
            assert not press.capabilities.constant_gap
            with pytest.raises(ConfigError, match=r"step 2\.0 \(hold_gap\) needs a press that can hold"):
                run(load_protocol(DATA / "gap-cycling.toml"), press)
            assert press.read().setpoint_mpa == 0.0  # nothing was commanded
            with pytest.raises(CapabilityError, match="cannot hold a constant gap"):
                press.hold_gap()  # refused here, nothing written
            words = encode(Space.HOLDING, 0, {"command": COMMAND_HOLD_GAP, "heartbeat": 7})
            with pytest.raises(DeviceFault, match="exception 03") as info:
                press._link.call("HOLD_GAP", lambda c: c.write_registers(0, words, device_id=1))
            assert info.value.code == 3
        finally:
            press.close()


def test_dilatometry_and_swing_by_hand() -> None:
    from presshil.metrics import Segment, evaluate

    seg = Segment("hold_gap", t=[1.0, 2.0, 3.0], setpoint=[15.0] * 3, pressure=[15.0, 16.5, 14.8],
                  channels=[], target_mpa=15.0, start_mpa=15.0,
                  position=__import__("numpy").array([0.1000, 0.1003, 0.1001]))
    ram = evaluate("g", "max_dilatometry_um", 0.5, seg)
    assert ram.value == pytest.approx(0.3) and ram.passed and ram.t_s == 2.0
    swing = evaluate("g", "max_pressure_swing_mpa", 1.5, seg)
    assert swing.value == pytest.approx(1.7) and not swing.passed
