"""Trace: a run's samples as column arrays (what ``RunResult.trace`` and the store return).

A sample row, as the runner hands it to the store and to :meth:`Trace.from_rows`, is the tuple
``(t_s, setpoint_mpa, pressure_mpa, force_kn, position_mm, status, channels_kn)`` in that
order (:data:`SAMPLE_COLUMNS`); a :class:`presshil.press.Sample` is accepted as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SAMPLE_COLUMNS = (
    "t_s",
    "setpoint_mpa",
    "pressure_mpa",
    "force_kn",
    "position_mm",
    "status",
    "channels_kn",
)


def sample_row(sample: Any) -> tuple[float, float, float, float, float, int, Sequence[float]]:
    """The row tuple of a :class:`~presshil.press.Sample`, or ``sample`` itself if a row."""
    if hasattr(sample, "pressure_mpa"):
        return (
            sample.t_s,
            sample.setpoint_mpa,
            sample.pressure_mpa,
            sample.force_kn,
            sample.position_mm,
            sample.status,
            sample.channels_kn,
        )
    return sample


@dataclass(eq=False)  # eq=False: comparing arrays has no single truth value
class Trace:
    """A run's samples, one numpy array a quantity; ``channels`` is (n, N) kN."""

    t: np.ndarray
    setpoint: np.ndarray
    pressure: np.ndarray
    force: np.ndarray
    position: np.ndarray
    status: np.ndarray
    channels: np.ndarray

    def __len__(self) -> int:
        return int(self.t.size)

    @property
    def n_channels(self) -> int:
        """Number of load-cell channels N."""
        return int(self.channels.shape[1])

    @classmethod
    def empty(cls, n_channels: int = 0) -> Trace:
        """A trace with no samples."""
        z = np.zeros(0)
        return cls(z, z.copy(), z.copy(), z.copy(), z.copy(), np.zeros(0, np.int64),
                   np.zeros((0, n_channels)))

    @classmethod
    def from_rows(cls, rows: Iterable[Any], n_channels: int | None = None) -> Trace:
        """Build a trace from sample rows (tuples in :data:`SAMPLE_COLUMNS` order) or Samples.

        ``n_channels`` is taken from the first row when not given; every row must match it.
        """
        rows = [sample_row(r) for r in rows]
        if not rows:
            return cls.empty(n_channels or 0)
        width = len(rows[0][6]) if n_channels is None else n_channels
        for i, r in enumerate(rows):
            if len(r[6]) != width:
                raise ValueError(f"row {i} has {len(r[6])} channels; expected {width}")
        cols = list(zip(*(r[:6] for r in rows), strict=False))
        return cls(
            t=np.asarray(cols[0], float),
            setpoint=np.asarray(cols[1], float),
            pressure=np.asarray(cols[2], float),
            force=np.asarray(cols[3], float),
            position=np.asarray(cols[4], float),
            status=np.asarray(cols[5], np.int64),
            channels=np.asarray([r[6] for r in rows], float).reshape(len(rows), width),
        )

    def window(self, t_start_s: float, t_end_s: float) -> Trace:
        """The samples with ``t_start_s <= t < t_end_s`` (views where numpy allows)."""
        i0, i1 = np.searchsorted(self.t, [t_start_s, t_end_s], side="left")
        return self[i0:i1]

    def __getitem__(self, rows: slice) -> Trace:
        return Trace(self.t[rows], self.setpoint[rows], self.pressure[rows], self.force[rows],
                     self.position[rows], self.status[rows], self.channels[rows])


__all__ = ["SAMPLE_COLUMNS", "Trace", "sample_row"]
