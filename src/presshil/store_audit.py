"""The audit trail: an append-only, hash-chained log of what was run, resumed, finished and
exported, by whom, and the text of each protocol the first time the store sees it.

Each entry's ``hash`` is the sha256 of the previous entry's hash and the entry's own fields
(canonical JSON), so changing, removing or reordering any entry breaks every link after it;
:func:`verify` walks the chain from the start and names the first entry that does not hold.
Entries are appended one at a time under the store's write lock (SQLite's ``BEGIN
IMMEDIATE``; a transaction-scoped advisory lock on PostgreSQL), so writers on many stations
extend one chain. The code only ever inserts into ``audit`` and ``documents``; a station's
PostgreSQL role is granted nothing else on them (docs/results-store.md).

What it proves and what it does not: a chain that verifies has not been edited by anyone who
could not also recompute every later hash. Someone with write access to the whole database
can rewrite the chain from the point they changed; keep the last hash somewhere else (a
report, a ticket) to pin it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Store
    from .store_runs import RunLifecycle

#: the previous hash of the first entry
GENESIS = "0" * 64
#: a transaction-scoped PostgreSQL advisory lock: one appender at a time across stations
_PG_LOCK = 7474011
_FIELDS = "at_utc, actor, station, action, run_uuid, detail, prev_hash, hash"


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain."""

    id: int
    at_utc: str
    actor: str
    station: str
    action: str
    run_uuid: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found: entries checked, and the first broken one (or None)."""

    entries: int
    last_hash: str
    broken_id: int | None = None
    why: str = ""


def operator_name(given: str | None = None) -> str:
    """``--operator`` when given, else the OS user (``unknown`` where the OS cannot tell)."""
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def profile_document(press_url: str) -> tuple[str, str, str] | None:
    """``("profile", name, text)`` of the device profile a press URL names (``?profile=``),
    or None: no profile named, or its file cannot be read here."""
    from .urls import stored_param

    name = stored_param(press_url, "profile")
    if not name:
        return None
    from pathlib import Path

    from . import library
    from .errors import PresshilError

    try:  # a file path, or a name the library finds; the profile is not loaded
        path = library.find("profiles", Path(name).expanduser())
        return ("profile", name, path.read_text(encoding="utf-8"))
    except (PresshilError, OSError, UnicodeDecodeError):
        return None


def sha256_text(text: str) -> str:
    """The sha256 of a document's text (UTF-8), as ``documents.sha256`` keys it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(prev_hash: str, at_utc: str, actor: str, station: str, action: str,
               run_uuid: str | None, detail: str) -> str:
    """The hash of an entry: sha256 over the previous hash and its fields, canonical JSON."""
    body = json.dumps([prev_hash, at_utc, actor, station, action, run_uuid, detail],
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append_locked(store: RunLifecycle, action: str, run_uuid: str | None, detail: dict[str, Any],
                  documents: tuple[tuple[str, str, str], ...] = ()) -> AuditEntry:
    """Append one entry (and a ``first-seen`` entry before it for each new document
    ``(kind, name, text)``) in the caller's transaction; ``store._db_lock`` held and a write
    transaction open."""
    db = store._db
    if store.engine == "postgresql":
        db.execute("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK,))
    entry = None
    for kind, name, text in documents:
        sha = sha256_text(text)
        if db.execute("SELECT 1 FROM documents WHERE sha256 = ?", (sha,)).fetchone() is None:
            db.execute("INSERT INTO documents (sha256, kind, name, text, first_utc) "
                       "VALUES (?, ?, ?, ?, ?)", (sha, kind, name, text, _now()))
            _append_one(store, "first-seen", None, {"kind": kind, "name": name, "sha256": sha})
    entry = _append_one(store, action, run_uuid, detail)
    return entry


def _append_one(store: RunLifecycle, action: str, run_uuid: str | None,
                detail: dict[str, Any]) -> AuditEntry:
    db = store._db
    row = db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS
    at, text = _now(), json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str)
    actor, station = store.operator, store.station
    digest = entry_hash(prev, at, actor, station, action, run_uuid, text)
    cur = db.execute(f"INSERT INTO audit ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (at, actor, station, action, run_uuid, text, prev, digest))
    new_id = cur.lastrowid
    return AuditEntry(int(new_id), at, actor, station, action, run_uuid, detail, prev, digest)


def append(store: RunLifecycle, action: str, run_uuid: str | None, detail: dict[str, Any],
           documents: tuple[tuple[str, str, str], ...] = ()) -> AuditEntry:
    """Append one entry in a transaction of its own."""
    with store._db_lock:
        store._db.execute("BEGIN IMMEDIATE")
        try:
            entry = append_locked(store, action, run_uuid, detail, documents)
            store._db.execute("COMMIT")
        except BaseException:
            if store._db.in_transaction:
                store._db.execute("ROLLBACK")
            raise
    return entry


def entries(store: Store) -> list[AuditEntry]:
    """Every entry, in the order they were appended."""
    with store._db_lock:
        rows = store._db.execute(f"SELECT id, {_FIELDS} FROM audit ORDER BY id").fetchall()
    return [AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8])
            for r in rows]


def verify(store: Store) -> Verification:
    """Walk the chain from its start; the first entry whose link or hash does not hold."""
    if not store._columns("audit"):
        from .errors import ConfigError

        raise ConfigError(f"{store.where}: the store has no audit trail (written before "
                          "schema v6 and opened read-only)")
    prev, n = GENESIS, 0
    with store._db_lock:
        rows = store._db.execute(f"SELECT id, {_FIELDS} FROM audit ORDER BY id").fetchall()
    for entry_id, at, actor, station, action, run_uuid, detail, prev_hash, digest in rows:
        if prev_hash != prev:
            return Verification(n, prev, entry_id, "its previous hash is not the hash of the "
                                "entry before it (an entry was removed, inserted or reordered)")
        if entry_hash(prev_hash, at, actor, station, action, run_uuid, detail) != digest:
            return Verification(n, prev, entry_id, "its hash does not match its contents "
                                "(the entry was changed)")
        prev, n = digest, n + 1
    return Verification(n, prev)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


__all__ = ["GENESIS", "AuditEntry", "Verification", "append", "append_locked", "entries",
           "entry_hash", "operator_name", "profile_document", "sha256_text", "verify"]
