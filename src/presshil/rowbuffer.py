"""Sample rows kept as numpy columns grown in chunks: ~64 bytes a sample, no Python objects.

A run's in-memory trace and the samples of the step being judged live here, so a 200-hour
hold costs arrays, not millions of tuples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .trace import Trace

#: ``(t_s, setpoint_mpa, pressure_mpa, force_kn, position_mm, status, channels_kn)``
Row = tuple[float, float, float, float, float, int, Sequence[float]]

_FIRST_CHUNK = 1024


class RowBuffer:
    """Append-only columns of sample rows with ``n_channels`` load-cell channels."""

    def __init__(self, n_channels: int) -> None:
        self.n_channels = int(n_channels)
        self._n = 0
        self._scalars = np.empty((_FIRST_CHUNK, 5), dtype=float)  # t, sp, p, force, position
        self._status = np.empty(_FIRST_CHUNK, dtype=np.int64)
        self._channels = np.empty((_FIRST_CHUNK, self.n_channels), dtype=float)

    def __len__(self) -> int:
        return self._n

    def append(self, row: Row) -> None:
        """Add one row ``(t_s, setpoint, pressure, force, position, status, channels)``."""
        if self._n == self._status.size:
            self._grow()
        i = self._n
        self._scalars[i] = row[:5]
        self._status[i] = row[5]
        channels = row[6]
        if len(channels) != self.n_channels:
            raise ValueError(
                f"sample at t={row[0]:g} s has {len(channels)} channels; expected {self.n_channels}"
            )
        self._channels[i] = channels
        self._n = i + 1

    def clear(self) -> None:
        """Forget the rows (keeps the allocated chunk for reuse)."""
        self._n = 0

    def trace(self) -> Trace:
        """The rows so far as a :class:`~presshil.trace.Trace` (copies, safe to keep)."""
        n = self._n
        s = self._scalars[:n]
        return Trace(
            t=s[:, 0].copy(),
            setpoint=s[:, 1].copy(),
            pressure=s[:, 2].copy(),
            force=s[:, 3].copy(),
            position=s[:, 4].copy(),
            status=self._status[:n].copy(),
            channels=self._channels[:n].copy(),
        )

    def _grow(self) -> None:
        size = self._status.size * 2
        self._scalars = np.resize(self._scalars, (size, 5))
        self._status = np.resize(self._status, size)
        self._channels = np.resize(self._channels, (size, self.n_channels))


__all__ = ["RowBuffer"]
