"""Sampling jitter of the wall-clock runner at 100 Hz against `presshil serve` (Modbus TCP).

Prints the runner's lateness against its deadlines (p50 / p99 / max) beside a naive host loop
(read, then ``time.sleep(period)``) run the same length against the same server, whose
samples drift because every iteration adds the read time to the period.

    python3 benchmarks/bench_runner_jitter.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import presshil
from presshil.device.spawn import SpawnedServer
from presshil.protocol import parse_protocol
from presshil.runner import run

ROOT = Path(__file__).resolve().parents[1]


def protocol(hold_s: float) -> presshil.Protocol:
    text = (ROOT / "tests" / "data" / "quick-hold.toml").read_text()
    text = text.replace("rate_hz = 20", "rate_hz = 100").replace("duration_s = 10", f"duration_s = {hold_s:g}")
    return parse_protocol(text, "quick-hold @100 Hz")


def naive(press: presshil.Press, seconds: float, period_s: float) -> dict[str, float]:
    t0 = time.perf_counter()
    stamps = []
    while (now := time.perf_counter()) - t0 < seconds:
        stamps.append(now - t0)
        press.heartbeat()
        press.read()
        time.sleep(period_s)
    stamps_a = np.asarray(stamps)
    due = np.arange(len(stamps_a)) * period_s
    late_ms = (stamps_a - due) * 1e3
    intervals = np.diff(stamps_a) * 1e3
    return {
        "samples": len(stamps_a),
        "achieved_hz": (len(stamps_a) - 1) / stamps_a[-1],
        "drift_ms": float(late_ms[-1]),
        "interval_p50_ms": float(np.percentile(intervals, 50)),
        "interval_p99_ms": float(np.percentile(intervals, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="hold length (s)")
    args = parser.parse_args()
    with SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        url = server.urls["modbus_tcp"]
        with presshil.open_press(url) as press:
            result = run(protocol(args.seconds), press)
            j = result.jitter
            total_s = result.steps[-1].t_end_s
            print(f"runner (deadline-scheduled) at 100 Hz over {url}, {total_s:.1f} s, status {result.status}")
            print(f"  samples {j.count}, achieved {j.count / total_s:.2f} Hz")
            print(f"  lateness vs deadline: p50 {j.p50_ms:.3f} ms  p99 {j.p99_ms:.3f} ms  max {j.max_ms:.3f} ms")
            press.stop()
            press.reset()
            n = naive(press, total_s, 0.01)
            print(f"naive loop (read; sleep 10 ms), {total_s:.1f} s")
            print(f"  samples {n['samples']}, achieved {n['achieved_hz']:.2f} Hz, "
                  f"drift at the end {n['drift_ms']:.0f} ms")
            print(f"  interval p50 {n['interval_p50_ms']:.3f} ms  p99 {n['interval_p99_ms']:.3f} ms")
            print(f"ratio of achieved rates (runner / naive): {(j.count / total_s) / n['achieved_hz']:.3f}")


if __name__ == "__main__":
    main()
