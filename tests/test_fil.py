"""Firmware in the loop: the reference C firmware closes the loop around the plant.

Real time: each test runs for seconds to tens of seconds. Skipped, with the reason, where
the firmware cannot be built (no C compiler, make, pkg-config or libmodbus).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from wall_clock import wall_clock_fixture

import presshil
from presshil.acceptance.safety import run_safety
from presshil.errors import PressURLError
from presshil.fil import FilPress, build_firmware, missing_build_tools
from presshil.fil.safety import REALTIME_SAFETY
from presshil.press import Status

ROOT = Path(__file__).resolve().parents[1]
SHORT = ROOT / "firmware" / "protocols" / "fil-assembly-short.toml"
WHY = missing_build_tools()
pytestmark = [pytest.mark.skipif(WHY is not None, reason=f"firmware not buildable: {WHY}")]


def judged(result: presshil.RunResult) -> presshil.RunResult:
    """``result``, or a skip saying why when this machine could not keep real time: the run
    then ends as ``HostTooSlow`` with the measured lag, and the firmware was not judged."""
    if result.abort_reason and "HostTooSlow" in result.abort_reason:
        pytest.skip(f"this machine could not keep real time, the firmware was not judged: {result.abort_reason}")
    return result


@wall_clock_fixture(scope="module", realtime=True)
def firmware() -> Path:
    """The reference firmware, built from firmware/."""
    return build_firmware()


@pytest.mark.timeout(120)
def test_short_assembly_passes_in_the_loop_as_in_process(firmware: Path) -> None:
    proto = presshil.load_protocol(SHORT)
    in_process = presshil.run(proto, presshil.open_press("sim://?seed=1"))
    with FilPress.start(firmware, plant="sim://?seed=1") as press:
        result = judged(presshil.run(proto, press))
        reported = list(press.reported)
    assert in_process.passed
    assert result.passed, [v for v in result.verdicts if not v.passed] or result.abort_reason
    assert [v.criterion for v in result.verdicts] == [v.criterion for v in in_process.verdicts]
    # judged by the truth; what the firmware reported agrees with it within its sensors' errors
    hold = [s for s in reported if s.status & Status.AT_SETPOINT]
    assert len(hold) > 100
    assert max(abs(s.pressure_mpa - 74.0) for s in hold) < 0.5
    # the firmware identified itself
    assert result.identity.vendor == "presshil" and result.identity.firmware.startswith("1.0.0")
    timing = press.timing
    assert timing["plant"]["commands"] > 1000 and timing["firmware"]["loops"] > 1000


@pytest.mark.timeout(240)
def test_library_step_response_passes_in_the_loop_as_in_process(firmware: Path) -> None:
    """A protocol of the library, unchanged, judges the firmware as it judges the in-process
    reference controller (80 s of real time; assembly-74mpa is the same at six minutes)."""
    proto = presshil.load_protocol(ROOT / "protocols" / "step-response-74mpa.toml")
    in_process = presshil.run(proto, presshil.open_press("sim://?seed=1"))
    with FilPress.start(firmware, plant="sim://?seed=1") as press:
        result = judged(presshil.run(proto, press))
    assert in_process.passed
    assert result.passed, [v for v in result.verdicts if not v.passed] or result.abort_reason
    assert [(v.step, v.criterion) for v in result.verdicts] == [
        (v.step, v.criterion) for v in in_process.verdicts
    ]


@pytest.mark.timeout(120)
def test_reference_firmware_passes_the_safety_probes(firmware: Path) -> None:
    with FilPress.start(firmware, plant="sim://?seed=4") as press:
        section = run_safety(press, REALTIME_SAFETY, die_area_mm2=78.54)
    failed = [f"{c.name}: {c.detail}" for c in section.criteria if c.status != "pass"]
    assert not failed, failed
    assert len(section.criteria) == 7


@pytest.mark.timeout(60)
def test_firmware_over_modbus_rtu_on_a_pty(firmware: Path) -> None:
    with FilPress.start(firmware, plant="sim://?seed=5", link="rtu") as press:
        press.configure(die_area_mm2=78.54, soft_max_mpa=50.0)
        press.command(10.0, 10.0)
        end = time.monotonic() + 4.0
        while time.monotonic() < end:  # the behaviour under test: 4 s driven on the pty, no fault
            time.sleep(0.05)
            sample = press.read()
        assert not sample.faulted, Status.describe(sample.status)
        assert sample.pressure_mpa == pytest.approx(10.0, abs=0.3)  # the truth
    assert press.timing["plant"]["commands"] > 50


@pytest.mark.timeout(60)
def test_fil_url(firmware: Path) -> None:
    with pytest.raises(PressURLError, match="needs firmware=PATH"):
        presshil.open_press("fil://")
    with pytest.raises(PressURLError, match="plant_at"):
        presshil.open_press("fil://?host=127.0.0.1:1")
    with pytest.raises(PressURLError, match="@no-such"):
        presshil.open_press("fil://?firmware=@no-such")
    with pytest.raises(PressURLError, match="unknown parameter"):
        presshil.open_press("fil://?firmware=x&bogus=1")
    url = f"fil://?firmware={firmware}&plant=sim://%3Fseed%3D6"
    with presshil.open_press(url) as press:
        assert isinstance(press, FilPress)
        assert press.read().counter > 0
