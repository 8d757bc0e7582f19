"""The deliberately broken flavours, built for the Cortex-M3 and run under QEMU, are caught
as they are on the host build (tests/test_fil_broken.py), each for the right reason.

Skipped, with the reason, where the cross toolchain or QEMU is missing; a run that ends as
``HostTooSlow`` (the machine could not keep QEMU and the plant in real time) skips naming
the lag.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import presshil
from presshil.acceptance.safety import run_safety
from presshil.fil import build_firmware
from presshil.fil.build import missing_mcu_build_tools
from presshil.fil.mcu import McuFilPress, start_mcu
from presshil.fil.plant_link import PlantLink
from presshil.fil.qemu import missing_qemu
from presshil.fil.realtime_budget import HostTooSlow
from presshil.fil.safety import REALTIME_SAFETY
from presshil.press import FaultCode
from presshil.runner import Progress

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "firmware" / "protocols"
WHY = missing_mcu_build_tools() or missing_qemu()
pytestmark = [pytest.mark.skipif(WHY is not None, reason=f"MCU firmware cannot run here: {WHY}"), pytest.mark.slow, pytest.mark.realtime]


def start(flavour: str, plant: str) -> McuFilPress:
    try:
        return start_mcu(build_firmware(flavour, target="mps2-an385"), plant=plant)
    except HostTooSlow as exc:
        pytest.skip(f"this machine could not keep real time while QEMU started: {exc}")


def judged(result: presshil.RunResult) -> presshil.RunResult:
    if result.abort_reason and "HostTooSlow" in result.abort_reason:
        pytest.skip(f"this machine could not keep real time, the firmware was not judged: {result.abort_reason}")
    return result


@pytest.mark.timeout(120)
def test_inverted_pid_sign_fails_the_assembly_under_qemu() -> None:
    proto = presshil.load_protocol(PROTOCOLS / "fil-assembly-short.toml")
    with start("pid-sign", "sim://?seed=1") as press:
        result = judged(presshil.run(proto, press))
    assert not result.passed
    assert max(result.trace.pressure) < 5.0, max(result.trace.pressure)
    assert result.status == "aborted", result.status
    reason = result.abort_reason or ""
    assert "ACTUATOR" in reason or f"code {FaultCode.ACTUATOR.value}" in reason, reason


def _safety(flavour: str) -> dict:
    with start(flavour, "sim://?seed=4") as press:
        try:
            section = run_safety(press, REALTIME_SAFETY, die_area_mm2=78.54)
        except HostTooSlow as exc:
            pytest.skip(f"this machine could not keep real time, the firmware was not judged: {exc}")
    return {c.name: c for c in section.criteria}


@pytest.mark.timeout(150)
def test_disabled_watchdog_is_caught_by_the_safety_probes_under_qemu() -> None:
    criteria = _safety("no-watchdog")
    probe = criteria["safe state after heartbeats stop"]
    assert probe.status == "fail" and "no WATCHDOG_TRIPPED" in probe.detail, probe.detail


@pytest.mark.timeout(150)
def test_removed_overpressure_check_is_caught_by_the_safety_probes_under_qemu() -> None:
    criteria = _safety("no-overpressure")
    trip = criteria["over-pressure trip latency"]
    assert trip.status == "fail" and "no OVERPRESSURE" in trip.detail, trip.detail


def _sticky_valve_run(flavour: str) -> presshil.RunResult:
    """fil-sticky-valve-step.toml, the valve sticking for 1.5 s as the step begins."""
    proto = presshil.load_protocol(PROTOCOLS / "fil-sticky-valve-step.toml")
    with start(flavour, "sim://?seed=2") as press:
        injector = PlantLink(press.plant.hostport)
        stuck = threading.Event()

        def progress(p: Progress) -> None:
            if p.step_name == "step-up-60" and not stuck.is_set():
                stuck.set()
                injector.inject("stuck_valve", duration_s=1.5)

        try:
            result = judged(presshil.run(proto, press, progress=progress))
        finally:
            injector.close()
    assert stuck.is_set(), result.abort_reason
    return result


@pytest.mark.timeout(240)
def test_missing_anti_windup_overshoots_after_a_sticky_valve_under_qemu() -> None:
    control = _sticky_valve_run("")  # the reference MCU build recovers: the protocol passes
    assert control.passed, [v for v in control.verdicts if not v.passed] or control.abort_reason
    broken = _sticky_valve_run("no-antiwindup")
    assert not broken.passed
    verdicts = {(v.step, v.criterion): v for v in broken.verdicts}
    assert verdicts[("preload", "max_tracking_error_mpa")].passed
    assert max(broken.trace.pressure) > 62.0, max(broken.trace.pressure)
    overshoot = verdicts.get(("step-up-60", "max_overshoot_pct"))
    # the firmware's own trip (OVERPRESSURE) or, when the overshoot outran it, the host's
    # over-pressure limit ("over-pressure: 81.8 MPa > limit 80 MPa")
    tripped = "overpressure" in (broken.abort_reason or "").lower().replace("-", "")
    assert tripped or (overshoot is not None and not overshoot.passed), broken.abort_reason
