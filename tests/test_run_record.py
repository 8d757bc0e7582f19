"""The run record: steps, repeat iterations and gaps as typed records in their own tables.

Labels with spaces, quotes and non-ASCII come back whole on every path (the results
browser's API, the stored-run report, BDF step counts, resume); stores of every earlier
schema have their record moved out of the events' text when opened for writing, and one
opened read-only is read from it.
"""

from __future__ import annotations

import csv
import html
import json
import re
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

import pytest
import test_resume_over_wire as wire
from test_resume_over_wire import cli, start_and_kill_mid_hold
from typer.testing import CliRunner

import presshil
from presshil.cli import app
from presshil.protocol import parse_protocol
from presshil.records import Gap, Iteration
from presshil.sinks import StepBoundary
from presshil.store import Store
from presshil.store_schema import SCHEMA, SCHEMA_VERSION
from presshil.web.results import open_results
from presshil.web.server import BackgroundServer
from presshil.web.ui_app import ui_app

#: ``presshil serve`` in a subprocess (the fixture of the resume-over-the-wire tests)
served = wire.served

LABELS = ["ramp up", "Vorspannung ü", 'say "hi"', "open"]

PROTOCOL = """
name = "labels"
on_host_loss = "hold"

[specimen]
die_diameter_mm = 10

[limits]
max_pressure_mpa = 60
max_rate_mpa_s = 50

[sampling]
rate_hz = 20

[[steps]]
type = "ramp"
label = "ramp up"
to_mpa = 10
rate_mpa_s = 20

[[steps]]
type = "hold"
label = "Vorspannung ü"
duration_s = {hold_s}
expect = {{ band_mpa = 1.0 }}

[[steps]]
type = "repeat"
label = 'say "hi"'
count = 2

  [[steps.steps]]
  type = "step"
  label = "high"
  to_mpa = 12
  duration_s = 0.5

[[steps]]
type = "release"
label = "open"
rate_mpa_s = 20
"""


def _run_in(location: str, hold_s: float = 1.0) -> int:
    proto = parse_protocol(PROTOCOL.format(hold_s=hold_s), "labels.toml")
    with Store(location) as store:
        return presshil.run(proto, presshil.open_press("sim://?seed=1"), store=store).run_id


def _record(store: Store, run_id: int) -> tuple[list, list, list]:
    return store.steps(run_id), store.iterations(run_id), store.gaps(run_id)


# --- the records, on both engines -------------------------------------------------------------
def _check_record(store: Store, run_id: int) -> None:
    steps, iterations, gaps = _record(store, run_id)
    assert [(s.index, s.name, s.kind) for s in steps] == [
        (0, "ramp up", "ramp"), (1, "Vorspannung ü", "hold"), (2, 'say "hi"', "repeat"),
        (3, "open", "release")]
    # 10 MPa at 20 MPa/s: 0.5 s; the hold 1 s; each iteration 0.5 s (virtual time)
    assert steps[1].t_start_s == pytest.approx(steps[0].t_end_s)
    assert steps[1].t_end_s - steps[1].t_start_s == pytest.approx(1.0, abs=0.06)
    assert [(i.step_index, i.iteration, i.count) for i in iterations] == [(2, 1, 2), (2, 2, 2)]
    assert iterations[0].t_start_s == pytest.approx(steps[2].t_start_s, abs=1e-3)
    assert iterations[0].t_end_s == pytest.approx(iterations[1].t_start_s)
    assert iterations[1].t_end_s == pytest.approx(steps[2].t_end_s, abs=1e-3)
    assert iterations[0].worst == () and iterations[1].worst == ()  # "high" has no criteria
    assert gaps == []


def test_the_record_of_a_run_reads_back_from_sqlite(tmp_path: Path) -> None:
    db = str(tmp_path / "r.sqlite")
    run_id = _run_in(db)
    with Store(db) as store:
        _check_record(store, run_id)
        assert not any(e.kind == "iteration" for e in store.events(run_id))  # no JSON as prose


def test_the_record_of_a_run_reads_back_from_postgresql(pg_url: str) -> None:
    run_id = _run_in(pg_url)
    with Store(pg_url) as store:
        _check_record(store, run_id)


def test_the_worst_verdicts_an_iteration_carries_come_back_as_verdicts(tmp_path: Path) -> None:
    from presshil.metrics import Verdict

    worst = ((Verdict("cycles.0", "band_mpa", float("nan"), 1.0, "MPa", False, "no samples",
                      t_s=3.5, channel=2, step_start_s=3.0), 1),)
    with Store(tmp_path / "r.sqlite") as store:
        run_id = _new_run(store)
        store.add_iteration(run_id, Iteration(2, 2, 5, 3.0, None, worst))
        store.add_iteration(run_id, Iteration(2, 2, 5, 3.0, 4.0))
        store.add_gap(run_id, Gap(4.5, 9.0, 3))
        (it,) = store.iterations(run_id)
        assert (it.t_end_s, it.worst[0][1]) == (4.0, 1)
        back = it.worst[0][0]
        assert back.detail == "no samples" and back.channel == 2 and back.value != back.value
        assert store.gaps(run_id) == [Gap(4.5, 9.0, 3)]


def _new_run(store: Store) -> int:
    proto = parse_protocol(PROTOCOL.format(hold_s=1), "labels.toml")
    return store.start_run(protocol=proto, press_url="sim://", identity={}, seed=None)


# --- every path a label takes -------------------------------------------------------------------
def _get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.loads(response.read())


def _check_paths(db: Path, tmp_path: Path, run_id: int = 1) -> None:
    """The results browser's API, the stored-run report and the BDF export's step counts."""
    results = open_results(db)
    try:
        with BackgroundServer(ui_app(results)) as srv:
            run = _get(f"http://127.0.0.1:{srv.port}", f"/api/runs/{run_id}")
    finally:
        results.close()
    assert [s["name"] for s in run["steps"]] == LABELS
    assert [s["label"] for s in run["steps"]] == [f"{k + 1}/4 {n}" for k, n in enumerate(LABELS)]
    shown = [e["text"] for e in run["events"] if e["kind"] == "step"]
    assert [t.split(" (")[0] for t in shown] == [f"step {k + 1}/4 {n}" for k, n in enumerate(LABELS)]
    page = tmp_path / "report.html"
    done = CliRunner().invoke(app, ["report", str(run_id), "--db", str(db), "--output", str(page)])
    assert done.exit_code == 0, done.output
    text = html.unescape(page.read_text(encoding="utf-8"))
    for k, name in enumerate(LABELS):
        assert f"step {k + 1}/4 {name} (" in text
    out = tmp_path / "run.bdf.csv"
    done = CliRunner().invoke(app, ["export", str(run_id), "--db", str(db), "--output", str(out)])
    assert done.exit_code == 0, done.output
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["Step Count / 1"]) for r in rows]
    cycles = [int(r["Cycle Count / 1"]) for r in rows]
    # 4 top-level steps and 2 iterations, the repeat's start being its first iteration's
    assert steps[0] == 1 and max(steps) == 5 and steps == sorted(steps)
    assert max(cycles) == 2 and cycles == sorted(cycles)


@pytest.mark.slow
def test_labels_survive_the_browser_the_report_and_the_export(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    done = CliRunner().invoke(app, ["run", str(_protocol_file(tmp_path)), "--press", "sim://?seed=1",
                                    "--db", str(db), "-q"])
    assert done.exit_code == 0, done.output
    _check_paths(db, tmp_path)


def _protocol_file(tmp_path: Path, hold_s: float = 1.0) -> Path:
    path = tmp_path / "labels.toml"
    path.write_text(PROTOCOL.format(hold_s=hold_s), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_labels_survive_a_host_killed_mid_hold_and_resumed(tmp_path: Path, served: str) -> None:
    """A real ``presshil run`` SIGKILLed in the hold "Vorspannung ü", then ``--resume``: the
    run's record keeps every label, one gap in that step, and every path still reads it."""
    proto, db = start_and_kill_mid_hold(tmp_path, served, "hold", PROTOCOL.format(hold_s=6))
    done = subprocess.run(cli("run", str(proto), "--resume", "1", "--db", str(db), "-q"),
                          check=False, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    with Store(db) as store:
        steps, iterations, gaps = _record(store, 1)
        assert store.get_run(1).status == "passed"
    assert [s.name for s in steps] == LABELS
    (gap,) = gaps
    assert gap.step_index == 1 and steps[1].t_start_s < gap.t_start_s < gap.t_end_s < steps[1].t_end_s
    assert [i.iteration for i in iterations] == [1, 2]
    _check_paths(db, tmp_path)


# --- stores of every earlier schema -------------------------------------------------------------
def _as_version(path: Path, version: int) -> None:
    """Make ``path`` look as a store of schema ``version`` left it: what came later dropped,
    the run record only in the events' text."""
    # the same tables without the comments SQLite's DROP COLUMN cannot edit round, its rows copied
    old = path.with_name("old.sqlite")
    db = sqlite3.connect(old, isolation_level=None)
    db.executescript(re.sub(r"--[^\n]*", "", SCHEMA))
    db.execute("ATTACH DATABASE ? AS new", (str(path),))
    for (table,) in db.execute("SELECT name FROM new.sqlite_master WHERE type = 'table'").fetchall():
        db.execute(f"INSERT INTO main.{table} SELECT * FROM new.{table}")
    db.execute("DETACH DATABASE new")
    for table in ("steps", "iterations", "gaps"):  # v7
        db.execute(f"DROP TABLE {table}")
    if version < 6:  # v6: station, run_uuid, audit, documents
        db.execute("DROP INDEX IF EXISTS runs_uuid")
        db.execute("ALTER TABLE runs DROP COLUMN station")
        db.execute("ALTER TABLE runs DROP COLUMN run_uuid")
    if version < 5:
        db.execute("DROP TABLE temperatures")
    if version < 4:
        db.execute("ALTER TABLE runs DROP COLUMN meta_json")
    if version < 3:
        db.execute("ALTER TABLE runs DROP COLUMN lease_token")
    if version < 2:
        db.execute("ALTER TABLE verdicts DROP COLUMN step_start_s")
    db.execute(f"PRAGMA user_version = {version}")
    db.close()
    old.replace(path)


def _rounded(record: tuple[list, list, list]) -> tuple[list, list, list]:
    """The record to the 1 ms the events' text kept."""
    steps, iterations, gaps = record
    return ([(s.index, s.name, s.kind, round(s.t_start_s, 3), round(s.t_end_s, 3)) for s in steps],
            [(i.step_index, i.iteration, i.count, round(i.t_start_s, 3),
              None if i.t_end_s is None else round(i.t_end_s, 3)) for i in iterations],
            [(g.step_index, round(g.t_start_s, 3), round(g.t_end_s, 3)) for g in gaps])


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6])
def test_a_store_of_an_earlier_schema_has_its_record_moved_out_of_the_events(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "r.sqlite"
    run_id = _run_in(str(path))
    with Store(path) as store:
        written = _rounded(_record(store, run_id))
        events = store.events(run_id)
    _as_version(path, version)
    with Store(path) as store:  # opened for writing: upgraded
        assert _rounded(_record(store, run_id)) == written
        assert store.events(run_id) == events  # the events stay, for people
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
    assert db.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == 4
    db.close()
    with Store(path) as store:  # opened again: nothing moved twice
        assert len(store.steps(run_id)) == 4 and len(store.iterations(run_id)) == 2


def test_a_read_only_store_of_v6_is_read_from_its_events(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    run_id = _run_in(str(path))
    with Store(path) as store:
        written = _rounded(_record(store, run_id))
    _as_version(path, 6)
    with Store(path, read_only=True) as store:  # an archive on a read-only share
        assert _rounded(_record(store, run_id)) == written
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 6  # left as it was
    db.close()


def test_a_postgresql_store_of_v6_has_its_record_moved_out_of_the_events(pg_url: str) -> None:
    run_id = _run_in(pg_url)
    with Store(pg_url) as store:
        written = _rounded(_record(store, run_id))
        store._db.execute("DROP TABLE steps")
        store._db.execute("DROP TABLE iterations")
        store._db.execute("DROP TABLE gaps")
        store._db.execute("UPDATE presshil_schema SET version = 6")
    with Store(pg_url) as store:
        assert _rounded(_record(store, run_id)) == written
        version = store._db.execute("SELECT version FROM presshil_schema").fetchall()
    assert version == [(SCHEMA_VERSION,)]


def test_push_carries_the_record_to_postgresql(tmp_path: Path, pg_url: str) -> None:
    db = tmp_path / "station.sqlite"
    run_id = _run_in(str(db))
    done = CliRunner().invoke(app, ["push", "--db", str(db), "--to", pg_url])
    assert done.exit_code == 0, done.output
    with Store(db) as lite, Store(pg_url) as pg:
        assert _record(pg, 1) == _record(lite, run_id)


def test_every_sink_takes_the_records(tmp_path: Path) -> None:
    """The records reach every sink of a run, in order, a store among them."""
    from presshil.sinks import MemorySink

    memory = MemorySink()
    proto = parse_protocol(PROTOCOL.format(hold_s=1), "labels.toml")
    with Store(tmp_path / "r.sqlite") as store:
        result = presshil.run(proto, presshil.open_press("sim://?seed=1"), store=store,
                              sinks=[memory])
        assert [b.name for b in memory.steps if b.t_end_s is not None] == LABELS
        started = [i for i in memory.iterations if i.t_end_s is None]
        assert [(i.iteration, i.t_start_s) for i in started] == [
            (i.iteration, i.t_start_s) for i in store.iterations(result.run_id)]
        assert isinstance(memory.steps[0], StepBoundary) and memory.gaps == []
