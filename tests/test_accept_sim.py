"""Acceptance on sim://: injected errors move the verdict the right way.

Load-cell gain error, hysteresis and a defective watchdog are set the way a user sets them on
the command line: catalogue overrides in the sim:// URL. Everything runs in virtual time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import presshil
from presshil.acceptance import parse_suite, run_acceptance
from presshil.acceptance.specimen import OperatorSpecimens, SimSpecimens
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


AREA = 78.5398  # mm², the 10 mm die
WORKING = [10.0, 15.0, 50.0, 64.0, 74.0]  # the protocol library's pressures, MPa


@pytest.fixture(scope="module")
def baseline() -> presshil.acceptance.AcceptanceResult:
    """Force verification of the unmodified default press, reference specimen in the die."""
    return run_acceptance(presshil.open_press("sim://?seed=1"), only("force_verification"),
                          specimens=SimSpecimens("sim://?seed=1", "steel-reference-13mm"))


def test_baseline_force_verification_covers_the_working_range(baseline) -> None:
    fv = baseline.section("force_verification")
    # F_N is the highest working pressure of the library on the die, 74 MPa -> 5.812 kN, and
    # the staircase adds the 10 % point for 10 MPa (13.5 % of F_N)
    assert fv.data["working_pressures_mpa"] == WORKING
    assert fv.data["range_max_kn"] == pytest.approx(74 * AREA / 1000, rel=1e-5)
    assert fv.data["forces_pct"] == [10.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    assert baseline.verified_range_kn == pytest.approx((0.7400 * AREA / 100, 74 * AREA / 1000),
                                                       rel=1e-4)
    # on this range the load cells' hysteresis leaves ~7 N after unloading: f0 ≈ 0.12 % of
    # 5.8 kN, above class 1's 0.1 %; everything else meets class 1
    assert fv.data["indicated_class"] == "2"
    assert baseline.iso_class is None  # the simulated reference establishes no class
    assert 0.1 < fv.data["f0_pct"] <= 0.2
    assert fv.data["class_failures"]["1"] == [f"f0 = {fv.data['f0_pct']:+.4f} % (limit ±0.1 %)"]
    assert baseline.exit_code == 1
    failed = {c.name for c in fv.criteria if c.status == "fail"}
    assert failed == {"ISO 7500-1 class", "zero |f0| (class 1)",
                      "lower limit of class 1 ≤ lowest working force",
                      "working pressures covered (class 1)", "ISO 7500-1 class established"}
    # r ≈ 4.2 N: class 2's range starts at the 10 % point (0.58 kN > 100 r); class 1 is not
    # met (f0), so it covers nothing
    r = fv.data["resolution_kn"]
    assert 0.001 < r < 0.02
    assert fv.data["coverage"]["1"] == (
        "Class 1 is not met, so it covers none of the working pressures (10, 15, 50, 64 and 74 "
        "MPa are not covered by class 1).")
    assert fv.data["coverage"]["2"].endswith("covers the working pressures 10, 15, 50, 64 and 74 MPa.")
    assert max(abs(r["q_pct"]) for r in fv.data["rows"] if r["nominal_kn"] > 1.0) < 0.5


def test_force_verification_ran_on_the_reference_specimen(baseline) -> None:
    # the steel reference is linear and does not densify: the indicated and reference forces
    # agree at every force of every series
    inc = baseline.section("force_verification").data["readings"]["increasing"]
    for series in inc:
        for r in series:
            assert r["reference_kn"] == pytest.approx(r["indicated_kn"], rel=0.01)


def test_gain_error_1p5_pct_moves_q_by_1p5_pct(baseline) -> None:
    cfg, _ = load_press("auto-hydraulic-25t")
    press = sim_with_load_cells(gain_error_pct=[g + 1.5 for g in cfg.load_cells.gain_error_pct])
    result = run_acceptance(press, only("force_verification"),
                            specimens=SimSpecimens(press.url, "steel-reference-13mm"))
    rows = result.section("force_verification").data["rows"]
    base = baseline.section("force_verification").data["rows"]
    # the cells read 1.5 % high, so the press stops 1.5 % short: q rises by ≈ 1.5 % at every
    # force, on top of what the unmodified press shows there
    shift = [r["q_pct"] - b["q_pct"] for r, b in zip(rows, base, strict=True)]
    assert all(1.4 < d < 1.6 for d in shift), shift
    # q ≈ 2.4 % at the 10 % point, above class 2's 2 %
    assert result.section("force_verification").data["indicated_class"] == "3"
    failed = {c.name for c in result.criteria if c.status == "fail"}
    assert {"ISO 7500-1 class", "accuracy |q| (class 1)", "ASTM E4 error"} <= failed
    assert result.exit_code == 1


def test_hysteresis_shows_in_reversibility(baseline) -> None:
    """Hysteresis 0.3 % of the verified range F_N (per cell: its share of F_N).

    v is negative (unloading reads high, so less true force is needed) and scales with the
    hysteresis width: the catalogue cell has 0.01 % of its 100 kN capacity. At the lowest force
    the cell's loop is not saturated on the way up, so |v| is below width / F.
    """
    # the range of the rating (80 % of 500 MPa on the die, 31.4 kN), where the catalogue
    # cells' loop is wide enough to measure
    extra = "reversibility = true\nrange_max_pct_of_rating = 80.0\n"
    f_n = 0.8 * 500.0 * only().die_area_mm2 / 1000.0
    cfg, _ = load_press("auto-hydraulic-25t")
    n = len(cfg.load_cells.positions_mm)
    width_pct_fs = 0.003 * f_n / n / cfg.load_cells.capacity_kn * 100.0
    press = sim_with_load_cells(hysteresis_pct_fs=width_pct_fs)
    result = run_acceptance(press, only("force_verification", extra=extra))
    rows = result.section("force_verification").data["rows"]
    assert result.section("force_verification").data["range_max_kn"] == pytest.approx(f_n)
    base = run_acceptance(presshil.open_press("sim://?seed=1"), only("force_verification",
                                                                     extra=extra))
    base_rows = base.section("force_verification").data["rows"]
    assert all(r["v_pct"] is None for r in baseline.section("force_verification").data["rows"])
    ratio = width_pct_fs / cfg.load_cells.hysteresis_pct_fs  # ≈ 2.36
    for row, base in zip(rows[:-1], base_rows[:-1], strict=False):
        assert row["v_pct"] < 0
        assert row["v_pct"] / base["v_pct"] == pytest.approx(ratio, rel=0.1)
    v_low = rows[0]["v_pct"]
    assert 0.3 < abs(v_low) < 0.3 * f_n / rows[0]["nominal_kn"]
    assert rows[-1]["v_pct"] is None  # not defined at the top, where the load turns
    # accuracy and repeatability are not what changed
    assert all(abs(r["q_pct"]) < 0.3 and r["b_pct"] < 0.1 for r in rows)


def test_tilted_platen_fails_uniformity_on_the_pellet() -> None:
    level = run_acceptance(presshil.open_press("sim://?seed=1"), only("uniformity"))
    tilted = run_acceptance(presshil.open_press("sim://?seed=1&tilt_mrad=5,0"), only("uniformity"))
    assert level.passed, [c for c in level.criteria if not c.passed]
    assert tilted.exit_code == 1
    pellet = {c.name: c for c in tilted.criteria}["pellet pressure spread 8e/R (estimated)"]
    # defaults from a ±5 % pellet tolerance: spread ≤ 10 %, offset ≤ 0.0625 mm on R = 5 mm
    assert pellet.limit == 10.0 and pellet.status == "fail" and pellet.value > 10.0
    cof = {c.name: c for c in tilted.criteria}["centre-of-force offset"]
    assert cof.limit == pytest.approx(0.0625) and cof.status == "fail"
    # 5 mrad through the compaction curve's tangent (1.84 µm/MPa at 74 MPa): 2 × 25 µm /
    # (1.84 × 74) ≈ 37 % (docs/simulator.md)
    assert pellet.value == pytest.approx(800 * cof.value / 5.0, rel=1e-6)
    assert pellet.value == pytest.approx(36.7, rel=0.05)


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


def test_an_idle_second_device_is_no_reference() -> None:
    # a press URL whose read().force_kn is the reference; this one is a second, idle sim that
    # never sees the load: the verification fails and no class is given (not q = −279 347 %)
    result = run_acceptance(presshil.open_press("sim://?seed=1"), only("force_verification"),
                            reference="sim://?seed=2")
    assert "via sim://?seed=2" in result.reference
    fv = result.section("force_verification")
    assert fv.status == "failed" and result.exit_code == 1
    assert result.iso_class is None and "rows" not in fv.data
    (c,) = fv.criteria
    assert c.name == "reference in the load path" and c.status == "fail"
    assert "no class can be given" in c.detail


def test_expired_certificate_and_coarse_reference_class_are_flagged() -> None:
    extra = ""
    suite = parse_suite(
        'name = "t"\n[reference]\niso376_class = "1"\nserial = "R-17"\ncertificate = "C-2024-9"\n'
        "due_date = 2025-01-31\n" + "".join(
            f"[{key}]\nenabled = {'true' if key == 'force_verification' else 'false'}\n{extra}"
            for key in SECTIONS), source="t.toml")
    result = run_acceptance(presshil.open_press("sim://?seed=1"), suite,
                            specimens=SimSpecimens("sim://?seed=1", "steel-reference-13mm"))
    by_name = {c.name: c for c in result.criteria}
    cert = by_name["reference certificate in date"]
    assert cert.status == "fail" and cert.value == "2025-01-31"
    assert "EXPIRED" in cert.detail and "C-2024-9" in cert.detail and "R-17" in cert.detail
    cls = by_name["reference ISO 376 class"]
    assert cls.status == "fail" and cls.limit == "0.5" and "too coarse" in cls.detail
    fv = result.section("force_verification")
    assert fv.data["reference_instrument"]["expanded_uncertainty_pct"] == 0.10  # class 1 default
    assert result.exit_code == 1


def test_real_press_asks_the_operator_to_swap_and_stops_without_an_answer() -> None:
    asked: list[str] = []
    said: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return ""

    suite = only("force_verification", "uniformity")
    result = run_acceptance(presshil.open_press("sim://?seed=1"), suite,
                            specimens=OperatorSpecimens(ask, said.append))
    assert len(asked) == 2  # the reference before the force verification, a fresh specimen after
    assert "reference transducer (ISO 376) in the load path" in said[0]
    assert "fresh specimen for the uniformity" in said[1]
    assert result.section("uniformity").status == "passed"

    def no_answer(prompt: str) -> str:
        raise EOFError

    result = run_acceptance(presshil.open_press("sim://?seed=1"), only("uniformity"),
                            specimens=OperatorSpecimens(no_answer, said.append))
    section = result.section("uniformity")
    assert section.status == "aborted" and "no acknowledgement" in section.abort_reason
    assert result.exit_code == 3 and section.criteria == []
