"""Sampling jitter at 100 Hz over Modbus TCP with five live viewers connected, against none.

The same protocol runs against `presshil serve` (a subprocess, Modbus TCP on loopback) with
a results store, alternately: plain (no live view), then with the live view served from the
run's process and five viewers (a separate process holding five server-sent-event streams
open and reading every frame). Prints the runner's lateness against its deadlines for each
round and the ratio of the p99s (median over rounds).

    python3 benchmarks/bench_live_jitter.py [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import presshil
from presshil.device.spawn import SpawnedServer
from presshil.protocol import parse_protocol
from presshil.runner import run
from presshil.store import Store
from presshil.web.bridge import run_live
from presshil.web.live_app import live_app
from presshil.web.live_sink import LiveSink
from presshil.web.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[1]

VIEWERS = r"""
import socket, sys, threading, time
port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
frames = [0] * n
def viewer(i):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(b"GET /api/stream HTTP/1.1\r\nHost: bench\r\n\r\n")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = c.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            frames[i] += data.count(b"data: ")
threads = [threading.Thread(target=viewer, args=(i,)) for i in range(n)]
[t.start() for t in threads]
[t.join(seconds + 35) for t in threads]
print(" ".join(map(str, frames)), flush=True)
"""


def protocol(hold_s: float) -> presshil.Protocol:
    text = (ROOT / "tests" / "data" / "quick-hold.toml").read_text()
    text = text.replace("rate_hz = 20", "rate_hz = 100").replace("duration_s = 10", f"duration_s = {hold_s:g}")
    return parse_protocol(text, "quick-hold @100 Hz")


def plain(url: str, proto, db: Path):
    with presshil.open_press(url) as press, Store(db) as store:
        return run(proto, press, store=store)


def live(url: str, proto, db: Path, viewers: int, seconds: float):
    sink = LiveSink()
    with BackgroundServer(live_app(sink)) as web, presshil.open_press(url) as press, Store(db) as store:
        child = subprocess.Popen([sys.executable, "-c", VIEWERS, str(web.port), str(viewers), str(seconds + 2)],
                                 stdout=subprocess.PIPE, text=True)
        deadline = threading.Event()
        for _ in range(200):  # wait (bounded) until every viewer is attached
            if sink.viewer_count >= viewers:
                break
            deadline.wait(0.05)
        attached = sink.viewer_count
        result = run_live(proto, press, store=store, sinks=[sink], cancel=sink.cancel)
        out, _ = child.communicate(timeout=seconds + 60)  # viewers read until the run is over
    return result, attached, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="hold length of each run (s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--viewers", type=int, default=5)
    args = parser.parse_args()
    proto = protocol(args.seconds)
    p99 = {"none": [], "live": []}
    with tempfile.TemporaryDirectory() as tmp, SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        url = server.urls["modbus_tcp"]
        for k in range(args.rounds):
            r = plain(url, proto, Path(tmp) / f"plain{k}.sqlite")
            j = r.jitter
            if r.status != "passed" or j is None:
                print(f"round {k + 1} no viewers : {r.status} ({r.abort_reason}); round skipped", flush=True)
                continue
            p99["none"].append(j.p99_ms)
            print(f"round {k + 1} no viewers : {r.status:7s} samples {j.count:5d}  lateness p50 {j.p50_ms:.3f} "
                  f"p99 {j.p99_ms:.3f} max {j.max_ms:.3f} ms", flush=True)
            r, attached, frames = live(url, proto, Path(tmp) / f"live{k}.sqlite", args.viewers, r.steps[-1].t_end_s)
            j = r.jitter
            if r.status != "passed" or j is None:
                print(f"round {k + 1} viewers : {r.status} ({r.abort_reason}); round skipped", flush=True)
                p99["none"].pop()
                continue
            p99["live"].append(j.p99_ms)
            print(f"round {k + 1} {attached} viewers : {r.status:7s} samples {j.count:5d}  lateness p50 {j.p50_ms:.3f} "
                  f"p99 {j.p99_ms:.3f} max {j.max_ms:.3f} ms  (frames read per viewer: {frames})", flush=True)
    if not p99["none"]:
        raise SystemExit("no round completed")
    none, with_live = statistics.median(p99["none"]), statistics.median(p99["live"])
    print(f"p99 lateness, median over {len(p99['none'])} rounds: none {none:.3f} ms, {args.viewers} viewers "
          f"{with_live:.3f} ms; ratio {with_live / none:.2f} (goal <= 1.1)")


if __name__ == "__main__":
    main()
