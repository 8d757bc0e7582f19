"""The shared Press contract, run against the simulated press."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from press_contract import DIE_AREA_MM2, PressContract

from presshil import open_press
from presshil.sim import SimPress


@pytest.fixture
def press() -> Iterator[SimPress]:
    """The default simulated press (seed 1), configured for the contract's 10 mm die."""
    p = open_press("sim://?seed=1")
    assert isinstance(p, SimPress)
    p.configure(die_area_mm2=DIE_AREA_MM2, watchdog_ms=0)
    yield p
    p.close()


class TestSimPressContract(PressContract):
    """Every behaviour the Press contract asks for, on ``sim://``."""
