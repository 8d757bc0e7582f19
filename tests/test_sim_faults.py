"""Fault injection and the firmware's safety functions on the simulated press."""

from __future__ import annotations

import math

import numpy as np
import pytest

from presshil import ConfigError, DeviceFault, FaultCode, PressURLError, Status, open_press
from presshil.sim import SimPress
from presshil.sim.faults import FAULTS, parse_faults


def _open(url: str = "sim://?seed=1&cycling=off") -> SimPress:
    press = open_press(url)
    assert isinstance(press, SimPress)
    return press


def _hold(press: SimPress, until_s: float, step_s: float = 0.05) -> None:
    clock = press.clock
    while clock.now() < until_s:
        clock.sleep_until(min(until_s, clock.now() + step_s))
        press.heartbeat()


def _loaded(url: str = "sim://?seed=1&cycling=off", mpa: float = 50.0) -> SimPress:
    press = _open(url)
    press.command(mpa, 10.0)
    _hold(press, mpa / 10.0 + 5.0, step_s=1.0)
    return press


class TestSafetyFunctions:
    def test_overpressure_trips_within_one_loop_period_and_latches(self) -> None:
        press = _open()
        press.configure(soft_max_mpa=60.0)
        press.command(50.0, 10.0)
        _hold(press, 10.0, step_s=1.0)
        press.inject_fault("overpressure")
        with press.model.capture() as out:
            _hold(press, 12.0)
        trace = out[0]
        limit = press.model.trip_limit_mpa()
        above = np.flatnonzero(trace.pressure_mpa > limit)
        assert above.size, "the spike never crossed the trip level"
        first = above[0]
        # the very sample that crosses the limit carries the trip: latency < one loop period
        assert trace.status[first] & Status.OVERPRESSURE
        assert not trace.status[first - 1] & Status.FAULT
        assert trace.fault_code[first] == FaultCode.OVERPRESSURE
        # latched: still faulted once the pressure is gone
        after = press.read()
        assert after.pressure_mpa < 1.0
        assert after.status & Status.FAULT and after.status & Status.OVERPRESSURE
        with pytest.raises(DeviceFault):
            press.command(10.0, 10.0)
        press.reset()
        _hold(press, press.clock.now() + 0.1)
        assert not press.read().faulted

    def test_watchdog_puts_the_press_in_its_safe_state(self) -> None:
        press = _open()
        press.configure(watchdog_ms=100)
        press.command(30.0, 20.0)
        _hold(press, 5.0)
        silent_from = press.clock.now()
        with press.model.capture() as out:
            press.clock.sleep_until(silent_from + 1.0)  # no heartbeats
        trace = out[0]
        tripped = np.flatnonzero(trace.status & Status.WATCHDOG_TRIPPED)
        assert tripped.size
        assert trace.t_s[tripped[0]] - silent_from <= 0.100 + 2e-3
        sample = press.read()
        assert sample.fault_code == FaultCode.WATCHDOG
        assert sample.pressure_mpa < 1.0  # force removed
        _hold(press, press.clock.now() + 0.5)  # heartbeats again: still latched
        assert press.read().status & Status.WATCHDOG_TRIPPED

    def test_estop_and_stop_remove_force_and_latch(self) -> None:
        press = _loaded()
        press.inject_fault("estop")
        _hold(press, press.clock.now() + 0.5)
        sample = press.read()
        assert sample.status & Status.ESTOP and sample.fault_code == FaultCode.ESTOP
        assert sample.pressure_mpa < 1.0


class TestInjectedFaults:
    def test_open_wire_trips_a_sensor_fault(self) -> None:
        press = _loaded()
        press.inject_fault("open_wire", channel=2)
        _hold(press, press.clock.now() + 0.01)
        assert press.read().fault_code == FaultCode.SENSOR

    def test_runaway_is_caught_and_unloaded(self) -> None:
        press = _loaded()
        press.inject_fault("runaway")
        _hold(press, press.clock.now() + 3.0)
        sample = press.read()
        assert sample.faulted
        assert sample.fault_code in (FaultCode.RATE_LIMIT, FaultCode.OVERPRESSURE)
        assert press.model.true_pressure_mpa < 1.0

    def test_stuck_valve_is_caught_by_the_following_error(self) -> None:
        press = _loaded()
        press.inject_fault("stuck_valve")
        press.command(20.0, 10.0)  # the controller asks; the valve does not move
        _hold(press, press.clock.now() + 10.0)
        assert press.read().fault_code == FaultCode.ACTUATOR

    def test_controller_freeze_stalls_the_sample_counter(self) -> None:
        press = _loaded()
        press.inject_fault("controller_freeze")
        before = press.read()
        _hold(press, press.clock.now() + 1.0)
        after = press.read()
        assert after.counter == before.counter and after.t_s == before.t_s

    def test_estop_is_hard_wired_and_unloads_a_frozen_controller(self) -> None:
        press = _loaded()
        press.inject_fault("controller_freeze")
        press.stop()
        press.clock.sleep_until(press.clock.now() + 1.0)
        assert press.model.true_pressure_mpa < 0.5

    def test_sensor_drift_fools_the_loop_but_not_the_reference_transducer(self) -> None:
        press = _loaded()
        area_mm2 = press.model.die_area_mm2
        press.inject_fault("sensor_drift", channel=3, rate_n_per_min=120.0)
        _hold(press, press.clock.now() + 300.0, step_s=1.0)
        indicated = press.read().pressure_mpa
        reference = press.reference_force_kn() * 1e3 / area_mm2
        assert indicated == pytest.approx(50.0, abs=0.2)  # the loop follows the drifting channel
        # 5 min x 120 N/min = 600 N of zero drift: the true force is 600 N short
        assert 50.0 - reference == pytest.approx(600.0 / area_mm2, rel=0.05)

    def test_leak_is_compensated_by_the_automatic_press(self) -> None:
        press = _loaded()
        press.inject_fault("leak", factor=2000.0)
        _hold(press, press.clock.now() + 60.0, step_s=1.0)
        assert press.read().pressure_mpa == pytest.approx(50.0, abs=0.25)

    def test_leak_needs_a_hydraulic_press(self) -> None:
        press = _open("sim://servo-electric-10t?seed=1")
        with pytest.raises(ConfigError, match="hydraulic"):
            press.inject_fault("leak")

    def test_comm_loss_with_duration_clears_itself(self) -> None:
        press = _open("sim://?seed=1&faults=comm_loss@2:duration_s=0.5")
        press.configure(watchdog_ms=0)
        _hold(press, 3.0)
        assert press.model.n is not None and not press.read().faulted  # watchdog off: no trip
        press.configure(watchdog_ms=100)
        press.inject_fault("comm_loss", duration_s=0.05)
        _hold(press, press.clock.now() + 0.5)  # 50 ms of silence < 100 ms timeout
        assert not press.read().faulted

    def test_faults_from_the_url_happen_at_their_time(self) -> None:
        press = _open("sim://?seed=1&faults=estop@1.5s")
        _hold(press, 1.4)
        assert not press.read().faulted
        _hold(press, 1.6)
        assert press.read().fault_code == FaultCode.ESTOP


class TestFaultSyntax:
    def test_parse_names_times_and_params(self) -> None:
        specs = parse_faults(
            "overpressure@120,leak@2min:factor=50,sensor_drift@1h:channel=2:rate_n_per_min=30,estop"
        )
        assert [(s.name, s.at_s) for s in specs] == [
            ("overpressure", 120.0),
            ("leak", 120.0),
            ("sensor_drift", 3600.0),
            ("estop", 0.0),
        ]
        assert specs[2].params == {"channel": 2.0, "rate_n_per_min": 30.0}

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("overheat@10", "unknown fault 'overheat'"),
            ("leak@soon", "bad fault time"),
            ("leak@10:volume=3", "no parameter 'volume'"),
            ("sensor_stuck:channel=0", "channel"),
            ("leak:factor", "KEY=VALUE"),
            ("leak,,estop", "empty fault entry"),
            ("leak:factor=nan", "finite"),
        ],
    )
    def test_bad_fault_text_is_a_clear_error(self, text: str, match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            parse_faults(text)

    def test_bad_faults_in_a_url_are_press_url_errors_listing_the_faults(self) -> None:
        with pytest.raises(PressURLError) as info:
            open_press("sim://?faults=overheat@10")
        message = str(info.value)
        assert "sim://?faults=overheat@10" in message and "open_wire" in message

    def test_inject_unknown_fault(self) -> None:
        with pytest.raises(ConfigError, match="known faults"):
            _open().inject_fault("gremlins")

    def test_channel_beyond_the_array_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="channel 9"):
            _open().inject_fault("open_wire", channel=9)

    def test_every_fault_is_documented(self) -> None:
        from pathlib import Path

        doc = (Path(__file__).parents[1] / "docs" / "simulator.md").read_text()
        for name in FAULTS:
            assert f"`{name}`" in doc


class TestCommandValidation:
    @pytest.mark.parametrize(
        ("setpoint", "rate"),
        [
            (math.nan, 10.0),
            (-1.0, 10.0),
            (math.inf, 10.0),
            (10.0, 0.0),
            (10.0, -5.0),
            (10.0, math.nan),
            (501.0, 10.0),
        ],
    )
    def test_refused_with_code_3_and_nothing_changes(self, setpoint: float, rate: float) -> None:
        press = _open()
        press.command(5.0, 10.0)
        _hold(press, 1.0)
        with pytest.raises(DeviceFault) as info:
            press.command(setpoint, rate)
        assert info.value.code == 3
        _hold(press, 1.5)
        assert press.read().setpoint_mpa == pytest.approx(5.0)

    def test_soft_limit_above_rated_is_refused(self) -> None:
        press = _open()
        with pytest.raises(DeviceFault) as info:
            press.configure(soft_max_mpa=10_000.0)
        assert info.value.code == 3

    def test_rate_above_press_maximum_is_clamped_by_the_firmware(self) -> None:
        press = _open()
        press.command(40.0, 1000.0)
        _hold(press, 0.4)
        assert press.read().setpoint_mpa == pytest.approx(0.4 * 50.0, abs=0.1)  # max 50 MPa/s
