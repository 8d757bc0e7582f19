"""Criterion limits bounded by what a run can measure, so that a typo cannot make a criterion
always pass (``band_mpa = 1e15``) or a step too short to hold one sample (``duration_s =
5e-324``).

:func:`check_step` is called by :func:`presshil.protocol.parse_protocol` for every step,
after each expect key's own range (:data:`presshil.metrics.CRITERIA`) is checked. The
bounds, documented in docs/protocols.md ("What a limit may be"):

- a pressure tolerance or band (MPa) is at most the protocol's ``limits.max_pressure_mpa``:
  no reading can be further than that from a target within the limits;
- a drift (MPa/min) is at most 60 × ``max_pressure_mpa`` (full scale within a second);
- an integrated error (MPa·s) is at most ``max_pressure_mpa`` × the step's duration;
- a percentage that is a share of samples or of the step (``min_in_band_pct``,
  ``max_overshoot_pct``) is at most 100 %; a spread of channel forces or of the pellet's
  pressure (``max_nonuniformity_pct``, ``max_cv_pct``, ``max_pellet_nonuniformity_pct``)
  at most 1000 % (so are a channel's share shift, ``max_channel_shift_pct``, and a rate's deviation,
  ``max_rate_deviation_pct``);
- a temperature change (°C) at most 100 °C;
- a length: a ram stroke (µm) at most 1 m, a centre-of-force offset (mm) at most the die's
  radius;
- a time limit (s) is at least one sample period (1 / ``sampling.rate_hz``) — nothing
  shorter can be told apart — and at most its step's duration where the step has one
  (``settle_s`` of a hold, ``max_rise_s`` and ``settling_time_s`` of a step);
- every step's ``duration_s`` is at least one sample period when the step has criteria
  (they need samples), and at least :data:`MIN_DURATION_S` otherwise.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ProtocolError

#: the shortest step a protocol may ask for (the runner's timing is coarser than this)
MIN_DURATION_S = 1e-3
#: spreads of channel forces or pellet pressure, in %: beyond this no limit means anything
MAX_SPREAD_PCT = 1000.0
#: the longest ram stroke a criterion may allow, µm (1 m)
MAX_STROKE_UM = 1e6
#: the largest temperature change a criterion may allow, °C (beyond a press room's range)
MAX_TEMPERATURE_CHANGE_C = 100.0

def limit_bound(key: str, unit: str, step: Any, max_pressure_mpa: float, die_radius_mm: float,
                period_s: float) -> tuple[float, float, str]:
    """``(low, high, why)``: the measurable range of ``key``'s limit on ``step``; beyond its
    unit, the criterion's ``limit_kind`` (a share, a spread, a time within its step) says."""
    from .metrics import CRITERIA

    registered = CRITERIA.get(key)
    kind = None if registered is None else registered.limit_kind
    duration = getattr(step, "duration_s", None)
    if unit == "MPa":
        return 0.0, max_pressure_mpa, f"limits.max_pressure_mpa = {max_pressure_mpa:g} MPa"
    if unit == "MPa/min":
        return 0.0, 60.0 * max_pressure_mpa, "60 × limits.max_pressure_mpa (full scale in a second)"
    if unit == "MPa·s":
        span = duration if duration is not None else math.inf
        return 0.0, max_pressure_mpa * span, "limits.max_pressure_mpa × the step's duration"
    if kind == "share":
        return 0.0, 100.0, "a share of 100 %"
    if kind == "spread":
        return 0.0, MAX_SPREAD_PCT, f"{MAX_SPREAD_PCT:g} % (a spread beyond it means no criterion)"
    if unit == "µm":
        return 0.0, MAX_STROKE_UM, "1 m of ram stroke"
    if unit == "°C":
        return 0.0, MAX_TEMPERATURE_CHANGE_C, f"{MAX_TEMPERATURE_CHANGE_C:g} °C (beyond any press room)"
    if unit == "mm":
        return 0.0, die_radius_mm, f"the die's radius, {die_radius_mm:g} mm"
    if unit == "s":
        high = duration if kind == "within_step" and duration is not None else math.inf
        return period_s, high, (f"one sample period ({period_s:g} s at sampling.rate_hz) and the step's "
                                f"duration_s")
    return 0.0, math.inf, ""


def check_step(step: Any, path: str, source: str, protocol: Any) -> None:
    """:class:`ProtocolError` naming the field when ``step``'s duration or a criterion limit
    lies outside what the run can measure (see the module)."""
    from .metrics import CRITERIA

    period = 1.0 / protocol.sampling.rate_hz
    duration = getattr(step, "duration_s", None)
    if duration is not None:
        floor, what = (period, "one sample period (1 / sampling.rate_hz); its criteria need samples") \
            if step.expect else (MIN_DURATION_S, f"{MIN_DURATION_S:g} s")
        if duration < floor:
            raise ProtocolError(f"{duration:g} s is shorter than {what}: at least {floor:g} s",
                                file=source, step=path, field="duration_s")
    radius = math.sqrt(protocol.specimen.die_area_mm2 / math.pi)
    lim = protocol.limits.max_pressure_mpa
    for key, limit in step.expect.items():
        spec = CRITERIA[key]  # unknown keys were refused before
        low, high, why = limit_bound(key, spec.unit, step, lim, radius, period)
        if spec.unit == "s" and limit < low and not (key == "settle_s" and limit == 0):
            raise ProtocolError(f"{limit:g} s is shorter than one sample period ({low:g} s): no run can "
                                "measure it", file=source, step=path, field=f"expect.{key}")
        if limit > high:
            raise ProtocolError(f"{limit:g} {spec.unit} is beyond what a run can measure: at most {high:g} "
                                f"{spec.unit} ({why})", file=source, step=path, field=f"expect.{key}")


__all__ = ["MAX_SPREAD_PCT", "MAX_STROKE_UM", "MAX_TEMPERATURE_CHANGE_C", "MIN_DURATION_S", "check_step", "limit_bound"]
