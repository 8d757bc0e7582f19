"""The `presshil` command line: exit codes, one-line errors, no press commanded on bad input."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app

ROOT = Path(__file__).resolve().parents[1]
# the short ramp-hold-release shared with the plugin tests; its release is at 8 MPa/s so that
# the release rate can be told apart from the ramp and limit rates below
GOOD = (ROOT / "tests" / "data" / "quick-hold.toml").read_text().replace(
    'type = "release"\nrate_mpa_s = 10.0', 'type = "release"\nrate_mpa_s = 8.0'
)
assert "rate_mpa_s = 8.0" in GOOD

# (name, text, words the one-line error must contain)
BAD = [
    ("unknown-key", GOOD.replace("rate_mpa_s = 5.0", "rate_mpa_s = 5.0\nspeed = 3"), ["step 1", "speed"]),
    ("missing-field", GOOD.replace("to_mpa = 20.0\n", ""), ["step 1", "to_mpa"]),
    ("wrong-type", GOOD.replace("duration_s = 10", 'duration_s = "ten"'), ["step 2", "duration_s"]),
    ("nan", GOOD.replace("to_mpa = 20.0", "to_mpa = nan"), ["step 1", "to_mpa"]),
    ("inf", GOOD.replace("duration_s = 10", "duration_s = inf"), ["step 2", "duration_s"]),
    ("zero-duration", GOOD.replace("duration_s = 10", "duration_s = 0"), ["step 2", "duration_s"]),
    ("negative-rate", GOOD.replace("rate_mpa_s = 8.0", "rate_mpa_s = -1.0"), ["step 3", "rate_mpa_s"]),
    ("above-limit", GOOD.replace("to_mpa = 20.0", "to_mpa = 740.0"), ["step 1", "to_mpa"]),
    ("empty-steps", GOOD.split("[[steps]]")[0] + "steps = []\n", ["steps"]),
    (
        "repeat-count-0",
        GOOD + '[[steps]]\ntype = "repeat"\ncount = 0\n[[steps.steps]]\ntype = "hold"\nduration_s = 1\n',
        ["step 4", "count"],
    ),
    ("not-toml", "name = \n[[[", ["line"]),
]


def _runs_in(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        return con.execute("select count(*) from runs").fetchone()[0]


@pytest.mark.parametrize("name,text,words", BAD, ids=[b[0] for b in BAD])
def test_bad_protocol_exits_2_with_one_clear_line_and_never_commands_the_press(
    tmp_path: Path, name: str, text: str, words: list[str]
) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    db = tmp_path / "r.sqlite"
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(db), "-q"])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error:"), message
    assert "Traceback" not in result.output
    assert f"{name}.toml" in message
    for word in words:
        assert word in message, message
    assert _runs_in(db) == 0  # nothing was run, so nothing was commanded


def test_missing_protocol_file_is_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(tmp_path / "nope.toml"), "--db", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2
    assert "nope.toml" in result.stderr


def test_limit_above_press_rating_is_refused_before_the_press_moves(tmp_path: Path) -> None:
    path = tmp_path / "too-high.toml"
    path.write_text(GOOD.replace("max_pressure_mpa = 80.0", "max_pressure_mpa = 90000.0"))
    db = tmp_path / "r.sqlite"
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(db), "-q"])
    assert result.exit_code == 2, result.output
    assert "max_pressure_mpa" in result.stderr and "too-high.toml" in result.stderr
    assert _runs_in(db) == 0


def test_unknown_press_url_lists_valid_forms(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(GOOD)
    result = CliRunner().invoke(app, ["run", str(path), "--press", "ftp://x", "--db", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2
    assert "modbus+tcp://HOST:PORT" in result.stderr


def test_run_passes_stores_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "quick.toml"
    path.write_text(GOOD)
    db = tmp_path / "r.sqlite"
    report = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["run", str(path), "--db", str(db), "--report", str(report), "--seed", "3", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.stdout
    assert (report / "run-1.json").exists() and (report / "run-1.png").stat().st_size > 10_000
    listing = CliRunner().invoke(app, ["runs", "--db", str(db)])
    assert listing.exit_code == 0 and "quick" in listing.stdout and "passed" in listing.stdout
    out = tmp_path / "run.csv"
    exported = CliRunner().invoke(app, ["export", "1", "--db", str(db), "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    lines = out.read_text().splitlines()
    assert len(lines) > 100 and "pressure" in lines[0]


def test_failed_criterion_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "strict.toml"
    # a 0.001 MPa band is beyond any load cell's noise: the hold criterion fails
    path.write_text(GOOD.replace("band_mpa = 0.5", "band_mpa = 0.001"))
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(tmp_path / "r.sqlite"), "-q"])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.stdout and "band_mpa" in result.stdout


def test_check_validates_without_running(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", *map(str, sorted((ROOT / "protocols").glob("*.toml")))])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("ok ") == len(list((ROOT / "protocols").glob("*.toml")))


def test_seed_is_set_only_on_sim_urls() -> None:
    from presshil.errors import ConfigError
    from presshil.urls import parse_press_url

    seeded = parse_press_url("sim://auto-hydraulic-25t?seed=1&specimen=x").with_seed(7)
    assert seeded.raw == "sim://auto-hydraulic-25t?specimen=x&seed=7" and seeded.seed == 7
    with pytest.raises(ConfigError, match="--seed applies to simulated presses"):
        parse_press_url("modbus+tcp://127.0.0.1:5020").with_seed(7)


@pytest.mark.slow
def test_console_script_has_no_traceback_for_expected_failures(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("to_mpa = 20.0", "to_mpa = -3"))
    proc = subprocess.run(
        [sys.executable, "-m", "presshil.cli", "run", str(path), "--db", str(tmp_path / "r.sqlite")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_help_reads_well() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "check", "serve", "runs", "export"):
        assert command in result.stdout
    run_help = CliRunner().invoke(app, ["run", "--help"])
    assert "--press" in run_help.stdout and "Exit code" in run_help.stdout


@pytest.mark.parametrize("command", ["run", "check", "runs", "export", "serve", "accept", "report",
                                     "probe", "sweep", "ui", "plant serve"])
def test_every_help_page_keeps_its_words(command: str) -> None:
    """Rich markup eats a bracketed word it takes for a style tag (``[safety]``), and
    reStructuredText quotes show up literally: neither may reach a help page."""
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "``" not in result.stdout, result.stdout
    if command == "check":
        assert "[force_verification]" in result.stdout and "[safety]" in result.stdout


def test_version() -> None:
    import presshil

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"presshil {presshil.__version__}"


def test_a_bad_press_url_lists_a_valid_form_of_every_scheme(tmp_path) -> None:
    """The message of an unknown scheme shows how to write each URL presshil can open."""
    from presshil.url_schemes import SCHEMES, valid_forms

    assert {form.split("://", 1)[0] for form in valid_forms()} == set(SCHEMES)
    result = CliRunner().invoke(
        app, ["run", str(ROOT / "protocols" / "assembly-74mpa.toml"), "--press", "nope://x",
              "--db", str(tmp_path / "r.sqlite")],
    )
    assert result.exit_code == 2
    assert "unknown scheme 'nope'" in result.output
    for form in valid_forms():
        assert form in result.output
    assert not (tmp_path / "r.sqlite").exists()  # refused before the store was touched
