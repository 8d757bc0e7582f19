"""A server that goes away mid-run: the run goes on into a local SQLite spool, under the same
run UUID, and reaches the server when it is back (or by ``presshil push``); nothing is lost
or doubled. The server is the session's throwaway cluster; "away" is every connection to the
test's database cut (pg_terminate_backend) and new ones refused (ALLOW_CONNECTIONS false).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from pg_cluster import PgServer
from typer.testing import CliRunner
from waiting import wait_for

from presshil.cli import app
from presshil.store import Store

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "tests" / "data" / "quick-hold.toml"
WAIT_S = 180  # the most a child process may take; every wait below is bounded by it
SEED = 5


def _hold(tmp_path: Path, seconds: int) -> Path:
    path = tmp_path / f"hold-{seconds}.toml"
    path.write_text(QUICK.read_text().replace("duration_s = 10", f"duration_s = {seconds}"))
    return path


def _start(protocol: Path, url: str, cwd: Path, pace: float) -> subprocess.Popen[str]:
    """``presshil run`` in a subprocess, paced to ``pace`` run seconds per wall second (the
    live view's pacing), so that it is still running while the test cuts the server whatever
    the speed of this machine; the simulated press's samples are those of an unpaced run."""
    return subprocess.Popen(
        [sys.executable, "-m", "presshil.cli", "run", str(protocol), "--db", url, "-q",
         "--press", f"sim://?seed={SEED}", "--station", "bench-3", "--live", "127.0.0.1:0"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
             "PRESSHIL_LIVE_PACE": str(pace), "PRESSHIL_LIVE_LINGER": "0"})


def _wait_committed(admin: object, proc: subprocess.Popen[str], at_least: int) -> int:

    def committed() -> int:
        assert proc.poll() is None, proc.poll()
        n = admin.execute(  # type: ignore[attr-defined]
            "SELECT COALESCE(MAX(n_samples), 0) FROM runs").fetchone()[0]
        return int(n) if n >= at_least else 0

    return int(wait_for(committed, timeout_s=WAIT_S, what=f"{at_least} samples committed", poll_s=0.05))


@contextmanager
def _server_away(pg_server: PgServer, url: str) -> Iterator[None]:
    """Cut every connection to the database of ``url`` and refuse new ones until the end of
    the block."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def _reference(tmp_path: Path, protocol: Path) -> Path:
    """The same seeded run, in-process, on SQLite, never interrupted."""
    lite = tmp_path / "reference.sqlite"
    result = CliRunner().invoke(app, ["run", str(protocol), "--db", str(lite), "-q",
                                      "--press", f"sim://?seed={SEED}"])
    assert result.exit_code == 0, result.output
    return lite


def _same_run(url: str, lite: Path) -> list[tuple[object, str, str]]:
    """Assert the server's one run is the reference run, sample for sample; its events."""
    with Store(url) as pg, Store(lite) as ref:
        [info] = pg.list_runs()
        assert info.status == "passed" and info.station == "bench-3"
        got, want = pg.load_trace(info.id), ref.load_trace(1)
        seqs = pg._db.execute("SELECT MIN(seq), MAX(seq), COUNT(*) FROM samples WHERE run_id = ?",
                              (info.id,)).fetchone()
        assert seqs == (0, len(want) - 1, len(want))  # none lost, none twice
        assert info.n_samples == len(got) == len(want) > 1000
        for name in ("t", "setpoint", "pressure", "force", "position", "status", "channels"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
        # the run record too: every step (and iteration, gap) once, as the reference has it
        steps = [(b.index, b.name, b.kind, b.t_start_s, b.t_end_s) for b in pg.steps(info.id)]
        assert steps and steps == [(b.index, b.name, b.kind, b.t_start_s, b.t_end_s)
                                   for b in ref.steps(1)]
        assert pg.iterations(info.id) == ref.iterations(1) and pg.gaps(info.id) == []
        got_v = [(v.step, v.criterion, v.passed) for v in pg.verdicts(info.id)]
        assert got_v == [(v.step, v.criterion, v.passed) for v in ref.verdicts(1)]
        from presshil.store_audit import verify

        assert verify(pg).broken_id is None
        return [(e.t_s, e.kind, e.message) for e in pg.events(info.id)]


@pytest.mark.slow
def test_the_run_goes_on_into_a_spool_and_back_to_the_server_losing_nothing(
        tmp_path: Path, pg_server: PgServer, pg_url: str) -> None:
    import psycopg

    protocol = _hold(tmp_path, 3600)
    Store(pg_url).close()
    proc = _start(protocol, pg_url, tmp_path, pace=200)  # about 18 s
    try:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            committed = _wait_committed(admin, proc, 300)
        with _server_away(pg_server, pg_url):

            def spooled() -> list[Path]:
                assert proc.poll() is None, proc.poll()
                return list((tmp_path / "results").glob("presshil-spool-*.sqlite"))

            spools = wait_for(spooled, timeout_s=WAIT_S, what="a spool file", poll_s=0.1)
            assert len(spools) == 1 and proc.poll() is None
            # the behaviour under test: the server stays away past the first retry (RETRY_S
            # after the loss), which fails
            time.sleep(0.5)
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT_S)
    assert proc.returncode == 0, (out, err)
    assert err == "" and "presshil push" not in out, out
    events = _same_run(pg_url, _reference(tmp_path, protocol))
    spooled = [m for _, kind, m in events if kind == "spool"]
    assert len(spooled) == 2, events
    assert "went away" in spooled[0] and spools[0].name in spooled[0]
    assert "is back" in spooled[1] and int(spooled[1].split(": ")[1].split()[0]) > 0
    with Store(pg_url) as pg:
        assert pg.list_runs()[0].n_samples > committed
    with Store(spools[0]) as spool:  # the spool keeps its copy, ended as the run did
        [info] = spool.list_runs()
        assert info.status == "passed" and info.run_uuid == Store(pg_url).list_runs()[0].run_uuid


@pytest.mark.slow
def test_a_run_that_ends_while_the_server_is_away_ends_in_the_spool_and_push_completes_it(
        tmp_path: Path, pg_server: PgServer, pg_url: str) -> None:
    import psycopg

    protocol = _hold(tmp_path, 300)
    Store(pg_url).close()
    proc = _start(protocol, pg_url, tmp_path, pace=20)  # about 15 s
    try:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            _wait_committed(admin, proc, 300)
        with _server_away(pg_server, pg_url):
            out, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT_S)
    assert proc.returncode == 0, (out, err)
    [spool] = list((tmp_path / "results").glob("presshil-spool-*.sqlite"))
    last = out.strip().splitlines()[-1]
    assert f"presshil push --db {Path('results') / spool.name} --to" in " ".join(out.split()), out
    assert "spool" in last or "push" in last
    with Store(pg_url) as pg:  # the server has the first part, and the run is not finished
        [info] = pg.list_runs()
        assert info.status in ("running", "interrupted") and info.n_samples >= 300
    pushed = CliRunner().invoke(app, ["push", "--db", str(spool), "--to", pg_url])
    assert pushed.exit_code == 0 and "pushed 1 run(s)" in pushed.output, pushed.output
    events = _same_run(pg_url, _reference(tmp_path, protocol))
    assert [kind for _, kind, _ in events].count("spool") == 1
    again = CliRunner().invoke(app, ["push", "--db", str(spool), "--to", pg_url])
    assert again.exit_code == 0 and "pushed 0 run(s)" in again.output, again.output
    assert _same_run(pg_url, tmp_path / "reference.sqlite") == events  # a second push: nothing


def _spool_events(admin: object) -> int:
    return int(admin.execute(  # type: ignore[attr-defined]
        "SELECT COUNT(*) FROM events WHERE kind = 'spool'").fetchone()[0])


@pytest.mark.slow
def test_a_server_that_goes_away_twice_gets_both_spooled_parts_back(
        tmp_path: Path, pg_server: PgServer, pg_url: str) -> None:
    import psycopg

    protocol = _hold(tmp_path, 7200)
    Store(pg_url).close()
    proc = _start(protocol, pg_url, tmp_path, pace=300)  # about 24 s
    try:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            _wait_committed(admin, proc, 300)
        for cycle in (1, 2):
            with _server_away(pg_server, pg_url):
                # the behaviour under test: the server away for a while; the run notices at its
                # next flush, and spools
                time.sleep(0.5)
            with psycopg.connect(pg_url, autocommit=True) as admin:
                # went away, is back: two events a cycle
                wait_for(lambda: proc.poll() is None and _spool_events(admin) >= 2 * cycle,  # noqa: B023
                         timeout_s=WAIT_S, what=f"the spool events of cycle {cycle}", poll_s=0.1)
                assert _spool_events(admin) == 2 * cycle and proc.poll() is None, cycle
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT_S)
    assert proc.returncode == 0 and err == "" and "presshil push" not in out, (out, err)
    events = _same_run(pg_url, _reference(tmp_path, protocol))
    spooled = [m for _, kind, m in events if kind == "spool"]
    assert [("went away" in m, "is back" in m) for m in spooled] == [(True, False), (False, True)] * 2
