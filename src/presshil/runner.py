"""The runner: one protocol, one press, the same code on virtual and on wall-clock time.

``run(protocol, press)`` configures the press, checks the protocol against the press's rating
for that die, then walks the steps: each step's behaviour (:mod:`presshil.steps`) commands the
press and samples it through a :class:`~presshil.sampler.Sampler`, which schedules and
supervises every read. Samples, events, step boundaries and verdicts go to sinks
(:mod:`presshil.sinks`) as they happen; the runner never touches SQLite. Whatever goes wrong,
the press ends in a safe state and what was measured is kept.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .cell_risk import ShortCircuitWatch
from .errors import (
    CapabilityError,
    ConfigError,
    DeviceFault,
    PressError,
    ProtocolError,
    SafetyAbort,
)
from .metrics import Segment, Verdict, evaluate_all, evaluate_cycles
from .metrics.rate import RATE_KEY, RATE_KINDS, NotJudged, judge_rate
from .press import Press
from .protocol import Protocol
from .records import Gap, Iteration
from .results import Progress, RunResult, RunTiming, StepRecord
from .resume import gap_message, gap_note
from .rowbuffer import RowBuffer
from .sampler import JitterStats, Sampler, SupervisionAbort, rated_pressure_mpa
from .setpoint_model import SETPOINT_MODELLED, rounding_note
from .sinks import Event, FanOut, MemorySink, RunSink, RunStart, StepBoundary, sink_for
from .state import Sample
from .status import RunStatus
from .steps import behaviour
from .temperature import aligned_temperatures

if TYPE_CHECKING:
    from .resume import ResumePoint
    from .store import Store

#: status of a run, as stored in the results store (kept for callers that compare strings)
PASSED, FAILED, ABORTED, ERROR, INTERRUPTED = (
    RunStatus.PASSED,
    RunStatus.FAILED,
    RunStatus.ABORTED,
    RunStatus.ERROR,
    RunStatus.INTERRUPTED,
)
EXIT_CODES = {s.value: s.exit_code for s in RunStatus if s is not RunStatus.RUNNING}


class _Stopped(Exception):
    """Internal: a stop was requested through ``cancel``."""


class _Execution:
    """State of one run in progress; the :class:`~presshil.steps.StepContext` of its steps."""

    def __init__(
        self,
        protocol: Protocol,
        press: Press,
        sink: FanOut,
        progress: Callable[[Progress], None] | None,
        timing: RunTiming,
        cancel: threading.Event | None,
        resume: ResumePoint | None = None,
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
        #: a resumed run: the time axis goes on from the original start, through the gap
        self.resume = resume
        self.t_resume_s = 0.0
        if resume is not None:
            self.t_resume_s = resume.now_s()
            self.sampler.t0 = press.clock.now() - self.t_resume_s
            # the next deadline is the next slot after now, not the slots of the gap
            self.sampler._k = int(self.t_resume_s / self.sampler.interval_s)
        self.setpoint = 0.0 if resume is None else resume.start_setpoint_mpa
        self.events: list[Event] = []
        self.verdicts: list[Verdict] = []
        self.steps: list[StepRecord] = []
        self.gaps: list[Gap] = []
        self.expected_total_s = protocol.nominal_duration_s()
        self.step_label = ("", 0, "")
        self._t_begin = 0.0
        self._columns: RowBuffer | None = None
        self._segment_rows = RowBuffer(self.identity.channel_count)
        #: the temperature of each row of ``_segment_rows`` (NaN where the press gave none)
        self._segment_temps = array("d")
        self._cut_step: ResumePoint | None = None
        self._cut_repeat: ResumePoint | None = None
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
                raise _Stopped(getattr(self.cancel, "reason", None) or "stop requested")
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
        caps = getattr(self.press, "capabilities", None)
        if caps is None:
            return expect
        kept = {}
        for key, limit in expect.items():
            why = caps.why_not_judged(key)
            if why is None:
                kept[key] = limit
            else:
                self.event("not-judged", f"{name}: not judged on this press: {why}")
        return kept

    # --- steps --------------------------------------------------------------------------
    def run_leaf(self, step: Any, name: str) -> list[Verdict]:
        b = behaviour(step)
        start = self.setpoint
        self._t_begin = self.now()
        judged = bool(step.expect) or b.kind in RATE_KINDS  # ramps and releases: the rate line
        self._columns = self._segment_rows if judged else None
        self._segment_rows.clear()
        del self._segment_temps[:]
        cut, self._cut_step = self._cut_step, None
        if cut is not None:  # the step the host was lost in: its time and samples go on
            self._t_begin = cut.t_step_start_s
            for row in cut.cut_rows if judged else ():
                self._segment_rows.append(row)
        self._leaf = name
        try:
            b.execute(step, self, name, start)
        finally:
            self._columns = None
        risk = self._risk.verdict(name, self._t_begin) if self._risk is not None else None
        self.setpoint = b.setpoint_after(step, start)
        if not judged:
            return [] if risk is None else [_shift(risk, self._t_begin)]
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
        if cut is not None:
            verdicts = [_with_detail(v, gap_note(cut, self.t_resume_s)) for v in verdicts]
        # metric times are relative to the step; report them on the run's time axis
        return [_shift(v, self._t_begin) for v in verdicts]

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
            if top_index is None:
                self.press.check_control()  # nobody took the press over between steps
                if self.resume is not None:
                    if j < self.resume.step_index:
                        continue  # done before the host was lost
                    if j == self.resume.step_index:
                        t_start = self.resume.t_step_start_s
                        if self.resume.iteration:
                            self._cut_repeat = self.resume
                        else:
                            self._cut_step = self.resume
            judged = len(out)
            band = behaviour(step).band(step, self.setpoint)
            if top_index is None:
                self.step_label = (name, j, "")
                self.sink.step(StepBoundary(j, name, step.type, t_start, None, band))
            try:
                if behaviour(step).children(step):  # a repeat: its body, count times
                    self.run_repeat(step, name, index, iteration, out)
                else:
                    out.extend(self.run_leaf(step, name))
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
        self, step: Any, name: str, index: int, iteration: str, out: list[Verdict]
    ) -> None:
        """``count`` iterations; one verdict per inner criterion: the worst iteration's."""
        worst: dict[tuple[str, str], tuple[Verdict, int]] = {}
        seen = first = 0
        cut, self._cut_repeat = self._cut_repeat, None
        if cut is not None:  # resumed: the cut iteration runs again, those before are judged
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
                        if key not in worst or _worse(v, worst[key][0]):
                            worst[key] = (v, k + 1)
                    seen = k + 1 if inner else seen
                boundaries.append(self.position_mm())
        finally:
            of = f"{step.count}" if seen == step.count else f"the {seen} judged of {step.count}"
            for v, cycle in worst.values():
                v = _with_detail(v, f"worst of {of} iterations: iteration {cycle}")
                if cut is not None:
                    v = _with_detail(v, f"{gap_note(cut, self.t_resume_s)}; iteration "
                                        f"{cut.iteration} was run again after the gap")
                out.append(v)
            cycles = self.judgeable(name, dict(step.expect))
            if cycles:
                out.extend(evaluate_cycles(name, cycles, boundaries))


def _check_capabilities(protocol: Protocol, press: Press) -> None:
    """Refuse, before anything is commanded, a protocol that needs what the press cannot do."""
    caps = getattr(press, "capabilities", None)

    def walk(steps: Sequence[Any], path: str) -> None:
        for i, step in enumerate(steps):
            where = f"{path}{i}"
            if step.type == "hold_gap" and not (caps is not None and caps.constant_gap):
                raise ConfigError(
                    f"{protocol.name}: step {where} (hold_gap) needs a press that can hold a "
                    f"constant gap; {press.url or 'this press'} cannot"
                )
            walk(behaviour(step).children(step), f"{where}.")

    walk(protocol.steps, "")


class _PromptsToRun:
    """An operator-guided press's prompts, also recorded on the run as ``prompt`` events."""

    def __init__(self, inner: Any, ex: _Execution) -> None:
        self.inner = inner
        self._ex = ex

    def prompt(self, instruction: Any) -> None:
        self._ex.event("prompt", getattr(instruction, "text", str(instruction)))
        self.inner.prompt(instruction)

    def __getattr__(self, name: str) -> Any:  # acknowledged, abort, cancel, instructions
        return getattr(self.inner, name)


def _shift(v: Verdict, dt: float) -> Verdict:
    return v.on_run_time(dt)  # t_s becomes run time; the detail keeps its step times


def _with_detail(v: Verdict, note: str) -> Verdict:
    return replace(v, detail=f"{v.detail}; {note}" if v.detail else note)


def _worse(a: Verdict, b: Verdict) -> bool:
    """Is ``a`` a worse outcome than ``b`` for the same criterion?"""
    if a.passed != b.passed:
        return not a.passed
    if not math.isfinite(a.value):
        return True
    if not math.isfinite(b.value):
        return False
    # margin to the limit: smaller is worse, whichever the direction of the comparison
    return abs(a.limit - a.value) < abs(b.limit - b.value)


def seed_from_url(url: str) -> int | None:
    """The ``seed`` query parameter of a simulated press URL, if it has a whole-number one."""
    parts = urlsplit(url or "")
    if parts.scheme != "sim":
        return None
    value = dict(parse_qsl(parts.query)).get("seed")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def run(
    protocol: Protocol,
    press: Press,
    *,
    store: Store | None = None,
    sinks: Iterable[RunSink] = (),
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    seed: int | None = None,
    timing: RunTiming | None = None,
    keep_trace: bool | None = None,
    operator: Any = None,
    resume: ResumePoint | None = None,
    meta: Mapping[str, str] | None = None,
) -> RunResult:
    """Run ``protocol`` on ``press`` and judge it.

    The press's own clock paces the run: virtual time on ``sim://``, wall-clock time over a
    wire. Order: the protocol's die area is configured first, then the protocol is checked
    against the rating the press has for that die, then the soft limit and watchdog are set.

    With a ``store``, samples are written as the run goes and the trace is read back from it
    on demand (memory stays flat however long the run); without one, the trace is kept in
    memory as numpy columns. ``sinks`` receive the run as it happens (after the store). Setting
    ``cancel`` stops the run at the next sample: the press goes to its safe state, an event of
    kind ``stopped`` records why (``cancel.reason`` if the event object has one) and the
    status is ``aborted`` (exit code 3). ``seed`` is recorded only; when not given, the seed
    of a ``sim://…?seed=N`` URL is recorded. ``operator`` replaces the prompts of an
    operator-guided (monitor-only) press, e.g. a keyboard or a live view; its instructions are
    recorded as ``prompt`` events either way. Expect keys the press has no data for (its
    ``capabilities``) are recorded as ``not-judged`` events, never judged as passed.

    The run claims the press's control lease first (refused with ``LeaseHeld`` when another
    master controls the press) and checks between steps that the press is still its own.
    ``resume`` (from :func:`presshil.resume.plan_resume`) continues a stored run whose host
    was lost: same run id, steps done are skipped, the gap is recorded as an event.
    ``meta`` (KEY=VALUE, see :mod:`presshil.run_meta`) is stored with the run.
    """
    timing = timing or RunTiming()
    if seed is None:
        seed = seed_from_url(press.url)
    _check_capabilities(protocol, press)  # before anything is claimed or commanded
    # a resumed run is taken in the store first: a second resumer of the same run is refused
    # there, before it touches the press the first one is driving
    resumed_in = store if resume is not None and store is not None else None
    if resumed_in is not None:
        resumed_in.resume_run(resume.run_id)  # type: ignore[union-attr]
    try:
        token = press.claim_control(resume.token if resume is not None else None)
    except BaseException:
        if resumed_in is not None:
            resumed_in.give_back_run(resume.run_id)  # type: ignore[union-attr]
        raise
    try:
        # configuration before checks: the rated pressure depends on the die area
        press.configure(die_area_mm2=protocol.specimen.die_area_mm2)
        identity = press.identity
        protocol.check_press(rated_pressure_mpa(identity, protocol.specimen.die_area_mm2))
        _set_on_host_loss(press, protocol)
        store_sink = sink_for(store, resumed=resumed_in is not None) if store is not None else None
        if keep_trace is None:
            keep_trace = store is None
        memory = MemorySink() if keep_trace else None
        sinks = list(sinks)
        cycler = getattr(press, "cycler_sink", None)
        if callable(cycler):  # a simulated cell breathes with the protocol's cycling steps
            sinks.append(cycler())
        fan = FanOut(
            [s for s in (memory,) if s is not None] + list(sinks),
            essential=[store_sink] if store_sink is not None else [],
        )
        ex = _Execution(protocol, press, fan, progress, timing, cancel, resume)
        watchdog_ms = timing.watchdog_ms
        if watchdog_ms is None:
            watchdog_ms = 1000 if ex.wall_clock else 0
        run_id = resume.run_id if resume is not None else None
        fan.start(
            RunStart(run_id, protocol, press.url, identity, seed, ex.expected_total_s, lease_token=token,
                     meta=dict(meta or {}))
        )
        if store_sink is not None and store_sink.run_id is None:
            raise RuntimeError("the results store did not start the run")
    except BaseException:
        with contextlib.suppress(Exception):  # never commanded: give the press back
            press.release_control()
        if resumed_in is not None:  # and the run: it can be resumed again
            with contextlib.suppress(Exception):
                resumed_in.give_back_run(resume.run_id)  # type: ignore[union-attr]
        raise
    status = RunStatus.ERROR
    try:
        try:
            if resume is not None:
                ex.verdicts.extend(resume.verdicts)  # judged before the gap, already stored
                _record_gap(ex, resume)
            if token is not None:
                ex.event("lease", "control lease claimed")  # its token is the store's alone
            press.configure(soft_max_mpa=protocol.limits.max_pressure_mpa, watchdog_ms=watchdog_ms)
            if resume is None:
                ex.event("start", f"{protocol.name} on {press.url or identity.model}")
            if press.setpoint_modelled:
                ex.event("setpoint-model", SETPOINT_MODELLED)
            caps = getattr(press, "capabilities", None)
            for line in caps.not_judged() if caps is not None else ():
                ex.event("not-judged", f"not judged on this press: {line}")
            if operator is not None and hasattr(press, "operator"):
                press.operator = operator  # type: ignore[attr-defined]
            guided = getattr(press, "operator", None)
            if guided is not None:  # instructions to a person reach every sink (live view)
                press.operator = _PromptsToRun(guided, ex)  # type: ignore[attr-defined]
            ex.run_steps(protocol.steps, "", None, "", ex.verdicts)
            status = RunStatus.PASSED if all(v.passed for v in ex.verdicts) else RunStatus.FAILED
            ex.event("finish", status.value)
            _disarm_if_released(ex, watchdog_ms)
        except _Stopped as exc:
            status = RunStatus.ABORTED
            _abort(ex, f"stopped: {exc}", kind="stopped")
        except SupervisionAbort as exc:
            status = RunStatus.ABORTED
            _abort(ex, _who(ex, str(exc)))
        except SafetyAbort as exc:
            status = RunStatus.ABORTED
            _abort(ex, f"safety: {exc}")
        except DeviceFault as exc:
            status = RunStatus.ABORTED
            _abort(ex, _who(ex, f"device fault: {exc}"))
        except PressError as exc:
            status = RunStatus.ABORTED
            _abort(ex, f"{type(exc).__name__}: {exc}")
        except KeyboardInterrupt:
            status = RunStatus.INTERRUPTED
            _abort(ex, "interrupted by the user", kind="interrupted")
        except BaseException as exc:
            status = RunStatus.ERROR
            _abort(ex, f"internal error: {type(exc).__name__}: {exc}", kind="error")
            raise
    finally:
        if isinstance(getattr(press, "operator", None), _PromptsToRun):
            press.operator = press.operator.inner  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):  # the link may be gone
            press.release_control()
        fan.finish(status)
        for broken in fan.failures:
            ex.events.append(Event(None, "sink-error", broken.error))
    return RunResult(
        protocol=protocol,
        press_url=press.url,
        identity=identity,
        status=status,
        verdicts=ex.verdicts,
        events=ex.events,
        steps=ex.steps,
        gaps=ex.gaps,
        jitter=ex.sampler.jitter_stats(),
        run_id=store_sink.run_id if store_sink is not None else None,
        seed=seed,
        _trace=memory.trace() if memory is not None else None,
        _store=store,
    )


def _set_on_host_loss(press: Press, protocol: Protocol) -> None:
    """The protocol's loss-of-host policy on the press; a press that cannot hold is bad input
    for a protocol that asks it to (nothing else is commanded)."""
    try:
        press.set_on_host_loss(protocol.on_host_loss)
    except CapabilityError as exc:
        raise ProtocolError(f"{protocol.source}: on_host_loss = 'hold': {exc}") from None


def _who(ex: _Execution, message: str) -> str:
    """``message``, and who took the press over if that is why the run stops (the lease
    names the master that stopped the press or changed its setpoint or limits)."""
    if "behind this run's back" in message or "stopped by" in message or "lease" in message:
        return message  # already the lease's own words
    try:
        ex.press.check_control()
    except Exception as exc:  # noqa: BLE001 - the reason is a bonus; the link may be gone
        return f"{message}; {exc}" if isinstance(exc, PressError) else message
    return message


def _record_gap(ex: _Execution, resume: ResumePoint) -> None:
    """The run goes on after its host was lost: say for how long nothing was sampled."""
    ex.gaps.append(Gap(resume.last_t_s, ex.t_resume_s, resume.step_index))
    ex.sink.gap(ex.gaps[-1])
    ex.event("gap", gap_message(resume.last_t_s, ex.t_resume_s, resume.step_index, os.getpid()))


def _disarm_if_released(ex: _Execution, watchdog_ms: int) -> None:
    """After a protocol that ends released, the host may go away: disarm the watchdog.

    A protocol that ends under load keeps it armed, so the press goes to its safe state when
    the host stops supervising it.
    """
    from .state import Status

    last = ex.sampler.last_sample
    if watchdog_ms and last is not None and last.status & Status.RELEASED:
        ex.press.configure(watchdog_ms=0)


def _abort(ex: _Execution, message: str, kind: str = "abort") -> None:
    """Safe state first, then the record: a failed verdict and an event."""
    ex.press.safe_state()
    ex.event(kind, message)
    name = ex.step_label[0] or "run"
    verdict = Verdict(
        step=name,
        criterion="completed",
        value=0.0,
        limit=1.0,
        unit="",
        passed=False,
        detail=message,
        t_s=ex.now(),
    )
    ex.verdicts.append(verdict)
    ex.sink.verdict(verdict)


__all__ = [
    "EXIT_CODES",
    "Event",
    "JitterStats",
    "Progress",
    "RunResult",
    "RunTiming",
    "StepRecord",
    "run",
    "seed_from_url",
]
