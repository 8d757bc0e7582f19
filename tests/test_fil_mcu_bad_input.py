"""Bad input to the MCU form of fil://: one line each, exit 2 (refused before anything ran)
or 3 (aborted), and QEMU never left running.

The binaries that misbehave are built here from the firmware's own startup code and HAL with
a main() of the test's: one that never prints READY, one that HardFaults before READY and one
that HardFaults after it. Skipped, with the reason, where the cross toolchain or QEMU is
missing.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.fil.build import FIRMWARE_DIR, missing_mcu_build_tools
from presshil.fil.qemu import missing_qemu

ROOT = Path(__file__).resolve().parents[1]
SHORT = ROOT / "firmware" / "protocols" / "fil-assembly-short.toml"
WHY = missing_mcu_build_tools() or missing_qemu()
pytestmark = [pytest.mark.skipif(WHY is not None, reason=f"MCU firmware cannot run here: {WHY}"), pytest.mark.slow, pytest.mark.realtime]

NEVER_READY = """
#include "hal_mcu.h"
int main(void) { hal_mcu_init(); console_puts("BOOT waiting for nothing\\n"); for (;;) hal_mcu_idle(); }
"""
FAULT_AT_BOOT = """
#include "hal_mcu.h"
int main(void) { hal_mcu_init(); ((void (*)(void))0xFFFFFFF1u)(); return 0; }
"""
FAULT_AFTER_READY = """
#include "hal.h"
#include "hal_mcu.h"
int main(void)
{
    hal_mcu_init();
    console_puts("READY host=uart2 plant=uart1 revision=test\\n");
    uint64_t t = hal_time_us() + 300000u;
    while (hal_time_us() < t)
        hal_mcu_idle();
    *(volatile uint32_t *)0xFFFFFFF0u = 1u; /* a bus fault, escalated to HardFault */
    return 0;
}
"""


def build_test_elf(tmp_path: Path, name: str, main_c: str) -> Path:
    """The firmware's startup, HAL and drivers with ``main_c`` as main()."""
    src = tmp_path / f"{name}.c"
    src.write_text(main_c)
    out = tmp_path / f"{name}.elf"
    fw = FIRMWARE_DIR
    subprocess.run(
        ["arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb", "-O1", "-std=c99", "-ffreestanding",
         f"-I{fw / 'src'}", f"-I{fw / 'mcu'}", "--specs=nano.specs", "-nostartfiles",
         f"-Wl,-T,{fw / 'mcu' / 'mps2-an385.ld'}", "-Wl,--gc-sections", "-o", str(out), str(src),
         *(str(fw / p) for p in ("src/control.c", "src/hostif.c", "src/plant_codec.c", "mcu/hal_mcu.c", "mcu/mbrtu.c",
                                 "mcu/uart.c", "mcu/startup.c")),
         "-lm", "-lc", "-lgcc"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out


def qemu_running(elf: Path) -> list[int]:
    """Processes whose command line names ``elf`` (a QEMU left behind)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if str(elf).encode() in cmdline and b"qemu-system-arm" in cmdline:
                found.append(int(proc.name))
    return found


def run(url: str, tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", str(SHORT), "--press", url, "--db", str(tmp_path / "r.sqlite"), "-q"])
    return result.exit_code, result.output.strip()


def test_a_board_qemu_does_not_know_is_refused_in_one_line(tmp_path: Path) -> None:
    code, out = run("fil://?firmware=@reference&target=stm32-no-such-board", tmp_path)
    assert code == 2, out
    assert len(out.splitlines()) == 1, out
    assert "target='stm32-no-such-board' is not a board qemu-system-arm knows" in out
    assert "target=mps2-an385" in out  # says what is allowed
    # a board QEMU knows but the reference firmware is not built for
    code, out = run("fil://?firmware=@reference&target=mps2-an505", tmp_path)
    assert code == 2 and "no build for target='mps2-an505'" in out, out


def test_an_elf_for_another_architecture_is_refused_in_one_line(tmp_path: Path) -> None:
    host_elf = Path("/bin/true").resolve()
    code, out = run(f"fil://?firmware={host_elf}&target=mps2-an385", tmp_path)
    assert code == 2, out
    assert len(out.splitlines()) == 1, out
    assert "an ELF for x86-64 (64-bit), not 32-bit ARM" in out or "not 32-bit ARM" in out, out
    text = tmp_path / "fw.elf"
    text.write_text("not firmware\n")
    code, out = run(f"fil://?firmware={text}&target=mps2-an385", tmp_path)
    assert code == 2 and "not an ELF file" in out, out
    code, out = run(f"fil://?firmware={tmp_path / 'missing.elf'}&target=mps2-an385", tmp_path)
    assert code == 2 and "no such file" in out, out
    assert not qemu_running(host_elf)


@pytest.mark.timeout(90)
def test_a_binary_that_never_signals_ready_is_aborted_and_qemu_stopped(tmp_path: Path) -> None:
    elf = build_test_elf(tmp_path, "never_ready", NEVER_READY)
    t0 = time.monotonic()
    code, out = run(f"fil://?firmware={elf}&target=mps2-an385&ready_timeout=3", tmp_path)
    assert code == 3, out
    assert len(out.splitlines()) == 1, out
    assert "did not print READY on its console within 3 s" in out
    assert "BOOT waiting for nothing" in out  # what the console did say
    assert time.monotonic() - t0 < 60
    assert not qemu_running(elf)


@pytest.mark.timeout(90)
def test_a_binary_that_hardfaults_is_aborted_naming_the_fault(tmp_path: Path) -> None:
    elf = build_test_elf(tmp_path, "fault_at_boot", FAULT_AT_BOOT)
    code, out = run(f"fil://?firmware={elf}&target=mps2-an385&ready_timeout=10", tmp_path)
    assert code == 3, out
    assert len(out.splitlines()) == 1, out
    assert "crashed before READY" in out and "HARDFAULT pc=" in out
    assert not qemu_running(elf)
    elf = build_test_elf(tmp_path, "fault_after_ready", FAULT_AFTER_READY)
    code, out = run(f"fil://?firmware={elf}&target=mps2-an385&ready_timeout=10", tmp_path)
    assert code == 3, out
    assert len(out.splitlines()) == 1, out
    assert "crashed under QEMU: HARDFAULT pc=" in out, out
    assert "cfsr=" in out
    assert not qemu_running(elf)
