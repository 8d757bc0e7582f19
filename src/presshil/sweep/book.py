"""Sweep bookkeeping in the results store: which variant became which run.

Two tables of their own beside the store's: ``sweeps`` (the spec, the protocol text, the
state) and ``sweep_variants`` (index, press URL, varied values, run id once the run is
recorded). A variant without a run id is still to do: that is what ``--resume`` finishes.

The store is a SQLite file or a PostgreSQL server (:mod:`presshil.store_url`). On a server
the book speaks through the store's own engine adapter (:class:`~presshil.store_pg.PgConnection`:
``?`` placeholders, ``BEGIN IMMEDIATE``, ``lastrowid``), and its schema is :data:`_SCHEMA`
with the few spellings PostgreSQL lacks translated by :func:`pg_schema` (the
store's :func:`~presshil.store_schema.pg_spelling`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from ..store_schema import pg_spelling
from ..store_url import check_location, is_url, redact
from .spec import SweepError, SweepSpec
from .variants import Variant

SWEEP_STATES = ("running", "done", "interrupted")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sweeps (
    id             INTEGER PRIMARY KEY,
    created_utc    TEXT NOT NULL,
    finished_utc   TEXT,
    protocol_name  TEXT NOT NULL,
    protocol_source TEXT,
    protocol_text  TEXT NOT NULL,
    spec_json      TEXT NOT NULL,
    n_variants     INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN {SWEEP_STATES!r})
);
CREATE TABLE IF NOT EXISTS sweep_variants (
    sweep_id    INTEGER NOT NULL REFERENCES sweeps(id),
    idx         INTEGER NOT NULL,
    press_url   TEXT NOT NULL,
    values_json TEXT NOT NULL,
    run_id      INTEGER REFERENCES runs(id),
    status      TEXT,
    wall_s      REAL,   -- wall seconds the run took on its worker
    sim_s       REAL,   -- simulated press seconds
    cpu_s       REAL,   -- CPU seconds of the worker process on the run
    PRIMARY KEY (sweep_id, idx)
) WITHOUT ROWID;
"""


#: what a station's role needs, beside the store's grants (:data:`~presshil.store_pg.STATION_GRANTS`),
#: to sweep into tables the owner created: it adds sweeps and variants, and updates only a
#: sweep's state and a variant's link to its run
SWEEP_GRANTS = """\
GRANT SELECT, INSERT ON sweeps, sweep_variants TO {role};
GRANT UPDATE (state, finished_utc) ON sweeps TO {role};
GRANT UPDATE (run_id, status, wall_s, sim_s, cpu_s) ON sweep_variants TO {role};
"""
#: one creator of the sweep tables at a time on a server (the store's own schema takes 7474010)
_PG_LOCK = 7474011


def pg_schema() -> str:
    """:data:`_SCHEMA` as PostgreSQL spells it (as the store's own tables are)."""
    return pg_spelling(_SCHEMA)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SweepInfo:
    """A recorded sweep."""

    id: int
    created_utc: str
    finished_utc: str | None
    protocol_name: str
    protocol_source: str | None
    protocol_text: str
    spec: SweepSpec
    n_variants: int
    state: str


@dataclass(frozen=True)
class VariantRow:
    """A recorded variant and, once run, its run."""

    index: int
    url: str
    values: dict[str, Any]
    run_id: int | None
    status: str | None
    wall_s: float | None
    sim_s: float | None
    cpu_s: float | None = None


class Book:
    """Sweep tables in the store at ``location``: a SQLite file or a ``postgresql://`` URL
    (open the :class:`~presshil.store.Store` first: the variants refer to its runs)."""

    def __init__(self, location: str | Path) -> None:
        location = check_location(location)
        self.engine = "postgresql" if is_url(location) else "sqlite"
        #: the store, for messages (a server's URL without its password)
        self.where = redact(str(location)) if self.engine == "postgresql" else str(location)
        self.path = Path(location) if self.engine == "sqlite" else Path("postgresql")
        self._db: Any
        if self.engine == "postgresql":
            self._db = _open_pg(str(location), self.where)
            return
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise SweepError(f"{self.path}: cannot keep sweep records there: {exc}") from None

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create(self, spec: SweepSpec, protocol: Any, variants: list[Variant]) -> int:
        """Record a new sweep and its variants (none run yet); return its id."""
        self._db.execute("BEGIN IMMEDIATE")
        cur = self._db.execute(
            "INSERT INTO sweeps (created_utc, protocol_name, protocol_source, protocol_text, "
            "spec_json, n_variants, state) VALUES (?, ?, ?, ?, ?, ?, 'running')",
            (_now(), protocol.name, protocol.source, protocol.text, spec.to_json(), len(variants)),
        )
        sweep_id = int(cur.lastrowid or 0)
        self._db.executemany(
            "INSERT INTO sweep_variants (sweep_id, idx, press_url, values_json) VALUES (?, ?, ?, ?)",
            [(sweep_id, v.index, v.url, json.dumps(v.values)) for v in variants],
        )
        self._db.execute("COMMIT")
        return sweep_id

    def get(self, sweep_id: int) -> SweepInfo:
        """The sweep ``sweep_id``; a :class:`SweepError` lists what exists when it does not."""
        row = self._db.execute(
            "SELECT id, created_utc, finished_utc, protocol_name, protocol_source, protocol_text, "
            "spec_json, n_variants, state FROM sweeps WHERE id = ?", (sweep_id,)
        ).fetchone()
        if row is None:
            lo, hi, n = self._db.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM sweeps").fetchone()
            known = f"sweeps {lo}..{hi}" if n else "no sweeps yet"
            raise SweepError(f"{self.where}: no sweep {sweep_id} ({known})")
        return SweepInfo(row[0], row[1], row[2], row[3], row[4], row[5],
                         SweepSpec.from_json(row[6]), row[7], row[8])

    def variants(self, sweep_id: int) -> list[VariantRow]:
        """Every variant of the sweep, in index order."""
        rows = self._db.execute(
            "SELECT idx, press_url, values_json, run_id, status, wall_s, sim_s, cpu_s FROM sweep_variants "
            "WHERE sweep_id = ? ORDER BY idx", (sweep_id,)
        ).fetchall()
        return [VariantRow(r[0], r[1], json.loads(r[2]), *r[3:]) for r in rows]

    def record(self, sweep_id: int, index: int, run_id: int, status: str,
               wall_s: float, sim_s: float, cpu_s: float | None = None) -> None:
        """Variant ``index`` became run ``run_id`` (called once the run is in the store)."""
        self._db.execute(
            "UPDATE sweep_variants SET run_id = ?, status = ?, wall_s = ?, sim_s = ?, cpu_s = ? "
            "WHERE sweep_id = ? AND idx = ?",
            (run_id, status, wall_s, sim_s, cpu_s, sweep_id, index),
        )

    def set_state(self, sweep_id: int, state: str) -> None:
        """Mark the sweep running, done or interrupted."""
        finished = _now() if state == "done" else None
        self._db.execute("UPDATE sweeps SET state = ?, finished_utc = ? WHERE id = ?",
                         (state, finished, sweep_id))


def _open_pg(url: str, where: str) -> Any:
    """A :class:`~presshil.store_pg.PgConnection` to ``url`` with the sweep tables in place.

    The tables are created only where they are missing (a station's role that may not
    create tables uses the ones an administrator made), under an advisory lock, so that two
    sweeps starting together on a fresh database do not both create them.
    """
    from ..store_pg import PgConnection, db_errors

    db = PgConnection(url)
    try:
        db.execute("BEGIN")
        db.execute(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        have = db.execute("SELECT to_regclass('sweeps') IS NOT NULL AND "
                          "to_regclass('sweep_variants') IS NOT NULL").fetchone()[0]
        if not have:
            for statement in pg_schema().split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute("COMMIT")
    except db_errors() as exc:
        db.close()
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SweepError(f"{where}: cannot keep sweep records there: {line}") from None
    except BaseException:
        db.close()
        raise
    return db


__all__ = ["SWEEP_GRANTS", "SWEEP_STATES", "Book", "SweepInfo", "VariantRow", "pg_schema"]
