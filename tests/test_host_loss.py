"""The press side of ``on_host_loss``: a lost host ends a run (release) or the press holds.

Real loopback sockets to an in-process virtual press; every wait bounded.
"""

from __future__ import annotations

import struct
import time

import pytest
from test_wire_hardening import Raw, as_f32, f32
from waiting import wait_for

from presshil.device.server import start_server
from presshil.press import FaultCode, Status

pytestmark = pytest.mark.slow  # a press served on loopback

SIM_URL = "sim://?seed=5"


def state(m: Raw) -> tuple[int, int, float, float]:
    """status, fault code, pressure, active setpoint (input registers 0..13)."""
    w = m.read_input(0, 14)
    return w[0], w[1], as_f32(w[6:8]), as_f32(w[12:14])


def regulate(m: Raw, setpoint: float, rate: float) -> None:
    words = [1, 1, *f32(setpoint), *f32(rate)]  # REGULATE, heartbeat 1, setpoint, rate
    assert m.write(0, words)[0] == 16


def test_with_hold_a_lost_host_leaves_the_cell_held_and_the_lease_pinned() -> None:
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0") as server:
        endpoint = server.endpoints["modbus_tcp"]
        host = Raw(endpoint)
        assert host.write(12, [0x5151])[0] == 16  # token lease
        assert host.write(13, [1])[0] == 16  # on_host_loss = hold
        assert host.write(8, [300])[0] == 16  # watchdog 300 ms
        regulate(host, 20.0, 2.0)  # a slow ramp: lost mid-ramp
        beats = iter(range(100, 1000))

        def fed_and_past_4_mpa() -> bool:
            assert host.write(1, [next(beats)])[0] == 16  # the host alive: heartbeats
            return state(host)[3] > 4.0

        wait_for(fed_and_past_4_mpa)
        host.close()  # the host dies: no more heartbeats
        other = Raw(endpoint)
        wait_for(lambda: other.read_input(150, 12)[10] == 1, what="the host-lost alarm")
        status, fault, pressure, active = state(other)
        assert not status & Status.FAULT and fault == FaultCode.NONE
        assert 4.0 < active < 8.0  # the ramp stopped where it was (2 MPa/s would be past 6)
        assert abs(pressure - active) < 1.0  # the cell is held, not dropped to 0
        lease = other.read_input(150, 12)
        assert lease[10] == 1 and lease[11] == 1  # host_lost alarm, one loss
        assert lease[0] == 1  # still held by the lost host: pinned
        assert other.write(2, f32(1.0)) == bytes([0x90, 0x01])  # nobody else takes over
        time.sleep(1.0)  # the behaviour under test: a second with nobody driving, still held
        assert abs(state(other)[3] - active) < 1e-3  # still holding after the lease expiry
        # the same host comes back with its token: its run again
        back = Raw(endpoint)
        assert back.write(12, [0x5151])[0] == 16
        assert back.write(1, [2])[0] == 16  # heartbeat clears the alarm
        assert back.read_input(160, 2) == [0, 1]
        assert other.write(0, [3])[0] == 16  # STOP from anyone, always
        back.close()
        other.close()


def test_with_release_a_lost_host_trips_the_watchdog_as_before() -> None:
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0") as server:
        host = Raw(server.endpoints["modbus_tcp"])
        assert host.write(8, [300])[0] == 16
        regulate(host, 10.0, 20.0)  # then silence
        wait_for(lambda: state(host)[0] & Status.WATCHDOG_TRIPPED, timeout_s=5.0)
        wait_for(lambda: state(host)[2] < 0.5, timeout_s=5.0)  # pressure released
        assert host.read_input(160, 2) == [0, 0]
        host.close()


def test_on_host_loss_accepts_only_its_two_policies() -> None:
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0") as server:
        host = Raw(server.endpoints["modbus_tcp"])
        assert host.request(struct.pack(">BHH", 6, 13, 2)) == bytes([0x86, 0x03])
        assert host.read_holding(13, 1) == [0]
        host.close()
