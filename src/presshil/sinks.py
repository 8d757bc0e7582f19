"""Where a run's data goes: the :class:`RunSink` interface.

The runner never touches SQLite or a web socket: it hands every sample, event, verdict and step
boundary to one sink (usually a :class:`FanOut` of several). A sink must not block the sampling
loop: a slow consumer (a browser) keeps its own bounded queue and drops frames, never samples
of the stored record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .metrics import Verdict
    from .status import RunStatus

#: one stored sample: (t_s, setpoint_mpa, pressure_mpa, force_kn, position_mm, status, channels_kn)
SampleRow = tuple[float, float, float, float, float, int, tuple[float, ...]]


@dataclass(frozen=True)
class RunStart:
    """What a sink learns when a run starts."""

    run_id: int | None
    protocol: Any  # presshil.protocol.Protocol
    press_url: str
    identity: Any  # presshil.press.Identity
    seed: int | None
    expected_total_s: float


@dataclass(frozen=True)
class StepBoundary:
    """A top-level step started (``t_end_s`` None) or ended, on the run's time axis."""

    index: int
    name: str
    kind: str
    t_start_s: float
    t_end_s: float | None
    #: the step's tolerance band while it runs: (target_mpa, half-width MPa), if it has one
    band: tuple[float, float] | None = None


@runtime_checkable
class RunSink(Protocol):
    """Receives one run as it happens. Every method is called from the sampling loop."""

    def start(self, run: RunStart) -> None:
        """The run begins (the store has assigned ``run.run_id`` when there is a store)."""

    def sample(self, row: SampleRow) -> None:
        """One supervised sample, in run time."""

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        """Something happened: a step boundary, a retry, an abort, an operator prompt."""

    def step(self, boundary: StepBoundary) -> None:
        """A top-level step started or ended."""

    def verdict(self, verdict: Verdict) -> None:
        """A criterion was judged."""

    def finish(self, status: RunStatus) -> None:
        """The run ended with ``status`` (the press is already in its safe state)."""


__all__ = ["RunSink", "RunStart", "StepBoundary", "SampleRow"]
