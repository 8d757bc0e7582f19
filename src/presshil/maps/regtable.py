"""The one register row type, the wire types, and the layout and codec steps every register
table shares.

Every table (the press map v1, the plant map) is a sequence of :class:`Register` rows. A table
yields its values as ``(address, row, index)`` in address order (``index`` is the element
of an array row, 0 for a scalar). From that, :func:`merge_ranges` gives the address ranges a
server must accept, :func:`cover` checks that an access covers whole fields with no gap, and
:func:`codecs` builds the struct pair that packs values to 16-bit registers.

Conventions (pinned for the press map v1 in docs/register-map.md, kept by the plant map): 0-based
addresses; ``f32`` and ``u32`` take two registers, big-endian, high word first.
:mod:`presshil.maps.press_v1` re-exports :class:`Register`, :class:`Space`,
:class:`RegType` and :class:`RegisterAddressError` under their historical names.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass


class Space(str, enum.Enum):
    """Which Modbus table a register lives in."""

    INPUT = "input"
    HOLDING = "holding"


class RegType(str, enum.Enum):
    """Wire type of a register field."""

    U16 = "u16"
    U32 = "u32"
    F32 = "f32"

    @property
    def width(self) -> int:
        """Number of 16-bit registers one value takes."""
        return 1 if self is RegType.U16 else 2

    @property
    def code(self) -> str:
        """The :mod:`struct` code of one value, big-endian."""
        return {"u16": "H", "u32": "I", "f32": "f"}[self.value]


class RegisterAddressError(ValueError):
    """An access that is not aligned with the map (undefined address, half of a f32)."""

    def __init__(self, space: Space, address: int, why: str) -> None:
        self.space, self.address = space, address
        super().__init__(f"{space.value} register {address}: {why}")


#: the most load-cell channels a device has (map v1's N; the plant map's slots)
MAX_CHANNELS = 8


@dataclass(frozen=True)
class Register:
    """One row of every register table: a value, an array of ``count`` values, or
    ``per_channel`` values for each of a press's N channels.

    Map v1 sizes its arrays by the channel count (``per_channel``); the plant map has a fixed
    layout (``count``). ``extension`` marks a row that is not in the pinned tables of the
    press map v1 (documented as an extension).
    """

    name: str
    space: Space
    address: int
    type: RegType
    access: str  # "R" or "RW"
    unit: str
    doc: str
    #: 0 for a scalar; k for k values per channel (N × k values in channel order)
    per_channel: int = 0
    #: not in the pinned v1 tables: documented as an extension
    extension: bool = False
    #: a fixed array of ``count`` values (when not ``per_channel``)
    count: int = 1

    def values(self, channels: int = MAX_CHANNELS) -> int:
        """Number of values the row holds with ``channels`` channels."""
        return self.per_channel * channels if self.per_channel else self.count

    def width(self, channels: int = MAX_CHANNELS) -> int:
        """Registers the whole row takes with ``channels`` channels."""
        return self.type.width * self.values(channels)


#: (values struct, registers struct)
Codec = tuple[struct.Struct, struct.Struct]


def merge_ranges(slots: Iterable[tuple[int, Register, int]]) -> list[tuple[int, int]]:
    """Contiguous ``(first, last)`` address ranges of ``slots`` (in address order)."""
    ranges: list[tuple[int, int]] = []
    for addr, reg, _ in slots:
        last = addr + reg.type.width - 1
        if ranges and ranges[-1][1] + 1 == addr:
            ranges[-1] = (ranges[-1][0], last)
        else:
            ranges.append((addr, last))
    return ranges


def cover(
    slots: Iterable[tuple[int, Register, int]], space: Space, start: int, count: int, where: str
) -> list[tuple[int, Register, int]]:
    """The slots that cover ``start .. start+count-1`` exactly, in order.

    Raises :class:`RegisterAddressError` for an access that covers part of a two-register
    value, or any address no slot holds (``not defined in WHERE``).
    """
    end = start + count
    covered = start
    out: list[tuple[int, Register, int]] = []
    for addr, reg, index in slots:
        stop = addr + reg.type.width
        if stop <= start or addr >= end:
            continue
        if addr < start or stop > end:
            raise RegisterAddressError(
                space, max(addr, start), f"covers part of {reg.type.value} '{reg.name}'"
            )
        if addr != covered:
            raise RegisterAddressError(space, covered, f"not defined in {where}")
        out.append((addr, reg, index))
        covered = stop
    if covered != end:
        raise RegisterAddressError(space, covered, f"not defined in {where}")
    return out


def codecs(types: Iterable[RegType]) -> Codec:
    """``(values struct, registers struct)`` for values of ``types`` in address order."""
    types = tuple(types)
    width = sum(t.width for t in types)
    return (
        struct.Struct(">" + "".join(t.code for t in types)),
        struct.Struct(">" + "H" * width),
    )


def coerce(rtype: RegType, value: float) -> float | int:
    """``value`` as ``rtype`` packs it: a float, or an int wrapped to 16 or 32 bits."""
    if rtype is RegType.F32:
        return float(value)
    return int(value) & (0xFFFF if rtype is RegType.U16 else 0xFFFFFFFF)


__all__ = [
    "Codec",
    "MAX_CHANNELS",
    "RegType",
    "Register",
    "RegisterAddressError",
    "Space",
    "codecs",
    "coerce",
    "cover",
    "merge_ranges",
]
