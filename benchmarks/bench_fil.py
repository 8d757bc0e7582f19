"""Firmware-in-the-loop timing, side by side with the in-process reference controller.

Prints, for the C reference firmware closing the loop over the plant (Modbus TCP, and
Modbus RTU on a pty):

* sensor-sample → actuator-command latency as the plant sees it (p50 / p99 / max): from the
  time the sample the command names was due to the command's arrival;
* the firmware's achieved loop rate (median command interval, and its own count);
* the plant's real-time lag (how late each newest sample became readable);

and, for comparison, the in-process reference controller served in real time
(``presshil serve``: the model's own 1 kHz firmware, zero wire latency inside the model):
its sample period and the server's lag seen by a host polling it.

    python3 benchmarks/bench_fil.py [--seconds 10]

Needs the firmware buildable (make, cc, pkg-config, libmodbus-dev).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import presshil
from presshil.device.spawn import SpawnedServer
from presshil.fil import FilPress, build_firmware, missing_build_tools


def _fil(link: str, seconds: float) -> dict:
    with FilPress.start(build_firmware(), plant="sim://?seed=1", link=link) as press:
        press.configure(die_area_mm2=78.54, soft_max_mpa=80.0)
        press.command(74.0, 10.0)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(0.02)
            press.read()
    return press.timing


def _reference(seconds: float) -> dict:
    """In-process controller: poll a ``presshil serve`` subprocess, count its samples."""
    with SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        press = presshil.open_press(server.urls["modbus_tcp"] + "&timeout=0.2")
        press.configure(die_area_mm2=78.54, soft_max_mpa=80.0)
        press.command(74.0, 10.0)
        first = press.read()
        t0 = time.monotonic()
        lags = []
        end = t0 + seconds
        while time.monotonic() < end:
            time.sleep(0.02)
            s = press.read()
            # device time vs wall time since the first read: how far the model lags
            lags.append(((time.monotonic() - t0) - (s.t_s - first.t_s)) * 1e3)
        last = press.read()
        press.safe_state()
        press.close()
    elapsed = time.monotonic() - t0
    base = statistics.median(lags[:10]) if len(lags) > 10 else 0.0
    rel = sorted(v - base for v in lags)
    return {
        "samples_per_s": (last.counter - first.counter) / elapsed,
        "lag_p50": rel[len(rel) // 2],
        "lag_p99": rel[int(0.99 * (len(rel) - 1))],
        "lag_max": rel[-1],
    }


def _row(name: str, t: dict) -> str:
    plant, fw = t.get("plant") or {}, t.get("firmware") or {}
    lat, lag = plant.get("latency_ms", {}), plant.get("rt_lag_ms", {})
    return (
        f"  {name:<28} latency p50 {lat.get('p50', float('nan')):6.3f}  p99 "
        f"{lat.get('p99', float('nan')):6.3f}  max {lat.get('max', float('nan')):7.3f} ms | "
        f"loop {plant.get('loop_rate_hz', float('nan')):6.0f} Hz (firmware: "
        f"{fw.get('loop_hz', float('nan')):.0f} Hz, {fw.get('overruns', 0):.0f} overruns) | "
        f"plant lag p50 {lag.get('p50', float('nan')):.3f} p99 {lag.get('p99', float('nan')):.3f} "
        f"max {lag.get('max', float('nan')):.3f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    why = missing_build_tools()
    if why:
        print(f"bench_fil: skipped: {why}")
        return 0
    print(f"presshil firmware in the loop: ramp to 74 MPa and hold, {args.seconds:g} s each")
    print(_row("C firmware, Modbus TCP", _fil("tcp", args.seconds)))
    print(_row("C firmware, Modbus RTU (pty)", _fil("rtu", args.seconds)))
    ref = _reference(args.seconds)
    print(
        f"  {'in-process reference (serve)':<28} latency 0 (inside the model: the command of "
        f"tick k acts on tick k+1) | loop {ref['samples_per_s']:6.0f} Hz | model lag vs wall "
        f"(host-polled) p50 {ref['lag_p50']:.3f} p99 {ref['lag_p99']:.3f} max {ref['lag_max']:.3f} ms"
    )
    return 0


def test_bench_fil() -> None:
    """pytest entry: a short run that prints its figures."""
    assert main(["--seconds", "3"]) == 0


if __name__ == "__main__":
    sys.exit(main())
