"""Configuration before checks: the order bugs of the runner, make_safe, seeds and clocks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import presshil
from presshil.clock import Clock, WallClock
from presshil.protocol import parse_protocol
from presshil.runner import PASSED, run
from presshil.sampler import rated_pressure_mpa
from presshil.store import Store

ROOT = Path(__file__).resolve().parents[1]
QUICK = (ROOT / "tests" / "data" / "quick-hold.toml").read_text()


def test_protocol_die_area_is_configured_before_the_rating_is_checked() -> None:
    # a 3300 mm² die left configured by someone else rates the press at ~74 MPa; the protocol
    # brings its own 10 mm die (78.5 mm²), on which the press is rated far above 80 MPa
    press = presshil.open_press("sim://?seed=1")
    press.configure(die_area_mm2=3300)
    assert press.identity.rated_max_pressure_mpa < 80.0
    proto = parse_protocol(QUICK, source="quick-hold.toml")
    assert proto.limits.max_pressure_mpa == 80.0
    result = run(proto, press)
    assert result.status == PASSED, result.failed_verdicts()
    assert press.identity.rated_max_pressure_mpa >= 80.0


def test_the_rating_check_uses_the_rating_for_the_protocols_die() -> None:
    press = presshil.open_press("sim://?seed=1")
    big_die = QUICK.replace("die_diameter_mm = 10.0", "die_area_mm2 = 3300.0")
    proto = parse_protocol(big_die, source="big-die.toml")
    with pytest.raises(presshil.ProtocolError, match=r"80 MPa is above the press's rated maximum"):
        run(proto, press)


def test_make_safe_with_a_new_die_area_does_not_raise_and_hands_over_a_known_press() -> None:
    press = presshil.open_press("sim://?seed=1")
    press.command(20.0, 10.0)
    press.clock.sleep_until(press.clock.now() + 3.0)
    press.make_safe(die_area_mm2=1000)  # raised DeviceFault: soft limit for the old die
    sample = press.read()
    assert not sample.faulted
    assert abs(sample.pressure_mpa) < 0.3
    ident = press.identity
    assert ident.rated_max_pressure_mpa == pytest.approx(rated_pressure_mpa(ident, 1000))
    # and the press can be commanded up to its rating on the new die
    press.command(ident.rated_max_pressure_mpa * 0.5, 10.0)


def test_seed_in_the_press_url_is_recorded(tmp_path: Path) -> None:
    proto = parse_protocol(QUICK, source="quick-hold.toml")
    with Store(tmp_path / "r.sqlite") as store:
        result = run(proto, presshil.open_press("sim://?seed=5"), store=store)
        assert store.get_run(result.run_id).seed == 5
        assert result.seed == 5
        explicit = run(proto, presshil.open_press("sim://?seed=5"), store=store, seed=7)
        assert store.get_run(explicit.run_id).seed == 7


def test_clock_protocol_declares_virtual() -> None:
    assert "virtual" in Clock.__annotations__
    assert WallClock().virtual is False
    sim = presshil.open_press("sim://")
    assert sim.clock.virtual is True
    assert isinstance(sim.clock, Clock)


def test_rated_pressure_is_force_over_area_capped_by_the_rating() -> None:
    ident = presshil.open_press("sim://").identity
    assert rated_pressure_mpa(ident, None) == ident.rated_max_pressure_mpa
    assert rated_pressure_mpa(ident, 1e9) == pytest.approx(ident.rated_max_force_kn * 1000 / 1e9)
    assert math.isfinite(rated_pressure_mpa(ident, 1.0))


def test_bindings_take_their_url_when_built() -> None:
    from presshil.sim.press import SimPress

    url = "sim://?seed=3&specimen=nmc-lpscl-li-10mm"
    assert presshil.open_press(url).url == url
    assert SimPress(seed=3, url="sim://?seed=3").url == "sim://?seed=3"
    source = (ROOT / "src" / "presshil" / "urls.py").read_text()
    assert "press.url =" not in source  # nothing patches the URL in after construction
