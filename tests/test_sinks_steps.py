"""Run sinks (memory, store, fan-out, queued), stopping a run, and the step behaviours."""

from __future__ import annotations

import threading
import time
import tracemalloc
from pathlib import Path

import pytest

import presshil
from presshil.protocol import load_protocol, parse_protocol
from presshil.rowbuffer import RowBuffer
from presshil.runner import ABORTED, PASSED, run
from presshil.sinks import FanOut, MemorySink, QueuedSink, RunSink, StepBoundary
from presshil.status import RunStatus
from presshil.steps import behaviour, registered_tags, sequence_nominal_s
from presshil.store import Store
from presshil.testing import step_segment

ROOT = Path(__file__).resolve().parents[1]
QUICK = (ROOT / "tests" / "data" / "quick-hold.toml").read_text()


def quick() -> presshil.Protocol:
    return parse_protocol(QUICK, source="quick-hold.toml")


class _Broken(MemorySink):
    def sample(self, row) -> None:
        raise OSError("viewer went away")


class _Slow(MemorySink):
    def sample(self, row) -> None:
        time.sleep(0.01)  # a slow consumer: the behaviour under test
        super().sample(row)


def test_sinks_receive_boundaries_with_bands_and_verdicts_as_steps_end(tmp_path: Path) -> None:
    memory = MemorySink()
    assert isinstance(memory, RunSink)
    with Store(tmp_path / "r.sqlite") as store:
        result = run(quick(), presshil.open_press("sim://?seed=1"), store=store, sinks=[memory])
        assert result.status == PASSED
        assert memory.status is RunStatus.PASSED
        assert len(memory.trace()) == len(store.load_trace(result.run_id)) > 0
        assert [(v.step, v.criterion) for v in memory.verdicts] == [
            (v.step, v.criterion) for v in store.verdicts(result.run_id)
        ]
    starts = [b for b in memory.steps if b.t_end_s is None]
    ends = [b for b in memory.steps if b.t_end_s is not None]
    assert [b.kind for b in starts] == [b.kind for b in ends] == ["ramp", "hold", "release"]
    hold_start = starts[1]
    assert hold_start.band == (20.0, 0.5)  # target and half-width of the hold's band
    assert starts[0].band is None
    # the hold's verdicts arrive after its end boundary is known, before the release starts
    assert memory.run is not None and memory.run.seed == 1


def test_a_failing_sink_is_dropped_and_the_run_goes_on() -> None:
    memory = MemorySink()
    result = run(quick(), presshil.open_press("sim://?seed=1"), sinks=[_Broken(), memory])
    assert result.status == PASSED
    assert any(e.kind == "sink-error" and "viewer went away" in e.message for e in result.events)
    assert len(memory.trace()) == len(result.trace)


def test_a_slow_viewer_behind_a_queue_does_not_slow_the_run() -> None:
    slow = QueuedSink(_Slow(), maxsize=10)
    result = run(quick(), presshil.open_press("sim://?seed=1"), sinks=[slow])
    assert result.status == PASSED
    # the run did not wait for the viewer: samples it could not take were dropped, and the
    # stored trace still has every one (300+ samples at 10 ms each would take > 3 s)
    assert slow.dropped > 0
    assert len(slow.inner.trace()) < len(result.trace)
    assert slow.inner.status is RunStatus.PASSED


def test_fanout_reports_each_broken_sink_once() -> None:
    fan = FanOut([_Broken()])
    fan.sample((0.0, 0.0, 0.0, 0.0, 0.0, 0, ()))
    fan.sample((0.0, 0.0, 0.0, 0.0, 0.0, 0, ()))
    assert len(fan.failures) == 1 and fan.sinks == []


def test_cancel_stops_the_run_in_the_safe_state_with_who_and_why(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.reason = "operator pressed stop"  # type: ignore[attr-defined]
    press = presshil.open_press("sim://?seed=1")

    def progress(p) -> None:
        if p.t_s > 6.0:
            cancel.set()

    with Store(tmp_path / "r.sqlite") as store:
        result = run(quick(), press, store=store, progress=progress, cancel=cancel)
        assert result.status == ABORTED and result.exit_code == 3
        assert result.abort_reason == "stopped: operator pressed stop"
        assert any(e.kind == "stopped" for e in store.events(result.run_id))
        assert store.get_run(result.run_id).status == "aborted"
        assert len(store.load_trace(result.run_id)) > 0
    press.clock.sleep_until(press.clock.now() + 0.01)
    assert press.read().faulted  # stopped: the safe state


def test_row_buffer_memory_is_arrays_not_objects() -> None:
    buf = RowBuffer(4)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(100_000):
        buf.append((i * 0.1, 1.0, 1.0, 1.0, 0.0, 1, (0.1, 0.2, 0.3, 0.4)))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(buf) == 100_000
    assert grown < 100_000 * 150  # ~72 B a row in arrays (+ doubling slack); tuples take ~400
    trace = buf.trace()
    assert trace.t[-1] == pytest.approx(9999.9) and trace.channels.shape == (100_000, 4)


def test_nominal_duration_is_closed_form_for_huge_repeat_counts(monkeypatch) -> None:
    text = QUICK.replace(
        '''[[steps]]
type = "ramp"''',
        '''[[steps]]
type = "repeat"
count = 100000
[[steps.steps]]
type = "ramp"
to_mpa = 10.0
rate_mpa_s = 5.0
[[steps.steps]]
type = "release"
rate_mpa_s = 10.0

[[steps]]
type = "ramp"''',
    )
    proto = parse_protocol(text)
    from presshil import steps

    calls = []
    original = steps.Ramp.nominal_s
    monkeypatch.setattr(
        steps.Ramp, "nominal_s", lambda self, *a: calls.append(a) or original(self, *a)
    )
    total = proto.nominal_duration_s()
    # 1e5 × (2 s up + 1 s down), then ramp 4 s + hold 10 s + release 2 s
    assert total == pytest.approx(1e5 * 3.0 + 16.0)
    # closed form: the body is costed twice (first and later iterations), not 100 000 times
    assert len(calls) <= 4


def test_every_step_type_has_a_behaviour_and_repeat_durations_match_unrolled() -> None:
    assert set(registered_tags()) == {"ramp", "hold", "hold_gap", "release", "step", "repeat"}
    proto = load_protocol(ROOT / "protocols" / "cycling-hold-50mpa.toml")
    rate = proto.limits.max_rate_mpa_s
    for step in proto.steps:
        b = behaviour(step)
        if step.type == "repeat":
            unrolled = list(step.steps) * step.count
            assert b.nominal_s(step, 0.0, rate) == pytest.approx(
                sequence_nominal_s(unrolled, 0.0, rate)[0]
            )


def test_step_segment_asks_the_step_for_its_kind_start_and_target() -> None:
    text = QUICK.replace(
        'type = "hold"\nlabel = "hold-20"', 'type = "step"\nlabel = "up-25"\nto_mpa = 25.0'
    )
    text = text.replace(
        "expect = { settle_s = 2, band_mpa = 0.5, max_nonuniformity_pct = 5.0 }",
        "expect = { max_overshoot_pct = 50 }",
    )
    result = run(parse_protocol(text), presshil.open_press("sim://?seed=1"))
    _, seg = step_segment(result, "up-25")
    assert seg.kind == "step"
    assert seg.start_mpa == 20.0 and seg.target_mpa == 25.0
    hold = (
        'type = "hold"\nlabel = "hold-20"\nduration_s = 10\n'
        "expect = { settle_s = 2, band_mpa = 0.5, max_nonuniformity_pct = 5.0 }"
    )
    cycles = (
        'type = "repeat"\nlabel = "cycles"\ncount = 2\n'
        '[[steps.steps]]\ntype = "hold"\nduration_s = 2'
    )
    assert hold in QUICK
    repeat = QUICK.replace(hold, cycles)
    result = run(parse_protocol(repeat), presshil.open_press("sim://?seed=1"))
    _, seg = step_segment(result, "cycles")
    assert seg.kind == "repeat"  # not judged as if it were a hold
    assert seg.start_mpa == seg.target_mpa == 20.0
    boundary = StepBoundary(0, "x", "hold", 0.0, None, (1.0, 0.1))
    assert boundary.band == (1.0, 0.1)
