"""Swapping what is in the die: a steel reference for force verification, then a fresh cell."""

from __future__ import annotations

import pytest

from presshil import DeviceFault, PressURLError, open_press
from presshil.sim import REFERENCE_SPECIMEN, SimPress, specimen_url

STEEL_AREA_MM2 = 132.73  # 13 mm die


def _open(url: str) -> SimPress:
    press = open_press(url)
    assert isinstance(press, SimPress)
    return press


def _wait(press: SimPress, until_s: float) -> None:
    while press.clock.now() < until_s:
        press.clock.sleep_until(min(until_s, press.clock.now() + 1.0))
        press.heartbeat()


def test_force_verification_on_steel_leaves_a_fresh_cell_for_the_rest() -> None:
    url = "sim://servo-electric-10t?seed=3&cycling=off"
    press = _open(url)
    press.swap_specimen(REFERENCE_SPECIMEN)
    assert press.model.specimen_cfg.die_diameter_mm == 13.0
    press.configure(die_area_mm2=STEEL_AREA_MM2)
    press.command(400.0, 50.0)  # the top of a force staircase: 53 kN
    _wait(press, 15.0)
    reading = press.read()
    assert reading.force_kn == pytest.approx(press.reference_force_kn(), rel=0.005)
    assert press.model.true_force_n > 50e3
    press.release(50.0)
    _wait(press, 30.0)
    press.swap_specimen()  # a fresh cell of the kind the press was opened with
    press.configure(die_area_mm2=78.54)
    fresh = _open(url)
    model, new = press.model, fresh.model
    assert model.specimen_cfg == new.specimen_cfg
    # the cell never saw 400 MPa: same compaction, stiffness and creep as a new one
    assert model.stack_stiffness_n_per_m == pytest.approx(new.stack_stiffness_n_per_m, rel=1e-12)
    assert model.creep_strain == 0.0
    assert press.clock.now() == pytest.approx(30.0)  # the same press, its clock went on
    press.command(74.0, 5.0)
    _wait(press, 60.0)
    assert press.read().pressure_mpa == pytest.approx(74.0, abs=0.25)
    assert press.model.stack_stiffness_n_per_m > 1.5 * new.stack_stiffness_n_per_m  # now pressed


def test_the_specimen_cannot_be_swapped_under_load() -> None:
    press = _open("sim://servo-electric-10t?seed=3&cycling=off")
    press.command(20.0, 20.0)
    _wait(press, 3.0)
    with pytest.raises(DeviceFault, match="cannot swap the specimen under load") as info:
        press.swap_specimen(REFERENCE_SPECIMEN)
    assert info.value.code == 3
    assert press.model.specimen_cfg.die_diameter_mm == 10.0  # nothing changed


def test_specimen_url_reopens_the_same_press_with_another_specimen() -> None:
    url = "sim://servo-electric-10t?seed=3&specimen=li-s-inli-10mm&faults=leak@200:factor=50"
    steel = specimen_url(url, REFERENCE_SPECIMEN)
    assert steel == (
        "sim://servo-electric-10t?seed=3&faults=leak@200:factor=50&specimen=steel-reference-13mm"
    )
    assert _open(steel).model.specimen_cfg.die_diameter_mm == 13.0
    assert specimen_url("sim://", REFERENCE_SPECIMEN) == "sim://?specimen=steel-reference-13mm"
    with pytest.raises(PressURLError, match="not a sim:// URL"):
        specimen_url("modbus+tcp://127.0.0.1:5020", REFERENCE_SPECIMEN)
