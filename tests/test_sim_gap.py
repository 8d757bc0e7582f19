"""Constant gap: the firmware holds the ram position and the pressure follows the cell."""

from __future__ import annotations

import pytest

from presshil import DeviceFault, open_press
from presshil.errors import CapabilityError
from presshil.press import Identity, Press, Sample
from presshil.sim import SimPress


def _open(url: str) -> SimPress:
    press = open_press(url)
    assert isinstance(press, SimPress)
    return press


def _wait(press: SimPress, until_s: float, step_s: float = 10.0) -> None:
    clock = press.clock
    while clock.now() < until_s:
        clock.sleep_until(min(until_s, clock.now() + step_s))
        press.heartbeat()


NO_CREEP = "specimen.lithium.creep_rate_per_s_at_ref=0"


def _swing_under_breathing(url: str) -> tuple[SimPress, float, float, float]:
    """Constant gap entered at 20 MPa after 30 min; one 2 h breathing cycle.

    Returns the press, the true and the measured pressure swing (MPa), and the ram travel
    (µm, max − min of the encoder) during the cycle.
    """
    press = _open(url)
    press.command(20.0, 5.0)
    _wait(press, 1800.0)
    press.hold_gap()
    press.start_cycling()
    t0 = press.clock.now()
    true_p, read_p, pos = [], [], []
    while press.clock.now() < t0 + 7200.0:
        press.clock.sleep_until(press.clock.now() + 20.0)
        true_p.append(press.model.true_pressure_mpa)
        sample = press.read()
        read_p.append(sample.pressure_mpa)
        pos.append(sample.position_mm * 1e3)
    return (
        press,
        max(true_p) - min(true_p),
        max(read_p) - min(read_p),
        max(pos) - min(pos),
    )


@pytest.mark.parametrize("name", ["servo-electric-10t", "auto-hydraulic-25t"])
def test_breathing_swings_the_pressure_by_frame_and_stack_in_series(name: str) -> None:
    """Δp = k_eff·Δh/A with 1/k_eff = 1/k_frame + 1/k_stack: the position loop holds the
    ram after the oil column, so on the hydraulic press the oil does not count."""
    # Li creep off: it keeps relaxing the stack at a fixed gap and would blur the swing
    press, swing, read_swing, travel_um = _swing_under_breathing(
        f"sim://{name}?seed=5&cycling=off&{NO_CREEP}"
    )
    model = press.model
    spec = model.specimen_cfg
    dh_m = spec.breathing.amplitude_um * 1e-6
    area_m2 = spec.die_area_mm2 * 1e-6
    c_series = 1.0 / model.frame_stiffness_n_per_m + 1.0 / model.stack_stiffness_n_per_m
    predicted = dh_m / c_series / area_m2 / 1e6
    assert predicted > 1.0  # a visible swing, not a rounding error
    assert swing == pytest.approx(predicted, rel=0.05)
    assert read_swing == pytest.approx(predicted, rel=0.05)  # the load cells see it too
    assert travel_um < 0.1 * spec.breathing.amplitude_um  # the ram stayed put
    if name == "auto-hydraulic-25t":
        # a trapped oil column would have given a clearly smaller swing
        with_oil = dh_m / (c_series + 1.0 / model.oil_stiffness_n_per_m) / area_m2 / 1e6
        assert with_oil < 0.8 * swing


def test_command_leaves_the_constant_gap() -> None:
    press = _open("sim://servo-electric-10t?seed=2&cycling=off")
    press.command(20.0, 10.0)
    _wait(press, 5.0, step_s=1.0)
    press.hold_gap()
    _wait(press, 10.0, step_s=1.0)
    assert press.model.state_name == "GAP_HOLD"
    press.command(30.0, 10.0)
    _wait(press, 15.0, step_s=1.0)
    assert press.model.state_name == "HOLD"
    assert press.read().pressure_mpa == pytest.approx(30.0, abs=0.25)


def test_manual_press_cannot_hold_a_constant_gap() -> None:
    press = _open("sim://manual-hydraulic-15t?seed=1")
    with pytest.raises(CapabilityError, match="manual press cannot hold a constant gap"):
        press.hold_gap()


def test_a_latched_fault_refuses_the_constant_gap() -> None:
    press = _open("sim://servo-electric-10t?seed=1")
    press.stop()
    with pytest.raises(DeviceFault) as info:
        press.hold_gap()
    assert info.value.code == 4
    assert press.model.state_name == "FAULT"


class _ForceOnlyPress(Press):
    """A press that implements only the required contract (for the default hold_gap)."""

    url = "modbus://192.0.2.1"
    identity = Identity("v", "m", "s", "f", 100.0, 10.0, 1)
    clock = None  # type: ignore[assignment]

    def configure(self, **kwargs: object) -> None: ...

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None: ...

    def release(self, rate_mpa_s: float) -> None: ...

    def stop(self) -> None: ...

    def reset(self) -> None: ...

    def read(self) -> Sample:
        raise NotImplementedError


def test_a_press_without_position_control_says_so() -> None:
    with pytest.raises(
        CapabilityError, match=r"modbus://192\.0\.2\.1: this press cannot hold a constant gap"
    ):
        _ForceOnlyPress().hold_gap()


def _relaxation(url: str, preload_mpa: float | None) -> list[float]:
    """True stack pressure at 0, 10, 30 and 60 min of a constant gap entered at 15 MPa."""
    press = _open(url)
    if preload_mpa is not None:
        press.command(preload_mpa, 5.0)
        _wait(press, preload_mpa / 5.0 + 60.0, step_s=1.0)
    press.command(15.0, 5.0)
    _wait(press, press.clock.now() + 20.0, step_s=1.0)
    press.hold_gap()
    t0 = press.clock.now()
    out = []
    for minute in (0, 10, 30, 60):
        press.clock.sleep_until(t0 + 60.0 * minute)
        out.append(press.model.true_pressure_mpa)
    return out


def test_li_creep_keeps_relaxing_a_constant_gap_after_a_pre_press() -> None:
    """Power-law creep with hardening that recovers: a 74 MPa pre-press hardens the Li, so
    relaxation at 15 MPa starts slower than on a fresh stack, but it resumes and goes on."""
    url = "sim://servo-electric-10t?seed=7&cycling=off"
    fresh = _relaxation(url, None)
    pre = _relaxation(url, 74.0)
    assert fresh[0] - fresh[1] > 2 * (pre[0] - pre[1])  # hardened: slow start
    assert pre[0] - pre[3] > 1.0  # yet over the hour it relaxes by more than 1 MPa
    assert pre[2] - pre[3] > 0.5  # and is still relaxing in the second half hour
    assert fresh[2] - fresh[3] > 0.5  # a fresh stack too: no saturation
    assert all(a > b for a, b in zip(fresh, fresh[1:], strict=False))


def test_steel_holds_its_pressure_at_a_constant_gap() -> None:
    """No Li, no creep: only the position loop's jitter on the encoder noise remains."""
    steel = _relaxation("sim://servo-electric-10t?specimen=steel-reference-13mm&seed=7", None)
    assert max(steel) - min(steel) < 0.02


@pytest.mark.parametrize("name", ["servo-electric-10t", "auto-hydraulic-25t"])
def test_fast_path_tracks_full_fidelity_over_a_constant_gap(name: str) -> None:
    """Same seed, same sample times: macro steps vs every tick over 30 min of a constant gap
    after a pre-press, with the cell breathing and the Li creeping."""
    runs = []
    for fidelity in ("full", "fast"):
        press = _open(f"sim://{name}?seed=3&fidelity={fidelity}&cycling=off")
        press.command(74.0, 5.0)
        press.clock.sleep_until(40.0)
        press.command(15.0, 5.0)
        press.clock.sleep_until(70.0)
        press.hold_gap()
        press.start_cycling()
        readings = []
        for k in range(1, 361):
            press.clock.sleep_until(70.0 + 5.0 * k)
            press.heartbeat()
            readings.append(press.read().pressure_mpa)
        runs.append((readings, press.model.stats()))
    (full, full_stats), (fast, fast_stats) = runs
    assert fast_stats["macro_ticks"] > 0.9 * full_stats["full_ticks"]  # the fast path did jump
    assert max(full) - min(full) > 0.25  # the pressure did move (creep and breathing)
    assert max(abs(a - b) for a, b in zip(full, fast, strict=True)) < 0.03
