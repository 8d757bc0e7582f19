"""Register map v1: the table, the codecs generated from it, and the generated document."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from presshil.maps import press_v1_profile
from presshil.maps.press_v1 import (
    BY_NAME,
    REGISTERS,
    STATE_MIRROR_BASE,
    RegisterAddressError,
    Space,
    StateCodec,
    decode,
    decode_positions,
    defined_ranges,
    encode,
    encode_positions,
    state_count,
)
from presshil.maps.press_v1_doc import render_register_map
from presshil.press import Sample

DOC = Path(__file__).resolve().parents[1] / "docs" / "register-map.md"

# the pinned v1 tables (docs/register-map.md): name -> (space, address, type)
PINNED = {
    "status": ("input", 0, "u16"),
    "fault_code": ("input", 1, "u16"),
    "counter": ("input", 2, "u32"),
    "device_time": ("input", 4, "u32"),
    "pressure": ("input", 6, "f32"),
    "force": ("input", 8, "f32"),
    "position": ("input", 10, "f32"),
    "setpoint_active": ("input", 12, "f32"),
    "channel_count": ("input", 14, "u16"),
    "channel_force": ("input", 16, "f32"),
    "rated_max_pressure": ("input", 100, "f32"),
    "rated_max_force": ("input", 102, "f32"),
    "map_version": ("input", 104, "u16"),
    "command": ("holding", 0, "u16"),
    "heartbeat": ("holding", 1, "u16"),
    "setpoint": ("holding", 2, "f32"),
    "ramp_rate": ("holding", 4, "f32"),
    "soft_max_pressure": ("holding", 6, "f32"),
    "watchdog_timeout": ("holding", 8, "u16"),
    "die_area": ("holding", 10, "f32"),
}


def test_table_matches_the_pinned_map() -> None:
    for name, (space, address, typ) in PINNED.items():
        reg = BY_NAME[name]
        assert (reg.space.value, reg.address, reg.type.value) == (space, address, typ), name
    extensions = {r.name for r in REGISTERS if r.extension}
    assert set(BY_NAME) - set(PINNED) == extensions


def test_no_two_fields_overlap() -> None:
    for space in Space:
        seen: set[int] = set()
        for first, last in defined_ranges(space, 8):
            span = set(range(first, last + 1))
            assert not span & seen
            seen |= span


def test_state_block_is_one_contiguous_read() -> None:
    for n in range(1, 9):
        assert defined_ranges(Space.INPUT, n)[0] == (0, state_count(n) - 1)
        assert defined_ranges(Space.HOLDING, n) == [
            (0, 13),  # 12: the lease token, 13: on_host_loss (ext)
            (STATE_MIRROR_BASE, STATE_MIRROR_BASE + state_count(n) - 1),
        ]


def test_float32_is_big_endian_high_word_first() -> None:
    regs = encode(Space.HOLDING, 2, {"setpoint": 74.0})
    assert regs == list(struct.unpack(">HH", struct.pack(">f", 74.0)))
    assert regs[0] == 0x4294 and regs[1] == 0x0000


def test_u32_is_high_word_first() -> None:
    sample = Sample(74565.678, 0x00010002, 0, 0, 0.0, 0.0, 0.0, 0.0, (0.0,))
    regs = StateCodec(1).encode(sample)
    assert regs[2:4] == [0x0001, 0x0002]
    ms = 74565678
    assert regs[4:6] == [(ms >> 16) & 0xFFFF, ms & 0xFFFF]


def test_state_codec_round_trips() -> None:
    sample = Sample(12.345, 678, 0x0107, 2, 20.5, 19.75, 1.5, -0.25, (0.5, 0.25, 0.75))
    codec = StateCodec(3)
    regs = codec.encode(sample)
    assert len(regs) == codec.count == 22
    assert regs[14] == 3 and regs[15] == 0
    back = codec.decode(regs)
    assert back == sample  # every value here is exact in float32


def test_state_codec_rejects_a_bad_channel_count() -> None:
    with pytest.raises(ValueError, match="1..8"):
        StateCodec(9)


def test_holding_payload_of_a_command_cycle() -> None:
    regs = encode(
        Space.HOLDING, 0, {"command": 1, "heartbeat": 7, "setpoint": 20.0, "ramp_rate": 2.0}
    )
    assert regs == [1, 7, 0x41A0, 0, 0x4000, 0]
    assert decode(Space.HOLDING, 0, regs) == {
        "command": 1,
        "heartbeat": 7,
        "setpoint": 20.0,
        "ramp_rate": 2.0,
    }


def test_decode_refuses_half_a_float_and_undefined_addresses() -> None:
    with pytest.raises(
        RegisterAddressError, match="holding register 3: covers part of f32 'setpoint'"
    ):
        decode(Space.HOLDING, 3, [0, 0])
    with pytest.raises(RegisterAddressError, match="holding register 14: not defined"):
        decode(Space.HOLDING, 10, [0, 0, 0, 0, 0])  # 12, 13: lease token, on_host_loss (ext)
    with pytest.raises(RegisterAddressError):
        decode(Space.HOLDING, 2, [0x4000])


def test_encode_refuses_fields_that_are_not_contiguous() -> None:
    with pytest.raises(RegisterAddressError, match="not contiguous"):
        encode(Space.HOLDING, 0, {"command": 1, "setpoint": 2.0})


def test_channel_positions_round_trip_and_nan_means_unknown() -> None:
    positions = ((-10.0, 5.5), (10.0, 5.5), (0.0, -11.25))
    regs = encode_positions(positions, 3)
    assert len(regs) == 12 and defined_ranges(Space.INPUT, 3)[2] == (110, 121)
    assert decode_positions(regs, 3) == positions
    assert decode_positions(encode_positions((), 3), 3) == ()


def test_nan_survives_the_codec_so_the_device_can_refuse_it() -> None:
    (value,) = decode(Space.HOLDING, 2, encode(Space.HOLDING, 2, {"setpoint": math.nan})).values()
    assert math.isnan(value)


def test_committed_document_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == render_register_map(), (
        "docs/register-map.md is out of date: python3 -m presshil.maps.press_v1_doc > docs/register-map.md"
    )


def test_the_shipped_presshil_v1_profile_is_the_one_generated_from_the_table() -> None:
    root = Path(__file__).resolve().parents[1]
    assert (root / press_v1_profile.PATH).read_text(
        encoding="utf-8"
    ) == press_v1_profile.render(), (
        "profiles/presshil-v1.toml is out of date: python3 -m presshil.maps.press_v1_profile"
    )


def test_the_generated_profile_follows_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from presshil.maps.profile_loader import parse_profile

    profile = parse_profile(tomllib.loads(press_v1_profile.render()), "presshil-v1.toml")
    assert profile.signals["setpoint"].address == BY_NAME["setpoint_active"].address
    assert profile.commands["die_area"].unit == "mm2"
    assert profile.state_mirror == STATE_MIRROR_BASE
    # a register moved in the table moves in the profile (so the drift test above catches it)
    moved = BY_NAME["die_area"].__class__(**{**vars(BY_NAME["die_area"]), "address": 40})
    monkeypatch.setitem(press_v1_profile.BY_NAME, "die_area", moved)
    assert "[commands.die_area]\naddress = 40\n" in press_v1_profile.render()


def test_line_v1_sets_and_acts_on_map_v1s_registers() -> None:
    from presshil.maps.line_v1 import ACTIONS, SETTERS

    assert SETTERS["SETP"] == ("setpoint", float)
    assert SETTERS["WDOG"] == ("watchdog_timeout", int)
    assert ACTIONS == {"REG": 1, "REL": 2, "STOP": 3, "RST": 4}
    for name, kind in SETTERS.values():
        reg = BY_NAME[name]
        assert (reg.space, reg.access) == (Space.HOLDING, "RW")
        assert kind is (float if reg.type.value == "f32" else int)
