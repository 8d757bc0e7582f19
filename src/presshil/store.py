"""The results store: runs, samples, events and verdicts in one SQLite file (WAL), or in a
lab's PostgreSQL database (:mod:`presshil.store_pg`; same schema, same behaviour).

:class:`Store` is composed of its parts: this module opens and closes the store (either
engine, read-only or checked, an older schema brought up to date); a run's life (start,
resume, finish, interrupted runs, the audit entries) is :mod:`presshil.store_runs`; the
buffered writes of samples, events and verdicts :mod:`presshil.store_write`; the run record
:mod:`presshil.store_record`; every read :mod:`presshil.store_read`.

WAL keeps readers (``presshil runs``, a report) off the writer's back; ``synchronous=FULL``
makes each commit survive a power cut too, which matters for 200-hour holds and costs one
fsync per flush (about two a second).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Self

from .errors import ConfigError
from .library import DEFAULT_DB
from .sinks import Event
from .store_read import RunInfo, _damaged
from .store_runs import RunLifecycle
from .store_schema import RUN_STATUSES, SCHEMA, SCHEMA_VERSION, peek_version, upgrade
from .store_url import check_location, is_url, redact
from .store_write import StoreWriteError, _write_errors

DEFAULT_PATH = DEFAULT_DB


class Store(RunLifecycle):
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
        self._db_lock = threading.RLock()  # the connection's; readers take it too
        self._init_writer(flush_interval_s, max_buffer_rows)
        #: a sqlite3.Connection, or a :class:`~presshil.store_pg.PgConnection` that makes
        #: the same calls
        self._db: Any = None
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


__all__ = ["DEFAULT_PATH", "RUN_STATUSES", "Event", "RunInfo", "Store", "StoreWriteError"]
