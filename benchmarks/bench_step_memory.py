"""Memory of one long judged step: what a hold with criteria costs per sample, side by side
with a baseline source tree.

A hold with ``expect`` criteria needs its samples at the end of the step (metrics judge the
whole segment). This runs one such hold, with a results store as ``presshil run`` does, for a
short and a 4x longer duration, each in a fresh subprocess, and reports the peak RSS the run
added and the bytes per sample of the difference (the part that grows with the step). With
``--baseline SRC`` (a ``src/`` folder of another checkout, e.g. made with
``git worktree add /tmp/base <commit>``) the same runs use that code, side by side.

    python3 benchmarks/bench_step_memory.py [--hours 2] [--rate-hz 10] [--baseline /tmp/base/src]
"""

from __future__ import annotations

import argparse
import json
import os
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

hours, rate = float(sys.argv[1]), float(sys.argv[2])
text = f'''
name = "long-hold"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 20.0
max_rate_mpa_s = 2.0
[sampling]
rate_hz = {rate}
[[steps]]
type = "ramp"
to_mpa = 15.0
rate_mpa_s = 1.0
[[steps]]
type = "hold"
label = "hold"
duration_s = {hours * 3600}
expect = {{ settle_s = 30, band_mpa = 0.25, max_drift_mpa_per_min = 0.01 }}
[[steps]]
type = "release"
rate_mpa_s = 2.0
'''
proto = parse_protocol(text, "long-hold.toml")
press = presshil.open_press("sim://?seed=1")
store = Store(Path(sys.argv[3]))
base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
result = presshil.run(proto, press, store=store)
wall = time.perf_counter() - t0
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = store.get_run(result.run_id).n_samples
store.close()
print(json.dumps({"status": str(result.status), "samples": n, "wall_s": wall,
                  "added_mib": (peak_kib - base_kib) / 1024}))
"""


def measure(src: Path, hours: float, rate_hz: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), PRESSHIL_SIMS_DIR=str(ROOT / "sims"))
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(hours), str(rate_hz), str(Path(tmp) / "r.sqlite")],
            capture_output=True, text=True, check=True, timeout=1800, env=env,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_sample(short: dict, long: dict) -> float:
    """Bytes per sample of the growth between the short and the long run."""
    extra = long["samples"] - short["samples"]
    return (long["added_mib"] - short["added_mib"]) * 2**20 / extra if extra else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0, help="the short hold (the long is 4x)")
    ap.add_argument("--rate-hz", type=float, default=10.0)
    ap.add_argument("--baseline", type=Path, help="src/ folder of the code to compare with")
    args = ap.parse_args()
    trees = [("this tree", ROOT / "src")]
    if args.baseline is not None:
        trees.append(("baseline", args.baseline))
    rows = {}
    for label, src in trees:
        short = measure(src, args.hours, args.rate_hz)
        long = measure(src, 4 * args.hours, args.rate_hz)
        rows[label] = per_sample(short, long)
        for r, h in ((short, args.hours), (long, 4 * args.hours)):
            print(f"{label:>9}: {h:5.1f} h hold, {r['samples']:>8} samples, {r['status']}, "
                  f"wall {r['wall_s']:6.1f} s, run added {r['added_mib']:7.1f} MiB")
        print(f"{label:>9}: {rows[label]:.0f} bytes per sample of a judged step")
    if "baseline" in rows:
        print(f"ratio this tree / baseline: {rows['this tree'] / rows['baseline']:.2f}")


if __name__ == "__main__":
    main()
