"""The command line as a newcomer meets it: names, logs, exports, suites, progress."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from presshil.cli import app
from presshil.cliview import ProgressView, verdict_lines, why
from presshil.metrics import Verdict
from presshil.runner import Progress

ROOT = Path(__file__).resolve().parents[1]
QUICK = (ROOT / "tests" / "data" / "quick-hold.toml").read_text()


def test_misspelled_protocol_name_lists_the_library_and_suggests_the_closest(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "asembly-74mpa"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "did you mean 'assembly-74mpa'?" in text
    assert "step-response-74mpa" in text  # the known names are listed
    assert "pyproject" not in text
    assert not (tmp_path / "results").exists()


def test_a_log_gets_a_line_per_step_and_untruncated_reasons_with_both_time_bases(
    tmp_path: Path,
) -> None:
    path = tmp_path / "strict.toml"
    path.write_text(QUICK.replace("band_mpa = 0.5", "band_mpa = 0.001"))
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "step 2/3 hold-20 (hold) started at run time t=4.0 s" in out
    assert "step 3/3 (release) ended at run time" in out
    [fail] = [line for line in out.splitlines() if line.strip().startswith("FAIL step 2/3 hold-20: largest deviation after settling")]
    reason = out.splitlines()[out.splitlines().index(fail) + 1]
    m = re.search(r"run time t = ([\d.]+) s \(step time ([\d.]+) s\)", reason)
    assert m, reason
    assert float(m.group(1)) - float(m.group(2)) == pytest.approx(
        4.0
    )  # the hold started at run time 4 s
    assert "…" not in out


def test_why_names_the_time_base_of_the_metric_detail() -> None:
    v = Verdict(
        "hold-74",
        "band_mpa",
        0.3,
        0.25,
        "MPa",
        False,
        detail="|p − setpoint| at t = 37 s",
        t_s=337.0,
    )
    text = why(v, {"hold-74": 300.0})
    assert text.startswith("run time t = 337 s (step time 37 s)")
    assert "at step time t = 37 s" in text
    inner = Verdict("cycles.1", "band_mpa", 0.3, 0.25, "MPa", False, t_s=120.0)
    assert "(step time 20 s)" in why(inner, {"cycles": 100.0})
    long_detail = "x" * 500
    lines = verdict_lines([Verdict("s", "c", 1, 0, "", False, detail=long_detail)])
    assert long_detail in lines[-1]


def test_export_and_report_write_no_float_noise_and_default_beside_the_store(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "quick.toml"
    path.write_text(QUICK)
    db = tmp_path / "store" / "r.sqlite"
    assert CliRunner().invoke(app, ["run", str(path), "--db", str(db), "-q"]).exit_code == 0
    result = CliRunner().invoke(app, ["export", "1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert not list(tmp_path.glob("run-1.*"))  # nothing dropped in the current directory
    csv = (db.parent / "run-1.csv").read_text().splitlines()
    times = [row.split(",")[0] for row in csv[1:]]
    assert times[:3] == ["0.05", "0.1", "0.15"]
    assert all(len(t) < 14 for t in times)  # 0.04000000000000002 would be 19 characters
    report = CliRunner().invoke(app, ["report", "1", "--db", str(db)])
    assert report.exit_code == 0, report.output
    assert (db.parent / "run-1.html").stat().st_size > 1000
    assert not list(tmp_path.glob("run-1.*"))


def test_check_recognises_an_acceptance_suite(tmp_path: Path) -> None:
    suite = ROOT / "protocols" / "acceptance" / "standard.toml"
    result = CliRunner().invoke(app, ["check", str(suite)])
    assert result.exit_code == 0, result.output
    assert "acceptance suite standard" in result.stdout
    broken = tmp_path / "acceptance" / "bad.toml"
    broken.parent.mkdir()
    broken.write_text(suite.read_text().replace("preloads = 3", "preloads = -3"))
    result = CliRunner().invoke(app, ["check", str(broken)])
    assert result.exit_code == 2
    assert "limits" not in result.output  # judged as a suite, not as a protocol


def test_progress_last_frame_reaches_100_percent() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=160)
    with ProgressView(console, enabled=True) as view:
        for i in range(1, 50):  # all within the redraw throttle: only the first is drawn
            view(Progress("hold", 0, 1, "", i * 0.2, 20.0, 20.0, 10.0))
        view.finish(completed=True)
    assert "100.0%" in buf.getvalue()
