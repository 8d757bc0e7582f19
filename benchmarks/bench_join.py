"""Join throughput: presshil's numpy interpolation onto a cycler's rows vs pandas
``merge_asof`` doing the same (a backward and a forward as-of merge, then the linear
interpolation, with the same gap rule), on the same data, side by side.

Both produce the pressure at every cycler row, empty (NaN) in a gap of the press record or
outside it; the script checks that they agree before it reports rows/s and their ratio.
pandas is used here only, as the baseline (it is not a dependency of presshil).

    python benchmarks/bench_join.py                      # 1 000 000 cycler rows, 2 000 000 samples
    python benchmarks/bench_join.py --rows 14400 --samples 28800   # a 20-cycle, 40 h run
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from presshil.battery.join import default_max_gap, interpolator


def data(rows: int, samples: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Press samples (times with a jitter and one gap, pressures) and cycler times."""
    rng = np.random.default_rng(seed)
    span = samples * 5.0  # 0.2 Hz
    t_press = np.sort(np.arange(samples) * 5.0 + rng.uniform(0, 0.5, samples))
    cut = (t_press > span * 0.4) & (t_press < span * 0.42)  # a host-loss gap of 2 % of the run
    t_press = t_press[~cut]
    p = 15.0 + 0.5 * np.sin(t_press / 1200.0) + rng.normal(0, 0.01, t_press.size)
    t_cyc = np.sort(rng.uniform(-100.0, span + 100.0, rows))
    return t_press, p, t_cyc


def with_numpy(t_press: np.ndarray, p: np.ndarray, t_cyc: np.ndarray, gap: float) -> np.ndarray:
    return interpolator(t_press, t_cyc, gap)(p)


def with_pandas(t_press: np.ndarray, p: np.ndarray, t_cyc: np.ndarray, gap: float) -> np.ndarray:
    import pandas as pd

    left = pd.DataFrame({"t": t_cyc})
    right = pd.DataFrame({"t": t_press, "tp": t_press, "p": p})
    back = pd.merge_asof(left, right, on="t", direction="backward")
    fwd = pd.merge_asof(left, right, on="t", direction="forward")
    t0, t1 = back["tp"].to_numpy(), fwd["tp"].to_numpy()
    p0, p1 = back["p"].to_numpy(), fwd["p"].to_numpy()
    span = t1 - t0
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(span > 0, (t_cyc - t0) / np.where(span > 0, span, 1.0), 0.0)
    out = p0 + w * (p1 - p0)
    out[~(span <= gap)] = np.nan  # NaN neighbours (outside) compare False: dropped too
    return out


def best_of(fn, *args, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="cycler rows")
    ap.add_argument("--samples", type=int, default=2_000_000, help="press samples")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    t_press, p, t_cyc = data(a.rows, a.samples)
    gap = default_max_gap(t_press)
    mine = with_numpy(t_press, p, t_cyc, gap)
    try:
        theirs = with_pandas(t_press, p, t_cyc, gap)
    except ImportError:
        print("pandas is not installed: no baseline (pip install pandas)")
        theirs = None
    if theirs is not None:
        same = np.array_equal(np.isnan(mine), np.isnan(theirs)) and np.allclose(
            mine[~np.isnan(mine)], theirs[~np.isnan(theirs)], rtol=1e-12, atol=0)
        print(f"outputs agree: {same} ({int(np.isnan(mine).sum())} rows empty: outside or in the gap)")
    t_np = best_of(with_numpy, t_press, p, t_cyc, gap, repeat=a.repeat)
    print(f"numpy  (presshil join): {a.rows / t_np:,.0f} rows/s ({t_np * 1e3:.1f} ms, best of {a.repeat})")
    if theirs is not None:
        t_pd = best_of(with_pandas, t_press, p, t_cyc, gap, repeat=a.repeat)
        print(f"pandas (merge_asof ×2): {a.rows / t_pd:,.0f} rows/s ({t_pd * 1e3:.1f} ms, best of {a.repeat})")
        print(f"ratio numpy / pandas: {t_pd / t_np:.2f}× the throughput")


if __name__ == "__main__":
    main()
