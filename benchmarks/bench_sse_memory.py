"""Memory of the live view's event streams: 200 streams opened (each gets a 20,000-point
snapshot), then closed; Python-level memory (tracemalloc) while open and after.

    python3 benchmarks/bench_sse_memory.py [--streams 200]

Bounded; loopback only. What stays after close should be what the first request imported,
not the streams: every viewer is detached (viewer count 0) and its frames freed.
"""

from __future__ import annotations

import argparse
import gc
import socket
import time
import tracemalloc

from presshil.web.live_app import live_app
from presshil.web.live_sink import LiveSink
from presshil.web.server import BackgroundServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=200)
    args = ap.parse_args()
    sink = LiveSink()
    for i in range(20_000):
        sink.sample((i * 0.02, 1.0, 1.0, 1.0, 1.0, 7, (0.3, 0.3, 0.4)))
    with BackgroundServer(live_app(sink)) as srv:
        # one stream first, so that what its request imports is in the baseline
        warm = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        warm.sendall(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        while b"data:" not in warm.recv(65536):
            pass
        warm.close()
        time.sleep(1.0)
        gc.collect()
        tracemalloc.start()
        socks = []
        for _ in range(args.streams):
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            c.sendall(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            got = b""
            while b"data:" not in got:
                got += c.recv(65536)
            socks.append(c)
        opened = tracemalloc.get_traced_memory()[0]
        print(f"{args.streams} streams open: {sink.viewer_count} viewers, {opened / 1e6:.2f} MB held")
        for c in socks:
            c.close()
        for _ in range(100):  # bounded wait for the server to notice the closes
            if sink.viewer_count == 0:
                break
            time.sleep(0.1)
        time.sleep(1.0)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        print(f"after close: {sink.viewer_count} viewers, {after / 1e6:.2f} MB held "
              f"({100 * after / max(opened, 1):.0f} % of open)")


if __name__ == "__main__":
    main()
