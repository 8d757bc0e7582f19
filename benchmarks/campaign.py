"""The hardening campaign: hostile and clumsy inputs against a served press, counted.

    python3 benchmarks/campaign.py [--seed 1] [--scale 1.0]

Bounded in count and time, loopback only. The virtual press runs as a subprocess
(``python3 -m presshil.device``) so that a crash is a dead process and a traceback is text on
its stderr. Each class of input prints: cases tried, crashes (server process gone), hangs (no
reply and no close within 3 s), tracebacks (on the server's stderr, or out of ``presshil
check``), unsafe accepts (a write accepted that leaves a value outside its bounds, or a
write by a master that does not hold the lease).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import re
import select
import socket
import struct
import sys
import time
import tty
from pathlib import Path

from typer.testing import CliRunner

from presshil.bounds import DIE_AREA_MM2, PRESSURE_MPA, RAMP_RATE_MPA_S
from presshil.cli import app
from presshil.device.spawn import SpawnedServer

ROOT = Path(__file__).resolve().parent.parent
REPLY_TIMEOUT_S = 3.0
FAULT_BIT = 0x100


class Row:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cases = self.crashes = self.hangs = self.tracebacks = self.unsafe = 0

    def line(self) -> str:
        return (
            f"| {self.name} | {self.cases} | {self.crashes} | {self.hangs} | "
            f"{self.tracebacks} | {self.unsafe} |"
        )


def frame(tid: int, pdu: bytes, unit: int = 1) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def exchange(sock: socket.socket, data: bytes) -> bytes | None:
    """Send, then read one reply; b"" if the server closed; None on a hang."""
    sock.sendall(data)
    sock.settimeout(REPLY_TIMEOUT_S)
    try:
        head = sock.recv(7)
        if len(head) < 7:
            return b""
        length = struct.unpack(">H", head[4:6])[0]
        body = b""
        while len(body) < length - 1:
            chunk = sock.recv(length - 1 - len(body))
            if not chunk:
                return b""
            body += chunk
        return head + body
    except (ConnectionResetError, BrokenPipeError):
        return b""
    except TimeoutError:
        return None


def holding_state(endpoint: tuple[str, int]) -> dict[str, float]:
    with socket.create_connection(endpoint, timeout=REPLY_TIMEOUT_S) as s:
        rsp = exchange(s, frame(1, struct.pack(">BHH", 3, 0, 12)))
        assert rsp and rsp[7] == 3, rsp
        w = struct.unpack(">12H", rsp[9:33])
        def f(i: int) -> float:
            return struct.unpack(">f", struct.pack(">HH", w[i], w[i + 1]))[0]

        out = {"setpoint": f(2), "ramp_rate": f(4), "soft_max": f(6), "die_area": f(10)}
        rsp = exchange(s, frame(2, struct.pack(">BHH", 4, 0, 16)))
    assert rsp and rsp[7] == 4, rsp
    w = struct.unpack(">16H", rsp[9:41])
    out["status"] = w[0]
    out["setpoint_active"] = struct.unpack(">f", struct.pack(">HH", w[12], w[13]))[0]
    return out


def state_unsafe(state: dict[str, float]) -> bool:
    return any(
        (
            DIE_AREA_MM2.problem(state["die_area"]) is not None
            and not math.isnan(state["die_area"]),
            PRESSURE_MPA.problem(state["setpoint"]) is not None,
            PRESSURE_MPA.problem(state["soft_max"]) is not None,
            RAMP_RATE_MPA_S.problem(state["ramp_rate"]) is not None,
            # regulating above the soft limit (plus the firmware's trip margin) without a fault;
            # a setpoint *parameter* above a later-lowered soft max is not executed (REGULATE
            # re-checks it) and a press regulating then trips OVERPRESSURE: both safe
            state["setpoint_active"] > state["soft_max"] + max(0.02 * state["soft_max"], 0.5)
            and not state["status"] & FAULT_BIT,
        )
    )


def alive(server: SpawnedServer) -> bool:
    return server.proc.poll() is None


def malformed_frames(server: SpawnedServer, rng: random.Random, n: int) -> Row:
    row = Row("malformed Modbus frames (random function codes, bodies, units, values)")
    host, port = server.endpoints["modbus_tcp"].rsplit(":", 1)
    endpoint = (host, int(port))
    sock = socket.create_connection(endpoint, timeout=REPLY_TIMEOUT_S)
    for i in range(n):
        row.cases += 1
        kind = rng.random()
        if kind < 0.3:
            pdu = bytes([rng.randrange(256)]) + rng.randbytes(rng.randrange(0, 12))
        elif kind < 0.6:  # plausible register requests with wild quantities and addresses
            fc = rng.choice([3, 4, 6, 16, 23, 43])
            pdu = bytes([fc]) + rng.randbytes(rng.randrange(3, 40))
        else:  # well-formed writes of wild values to the parameters
            addr = rng.choice([2, 4, 6, 10])
            value = rng.choice(
                [
                    1e-40,
                    -1.0,
                    0.0,
                    1e30,
                    math.nan,
                    math.inf,
                    5e4,
                    1e5,
                    rng.uniform(-1e6, 1e6),
                    rng.uniform(0, 100),
                ]
            )
            words = struct.unpack(">HH", struct.pack(">f", value))
            pdu = struct.pack(">BHHB2H", 16, addr, 2, 4, *words)
        unit = 1 if rng.random() < 0.9 else rng.randrange(256)
        reply = exchange(sock, frame(i & 0xFFFF, pdu, unit))
        if reply is None:
            row.hangs += 1
        if not reply:
            sock.close()
            if not alive(server):
                row.crashes += 1
                break
            sock = socket.create_connection(endpoint, timeout=REPLY_TIMEOUT_S)
        elif reply[7] in (6, 16, 23) and state_unsafe(holding_state(endpoint)):
            row.unsafe += 1
    sock.close()
    return row


def bad_headers(server: SpawnedServer, rng: random.Random, n: int) -> Row:
    row = Row("bad MBAP headers (protocol id, lengths 0..1 and > 254)")
    host, port = server.endpoints["modbus_tcp"].rsplit(":", 1)
    for i in range(n):
        row.cases += 1
        proto = rng.choice([1, 0xFFFF, 0])
        length = rng.choice([0, 1, 255, 4000, 65535]) if proto == 0 else 6
        data = struct.pack(">HHHB", i, proto, length, 1) + rng.randbytes(6)
        with socket.create_connection((host, int(port)), timeout=REPLY_TIMEOUT_S) as s:
            if exchange(s, data) is None:
                row.hangs += 1
        if not alive(server):
            row.crashes += 1
            break
    return row


def flood(server: SpawnedServer, n: int) -> Row:
    row = Row("flood: back-to-back pipelined requests on one connection")
    host, port = server.endpoints["modbus_tcp"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10.0) as s:
        batch = b"".join(frame(i & 0xFFFF, struct.pack(">BHH", 4, 0, 16)) for i in range(n))
        s.sendall(batch)
        got, deadline = 0, time.monotonic() + 60.0
        buf = b""
        while got < n and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 6 and len(buf) >= 6 + struct.unpack(">H", buf[4:6])[0]:
                size = 6 + struct.unpack(">H", buf[4:6])[0]
                buf = buf[size:]
                got += 1
        row.cases = n
        row.hangs = n - got
    row.crashes = 0 if alive(server) else 1
    return row


def many_connections(server: SpawnedServer, n: int) -> Row:
    row = Row("many connections (held open at once; cap 32)")
    host, port = server.endpoints["modbus_tcp"].rsplit(":", 1)
    socks = []
    for _ in range(n):
        row.cases += 1
        with contextlib.suppress(OSError):
            socks.append(socket.create_connection((host, int(port)), timeout=REPLY_TIMEOUT_S))
    served = 0
    for s in socks:
        try:
            reply = exchange(s, frame(1, struct.pack(">BHH", 4, 0, 2)))
        except OSError:
            reply = b""
        if reply is None:
            row.hangs += 1
        elif reply:
            served += 1
        s.close()
    row.name += f": {served} served, {n - served} closed by the server"
    with socket.create_connection((host, int(port)), timeout=REPLY_TIMEOUT_S) as s:
        if not exchange(s, frame(1, struct.pack(">BHH", 4, 0, 2))):
            row.hangs += 1  # still serving after the storm
    row.crashes = 0 if alive(server) else 1
    return row


def second_master(server: SpawnedServer, rng: random.Random, n: int) -> Row:
    row = Row("a second master's writes while another holds the lease")
    host, port = server.endpoints["modbus_tcp"].rsplit(":", 1)
    owner = socket.create_connection((host, int(port)), timeout=REPLY_TIMEOUT_S)
    other = socket.create_connection((host, int(port)), timeout=REPLY_TIMEOUT_S)
    exchange(owner, frame(1, struct.pack(">BHH", 6, 12, 0x4242)))  # token lease
    for i in range(n):
        row.cases += 1
        addr = rng.choice([0, 1, 2, 4, 6, 8, 10, 12])
        value = rng.choice([1, 2, 4, 0, 7, 0x4141]) if addr in (0, 1, 8, 12) else None
        if value is None:
            words = struct.unpack(">HH", struct.pack(">f", rng.uniform(0.5, 100.0)))
            pdu = struct.pack(">BHHB2H", 16, addr, 2, 4, *words)
        else:
            pdu = struct.pack(">BHH", 6, addr, value)
        reply = exchange(other, frame(i & 0xFFFF, pdu))
        if reply is None:
            row.hangs += 1
        elif reply and reply[7] & 0x80 == 0:
            row.unsafe += 1  # accepted from a master without the lease
        if i % 50 == 0:
            exchange(owner, frame(2, struct.pack(">BHH", 6, 1, i & 0xFFFF)))  # feed
    stop = exchange(other, frame(9, struct.pack(">BHH", 6, 0, 3)))  # STOP: must be accepted
    row.name += f"; STOP from it {'accepted' if stop and stop[7] == 6 else 'REFUSED'}"
    owner.close()
    other.close()
    row.crashes = 0 if alive(server) else 1
    return row


def serial_lines(server: SpawnedServer, rng: random.Random, n: int) -> Row:
    row = Row("serial line: over-long, binary and random lines")
    fd = os.open(server.endpoints["serial"], os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    try:
        for _ in range(n):
            row.cases += 1
            kind = rng.random()
            if kind < 0.3:
                line = b"#" * rng.choice([257, 300, 4095, 5000]) + b"REG"
            elif kind < 0.6:
                line = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 80))).replace(
                    b"\n", b""
                )
            else:
                line = rng.choice([b"SETP ", b"RATE ", b"SOFT ", b"AREA ", b"WDOG "]) + rng.choice(
                    [b"1e-40", b"nan", b"-1", b"1e30", b"x", b"5"]
                )
            os.write(fd, line + b"\n")
            buf, deadline = b"", time.monotonic() + REPLY_TIMEOUT_S
            while b"\n" not in buf and time.monotonic() < deadline:
                if select.select([fd], [], [], 0.05)[0]:
                    buf += os.read(fd, 4096)
            if b"\n" not in buf and line.strip():
                row.hangs += 1
            if line.endswith(b"REG") and not buf.startswith(b"ERR 2"):
                row.unsafe += 1
    finally:
        os.close(fd)
    row.crashes = 0 if alive(server) else 1
    return row


NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.])")
NASTY = [
    "0",
    "-1",
    "1e-40",
    "1e-200",
    "1e200",
    "1e308",
    "1e9",
    "nan",
    "inf",
    "1e-6",
    '"74"',
    "true",
    "[]",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
]


def mutated_protocols(rng: random.Random, n: int, tmp: Path) -> Row:
    row = Row("mutated protocol files (`presshil check`)")
    seeds = [p.read_text() for p in sorted((ROOT / "protocols").glob("*.toml"))]
    for _ in range(n):
        row.cases += 1
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            spots = list(NUMBER.finditer(text))
            r = rng.random()
            if r < 0.6 and spots:
                m = rng.choice(spots)
                text = text[: m.start()] + rng.choice(NASTY) + text[m.end() :]
            elif r < 0.8:
                lines = text.splitlines()
                i = rng.randrange(len(lines))
                lines[i : i + 1] = [] if rng.random() < 0.5 else [lines[i], lines[i]]
                text = "\n".join(lines) + "\n"
            else:
                depth = rng.choice([3, 30, 300, 3000])
                text += f"deep = {'[' * depth}{']' * depth}\n"
        path = tmp / "fuzzed.toml"
        path.write_text(text)
        t0 = time.monotonic()
        result = CliRunner().invoke(app, ["check", str(path)])
        if time.monotonic() - t0 > 20.0:
            row.hangs += 1
        if (
            result.exit_code not in (0, 2)
            or "Traceback" in result.output
            or (result.exit_code == 2 and len(result.output.strip().splitlines()) != 1)
        ):
            row.tracebacks += 1
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every case count")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    def k(n: int) -> int:
        return max(1, int(n * args.scale))

    import tempfile

    rows: list[Row] = []
    t0 = time.monotonic()
    with SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0", serial="pty") as server:
        rows.append(malformed_frames(server, rng, k(4400)))
        rows.append(bad_headers(server, rng, k(200)))
        rows.append(flood(server, k(20000)))
        rows.append(many_connections(server, k(1000)))
        rows.append(second_master(server, rng, k(500)))
        rows.append(serial_lines(server, rng, k(300)))
        time.sleep(0.5)  # let the server's last log lines land
        stderr = server.stderr()
    tracebacks = stderr.count("Traceback")
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(mutated_protocols(rng, k(2400), Path(tmp)))
    print("| class of input | cases | crashes | hangs | tracebacks | unsafe accepts |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.line())
    print(
        f"server stderr: {len(stderr.splitlines())} lines, {len(stderr)} bytes, "
        f"{tracebacks} tracebacks; campaign took {time.monotonic() - t0:.0f} s"
    )
    bad = sum(r.crashes + r.hangs + r.tracebacks + r.unsafe for r in rows) + tracebacks
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
