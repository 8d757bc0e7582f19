"""A run's life in the results store: started, its lease token kept, resumed or given back,
finished; runs whose process died marked ``interrupted``; the audit trail's entries for each
(:class:`RunLifecycle`, a base of :class:`~presshil.store.Store`).

A run's row names the host and process that write it (the pid, with the boot id and start
tick that tell a reused pid apart): opening a store marks the runs of this host whose process
no longer exists as ``interrupted``, with an event saying so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .store_schema import RUN_STATUSES
from .store_write import StoreWriter, _write_errors


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


class RunLifecycle(StoreWriter):
    """Starting, resuming and finishing runs, and their audit entries (a base of
    :class:`~presshil.store.Store`)."""

    # set by Store.__init__
    station: str
    operator: str

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
            with self._write_transaction():
                cur = self._db.execute(
                    "UPDATE runs SET status = 'running', finished_utc = NULL, pid = ?, "
                    "pid_start = ?, hostname = ? WHERE id = ? AND status = 'interrupted'",
                    (os.getpid(), _pid_start(os.getpid()), socket.gethostname(), run_id))
                if cur.rowcount:
                    self._audit("resume", self._run_uuid(run_id), {"run_id": run_id})
            if cur.rowcount == 0:
                row = self._db.execute("SELECT status FROM runs WHERE id = ?",
                                       (run_id,)).fetchone()
                if row is None:
                    raise self._unknown(run_id)
                raise ConfigError(f"{self.where}: run {run_id} is {row[0]}: only an "
                                  "interrupted run can be resumed")
            self._seq[run_id] = self._next_seq(run_id)

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; a failed write is rolled back and raised as the
        store's one-line write error (the caller holds ``_db_lock``)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield
            self._db.execute("COMMIT")
        except _write_errors() as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise self._write_error(exc) from None

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
            with self._write_transaction():  # how it ended, and the audit entry
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
            if cur.rowcount == 0:
                raise self._unknown(run_id)


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


__all__ = ["RunLifecycle"]
