"""Writing to the results store: samples, temperatures, events, verdicts and the run record,
buffered and committed by a background flusher (:class:`StoreWriter`, a base of
:class:`~presshil.store.Store`).

Samples are buffered and committed at least every ``flush_interval_s`` of wall time (a
background thread sees to it even when samples stop coming), so a process killed mid-run loses
at most that much. Each flush is one transaction: the samples (by ``COPY`` on PostgreSQL),
each run's sample counter, the events, the temperatures and the run record's rows, in order.
A failed write is kept and raised to the writer's thread as :class:`StoreWriteError`.

Channels are stored as one BLOB a sample: N little-endian float32 (16 bytes for 4 load cells,
against ~50 for JSON text, and no parsing to read them back). float32 loses nothing a Modbus
press reports (the register map sends channel forces as f32) and resolves 1 mN at 10 kN, far
below any load cell's resolution.
"""

from __future__ import annotations

import struct
import threading
import time
import weakref
from typing import Any

from .errors import PressError
from .store_read import _SAMPLE_COLS, StoreReader, _db_errors
from .store_record import RecordStore
from .trace import sample_row as _as_row


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a failed write raises: either engine's errors, or the OS's (a full disk)."""
    return (*_db_errors(), OSError)


def _flusher(ref: weakref.ref[StoreWriter], stop: threading.Event, wake: threading.Event,
             tick_s: float) -> None:
    # A weak reference, so that a Store nobody closed can still be collected.
    while not stop.is_set():
        woken = wake.wait(tick_s)
        wake.clear()
        store = ref()
        if store is None:
            return
        store._flush_if_due(force=woken)
        del store


class StoreWriteError(PressError):
    """The store could not write (disk full, I/O error): the run cannot go on unrecorded.

    A :class:`~presshil.errors.PressError`, so a run ends as on a press fault: the press is
    put in its safe state and the command exits 3 with one line. The run is recorded as
    ``error`` where the disk still allows it; samples already committed are kept.
    """


class StoreWriter(RecordStore, StoreReader):
    """The buffered writes of a results store (a base of :class:`~presshil.store.Store`).

    Two locks, so that the sampling loop never waits on the disk: ``_buf_lock`` guards the
    in-memory buffers (held for microseconds); ``_db_lock`` serialises the connection, and
    only the flusher thread, :meth:`flush`, ``finish_run()`` and readers take it.
    """

    def _init_writer(self, flush_interval_s: float, max_buffer_rows: int) -> None:
        """The empty buffers and the (not yet started) flusher; called by the store's
        ``__init__`` before the connection opens."""
        self.flush_interval_s = flush_interval_s
        self.max_buffer_rows = max_buffer_rows
        #: runs whose samples could not all be written; finished as ``error``
        self._write_failed: dict[int, str] = {}
        self._buf_lock = threading.Lock()
        self._wake = threading.Event()
        self._buffer: list[tuple[Any, ...]] = []
        self._events: list[tuple[int, float | None, str, str]] = []
        self._records: list[tuple[str, tuple[Any, ...]]] = []  # run record rows (store_record)
        self._temps: list[tuple[int, float, float]] = []  # (run, t, °C), written with samples
        self._oldest_s = 0.0  # monotonic time of the oldest buffered sample
        self._seq: dict[int, int] = {}
        self._pending: dict[int, tuple[int, int]] = {}  # run -> (rows, channels) not yet written
        self._packers: dict[int, struct.Struct] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def add_sample(self, run_id: int, sample_row: Any) -> None:
        """Buffer one sample: a row ``(t_s, setpoint_mpa, pressure_mpa, force_kn,
        position_mm, status, channels_kn)`` or a :class:`~presshil.press.Sample`."""
        t, sp, p, f, pos, status, channels = _as_row(sample_row)
        n = len(channels)
        packer = self._packers.get(n) or self._packers.setdefault(n, struct.Struct(f"<{n}f"))
        blob = packer.pack(*channels)
        seq = self._seq.get(run_id)
        if seq is None:  # a run started by another Store object: continue its numbering
            with self._db_lock:
                seq = self._next_seq(run_id)
        with self._buf_lock:
            self._raise_pending_error()
            self._seq[run_id] = seq + 1
            if not self._buffer:
                self._oldest_s = time.monotonic()
            self._buffer.append((run_id, seq, t, sp, p, f, pos, status, blob))
            rows, _ = self._pending.get(run_id, (0, n))
            self._pending[run_id] = (rows + 1, n)
            size = len(self._buffer)
        if self._thread is None:
            self._start_flusher()
        if size >= self.max_buffer_rows:
            self._wake.set()
        if size >= 8 * self.max_buffer_rows:  # the flusher cannot keep up: write here
            self.flush()

    def add_temperature(self, run_id: int, t_s: float, temperature_c: float) -> None:
        """Buffer the temperature of the sample at ``t_s``; written in the samples'
        transaction (see :mod:`presshil.store_temperature`)."""
        with self._buf_lock:
            self._temps.append((run_id, t_s, temperature_c))

    def add_event(self, run_id: int, t_s: float | None, kind: str, message: str) -> None:
        """Record an event: queued with the samples and written by the flusher within moments
        (off the caller's thread); ``flush()``, ``finish_run()`` and ``close()`` write it now."""
        with self._buf_lock:
            self._events.append((run_id, t_s, kind, message))
        self._queued()

    def _queue_record(self, sql: str, row: tuple[Any, ...]) -> None:
        """A run record's statement (:mod:`presshil.store_record`), written after the events."""
        with self._buf_lock:
            self._records.append((sql, row))
        self._queued()

    def _queued(self) -> None:
        if self._thread is None:
            self._start_flusher()
        self._wake.set()

    def add_verdicts(self, run_id: int, verdicts: Any) -> None:
        """Record a run's verdicts (:class:`~presshil.metrics.Verdict`), in one transaction."""
        rows = [(run_id, v.step, v.criterion, v.value, v.limit, v.unit, int(bool(v.passed)),
                 v.detail, v.t_s, v.channel, v.step_start_s) for v in verdicts]
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                'INSERT INTO verdicts (run_id, step, criterion, value, "limit", unit, passed, '
                "detail, t_s, channel, step_start_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")


    def flush(self) -> None:
        """Commit the buffered samples now (:class:`StoreWriteError` if the disk refuses)."""
        with self._db_lock:
            try:
                self._flush_locked()
            except _write_errors() as exc:
                for run in self._seq:
                    self._write_failed.setdefault(run, str(exc))
                raise self._write_error(exc) from None


    def _flush_locked(self) -> None:
        """Write the buffered samples and events in one transaction (``_db_lock`` held)."""
        with self._buf_lock:
            buffer, pending, events = self._buffer, self._pending, self._events
            self._buffer, self._pending, self._events = [], {}, []
            temps, self._temps = self._temps, []
            records, self._records = self._records, []  # run record rows, after the events
        if not buffer and not events and not temps and not records:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            if self.engine == "postgresql":
                self._db.copy_samples(buffer)
            else:
                self._db.executemany(
                    f"INSERT INTO samples (run_id, seq, {_SAMPLE_COLS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", buffer)
            self._db.executemany(
                "UPDATE runs SET n_samples = n_samples + ?, "
                "n_channels = COALESCE(n_channels, ?) WHERE id = ?",
                [(rows, width, run) for run, (rows, width) in pending.items()])
            self._db.executemany(
                "INSERT INTO events (run_id, t, kind, message) VALUES (?, ?, ?, ?)", events)
            if temps:
                # the first temperature of a sample time stays (a station may not rewrite one)
                self._db.executemany("INSERT OR IGNORE INTO temperatures (run_id, t, "
                                     "temperature_c) VALUES (?, ?, ?)", temps)
            for sql, row in records:
                self._db.execute(sql, row)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _flush_if_due(self, force: bool = False) -> None:
        with self._buf_lock:
            due = bool(self._events or self._records) or (
                bool(self._buffer)
                and (force or time.monotonic() - self._oldest_s >= self.flush_interval_s))
        if not due:
            return
        with self._db_lock:
            if self._db is None:
                return
            try:
                self._flush_locked()
            except BaseException as exc:  # noqa: BLE001 - handed to the writer's thread
                self._error = exc
                for run in self._seq:
                    self._write_failed.setdefault(run, str(exc))

    def _raise_pending_error(self) -> None:
        if self._error is not None:
            exc, self._error = self._error, None
            raise self._write_error(exc)

    def _write_error(self, exc: BaseException) -> StoreWriteError:
        return StoreWriteError(
            f"{self.where}: writing the run failed ({exc}); the run is stopped, the samples "
            "committed so far are kept"
        )

    def _start_flusher(self) -> None:
        with self._buf_lock:
            if self._thread is not None:
                return
            tick_s = min(0.1, self.flush_interval_s / 4)
            self._thread = threading.Thread(
                target=_flusher, args=(weakref.ref(self), self._stop, self._wake, tick_s),
                name=f"presshil-store-flusher:{self.path.name}", daemon=True)
            self._thread.start()

    def _next_seq(self, run_id: int) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM samples WHERE run_id = ?",
                               (run_id,)).fetchone()
        return 0 if row[0] is None else row[0] + 1


__all__ = ["StoreWriteError", "StoreWriter"]
