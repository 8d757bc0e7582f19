"""Acceptance on sim://: injected errors move the verdict the right way.

Load-cell gain error, hysteresis and a defective watchdog are set the way a user sets them on
the command line: catalogue overrides in the sim:// URL. Everything runs in virtual time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import presshil
from presshil.acceptance import parse_suite, run_acceptance
from presshil.acceptance.force import verified_range_kn
from presshil.press import Identity, Press, Sample
from presshil.sim.catalogue import load_press
from presshil.sim.press import SimPress

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("force_verification", "step_response", "ramp_response", "hold", "uniformity", "safety")


def only(*enabled: str, extra: str = "") -> presshil.acceptance.Suite:
    """The standard defaults with only the named tests enabled."""
    text = 'name = "test"\n' + "".join(
        f"[{key}]\nenabled = {'true' if key in enabled else 'false'}\n"
        + (extra if key in enabled else "") for key in SECTIONS)
    return parse_suite(text, source="test-suite.toml")


def sim_with_load_cells(**update: object) -> presshil.Press:
    """The default automatic press with load-cell parameters overridden in its URL."""
    query = "&".join(
        f"load_cells.{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in update.items()
    )
    return presshil.open_press(f"sim://auto-hydraulic-25t?seed=1&{query}")


@pytest.fixture(scope="module")
def baseline() -> presshil.acceptance.AcceptanceResult:
    """Force verification of the unmodified default press."""
    return run_acceptance(presshil.open_press("sim://?seed=1"), only("force_verification"))


def test_baseline_force_verification(baseline) -> None:
    fv = baseline.section("force_verification")
    assert baseline.iso_class in ("0.5", "1")
    assert baseline.passed and baseline.exit_code == 0
    assert max(abs(r["q_pct"]) for r in fv.data["rows"]) < 0.2
    # the range is within the die rating: 80 % of 500 MPa on a 10 mm die
    assert fv.data["range_max_kn"] == pytest.approx(0.8 * 500 * 78.5398 / 1000, rel=1e-4)


def test_gain_error_1p5_pct_gives_class_2(baseline) -> None:
    cfg, _ = load_press("auto-hydraulic-25t")
    press = sim_with_load_cells(gain_error_pct=[g + 1.5 for g in cfg.load_cells.gain_error_pct])
    result = run_acceptance(press, only("force_verification"))
    rows = result.section("force_verification").data["rows"]
    assert all(1.3 < r["q_pct"] < 1.7 for r in rows), [r["q_pct"] for r in rows]
    assert result.iso_class == "2"
    failed = {c.name for c in result.criteria if c.status == "fail"}
    assert {"ISO 7500-1 class", "accuracy |q| (class 1)", "ASTM E4 error"} <= failed
    assert result.exit_code == 1


def test_hysteresis_shows_in_reversibility(baseline) -> None:
    """Hysteresis 0.3 % of the verified range F_N (per cell: its share of F_N).

    v is negative (unloading reads high, so less true force is needed) and scales with the
    hysteresis width: the catalogue cell has 0.01 % of its 100 kN capacity. At the lowest force
    the cell's loop is not saturated on the way up, so |v| is below width / F.
    """
    probe = presshil.open_press("sim://?seed=1")
    probe.configure(die_area_mm2=only().die_area_mm2)
    f_n, _ = verified_range_kn(probe, only().die_area_mm2, 80.0)
    cfg, _ = load_press("auto-hydraulic-25t")
    n = len(cfg.load_cells.positions_mm)
    width_pct_fs = 0.003 * f_n / n / cfg.load_cells.capacity_kn * 100.0
    press = sim_with_load_cells(hysteresis_pct_fs=width_pct_fs)
    result = run_acceptance(press, only("force_verification"))
    rows = result.section("force_verification").data["rows"]
    base_rows = baseline.section("force_verification").data["rows"]
    ratio = width_pct_fs / cfg.load_cells.hysteresis_pct_fs  # ≈ 2.36
    for row, base in zip(rows[:-1], base_rows[:-1]):
        assert row["v_pct"] < 0
        assert row["v_pct"] / base["v_pct"] == pytest.approx(ratio, rel=0.1)
    v_low = rows[0]["v_pct"]
    assert 0.3 < abs(v_low) < 0.3 * f_n / rows[0]["nominal_kn"]
    assert rows[-1]["v_pct"] is None  # not defined at the top, where the load turns
    # accuracy and repeatability are not what changed
    assert all(abs(r["q_pct"]) < 0.3 and r["b_pct"] < 0.1 for r in rows)


def test_tilted_platen_fails_uniformity() -> None:
    level = run_acceptance(presshil.open_press("sim://?seed=1"), only("uniformity"))
    tilted = run_acceptance(presshil.open_press("sim://?seed=1&tilt_mrad=5,0"), only("uniformity"))
    assert level.passed
    assert tilted.exit_code == 1
    spread = next(c for c in tilted.criteria if c.name.startswith("channel spread"))
    assert spread.status == "fail" and spread.value > 5.0


def test_leaking_manual_press_fails_the_hold() -> None:
    suite = only("hold", extra="duration_s = 900.0\n")
    result = run_acceptance(presshil.open_press("sim://manual-hydraulic-15t?seed=1"), suite)
    hold = result.section("hold")
    assert hold.status == "failed", hold.abort_reason
    by_name = {c.name: c for c in hold.criteria}
    assert by_name["samples in band"].status == "fail"
    assert by_name["drift"].status == "fail"
    assert result.exit_code == 1
    auto = run_acceptance(presshil.open_press("sim://?seed=1"), suite)
    assert auto.passed


def test_disabled_watchdog_fails_safety() -> None:
    good = run_acceptance(presshil.open_press("sim://?seed=1"), only("safety"))
    assert good.passed, [c for c in good.criteria if not c.passed]
    press = presshil.open_press("sim://?seed=1&firmware.watchdog_enabled=false")
    result = run_acceptance(press, only("safety"))
    by_name = {c.name: c for c in result.criteria}
    assert by_name["safe state after heartbeats stop"].status == "fail"
    assert "no WATCHDOG_TRIPPED" in by_name["safe state after heartbeats stop"].detail
    assert by_name["e-stop latched"].status == "pass"
    assert by_name["over-pressure trip latched"].status == "pass"
    assert result.exit_code == 1


class _HardwareLike(Press):
    """A press with only the contract: no fault injection, no built-in reference."""

    def __init__(self, inner: SimPress) -> None:
        self._inner = inner
        self.url = "modbus+tcp://press.example:502 (simulated)"

    identity = property(lambda self: self._inner.identity)  # type: ignore[assignment]
    clock = property(lambda self: self._inner.clock)  # type: ignore[assignment]

    def configure(self, **kw) -> None:
        self._inner.configure(**kw)

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        self._inner.command(setpoint_mpa, rate_mpa_s)

    def release(self, rate_mpa_s: float) -> None:
        self._inner.release(rate_mpa_s)

    def stop(self) -> None:
        self._inner.stop()

    def reset(self) -> None:
        self._inner.reset()

    def read(self) -> Sample:
        return self._inner.read()

    def heartbeat(self) -> None:
        self._inner.heartbeat()


def test_hardware_path_marks_overpressure_not_tested() -> None:
    press = _HardwareLike(SimPress(seed=1))
    assert isinstance(press.identity, Identity)
    result = run_acceptance(press, only("safety"))
    by_name = {c.name: c for c in result.criteria}
    assert by_name["over-pressure trip latched"].status == "not tested"
    assert "not tested" in by_name["over-pressure trip latency"].detail
    assert by_name["e-stop latched"].status == "pass"  # through the STOP command
    assert result.exit_code == 0


def test_force_verification_without_reference_is_a_config_error() -> None:
    with pytest.raises(presshil.ConfigError, match="--reference"):
        run_acceptance(_HardwareLike(SimPress(seed=1)), only("force_verification"))


def test_reference_from_a_second_device_url() -> None:
    # any press URL whose read().force_kn is the reference: here a second, identical sim
    result = run_acceptance(presshil.open_press("sim://?seed=1"), only("force_verification"),
                            reference="sim://?seed=2")
    assert "via sim://?seed=2" in result.reference
    fv = result.section("force_verification")
    assert fv.status in ("passed", "failed")  # it ran; the numbers are a second press's
    assert len(fv.data["rows"]) == 5
