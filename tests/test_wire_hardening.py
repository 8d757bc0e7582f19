"""The served press against a hostile or clumsy master: raw frames over real loopback sockets.

Every test bounds its waits (socket timeouts, loop counts); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import time

import pytest
from wall_clock import wall_clock_fixture

from presshil.device.server import start_server
from presshil.maps.press_v1 import COMMAND_REGULATE, COMMAND_STOP
from presshil.serving.tcp import WireLimits

SIM_URL = "sim://?seed=3"


class Raw:
    """A Modbus TCP master writing MBAP frames by hand."""

    def __init__(self, endpoint: str, timeout_s: float = 3.0) -> None:
        host, port = endpoint.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.tid = 0

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def send(self, pdu: bytes, unit: int = 1) -> int:
        self.tid = (self.tid + 1) & 0xFFFF
        self.sock.sendall(struct.pack(">HHHB", self.tid, 0, len(pdu) + 1, unit) + pdu)
        return self.tid

    def recv(self) -> tuple[int, bytes]:
        tid, _, length, _ = struct.unpack(">HHHB", self._recv(7))
        return tid, self._recv(length - 1)

    def request(self, pdu: bytes) -> bytes:
        tid = self.send(pdu)
        rx_tid, rsp = self.recv()
        assert rx_tid == tid
        return rsp

    def _recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        return data

    def read_input(self, address: int, count: int) -> list[int]:
        rsp = self.request(struct.pack(">BHH", 4, address, count))
        assert rsp[0] == 4, rsp.hex()
        return list(struct.unpack(f">{count}H", rsp[2:]))

    def read_holding(self, address: int, count: int) -> list[int]:
        rsp = self.request(struct.pack(">BHH", 3, address, count))
        assert rsp[0] == 3, rsp.hex()
        return list(struct.unpack(f">{count}H", rsp[2:]))

    def write(self, address: int, words: list[int]) -> bytes:
        body = struct.pack(f">BHHB{len(words)}H", 16, address, len(words), 2 * len(words), *words)
        return self.request(body)

    def close(self) -> None:
        self.sock.close()


def f32(value: float) -> list[int]:
    return list(struct.unpack(">HH", struct.pack(">f", value)))


def as_f32(words: list[int]) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", *words))[0])


@wall_clock_fixture(scope="module")
def server():
    limits = WireLimits(max_connections=6, idle_timeout_s=30.0, log_interval_s=30.0)
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0", serial="pty", limits=limits) as h:
        yield h


@pytest.fixture
def raw(server):
    m = Raw(server.endpoints["modbus_tcp"])
    yield m
    m.close()


# --- spec-conformant exceptions -------------------------------------------------------------
@pytest.mark.parametrize(
    "fc", [0x01, 0x02, 0x05, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x11, 0x14, 0x15, 0x16, 0x18, 0x63]
)
def test_an_unserved_function_code_gets_its_own_exception_01(raw, fc) -> None:
    assert raw.request(bytes([fc, 0, 0, 0, 1])) == bytes([fc | 0x80, 0x01])


@pytest.mark.parametrize(
    "pdu",
    [
        struct.pack(">BHH", 3, 0, 0),
        struct.pack(">BHH", 3, 0, 126),
        struct.pack(">BHH", 4, 0, 0),
        struct.pack(">BHH", 4, 0, 2000),
        struct.pack(">BHHB", 16, 0, 124, 2) + bytes(2),  # quantity above 123
        struct.pack(">BHHB", 16, 0, 2, 3) + bytes(3),  # byte count does not match
        struct.pack(">BHHHHB", 23, 256, 0, 0, 1, 2) + bytes(2),
        bytes([3, 0]),  # truncated body
    ],
)
def test_a_bad_quantity_or_body_gets_exception_03(raw, pdu) -> None:
    assert raw.request(pdu) == bytes([pdu[0] | 0x80, 0x03])


def test_pipelined_requests_are_all_answered_in_order(raw) -> None:
    sent = [raw.send(struct.pack(">BHH", 4 if i % 2 else 3, 0, 2)) for i in range(40)]
    got = [raw.recv() for _ in sent]
    assert [tid for tid, _ in got] == sent
    assert [rsp[0] for _, rsp in got] == [4 if i % 2 else 3 for i in range(40)]


# --- bounds ---------------------------------------------------------------------------------
@pytest.mark.parametrize("area", [1e-40, 1e-3, 0.0, -5.0, 1e30, float("nan"), float("inf")])
def test_a_meaningless_die_area_is_refused_and_the_state_stays_readable(raw, area) -> None:
    before = raw.read_holding(10, 2)
    assert raw.write(10, f32(area)) == bytes([0x90, 0x03])
    assert raw.read_holding(10, 2) == before
    assert raw.read_input(0, 16)[14] >= 1  # channel count: the state block still reads


@pytest.mark.parametrize(
    ("address", "value"), [(4, 1e30), (4, 1e-9), (6, 1e12), (2, 1e12), (6, -1.0)]
)
def test_meaningless_rates_and_pressures_are_refused(raw, address, value) -> None:
    assert raw.write(address, f32(value)) == bytes([0x90, 0x03])


def test_holding_6_reads_back_the_soft_max_in_force_after_a_die_area_change(raw, server) -> None:
    area = as_f32(raw.read_holding(10, 2))
    try:
        rated = server.press.identity.rated_max_pressure_mpa
        assert raw.write(6, f32(rated)) == struct.pack(">BHH", 16, 6, 2)
        assert raw.write(10, f32(area * 20)) == struct.pack(">BHH", 16, 10, 2)
        lowered = server.press.identity.rated_max_pressure_mpa
        assert lowered < rated  # a 20× die area lowers the rated pressure
        in_force = server.press.press.model.soft_max_mpa
        assert in_force == pytest.approx(lowered, rel=1e-6)
        assert as_f32(raw.read_holding(6, 2)) == pytest.approx(in_force, rel=1e-6)
    finally:
        raw.write(10, f32(area))


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (FIN or RST); a socket timeout raises."""
    try:
        return sock.recv(10) == b""
    except ConnectionResetError:
        return True


# --- connections ----------------------------------------------------------------------------
def test_connections_over_the_cap_are_closed_and_the_others_still_served(server) -> None:
    endpoint = server.endpoints["modbus_tcp"]
    held = [Raw(endpoint) for _ in range(6)]
    try:
        for m in held:
            m.read_input(0, 2)
        extra = [Raw(endpoint, timeout_s=2.0) for _ in range(20)]
        for m in extra:
            with pytest.raises((ConnectionError, OSError)):
                m.read_input(0, 2)
            m.close()
        for m in held:
            assert len(m.read_input(0, 2)) == 2
        assert server._tcp is not None and server._tcp.refused >= 20
    finally:
        for m in held:
            m.close()


@pytest.mark.slow
def test_idle_and_half_sent_connections_are_closed_after_the_idle_timeout() -> None:
    limits = WireLimits(max_connections=64, idle_timeout_s=0.5)
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0", limits=limits) as h:
        idle = [Raw(h.endpoints["modbus_tcp"], timeout_s=5.0) for _ in range(50)]
        half = Raw(h.endpoints["modbus_tcp"], timeout_s=5.0)
        half.sock.sendall(b"\x00\x01\x00")  # half a header, then silence
        try:
            # each socket waits at most 5 s: a server without the 0.5 s idle timeout keeps
            # them open and recv times out (the test fails), with no wall-clock assertion
            for m in [*idle, half]:
                assert closed_by_server(m.sock)
            assert h._tcp is not None and not h._tcp.connections
        finally:
            for m in [*idle, half]:
                m.close()


@pytest.mark.slow
def test_a_flood_of_bad_frames_logs_one_line_per_client_and_kind(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="presshil.serving")
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0") as h:
        for _ in range(5):  # new connections (new ports) are the same client
            m = Raw(h.endpoints["modbus_tcp"])
            for _ in range(100):
                assert m.request(bytes([0x63]))[0] == 0xE3
                assert m.request(struct.pack(">BHH", 3, 0, 0))[1] == 3
            m.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "presshil.serving"]
    assert len(lines) == 2, lines  # 1000 bad frames, two kinds: two lines
    assert {line.split(": ")[1] for line in lines} == {"exception 01", "exception 03"}
    assert sum(len(line) for line in lines) < 300


# --- serial line ----------------------------------------------------------------------------
def talk(fd: int, data: bytes, lines: int, timeout_s: float = 5.0) -> list[str]:
    import select
    import tty

    tty.setraw(fd)
    os.write(fd, data)
    buffer, deadline = b"", time.monotonic() + timeout_s
    while buffer.count(b"\n") < lines and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.05)[0]:
            buffer += os.read(fd, 65536)
    return buffer.decode("ascii", "replace").splitlines()


@pytest.mark.parametrize("length", [257, 4095, 20000])
def test_an_over_long_line_is_err_2_and_its_tail_is_never_executed(server, length) -> None:
    fd = os.open(server.endpoints["serial"], os.O_RDWR | os.O_NOCTTY)
    try:
        replies = talk(fd, b"#" * length + b"REG\nFAULT?\n", lines=2)
        time.sleep(0.3)  # the behaviour under test: nothing more comes, however long we wait
        extra = talk(fd, b"", lines=1, timeout_s=0.3)
    finally:
        os.close(fd)
    assert replies[0].startswith("ERR 2 ")
    assert replies[1] == "0"
    assert extra == []  # one reply for the long line, not one per chunk
    assert server.press.params["command"] != COMMAND_REGULATE


def test_a_256_character_line_is_still_a_command(server) -> None:
    fd = os.open(server.endpoints["serial"], os.O_RDWR | os.O_NOCTTY)
    try:
        replies = talk(fd, b"FAULT?" + b" " * 250 + b"\n", lines=1)
    finally:
        os.close(fd)
    assert replies == ["0"]


# --- one controlling master -----------------------------------------------------------------
def test_a_second_master_may_read_and_stop_but_not_take_over(server) -> None:
    endpoint = server.endpoints["modbus_tcp"]
    a, b = Raw(endpoint), Raw(endpoint)
    try:
        assert a.write(8, [2000])[0] == 16  # arm the watchdog
        assert a.write(1, [101])[0] == 16  # first heartbeat: a holds the lease
        lease = a.read_input(150, 10)
        assert lease[0] == 1 and lease[3] == a.port  # link Modbus TCP, a's port
        generation = lease[8]
        for address, words in (
            (2, f32(1.0)),
            (4, f32(5.0)),
            (6, f32(1.0)),
            (8, [0]),
            (10, f32(50.0)),
        ):
            assert b.write(address, words) == bytes([0x90, 0x01]), address
        assert b.write(0, [COMMAND_REGULATE]) == bytes([0x90, 0x01])
        assert b.write(1, [7]) == bytes([0x90, 0x01])  # b cannot feed a's watchdog
        assert b.write(12, [4242]) == bytes([0x90, 0x01])  # nor take the lease
        assert len(b.read_input(0, 16)) == 16  # reading is always allowed
        assert a.write(2, f32(2.0))[0] == 16  # the holder still controls
        assert b.write(0, [COMMAND_STOP, 8])[0] == 16  # STOP is never refused
        after = b.read_input(150, 10)
        assert after[4] == 1 and after[7] == b.port  # b stopped the press
        assert after[8] == (generation + 1) & 0xFFFF  # a's setpoint counted once
        assert after[9] >= 7  # refusals counted
    finally:
        a.write(8, [0])  # disarming the watchdog ends an implicit lease
        a.close()
        b.close()
        server.press.apply({"command": 4})


def test_a_token_lease_survives_a_reconnect_and_is_released_by_token_0(server) -> None:
    endpoint = server.endpoints["modbus_tcp"]
    a = Raw(endpoint)
    assert a.write(12, [0xBEEF])[0] == 16
    assert a.read_holding(12, 1) == [0]  # the token never reads back
    a.close()
    a2, other = Raw(endpoint), Raw(endpoint)
    try:
        assert other.write(2, f32(1.0)) == bytes([0x90, 0x01])  # still held after a left
        assert a2.write(12, [0xBEEF])[0] == 16  # same token: a's lease again
        assert a2.write(2, f32(1.0))[0] == 16
        assert a2.read_input(150, 4)[3] == a2.port
        assert a2.write(12, [0])[0] == 16  # release
        assert other.write(2, f32(1.0))[0] == 16
    finally:
        a2.close()
        other.close()


@pytest.mark.slow
def test_a_read_only_server_refuses_every_write_with_01() -> None:
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0", read_only=True) as h:
        m = Raw(h.endpoints["modbus_tcp"])
        try:
            assert m.write(0, [COMMAND_STOP]) == bytes([0x90, 0x01])
            assert m.request(struct.pack(">BHH", 6, 1, 5)) == bytes([0x86, 0x01])
            assert len(m.read_input(0, 16)) == 16
        finally:
            m.close()


@pytest.mark.slow
def test_the_plant_actuator_obeys_one_controller_and_anyone_may_drive_it_safe() -> None:
    from presshil.maps.plant import (
        ACTUATOR_COUNT,
        ACTUATOR_START,
        DRIVE_FOLLOW,
        DRIVE_SAFE,
        TABLE,
    )
    from presshil.maps.regtable import Space
    from presshil.plant.server import start_plant_server

    def command(mode: int, demand: float) -> list[int]:
        values = {"drive_mode": mode, "demand": demand, "based_on": 1}
        return TABLE.encode(Space.HOLDING, ACTUATOR_START, ACTUATOR_COUNT, values)

    with start_plant_server("sim://?seed=2", modbus_tcp="127.0.0.1:0") as plant:
        firmware, intruder = Raw(plant.endpoints["modbus_tcp"]), Raw(plant.endpoints["modbus_tcp"])
        try:
            assert firmware.write(ACTUATOR_START, command(DRIVE_FOLLOW, 0.1))[0] == 16
            assert intruder.write(ACTUATOR_START, command(DRIVE_FOLLOW, 0.9)) == bytes([0x90, 0x01])
            assert intruder.write(ACTUATOR_START, command(DRIVE_SAFE, 0.0))[0] == 16
            assert firmware.write(ACTUATOR_START, command(DRIVE_FOLLOW, 0.1))[0] == 16
        finally:
            firmware.close()
            intruder.close()
