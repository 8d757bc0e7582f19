"""Reading the results store: runs, samples, events, verdicts, temperatures, exports.

:class:`StoreReader` holds every read of :class:`~presshil.store.Store` (which adds the
writing); the same SQL serves both engines (:mod:`presshil.store_pg`). A read whose database
fails becomes one line: on SQLite the file is damaged (:mod:`presshil.store_salvage` reads
what is intact), on PostgreSQL the server's own reason.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, PresshilError
from .export_target import require_samples
from .metrics import Verdict
from .sinks import Event
from .store_export import write_csv, write_parquet
from .trace import Trace

_SAMPLE_COLS = "t, setpoint, pressure, force, position, status, channels"


@dataclass(frozen=True)
class RunInfo:
    """One row of ``runs``: what ran, on which press, when, and how it ended."""

    id: int
    protocol_name: str
    protocol_source: str | None
    protocol_text: str = field(repr=False)
    protocol_sha256: str
    press_url: str
    identity: dict[str, Any]
    firmware_version: str | None
    seed: int | None
    started_utc: str
    finished_utc: str | None
    status: str
    pid: int | None
    hostname: str | None
    n_channels: int | None
    n_samples: int
    #: the bench that ran it (``--station``, else the host name); None in stores before v6
    station: str | None = None
    #: the run's identity across stores (``presshil push`` sends a run once)
    run_uuid: str | None = None

    @property
    def started(self) -> str:
        """Start time, UTC ISO 8601 (same as ``started_utc``)."""
        return self.started_utc

    @property
    def finished(self) -> str | None:
        """End time, UTC ISO 8601, or None while running or after an interruption."""
        return self.finished_utc


def _db_errors() -> tuple[type[BaseException], ...]:
    """The errors either engine raises: sqlite3's, and psycopg's once it is loaded (only a
    PostgreSQL store loads it, so it is looked up when an error is being matched)."""
    pg = sys.modules.get("psycopg")
    return (sqlite3.Error, pg.Error) if pg is not None else (sqlite3.Error,)


def _damaged(path: Path, exc: BaseException | str) -> ConfigError:
    exc = " ".join(str(exc).split())  # one line, whatever SQLite said
    return ConfigError(
        f"{path}: results store is damaged ({exc}); restore it from a backup, or copy what "
        "`presshil runs` still lists"
    )


def _reading(method: Callable[..., Any]) -> Callable[..., Any]:
    """A read method whose SQLite errors become one line: the store is damaged."""

    @functools.wraps(method)
    def wrapper(self: StoreReader, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
        except _db_errors() as exc:
            raise self._diagnose(exc) from None
        if isinstance(result, Iterator) and not isinstance(result, list):
            return self._guarded(result)
        return result

    return wrapper


class StoreReader:
    """The reads of a results store; :class:`~presshil.store.Store` is the one subclass."""

    # set by Store.__init__
    _db: Any
    _db_lock: threading.RLock
    _checked: dict[int, str | None]
    damage: str | None
    engine: str
    path: Path
    where: str
    read_only: bool

    def flush(self) -> None:
        """Commit what is buffered (the writer's; reads flush first to see their own run)."""
        raise NotImplementedError

    def record_export(self, run_id: int, format: str, path: Path) -> None:
        """Add an export to the audit trail (the writer's)."""
        raise NotImplementedError

    def _diagnose(self, exc: BaseException) -> PresshilError:
        """The one-line error for a database failure while reading."""
        if self.engine == "postgresql":  # a server error, not a damaged file
            first = " ".join(str(exc).split())[:200]
            return ConfigError(f"{self.where}: reading the results store failed: {first}")
        return _damaged(self.path, exc)

    def _guarded(self, items: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from items
        except _db_errors() as exc:
            raise self._diagnose(exc) from None

    @_reading
    def temperatures(self, run_id: int, t_from_s: float = -math.inf,
                     t_to_s: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
        """The run's temperatures with ``t_from_s <= t <= t_to_s``: (times s, °C)."""
        from .store_temperature import read_temperatures

        self.flush()
        with self._db_lock:
            return read_temperatures(self._db, run_id, t_from_s, t_to_s)

    # -- reading ---------------------------------------------------------------------------

    @_reading
    def list_runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        self.flush()
        with self._db_lock:
            rows = self._db.execute(f"SELECT {_RUN_COLS} FROM runs ORDER BY id").fetchall()
        return [_run_info(r) for r in rows]

    @_reading
    def get_run(self, run_id: int) -> RunInfo:
        """One run; :class:`~presshil.errors.ConfigError` if there is no such id."""
        self.flush()
        if self.damage is not None:
            self._require_intact(run_id)  # names the run if any of it does not read
        with self._db_lock:
            row = self._db.execute(f"SELECT {_RUN_COLS} FROM runs WHERE id = ?",
                                   (run_id,)).fetchone()
        if row is None:
            raise self._unknown(run_id)
        return _run_info(row)

    def _require_intact(self, run_id: int) -> None:
        """In a damaged store, refuse a run that does not read whole (checked once)."""
        if run_id not in self._checked:
            from .store_salvage import check_run

            with self._db_lock:
                try:
                    self._checked[run_id] = check_run(self._db, run_id)
                except LookupError:
                    raise self._unknown(run_id) from None
        why = self._checked[run_id]
        if why is not None:
            raise ConfigError(f"{self.where}: run {run_id} cannot be read whole from this damaged "
                              f"store ({why}); `presshil runs` lists the runs that can")

    @_reading
    def iter_chunks(self, run_id: int, chunk: int = 10000) -> Iterator[Trace]:
        """The run's samples as consecutive :class:`Trace` pieces of up to ``chunk`` rows.

        Each piece is one short query (keyset pagination), so nothing stays open between
        pieces and memory is bounded by ``chunk``.
        """
        info = self.get_run(run_id)
        width = info.n_channels or 0
        last = -1
        # in a damaged store, never step past the run's last sample onto another run's page
        left = info.n_samples if self.damage is not None else -1
        while left:
            with self._db_lock:
                rows = self._db.execute(
                    f"SELECT seq, {_SAMPLE_COLS} FROM samples WHERE run_id = ? AND seq > ? "
                    "ORDER BY seq LIMIT ?", (run_id, last, min(chunk, left) if left > 0 else chunk)
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            left = max(0, left - len(rows)) if left > 0 else left
            yield _rows_to_trace(rows, width)

    def iter_samples(self, run_id: int, chunk: int = 10000) -> Iterator[tuple[Any, ...]]:
        """The run's samples as rows in :data:`~presshil.trace.SAMPLE_COLUMNS` order,
        fetched ``chunk`` at a time."""
        for piece in self.iter_chunks(run_id, chunk):
            ch = piece.channels.tolist()
            for i in range(len(piece)):
                yield (float(piece.t[i]), float(piece.setpoint[i]), float(piece.pressure[i]),
                       float(piece.force[i]), float(piece.position[i]), int(piece.status[i]),
                       tuple(ch[i]))

    @_reading
    def load_trace(self, run_id: int) -> Trace:
        """All of a run's samples as one :class:`Trace` (arrays filled chunk by chunk)."""
        info = self.get_run(run_id)
        with self._db_lock:
            n = info.n_samples if self.damage is not None else self._db.execute(
                "SELECT COUNT(*) FROM samples WHERE run_id = ?", (run_id,)).fetchone()[0]
        out = Trace(np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n),
                    np.empty(n, np.int64), np.empty((n, info.n_channels or 0)))
        i = 0
        for piece in self.iter_chunks(run_id):
            j = min(n, i + len(piece))  # samples written since the count are left out
            for name in ("t", "setpoint", "pressure", "force", "position", "status", "channels"):
                getattr(out, name)[i:j] = getattr(piece, name)[: j - i]
            i = j
            if i == n:
                break
        return out[:i]

    @_reading
    def metas(self) -> dict[int, dict[str, str]]:
        """Every run's metadata (KEY=VALUE) by run id; empty for runs without (older stores)."""
        with self._db_lock:
            if "meta_json" not in self._columns("runs"):
                return {}  # a store older than v4, opened read-only
            rows = self._db.execute("SELECT id, meta_json FROM runs").fetchall()
        return {i: json.loads(m) if m else {} for i, m in rows}

    def meta(self, run_id: int) -> dict[str, str]:
        """Run ``run_id``'s metadata (KEY=VALUE)."""
        self.get_run(run_id)
        if self.damage is not None:  # its own row only: another run's page may not read
            from .store_salvage import survey_meta

            with self._db_lock:
                return survey_meta(self._db, run_id)
        return self.metas().get(run_id, {})

    @_reading
    def events(self, run_id: int) -> list[Event]:
        """The run's events in the order they were recorded."""
        self.get_run(run_id)
        with self._db_lock:
            rows = self._db.execute("SELECT t, kind, message FROM events WHERE run_id = ? "
                                    "ORDER BY id", (run_id,)).fetchall()
        return [Event(*r) for r in rows]

    @_reading
    def verdicts(self, run_id: int) -> list[Verdict]:
        """The run's verdicts in the order they were recorded."""
        self.get_run(run_id)
        with self._db_lock:
            columns = self._columns("verdicts")
            start = "step_start_s" if "step_start_s" in columns else "NULL"  # a v1 store read-only
            rows = self._db.execute(
                'SELECT step, criterion, value, "limit", unit, passed, detail, t_s, channel, '
                f"{start} FROM verdicts WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        # SQLite stores NaN as NULL; give it back as NaN.
        return [Verdict(s, c, math.nan if v is None else v, math.nan if lim is None else lim,
                        u, bool(p), d or "", t, ch, st)
                for s, c, v, lim, u, p, d, t, ch, st in rows]

    def export(self, run_id: int, path: str | Path, format: str = "csv") -> Path:
        """Write the run's samples to ``path`` (a file, or a folder to put run-ID.EXT in).

        Streamed chunk by chunk, so memory does not grow with the run. Columns: t_s,
        setpoint_mpa, pressure_mpa, force_kn, position_mm, status, ch1_kn .. chN_kn (load cells
        counted from 1, as in the serial protocol).
        """
        if format not in ("csv", "parquet"):
            raise ConfigError(f"export format {format!r} is not one of: csv, parquet")
        info = self.get_run(run_id)
        require_samples(info)  # never a header-only file that looks like an export
        path = Path(path)
        if path.is_dir():
            path = path / f"run-{run_id}.{format}"
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = write_csv if format == "csv" else write_parquet
        # written beside the target and renamed on success: never a partial export
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            from .store_temperature import temperature_of

            writer(tmp, self.iter_chunks(run_id), info.n_channels or 0,
                   temperature_of(self, run_id))
            os.replace(tmp, path)
            self.record_export(run_id, format, path)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot write the export: {exc.strerror or exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def _columns(self, table: str) -> set[str]:
        """The columns ``table`` has (a store of an older schema opened read-only lacks some)."""
        if self.engine == "postgresql":  # always brought to this version when opened
            from .store_pg import columns

            return set(columns(self._db).get(table, []))
        return {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}

    def _unknown(self, run_id: int) -> ConfigError:
        try:
            row = self._db.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM runs").fetchone()
        except _db_errors():  # a damaged store: `presshil runs` says what reads
            return ConfigError(f"{self.where}: no run {run_id}; see `presshil runs`")
        known = f"runs {row[0]}..{row[1]}" if row[2] else "no runs yet"
        return ConfigError(f"{self.where}: no run {run_id} ({known}); see `presshil runs`")


_RUN_COLS = ("id, protocol_name, protocol_source, protocol_text, protocol_sha256, press_url, "
             "identity_json, firmware_version, seed, started_utc, finished_utc, status, pid, "
             "hostname, n_channels, n_samples, station, run_uuid")


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    values = list(row)
    values[6] = json.loads(values[6])
    return RunInfo(*values)


def _rows_to_trace(rows: list[tuple[Any, ...]], width: int) -> Trace:
    cols = list(zip(*rows, strict=False))
    blobs = b"".join(cols[7])
    channels = np.frombuffer(blobs, "<f4").astype(float)
    # A run's channel count is fixed; a blob of another width would be a corrupt row.
    channels = channels.reshape(len(rows), width) if width else np.zeros((len(rows), 0))
    return Trace(
        t=np.array(cols[1], float),  # None (stored NaN) becomes NaN
        setpoint=np.array(cols[2], float),
        pressure=np.array(cols[3], float),
        force=np.array(cols[4], float),
        position=np.array(cols[5], float),
        status=np.array(cols[6], np.int64),
        channels=channels,
    )


__all__ = ["RunInfo", "StoreReader"]
