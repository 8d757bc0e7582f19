"""One run in progress: the :class:`Execution` the runner walks a protocol with.

It is the :class:`~presshil.steps.StepContext` of the steps (command, release, collect …),
records samples, events, step boundaries and verdicts to the sinks as they happen, and judges
each step on its segment. It starts where its :class:`~presshil.run_plan.RunPlan` says: at
the plan's step (and iteration), on the plan's time axis, with what the plan carries.
"""

from __future__ import annotations

import math
import os
import threading
from array import array
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .cell_risk import ShortCircuitWatch
from .metrics import Segment, Verdict, evaluate_all, evaluate_cycles
from .metrics.rate import RATE_KEY, RATE_KINDS, NotJudged, judge_rate
from .press import Press
from .protocol import Protocol
from .records import Gap, Iteration
from .results import Progress, RunTiming, StepRecord
from .rowbuffer import RowBuffer
from .run_plan import RunPlan, gap_message
from .sampler import Sampler
from .setpoint_model import rounding_note
from .sinks import Event, FanOut, StepBoundary
from .state import Sample
from .steps import behaviour
from .temperature import aligned_temperatures


class Stopped(Exception):
    """Internal: a stop was requested through ``cancel``."""


class Execution:
    """State of one run in progress; the :class:`~presshil.steps.StepContext` of its steps."""

    def __init__(
        self,
        protocol: Protocol,
        press: Press,
        sink: FanOut,
        progress: Callable[[Progress], None] | None,
        timing: RunTiming,
        cancel: threading.Event | None,
        plan: RunPlan,
    ) -> None:
        self.protocol = protocol
        self.press = press
        self.sink = sink
        self.progress = progress
        self.timing = timing
        self.cancel = cancel
        self.identity = press.identity
        self.max_rate_mpa_s = protocol.limits.max_rate_mpa_s
        self.step_timeout_margin_s = timing.step_timeout_margin_s
        self.settle_after_ramp_s = timing.settle_after_ramp_s
        self.sampler = Sampler(
            press,
            interval_s=1.0 / protocol.sampling.rate_hz,
            policy=timing.policy(),
            max_pressure_mpa=protocol.limits.max_pressure_mpa,
            on_event=self.event,
        )
        self.plan = plan
        #: where the run clock starts on the run's time axis (0, or after a gap)
        self.t_start_s = plan.now_s()
        self.sampler.start_at(self.t_start_s)
        #: what the verdicts of a step spanning a gap say (None: no gap)
        self.gap_note = plan.gap_note(self.t_start_s)
        self.setpoint = plan.start_setpoint_mpa
        self.events: list[Event] = []
        self.verdicts: list[Verdict] = list(plan.verdicts)  # judged before: already stored
        self.steps: list[StepRecord] = []
        self.gaps: list[Gap] = []
        self.expected_total_s = protocol.nominal_duration_s()
        self.step_label = ("", 0, "")
        self._t_begin = 0.0
        self._columns: RowBuffer | None = None
        self._segment_rows = RowBuffer(self.identity.channel_count)
        #: the temperature of each row of ``_segment_rows`` (NaN where the press gave none)
        self._segment_temps = array("d")
        self._rounding_notes: set[str] = set()
        #: the cell's short-circuit risk pressure, judged on every step (None: not declared)
        risk_mpa = protocol.specimen.short_circuit_risk_above_mpa
        self._risk = None if risk_mpa is None else ShortCircuitWatch(risk_mpa, self.event)
        self._leaf = ""

    @property
    def wall_clock(self) -> bool:
        return self.sampler.wall_clock

    # --- recording ------------------------------------------------------------------
    def now(self) -> float:
        return self.sampler.now()

    def event(self, kind: str, message: str) -> None:
        t = self.now()
        self.events.append(Event(t, kind, message))
        self.sink.event(t, kind, message)

    # --- the StepContext the step behaviours use ----------------------------------------
    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        self.sampler.call("command", self.press.command, setpoint_mpa, rate_mpa_s)
        self._note_rounding()

    def release(self, rate_mpa_s: float) -> None:
        self.sampler.call("release", self.press.release, rate_mpa_s)
        self._note_rounding()

    def _note_rounding(self) -> None:
        """An event (once per distinct text) when the device's registers changed a
        commanded value by more than 2 %."""
        note = rounding_note(self.press.as_written)
        if note is not None and note not in self._rounding_notes:
            self._rounding_notes.add(note)
            self.event("rounding", note)

    def rate_verdicts(self, name: str, step: Any, kind: str, segment: Segment, limit: float | None) -> list[Verdict]:
        """The rate line of a ramp or release (the default tolerance unless the step gives
        one); a default line the data cannot support is a not-judged event instead."""
        rate = getattr(step, "rate_mpa_s", None)
        takes_rate = self.press.takes_rate
        if kind not in RATE_KINDS or not rate or (limit is None and not self.press.rate_by_default):
            return []
        if not takes_rate:
            self.event("not-judged", f"{name}: not judged on this press: {RATE_KEY}: the press takes no rate")
            return []
        try:
            return [judge_rate(name, segment, float(rate), limit)]
        except NotJudged as exc:
            if limit is None:
                self.event("not-judged", f"{name}: {RATE_KEY} not judged: {exc}")
                return []
            return [Verdict(name, RATE_KEY, math.nan, float(limit), "%", False, f"not judged: {exc}")]

    def hold_gap(self) -> None:
        self.sampler.call("hold_gap", self.press.hold_gap)

    def position_mm(self) -> float:
        """The ram position of the latest sample (NaN before the first or without one)."""
        last = self.sampler.last_sample
        return math.nan if last is None else float(last.position_mm)

    def collect(self, until: Callable[[Sample, float], bool]) -> None:
        """Sample until ``until(sample, t_step)``; record each sample before judging it."""
        while True:
            if self.cancel is not None and self.cancel.is_set():
                raise Stopped(getattr(self.cancel, "reason", None) or "stop requested")
            t, sample = self.sampler.next()
            # recorded to 9 decimals of each unit (ns, 1e-9 MPa, µN, pm): far below any sensor's
            # resolution, and the record reads 0.15, not 0.15000000000000002, wherever it goes
            row = (
                round(t, 9),
                round(sample.setpoint_mpa, 9),
                round(sample.pressure_mpa, 9),
                round(sample.force_kn, 9),
                round(sample.position_mm, 9),
                int(sample.status),
                tuple(sample.channels_kn),
            )
            self.sink.sample(row)
            temperature_c = sample.temperature_c
            if temperature_c is not None:
                self.sink.temperature(row[0], round(temperature_c, 9))
            if self._columns is not None:
                self._columns.append(row)
                self._segment_temps.append(math.nan if temperature_c is None else temperature_c)
            self.sampler.supervise(sample, t)
            if self._risk is not None:
                self._risk.observe(self._leaf, t, sample.pressure_mpa)
            if self.progress is not None:
                name, index, iteration = self.step_label
                self.progress(
                    Progress(
                        name,
                        index,
                        len(self.protocol.steps),
                        iteration,
                        t,
                        sample.pressure_mpa,
                        sample.setpoint_mpa,
                        self.expected_total_s,
                    )
                )
            if until(sample, t - self._t_begin):
                return

    def judgeable(self, name: str, expect: dict[str, float]) -> dict[str, float]:
        """The expect keys this press can provide data for; each other one is recorded as
        "not judged on this press: …" (an event, shown with the verdicts), never passed."""
        caps = self.press.capabilities
        kept = {}
        for key, limit in expect.items():
            why = caps.why_not_judged(key)
            if why is None:
                kept[key] = limit
            else:
                self.event("not-judged", f"{name}: not judged on this press: {why}")
        return kept

    def record_gap(self) -> None:
        """The plan goes on after a stretch without samples: record it, and say how long."""
        gap = self.plan.gap(self.t_start_s)
        if gap is not None:
            self.gaps.append(gap)
            self.sink.gap(gap)
            self.event("gap", gap_message(gap.t_start_s, gap.t_end_s, gap.step_index, os.getpid()))

    # --- steps --------------------------------------------------------------------------
    def run_leaf(self, step: Any, name: str, entry: RunPlan | None = None) -> list[Verdict]:
        """Run and judge one step; ``entry``: the plan starts in it (its time and rows go on)."""
        b = behaviour(step)
        start = self.setpoint
        self._t_begin = self.now()
        judged = bool(step.expect) or b.kind in RATE_KINDS  # ramps and releases: the rate line
        self._columns = self._segment_rows if judged else None
        self._segment_rows.clear()
        del self._segment_temps[:]
        if entry is not None and entry.t_step_start_s is not None:
            self._t_begin = entry.t_step_start_s
        for row in entry.cut_rows if entry is not None and judged else ():
            self._segment_rows.append(row)
        self._leaf = name
        try:
            b.execute(step, self, name, start)
        finally:
            self._columns = None
        risk = self._risk.verdict(name, self._t_begin) if self._risk is not None else None
        self.setpoint = b.setpoint_after(step, start)
        if not judged:
            return [] if risk is None else [shift(risk, self._t_begin)]
        rows = self._segment_rows.drain()
        segment = Segment(
            kind=b.kind,
            t=rows.t - self._t_begin,
            setpoint=rows.setpoint,
            pressure=rows.pressure,
            channels=rows.channels,
            target_mpa=b.target_mpa(step, start),
            start_mpa=start,
            channel_positions_mm=self.identity.channel_positions_mm,
            position=rows.position,
            temperature=aligned_temperatures(self._segment_temps, len(rows)),
            die_radius_mm=math.sqrt(self.protocol.specimen.die_area_mm2 / math.pi),
            die_position_mm=(self.protocol.specimen.die_position_mm[0],
                             self.protocol.specimen.die_position_mm[1]),
            die_placement_tolerance_mm=self.protocol.specimen.die_placement_tolerance_mm,
        )
        expect = dict(step.expect)
        rate_limit = expect.pop(RATE_KEY, None)
        verdicts = evaluate_all(name, self.judgeable(name, expect), segment)
        verdicts += self.rate_verdicts(name, step, b.kind, segment, rate_limit)
        if risk is not None:
            verdicts.append(risk)
        if entry is not None and self.gap_note is not None:
            verdicts = [with_detail(v, self.gap_note) for v in verdicts]
        # metric times are relative to the step; report them on the run's time axis
        return [shift(v, self._t_begin) for v in verdicts]

    def run_steps(
        self,
        steps: Sequence[Any],
        prefix: str,
        top_index: int | None,
        iteration: str,
        out: list[Verdict],
    ) -> None:
        """Run ``steps`` (top level when ``top_index`` is None, else inside a repeat), adding
        verdicts to ``out`` as each step ends, so an abort keeps those already judged."""
        for j, step in enumerate(steps):
            name = step.label or f"{prefix}{j}"
            index = j if top_index is None else top_index
            t_start = self.now()
            entry = None  # the plan starts in this step
            if top_index is None:
                self.press.check_control()  # nobody took the press over between steps
                if j < self.plan.step_index:
                    continue  # done before
                if j == self.plan.step_index:
                    entry = self.plan
                    if entry.t_step_start_s is not None:
                        t_start = entry.t_step_start_s
            judged = len(out)
            band = behaviour(step).band(step, self.setpoint)
            if top_index is None:
                self.step_label = (name, j, "")
                self.sink.step(StepBoundary(j, name, step.type, t_start, None, band))
            try:
                if behaviour(step).children(step):  # a repeat: its body, count times
                    self.run_repeat(step, name, index, iteration, out, entry)
                else:
                    out.extend(self.run_leaf(step, name, entry))
            finally:
                if top_index is None:  # a step cut short by an abort is recorded too
                    record = StepRecord(j, name, step.type, t_start, self.now())
                    self.steps.append(record)
                    for v in out[judged:]:
                        self.sink.verdict(v)
                    self.sink.step(StepBoundary(j, name, step.type, t_start, record.t_end_s, band))
                    self.event(
                        "step",
                        f"{j} {name} {step.type} {record.t_start_s:.3f}..{record.t_end_s:.3f}",
                    )

    def run_repeat(
        self, step: Any, name: str, index: int, iteration: str, out: list[Verdict],
        entry: RunPlan | None = None,
    ) -> None:
        """``count`` iterations; one verdict per inner criterion: the worst iteration's.
        ``entry``: the plan starts in this repeat (at its iteration, those before judged)."""
        worst: dict[tuple[str, str], tuple[Verdict, int]] = {}
        seen = first = 0
        cut = entry if entry is not None and entry.iteration else None
        if cut is not None:  # the cut iteration runs again, those before are judged
            first = cut.iteration - 1
            worst = {(v.step, v.criterion): (v, c) for v, c in cut.repeat_worst}
            seen = max((c for _, c in worst.values()), default=0)
        boundaries = [self.position_mm()]  # ram position at each iteration start, and the end
        try:
            for k in range(first, step.count):
                # a top-level iteration is a record (with what a resumed run keeps) and an event
                top = None
                if iteration == "":
                    top = Iteration(index, k + 1, step.count, self.now(), None, (*worst.values(),))
                    self.sink.iteration(top)
                    self.event("cycle", f"{name} iteration {k + 1}/{step.count}")
                it = f"{iteration}{k + 1}/{step.count} "
                self.step_label = (self.step_label[0], index, it.strip())
                inner: list[Verdict] = []
                try:
                    self.run_steps(step.steps, f"{name}.", index, it, inner)
                finally:
                    if top is not None:
                        self.sink.iteration(replace(top, t_end_s=self.now()))
                    for v in inner:
                        key = (v.step, v.criterion)
                        if key not in worst or worse(v, worst[key][0]):
                            worst[key] = (v, k + 1)
                    seen = k + 1 if inner else seen
                boundaries.append(self.position_mm())
        finally:
            of = f"{step.count}" if seen == step.count else f"the {seen} judged of {step.count}"
            for v, cycle in worst.values():
                v = with_detail(v, f"worst of {of} iterations: iteration {cycle}")
                if cut is not None:
                    v = with_detail(v, f"{self.gap_note}; iteration "
                                       f"{cut.iteration} was run again after the gap")
                out.append(v)
            cycles = self.judgeable(name, dict(step.expect))
            if cycles:
                out.extend(evaluate_cycles(name, cycles, boundaries))



class PromptsToRun:
    """An operator-guided press's prompts, also recorded on the run as ``prompt`` events."""

    def __init__(self, inner: Any, ex: Execution) -> None:
        self.inner = inner
        self._ex = ex

    def prompt(self, instruction: Any) -> None:
        self._ex.event("prompt", getattr(instruction, "text", str(instruction)))
        self.inner.prompt(instruction)

    def __getattr__(self, name: str) -> Any:  # acknowledged, abort, cancel, instructions
        return getattr(self.inner, name)


def shift(v: Verdict, dt: float) -> Verdict:
    return v.on_run_time(dt)  # t_s becomes run time; the detail keeps its step times


def with_detail(v: Verdict, note: str) -> Verdict:
    return replace(v, detail=f"{v.detail}; {note}" if v.detail else note)


def worse(a: Verdict, b: Verdict) -> bool:
    """Is ``a`` a worse outcome than ``b`` for the same criterion?"""
    if a.passed != b.passed:
        return not a.passed
    if not math.isfinite(a.value):
        return True
    if not math.isfinite(b.value):
        return False
    # margin to the limit: smaller is worse, whichever the direction of the comparison
    return abs(a.limit - a.value) < abs(b.limit - b.value)


__all__ = ["Execution", "PromptsToRun", "Stopped", "shift", "with_detail", "worse"]
