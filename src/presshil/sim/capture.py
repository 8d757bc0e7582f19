"""Capture: every firmware sample over a window, as columns (:class:`TickTrace`).

The kernel writes one row per tick into a record buffer while ``n[N_REC_ON]`` is set and
returns ``RET_RECORD_FULL`` when the buffer is full; :class:`Recorder` owns that buffer,
keeps the full chunks, and turns them into a :class:`TickTrace` when the capture ends. A
capture forces full fidelity (the fast path never jumps while recording).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layout import (
    R_CH_N,
    R_FAULT_CODE,
    R_MEAS_FORCE_N,
    R_MEAS_P_MPA,
    R_POS_M,
    R_SIZE,
    R_SP_MPA,
    R_STATUS,
    R_T_S,
    R_TRUE_FORCE_N,
    R_U,
)
from .state import IntState


@dataclass(frozen=True)
class TickTrace:
    """Every firmware sample over a capture window (full fidelity), as columns."""

    t_s: np.ndarray
    status: np.ndarray
    fault_code: np.ndarray
    setpoint_mpa: np.ndarray
    pressure_mpa: np.ndarray
    force_n: np.ndarray
    true_force_n: np.ndarray
    position_m: np.ndarray
    actuator_command: np.ndarray
    channels_n: np.ndarray  # shape (ticks, N)

    @classmethod
    def from_rows(cls, rows: np.ndarray, n_channels: int) -> TickTrace:
        """Columns of the kernel's record rows (``R_*`` layout)."""
        return cls(
            t_s=rows[:, R_T_S].copy(),
            status=rows[:, R_STATUS].astype(np.int64),
            fault_code=rows[:, R_FAULT_CODE].astype(np.int64),
            setpoint_mpa=rows[:, R_SP_MPA].copy(),
            pressure_mpa=rows[:, R_MEAS_P_MPA].copy(),
            force_n=rows[:, R_MEAS_FORCE_N].copy(),
            true_force_n=rows[:, R_TRUE_FORCE_N].copy(),
            position_m=rows[:, R_POS_M].copy(),
            actuator_command=rows[:, R_U].copy(),
            channels_n=rows[:, R_CH_N : R_CH_N + n_channels].copy(),
        )


class Recorder:
    """The record buffer the kernel writes into, and the chunks of a running capture."""

    def __init__(self, ints: IntState, n_channels: int) -> None:
        self._n = ints
        self._n_channels = n_channels
        #: the buffer handed to the kernel (one idle row when no capture runs)
        self.buffer = np.zeros((1, R_SIZE))
        self._chunks: list[np.ndarray] | None = None

    @property
    def active(self) -> bool:
        """True while a capture runs."""
        return self._chunks is not None

    def start(self, chunk_ticks: int) -> None:
        """Begin recording into chunks of ``chunk_ticks`` rows."""
        self.buffer = np.zeros((chunk_ticks, R_SIZE))
        self._chunks = []
        self._n.rec_idx = 0
        self._n.rec_on = 1

    def flush(self) -> None:
        """Keep the rows written so far and let the kernel start a fresh chunk."""
        if self._chunks is None:
            raise RuntimeError("record buffer full while no capture runs")
        self._chunks.append(self.buffer[: self._n.rec_idx].copy())
        self._n.rec_idx = 0

    def finish(self) -> TickTrace:
        """Stop recording; the samples of the whole capture."""
        self.flush()
        self._n.rec_on = 0
        chunks = self._chunks or []
        rows = np.concatenate(chunks) if chunks else np.zeros((0, R_SIZE))
        self._chunks = None
        self.buffer = np.zeros((1, R_SIZE))
        return TickTrace.from_rows(rows, self._n_channels)


__all__ = ["Recorder", "TickTrace"]
