"""The results store when the file is damaged, the disk is full, or the file is read-only.

Real SQLite files throughout. A full disk is SQLite's own SQLITE_FULL, produced by capping
the file's page count (``PRAGMA max_page_count``): no root mounts, no mocks.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import presshil
from presshil.cli import app
from presshil.protocol import load_protocol
from presshil.runner import run
from presshil.store import Store, StoreWriteError

ROOT = Path(__file__).resolve().parent.parent
ROWS = 30_000


class FakeProtocol:
    name = "assembly-74mpa"
    source = "protocols/assembly-74mpa.toml"
    text = 'name = "assembly-74mpa"\n'
    sha256 = "ab" * 32


def filled_store(path: Path, runs: int = 2) -> Path:
    with Store(path) as store:
        for _ in range(runs):
            run_id = store.start_run(
                protocol=FakeProtocol(), press_url="sim://?seed=1", identity={"vendor": "v"}, seed=1
            )
            for i in range(ROWS):
                store.add_sample(run_id, (0.01 * i, 5.0, 5.0, 1.0, 1.0, 7, (0.3, 0.3, 0.4)))
            store.finish_run(run_id, "passed")
    return path


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A store whose schema page is garbage past its file header: no run can be found in it.
    (A store with damaged pages elsewhere keeps its intact runs: test_store_salvage.py.)"""
    path = filled_store(tmp_path / "r.sqlite")
    with path.open("r+b") as fh:
        fh.seek(100)  # page 1's b-tree header, just after SQLite's 100-byte file header
        fh.write(b"\xa5" * (4096 - 100))
    return path


@pytest.mark.parametrize("command", ["runs", "export", "report"])
def test_a_store_without_a_readable_schema_is_exit_2_and_one_line_for_every_reading_command(
    damaged: Path, tmp_path: Path, command: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = {
        "runs": ["runs", "--db", str(damaged)],
        "export": ["export", "1", "--db", str(damaged), "-o", str(out / "run-1.csv")],
        "report": ["report", "1", "--db", str(damaged), "-o", str(out / "run-1.html")],
    }[command]
    code, output = cli(*args)
    assert code == 2, output
    assert "damaged" in output and "Traceback" not in output
    assert len(output.strip().splitlines()) == 1, output
    assert list(out.iterdir()) == []  # nothing partial left behind


def test_an_export_that_fails_midway_leaves_no_file(tmp_path: Path) -> None:
    path = filled_store(tmp_path / "r.sqlite", runs=1)
    out = tmp_path / "out"
    out.mkdir()
    with Store(path) as store:
        chunks = store.iter_chunks

        def failing(run_id: int, chunk: int = 10000):
            for i, piece in enumerate(chunks(run_id, chunk)):
                if i == 2:
                    raise OSError(28, "No space left on device")
                yield piece

        store.iter_chunks = failing  # type: ignore[method-assign]
        with pytest.raises(presshil.ConfigError, match="No space left"):
            store.export(1, out / "run-1.csv")
    assert list(out.iterdir()) == []


def test_a_read_only_store_is_listed_exported_and_reported_without_a_write(tmp_path: Path) -> None:
    path = filled_store(tmp_path / "r.sqlite", runs=1)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    listing = tmp_path.iterdir
    files_before = sorted(p.name for p in listing())
    with Store(path, read_only=True, check=True) as store:
        assert [r.status for r in store.list_runs()] == ["passed"]
        out = store.export(1, tmp_path / "run-1.csv")
        assert len(out.read_text().splitlines()) == ROWS + 1
        with pytest.raises(Exception, match="readonly|read-only"):
            store._db.execute("DELETE FROM runs")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # SQLite's read-only mode may create its -shm index (and an empty -wal) beside the file
    # when the folder allows it; nothing is written into the store itself
    main = sorted(p.name for p in listing() if not p.name.endswith(("-shm", "-wal")))
    assert main == sorted([*files_before, "run-1.csv"])
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_open_for_reading_opens_an_unwritable_store_read_only(tmp_path: Path, monkeypatch) -> None:
    path = filled_store(tmp_path / "r.sqlite", runs=1)
    # the tests may run as root, for whom chmod does not bite: the permission is what
    # os.access reports
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK)
    with Store.open_for_reading(path) as store:
        assert store.read_only
        assert store.get_run(1).status == "passed"


def full_store(path: Path, headroom_pages: int = 40) -> Store:
    store = Store(path, flush_interval_s=0.05, max_buffer_rows=256)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + headroom_pages}")
    return store


def test_a_full_disk_while_writing_samples_is_a_store_write_error_and_run_error(
    tmp_path: Path,
) -> None:
    store = full_store(tmp_path / "r.sqlite")
    run_id = store.start_run(
        protocol=FakeProtocol(), press_url="sim://", identity={"vendor": "v"}, seed=None
    )
    with pytest.raises(StoreWriteError, match="full"):
        for i in range(200_000):
            store.add_sample(run_id, (0.01 * i, 5.0, 5.0, 1.0, 1.0, 7, (0.3, 0.3, 0.4)))
    store.finish_run(run_id, "aborted")
    info = store.get_run(run_id)
    assert info.status == "error" and info.n_samples > 0  # committed samples kept
    assert any("could not write" in e.message for e in store.events(run_id))
    store._db.execute("PRAGMA max_page_count = 1000000")
    store.close()


def test_a_run_on_a_full_disk_ends_in_the_safe_state_recorded_as_error(tmp_path: Path) -> None:
    protocol = load_protocol(ROOT / "protocols" / "assembly-74mpa.toml")
    press = presshil.open_press("sim://?seed=1")
    store = full_store(tmp_path / "r.sqlite", headroom_pages=30)
    try:
        result = run(protocol, press, store=store)
        assert result.status == "aborted"  # a PressError: exit code 3
        press.clock.sleep_until(press.clock.now() + 0.2)  # the stop shows on the next ticks
        state = press.read()
        assert state.fault_code == presshil.FaultCode.ESTOP and state.status & presshil.Status.FAULT
        assert state.pressure_mpa < 10.0  # force removed: the safe state
        assert "full" in " ".join(e.message for e in result.events)
        assert store.get_run(result.run_id).status == "error"
    finally:
        store._db.execute("PRAGMA max_page_count = 1000000")
        store.close()
        press.close()
