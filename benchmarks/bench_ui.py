"""The results browser on long runs: time to first full plot, and memory of `presshil ui`.

Three stores are made with real runs on the default simulated press (kept in --dir to reuse):
the protocol library's cycling-hold-15mpa (100 cycles, 200 h simulated), the same cut to 10
cycles (20 h), and a 5-minute hold at 20 Hz. For each, `presshil ui` is started as a
subprocess and headless Chromium (the system package) opens the run N times; printed: the
time from navigation to the first full plot (the first opening, cold; the median of N; one
opening by a restarted `presshil ui`, which finds the run's overview beside the store), the server's
peak RSS after the openings, a zoom series and a CSV export. Ratios: 200 h / 5 min for the
plot time (goal <= 1.5), 200 h / 20 h for the memory (goal <= 1.2).

With ``--dense-hz HZ`` the same three durations are also written at HZ samples a second
(200 h at 10 Hz is 7.2 million samples) as synthetic traces: a real store written through
``Store.add_sample``, values a seeded random walk around 15 MPa (the simulator would need
hours of CPU to produce them).

    python3 benchmarks/bench_ui.py [--dir DIR] [--opens 5] [--dense-hz 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM_FLAGS, chromium_path  # noqa: E402 - tests/ is on the path now


def make_store(path: Path, kind: str) -> None:
    import presshil
    from presshil.protocol import parse_protocol
    from presshil.store import Store

    if kind == "5min":
        text = (ROOT / "tests" / "data" / "quick-hold.toml").read_text().replace("duration_s = 10", "duration_s = 290")
        proto = parse_protocol(text, "quick-hold-5min.toml")
    else:
        text = (ROOT / "protocols" / "cycling-hold-15mpa.toml").read_text()
        if kind == "20h":
            text = text.replace("count = 100", "count = 10")
        proto = parse_protocol(text, "cycling-hold-15mpa.toml")
    t0 = time.perf_counter()
    with Store(path) as store:
        result = presshil.run(proto, presshil.open_press("sim://?seed=1"), store=store)
        n = store.get_run(result.run_id).n_samples
    print(f"  made {kind}: {result.steps[-1].t_end_s / 3600:.2f} h simulated, {n} samples, "
          f"{result.status}, {time.perf_counter() - t0:.0f} s", flush=True)


DURATIONS_S = {"5min": 300.0, "20h": 20 * 3600.0, "200h": 200 * 3600.0}


def make_dense(path: Path, kind: str, hz: float) -> None:
    import numpy as np

    import presshil
    from presshil.protocol import load_protocol
    from presshil.store import Store

    n = int(DURATIONS_S[kind] * hz)
    rng = np.random.default_rng(1)
    proto = load_protocol(ROOT / "protocols" / "cycling-hold-15mpa.toml")
    t0 = time.perf_counter()
    with Store(path) as store:
        run_id = store.start_run(protocol=proto, press_url=f"synthetic://{hz:g}Hz",
                                 identity=presshil.open_press("sim://").identity, seed=1)
        block = 100_000
        for start in range(0, n, block):
            m = min(block, n - start)
            p = 15.0 + 0.05 * np.cumsum(rng.normal(size=m)) / np.sqrt(m)
            for k in range(m):
                pk = float(p[k])
                store.add_sample(run_id, ((start + k) / hz, 15.0, pk, pk * 0.0785, 0.1, 7,
                                          (pk * 0.0196, pk * 0.0197, pk * 0.0196, pk * 0.0196)))
        store.finish_run(run_id, "passed")
    print(f"  made {kind} at {hz:g} Hz: {n} samples, {time.perf_counter() - t0:.0f} s", flush=True)


def made(path: Path, maker, *args) -> None:
    """Make a store under a temporary name, renamed when complete (an interrupted
    benchmark leaves no partial store behind to be reused)."""
    partial = path.with_name(path.name + ".partial")
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    maker(partial, *args)
    partial.rename(path)


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def open_once(db: Path, browser) -> float:
    """Start a fresh `presshil ui`, open the run once: ms from navigation to the full plot."""
    proc = subprocess.Popen([sys.executable, "-m", "presshil.cli", "ui", "--db", str(db), "--bind", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[2]
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}#run=1", timeout=60_000)
        page.wait_for_function("window.presshilPlotReady !== null", timeout=120_000)
        ms = page.evaluate("window.presshilPlotReady")
        page.close()
        return ms
    finally:
        proc.terminate()
        proc.wait(10)


def measure(db: Path, browser, opens: int) -> dict:
    db.with_name(db.name + ".overview").unlink(missing_ok=True)  # start cold
    proc = subprocess.Popen([sys.executable, "-m", "presshil.cli", "ui", "--db", str(db), "--bind", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("results browser: "):
            raise SystemExit(f"presshil ui did not start: {line}{proc.stderr.read()}")
        url = line.split()[2]
        times, fetch = [], []
        for _ in range(opens):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}#run=1", timeout=60_000)
            page.wait_for_function("window.presshilPlotReady !== null", timeout=120_000)
            times.append(page.evaluate("window.presshilPlotReady"))  # ms since navigation start
            fetch.append(page.evaluate("window.presshilOpenMs"))
            points = page.evaluate("runPlot.data[0].length")
            if len(times) == opens:
                lo, hi = page.evaluate("[runPlot.data[0][0], runPlot.data[0][runPlot.data[0].length - 1]]")
                for k in range(1, 9):  # zoom in step by step towards the middle, then out
                    w = (hi - lo) / 2 ** k
                    mid = (lo + hi) / 2
                    page.evaluate(f"runPlot.setScale('x', {{min: {mid - w / 2}, max: {mid + w / 2}}})")
                    page.wait_for_timeout(400)
                page.evaluate(f"runPlot.setScale('x', {{min: {lo}, max: {hi}}})")
                page.wait_for_timeout(400)
            page.close()
        with urllib.request.urlopen(f"{url}api/runs/1/export?format=csv", timeout=300) as r:
            size = sum(len(chunk) for chunk in iter(lambda: r.read(1 << 16), b""))
        rss, hwm = rss_kib(proc.pid)
        proc.terminate()
        proc.wait(10)
        restart = open_once(db, browser)
        return {"restart_ms": restart, "first_ms": times[0], "median_ms": statistics.median(times), "fetch_ms": statistics.median(fetch),
                "points": points, "rss_mib": rss / 1024, "peak_mib": hwm / 1024, "csv_mib": size / 2**20}
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="keep the stores here (made once)")
    parser.add_argument("--opens", type=int, default=5)
    parser.add_argument("--dense-hz", type=float, default=None, help="also measure synthetic traces at this rate")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise SystemExit("no system Chromium (install Debian's chromium package)")
    tmp = None
    folder = args.dir
    if folder is None:
        tmp = tempfile.TemporaryDirectory()
        folder = Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    print("stores:", flush=True)
    sets = {"": {}}
    for kind in ("5min", "20h", "200h"):
        if not (folder / f"{kind}.sqlite").exists():
            made(folder / f"{kind}.sqlite", make_store, kind)
        sets[""][kind] = folder / f"{kind}.sqlite"
    if args.dense_hz:
        label = f" at {args.dense_hz:g} Hz (synthetic)"
        sets[label] = {}
        for kind in ("5min", "20h", "200h"):
            db = folder / f"{kind}-{args.dense_hz:g}hz.sqlite"
            if not db.exists():
                made(db, make_dense, kind, args.dense_hz)
            sets[label][kind] = db
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        for label, stores in sets.items():
            out = {}
            for kind in ("5min", "20h", "200h"):
                m = out[kind] = measure(stores[kind], browser, args.opens)
                print(f"{kind:>5}{label}: first full plot {m['first_ms']:.0f} ms (cold), median of {args.opens} "
                      f"{m['median_ms']:.0f} ms, after a restart {m['restart_ms']:.0f} ms (data fetch + draw {m['fetch_ms']:.0f} ms, {m['points']} plotted "
                      f"points); presshil ui RSS {m['rss_mib']:.1f} MiB, peak {m['peak_mib']:.1f} MiB (after zooms "
                      f"and a {m['csv_mib']:.1f} MiB CSV export)", flush=True)
            print(f"time to first full plot{label}, 200 h / 5 min: first "
                  f"{out['200h']['first_ms'] / out['5min']['first_ms']:.2f}, median "
                  f"{out['200h']['median_ms'] / out['5min']['median_ms']:.2f}, after a restart "
                  f"{out['200h']['restart_ms'] / out['5min']['restart_ms']:.2f} (goal <= 1.5)")
            print(f"peak RSS of presshil ui{label}, 200 h / 20 h: "
                  f"{out['200h']['peak_mib'] / out['20h']['peak_mib']:.2f} (goal <= 1.2)", flush=True)
        browser.close()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
