"""Words for people on the command line: criterion names beside their keys, steps numbered
from 1, numbers without scientific notation, ``presshil runs`` as key=value lines."""

from __future__ import annotations

import shlex
from pathlib import Path

from typer.testing import CliRunner

from presshil.cli import app
from presshil.cliview import verdict_lines
from presshil.metrics import EXPECT_KEYS, Verdict
from presshil.wording import CRITERION_NAMES, criterion_label, fmt_num, step_label

ROOT = Path(__file__).resolve().parents[1]


def test_numbers_have_four_significant_digits_and_no_exponent_for_ordinary_values():
    assert fmt_num(5.491e-05) == "0.00005491"
    assert fmt_num(0.05988797899999554) == "0.05989"
    assert fmt_num(74.0) == "74"
    assert fmt_num(1234.5678) == "1235"
    assert fmt_num(0.5) == "0.5"
    assert fmt_num(0) == "0" and fmt_num(-0.0123456) == "-0.01235"
    assert fmt_num(3.2e-9) == "3.200e-09"  # below a micro-unit: the exponent is the honest form
    assert fmt_num(float("nan")) == "—" and fmt_num(float("inf")) == "∞"


def test_every_expect_key_has_a_human_name():
    assert set(EXPECT_KEYS) <= set(CRITERION_NAMES)
    assert criterion_label("max_drift_mpa_per_min") == "drift [max_drift_mpa_per_min]"
    assert criterion_label("max_new_thing_mpa") == "new thing [max_new_thing_mpa]"  # a key not yet named


def test_steps_are_numbered_from_one_with_their_label():
    labels = {"ramp-74": "1/3 ramp-74", "cycles": "2/3 cycles"}
    assert step_label("ramp-74", labels) == "1/3 ramp-74"
    assert step_label("cycles.hold", labels) == "2/3 cycles.hold"
    assert step_label("elsewhere", labels) == "elsewhere"


def test_a_verdict_line_reads_name_value_limit_then_key():
    v = Verdict("hold-74", "max_drift_mpa_per_min", 5.491e-05, 0.05, "MPa/min", True)
    assert verdict_lines([v], labels={"hold-74": "2/3 hold-74"})[1] == (
        "  PASS step 2/3 hold-74: drift = 0.00005491 MPa/min (limit 0.05 MPa/min) [max_drift_mpa_per_min]")


def test_runs_prints_key_value_lines_that_read_back(tmp_path: Path):
    db = tmp_path / "r.sqlite"
    proto = ROOT / "tests" / "data" / "quick-hold.toml"
    assert CliRunner().invoke(app, ["run", str(proto), "--db", str(db), "-q"]).exit_code == 0
    result = CliRunner().invoke(app, ["runs", "--db", str(db)])
    assert result.exit_code == 0, result.output
    line = result.stdout.splitlines()[1]
    fields = dict(pair.split("=", 1) for pair in shlex.split(line))
    assert fields["id"] == "1" and fields["status"] == "passed"
    assert "started_utc" in fields and " " in fields["started_utc"]  # one field, quoted


def test_the_json_report_has_no_float_noise(tmp_path: Path):
    import json

    from presshil.report import without_float_noise

    assert without_float_noise({"v": [0.05988797899999554, 2, "x", float("inf")]}) == {
        "v": [0.059887979, 2, "x", float("inf")]}
    proto = ROOT / "tests" / "data" / "quick-hold.toml"
    result = CliRunner().invoke(app, ["run", str(proto), "--db", str(tmp_path / "r.sqlite"), "-q",
                                      "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    values = [v["value"] for v in json.loads((tmp_path / "run-1.json").read_text())["verdicts"]]
    assert values and all(len(repr(v).replace("-", "").lstrip("0.")) <= 16 for v in values)
    assert all(v == float(f"{v:.12g}") for v in values)


def test_one_bad_override_of_a_list_is_said_once():
    import pytest

    from presshil.errors import ConfigError
    from presshil.urls import open_press

    with pytest.raises(ConfigError) as exc:
        open_press("sim://?load_cells.gain_error_pct=abc")
    message = str(exc.value)
    assert message.count("unable to parse string as a number") == 1, message
    assert "key 'load_cells.gain_error_pct':" in message
