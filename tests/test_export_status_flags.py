"""The CSV export names the status bits in a trailing ``status_flags`` column; the columns
before it, the Parquet file and the BDF export are as they were."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.protocol import parse_protocol
from presshil.store import Store
from presshil.store_export import status_flags

PROTO = """
name = "tiny"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 80.0
max_rate_mpa_s = 10.0
[[steps]]
type = "hold"
at_mpa = 1.0
duration_s = 1
"""


@pytest.mark.parametrize(("bits", "text"), [
    (0, ""),
    (0b111, "READY|REGULATING|AT_SETPOINT"),          # 1 + 2 + 4
    (0x0119, "READY|RAMPING|RELEASED|FAULT"),         # 1 + 8 + 16 + 256
    (0x0a00, "ESTOP|OVERPRESSURE"),                   # 512 + 2048
    (0x21, "READY|0x20"),                             # bit 5 has no name in map v1
])
def test_status_flags_names_each_bit(bits: int, text: str) -> None:
    assert status_flags(bits) == text


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Run 1: three samples with status words 0, 7 and 0x0d01."""
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        run = store.start_run(protocol=parse_protocol(PROTO, "tiny.toml"), press_url="sim://",
                              identity={"model": "m"}, seed=1)
        for k, status in enumerate((0, 7, 0x0d01)):
            store.add_sample(run, (k * 0.1, 1.0, 1.0, 0.08, 0.0, status, (0.02,) * 4))
        store.finish_run(run, "passed")
    return path


def test_the_csv_export_ends_with_readable_status_flags(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.csv"
    result = CliRunner().invoke(app, ["export", "1", "--db", str(db), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open(newline="")))
    assert rows[0] == ["t_s", "setpoint_mpa", "pressure_mpa", "force_kn", "position_mm", "status",
                       "ch1_kn", "ch2_kn", "ch3_kn", "ch4_kn", "status_flags"]
    # the raw word stays in "status"; 0x0d01 = 1 + 256 + 1024 + 2048
    assert [r[5] for r in rows[1:]] == ["0", "7", "3329"]
    assert [r[-1] for r in rows[1:]] == ["", "READY|REGULATING|AT_SETPOINT",
                                         "READY|FAULT|WATCHDOG_TRIPPED|OVERPRESSURE"]


def test_parquet_and_bdf_exports_have_no_status_flags(db: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "run.parquet"
    assert CliRunner().invoke(app, ["export", "1", "--db", str(db), "-o", str(out)]).exit_code == 0
    assert "status_flags" not in pq.read_table(out).column_names
    bdf = tmp_path / "run.bdf.csv"
    result = CliRunner().invoke(app, ["export", "1", "--db", str(db), "-o", str(bdf)])
    assert result.exit_code == 0, result.output
    assert "status_flags" not in bdf.read_text(encoding="utf-8").splitlines()[0]
