"""The results store on PostgreSQL against SQLite, side by side on this machine.

Starts a throwaway PostgreSQL cluster (as the tests do: initdb into a temp folder, loopback
only; fsync on here, as a real server runs), then measures on both engines:

* **bulk insert**: N samples (4 channels) through ``Store.add_sample`` as fast as they come,
  then ``close()`` — samples/s, and the bytes the samples take on disk;
* **a 200 h run's write cost**: a run in real time commits every 0.5 s (the flusher), a few
  samples at a time; the time one such commit takes, times the 1.44 million commits of
  200 h, is the run's cost in wall time spent writing (off the sampling thread);
* **4 concurrent writers**: four processes each writing N/4 samples into one store —
  samples/s each, and a count that every sample arrived;
* **first plot of a 200 h run** in ``presshil ui``: a 200 h hold at 3 Hz (2.16 million
  samples) stored, then the browser's first whole-run plot (1200 px) timed cold — the
  min/max per pixel computed by the engine — and once more warm.

    python benchmarks/bench_store_engines.py                  # 400 000 samples
    python benchmarks/bench_store_engines.py --samples 2000000 --plot-hours 50
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from presshil.store import Store

HOURS = 200
FLUSH_S = 0.5


class Proto:
    name = "bench"
    source = "<bench>"
    text = "bench"
    sha256 = "0" * 64


ROW = (0.0, 74.0, 74.01, 5.81, 1.02, 7, (1.45, 1.46, 1.44, 1.46))


def bulk(location: str, n: int) -> float:
    """Seconds to write ``n`` samples and close (all committed)."""
    store = Store(location)
    run = store.start_run(protocol=Proto(), press_url="sim://", identity={}, seed=1)
    t0 = time.perf_counter()
    for i in range(n):
        store.add_sample(run, (i * 0.3, *ROW[1:]))
    store.finish_run(run, "passed")
    store.close()
    return time.perf_counter() - t0


def commit_s(location: str, commits: int = 200, per_commit: int = 2) -> float:
    """Mean seconds of one real-time flush: ``per_commit`` samples and the run's counter."""
    store = Store(location, flush_interval_s=3600)  # flushed by hand below
    run = store.start_run(protocol=Proto(), press_url="sim://", identity={}, seed=1)
    t = 0.0
    spent = 0.0
    for _ in range(commits):
        for _ in range(per_commit):
            store.add_sample(run, (t, *ROW[1:]))
            t += 0.3
        t0 = time.perf_counter()
        store.flush()
        spent += time.perf_counter() - t0
    store.finish_run(run, "passed")
    store.close()
    return spent / commits


def _writer(location: str, n: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    out.put(bulk(location, n))


def concurrent(location: str, n_each: int, writers: int = 4) -> list[float]:
    """Samples/s of each of ``writers`` processes writing ``n_each`` samples at once."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(location, n_each, q)) for _ in range(writers)]
    for p in procs:
        p.start()
    times = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return [n_each / s for s in times]


def count(location: str) -> int:
    with Store(location) as store:
        return int(store._db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])


def sample_bytes(location: str) -> int:
    """Bytes the samples take: the SQLite file, or the PostgreSQL table with its index."""
    if "://" not in location:
        return Path(location).stat().st_size
    with Store(location) as store:
        return int(store._db.execute("SELECT pg_total_relation_size('samples')").fetchone()[0])


def first_plot(location: str, n: int) -> tuple[float, float]:
    """Seconds to the browser's first whole-run plot of an ``n``-sample run, cold and warm."""
    from presshil.web.results import open_results

    bulk(location, n)
    t0 = time.perf_counter()
    results = open_results(location)
    try:
        run = results.store.list_runs()[-1].id
        results.reader.window(run, None, None, 1200)
        cold = time.perf_counter() - t0
        t1 = time.perf_counter()
        results.reader.window(run, None, None, 1200)
        warm = time.perf_counter() - t1
    finally:
        results.close()
    return cold, warm


def measure(make: Callable[[str], str], n: int, plot_n: int) -> dict[str, float]:
    """Every figure for one engine; ``make(name)`` gives a fresh store location."""
    one = make("bulk")
    s = bulk(one, n)
    rate = n / s
    per = sample_bytes(one) / n
    c = commit_s(make("commit"))
    each = concurrent(many := make("four"), n // 4)
    arrived = count(many)
    cold, warm = first_plot(make("plot"), plot_n)
    return {"plot_cold_s": cold, "plot_warm_ms": warm * 1e3,"bulk_per_s": rate, "bytes_per_sample": per, "commit_ms": c * 1e3,
            "run200h_write_s": c * HOURS * 3600 / FLUSH_S, "concurrent_min_per_s": min(each),
            "concurrent_max_per_s": max(each), "concurrent_lost": (n // 4) * 4 - arrived}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=400_000)
    ap.add_argument("--plot-hours", type=float, default=HOURS, help="length of the run plotted (3 Hz)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plot_n = int(args.plot_hours * 3600 * 3)
        lite = measure(lambda name: str(Path(tmp) / f"{name}.sqlite"), args.samples, plot_n)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from pg_cluster import running_cluster

        with running_cluster(fsync=True) as server:
            pg = measure(lambda name: server.new_db(), args.samples, plot_n)
    rows = [
        ("bulk insert, samples/s", "bulk_per_s", "{:,.0f}"),
        ("bytes a sample on disk", "bytes_per_sample", "{:.1f}"),
        ("one real-time flush, ms", "commit_ms", "{:.2f}"),
        (f"{HOURS} h run: time spent writing, s", "run200h_write_s", "{:,.0f}"),
        ("4 writers: slowest, samples/s each", "concurrent_min_per_s", "{:,.0f}"),
        ("4 writers: fastest, samples/s each", "concurrent_max_per_s", "{:,.0f}"),
        ("4 writers: samples lost", "concurrent_lost", "{:.0f}"),
        (f"ui: first plot of a {args.plot_hours:g} h run, s", "plot_cold_s", "{:.2f}"),
        ("ui: the same plot again, ms", "plot_warm_ms", "{:.1f}"),
    ]
    print(f"{args.samples:,} samples, 4 channels; PostgreSQL on 127.0.0.1, SQLite WAL synchronous=FULL")
    print(f"{'':40s} {'SQLite':>14s} {'PostgreSQL':>14s} {'PG/SQLite':>10s}")
    for label, key, fmt in rows:
        ratio = pg[key] / lite[key] if lite[key] else float("nan")
        print(f"{label:40s} {fmt.format(lite[key]):>14s} {fmt.format(pg[key]):>14s} {ratio:>10.2f}")


if __name__ == "__main__":
    main()
