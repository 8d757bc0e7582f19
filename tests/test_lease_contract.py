"""One lease contract, run against every server that has a lease: map v1 (``presshil serve``),
a device profile on Modbus and on OPC UA (``presshil serve --profile … [--opcua]``) and the
plant's actuator (``presshil plant serve``). Raw Modbus frames, or asyncua clients, over real
loopback sockets; every wait is bounded by a socket timeout or a deadline.

The contract (docs/security.md): an implicit lease ends with its connection; another master
may read and STOP but not drive while a lease is held; the connection cap never locks out the
lease holder's reconnect, and at the cap the longest-idle connection (never the holder's)
makes room (Modbus servers: the OPC UA endpoint's connections are asyncua's).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from test_wire_hardening import Raw, closed_by_server
from waiting import wait_for
from wall_clock import wall_clock_fixture

from presshil.serving.tcp import WireLimits

pytestmark = pytest.mark.slow  # presses served on loopback

REFUSED = 0x01  # exception 01: "not allowed for you"


@dataclass
class Server:
    """How to drive one kind of server: claim its lease, drive it, stop it."""

    name: str
    handle: Any
    claim: Any  # (Raw) -> None: take the lease implicitly (watchdog + heartbeat, or a command)
    drive: Any  # (Raw) -> bytes: a write only the holder may make
    stop: Any  # (Raw) -> bytes: STOP (DRIVE_SAFE on the plant)
    read: Any  # (Raw) -> list[int]: a read any master may make

    def connections(self) -> int:
        return len(self.handle._tcp.connections)

    @property
    def endpoint(self) -> str:
        return str(self.handle.endpoints["modbus_tcp"])

    def open(self) -> ModbusMaster:
        """A new master on a new connection."""
        return ModbusMaster(self, Raw(self.endpoint, timeout_s=10.0))


@dataclass
class ModbusMaster:
    """One master of a Modbus server, as the contract drives it."""

    srv: Server
    raw: Raw

    def claim(self) -> None:
        self.srv.claim(self.raw)

    def drive(self) -> bool:
        """A write only the holder may make: True accepted, False refused for the lease."""
        return answered(self.srv.drive(self.raw))

    def stop(self) -> bool:
        return answered(self.srv.stop(self.raw))

    def close(self) -> None:
        self.raw.close()


def fc06(m: Raw, address: int, value: int) -> bytes:
    return m.request(struct.pack(">BHH", 6, address, value))


def fc05(m: Raw, address: int, on: bool) -> bytes:
    return m.request(struct.pack(">BHH", 5, address, 0xFF00 if on else 0))


def refused(reply: bytes) -> bool:
    return reply[0] & 0x80 != 0 and reply[1] == REFUSED


def accepted(reply: bytes) -> bool:
    return reply[0] & 0x80 == 0


def answered(reply: bytes) -> bool:
    """Accepted (True) or refused for the lease (False); any other answer fails the test."""
    assert accepted(reply) or refused(reply), reply.hex()
    return accepted(reply)


@contextmanager
def map_v1(limits: WireLimits) -> Iterator[Server]:
    from presshil.device.server import start_server

    with start_server("sim://?seed=3", modbus_tcp="127.0.0.1:0", limits=limits) as h:
        def claim(m: Raw) -> None:
            assert accepted(fc06(m, 8, 3000)) and accepted(fc06(m, 1, 7))  # watchdog, heartbeat

        yield Server("map v1", h, claim, lambda m: fc06(m, 1, 8), lambda m: m.write(0, [3, 9]),
                     lambda m: m.read_input(0, 1))


@contextmanager
def profile(limits: WireLimits) -> Iterator[Server]:
    from presshil.profiles.server import start_profile_server

    with start_profile_server("sim://auto-hydraulic-25t?seed=1", "plc-hydraulic-press",
                              modbus_tcp="127.0.0.1:0", limits=limits) as h:
        def claim(m: Raw) -> None:
            # the sequence: FC06 holding 13 = 3000 (watchdog), 14 = 7 (heartbeat)
            assert accepted(fc06(m, 13, 3000)) and accepted(fc06(m, 14, 7))

        yield Server("profile", h, claim, lambda m: fc06(m, 14, 8), lambda m: fc05(m, 1, True),
                     lambda m: m.read_holding(0, 1))


@contextmanager
def plant(limits: WireLimits) -> Iterator[Server]:
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

    with start_plant_server("sim://?seed=2", modbus_tcp="127.0.0.1:0") as h:
        h._tcp.limits = limits  # the plant takes no limits argument; its service reads them live

        def claim(m: Raw) -> None:
            assert accepted(m.write(ACTUATOR_START, command(DRIVE_FOLLOW, 0.1)))

        yield Server("plant", h, claim, lambda m: m.write(ACTUATOR_START, command(DRIVE_FOLLOW, 0.2)),
                     lambda m: m.write(ACTUATOR_START, command(DRIVE_SAFE, 0.0)),
                     lambda m: m.read_input(0, 1))


SERVERS = {"map-v1": map_v1, "profile": profile, "plant": plant}


@pytest.fixture(params=sorted(SERVERS))
def kind(request) -> Any:
    return SERVERS[request.param]


@pytest.fixture(params=[*sorted(SERVERS), "opcua"])
def any_kind(request) -> Any:
    """Every server with a lease, the OPC UA endpoint included."""
    if request.param == "opcua":
        pytest.importorskip("asyncua")
        from lease_opcua import opcua

        return opcua
    return SERVERS[request.param]


def test_an_implicit_lease_ends_with_its_connection(any_kind) -> None:
    with any_kind(WireLimits()) as srv:
        first = srv.open()
        first.claim()
        first.close()
        wait_for(lambda: srv.connections() == 0)
        # the lost run of the issue: a new connection of the same host heartbeats (or commands)
        second = srv.open()
        try:
            assert second.drive(), srv.name
        finally:
            second.close()


def test_another_master_may_stop_but_not_drive_while_the_lease_is_held(any_kind) -> None:
    with any_kind(WireLimits()) as srv:
        holder, other = srv.open(), srv.open()
        try:
            holder.claim()
            assert not other.drive(), srv.name
            assert holder.drive()
            assert other.stop()  # STOP from anyone, always
        finally:
            holder.close()
            other.close()


def test_the_holders_reconnect_finds_a_slot_when_idle_peers_fill_the_cap(kind) -> None:
    # eviction off (no peer is idle an hour): only the slot kept for the holder lets it in
    with kind(WireLimits(max_connections=3, evict_idle_s=3600.0)) as srv:
        holder = Raw(srv.endpoint, timeout_s=10.0)
        srv.claim(holder)
        peers = [Raw(srv.endpoint, timeout_s=10.0) for _ in range(2)]
        for p in peers:
            srv.read(p)
        holder.close()
        wait_for(lambda: srv.connections() == 2)
        peers.append(Raw(srv.endpoint, timeout_s=10.0))  # an idle peer takes the slot the holder left
        srv.read(peers[-1])
        back = Raw(srv.endpoint, timeout_s=10.0)  # the holder again, from a new port: over the cap
        stranger = Raw(srv.endpoint, timeout_s=10.0)
        try:
            assert accepted(srv.drive(back)), srv.name
            with pytest.raises((ConnectionError, OSError)):
                srv.read(stranger)  # the kept slot is the holder's only
        finally:
            for m in (*peers, back, stranger):
                m.close()


def test_at_the_cap_the_longest_idle_connection_makes_room_but_never_the_holders(kind) -> None:
    with kind(WireLimits(max_connections=3, evict_idle_s=0.0)) as srv:
        holder = Raw(srv.endpoint, timeout_s=10.0)
        srv.claim(holder)
        oldest, younger = Raw(srv.endpoint, timeout_s=10.0), Raw(srv.endpoint, timeout_s=10.0)
        newcomer = None
        try:
            srv.read(oldest)
            srv.read(younger)
            newcomer = Raw(srv.endpoint, timeout_s=10.0)
            assert len(srv.read(newcomer)) == 1
            assert closed_by_server(oldest.sock)  # idle longest apart from the holder
            assert len(srv.read(younger)) == 1
            assert accepted(srv.drive(holder))  # the holder, idle longer still, kept its line
        finally:
            for m in (holder, oldest, younger, newcomer):
                if m is not None:
                    m.close()


# --- the OPC UA endpoint: a session is the master -------------------------------------------
@wall_clock_fixture()
def opcua_server() -> Iterator[Any]:
    """``presshil serve --profile opcua-press --opcua 127.0.0.1:0``."""
    pytest.importorskip("asyncua")
    from lease_opcua import opcua

    with opcua() as srv:
        yield srv


def test_an_opcua_session_refused_the_lease_changes_nothing_and_may_still_stop(opcua_server) -> None:
    from presshil.serving.master import Link

    srv = opcua_server
    holder, other = srv.open(), srv.open()
    try:
        holder.claim()  # Setpoint = 5 MPa
        refusals = srv.lease.view().refused
        assert not other.write("Setpoint", 20.0)
        assert not other.write("Heartbeat", 1.0)
        for method in ("Start", "Release", "Reset"):
            assert not other.call(method), method
        assert srv.lease.view().refused == refusals + 5
        assert srv.handle.press.params["setpoint"] == 5.0  # the refused 20 MPa never arrived
        assert other.read("Setpoint") == 5.0  # reading is anyone's
        assert holder.call("Start") and holder.write("Setpoint", 7.0)
        assert other.stop()
        stopped_by = srv.lease.view().last_stop
        assert stopped_by is not None and stopped_by.link is Link.OPC_UA
        assert srv.lease.holder is not None and stopped_by != srv.lease.holder  # still holds
    finally:
        holder.close()
        other.close()


def test_an_opcua_session_that_loses_its_connection_loses_the_lease(opcua_server) -> None:
    srv = opcua_server
    holder, other = srv.open(), srv.open()
    try:
        holder.claim()
        assert not other.drive()
        holder.drop()  # no CloseSession: the connection is simply gone
        wait_for(lambda: srv.connections() == 1)
        assert other.drive()
        assert srv.lease.holder is not None and srv.lease.holder.port == other_port(srv)
    finally:
        other.close()


def test_the_opcua_holders_new_session_claims_again_before_an_idle_peer(opcua_server) -> None:
    srv = opcua_server
    holder, peer = srv.open(), srv.open()
    back = None
    try:
        holder.claim()
        holder.close()  # the reply timeout of the issue: the host reconnects with a new session
        wait_for(lambda: srv.connections() == 1)
        back = srv.open()
        assert back.drive()  # its implicit lease ended with the old session: it claims again
        assert not peer.drive()  # the idle peer, which never commanded, did not take it
    finally:
        peer.close()
        if back is not None:
            back.close()


def other_port(srv: Any) -> int:
    """The TCP port of the one client still connected to ``srv``'s OPC UA endpoint."""
    (client,) = srv.handle.opcua_lease.server.bserver.clients
    return int(client.peer_name[1])


def test_a_modbus_master_and_an_opcua_session_of_one_press_share_its_lease() -> None:
    # `presshil serve --profile` serves one transport (a profile is Modbus or OPC UA); a
    # press served on both at once, in-process, still has one lease for both wires
    pytest.importorskip("asyncua")
    from lease_opcua import SIM, UaMaster

    from presshil.device.server import start_server
    from presshil.device.virtual import VirtualPress
    from presshil.profiles.server import start_profile_server

    vp = VirtualPress(SIM)
    with start_server(vp, modbus_tcp="127.0.0.1:0") as mb, start_profile_server(vp, "opcua-press", opcua="127.0.0.1:0") as ua_srv:
        master = Raw(mb.endpoints["modbus_tcp"], timeout_s=10.0)
        session = UaMaster(ua_srv.endpoints["opcua"])
        again = None
        try:
            assert accepted(fc06(master, 8, 3000)) and accepted(fc06(master, 1, 7))  # Modbus claims
            assert not session.drive()
            assert session.stop()  # STOP from the other wire, always
            master.close()
            wait_for(lambda: len(mb._tcp.connections) == 0)
            assert session.drive()  # the session claims now
            again = Raw(mb.endpoints["modbus_tcp"], timeout_s=10.0)
            assert refused(fc06(again, 1, 8))  # and the Modbus side is refused
        finally:
            session.close()
            for m in (master, again):
                if m is not None:
                    m.close()


# --- the lease itself, on a clock the test moves ---------------------------------------------
class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_a_session_claims_with_any_commanding_write_and_keeps_the_lease_until_it_ends() -> None:
    from presshil.serving.lease import ControlLease, LeaseRefused
    from presshil.serving.master import Link, Master

    clock = Clock()
    lease = ControlLease(clock=clock)  # the watchdog is off: no heartbeat could claim
    one, two = Master(Link.OPC_UA, "127.0.0.1", 4001, name="session 1"), Master(Link.OPC_UA, "127.0.0.1", 4002, name="session 2")
    assert lease.check_write(one, {"setpoint"}, stop=False, heartbeat=False) and lease.holder is None
    lease.check_write(one, {"setpoint"}, stop=False, heartbeat=False, claims=True)
    clock.now_s += 3600.0  # no heartbeat for an hour: a session's lease does not lapse
    assert lease.holder == one
    with pytest.raises(LeaseRefused):
        lease.check_write(two, {"setpoint"}, stop=False, heartbeat=False, claims=True)
    assert lease.check_write(two, {"stop"}, stop=True, heartbeat=False, stop_only=True) is False
    assert lease.view().last_stop == two and lease.view().refused == 1
    lease.disconnected(one)
    assert lease.holder is None
    lease.check_write(two, {"setpoint"}, stop=False, heartbeat=False, claims=True)
    assert lease.holder == two


def test_with_the_watchdog_armed_a_sessions_lease_lapses_when_it_writes_nothing() -> None:
    from presshil.serving.lease import LEASE_EXPIRY_S, ControlLease, LeaseRefused
    from presshil.serving.master import Link, Master

    clock = Clock()
    lease = ControlLease(clock=clock)
    one = Master(Link.OPC_UA, "127.0.0.1", 4001, name="session 1")
    other = Master(Link.OPC_UA, "127.0.0.1", 4002, name="session 2")
    lease.check_write(one, {"setpoint"}, stop=False, heartbeat=False, claims=True)
    clock.now_s += 10.0
    # the press arms the watchdog after the write is allowed, as VirtualPress.apply does:
    # the write itself is the holder's sign of life, so arming 10 s after the claim
    # leaves no moment in which the lease is free
    lease.check_write(one, {"watchdog"}, stop=False, heartbeat=False, claims=True)
    lease.watchdog_s = 2.0
    with pytest.raises(LeaseRefused):
        lease.check_write(other, {"setpoint"}, stop=False, heartbeat=False, claims=True)
    clock.now_s += LEASE_EXPIRY_S - 0.5
    assert lease.holder == one
    clock.now_s += 1.0  # 3.5 s without a write: longer than the lease (3 s) and watchdog (2 s)
    assert lease.holder is None


def test_presshils_own_opcua_host_is_told_who_refused_it_and_may_still_stop(opcua_server) -> None:
    import presshil
    from presshil.errors import DeviceFault

    holder = opcua_server.open()
    press = presshil.open_press(opcua_server.handle.urls["opcua"] + "&mode=poll&timeout=5")
    try:
        holder.claim()
        with pytest.raises(DeviceFault, match="BadUserAccessDenied"):
            press.command(5.0, 10.0)
        press.stop()  # no error: a STOP is anyone's
        stopper, holding = opcua_server.lease.view().last_stop, opcua_server.lease.holder
        assert stopper is not None and holding is not None and stopper != holding
    finally:
        press.close()
        holder.close()
