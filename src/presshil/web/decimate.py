"""Server-side decimation of a stored trace: min/max per pixel column, memory flat.

A request names a time range and a width in pixels. When the range holds few samples they are
sent as they are (channels included); otherwise each pixel column gets the minimum and maximum
of setpoint, pressure and force, computed by SQLite over the range (one pass, nothing held in
Python but the result). For finished runs a fine overview (up to ``FINE_BUCKETS`` columns over
the whole run) is computed once, kept in memory and, when a ``cache_path`` is given, in a small
SQLite file beside the store, so opening or zooming out a 200-hour run is served from it and
costs what a 5-minute run costs (the first opening ever pays one pass over the run).

Samples are addressed by ``seq`` (the store's per-run sequence, its primary key order, dense
from 0); time is monotonic in ``seq``, so a time range maps to a ``seq`` range by bisection.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..store_read import _db_errors as db_errors
from ..store_url import is_url, redact

#: columns decimated at every zoom level (channels only appear with raw samples)
COLUMNS = ("setpoint", "pressure", "force")
#: columns of the whole-run overview kept per finished run
FINE_BUCKETS = 16384
#: raw samples are sent when a range holds at most this many samples per pixel column
RAW_PER_PX = 2
#: finished runs whose overview is kept in memory
CACHE_RUNS = 8


@dataclass(frozen=True)
class Decimated:
    """What a plot draws: ``t`` and one array per series (min/max pairs when decimated)."""

    t: np.ndarray
    series: dict[str, np.ndarray]
    raw: bool
    n_samples: int

    def as_json(self) -> dict:
        """Lists for a JSON response (NaN kept as None by the encoder)."""
        return {"t": self.t.tolist(), "series": {k: v.tolist() for k, v in self.series.items()},
                "raw": self.raw, "n_samples": self.n_samples}


class TraceReader:
    """Read-only access to the samples of a results store file, for plots."""

    def __init__(self, path: str | Path, cache_path: str | Path | None = None) -> None:
        #: a SQLite file, or a PostgreSQL URL (then the min/max per pixel runs on the server)
        self.location = str(path)
        self.path = Path(path)
        #: where whole-run overviews are kept between processes (None: memory only)
        self.cache_path = Path(cache_path) if cache_path is not None else None
        try:
            self._db = self._connect()
            self._db.execute("SELECT 1 FROM samples LIMIT 1").fetchall()
        except db_errors() as exc:
            raise ConfigError(f"{redact(self.location)}: cannot read samples: {exc}") from exc
        self._lock = threading.Lock()
        self._fine: OrderedDict[tuple[int, int], Decimated] = OrderedDict()
        self._computing: dict[tuple[int, int], threading.Event] = {}

    def _connect(self) -> Any:
        if is_url(self.location):
            from ..store_pg import PgConnection

            return PgConnection(self.location)
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10.0,
                               check_same_thread=False)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _q(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def extent(self, run_id: int) -> tuple[int, float, float]:
        """(samples, first t, last t) of a run; (0, 0, 0) when it has none."""
        # three primary-key lookups: no scan, however long the run (seq is dense from 0)
        (last,), = self._q("SELECT MAX(seq) FROM samples WHERE run_id = ?", (run_id,))
        if last is None:
            return (0, 0.0, 0.0)
        first_t = self._q("SELECT t FROM samples WHERE run_id = ? ORDER BY seq LIMIT 1", (run_id,))
        last_t = self._q("SELECT t FROM samples WHERE run_id = ? AND seq = ?", (run_id, last))
        return (last + 1, first_t[0][0] or 0.0, last_t[0][0] or 0.0)

    def _seq_at(self, run_id: int, n: int, t: float) -> int:
        """First seq whose t >= ``t`` (bisection on the primary key)."""
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            row = self._q("SELECT t FROM samples WHERE run_id = ? AND seq = ?", (run_id, mid))
            if row and row[0][0] is not None and row[0][0] < t:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def window(self, run_id: int, t0: float | None, t1: float | None, px: int,
               finished: bool = True) -> Decimated:
        """The run between ``t0`` and ``t1`` (whole run when None) for ``px`` pixel columns."""
        px = max(16, min(int(px), 8192))
        n, first, last = self.extent(run_id)
        if n == 0:
            return Decimated(np.empty(0), {}, True, 0)
        whole = (t0 is None or t0 <= first) and (t1 is None or t1 >= last)
        s0 = 0 if t0 is None or t0 <= first else self._seq_at(run_id, n, t0)
        s1 = n if t1 is None or t1 >= last else self._seq_at(run_id, n, t1 + 1e-12)
        count = max(0, s1 - s0)
        if count <= RAW_PER_PX * px:
            return self._raw(run_id, s0, s1)
        if finished and n > FINE_BUCKETS * RAW_PER_PX:
            fine = self._fine_overview(run_id, n)
            span = (fine.t >= (t0 if t0 is not None else -np.inf)) & (fine.t <= (t1 if t1 is not None else np.inf))
            if whole or int(span.sum()) >= 2 * px:  # at least one fine column (2 points) per pixel
                return _regroup(fine, span, px)
        return self._grouped(run_id, s0, s1, px)

    def _raw(self, run_id: int, s0: int, s1: int) -> Decimated:
        rows = self._q("SELECT t, setpoint, pressure, force, channels FROM samples "
                       "WHERE run_id = ? AND seq >= ? AND seq < ? ORDER BY seq", (run_id, s0, s1))
        t = np.array([r[0] for r in rows], dtype=float)
        series = {name: np.array([r[i + 1] for r in rows], dtype=float) for i, name in enumerate(COLUMNS)}
        if rows and rows[0][4]:
            ch = np.frombuffer(b"".join(r[4] for r in rows), dtype="<f4").reshape(len(rows), -1)
            for k in range(ch.shape[1]):
                series[f"ch{k + 1}"] = ch[:, k].astype(float)
        return Decimated(t, series, True, len(rows))

    def _grouped(self, run_id: int, s0: int, s1: int, px: int) -> Decimated:
        """Min/max per column over seq [s0, s1) in ``px`` groups, computed by SQLite."""
        count = s1 - s0
        cols = ", ".join(f"MIN({c}), MAX({c})" for c in COLUMNS)
        db = self._connect()  # its own connection: a long pass does not hold up other requests
        try:
            rows = db.execute(
                f"SELECT ((seq - ?) * ?) / ? AS b, MIN(t), MAX(t), {cols} FROM samples "
                "WHERE run_id = ? AND seq >= ? AND seq < ? GROUP BY b ORDER BY b",
                (s0, px, count, run_id, s0, s1)).fetchall()
        finally:
            db.close()
        return _pairs(np.array(rows, dtype=float), count)

    def _fine_overview(self, run_id: int, n: int) -> Decimated:
        key = (run_id, n)
        while True:
            with self._lock:
                hit = self._fine.get(key)
                if hit is not None:
                    self._fine.move_to_end(key)
                    return hit
                busy = self._computing.get(key)
                if busy is None:
                    busy = self._computing[key] = threading.Event()
                    break
            busy.wait(600)  # another request is computing it: wait, then take it from memory
        try:
            fine = self._load_cached(run_id, n)
            if fine is None:
                fine = self._grouped(run_id, 0, n, FINE_BUCKETS)
                self._save_cached(run_id, n, fine)
            with self._lock:
                self._fine[key] = fine
                while len(self._fine) > CACHE_RUNS:
                    self._fine.popitem(last=False)
            return fine
        finally:
            with self._lock:
                self._computing.pop(key).set()

    # -- overviews kept on disk ------------------------------------------------------------
    def _cache_key(self, run_id: int) -> str:
        rows = self._q("SELECT started_utc, protocol_sha256 FROM runs WHERE id = ?", (run_id,))
        return "|".join(map(str, rows[0])) if rows else ""

    def _load_cached(self, run_id: int, n: int) -> Decimated | None:
        if self.cache_path is None or not self.cache_path.is_file():
            return None
        try:
            with contextlib.closing(sqlite3.connect(self.cache_path, timeout=5.0)) as db:
                row = db.execute("SELECT data FROM overview WHERE run_id = ? AND n_samples = ? AND "
                                 "buckets = ? AND run_key = ?",
                                 (run_id, n, FINE_BUCKETS, self._cache_key(run_id))).fetchone()
            if row is None:
                return None
            arr = np.load(io.BytesIO(row[0]), allow_pickle=False)
        except (sqlite3.DatabaseError, OSError, ValueError):
            return None  # an unreadable cache is recomputed, never trusted
        return Decimated(arr[0], {name: arr[i + 1] for i, name in enumerate(COLUMNS)}, False, n)

    def _save_cached(self, run_id: int, n: int, fine: Decimated) -> None:
        if self.cache_path is None:
            return
        buf = io.BytesIO()
        np.save(buf, np.vstack([fine.t, *(fine.series[c] for c in COLUMNS)]), allow_pickle=False)
        try:
            with contextlib.closing(sqlite3.connect(self.cache_path, timeout=5.0)) as db, db:
                db.execute("CREATE TABLE IF NOT EXISTS overview (run_id INTEGER PRIMARY KEY, "
                           "n_samples INTEGER, buckets INTEGER, run_key TEXT, data BLOB)")
                db.execute("INSERT OR REPLACE INTO overview VALUES (?, ?, ?, ?, ?)",
                           (run_id, n, FINE_BUCKETS, self._cache_key(run_id), buf.getvalue()))
        except (sqlite3.DatabaseError, OSError):
            pass  # a read-only folder: overviews stay in memory

    def warm(self, run_id: int) -> None:
        """Compute a finished run's overview ahead of its first opening."""
        n, _, _ = self.extent(run_id)
        if n > FINE_BUCKETS * RAW_PER_PX:
            self._fine_overview(run_id, n)


def _pairs(rows: np.ndarray, count: int) -> Decimated:
    """Rows (b, tmin, tmax, min1, max1, …) as a plot line: two points per group."""
    if rows.size == 0:
        return Decimated(np.empty(0), {}, False, count)
    t = np.empty(2 * len(rows))
    t[0::2], t[1::2] = rows[:, 1], rows[:, 2]
    series = {}
    for i, name in enumerate(COLUMNS):
        v = np.empty(2 * len(rows))
        v[0::2], v[1::2] = rows[:, 3 + 2 * i], rows[:, 4 + 2 * i]
        series[name] = v
    return Decimated(t, series, False, count)


def _regroup(fine: Decimated, span: np.ndarray, px: int) -> Decimated:
    """Merge the fine overview's columns inside ``span`` down to about ``px`` columns."""
    t = fine.t[span]
    if t.size < 2:
        return Decimated(t, {k: v[span] for k, v in fine.series.items()}, False, fine.n_samples)
    # fine columns come as (min t, max t) pairs; keep pairs whole
    lo_idx = np.flatnonzero(span)
    start = lo_idx[0] - lo_idx[0] % 2
    stop = lo_idx[-1] + 1 + (lo_idx[-1] + 1) % 2
    tt = fine.t[start:stop].reshape(-1, 2)
    groups = max(1, min(px, len(tt)))
    edges = (np.arange(groups) * len(tt)) // groups
    t_out = np.empty(2 * groups)
    t_out[0::2] = np.minimum.reduceat(tt[:, 0], edges)
    t_out[1::2] = np.maximum.reduceat(tt[:, 1], edges)
    series = {}
    for name, v in fine.series.items():
        vv = v[start:stop].reshape(-1, 2)
        out = np.empty(2 * groups)
        out[0::2] = np.fmin.reduceat(vv[:, 0], edges)
        out[1::2] = np.fmax.reduceat(vv[:, 1], edges)
        series[name] = out
    return Decimated(t_out, series, False, fine.n_samples)


__all__ = ["COLUMNS", "FINE_BUCKETS", "Decimated", "TraceReader"]
