"""The results store on a real PostgreSQL server: the same schema and behaviour as on SQLite,
one-line refusals before any press is commanded, a SIGKILLed writer, four writers at once.

The server is the session's throwaway cluster (tests/pg_cluster.py, loopback only); every
test gets its own empty database.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pg_cluster import PASSWORD_ROLE, PgServer
from typer.testing import CliRunner
from waiting import wait_for

from presshil.cli import app
from presshil.metrics import Verdict
from presshil.store import Store
from presshil.store_schema import SCHEMA, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "tests" / "data" / "quick-hold.toml"
WAIT_S = 120  # the most a child process may take; every wait below is bounded by it


class FakeProtocol:
    name = "assembly-74mpa"
    source = "protocols/assembly-74mpa.toml"
    text = 'name = "assembly-74mpa"\n'
    sha256 = "ab" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(store: Store, n: int = 2500) -> int:
    run = store.start_run(protocol=FakeProtocol(), press_url="sim://?seed=1",
                          identity={"vendor": "v", "firmware": "1.2"}, seed=1,
                          meta={"cell": "A7"})
    for i in range(n):
        store.add_sample(run, (0.01 * i, 5.0, 5.0 + i * 1e-3, 1.0, 0.5, 7, (0.25, 0.5, 0.125)))
        if i % 100 == 0:
            store.add_temperature(run, 0.01 * i, 25.0 + i * 1e-3)
    store.add_event(run, 1.0, "note", "halfway")
    store.add_verdicts(run, [Verdict("hold", "band_mpa", 0.2, 0.5, "MPa", True, "ok", 3.0, None, 1.0),
                             Verdict("hold", "drift", float("nan"), 1.0, "MPa", False, "", None, 2, None)])
    store.finish_run(run, "failed")
    return run


def _snapshot(store: Store, run: int) -> dict[str, object]:
    """What a reader sees of a run, without the fields that differ by engine or moment."""
    info = store.get_run(run)
    tr = store.load_trace(run)
    t, c = store.temperatures(run)
    return {
        "info": (info.protocol_name, info.press_url, info.identity, info.firmware_version,
                 info.seed, info.status, info.n_channels, info.n_samples, info.station),
        "trace": [getattr(tr, k).tolist() for k in ("t", "setpoint", "pressure", "force",
                                                    "position", "status", "channels")],
        "temps": (t.tolist(), c.tolist()),
        "events": store.events(run),
        "verdicts": [(v.step, v.criterion, v.passed, v.detail, v.t_s, v.channel)
                     for v in store.verdicts(run)],
        "meta": store.meta(run),
    }


# --- one schema, one behaviour --------------------------------------------------------------

#: a column's type as each engine names it: SQLite's declared type -> PostgreSQL's data_type
_PG_TYPE = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"}

_PG_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'NO',
       COALESCE(k.ordinal_position, 0)
FROM information_schema.columns c
LEFT JOIN information_schema.table_constraints p
  ON p.table_schema = c.table_schema AND p.table_name = c.table_name
 AND p.constraint_type = 'PRIMARY KEY'
LEFT JOIN information_schema.key_column_usage k
  ON k.constraint_name = p.constraint_name AND k.table_schema = p.table_schema
 AND k.table_name = c.table_name AND k.column_name = c.column_name
WHERE c.table_schema = current_schema()
ORDER BY c.table_name, c.ordinal_position
"""
#: the indexes a statement made (not those behind a primary key)
_PG_INDEXES = """
SELECT i.relname, t.relname, x.indisunique, array_agg(a.attname::text ORDER BY k.n)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace ns ON ns.oid = t.relnamespace
CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE ns.nspname = current_schema() AND NOT x.indisprimary
GROUP BY i.relname, t.relname, x.indisunique
"""


def _sqlite_shape(db: sqlite3.Connection) -> tuple[dict[str, list[tuple[object, ...]]],
                                                   dict[str, tuple[object, ...]]]:
    """Each table's columns (name, type as PostgreSQL names it, NOT NULL, position in the
    primary key or 0), and each made index (table, unique, columns)."""
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    columns = {t: [(name, _PG_TYPE[kind], bool(notnull or pk), pk)
                   for _, name, kind, notnull, _, pk in db.execute(f"PRAGMA table_info({t})")]
               for t in tables}
    indexes = {name: (t, bool(unique), [r[2] for r in db.execute(f"PRAGMA index_info({name})")])
               for t in tables
               for _, name, unique, origin, _ in db.execute(f"PRAGMA index_list({t})")
               if origin == "c"}
    return columns, indexes


def _pg_shape(db: object) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, tuple[object, ...]]]:
    """What :func:`_sqlite_shape` reads, from the server's catalogue."""
    columns: dict[str, list[tuple[object, ...]]] = {}
    for table, name, kind, notnull, pk in db.execute(_PG_COLUMNS).fetchall():  # type: ignore[attr-defined]
        columns.setdefault(table, []).append((name, kind, notnull, pk))
    indexes = {name: (table, unique, list(cols))
               for name, table, unique, cols in db.execute(_PG_INDEXES).fetchall()}  # type: ignore[attr-defined]
    return columns, indexes


def test_both_engines_create_the_same_tables_and_columns(tmp_path: Path, pg_url: str) -> None:
    from presshil.store_pg import columns

    with Store(tmp_path / "r.sqlite") as lite:
        tables = [r[0] for r in lite._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        on_sqlite = {t: [r[1] for r in lite._db.execute(f"PRAGMA table_info({t})")] for t in tables}
        assert lite._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        lite_columns, lite_indexes = _sqlite_shape(lite._db)
    with Store(pg_url) as pg:
        on_pg = columns(pg._db)
        assert pg._db.execute("SELECT version FROM presshil_schema").fetchall() == [(SCHEMA_VERSION,)]
        pg_columns, pg_indexes = _pg_shape(pg._db)
    assert on_pg.pop("presshil_schema") == ["version"]  # where PostgreSQL keeps the version
    assert on_pg == on_sqlite
    assert {"station", "run_uuid"} <= set(on_pg["runs"])
    # and each column's type, NOT NULL and place in the primary key; each index, unique or not
    assert pg_columns.pop("presshil_schema") == [("version", "integer", True, 0)]
    assert pg_columns == lite_columns
    assert ("id", "bigint", True, 1) in pg_columns["runs"]
    assert ("seq", "bigint", True, 2) in pg_columns["samples"]
    assert pg_indexes == lite_indexes
    assert pg_indexes["runs_uuid"] == ("runs", True, ["run_uuid"])  # a run is pushed once
    assert {"events_run", "verdicts_run", "steps_run", "iterations_run"} <= set(pg_indexes)


def test_the_postgresql_schema_is_the_sqlite_schema_respelled() -> None:
    from presshil.store_pg import PG_SCHEMA
    from presshil.store_schema import LATE_SCHEMA, pg_spelling

    made = re.compile(r"CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (\w+)")
    assert made.findall(PG_SCHEMA) == ["presshil_schema", *made.findall(SCHEMA + LATE_SCHEMA)]
    for sqlite_only in ("WITHOUT ROWID", "BLOB", "REAL", "INTEGER PRIMARY KEY", "--", "OR IGNORE"):
        assert sqlite_only not in PG_SCHEMA, sqlite_only
    assert pg_spelling("CREATE TABLE x (\n  id INTEGER PRIMARY KEY,  -- the rowid\n"
                       "  n INTEGER NOT NULL, interval REAL, b BLOB\n) WITHOUT ROWID;") == (
        "CREATE TABLE x (\n  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
        "  n BIGINT NOT NULL, interval DOUBLE PRECISION, b BYTEA\n);")


def test_a_run_reads_back_the_same_from_either_engine(tmp_path: Path, pg_url: str) -> None:
    with Store(tmp_path / "r.sqlite", station="bench-2") as lite, \
            Store(pg_url, station="bench-2") as pg:
        a, b = _snapshot(lite, _fill(lite)), _snapshot(pg, _fill(pg))
    assert a["info"] == b["info"]
    assert a["info"][7] == 2500 and a["info"][8] == "bench-2"  # type: ignore[index]
    assert a["trace"] == b["trace"]
    assert a["temps"] == b["temps"] and len(a["temps"][0]) == 25  # type: ignore[index]
    assert a == b


def test_a_run_has_a_uuid_and_the_host_as_station_by_default(pg_url: str) -> None:
    with Store(pg_url) as store:
        run = _fill(store, 10)
        other = _fill(store, 10)
        info = store.get_run(run)
        assert info.station == socket.gethostname()
        assert info.run_uuid is not None and len(info.run_uuid) == 36
        assert info.run_uuid != store.get_run(other).run_uuid


def test_export_from_postgresql_is_byte_for_byte_the_sqlite_export(tmp_path: Path, pg_url: str) -> None:
    with Store(tmp_path / "r.sqlite") as lite, Store(pg_url) as pg:
        a = lite.export(_fill(lite), tmp_path / "a.csv")
        b = pg.export(_fill(pg), tmp_path / "b.csv")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_text().count("\n") == 2501


def test_a_v5_sqlite_store_is_upgraded_with_a_uuid_for_every_run(tmp_path: Path) -> None:
    new, path = tmp_path / "new.sqlite", tmp_path / "old.sqlite"
    with Store(new) as store:
        runs = [_fill(store, 5) for _ in range(3)]
    # the v5 schema: runs without station and run_uuid, its rows copied from the new store
    v5 = re.sub(r"(?m)^\s*(station|run_uuid)\b.*\n", "", SCHEMA)
    v5 = v5.replace("meta_json        TEXT,", "meta_json        TEXT")
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(v5)
    db.execute("ATTACH DATABASE ? AS new", (str(new),))
    v5_columns = ", ".join(r[1] for r in db.execute("PRAGMA main.table_info(runs)"))
    db.execute(f"INSERT INTO main.runs SELECT {v5_columns} FROM new.runs")
    db.execute("DETACH DATABASE new")
    db.execute("PRAGMA user_version = 5")
    db.close()
    with Store(path) as store:
        infos = [store.get_run(r) for r in runs]
    assert len({i.run_uuid for i in infos}) == 3 and None not in {i.run_uuid for i in infos}
    assert {i.station for i in infos} == {socket.gethostname()}


# --- the command line ------------------------------------------------------------------------

def test_run_with_a_postgresql_url_stores_the_run_with_its_station(pg_url: str) -> None:
    result = CliRunner().invoke(app, ["run", str(QUICK), "--db", pg_url, "-q", "--station", "press-3"])
    assert result.exit_code == 0, result.output
    assert "run 1: PASSED" in result.output
    with Store(pg_url) as store:
        info = store.get_run(1)
        assert (info.status, info.station) == ("passed", "press-3")
        assert info.n_samples == len(store.load_trace(1)) > 100


def test_presshil_db_names_the_store_when_db_is_not_given(pg_url: str, tmp_path: Path) -> None:
    with Store(pg_url) as store:
        _fill(store, 10)
    result = CliRunner().invoke(app, ["runs"], env={"PRESSHIL_DB": pg_url})
    assert result.exit_code == 0, result.output
    assert "assembly-74mpa" in result.output
    out = tmp_path / "one.csv"
    result = CliRunner().invoke(app, ["export", "1", "--output", str(out)], env={"PRESSHIL_DB": pg_url})
    assert result.exit_code == 0, result.output
    assert out.read_text().count("\n") == 11


def _bad_stores(pg_server: PgServer) -> list[tuple[str, str, str]]:
    newer = pg_server.new_db()
    with Store(newer) as store:
        store._db.execute("UPDATE presshil_schema SET version = ?", (SCHEMA_VERSION + 1,))
    return [
        ("unreachable", f"postgresql://presshil@127.0.0.1:{_free_port()}/nowhere", "cannot open"),
        ("wrong-password", pg_server.url("postgres", PASSWORD_ROLE, "wrong"), "password authentication failed"),
        ("newer-schema", newer, f"schema v{SCHEMA_VERSION + 1} is newer"),
        ("unknown-scheme", "mysql://lab@127.0.0.1:3306/presshil", "unknown store scheme 'mysql'"),
    ]


def test_a_bad_store_is_one_line_exit_2_and_the_press_is_never_reached(pg_server: PgServer) -> None:
    for name, url, words in _bad_stores(pg_server):
        press = socket.socket()  # a Modbus press that would see any connection
        press.bind(("127.0.0.1", 0))
        press.listen(1)
        press.setblocking(False)
        try:
            port = press.getsockname()[1]
            result = CliRunner().invoke(
                app, ["run", str(QUICK), "--db", url, "-q", "--press", f"modbus+tcp://127.0.0.1:{port}"])
            assert result.exit_code == 2, (name, result.output)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error:"), (name, result.stderr)
            assert words in lines[0], (name, lines[0])
            assert "wrong" not in lines[0]  # a password never shows
            with pytest.raises(BlockingIOError):
                press.accept()  # nobody connected: the press was never opened
        finally:
            press.close()


def test_a_bad_store_is_one_line_exit_2_for_the_reading_commands(pg_server: PgServer) -> None:
    for name, url, words in _bad_stores(pg_server):
        cycler = ROOT / "tests" / "data"  # never read: the store is refused first
        for args in (["runs"], ["export", "1"], ["report", "1"], ["audit", "verify"],
                     ["join", "1", str(cycler)]):
            result = CliRunner().invoke(app, [*args, "--db", url])
            assert result.exit_code == 2, (name, args, result.output)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and words in lines[0], (name, args, result.stderr)


# --- crash safety with a real process --------------------------------------------------------

CHILD = """
import sys, time
from presshil.store import Store

class P:
    name = "crash"; source = "<test>"; text = "x"; sha256 = "0" * 64

store = Store(sys.argv[1])
run = store.start_run(protocol=P(), press_url="sim://", identity={}, seed=7)
print(run, flush=True)
for _ in range(200_000):  # bounded: the parent kills it within seconds
    store.add_sample(run, (time.time(), 74.0, 74.0, 5.8, 1.0, 7, (1.9, 2.0, 1.9)))
    time.sleep(0.002)  # the child's sampling pace
"""


@pytest.mark.slow
def test_sigkill_on_postgresql_keeps_what_was_flushed_and_marks_the_run_interrupted(pg_url: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, pg_url], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        run = int(proc.stdout.readline())  # type: ignore[union-attr]
        with Store(pg_url) as watcher:  # wait for what we observe: samples committed
            wait_for(lambda: watcher.get_run(run).n_samples >= 200, timeout_s=WAIT_S,
                     what="200 samples committed", poll_s=0.05)
        time.sleep(1.0)  # the behaviour under test: a second more of streaming, then the kill
    finally:
        t_kill = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT_S)
    assert proc.returncode == -signal.SIGKILL
    with Store(pg_url) as store:
        info = store.get_run(run)
        assert info.status == "interrupted"
        assert [e.kind for e in store.events(run)] == ["interrupted"]
        tr = store.load_trace(run)
        assert len(tr) >= 200
        assert t_kill - tr.t[-1] <= 1.0, f"lost {t_kill - tr.t[-1]:.2f} s of samples"
        assert info.n_samples == len(tr)  # counter and rows committed together
        assert np.all(np.diff(tr.t) > 0)


# --- many writers at once --------------------------------------------------------------------

WRITERS = 4


def _protocol(tmp_path: Path) -> Path:
    """quick-hold with more samples, so that each writer commits many times."""
    text = QUICK.read_text().replace("rate_hz = 20", "rate_hz = 200").replace(
        "duration_s = 10", "duration_s = 30")
    path = tmp_path / "dense-hold.toml"
    path.write_text(text)
    return path


def _run_all(protocol: Path, db: str, tag: str) -> None:
    procs = [subprocess.Popen(
        [sys.executable, "-m", "presshil.cli", "run", str(protocol), "--db", db, "-q",
         "--press", f"sim://?seed={seed}", "--station", f"{tag}-{seed}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        for seed in range(1, WRITERS + 1)]
    try:
        for p in procs:
            _, stderr = p.communicate(timeout=WAIT_S)
            assert p.returncode == 0, stderr
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=WAIT_S)


@pytest.mark.slow
def test_four_concurrent_runs_on_one_database_lose_and_mix_no_sample(tmp_path: Path, pg_url: str) -> None:
    protocol = _protocol(tmp_path)
    _run_all(protocol, pg_url, "pg")
    lite = tmp_path / "reference.sqlite"  # the same seeded presses, one at a time, on SQLite
    for seed in range(1, WRITERS + 1):
        result = CliRunner().invoke(app, ["run", str(protocol), "--db", str(lite), "-q",
                                          "--press", f"sim://?seed={seed}"])
        assert result.exit_code == 0, result.output
    with Store(pg_url) as pg, Store(lite) as ref:
        runs = pg.list_runs()
        assert len(runs) == WRITERS
        by_station = {r.station: r for r in runs}
        for seed in range(1, WRITERS + 1):
            info = by_station[f"pg-{seed}"]
            assert info.press_url == f"sim://?seed={seed}" and info.status == "passed"
            got, want = pg.load_trace(info.id), ref.load_trace(seed)
            assert info.n_samples == len(got) == len(want) > 5000
            for name in ("t", "pressure", "force", "position", "status", "channels"):
                assert np.array_equal(getattr(got, name), getattr(want, name)), (seed, name)
            seqs = pg._db.execute("SELECT MIN(seq), MAX(seq), COUNT(*) FROM samples WHERE run_id = ?",
                                  (info.id,)).fetchone()
            assert seqs == (0, len(got) - 1, len(got))
        from presshil.store_audit import entries, verify

        found = verify(pg)  # four writers extended one chain
        assert found.broken_id is None and found.entries == 1 + 2 * WRITERS
        assert sorted(e.station for e in entries(pg) if e.action == "run") == [
            f"pg-{seed}" for seed in range(1, WRITERS + 1)]


# --- push: a station's SQLite store to the lab's server ---------------------------------------

def _station_store(path: Path) -> list[str]:
    with Store(path, station="offline-bench") as store:
        runs = [_fill(store, 3000), _fill(store, 40)]
        unfinished = store.start_run(protocol=FakeProtocol(), press_url="sim://", identity={}, seed=None)
        store.add_sample(unfinished, (0.0, 1.0, 1.0, 1.0, 1.0, 7, (1.0,)))
        return [str(store.get_run(r).run_uuid) for r in runs]


def _counts(url: str) -> tuple[int, ...]:
    with Store(url) as store:
        return tuple(store._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("runs", "samples", "events", "verdicts", "temperatures"))


def test_push_sends_each_finished_run_once_and_a_second_push_changes_nothing(
        tmp_path: Path, pg_url: str) -> None:
    lite = tmp_path / "station.sqlite"
    uuids = _station_store(lite)
    first = CliRunner().invoke(app, ["push", "--db", str(lite), "--to", pg_url])
    assert first.exit_code == 0, first.output
    assert "pushed 2 run(s) (3040 samples)" in first.output and "1 still running" in first.output
    after_first = _counts(pg_url)
    assert after_first == (2, 3040, 2, 4, 31)
    second = CliRunner().invoke(app, ["push", "--db", str(lite)], env={"PRESSHIL_DB": pg_url})
    assert second.exit_code == 0, second.output
    assert "pushed 0 run(s)" in second.output and "2 already there" in second.output
    assert _counts(pg_url) == after_first
    with Store(lite) as here, Store(pg_url) as there:
        by_uuid = {r.run_uuid: r.id for r in there.list_runs()}
        assert set(by_uuid) == set(uuids)
        local = {r.run_uuid: r.id for r in here.list_runs()}
        for u in uuids:
            assert _snapshot(there, by_uuid[u]) == _snapshot(here, local[u])


def test_push_refuses_a_target_that_is_not_a_server(tmp_path: Path) -> None:
    lite = tmp_path / "station.sqlite"
    _station_store(lite)
    result = CliRunner().invoke(app, ["push", "--db", str(lite), "--to", str(tmp_path / "x.sqlite")])
    assert result.exit_code == 2 and "give postgresql://" in result.stderr
    result = CliRunner().invoke(app, ["push", "--db", str(tmp_path / "none.sqlite"), "--to",
                                      "postgresql://u@127.0.0.1:1/x"])
    assert result.exit_code == 2 and "no results store at" in result.stderr


# --- a station's permissions -----------------------------------------------------------------

def test_a_station_with_the_documented_grants_runs_and_pushes_but_cannot_delete(
        tmp_path: Path, pg_server: PgServer) -> None:
    import psycopg

    from presshil.store_pg import STATION_GRANTS

    docs = (ROOT / "docs" / "results-store.md").read_text()
    grants = STATION_GRANTS.format(role="station_3")
    assert " ".join(grants.split()) in " ".join(docs.split())  # the page shows what is tested
    admin = pg_server.new_db()
    Store(admin).close()  # the administrator creates the schema
    name = admin.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS station_3")
        conn.execute("CREATE ROLE station_3 LOGIN")
        conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO station_3')
        conn.execute(grants)
    station = pg_server.url(name, user="station_3")
    result = CliRunner().invoke(app, ["run", str(QUICK), "--db", station, "-q"])
    assert result.exit_code == 0, result.output
    lite = tmp_path / "station.sqlite"
    _station_store(lite)
    result = CliRunner().invoke(app, ["push", "--db", str(lite), "--to", station])
    assert result.exit_code == 0, result.output
    with Store(station) as store:
        assert [r.status for r in store.list_runs()] == ["passed", "failed", "failed"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            store._db.execute("DELETE FROM samples")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            store._db.execute("UPDATE runs SET protocol_text = 'x'")
        for statement in ("DELETE FROM audit", "UPDATE audit SET actor = 'x'", "DELETE FROM documents"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                store._db.execute(statement)
        from presshil.store_audit import verify

        # quick-hold first seen, its run and finish; the pushed runs' protocol first seen, two pushes
        assert verify(store).entries == 1 + 2 + 1 + 2


# --- a server that goes away mid-run: tests/test_store_spool.py -----------------------------
