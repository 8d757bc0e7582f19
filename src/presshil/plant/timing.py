"""Timing figures the plant measures: latency of the firmware, its loop rate, the plant's lag.

All are measured by the plant, on its own clock, so a firmware cannot flatter itself:

* **latency** — from the moment a sensor sample is due (its plant time, on the real-time
  axis) to the arrival of the actuator command computed from it (the command names its
  sample in ``based_on``);
* **command interval** — between consecutive actuator commands: the firmware's achieved
  loop period, jitter included;
* **real-time lag** — how late the newest sample became readable compared with its due time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class Series:
    """A bounded ring of the last ``size`` values, with a running maximum and count."""

    def __init__(self, size: int = 200_000) -> None:
        self._ring = np.zeros(size)
        self._n = 0
        self.last = 0.0
        self.max = 0.0

    def add(self, value: float) -> None:
        """Record one value."""
        self._ring[self._n % len(self._ring)] = value
        self._n += 1
        self.last = value
        self.max = max(self.max, value)

    @property
    def count(self) -> int:
        """Values recorded so far (including those the ring has dropped)."""
        return self._n

    def values(self) -> np.ndarray:
        """The values the ring still holds."""
        return self._ring[: min(self._n, len(self._ring))].copy()

    def summary(self) -> dict[str, float]:
        """``n``, ``p50``, ``p99``, ``max`` (p50/p99 over the ring; max over everything)."""
        v = self.values()
        if v.size == 0:
            return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
        p50, p99 = np.percentile(v, [50, 99])
        return {"n": self._n, "p50": float(p50), "p99": float(p99), "max": float(self.max)}


@dataclass
class PlantTiming:
    """The three series, in milliseconds, and the command count."""

    latency_ms: Series
    interval_ms: Series
    lag_ms: Series

    @classmethod
    def new(cls) -> PlantTiming:
        """Empty series."""
        return cls(Series(), Series(), Series())

    def summary(self) -> dict[str, object]:
        """Figures for a report: percentiles, and the loop rate from the median interval."""
        interval = self.interval_ms.summary()
        p50 = interval["p50"]
        rate = 1000.0 / p50 if math.isfinite(p50) and p50 > 0 else float("nan")
        return {
            "commands": self.interval_ms.count + (1 if self.latency_ms.count else 0),
            "latency_ms": self.latency_ms.summary(),
            "command_interval_ms": interval,
            "loop_rate_hz": rate,
            "rt_lag_ms": self.lag_ms.summary(),
        }


__all__ = ["PlantTiming", "Series"]
