"""The runner: one protocol, one press, the same code on virtual and on wall-clock time.

``run(protocol, press)`` walks the protocol's steps, commands the press, samples it on a
deadline schedule, supervises every sample and judges each step's ``expect`` criteria. It
never knows which press it drives. Whatever goes wrong, the press ends in a safe state and
what was measured is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .errors import DeviceFault, PressError, SafetyAbort, TransportError, TransportTimeout
from .metrics import Segment, Verdict, evaluate_all
from .press import FaultCode, Identity, Press, Sample, Status
from .protocol import HoldStep, Protocol, RampStep, ReleaseStep, RepeatStep, SetpointStep
from .trace import Trace

if TYPE_CHECKING:
    from .store import Store

#: status of a run, as stored in the results store
PASSED, FAILED, ABORTED, ERROR, INTERRUPTED = "passed", "failed", "aborted", "error", "interrupted"
EXIT_CODES = {PASSED: 0, FAILED: 1, ABORTED: 3, ERROR: 3, INTERRUPTED: 3}


@dataclass(frozen=True)
class Event:
    """Something that happened during a run (an abort, a retry, a step that timed out)."""

    t_s: float
    kind: str
    message: str


@dataclass(frozen=True)
class StepRecord:
    """Where one top-level step sits in the trace."""

    index: int
    name: str
    kind: str
    t_start_s: float
    t_end_s: float


@dataclass(frozen=True)
class Progress:
    """What a progress display needs, reported after every sample."""

    step_name: str
    step_index: int
    step_count: int
    iteration: str
    t_s: float
    pressure_mpa: float
    setpoint_mpa: float
    expected_total_s: float


@dataclass(frozen=True)
class JitterStats:
    """Lateness of wall-clock samples against their deadlines, in milliseconds."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class RunTiming:
    """Supervision settings; the defaults suit both a simulator and a press on a wire."""

    #: consecutive transport errors tolerated before the run aborts
    retry_budget: int = 3
    #: a sample counter that has not advanced for this long (clock seconds) means stale data
    stale_after_s: float = 1.0
    #: extra time a ramp or release may take beyond its nominal duration before moving on
    step_timeout_margin_s: float = 30.0
    #: how long after a ramp's setpoint arrives the runner waits for AT_SETPOINT
    settle_after_ramp_s: float = 5.0
    #: communication watchdog armed on the press while a protocol runs; None = 1000 ms on a
    #: wall-clock press, off on a simulated one (0 = off)
    watchdog_ms: int | None = None
    #: longest silence between heartbeats on a wall-clock press (sampling may be slower)
    heartbeat_interval_s: float = 0.2


@dataclass
class RunResult:
    """Outcome of one run: verdicts, events, where each step lies in the trace, the trace."""

    protocol: Protocol
    press_url: str
    identity: Identity
    status: str
    verdicts: list[Verdict]
    events: list[Event]
    steps: list[StepRecord]
    jitter: JitterStats | None
    run_id: int | None = None
    _trace: Trace | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """True when the run completed and every criterion passed."""
        return self.status == PASSED

    @property
    def exit_code(self) -> int:
        """CLI exit code: 0 passed, 1 a criterion failed, 3 aborted."""
        return EXIT_CODES[self.status]

    @property
    def abort_reason(self) -> str | None:
        """The message of the event that aborted the run, if it was aborted."""
        for event in self.events:
            if event.kind == "abort":
                return event.message
        return None

    @property
    def trace(self) -> Trace:
        """The whole sampled trace (loaded from the store when the run was stored)."""
        if self._trace is None:
            if self._store is None or self.run_id is None:
                raise RuntimeError("this run kept no trace")
            self._trace = self._store.load_trace(self.run_id)
        return self._trace

    def step_record(self, step: int | str) -> StepRecord:
        """The record of a top-level step, by 0-based index or label."""
        index = self.protocol.find_step(step)
        for record in self.steps:
            if record.index == index:
                return record
        raise LookupError(f"step {step!r} did not run (the run {self.status} before reaching it)")

    def failed_verdicts(self) -> list[Verdict]:
        """Verdicts that did not pass."""
        return [v for v in self.verdicts if not v.passed]


class _Abort(Exception):
    """Internal: stop the run now; ``kind`` is the recorded event kind."""

    def __init__(self, message: str, kind: str = "abort") -> None:
        super().__init__(message)
        self.kind = kind


class _JitterHistogram:
    """Sample lateness in 10 µs bins up to 100 ms: flat memory however long the run."""

    BIN_S = 1e-5
    BINS = 10_000

    def __init__(self) -> None:
        self.counts = np.zeros(self.BINS + 1, dtype=np.int64)
        self.max_s = 0.0

    def add(self, late_s: float) -> None:
        late_s = max(0.0, late_s)
        self.max_s = max(self.max_s, late_s)
        self.counts[min(int(late_s / self.BIN_S), self.BINS)] += 1

    def stats(self) -> JitterStats | None:
        n = int(self.counts.sum())
        if n == 0:
            return None
        cdf = np.cumsum(self.counts)

        def pct(q: float) -> float:
            return float(np.searchsorted(cdf, q * n) + 1) * self.BIN_S * 1e3

        return JitterStats(n, min(pct(0.5), self.max_s * 1e3), min(pct(0.99), self.max_s * 1e3), self.max_s * 1e3)


class _Execution:
    """State of one run in progress."""

    def __init__(
        self,
        protocol: Protocol,
        press: Press,
        store: Store | None,
        run_id: int | None,
        progress: Callable[[Progress], None] | None,
        timing: RunTiming,
        keep_trace: bool,
    ) -> None:
        self.protocol = protocol
        self.press = press
        self.clock = press.clock
        self.store = store
        self.run_id = run_id
        self.progress = progress
        self.timing = timing
        self.identity = press.identity
        self.dt = 1.0 / protocol.sampling.rate_hz
        self.t0 = self.clock.now()
        self.k = 0
        self.setpoint = 0.0
        self.events: list[Event] = []
        self.verdicts: list[Verdict] = []
        self.steps: list[StepRecord] = []
        self.rows: list[tuple] | None = [] if keep_trace else None
        self.jitter = _JitterHistogram()
        self.wall_clock = not getattr(self.clock, "virtual", False)  # virtual time is never late
        self.last_counter: int | None = None
        self.last_counter_change_t = 0.0
        self.consecutive_errors = 0
        self.last_sample: Sample | None = None
        self.expected_total_s = protocol.nominal_duration_s()
        self.step_label = ("", 0, "")

    # --- recording ------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now() - self.t0

    def event(self, kind: str, message: str) -> None:
        t = self.now()
        self.events.append(Event(t, kind, message))
        if self.store is not None and self.run_id is not None:
            self.store.add_event(self.run_id, t, kind, message)

    # --- sampling and supervision -----------------------------------------------------
    def _read(self) -> Sample:
        while True:
            try:
                sample = self.press.read()
            except (TransportTimeout, TransportError) as exc:
                self.consecutive_errors += 1
                self.event("transport-error", f"{type(exc).__name__}: {exc}")
                if self.consecutive_errors > self.timing.retry_budget:
                    raise _Abort(
                        f"transport lost: {self.consecutive_errors} consecutive errors, last: {exc}"
                    ) from exc
                continue
            self.consecutive_errors = 0
            return sample

    def _supervise(self, sample: Sample, t: float) -> None:
        limits = self.protocol.limits
        if sample.pressure_mpa > limits.max_pressure_mpa:
            raise _Abort(
                f"over-pressure: {sample.pressure_mpa:.3f} MPa > limit {limits.max_pressure_mpa:g} MPa "
                f"at t={t:.3f} s",
            )
        if sample.faulted:
            code = sample.fault_code
            try:
                name = FaultCode(code).name
            except ValueError:
                name = f"code {code}"
            raise _Abort(f"press fault {name} (status {Status.describe(sample.status)}) at t={t:.3f} s")
        if sample.counter != self.last_counter:
            self.last_counter = sample.counter
            self.last_counter_change_t = t
        elif t - self.last_counter_change_t > max(self.timing.stale_after_s, 3 * self.dt):
            raise _Abort(
                f"stale data: sample counter stuck at {sample.counter} for "
                f"{t - self.last_counter_change_t:.2f} s"
            )

    def _wait(self, due: float) -> None:
        """Sleep until ``due``; on a wall clock, heartbeat through long waits."""
        if self.wall_clock:
            beat = self.timing.heartbeat_interval_s
            while due - self.clock.now() > beat:
                self.clock.sleep_until(self.clock.now() + beat)
                self._heartbeat()
        self.clock.sleep_until(due)

    def _heartbeat(self) -> None:
        try:
            self.press.heartbeat()
        except PressError as exc:  # a lost link shows on the next read, within the budget
            self.event("transport-error", f"heartbeat: {exc}")

    def sample(self) -> tuple[float, Sample]:
        """Wait for the next deadline, read, supervise, record; return (t, sample)."""
        self.k += 1
        due = self.t0 + self.k * self.dt
        self._wait(due)
        if self.wall_clock:
            late = self.clock.now() - due
            self.jitter.add(late)
            if late > self.dt:  # fell behind: skip missed slots rather than bursting
                self.k += int(late / self.dt)
        self._heartbeat()
        sample = self._read()
        t = self.now()
        # record before judging: the sample that trips a limit is part of the evidence
        row = (
            t,
            sample.setpoint_mpa,
            sample.pressure_mpa,
            sample.force_kn,
            sample.position_mm,
            int(sample.status),
            tuple(sample.channels_kn),
        )
        if self.rows is not None:
            self.rows.append(row)
        if self.store is not None and self.run_id is not None:
            self.store.add_sample(self.run_id, row)
        self.last_sample = sample
        self._supervise(sample, t)
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
        return t, sample

    # --- steps --------------------------------------------------------------------------
    def collect(self, until: Callable[[Sample, float], bool]) -> tuple[list[float], list[Sample]]:
        times: list[float] = []
        samples: list[Sample] = []
        while True:
            t, sample = self.sample()
            times.append(t)
            samples.append(sample)
            if until(sample, t):
                return times, samples

    def run_leaf(self, step, name: str) -> list[Verdict]:
        start_setpoint = self.setpoint
        t_begin = self.now()
        margin = self.timing.step_timeout_margin_s
        if isinstance(step, RampStep):
            target = step.to_mpa
            self.press.command(target, step.rate_mpa_s)
            nominal = abs(target - start_setpoint) / step.rate_mpa_s
            arrived: list[float] = []

            def ramp_done(s: Sample, t: float) -> bool:
                if not arrived and abs(s.setpoint_mpa - target) < 1e-6 and t - t_begin >= nominal:
                    arrived.append(t)
                if arrived:
                    if s.status & Status.AT_SETPOINT or t - arrived[0] >= self.timing.settle_after_ramp_s:
                        return True
                if t - t_begin > nominal + margin:
                    self.event("step-timeout", f"{name}: setpoint {target:g} MPa not reached")
                    return True
                return False

            times, samples = self.collect(ramp_done)
            kind = "ramp"
        elif isinstance(step, SetpointStep):
            target = step.to_mpa
            rate = step.rate_mpa_s or self.protocol.limits.max_rate_mpa_s
            self.press.command(target, rate)
            times, samples = self.collect(lambda s, t: t - t_begin >= step.duration_s)
            kind = "step"
        elif isinstance(step, HoldStep):
            target = start_setpoint if step.at_mpa is None else step.at_mpa
            approach_s = abs(target - start_setpoint) / self.protocol.limits.max_rate_mpa_s
            if approach_s > 0:
                self.press.command(target, self.protocol.limits.max_rate_mpa_s)
            times, samples = self.collect(lambda s, t: t - t_begin >= approach_s + step.duration_s)
            kind = "hold"
        elif isinstance(step, ReleaseStep):
            target = 0.0
            self.press.release(step.rate_mpa_s)
            nominal = start_setpoint / step.rate_mpa_s

            def released(s: Sample, t: float) -> bool:
                if t - t_begin >= nominal and s.status & Status.RELEASED:
                    return True
                if t - t_begin > nominal + margin:
                    self.event("step-timeout", f"{name}: press did not report RELEASED")
                    return True
                return False

            times, samples = self.collect(released)
            kind = "release"
        else:  # pragma: no cover - the protocol model admits no other leaf
            raise TypeError(f"unknown step {step!r}")
        self.setpoint = target
        if not step.expect:
            return []
        segment = Segment(
            kind=kind,
            t=np.asarray(times) - t_begin,
            setpoint=np.array([s.setpoint_mpa for s in samples]),
            pressure=np.array([s.pressure_mpa for s in samples]),
            channels=np.array([s.channels_kn for s in samples], dtype=float).reshape(
                len(samples), self.identity.channel_count
            ),
            target_mpa=target,
            start_mpa=start_setpoint,
            channel_positions_mm=self.identity.channel_positions_mm,
            die_radius_mm=math.sqrt(self.protocol.specimen.die_area_mm2 / math.pi),
        )
        verdicts = evaluate_all(name, dict(step.expect), segment)
        # metric times are relative to the step; report them on the run's time axis
        return [_shift(v, t_begin) for v in verdicts]

    def run_steps(self, steps, prefix: str, top_index: int | None, iteration: str, out: list[Verdict]) -> None:
        """Run ``steps`` (top level when ``top_index`` is None, else inside a repeat), adding
        verdicts to ``out`` as each step ends, so an abort keeps those already judged."""
        for j, step in enumerate(steps):
            name = step.label or f"{prefix}{j}"
            index = j if top_index is None else top_index
            t_start = self.now()
            if top_index is None:
                self.step_label = (name, j, "")
            try:
                if isinstance(step, RepeatStep):
                    self.run_repeat(step, name, index, iteration, out)
                else:
                    out.extend(self.run_leaf(step, name))
            finally:
                if top_index is None:  # a step cut short by an abort is recorded too
                    record = StepRecord(j, name, step.type, t_start, self.now())
                    self.steps.append(record)
                    self.event("step", f"{j} {name} {step.type} {record.t_start_s:.3f}..{record.t_end_s:.3f}")

    def run_repeat(self, step: RepeatStep, name: str, index: int, iteration: str, out: list[Verdict]) -> None:
        """``count`` iterations; one verdict per inner criterion: the worst iteration's."""
        worst: dict[tuple[str, str], tuple[Verdict, int]] = {}
        seen = 0
        try:
            for k in range(step.count):
                it = f"{iteration}{k + 1}/{step.count} "
                self.step_label = (self.step_label[0], index, it.strip())
                inner: list[Verdict] = []
                try:
                    self.run_steps(step.steps, f"{name}.", index, it, inner)
                finally:
                    for v in inner:
                        key = (v.step, v.criterion)
                        if key not in worst or _worse(v, worst[key][0]):
                            worst[key] = (v, k + 1)
                    seen = k + 1 if inner else seen
        finally:
            of = f"{step.count}" if seen == step.count else f"the {seen} judged of {step.count}"
            for v, cycle in worst.values():
                out.append(_with_detail(v, f"worst of {of} iterations: iteration {cycle}"))


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


def run(
    protocol: Protocol,
    press: Press,
    *,
    store: Store | None = None,
    progress: Callable[[Progress], None] | None = None,
    seed: int | None = None,
    timing: RunTiming | None = None,
    keep_trace: bool | None = None,
) -> RunResult:
    """Run ``protocol`` on ``press`` and judge it.

    The press's own clock paces the run: virtual time on ``sim://``, wall-clock time over a
    wire. With a ``store``, samples are written as the run goes and the trace is read back
    from it on demand (memory stays flat however long the run); without one, the trace is
    kept in memory. ``seed`` is recorded only; a simulated press takes its seed from its URL.
    """
    timing = timing or RunTiming()
    identity = press.identity
    protocol.check_press(identity.rated_max_pressure_mpa)
    run_id = None
    if store is not None:
        run_id = store.start_run(
            protocol=protocol, press_url=press.url, identity=identity, seed=seed
        )
    if keep_trace is None:
        keep_trace = store is None
    ex = _Execution(protocol, press, store, run_id, progress, timing, keep_trace)
    watchdog_ms = timing.watchdog_ms
    if watchdog_ms is None:
        watchdog_ms = 1000 if ex.wall_clock else 0
    status = ERROR
    try:
        try:
            press.configure(
                die_area_mm2=protocol.specimen.die_area_mm2,
                soft_max_mpa=protocol.limits.max_pressure_mpa,
                watchdog_ms=watchdog_ms,
            )
            ex.event("start", f"{protocol.name} on {press.url or identity.model}")
            ex.run_steps(protocol.steps, "", None, "", ex.verdicts)
            status = PASSED if all(v.passed for v in ex.verdicts) else FAILED
            ex.event("finish", status)
            _disarm_if_released(ex, watchdog_ms)
        except _Abort as exc:
            status = ABORTED
            _abort(ex, str(exc))
        except SafetyAbort as exc:
            status = ABORTED
            _abort(ex, f"safety: {exc}")
        except DeviceFault as exc:
            status = ABORTED
            _abort(ex, f"device fault: {exc}")
        except PressError as exc:
            status = ABORTED
            _abort(ex, f"{type(exc).__name__}: {exc}")
        except KeyboardInterrupt:
            status = INTERRUPTED
            _abort(ex, "interrupted by the user", kind="interrupted")
        except BaseException as exc:
            status = ERROR
            _abort(ex, f"internal error: {type(exc).__name__}: {exc}", kind="error")
            raise
    finally:
        if store is not None and run_id is not None:
            store.add_verdicts(run_id, ex.verdicts)
            store.finish_run(run_id, status)
    return RunResult(
        protocol=protocol,
        press_url=press.url,
        identity=identity,
        status=status,
        verdicts=ex.verdicts,
        events=ex.events,
        steps=ex.steps,
        jitter=ex.jitter.stats(),
        run_id=run_id,
        _trace=Trace.from_rows(ex.rows, identity.channel_count) if ex.rows is not None else None,
        _store=store,
    )


def _disarm_if_released(ex: _Execution, watchdog_ms: int) -> None:
    """After a protocol that ends released, the host may go away: disarm the watchdog.

    A protocol that ends under load keeps it armed, so the press goes to its safe state when
    the host stops supervising it.
    """
    last = ex.last_sample
    if watchdog_ms and last is not None and last.status & Status.RELEASED:
        ex.press.configure(watchdog_ms=0)


def _abort(ex: _Execution, message: str, kind: str = "abort") -> None:
    """Safe state first, then the record: a failed verdict and an event."""
    ex.press.safe_state()
    ex.event(kind, message)
    name = ex.step_label[0] or "run"
    ex.verdicts.append(
        Verdict(
            step=name,
            criterion="completed",
            value=0.0,
            limit=1.0,
            unit="",
            passed=False,
            detail=message,
            t_s=ex.now(),
        )
    )


__all__ = [
    "run",
    "RunResult",
    "RunTiming",
    "Progress",
    "Event",
    "StepRecord",
    "JitterStats",
    "EXIT_CODES",
]
