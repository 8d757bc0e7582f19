"""Deliberately broken firmware builds are caught, each for the right reason.

Each flavour of firmware/ compiles one defect in (firmware/src/control.c): an inverted
controller sign, no anti-windup, no communication watchdog, no over-pressure check. The
standard FIL protocol and the safety probes must catch each one — and the same checks pass
with the reference build (tests/test_fil.py, and the control run here).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import presshil
from presshil.acceptance.safety import run_safety
from presshil.fil import FilPress, build_firmware, missing_build_tools
from presshil.fil.plant_link import PlantLink
from presshil.fil.safety import REALTIME_SAFETY
from presshil.press import FaultCode
from presshil.runner import Progress

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "firmware" / "protocols"
WHY = missing_build_tools()
pytestmark = [pytest.mark.skipif(WHY is not None, reason=f"firmware not buildable: {WHY}"), pytest.mark.slow, pytest.mark.realtime]


@pytest.mark.timeout(60)
def test_inverted_pid_sign_fails_the_assembly() -> None:
    proto = presshil.load_protocol(PROTOCOLS / "fil-assembly-short.toml")
    with FilPress.start(build_firmware("pid-sign"), plant="sim://?seed=1") as press:
        result = presshil.run(proto, press)
    assert not result.passed
    # for the right reason: the press never followed the ramp, and the firmware itself
    # gave up on a following error (ACTUATOR), not on some unrelated trip
    trace = result.trace
    assert max(trace.pressure) < 5.0, max(trace.pressure)
    assert result.status == "aborted", result.status
    assert "ACTUATOR" in (result.abort_reason or "") or f"code {FaultCode.ACTUATOR.value}" in (
        result.abort_reason or ""
    ), result.abort_reason


def _sticky_valve_run(flavour: str):
    """fil-sticky-valve-step.toml, the valve sticking for 1.5 s as the step begins."""
    proto = presshil.load_protocol(PROTOCOLS / "fil-sticky-valve-step.toml")
    with FilPress.start(build_firmware(flavour), plant="sim://?seed=2") as press:
        injector = PlantLink(press.plant.hostport)  # its own connection: the runner reads
        stuck = threading.Event()

        def progress(p: Progress) -> None:
            if p.step_name == "step-up-60" and not stuck.is_set():
                stuck.set()
                injector.inject("stuck_valve", duration_s=1.5)

        try:
            result = presshil.run(proto, press, progress=progress)
        finally:
            injector.close()
    assert stuck.is_set()
    return result


@pytest.mark.timeout(120)
def test_missing_anti_windup_overshoots_after_a_sticky_valve() -> None:
    control = _sticky_valve_run("")
    assert control.passed, [v for v in control.verdicts if not v.passed] or control.abort_reason
    broken = _sticky_valve_run("no-antiwindup")
    assert not broken.passed
    # for the right reason: fine until the valve stuck, then the wound-up integrator carried
    # the press well past 60 MPa (into its over-pressure trip, on some runs)
    verdicts = {(v.step, v.criterion): v for v in broken.verdicts}
    assert verdicts[("preload", "max_tracking_error_mpa")].passed
    assert max(broken.trace.pressure) > 62.0, max(broken.trace.pressure)
    overshoot = verdicts.get(("step-up-60", "max_overshoot_pct"))
    # the firmware's own trip (OVERPRESSURE) or, when the overshoot outran it, the host's
    # over-pressure limit ("over-pressure: 81.8 MPa > limit 80 MPa")
    reason = (broken.abort_reason or "").lower().replace("-", "")
    tripped = "overpressure" in reason
    assert tripped or (overshoot is not None and not overshoot.passed), broken.abort_reason


def _safety(flavour: str):
    with FilPress.start(build_firmware(flavour), plant="sim://?seed=4") as press:
        section = run_safety(press, REALTIME_SAFETY, die_area_mm2=78.54)
    return {c.name: c for c in section.criteria}


@pytest.mark.timeout(120)
def test_disabled_watchdog_is_caught_by_the_safety_probes() -> None:
    criteria = _safety("no-watchdog")
    assert criteria["safe state after heartbeats stop"].status == "fail"
    assert "no WATCHDOG_TRIPPED" in criteria["safe state after heartbeats stop"].detail
    others = {
        k: c.status for k, c in criteria.items() if "watchdog" not in k and "heartbeat" not in k
    }
    assert set(others.values()) == {"pass"}, others


@pytest.mark.timeout(120)
def test_removed_overpressure_check_is_caught_by_the_safety_probes() -> None:
    criteria = _safety("no-overpressure")
    trip = criteria["over-pressure trip latency"]
    assert trip.status == "fail", trip.detail
    assert "no OVERPRESSURE" in trip.detail
    others = {k: c.status for k, c in criteria.items() if "over-pressure" not in k}
    assert set(others.values()) == {"pass"}, others
