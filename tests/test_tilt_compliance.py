"""A platen tilt present during compaction acts through the compaction curve's tangent.

Hand calculation (docs/simulator.md), default specimen nmc-lpscl-inli-10mm at 74 MPa:
h_s = 700 µm, D₀ = 0.55, k = 2.6e-3 /MPa, E = 25 GPa, m = 4, In-Li 100 µm at 11 GPa.
D = 1 − 0.45·e^(−0.1924) = 0.62876.
plastic dδ/dp = h_s·k(1 − D)/D² = 700 × 2.6e-3 × 0.37124 / 0.39534 = 1.7091 µm/MPa
elastic  c_el·A = (700/D)/(E·D⁴) + 100/11000 = 0.28493 + 0.00909 = 0.29402 µm/MPa
d(c_el·A)/dp · p = −5·(700/25000)·D⁻⁶·k(1 − D) × 74 = −0.1618 µm/MPa
tangent = 1.7091 + 0.2940 − 0.1618 = 1.8413 µm/MPa.
A tilt s across the die radius R compresses the low edge s·R more: Δp = s·R / (dδ/dp), and
the spread is 2Δp/p̄: 1 mrad on R = 5 mm: 2 × 5 µm / (1.8413 × 74) = 7.34 % (through the
elastic stiffness it would be 2 × 5 / (0.29402 × 74) = 46.0 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from presshil import open_press
from presshil.metrics import cof_offset_mm, pellet_nonuniformity_pct
from presshil.sim import SimPress

TANGENT_UM_PER_MPA = 1.8413
ELASTIC_UM_PER_MPA = 0.29402


def _pellet_spread_pct(tilt_mrad: float) -> float:
    press = open_press(f"sim://?seed=1&tilt_mrad={tilt_mrad},0")
    assert isinstance(press, SimPress)
    press.command(74.0, 10.0)
    clock = press.clock
    while clock.now() < 15.0:
        clock.sleep_until(clock.now() + 1.0)
        press.heartbeat()
    forces = np.asarray(press.model.true_channel_forces_n)
    e = cof_offset_mm(forces, press.identity.channel_positions_mm)
    press.close()
    return pellet_nonuniformity_pct(e, 5.0)


@pytest.mark.parametrize("tilt_mrad", [1.0, 2.0])
def test_tilt_during_compaction_acts_through_the_tangent_compliance(tilt_mrad: float) -> None:
    by_hand = 2 * tilt_mrad * 5.0 / (TANGENT_UM_PER_MPA * 74.0) * 100
    elastic = 2 * tilt_mrad * 5.0 / (ELASTIC_UM_PER_MPA * 74.0) * 100
    got = _pellet_spread_pct(tilt_mrad)
    # the controller holds the reading, not the true force, at 74 MPa: within 2 %
    assert got == pytest.approx(by_hand, rel=0.02)
    assert got < elastic / 5


def test_tilt_applied_to_a_formed_pellet_acts_elastically() -> None:
    # formed level at 74 MPa (D = 0.62876 from then on), held at 50 MPa, then the platen
    # tilts 1 mrad (the platen_tilt fault). The density is fixed by the forming pressure, so
    # the stack responds through its elastic unloading compliance c_el·A = 0.29135 µm/MPa:
    # Δp = s·R / (c_el·A) = 5 µm / 0.29402 = 17.01 MPa at the edge (67.0 MPa, below the 74 it
    # was formed at: elastic throughout), spread 2 × 17.01 / 50 = 68.02 %
    by_hand = 2 * 1.0 * 5.0 / (ELASTIC_UM_PER_MPA * 50.0) * 100
    press = open_press("sim://?seed=1")
    assert isinstance(press, SimPress)
    clock = press.clock

    def settle(until_s: float) -> None:
        while clock.now() < until_s:
            clock.sleep_until(clock.now() + 1.0)
            press.heartbeat()

    press.command(74.0, 10.0)
    settle(15.0)
    press.command(50.0, 10.0)
    settle(25.0)
    positions = press.identity.channel_positions_mm
    level = cof_offset_mm(np.asarray(press.model.true_channel_forces_n), positions)
    press.inject_fault("platen_tilt", x_mrad=1.0)
    settle(35.0)
    forces = np.asarray(press.model.true_channel_forces_n)
    got = pellet_nonuniformity_pct(cof_offset_mm(forces, positions), 5.0)
    press.close()
    assert pellet_nonuniformity_pct(level, 5.0) == pytest.approx(0.0, abs=0.01)
    assert got == pytest.approx(by_hand, rel=0.01)
    # through the compaction tangent at 74 MPa it would be 2 × 5 / (1.8413 × 50) = 10.9 %
    assert got > 5 * 2 * 5.0 / (TANGENT_UM_PER_MPA * 50.0) * 100
