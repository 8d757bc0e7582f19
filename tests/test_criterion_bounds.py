"""Criterion limits a typo cannot defeat: the issue's inputs refused with one line naming the
field, each bound at its edge (worked out by hand from the protocol's own numbers), and a
bounded 2,000-file mutation campaign in which no accepted file asks beyond what a run can
measure.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.errors import ProtocolError
from presshil.metrics import EXPECT_KEYS, REPEAT_KEYS
from presshil.protocol import _walk, parse_protocol

LIBRARY = sorted(Path(__file__).resolve().parent.parent.joinpath("protocols").glob("*.toml"))
SEEDS = {p.stem: p.read_text(encoding="utf-8") for p in LIBRARY}
STEP = SEEDS["step-response-74mpa"]  # max_pressure_mpa = 80, rate_hz = 50 (0.02 s), die 10 mm


def check(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path)])
    return result.exit_code, result.output


@pytest.mark.parametrize(("old", "new", "field"), [
    ("max_tracking_error_mpa = 1.0", "max_tracking_error_mpa = 1e308", "max_tracking_error_mpa"),
    ("settle_s = 3, band_mpa = 0.25", "settle_s = 3, band_mpa = 1e15", "band_mpa"),
    ("duration_s = 10", "duration_s = 5e-324", "duration_s"),
    ("duration_s = 10", "duration_s = 1e-300", "duration_s"),
    ("duration_s = 10", "duration_s = 1e-9", "duration_s"),
])
def test_the_reported_typos_are_refused_in_one_line_naming_the_field(tmp_path, old, new, field) -> None:
    code, out = check(tmp_path, STEP.replace(old, new, 1))
    problems = [line for line in out.splitlines() if line.startswith("error:")]
    assert code == 2 and field in out and len(problems) == 1, out


def refused(text: str) -> str | None:
    try:
        parse_protocol(text)
    except ProtocolError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(("old", "edge", "beyond"), [
    # a tolerance up to the protocol's own 80 MPa limit
    ("max_tracking_error_mpa = 1.0", "max_tracking_error_mpa = 80", "max_tracking_error_mpa = 80.001"),
    # drift: 60 × 80 = 4800 MPa/min
    ("max_steady_state_error_mpa = 0.74", "max_steady_state_error_mpa = 80", "max_steady_state_error_mpa = 81"),
    # IAE: 80 MPa × the step's 30 s = 2400 MPa·s
    ("max_iae_mpa_s = 25.0", "max_iae_mpa_s = 2400", "max_iae_mpa_s = 2400.5"),
    # a share of the step: 100 %
    ("max_overshoot_pct = 1.0, max_rise_s", "max_overshoot_pct = 100, max_rise_s",
     "max_overshoot_pct = 100.5, max_rise_s"),
    # settle within the 10 s hold, and no shorter than one 0.02 s sample period
    ("settle_s = 3, band_mpa = 0.25", "settle_s = 10, band_mpa = 0.25", "settle_s = 10.01, band_mpa = 0.25"),
    ("settle_s = 3, band_mpa = 0.25", "settle_s = 0.02, band_mpa = 0.25", "settle_s = 0.019, band_mpa = 0.25"),
    # rise time within the 30 s step
    ("max_rise_s = 6.0", "max_rise_s = 30", "max_rise_s = 30.1"),
    # a hold with criteria lasts at least one sample period
    ("duration_s = 10\nexpect = { settle_s = 3, band_mpa = 0.25 }", "duration_s = 0.02\nexpect = { band_mpa = 0.25 }",
     "duration_s = 0.0199\nexpect = { band_mpa = 0.25 }"),
])
def test_each_bound_holds_at_its_edge_and_refuses_just_beyond(old, edge, beyond) -> None:
    assert old in STEP
    assert refused(STEP.replace(old, edge, 1)) is None
    why = refused(STEP.replace(old, beyond, 1))
    assert why is not None and beyond.split(" =")[0] in why, why


def test_a_centre_of_force_offset_is_at_most_the_die_radius() -> None:
    text = SEEDS["assembly-74mpa"]
    m = re.search(r"die_diameter_mm = ([\d.]+)", text)
    assert m and "max_cof_offset_mm = 0.0625" in text
    radius = float(m.group(1)) / 2
    assert refused(text.replace("max_cof_offset_mm = 0.0625", f"max_cof_offset_mm = {radius}")) is None
    assert "max_cof_offset_mm" in str(refused(text.replace("max_cof_offset_mm = 0.0625",
                                                           f"max_cof_offset_mm = {radius * 1.01}")))


# --- the mutation campaign --------------------------------------------------------------------
NUMBER = re.compile(r"(?<=[= ])-?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.])")
NASTY = ["1e308", "1e15", "1e9", "100000", "1000", "101", "100", "81", "80", "5e-324", "1e-300", "1e-9",
         "1e-4", "0.019", "0.02", "0.0", "1.7976931348623157e308", "4800", "4801", "2400", "2401"]


def beyond_measurable(p) -> list[str]:
    """Every limit of accepted protocol ``p`` no run could measure, by the documented table
    (docs/protocols.md), written out here independently of the checking code."""
    found = []
    period = 1.0 / p.sampling.rate_hz
    radius = (p.specimen.die_area_mm2 / 3.141592653589793) ** 0.5
    top = p.limits.max_pressure_mpa
    for path, s in _walk(list(p.steps)):
        duration = getattr(s, "duration_s", None)
        if duration is not None and (duration < 1e-3 or (s.expect and duration < period)):
            found.append(f"{path} duration_s {duration}")
        for key, limit in s.expect.items():
            unit = {**EXPECT_KEYS, **REPEAT_KEYS}[key].unit
            high = {"MPa": top, "MPa/min": 60 * top, "%": 100.0 if key in ("min_in_band_pct", "max_overshoot_pct")
                    else 1000.0, "µm": 1e6, "mm": radius}.get(unit, float("inf"))
            if unit == "MPa·s" and duration is not None:
                high = top * duration
            if unit == "s":
                if limit < period and not (key == "settle_s" and limit == 0):
                    found.append(f"{path} {key} {limit} < period")
                if duration is not None and limit > duration:
                    found.append(f"{path} {key} {limit} > step")
            if limit > high:
                found.append(f"{path} {key} {limit} > {high}")
    return found


def test_2000_mutated_protocols_none_accepted_beyond_what_a_run_can_measure() -> None:
    rng = random.Random(25)  # fixed: the same 2,000 files every run
    names = sorted(SEEDS)
    accepted = beyond = 0
    examples = []
    for _ in range(2000):  # bounded: parse only, no run
        text = SEEDS[rng.choice(names)]
        for _ in range(rng.randint(1, 3)):
            spots = [m for m in NUMBER.finditer(text)]
            m = rng.choice(spots)
            text = text[: m.start()] + rng.choice(NASTY) + text[m.end():]
        try:
            p = parse_protocol(text)
        except ProtocolError:
            continue
        accepted += 1
        found = beyond_measurable(p)
        if found:
            beyond += 1
            examples.append(found[0])
    assert beyond == 0, examples[:5]
    assert accepted > 100  # the campaign exercised acceptance too, not only refusals


def test_every_expect_key_has_a_finite_upper_bound() -> None:
    """A criterion added without a bound would let ``1e308`` through: every expect key's limit
    is capped (time limits outside a step with a duration are the one open end, and are floored
    at one sample period instead)."""
    from types import SimpleNamespace

    from presshil.criterion_bounds import limit_bound
    from presshil.metrics import EXPECT_KEYS, REPEAT_KEYS
    from presshil.metrics.rate import RATE_KEYS

    step = SimpleNamespace(duration_s=60.0)
    for key, spec in {**EXPECT_KEYS, **REPEAT_KEYS, **RATE_KEYS}.items():
        low, high, why = limit_bound(key, spec.unit, step, 80.0, 5.0, 0.02)
        if spec.unit == "s" and key not in ("settle_s", "max_rise_s", "settling_time_s"):
            assert low == 0.02, key
            continue
        assert high < 1e9 and why, f"{key} ({spec.unit}) has no upper bound"


def test_a_rate_tolerance_is_bounded_like_a_spread() -> None:
    """``max_rate_deviation_pct`` is declared outside ``EXPECT_KEYS``; it is still checked."""
    edge = STEP.replace("max_tracking_error_mpa = 1.0", "max_rate_deviation_pct = 1000", 1)
    beyond = STEP.replace("max_tracking_error_mpa = 1.0", "max_rate_deviation_pct = 1e308", 1)
    assert refused(edge) is None
    why = refused(beyond)
    assert why is not None and "max_rate_deviation_pct" in why and "1000" in why
