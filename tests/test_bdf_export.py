"""``presshil export --format bdf``: a run in Battery Data Format columns, its sidecar, and
the file read back with the same values."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from presshil.battery.cycler_files import read_cycler
from presshil.cli import app
from presshil.maps import bdf_columns as C
from presshil.store import Store

DATA = Path(__file__).parent / "data"
PRESS = "sim://?seed=3&specimen.breathing.period_s=1200"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one short constant-gap cycling run (two 20 min cycles at 0.5 Hz)."""
    db = tmp_path_factory.mktemp("bdf") / "r.sqlite"
    result = CliRunner().invoke(app, ["run", str(DATA / "gap-cycling-short.toml"), "--press", PRESS,
                                      "--db", str(db), "-q", "--meta", "cell_id=C-17"])
    assert result.exit_code == 0, result.output
    return db


def _export(db: Path, out: Path, *extra: str) -> None:
    result = CliRunner().invoke(app, ["export", "1", "--format", "bdf", "--db", str(db),
                                      "--output", str(out), *extra])
    assert result.exit_code == 0, result.output


def test_bdf_csv_has_the_formats_column_names_in_order(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.bdf.csv"
    _export(stored, out)
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [
        "Test Time / s", "Unix Time / s", "Voltage / V", "Current / A", "Applied Pressure / Pa",
        "Step Count / 1", "Cycle Count / 1", "Ambient Temperature / degC",  # the sim's room
        "Setpoint Pressure / Pa", "Applied Force / N",
        "Ram Position / m", "Press Status / 1", "Load Cell 1 Force / N", "Load Cell 2 Force / N",
        "Load Cell 3 Force / N", "Load Cell 4 Force / N",
    ]


def test_bdf_csv_reads_back_with_the_stored_values(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.bdf.csv"
    _export(stored, out)
    with Store.open_for_reading(stored) as store:
        trace = store.load_trace(1)
        t0 = datetime.fromisoformat(store.get_run(1).started_utc).timestamp()
    back = read_cycler(out)
    assert len(back) == len(trace)
    assert np.array_equal(back.test_time_s, trace.t)
    assert np.array_equal(back.unix_s, t0 + trace.t)
    # the written Pa are the stored MPa × 10⁶, to the last bit, and back to MPa within 1 ulp
    assert np.array_equal(back.columns[C.APPLIED_PRESSURE], trace.pressure * 1e6)
    np.testing.assert_allclose(back.columns[C.APPLIED_PRESSURE] / 1e6, trace.pressure, rtol=3e-16)
    assert np.array_equal(back.columns[C.RAM_POSITION], trace.position * 1e-3)
    assert np.array_equal(back.columns[C.channel_force(2)],
                          trace.channels[:, 1].astype(np.float32).astype(float) * 1e3)
    # a press measures no voltage: the required column is there, every cell empty
    assert np.isnan(back.columns[C.VOLTAGE]).all()
    text = out.read_text(encoding="utf-8").splitlines()[1]
    assert text.split(",")[2:4] == ["", ""]


def test_step_and_cycle_counts_follow_the_protocol(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.bdf.csv"
    _export(stored, out)
    back = read_cycler(out)
    steps, cycles = back.columns[C.STEP_COUNT], back.columns[C.CYCLE_COUNT]
    # ramp, hold, cycle 1 (the repeat's start), cycle 2, release: five steps, two cycles
    assert steps[0] == 1 and steps[-1] == 5
    assert sorted(set(steps.tolist())) == [1, 2, 3, 4, 5]
    assert sorted(set(cycles.tolist())) == [0, 1, 2]
    assert np.all(np.diff(steps) >= 0) and np.all(np.diff(cycles) >= 0)
    # cycle 2 (step 4) is 1200 s at 0.5 Hz: 600 samples, give or take the one on its boundary;
    # the release after it is still counted in cycle 2 (the count never goes back)
    assert abs(int(((cycles == 2) & (steps == 4)).sum()) - 600) <= 1
    assert np.all(cycles[steps == 5] == 2)
    # before the repeat nothing has cycled
    assert np.all(cycles[steps <= 2] == 0)


def test_sidecar_carries_the_run_record_for_the_formats_reader(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.bdf.csv"
    _export(stored, out)
    side = tmp_path / "run.bdf.metadata.json"  # the name BDF's own reader looks for
    doc = json.loads(side.read_text(encoding="utf-8"))
    assert list(doc) == ["extras"]
    rec = doc["extras"]["presshil"]
    with Store.open_for_reading(stored) as store:
        info = store.get_run(1)
    assert rec["protocol"] == "gap-cycling-short"
    assert rec["protocol_sha256"] == info.protocol_sha256
    assert rec["press_url"] == PRESS
    assert rec["bdf_version"] == "1.3.0"
    assert rec["specimen"] == {"die_diameter_mm": 10.0}
    assert rec["meta"] == {"cell_id": "C-17"}


def test_bdf_parquet_by_extension_has_the_same_values(stored: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    _export(stored, tmp_path / "run.bdf.csv")
    _export(stored, tmp_path / "run.bdf.parquet")
    table = pq.read_table(tmp_path / "run.bdf.parquet")
    csv_back = read_cycler(tmp_path / "run.bdf.csv")
    assert table.column_names[:5] == ["Test Time / s", "Unix Time / s", "Voltage / V",
                                      "Current / A", "Applied Pressure / Pa"]
    assert table.column("Voltage / V").null_count == table.num_rows
    assert np.array_equal(table.column(C.APPLIED_PRESSURE).to_numpy(),
                          csv_back.columns[C.APPLIED_PRESSURE])
    assert table.column(C.CYCLE_COUNT).type == "int64"
    assert (tmp_path / "run.bdf.metadata.json").is_file()


def test_bdf_export_defaults_beside_the_store(stored: Path) -> None:
    result = CliRunner().invoke(app, ["export", "1", "--format", "bdf", "--db", str(stored)])
    assert result.exit_code == 0, result.output
    assert (stored.parent / "run-1.bdf.csv").is_file()
    assert (stored.parent / "run-1.bdf.metadata.json").is_file()


def test_unknown_format_is_one_line_exit_2(stored: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "1", "--format", "hdf5", "--db", str(stored),
                                      "--output", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "csv, parquet, bdf" in result.output
    assert not list(tmp_path.iterdir())
