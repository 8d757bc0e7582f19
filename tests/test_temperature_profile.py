"""A profile's ``temperature`` signal and its load-cell compensation, over a real Modbus TCP
connection to the profile's emulation of a simulated press in a 25 °C room whose load cells
drift 0.02 %/°C.

Expected values by hand: calibrated at 20 °C, the cells read × (1 + 0.0002 × 5) = × 1.001;
compensated, the host divides that factor out again.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest
from waiting import wait_for

import presshil
from presshil.profiles.server import start_profile_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[1]
PLC = tomllib.loads((ROOT / "profiles" / "plc-hydraulic-press.toml").read_text())
ROOM = ("room.base_c=25&room.drift_c_per_h=0&room.swing_c=0&room.resolution_c=0"
        "&load_cells.temperature_coefficient_pct_per_c=0.02")


def _toml(data: dict, prefix: str = "") -> str:
    """A small TOML writer for the profile's tables (scalars, inline tables, sub-tables)."""
    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + " }"
        return repr(v)

    def is_table(k: str, v) -> bool:
        return isinstance(v, dict) and (not prefix or prefix in ("signals", "commands"))

    head = [f"[{prefix}]"] if prefix else []
    body = [f"{k} = {value(v)}" for k, v in data.items() if not is_table(k, v)]
    subs = [_toml(v, f"{prefix}.{k}" if prefix else k) for k, v in data.items() if is_table(k, v)]
    return "\n".join(head + body) + "\n" + "".join(subs)


def _profile(tmp_path: Path, compensation: bool) -> Path:
    data = copy.deepcopy(PLC)
    # a load-cell force and the room's temperature beside the PLC's own registers
    data["signals"]["force"] = {"address": 30, "data_type": "float32", "unit": "kN"}
    data["signals"]["temperature"] = {"address": 32, "data_type": "float32", "unit": "degC"}
    if compensation:
        data["temperature"] = {"load_cell_coefficient_pct_per_c": 0.02, "calibration_c": 20.0}
    path = tmp_path / ("compensated.toml" if compensation else "plain.toml")
    path.write_text(_toml(data))
    return path


def test_a_profile_reads_the_temperature_and_compensates_the_load_cells(tmp_path: Path) -> None:
    served = _profile(tmp_path, compensation=True)
    with start_profile_server(f"sim://auto-hydraulic-25t?seed=3&{ROOM}", str(served),
                              modbus_tcp="127.0.0.1:0") as srv:
        endpoint = srv.endpoints["modbus_tcp"]
        press = presshil.open_press(f"modbus+tcp://{endpoint}?profile={served}")
        plain = presshil.open_press(
            f"modbus+tcp://{endpoint}?profile={_profile(tmp_path, compensation=False)}")
        try:
            assert press.capabilities.temperature and plain.capabilities.temperature
            press.configure(die_area_mm2=78.54)
            press.command(20.0, 10.0)
            wait_for(lambda: press.read().pressure_mpa >= 10.0, timeout_s=30.0,
                     what="the emulated press to load", poll_s=0.1)
            raw, values = press.read_values()
            sample = press._sample_of(raw, values)  # the same reading, compensated
            assert sample.temperature_c == 25.0
            # by hand: the cells read × 1.001; the compensated force is the read one / 1.001
            assert values["force"] > 0.5  # 20 MPa on 78.54 mm² is 1.57 kN
            assert sample.force_kn == pytest.approx(values["force"] / 1.001, rel=1e-12)
            # the pressure is made from the compensated force: F / A
            assert sample.pressure_mpa == pytest.approx(sample.force_kn * 1000.0 / 78.54,
                                                        rel=1e-12)
            # the profile without [temperature] reports what the cells read
            raw2, values2 = plain.read_values()
            other = plain._sample_of(raw2, values2)
            assert other.temperature_c == 25.0 and other.force_kn == values2["force"]
        finally:
            press.release(10.0)
            press.close()
            plain.close()


def test_compensation_without_a_temperature_signal_is_refused(tmp_path: Path) -> None:
    from presshil.errors import ConfigError
    from presshil.maps.profile_loader import load_profile

    data = copy.deepcopy(PLC)
    data["temperature"] = {"load_cell_coefficient_pct_per_c": 0.02}
    path = tmp_path / "bad.toml"
    path.write_text(_toml(data))
    with pytest.raises(ConfigError, match=r"temperature.*needs signals\.temperature"):
        load_profile(str(path))
