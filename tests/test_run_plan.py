"""The runner executes a :class:`RunPlan`: where the run starts, on which clock, with what it
carries; a stored run is claimed around it (``resume.claimed``), not by the runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_resume import RAMPED, protocol, stored_run

import presshil
from presshil.errors import ConfigError
from presshil.metrics import Verdict
from presshil.protocol import parse_protocol
from presshil.resume import claimed, plan_resume
from presshil.run_plan import RunPlan
from presshil.runner import PASSED, run
from presshil.sampler import Sampler
from presshil.store import Store

ROOT = Path(__file__).resolve().parents[1]


def quick() -> presshil.Protocol:
    text = (ROOT / "tests" / "data" / "quick-hold.toml").read_text()
    return parse_protocol(text, source="quick-hold.toml")


def test_the_sampler_starts_at_an_offset_on_the_next_slot() -> None:
    press = presshil.open_press("sim://?seed=1")
    sampler = Sampler(press, interval_s=0.1)
    sampler.start_at(5.04)
    assert sampler.now() == pytest.approx(5.04)
    t, _ = sampler.next()
    assert t == pytest.approx(5.1)  # the next slot after 5.04, not 0.1 nor 5.14


def test_a_new_run_is_the_default_plan() -> None:
    default = run(quick(), presshil.open_press("sim://?seed=1"))
    planned = run(quick(), presshil.open_press("sim://?seed=1"), plan=RunPlan())
    assert planned.status == default.status == PASSED
    assert planned.verdicts == default.verdicts
    assert [(s.index, s.t_start_s, s.t_end_s) for s in planned.steps] == [
        (s.index, s.t_start_s, s.t_end_s) for s in default.steps
    ]
    assert list(planned.trace.t) == list(default.trace.t)


def test_a_plan_starts_at_its_step_on_its_clock_with_what_it_carries() -> None:
    before = Verdict("hold-20", "band_mpa", 0.1, 0.5, "MPa", True, "")
    started = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    plan = RunPlan(started_utc=started, step_index=2, last_t_s=12.0, verdicts=(before,))
    result = run(quick(), presshil.open_press("sim://?seed=1"), plan=plan)
    assert result.status == PASSED
    assert [s.index for s in result.steps] == [2]  # the ramp and the hold were done before
    assert result.verdicts[0] == before  # carried, and judged with the rest
    (gap,) = result.gaps
    assert gap.t_start_s == 12.0 and gap.step_index == 2 and 30.0 <= gap.t_end_s < 40.0
    assert result.trace.t[0] > gap.t_end_s  # the clock goes on from where the plan starts it
    kinds = [e.kind for e in result.events]
    assert "gap" in kinds and "start" in kinds  # no run id: a new run, which starts


def test_a_stored_run_is_claimed_around_the_block_and_given_back_when_it_fails(
    tmp_path: Path,
) -> None:
    proto = protocol()
    db = stored_run(tmp_path, proto, RAMPED, t_end_s=3.0)
    with Store(db) as store:
        plan = plan_resume(store, 1, proto)
        with pytest.raises(RuntimeError, match="the press went away"), claimed(store, plan):
            assert store.get_run(1).status == "running"
            with pytest.raises(ConfigError, match="run 1 is running"), claimed(store, plan):
                pass  # a second resumer is refused
            raise RuntimeError("the press went away")
        assert store.get_run(1).status == "interrupted"  # it can be resumed later
        with claimed(store, RunPlan()):  # a new run: nothing to claim
            assert store.get_run(1).status == "interrupted"
