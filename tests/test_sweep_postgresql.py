"""``presshil sweep --db postgresql://…``: the same sweep as into SQLite, a killed client's
sweep finished by ``--resume``, two sweeps into one database at once, one-line refusals.

The server is the session's throwaway cluster (tests/pg_cluster.py, loopback only); every
test gets its own empty database. Only the sweep's client writes to the store: the Dask
workers hand their runs back as plain data (src/presshil/sweep/worker.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import PgServer
from typer.testing import CliRunner
from waiting import wait_for

from presshil.cli import app
from presshil.store import Store
from presshil.sweep.book import SWEEP_GRANTS, Book
from presshil.sweep.main import summarise

DATA = Path(__file__).parent / "data"
TINY = str(DATA / "sweep-tiny.toml")
PRESSHIL = [sys.executable, "-m", "presshil.cli"]
WAIT_S = 120  # the most a child process may take; every wait below is bounded by it
runner = CliRunner()


def _sweep_of(db: str) -> dict[str, Any]:
    """Everything a reader sees of sweep 1 and its runs, without engine- or moment-bound fields."""
    with Store(db) as store, Book(db) as book:
        info = book.get(1)
        variants = book.variants(1)
        runs = {}
        for v in variants:
            assert v.run_id is not None
            run = store.get_run(v.run_id)
            trace = store.load_trace(v.run_id)
            runs[v.index] = {
                "run": (run.protocol_name, run.press_url, run.identity, run.seed, run.status,
                        run.n_samples),
                "trace": [getattr(trace, k).tolist() for k in ("t", "pressure", "force", "status")],
                "verdicts": [(x.step, x.criterion, x.value, x.passed) for x in store.verdicts(v.run_id)],
                "events": store.events(v.run_id),
            }
        doc, _ = summarise(store, 1)
    assert doc.pop("db") == store.where
    reruns = [f.pop("rerun") for f in doc["failing"]]
    assert all(r.endswith(f"--db {store.where}") for r in reruns) and reruns
    return {
        "sweep": (info.protocol_name, info.protocol_text, info.spec.to_json(), info.n_variants, info.state),
        "variants": [(v.index, v.url, v.values, v.run_id, v.status) for v in variants],
        "runs": runs,
        "doc": json.dumps(doc, sort_keys=True),  # as sweep.json has it (a NaN equals itself)
    }


def test_a_sweep_into_postgresql_reads_back_as_the_same_sweep_into_sqlite(
        tmp_path: Path, pg_url: str) -> None:
    args = ["sweep", TINY, "--vary", "actuator.valve_time_constant_ms=20,300",
            "--vary", "load_cells.gain_error_pct=-1,1", "--grid", "--workers", "1", "-q"]
    lite = str(tmp_path / "r.sqlite")
    results = {}
    for db in (lite, pg_url):
        res = runner.invoke(app, [*args, "--db", db])
        assert res.exit_code == 1, res.output  # the slow valve fails the hold
        results[db] = _sweep_of(db)
    want, got = results[lite], results[pg_url]
    assert got == want
    statuses = [v[4] for v in got["variants"]]
    assert len(statuses) == 4 and "passed" in statuses and "failed" in statuses
    assert got["sweep"][-1] == "done"
    # a failing variant kept its trace on the server (--keep-traces failed), a passing one not
    failed = next(r for r in got["runs"].values() if r["run"][4] == "failed")
    assert failed["run"][5] > 0 and len(failed["trace"][0]) == failed["run"][5]


def _recorded(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        try:
            return int(conn.execute("SELECT COUNT(run_id) FROM sweep_variants").fetchone()[0])
        except psycopg.errors.UndefinedTable:
            return 0


def test_a_killed_client_leaves_a_sweep_on_postgresql_that_resume_finishes(pg_url: str) -> None:
    n = 12
    cmd = [*PRESSHIL, "sweep", str(DATA / "sweep-hold.toml"),
           "--vary", "actuator.valve_time_constant_ms=20..300", "--runs", str(n), "--seed", "4",
           "--workers", "1", "--batch-size", "1", "--db", pg_url, "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:

        def two_recorded() -> bool:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            return _recorded(pg_url) >= 2

        wait_for(two_recorded, timeout_s=WAIT_S, what="two runs recorded", poll_s=0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the client and its local workers, at once
        proc.wait(timeout=10)
    with Book(pg_url) as book:
        before = book.variants(1)
        assert book.get(1).state == "running"
    recorded = sum(r.run_id is not None for r in before)
    assert 2 <= recorded < n

    res = runner.invoke(app, ["sweep", "--resume", "1", "--db", pg_url, "--workers", "1", "-q"])
    assert res.exit_code in (0, 1), res.output
    with Book(pg_url) as book, Store(pg_url) as store:
        after = book.variants(1)
        assert book.get(1).state == "done"
        kept = {r.index: r.run_id for r in before if r.run_id is not None}
        assert {r.index: r.run_id for r in after if r.index in kept} == kept
        assert all(r.run_id is not None for r in after) and len(after) == n
        assert len({r.run_id for r in after}) == n
        for r in after:
            assert r.run_id is not None
            run = store.get_run(r.run_id)
            assert (run.press_url, run.status) == (r.url, r.status)


def test_two_sweeps_into_one_database_at_once_keep_their_own_variants_and_runs(pg_url: str) -> None:
    base = [*PRESSHIL, "sweep", TINY, "--grid", "--workers", "1", "--batch-size", "1", "--db", pg_url, "-q"]
    procs = [subprocess.Popen([*base, "--vary", f"actuator.valve_time_constant_ms={spec}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for spec in ("20,40,60", "250,275,300")]
    try:
        outs = [p.communicate(timeout=WAIT_S)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    assert [p.returncode for p in procs] == [0, 1], outs
    with Book(pg_url) as book, Store(pg_url) as store:
        seen: dict[str, set[str]] = {}
        run_ids: list[int] = []
        for sweep_id in (1, 2):
            assert book.get(sweep_id).state == "done"
            rows = book.variants(sweep_id)
            assert len(rows) == 3 and all(r.run_id is not None for r in rows)
            run_ids += [r.run_id for r in rows if r.run_id is not None]
            seen[" ".join(sorted({str(r.values) for r in rows}))] = {r.status or "" for r in rows}
            for r in rows:
                assert r.run_id is not None
                assert store.get_run(r.run_id).press_url == r.url
        assert len(set(run_ids)) == 6 and len(store.list_runs()) == 6
    # the fast valves passed every variant, the slow ones failed every one, whichever sweep got id 1
    assert sorted(seen.values(), key=sorted) == [{"failed"}, {"passed"}]


def test_a_bad_server_or_unknown_sweep_is_one_line_exit_2(pg_url: str) -> None:
    dead = "postgresql://lab@127.0.0.1:1/presshil"
    for args in (["sweep", TINY, "--vary", "actuator.valve_time_constant_ms=20,40", "--db", dead],
                 ["sweep", "--resume", "1", "--db", dead],
                 ["sweep", "--resume", "4", "--db", pg_url],
                 ["sweep", "--resume", "1", "--db", "mysql://lab@127.0.0.1/presshil"]):
        result = runner.invoke(app, [*args, "-q"])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
    assert "no sweep 4 (no sweeps yet)" in runner.invoke(
        app, ["sweep", "--resume", "4", "--db", pg_url, "-q"]).stderr


@pytest.mark.parametrize("table", ["sweeps", "sweep_variants"])
def test_the_sweep_tables_have_the_same_columns_on_both_engines(
        tmp_path: Path, pg_url: str, table: str) -> None:
    import sqlite3

    from presshil.store_pg import PgConnection, columns

    lite = tmp_path / "r.sqlite"
    with Store(lite), Book(lite):
        pass
    with sqlite3.connect(lite) as con:
        want = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    with Store(pg_url), Book(pg_url):
        pass
    db = PgConnection(pg_url)
    try:
        got = columns(db)[table]
    finally:
        db.close()
    assert len(want) == 9 and got == want


def test_a_station_with_the_documented_grants_sweeps_into_tables_the_owner_created(
        pg_server: PgServer) -> None:
    import psycopg

    from presshil.store_pg import STATION_GRANTS

    docs = " ".join((Path(__file__).parents[1] / "docs" / "results-store.md").read_text().split())
    assert " ".join(SWEEP_GRANTS.format(role="station_3").split()) in docs  # the page shows it
    grants = SWEEP_GRANTS.format(role="station_4")
    admin = pg_server.new_db()
    # the owner creates the store's and the sweep's tables as the page says
    res = runner.invoke(app, ["sweep", "--resume", "0", "--db", admin, "-q"])
    assert res.exit_code == 2 and "no sweep 0 (no sweeps yet)" in res.stderr, res.output
    name = admin.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS station_4")
        conn.execute("CREATE ROLE station_4 LOGIN")
        conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO station_4')
        conn.execute(STATION_GRANTS.format(role="station_4"))
        conn.execute(grants)
    station = pg_server.url(name, user="station_4")
    res = runner.invoke(app, ["sweep", TINY, "--vary", "actuator.valve_time_constant_ms=20,40",
                              "--grid", "--workers", "1", "--db", station, "-q"])
    assert res.exit_code == 0, res.output
    with Book(station) as book:
        assert book.get(1).state == "done"
        assert [r.status for r in book.variants(1)] == ["passed", "passed"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            book._db.execute("DELETE FROM sweep_variants")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            book._db.execute("UPDATE sweeps SET spec_json = '{}'")
