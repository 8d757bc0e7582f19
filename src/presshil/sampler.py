"""The sampler: the one place that reads a press on a schedule and supervises what it reads.

The runner, the acceptance drivers and :meth:`Press.make_safe` all poll a press through a
:class:`Sampler`, so the policy lives here once and on the press's own clock:

- **deadline scheduling**: sample ``k`` is due at ``t0 + k * interval_s``; a loop that falls
  behind skips the missed slots instead of bursting (no cumulative drift);
- **heartbeat** through long waits on a wall clock, so the press watchdog stays fed while the
  sampler sleeps between slow samples;
- **retries** of a failed read: a transport makes one attempt and maps its errors; here a
  failed read is retried with exponential backoff while both the count budget and the time
  budget (press-clock seconds since the first failure) last;
- **supervision** of every sample: stale data (a sample counter that stops advancing), a
  pressure above the limit, a latched press fault;
- a **jitter histogram** of wall-clock lateness with flat memory however long the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .errors import PressError, SafetyAbort, TransportError
from .source_time import SourceTimeline
from .state import Identity, Sample, fault_text

if TYPE_CHECKING:
    from .press import Press

T = TypeVar("T")

#: ``on_event(kind, message)``: the sampler reports retries and heartbeat trouble through it
EventHook = Callable[[str, str], None]


@dataclass(frozen=True)
class SamplerPolicy:
    """Supervision settings; the defaults suit both a simulator and a press on a wire."""

    #: consecutive failed reads tolerated before the link counts as lost
    retry_budget: int = 3
    #: press-clock seconds of failing reads tolerated, whatever the count
    retry_time_budget_s: float = 5.0
    #: first pause before a retry; doubled after each failure up to ``backoff_max_s``
    backoff_initial_s: float = 0.02
    backoff_max_s: float = 0.5
    #: a sample counter that has not advanced for this long (press-clock seconds) is stale
    stale_after_s: float = 1.0
    #: longest silence between heartbeats on a wall-clock press
    heartbeat_interval_s: float = 0.2
    #: a press with device timestamps: the window its clock offset is estimated over, and how
    #: far the estimate moves before it is recorded again
    source_window_s: float = 10.0
    source_offset_move_s: float = 0.01


class SupervisionAbort(SafetyAbort):
    """A sample (or the lack of one) requires stopping: over-pressure, fault, stale, link lost.

    ``kind`` names the reason (``overpressure``, ``fault``, ``stale``, ``link``).
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class JitterStats:
    """Lateness of wall-clock samples against their deadlines, in milliseconds."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class JitterHistogram:
    """Sample lateness in 10 µs bins up to 100 ms: flat memory however long the run."""

    BIN_S = 1e-5
    BINS = 10_000

    def __init__(self) -> None:
        self.counts = np.zeros(self.BINS + 1, dtype=np.int64)
        self.max_s = 0.0

    def add(self, late_s: float) -> None:
        """Count one sample that came ``late_s`` seconds after its deadline."""
        late_s = max(0.0, late_s)
        self.max_s = max(self.max_s, late_s)
        self.counts[min(int(late_s / self.BIN_S), self.BINS)] += 1

    def stats(self) -> JitterStats | None:
        """Median, 99th percentile and maximum lateness; None before the first sample."""
        n = int(self.counts.sum())
        if n == 0:
            return None
        cdf = np.cumsum(self.counts)
        cap_ms = self.max_s * 1e3

        def pct(q: float) -> float:
            return min(float(np.searchsorted(cdf, q * n) + 1) * self.BIN_S * 1e3, cap_ms)

        return JitterStats(n, pct(0.5), pct(0.99), cap_ms)


class Sampler:
    """Reads ``press`` every ``interval_s`` of its clock, supervising every sample.

    ``max_pressure_mpa`` (None = not supervised) is the over-pressure limit; ``on_event``
    receives retries and heartbeat trouble. Times returned are seconds since ``t0`` (the
    press clock's time when the sampler was made, unless given).
    """

    def __init__(
        self,
        press: Press,
        *,
        interval_s: float,
        policy: SamplerPolicy | None = None,
        max_pressure_mpa: float | None = None,
        on_event: EventHook | None = None,
        t0: float | None = None,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"sampling interval must be > 0 s, got {interval_s!r}")
        self.press = press
        self.clock = press.clock
        self.interval_s = float(interval_s)
        self.policy = policy or SamplerPolicy()
        # the press's own limit for a counter that does not advance, else the policy's
        own = getattr(press, "stale_after_s", None)
        self._stale_after_s = self.policy.stale_after_s if own is None else float(own)
        self.max_pressure_mpa = max_pressure_mpa
        self.on_event = on_event
        self.t0 = self.clock.now() if t0 is None else t0
        #: feed the watchdog while waiting and before each read (a probe may switch it off)
        self.heartbeat_enabled = True
        #: virtual time is never late, and needs no heartbeat between its samples
        self.wall_clock = not self.clock.virtual
        self.jitter = JitterHistogram()
        self.last_sample: Sample | None = None
        self._k = 0
        self._last_counter: int | None = None
        self._counter_since_s = 0.0
        #: where samples go on the time axis when the press reports when it measured them
        self._timeline: SourceTimeline | None = None
        if press.capabilities.source_time:
            self._timeline = SourceTimeline(
                window_s=self.policy.source_window_s,
                move_s=self.policy.source_offset_move_s,
                utc_minus_clock_s=0.0 if self.clock.virtual else time.time() - self.clock.now(),
            )

    # --- time --------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since ``t0`` on the press clock."""
        return self.clock.now() - self.t0

    def start_at(self, t_s: float) -> None:
        """Make the time axis read ``t_s`` now (a run that goes on after a stretch without
        samples); the next deadline is the next slot after ``t_s``, none of the slots before."""
        self.t0 = self.clock.now() - t_s
        self._k = int(t_s / self.interval_s)

    def wait_until(self, t_abs: float) -> None:
        """Sleep until clock time ``t_abs``; on a wall clock, heartbeat through long waits."""
        if self.wall_clock and self.heartbeat_enabled:
            beat = self.policy.heartbeat_interval_s
            while t_abs - self.clock.now() > beat:
                self.clock.sleep_until(self.clock.now() + beat)
                self.heartbeat()
        self.clock.sleep_until(t_abs)

    def heartbeat(self) -> None:
        """Feed the press watchdog; a lost link shows on the next read, within the budget."""
        if not self.heartbeat_enabled:
            return
        try:
            self.press.heartbeat()
        except PressError as exc:
            self._event("transport-error", f"heartbeat: {exc}")

    # --- sampling ------------------------------------------------------------------------
    def next(self) -> tuple[float, Sample]:
        """Wait for the next deadline, heartbeat, read (with retries); judge it with
        :meth:`supervise` (or use :meth:`poll`) once it is recorded.

        Returns ``(t, sample)`` with ``t`` in seconds since ``t0``: when it was read, or, on
        a press with ``Capabilities.source_time``, where the device measured it
        (:mod:`presshil.source_time`; its clock offset and any step back are events). The sample is kept in
        :attr:`last_sample`: record it before judging, the sample that trips a limit is
        evidence.
        """
        self._k += 1
        due = self.t0 + self._k * self.interval_s
        self.wait_until(due)
        if self.wall_clock:
            late = self.clock.now() - due
            self.jitter.add(late)
            if late > self.interval_s:  # fell behind: skip missed slots rather than bursting
                self._k += int(late / self.interval_s)
        self.heartbeat()
        sample = self.read()
        return self._placed(sample), sample

    def _placed(self, sample: Sample) -> float:
        """Run time of ``sample``: when it was read, or where the device measured it."""
        if self._timeline is None:
            return self.now()
        t, events = self._timeline.place(sample.source_time_s, sample.received_s, self.clock.now())
        for kind, message in events:
            self._event(kind, message)
        return t - self.t0

    def read(self) -> Sample:
        """Read now, retrying a failed read within the policy's budgets (with backoff)."""
        sample: Sample = self.call("read", self.press.read)
        self.last_sample = sample
        return sample

    def call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` under the retry policy: a :class:`TransportError` is retried after a
        backoff (doubling from ``backoff_initial_s`` up to ``backoff_max_s``) while fewer than
        ``retry_budget`` consecutive failures and ``retry_time_budget_s`` of press time have
        passed; then :class:`SupervisionAbort` (kind ``link``). Every request presshil sends
        is idempotent (map v1 commands are levels), so a retry cannot act twice. A
        :class:`~presshil.errors.DeviceFault` (the press refused) is never retried."""
        policy = self.policy
        failures = 0
        first_failure_t = 0.0
        backoff = policy.backoff_initial_s
        while True:
            try:
                return fn(*args)
            except TransportError as exc:
                t = self.clock.now()
                if failures == 0:
                    first_failure_t = t
                failures += 1
                self._event("transport-error", f"{type(exc).__name__}: {exc}")
                if (
                    failures > policy.retry_budget
                    or t - first_failure_t > policy.retry_time_budget_s
                ):
                    raise SupervisionAbort(
                        f"transport lost: {failures} consecutive errors in "
                        f"{t - first_failure_t:.2f} s ({what}), last: {exc}",
                        "link",
                    ) from exc
                self.clock.sleep_until(self.clock.now() + backoff)
                backoff = min(backoff * 2.0, policy.backoff_max_s)

    def supervise(self, sample: Sample, t: float, *, allow_fault: bool = False) -> None:
        """Raise :class:`SupervisionAbort` if ``sample`` read at run time ``t`` requires it."""
        limit = self.max_pressure_mpa
        if limit is not None and sample.pressure_mpa > limit:
            raise SupervisionAbort(
                f"over-pressure: {sample.pressure_mpa:.3f} MPa > limit {limit:g} MPa "
                f"at t={t:.3f} s",
                "overpressure",
            )
        if sample.faulted and not allow_fault:
            raise SupervisionAbort(f"press fault {fault_text(sample)} at t={t:.3f} s", "fault")
        if sample.counter != self._last_counter:
            self._last_counter = sample.counter
            self._counter_since_s = t
        elif t - self._counter_since_s > max(self._stale_after_s, 3 * self.interval_s):
            raise SupervisionAbort(
                f"stale data: sample counter stuck at {sample.counter} for "
                f"{t - self._counter_since_s:.2f} s",
                "stale",
            )

    def poll(self, *, allow_fault: bool = False) -> tuple[float, Sample]:
        """:meth:`next` then :meth:`supervise`: one scheduled, judged sample."""
        t, sample = self.next()
        self.supervise(sample, t, allow_fault=allow_fault)
        return t, sample

    def jitter_stats(self) -> JitterStats | None:
        """Lateness of the samples taken so far (None on a virtual clock)."""
        return self.jitter.stats()

    def _event(self, kind: str, message: str) -> None:
        if self.on_event is not None:
            self.on_event(kind, message)


def bring_to_safe_state(
    press: Press,
    *,
    die_area_mm2: float | None = None,
    unload_below_mpa: float = 0.3,
    timeout_s: float = 10.0,
    interval_s: float = 0.02,
) -> Sample | None:
    """Leave ``press`` idle and known: stop, wait until unloaded, reset, then configure.

    Configuration order matters: the die area first, then the soft limit at the rating the
    press derives for that area (rated force / area, capped by its rated pressure), then the
    watchdog off. Waits on the press's own clock, bounded by ``timeout_s``, feeding the
    watchdog. Returns the last sample seen while unloading (None if none was read).
    """
    press.stop()
    sampler = Sampler(press, interval_s=interval_s)
    sample = sampler.read()
    while abs(sample.pressure_mpa) >= unload_below_mpa and sampler.now() < timeout_s:
        _, sample = sampler.next()
    press.reset()
    # a latched fault clears on the press's next cycle: wait for it (bounded) so the state
    # handed over is known, not merely requested
    sample = sampler.read()
    clear_by_s = sampler.now() + max(1.0, 5 * interval_s)
    while sample.faulted and sampler.now() < clear_by_s:
        _, sample = sampler.next()
    if die_area_mm2 is not None:
        press.configure(die_area_mm2=die_area_mm2)
    rated = rated_pressure_mpa(press.identity, die_area_mm2)
    press.configure(watchdog_ms=0, soft_max_mpa=rated)
    return sample


def rated_pressure_mpa(identity: Identity, die_area_mm2: float | None) -> float:
    """The highest pressure a press may be asked for on a die of ``die_area_mm2``.

    The press's rated pressure, capped by its rated force spread over the die
    (``kN * 1000 / mm² = MPa``). Without an area, the rated pressure as reported.
    """
    rated = float(identity.rated_max_pressure_mpa)
    force_kn = float(identity.rated_max_force_kn)
    if die_area_mm2 is None or not die_area_mm2 > 0 or not force_kn > 0:
        return rated
    return min(rated, force_kn * 1000.0 / die_area_mm2)


__all__ = [
    "JitterHistogram",
    "JitterStats",
    "Sampler",
    "SamplerPolicy",
    "SupervisionAbort",
    "bring_to_safe_state",
    "rated_pressure_mpa",
]
