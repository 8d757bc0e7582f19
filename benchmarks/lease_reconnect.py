"""The run that lost its lease, replayed: a host heartbeats a profile-served press and drops
and re-opens its connection again and again (as after a reply timeout on a loaded machine),
while idle peers hold every other connection slot.

    python3 benchmarks/lease_reconnect.py [--seconds 5] [--reconnect-every 10] [--idle 31]

Bounded in time and count; loopback only. Prints one table row per server: heartbeats sent,
reconnects, heartbeats refused with exception 01, reconnects locked out by the connection
cap, and whether the watchdog tripped. Before the fix the profile server refused every
heartbeat after the first reconnect and the watchdog tripped the press.
"""

from __future__ import annotations

import argparse
import socket
import struct
import time
from contextlib import ExitStack
from typing import Any

WATCHDOG_TRIPPED = 1 << 10  # the profile's status bit (plc-hydraulic-press: holding 2)


class Master:
    """A Modbus TCP master writing frames by hand (bounded socket timeouts)."""

    def __init__(self, endpoint: str, timeout_s: float = 2.0) -> None:
        host, port = endpoint.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.tid = 0

    def request(self, pdu: bytes) -> bytes:
        self.tid = (self.tid + 1) & 0xFFFF
        self.sock.sendall(struct.pack(">HHHB", self.tid, 0, len(pdu) + 1, 1) + pdu)
        head = self._recv(7)
        return self._recv(struct.unpack(">HHHB", head)[2] - 1)

    def _recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        return data

    def fc06(self, address: int, value: int) -> bytes:
        return self.request(struct.pack(">BHH", 6, address, value))

    def close(self) -> None:
        self.sock.close()


def replay(endpoint: str, seconds: float, every: int, idle: int, read_status: Any) -> dict[str, Any]:
    """Heartbeat for ``seconds`` with a reconnect every ``every`` beats and ``idle`` idle peers."""
    out = {"beats": 0, "reconnects": 0, "refused_01": 0, "locked_out": 0, "tripped": False}
    with ExitStack() as stack:
        host = Master(endpoint)
        assert host.fc06(13, 3000)[0] == 6  # watchdog 3 s: the sequence
        for _ in range(idle):  # idle peers fill every other slot
            peer = Master(endpoint)
            stack.callback(peer.close)
        deadline = time.monotonic() + seconds
        beat = 7
        while time.monotonic() < deadline and out["beats"] < 100_000:
            beat = (beat + 1) & 0xFFFF
            reply = host.fc06(14, beat)
            out["beats"] += 1
            if reply[0] & 0x80 and reply[1] == 1:
                out["refused_01"] += 1
            if out["beats"] % every == 0:
                host.close()
                out["reconnects"] += 1
                for _attempt in range(20):  # bounded: a locked-out reconnect retries a little
                    try:
                        host = Master(endpoint)
                        host.fc06(14, beat)  # may be refused (01): counted on the next beat
                        break
                    except (ConnectionError, OSError):
                        out["locked_out"] += 1
                        time.sleep(0.05)
                else:
                    break
            time.sleep(0.05)
        out["tripped"] = bool(read_status(host) & WATCHDOG_TRIPPED)
        host.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--reconnect-every", type=int, default=10)
    ap.add_argument("--idle", type=int, default=31, help="idle peers (the cap is 32)")
    args = ap.parse_args()
    from presshil.profiles.server import start_profile_server

    def status(m: Master) -> int:
        rsp = m.request(struct.pack(">BHH", 3, 2, 1))
        return int(struct.unpack(">H", rsp[2:4])[0])

    print("| server | beats | reconnects | refused (01) | locked out | watchdog tripped |")
    print("|---|---|---|---|---|---|")
    with start_profile_server("sim://auto-hydraulic-25t?seed=1", "plc-hydraulic-press",
                              modbus_tcp="127.0.0.1:0") as srv:
        r = replay(srv.endpoints["modbus_tcp"], args.seconds, args.reconnect_every, args.idle, status)
        print(f"| profile plc-hydraulic-press | {r['beats']} | {r['reconnects']} | {r['refused_01']} | "
              f"{r['locked_out']} | {'yes' if r['tripped'] else 'no'} |")


if __name__ == "__main__":
    main()
