"""The simulated press's firmware honours ``on_host_loss`` (virtual time)."""

from __future__ import annotations

import pytest

from presshil.errors import CapabilityError
from presshil.press import FaultCode, Status
from presshil.urls import open_press


def lost_mid_ramp(policy: str):
    press = open_press("sim://?seed=11")
    press.configure(die_area_mm2=78.54, soft_max_mpa=60.0, watchdog_ms=500)
    press.set_on_host_loss(policy)
    clock = press.clock
    press.command(30.0, 5.0)  # 6 s of ramp
    t = clock.now()
    while clock.now() < t + 2.0:  # the host feeds the watchdog for 2 s, then dies
        press.heartbeat()
        clock.sleep_until(clock.now() + 0.1)
    lost_at = press.read().setpoint_mpa
    clock.sleep_until(clock.now() + 5.0)  # 10 watchdog periods without a host
    return press, lost_at


def test_hold_stops_a_ramp_where_it_is_holds_the_cell_and_raises_the_alarm() -> None:
    press, lost_at = lost_mid_ramp("hold")
    sample = press.read()
    assert not sample.status & Status.FAULT and sample.fault_code == FaultCode.NONE
    # the ramp went on for at most one watchdog period (0.5 s at 5 MPa/s), then stopped
    assert lost_at <= sample.setpoint_mpa <= lost_at + 2.5 + 1e-6 < 30.0
    assert abs(sample.pressure_mpa - sample.setpoint_mpa) < 0.5
    assert press.read_config().host_lost
    held = sample.setpoint_mpa
    press.clock.sleep_until(press.clock.now() + 30.0)
    assert abs(press.read().setpoint_mpa - held) < 1e-9  # no ramp while the host is away
    # the host comes back: a heartbeat clears the alarm, no reset needed, it commands again
    press.heartbeat()
    assert not press.read_config().host_lost
    press.command(30.0, 5.0)
    press.clock.sleep_until(press.clock.now() + 3.0)
    press.heartbeat()
    assert press.read().setpoint_mpa > held + 1.0


def test_release_trips_the_watchdog_into_the_safe_state_as_before() -> None:
    press, _ = lost_mid_ramp("release")
    sample = press.read()
    assert sample.status & Status.FAULT and sample.fault_code == FaultCode.WATCHDOG
    assert sample.pressure_mpa < 0.5
    assert not press.read_config().host_lost


def test_policy_and_configuration_read_back() -> None:
    press = open_press("sim://")
    press.configure(die_area_mm2=100.0, soft_max_mpa=40.0, watchdog_ms=1000)
    press.set_on_host_loss("hold")
    config = press.read_config()
    assert config.die_area_mm2 == pytest.approx(100.0, rel=1e-12)
    assert (config.soft_max_mpa, config.watchdog_ms) == (40.0, 1000)
    assert config.on_host_loss == "hold" and not config.host_lost
    with pytest.raises(ValueError, match="on_host_loss 'keep' unknown: allowed release | hold"):
        press.set_on_host_loss("keep")


def test_a_press_without_the_policy_refuses_hold_and_accepts_release() -> None:
    from presshil.press import Press

    class Minimal(Press):
        url = "minimal://"
        identity = clock = None  # type: ignore[assignment]
        configure = command = release = stop = reset = read = lambda *a, **k: None  # type: ignore[assignment]

    press = Minimal()
    press.set_on_host_loss("release")
    assert press.claim_control() is None and press.read_config() is None
    press.check_control()
    with pytest.raises(CapabilityError, match="on_host_loss = 'hold' needs a press that holds"):
        press.set_on_host_loss("hold")
