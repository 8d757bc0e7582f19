"""Stale-data detection: a press that answers but whose sample counter has stopped.

A live firmware advances its counter every sample (≥ 100 Hz), so the same counter seen
again after ``stale_s`` of wall time means the data is frozen (a hung firmware task, a
gateway serving a cached image). Reads faster than the firmware rate see repeated counters
legitimately; only time decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errormap import StaleDataError


class CounterWatch:
    """Raises :class:`StaleDataError` when the counter has not moved for ``stale_s``."""

    def __init__(
        self, where: str, stale_s: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.where = where
        self.stale_s = stale_s
        self._now = now
        self._counter: int | None = None
        self._since = 0.0

    def check(self, counter: int) -> None:
        """Record ``counter``; raise if it has been stuck for longer than ``stale_s``."""
        t = self._now()
        if counter != self._counter:
            self._counter, self._since = counter, t
            return
        stuck_s = t - self._since
        if self.stale_s > 0 and stuck_s > self.stale_s:
            raise StaleDataError(
                f"{self.where}: stale data: sample counter stuck at {counter} for {stuck_s:.2f} s "
                f"(limit {self.stale_s:g} s)"
            )

    def reset(self) -> None:
        """Forget the history (after a reconnect the device may have restarted)."""
        self._counter = None


__all__ = ["CounterWatch"]
