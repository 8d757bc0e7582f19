"""Complete a run the lab's server holds only in part from a spool (or station) store.

A run that went on into a local spool while the server was away (:mod:`presshil.store_spool`)
is on the server up to the moment it went away, and in the spool from about then on. The
merge adds, in one transaction on the server, what the server lacks of the run with the same
UUID: the samples whose ``seq`` it does not have (the run numbers its samples itself, so a
sample is the same sample on both sides), the events and verdicts it does not have, the
temperatures (the first one of a sample time stays), the steps, iterations and gaps of its
record it lacks (an iteration it has without an end takes the source's), and how the run ended when the server
still has it ``running`` or ``interrupted``. Merging again adds nothing.
"""

from __future__ import annotations

from typing import Any

from .store import Store
from .store_record import merge_record, record_rows

_SAMPLE_COLUMNS = "seq, t, setpoint, pressure, force, position, status, channels"
_VERDICT_COLUMNS = 'step, criterion, value, "limit", unit, passed, detail, t_s, channel, step_start_s'
CHUNK_ROWS = 20_000


def merge_run(source: Store, target: Store, run_uuid: str, *, finish: bool = True) -> int | None:
    """Add to ``target``'s run ``run_uuid`` what ``source`` has of it and it lacks; the number
    of samples added, or None when either store does not have the run. ``finish``: also take
    the source's final status when the target's run is still ``running``/``interrupted``."""
    with source._db_lock:
        src_row = source._db.execute("SELECT id, status, finished_utc, n_channels FROM runs "
                                     "WHERE run_uuid = ?", (run_uuid,)).fetchone()
        if src_row is None:
            return None
        src_id = src_row[0]
        events = source._db.execute("SELECT t, kind, message FROM events WHERE run_id = ? "
                                    "ORDER BY id", (src_id,)).fetchall()
        verdicts = source._db.execute(f"SELECT {_VERDICT_COLUMNS} FROM verdicts WHERE run_id = ? "
                                      "ORDER BY id", (src_id,)).fetchall()
        temps = source._db.execute("SELECT t, temperature_c FROM temperatures WHERE run_id = ? "
                                   "ORDER BY t", (src_id,)).fetchall()
        record = record_rows(source, src_id)  # its steps, iterations and gaps
    dst = target._db
    with target._db_lock:
        row = dst.execute("SELECT id, status FROM runs WHERE run_uuid = ?", (run_uuid,)).fetchone()
        if row is None:
            return None
        dst_id, dst_status = row
        dst.execute("BEGIN IMMEDIATE")
        try:
            added = _merge_samples(source, src_id, target, dst_id)
            have = {tuple(e) for e in dst.execute(
                "SELECT t, kind, message FROM events WHERE run_id = ?", (dst_id,)).fetchall()}
            dst.executemany("INSERT INTO events (run_id, t, kind, message) VALUES (?, ?, ?, ?)",
                            [(dst_id, *e) for e in events if tuple(e) not in have])
            judged = {_verdict_key(v) for v in dst.execute(
                f"SELECT {_VERDICT_COLUMNS} FROM verdicts WHERE run_id = ?", (dst_id,)).fetchall()}
            dst.executemany(f"INSERT INTO verdicts (run_id, {_VERDICT_COLUMNS}) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(dst_id, *v) for v in verdicts if _verdict_key(v) not in judged])
            merge_record(dst, dst_id, record)
            dst.executemany("INSERT OR IGNORE INTO temperatures (run_id, t, temperature_c) "
                            "VALUES (?, ?, ?)", [(dst_id, *t) for t in temps])
            dst.execute("UPDATE runs SET n_samples = n_samples + ?, n_channels = "
                        "COALESCE(n_channels, ?) WHERE id = ?", (added, src_row[3], dst_id))
            status = src_row[1]
            if finish and status != "running" and dst_status in ("running", "interrupted"):
                dst.execute("UPDATE runs SET status = ?, finished_utc = ? WHERE id = ?",
                            (status, src_row[2], dst_id))
                target._audit("finish", run_uuid, {"run_id": dst_id, "status": status,
                                                   "from_store": source.where})
            dst.execute("COMMIT")
        except BaseException:
            if dst.in_transaction:
                dst.execute("ROLLBACK")
            raise
    return added


def _verdict_key(v: Any) -> tuple[Any, ...]:
    # step, criterion, passed, t_s, channel (a value may be NaN, which equals nothing)
    return (v[0], v[1], int(v[5]), v[7], v[8])


def _merge_samples(source: Store, src_id: int, target: Store, dst_id: int) -> int:
    """Copy the source's samples whose seq the target lacks; how many (``_db_lock``s held by
    the caller for the target; the source is read a chunk at a time)."""
    added, last = 0, -1
    with source._db_lock:
        total = source._db.execute("SELECT COUNT(*) FROM samples WHERE run_id = ?",
                                   (src_id,)).fetchone()[0]
    for _ in range(total // CHUNK_ROWS + 2):  # every chunk, and one empty read to end
        with source._db_lock:
            rows = source._db.execute(f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE run_id = ? "
                                      "AND seq > ? ORDER BY seq LIMIT ?",
                                      (src_id, last, CHUNK_ROWS)).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        have = {r[0] for r in target._db.execute(
            "SELECT seq FROM samples WHERE run_id = ? AND seq >= ? AND seq <= ?",
            (dst_id, rows[0][0], last)).fetchall()}
        missing = [(dst_id, *r) for r in rows if r[0] not in have]
        if not missing:
            continue
        if target.engine == "postgresql":
            target._db.copy_samples(missing)
        else:
            target._db.executemany(f"INSERT INTO samples (run_id, {_SAMPLE_COLUMNS}) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", missing)
        added += len(missing)
    return added


__all__ = ["merge_run"]
