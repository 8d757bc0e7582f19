"""The cycler's phases: when breathing starts, and how it follows a protocol's cycling."""

from __future__ import annotations

import pytest

from presshil import open_press
from presshil.sim import SimPress
from presshil.sinks import StepBoundary


def _open(url: str) -> SimPress:
    press = open_press(url)
    assert isinstance(press, SimPress)
    return press


def test_cycling_starts_with_the_protocols_first_repeat_step() -> None:
    """As the runner would call it: ramp and settle first, then the repeat of charge /
    discharge steps; the cycler's first charge starts with the repeat, not at power-up."""
    press = _open("sim://servo-electric-10t?seed=1")  # catalogue: breathing from t = 0
    sink = press.cycler_sink()
    cycler = press.model.cycler
    sink.start(None)
    press.command(15.0, 0.5)
    sink.step(StepBoundary(0, "ramp-15", "ramp", 0.0, None))
    press.clock.sleep_until(30.0)
    sink.step(StepBoundary(0, "ramp-15", "ramp", 0.0, 30.0))
    sink.step(StepBoundary(1, "settle-15", "hold", 30.0, None))
    press.clock.sleep_until(630.0)
    sink.step(StepBoundary(1, "settle-15", "hold", 30.0, 630.0))
    sink.step(StepBoundary(2, "cycles", "repeat", 630.0, None))
    press.clock.sleep_until(631.0)
    assert cycler.started_at_s == pytest.approx(630.0)
    assert cycler.phase == "charge"
    assert press.model.xs.swell_rate_m_s > 0
    half = press.model.specimen_cfg.breathing.period_s / 2
    press.clock.sleep_until(630.0 + half - 1.0)
    assert cycler.phase == "charge"
    press.clock.sleep_until(630.0 + half + 1.0)
    assert cycler.phase == "discharge"
    assert press.model.xs.swell_rate_m_s < 0
    # a second repeat step in the same run does not restart the phases
    sink.step(StepBoundary(3, "more", "repeat", 630.0 + half + 1.0, None))
    assert cycler.started_at_s == pytest.approx(630.0)


def test_cycling_off_and_a_start_time_from_the_url() -> None:
    off = _open("sim://?seed=1&cycling=off")
    off.clock.sleep_until(100.0)
    assert off.model.cycler.phase is None and off.model.xs.swell_rate_m_s == 0.0
    later = _open("sim://?seed=1&cycling=2min")
    later.clock.sleep_until(119.0)
    assert later.model.cycler.phase is None
    later.clock.sleep_until(121.0)
    assert later.model.cycler.phase == "charge" and later.model.cycler.started_at_s == 120.0
