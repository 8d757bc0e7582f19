"""The results store's schema, its version, and the upgrade of older stores.

:data:`SCHEMA` is written once, in SQLite's spelling; the PostgreSQL engine's tables are the
same text respelled by :func:`pg_spelling` (:data:`~presshil.store_pg.PG_SCHEMA`), as are the
sweep book's (:func:`presshil.sweep.book.pg_schema`). :data:`LATE_SCHEMA` holds what needs
columns an older store gains only in :func:`upgrade`.

Upgrades only add: a column, or a value moved out of free text into its column. A store
written by a newer presshil (a higher ``user_version``) is refused by the store, not changed.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import urllib.parse
import uuid
from pathlib import Path

from .status import RunStatus

RUN_STATUSES = tuple(s.value for s in RunStatus)
SCHEMA_VERSION = 7  # 2: verdicts.step_start_s; 3: runs.lease_token (out of the events);
#                    4: runs.meta_json (run metadata, KEY=VALUE); 5: the temperatures table;
#                    6: runs.station and runs.run_uuid (one record for many stations),
#                       the audit and documents tables;
#                    7: the steps, iterations and gaps tables (out of the events' text)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id               INTEGER PRIMARY KEY,
    protocol_name    TEXT NOT NULL,
    protocol_source  TEXT,
    protocol_text    TEXT NOT NULL,
    protocol_sha256  TEXT NOT NULL,
    press_url        TEXT NOT NULL,
    identity_json    TEXT NOT NULL,
    firmware_version TEXT,
    seed             INTEGER,
    started_utc      TEXT NOT NULL,
    finished_utc     TEXT,
    status           TEXT NOT NULL CHECK (status IN {RUN_STATUSES!r}),
    pid              INTEGER,
    pid_start        TEXT,     -- boot id + process start tick: tells a reused pid apart
    hostname         TEXT,
    n_channels       INTEGER,
    n_samples        INTEGER NOT NULL DEFAULT 0,
    lease_token      INTEGER,  -- the control-lease session token, for --resume only
    meta_json        TEXT,     -- run metadata, a JSON object KEY: VALUE (--meta, [meta])
    station          TEXT,     -- v6: the bench that ran it (--station, else the host name)
    run_uuid         TEXT      -- v6: the run's identity across stores (presshil push)
);
-- Units: t s, setpoint/pressure MPa, force kN, position mm, channels N x float32 kN.
-- Clustered by (run_id, seq): one run's samples are contiguous on disk and read in order.
CREATE TABLE IF NOT EXISTS samples (
    run_id   INTEGER NOT NULL REFERENCES runs(id),
    seq      INTEGER NOT NULL,
    t        REAL,
    setpoint REAL,
    pressure REAL,
    force    REAL,
    position REAL,
    status   INTEGER,
    channels BLOB,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs(id),
    t       REAL,
    kind    TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id);
CREATE TABLE IF NOT EXISTS verdicts (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id),
    step      TEXT NOT NULL,
    criterion TEXT NOT NULL,
    value     REAL,
    "limit"   REAL,
    unit      TEXT,
    passed    INTEGER NOT NULL,
    detail    TEXT,
    t_s       REAL,
    channel   INTEGER,
    step_start_s REAL
);
CREATE INDEX IF NOT EXISTS verdicts_run ON verdicts(run_id);
-- v5: the temperature (°C) of the samples of a press that reports one, keyed by the
-- sample's time; a side table, so the samples' rows keep their shape (docs/results-store.md)
CREATE TABLE IF NOT EXISTS temperatures (
    run_id        INTEGER NOT NULL REFERENCES runs(id),
    t             REAL NOT NULL,
    temperature_c REAL NOT NULL,
    PRIMARY KEY (run_id, t)
) WITHOUT ROWID;
-- v6: the audit trail, append-only and hash-chained (store_audit), and the text of each
-- protocol once, by its sha256
CREATE TABLE IF NOT EXISTS audit (
    id        INTEGER PRIMARY KEY,
    at_utc    TEXT NOT NULL,
    actor     TEXT NOT NULL,
    station   TEXT NOT NULL,
    action    TEXT NOT NULL,
    run_uuid  TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    sha256    TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    text      TEXT NOT NULL,
    first_utc TEXT NOT NULL
);
-- v7: the run record (store_record): each top-level step as it ended, each iteration of a
-- top-level repeat (with the worst verdicts of the iterations before it, JSON), and each gap
-- of a resumed run; times on the run's axis (s)
CREATE TABLE IF NOT EXISTS steps (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id),
    step_idx  INTEGER NOT NULL,
    path      TEXT NOT NULL,
    label     TEXT NOT NULL,
    type      TEXT NOT NULL,
    t_start_s REAL NOT NULL,
    t_end_s   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS steps_run ON steps(run_id);
CREATE TABLE IF NOT EXISTS iterations (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs(id),
    step_idx   INTEGER NOT NULL,
    iteration  INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    t_start_s  REAL NOT NULL,
    t_end_s    REAL,
    worst_json TEXT
);
CREATE INDEX IF NOT EXISTS iterations_run ON iterations(run_id);
CREATE TABLE IF NOT EXISTS gaps (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id),
    step_idx  INTEGER NOT NULL,
    t_start_s REAL NOT NULL,
    t_end_s   REAL NOT NULL
);
"""

#: statements on columns a store before v6 lacks until :func:`upgrade` has added them (on
#: SQLite the last step of :func:`upgrade`; on PostgreSQL part of the schema)
LATE_SCHEMA = """
CREATE UNIQUE INDEX IF NOT EXISTS runs_uuid ON runs(run_uuid);
"""

#: SQLite's spelling -> PostgreSQL's, in order (regular expressions)
_PG_SPELLING = (
    (r"[ \t]*--[^\n]*", ""),  # comments: the PostgreSQL engine splits its schema on ';'
    (r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (r"\bINTEGER\b", "BIGINT"),  # SQLite's integers are 64-bit
    (r"\bREAL\b", "DOUBLE PRECISION"),
    (r"\bBLOB\b", "BYTEA"),
    (r"\)\s*WITHOUT ROWID", ")"),
)


def pg_spelling(sql: str) -> str:
    """``sql``, a schema in SQLite's spelling (``CREATE TABLE`` and ``CREATE INDEX``
    statements), as PostgreSQL spells it: an ``INTEGER PRIMARY KEY`` (SQLite's rowid) an
    identity column, ``INTEGER`` ``BIGINT``, ``REAL`` ``DOUBLE PRECISION``, ``BLOB``
    ``BYTEA``, without ``WITHOUT ROWID`` and without comments."""
    for pattern, replacement in _PG_SPELLING:
        sql = re.sub(pattern, replacement, sql)
    return sql


def upgrade(db: sqlite3.Connection) -> None:
    """Bring a store written by an older presshil up to this schema (columns only added)."""
    if 0 < db.execute("PRAGMA user_version").fetchone()[0] < 7:
        from .store_record import migrate_event_text

        with contextlib.suppress(sqlite3.OperationalError):  # a read-only store stays as it is
            migrate_event_text(db)
    if "run_uuid" not in {r[1] for r in db.execute("PRAGMA table_info(runs)")}:
        # v5 and older: every run gets its UUID now, so that it can be pushed once only
        with contextlib.suppress(sqlite3.OperationalError):  # a read-only store stays as it is
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("ALTER TABLE runs ADD COLUMN station TEXT")
                db.execute("ALTER TABLE runs ADD COLUMN run_uuid TEXT")
                for (run_id,) in db.execute("SELECT id FROM runs").fetchall():
                    db.execute("UPDATE runs SET run_uuid = ?, station = hostname WHERE id = ?",
                               (str(uuid.uuid4()), run_id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    columns = {r[1] for r in db.execute("PRAGMA table_info(verdicts)")}
    if "step_start_s" not in columns:  # v1: verdict times were run times of unknown step
        with contextlib.suppress(sqlite3.OperationalError):  # a read-only store stays v1
            db.execute("ALTER TABLE verdicts ADD COLUMN step_start_s REAL")
    if "meta_json" not in {r[1] for r in db.execute("PRAGMA table_info(runs)")}:
        with contextlib.suppress(sqlite3.OperationalError):  # a read-only store stays as it is
            db.execute("ALTER TABLE runs ADD COLUMN meta_json TEXT")
    if "lease_token" not in {r[1] for r in db.execute("PRAGMA table_info(runs)")}:
        # v2 and older kept the lease token in an event's text, which exports and pages show:
        # it moves to its own column and the events keep only that the lease was claimed
        with contextlib.suppress(sqlite3.OperationalError):  # a read-only store stays as it is
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("ALTER TABLE runs ADD COLUMN lease_token INTEGER")
                rows = db.execute(
                    "SELECT id, run_id, message FROM events WHERE kind = 'lease' "
                    "AND message LIKE '%session token %'"
                ).fetchall()
                for event_id, run_id, message in rows:
                    found = _TOKEN_IN_TEXT.search(message)
                    if found:
                        db.execute("UPDATE runs SET lease_token = ? WHERE id = ?",
                                   (int(found.group(1)), run_id))
                    db.execute("UPDATE events SET message = ? WHERE id = ?",
                               (_TOKEN_IN_TEXT.sub("", message), event_id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    with contextlib.suppress(sqlite3.OperationalError):  # a read-only store stays as it is
        db.executescript(LATE_SCHEMA)


def peek_version(path: Path) -> int:
    """The schema version of ``path`` (0: no presshil schema), read without writing to it;
    -1 when SQLite cannot read it (the read-only open then reports why)."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return -1
    return version if "runs" in tables else 0


#: how stores before v3 wrote the lease token into the ``lease`` event
_TOKEN_IN_TEXT = re.compile(r" \(session token (\d+)\)")


__all__ = ["LATE_SCHEMA", "RUN_STATUSES", "SCHEMA", "SCHEMA_VERSION", "peek_version", "pg_spelling",
           "upgrade"]
