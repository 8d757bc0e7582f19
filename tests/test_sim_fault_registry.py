"""Faults are classes: a new one is usable from the URL and the API as soon as it exists."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from presshil import open_press
from presshil.sim import SimPress, layout
from presshil.sim.fault_kinds import REGISTRY, Fault, FaultTarget
from presshil.sim.faults import FAULTS
from presshil.sim.state import FloatState, IntState, Params


@pytest.fixture
def zero_shift() -> Iterator[type[Fault]]:
    """A new fault, defined here as a user would: one class."""

    class ZeroShift(Fault):
        name = "zero_shift"
        summary = "a channel's zero jumps by `offset_n` (a knocked load cell)"
        params = {"channel": 1, "offset_n": 50.0}

        def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
            target.ps.ch_zero_n[channel] += prm["offset_n"]

        def clear(self, target: FaultTarget, channel: int) -> None:
            target.ps.ch_zero_n[channel] = 0.0

    yield ZeroShift
    del REGISTRY["zero_shift"]


def test_a_new_fault_class_works_from_the_url_and_clears_after_its_duration(zero_shift) -> None:
    assert "zero_shift" in FAULTS and FAULTS["zero_shift"].params["offset_n"] == 50.0
    press = open_press(
        "sim://?seed=1&cycling=off&faults=zero_shift@2:channel=3:offset_n=80:duration_s=3"
    )
    assert isinstance(press, SimPress)
    zero = press.model.ps.ch_zero_n
    before = float(zero[2])
    press.clock.sleep_until(1.0)
    assert zero[2] == before
    press.clock.sleep_until(2.5)
    assert zero[2] == pytest.approx(before + 80.0)
    press.clock.sleep_until(5.5)
    assert zero[2] == 0.0  # its clear() ran when the duration ended


def test_unknown_parameters_of_a_new_fault_are_refused(zero_shift) -> None:
    with pytest.raises(ValueError, match="fault 'zero_shift' has no parameter 'gain'"):
        open_press("sim://?faults=zero_shift:gain=2")


@pytest.mark.parametrize(
    ("view", "prefix"), [(FloatState, "X_"), (IntState, "N_"), (Params, "P_")]
)
def test_every_layout_slot_has_its_named_field(view, prefix) -> None:
    size = getattr(layout, f"{prefix}SIZE")
    array = np.arange(size, dtype=float)
    named = view(array)
    for name, value in vars(layout).items():
        if name.startswith(prefix) and name != f"{prefix}SIZE" and isinstance(value, int):
            got = getattr(named, name[len(prefix) :].lower())
            first = got[0] if isinstance(got, np.ndarray) else got
            assert first == value, name
