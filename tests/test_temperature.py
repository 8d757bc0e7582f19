"""Temperature: the press room's drift, the load cells' span coefficient and its
compensation, the ``max_temperature_change_c`` criterion, and the record (store, exports).

Every expected value is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import presshil
from presshil.battery.export import export_bdf
from presshil.maps import bdf_columns as C
from presshil.metrics import Segment, evaluate
from presshil.press import Capabilities
from presshil.protocol import parse_protocol
from presshil.runner import run
from presshil.sim.press import SimPress
from presshil.sim.room import Room, RoomCfg
from presshil.store import Store
from presshil.temperature import compensate, compensated, span_factor

# A 50 MPa hold of 600 s at 2 Hz on a 10 mm die.
HOLD = """
name = "temperature-hold"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 80.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = 2.0
[[steps]]
type = "ramp"
to_mpa = 50.0
rate_mpa_s = 5.0
[[steps]]
type = "hold"
label = "hold"
duration_s = 600
expect = { max_temperature_change_c = LIMIT }
"""

# A room that only drifts: 0.6 °C an hour, no swing, an ideal thermometer.
DRIFT_ONLY = "room.swing_c=0&room.resolution_c=0&room.drift_c_per_h=0.6"


def _protocol(limit: float):
    return parse_protocol(HOLD.replace("LIMIT", repr(limit)))


# --- the physics, by hand ---------------------------------------------------------------------


def test_span_factor_and_compensation_by_hand() -> None:
    # α = 0.02 %/°C, 5 °C above the 20 °C calibration: 1 + 0.0002 × 5 = 1.001
    assert span_factor(25.0, 0.02) == pytest.approx(1.001, abs=1e-12)
    # 100 MPa reads 100.1 MPa; compensation gives 100 MPa back
    assert compensate(100.1, 25.0, 0.02) == pytest.approx(100.0, abs=1e-9)
    # at the calibration temperature nothing changes
    assert compensate(42.0, 20.0, 0.02) == 42.0
    # a cell calibrated at 30 °C read at 20 °C: 1 + 0.0002 × (−10) = 0.998
    assert span_factor(20.0, 0.02, calibration_c=30.0) == pytest.approx(0.998, abs=1e-12)


def test_profile_compensation_divides_the_load_cell_signals_only() -> None:
    class Cfg:
        load_cell_coefficient_pct_per_c = 0.05
        calibration_c = 20.0

    # 0.05 %/°C at 22 °C: k = 1 + 0.0005 × 2 = 1.001
    out = compensated({"force": 10.01, "channel_force": (2.002, 3.003), "position": 1.5,
                       "temperature": 22.0}, 22.0, Cfg())
    assert out["force"] == pytest.approx(10.0, abs=1e-12)
    assert out["channel_force"] == pytest.approx((2.0, 3.0), abs=1e-12)
    assert out["position"] == 1.5 and out["temperature"] == 22.0
    # no [temperature] table: the values as read
    assert compensated({"force": 10.01}, 22.0, None) == {"force": 10.01}


def test_room_drift_is_seeded_and_a_function_of_time() -> None:
    cfg = RoomCfg(base_c=21.0, drift_c_per_h=0.6, swing_c=0.0, resolution_c=0.0)
    room = Room(cfg, seed=3)
    # 21 + 0.6 × 1800 / 3600 = 21.3 °C after half an hour
    assert room.temperature_c(1800.0) == pytest.approx(21.3, abs=1e-9)
    swinging = RoomCfg(swing_c=0.2, resolution_c=0.0, drift_c_per_h=0.0)
    a, b, c = Room(swinging, seed=1), Room(swinging, seed=1), Room(swinging, seed=2)
    times = [0.0, 17.0, 450.5, 1799.0]
    assert [a.temperature_c(t) for t in times] == [b.temperature_c(t) for t in times]
    assert [a.temperature_c(t) for t in times] != [c.temperature_c(t) for t in times]
    # the swing stays within ±0.2 °C of the 21 °C base
    assert all(abs(a.temperature_c(t) - 21.0) <= 0.2 + 1e-12 for t in np.linspace(0, 3600, 97))
    # a 0.01 °C thermometer reads in hundredths
    coarse = Room(RoomCfg(), seed=5)
    value = coarse.temperature_c(1234.5)
    assert round(value * 100) == pytest.approx(value * 100, abs=1e-6)


# --- the criterion, by hand -------------------------------------------------------------------


def _hold(temperature):
    n = 5
    return Segment("hold", np.arange(float(n)), np.full(n, 50.0), np.full(n, 50.0),
                   np.ones((n, 2)), 50.0, 50.0, temperature=temperature)


def test_temperature_change_over_a_hold_by_hand() -> None:
    seg = _hold(np.array([21.0, 21.05, 21.2, 21.1, 21.15]))
    # after the 1 s settle allowance: 21.05 … 21.2 → 0.15 °C (at t = 1 s and t = 2 s)
    v = evaluate("hold", "max_temperature_change_c", 0.1, seg, settle_s=1.0)
    assert v.value == pytest.approx(0.15, abs=1e-12) and not v.passed
    assert "21.050 °C" in v.detail and "21.200 °C" in v.detail and v.t_s == 2.0
    assert evaluate("hold", "max_temperature_change_c", 0.2, seg, settle_s=1.0).passed
    # the whole hold: 21.0 … 21.2 → 0.2 °C
    assert evaluate("hold", "max_temperature_change_c", 1.0, seg).value == pytest.approx(0.2)
    # a sample without a temperature is skipped, not taken as 0
    gappy = _hold(np.array([21.0, math.nan, 21.3, math.nan, 21.1]))
    assert evaluate("hold", "max_temperature_change_c", 1.0, gappy).value == pytest.approx(0.3)


def test_no_temperature_is_not_judged_never_passed() -> None:
    for temps in (None, np.full(5, math.nan)):
        v = evaluate("hold", "max_temperature_change_c", 1e9, _hold(temps))
        assert not v.passed and math.isnan(v.value)
        assert "not judged" in v.detail and "no temperature" in v.detail
    assert Capabilities().why_not_judged("max_temperature_change_c") == (
        "max_temperature_change_c: the press reports no temperature")
    assert Capabilities(temperature=True).why_not_judged("max_temperature_change_c") is None


# --- the simulated press: a run ---------------------------------------------------------------


def test_a_hold_in_a_drifting_room_is_judged_on_the_change(tmp_path: Path) -> None:
    press = presshil.open_press(f"sim://?seed=1&{DRIFT_ONLY}")
    with Store(tmp_path / "runs.db") as store:
        result = run(_protocol(0.05), press, store=store)
        run_id = store.list_runs()[-1].id
        t, c = store.temperatures(run_id)
        n_samples = len(result.trace)
    [verdict] = [v for v in result.verdicts if v.criterion == "max_temperature_change_c"]
    hold = result.step_record("hold")
    inside = t[(t >= hold.t_start_s) & (t < hold.t_end_s)]
    # 0.6 °C/h over the hold's samples: 0.6 × (last − first) / 3600 ≈ 0.1 °C for 600 s
    expected = 0.6 * (inside[-1] - inside[0]) / 3600.0
    assert expected == pytest.approx(0.1, abs=1e-3)
    assert verdict.value == pytest.approx(expected, abs=1e-9)
    assert not verdict.passed  # 0.1 °C > the 0.05 °C limit
    # every sample's temperature is recorded: T = 21 + 0.6 t / 3600 at its time
    assert t.size == n_samples and t.size > 1200
    assert c == pytest.approx(21.0 + 0.6 * t / 3600.0, abs=1e-9)


class _NoThermometer(SimPress):
    """A simulated press that reports no temperature (a press without a thermometer)."""

    capabilities = Capabilities(constant_gap=True)

    def read(self):
        return replace(super().read(), temperature_c=None)


def test_a_press_without_temperature_is_not_judged(tmp_path: Path) -> None:
    with Store(tmp_path / "runs.db") as store:
        result = run(_protocol(1.0), _NoThermometer(seed=1), store=store)
        run_id = store.list_runs()[-1].id
        t, _ = store.temperatures(run_id)
        out = store.export(run_id, tmp_path / "run.csv")
    assert not [v for v in result.verdicts if v.criterion == "max_temperature_change_c"]
    assert any(e.kind == "not-judged" and "max_temperature_change_c: the press reports no "
               "temperature" in e.message for e in result.events)
    assert t.size == 0
    # its exports are as before: no temperature column
    with out.open() as fh:
        assert "temperature_c" not in next(csv.reader(fh))


# --- the load cells' coefficient, and its compensation ----------------------------------------

WARM = "room.base_c=25&room.drift_c_per_h=0&room.swing_c=0&room.resolution_c=0"


def _readings(url: str, n: int = 40) -> np.ndarray:
    press = presshil.open_press(url)
    press.configure(die_area_mm2=math.pi * 25.0)
    press.command(50.0, 10.0)
    clock = press.clock
    out = []
    for k in range(n):
        clock.sleep_until(6.0 + 0.25 * k)
        s = press.read()
        out.append([s.pressure_mpa, s.force_kn, *s.channels_kn])
    press.close()
    return np.asarray(out)


def test_the_coefficient_makes_the_cells_read_high_and_compensation_removes_it() -> None:
    plain = _readings(f"sim://?seed=4&{WARM}")
    tc = "load_cells.temperature_coefficient_pct_per_c=0.02"
    drifting = _readings(f"sim://?seed=4&{WARM}&{tc}")
    fixed = _readings(f"sim://?seed=4&{WARM}&{tc}&tc_compensation_pct_per_c=0.02")
    # 25 °C, cells calibrated at 20 °C, 0.02 %/°C: every force reads × 1.001 (50 MPa → 50.05)
    assert drifting == pytest.approx(plain * 1.001, rel=1e-12)
    assert float(np.mean(drifting[:, 0] - plain[:, 0])) == pytest.approx(0.05, abs=2e-3)
    # the host's compensation with the same coefficient gives the true readings back
    assert fixed == pytest.approx(plain, rel=1e-12)
    # a wrong coefficient leaves the difference: 1.001 / 1.0005 = 1.00049975…
    half = _readings(f"sim://?seed=4&{WARM}&{tc}&tc_compensation_pct_per_c=0.01")
    assert half == pytest.approx(plain * 1.001 / 1.0005, rel=1e-12)


# --- the record: store, CSV/Parquet, BDF ------------------------------------------------------


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A short drifting-room run in a store: (store path, run id, temperatures (t, °C))."""
    folder = tmp_path_factory.mktemp("temperature")
    proto = parse_protocol(HOLD.replace("600", "20").replace("LIMIT", "1.0"))
    with Store(folder / "runs.db") as store:
        run(proto, presshil.open_press(f"sim://?seed=2&{DRIFT_ONLY}"), store=store)
        run_id = store.list_runs()[-1].id
        temps = store.temperatures(run_id)
    return folder, run_id, temps


def test_the_csv_export_has_the_temperature_of_each_sample(stored) -> None:
    folder, run_id, (t, c) = stored
    with Store(folder / "runs.db") as store:
        out = store.export(run_id, folder / "run.csv")
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-2:] == ["temperature_c", "status_flags"] and len(rows) == t.size
    got_t = np.array([float(r["t_s"]) for r in rows])
    got_c = np.array([float(r["temperature_c"]) for r in rows])
    assert got_t.tolist() == t.tolist() and got_c.tolist() == c.tolist()
    # by hand: T = 21 + 0.6 t / 3600
    assert got_c == pytest.approx(21.0 + 0.6 * got_t / 3600.0, abs=1e-9)


def test_the_parquet_export_has_the_temperature(stored) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    folder, run_id, (t, c) = stored
    with Store(folder / "runs.db") as store:
        out = store.export(run_id, folder / "run.parquet", format="parquet")
    table = pq.read_table(out)
    assert table.column("temperature_c").to_pylist() == c.tolist()


@pytest.mark.parametrize("name", ["run.bdf.csv", "run.bdf.parquet"])
def test_bdf_round_trip_carries_the_ambient_temperature(stored, name) -> None:
    if name.endswith("parquet"):
        pytest.importorskip("pyarrow")
    folder, run_id, (t, c) = stored
    with Store.open_for_reading(folder / "runs.db") as store:
        out = export_bdf(store, run_id, folder / name)
    if name.endswith("csv"):
        with out.open() as fh:
            rows = list(csv.DictReader(fh))
        got = np.array([float(r[C.AMBIENT_TEMPERATURE]) for r in rows])
        times = np.array([float(r[C.TEST_TIME]) for r in rows])
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(out)
        got = np.asarray(table.column(C.AMBIENT_TEMPERATURE).to_pylist(), float)
        times = np.asarray(table.column(C.TEST_TIME).to_pylist(), float)
    assert C.AMBIENT_TEMPERATURE == "Ambient Temperature / degC"
    assert times.tolist() == t.tolist() and got.tolist() == c.tolist()


def test_a_v4_store_gains_the_temperatures_table(tmp_path: Path) -> None:
    import sqlite3

    from presshil.store_schema import SCHEMA_VERSION

    path = tmp_path / "old.db"
    with Store(path):
        pass
    db = sqlite3.connect(path)
    db.execute("DROP TABLE temperatures")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    with Store.open_for_reading(path) as store:  # read-only: no table, no temperatures
        assert store.temperatures(1)[0].size == 0
    with Store(path) as store:  # opened for writing: upgraded to v5 and on to the current one
        pass
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 5
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'temperatures'").fetchone()
    db.close()


def test_rows_carried_over_a_resume_have_no_temperature() -> None:
    from presshil.temperature import aligned_temperatures

    # 4 rows in the step, the first 2 from before the host was lost: NaN, NaN, then the two
    got = aligned_temperatures([21.5, 21.6], 4)
    assert np.isnan(got[:2]).all() and got[2:].tolist() == [21.5, 21.6]
    assert aligned_temperatures([], 0).size == 0


def test_the_key_belongs_to_holds_only() -> None:
    from presshil.errors import ProtocolError

    ramp = HOLD.replace('expect = { max_temperature_change_c = LIMIT }', '').replace(
        'rate_mpa_s = 5.0', 'rate_mpa_s = 5.0\nexpect = { max_temperature_change_c = 1.0 }')
    with pytest.raises(ProtocolError, match="max_temperature_change_c"):
        parse_protocol(ramp)


@pytest.mark.parametrize("value", ["nan", "0.8", "abc"])
def test_a_bad_compensation_in_the_url_is_one_line(value) -> None:
    from presshil.errors import PressURLError

    with pytest.raises(PressURLError, match="tc_compensation_pct_per_c") as err:
        presshil.open_press(f"sim://?tc_compensation_pct_per_c={value}")
    assert "\n" not in str(err.value)
