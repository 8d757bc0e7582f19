"""The virtual press server: start-up output, signals, bad input, and interoperation with
Modbus masters that are not presshil (hand-written frames on a raw socket, mbpoll)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading

import pytest
from wall_clock import wall_clock_fixture

from presshil.device import SpawnedServer, start_server
from presshil.device.serve import serve_main
from presshil.maps.press_v1 import STATE_MIRROR_BASE, StateCodec

SIM_URL = "sim://?seed=1"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # served presses, subprocesses, pseudo-terminals


def run_device(*args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``python3 -m presshil.device ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "presshil.device", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
    )


# --- process life ---------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_server_prints_where_it_listens_and_stops_cleanly_on_a_signal(sig) -> None:
    server = SpawnedServer(SIM_URL, modbus_tcp="127.0.0.1:0", modbus_rtu="pty", serial="pty")
    try:
        for url in server.urls.values():
            assert f"listening: {url}" in server.output
        rtu, line = server.endpoints["modbus_rtu"], server.endpoints["serial"]
        assert os.path.exists(rtu) and os.path.exists(line)
        host, port = server.endpoints["modbus_tcp"].rsplit(":", 1)
        assert host == "127.0.0.1"
        server.signal(sig)
        assert server.wait(10) == 0
        with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=1):
            pass
    finally:
        server.stop()


def test_a_bad_press_url_is_exit_code_2_without_a_traceback() -> None:
    result = run_device("--press", "nosuch://x", "--modbus-tcp", "127.0.0.1:0")
    assert result.returncode == 2
    assert "invalid press URL" in result.stderr and "Traceback" not in result.stderr
    result = run_device("--press", "modbus+tcp://127.0.0.1:1", "--modbus-tcp", "127.0.0.1:0")
    assert result.returncode == 2 and "sim://" in result.stderr


def test_a_port_in_use_is_exit_code_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_device("--modbus-tcp", f"127.0.0.1:{port}")
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_serve_main_reports_ready_and_returns_0_on_sigterm(capsys) -> None:
    seen: list[dict] = []

    def ready(info: dict) -> None:
        seen.append(info)
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()

    previous = signal.getsignal(signal.SIGTERM)
    code = serve_main(SIM_URL, "127.0.0.1:0", None, "pty", ready=ready)
    assert code == 0
    assert signal.getsignal(signal.SIGTERM) == previous
    (info,) = seen
    assert set(info["endpoints"]) == {"modbus_tcp", "serial"}
    out = capsys.readouterr().out
    assert info["endpoints"]["serial"] in out and "stopped" in out


def test_default_endpoint_is_modbus_tcp_on_loopback_5020() -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 5020))
        except OSError:
            pytest.skip("port 5020 is in use on this machine")
    with start_server(SIM_URL) as handle:
        assert handle.endpoints == {"modbus_tcp": "127.0.0.1:5020"}


# --- a master that is not presshil ------------------------------------------------------
@wall_clock_fixture(scope="module")
def tcp_server():
    """A virtual press on Modbus TCP and RTU, in-process."""
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0", modbus_rtu="pty") as handle:
        yield handle


class RawMaster:
    """Modbus TCP frames written by hand: MBAP header + PDU, nothing from pymodbus."""

    def __init__(self, endpoint: str) -> None:
        host, port = endpoint.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=2)
        self.tid = 0

    def request(self, pdu: bytes, unit: int = 1) -> bytes:
        self.tid += 1
        self.sock.sendall(struct.pack(">HHHB", self.tid, 0, len(pdu) + 1, unit) + pdu)
        header = self._recv(7)
        tid, proto, length, rx_unit = struct.unpack(">HHHB", header)
        assert (tid, proto, rx_unit) == (self.tid, 0, unit)
        return self._recv(length - 1)

    def _recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "connection closed"
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def master(tcp_server):
    """A raw-socket Modbus TCP master connected to the server."""
    m = RawMaster(tcp_server.endpoints["modbus_tcp"])
    yield m
    m.close()


def test_raw_fc04_reads_the_whole_state(master, tcp_server) -> None:
    n = tcp_server.press.identity.channel_count
    codec = StateCodec(n)
    rsp = master.request(struct.pack(">BHH", 4, 0, codec.count))
    assert rsp[0] == 4 and rsp[1] == 2 * codec.count
    regs = list(struct.unpack(f">{codec.count}H", rsp[2:]))
    sample = codec.decode(regs)
    assert regs[14] == n and sample.counter > 0
    rsp = master.request(struct.pack(">BHH", 4, 100, 5))
    rated, force, version = struct.unpack(">ffH", rsp[2:])
    assert version == 1 and rated > 0 and force > 0


def test_raw_exceptions_02_03_01(master) -> None:
    assert master.request(struct.pack(">BHH", 4, 50, 1)) == bytes([0x84, 2])  # no such register
    assert master.request(struct.pack(">BHH", 6, 3, 0)) == bytes([0x86, 2])  # half a float
    too_high = struct.pack(">BHHB", 16, 2, 2, 4) + struct.pack(">f", 1e6)
    assert master.request(too_high) == bytes([0x90, 3])  # setpoint above the limits
    nan = struct.pack(">BHHB", 16, 10, 2, 4) + struct.pack(">f", float("nan"))
    assert master.request(nan) == bytes([0x90, 3])  # NaN die area
    assert master.request(struct.pack(">BHH", 1, 0, 1)) == bytes(
        [0x81, 1]
    )  # coils: no such function


def test_raw_fc16_regulate_then_fc23_reads_the_mirror(master, tcp_server) -> None:
    master.request(struct.pack(">BHHB", 16, 0, 1, 2) + struct.pack(">H", 3))  # STOP
    master.request(struct.pack(">BHHB", 16, 0, 1, 2) + struct.pack(">H", 4))  # RESET_FAULT
    before = master.request(struct.pack(">BHH", 3, 0, 12))
    assert before[0] == 3 and before[1] == 24
    n = tcp_server.press.identity.channel_count
    count = StateCodec(n).count
    write = struct.pack(">HHff", 1, 1234, 5.0, 40.0)
    rsp = master.request(struct.pack(">BHHHHB", 23, STATE_MIRROR_BASE, count, 0, 6, 12) + write)
    assert rsp[0] == 23 and rsp[1] == 2 * count
    holding = master.request(struct.pack(">BHH", 3, 0, 6))
    cmd, hb, setpoint, rate = struct.unpack(">HHff", holding[2:])
    assert (cmd, hb, setpoint, rate) == (1, 1234, 5.0, 40.0)


def test_raw_fc43_identity(master, tcp_server) -> None:
    rsp = master.request(bytes([0x2B, 0x0E, 0x01, 0x00]))
    assert rsp[:2] == bytes([0x2B, 0x0E])
    assert tcp_server.press.identity.vendor.encode() in rsp


def fc43_objects(endpoint: str) -> dict[int, bytes]:
    """Every object of FC43/14 'regular' identification, read by hand."""
    m = RawMaster(endpoint)
    try:
        rsp = m.request(bytes([0x2B, 0x0E, 0x02, 0x00]))
    finally:
        m.close()
    assert rsp[:3] == bytes([0x2B, 0x0E, 0x02]), rsp
    objects, at = {}, 7
    for _ in range(rsp[6]):
        oid, length = rsp[at], rsp[at + 1]
        objects[oid] = rsp[at + 2:at + 2 + length]
        at += 2 + length
    return objects


def test_servers_in_one_process_each_answer_fc43_with_their_own_identity() -> None:
    """pymodbus keeps one identity per process; ours is per server, so a press, a plant and
    a profile emulation started side by side each name themselves."""
    from presshil.plant.server import start_plant_server
    from presshil.profiles.server import start_profile_server

    with (
        start_server("sim://servo-electric-10t?seed=1", modbus_tcp="127.0.0.1:0") as press,
        start_plant_server("sim://auto-hydraulic-25t?seed=1", modbus_tcp="127.0.0.1:0") as plant,
        start_profile_server("sim://?seed=1", "presshil-v1", modbus_tcp="127.0.0.1:0") as profile,
    ):
        served = {
            "press": fc43_objects(press.endpoints["modbus_tcp"]),
            "plant": fc43_objects(plant.endpoints["modbus_tcp"]),
            "profile": fc43_objects(profile.endpoints["modbus_tcp"]),
        }
    assert served["press"][0x05] == press.press.identity.model.encode()
    assert served["plant"][0x05].startswith(b"plant: ")
    assert served["profile"][0x02] == b"map v1"  # the profile's [device] firmware
    assert len({objs[0x05] for objs in served.values()}) == 3, served


def test_line_protocol_by_hand_on_the_pty() -> None:
    with start_server(SIM_URL, serial="pty") as handle:
        fd = os.open(handle.endpoints["serial"], os.O_RDWR | os.O_NOCTTY)
        try:
            replies = talk(fd, b"*IDN?\nfoo\nSETP x\nSETP 1e9\nmeas?\nRATED?\nFAULT?\n", lines=7)
        finally:
            os.close(fd)
    ident = handle.press.identity
    assert replies[0].startswith(f"{ident.vendor},")
    assert (
        replies[1].startswith("ERR 1 ")
        and replies[2].startswith("ERR 2 ")
        and replies[3].startswith("ERR 3 ")
    )
    assert len(replies[4].split()) == 8
    assert replies[5].split()[2] == str(ident.channel_count)
    assert replies[6] == "0"


def talk(fd: int, data: bytes, lines: int, timeout_s: float = 5.0) -> list[str]:
    """Write ``data`` to a tty, read ``lines`` reply lines (bounded by ``timeout_s``)."""
    import select
    import time
    import tty

    tty.setraw(fd)
    os.write(fd, data)
    buffer, deadline = b"", time.monotonic() + timeout_s
    while buffer.count(b"\n") < lines and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            buffer += os.read(fd, 4096)
    return buffer.decode("ascii").splitlines()


@pytest.mark.skipif(
    shutil.which("mbpoll") is None, reason="mbpoll not installed (apt-get install mbpoll)"
)
def test_mbpoll_reads_and_writes_over_tcp_and_rtu(tcp_server) -> None:
    port = tcp_server.endpoints["modbus_tcp"].rsplit(":", 1)[1]
    common = ["-a", "1", "-0", "-1", "-o", "2"]
    tcp = ["-m", "tcp", "-p", port, *common]

    def mbpoll(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["mbpoll", *args], check=False, capture_output=True, text=True, timeout=20
        )

    rated = mbpoll(*tcp, "-r", "100", "-c", "1", "-t", "3:float", "-B", "127.0.0.1")
    assert rated.returncode == 0, rated.stderr
    value = float(rated.stdout.split("[100]:")[1].split()[0])
    assert value == pytest.approx(tcp_server.press.identity.rated_max_pressure_mpa, rel=1e-5)
    refused = mbpoll(*tcp, "-r", "2", "-t", "4:float", "-B", "127.0.0.1", "--", "1000000")
    assert refused.returncode != 0 and "Illegal data value" in (refused.stdout + refused.stderr)
    wrote = mbpoll(*tcp, "-r", "1", "-t", "4", "127.0.0.1", "4321")
    assert wrote.returncode == 0, wrote.stderr
    rtu = mbpoll(
        "-m",
        "rtu",
        "-b",
        "115200",
        "-P",
        "none",
        *common,
        "-r",
        "104",
        "-c",
        "1",
        "-t",
        "3",
        tcp_server.endpoints["modbus_rtu"],
    )
    assert rtu.returncode == 0, rtu.stderr
    assert "[104]: \t1" in rtu.stdout
