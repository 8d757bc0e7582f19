"""Catalogue values overridden from the sim:// URL (dotted keys), and the firmware defect flag."""

from __future__ import annotations

import pytest

import presshil
from presshil import CatalogueError, Status


def test_scalar_override_applies_to_every_channel_and_moves_the_reading() -> None:
    base = presshil.open_press("sim://?seed=1&load_cells.gain_error_pct=0&load_cells.noise_n_rms=0")
    gained = presshil.open_press("sim://?seed=1&load_cells.gain_error_pct=1.5&load_cells.noise_n_rms=0")
    assert gained.model.press_cfg.load_cells.gain_error_pct == [1.5] * 4
    for p in (base, gained):
        p.command(40.0, 20.0)
        p.clock.sleep_until(10.0)
    # both regulate their *indicated* pressure to 40 MPa; the gained cells read high, so the
    # true force behind them is lower by the gain error
    ratio = base.reference_force_kn() / gained.reference_force_kn()
    assert ratio == pytest.approx(1.015, abs=0.002)


def test_list_override_is_per_channel() -> None:
    p = presshil.open_press("sim://?load_cells.zero_offset_n=1,2,3,4")
    assert p.model.press_cfg.load_cells.zero_offset_n == [1.0, 2.0, 3.0, 4.0]


def test_specimen_override() -> None:
    p = presshil.open_press("sim://?specimen.breathing.amplitude_um=7.5")
    assert p.model.specimen_cfg.breathing.amplitude_um == 7.5


def test_disabled_watchdog_never_trips() -> None:
    for url, tripped in (("sim://", True), ("sim://?firmware.watchdog_enabled=false", False)):
        p = presshil.open_press(url)
        p.configure(watchdog_ms=100)
        p.command(10.0, 20.0)
        p.clock.sleep_until(2.0)  # no heartbeats at all
        assert bool(p.read().status & Status.WATCHDOG_TRIPPED) is tripped, url


@pytest.mark.parametrize(
    "url,words",
    [
        ("sim://?load_cells.gain_error_pct=99", ["load_cells.gain_error_pct", "less than or equal to 10"]),
        ("sim://?foo.bar=1", ["unknown catalogue key 'foo.bar'"]),
        ("sim://?load_cells.nope=1", ["unknown catalogue key 'load_cells.nope'", "gain_error_pct"]),
        ("sim://?specimen.breathing.amplitude_um=-1", ["breathing.amplitude_um"]),
    ],
)
def test_bad_override_names_the_key(url: str, words: list[str]) -> None:
    with pytest.raises(CatalogueError) as info:
        presshil.open_press(url)
    for word in words:
        assert word in str(info.value)
    assert url in str(info.value)


@pytest.mark.parametrize("name", ["servo-electric-10t", "auto-hydraulic-25t"])
def test_recommand_after_stop_closes_the_gap_without_tripping(name: str) -> None:
    """After a stop the ram retracts off the pellet; the next command must approach gently.

    Integrating across the free gap used to wind the loop up and slam a stiff servo press
    into the dense pellet, tripping its force-rate limit.
    """
    p = presshil.open_press(f"sim://{name}?seed=1")
    c = p.clock
    p.command(74.0, 10.0)
    c.sleep_until(10.0)
    p.stop()
    c.sleep_until(12.0)
    p.reset()
    c.sleep_until(16.0)
    p.command(74.0, 10.0)
    c.sleep_until(30.0)
    s = p.read()
    assert not s.faulted, Status.describe(s.status)
    assert s.pressure_mpa == pytest.approx(74.0, abs=0.25)
