"""The results store: runs, samples, events and verdicts in one SQLite file (WAL), or in a
lab's PostgreSQL database (:mod:`presshil.store_pg`; same schema, same behaviour). This module
opens the store and writes to it; every read is in :mod:`presshil.store_read`.

Samples are buffered and committed at least every ``flush_interval_s`` of wall time (a
background thread sees to it even when samples stop coming), so a process killed mid-run loses
at most that much. WAL keeps readers (``presshil runs``, a report) off the writer's back;
``synchronous=FULL`` makes each commit survive a power cut too, which matters for 200-hour
holds and costs one fsync per flush (about two a second).

Channels are stored as one BLOB a sample: N little-endian float32 (16 bytes for 4 load cells,
against ~50 for JSON text, and no parsing to read them back). float32 loses nothing a Modbus
press reports (the register map sends channel forces as f32) and resolves 1 mN at 10 kN, far
below any load cell's resolution.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sqlite3
import struct
import threading
import time
import urllib.parse
import uuid
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from .errors import ConfigError, PressError
from .library import DEFAULT_DB
from .sinks import Event
from .store_read import _SAMPLE_COLS, RunInfo, StoreReader, _damaged, _db_errors
from .store_record import RecordStore
from .store_schema import RUN_STATUSES, SCHEMA, SCHEMA_VERSION, peek_version, upgrade
from .store_url import check_location, is_url, redact
from .trace import sample_row as _as_row

DEFAULT_PATH = DEFAULT_DB


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a failed write raises: either engine's errors, or the OS's (a full disk)."""
    return (*_db_errors(), OSError)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _pid_start(pid: int) -> str | None:
    """Boot id and start tick of ``pid`` (Linux); None where /proc cannot tell."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return f"{boot}:{fields[19]}"


def _alive(pid: int | None, pid_start: str | None) -> bool:
    """Whether the process that started a run still exists (not a zombie, not a reused pid)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] == "Z":
            return False  # killed, waiting to be reaped: it will write nothing more
    except OSError:
        return True  # no /proc: trust kill(0)
    return pid_start is None or _pid_start(pid) == pid_start


def _flusher(ref: weakref.ref[Store], stop: threading.Event, wake: threading.Event,
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


class Store(RecordStore, StoreReader):
    """A results store in one SQLite file (WAL), created with its parent folders if absent.

    Opening it marks runs left ``running`` by a process that no longer exists on this host as
    ``interrupted``. Safe to share between threads; several processes may write one file.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        station: str | None = None,
        operator: str | None = None,
        flush_interval_s: float = 0.5,
        max_buffer_rows: int = 4096,
        read_only: bool = False,
        check: bool = False,
        salvage: bool = False,
    ) -> None:
        """``read_only``: open the file without writing anything (an archive on a read-only
        share); ``check``: run SQLite's ``quick_check`` first and refuse a damaged file, or
        with ``salvage`` (read-only only) keep it open and set :attr:`damage`.

        ``path`` may be ``postgresql://USER@HOST:PORT/DB`` (see :mod:`presshil.store_pg`);
        ``station`` names the bench that runs start here (the host name when None);
        ``operator`` who is at it, for the audit trail (the OS user when None)."""
        path = check_location(path)
        #: the engine: "sqlite" or "postgresql"
        self.engine = "postgresql" if is_url(path) else "sqlite"
        self.path = Path(path) if self.engine == "sqlite" else Path("postgresql")
        #: where the store is, for messages (a PostgreSQL URL without its password)
        self.where = str(path) if self.engine == "sqlite" else redact(str(path))
        #: the location as given (a PostgreSQL URL with its password: for child processes)
        self.location = str(path)
        self.station = station or socket.gethostname()
        from .store_audit import operator_name

        self.operator = operator_name(operator)
        self.read_only = read_only
        #: what ``quick_check`` found in a store opened by :meth:`open_for_reading` despite
        #: damage (read-only; each run is checked whole before it is read), else None
        self.damage: str | None = None
        self._checked: dict[int, str | None] = {}  # run id -> why it is damaged, or None
        #: runs whose samples could not all be written; finished as ``error``
        self._write_failed: dict[int, str] = {}
        self.flush_interval_s = flush_interval_s
        self.max_buffer_rows = max_buffer_rows
        # Two locks, so that the sampling loop never waits on the disk: _buf_lock guards the
        # in-memory buffers (held for microseconds); _db_lock serialises the SQLite
        # connection, and only the flusher thread, flush(), finish_run() and readers take it.
        self._db_lock = threading.RLock()
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
        #: a sqlite3.Connection, or a :class:`~presshil.store_pg.PgConnection` that makes
        #: the same calls
        self._db: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        if self.engine == "postgresql":
            from .store_pg import open_pg

            self._db = open_pg(str(path))
            self._mark_interrupted()
            return
        if read_only:
            self._open_read_only(check, salvage)
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE takes the write
            # lock up front, so two writing processes queue instead of failing mid-transaction).
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConfigError(f"{self.where}: results store schema v{version} is newer than "
                                  f"this presshil understands (v{SCHEMA_VERSION}); upgrade")
            if check:
                self._quick_check()
            self._db.executescript(SCHEMA)
            upgrade(self._db)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.where}: cannot open as a results store: {exc}") from None
        self._mark_interrupted()

    @classmethod
    def open_for_reading(cls, path: str | Path) -> Store:
        """Open an existing store for ``runs``/``export``/``report``, read-only unless an
        older schema must be brought up to date, checked with ``quick_check``.

        A damaged file that SQLite can still open is kept open read-only with
        :attr:`damage` set: each run is then read whole before it is handed out, and a run
        that does not read is a one-line :class:`ConfigError` naming it (see
        :mod:`presshil.store_salvage`). A file SQLite cannot open at all is that error."""
        if is_url(check_location(path)):
            return cls(path)  # a server: nothing to salvage, the schema is brought up to date
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"no results store at {path}")
        version = peek_version(path)
        if version == 0:  # an empty file, or another program's database: never made a store
            raise ConfigError(f"{path}: not a results store (no presshil schema in it); give the --db "
                              "of a store that `presshil run` wrote")
        # a read never writes: only a store of an older schema is opened writable, to upgrade
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        if writable and 0 < version < SCHEMA_VERSION:
            probe = cls(path, read_only=True, check=True, salvage=True)
            probe.close()
            if probe.damage is None:  # never write into a damaged file, not even to upgrade
                return cls(path, check=True)
        return cls(path, read_only=True, check=True, salvage=True)

    def _open_read_only(self, check: bool, salvage: bool = False) -> None:
        if not self.path.is_file():
            raise ConfigError(f"no results store at {self.path}")
        uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?mode=ro"
        last: BaseException | None = None
        # mode=ro reads the WAL too; on a read-only folder SQLite cannot create the shared
        # memory file it needs for that, and the file can only be opened as immutable
        for query in ("", "&immutable=1"):
            try:
                self._db = sqlite3.connect(uri + query, uri=True, isolation_level=None,
                                           check_same_thread=False)
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                break
            except sqlite3.DatabaseError as exc:
                last = exc
        else:
            raise ConfigError(f"{self.where}: cannot open as a results store: {last}") from None
        if version > SCHEMA_VERSION:
            raise ConfigError(f"{self.where}: results store schema v{version} is newer than "
                              f"this presshil understands (v{SCHEMA_VERSION}); upgrade")
        if check:
            try:
                found = self._quick_check_finds()
            except sqlite3.DatabaseError as exc:
                raise _damaged(self.path, exc) from None
            if found is not None and not salvage:
                raise _damaged(self.path, found)
            self.damage = found

    def _quick_check(self) -> None:
        found = self._quick_check_finds()
        if found is not None:
            raise _damaged(self.path, found)

    def _quick_check_finds(self) -> str | None:
        """What ``quick_check`` finds first, on one line, or None for a sound file."""
        rows = self._db.execute("PRAGMA quick_check(1)").fetchall()
        if [r[0] for r in rows] != ["ok"]:
            first = " ".join(str(rows[0][0]).replace("*", " ").split())[:160]
            return f"quick_check: {first}"
        return None

    # -- writing ---------------------------------------------------------------------------

    def start_run(self, *, protocol: Any, press_url: str, identity: Any,
                  seed: int | None, meta: dict[str, str] | None = None) -> int:
        """Record a new run as ``running`` and return its id.

        ``protocol`` is a :class:`~presshil.protocol.Protocol`; ``identity`` a dict (or the
        press's :class:`~presshil.press.Identity`), stored as JSON; ``meta`` the run's
        KEY=VALUE metadata.
        """
        ident = (dataclasses.asdict(identity)
                 if dataclasses.is_dataclass(identity) and not isinstance(identity, type)
                 else dict(identity))
        run_uuid = str(uuid.uuid4())
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")  # the run and its audit entry together
            try:
                run_id = self._insert_run(protocol, press_url, ident, seed, meta, run_uuid)
                self._audit_run(run_id, run_uuid, protocol, press_url, ident, seed)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._seq[run_id] = 0
        return run_id

    def _insert_run(self, protocol: Any, press_url: str, ident: dict[str, Any], seed: int | None,
                meta: dict[str, str] | None, run_uuid: str) -> int:
        cur = self._db.execute(
            "INSERT INTO runs (protocol_name, protocol_source, protocol_text, "
            "protocol_sha256, press_url, identity_json, firmware_version, seed, "
            "started_utc, status, pid, pid_start, hostname, meta_json, station, run_uuid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
            (protocol.name, getattr(protocol, "source", None), protocol.text,
             protocol.sha256, press_url, json.dumps(ident, default=str),
             ident.get("firmware"), seed, _utc_now(), os.getpid(),
             _pid_start(os.getpid()), socket.gethostname(), json.dumps(dict(meta or {})),
             self.station, run_uuid),
        )
        run_id = cur.lastrowid
        assert run_id is not None  # an INSERT always sets it
        return int(run_id)

    def record_export(self, run_id: int, format: str, path: Path) -> None:
        """Add an ``export`` entry to the audit trail; a store opened read-only (a SQLite
        file read for an export) records nothing."""
        if self.read_only:
            return
        from .store_audit import append

        with self._db_lock:
            run_uuid = self._run_uuid(run_id)
        append(self, "export", run_uuid, {"run_id": run_id, "format": format, "file": path.name})

    def _audit_run(self, run_id: int, run_uuid: str, protocol: Any, press_url: str,
                   ident: dict[str, Any], seed: int | None) -> None:
        """The ``run`` entry: the protocol's and the device profile's sha256, and their text
        stored once."""
        from .store_audit import profile_document, sha256_text

        detail: dict[str, Any] = {
            "run_id": run_id, "protocol": protocol.name, "protocol_sha256": protocol.sha256,
            "press_url": press_url, "press": ident.get("serial") or ident.get("model"),
            "seed": seed}
        documents = [("protocol", protocol.name, protocol.text)]
        profile = profile_document(press_url)
        if profile is not None:
            detail["profile"], detail["profile_sha256"] = profile[1], sha256_text(profile[2])
            documents.append(profile)
        self._audit("run", run_uuid, detail, documents=tuple(documents))

    def _audit(self, action: str, run_uuid: str | None, detail: dict[str, Any],
               documents: tuple[tuple[str, str, str], ...] = ()) -> None:
        """Append to the audit trail in the open transaction (``_db_lock`` held)."""
        from .store_audit import append_locked

        append_locked(self, action, run_uuid, detail, documents)

    def _run_uuid(self, run_id: int) -> str | None:
        row = self._db.execute("SELECT run_uuid FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else row[0]

    def set_lease_token(self, run_id: int, token: int) -> None:
        """Keep the control-lease session token run ``run_id`` holds (for ``--resume``)."""
        with self._db_lock:
            try:
                self._db.execute("UPDATE runs SET lease_token = ? WHERE id = ?", (int(token), run_id))
            except _write_errors() as exc:
                raise self._write_error(exc) from None

    def lease_token(self, run_id: int) -> int | None:
        """The control-lease session token run ``run_id`` held, or None."""
        with self._db_lock:
            row = self._db.execute("SELECT lease_token FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._unknown(run_id)
        return None if row[0] is None else int(row[0])

    def resume_run(self, run_id: int) -> None:
        """Take an interrupted run up again in this process: status ``running`` with this
        pid, finish time cleared; its samples go on numbering after the last one stored."""
        with self._db_lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.execute(
                    "UPDATE runs SET status = 'running', finished_utc = NULL, pid = ?, "
                    "pid_start = ?, hostname = ? WHERE id = ? AND status = 'interrupted'",
                    (os.getpid(), _pid_start(os.getpid()), socket.gethostname(), run_id))
                if cur.rowcount:
                    self._audit("resume", self._run_uuid(run_id), {"run_id": run_id})
                self._db.execute("COMMIT")
            except _write_errors() as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise self._write_error(exc) from None
            if cur.rowcount == 0:
                row = self._db.execute("SELECT status FROM runs WHERE id = ?",
                                       (run_id,)).fetchone()
                if row is None:
                    raise self._unknown(run_id)
                raise ConfigError(f"{self.where}: run {run_id} is {row[0]}: only an "
                                  "interrupted run can be resumed")
            self._seq[run_id] = self._next_seq(run_id)

    def give_back_run(self, run_id: int) -> None:
        """Undo :meth:`resume_run` of this process when the resumed run could not start
        (the press refused it): ``interrupted`` again, so that it can be resumed later."""
        with self._db_lock:
            try:
                self._db.execute(
                    "UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running' "
                    "AND pid = ?", (run_id, os.getpid()))
            except _write_errors() as exc:
                raise self._write_error(exc) from None

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

    def finish_run(self, run_id: int, status: str) -> None:
        """Flush the run's samples and record how it ended (``passed``, ``failed``, ...)."""
        if status not in RUN_STATUSES or status == "running":
            allowed = ", ".join(s for s in RUN_STATUSES if s != "running")
            raise ConfigError(f"run status {status!r} is not one of: {allowed}")
        with self._db_lock:
            try:
                self._flush_locked()
            except _write_errors() as exc:
                self._write_failed.setdefault(run_id, str(exc))
            self._error = None  # reported here, not again by the next add_sample
            failed = self._write_failed.pop(run_id, None)
            if failed is not None:
                status = "error"  # its record is incomplete, whatever the verdicts said
            try:
                self._db.execute("BEGIN IMMEDIATE")  # how it ended, and the audit entry
                cur = self._db.execute(
                    "UPDATE runs SET status = ?, finished_utc = ? WHERE id = ?",
                    (status, _utc_now(), run_id))
                if failed is not None:
                    self._db.execute(
                        "INSERT INTO events (run_id, t, kind, message) VALUES (?, ?, ?, ?)",
                        (run_id, None, "error", f"the store could not write: {failed}"))
                if cur.rowcount:
                    self._audit("finish", self._run_uuid(run_id),
                                {"run_id": run_id, "status": status})
                self._db.execute("COMMIT")
            except _write_errors() as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise self._write_error(exc) from None
            if cur.rowcount == 0:
                raise self._unknown(run_id)

    def flush(self) -> None:
        """Commit the buffered samples now (:class:`StoreWriteError` if the disk refuses)."""
        with self._db_lock:
            try:
                self._flush_locked()
            except _write_errors() as exc:
                for run in self._seq:
                    self._write_failed.setdefault(run, str(exc))
                raise self._write_error(exc) from None

    def close(self) -> None:
        """Flush, stop the background flusher and close the file. Idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._db_lock:
            if self._db is None:
                return
            try:
                if not self.read_only:
                    self._flush_locked()
            except _write_errors() as exc:
                raise self._write_error(exc) from None
            finally:
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

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

    def _mark_interrupted(self) -> None:
        host = socket.gethostname()
        rows = self._db.execute("SELECT id, pid, pid_start FROM runs WHERE status = 'running' "
                                "AND hostname = ?", (host,)).fetchall()
        dead = [(run_id, pid) for run_id, pid, start in rows if not _alive(pid, start)]
        if not dead:
            return
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            for run_id, pid in dead:
                self._db.execute("UPDATE runs SET status = 'interrupted' WHERE id = ? "
                                 "AND status = 'running'", (run_id,))
                last_t = self._db.execute("SELECT MAX(t) FROM samples WHERE run_id = ?",
                                          (run_id,)).fetchone()[0]
                self._db.execute(
                    "INSERT INTO events (run_id, t, kind, message) VALUES (?, ?, ?, ?)",
                    (run_id, last_t, "interrupted",
                     (f"process {pid} on {host} ended without finishing the run; found "
                      f"{_utc_now()}")))
            self._db.execute("COMMIT")

__all__ = ["DEFAULT_PATH", "RUN_STATUSES", "Event", "RunInfo", "Store", "StoreWriteError"]
