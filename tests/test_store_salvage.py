"""A results store with one damaged page: the intact runs are listed, exported and reported
with their true values, the damaged ones are named, and the file is never written.

Real SQLite files, damaged by hand: one page (found by the bytes of a value only the victim
run stores) is overwritten where it lies in the file.
"""

from __future__ import annotations

import csv
import hashlib
import re
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.store import Store

ROWS = 6000
PAGE = 4096  # SQLite's default page size, which the store keeps
#: each run's pressure: a value no other run stores, so its page can be found in the file
PRESSURE = {1: 11.5, 2: 22.5, 3: 33.5}


class FakeProtocol:
    name = "assembly-74mpa"
    source = "protocols/assembly-74mpa.toml"
    text = 'name = "assembly-74mpa"\n'
    sha256 = "ab" * 32


def three_runs(path: Path) -> Path:
    with Store(path) as store:
        assert store._db.execute("PRAGMA page_size").fetchone()[0] == PAGE
        for run, pressure in PRESSURE.items():
            run_id = store.start_run(protocol=FakeProtocol(), press_url="sim://?seed=1",
                                     identity={"vendor": "v"}, seed=1, meta={"cell": f"c{run}"})
            assert run_id == run
            for i in range(ROWS):
                store.add_sample(run_id, (0.01 * i, 5.25, pressure, 1.0, 2.0, 7, (0.3, 0.3, 0.4)))
            store.add_event(run_id, 0.0, "note", f"run {run}")
            store.finish_run(run_id, "passed")
    return path


def pages_holding(data: bytes, value: float) -> list[int]:
    """0-based page indexes whose bytes hold ``value`` as SQLite stores a REAL (big-endian)."""
    needle = struct.pack(">d", value)
    return sorted({m.start() // PAGE for m in re.finditer(re.escape(needle), data)})


def damage_page(path: Path, index: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(index * PAGE)
        fh.write(b"\xa5" * PAGE)  # a page type byte SQLite never writes: the page is garbage


@pytest.fixture
def store_with_run_2_damaged(tmp_path: Path) -> Path:
    path = three_runs(tmp_path / "r.sqlite")
    data = path.read_bytes()
    run_2 = pages_holding(data, 22.5)
    victim = run_2[len(run_2) // 2]  # a page in the middle of run 2's samples
    # by hand: that page holds run 2's pressure and neither other run's
    assert victim not in pages_holding(data, 11.5) + pages_holding(data, 33.5)
    damage_page(path, victim)
    return path


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def listed_ids(stdout: str) -> list[int]:
    return [int(m) for m in re.findall(r"^\s+id=(\d+)\b", stdout, re.M)]


def test_runs_lists_the_intact_runs_and_names_the_damaged_one_exit_2(
        store_with_run_2_damaged: Path) -> None:
    path = store_with_run_2_damaged
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, stdout, stderr = cli("runs", "--db", str(path))
    assert code == 2, (stdout, stderr)
    assert listed_ids(stdout) == [1, 3]
    assert "cell=c1" in stdout and "cell=c3" in stdout  # their metadata read back too
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr
    assert "damaged" in lines[0] and "run 2 cannot be read whole" in lines[0]
    assert "the 2 listed read whole" in lines[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # never written


@pytest.mark.parametrize("run", [1, 3])
def test_an_intact_run_exports_its_true_values_from_a_damaged_store(
        store_with_run_2_damaged: Path, tmp_path: Path, run: int) -> None:
    path = store_with_run_2_damaged
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = tmp_path / f"run-{run}.csv"
    code, stdout, stderr = cli("export", str(run), "--db", str(path), "-o", str(out))
    assert code == 0, (stdout, stderr)
    assert f"run {run} read whole" in stderr and "damaged" in stderr
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:6] == ["t_s", "setpoint_mpa", "pressure_mpa", "force_kn", "position_mm", "status"]
    body = rows[1:]
    assert len(body) == ROWS
    assert [float(r[0]) for r in body] == [0.01 * i for i in range(ROWS)]
    # status 7 = bits 0, 1, 2; the trailing status_flags column names them
    assert {tuple(r[1:]) for r in body} == {
        ("5.25", str(PRESSURE[run]), "1.0", "2.0", "7", "0.3", "0.3", "0.4",
         "READY|REGULATING|AT_SETPOINT")}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_the_damaged_run_is_refused_by_export_and_report_in_one_line(
        store_with_run_2_damaged: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for args in (["export", "2", "-o", str(out / "run-2.csv")],
                 ["report", "2", "-o", str(out / "run-2.html")]):
        code, stdout, stderr = cli(*args, "--db", str(store_with_run_2_damaged))
        assert code == 2, (stdout, stderr)
        text = (stdout + stderr).strip()
        assert len(text.splitlines()) == 1 and "Traceback" not in text
        assert "run 2 cannot be read whole" in text
    assert list(out.iterdir()) == []  # nothing partial


def test_an_intact_run_is_reported_from_a_damaged_store(
        store_with_run_2_damaged: Path, tmp_path: Path) -> None:
    out = tmp_path / "run-3.html"
    code, stdout, stderr = cli("report", "3", "--db", str(store_with_run_2_damaged), "-o", str(out))
    assert code == 0, (stdout, stderr)
    assert "run 3 read whole" in stderr
    assert "assembly-74mpa" in out.read_text(encoding="utf-8")


def test_a_damaged_store_is_opened_read_only_with_its_damage_named(
        store_with_run_2_damaged: Path) -> None:
    with Store.open_for_reading(store_with_run_2_damaged) as store:
        assert store.read_only and store.damage is not None
        assert store.damage.startswith("quick_check:")
        assert store.load_trace(1).pressure.tolist() == [11.5] * ROWS
        assert [e.message for e in store.events(3)] == ["run 3"]


def test_a_damaged_page_of_the_runs_table_loses_only_the_runs_on_it(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        for run in range(1, 41):
            proto = FakeProtocol()
            proto.name = f"proto-{run:04d}"  # type: ignore[misc]
            proto.text = "#" * 1500  # about two runs a page: the runs table spans many pages
            run_id = store.start_run(protocol=proto, press_url="sim://", identity={}, seed=None)
            store.add_sample(run_id, (0.0, 1.5, 1.5, 0.0, 0.0, 0, ()))
            store.finish_run(run_id, "passed")
    data = path.read_bytes()
    # the runs table's page holding run 20 (its row carries the protocol text; the audit
    # trail's entries name the protocol too, on pages of their own)
    victim = next(i for i in (m.start() // PAGE for m in re.finditer(rb"proto-0020", data))
                  if b"#" * 100 in data[i * PAGE:(i + 1) * PAGE])
    page = data[victim * PAGE:(victim + 1) * PAGE]
    # by hand: the runs whose row is on that page
    on_page = sorted(int(m) for m in re.findall(rb"proto-(\d{4})", page))
    assert 20 in on_page and len(on_page) < 40
    damage_page(path, victim)
    code, stdout, stderr = cli("runs", "--db", str(path))
    assert code == 2, (stdout, stderr)
    assert listed_ids(stdout) == [i for i in range(1, 41) if i not in on_page]
    named = re.search(r"runs? ([\d, ]+) cannot be read whole", stderr)
    assert named is not None, stderr
    assert [int(x) for x in named.group(1).split(",")] == on_page


def test_a_damaged_store_of_an_older_schema_is_not_upgraded(tmp_path: Path) -> None:
    path = three_runs(tmp_path / "r.sqlite")
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("DROP TABLE temperatures")  # as a v4 store was: no temperatures table
    db.execute("PRAGMA user_version = 4")
    db.execute("VACUUM")
    db.close()
    data = path.read_bytes()
    run_2 = pages_holding(data, 22.5)
    damage_page(path, run_2[len(run_2) // 2])
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with Store.open_for_reading(path) as store:
        assert store.read_only and store.damage is not None  # a sound v4 store is upgraded
        assert store.get_run(3).n_samples == ROWS
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == 4
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
