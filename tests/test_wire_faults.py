"""Faults on the wire surface as presshil's typed errors, and the link recovers after them.

A virtual press served in-process (so each test can switch its wire faults) on Modbus TCP,
Modbus RTU and the line protocol; a subprocess where the server must really die.
"""

from __future__ import annotations

import math
import socket

import pytest
from wall_clock import wall_clock_fixture

import presshil
from presshil import DeviceFault, Press, TransportError, TransportTimeout
from presshil.device import SpawnedServer, WireFaults, start_server
from presshil.maps.press_v1 import Space, encode
from presshil.transports.errormap import CorruptReply, StaleDataError
from presshil.transports.modbus_link import ModbusLink
from presshil.urls import parse_press_url

SIM_URL = "sim://?seed=1"
WIRES = ("modbus_tcp", "modbus_rtu", "serial")
TIMEOUT_S = {"modbus_tcp": 0.05, "modbus_rtu": 0.1, "serial": 0.1}
pytestmark = pytest.mark.timeout(120)


@wall_clock_fixture(scope="module")
def server():
    """One in-process virtual press on all three wires for the module."""
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0", modbus_rtu="pty", serial="pty") as handle:
        yield handle


@pytest.fixture(autouse=True)
def healthy_wires(request):
    """Every test starts and ends with no wire fault."""
    if "server" not in request.fixturenames:
        yield
        return
    handle = request.getfixturevalue("server")
    handle.press.faults = WireFaults()
    yield
    handle.press.faults = WireFaults()


def open_wire(server, wire: str, **query: object) -> Press:
    """Open ``wire`` of ``server`` with extra URL parameters."""
    url = server.urls[wire]
    params = {"timeout": TIMEOUT_S[wire], **query}
    return presshil.open_press(url + "".join(f"&{k}={v}" for k, v in params.items()))


@pytest.mark.parametrize("wire", WIRES)
def test_a_device_slower_than_the_timeout_is_a_timeout_then_recovers(server, wire) -> None:
    # RTU and the line protocol carry no transaction id: a retry could be answered by the
    # late reply to the first attempt, so those wires are tested without one
    press = open_wire(server, wire, retries=1 if wire == "modbus_tcp" else 0)
    try:
        server.faults.reply_delay_s = 3 * TIMEOUT_S[wire]
        with pytest.raises(TransportTimeout, match=r"no reply within"):
            press.read()
        server.faults.reply_delay_s = 0.0
        press.clock.sleep_until(press.clock.now() + 3 * TIMEOUT_S[wire])  # the slow reply drains
        assert press.read().counter > 0
    finally:
        press.close()


@pytest.mark.parametrize("wire", WIRES)
def test_a_frozen_sample_counter_is_stale_data(server, wire) -> None:
    press = open_wire(server, wire, stale=0.2)
    try:
        press.read()
        server.faults.freeze_counter = True
        with pytest.raises(StaleDataError, match="sample counter stuck"):
            for _ in range(100):
                press.read()
                press.clock.sleep_until(press.clock.now() + 0.02)
        server.faults.freeze_counter = False
        press.read()
    finally:
        press.close()


def test_noise_before_an_rtu_reply_is_skipped(server) -> None:
    press = open_wire(server, "modbus_rtu", retries=0)
    try:
        server.faults.garbage_replies = 3
        for _ in range(3):
            assert press.read().counter > 0
        assert server.faults.garbage_replies == 0
    finally:
        press.close()


def test_a_bad_crc_on_rtu_is_a_corrupt_reply_not_a_timeout(server) -> None:
    press = open_wire(server, "modbus_rtu", retries=1)
    try:
        server.faults.corrupt_replies = 10
        with pytest.raises(CorruptReply, match="CRC") as info:
            press.read()
        assert isinstance(info.value, TransportError) and not isinstance(
            info.value, TransportTimeout
        )
        server.faults.corrupt_replies = 0
        assert press.read().counter > 0
    finally:
        press.close()


def test_noise_on_the_line_protocol_is_skipped(server) -> None:
    press = open_wire(server, "serial", retries=0)
    try:
        server.faults.garbage_replies = 3
        for _ in range(3):
            assert press.read().counter > 0
    finally:
        press.close()


def test_exception_03_is_a_device_fault_value_out_of_range(server) -> None:
    press = open_wire(server, "modbus_tcp")
    link = ModbusLink(parse_press_url(server.urls["modbus_tcp"]))
    try:
        rated = press.identity.rated_max_pressure_mpa
        before = press.read().setpoint_mpa
        # the press refuses what it can judge itself before anything goes on the wire ...
        for call in (
            lambda: press.command(rated + 1.0, 10.0),
            lambda: press.command(5.0, -1.0),
            lambda: press.command(math.nan, 10.0),
            lambda: press.configure(die_area_mm2=-1.0),
            lambda: press.configure(soft_max_mpa=rated * 2),
            lambda: press.configure(watchdog_ms=70_000),
        ):
            with pytest.raises(DeviceFault, match="nothing written") as info:
                call()
            assert info.value.code == 3
        assert press.read().setpoint_mpa == before
        # ... and the device's own refusal (exception 03) is the same error, naming the write
        words = encode(Space.HOLDING, 0, {"command": 1, "heartbeat": 1, "setpoint": rated + 1.0, "ramp_rate": 10.0})
        with pytest.raises(DeviceFault, match="setpoint: exception 03: value out of range") as info:
            link.call("setpoint", lambda c: c.write_registers(0, words, device_id=1))
        assert info.value.code == 3
    finally:
        link.close()
        press.close()


@pytest.mark.parametrize("wire", WIRES)
def test_a_command_while_latched_is_refused_with_code_4(server, wire) -> None:
    press = open_wire(server, wire)
    try:
        press.stop()
        with pytest.raises(DeviceFault, match="exception 04|latched") as info:
            press.command(5.0, 10.0)
        assert info.value.code == 4
        press.reset()
        press.command(1.0, 10.0)
    finally:
        press.safe_state()
        press.reset()
        press.close()


def test_exception_02_is_a_device_fault_illegal_address(server) -> None:
    link = ModbusLink(parse_press_url(server.urls["modbus_tcp"]))
    try:
        with pytest.raises(
            DeviceFault, match=r"read input 50: exception 02: illegal data address"
        ) as info:
            link.call("read input 50", lambda c: c.read_input_registers(50, count=2, device_id=1))
        assert info.value.code == 2
        with pytest.raises(DeviceFault) as info:  # the state mirror is read-only
            link.call("write mirror", lambda c: c.write_register(256, 1, device_id=1))
        assert info.value.code == 2
    finally:
        link.close()


def test_a_wrong_unit_id_on_tcp_is_refused_at_open(server) -> None:
    with pytest.raises(DeviceFault, match="exception 11") as info:
        presshil.open_press(server.urls["modbus_tcp"].replace("unit=1", "unit=7"))
    assert info.value.code == 11


def test_a_device_without_fc23_gets_a_write_then_a_read(server) -> None:
    press = open_wire(server, "modbus_tcp")
    try:
        server.faults.no_fc23 = True
        sample = press.command_and_read(0.0, 10.0)
        assert sample.counter > 0
        assert press.uses_fc23 is False
    finally:
        press.close()


def test_a_reset_connection_is_retried_on_a_fresh_connection(server) -> None:
    press = open_wire(server, "modbus_tcp", retries=1)
    strict = open_wire(server, "modbus_tcp", retries=0)
    try:
        press.read()
        strict.read()
        assert server.reset_connections() == 2
        assert press.read().counter > 0  # the retry reconnects
        with pytest.raises(TransportError, match="connection"):
            strict.read()
        assert strict.read().counter > 0  # the next call reconnects
    finally:
        press.close()
        strict.close()


@pytest.mark.slow
def test_nobody_listening_is_a_transport_error_naming_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"modbus+tcp://127.0.0.1:{port}?timeout=0.05"
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        presshil.open_press(url)
    with pytest.raises(TransportError, match="/dev/nonexistent-presshil"):
        presshil.open_press("serial:///dev/nonexistent-presshil?timeout=0.05")
    with pytest.raises(TransportError, match="/dev/nonexistent-presshil"):
        presshil.open_press("modbus+rtu:///dev/nonexistent-presshil?timeout=0.05")


@pytest.mark.slow
def test_server_killed_mid_operation_then_back_on_the_same_port() -> None:
    first = SpawnedServer(SIM_URL, modbus_tcp="127.0.0.1:0")
    port = first.endpoints["modbus_tcp"].rsplit(":", 1)[1]
    press = presshil.open_press(first.urls["modbus_tcp"])
    try:
        press.command(10.0, 40.0)
        first.kill()
        with pytest.raises(TransportError):
            press.read()
        with pytest.raises(TransportError):
            press.command_and_read(10.0, 40.0)
        with SpawnedServer(SIM_URL, modbus_tcp=f"127.0.0.1:{port}") as second:
            assert second.endpoints["modbus_tcp"].endswith(f":{port}")
            # reconnects by itself on the next call: the reading is the second server's fresh
            # press (the 10 MPa command went to the first)
            assert press.read().setpoint_mpa == 0.0
            press.reconnect()  # and on request
            assert press.read().setpoint_mpa == 0.0
    finally:
        press.close()
        first.stop()


@pytest.mark.parametrize("wire", ["modbus_rtu", "serial"])
@pytest.mark.slow
def test_server_killed_under_a_serial_host_is_a_transport_error(wire) -> None:
    server = SpawnedServer(SIM_URL, **{wire: "pty"})
    press = presshil.open_press(server.urls[wire] + "&timeout=0.1")
    try:
        press.read()
        server.kill()
        with pytest.raises(TransportError):
            press.read()
    finally:
        press.close()
        server.stop()
