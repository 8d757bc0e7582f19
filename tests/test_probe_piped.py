"""``presshil probe`` piped or logged: lines never broken, no trailing spaces."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from presshil.cli import app


def test_probe_output_piped_keeps_each_line_whole_and_unpadded() -> None:
    # CliRunner's stdout is not a terminal, 80 columns wide: what `presshil probe … | tee` gets
    result = CliRunner().invoke(app, ["probe", "sim://"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # the identity (96 characters) on one line, not folded at 80
    assert lines[0] == ("presshil-sim AH-25 automatic hydraulic press (s/n SIM-AH25-0001, "
                        "firmware presshil-ref-fw 1.0)")
    assert lines[1] == "rated 245.2 kN, 500 MPa on the present die; 4 channel(s)"
    assert lines[2] == "probe sim://"  # the title, not padded to the table's width
    assert [line for line in lines if line != line.rstrip()] == []
    # the table at its natural width: the four channel forces on the row of their signal
    (row,) = [line for line in lines if "channel_force" in line]
    assert re.search(r"│ (-?[\d.]+, ){3}-?[\d.]+ kN\s+│", row), row
    assert lines[-1].startswith("capabilities: regulates, channels")
