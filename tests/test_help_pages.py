"""Help pages and progress lines on an 80-column terminal: no ``<bool>``, plain argument names,
defaults shown, no trailing spaces; the verdict table and the progress line fit; a piped
sweep shows progress; the ``ui`` banner is one line when piped."""

from __future__ import annotations

import io
import types
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from presshil.cli import app
from presshil.cliview import TABLE_MIN_WIDTH, ProgressView, show_verdicts
from presshil.metrics import Verdict
from presshil.sweep.spec import DEFAULT_RUNS

COMMANDS = ["run", "check", "runs", "export", "serve", "accept", "report", "probe", "sweep", "ui",
            "plant serve"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_reads_plainly_at_80_columns(command: str):
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    for noise in ("<bool>", "<str>", "<int>", "<path>", "<list[str]>", "{protocol}"):
        assert noise not in text, f"{noise} in:\n{text}"
    trailing = [line for line in text.splitlines() if line != line.rstrip()]
    assert not trailing, trailing
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_required_argument_reads_as_its_name_and_defaults_are_shown():
    run = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "120"}).stdout
    assert "Usage: presshil run [OPTIONS] PROTOCOL" in run
    sweep = CliRunner().invoke(app, ["sweep", "--help"], env={"COLUMNS": "200"}).stdout
    assert f"(default: {DEFAULT_RUNS}, or the sweep file's)" in sweep
    # a docstring paragraph is one line the terminal wraps, not its source's line breaks
    check = CliRunner().invoke(app, ["check", "--help"], env={"COLUMNS": "200"}).stdout
    assert "without running them: every file, every error in it, then exit 2 if any was bad." in check


def test_verdicts_on_an_80_column_terminal_are_lines_and_on_a_wide_one_a_table_nothing_cut():
    verdicts = [Verdict("preload-hold-10", "max_pellet_nonuniformity_pct", 1.29, 10.0, "%", True),
                Verdict("preload-hold-10", "max_drift_mpa_per_min", 5.491e-05, 0.05, "MPa/min", False,
                        detail="slope over 300 s")]
    labels = {"preload-hold-10": "2/3 preload-hold-10"}
    narrow = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    show_verdicts(narrow, verdicts, {}, labels)
    text = narrow.file.getvalue()
    assert "┃" not in text and "…" not in text
    assert ("  FAIL step 2/3 preload-hold-10: drift = 0.00005491 MPa/min (limit 0.05 MPa/min) "
            "[max_drift_mpa_per_min]") in text.replace("\n", "")
    wide = Console(file=io.StringIO(), width=TABLE_MIN_WIDTH, force_terminal=True, color_system=None)
    show_verdicts(wide, verdicts, {}, labels)
    table = wide.file.getvalue()
    assert "┃" in table and "…" not in table
    assert "2/3 preload-hold-10" in table and "0.00005491 MPa/min" in table
    assert all(len(line) <= TABLE_MIN_WIDTH for line in table.splitlines())


def test_the_progress_line_fits_80_columns():
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    view = ProgressView(console, True)
    with view:
        p = types.SimpleNamespace(step_index=1, step_count=3, step_name="hold-74", iteration=None,
                                  t_s=3723.0, expected_total_s=7200.0, pressure_mpa=74.01, setpoint_mpa=74.0)
        view(p)
        view.finish(completed=False)
    plain = Console(file=io.StringIO(), width=80, color_system=None)
    plain.print(view.bar.make_tasks_table(view.bar.tasks))  # the line as the terminal shows it
    (last,) = plain.file.getvalue().splitlines()
    assert "…" not in last and len(last) <= 80
    assert "step 2/3 hold-74" in last and "1:02:03/2:00:00 wall" in last


def test_a_piped_sweep_prints_a_line_at_every_tenth(monkeypatch: pytest.MonkeyPatch):
    from presshil.sweep.command import _Bar

    console = Console(file=io.StringIO(), width=80)
    bar = _Bar(console, enabled=False, lines=True)
    bar.created(7, 200)
    for done in range(1, 201):
        bar.progress(types.SimpleNamespace(done=done, pass_rate=1.0))
    lines = console.file.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("  20/200 variants done, pass 100.0 %, wall 0:00:0")
    assert lines[-1].startswith("  200/200 variants done")


@pytest.mark.slow
def test_the_ui_banner_is_one_line_when_piped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from presshil.store import Store
    from presshil.web.server import BackgroundServer

    db = tmp_path / ("a-long-folder-name-" * 3) / "r.sqlite"
    db.parent.mkdir()
    Store(db).close()

    def interrupted(self) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(BackgroundServer, "wait", interrupted)
    result = CliRunner().invoke(app, ["ui", "--db", str(db), "--bind", "127.0.0.1:0"])
    assert result.exit_code == 0, result.output
    (banner,) = [line for line in result.stdout.splitlines() if line.startswith("results browser:")]
    assert banner.endswith("Ctrl-C to stop)")
