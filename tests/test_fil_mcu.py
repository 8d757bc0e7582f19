"""The binary that ships, in the loop: the reference firmware built for a Cortex-M3
(``make TARGET=mps2-an385``) and run under QEMU against the plant.

Real time: each run takes seconds to tens of seconds. Skipped, with the reason, where the
cross toolchain (gcc-arm-none-eabi, libnewlib-arm-none-eabi) or qemu-system-arm is missing.
A machine too loaded to run QEMU and the plant in real time ends the run as ``HostTooSlow``;
those tests then skip naming the lag, as tests/test_fil.py does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from waiting import wait_for
from wall_clock import wall_clock_fixture

import presshil
from presshil.errors import PressURLError, TransportTimeout
from presshil.fil import FLAVOURS, build_firmware
from presshil.fil.build import missing_mcu_build_tools
from presshil.fil.mcu import McuFilPress, start_mcu
from presshil.fil.qemu import check_elf, missing_qemu
from presshil.fil.realtime_budget import BLAME_SHARE, STALE_SENSOR_BUDGET_MS, HostTooSlow
from presshil.press import Status

ROOT = Path(__file__).resolve().parents[1]
SHORT = ROOT / "firmware" / "protocols" / "fil-assembly-short.toml"
WHY = missing_mcu_build_tools() or missing_qemu()
pytestmark = [pytest.mark.skipif(WHY is not None, reason=f"MCU firmware cannot run here: {WHY}")]


def judged(result: presshil.RunResult) -> presshil.RunResult:
    """``result``, or a skip naming the lag when this machine could not keep real time."""
    if result.abort_reason and "HostTooSlow" in result.abort_reason:
        pytest.skip(f"this machine could not keep real time, the firmware was not judged: {result.abort_reason}")
    return result


def start(elf: Path, plant: str) -> McuFilPress:
    try:
        return start_mcu(elf, plant=plant)
    except HostTooSlow as exc:
        pytest.skip(f"this machine could not keep real time while QEMU started: {exc}")


@wall_clock_fixture(scope="module", realtime=True)
def elf() -> Path:
    """The reference firmware, built for mps2-an385."""
    return build_firmware(target="mps2-an385")


def test_every_flavour_builds_for_the_mcu_from_the_same_control_code(elf: Path) -> None:
    check_elf(elf)  # a 32-bit ARM ELF
    header = elf.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[4] == 1 and int.from_bytes(header[18:20], "little") == 40
    for flavour in FLAVOURS:
        path = build_firmware(flavour, target="mps2-an385")
        assert path.suffix == ".elf" and path.parent.name == "mps2-an385"
    # no heap: nothing links malloc, and the control law is the host build's file
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in symbols.splitlines()}
    assert "control_step" in names and "hostif_write" in names
    assert not names & {"malloc", "_malloc_r", "free", "calloc"}, names & {"malloc", "_malloc_r"}
    info = subprocess.run(["arm-none-eabi-readelf", "--debug-dump=info", str(elf)], capture_output=True, text=True, check=True).stdout
    units = {line.rsplit(":", 1)[-1].strip() for line in info.splitlines() if "DW_AT_name" in line and line.rstrip().endswith(".c")}
    assert {"src/control.c", "src/hostif.c", "mcu/hal_mcu.c", "mcu/mbrtu.c"} <= units, units
    assert "src/hal_posix.c" not in units and "src/main.c" not in units


@pytest.mark.timeout(180)
def test_short_assembly_passes_on_the_mcu_build_judged_by_the_plant(elf: Path) -> None:
    proto = presshil.load_protocol(SHORT)
    in_process = presshil.run(proto, presshil.open_press("sim://?seed=1"))
    url = "fil://?firmware=@reference&target=mps2-an385&plant=sim://%3Fseed%3D1"
    try:
        press = presshil.open_press(url)
    except HostTooSlow as exc:
        pytest.skip(f"this machine could not keep real time while QEMU started: {exc}")
    with press:
        assert isinstance(press, McuFilPress)
        result = judged(presshil.run(proto, press))
        reported = list(press.reported)
    assert in_process.passed
    assert result.passed, [v for v in result.verdicts if not v.passed] or result.abort_reason
    assert [v.criterion for v in result.verdicts] == [v.criterion for v in in_process.verdicts]
    hold = [s for s in reported if s.status & Status.AT_SETPOINT]
    assert len(hold) > 100
    assert max(abs(s.pressure_mpa - 74.0) for s in hold) < 0.5  # what the MCU reported
    assert result.identity.firmware.startswith("1.0.0")
    assert "mps2-an385" in result.identity.model
    timing = press.timing
    # the loop closed through the emulated UARTs, at a rate far below the host build's 1 kHz
    assert timing["plant"]["commands"] > 1000
    assert timing["firmware"]["loops"] > 1000 and 0 < timing["firmware"]["loop_hz"] <= 1000.5
    assert press.firmware.proc.poll() is not None  # QEMU is gone


def load_to_15_mpa(press: McuFilPress) -> None:
    """Command 20 MPa (no watchdog) and wait, bounded, until the press is past 15 MPa; a skip
    naming the lag when the machine cannot keep real time before the pause a test is about."""
    try:
        press.configure(die_area_mm2=78.5, soft_max_mpa=80.0, watchdog_ms=0)
        press.command(20.0, 10.0)
        wait_for(lambda: press.read().pressure_mpa >= 15.0, timeout_s=15.0, what="15 MPa", poll_s=0.05)
    except (HostTooSlow, TransportTimeout) as exc:
        pytest.skip(f"this machine could not keep real time before the pause: {exc}")


@pytest.mark.timeout(120)
def test_a_paused_plant_ends_as_host_too_slow_not_as_a_firmware_failure(elf: Path) -> None:
    press = start(elf, "sim://?seed=1")
    with press:
        load_to_15_mpa(press)
        assert press.read().pressure_mpa >= 15.0
        pid = press.plant_process.pid
        os.kill(pid, signal.SIGSTOP)  # the plant gets no CPU: its samples stop
        time.sleep(0.3)  # the behaviour under test: the plant paused this long
        os.kill(pid, signal.SIGCONT)
        with pytest.raises(HostTooSlow, match="cannot keep real time"):
            for _ in range(100):
                press.read()  # reads go on at a pace until the lag is noticed (the behaviour)
                time.sleep(0.02)
        assert press._budget["kept_real_time"] is False


@pytest.mark.timeout(120)
def test_a_paused_emulator_is_not_a_plant_timeout(elf: Path) -> None:
    """QEMU stopped for 120 ms (its host did not schedule it) with the plant running: on
    silicon the CPU never stops, so the firmware must not count that gap against the plant's
    35 ms reply timeout. It carries on without a fault, and its STATS line reports the stall."""
    press = start(elf, "sim://?seed=1")
    with press:
        load_to_15_mpa(press)
        time.sleep(1.1)  # a fresh STATS line: the firmware's link before the pause
        before = dict(press.firmware.stats)
        truth = press.plant.truth()
        if (before.get("plant_errors", 0) or before.get("sensor_errors", 0)
                or float(truth["max_read_gap"]) > BLAME_SHARE * STALE_SENSOR_BUDGET_MS):
            pytest.skip(f"this machine could not keep real time before the pause: {before}, "
                        f"read gap {float(truth['max_read_gap']):.0f} ms")
        qemu = press.firmware.proc.pid
        os.killpg(qemu, signal.SIGSTOP)  # its own process group: every thread stops
        time.sleep(0.12)  # under the plant's 250 ms link-quiet limit: the press stays driven
        os.killpg(qemu, signal.SIGCONT)
        time.sleep(1.5)  # a STATS line (one a second) after the pause
        reported = press.host.read()  # the firmware's own state, not the judge's
        lag = float(press.plant.truth()["max_rt_lag"])
        if lag > BLAME_SHARE * STALE_SENSOR_BUDGET_MS:  # the plant itself stalled too: not what this test is about
            pytest.skip(f"the plant lagged {lag:.0f} ms: this machine could not keep real time")
        assert not reported.status & Status.FAULT, (reported.fault_code, before, press.firmware.stats)
        assert press.read().pressure_mpa > 15.0
        stats = dict(press.firmware.stats)
    assert stats["stalls"] >= 1 and stats["max_stall_us"] >= 100_000, stats


def test_mcu_url_keys_belong_to_target() -> None:
    with pytest.raises(PressURLError, match="apply to target=BOARD"):
        presshil.open_press("fil://?firmware=x&host_uart=2")
    with pytest.raises(PressURLError, match="host_uart/plant_uart are for firmware=PATH.elf"):
        presshil.open_press("fil://?firmware=@reference&target=mps2-an385&host_uart=3")
    with pytest.raises(PressURLError, match="@no-such"):
        presshil.open_press("fil://?firmware=@no-such&target=mps2-an385")


@pytest.mark.slow
@pytest.mark.realtime  # builds its own firmware and runs it under QEMU
@pytest.mark.timeout(120)
def test_a_users_elf_on_other_uarts(tmp_path: Path) -> None:
    """``firmware=PATH.elf&host_uart=N&plant_uart=M``: the reference sources built with the
    host on UART 3 and the plant on UART 4 (console on UART 0) run only when told so."""
    import shutil

    fw = tmp_path / "fw"
    shutil.copytree(ROOT / "firmware", fw, ignore=shutil.ignore_patterns("build"))
    subprocess.run(
        ["make", "-s", "-C", str(fw), "TARGET=mps2-an385", "BUILD=out", "CROSS=arm-none-eabi-",
         "MCU_EXTRA=-DFW_UART_HOST=3 -DFW_UART_PLANT=4"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    elf = fw / "out" / "mps2-an385" / "presshil-fw.elf"
    url = f"fil://?firmware={elf}&target=mps2-an385&host_uart=3&plant_uart=4&ready_timeout=30"
    try:
        press = presshil.open_press(url)
    except HostTooSlow as exc:
        pytest.skip(f"this machine could not keep real time while QEMU started: {exc}")
    with press:
        assert isinstance(press, McuFilPress)
        assert "-serial" in press.firmware.argv
        serials = [press.firmware.argv[i + 1] for i, a in enumerate(press.firmware.argv) if a == "-serial"]
        assert serials[0] == "stdio" and serials[3] == "pty" and serials[4].startswith("/dev/")
        assert serials[1] == serials[2] == "null"
        assert press.identity.firmware.startswith("1.0.0")
        assert press.host.read().counter > 0
    # the same binary on the default UARTs never hears the plant: no READY
    with pytest.raises(Exception, match="did not print READY"):
        presshil.open_press(f"fil://?firmware={elf}&target=mps2-an385&ready_timeout=3")
