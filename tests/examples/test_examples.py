"""Examples of presshil tests. The same file runs on the simulator and on a press on a wire:

    pytest tests/examples                                      # sim://
    pytest tests/examples --press modbus+tcp://127.0.0.1:5020  # against `presshil serve`
"""

from __future__ import annotations

from pathlib import Path

import pytest

from presshil import Status
from presshil.testing import assert_hold_stable, assert_uniform

QUICK = Path(__file__).parents[1] / "data" / "quick-hold.toml"


def test_protocol_regression(run_protocol):
    """A protocol a lab owns passes, and its hold stays in a band the test sets."""
    result = run_protocol(QUICK)
    assert result.passed, result.failed_verdicts()
    assert_hold_stable(result, "hold-20", band_mpa=0.5, max_drift_mpa_per_min=1.0, settle_s=2)


def test_uniformity(run_protocol):
    """The load-cell channels share the force evenly during the hold."""
    result = run_protocol(QUICK)
    assert_uniform(result, "hold-20", max_nonuniformity_pct=5.0, max_cof_offset_mm=1.0, settle_s=2)


@pytest.mark.sim_only
def test_overpressure_trips_and_latches(press_sim):
    """A runaway actuator is caught by the firmware's over-pressure trip, which latches."""
    clock = press_sim.clock
    press_sim.configure(soft_max_mpa=30.0)
    press_sim.command(20.0, 10.0)
    clock.sleep_until(clock.now() + 3.0)
    press_sim.inject_fault("runaway")
    clock.sleep_until(clock.now() + 2.0)
    sample = press_sim.read()
    assert sample.status & Status.OVERPRESSURE
    assert sample.faulted
    clock.sleep_until(clock.now() + 5.0)
    assert press_sim.read().faulted  # still latched: no automatic restart


def test_control_loop_latency(control_loop):
    """One control cycle (heartbeat, command, read): p50, p99 and max in ms."""
    figures = control_loop(setpoint_mpa=5.0, rounds=200)
    assert figures["p50_ms"] > 0  # a cycle takes time
    assert abs(figures["jitter_ms"] - (figures["p99_ms"] - figures["p50_ms"])) < 1e-9
