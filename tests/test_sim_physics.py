"""Physics of the simulated press: each test checks a behaviour against its own prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from presshil import Status, open_press
from presshil.sim import SimPress
from presshil.sim.catalogue import load_press, load_specimen


def _open(url: str) -> SimPress:
    press = open_press(url)
    assert isinstance(press, SimPress)
    return press


def _hold(press: SimPress, until_s: float, step_s: float = 1.0) -> None:
    """Advance to ``until_s`` feeding the watchdog, as a runner would."""
    clock = press.clock
    while clock.now() < until_s:
        clock.sleep_until(min(until_s, clock.now() + step_s))
        press.heartbeat()


def _rigid_platen_split(
    positions_mm: np.ndarray, force_n: float, cof_mm: tuple[float, float]
) -> np.ndarray:
    """Channel forces of a rigid platen on equal supports, from first principles.

    Unknowns: the support deflection plane ``f_i = a + b x_i + c y_i``; equations: force and
    moment balance about the origin. Exact for N = 3; the equal-stiffness answer for N = 4.
    """
    x, y = positions_mm[:, 0], positions_mm[:, 1]
    design = np.column_stack([np.ones_like(x), x, y])
    # balance: sum f = F, sum f x = F ex, sum f y = F ey  with f = design @ coef
    lhs = design.T @ design
    rhs = force_n * np.array([1.0, cof_mm[0], cof_mm[1]])
    return design @ np.linalg.solve(lhs, rhs)


class TestPressureAndForce:
    def test_pressure_is_total_force_over_configured_die_area_exactly(self) -> None:
        press = _open("sim://?seed=2")
        for area in (78.54, 132.73, 50.0):
            press.configure(die_area_mm2=area)
            press.command(20.0, 20.0)
            _hold(press, press.clock.now() + 3.0)
            s = press.read()
            assert s.force_kn > 0.5
            assert s.pressure_mpa == pytest.approx(s.force_kn * 1e3 / area, rel=1e-12)
            assert sum(s.channels_kn) == pytest.approx(s.force_kn, rel=1e-9)
            press.release(20.0)
            _hold(press, press.clock.now() + 3.0)

    def test_regulation_is_on_the_configured_area(self) -> None:
        """With a die area twice the real one, the stack sees twice the indicated pressure."""
        press = _open("sim://?seed=2")
        real_area = load_specimen(None)[0].die_area_mm2
        press.configure(die_area_mm2=2 * real_area)
        press.command(10.0, 20.0)
        _hold(press, 5.0)
        assert press.read().pressure_mpa == pytest.approx(10.0, abs=0.1)
        assert press.model.true_pressure_mpa == pytest.approx(20.0, rel=0.01)


class TestPlatenStatics:
    @pytest.mark.parametrize(
        ("url", "tilt_mrad", "offset_mm"),
        [
            (
                "sim://servo-electric-10t?specimen=steel-reference-13mm&seed=4",
                (0.2, -0.1),
                (0.0, 0.0),
            ),
            (
                "sim://servo-electric-10t?specimen=steel-reference-13mm&seed=4",
                (0.0, 0.0),
                (2.0, 1.0),
            ),
            (
                "sim://auto-hydraulic-25t?specimen=steel-reference-13mm&seed=4",
                (0.1, 0.15),
                (-1.5, 0.5),
            ),
        ],
    )
    def test_channel_imbalance_matches_rigid_platen_geometry(
        self, url, tilt_mrad, offset_mm
    ) -> None:
        url += (
            f"&tilt_mrad={tilt_mrad[0]},{tilt_mrad[1]}&die_offset_mm={offset_mm[0]},{offset_mm[1]}"
        )
        press = _open(url)
        press.command(74.0, 20.0)
        _hold(press, 10.0)
        force_n = press.model.true_force_n
        # prediction from the catalogue alone: steel cylinder k = E A / h, tilt moment k s R²/4
        spec = load_specimen("steel-reference-13mm")[0]
        radius_m = spec.die_diameter_mm / 2e3
        k_stack = (
            spec.powder.dense_modulus_gpa
            * 1e9
            * math.pi
            * radius_m**2
            / (spec.powder.solid_thickness_um * 1e-6)
        )
        shift_mm = tuple(k_stack * s * 1e-3 * radius_m**2 / 4.0 / force_n * 1e3 for s in tilt_mrad)
        # the press reports its cells from the press axis; the die sits at the (hidden) offset
        positions = np.array(press.identity.channel_positions_mm) - np.array(offset_mm)
        predicted = _rigid_platen_split(positions, force_n, shift_mm)
        np.testing.assert_allclose(press.model.true_channel_forces_n, predicted, rtol=1e-9)
        # the imbalance is real (several % of the mean), and the load cells show it
        assert np.ptp(predicted) / predicted.mean() > 0.02
        measured = np.array(press.read().channels_kn) * 1e3
        np.testing.assert_allclose(measured, predicted, atol=0.005 * force_n)

    def test_centred_flat_platen_loads_channels_equally(self) -> None:
        press = _open("sim://?seed=4&tilt_mrad=0,0&die_offset_mm=0,0")
        press.command(50.0, 20.0)
        _hold(press, 6.0)
        forces = press.model.true_channel_forces_n
        np.testing.assert_allclose(forces, forces.mean(), rtol=1e-12)


class TestBreathing:
    def test_fixed_gap_swing_matches_series_stiffness(self) -> None:
        """Ram held: dp = k_eff dh / A with 1/k_eff = 1/k_frame + 1/k_stack (Li creep off: it
        keeps relaxing the stack at a fixed gap and would blur the swing)."""
        press = _open(
            "sim://servo-electric-10t?specimen=nmc-lpscl-li-10mm&seed=5&cycling=off&specimen.lithium.creep_rate_per_s_at_ref=0"
        )
        model = press.model
        press.command(20.0, 5.0)
        _hold(press, 1800.0, step_s=10.0)  # powder compaction settles
        press.hold_gap()
        press.start_cycling()
        t0 = press.clock.now()
        p = []
        while press.clock.now() < t0 + 7200.0:
            press.clock.sleep_until(press.clock.now() + 20.0)
            p.append(model.true_pressure_mpa)
        spec = load_specimen(None)[0]
        k_frame = load_press("servo-electric-10t")[0].frame.stiffness_n_per_m
        k_stack = model.stack_stiffness_n_per_m
        k_eff = 1.0 / (1.0 / k_frame + 1.0 / k_stack)
        predicted_mpa = (
            k_eff * spec.breathing.amplitude_um * 1e-6 / (spec.die_area_mm2 * 1e-6) / 1e6
        )
        swing = max(p) - min(p)
        assert predicted_mpa > 1.0  # a visible swing, not a rounding error
        assert swing == pytest.approx(predicted_mpa, rel=0.10)

    def test_constant_pressure_absorbs_breathing_in_ram_travel(self) -> None:
        # Li creep off: under regulation it keeps moving the ram too
        press = _open(
            "sim://servo-electric-10t?specimen=nmc-lpscl-li-10mm&seed=5&cycling=off&specimen.lithium.creep_rate_per_s_at_ref=0"
        )
        press.command(20.0, 5.0)
        _hold(press, 1800.0, step_s=10.0)
        press.start_cycling()
        t0 = press.clock.now()
        p, pos = [], []
        while press.clock.now() < t0 + 7200.0:
            _hold(press, press.clock.now() + 20.0, step_s=20.0)
            s = press.read()
            p.append(press.model.true_pressure_mpa)
            pos.append(s.position_mm)
        amplitude_mm = load_specimen(None)[0].breathing.amplitude_um * 1e-3
        assert max(p) - min(p) < 0.05
        assert max(pos) - min(pos) == pytest.approx(amplitude_mm, rel=0.10)


class TestSpecimen:
    def test_powder_compacts_irreversibly_and_springs_back(self) -> None:
        press = _open("sim://?seed=6&cycling=off")
        press.command(74.0, 10.0)
        _hold(press, 20.0)
        loaded_mm = press.read().position_mm
        stiff_loaded = press.model.stack_stiffness_n_per_m
        press.release(10.0)
        _hold(press, 40.0)
        s = press.read()
        assert s.status & Status.RELEASED
        assert press.model.true_force_n < 1e-3  # newtons: unloaded
        # plastic compaction stays, the elastic part springs back
        assert 0.5 * loaded_mm < s.position_mm < loaded_mm - 0.005
        fresh = _open("sim://?seed=6&cycling=off")
        assert stiff_loaded > 1.5 * fresh.model.stack_stiffness_n_per_m  # densified: stiffer

    def test_lithium_creep_relaxes_stress_at_fixed_gap(self) -> None:
        li = _open("sim://servo-electric-10t?specimen=nmc-lpscl-li-10mm&seed=7&cycling=off")
        steel = _open("sim://servo-electric-10t?specimen=steel-reference-13mm&seed=7")
        for press in (li, steel):
            press.command(10.0, 20.0)
            _hold(press, 2.0)
            press.hold_gap()
        p0 = (li.model.true_pressure_mpa, steel.model.true_pressure_mpa)
        for press in (li, steel):
            press.clock.sleep_until(1800.0)
        assert p0[0] - li.model.true_pressure_mpa > 0.5  # Li creeps: stress relaxes
        # steel does not: only the position loop's jitter on the encoder noise remains
        assert abs(p0[1] - steel.model.true_pressure_mpa) < 0.02


class TestRegulation:
    def test_auto_hydraulic_holds_74_mpa_within_a_quarter_mpa(self) -> None:
        press = _open("sim://auto-hydraulic-25t?seed=1&fidelity=full")
        press.command(74.0, 2.0)
        with press.model.capture() as out:
            _hold(press, 37.0 + 300.0)
        trace = out[0]
        ramp = trace.t_s < 37.0
        assert np.max(np.abs(trace.pressure_mpa[ramp] - trace.setpoint_mpa[ramp])) < 1.5
        assert trace.pressure_mpa.max() < 74.0 * 1.01  # overshoot below 1 %
        settled = trace.t_s > 37.0 + 10.0
        assert np.all(np.abs(trace.pressure_mpa[settled] - 74.0) <= 0.25)
        assert np.all(trace.status[settled] & Status.AT_SETPOINT)

    def test_manual_press_leaks_down_and_nobody_repumps(self) -> None:
        press = _open("sim://manual-hydraulic-15t?seed=8&cycling=off")
        press.command(50.0, 2.0)
        _hold(press, 40.0)
        assert press.model.state_name == "HOLD"
        start = press.read().pressure_mpa
        assert start == pytest.approx(50.0, abs=1.0)
        readings = []
        for _ in range(30):
            _hold(press, press.clock.now() + 10.0)
            readings.append(press.read().pressure_mpa)
        assert start - readings[-1] > 0.5  # visibly leaks (about 0.2 MPa/min here)
        assert max(np.diff(readings)) < 0.1  # it only goes down


def test_fast_path_tracks_full_fidelity_within_0_02_mpa() -> None:
    """Same seed, same sample times: macro steps vs every tick, 20 min of a breathing hold."""
    runs = []
    for fidelity in ("full", "fast"):
        press = _open(f"sim://?seed=3&fidelity={fidelity}")
        press.command(15.0, 0.5)
        readings = []
        for k in range(1, 241):
            press.clock.sleep_until(5.0 * k)
            press.heartbeat()
            readings.append(press.read().pressure_mpa)
        runs.append((np.array(readings), press.model.stats()))
    (full, full_stats), (fast, fast_stats) = runs
    assert fast_stats["macro_ticks"] > 0.9 * full_stats["full_ticks"]  # the fast path did jump
    assert np.max(np.abs(full - fast)) < 0.02


class TestDeterminism:
    @staticmethod
    def _trace(url: str):
        press = _open(url)
        with press.model.capture() as out:
            press.command(30.0, 10.0)
            _hold(press, 5.0, step_s=0.05)
            press.inject_fault("sensor_drift", channel=2)
            _hold(press, 8.0, step_s=0.05)
            press.release(10.0)
            _hold(press, 12.0, step_s=0.05)
        return out[0]

    def test_same_seed_same_trace_bitwise(self) -> None:
        a = self._trace("sim://?seed=11")
        b = self._trace("sim://?seed=11")
        for name in ("t_s", "status", "pressure_mpa", "true_force_n", "position_m", "channels_n"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name

    def test_different_seed_different_noise_same_physics(self) -> None:
        a = self._trace("sim://?seed=11")
        b = self._trace("sim://?seed=12")
        assert not np.array_equal(a.channels_n, b.channels_n)
        noise = a.pressure_mpa - b.pressure_mpa
        assert np.std(noise) > 0.01  # independent sensor noise (about 0.025 MPa each)
        assert abs(np.mean(noise)) < 0.01  # but the same press and specimen
