"""``presshil export``: the format follows the file name or a mismatch is refused, a folder
given with a trailing slash is created, and a run with no stored samples is refused; the
report of such a run says so instead of drawing an empty plot."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.errors import ConfigError
from presshil.export_target import export_target, format_of
from presshil.protocol import parse_protocol
from presshil.store import Store

PROTO = """
name = "tiny"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 30.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = 10
[[steps]]
type = "ramp"
to_mpa = 2
rate_mpa_s = 2
"""


@pytest.fixture(name="db")
def store_with_two_runs(tmp_path: Path) -> Path:
    """A store with run 1 (three samples) and run 2 (passed, no samples: a sweep variant)."""
    db = tmp_path / "r.sqlite"
    proto = parse_protocol(PROTO, "tiny.toml")
    ident = {"vendor": "v", "model": "m", "serial": "s", "firmware": "f"}
    with Store(db) as store:
        run = store.start_run(protocol=proto, press_url="sim://", identity=ident, seed=1)
        for k in range(3):
            store.add_sample(run, (k * 0.1, k * 1.0, k * 1.0, k * 0.1, 0.0, 7, (k * 0.025,) * 4))
        store.finish_run(run, "passed")
        empty = store.start_run(protocol=proto, press_url="sim://?seed=4&load_cells.gain_error_pct=0.2",
                                identity=ident, seed=4)
        store.finish_run(empty, "passed")
    return db


def export(db: Path, *args: str):
    return CliRunner().invoke(app, ["export", *args, "--db", str(db)])


def test_the_format_follows_the_extension(db: Path, tmp_path: Path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    result = export(db, "1", "--output", str(tmp_path / "x.parquet"))
    assert result.exit_code == 0, result.output
    table = pq.read_table(tmp_path / "x.parquet")  # parquet, not CSV text under that name
    assert table.num_rows == 3 and table.column("pressure_mpa").to_pylist() == [0.0, 1.0, 2.0]


def test_a_name_that_says_another_format_is_refused(db: Path, tmp_path: Path):
    result = export(db, "1", "--format", "csv", "--output", str(tmp_path / "x.parquet"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: --output {tmp_path / 'x.parquet'}: the name says parquet but "
                                     "--format is csv; name it ….csv or leave --format out")
    assert not (tmp_path / "x.parquet").exists()


def test_a_folder_given_with_a_trailing_slash_is_created(db: Path, tmp_path: Path):
    folder = tmp_path / "exports" / "today"
    result = export(db, "1", "--output", f"{folder}/")
    assert result.exit_code == 0, result.output
    assert folder.is_dir()  # a folder, not a file named "today"
    rows = list(csv.reader((folder / "run-1.csv").open()))
    assert rows[0][:3] == ["t_s", "setpoint_mpa", "pressure_mpa"] and len(rows) == 4


def test_a_run_with_no_samples_is_refused_with_how_to_get_them(db: Path, tmp_path: Path):
    result = export(db, "2", "--output", str(tmp_path / "two.csv"))
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith("error: no samples stored for run 2 (passed; a passed sweep variant keeps none")
    assert message.endswith("rerun it with: presshil run tiny.toml --press "
                            "'sim://?seed=4&load_cells.gain_error_pct=0.2'")
    assert not (tmp_path / "two.csv").exists()  # no header-only file


def test_export_target_rules(tmp_path: Path):
    assert format_of("a.PARQUET") == "parquet" and format_of("a.txt") is None
    assert export_target(None, 3, None, tmp_path) == (tmp_path / "run-3.csv", "csv")
    assert export_target(None, 3, "parquet", tmp_path) == (tmp_path / "run-3.parquet", "parquet")
    assert export_target("out.txt", 3, None, tmp_path) == (Path("out.txt"), "csv")
    assert export_target(str(tmp_path), 3, "parquet", tmp_path / "x") == (tmp_path / "run-3.parquet", "parquet")
    with pytest.raises(ConfigError, match="--format must be one of: csv, parquet, not 'xls'"):
        export_target("a.csv", 3, "xls", tmp_path)


def test_the_report_of_a_run_with_no_samples_says_so_without_a_plot(db: Path, tmp_path: Path):
    out = tmp_path / "two.html"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "no artists with labels" warning included
        result = CliRunner().invoke(app, ["report", "2", "--db", str(db), "--output", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "no samples stored" in html and "0 samples over" not in html
    assert "data:image/png" not in html.split("Pressure against time", 1)[1].split("<h2>", 1)[0]
    assert "Not drawn: no samples stored for run 2" in html
