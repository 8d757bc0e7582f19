"""``presshil sweep`` on the command line: bad input, a local sweep and its report, rerunning a
failing variant alone, and resuming a sweep whose client was killed."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from waiting import wait_for

from presshil.cli import app
from presshil.store import Store
from presshil.sweep import execute
from presshil.sweep.book import Book
from presshil.sweep.worker import run_variant

DATA = Path(__file__).parent / "data"
TINY = str(DATA / "sweep-tiny.toml")
runner = CliRunner()
PRESSHIL = [sys.executable, "-m", "presshil.cli"]


def _count(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        try:
            return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args, words", [
    (["--vary", "no.such_key=1..2"], ["no.such_key", "unknown catalogue key"]),
    (["--vary", "load_cells.gain_error_pct=normal(0,-1)"], ["sigma must be > 0"]),
    (["--vary", "load_cells.gain_error_pct=-50..0"], ["allowed range [-10, 10]"]),
    (["--vary", "load_cells.gain_error_pct=normal(0,9)"], ["refuses", "truncnormal"]),
    (["--vary", "load_cells.gain_error_pct=-1..1", "--press", "modbus+tcp://127.0.0.1:5020"],
     ["wire press"]),
    (["--vary", "load_cells.gain_error_pct"], ["KEY=SPEC"]),
    ([], ["at least one --vary"]),
    (["--vary", "load_cells.gain_error_pct=-1..1", "--cluster", "127.0.0.1:8786"], ["tcp://HOST:PORT"]),
])
def test_bad_input_exits_2_with_one_line_and_runs_nothing(tmp_path, args, words):
    db = tmp_path / "r.sqlite"
    res = runner.invoke(app, ["sweep", TINY, "--runs", "4", "--db", str(db), "-q", *args])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    text = " ".join(lines)
    for w in words:
        assert w in text, text
    assert "Traceback" not in res.output
    assert _count(db, "runs") == 0 and _count(db, "sweeps") == 0


def test_resume_of_an_unknown_sweep_is_bad_input(tmp_path):
    db = tmp_path / "r.sqlite"
    res = runner.invoke(app, ["sweep", "--resume", "4", "--db", str(db), "-q"])
    assert res.exit_code == 2 and "no results store" in res.output and not db.exists()
    Store(db).close()
    res = runner.invoke(app, ["sweep", "--resume", "4", "--db", str(db), "-q"])
    assert res.exit_code == 2 and "no sweep 4 (no sweeps yet)" in res.output, res.output


@pytest.mark.slow
def test_unreachable_scheduler_is_bad_input(tmp_path, monkeypatch):
    monkeypatch.setattr(execute, "CONNECT_TIMEOUT_S", 2.0)
    db = tmp_path / "r.sqlite"
    addr = f"tcp://127.0.0.1:{_free_port()}"
    res = runner.invoke(app, ["sweep", TINY, "--vary", "load_cells.gain_error_pct=-1..1",
                              "--runs", "2", "--cluster", addr, "--db", str(db), "-q"])
    assert res.exit_code == 2, res.output
    assert "cannot reach the Dask scheduler" in res.output and addr in res.output
    assert _count(db, "runs") == 0 and _count(db, "sweeps") == 0


@pytest.mark.slow
def test_local_sweep_report_and_rerun_of_a_failing_variant(tmp_path):
    db, rep = tmp_path / "r.sqlite", tmp_path / "rep"
    res = runner.invoke(app, [
        "sweep", TINY, "--vary", "actuator.valve_time_constant_ms=20..300:5",
        "--vary", "load_cells.gain_error_pct=-1,1", "--grid", "--workers", "2",
        "--db", str(db), "--report", str(rep), "-q"])
    assert res.exit_code == 1, res.output  # slow valves fail the hold: below 100 %
    doc = json.loads((rep / "sweep.json").read_text())
    assert doc["runs"] == 10 and 0 < doc["passed"] < 10
    assert doc["pass_rate"] == pytest.approx(doc["passed"] / 10)
    lo, hi = doc["pass_rate_ci95"]
    assert 0 <= lo < doc["pass_rate"] < hi <= 1
    assert "hold-20/band_mpa" in doc["summary"]["criteria"]
    failure = doc["summary"]["sensitivity"]["failure"]
    assert failure[0]["key"] == "actuator.valve_time_constant_ms" and failure[0]["log_odds_per_sd"] > 0
    for name in ("sweep.html", "pass-rates.png", "margins.png", "pass-fail-map.png"):
        assert (rep / name).stat().st_size > 1000
    assert "Robustness sweep" in (rep / "sweep.html").read_text()
    # every failing variant is an ordinary run, rerun alone by the printed command
    first = doc["failing"][0]
    assert first["rerun"] in res.output.replace("\n", "")
    argv = shlex.split(first["rerun"])
    assert argv[:2] == ["presshil", "run"]
    again = runner.invoke(app, [*argv[1:], "-q"])
    assert again.exit_code == 1, again.output
    with Store(db) as store:
        runs = store.list_runs()
        original = [(v.criterion, v.value, v.passed) for v in store.verdicts(first["run_id"])]
        rerun = [(v.criterion, v.value, v.passed) for v in store.verdicts(runs[-1].id)]
    assert len(runs) == 11 and runs[-1].press_url == first["url"]
    assert rerun == original


@pytest.mark.slow
def test_killed_client_leaves_a_sweep_that_resume_finishes(tmp_path):
    db = tmp_path / "r.sqlite"
    cmd = [*PRESSHIL, "sweep", str(DATA / "sweep-hold.toml"),
           "--vary", "actuator.valve_time_constant_ms=20..300", "--runs", "16", "--seed", "4",
           "--workers", "1", "--batch-size", "1", "--db", str(db), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:

        def two_recorded() -> bool:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            done = 0
            if db.exists():
                with sqlite3.connect(db, timeout=10) as con, contextlib.suppress(sqlite3.OperationalError):
                    done = con.execute("SELECT COUNT(run_id) FROM sweep_variants").fetchone()[0]
            return done >= 2

        wait_for(two_recorded, timeout_s=120, what="two runs recorded", poll_s=0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the client and its local workers, at once
        proc.wait(timeout=10)
    with Book(db) as book:
        before = book.variants(1)
        state = book.get(1).state
    recorded = sum(r.run_id is not None for r in before)
    assert state == "running" and 2 <= recorded < 16

    res = runner.invoke(app, ["sweep", "--resume", "1", "--db", str(db), "--workers", "1", "-q"])
    assert res.exit_code in (0, 1), res.output
    with Book(db) as book, Store(db) as store:
        after = book.variants(1)
        assert book.get(1).state == "done"
        assert [r.run_id for r in after[:recorded]] == [r.run_id for r in before[:recorded]]
        assert all(r.run_id is not None for r in after)
        from presshil.protocol import load_protocol

        proto = load_protocol(DATA / "sweep-hold.toml")
        for r in after:  # each equals a run of the same URL in this process
            want = run_variant(proto, r.index, r.url)
            got = store.verdicts(r.run_id)
            assert r.status == want.status
            assert [(v.criterion, v.value) for v in got] == [(v.criterion, v.value) for v in want.verdicts]


@pytest.mark.slow
def test_acceptance_suite_sweeps_the_same_way(tmp_path):
    db, rep = tmp_path / "r.sqlite", tmp_path / "rep"
    res = runner.invoke(app, [
        "sweep", "--suite", str(DATA / "sweep-suite.toml"),
        "--vary", "actuator.valve_time_constant_ms=20,300", "--grid", "--workers", "1",
        "--db", str(db), "--report", str(rep), "-q"])
    assert res.exit_code == 1, res.output  # the slow valve overshoots into the safety limit
    doc = json.loads((rep / "sweep.json").read_text())
    assert doc["kind"] == "suite" and doc["runs"] == 2 and doc["passed"] == 1
    assert any(name.startswith("step_response/") for name in doc["summary"]["criteria"])
    failing = doc["failing"][0]
    assert failing["values"] == {"actuator.valve_time_constant_ms": 300}
    assert failing["rerun"].startswith("presshil accept --suite ")
    assert doc["summary"]["criteria"]["step_response/completed"]["passed"] == 1
    with Store(db) as store:
        run = store.get_run(failing["run_id"])
        assert run.status == "aborted" and run.press_url == failing["url"]
        failed = {(v.step, v.criterion): v for v in store.verdicts(failing["run_id"]) if not v.passed}
        assert "over-pressure" in failed["step_response", "completed"].detail
        assert any(e.kind == "abort" and "over-pressure" in e.message
                   for e in store.events(failing["run_id"]))


@pytest.mark.slow
def test_sweep_file_with_command_line_overrides(tmp_path):
    (tmp_path / "p.toml").write_text((DATA / "sweep-tiny.toml").read_text())
    sweep = tmp_path / "robust.toml"
    sweep.write_text(
        '[sweep]\nprotocol = "p.toml"\npress = "sim://"\nruns = 3\nseed = 9\nmethod = "sobol"\n'
        '[sweep.vary]\n"load_cells.gain_error_pct" = "truncnormal(0, 0.5, -1, 1)"\n'
        '"actuator.valve_time_constant_ms" = [20, 30]\n'
    )
    db = tmp_path / "r.sqlite"
    res = runner.invoke(app, ["sweep", str(sweep), "--runs", "4",
                              "--vary", "actuator.valve_time_constant_ms=25,35",
                              "--workers", "1", "--db", str(db), "-q"])
    assert res.exit_code == 0, res.output
    with Book(db) as book:
        info = book.get(1)
        rows = book.variants(1)
    assert info.state == "done" and info.protocol_name == "sweep-tiny"
    spec = info.spec
    assert (spec.runs, spec.seed, spec.method) == (4, 9, "sobol")
    assert [v.key for v in spec.vary] == ["load_cells.gain_error_pct", "actuator.valve_time_constant_ms"]
    assert {r.values["actuator.valve_time_constant_ms"] for r in rows} <= {25, 35}
    assert all(-1 <= r.values["load_cells.gain_error_pct"] <= 1 for r in rows)
    assert len(rows) == 4 and all(r.status == "passed" for r in rows)


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_with_exit_3_and_keeps_what_finished(tmp_path):
    db = tmp_path / "r.sqlite"
    cmd = [*PRESSHIL, "sweep", str(DATA / "sweep-hold.toml"),
           "--vary", "actuator.valve_time_constant_ms=20..150", "--runs", "30",
           "--workers", "1", "--batch-size", "1", "--db", str(db), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:

        def two_recorded() -> bool:
            assert proc.poll() is None, "the sweep ended before Ctrl-C"
            return _count_recorded(db) >= 2

        wait_for(two_recorded, timeout_s=120, what="two runs recorded", poll_s=0.05)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 3, output
    assert "presshil sweep --resume 1" in output
    with Book(db) as book:
        assert book.get(1).state == "interrupted"
        recorded = [r for r in book.variants(1) if r.run_id is not None]
    assert 2 <= len(recorded) < 30
    with Store(db) as store:
        assert all(store.get_run(r.run_id).status == r.status for r in recorded)


def _count_recorded(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as con:
        try:
            return con.execute("SELECT COUNT(run_id) FROM sweep_variants").fetchone()[0]
        except sqlite3.OperationalError:
            return 0
