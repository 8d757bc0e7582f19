"""What a run produces and is tuned by: :class:`RunResult`, :class:`StepRecord`,
:class:`Progress` reports and :class:`RunTiming` settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .metrics import Verdict
from .press import Identity
from .protocol import Protocol
from .sampler import JitterStats, SamplerPolicy
from .sinks import Event, Gap
from .status import RunStatus
from .trace import Trace

if TYPE_CHECKING:
    from .store import Store


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


@dataclass
class RunTiming:
    """Supervision settings; the defaults suit both a simulator and a press on a wire."""

    #: consecutive transport errors tolerated before the run aborts
    retry_budget: int = 3
    #: clock seconds of failing reads tolerated, whatever the count
    retry_time_budget_s: float = 5.0
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

    def policy(self) -> SamplerPolicy:
        """The sampler policy these settings mean."""
        return SamplerPolicy(
            retry_budget=self.retry_budget,
            retry_time_budget_s=self.retry_time_budget_s,
            stale_after_s=self.stale_after_s,
            heartbeat_interval_s=self.heartbeat_interval_s,
        )


@dataclass
class RunResult:
    """Outcome of one run: verdicts, events, where each step lies in the trace, the trace."""

    protocol: Protocol
    press_url: str
    identity: Identity
    status: RunStatus
    verdicts: list[Verdict]
    events: list[Event]
    steps: list[StepRecord]
    jitter: JitterStats | None
    run_id: int | None = None
    seed: int | None = None
    #: stretches without samples of a resumed run (none otherwise)
    gaps: list[Gap] = field(default_factory=list)
    _trace: Trace | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """True when the run completed and every criterion passed."""
        return self.status == RunStatus.PASSED

    @property
    def exit_code(self) -> int:
        """CLI exit code: 0 passed, 1 a criterion failed, 3 aborted."""
        return RunStatus(self.status).exit_code

    @property
    def abort_reason(self) -> str | None:
        """The message of the event that aborted or stopped the run, if it did not finish."""
        for event in self.events:
            if event.kind in ("abort", "stopped"):
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


__all__ = ["Progress", "RunResult", "RunTiming", "StepRecord"]
