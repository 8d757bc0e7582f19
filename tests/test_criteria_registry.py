"""An expect key is declared once (``presshil.metrics.criterion``) and every part of presshil
that lists expect keys follows: protocol validation and its error texts, the limit bounds,
the press capabilities, the criterion names, ``evaluate_all`` and a run on the simulated press.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import presshil
from presshil.errors import ProtocolError
from presshil.metrics import (
    CRITERIA,
    EXPECT_KEYS,
    Criterion,
    Segment,
    criterion,
    evaluate,
    evaluate_all,
    register,
)
from presshil.metrics.criteria import Measured, window
from presshil.press import Capabilities
from presshil.protocol import STEP_TYPES, parse_protocol
from presshil.runner import FAILED, PASSED, run
from presshil.wording import criterion_name

QUICK = (Path(__file__).resolve().parent / "data" / "quick-hold.toml").read_text()
KEY = "max_peak_above_target_mpa"


@pytest.fixture
def peak_key() -> Iterator[str]:
    """A criterion registered for this test only, in one declaration."""

    @criterion(KEY, "MPa", "max", ("hold",), "largest pressure − target after settle_s",
               name="peak above the target", needs="channels")
    def _peak(seg: Segment, settle_s: float, band: float | None) -> Measured:
        m = window(seg, settle_s, need=1)
        return Measured(float(np.max(seg.pressure[m]) - seg.target_mpa), "peak − target")

    try:
        yield KEY
    finally:
        CRITERIA.pop(KEY, None)


def hold_protocol(expect: str) -> str:
    return QUICK.replace("max_nonuniformity_pct = 5.0", expect)


def test_a_key_declared_once_is_accepted_and_evaluated(peak_key) -> None:
    p = parse_protocol(hold_protocol(f"{peak_key} = 0.7"))
    assert p.steps[1].expect == {"settle_s": 2, "band_mpa": 0.5, peak_key: 0.7}
    seg = Segment("hold", np.arange(4.0), np.full(4, 20.0), [21.0, 20.5, 20.6, 20.2],
                  np.ones((4, 2)), 20.0, 20.0)
    v = {x.criterion: x for x in evaluate_all("hold-20", {"settle_s": 1, "band_mpa": 0.5,
                                                          peak_key: 0.7}, seg)}
    # the sample at t = 0 (21 MPa) is inside the settle allowance; the peak after it is 20.6
    assert v[peak_key].value == pytest.approx(0.6) and v[peak_key].passed
    assert v[peak_key].unit == "MPa" and v[peak_key].detail == "peak − target"
    assert not evaluate("hold-20", peak_key, 0.5, seg, settle_s=1).passed
    # and everything that lists keys knows it: names, capabilities, limit bounds
    assert criterion_name(peak_key) == "peak above the target"
    assert Capabilities(channels=False).why_not_judged(peak_key) == (
        f"{peak_key}: the press reports no per-channel forces")
    assert Capabilities().why_not_judged(peak_key) is None
    with pytest.raises(ProtocolError, match=f"expect.{peak_key}.*at most 80 MPa"):
        parse_protocol(hold_protocol(f"{peak_key} = 81"))


def test_a_run_judges_a_key_declared_once(peak_key) -> None:
    good = run(parse_protocol(hold_protocol(f"{peak_key} = 0.5")), presshil.open_press("sim://?seed=1"))
    assert good.status == PASSED, good.failed_verdicts()
    [peak] = [v for v in good.verdicts if v.criterion == peak_key]
    assert 0 < peak.value < 0.5
    bad = run(parse_protocol(hold_protocol(f"{peak_key} = 0.0001")), presshil.open_press("sim://?seed=1"))
    assert bad.status == FAILED
    assert [v.criterion for v in bad.verdicts if not v.passed] == [peak_key]


def test_unknown_and_misplaced_keys_list_the_registered_ones(peak_key) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_protocol(hold_protocol("max_nonsense_pct = 1"))
    allowed = str(info.value).split("a hold step allows: ")[1].split(", ")
    assert "unknown expect key" in str(info.value)
    assert allowed == [k for k, c in CRITERIA.items() if "hold" in c.applies_to]
    assert peak_key in allowed and "band_mpa" in allowed and "max_rise_s" not in allowed
    ramp = QUICK.replace("rate_mpa_s = 5.0", f"rate_mpa_s = 5.0\nexpect = {{ {peak_key} = 1 }}", 1)
    with pytest.raises(ProtocolError, match="does not apply to a ramp step; a ramp step allows: "
                                            "max_tracking_error_mpa, max_overshoot_pct, "
                                            "max_rate_deviation_pct"):
        parse_protocol(ramp)
    with pytest.raises(ValueError, match=f"known: .*{peak_key}"):
        evaluate("h", "max_nonsense_pct", 1.0, Segment("hold", [0.0], [1.0], [1.0], [], 1.0, 1.0))
    CRITERIA.pop(peak_key)
    with pytest.raises(ProtocolError, match="unknown expect key"):
        parse_protocol(hold_protocol(f"{peak_key} = 0.7"))


def test_a_key_is_registered_once(peak_key) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(Criterion(peak_key, "MPa", "max", frozenset({"hold"}), "again", "again",
                           measure=lambda seg, settle_s, band: None))
    with pytest.raises(ValueError, match="no measure"):
        register(Criterion("max_unmeasured_mpa", "MPa", "max", frozenset({"hold"}), "d", "n"))
    assert "max_unmeasured_mpa" not in CRITERIA


def test_every_registered_key_names_known_step_types_and_a_bound() -> None:
    for key, c in CRITERIA.items():
        assert c.key == key and c.applies_to <= set(STEP_TYPES), key
        assert criterion_name(key) == c.name
        for needed in c.requires:
            assert needed in CRITERIA and c.applies_to <= CRITERIA[needed].applies_to, key
    assert set(EXPECT_KEYS) | {"max_growth_per_cycle_um", "max_irreversible_growth_um",
                               "max_rate_deviation_pct"} == set(CRITERIA)
