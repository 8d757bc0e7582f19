"""Assertion helpers for pytest: judge one step of a run with limits a test chooses.

Each helper takes ``(result, step, **limits)``: ``step`` is the 0-based index of a top-level
protocol step or its label. A failure names the step, the time and value of the worst sample,
the limit and, for uniformity, the channel::

    result = run_protocol("assembly-74mpa")
    assert_hold_stable(result, "hold-74", band_mpa=0.25, max_drift_mpa_per_min=0.05)
"""

from __future__ import annotations

import numpy as np

from .metrics import CRITERIA, Segment, Verdict, evaluate
from .runner import RunResult
from .steps import behaviour, setpoint_before

__all__ = ["assert_hold_stable", "assert_step_response", "assert_uniform", "step_segment"]


def step_segment(result: RunResult, step: int | str) -> tuple[str, Segment]:
    """The samples of one top-level step as a metrics :class:`~presshil.metrics.Segment`."""
    record = result.step_record(step)
    trace = result.trace
    # both ends inclusive: the sample read as a step ends carries the step's end time
    i0 = int(np.searchsorted(trace.t, record.t_start_s, side="left"))
    i1 = int(np.searchsorted(trace.t, record.t_end_s, side="right"))
    if i1 <= i0:
        raise AssertionError(f"step {record.name!r} (index {record.index}) has no samples")
    rows = slice(i0, i1)
    steps = result.protocol.steps
    proto_step = steps[record.index]
    b = behaviour(proto_step)
    start = setpoint_before(steps, record.index)  # the planned setpoint, as the runner used
    seg = Segment(
        kind=b.kind,
        t=trace.t[rows] - record.t_start_s,  # relative to the step, as the runner judges
        setpoint=trace.setpoint[rows],
        pressure=trace.pressure[rows],
        channels=trace.channels[rows],
        target_mpa=b.target_mpa(proto_step, start),
        start_mpa=start,
        channel_positions_mm=result.identity.channel_positions_mm,
        die_position_mm=(result.protocol.specimen.die_position_mm[0],
                         result.protocol.specimen.die_position_mm[1]),
        die_placement_tolerance_mm=result.protocol.specimen.die_placement_tolerance_mm,
    )
    return record.name, seg


def _describe(v: Verdict, index: int, t0: float) -> str:
    """One failure; times named by their base: run time, and step time from the step start."""
    spec = CRITERIA.get(v.criterion)
    direction = "at least" if spec is not None and spec.comparison == "min" else "at most"
    where = ""
    if v.t_s is not None:
        where += f" at run time t={v.t_s + t0:.3f} s (step time {v.t_s:.3f} s)"
    if v.channel is not None:
        where += f" on channel {v.channel + 1}"
    msg = (
        f"step {v.step!r} (index {index}): {v.criterion} = {v.value:.4g} {v.unit}{where}, "
        f"limit {direction} {v.limit:g} {v.unit}"
    )
    if v.detail:
        msg += f" ({v.detail.replace('at t = ', 'at step time t = ')})"
    return msg


def _check(
    result: RunResult, step: int | str, limits: dict[str, float | None], settle_s: float
) -> None:
    wanted = {k: v for k, v in limits.items() if v is not None}
    if not wanted:
        raise TypeError("give at least one limit, e.g. band_mpa=0.25")
    name, seg = step_segment(result, step)
    record = result.step_record(step)
    failures = []
    for key, limit in wanted.items():
        band = wanted.get("band_mpa")
        verdict = evaluate(name, key, float(limit), seg, settle_s=settle_s, band_mpa=band)
        if not verdict.passed:
            failures.append(_describe(verdict, record.index, record.t_start_s))
    if failures:
        raise AssertionError("\n".join(failures))


def assert_hold_stable(
    result: RunResult,
    step: int | str,
    *,
    band_mpa: float | None = None,
    max_drift_mpa_per_min: float | None = None,
    max_rms_error_mpa: float | None = None,
    min_in_band_pct: float | None = None,
    settle_s: float = 0.0,
) -> None:
    """Assert that a hold stayed within ``band_mpa`` of its setpoint and did not drift.

    Samples in the first ``settle_s`` seconds of the step are not judged.
    """
    limits = {
        "band_mpa": band_mpa,
        "max_drift_mpa_per_min": max_drift_mpa_per_min,
        "max_rms_error_mpa": max_rms_error_mpa,
        "min_in_band_pct": min_in_band_pct,
    }
    if min_in_band_pct is not None and band_mpa is None:
        raise TypeError("min_in_band_pct needs band_mpa")
    _check(result, step, limits, settle_s)


def assert_uniform(
    result: RunResult,
    step: int | str,
    *,
    max_nonuniformity_pct: float | None = None,
    max_cv_pct: float | None = None,
    max_cof_offset_mm: float | None = None,
    settle_s: float = 0.0,
) -> None:
    """Assert that force was spread evenly over the load-cell channels during a step."""
    limits = {
        "max_nonuniformity_pct": max_nonuniformity_pct,
        "max_cv_pct": max_cv_pct,
        "max_cof_offset_mm": max_cof_offset_mm,
    }
    _check(result, step, limits, settle_s)


def assert_step_response(
    result: RunResult,
    step: int | str,
    *,
    max_overshoot_pct: float | None = None,
    settling_time_s: float | None = None,
    max_rise_s: float | None = None,
    max_steady_state_error_mpa: float | None = None,
    max_iae_mpa_s: float | None = None,
) -> None:
    """Assert the response of a setpoint step (or ramp): overshoot, rise, settling, error."""
    limits = {
        "max_overshoot_pct": max_overshoot_pct,
        "settling_time_s": settling_time_s,
        "max_rise_s": max_rise_s,
        "max_steady_state_error_mpa": max_steady_state_error_mpa,
        "max_iae_mpa_s": max_iae_mpa_s,
    }
    _check(result, step, limits, 0.0)

