"""A PLC press as vendors ship it: FC05/FC06 only, a rate register, no active setpoint.

The emulated press: oil pressure int16 in 0.01 bar, a force setpoint in tonne-force as a
word-swapped float32, a rate register in 0.01 tf/s, push-button coils, no active-setpoint
signal; it takes a target and a rate and ramps by itself. Served on a real loopback socket
with ``write = "single"``, so FC15/FC16 get exception 01 as on the real controller.
"""

from __future__ import annotations

import math

import pytest
from pymodbus.client import ModbusTcpClient
from wall_clock import wall_clock_fixture

import presshil
from presshil.errors import DeviceFault
from presshil.metrics.rate import RATE_KEY
from presshil.profiles import ProfileError, parse_profile
from presshil.profiles.server import start_profile_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

VENDOR = """
name = "vendor-plc-press"
description = "PLC press: FC05/FC06 only, int16 0.01 bar oil, CDAB float32 tf setpoint, 0.01 tf/s rate"
transport = "modbus"
write = "single"
word_order = "CDAB"

[device]
vendor = "a vendor"
model = "PLC press"

[rating]
force = "25 tf"
oil_pressure = "520 bar"

[hydraulics]
ram_diameter = "80 mm"

[signals.oil_pressure]
address = 0
data_type = "int16"
scale = 0.01
unit = "bar"

[signals.status]
address = 1
bits = { READY = 0, REGULATING = 1, AT_SETPOINT = 2, RAMPING = 3, RELEASED = 4, FAULT = 8, ESTOP = 9 }

[commands.setpoint]
address = 10
data_type = "float32"
unit = "tf"
quantity = "force"

[commands.rate]
address = 12
data_type = "uint16"
scale = 0.01
unit = "tf/s"
quantity = "force"

[commands.regulate]
space = "coil"
address = 0
value = 1
pulse_ms = 100

[commands.stop]
space = "coil"
address = 1
value = 1
pulse_ms = 100

[commands.release]
space = "coil"
address = 2
value = 1
pulse_ms = 100

[commands.reset]
space = "coil"
address = 3
value = 1
pulse_ms = 100
"""

PROTOCOL = """
name = "vendor-ramp-hold-release"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 40.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = 50
[[steps]]
type = "ramp"
to_mpa = 30.0
rate_mpa_s = 4.0
expect = { max_tracking_error_mpa = 1.0 }
[[steps]]
type = "hold"
duration_s = 2
[[steps]]
type = "release"
rate_mpa_s = 5.0
"""

#: one count of the rate register (0.01 tf/s) on a 10 mm die, in MPa/s:
#: 0.01 × 9806.65 N / (π × 5² mm²) = 98.0665 / 78.5398 = 1.24862
COUNT_MPA_S = 0.01 * 9806.65 / (math.pi * 25.0)


@pytest.fixture
def vendor_file(tmp_path):
    path = tmp_path / "vendor-plc-press.toml"
    path.write_text(VENDOR)
    return path


def _url(srv) -> str:
    """The press URL with a timeout that holds on a loaded two-core machine."""
    return srv.urls["modbus_tcp"] + "&timeout=1"


@wall_clock_fixture()
def vendor_server(vendor_file):
    with start_profile_server("sim://auto-hydraulic-25t?seed=5", str(vendor_file), modbus_tcp="127.0.0.1:0") as srv:
        yield srv


def _protocol(tmp_path):
    path = tmp_path / "vendor.toml"
    path.write_text(PROTOCOL)
    return presshil.load_protocol(str(path))


# --- bad input -----------------------------------------------------------------------------
def _data(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


@pytest.mark.parametrize(
    ("edit", "key", "says"),
    [
        (lambda d: d.update(transport="opcua"), "write", "is a Modbus choice"),
        (lambda d: d["commands"]["rate"].update(write="both"), "commands.rate.write", "'both' not allowed"),
        (lambda d: d.pop("word_order"), "commands.setpoint.word_order", "say the word order"),
    ],
)
def test_bad_write_keys_are_one_line_errors_naming_file_and_key(edit, key, says) -> None:
    data = _data(VENDOR)
    edit(data)
    with pytest.raises(ProfileError) as info:
        parse_profile(data, "vendor.toml")
    text = str(info.value)
    assert text.startswith(f"vendor.toml: key '{key}'"), text
    assert says in text and "\n" not in text


def test_a_single_write_on_one_command_only_is_allowed() -> None:
    data = _data(VENDOR)
    data.pop("write")
    data["commands"]["setpoint"]["write"] = "single"
    profile = parse_profile(data, "vendor.toml")
    assert profile.write_mode("setpoint") == "single"
    assert profile.write_mode("rate") == "multiple"
    assert profile.write_mode("heartbeat") == "multiple"


# --- the emulation is as strict as the controller -----------------------------------------
def test_the_emulation_refuses_fc16_and_fc15_and_takes_fc06_and_fc05(vendor_server) -> None:
    host, port = vendor_server.endpoints["modbus_tcp"].rsplit(":", 1)
    raw = ModbusTcpClient(host, port=int(port), timeout=1.0)
    assert raw.connect()
    try:
        rsp = raw.write_registers(12, [3], device_id=1)
        assert rsp.isError() and rsp.exception_code == 1
        rsp = raw.write_coils(1, [False], device_id=1)
        assert rsp.isError() and rsp.exception_code == 1
        assert not raw.write_register(12, 3, device_id=1).isError()
        assert not raw.write_coil(1, False, device_id=1).isError()
        assert raw.read_holding_registers(12, count=1, device_id=1).registers == [3]
    finally:
        raw.close()


def test_probe_shows_the_write_plan(vendor_server) -> None:
    from typer.testing import CliRunner

    from presshil.cli import app

    result = CliRunner().invoke(app, ["probe", vendor_server.urls["modbus_tcp"]])
    assert result.exit_code == 0, result.output
    assert "FC06 × 2" in result.output  # the float32 setpoint, one word at a time
    assert "FC05 coil 0" in result.output  # START


def test_a_float_setpoint_goes_out_as_two_fc06_low_word_first(vendor_server) -> None:
    press = presshil.open_press(_url(vendor_server))
    try:
        plan = dict(press.write_plan())
        assert plan["setpoint"] == "FC06 × 2, ascending addresses (not atomic) holding 10..11"
        assert plan["rate"] == "FC06 holding 12"
        sent: list[str] = []
        inner = press._call
        press._call = lambda what, request: (sent.append(what), inner(what, request))[1]
        press.make_safe(die_area_mm2=math.pi * 25)
        sent.clear()
        press.command(10.0, 4.0)
        # values first, in address order (CDAB: the low word at 10 goes first), START last
        import re

        assert [re.search(r"\((FC\d\d \w+ \d+)", s).group(1) for s in sent if s.startswith("command REGULATE")] == [
            "FC06 holding 10", "FC06 holding 11", "FC06 holding 12", "FC05 coil 0",
        ]
        # 10 MPa × 78.54 mm² = 785.4 N = 0.080088 tf; 4 MPa/s → 3.2 counts → 3 written
        assert press.as_written[0].written == pytest.approx(10.0, rel=1e-6)
        assert press.as_written[1].written == pytest.approx(3 * COUNT_MPA_S, rel=1e-9)
        assert press.as_written[1].written == pytest.approx(3.7459, abs=1e-4)
    finally:
        press.release(5.0)
        press.close()


def test_a_device_refusing_the_second_word_is_named_with_what_was_written(vendor_server) -> None:
    press = presshil.open_press(_url(vendor_server))
    try:
        press.make_safe(die_area_mm2=math.pi * 25)
        # the host allows the profile's 25 tf (3121 MPa on this die); the device's die set
        # stops at 500 MPa: it takes the first word and refuses the value at the second
        with pytest.raises(DeviceFault) as info:
            press.command(600.0, 4.0)
        text = str(info.value)
        assert "FC06 holding 11" in text and "exception 03" in text
        assert "written before it: FC06 holding 10" in text
        assert "nothing after it was written" in text
        sample = press.read()  # START never went out: the press is where it was, unloaded
        assert not sample.status & presshil.Status.REGULATING
        assert sample.pressure_mpa < 1.0
    finally:
        press.close()


# --- runs: the setpoint the press was asked to follow; the rate it really went at ---------
def test_a_ramp_hold_release_on_the_vendor_press_is_judged_against_the_modelled_ramp(
    vendor_server, tmp_path
) -> None:
    press = presshil.open_press(_url(vendor_server))
    try:
        result = presshil.run(_protocol(tmp_path), press)
    finally:
        press.close()
    verdicts = {(v.step, v.criterion): v for v in result.verdicts}
    events = {e.kind: e.message for e in result.events}
    assert result.status.value == "passed", [(v.step, v.criterion, v.value, v.detail) for v in result.verdicts]
    assert "setpoint host-modelled" in events["setpoint-model"]
    # 4 MPa/s is 3.2 counts of 0.01 tf/s: written as 3 = 3.746 MPa/s, 6.4 % slower
    assert "rate 4 MPa/s is written as 3.746 MPa/s (-6.4 %)" in events["rounding"]
    tracking = verdicts[("0", "max_tracking_error_mpa")]
    assert tracking.value < 1.0, tracking.detail
    # the press ramps at what it was told (3.746 MPa/s): 6.4 % off the protocol's 4 MPa/s
    ramp_rate = verdicts[("0", RATE_KEY)]
    assert ramp_rate.passed and ramp_rate.limit == 25.0
    assert ramp_rate.value == pytest.approx(6.35, abs=3.0), ramp_rate.detail
    release_rate = verdicts[("2", RATE_KEY)]
    assert release_rate.passed, release_rate.detail  # 5 MPa/s is exactly 4 counts (4.994)
    # the recorded setpoint is the model: a ramp, not the final target from the first sample
    trace = result.trace
    early = trace.t < trace.t[0] + 1.0
    assert float(trace.setpoint[early].max()) < 6.0


def test_a_press_that_unloads_far_faster_than_commanded_fails_the_release_rate_line(
    vendor_server, tmp_path
) -> None:
    vp = vendor_server.store.vp
    apply = vp.apply

    def dumps_on_release(updates):  # the controller ignores the unload rate it was given
        if updates.get("command") == 2:
            apply({"ramp_rate": 50.0})
        return apply(updates)

    vp.apply = dumps_on_release
    press = presshil.open_press(_url(vendor_server))
    try:
        result = presshil.run(_protocol(tmp_path), press)
    finally:
        press.close()
        vp.apply = apply
    release = next(v for v in result.verdicts if v.step == "2" and v.criterion == RATE_KEY)
    assert not release.passed
    assert result.status.value == "failed"
    # at the firmware's 50 MPa/s: (50 − 5) / 5 = 900 % too fast; lag takes a little off, and
    # samples placed at their wall-clock read times can add up to ~2 % (50.4 MPa/s was seen)
    assert 500.0 < release.value <= 920.0, release.detail
    assert "faster" in release.detail and "commanded 5 MPa/s" in release.detail


def test_a_device_busy_answer_is_asked_again_by_the_sampler(vendor_server) -> None:
    from pymodbus.constants import ExcCodes

    from presshil.sampler import Sampler
    from presshil.transports.errormap import DeviceBusy

    store = vendor_server.store
    inner = store.async_getValues
    busy = [2]

    async def busy_twice(device_id, func_code, address, count=1):
        if busy[0] > 0:
            busy[0] -= 1
            return ExcCodes.DEVICE_BUSY
        return await inner(device_id, func_code, address, count)

    store.async_getValues = busy_twice
    press = presshil.open_press(_url(vendor_server))
    events: list[tuple[str, str]] = []
    try:
        with pytest.raises(DeviceBusy, match="exception 06"):
            press.read()  # one attempt: the binding does not retry
        busy[0] = 2
        sampler = Sampler(press, interval_s=0.02, on_event=lambda k, m: events.append((k, m)))
        sample = sampler.call("read", press.read)  # the sampler asks again within its budget
        assert sample.pressure_mpa < 1.0
        assert busy[0] == 0
    finally:
        store.async_getValues = inner
        press.close()


def test_a_map_v1_url_on_a_device_with_its_own_map_suggests_a_profile(vendor_server) -> None:
    bare = "modbus+tcp://" + vendor_server.endpoints["modbus_tcp"] + "?timeout=1"
    with pytest.raises(DeviceFault) as info:
        presshil.open_press(bare)
    text = str(info.value)
    assert "read ratings (FC04 input 100..104)" in text and "exception 02" in text
    assert "?profile=NAME_OR_PATH" in text
