"""The cycler: charge and discharge phases that make the cell stack breathe.

During a charge the stack grows at a constant rate (``amplitude + growth per cycle`` over
half a period), during a discharge it shrinks by the amplitude; the kernel integrates the
rate. The cycler is a SimPy process; each phase change is an event that ends a macro step.

When the cycling starts:

* by default at the specimen's ``breathing.start_s`` (0: from power-up), or at the URL's
  ``cycling=START``; ``cycling=off`` never;
* :meth:`Cycler.start` (``SimPress.start_cycling``) starts it — or starts it again with a
  charge — at a given time;
* under a protocol run, :class:`CyclerSink` starts it with a charge when the protocol's
  cycling begins (its first top-level ``repeat`` step), so the cycler's charge and discharge
  line up with the protocol's steps.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from .catalogue import BreathingCfg


class Cycler:
    """Breathing phases of one model. At most one cycling runs at a time."""

    def __init__(
        self,
        env: simpy.Environment,
        breathing: BreathingCfg | None,
        set_swell_rate: Callable[[float], None],
    ) -> None:
        self.env = env
        self.breathing = breathing if breathing is not None and breathing.amplitude_um > 0 else None
        self._set_rate = set_swell_rate
        self._generation = 0
        #: "charge", "discharge", or None before the cycling starts
        self.phase: str | None = None
        #: virtual time the present cycling started (its first charge), None before
        self.started_at_s: float | None = None
        #: (virtual time, "charge" | "discharge" | "rest") at each phase change of the present
        #: cycling, until its schedule ended: what the cycler's own data file is written from
        #: (presshil.sim.cycler_file)
        self.phases: list[tuple[float, str]] = []
        self._recording = False

    @property
    def breathes(self) -> bool:
        """True when the specimen has a breathing section with an amplitude."""
        return self.breathing is not None

    def start(self, at_s: float) -> None:
        """Start cycling with a charge at ``at_s`` (now if past); a running cycling is replaced."""
        if self.breathing is None:
            return
        self._generation += 1
        self.env.process(self._run(max(at_s, self.env.now), self._generation))

    def stop(self) -> None:
        """End the present cycling (the breathing rate is left as it is)."""
        self._generation += 1
        self.end_record()
        self.phase = None
        self.started_at_s = None

    def end_record(self) -> None:
        """The cycler's schedule is over (the protocol's cycling ended): its record ends with
        a rest now. The cell's breathing is left as it is."""
        if self._recording:
            self.phases.append((self.env.now, "rest"))
            self._recording = False

    def _record(self, phase: str) -> None:
        if self._recording:
            self.phases.append((self.env.now, phase))

    def _run(self, start_s: float, generation: int) -> Generator[simpy.Event, Any, None]:
        b = self.breathing
        assert b is not None
        half = b.period_s / 2.0
        grow = (b.amplitude_um + b.growth_um_per_cycle) * 1e-6 / half
        shrink = -b.amplitude_um * 1e-6 / half
        if start_s > self.env.now:
            yield self.env.timeout(start_s - self.env.now)
        if generation != self._generation:
            return
        self.started_at_s = self.env.now
        self.phases, self._recording = [], True  # the record is of the present cycling
        while True:
            self.phase = "charge"
            self._record("charge")
            self._set_rate(grow)
            yield self.env.timeout(half)
            if generation != self._generation:
                return
            self.phase = "discharge"
            self._record("discharge")
            self._set_rate(shrink)
            yield self.env.timeout(half)
            if generation != self._generation:
                return


class CyclerSink:
    """A run sink that starts the cycler when the protocol's cycling begins.

    Give it to the runner (``sinks=(press.cycler_sink(),)``): on the first top-level
    ``repeat`` step of the run it starts the cycler with a charge at that moment, so the
    cycler's phases follow the protocol's charge and discharge steps.
    """

    def __init__(self, cycler: Cycler, now: Callable[[], float]) -> None:
        self._cycler = cycler
        self._now = now
        self._done = False

    def start(self, run: Any) -> None:
        """A run begins: wait for its cycling."""
        self._done = False

    def sample(self, row: Any) -> None:
        """Samples are not needed."""

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        """Events are not needed."""

    def step(self, boundary: Any) -> None:
        """The first top-level repeat step that starts begins the cycling; when it ends, the
        cycler's record ends (the cell goes on breathing as it was)."""
        if not self._done and boundary.t_end_s is None and boundary.kind == "repeat":
            self._cycler.start(self._now())
            self._done = True
        elif self._done and boundary.t_end_s is not None and boundary.kind == "repeat":
            self._cycler.end_record()

    def iteration(self, record: Any) -> None:
        """Iterations are not needed: the cell breathes with the repeat as a whole."""

    def gap(self, record: Any) -> None:
        """Gaps are not needed."""

    def verdict(self, verdict: Any) -> None:
        """Verdicts are not needed."""

    def finish(self, status: Any) -> None:
        """Nothing to close."""


__all__ = ["Cycler", "CyclerSink"]
