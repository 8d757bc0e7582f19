"""Constant-gap physics of the simulator: Li creep relaxation curves and breathing swings.

Prints, for the servo-electric and the auto-hydraulic press with the default specimen:

* **creep relaxation**: the stack pressure over one hour at a constant gap entered at 15 MPa,
  on a fresh stack and after a 74 MPa pre-press (60 s), at 0, 1, 2, 5, 10, 20, 30 and 60 min;
* **breathing swing**: the pressure swing over one 2 h charge/discharge cycle at a constant
  gap entered at 20 MPa after 30 min, with Li creep switched off (and, for comparison, on:
  then the creep relaxation adds to the swing), against ``k_eff·Δh/A`` with and without the
  oil column.

Run with ``python3 benchmarks/sim_gap_physics.py``. Figures are deterministic for the seeds
used (virtual time, fast path; a few seconds of wall time).
"""

from __future__ import annotations

from presshil import open_press

MINUTES = (0, 1, 2, 5, 10, 20, 30, 60)
PRESSES = ("servo-electric-10t", "auto-hydraulic-25t")


def _wait(press, until_s: float, step_s: float = 5.0) -> None:
    clock = press.clock
    while clock.now() < until_s:
        clock.sleep_until(min(until_s, clock.now() + step_s))
        press.heartbeat()


def creep_curve(name: str, preload_mpa: float | None) -> list[float]:
    """Stack pressure (MPa, true) at MINUTES after entering a constant gap at 15 MPa."""
    press = open_press(f"sim://{name}?seed=7&cycling=off")
    if preload_mpa is not None:
        press.command(preload_mpa, 5.0)
        _wait(press, preload_mpa / 5.0 + 60.0)
    press.command(15.0, 5.0)
    _wait(press, press.clock.now() + 20.0)
    press.hold_gap()
    t0 = press.clock.now()
    out = []
    for minute in MINUTES:
        _wait(press, t0 + 60.0 * minute)
        out.append(press.model.true_pressure_mpa)
    return out


def breathing_swing(name: str, creep: bool) -> tuple[float, float, float]:
    """(measured swing, predicted without oil, predicted with oil) in MPa over one cycle."""
    no_creep = "" if creep else "&specimen.lithium.creep_rate_per_s_at_ref=0"
    press = open_press(f"sim://{name}?seed=5&cycling=off{no_creep}")
    model = press.model
    press.command(20.0, 5.0)
    _wait(press, 1800.0, step_s=10.0)
    press.hold_gap()
    press.start_cycling()
    t0 = press.clock.now()
    p = []
    while press.clock.now() < t0 + 7200.0:
        press.clock.sleep_until(press.clock.now() + 20.0)
        p.append(model.true_pressure_mpa)
    spec = model.specimen_cfg
    dh_m = spec.breathing.amplitude_um * 1e-6
    area_m2 = spec.die_area_mm2 * 1e-6
    c_frame_stack = 1.0 / model.frame_stiffness_n_per_m + 1.0 / model.stack_stiffness_n_per_m
    c_oil = 1.0 / model.oil_stiffness_n_per_m
    without_oil = dh_m / c_frame_stack / area_m2 / 1e6
    with_oil = dh_m / (c_frame_stack + c_oil) / area_m2 / 1e6
    return max(p) - min(p), without_oil, with_oil


def main() -> None:
    print("Li creep relaxation at a constant gap entered at 15 MPa (true stack pressure, MPa)")
    print("  " + " ".join(f"{m:>7d}" for m in MINUTES) + "  min")
    for name in PRESSES:
        for label, pre in (("fresh", None), ("74 MPa pre-press", 74.0)):
            curve = creep_curve(name, pre)
            print(f"  {' '.join(f'{v:7.3f}' for v in curve)}  {name}, {label}")
    print()
    print("Breathing swing at a constant gap, one 2 h cycle (max - min, MPa)")
    for name in PRESSES:
        swing, no_oil, oil = breathing_swing(name, creep=False)
        with_creep = breathing_swing(name, creep=True)[0]
        print(
            f"  {name:20s} Li creep off {swing:6.3f} (on: {with_creep:6.3f})"
            f"   k_eff·Δh/A: frame+stack {no_oil:6.3f}, frame+oil+stack {oil:6.3f}"
        )


if __name__ == "__main__":
    main()
