"""The run record in the results store: the ``steps``, ``iterations`` and ``gaps`` tables.

:class:`RecordStore` is the part of :class:`~presshil.store.Store` that writes and reads them:
a step's row when it ends, an iteration's row when it starts (its end added when it ends) and
a gap's row when a resumed run goes on. Writes are queued with the samples and events and
committed by the store's flusher, in order.

Stores written before schema v7 kept this record as the text of ``step``, ``cycle``,
``iteration`` and ``gap`` events. Opening such a store for writing moves it into the tables
(:func:`migrate_rows`, on either engine); a store that cannot be written (a v6 archive on a
read-only share) is read from its events by :func:`_from_event_text`, the one place left that
reads an event's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .records import Gap, Iteration, worst_from_json, worst_to_json
from .sinks import Event, StepBoundary
from .store_read import _reading

_STEP_SQL = ("INSERT INTO steps (run_id, step_idx, path, label, type, t_start_s, t_end_s) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)")
_ITERATION_SQL = ("INSERT INTO iterations (run_id, step_idx, iteration, count, t_start_s, "
                  "t_end_s, worst_json) VALUES (?, ?, ?, ?, ?, ?, ?)")
#: an iteration ended: the last row of that iteration (a resumed run runs the cut one again)
_ITERATION_END_SQL = (
    "UPDATE iterations SET t_end_s = ? WHERE id = (SELECT MAX(id) FROM iterations "
    "WHERE run_id = ? AND step_idx = ? AND iteration = ?)")
_GAP_SQL = "INSERT INTO gaps (run_id, step_idx, t_start_s, t_end_s) VALUES (?, ?, ?, ?)"


class RecordStore:
    """Writes and reads of the run record (a base of :class:`~presshil.store.Store`)."""

    # set by Store.__init__ / StoreReader
    _db: Any
    _db_lock: Any
    _records: list[tuple[str, tuple[Any, ...]]]

    def _queue_record(self, sql: str, row: tuple[Any, ...]) -> None:
        raise NotImplementedError  # the store's: queued with the events

    def add_step(self, run_id: int, boundary: StepBoundary) -> None:
        """Record a top-level step that ended (``boundary.t_end_s`` set)."""
        if boundary.t_end_s is None:
            raise ValueError(f"step {boundary.index} has not ended: only an ended step is stored")
        self._queue_record(_STEP_SQL, (run_id, boundary.index, str(boundary.index), boundary.name,
                                       boundary.kind, boundary.t_start_s, boundary.t_end_s))

    def add_iteration(self, run_id: int, record: Iteration) -> None:
        """Record an iteration as it starts (``t_end_s`` None), or the end of the last one
        recorded with its step and number."""
        if record.t_end_s is None:
            self._queue_record(_ITERATION_SQL, (
                run_id, record.step_index, record.iteration, record.count, record.t_start_s,
                None, worst_to_json(record.worst)))
        else:
            self._queue_record(_ITERATION_END_SQL, (record.t_end_s, run_id, record.step_index,
                                                    record.iteration))

    def add_gap(self, run_id: int, record: Gap) -> None:
        """Record a gap of a resumed run."""
        self._queue_record(_GAP_SQL, (run_id, record.step_index, record.t_start_s,
                                      record.t_end_s))

    @_reading
    def steps(self, run_id: int) -> list[StepBoundary]:
        """The run's top-level steps that ended, in the order they ended."""
        rows = self._record_rows(run_id, "steps", "step_idx, label, type, t_start_s, t_end_s")
        if rows is None:
            return _from_event_text(self.events(run_id))[0]  # type: ignore[attr-defined]
        return [StepBoundary(int(i), label, kind, float(a), float(b))
                for i, label, kind, a, b in rows]

    @_reading
    def iterations(self, run_id: int) -> list[Iteration]:
        """The iterations of the run's top-level repeats, in the order they started."""
        rows = self._record_rows(run_id, "iterations",
                                 "step_idx, iteration, count, t_start_s, t_end_s, worst_json")
        if rows is None:
            return _from_event_text(self.events(run_id))[1]  # type: ignore[attr-defined]
        return [Iteration(int(i), int(k), int(n), float(a), None if b is None else float(b),
                          worst_from_json(w)) for i, k, n, a, b, w in rows]

    @_reading
    def gaps(self, run_id: int) -> list[Gap]:
        """The gaps of a resumed run, in order."""
        rows = self._record_rows(run_id, "gaps", "t_start_s, t_end_s, step_idx")
        if rows is None:
            return _from_event_text(self.events(run_id))[2]  # type: ignore[attr-defined]
        return [Gap(float(a), float(b), int(i)) for a, b, i in rows]

    def _record_rows(self, run_id: int, table: str, columns: str) -> list[Any] | None:
        """The run's rows of ``table`` in order; None on a store older than v7 opened
        read-only (no such table)."""
        self.get_run(run_id)  # type: ignore[attr-defined]
        with self._db_lock:
            if not self._columns(table):  # type: ignore[attr-defined]
                return None
            return list(self._db.execute(
                f"SELECT {columns} FROM {table} WHERE run_id = ? ORDER BY id", (run_id,)))


def record_rows(store: RecordStore, run_id: int) -> list[tuple[str, tuple[Any, ...]]]:
    """A stored run's record as statements that insert it under run id 0 (replaced by
    :func:`insert_record`): how ``presshil push`` copies it to another store."""
    return ([(_STEP_SQL, (0, b.index, str(b.index), b.name, b.kind, b.t_start_s, b.t_end_s))
             for b in store.steps(run_id)]
            + [(_ITERATION_SQL, (0, it.step_index, it.iteration, it.count, it.t_start_s,
                                 it.t_end_s, worst_to_json(it.worst)))
               for it in store.iterations(run_id)]
            + [(_GAP_SQL, (0, g.step_index, g.t_start_s, g.t_end_s)) for g in store.gaps(run_id)])


def insert_record(db: Any, run_id: int, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Insert :func:`record_rows` as run ``run_id``'s, in the caller's transaction."""
    for sql, row in rows:
        db.execute(sql, (run_id, *row[1:]))


def merge_record(db: Any, run_id: int, rows: list[tuple[str, tuple[Any, ...]]]) -> int:
    """Add to run ``run_id`` the :func:`record_rows` it lacks, in the caller's transaction
    (completing a run from its spool): a step, iteration or gap already there is left alone,
    except that an iteration the target has without an end takes the source's end. How many
    rows were added or completed."""
    steps = {tuple(r) for r in db.execute(
        "SELECT step_idx, label, type, t_start_s, t_end_s FROM steps WHERE run_id = ?", (run_id,))}
    iterations = {(i, k, a): b for i, k, a, b in db.execute(
        "SELECT step_idx, iteration, t_start_s, t_end_s FROM iterations WHERE run_id = ?",
        (run_id,))}
    gaps = {tuple(r) for r in db.execute(
        "SELECT step_idx, t_start_s, t_end_s FROM gaps WHERE run_id = ?", (run_id,))}
    changed = 0
    for sql, row in rows:
        if sql is _STEP_SQL:
            _run, idx, _path, label, kind, a, b = row
            if (idx, label, kind, a, b) in steps:
                continue
        elif sql is _ITERATION_SQL:
            _run, idx, k, _count, a, b, _worst = row
            if (idx, k, a) in iterations:
                if iterations[(idx, k, a)] is None and b is not None:
                    db.execute("UPDATE iterations SET t_end_s = ? WHERE run_id = ? AND "
                               "step_idx = ? AND iteration = ? AND t_start_s = ?",
                               (b, run_id, idx, k, a))
                    changed += 1
                continue
        elif (row[1], row[2], row[3]) in gaps:
            continue
        db.execute(sql, (run_id, *row[1:]))
        changed += 1
    return changed


def migrate_rows(db: Any) -> None:
    """Fill the run-record tables from the events of a store written before v7, in the
    caller's transaction (either engine's connection)."""
    rows = db.execute("SELECT run_id, t, kind, message FROM events WHERE kind IN "
                      "('step', 'cycle', 'iteration', 'gap') ORDER BY id").fetchall()
    by_run: dict[int, list[Event]] = {}
    for run_id, t, kind, message in rows:
        by_run.setdefault(int(run_id), []).append(Event(t, kind, message))
    for run_id, events in by_run.items():
        steps, iterations, gaps = _from_event_text(events)
        db.executemany(_STEP_SQL, [(run_id, b.index, str(b.index), b.name, b.kind, b.t_start_s,
                                    b.t_end_s) for b in steps])
        db.executemany(_ITERATION_SQL, [(run_id, it.step_index, it.iteration, it.count,
                                         it.t_start_s, it.t_end_s, worst_to_json(it.worst))
                                        for it in iterations])
        db.executemany(_GAP_SQL, [(run_id, g.step_index, g.t_start_s, g.t_end_s) for g in gaps])


def migrate_event_text(db: Any) -> None:
    """:func:`migrate_rows` in a transaction of its own (SQLite's upgrade)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        migrate_rows(db)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


#: how stores before v7 wrote the record into events' text: a step as it ended …
_STEP_TEXT = re.compile(r"^(\d+) (.+) (\S+) (-?[\d.]+)\.\.(-?[\d.]+)$")
#: … an iteration of a top-level repeat as it started (``cycle``; ``iteration`` with the
#: worst verdicts so far when the protocol's on_host_loss was "hold") …
_CYCLE_TEXT = re.compile(r" iteration (\d+)/(\d+)$")
_ITERATION_TEXT = re.compile(r"^(\d+) (\d+)/(\d+) started; worst so far: (.*)$")
#: … and a gap
_GAP_TEXT = re.compile(r"without samples \((-?[\d.]+)\.\.(-?[\d.]+) s\).*resumed at step (\d+)")
#: two times closer than this are one (the step events' times are written to 1 ms)
_SAME_S = 1.5e-3


def _from_event_text(
    events: Iterable[Event],
) -> tuple[list[StepBoundary], list[Iteration], list[Gap]]:
    """The run record of a store written before v7, read from its events' text."""
    steps: list[StepBoundary] = []
    cycles: list[tuple[float, int, int]] = []  # (start, iteration, count)
    worst: dict[tuple[int, int], str] = {}  # (step, iteration) -> worst verdicts, JSON
    gaps: list[Gap] = []
    for ev in events:
        if ev.kind == "step" and (m := _STEP_TEXT.match(ev.message)):
            steps.append(StepBoundary(int(m[1]), m[2], m[3], float(m[4]), float(m[5])))
        elif ev.kind == "cycle" and ev.t_s is not None and (m := _CYCLE_TEXT.search(ev.message)):
            cycles.append((float(ev.t_s), int(m[1]), int(m[2])))
        elif ev.kind == "iteration" and (m := _ITERATION_TEXT.match(ev.message)):
            worst[int(m[1]), int(m[2])] = m[4]
        elif ev.kind == "gap" and (m := _GAP_TEXT.search(ev.message)):
            gaps.append(Gap(float(m[1]), float(m[2]), int(m[3])))
    # the repeat of each iteration: the step that spans it, else the one the host loss cut
    spans = [(s.index, s.t_start_s, s.t_end_s, s.kind) for s in steps if s.t_end_s is not None]
    owner = [next((i for i, a, b, kind in spans if kind == "repeat" and a - _SAME_S <= t <= b),
                  max((i for i, _, b, _ in spans if b <= t + _SAME_S), default=-1) + 1)
             for t, _, _ in cycles]
    ends = {i: b for i, _, b, _ in spans}
    iterations: list[Iteration] = []
    for n, (t, k, count) in enumerate(cycles):
        index = owner[n]
        t_end = ends.get(index)  # the last one ends with its repeat
        if n + 1 < len(cycles) and owner[n + 1] == index:
            # the next one starts as this one ends, unless this one was cut and runs again
            t_end = cycles[n + 1][0] if cycles[n + 1][1] != k else None
        text = worst.get((index, k))
        iterations.append(Iteration(index, k, count, t, t_end,
                                    None if text is None else worst_from_json(text)))
    return steps, iterations, gaps


__all__ = ["RecordStore", "insert_record", "migrate_event_text", "migrate_rows", "record_rows"]
