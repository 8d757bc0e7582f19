"""The audit trail: every run, finish, resume, export and push is a hash-chained entry;
`presshil audit verify` re-walks the chain and names the first broken link. Real SQLite files
and the session's throwaway PostgreSQL server."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.store import Store
from presshil.store_audit import GENESIS, entries, entry_hash, verify

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "tests" / "data" / "quick-hold.toml"


def _run(db: str, *extra: str) -> None:
    result = CliRunner().invoke(app, ["run", str(QUICK), "--db", db, "-q", *extra])
    assert result.exit_code == 0, result.output


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store on each engine."""
    if request.param == "sqlite":
        return str(tmp_path / "r.sqlite")
    return str(request.getfixturevalue("pg_url"))


def test_two_runs_of_one_protocol_chain_five_entries_with_its_text_stored_once(location: str) -> None:
    _run(location, "--operator", "a.lovelace", "--station", "press-1")
    _run(location)
    text = QUICK.read_text(encoding="utf-8")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with Store(location) as store:
        got = entries(store)
        runs = store.list_runs()
        docs = store._db.execute("SELECT sha256, kind, name, text FROM documents").fetchall()
    assert [e.action for e in got] == ["first-seen", "run", "finish", "run", "finish"]
    assert docs == [(sha, "protocol", "quick-hold", text)]
    assert got[1].detail["protocol_sha256"] == sha == runs[0].protocol_sha256
    assert (got[1].actor, got[1].station, got[1].run_uuid) == ("a.lovelace", "press-1", runs[0].run_uuid)
    assert got[2].detail == {"run_id": runs[0].id, "status": "passed"}
    assert got[3].actor not in ("", "a.lovelace") and got[3].run_uuid == runs[1].run_uuid
    assert got[0].prev_hash == GENESIS
    for before, after in zip(got, got[1:], strict=False):
        assert after.prev_hash == before.hash
    e = got[4]
    assert e.hash == entry_hash(e.prev_hash, e.at_utc, e.actor, e.station, e.action, e.run_uuid,
                                json.dumps(e.detail, sort_keys=True, ensure_ascii=False))
    result = CliRunner().invoke(app, ["audit", "verify", "--db", location])
    assert result.exit_code == 0, result.output
    assert f"5 entries, every link holds (last hash {e.hash})" in result.output


def test_verify_names_the_first_changed_entry(tmp_path: Path) -> None:
    db = str(tmp_path / "r.sqlite")
    _run(db)
    _run(db)
    with sqlite3.connect(db) as con:  # someone edits how run 1 ended
        con.execute("""UPDATE audit SET detail = '{"run_id": 1, "status": "failed"}' WHERE id = 3""")
    result = CliRunner().invoke(app, ["audit", "verify", "--db", db])
    assert result.exit_code == 1
    assert "broken at entry 3: its hash does not match its contents" in result.stderr
    assert "the 2 entries before it hold" in result.stderr


def test_verify_names_the_entry_after_a_removed_one(location: str) -> None:
    _run(location)
    _run(location)
    with Store(location) as store:
        store._db.execute("DELETE FROM audit WHERE id = 2")  # only an administrator could
        found = verify(store)
    assert (found.broken_id, found.entries) == (3, 1)
    assert "previous hash" in found.why
    result = CliRunner().invoke(app, ["audit", "verify", "--db", location])
    assert result.exit_code == 1 and "broken at entry 3" in result.stderr


def test_export_and_push_are_entries_of_the_trail(tmp_path: Path, pg_url: str) -> None:
    station = str(tmp_path / "station.sqlite")
    _run(station, "--station", "offline-bench")
    result = CliRunner().invoke(app, ["push", "--db", station, "--to", pg_url])
    assert result.exit_code == 0, result.output
    out = tmp_path / "run.csv"
    result = CliRunner().invoke(app, ["export", "1", "--db", pg_url, "--output", str(out)])
    assert result.exit_code == 0, result.output
    with Store(pg_url) as store:
        got = entries(store)
        run_uuid = store.get_run(1).run_uuid
        found = verify(store)
    assert [e.action for e in got] == ["first-seen", "push", "export"]
    assert got[1].run_uuid == got[2].run_uuid == run_uuid
    assert got[1].detail["from_station"] == "offline-bench"
    assert got[2].detail == {"run_id": 1, "format": "csv", "file": "run.csv"}
    assert found.broken_id is None and found.entries == 3


def test_a_store_without_an_audit_trail_is_one_line_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["audit", "verify", "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2 and "no results store at" in result.stderr


def test_a_run_on_a_profiled_press_records_the_profile_sha256_and_its_text(tmp_path: Path) -> None:
    from presshil.protocol import load_protocol

    proto = load_protocol(QUICK)
    profile = ROOT / "profiles" / "plc-hydraulic-press.toml"
    text = profile.read_text(encoding="utf-8")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with Store(tmp_path / "r.sqlite") as store:
        for _ in range(2):  # the second run finds both documents already stored
            run = store.start_run(protocol=proto, press_url="modbus+tcp://127.0.0.1:1502?profile=plc-hydraulic-press",
                                  identity={"serial": "PLC-7"}, seed=None)
            store.finish_run(run, "passed")
        got = entries(store)
        docs = dict(store._db.execute("SELECT kind, sha256 FROM documents").fetchall())
    assert [e.action for e in got] == ["first-seen", "first-seen", "run", "finish", "run", "finish"]
    assert got[1].detail == {"kind": "profile", "name": "plc-hydraulic-press", "sha256": sha}
    assert got[2].detail["profile_sha256"] == sha and got[2].detail["press"] == "PLC-7"
    assert docs == {"protocol": proto.sha256, "profile": sha}


def test_a_profile_given_by_path_is_recorded_as_by_name(tmp_path: Path) -> None:
    from presshil.store_audit import profile_document

    path = ROOT / "profiles" / "plc-hydraulic-press.toml"
    text = path.read_text(encoding="utf-8")
    by_name = profile_document("modbus+tcp://127.0.0.1:1502?profile=plc-hydraulic-press")
    by_path = profile_document(f"modbus+tcp://127.0.0.1:1502?profile={path}")
    assert by_name == ("profile", "plc-hydraulic-press", text)
    assert by_path == ("profile", str(path), text)
    assert profile_document("modbus+tcp://127.0.0.1:1502?profile=no-such-profile") is None
