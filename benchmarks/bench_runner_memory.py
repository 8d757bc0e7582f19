"""Memory of a long run: peak RSS of the 200 h cycling protocol against a 20 h version of it.

Each run is a fresh subprocess (peak RSS is per process): the protocol library's
cycling-hold-15mpa (100 cycles, 200 h simulated) and the same file cut to 10 cycles (20 h),
both on the default simulated press with a results store, as `presshil run` does; beside
them, the 200 h run with no store (the trace kept in memory) as the baseline. A runner
that kept the trace in memory would need ten times the sample memory for the long run; flat
memory shows as a ratio near 1.

    python3 benchmarks/bench_runner_memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import presshil
from presshil.protocol import parse_protocol
from presshil.store import Store

text = Path(sys.argv[1]).read_text()
cycles = int(sys.argv[2])
text = text.replace("count = 100", f"count = {cycles}")
proto = parse_protocol(text, "cycling-hold-15mpa.toml")
press = presshil.open_press("sim://?seed=1")
base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
store = Store(Path(sys.argv[3])) if sys.argv[4] == "store" else None
t0 = time.perf_counter()
result = presshil.run(proto, press, store=store)
wall = time.perf_counter() - t0
if store is not None:
    store.close()
print(json.dumps({
    "cycles": cycles, "mode": sys.argv[4], "status": result.status, "wall_s": wall,
    "simulated_h": result.steps[-1].t_end_s / 3600,
    "base_mib": base_kib / 1024,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def measure(cycles: int, mode: str = "store") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT / "protocols" / "cycling-hold-15mpa.toml"), str(cycles),
             str(Path(tmp) / "r.sqlite"), mode],
            capture_output=True, text=True, check=True, timeout=600,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    short, long, in_memory = measure(10), measure(100), measure(100, "memory")
    for r in (short, long, in_memory):
        print(f"{r['cycles']:>3} cycles, {r['mode']:>6}, {r['simulated_h']:6.1f} h simulated: {r['status']}, "
              f"wall {r['wall_s']:5.2f} s, RSS after imports {r['base_mib']:6.1f} MiB, "
              f"peak {r['peak_mib']:6.1f} MiB (run added {r['peak_mib'] - r['base_mib']:5.1f} MiB)")
    grow_short = short["peak_mib"] - short["base_mib"]
    grow_long = long["peak_mib"] - long["base_mib"]
    print(f"peak RSS ratio 200 h / 20 h: {long['peak_mib'] / short['peak_mib']:.3f}; "
          f"memory the run added: {grow_long:.1f} vs {grow_short:.1f} MiB "
          f"for 10x the simulated time")
    print(f"baseline: the same 200 h run keeping its trace in memory (no store) added "
          f"{in_memory['peak_mib'] - in_memory['base_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
