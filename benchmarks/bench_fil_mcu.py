"""The host build and the MCU build (Cortex-M3 under QEMU) in the loop, side by side.

Both close the loop over the same plant link, Modbus RTU on a pseudo-terminal, so the only
difference is the firmware: the host program (POSIX HAL, libmodbus) or the bare-metal ELF
(CMSDK UART driver, its own RTU master and slave) run by ``qemu-system-arm -M mps2-an385``.
For each, ramp to 74 MPa and hold, then print:

* sample → command latency as the plant sees it (p50 / p99 / max): from the due time of the
  sample a command names to the command's arrival;
* the loop rate: commands per second at the plant, and the firmware's own count (STATS),
  with its overruns and, for the MCU, its longest control period;
* the plant's real-time lag (how late each newest sample became readable);
* how many times the firmware faulted (a stale-sensor trip when the machine cannot keep up)
  and was reset to carry on, or the host link timed out: the benchmark times the loop, it
  does not judge the firmware.

``--icount N`` adds a run of the MCU build under ``-icount shift=N`` (QEMU's virtual clock
tied to the instruction count instead of the host clock).

    python3 benchmarks/bench_fil_mcu.py [--seconds 10] [--icount 3]

QEMU is not cycle-accurate: the MCU figures are the emulator's on this machine, not a
Cortex-M3's at 25 MHz (see docs/firmware.md, "Timing under QEMU").
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from presshil.errors import PressError
from presshil.fil import FilPress, build_firmware, missing_build_tools
from presshil.fil.build import missing_mcu_build_tools
from presshil.fil.mcu import start_mcu
from presshil.fil.qemu import missing_qemu
from presshil.fil.realtime_budget import HostTooSlow


def _drive(press: FilPress, seconds: float) -> int:
    """Ramp and hold through the firmware's host interface (not the judge: this times the
    loop); a fault is reset and the command given again, a host-link timeout retried. The
    number of faults and host-link errors seen."""
    host = press.host
    host.configure(die_area_mm2=78.54, soft_max_mpa=80.0)
    trouble = 0
    commanded = False
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if host.read().faulted:
                trouble += 1
                host.reset()
                commanded = False
            if not commanded:
                host.command(74.0, 10.0)
                commanded = True
        except PressError:  # tripped again, or the host link timed out: carry on timing
            trouble += 1
        time.sleep(0.02)
    return trouble


def _host(seconds: float) -> dict[str, Any]:
    with FilPress.start(build_firmware(), plant="sim://?seed=1", link="rtu") as press:
        faults = _drive(press, seconds)
    return {**press.timing, "faults": faults}


def _mcu(seconds: float, icount: int | None = None) -> dict[str, Any]:
    elf = build_firmware(target="mps2-an385")
    with start_mcu(elf, plant="sim://?seed=1", icount_shift=icount, judge_start=False) as press:
        faults = _drive(press, seconds)
    return {**press.timing, "faults": faults}


def _row(name: str, t: dict[str, Any]) -> str:
    plant, fw = t.get("plant") or {}, t.get("firmware") or {}
    lat, lag = plant.get("latency_ms", {}), plant.get("rt_lag_ms", {})
    nan = float("nan")
    longest = f", longest period {fw['max_period_us'] / 1e3:.1f} ms" if "max_period_us" in fw else ""
    return (
        f"  {name:<34} latency p50 {lat.get('p50', nan):6.3f}  p99 {lat.get('p99', nan):7.3f}  "
        f"max {lat.get('max', nan):7.3f} ms | loop {plant.get('loop_rate_hz', nan):5.0f} Hz "
        f"(firmware: {fw.get('loop_hz', nan):.0f} Hz, {fw.get('overruns', 0):.0f} overruns{longest}) | "
        f"plant lag p50 {lag.get('p50', nan):.3f} p99 {lag.get('p99', nan):.3f} max {lag.get('max', nan):.3f} ms"
        f" | faults or link errors: {t.get('faults', 0)}"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--icount", type=int, default=None, help="also run under -icount shift=N")
    args = parser.parse_args(argv)
    why = missing_build_tools() or missing_mcu_build_tools() or missing_qemu()
    if why:
        print(f"bench_fil_mcu: skipped: {why}")
        return 0
    print(f"presshil firmware in the loop, plant link Modbus RTU on a pty: ramp to 74 MPa and hold, {args.seconds:g} s each")
    runs: list[tuple[str, Any]] = [
        ("host build (POSIX, libmodbus)", lambda: _host(args.seconds)),
        ("MCU build, QEMU mps2-an385", lambda: _mcu(args.seconds)),
    ]
    if args.icount is not None:
        runs.append((f"MCU build, QEMU -icount shift={args.icount}", lambda: _mcu(args.seconds, args.icount)))
    for name, run in runs:
        try:
            print(_row(name, run()), flush=True)
        except HostTooSlow as exc:
            print(f"  {name:<34} not measured: {exc}", flush=True)
    return 0


def test_bench_fil_mcu() -> None:
    """pytest entry: a short run that prints its figures."""
    assert main(["--seconds", "3"]) == 0


if __name__ == "__main__":
    sys.exit(main())
