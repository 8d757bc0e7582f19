"""A declarative register table, for maps other than the press map v1.

:mod:`presshil.maps.press_v1` pins the press map v1 as one module-level table. The plant map
has the same rows (:class:`~presshil.maps.regtable.Register`) and conventions; this module
adds what map v1 does with its table — layout, block codecs — for any table of rows with a
fixed layout: arrays (``count > 1``) always take all their slots here, whatever the channel
count. The layout and codec steps are :mod:`presshil.maps.regtable`'s, shared with the press
map v1; what stays here is the fill-missing-with-0 block codec.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence

from .regtable import Codec, Register, Space, codecs, coerce, cover, merge_ranges

Value = float | int


class RegisterTable:
    """Layout and codecs of one register table (``name`` is used in error messages)."""

    def __init__(self, name: str, registers: Sequence[Register], mirror_base: int | None) -> None:
        self.name = name
        self.registers = tuple(registers)
        #: holding register where the input state block is mirrored read-only (FC23), if any
        self.mirror_base = mirror_base
        self.by_name: Mapping[str, Register] = {r.name: r for r in self.registers}
        self._check_overlaps()

    # --- layout -------------------------------------------------------------------------
    def fields(self, space: Space) -> Iterator[tuple[int, Register, int]]:
        """``(address, register, index)`` of every value in ``space``, in address order."""
        rows = sorted((r for r in self.registers if r.space is space), key=lambda r: r.address)
        for reg in rows:
            for i in range(reg.count):
                yield reg.address + i * reg.type.width, reg, i

    def defined_ranges(self, space: Space) -> list[tuple[int, int]]:
        """Contiguous ``(first, last)`` address ranges that exist in ``space``."""
        return merge_ranges(self.fields(space))

    def span(self, space: Space, first: str, last: str) -> tuple[int, int]:
        """``(start, count)`` of the registers from field ``first`` to field ``last``."""
        a, b = self.by_name[first], self.by_name[last]
        return a.address, b.address + b.width() - a.address

    # --- codecs -------------------------------------------------------------------------
    def decode(self, space: Space, start: int, regs: Sequence[int]) -> dict[str, Value | list]:
        """Values of the whole fields in ``regs`` read at ``start``; arrays come as lists."""
        names, codec = self._plan(space, start, len(regs))
        raw = codec[0].unpack(codec[1].pack(*regs))
        out: dict[str, Value | list] = {}
        for (name, index), value in zip(names, raw, strict=False):
            reg = self.by_name[name]
            if reg.count > 1:
                out.setdefault(name, [0.0] * reg.count)[index] = value  # type: ignore[index]
            else:
                out[name] = value
        return out

    def encode(
        self, space: Space, start: int, count: int, values: Mapping[str, object]
    ) -> list[int]:
        """``count`` registers from ``start``; missing fields are 0, arrays take sequences."""
        names, codec = self._plan(space, start, count)
        flat: list[Value] = []
        for name, index in names:
            reg = self.by_name[name]
            value = values.get(name, 0)
            if reg.count > 1:
                seq = value if isinstance(value, Sequence) else ()
                value = seq[index] if index < len(seq) else 0
            flat.append(coerce(reg.type, value))  # type: ignore[arg-type]
        return list(codec[1].unpack(codec[0].pack(*flat)))

    @functools.lru_cache(maxsize=64)  # noqa: B019 - tables live for the whole process
    def _plan(
        self, space: Space, start: int, count: int
    ) -> tuple[tuple[tuple[str, int], ...], Codec]:
        slots = cover(self.fields(space), space, start, count, f"the {self.name}")
        names = tuple((reg.name, index) for _, reg, index in slots)
        return names, codecs(reg.type for _, reg, _ in slots)

    def _check_overlaps(self) -> None:
        for space in Space:
            end = -1
            for addr, reg, _ in self.fields(space):
                if addr < end:
                    raise ValueError(f"{self.name}: '{reg.name}' overlaps at {space.value} {addr}")
                end = addr + reg.type.width


__all__ = ["RegisterTable"]
