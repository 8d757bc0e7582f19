"""Simulator speed: the numba kernel (+ fast path) against a naive one-event-per-tick loop.

Run with pytest-benchmark::

    python3 -m pytest benchmarks/bench_sim.py -s

or as a script that prints the figures::

    python3 benchmarks/bench_sim.py

Scenarios (default press auto-hydraulic-25t, default specimen nmc-lpscl-inli-10mm, seed 1):

* **assembly** — ramp to 74 MPa at 2 MPa/s, hold 300 s, release at 5 MPa/s, rest 30 s
  (367 s simulated), every 1 kHz tick computed (``fidelity=full``), read + heartbeat at 50 Hz
  as the runner does;
* **breathing** — 15 MPa held for 100 cycles x 2 h (200 h simulated) while the cell breathes,
  fast path on (the default), read + heartbeat at 0.2 Hz.

The naive baseline (:mod:`presshil.sim.reference_loop`: one ``env.timeout(0.001)`` per tick,
the same tick function in pure Python, ``NUMBA_DISABLE_JIT=1`` in a subprocess) is timed on a
short excerpt of each scenario and extrapolated linearly per tick (its cost per tick does not
depend on the state); the report says so. Speed factor = simulated seconds / wall seconds.

The breathing benchmark also checks the fast path against full fidelity on a 2 h excerpt:
every 5 s sample within 0.02 MPa.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from presshil import open_press

ASSEMBLY_S = 37.0 + 300.0 + 14.8 + 15.2  # ramp, hold, release, rest
BREATHING_S = 100 * 7200.0
NAIVE_EXCERPT_S = float(os.environ.get("PRESSHIL_BENCH_NAIVE_S", "20"))
EQUIVALENCE_S = 7200.0

_results: dict[str, float] = {}


def run_assembly(fidelity: str = "full") -> tuple[float, float]:
    """The 74 MPa assembly; returns (simulated s, wall s)."""
    press = open_press(f"sim://auto-hydraulic-25t?seed=1&fidelity={fidelity}")
    clock = press.clock
    wall0 = time.perf_counter()
    press.command(74.0, 2.0)
    t, dt = 0.0, 0.02
    released = False
    while t < ASSEMBLY_S:
        t += dt
        if not released and t >= 37.0 + 300.0:
            press.release(5.0)
            released = True
        clock.sleep_until(t)
        press.heartbeat()
        press.read()
    return ASSEMBLY_S, time.perf_counter() - wall0


def run_breathing(duration_s: float = BREATHING_S, fidelity: str = "fast", read_dt: float = 5.0):
    """15 MPa hold under breathing; returns (simulated s, wall s, readings)."""
    press = open_press(f"sim://auto-hydraulic-25t?seed=1&fidelity={fidelity}")
    clock = press.clock
    wall0 = time.perf_counter()
    press.command(15.0, 0.5)
    n = round(duration_s / read_dt)
    readings = np.empty(n)
    for k in range(n):
        clock.sleep_until((k + 1) * read_dt)
        press.heartbeat()
        readings[k] = press.read().pressure_mpa
    return duration_s, time.perf_counter() - wall0, readings


def run_naive(scenario: str, excerpt_s: float = NAIVE_EXCERPT_S) -> tuple[float, float]:
    """Time the naive loop on ``excerpt_s`` of ``scenario`` (pure Python, subprocess)."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run(
        [sys.executable, "-m", "presshil.sim.reference_loop", scenario, str(excerpt_s)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return figures["sim_s"], figures["wall_s"]


def _warm() -> None:
    open_press("sim://?seed=1").clock.sleep_until(0.01)  # JIT / cache load outside the timings


# ------------------------------------------------------------------------------ pytest
def test_assembly_full_fidelity(benchmark) -> None:
    """74 MPa assembly, every tick computed."""
    _warm()
    sim_s, wall_s = benchmark.pedantic(run_assembly, rounds=3, iterations=1)
    wall_s = benchmark.stats.stats.min
    _results["assembly_speed"] = sim_s / wall_s
    benchmark.extra_info["simulated_s"] = sim_s
    benchmark.extra_info["speed_factor"] = sim_s / wall_s
    benchmark.extra_info["us_per_tick"] = wall_s / (sim_s * 1000) * 1e6


def test_assembly_naive_baseline(benchmark) -> None:
    """The same assembly on the naive loop: an excerpt, extrapolated per tick."""
    sim_s, wall_s = benchmark.pedantic(run_naive, args=("assembly",), rounds=1, iterations=1)
    speed = sim_s / wall_s
    _results["assembly_naive_speed"] = speed
    benchmark.extra_info["excerpt_simulated_s"] = sim_s
    benchmark.extra_info["speed_factor"] = speed
    benchmark.extra_info["extrapolated_wall_s"] = ASSEMBLY_S / speed


def test_breathing_hold_fast_path(benchmark) -> None:
    """200 h breathing hold at 15 MPa on the fast path."""
    _warm()
    sim_s, _wall, readings = benchmark.pedantic(run_breathing, rounds=1, iterations=1)
    wall_s = benchmark.stats.stats.min
    _results["breathing_speed"] = sim_s / wall_s
    benchmark.extra_info["simulated_s"] = sim_s
    benchmark.extra_info["speed_factor"] = sim_s / wall_s
    settled = readings[120:]  # after the ramp and 10 min of settling
    assert np.all(np.abs(settled - 15.0) < 0.25)


def test_breathing_naive_baseline(benchmark) -> None:
    """The breathing hold on the naive loop: an excerpt, extrapolated to 200 h."""
    sim_s, wall_s = benchmark.pedantic(run_naive, args=("breathing",), rounds=1, iterations=1)
    speed = sim_s / wall_s
    _results["breathing_naive_speed"] = speed
    benchmark.extra_info["excerpt_simulated_s"] = sim_s
    benchmark.extra_info["speed_factor"] = speed
    benchmark.extra_info["extrapolated_wall_s"] = BREATHING_S / speed


def test_fast_path_matches_full_fidelity_on_2h() -> None:
    """Fast path vs every tick, 2 h excerpt of the breathing hold, same sample times."""
    _, wall_full, full = run_breathing(EQUIVALENCE_S, fidelity="full")
    _, wall_fast, fast = run_breathing(EQUIVALENCE_S, fidelity="fast")
    diff = np.abs(full - fast)
    _results["equivalence_max_diff_mpa"] = float(diff.max())
    _results["equivalence_mean_diff_mpa"] = float((full - fast).mean())
    _results["excerpt_full_speed"] = EQUIVALENCE_S / wall_full
    _results["excerpt_fast_speed"] = EQUIVALENCE_S / wall_fast
    assert diff.max() < 0.02


def report() -> str:
    """Figures gathered so far, as text."""
    r = _results
    lines = ["presshil simulator speed (speed factor = simulated s / wall s)"]
    if "assembly_speed" in r:
        lines.append(
            f"  assembly 74 MPa, full fidelity (1 kHz, {ASSEMBLY_S:.0f} s): {r['assembly_speed']:10.0f} x real time"
        )
    if "assembly_naive_speed" in r:
        lines.append(
            f"  assembly, naive one-event-per-tick loop ({NAIVE_EXCERPT_S:g} s excerpt, extrapolated): "
            f"{r['assembly_naive_speed']:8.1f} x real time"
        )
        if "assembly_speed" in r:
            lines.append(
                f"  -> kernel / naive: {r['assembly_speed'] / r['assembly_naive_speed']:8.0f} x"
            )
    if "breathing_speed" in r:
        lines.append(
            f"  breathing hold 15 MPa, 200 h, fast path: {r['breathing_speed']:10.0f} x real time "
            f"({BREATHING_S / r['breathing_speed']:.2f} s wall)"
        )
    if "breathing_naive_speed" in r:
        lines.append(
            f"  breathing, naive loop ({NAIVE_EXCERPT_S:g} s excerpt, extrapolated): "
            f"{r['breathing_naive_speed']:8.1f} x real time ({BREATHING_S / r['breathing_naive_speed'] / 3600:.1f} h wall)"
        )
        if "breathing_speed" in r:
            lines.append(
                f"  -> fast path / naive: {r['breathing_speed'] / r['breathing_naive_speed']:8.0f} x"
            )
    if "equivalence_max_diff_mpa" in r:
        lines.append(
            f"  fast vs full fidelity on a 2 h excerpt: max |dp| = {r['equivalence_max_diff_mpa']:.4f} MPa "
            f"(mean {r['equivalence_mean_diff_mpa']:+.4f}); full {r['excerpt_full_speed']:.0f} x, "
            f"fast {r['excerpt_fast_speed']:.0f} x"
        )
    return "\n".join(lines)


def test_zz_report(capsys) -> None:
    """Print the side-by-side figures (run last; use -s to see them)."""
    with capsys.disabled():
        print("\n" + report())


if __name__ == "__main__":
    _warm()
    sim, wall = min((run_assembly() for _ in range(3)), key=lambda r: r[1])
    _results["assembly_speed"] = sim / wall
    sim, wall = run_naive("assembly")
    _results["assembly_naive_speed"] = sim / wall
    sim, wall, _ = run_breathing()
    _results["breathing_speed"] = sim / wall
    sim, wall = run_naive("breathing")
    _results["breathing_naive_speed"] = sim / wall
    test_fast_path_matches_full_fidelity_on_2h()
    print(report())
