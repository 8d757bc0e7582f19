"""Modbus values of a profile: data types, word and byte orders, scale and offset, blocks.

A value of ``data_type`` is packed big-endian into 16-bit words (``ABCD``), then reordered:
``CDAB`` swaps the words, ``BADC`` the bytes within each word, ``DCBA`` both. ``scale`` and
``offset`` give the value in the signal's unit (``value = raw × scale + offset``), and the
unit table takes it to presshil's canonical units.

:func:`plan_reads` coalesces the signals of one space into the fewest block reads, each at
most ``max_block`` registers (bits: ``16 × max_block``) and bridging gaps of up to
``max_gap`` unused registers.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .profile import Command, Signal
from .units import CANONICAL, Unit, parse_unit

_FMT = {
    "int16": ">h",
    "uint16": ">H",
    "int32": ">i",
    "uint32": ">I",
    "float32": ">f",
    "float64": ">d",
    "bool": ">H",
}
_INT_RANGE = {
    "int16": (-(1 << 15), (1 << 15) - 1),
    "uint16": (0, (1 << 16) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "uint32": (0, (1 << 32) - 1),
    "bool": (0, 1),
}


def _reorder(words: list[int], order: str) -> list[int]:
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    if order in ("BADC", "DCBA"):
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words


def decode_words(words: Sequence[int], data_type: str, order: str) -> float | int:
    """The raw value of ``data_type`` held in ``words`` (already in wire order)."""
    fmt = _FMT[data_type]
    natural = _reorder(list(words), order)  # the reordering is its own inverse
    raw = b"".join(w.to_bytes(2, "big") for w in natural)
    return struct.unpack(fmt, raw)[0]


def encode_words(value: float, data_type: str, order: str) -> list[int]:
    """``value`` as ``data_type`` in wire words; integers are rounded and clamped."""
    fmt = _FMT[data_type]
    if data_type in _INT_RANGE:
        lo, hi = _INT_RANGE[data_type]
        number: float | int = min(hi, max(lo, int(round(value)))) if math.isfinite(value) else 0
    else:
        number = float(value)
    raw = struct.pack(fmt, number)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return _reorder(words, order)


@dataclass(frozen=True, slots=True)
class Converter:
    """Raw device number <-> canonical value (scale, offset, unit)."""

    scale: float
    offset: float
    unit: Unit
    #: canonical = raw × gain + bias (scale, offset and unit factor folded together)
    gain: float = 1.0
    bias: float = 0.0

    @classmethod
    def of(cls, item: Signal | Command, dimension: str, rate: bool = False) -> Converter:
        """The converter of a signal or command whose unit is of ``dimension``."""
        unit = parse_unit(item.unit or (CANONICAL[dimension] + ("/s" if rate else "")), None)
        return cls(item.scale, item.offset, unit, item.scale * unit.factor, item.offset * unit.factor)

    def to_canonical(self, raw: float) -> float:
        """Device number -> canonical value."""
        return raw * self.gain + self.bias

    def to_raw(self, value: float) -> float:
        """Canonical value -> device number."""
        return (self.unit.from_canonical(value) - self.offset) / self.scale


@dataclass(frozen=True, slots=True)
class Block:
    """One block read: ``count`` registers (or bits) of ``space`` from ``start``."""

    space: str
    start: int
    count: int
    signals: tuple[str, ...]

    def describe(self) -> str:
        """``"input 0..15"``."""
        return f"{self.space} {self.start}..{self.start + self.count - 1}"


def plan_reads(
    signals: Iterable[tuple[str, Signal]], max_block: int, max_gap: int = 0
) -> list[Block]:
    """The fewest block reads covering ``signals``, per space, in address order."""
    by_space: dict[str, list[tuple[int, int, str]]] = {}
    for name, sig in signals:
        assert sig.address is not None
        by_space.setdefault(sig.space, []).append((sig.address, sig.width, name))
    blocks: list[Block] = []
    for space in ("input", "holding", "discrete", "coil"):
        items = sorted(by_space.get(space, []))
        limit = max_block * 16 if space in ("coil", "discrete") else max_block
        start = end = -1
        names: list[str] = []
        for address, width, name in items:
            if names and address - end <= max_gap and max(end, address + width) - start <= limit:
                end = max(end, address + width)
                names.append(name)
                continue
            if names:
                blocks.append(Block(space, start, end - start, tuple(names)))
            start, end, names = address, address + width, [name]
        if names:
            blocks.append(Block(space, start, end - start, tuple(names)))
    return blocks


def runs(writes: dict[int, int]) -> list[tuple[int, list[int]]]:
    """Contiguous runs of ``{address: word}`` as ``(start, words)``, in address order."""
    out: list[tuple[int, list[int]]] = []
    for address in sorted(writes):
        if out and out[-1][0] + len(out[-1][1]) == address:
            out[-1][1].append(writes[address])
        else:
            out.append((address, [writes[address]]))
    return out


__all__ = ["Block", "Converter", "decode_words", "encode_words", "plan_reads", "runs"]
