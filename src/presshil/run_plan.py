"""How :func:`presshil.runner.run` executes a protocol: a :class:`RunPlan`.

A plan says where the run starts and what it carries from before: the top-level step to start
at (inside a repeat, the iteration), when that step started and the setpoint it started from,
the time on the run's axis at which the run clock starts, the verdicts and the rows already
judged, the stretch without samples to record, the stored run to append to and the
control-lease token to reclaim the press with. A new run is ``RunPlan()``: first step, clock
at 0, nothing carried. :func:`presshil.resume.plan_resume` makes the plan of a stored run whose
host was lost; the runner executes either the same way and knows nothing of stores or resuming.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .records import Gap

if TYPE_CHECKING:
    from .metrics import Verdict


@dataclass(frozen=True)
class RunPlan:
    """Where a run starts and what it carries; the defaults are a new run."""

    #: the stored run the run goes on under (None: a new run, started by the sinks)
    run_id: int | None = None
    #: when that run started (UTC, ISO 8601): the origin of the run clock (None: now)
    started_utc: str | None = None
    #: index of the top-level step to start at; the steps before are done (== number of
    #: steps: all were done)
    step_index: int = 0
    #: when that step started, on the run's time axis (s; None: when it starts now)
    t_step_start_s: float | None = None
    #: the setpoint the protocol had reached when that step started (MPa)
    start_setpoint_mpa: float = 0.0
    #: time of the last sample before a stretch without samples (None: no such stretch)
    last_t_s: float | None = None
    #: … and its setpoint (MPa)
    last_setpoint_mpa: float = 0.0
    #: the control-lease session token to reclaim the press with (None: a new lease)
    token: int | None = None
    #: verdicts judged before (steps finished before the gap, already stored)
    verdicts: tuple[Verdict, ...] = ()
    #: samples of the first step from before the gap, to judge it on both sides of it
    cut_rows: tuple[tuple[Any, ...], ...] = field(default=(), repr=False)
    #: the first step is a repeat: the iteration (1-based) to start at, 0 otherwise …
    iteration: int = 0
    #: … and its worst verdicts over the iterations before, with their iteration
    repeat_worst: tuple[tuple[Verdict, int], ...] = ()

    def now_s(self) -> float:
        """The run's time axis now: where the run clock starts if the run starts now.

        0 for a new run; for a stored one, seconds since it started (wall clock, UTC), never
        before its last sample.
        """
        if self.started_utc is None:
            return 0.0
        started = datetime.fromisoformat(self.started_utc)
        elapsed = (datetime.now(UTC) - started).total_seconds()
        return max(elapsed, self.last_t_s or 0.0)

    def gap(self, t_resume_s: float) -> Gap | None:
        """The stretch without samples up to ``t_resume_s`` the run records (None: none)."""
        if self.last_t_s is None:
            return None
        return Gap(self.last_t_s, t_resume_s, self.step_index)

    def gap_note(self, t_resume_s: float) -> str | None:
        """What a verdict of a step spanning the gap says about it (None: no gap)."""
        if self.last_t_s is None:
            return None
        return (
            f"judged on sampled data only: no samples {self.last_t_s:.3f}..{t_resume_s:.3f} s "
            f"(host lost {t_resume_s - self.last_t_s:.3f} s)"
        )


def gap_message(t_start_s: float, t_end_s: float, step_index: int, pid: int) -> str:
    """The message of a ``gap`` event, for people (the record is a :class:`Gap`)."""
    return (
        f"{t_end_s - t_start_s:.3f} s without samples ({t_start_s:.3f}..{t_end_s:.3f} s): "
        f"host lost; resumed at step {step_index} by process {pid}"
    )


__all__ = ["RunPlan", "gap_message"]
