"""What the press room costs a simulated run: the same run with the room and load-cell
temperature model on (as shipped) and with it bypassed, side by side, alternated so the
machine's load falls on both alike. Reports the median wall time of each and their ratio,
and the temperature change the drifting room gives over the run's hold.

    python3 benchmarks/bench_temperature.py [--repeats 5]

The run: ramp to 50 MPa, a 2 h hold at 2 Hz (14 400 samples), on ``sim://?seed=1`` with
cells of 0.02 %/°C, so the room's factor is applied to every sample.
"""

from __future__ import annotations

import argparse
import statistics
import time

import presshil
from presshil.protocol import parse_protocol
from presshil.runner import run
from presshil.sim.room import Room

PROTOCOL = """
name = "bench-temperature"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 80.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = 2.0
[[steps]]
type = "ramp"
to_mpa = 50.0
rate_mpa_s = 5.0
[[steps]]
type = "hold"
label = "hold"
duration_s = 7200
expect = { max_temperature_change_c = 5.0 }
"""
URL = "sim://?seed=1&load_cells.temperature_coefficient_pct_per_c=0.02"


def _once(bypass: bool) -> tuple[float, float]:
    original = Room.reading
    if bypass:  # no temperature at all: what a run cost before the room existed
        Room.reading = lambda self, t_s: (None, 1.0)  # type: ignore[method-assign,assignment,return-value]
    try:
        t0 = time.perf_counter()
        result = run(parse_protocol(PROTOCOL), presshil.open_press(URL))
        elapsed = time.perf_counter() - t0
    finally:
        Room.reading = original  # type: ignore[method-assign]
    change = [v.value for v in result.verdicts if v.criterion == "max_temperature_change_c"]
    return elapsed, change[0] if change else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    _once(False)  # compile the kernels once before timing
    on, off, change = [], [], float("nan")
    for _ in range(max(1, min(args.repeats, 50))):  # bounded
        t, change = _once(False)
        on.append(t)
        off.append(_once(True)[0])
    m_on, m_off = statistics.median(on), statistics.median(off)
    print(f"room on : median {m_on:.3f} s over {len(on)} runs")
    print(f"room off: median {m_off:.3f} s over {len(off)} runs")
    print(f"ratio on/off: {m_on / m_off:.3f}")
    print(f"temperature change over the 2 h hold: {change:.3f} °C "
          "(default room: 0.5 °C/h drift, ±0.2 °C swing)")


if __name__ == "__main__":
    main()
