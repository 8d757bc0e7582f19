"""Monitor-only presses: a load-cell indicator on Modbus RTU in front of the simulator's
manual press. Commands become instructions; the simulator's operator carries them out; the
runner judges what the press actually did."""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path

import pytest
from waiting import wait_for
from wall_clock import wall_clock_fixture

import presshil
from presshil.profiles.operator import KeyboardOperator, SimulatedOperator
from presshil.profiles.server import start_profile_server
from presshil.protocol import load_protocol
from presshil.runner import run
from presshil.status import RunStatus

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(180)


@wall_clock_fixture(scope="module")
def indicator():
    with start_profile_server(
        "sim://manual-hydraulic-15t?seed=1", "loadcell-indicator-rtu", modbus_rtu="pty"
    ) as srv:
        yield srv


def test_the_indicator_is_monitor_only_and_says_what_cannot_be_judged(indicator) -> None:
    press = presshil.open_press(indicator.urls["modbus_rtu"])
    try:
        caps = press.capabilities
        assert not caps.regulates and not caps.channels and not caps.positions
        assert any("operator drives this press" in line for line in caps.not_judged())
        sample = press.read()
        assert abs(sample.force_kn) < 0.1 and math.isnan(sample.position_mm)
    finally:
        press.close()


def test_an_operator_guided_run_is_judged_on_what_the_press_did(indicator) -> None:
    press = presshil.open_press(indicator.urls["modbus_rtu"] + "&timeout=0.25")
    operator = SimulatedOperator(indicator.press)
    press.operator = operator
    try:
        result = run(load_protocol(ROOT / "tests" / "data" / "manual-hold.toml"), press)
    finally:
        press.close()
    kinds = [i.kind for i in operator.instructions]
    assert kinds[0] == "pump" and "release" in kinds
    assert operator.instructions[0].text.startswith("pump to 20 MPa (indicator reads 1571 N)")
    by = {(v.step, v.criterion): v for v in result.verdicts}
    # the hold is judged on the indicator's readings: the operator stopped within ~1 MPa
    hold = by[("hold-20", "band_mpa")]
    assert hold.passed and 0.0 < hold.value < 3.0
    assert by[("release", "max_residual_mpa")].passed
    assert result.status in (RunStatus.PASSED, RunStatus.FAILED)
    trace = result.trace
    assert 17.0 < trace.pressure.max() < 23.0


def test_the_keyboard_operator_prints_and_aborts_on_a_key() -> None:
    out = io.StringIO()
    cancel = threading.Event()
    keys = io.StringIO("\na\n")
    op = KeyboardOperator(cancel, out=out, keys=keys)
    from presshil.profiles.operator import Instruction

    op.prompt(Instruction("pump", "pump to 74 MPa at about 2 MPa/s, then hold", 74.0, 2.0))
    assert cancel.wait(2.0)
    assert "OPERATOR: pump to 74 MPa at about 2 MPa/s" in out.getvalue()
    assert "abort requested" in out.getvalue()


@pytest.mark.slow
def test_an_ascii_indicator_on_a_serial_line_reads_converts_and_tares() -> None:
    with start_profile_server("sim://manual-hydraulic-15t?seed=2", "ascii-indicator", serial="pty") as srv:
        press = presshil.open_press(srv.urls["serial"] + "&timeout=0.5")
        try:
            press.operator = SimulatedOperator(srv.press)
            press.configure(die_area_mm2=math.pi * 25)
            raw, values = press.read_values()
            assert set(raw) == {"oil_pressure"}
            press.command(30.0, 10.0)
            wait_for(lambda: press.read().pressure_mpa >= 10.0, timeout_s=20.0, what="10 MPa", poll_s=0.1)
            # force is oil pressure × the 56 mm ram, pressure is force over the die
            raw, _values = press.read_values()
            ram_mm2 = math.pi * 28.0**2
            assert press.read().force_kn == pytest.approx(raw["oil_pressure"] * 0.1 * ram_mm2 / 1000, rel=0.05)
            press.release(10.0)
            wait_for(lambda: press.read().pressure_mpa <= 0.5, timeout_s=20.0, what="the release", poll_s=0.1)
            press.tare()
            assert abs(press.read().force_kn) < 0.05
        finally:
            press.close()


def test_channel_criteria_are_not_judged_on_a_total_force_indicator(indicator) -> None:
    press = presshil.open_press(indicator.urls["modbus_rtu"])
    try:
        caps = press.capabilities
        assert caps.why_not_judged("max_nonuniformity_pct") == (
            "max_nonuniformity_pct: the press reports no per-channel forces"
        )
        assert caps.why_not_judged("band_mpa") is None
        assert presshil.open_press("sim://").capabilities.why_not_judged("max_cv_pct") is None
    finally:
        press.close()


def test_the_runner_says_what_it_did_not_judge_and_records_the_prompts(indicator, tmp_path) -> None:
    text = (ROOT / "tests" / "data" / "manual-hold.toml").read_text()
    text = text.replace("max_drift_mpa_per_min = 10.0 }", "max_drift_mpa_per_min = 10.0, max_nonuniformity_pct = 5.0 }")
    proto = tmp_path / "manual-hold-uniformity.toml"
    proto.write_text(text)
    press = presshil.open_press(indicator.urls["modbus_rtu"] + "&timeout=0.25")
    operator = SimulatedOperator(indicator.press)
    try:
        result = run(load_protocol(proto), press, operator=operator)  # the runner hands it over
    finally:
        press.close()
    assert press.operator is operator  # restored after the run
    criteria = {(v.step, v.criterion) for v in result.verdicts}
    assert ("hold-20", "max_nonuniformity_pct") not in criteria  # never a silent pass
    assert ("hold-20", "band_mpa") in criteria
    not_judged = [e.message for e in result.events if e.kind == "not-judged"]
    assert "hold-20: not judged on this press: max_nonuniformity_pct: the press reports no per-channel forces" in not_judged
    assert any("operator drives this press" in m for m in not_judged)  # said once at the start
    prompts = [e.message for e in result.events if e.kind == "prompt"]
    assert prompts[0].startswith("pump to 20 MPa") and len(prompts) == len(operator.instructions)


def test_an_operator_abort_ends_the_run_aborted(indicator) -> None:
    from presshil.profiles.operator import LoggedOperator

    press = presshil.open_press(indicator.urls["modbus_rtu"] + "&timeout=0.25")
    operator = LoggedOperator()
    press.operator = operator
    timer = threading.Timer(1.0, operator.abort)
    timer.start()
    try:
        result = run(load_protocol(ROOT / "tests" / "data" / "manual-hold.toml"), press)
    finally:
        timer.cancel()
        press.close()
    assert result.status == RunStatus.ABORTED
    assert result.exit_code == 3
    assert operator.instructions[-1].kind == "stop"  # the safe state, asked of the operator
