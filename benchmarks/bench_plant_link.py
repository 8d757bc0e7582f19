"""The judge's link to a freshly started plant: how long its first reads take.

    python3 benchmarks/bench_plant_link.py                 # 5 start-ups x 200 reads
    python3 benchmarks/bench_plant_link.py --hogs 3        # the same beside 3 busy processes

For each start-up of a plant subprocess (``python3 -m presshil.plant``) it prints the time
the judge's link took to connect and read the nameplate and channel count, then the worst
and median of 200 ground-truth reads. A figure near the link's per-request timeout (1 s)
would mean the judge can time out on a machine this loaded. Nothing is asserted; the hogs
are bounded (they stop with the script).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

from presshil.fil.plant_link import PlantLink
from presshil.plant.spawn import SpawnedPlant


def _hog(stop_at: float) -> None:
    while time.monotonic() < stop_at:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--startups", type=int, default=5)
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--hogs", type=int, default=0, help="busy processes beside the plant")
    args = ap.parse_args()
    hogs = [
        multiprocessing.Process(target=_hog, args=(time.monotonic() + 600.0,), daemon=True)
        for _ in range(args.hogs)
    ]
    for h in hogs:
        h.start()
    try:
        worst = []
        for k in range(args.startups):
            plant = SpawnedPlant("sim://?seed=1")
            try:
                t0 = time.perf_counter()
                link = PlantLink(plant.endpoints["modbus_tcp"])
                ready_ms = (time.perf_counter() - t0) * 1e3
                reads = []
                for _ in range(args.reads):
                    t = time.perf_counter()
                    link.truth()
                    reads.append((time.perf_counter() - t) * 1e3)
                link.close()
            finally:
                plant.stop()
            worst.append(max(reads))
            print(f"start-up {k + 1}: link ready in {ready_ms:.1f} ms; {args.reads} reads: "
                  f"median {statistics.median(reads):.2f} ms, worst {max(reads):.1f} ms")
        print(f"worst read over {args.startups} start-ups with {args.hogs} hogs: {max(worst):.1f} ms "
              f"(per-request timeout 1000 ms)")
    finally:
        for h in hogs:
            h.terminate()


if __name__ == "__main__":
    main()
