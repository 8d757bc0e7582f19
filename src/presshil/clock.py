"""Clocks: the runner's only notion of time.

A press chooses its clock: a simulated press brings a clock that advances its SimPy
environment (virtual time), a real press brings :class:`WallClock`.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Time source the runner schedules against. Seconds, monotonic.

    ``virtual`` is True for a simulated clock: its ``sleep_until`` advances time rather than
    waiting for it, so lateness (sampling jitter) is not measured and no heartbeat is needed
    between samples.
    """

    virtual: bool

    def now(self) -> float:
        """Current time in seconds."""
        ...

    def sleep_until(self, t: float) -> None:
        """Return once :meth:`now` is at least ``t`` (returns at once if already past)."""
        ...


class WallClock:
    """Monotonic wall-clock time, scheduled by deadline.

    ``sleep_until`` sleeps coarsely, then spins for the last fraction of a millisecond, so a
    loop that schedules ``t0 + k*dt`` keeps its rate with no cumulative drift.
    """

    virtual = False

    def __init__(self, spin_s: float = 0.0005) -> None:
        self._t0 = time.perf_counter()
        self._spin_s = spin_s

    def now(self) -> float:
        """Seconds since this clock was made."""
        return time.perf_counter() - self._t0

    def sleep_until(self, t: float) -> None:
        """Block until ``now() >= t``."""
        while True:
            remaining = t - self.now()
            if remaining <= 0:
                return
            if remaining > self._spin_s:
                time.sleep(remaining - self._spin_s)
            # else: busy-wait the last half millisecond for sub-ms jitter


__all__ = ["Clock", "WallClock"]
