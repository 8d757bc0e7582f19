"""The hardening campaign, round two: a profile server's Modbus TCP, its OPC UA endpoint and
both web views, against hostile and clumsy input, counted.

    python3 benchmarks/campaign_web.py [--seed 1] [--scale 1.0]

Bounded in count and time, loopback only; the servers run in this process, so a crash is a
server that stops answering, and a traceback is a log record carrying one (or, on the web, a
5xx answer). Unsafe accepts: a write by a master that does not hold the lease accepted (other
than STOP), a foreign ``Host`` answered with data, a STOP from another site accepted.
``benchmarks/campaign.py`` covers map v1 and the protocol files.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import random
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 5.0


class Row:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cases = self.crashes = self.hangs = self.tracebacks = self.unsafe = 0

    def line(self) -> str:
        return f"| {self.name} | {self.cases} | {self.crashes} | {self.hangs} | {self.tracebacks} | {self.unsafe} |"


class Tracebacks(logging.Handler):
    """Counts log records that carry a traceback (and bytes logged)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.bytes = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        self.bytes += len(text) + 1
        if record.exc_info or "Traceback" in text:
            self.count += 1


def frame(tid: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid & 0xFFFF, 0, len(pdu) + 1, 1) + pdu


def exchange(sock: socket.socket, data: bytes) -> bytes | None:
    """One request and its reply; b"" if closed, None on a hang."""
    try:
        sock.sendall(data)
        head = sock.recv(7)
        if len(head) < 7:
            return b""
        body = b""
        while len(body) < struct.unpack(">H", head[4:6])[0] - 1:
            chunk = sock.recv(256)
            if not chunk:
                return b""
            body += chunk
        return head + body
    except (ConnectionError, BrokenPipeError):
        return b""
    except TimeoutError:
        return None


def connect(endpoint: str) -> socket.socket:
    host, port = endpoint.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=TIMEOUT_S)


def profile_frames(endpoint: str, rng: random.Random, n: int, logs: Tracebacks) -> Row:
    row = Row("profile server (plc-hydraulic-press): malformed frames, bit and register FCs")
    before = logs.count
    sock = connect(endpoint)
    for i in range(n):
        row.cases += 1
        fc = rng.choice([1, 2, 3, 4, 5, 6, 15, 16, 23, 43, rng.randrange(256)])
        pdu = bytes([fc]) + rng.randbytes(rng.randrange(0, 20))
        reply = exchange(sock, frame(i, pdu))
        if reply is None:
            row.hangs += 1
        if not reply:
            sock.close()
            try:
                sock = connect(endpoint)
            except OSError:
                row.crashes += 1
                break
    sock.close()
    row.tracebacks = logs.count - before
    return row


def profile_second_master(endpoint: str, rng: random.Random, n: int) -> Row:
    row = Row("profile server: a second master's writes while the host holds the lease")
    holder, other = connect(endpoint), connect(endpoint)
    exchange(holder, frame(1, struct.pack(">BHH", 6, 13, 3000)))  # watchdog
    for i in range(n):
        row.cases += 1
        exchange(holder, frame(i, struct.pack(">BHH", 6, 14, i & 0xFFFF)))  # the holder's heartbeat
        if rng.random() < 0.5:
            address = rng.choice([10, 12, 13, 14])
            pdu = struct.pack(">BHH", 6, address, rng.randrange(65536))
            stop = False
        else:
            coil = rng.choice([0, 1, 2, 3])
            pdu = struct.pack(">BHH", 5, coil, 0xFF00)
            stop = coil == 1
        reply = exchange(other, frame(i, pdu))
        if reply is None:
            row.hangs += 1
        elif reply and not reply[7] & 0x80 and not stop:
            row.unsafe += 1
    exchange(holder, frame(0, struct.pack(">BHH", 6, 13, 0)))
    holder.close()
    other.close()
    return row


def opcua_garbage(endpoint: str, rng: random.Random, n: int, logs: Tracebacks) -> Row:
    row = Row("OPC UA endpoint: garbage messages from a peer that never authenticated")
    before = logs.count
    host, rest = endpoint.split(":", 1)
    port = int(rest.split("/")[0])
    for _ in range(n):
        row.cases += 1
        kind = rng.choice([b"HEL", b"MSG", b"OPN", b"CLO", b"ACK", b"ERR", rng.randbytes(3)])
        body = rng.randbytes(rng.randrange(0, 80))
        try:
            with socket.create_connection((host, port), timeout=0.3) as s:
                s.sendall(kind + b"F" + struct.pack("<I", 8 + len(body)) + body)
                with contextlib.suppress(OSError):  # a reply or a close: either is fine
                    s.recv(64)
        except OSError:
            row.crashes += 1
            break
    row.tracebacks = logs.count - before
    return row


def http_call(port: int, method: str, target: str, host: str, headers: dict, body: bytes | None) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        r.read()
        return r.status
    except TimeoutError:
        return None
    except ConnectionError:
        return 0  # the HTTP layer closed it (a request line or header over its limits)
    finally:
        conn.close()


def web_routes(ui_port: int, live_port: int, sink, rng: random.Random, n: int, logs: Tracebacks) -> Row:
    row = Row("web views: every route with wild ids, queries, bodies, Hosts and Origins")
    before = logs.count
    values = ["", "1", "-1", "9223372036854775808", "7" * 5000, "²", "١", "nan", "1e400", "../../etc/passwd",
              "%00", "x" * 100_000, "csv", "parquet"]
    ui_routes = ["/api/runs", "/api/runs/{}", "/api/runs/{}/trace", "/api/runs/{}/export", "/api/criteria",
                 "/api/trend", "/static/{}", "/"]
    keys = ["protocol", "press", "status", "since", "until", "t0", "t1", "px", "format", "criterion", "step"]
    for _ in range(n):
        row.cases += 1
        value = rng.choice(values + [rng.randbytes(8).hex(), str(rng.randrange(-10**30, 10**30))])
        foreign_host = rng.random() < 0.15
        foreign_origin = rng.random() < 0.3
        if rng.random() < 0.6:
            port = ui_port
            target = rng.choice(ui_routes).format(quote(value, safe="")) or "/"
            if rng.random() < 0.7:
                target += "?" + urlencode({rng.choice(keys): rng.choice(values)})
            method, body, headers = "GET", None, {}
        else:
            port = live_port
            target = rng.choice(["/api/stop", "/api/prompts/{}/ack", "/api/state"]).format(quote(value, safe=""))
            method = "GET" if target == "/api/state" else "POST"
            kind = rng.choice(["application/json", "text/plain", "application/x-www-form-urlencoded"])
            body = rng.choice([b"{}", b"[" * 200_000, b"[" * 5000, rng.randbytes(64),
                               f'{{"token": "{sink.token}"}}'.encode(), f"token={sink.token}".encode()])
            headers = {"Content-Type": kind}
            if foreign_origin:
                headers["Origin"] = "http://evil.example"
        host = "evil.example" if foreign_host else f"127.0.0.1:{port}"
        was_cancelled = sink.cancel.is_set()
        status = http_call(port, method, target, host, headers, body)
        if status is None:
            row.hangs += 1
        elif status >= 500:
            row.tracebacks += 1
        if status is not None and status < 300 and foreign_host:
            row.unsafe += 1
        if not was_cancelled and sink.cancel.is_set():
            if foreign_host or foreign_origin:
                row.unsafe += 1
            sink.cancel.clear()
    for port in (ui_port, live_port):
        if http_call(port, "GET", "/", f"127.0.0.1:{port}", {}, None) != 200:
            row.crashes += 1
    row.tracebacks += logs.count - before
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every case count")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    def k(n: int) -> int:
        return max(1, int(n * args.scale))

    import presshil
    import presshil.serving.loop as loop
    from presshil.profiles.server import start_profile_server
    from presshil.protocol import load_protocol
    from presshil.store import Store
    from presshil.web.live_app import live_app
    from presshil.web.live_sink import LiveSink
    from presshil.web.results import open_results
    from presshil.web.server import BackgroundServer
    from presshil.web.ui_app import ui_app

    loop.LoopThread.run.__defaults__ = (60.0,)  # a loaded machine starts asyncua slowly
    logs = Tracebacks()
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.WARNING)  # what `presshil serve` logs
    rows: list[Row] = []
    t0 = time.monotonic()
    with start_profile_server("sim://auto-hydraulic-25t?seed=1", "plc-hydraulic-press",
                              modbus_tcp="127.0.0.1:0") as srv:
        rows.append(profile_frames(srv.endpoints["modbus_tcp"], rng, k(1200), logs))
        rows.append(profile_second_master(srv.endpoints["modbus_tcp"], rng, k(300)))
    with start_profile_server("sim://auto-hydraulic-25t?seed=1", "opcua-press", opcua="127.0.0.1:0") as srv:
        rows.append(opcua_garbage(srv.endpoints["opcua"], rng, k(500), logs))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.sqlite"
        with Store(path) as store:
            presshil.run(load_protocol(ROOT / "protocols" / "step-response-74mpa.toml"),
                         presshil.open_press("sim://?seed=1"), store=store, seed=1)
        results = open_results(path)
        sink = LiveSink()
        sink.event(1.0, "prompt", "Insert the die")
        with BackgroundServer(ui_app(results)) as ui, BackgroundServer(live_app(sink)) as live:
            rows.append(web_routes(ui.port, live.port, sink, rng, k(1500), logs))
        results.close()
    print("| class of input | cases | crashes | hangs | tracebacks | unsafe accepts |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.line())
    print(f"log: {logs.bytes} bytes, {logs.count} records with a traceback; took {time.monotonic() - t0:.0f} s")
    bad = sum(r.crashes + r.hangs + r.tracebacks + r.unsafe for r in rows)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
