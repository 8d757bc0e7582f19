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

_CHUNK_ROWS = 16_384


class RowBuffer:
    """Append-only columns of sample rows with ``n_channels`` load-cell channels.

    Rows go into fixed-size chunks (no doubling, so no moment holds two copies while growing);
    :meth:`trace` joins them once.
    """

    def __init__(self, n_channels: int) -> None:
        self.n_channels = int(n_channels)
        self._full: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._i = 0
        self._new_chunk()

    def _new_chunk(self) -> None:
        # t, setpoint, pressure, force, position | status | channels
        self._scalars = np.empty((_CHUNK_ROWS, 5), dtype=float)
        self._status = np.empty(_CHUNK_ROWS, dtype=np.int64)
        self._channels = np.empty((_CHUNK_ROWS, self.n_channels), dtype=float)
        self._i = 0

    def __len__(self) -> int:
        return len(self._full) * _CHUNK_ROWS + self._i

    def append(self, row: Row) -> None:
        """Add one row ``(t_s, setpoint, pressure, force, position, status, channels)``."""
        channels = row[6]
        if len(channels) != self.n_channels:
            raise ValueError(
                f"sample at t={row[0]:g} s has {len(channels)} channels; expected {self.n_channels}"
            )
        if self._i == _CHUNK_ROWS:
            self._full.append((self._scalars, self._status, self._channels))
            self._new_chunk()
        i = self._i
        self._scalars[i] = row[:5]
        self._status[i] = row[5]
        self._channels[i] = channels
        self._i = i + 1

    def clear(self) -> None:
        """Forget the rows (keeps the current chunk for reuse)."""
        self._full.clear()
        self._i = 0

    def trace(self) -> Trace:
        """The rows so far as a :class:`~presshil.trace.Trace` (copies, safe to keep)."""
        return self._join(consume=False)

    def drain(self) -> Trace:
        """The rows as a trace, emptying the buffer chunk by chunk as they are copied, so the
        peak is one copy of the rows plus one chunk."""
        return self._join(consume=True)

    def _join(self, consume: bool) -> Trace:
        n = len(self)
        t, sp, p, f, pos = (np.empty(n) for _ in range(5))
        status = np.empty(n, dtype=np.int64)
        channels = np.empty((n, self.n_channels))
        parts = [
            *self._full,
            (self._scalars[: self._i], self._status[: self._i], self._channels[: self._i]),
        ]
        if consume:
            self._full = []
        at = 0
        for k, (sc, st, ch) in enumerate(parts):
            m = st.shape[0]
            for col, dest in enumerate((t, sp, p, f, pos)):
                dest[at : at + m] = sc[:m, col]
            status[at : at + m] = st
            channels[at : at + m] = ch
            at += m
            if consume:
                parts[k] = None  # type: ignore[call-overload]  # let the chunk go now
        if consume:
            self._i = 0
        return Trace(
            t=t, setpoint=sp, pressure=p, force=f, position=pos, status=status, channels=channels
        )


__all__ = ["RowBuffer"]
