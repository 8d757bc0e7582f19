"""Device profiles: the TOML model, units, the Modbus codec, bad input and ``presshil probe``."""

from __future__ import annotations

import math
import time
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wall_clock import wall_clock_fixture

import presshil
from presshil.cli import app
from presshil.errors import DeviceFault, TransportError
from presshil.maps.profile_codec import decode_words, encode_words, plan_reads
from presshil.maps.units import UnitError, parse_quantity, parse_unit
from presshil.profiles import ProfileError, load_profile, parse_profile, shipped_profiles
from presshil.profiles.server import start_profile_server

ROOT = Path(__file__).resolve().parents[1]
PLC = tomllib.loads((ROOT / "profiles" / "plc-hydraulic-press.toml").read_text())
pytestmark = pytest.mark.timeout(120)


def plc(**changes) -> dict:
    """The PLC profile's data with ``changes`` applied (dotted keys; None deletes)."""
    import copy

    data = copy.deepcopy(PLC)
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = data
        for part in path:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


# --- units -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "dimension", "canonical"),
    [
        ("740 bar", "pressure", 74.0),
        ("1000 psi", "pressure", 6.894757),
        ("250 kPa", "pressure", 0.25),
        ("25 tf", "force", 245.16625),
        ("1 tonf_us", "force", 8.896443),
        ("1000 lbf", "force", 4.448222),
        ("100 kgf", "force", 0.980665),
        ("1500 N", "force", 1.5),
        ("2 in", "length", 50.8),
        ("250 µm", "length", 0.25),
    ],
)
def test_quantities_convert_to_canonical_units(text, dimension, canonical) -> None:
    assert parse_quantity(text, dimension) == pytest.approx(canonical, rel=1e-6)


def test_a_unit_of_the_wrong_dimension_is_refused() -> None:
    with pytest.raises(UnitError, match="'bar' is a pressure unit, a force is expected"):
        parse_unit("bar", "force")
    assert parse_unit("bar/s", "pressure", rate=True).to_canonical(10.0) == pytest.approx(1.0)


# --- codec -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("order", "words"),
    [("ABCD", [0x4294, 0x3D71]), ("CDAB", [0x3D71, 0x4294]), ("BADC", [0x9442, 0x713D]), ("DCBA", [0x713D, 0x9442])],
)
def test_float32_word_and_byte_orders(order, words) -> None:
    assert encode_words(74.12, "float32", order) == words
    assert decode_words(words, "float32", order) == pytest.approx(74.12, rel=1e-6)


def test_integers_round_trip_and_clamp() -> None:
    assert decode_words(encode_words(-7412, "int16", "ABCD"), "int16", "ABCD") == -7412
    assert encode_words(70000, "int16", "ABCD") == [0x7FFF]
    assert decode_words(encode_words(123456789, "uint32", "CDAB"), "uint32", "CDAB") == 123456789
    assert decode_words(encode_words(1.5e300, "float64", "DCBA"), "float64", "DCBA") == 1.5e300


def test_signals_coalesce_into_the_fewest_block_reads() -> None:
    profile = parse_profile(PLC, "plc.toml")
    assert [b.describe() for b in plan_reads(profile.signals.items(), 125)] == ["holding 0..7"]
    blocks = plan_reads(profile.signals.items(), max_block=4)
    assert [b.describe() for b in blocks] == ["holding 0..3", "holding 4..7"]
    spread = plc(signals__setpoint__address=40)
    blocks = plan_reads(parse_profile(spread, "x.toml").signals.items(), 125)
    assert [b.describe() for b in blocks] == ["holding 0..5", "holding 40..41"]


def test_shipped_profiles_all_load() -> None:
    names = shipped_profiles()
    assert {"presshil-v1", "plc-hydraulic-press", "loadcell-indicator-rtu"} <= set(names)
    for name in names:
        assert load_profile(name).name == name


# --- bad input: one line naming the file and the key ------------------------------------
@pytest.mark.parametrize(
    ("changes", "key", "says"),
    [
        ({"signals__oil_pressure__data_type": "int17"}, "signals.oil_pressure.data_type", "'int17' not allowed"),
        ({"signals__oil_pressure__unit": "furlong"}, "signals.oil_pressure.unit", "unknown unit 'furlong'"),
        ({"signals__oil_pressure__unit": "kN"}, "signals.oil_pressure.unit", "is a force unit, a pressure is expected"),
        ({"signals__oil_pressure__space": "eeprom"}, "signals.oil_pressure.space", "'eeprom' not allowed"),
        ({"signals__position__address": 0}, "signals.position.address", "overlaps oil_pressure at holding register 0"),
        ({"signals__status": None}, "signals.status", "a regulating profile needs a status signal"),
        ({"commands__setpoint": None}, "commands.setpoint", "needs commands.setpoint"),
        ({"rating__force": "250 bar"}, "rating.force", "is a pressure unit, a force is expected"),
        ({"rating__force": "900 kN"}, "rating.force", "more than the ram can give"),
        ({"signals__status__bits": {"READDY": 0}}, "signals.status.bits", "unknown status bit 'READDY'"),
        ({"signals__torque": {"address": 50}}, "signals", "unknown signal 'torque'"),
        ({"colour": "red"}, "colour", "unknown key"),
        ({"hydraulics__ram_diameter": None}, "hydraulics.ram_area", "give hydraulics.ram_area"),
    ],
)
def test_bad_profiles_are_one_line_errors_naming_file_and_key(changes, key, says) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(plc(**changes), "plc.toml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"plc.toml: key '{key}'"), message
    assert says in message


def test_a_missing_profile_names_the_shipped_ones(tmp_path) -> None:
    with pytest.raises(ProfileError, match="no such file or profile name.* profiles known: .*plc-hydraulic-press"):
        load_profile("no-such-press")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[rating\n")
    with pytest.raises(ProfileError, match="bad.toml: not valid TOML"):
        load_profile(str(bad))


def test_a_profile_of_another_transport_is_refused_by_the_url() -> None:
    with pytest.raises(presshil.PressURLError, match="describes a modbus device, the URL a opcua one"):
        presshil.open_press("opcua://127.0.0.1:4840/press?profile=plc-hydraulic-press")


# --- over a real socket -----------------------------------------------------------------
@wall_clock_fixture(scope="module")
def plc_server():
    with start_profile_server("sim://auto-hydraulic-25t?seed=3", "plc-hydraulic-press", modbus_tcp="127.0.0.1:0") as srv:
        yield srv


def _toml(data: dict) -> str:
    """A minimal TOML writer for the profile dicts of these tests."""
    lines: list[str] = []

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + " }"
        return repr(v)

    def table(prefix: str, d: dict) -> None:
        scalars = {k: v for k, v in d.items() if not (isinstance(v, dict) and any(isinstance(x, dict) for x in v.values()) or (isinstance(v, dict) and prefix == "" ) or (isinstance(v, dict) and prefix in ("signals", "commands")))}
        if prefix:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {value(v)}")
        for k, v in d.items():
            if k not in scalars:
                table(f"{prefix}.{k}" if prefix else k, v)

    table("", data)
    return "\n".join(lines) + "\n"


def test_the_toml_helper_round_trips_a_profile() -> None:
    assert tomllib.loads(_toml(PLC)) == PLC


def test_a_read_the_device_refuses_names_the_signals_and_addresses(plc_server, tmp_path) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(_toml(plc(signals__oil_pressure__space="input")))
    url = f"modbus+tcp://{plc_server.endpoints['modbus_tcp']}?profile={wrong}"
    press = presshil.open_press(url)
    try:
        with pytest.raises(DeviceFault, match=r"read oil_pressure \(FC04 input 0\.\.0\): exception 02"):
            press.read()
    finally:
        press.close()


def test_probe_makes_a_wrong_word_order_obvious(plc_server, tmp_path) -> None:
    from presshil.profiles.probe import probe_rows

    press = presshil.open_press(plc_server.urls["modbus_tcp"])
    wrong = tmp_path / "abcd.toml"
    wrong.write_text(_toml(plc(word_order="ABCD")))  # the PLC sends CDAB
    other = presshil.open_press(f"modbus+tcp://{plc_server.endpoints['modbus_tcp']}?profile={wrong}")
    try:
        press.make_safe(die_area_mm2=math.pi * 25)
        press.command(30.0, 40.0)
        press.clock.sleep_until(press.clock.now() + 1.5)  # the ramp takes 0.75 s
        assert press.read().setpoint_mpa == pytest.approx(30.0, abs=1e-3)
        rows = {r.signal: r for r in probe_rows(other, pause_s=0.05)}
        assert "word_order" in rows["setpoint"].verdict, rows["setpoint"]
        assert rows["oil_pressure"].verdict == "ok"  # int16: no word order to get wrong
        right = {r.signal: r for r in probe_rows(press, pause_s=0.05)}
        assert right["setpoint"].verdict == "ok"
    finally:
        press.release(40.0)
        press.close()
        other.close()


def test_probe_prints_every_signal_and_the_capabilities(plc_server) -> None:
    result = CliRunner().invoke(app, ["probe", plc_server.urls["modbus_tcp"]])
    assert result.exit_code == 0, result.output
    for signal in ("oil_pressure", "position", "status", "counter", "setpoint", "holding 0"):
        assert signal in result.output
    assert "READY" in result.output
    assert "not judged on this press: force uniformity" in result.output


@pytest.mark.slow
def test_probe_exit_codes_for_bad_input_and_an_unreachable_press() -> None:
    bad = CliRunner().invoke(app, ["probe", "modbus+tcp://127.0.0.1:9?profile=no-such-press"])
    assert bad.exit_code == 2
    gone = CliRunner().invoke(app, ["probe", "modbus+tcp://127.0.0.1:9?profile=plc-hydraulic-press&timeout=0.1"])
    assert gone.exit_code == 3


@wall_clock_fixture()
def fixed_registers():
    """A Modbus TCP device on loopback whose holding registers 0..3 hold fixed words:
    a NaN float32 (0x7FC0 0000) and 74.12 as float32 ABCD."""
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    from presshil.loop_thread import LoopThread

    loop = LoopThread()
    device = SimDevice(
        1,
        simdata=(
            [SimData(0, values=False, datatype=DataType.BITS)],
            [SimData(0, values=False, datatype=DataType.BITS)],
            [SimData(0, count=4, values=[0x7FC0, 0x0000, 0x4294, 0x3D71], datatype=DataType.REGISTERS)],
            [SimData(0, values=0, datatype=DataType.REGISTERS)],
        ),
    )
    holder = {}

    async def start():
        server = ModbusTcpServer(device, address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        holder["server"] = server
        return server.transport.sockets[0].getsockname()[1]

    port = loop.run(start())
    server = holder["server"]
    yield port
    loop.run(server.shutdown())
    loop.close()


def test_a_float_decoding_to_nan_is_a_one_line_error_naming_the_signal(fixed_registers, tmp_path) -> None:
    profile = tmp_path / "nan.toml"
    profile.write_text(
        'name = "nan"\n[capabilities]\nregulates = false\n[rating]\nforce = "100 kN"\n'
        '[signals.oil_pressure]\naddress = 0\ndata_type = "float32"\nunit = "bar"\n'
        '[signals.force]\naddress = 2\ndata_type = "float32"\nunit = "kN"\n'
    )
    press = presshil.open_press(f"modbus+tcp://127.0.0.1:{fixed_registers}?profile={profile}")
    try:
        with pytest.raises(TransportError) as info:
            press.read()
        assert "signal 'oil_pressure' (holding 0) decodes to nan" in str(info.value)
        assert "\n" not in str(info.value)
        _raw, values = press.read_values()
        assert values["force"] == pytest.approx(74.12, rel=1e-6)
    finally:
        press.close()


def test_probe_watch_refreshes_a_bounded_number_of_times(plc_server) -> None:
    result = CliRunner().invoke(app, ["probe", plc_server.urls["modbus_tcp"], "--watch", "--count", "2"])
    assert result.exit_code == 0, result.output
    assert "oil_pressure" in result.output


def test_serve_with_a_bad_profile_is_exit_code_2() -> None:
    result = CliRunner().invoke(app, ["serve", "--profile", "no-such-press", "--modbus-tcp", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert "no-such-press: no such file or profile name" in result.output
    result = CliRunner().invoke(app, ["serve", "--opcua", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert "--opcua needs --profile" in result.output
    result = CliRunner().invoke(app, ["serve", "--profile", "plc-hydraulic-press", "--opcua", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert "describes a modbus device; it cannot be served as opcua" in result.output


def test_push_button_coils_pulse_and_the_setpoint_is_confirmed(plc_server) -> None:
    from pymodbus.client import ModbusTcpClient

    press = presshil.open_press(plc_server.urls["modbus_tcp"])
    host, port = plc_server.endpoints["modbus_tcp"].rsplit(":", 1)
    raw = ModbusTcpClient(host, port=int(port), timeout=0.5)
    assert raw.connect()
    try:
        press.make_safe(die_area_mm2=math.pi * 25)
        press.command(10.0, 20.0)
        assert raw.read_coils(0, count=1, device_id=1).bits[0] is True  # START pressed
        setpoint = raw.read_holding_registers(10, count=2, device_id=1).registers
        oil_bar = 10.0 * math.pi * 25 / (math.pi * 40.0**2) * 10.0
        assert decode_words(setpoint, "float32", "CDAB") == pytest.approx(oil_bar, rel=1e-6)
        time.sleep(0.15)  # the behaviour under test: the START pulse's length passes
        press.read()  # the end of the pulse goes out with the next request
        assert raw.read_coils(0, count=1, device_id=1).bits[0] is False
        press.release(20.0)
    finally:
        raw.close()
        press.close()
