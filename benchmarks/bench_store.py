"""Results-store benchmark: write throughput and memory for a long run.

Writes N samples (default 2 million, 4 channels: a 200 h hold at ~3 Hz) through
``Store.add_sample`` into a fresh file, reading the process's resident memory as it goes, then
streams the run back out (``load`` is skipped on purpose: it is the one call whose memory
grows with the run) as CSV and Parquet. Memory should stay flat while writing and exporting.

    python benchmarks/bench_store.py                 # 2 000 000 samples
    python benchmarks/bench_store.py --samples 200000 --keep results/bench.sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

from presshil.store import Store


def rss_mib() -> float:
    """Current resident set size in MiB (Linux /proc; falls back to the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakRss:
    """Highest resident memory seen while the ``with`` body runs (sampled every 5 ms)."""

    def __enter__(self) -> Self:
        self.peak_mib = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_mib = max(self.peak_mib, rss_mib())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, rss_mib())


class _Protocol:
    name = "bench"
    source = "<bench>"
    text = "# benchmark run, no protocol"
    sha256 = "0" * 64


def main() -> None:
    """Run the benchmark and print one line per phase."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2_000_000)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--keep", type=Path, help="write here instead of a temporary folder")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep or Path(tmp) / "bench.sqlite"
        store = Store(db)
        run = store.start_run(protocol=_Protocol(), press_url="bench://", identity={},
                              seed=None)
        n, every = args.samples, max(1, args.samples // 10)
        base = rss_mib()
        print(f"baseline rss {base:.1f} MiB (store open, numpy imported)")
        ch = tuple(1.25 + 0.01 * i for i in range(args.channels))
        t0 = time.perf_counter()
        for i in range(n):
            store.add_sample(run, (i * 0.1, 74.0, 74.0 + (i % 7) * 0.01, 5.81, 1.234, 7, ch))
            if (i + 1) % every == 0:
                print(f"  {i + 1:>9} samples  rss {rss_mib():7.1f} MiB  "
                      f"(+{rss_mib() - base:5.1f})")
        store.finish_run(run, "passed")
        dt = time.perf_counter() - t0
        size_mib = db.stat().st_size / 2**20
        print(f"write: {n} samples in {dt:.1f} s = {n / dt:,.0f} samples/s; "
              f"file {size_mib:.0f} MiB ({db.stat().st_size / n:.0f} B/sample)")

        with contextlib.suppress(ImportError):
            import pyarrow.parquet  # noqa: F401 - import cost (~50 MiB) is not export memory
        for fmt in ("csv", "parquet"):
            before = rss_mib()
            t0 = time.perf_counter()
            with PeakRss() as peak:
                out = store.export(run, Path(tmp) / f"bench.{fmt}", fmt)
            dt = time.perf_counter() - t0
            print(f"export {fmt}: {dt:.1f} s = {n / dt:,.0f} samples/s, "
                  f"{out.stat().st_size / 2**20:.0f} MiB; rss before {before:.1f} MiB, "
                  f"peak during {peak.peak_mib:.1f} MiB (+{peak.peak_mib - before:.1f})")
        store.close()
        print(f"peak rss {peak_rss_mib():.1f} MiB vs baseline {base:.1f} MiB")


if __name__ == "__main__":
    main()
