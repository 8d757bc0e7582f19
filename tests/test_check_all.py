"""``presshil check`` as a CI lint step: every file, every error in it, then exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from presshil.cli import app
from presshil.errors import ProtocolError
from presshil.protocol import parse_protocol

ROOT = Path(__file__).resolve().parents[1]

HEAD = """name = "bad"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 80.0
max_rate_mpa_s = 10.0
"""
THREE_ERRORS = HEAD + """[[steps]]
type = "ramp"
to_mpa = "x"
rate_mpa_s = -2
[[steps]]
type = "hold"
duration_s = "long"
"""
UNKNOWN_KEY = HEAD + """[[steps]]
type = "ramp"
to_mpa = 10
rate_mpa_s = 1
speed = 3
"""


def test_check_reports_every_file_and_every_error_then_exits_2(tmp_path: Path) -> None:
    good = ROOT / "protocols" / "assembly-74mpa.toml"
    three = tmp_path / "three.toml"
    three.write_text(THREE_ERRORS)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(UNKNOWN_KEY)
    result = CliRunner().invoke(app, ["check", str(three), str(good), "no-such-protocol", str(unknown)])
    assert result.exit_code == 2, result.output
    # the good file after the bad one is still checked
    assert result.stdout.splitlines() == [f"ok {good}: assembly-74mpa, 3 steps, about 0:05:51 long"]
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {three}, step 1, field 'to_mpa': must be a number, got 'x' (str)"
    assert lines[1] == f"error: {three}, step 1, field 'rate_mpa_s': must be >= 0.001, got -2"
    assert lines[2] == f"error: {three}, step 2, field 'duration_s': must be a number, got 'long' (str)"
    assert lines[3].startswith("error: no-such-protocol: no such file or protocol name")
    assert lines[4].startswith(f"error: {unknown}, step 1, field 'speed': unknown key")
    assert lines[5:] == ["3 of 4 files with errors"]
    assert "more" not in result.stderr  # nothing hidden behind "(+2 more)"


def test_all_good_files_exit_0() -> None:
    files = sorted(map(str, (ROOT / "protocols").glob("*.toml")))
    result = CliRunner().invoke(app, ["check", *files])
    assert result.exit_code == 0 and result.stderr == ""
    assert len(result.stdout.splitlines()) == len(files)


def test_a_one_line_error_says_how_many_more_and_where_to_see_them() -> None:
    try:
        parse_protocol(THREE_ERRORS, "three.toml")
    except ProtocolError as exc:
        assert str(exc).endswith("(+2 more; presshil check lists them)")
        assert [e.field for e in exc.also] == ["rate_mpa_s", "duration_s"]
    else:
        raise AssertionError("a protocol with three errors was accepted")


def test_a_suite_with_several_errors_lists_them_all(tmp_path: Path) -> None:
    suite_dir = tmp_path / "acceptance"
    suite_dir.mkdir()
    text = (ROOT / "protocols" / "acceptance" / "standard.toml").read_text()
    bad = suite_dir / "bad.toml"
    bad.write_text(text + "\nunknown_one = 1\nunknown_two = 2\n")
    result = CliRunner().invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, result.stderr
    assert "unknown_one" in errors[0] and "unknown_two" in errors[1]
