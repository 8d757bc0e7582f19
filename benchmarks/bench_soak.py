"""Soak: 10 clients polling ``presshil serve`` at an aggregate 1 kHz, bounded in time and count.

    python3 benchmarks/bench_soak.py                # 10 minutes (the goal's length)
    python3 benchmarks/bench_soak.py --minutes 3    # a shorter soak; figures say so

The server runs as a subprocess (``python3 -m presshil.device``) on 127.0.0.1; each client
thread sends one FC04 read of the whole state block every 10 ms over its own connection and
times the round trip. The server's resident memory is sampled every 5 s.

Printed at the end, side by side: RSS after the first minute and at the end (goal: end / 1 min
≤ 1.05) and p50/p99 round-trip latency in the first and the last minute (goal: p99 last /
first ≤ 1.2), with the duration actually run and the requests sent, answered and missed.
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import struct
import sys
import threading
import time

import psutil

from presshil.device.spawn import SpawnedServer

CLIENTS = 10
PERIOD_S = 0.010  # per client: 100 Hz, 1 kHz in all


def client(
    endpoint: str, stop: threading.Event, out: list[tuple[float, float]], errors: list[str]
) -> None:
    """Poll until ``stop``; append (monotonic send time, round trip s)."""
    host, port = endpoint.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=2.0)
    tid = 0
    next_t = time.monotonic()
    try:
        while not stop.is_set():
            tid = (tid + 1) & 0xFFFF
            t0 = time.monotonic()
            sock.sendall(struct.pack(">HHHBBHH", tid, 0, 6, 1, 4, 0, 16))
            data = b""
            while len(data) < 9:
                chunk = sock.recv(256)
                if not chunk:
                    raise ConnectionError("closed by the server")
                data += chunk
            length = struct.unpack(">H", data[4:6])[0]
            while len(data) < 6 + length:
                data += sock.recv(256)
            out.append((t0, time.monotonic() - t0))
            next_t += PERIOD_S
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = time.monotonic()  # behind: do not burst to catch up
    except OSError as exc:
        errors.append(repr(exc))
    finally:
        sock.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length (default 10)")
    args = parser.parse_args(argv)
    if not 1.5 <= args.minutes <= 120:
        parser.error("--minutes must be 1.5 .. 120 (a first and a last minute are compared)")
    duration_s = args.minutes * 60.0
    with SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        proc = psutil.Process(server.pid)
        endpoint = server.endpoints["modbus_tcp"]
        stop = threading.Event()
        results: list[list[tuple[float, float]]] = [[] for _ in range(CLIENTS)]
        errors: list[str] = []
        threads = [
            threading.Thread(target=client, args=(endpoint, stop, results[i], errors), daemon=True)
            for i in range(CLIENTS)
        ]
        start = time.monotonic()
        for t in threads:
            t.start()
        rss: list[tuple[float, int]] = []
        while time.monotonic() - start < duration_s and not errors:
            rss.append((time.monotonic() - start, proc.memory_info().rss))
            time.sleep(5.0)
        rss.append((time.monotonic() - start, proc.memory_info().rss))
        stop.set()
        for t in threads:
            t.join(5.0)
        ran_s = time.monotonic() - start
    samples = sorted(s for r in results for s in r)
    first = [rt for t0, rt in samples if t0 - start < 60.0]
    last = [rt for t0, rt in samples if t0 - start >= ran_s - 60.0]
    rss_1min = next(b for t, b in rss if t >= 60.0)
    rss_end = rss[-1][1]
    print(
        f"soak: {CLIENTS} clients x {1 / PERIOD_S:.0f} Hz, ran {ran_s / 60:.2f} min "
        f"(asked {args.minutes:g}), {len(samples)} requests answered "
        f"(target {CLIENTS * ran_s / PERIOD_S:.0f}), client errors: {len(errors)}"
    )
    print(
        f"  RSS after 1 min {rss_1min / 2**20:.1f} MiB, at the end {rss_end / 2**20:.1f} MiB: "
        f"ratio {rss_end / rss_1min:.3f} (goal <= 1.05)"
    )
    print(
        f"  latency first minute p50 {statistics.median(first) * 1e3:.2f} ms p99 "
        f"{pct(first, 0.99) * 1e3:.2f} ms; last minute p50 {statistics.median(last) * 1e3:.2f} ms "
        f"p99 {pct(last, 0.99) * 1e3:.2f} ms: p99 ratio {pct(last, 0.99) / pct(first, 0.99):.3f} "
        "(goal <= 1.2)"
    )
    for e in errors[:3]:
        print(f"  error: {e}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
