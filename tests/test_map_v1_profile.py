"""Map v1 is the ``presshil-v1`` profile: one way to drive a Modbus wire.

A ``modbus+tcp://`` URL without ``profile=`` is the profile press on the shipped
``presshil-v1`` profile, plus what map v1 reads out of the device about itself (ratings, map
version, channel count, load-cell positions). The two profile features that made that
possible, ``device.identify = "fc43"`` and ``state_mirror`` (a control cycle in one FC23),
work for any profile, and the profile emulation serves them.
"""

from __future__ import annotations

import socket
import struct
import tomllib
from pathlib import Path

import pytest
from waiting import wait_for

import presshil
from presshil.device import start_server
from presshil.profiles import ProfileError, parse_profile
from presshil.profiles.modbus_press import ModbusProfilePress
from presshil.profiles.server import is_map_v1, start_profile_server
from presshil.serving.tcp import WireLimits
from presshil.transports.modbus import ModbusPress

ROOT = Path(__file__).resolve().parents[1]
V1 = tomllib.loads((ROOT / "profiles" / "presshil-v1.toml").read_text())
OPCUA = tomllib.loads((ROOT / "profiles" / "opcua-press.toml").read_text())
pytestmark = pytest.mark.timeout(120)


def count_requests(press: ModbusProfilePress) -> list[str]:
    """The labels of the requests ``press`` sends from now on (one entry per request)."""
    sent: list[str] = []
    call = press._link.call

    def counting(what, request):
        sent.append(what)
        return call(what, request)

    press._link.call = counting  # type: ignore[method-assign]
    return sent


def ramps_toward(press, target: float, within_s: float = 5.0) -> bool:
    """The active setpoint starts moving toward ``target`` within ``within_s`` (else fails)."""
    return bool(wait_for(lambda: 0.0 < press.read().setpoint_mpa <= target, timeout_s=within_s,
                         what=f"the setpoint to ramp toward {target} MPa", poll_s=0.01))


@pytest.mark.parametrize("sim", ["sim://?seed=1", "sim://servo-electric-10t?seed=1"])
@pytest.mark.slow
def test_a_modbus_url_without_profile_is_the_presshil_v1_profile_following_the_device(sim) -> None:
    with start_server(sim, modbus_tcp="127.0.0.1:0") as server:
        served = server.press.identity
        press = presshil.open_press(server.urls["modbus_tcp"])
        try:
            assert isinstance(press, ModbusPress) and isinstance(press, ModbusProfilePress)
            assert press.profile.name == "presshil-v1"
            ident = press.identity
            # what the device says about itself, not the profile file's placeholders
            assert ident.channel_count == served.channel_count
            assert press.profile.signals["channel_force"].count == served.channel_count
            assert ident.rated_max_force_kn == pytest.approx(served.rated_max_force_kn, rel=1e-6)
            assert ident.rated_max_pressure_mpa == pytest.approx(served.rated_max_pressure_mpa, rel=1e-6)
            assert ident.vendor == served.vendor and ident.firmware == served.firmware  # FC43
            assert len(ident.channel_positions_mm) == served.channel_count
            sample = press.read()
            assert len(sample.channels_kn) == served.channel_count
            assert [b.describe() for b in press.blocks] == [f"input 0..{15 + 2 * served.channel_count}"]
        finally:
            press.close()


@pytest.mark.slow
def test_map_v1_uses_the_shipped_profile_whatever_the_lab_profiles_folder_holds(tmp_path, monkeypatch) -> None:
    (tmp_path / "profiles").mkdir()
    broken = (ROOT / "profiles" / "presshil-v1.toml").read_text().replace("address = 6\n", "address = 40\n", 1)
    (tmp_path / "profiles" / "presshil-v1.toml").write_text(broken)
    monkeypatch.chdir(tmp_path)
    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        url = server.urls["modbus_tcp"]
        press = presshil.open_press(url)
        try:
            assert press.profile.signals["pressure"].address == 6
            assert press.read().counter > 0
        finally:
            press.close()
        # profile=presshil-v1 is a profile name like any other: the lab's own copy wins
        with pytest.raises(presshil.DeviceFault, match="exception 02"):
            lab = presshil.open_press(url + "&profile=presshil-v1")
            try:
                lab.read()
            finally:
                lab.close()


@pytest.mark.slow
def test_a_control_cycle_is_one_fc23_round_trip_and_falls_back_without_fc23() -> None:
    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        press = presshil.open_press(server.urls["modbus_tcp"])
        try:
            sent = count_requests(press)
            sample = press.command_and_read(5.0, 10.0)
            assert len(sent) == 1 and "FC23" in sent[0], sent
            assert sample.counter > 0 and 0.0 <= sample.setpoint_mpa <= 5.0
            assert ramps_toward(press, 5.0)  # the write of that round trip took effect
            sent.clear()
            server.faults.no_fc23 = True
            press.command_and_read(5.0, 10.0)  # refused (exception 01), then a write and a read
            assert press.uses_fc23 is False
            sent.clear()
            press.command_and_read(5.0, 10.0)
            assert [s.split(" (")[1][:4] for s in sent] == ["FC16", "FC04"], sent
        finally:
            server.faults.no_fc23 = False
            press.safe_state()
            press.close()


@pytest.mark.slow
def test_state_mirror_and_fc43_work_for_any_profile_and_the_emulation_serves_them(tmp_path) -> None:
    no_mirror = tmp_path / "no-mirror.toml"
    no_mirror.write_text((ROOT / "profiles" / "presshil-v1.toml").read_text().replace("state_mirror = 256\n", ""))
    with start_profile_server("sim://?seed=2", "presshil-v1", modbus_tcp="127.0.0.1:0") as srv:
        url = srv.urls["modbus_tcp"]
        press = presshil.open_press(url + ("&" if "?" in url else "?") + "profile=presshil-v1")
        plain = presshil.open_press(url + ("&" if "?" in url else "?") + f"profile={no_mirror}")
        try:
            # the emulation names itself by FC43 with the profile's device strings
            assert press.identity.vendor == "presshil" and press.identity.firmware == "map v1"
            sent = count_requests(press)
            cycled = press.command_and_read(3.0, 10.0)
            assert press.uses_fc23 and len(sent) == 1 and "read holding 256..279" in sent[0], sent
            assert 0.0 <= cycled.setpoint_mpa <= 3.0 and cycled.counter > 0
            assert ramps_toward(press, 3.0)
            assert plain.uses_fc23 is False
            sent = count_requests(plain)
            plain.command_and_read(3.0, 10.0)
            assert len(sent) == 2, sent
        finally:
            press.safe_state()
            press.close()
            plain.close()


def test_only_the_shipped_presshil_v1_profile_is_served_by_map_v1s_own_register_map() -> None:
    from presshil.maps.profile_loader import load_profile
    from presshil.transports.modbus import map_v1_profile

    assert is_map_v1(parse_profile(V1, "presshil-v1.toml"))
    assert is_map_v1(map_v1_profile(2))  # at any channel count
    moved = {**V1, "signals": {**V1["signals"], "pressure": {**V1["signals"]["pressure"], "address": 40}}}
    assert not is_map_v1(parse_profile(moved, "v1.toml"))
    assert not is_map_v1(parse_profile({**V1, "state_mirror": 300}, "v1.toml"))
    assert not is_map_v1(load_profile("plc-hydraulic-press"))


@pytest.mark.slow
def test_serve_profile_presshil_v1_is_map_v1_with_its_extension_registers() -> None:
    """``serve --profile presshil-v1`` is served by map v1's register map: a map-v1 client
    (no ``profile=``) reads the ratings, map version and lease registers there too."""
    with start_profile_server("sim://?seed=2", "presshil-v1", modbus_tcp="127.0.0.1:0") as srv:
        assert srv.map_v1 is not None and srv.map_v1.channels == V1["signals"]["channel_force"]["count"]
        served = srv.press.identity
        press = presshil.open_press(f"modbus+tcp://{srv.endpoints['modbus_tcp']}?unit=1")
        try:
            assert isinstance(press, ModbusPress)
            ident = press.identity
            assert ident.rated_max_force_kn == pytest.approx(served.rated_max_force_kn, rel=1e-6)
            assert ident.channel_count == V1["signals"]["channel_force"]["count"]
            assert ident.firmware == "map v1"  # FC43: still the profile's [device] strings
            press.configure(die_area_mm2=500.0)
            assert srv.press.params["die_area"] == pytest.approx(500.0)
        finally:
            press.close()
        assert "store" not in vars(srv)  # the generic profile emulation was never built


@pytest.mark.parametrize(
    ("changes", "key", "says"),
    [
        ({**OPCUA, "state_mirror": 256}, "state_mirror", "a Modbus feature"),
        ({**OPCUA, "device": {**OPCUA.get("device", {}), "identify": "fc43"}}, "device.identify", "a Modbus feature"),
        ({"device": {**V1["device"], "identify": "snmp"}}, "device.identify", "'fc43'"),
        ({"signals": {**V1["signals"], "position": {**V1["signals"]["position"], "space": "holding", "address": 300}}},
         "state_mirror", "every signal must be in one space"),
        ({"state_mirror": 70000}, "state_mirror", "65535"),
    ],
)
def test_bad_state_mirror_and_identify_keys_are_one_line_errors(changes, key, says) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(changes if changes.get("transport") == "opcua" else {**V1, **changes}, "v1.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"v1.toml: key '{key}'"), message
    assert says in message


@pytest.mark.slow
def test_a_value_that_does_not_fit_its_register_is_refused_before_anything_is_written() -> None:
    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        press = presshil.open_press(server.urls["modbus_tcp"])
        try:
            sent = count_requests(press)
            with pytest.raises(presshil.DeviceFault, match=r"watchdog 70000 does not fit uint16 .*nothing written") as info:
                press.configure(watchdog_ms=70_000)
            assert info.value.code == 3 and sent == []
        finally:
            press.close()


@pytest.mark.slow
def test_the_profile_emulation_is_served_by_the_hardened_tcp_server() -> None:
    """``serve --profile`` answers on the same hardened server as ``serve``: strict request
    checks (now with the bit function codes a PLC map needs), a connection cap."""
    limits = WireLimits(max_connections=3, idle_timeout_s=30.0, log_interval_s=30.0)
    with start_profile_server(
        "sim://auto-hydraulic-25t?seed=3", "plc-hydraulic-press", modbus_tcp="127.0.0.1:0", limits=limits
    ) as srv:
        host, port = srv.endpoints["modbus_tcp"].rsplit(":", 1)
        held = [socket.create_connection((host, int(port)), timeout=3.0) for _ in range(3)]
        try:
            m = held[0]
            # FC01: the four push-button coils read back as released
            assert mbap(m, struct.pack(">BHH", 1, 0, 4)) == bytes([1, 1, 0])
            # FC05 with a value that is neither ON nor OFF: exception 03, nothing pressed
            assert mbap(m, struct.pack(">BHH", 5, 1, 0x1234)) == bytes([0x85, 3])
            # FC15 whose byte count does not match its quantity: exception 03
            assert mbap(m, struct.pack(">BHHBB", 15, 0, 4, 2, 0)) == bytes([0x8F, 3])
            # FC08 (diagnostics) is not served: exception 01
            assert mbap(m, struct.pack(">BHH", 8, 0, 0)) == bytes([0x88, 1])
            # a register outside the PLC map: exception 02, as before
            assert mbap(m, struct.pack(">BHH", 3, 900, 1)) == bytes([0x83, 2])
            extra = socket.create_connection((host, int(port)), timeout=2.0)
            with pytest.raises((ConnectionError, OSError)):
                mbap(extra, struct.pack(">BHH", 3, 0, 1))
            extra.close()
            assert srv._tcp is not None and srv._tcp.refused >= 1
            for sock in held:  # the connections under the cap are still served
                assert mbap(sock, struct.pack(">BHH", 3, 0, 1))[0] == 3
        finally:
            for sock in held:
                sock.close()


def mbap(sock: socket.socket, pdu: bytes) -> bytes:
    """Send one Modbus TCP request PDU (unit 1) and return the reply PDU."""
    sock.sendall(struct.pack(">HHHB", 7, 0, len(pdu) + 1, 1) + pdu)
    head = b""
    while len(head) < 7:
        chunk = sock.recv(7 - len(head))
        if not chunk:
            raise ConnectionError("closed by the server")
        head += chunk
    tid, _, length, _ = struct.unpack(">HHHB", head)
    body = b""
    while len(body) < length - 1:
        chunk = sock.recv(length - 1 - len(body))
        if not chunk:
            raise ConnectionError("closed by the server")
        body += chunk
    assert tid == 7
    return body
