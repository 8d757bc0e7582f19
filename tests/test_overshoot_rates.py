"""Overshoot is a property of the response, not of the sampling rate."""

from __future__ import annotations

import pytest

import presshil
from presshil.protocol import parse_protocol
from presshil.runner import run

STEP = """
name = "overshoot-rates"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 80.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = {rate}
[[steps]]
type = "ramp"
to_mpa = 10.0
rate_mpa_s = 2.0
[[steps]]
type = "hold"
duration_s = 5
[[steps]]
type = "step"
label = "up"
to_mpa = 74.0
duration_s = 20
expect = {{ max_overshoot_pct = 1.0, settling_time_s = 9.0 }}
[[steps]]
type = "step"
label = "down"
to_mpa = 64.0
duration_s = 10
expect = {{ max_overshoot_pct = 1.0, settling_time_s = 3.0 }}
[[steps]]
type = "release"
rate_mpa_s = 10.0
"""


def _overshoots(url: str, rate: float) -> dict[str, tuple[float, bool]]:
    press = presshil.open_press(url)
    try:
        result = run(parse_protocol(STEP.format(rate=rate), source="step.toml"), press)
    finally:
        press.close()
    return {v.step: (v.value, v.passed) for v in result.verdicts
            if v.criterion == "max_overshoot_pct"}


@pytest.mark.parametrize("url", ["sim://?seed=1", "sim://servo-electric-10t?seed=3"])
def test_same_overshoot_verdict_at_20_50_and_200_hz(url: str) -> None:
    by_rate = {rate: _overshoots(url, rate) for rate in (20.0, 50.0, 200.0)}
    for step in ("up", "down"):
        values = [by_rate[r][step][0] for r in by_rate]
        verdicts = {by_rate[r][step][1] for r in by_rate}
        assert len(verdicts) == 1, (step, by_rate)
        assert max(values) - min(values) <= 0.1, (step, values)
