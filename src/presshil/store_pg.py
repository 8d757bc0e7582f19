"""The results store's PostgreSQL engine: a lab's one database for every station.

:class:`~presshil.store.Store` speaks one small SQL dialect (SQLite's ``?`` placeholders and
explicit ``BEGIN``/``COMMIT``); :class:`PgConnection` gives it the part of
:class:`sqlite3.Connection` it uses, over a psycopg connection, and translates the few
statements the two engines spell differently in one place (:data:`_DIALECT`). Samples go in
with ``COPY … FROM STDIN`` (:meth:`PgConnection.copy_samples`), PostgreSQL's bulk path.

The schema is :data:`PG_SCHEMA`: SQLite's text (:data:`~presshil.store_schema.SCHEMA`)
respelled for PostgreSQL, so both engines have the same tables, columns and indexes (a test
compares them on a real server), with the version in a one-row table ``presshil_schema``. A
server at a newer version is refused, not changed. psycopg is imported here only, so SQLite users need not
install it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import ConfigError
from .store_schema import LATE_SCHEMA, SCHEMA, SCHEMA_VERSION, pg_spelling
from .store_url import redact

#: PostgreSQL's tables: the one-row version table, then SQLite's :data:`SCHEMA` and
#: :data:`LATE_SCHEMA` as PostgreSQL spells them (:func:`~presshil.store_schema.pg_spelling`)
PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS presshil_schema (
    version INTEGER NOT NULL
);""" + pg_spelling(SCHEMA + LATE_SCHEMA)

#: what a station's role needs on a database an administrator created (docs/results-store.md):
#: it adds rows everywhere, and on ``runs`` updates only how a run stands (status, end time,
#: sample counter, the process that owns it, the lease token); nothing is ever deleted
STATION_GRANTS = """\
GRANT SELECT, INSERT ON runs, samples, events, verdicts, temperatures, audit, documents,
    steps, iterations, gaps TO {role};
GRANT SELECT ON presshil_schema TO {role};
GRANT UPDATE (status, finished_utc, n_samples, n_channels, pid, pid_start, hostname,
              lease_token) ON runs TO {role};
GRANT UPDATE (t_end_s) ON iterations TO {role};
"""

#: the statements the engines spell differently: SQLite's text -> PostgreSQL's
_DIALECT = {
    "BEGIN IMMEDIATE": "BEGIN",
    "INSERT OR IGNORE INTO temperatures (run_id, t, temperature_c) VALUES (?, ?, ?)":
        "INSERT INTO temperatures (run_id, t, temperature_c) VALUES (?, ?, ?) "
        "ON CONFLICT (run_id, t) DO NOTHING",
}
_RETURNS_ID = re.compile(r"^\s*INSERT INTO (runs|audit|sweeps)\b", re.IGNORECASE)
#: the columns of a sample row as the store buffers them
SAMPLE_COPY = "COPY samples (run_id, seq, t, setpoint, pressure, force, position, status, channels) FROM STDIN"


def _translate(sql: str) -> str:
    sql = _DIALECT.get(" ".join(sql.split()), sql)
    return sql.replace("?", "%s")  # no statement of the store has a literal '?'


class PgCursor:
    """The part of :class:`sqlite3.Cursor` the store reads: rows, ``rowcount``, ``lastrowid``."""

    def __init__(self, cursor: Any, lastrowid: int | None = None) -> None:
        self._cursor = cursor
        self.rowcount: int = cursor.rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        return list(self._cursor.fetchall())

    def __iter__(self) -> Any:
        return iter(self._cursor)


class PgConnection:
    """A psycopg connection with the sqlite3.Connection calls the store makes.

    Autocommit, so that a statement outside ``BEGIN … COMMIT`` commits on its own, as on the
    store's SQLite connection (``isolation_level=None``).
    """

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise ConfigError(f"--db {redact(url)}: the PostgreSQL store needs psycopg; "
                              "pip install 'presshil[postgresql]'") from None
        # psycopg logs what it ignores while closing a COPY on a lost connection; without a
        # handler Python prints that to stderr beside the store's own one-line error
        logging.getLogger("psycopg").addHandler(logging.NullHandler())
        self._psycopg = psycopg
        self.url = url
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise ConfigError(f"--db {redact(url)}: cannot open the results store: "
                              f"{_first_line(exc)}") from None

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (as :attr:`sqlite3.Connection.in_transaction`)."""
        return bool(self._conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        """Run one statement; an ``INSERT INTO runs``, ``audit`` or ``sweeps`` gives back the
        new id as ``lastrowid``."""
        cur = self._conn.cursor()
        text = _translate(sql)
        if _RETURNS_ID.match(text):
            cur.execute(text + " RETURNING id", params)
            row = cur.fetchone()
            assert row is not None  # RETURNING gives the inserted row
            return PgCursor(cur, int(row[0]))
        cur.execute(text, params or None)
        return PgCursor(cur)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``."""
        rows = list(rows)
        if rows:
            self._conn.cursor().executemany(_translate(sql), rows)

    def copy_samples(self, rows: Iterable[Sequence[Any]]) -> None:
        """Write sample rows ``(run_id, seq, t, setpoint, pressure, force, position, status,
        channels)`` with COPY, in the caller's transaction."""
        with self._conn.cursor() as cur, cur.copy(SAMPLE_COPY) as copy:
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def open_pg(url: str) -> PgConnection:
    """Connect to the store at ``url`` and bring its schema to this version (created on an
    empty database, refused when newer); a :class:`ConfigError` of one line when the server
    cannot be reached, refuses the login, or holds a newer schema."""
    db = PgConnection(url)
    try:
        # one creator at a time: stations that start together on an empty database
        db.execute("BEGIN")
        db.execute("SELECT pg_advisory_xact_lock(7474010)")
        version = _version(db)
        if version > SCHEMA_VERSION:
            db.execute("ROLLBACK")
            raise ConfigError(f"--db {redact(url)}: results store schema v{version} is newer "
                              f"than this presshil understands (v{SCHEMA_VERSION}); upgrade")
        if version < SCHEMA_VERSION:
            for statement in PG_SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if 0 < version < 7:  # the run record moves out of the events' text
                from .store_record import migrate_rows

                migrate_rows(db)
            db.execute("DELETE FROM presshil_schema")
            db.execute("INSERT INTO presshil_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        db.execute("COMMIT")
    except db._psycopg.Error as exc:
        db.close()
        raise ConfigError(f"--db {redact(url)}: cannot use the results store: "
                          f"{_first_line(exc)}") from None
    except BaseException:
        db.close()
        raise
    return db


def _version(db: PgConnection) -> int:
    """The schema version of the database (0: no presshil schema yet)."""
    row = db.execute("SELECT to_regclass('presshil_schema') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    row = db.execute("SELECT MAX(version) FROM presshil_schema").fetchone()
    return int(row[0] or 0)


def columns(db: PgConnection) -> dict[str, list[str]]:
    """Each presshil table's columns in order (the schema agreement test reads it)."""
    rows = db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position").fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def db_errors() -> tuple[type[BaseException], ...]:
    """psycopg's error class where it is installed (the store catches it with sqlite3's)."""
    try:
        import psycopg
    except ImportError:
        return ()
    return (psycopg.Error,)


__all__ = ["PG_SCHEMA", "STATION_GRANTS", "PgConnection", "PgCursor", "columns", "db_errors", "open_pg"]
