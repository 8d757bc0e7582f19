"""Named views of the kernel's flat arrays, for the Python side of the simulator.

The numba kernel works on three flat arrays indexed by the constants of
:mod:`presshil.sim.layout` (``x`` floats, ``n`` integers, ``p`` parameters). Python code reads
and writes them through these views instead, by the layout's names without their prefix and
in lower case::

    xs = FloatState(model.x)
    xs.force_n             # x[X_FORCE_N], a float
    xs.meas_ch_n[2]        # a numpy view of the slots X_MEAS_CH_N .. + MAX_CH
    ns = IntState(model.n)
    ns.fw_state = FW_HOLD  # n[N_FW_STATE] = FW_HOLD

A scalar slot reads as a Python ``float``/``int``; a block of slots (per-channel values) reads
as a writable numpy view. The views hold a reference to the array, never a copy, so they see
every change the kernel makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import layout


def _fields(prefix: str, size: int) -> dict[str, tuple[int, int]]:
    """``{name: (index, slots)}`` of the layout constants starting with ``prefix``."""
    found = sorted(
        (value, name[len(prefix) :].lower())
        for name, value in vars(layout).items()
        if name.startswith(prefix) and name != f"{prefix}SIZE" and isinstance(value, int)
    )
    out: dict[str, tuple[int, int]] = {}
    for k, (index, name) in enumerate(found):
        end = found[k + 1][0] if k + 1 < len(found) else size
        out[name] = (index, end - index)
    return out


def _accessor(index: int, slots: int, cast: type) -> property:
    if slots > 1:

        def get_block(self: _View) -> np.ndarray:
            return self.array[index : index + slots]

        return property(get_block, doc=f"slots {index}..{index + slots - 1} (a numpy view)")

    def get(self: _View) -> Any:
        return cast(self.array[index])

    def put(self: _View, value: Any) -> None:
        self.array[index] = value

    return property(get, put, doc=f"slot {index}")


class _View:
    """Base of the named views: holds the array, never copies it."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names this view offers."""
        return tuple(cls._FIELDS)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.array)} slots)"

    if TYPE_CHECKING:  # the fields are generated from the layout: type checkers see Any

        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...


def _populate(cls: type[_View], prefix: str, size: int, cast: type) -> None:
    """Give ``cls`` one property per layout constant starting with ``prefix``."""
    fields = _fields(prefix, size)
    cls._FIELDS = fields  # type: ignore[attr-defined]
    for field, (index, slots) in fields.items():
        setattr(cls, field, _accessor(index, slots, cast))


class FloatState(_View):
    """Float state ``x[]`` by name (``X_FORCE_N`` → ``.force_n``)."""

    __slots__ = ()


class IntState(_View):
    """Int state ``n[]`` by name (``N_FW_STATE`` → ``.fw_state``)."""

    __slots__ = ()


class Params(_View):
    """Parameters ``p[]`` by name (``P_FRAME_K_N_M`` → ``.frame_k_n_m``)."""

    __slots__ = ()


_populate(FloatState, "X_", layout.X_SIZE, float)
_populate(IntState, "N_", layout.N_SIZE, int)
_populate(Params, "P_", layout.P_SIZE, float)


__all__ = ["FloatState", "IntState", "Params"]
