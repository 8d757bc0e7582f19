"""Sweep throughput on Dask: 2 workers against 1, the cluster's cost per task, press-s per wall-s.

Run as a script (it starts its own local clusters; nothing leaves 127.0.0.1)::

    python3 benchmarks/bench_sweep.py                  # 200 variants of assembly-74mpa
    python3 benchmarks/bench_sweep.py --variants 40    # a smaller count on a busy machine

In one run it measures, side by side:

* **speed-up** — the same sweep (same spec and seed: the same variants) on a local cluster of
  1 worker and of 2 workers; wall time from the first submit to the last run recorded in the
  store (cluster start-up and kernel warm-up reported apart). Target ≥ 1.7× on 2 cores. The
  two sweeps' results are compared variant by variant (they must be equal);
* **per-task overhead** — the same number of tasks, each an empty batch, through the same
  client and scheduler; overhead per task as a fraction of one task's run time (target ≤ 5 %);
* **press-seconds per wall second** — one run alone in this process, against the 2-worker
  sweep's aggregate (simulated seconds of all runs / sweep wall time).

The machine's load average is printed before and after: on a shared machine the ratios say
more than the absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from presshil.protocol import load_protocol
from presshil.store import Store
from presshil.sweep import build_spec, parse_vary, start_sweep
from presshil.sweep.book import Book
from presshil.sweep.execute import batch_size_for, dask_client, worker_count
from presshil.sweep.worker import empty_batch, run_variant, warm_up

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "assembly-74mpa.toml"
VARY = [
    "load_cells.gain_error_pct=normal(0,0.3)",
    "actuator.valve_time_constant_ms=truncnormal(20,8,5,60)",
    "actuator.leak_flow_ml_per_min_at_rated=0..20",
]


def _spec(n: int, batch: int | None):
    return build_spec(str(PROTOCOL), "sim://", [parse_vary(v) for v in VARY], runs=n,
                      grid=False, seed=2026, batch_size=batch)


def single_run(repeats: int = 3) -> tuple[float, float]:
    """The protocol alone in this process, kernel warm: (simulated s, median wall s)."""
    warm_up()
    proto = load_protocol(PROTOCOL)
    runs = [run_variant(proto, 0, "sim://?seed=1") for _ in range(repeats)]
    return runs[0].sim_s, statistics.median(r.wall_s for r in runs)


def timed_sweep(n: int, workers: int, db: Path, batch: int | None) -> dict:
    """The sweep on a fresh local cluster of ``workers``; timings and per-variant results."""
    t0 = time.perf_counter()
    marks: dict[str, float] = {}

    def first() -> None:
        marks["submit"] = time.perf_counter()

    with Store(db) as store:
        out = start_sweep(_spec(n, batch), store, n_workers=workers, on_start=first)
        t_end = time.perf_counter()
        with Book(db) as book:
            rows = book.variants(out.sweep_id)
        results = {r.index: (r.status, tuple((v.criterion, v.value) for v in store.verdicts(r.run_id)))
                   for r in rows}
    return {
        "total_s": t_end - t0,
        "sweep_s": t_end - marks["submit"],
        "startup_s": marks["submit"] - t0,
        "sim_s": sum(r.sim_s for r in rows),
        "run_wall_s": statistics.mean(r.wall_s for r in rows),
        "run_cpu_s": statistics.mean(r.cpu_s for r in rows),
        "passed": sum(r.status == "passed" for r in rows),
        "results": results,
    }


def task_overhead(n: int, workers: int, batch: int | None) -> dict:
    """Empty tasks through a cluster: wall per task (the cluster's own cost)."""
    from distributed import as_completed

    with dask_client(None, workers) as client:
        w = worker_count(client)
        size = batch_size_for(n, w, batch)
        client.run(warm_up)
        items = [(i, "sim://") for i in range(n)]
        batches = [items[i:i + size] for i in range(0, n, size)]
        t0 = time.perf_counter()
        futures = [client.submit(empty_batch, b, pure=False) for b in batches]
        for f in as_completed(futures):
            f.result()
        wall = time.perf_counter() - t0
    return {"tasks": len(batches), "batch": size, "wall_s": wall,
            "per_task_s": wall * w / len(batches)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="200",
                    help="variant count, or several separated by commas (e.g. 40,200)")
    ap.add_argument("--batch-size", type=int, default=None)
    args = ap.parse_args(argv)
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    ok = True
    for n in (int(x) for x in args.variants.split(",")):
        ok &= _compare(n, args.batch_size, *single_run())
    return 0 if ok else 1


def _compare(n: int, batch: int | None, sim_s: float, wall_s: float) -> bool:
    print(f"--- {n} variants, load average {os.getloadavg()}")
    print(f"single run of {PROTOCOL.stem}: {sim_s:.1f} press-s in {wall_s:.3f} s wall "
          f"= {sim_s / wall_s:.0f} press-s per wall-s (median of 3, just before the sweeps)")
    with tempfile.TemporaryDirectory() as tmp:
        one = timed_sweep(n, 1, Path(tmp) / "one.sqlite", batch)
        two = timed_sweep(n, 2, Path(tmp) / "two.sqlite", batch)
    over = task_overhead(n, 2, batch)
    for name, r in (("1 worker ", one), ("2 workers", two)):
        print(f"{name}: {n} variants in {r['sweep_s']:.1f} s (cluster start-up + kernel warm-up {r['startup_s']:.1f} s), "
              f"{r['passed']} passed, {n / r['sweep_s']:.2f} runs/s, mean run {r['run_wall_s']:.3f} s "
              f"wall / {r['run_cpu_s']:.3f} s CPU")
    speedup = one["sweep_s"] / two["sweep_s"]
    print(f"speed-up 2 workers / 1 worker: {speedup:.2f}x (target >= 1.7x on 2 free cores)")
    # on a shared machine a worker waits for a core: wall/CPU per run says how long
    cpu_bound = one["run_wall_s"] / one["run_cpu_s"], two["run_wall_s"] / two["run_cpu_s"]
    print(f"wall/CPU per run (1.0 = a core of its own): 1 worker {cpu_bound[0]:.2f}, "
          f"2 workers {cpu_bound[1]:.2f}")
    same = one["results"] == two["results"]
    print(f"results identical with 1 and 2 workers: {same}")
    batch_run_s = over["batch"] * two["run_wall_s"]
    frac = over["per_task_s"] / batch_run_s
    print(f"empty tasks: {over['tasks']} tasks of {over['batch']} in {over['wall_s']:.2f} s; "
          f"{1000 * over['per_task_s']:.1f} ms per task = {100 * frac:.2f} % of a task's run time "
          f"({batch_run_s:.2f} s) (target <= 5 %)")
    agg = two["sim_s"] / two["sweep_s"]
    print(f"press-s per wall-s: single run {sim_s / wall_s:.0f}, 2-worker sweep {agg:.0f} "
          f"(ratio {agg / (sim_s / wall_s):.2f}; store writes and transfer included)")
    print(f"load average after: {os.getloadavg()}")
    return same


if __name__ == "__main__":
    sys.exit(main())
