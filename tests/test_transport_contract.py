"""The Press contract over real wires: Modbus TCP on loopback, Modbus RTU and the line
protocol on pseudo-terminals, all served by one virtual-press subprocess for the module."""

from __future__ import annotations

import pytest
from press_contract import DIE_AREA_MM2, PressContract, wait
from waiting import wait_for
from wall_clock import wall_clock_fixture

import presshil
from presshil import Press
from presshil.device import SpawnedServer

SIM_URL = "sim://?seed=1"
pytestmark = pytest.mark.timeout(120)


@wall_clock_fixture(scope="module")
def server():
    """One virtual press, served on Modbus TCP, Modbus RTU and the line protocol at once."""
    with SpawnedServer(SIM_URL, modbus_tcp="127.0.0.1:0", modbus_rtu="pty", serial="pty") as srv:
        yield srv


@pytest.fixture(scope="module")
def connections(server):
    """Presses opened on the server's wires, kept for the module."""
    opened: dict[str, Press] = {}
    yield opened
    for press in opened.values():
        press.close()


#: the contract is about behaviour, not latency: a generous reply timeout keeps a loaded CI
#: machine from failing it (timeouts themselves are tested in test_wire_faults.py)
TIMEOUT = "&timeout=0.25"


def connect(server, connections, endpoint: str) -> Press:
    """The module's connection to ``endpoint``, prepared for a test."""
    if endpoint not in connections:
        connections[endpoint] = presshil.open_press(server.urls[endpoint] + TIMEOUT)
    press = connections[endpoint]
    press.make_safe(die_area_mm2=DIE_AREA_MM2)
    return press


class _WireContract(PressContract):
    endpoint = ""

    @pytest.fixture
    def press(self, server, connections) -> Press:
        """A press over this class's wire, stopped, reset and configured."""
        return connect(server, connections, self.endpoint)


class TestModbusTcpContract(_WireContract):
    endpoint = "modbus_tcp"


class TestModbusRtuContract(_WireContract):
    endpoint = "modbus_rtu"


class TestSerialContract(_WireContract):
    endpoint = "serial"


def test_three_wires_drive_one_press(server, connections) -> None:
    tcp = connect(server, connections, "modbus_tcp")
    rtu = connect(server, connections, "modbus_rtu")
    line = connect(server, connections, "serial")
    assert tcp.identity.model == rtu.identity.model == line.identity.model
    positions = tcp.identity.channel_positions_mm
    assert len(positions) == tcp.identity.channel_count  # the extension carries them
    for other in (rtu.identity.channel_positions_mm, line.identity.channel_positions_mm):
        flat = [c for xy in other for c in xy]
        assert flat == pytest.approx([c for xy in positions for c in xy], abs=1e-3)
    assert tcp.identity.rated_max_pressure_mpa == pytest.approx(
        line.identity.rated_max_pressure_mpa, rel=1e-6
    )
    tcp.command(12.0, 40.0)
    wait(tcp, 0.2)
    assert rtu.read().setpoint_mpa > 0.0
    line.stop()
    assert wait(tcp, 0.1).faulted
    rtu.reset()
    # the served firmware applies a command on its next tick: allow it a bounded moment
    wait_for(lambda: not line.read().faulted, timeout_s=1.0, what="the reset on the line protocol")


def test_urls_name_the_wires(server) -> None:
    assert server.urls["modbus_tcp"].startswith("modbus+tcp://127.0.0.1:")
    assert server.urls["modbus_rtu"].startswith("modbus+rtu:///dev/")
    assert server.urls["serial"].startswith("serial:///dev/")
