"""The Press contract test suite: the same tests for every press binding.

Subclass :class:`PressContract` in a ``test_*.py`` module and provide a ``press`` fixture
that yields a connected press, freshly reset, with ``configure(die_area_mm2=DIE_AREA_MM2)``
already applied. The suite waits only through ``press.clock``, so it runs in virtual time on
``sim://`` and in wall-clock time over a wire.
"""

from __future__ import annotations

import contextlib
import math

import pytest

from presshil import DeviceFault, Identity, Press, Sample, Status

DIE_AREA_MM2 = math.pi * 5.0**2  # 10 mm die


def wait(press: Press, seconds: float) -> Sample:
    """Let ``seconds`` pass on the press's clock, feeding its watchdog; return a fresh sample."""
    clock = press.clock
    end = clock.now() + seconds
    while clock.now() < end:
        clock.sleep_until(min(end, clock.now() + 0.05))
        press.heartbeat()
    return press.read()


def wait_for(press: Press, predicate, timeout_s: float) -> Sample:
    """Poll until ``predicate(sample)`` holds or ``timeout_s`` passes; return the last sample."""
    clock = press.clock
    end = clock.now() + timeout_s
    sample = press.read()
    while not predicate(sample) and clock.now() < end:
        clock.sleep_until(clock.now() + 0.02)
        press.heartbeat()
        sample = press.read()
    return sample


class PressContract:
    """Behaviour every :class:`~presshil.press.Press` must show."""

    def test_identity_is_complete(self, press: Press) -> None:
        ident = press.identity
        assert isinstance(ident, Identity)
        assert ident.vendor and ident.model and ident.firmware
        assert ident.rated_max_pressure_mpa > 0 and ident.rated_max_force_kn > 0
        assert 1 <= ident.channel_count <= 8
        assert len(ident.channel_positions_mm) in (0, ident.channel_count)

    def test_read_returns_a_sample_whose_counter_advances(self, press: Press) -> None:
        first = press.read()
        assert isinstance(first, Sample)
        later = wait(press, 0.1)
        assert later.counter > first.counter
        assert later.t_s > first.t_s
        assert len(later.channels_kn) == press.identity.channel_count

    def test_idle_press_is_ready_and_unloaded(self, press: Press) -> None:
        sample = wait(press, 0.05)
        assert sample.status & Status.READY
        assert not sample.faulted
        assert abs(sample.pressure_mpa) < 0.5

    def test_pressure_is_total_force_over_die_area(self, press: Press) -> None:
        press.command(20.0, 40.0)
        sample = wait_for(press, lambda s: s.pressure_mpa > 15.0, 3.0)
        assert sample.pressure_mpa > 15.0, sample
        assert sample.pressure_mpa == pytest.approx(sample.force_kn * 1000.0 / DIE_AREA_MM2, rel=1e-3)
        assert sum(sample.channels_kn) == pytest.approx(sample.force_kn, rel=1e-2)

    def test_command_reaches_and_holds_setpoint(self, press: Press) -> None:
        press.command(20.0, 40.0)
        sample = wait(press, 1.5)
        assert sample.setpoint_mpa == pytest.approx(20.0, abs=1e-3)
        assert sample.pressure_mpa == pytest.approx(20.0, abs=0.5)
        assert sample.status & Status.REGULATING

    def test_release_unloads(self, press: Press) -> None:
        press.command(20.0, 40.0)
        wait(press, 1.2)
        press.release(40.0)
        sample = wait_for(press, lambda s: s.status & Status.RELEASED, 3.0)
        assert sample.status & Status.RELEASED
        assert sample.pressure_mpa < 1.0

    def test_setpoint_above_soft_limit_is_refused_and_changes_nothing(self, press: Press) -> None:
        press.configure(soft_max_mpa=30.0)
        press.command(10.0, 40.0)
        before = wait(press, 0.3)
        with pytest.raises(DeviceFault):
            press.command(300.0, 40.0)
        after = wait(press, 0.3)
        assert after.setpoint_mpa == pytest.approx(10.0, abs=1e-3)
        assert before.setpoint_mpa == pytest.approx(10.0, abs=1e-3)

    def test_stop_latches_a_safe_state_until_reset(self, press: Press) -> None:
        press.command(20.0, 40.0)
        wait(press, 1.0)
        press.stop()
        sample = wait(press, 0.5)
        assert sample.faulted
        assert not sample.status & Status.REGULATING
        assert sample.pressure_mpa < 2.0
        # a latched press does not restart on its own, nor on a plain command
        with contextlib.suppress(DeviceFault):
            press.command(20.0, 40.0)
        still = wait(press, 0.5)
        assert still.faulted and still.pressure_mpa < 2.0
        press.reset()
        cleared = wait(press, 0.1)
        assert not cleared.faulted
        press.command(10.0, 40.0)
        assert wait(press, 1.0).pressure_mpa == pytest.approx(10.0, abs=0.5)

    def test_watchdog_trips_when_heartbeats_stop(self, press: Press) -> None:
        press.configure(watchdog_ms=200)
        press.command(10.0, 40.0)
        wait(press, 0.6)  # heartbeats fed: no trip
        assert not press.read().faulted
        clock = press.clock
        clock.sleep_until(clock.now() + 0.6)  # silence, three timeouts long
        sample = press.read()
        assert sample.status & Status.WATCHDOG_TRIPPED
        assert sample.faulted

    def test_command_and_read_is_one_control_cycle(self, press: Press) -> None:
        sample = press.command_and_read(5.0, 40.0)
        assert isinstance(sample, Sample)
        later = wait(press, 0.5)
        assert later.setpoint_mpa == pytest.approx(5.0, abs=1e-3)
