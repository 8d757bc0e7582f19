"""A starved plant is the host's fault, not the firmware's (firmware in the loop).

The plant process is paused with SIGSTOP for longer than the firmware's stale-sensor limit,
exactly what a machine too busy to keep real time does to it; the firmware then trips
SENSOR. The run must end as ``HostTooSlow`` with the measured lag, never as a firmware
failure. Skipped where the firmware cannot be built.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from presshil.fil import FilPress, build_firmware, missing_build_tools
from presshil.fil.realtime_budget import (
    STALE_SENSOR_BUDGET_MS,
    HostTooSlow,
    budget_report,
    check_sensor_fault,
)
from presshil.press import FaultCode, Sample, Status

WHY = missing_build_tools()


def sample(status: int, fault: int) -> Sample:
    return Sample(5.8, 5800, status, fault, 74.0, 74.0, 5.8, 1.0, (1.45,) * 4)


def test_a_sensor_fault_is_the_hosts_only_when_the_plant_lagged_past_the_budget() -> None:
    faulted = sample(Status.FAULT, FaultCode.SENSOR)
    check_sensor_fault(faulted, {"rt_lag": 0.1, "max_rt_lag": 9.7})  # plant kept time
    with pytest.raises(HostTooSlow, match=r"lagged up to 73 ms .* t=5\.8 s is the host's"):
        check_sensor_fault(faulted, {"rt_lag": 0.2, "max_rt_lag": 73.0})
    # other faults are the firmware's whatever the lag
    check_sensor_fault(sample(Status.FAULT, FaultCode.OVERPRESSURE), {"max_rt_lag": 500.0})
    report = budget_report({"rt_lag": 0.1, "max_rt_lag": 12.0, "max_read_gap": 30.0})
    assert report["worst_ms"] == 30.0 and report["kept_real_time"] is True
    assert report["budget_ms"] == STALE_SENSOR_BUDGET_MS
    # a plant server that left the controller without an answer for 60 ms is the host's too
    with pytest.raises(HostTooSlow, match="60 ms between sensor reads"):
        check_sensor_fault(faulted, {"max_rt_lag": 2.0, "max_read_gap": 60.0})


@pytest.mark.skipif(WHY is not None, reason=f"firmware not buildable: {WHY}")
@pytest.mark.slow
@pytest.mark.realtime  # builds the firmware and runs it against the plant
@pytest.mark.timeout(120)
def test_a_paused_plant_ends_the_run_as_host_too_slow_not_as_a_firmware_failure() -> None:
    firmware = build_firmware()
    with FilPress.start(firmware, plant="sim://?seed=1") as press:
        press.configure(die_area_mm2=78.5, soft_max_mpa=80.0, watchdog_ms=0)
        press.command(20.0, 10.0)
        deadline = time.monotonic() + 10.0  # a bounded wait allowed to fall short: the pause comes anyway
        while press.read().pressure_mpa < 15.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = press.plant_process.pid
        os.kill(pid, signal.SIGSTOP)  # the plant gets no CPU: its samples stop
        time.sleep(0.15)  # the behaviour under test: the plant paused this long
        os.kill(pid, signal.SIGCONT)
        with pytest.raises(HostTooSlow, match="cannot keep real time"):
            for _ in range(100):
                press.read()  # reads go on at a pace until the lag is noticed (the behaviour)
                time.sleep(0.02)
        assert press._budget["kept_real_time"] is False
        assert press._budget["worst_ms"] > STALE_SENSOR_BUDGET_MS
