"""Reading commands (runs, export, report) never write: an empty or foreign file stays as it
was (exit 2, one line), and a writable store of the current schema is opened read-only."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from test_store_hardening import cli, filled_store

from presshil.store import Store


@pytest.mark.parametrize("command", [["runs"], ["export", "1"], ["report", "1"]])
def test_a_read_command_on_an_empty_file_writes_nothing_and_says_so(tmp_path: Path, command) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    code, out = cli(*command, "--db", str(empty))
    assert code == 2 and "not a results store" in out and len(out.strip().splitlines()) == 1, out
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite"]


def test_a_foreign_database_is_not_turned_into_a_store(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    code, out = cli("runs", "--db", str(other))
    assert code == 2 and "not a results store" in out
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before


def test_a_writable_current_store_is_opened_read_only(tmp_path: Path) -> None:
    path = filled_store(tmp_path / "r.sqlite", runs=1)
    store = Store.open_for_reading(path)
    try:
        assert store.read_only and [r.status for r in store.list_runs()] == ["passed"]
    finally:
        store.close()
