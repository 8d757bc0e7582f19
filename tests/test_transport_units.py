"""Unit tests of the transport building blocks: error mapping, RTU resynchronisation, the
line protocol's formats, stale-data detection. No wire, no server."""

from __future__ import annotations

import struct

import pytest
import serial
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerRTU

from presshil import DeviceFault, TransportError, TransportTimeout
from presshil.device.server import parse_hostport
from presshil.errors import ConfigError
from presshil.maps.line_v1 import (
    format_idn,
    format_meas,
    format_positions,
    format_rated,
    parse_err,
    parse_idn,
    parse_meas,
    parse_positions,
    parse_rated,
)
from presshil.press import Identity, Sample
from presshil.transports.errormap import (
    CorruptReply,
    StaleDataError,
    line_error,
    modbus_exception,
    translate,
)
from presshil.transports.line_link import _after_noise
from presshil.transports.rtu_resync import RtuResync
from presshil.transports.staleness import CounterWatch

WHERE = "modbus+tcp://127.0.0.1:5020: read state"


# --- error mapping --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("library_error", "expected"),
    [
        (ModbusIOException("No response received after 0 retries"), TransportTimeout),
        (ModbusIOException("Unable to decode request"), TransportError),
        (ConnectionException("Failed to connect"), TransportError),
        (TimeoutError(), TransportTimeout),
        (serial.SerialTimeoutException("write timeout"), TransportTimeout),
        (serial.SerialException("device disconnected"), TransportError),
        (ConnectionResetError(104, "Connection reset by peer"), TransportError),
        (struct.error("unpack requires a buffer of 4 bytes"), CorruptReply),
    ],
)
def test_library_errors_map_to_presshil_errors_naming_where(library_error, expected) -> None:
    mapped = translate(library_error, WHERE, 0.05)
    assert type(mapped) is expected
    assert str(mapped).startswith(WHERE)


def test_timeouts_quote_the_timeout_and_unrelated_errors_are_not_mapped() -> None:
    assert "0.05 s" in str(translate(TimeoutError(), WHERE, 0.05))
    assert translate(ValueError("a bug"), WHERE, 0.05) is None
    fault = DeviceFault("x", code=3)
    assert translate(fault, WHERE, 0.05) is fault


def test_exception_responses_and_err_replies_are_device_faults_with_their_code() -> None:
    out_of_range = modbus_exception(WHERE, 3)
    assert out_of_range.code == 3 and "exception 03: value out of range" in str(out_of_range)
    assert "illegal data address" in str(modbus_exception(WHERE, 2))
    err = line_error(
        "serial:///dev/ttyUSB0: set setpoint (SETP 740)", 3, "setpoint 740 MPa too high"
    )
    assert err.code == 3 and "SETP 740" in str(err) and "too high" in str(err)


# --- RTU resynchronisation ----------------------------------------------------------------
def rtu(*payload: int) -> bytes:
    body = bytes(payload)
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


def test_resync_skips_noise_in_front_of_the_reply() -> None:
    hook = RtuResync()
    hook(True, rtu(1, 4, 0, 0, 0, 1))
    reply = rtu(1, 4, 2, 0x12, 0x34)
    assert hook(False, b"\x00\xff\x13\x01\x04\x7f" + reply) == reply
    assert not hook.bad_crc


def test_resync_flags_a_reply_with_a_bad_crc() -> None:
    hook = RtuResync()
    hook(True, rtu(1, 4, 0, 0, 0, 1))
    bad = bytearray(rtu(1, 4, 2, 0x12, 0x34))
    bad[-1] ^= 0xFF
    assert hook(False, bytes(bad)) == b""
    assert hook.bad_crc and hook.received == len(bad)


def test_resync_waits_for_a_reply_still_arriving_and_accepts_an_exception_reply() -> None:
    hook = RtuResync()
    hook(True, rtu(1, 16, 0, 0, 0, 6, 12, *([0] * 12)))
    assert hook(False, b"\x01\x10\x00") == b"\x01\x10\x00"
    exception = rtu(1, 0x90, 3)
    assert hook(False, b"\x55" + exception) == exception


# --- line protocol ----------------------------------------------------------------------------
def test_meas_round_trips() -> None:
    sample = Sample(12.345, 678, 0x0107, 0, 74.0, 73.99, 5.81, 1.25, (1.5, 1.25, 1.5, 1.5625))
    text = format_meas(sample)
    assert text == "678 12345 0107 73.99 5.81 1.25 74 1.5,1.25,1.5,1.5625"
    assert parse_meas(text) == sample


@pytest.mark.parametrize("text", ["OK", "1 2 3", "1 2 zz 1 1 1 1 1", "-1 2 0001 1 1 1 1 1", ""])
def test_malformed_meas_is_a_value_error(text) -> None:
    with pytest.raises(ValueError):
        parse_meas(text)


def test_identity_and_ratings_round_trip() -> None:
    ident = Identity("Acme, Inc.", "AH-25", "SN1", "1.0", 500.0, 245.2, 4)
    assert parse_idn(format_idn(ident)) == ("Acme  Inc.", "AH-25", "SN1", "1.0")
    assert parse_rated(format_rated(ident)) == (500.0, 245.2, 4)
    assert parse_err("ERR 3 setpoint too high") == (3, "setpoint too high")
    placed = Identity("Acme", "AH-25", "SN1", "1.0", 500.0, 245.2, 2, ((-10.0, 0.5), (10.0, -0.25)))
    assert format_positions(placed) == "-10,0.5 10,-0.25"
    assert parse_positions(format_positions(placed), 2) == placed.channel_positions_mm
    with pytest.raises(ValueError):
        parse_positions("1,2", 2)
    assert parse_err("OK") is None


def test_noise_glued_in_front_of_a_line_is_cut() -> None:
    assert _after_noise(b"\x00\xff\x13\x01\x04\x7f\xa5OK\r") == "OK"
    assert _after_noise(b"ERR 3 x") == "ERR 3 x"


# --- stale data, addresses ------------------------------------------------------------------
def test_a_counter_stuck_longer_than_the_limit_is_stale() -> None:
    now = [0.0]
    watch = CounterWatch("serial:///dev/ttyUSB0", 0.5, now=lambda: now[0])
    watch.check(10)
    now[0] = 0.4
    watch.check(10)  # repeats within the limit are normal (reads faster than the firmware)
    now[0] = 0.6
    with pytest.raises(StaleDataError, match="stuck at 10 for 0.60 s"):
        watch.check(10)
    watch.check(11)
    watch.reset()


def test_modbus_tcp_endpoint_forms() -> None:
    assert parse_hostport("127.0.0.1:5020", "127.0.0.1") == ("127.0.0.1", 5020)
    assert parse_hostport(":0", "127.0.0.1") == ("127.0.0.1", 0)
    assert parse_hostport("5021", "::1") == ("::1", 5021)
    with pytest.raises(ConfigError, match="HOST:PORT"):
        parse_hostport("localhost:http", "127.0.0.1")
