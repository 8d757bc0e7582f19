"""Sweep bookkeeping in the results store's SQLite file: which variant became which run.

Two tables of their own beside the store's: ``sweeps`` (the spec, the protocol text, the
state) and ``sweep_variants`` (index, press URL, varied values, run id once the run is
recorded). A variant without a run id is still to do: that is what ``--resume`` finishes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

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
    """Sweep tables in the store file ``path`` (open the :class:`~presshil.store.Store` first)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
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
            raise SweepError(f"{self.path}: no sweep {sweep_id} ({known})")
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


__all__ = ["SWEEP_STATES", "Book", "SweepInfo", "VariantRow"]
