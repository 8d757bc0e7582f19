"""Temperatures in the results store: a side table beside the samples.

A press that reports a temperature gives one with each sample; it is kept in the
``temperatures`` table (schema v5) keyed by the run and the sample's time, not as a column of
``samples``, so the samples' rows, their insert and every reader of them keep their shape. A
store older than v5 opened read-only has no such table: its runs simply have no temperature.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np

from .trace import Trace


def has_table(db: sqlite3.Connection) -> bool:
    """Whether the store has the ``temperatures`` table (v5 and later; a PostgreSQL store
    is always brought to the current version)."""
    if not isinstance(db, sqlite3.Connection):
        return True
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                      "AND name = 'temperatures'").fetchone() is not None


def read_temperatures(db: sqlite3.Connection, run_id: int, t_from_s: float,
                      t_to_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(times s, °C) of the run's temperatures with ``t_from_s <= t <= t_to_s``, in time order."""
    if not has_table(db):
        return np.zeros(0), np.zeros(0)
    rows = db.execute("SELECT t, temperature_c FROM temperatures WHERE run_id = ? AND t >= ? "
                      "AND t <= ? ORDER BY t", (run_id, t_from_s, t_to_s)).fetchall()
    if not rows:
        return np.zeros(0), np.zeros(0)
    t, c = zip(*rows, strict=True)
    return np.asarray(t, float), np.asarray(c, float)


def aligned(t_s: np.ndarray, t_temp: np.ndarray, temp_c: np.ndarray) -> np.ndarray:
    """The temperature of each sample at ``t_s`` (NaN for a sample without one): the times
    are the same stored values on both sides, so they match exactly."""
    out = np.full(t_s.shape, np.nan)
    if t_temp.size == 0 or t_s.size == 0:
        return out
    i = np.clip(np.searchsorted(t_temp, t_s), 0, t_temp.size - 1)
    hit = t_temp[i] == t_s
    out[hit] = temp_c[i[hit]]
    return out


def temperature_of(store: Any, run_id: int) -> Callable[[Trace], np.ndarray] | None:
    """A function giving the temperature of each sample of a chunk of the run, or None when
    the run has no temperature (its exports then have no temperature column)."""
    with store._db_lock:  # one row is enough to know
        db = store._db
        if not has_table(db) or db.execute(
                "SELECT 1 FROM temperatures WHERE run_id = ? LIMIT 1", (run_id,)).fetchone() is None:
            return None

    def of(piece: Trace) -> np.ndarray:
        if len(piece) == 0:
            return np.zeros(0)
        t, c = store.temperatures(run_id, float(piece.t[0]), float(piece.t[-1]))
        return aligned(piece.t, t, c)

    return of


__all__ = ["aligned", "has_table", "read_temperatures", "temperature_of"]
