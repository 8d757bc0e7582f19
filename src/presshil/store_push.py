"""``presshil push``: a station that ran offline sends its runs to the lab's server later.

Each run goes across whole — its row, samples, events, verdicts, temperatures and record
(steps, iterations, gaps) — in one transaction on the target, so the server never holds half
a run. A run is known by its UUID (``runs.run_uuid``, unique on both engines): a run the
target already has is left alone, so a second push, or two stations pushing the same file,
changes nothing. Each run pushed is a ``push`` entry of the target's audit trail (who pushed
it, from which station). A run the target has only in part — one that went on into a local
spool while the server was away (:mod:`presshil.store_spool`) — is completed there with what
it lacks (:func:`~presshil.store_merge.merge_run`). Runs still
``running`` are not sent (they would be sent unfinished); push again once they have ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .store import Store
from .store_merge import merge_run
from .store_record import insert_record, record_rows

#: the columns of ``runs`` copied as they are (the id is the target's own)
RUN_COLUMNS = ("protocol_name, protocol_source, protocol_text, protocol_sha256, press_url, "
               "identity_json, firmware_version, seed, started_utc, finished_utc, status, pid, "
               "pid_start, hostname, n_channels, n_samples, lease_token, meta_json, station, "
               "run_uuid")
_N_SAMPLES = RUN_COLUMNS.split(", ").index("n_samples")
_SAMPLE_COLUMNS = "seq, t, setpoint, pressure, force, position, status, channels"
CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class PushResult:
    """What a push did: runs sent (and their samples), runs the target had, runs left."""

    pushed: list[str]
    samples: int
    already: list[str]
    running: list[str]


def push(source: Store, target: Store,
         progress: Callable[[str, int], None] | None = None) -> PushResult:
    """Copy every finished run of ``source`` that ``target`` lacks (by run UUID) into it."""
    if source.damage is not None:
        raise ConfigError(f"{source.where}: the store is damaged ({source.damage}); push reads "
                          "a sound store only (`presshil runs` lists what still reads)")
    pushed: list[str] = []
    already: list[str] = []
    running: list[str] = []
    samples = 0
    for info in source.list_runs():
        if info.run_uuid is None:
            raise ConfigError(f"{source.where}: run {info.id} has no UUID (a store older than "
                              "v6 opened read-only); push from a writable copy")
        if info.status == "running":
            running.append(info.run_uuid)
            continue
        if _has(target, info.run_uuid):  # all of it, or the part a spool kept
            added = merge_run(source, target, info.run_uuid)
            (pushed if added else already).append(info.run_uuid)
            samples += added or 0
            continue
        n = _copy_run(source, target, info.id, info.run_uuid)
        if n is None:  # another push took it between the look and the copy
            already.append(info.run_uuid)
            continue
        pushed.append(info.run_uuid)
        samples += n
        if progress is not None:
            progress(info.run_uuid, n)
    return PushResult(pushed, samples, already, running)


def _has(target: Store, run_uuid: str) -> bool:
    with target._db_lock:
        return target._db.execute("SELECT 1 FROM runs WHERE run_uuid = ?",
                                  (run_uuid,)).fetchone() is not None


def _copy_run(source: Store, target: Store, run_id: int, run_uuid: str) -> int | None:
    """Copy one run in one transaction; its sample count, or None when the target got the
    same run meanwhile (its UUID is unique there)."""
    src, dst = source._db, target._db
    with source._db_lock:
        row = src.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        events = src.execute("SELECT t, kind, message FROM events WHERE run_id = ? ORDER BY id",
                             (run_id,)).fetchall()
        verdicts = src.execute(
            'SELECT step, criterion, value, "limit", unit, passed, detail, t_s, channel, '
            "step_start_s FROM verdicts WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        temps = src.execute("SELECT t, temperature_c FROM temperatures WHERE run_id = ? "
                            "ORDER BY t", (run_id,)).fetchall()
        record = record_rows(source, run_id)  # its steps, iterations and gaps
    marks = ", ".join("?" * len(row))
    with target._db_lock:
        dst.execute("BEGIN IMMEDIATE")
        try:
            if dst.execute("SELECT 1 FROM runs WHERE run_uuid = ?", (run_uuid,)).fetchone():
                dst.execute("ROLLBACK")
                return None
            new_id = dst.execute(f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({marks})",
                                 tuple(row)).lastrowid
            n = 0
            counted = int(row[_N_SAMPLES] or 0)
            for chunk in _sample_chunks(source, run_id, counted):
                rows = [(new_id, *r) for r in chunk]
                if target.engine == "postgresql":
                    dst.copy_samples(rows)
                else:
                    dst.executemany(f"INSERT INTO samples (run_id, {_SAMPLE_COLUMNS}) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                n += len(rows)
            if n != counted:  # rows and counter are committed together: never push half a run
                raise ConfigError(f"{source.where}: run {run_id} counts {counted} samples but "
                                  f"{n} were read; not pushed")
            dst.executemany("INSERT INTO events (run_id, t, kind, message) VALUES (?, ?, ?, ?)",
                            [(new_id, *e) for e in events])
            dst.executemany(
                'INSERT INTO verdicts (run_id, step, criterion, value, "limit", unit, passed, '
                "detail, t_s, channel, step_start_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(new_id, *v) for v in verdicts])
            dst.executemany("INSERT INTO temperatures (run_id, t, temperature_c) VALUES (?, ?, ?)",
                            [(new_id, *t) for t in temps])
            insert_record(dst, new_id, record)
            text_row = dict(zip(RUN_COLUMNS.split(", "), row, strict=True))
            target._audit("push", run_uuid, {"run_id": new_id, "from_station": text_row["station"],
                                             "from_store": source.where},
                          documents=(("protocol", text_row["protocol_name"],
                                      text_row["protocol_text"]),))
            dst.execute("COMMIT")
        except BaseException:
            if dst.in_transaction:
                dst.execute("ROLLBACK")
            raise
    return n


def _sample_chunks(source: Store, run_id: int, n_samples: int) -> Any:
    """The run's sample rows in ``seq`` order, ``CHUNK_ROWS`` at a time."""
    last = -1
    for _ in range(n_samples // CHUNK_ROWS + 2):  # the row's count, and one empty read to end
        with source._db_lock:
            rows = source._db.execute(
                f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE run_id = ? AND seq > ? "
                "ORDER BY seq LIMIT ?", (run_id, last, CHUNK_ROWS)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


__all__ = ["PushResult", "push"]
