"""``presshil join``: a cycler's file and a press run on one Unix time axis; gaps stay gaps;
bad input is one line, exit code 2, nothing written."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from presshil.battery.cycler_files import read_cycler
from presshil.battery.join import interpolator
from presshil.cli import app
from presshil.maps import bdf_columns as C
from presshil.store import Store

DATA = Path(__file__).parent / "data"


def test_interpolation_keeps_gaps_and_the_outside_empty() -> None:
    src_t = np.array([0.0, 1.0, 2.0, 10.0, 11.0])
    values = np.array([0.0, 10.0, 20.0, 100.0, 110.0])
    at = interpolator(src_t, np.array([0.5, 1.5, 5.0, 10.5, 11.0, 12.0, -1.0, 0.0]), max_gap_s=2.0)
    got = at(values)
    # 5.0 lies in the 2..10 s gap (8 s > 2 s): no value; 12 and -1 are outside the record
    assert got[:2].tolist() == [5.0, 15.0] and math.isnan(got[2])
    assert got[3:5].tolist() == [105.0, 110.0] and np.isnan(got[5:7]).all() and got[7] == 0.0
    assert at.max_span_s == 1.0


@pytest.fixture(scope="module")
def run_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A short constant-gap cycling run, and the simulated cycler's BDF file beside it."""
    tmp = tmp_path_factory.mktemp("join")
    db, cycler = tmp / "r.sqlite", tmp / "cycler.bdf.csv"
    url = f"sim://?seed=5&specimen.breathing.period_s=1200&cycler_bdf={cycler}"
    result = CliRunner().invoke(app, ["run", str(DATA / "gap-cycling-short.toml"), "--press", url,
                                      "--db", str(db), "-q"])
    assert result.exit_code == 0, result.output
    return db, cycler


def _started(db: Path) -> float:
    with Store.open_for_reading(db) as store:
        return datetime.fromisoformat(store.get_run(1).started_utc).timestamp()


def _join(db: Path, cycler: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["join", "1", str(cycler), "--db", str(db), "--output", str(out),
                                    *extra])


def test_the_simulated_cyclers_file_joins_with_its_run_on_the_start_of_cycling(
        run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, cycler = run_store
    own = read_cycler(cycler)
    # the cycler's file: 2 cycles of 1200 s at 10 s plus a row at each phase change, on its own clock
    assert own.columns[C.CYCLE_COUNT].max() == 2
    assert set(np.sign(own.columns[C.CURRENT]).tolist()) <= {-1.0, 0.0, 1.0}
    out = tmp_path / "joined.bdf.csv"
    result = _join(db, cycler, out, "--offset", "cycling")
    assert result.exit_code == 0, result.output
    joined = read_cycler(out)
    with Store.open_for_reading(db) as store:
        trace = store.load_trace(1)
        cycle_t = [it.t_start_s for it in store.iterations(1)]
    t0 = _started(db)
    # the first charging row sits on the start of the run's first cycle
    first_on = np.flatnonzero(joined.columns[C.CURRENT] > 0)[0]
    assert joined.unix_s[first_on] == pytest.approx(t0 + cycle_t[0], abs=1e-6)
    # pressure onto the cycler's rows is the linear interpolation of the stored samples
    p = joined.columns[C.APPLIED_PRESSURE]
    inside = ~np.isnan(p)
    expect = np.interp(joined.unix_s[inside], t0 + trace.t, trace.pressure * 1e6)
    np.testing.assert_allclose(p[inside], expect, rtol=1e-12)
    # every cycler row inside the run got a pressure (the press record has no gap)
    within = (joined.unix_s >= t0 + trace.t[0]) & (joined.unix_s <= t0 + trace.t[-1])
    assert inside.sum() == within.sum() > 200
    assert "with values from the press" in result.output


def test_onto_press_keeps_a_cycler_gap_empty(run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = run_store
    t0 = _started(db)
    # a cycler file every 10 s, with 300 s missing from run time 400 s to 700 s
    t = np.concatenate([np.arange(0.0, 400.0, 10.0), np.arange(700.0, 1500.0, 10.0)])
    src = tmp_path / "gappy.bdf.csv"
    lines = ["Unix Time / s,Voltage / V,Current / A"]
    lines += [f"{t0 + float(x)!r},{3.5 + float(x) / 1e4!r},0.001" for x in t]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "onto-press.bdf.csv"
    result = _join(db, src, out, "--onto", "press")
    assert result.exit_code == 0, result.output
    back = read_cycler(out)
    v = back.columns[C.VOLTAGE]
    tt = back.test_time_s
    assert np.isnan(v[(tt > 390.0) & (tt < 700.0)]).all()  # never across the gap
    ok = (tt >= 10.0) & (tt <= 380.0)
    np.testing.assert_allclose(v[ok], 3.5 + tt[ok] / 1e4, rtol=1e-12)  # linear: exact
    assert np.isnan(v[tt > 1490.0]).all()  # after the cycler's last row


def _expect_refused(result, out: Path, *words: str) -> None:
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    for w in words:
        assert w in text, text
    assert not out.exists() and not list(out.parent.glob(".*partial"))


def test_a_file_without_a_time_column_is_refused(run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = run_store
    src = tmp_path / "no-time.bdf.csv"
    src.write_text("Voltage / V,Current / A\n3.7,0.001\n", encoding="utf-8")
    out = tmp_path / "o.bdf.csv"
    _expect_refused(_join(db, src, out), out, str(src), "no usable time column")


def test_non_overlapping_times_are_refused(run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = run_store
    src = tmp_path / "later.bdf.csv"
    src.write_text("Unix Time / s,Voltage / V\n4102444800,3.7\n4102444810,3.8\n", encoding="utf-8")
    out = tmp_path / "o.bdf.csv"
    _expect_refused(_join(db, src, out), out, str(src), "no overlap")


NEWARE = """DataPoint,Cycle Index,Step Index,Step Type,Current(A),Voltage(V),Chg. Cap.(Ah),DChg. Cap.(Ah),Date
1,1,1,CC Chg,0.0010,3.5000,0.0000,0.0000,{d0}
2,1,1,CC Chg,0.0010,3.5100,0.0000,0.0000,{d1}
3,1,1,CC Chg,0.0010,3.5200,0.0000,0.0000,{d2}
"""


def _neware(tmp_path: Path, t0: float) -> Path:
    def date(s: float) -> str:
        return datetime.fromtimestamp(round(t0) + s, UTC).strftime("%Y-%m-%d %H:%M:%S")

    src = tmp_path / "neware.csv"
    src.write_text(NEWARE.format(d0=date(100), d1=date(110), d2=date(120)), encoding="utf-8")
    return src


def test_a_neware_export_joins_through_the_shipped_mapping(run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = run_store
    t0 = _started(db)
    out = tmp_path / "o.bdf.csv"
    result = _join(db, _neware(tmp_path, t0), out, "--mapping", "neware")
    assert result.exit_code == 0, result.output
    back = read_cycler(out)
    assert back.unix_s.tolist() == [round(t0) + 100.0, round(t0) + 110.0, round(t0) + 120.0]
    assert back.columns[C.VOLTAGE].tolist() == [3.5, 3.51, 3.52]
    assert back.columns["Charging Capacity / Ah"].tolist() == [0.0, 0.0, 0.0]
    assert not np.isnan(back.columns[C.APPLIED_PRESSURE]).any()


def test_a_mapping_naming_a_missing_column_is_refused(run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = run_store
    src = _neware(tmp_path, _started(db))
    src.write_text(src.read_text().replace("Voltage(V)", "U(V)"), encoding="utf-8")
    out = tmp_path / "o.bdf.csv"
    _expect_refused(_join(db, src, out, "--mapping", "neware"), out, str(src), "'Voltage(V)'",
                    "lacks")


def test_a_unit_the_mapping_cannot_convert_is_refused(run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = run_store
    src = _neware(tmp_path, _started(db))
    mapping = tmp_path / "mine.toml"
    mapping.write_text('[columns]\n"Unix Time / s" = { column = "Date", datetime = "%Y-%m-%d %H:%M:%S" }\n'
                       '"Current / A" = { column = "Current(A)", unit = "mV" }\n', encoding="utf-8")
    out = tmp_path / "o.bdf.csv"
    _expect_refused(_join(db, src, out, "--mapping", str(mapping)), out, "'Current(A)'", "'mV'",
                    "'Current / A'")


ECLAB = """EC-Lab ASCII FILE\r
Nb header lines : 4\r
Acquisition started on : {start}\r
mode\tox/red\ttime/s\tEwe/V\tI/mA\tcycle number\r
1\t1\t0.0\t3.4000\t0.785\t1.0\r
1\t1\t10.0\t3.4022\t0.785\t1.0\r
1\t1\t20.0\t3.4044\t0.785\t1.0\r
"""


def test_an_eclab_text_export_is_placed_by_its_acquisition_start(run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = run_store
    t0 = round(_started(db)) + 200
    start = datetime.fromtimestamp(t0, UTC).strftime("%m/%d/%Y %H:%M:%S.000")
    src = tmp_path / "gcpl.mpt"
    src.write_bytes(ECLAB.format(start=start).encode("latin-1"))
    table = read_cycler(src, "eclab")
    assert table.unix_s.tolist() == [t0, t0 + 10.0, t0 + 20.0]
    assert table.columns[C.CURRENT].tolist() == pytest.approx([0.785e-3] * 3, rel=1e-15)
    out = tmp_path / "o.bdf.parquet"
    result = _join(db, src, out, "--mapping", "eclab")
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_the_cycle_table_reads_charge_and_discharge_from_the_current() -> None:
    from presshil.battery.cycles import cycle_table, trend_per_cycle

    t_cyc = np.arange(0.0, 40.0, 1.0)
    current = np.where((t_cyc % 20) < 10, 1e-3, -1e-3)  # charge 10 s, discharge 10 s, twice
    t_press = np.arange(0.0, 40.0, 0.5)
    rows = cycle_table(t_cyc, current, t_press, t_press.copy())  # pressure = t, in MPa
    # charge rows 0..9 and 20..29, discharges 10..19 and 30..39; the swing spans the cycle
    assert [(r.cycle, r.charge_start_mpa, r.charge_end_mpa, r.discharge_start_mpa,
             r.discharge_end_mpa, r.swing_mpa) for r in rows] == [
        (1, 0.0, 9.0, 10.0, 19.0, 19.0), (2, 20.0, 29.0, 30.0, 39.0, 19.0)]
    assert trend_per_cycle(rows, "charge_end_mpa") == pytest.approx(20.0)
    assert trend_per_cycle(rows, "swing_mpa") == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(trend_per_cycle(rows[:1], "swing_mpa"))  # one cycle: no trend


def test_report_with_the_cycler_adds_the_figure_and_one_row_a_cycle(
        run_store: tuple[Path, Path], tmp_path: Path) -> None:
    db, cycler = run_store
    html = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", "1", "--db", str(db), "--output", str(html),
                                      "--cycler", str(cycler), "--offset", "cycling"])
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert "Beside the cycler" in text and "Figure 2" in text
    table = text.split("<th class=\"num\">Swing</th></tr>", 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 2  # the two cycles of the run
    png = tmp_path / "run-1-cycles.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_formats_own_reader_reads_what_presshil_writes(run_store: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    bdf = pytest.importorskip("bdf", reason="the format's reader: pip install 'presshil[bdf]'")
    db, cycler = run_store
    out = tmp_path / "run-1.bdf.csv"
    result = CliRunner().invoke(app, ["export", "1", "--format", "bdf", "--db", str(db),
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    frame = bdf.read(str(out))
    # against the store itself, by the format's rule (SI: MPa × 1e6 = Pa), not only our reader
    with Store.open_for_reading(db) as store:
        stored_mpa = store.load_trace(1).pressure
    assert np.allclose(frame["Applied Pressure / Pa"].to_numpy(), stored_mpa * 1e6, rtol=1e-12, atol=0)
    mine = read_cycler(out)
    assert np.array_equal(frame["Applied Pressure / Pa"].to_numpy(), mine.columns[C.APPLIED_PRESSURE])
    assert np.array_equal(frame["Unix Time / s"].to_numpy(), mine.unix_s)
    assert frame["Voltage / V"].isna().all()
    theirs = bdf.read(str(cycler))  # the simulated cycler's file too
    assert np.array_equal(theirs["Current / A"].to_numpy(), read_cycler(cycler).columns[C.CURRENT])


def test_the_simulated_cyclers_rows_by_hand() -> None:
    from presshil.sim.cycler_file import CURRENT_A, cycler_columns

    cols = cycler_columns([(100.0, "charge"), (1300.0, "discharge"), (2500.0, "rest")],
                          t_end_s=2600.0, interval_s=100.0, half_period_s=1200.0)
    t = cols[C.TEST_TIME]
    assert t.tolist() == [100.0 * i for i in range(26)]  # from the first charge, to the end
    i = t.tolist().index
    ir = CURRENT_A * 50.0
    # half charged at 600 s into the charge; full when the discharge begins; empty at rest
    assert cols[C.VOLTAGE][i(600.0)] == pytest.approx(3.4 + 0.4 + ir, abs=1e-12)
    assert cols[C.VOLTAGE][i(1200.0)] == pytest.approx(4.2 - ir, abs=1e-12)
    assert cols[C.VOLTAGE][i(2500.0)] == pytest.approx(3.4, abs=1e-12)
    assert cols[C.CURRENT][[i(0.0), i(1200.0), i(2500.0)]].tolist() == [CURRENT_A, -CURRENT_A, 0.0]
    assert cols[C.STEP_COUNT][[i(0.0), i(1199.0 // 100 * 100), i(1200.0), i(2500.0)]].tolist() == [1, 1, 2, 3]
    assert set(cols[C.CYCLE_COUNT].tolist()) == {1}


def test_a_biologic_mpr_file_is_read_through_galvani(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    galvani = pytest.importorskip("galvani", reason="optional: pip install 'presshil[galvani]'")
    data = np.zeros(3, dtype=[("flags", "u1"), ("time/s", "f8"), ("Ewe/V", "f4"), ("I/mA", "f8")])
    data["time/s"] = [0.0, 10.0, 20.0]
    data["Ewe/V"] = [3.5, 3.625, 3.75]  # exact in float32
    data["I/mA"] = [0.0, 0.785, 0.785]

    class FakeMPR:  # galvani's parser is the edge: no .mpr file can be written by a test
        def __init__(self, path: str) -> None:
            self.data = data
            self.timestamp = datetime(2026, 12, 7, 1, 0, 0)

    monkeypatch.setattr(galvani.BioLogic, "MPRfile", FakeMPR)
    src = tmp_path / "gcpl.mpr"
    src.write_bytes(b"BIO-LOGIC MODULAR FILE")
    table = read_cycler(src)
    t0 = datetime(2026, 12, 7, 1, 0, 0, tzinfo=UTC).timestamp()
    assert table.unix_s.tolist() == [t0, t0 + 10.0, t0 + 20.0]
    assert table.columns[C.VOLTAGE].tolist() == [3.5, 3.625, 3.75]
    assert table.columns[C.CURRENT].tolist() == pytest.approx([0.0, 0.785e-3, 0.785e-3], rel=1e-15)


def test_an_arbin_res_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    from presshil.errors import ConfigError

    src = tmp_path / "cell.res"
    src.write_bytes(b"\x00")
    with pytest.raises(ConfigError, match=r"cell.res: Arbin .res files are not read .* --mapping"):
        read_cycler(src)
