"""Firmware in the loop on a busy machine: the short assembly under a bounded CPU hog.

    python3 benchmarks/bench_fil_load.py [--hogs 2] [--trials 2]

Each trial runs ``firmware/protocols/fil-assembly-short.toml`` through the reference
firmware twice, side by side: quiet, then with ``--hogs`` busy-loop processes (each bounded
to the trial's length + 5 s). Prints per run: status, abort reason, and the plant-lag budget
(worst real-time lag of the plant against the firmware's 50 ms stale-sensor limit). A
SENSOR fault the lag explains ends as ``HostTooSlow`` (aborted, the host's fault), never as
a failed firmware. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import presshil
from presshil.fil import FilPress, build_firmware, missing_build_tools

ROOT = Path(__file__).resolve().parent.parent
SHORT = ROOT / "firmware" / "protocols" / "fil-assembly-short.toml"


def hog(seconds: float) -> None:
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1


def one_run(firmware: Path, hogs: int, bound_s: float) -> str:
    procs = [mp.Process(target=hog, args=(bound_s,), daemon=True) for _ in range(hogs)]
    for p in procs:
        p.start()
    try:
        proto = presshil.load_protocol(SHORT)
        with FilPress.start(firmware, plant="sim://?seed=1") as press:
            result = presshil.run(proto, press)
        budget = press.timing.get("realtime_budget", {})
        plant = press.timing.get("plant") or {}
        lag = plant.get("rt_lag_ms", {})
        why = f" ({result.abort_reason})" if getattr(result, "abort_reason", None) else ""
        return (
            f"{result.status}{why}; plant lag p99 {lag.get('p99', float('nan')):.1f} ms, "
            f"max {lag.get('max', float('nan')):.1f} ms vs budget "
            f"{budget.get('budget_ms', 50.0):.0f} ms"
        )
    finally:
        for p in procs:
            p.terminate()
            p.join(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--bound-s", type=float, default=90.0, help="a hog's longest life")
    args = parser.parse_args(argv)
    why = missing_build_tools()
    if why:
        print(f"skipped: firmware not buildable: {why}")
        return 0
    firmware = build_firmware()
    for trial in range(args.trials):
        print(f"trial {trial + 1}: quiet:  {one_run(firmware, 0, args.bound_s)}", flush=True)
        print(
            f"trial {trial + 1}: {args.hogs} hogs: {one_run(firmware, args.hogs, args.bound_s)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
