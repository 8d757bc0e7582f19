"""Reading what is intact in a damaged results store, run by run.

A store whose ``quick_check`` fails is opened read-only and kept open (``Store.damage`` holds
what SQLite reported) instead of being refused whole. Each run is then read back in full —
its row, every sample, event, verdict and temperature — and counts as *intact* only if all of
it reads without a SQLite error and agrees with its own row (as many samples as the row
says, in order, each channel blob as wide as the run's channel count). A run that fails is
*damaged*: named, with the reason, and never listed, exported or reported.

What "intact" cannot promise: the store keeps no checksum of its values, so a byte changed
inside a stored number, where SQLite's structure checks do not look, reads back as a wrong
number. A page overwritten as a whole (the usual damage: a bad sector, a torn copy) breaks the
page's structure and is caught.

Samples are read with an exact row count from the run's row (``LIMIT``): a scan that stepped
past a run's last row would load the next page, which may hold only another run's damaged
samples, and fail an intact run.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .store_schema import RUN_STATUSES
from .store_temperature import has_table

if TYPE_CHECKING:
    from .store import RunInfo, Store

#: rows read a query while checking a run's samples (memory stays bounded)
CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class Survey:
    """What a damaged store still holds: the runs that read whole and the ones that do not."""

    intact: list[RunInfo]
    #: run id -> why it cannot be read whole
    damaged: dict[int, str] = field(default_factory=dict)
    metas: dict[int, dict[str, str]] = field(default_factory=dict)


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())[:160]


def check_run(db: sqlite3.Connection, run_id: int) -> str | None:
    """Why run ``run_id`` cannot be read whole from ``db``, or None when all of it reads.

    Raises :class:`LookupError` when there is no such run (its row reads, and is absent).
    """
    from .store_read import _RUN_COLS, _run_info

    try:
        row = db.execute(f"SELECT {_RUN_COLS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise LookupError(run_id)
        info = _run_info(row)
        if info.status not in RUN_STATUSES:
            return f"its record reads back with an unknown status {info.status!r}"
        _check_samples(db, run_id, int(info.n_samples or 0), int(info.n_channels or 0))
        db.execute("SELECT t, kind, message FROM events WHERE run_id = ? ORDER BY id",
                   (run_id,)).fetchall()
        db.execute("SELECT * FROM verdicts WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        if has_table(db):
            db.execute("SELECT t, temperature_c FROM temperatures WHERE run_id = ? ORDER BY t",
                       (run_id,)).fetchall()
        for table in ("steps", "iterations", "gaps"):  # the run record (v7; absent before)
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
                db.execute(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY id",
                           (run_id,)).fetchall()
        survey_meta(db, run_id)  # garbled JSON: ValueError below
    except _Unreadable as exc:
        return str(exc)
    except sqlite3.DatabaseError as exc:
        return _one_line(exc)
    except (ValueError, TypeError) as exc:  # a row whose JSON or fields are garbage
        return f"its record reads back garbled ({_one_line(exc)})"
    return None


class _Unreadable(Exception):
    """A run's rows disagree with its own record."""


def _check_samples(db: sqlite3.Connection, run_id: int, n: int, width: int) -> None:
    last, seen = -1, 0
    while seen < n:
        rows = db.execute("SELECT seq, length(channels) FROM samples WHERE run_id = ? AND seq > ? "
                          "ORDER BY seq LIMIT ?", (run_id, last, min(CHUNK_ROWS, n - seen))).fetchall()
        if not rows:
            raise _Unreadable(f"{n - seen} of its {n} samples are missing")
        for seq, size in rows:
            if seq <= last or (size or 0) != 4 * width:
                raise _Unreadable(f"sample {seq} reads back garbled")
            last = seq
        seen += len(rows)


def run_ids(db: sqlite3.Connection) -> tuple[list[int], dict[int, str]]:
    """The store's run ids, and the ids whose record cannot be read (id -> why).

    The ids come from one scan of ``runs`` when it reads; when a page of it is damaged each id
    up to the highest that any table names is looked up alone, so one damaged page loses only
    the runs whose rows are on it.
    """
    try:
        return [r[0] for r in db.execute("SELECT id FROM runs ORDER BY id")], {}
    except sqlite3.DatabaseError as exc:
        reason = f"its record is on a damaged page ({_one_line(exc)})"
    top = 0
    for query in ("SELECT MAX(id) FROM runs", "SELECT MAX(run_id) FROM events",
                  "SELECT MAX(run_id) FROM verdicts", "SELECT MAX(run_id) FROM samples"):
        try:
            top = max(top, int(db.execute(query).fetchone()[0] or 0))
        except sqlite3.DatabaseError:
            continue  # another table damaged too: the others still tell the highest id
    ids: list[int] = []
    lost: dict[int, str] = {}
    for run_id in range(1, top + 1):  # bounded by the highest id any table names
        try:
            if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None:
                ids.append(run_id)
        except sqlite3.DatabaseError:
            lost[run_id] = reason
    return ids, lost


def survey(store: Store) -> Survey:
    """Every run of ``store`` checked: the intact ones (oldest first) and the damaged ones."""
    from .store_read import _RUN_COLS, _run_info

    with store._db_lock:
        db = store._db
        ids, damaged = run_ids(db)
        intact: list[RunInfo] = []
        metas: dict[int, dict[str, str]] = {}
        for run_id in ids:
            try:
                why = check_run(db, run_id)
            except LookupError:
                continue
            if why is not None:
                damaged[run_id] = why
                continue
            intact.append(_run_info(db.execute(f"SELECT {_RUN_COLS} FROM runs WHERE id = ?",
                                               (run_id,)).fetchone()))
            metas[run_id] = survey_meta(db, run_id)
    return Survey(intact, dict(sorted(damaged.items())), metas)


def survey_meta(db: sqlite3.Connection, run_id: int) -> dict[str, str]:
    """Run ``run_id``'s metadata read from its own row only ({} for a store older than v4)."""
    if "meta_json" not in {r[1] for r in db.execute("PRAGMA table_info(runs)")}:
        return {}
    row = db.execute("SELECT meta_json FROM runs WHERE id = ?", (run_id,)).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def damage_warning(path: Any, damage: str, found: Survey) -> str:
    """The one line ``presshil runs`` prints (stderr) about a damaged store."""
    if not found.damaged:
        return (f"warning: {path}: results store is damaged ({damage}); every run in it reads "
                f"whole ({len(found.intact)} listed)")
    shown = list(found.damaged.items())
    reasons = "; ".join(f"run {i}: {why}" for i, why in shown[:3])
    reasons += f"; {len(shown) - 3} more alike" if len(shown) > 3 else ""
    return (f"warning: {path}: results store is damaged ({damage}); "
            f"{damaged_names(found.damaged)} cannot be read whole and "
            f"{'is' if len(found.damaged) == 1 else 'are'} not listed ({reasons}); "
            f"the {len(found.intact)} listed read whole")


def read_warning(path: Any, damage: str | None, run_id: int) -> str | None:
    """The line ``export``/``report`` print (stderr) after reading an intact run from a
    damaged store; None for a sound store."""
    if damage is None:
        return None
    return (f"warning: {path}: results store is damaged ({damage}); run {run_id} read whole "
            "from it (see `presshil runs` for the runs that do not)")


def damaged_names(damaged: dict[int, Any]) -> str:
    """``run 2`` or ``runs 2, 5`` for a message."""
    ids = ", ".join(str(i) for i in damaged)
    return f"run {ids}" if len(damaged) == 1 else f"runs {ids}"


__all__ = ["CHUNK_ROWS", "Survey", "check_run", "damage_warning", "damaged_names", "read_warning", "run_ids", "survey", "survey_meta"]
