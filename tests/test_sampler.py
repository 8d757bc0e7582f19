"""The sampler on the simulated press: retries with budgets, supervision, scheduling."""

from __future__ import annotations

from pathlib import Path

import pytest

import presshil
from presshil import TransportError
from presshil.acceptance.driving import Driver, SectionAbort
from presshil.protocol import parse_protocol
from presshil.runner import ABORTED, PASSED, RunTiming, run
from presshil.sampler import JitterHistogram, Sampler, SamplerPolicy, SupervisionAbort

ROOT = Path(__file__).resolve().parents[1]
QUICK = (ROOT / "tests" / "data" / "quick-hold.toml").read_text()


class _FlakyLink:
    """A real simulated press whose reads fail ``fails`` times after ``after`` good reads;
    a failed read costs ``cost_s`` of press time (a timeout on a wire)."""

    def __init__(self, inner: presshil.Press, after: int, fails: int, cost_s: float = 0.0) -> None:
        self._inner, self._after, self._fails, self._cost_s = inner, after, fails, cost_s
        self.attempt_times: list[float] = []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def read(self):
        self._after -= 1
        if self._after < 0 and self._fails > 0:
            self._fails -= 1
            self.attempt_times.append(self._inner.clock.now())
            if self._cost_s:
                self._inner.clock.sleep_until(self._inner.clock.now() + self._cost_s)
            raise TransportError("timed out")
        return self._inner.read()


def test_a_short_outage_is_retried_with_growing_backoff_and_the_run_passes() -> None:
    link = _FlakyLink(presshil.open_press("sim://?seed=1"), after=100, fails=3)
    link.url = "sim://?seed=1"
    result = run(parse_protocol(QUICK), link)  # type: ignore[arg-type]
    assert result.status == PASSED, result.failed_verdicts()
    assert sum(e.kind == "transport-error" for e in result.events) == 3
    gaps = [b - a for a, b in zip(link.attempt_times, link.attempt_times[1:], strict=False)]
    assert gaps[1] > gaps[0] * 1.5  # exponential backoff between attempts


def test_the_time_budget_aborts_before_the_count_budget() -> None:
    # each failed read costs 2 s of press time: the 3 s time budget ends it at the 3rd error
    link = _FlakyLink(presshil.open_press("sim://?seed=1"), after=100, fails=1000, cost_s=2.0)
    link.url = "sim://?seed=1"
    timing = RunTiming(retry_budget=100, retry_time_budget_s=3.0)
    result = run(parse_protocol(QUICK), link, timing=timing)  # type: ignore[arg-type]
    assert result.status == ABORTED
    assert "transport lost" in (result.abort_reason or "")
    assert sum(e.kind == "transport-error" for e in result.events) < 5


def test_deadline_schedule_keeps_the_rate_on_the_press_clock() -> None:
    press = presshil.open_press("sim://?seed=1")
    sampler = Sampler(press, interval_s=0.05)
    times = [sampler.next()[0] for _ in range(40)]
    assert times[-1] == pytest.approx(40 * 0.05, abs=1e-6)
    assert all(
        b - a == pytest.approx(0.05, abs=1e-6) for a, b in zip(times, times[1:], strict=False)
    )
    assert sampler.jitter_stats() is None  # virtual time is never late


def test_supervision_names_overpressure_fault_and_stale() -> None:
    press = presshil.open_press("sim://?seed=1")
    sampler = Sampler(press, interval_s=0.05, max_pressure_mpa=5.0)
    press.command(10.0, 10.0)
    with pytest.raises(SupervisionAbort, match="over-pressure") as info:
        for _ in range(100):
            sampler.poll()
    assert info.value.kind == "overpressure"

    frozen = presshil.open_press("sim://?seed=1")
    frozen.inject_fault("controller_freeze", at_s=0.5)
    sampler = Sampler(frozen, interval_s=0.05, policy=SamplerPolicy(stale_after_s=0.5))
    with pytest.raises(SupervisionAbort) as info:
        for _ in range(200):
            sampler.poll()
    assert info.value.kind in ("stale", "fault")


def test_acceptance_driver_is_supervised_for_overpressure_and_stale_data() -> None:
    press = presshil.open_press("sim://?seed=1")
    press.make_safe(die_area_mm2=78.54)
    drv = Driver(press, 0.05, max_pressure_mpa=5.0)
    with pytest.raises(SectionAbort, match="over-pressure"):
        drv.go_to(10.0, 10.0)

    frozen = presshil.open_press("sim://?seed=1")
    frozen.inject_fault("controller_freeze", at_s=0.5)
    drv = Driver(frozen, 0.05)
    with pytest.raises(SectionAbort, match="stale|fault"):
        drv.wait(10.0)


def test_jitter_histogram_is_flat_and_reports_percentiles() -> None:
    h = JitterHistogram()
    for i in range(1000):
        h.add(i * 1e-5)  # 0 .. 10 ms
    stats = h.stats()
    assert stats is not None and stats.count == 1000
    assert stats.p50_ms == pytest.approx(5.0, abs=0.05)
    assert stats.p99_ms == pytest.approx(9.9, abs=0.05)
    assert stats.max_ms == pytest.approx(9.99, abs=1e-6)
    assert h.counts.size == JitterHistogram.BINS + 1


class _CounterStuckAt7:
    """A press whose sample counter never advances, declaring its own staleness limit."""

    stale_after_s = 2.0

    def __init__(self, inner: presshil.Press) -> None:
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def read(self):
        import dataclasses

        return dataclasses.replace(self._inner.read(), counter=7)


def test_a_press_may_declare_its_own_staleness_limit() -> None:
    """One staleness policy, in the sampler: a device's own limit (a profile's ``stale_s``)
    replaces the run's default for that press."""
    press = _CounterStuckAt7(presshil.open_press("sim://?seed=1"))
    sampler = Sampler(press, interval_s=0.05, policy=SamplerPolicy(stale_after_s=0.5))
    t_abort = 0.0
    with pytest.raises(SupervisionAbort, match="sample counter stuck at 7") as info:
        for _ in range(200):
            t_abort, sample = sampler.next()
            sampler.supervise(sample, t_abort)
    assert info.value.kind == "stale"
    assert 2.0 < t_abort <= 2.2  # the press's 2 s, not the policy's 0.5 s
