"""Run metadata: ``run --meta KEY=VALUE``, a protocol's ``[meta]`` table, where they show."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.errors import ConfigError, ProtocolError
from presshil.protocol import load_protocol
from presshil.run_meta import MetaTable, parse_pairs, resolve
from presshil.store import Store
from presshil.web.results import Results, RunFilter

BODY = """name = "meta-short"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 20.0
max_rate_mpa_s = 5.0
[[steps]]
type = "ramp"
to_mpa = 5.0
rate_mpa_s = 5.0
[[steps]]
type = "release"
rate_mpa_s = 5.0
"""


def _protocol(tmp_path: Path, meta: str = "") -> Path:
    path = tmp_path / "meta-short.toml"
    path.write_text(BODY + meta, encoding="utf-8")
    return path


def test_pairs_are_split_at_the_first_equals_sign() -> None:
    assert parse_pairs(["cell_id=C-17", " operator = ana ", "note=a=b"]) == {
        "cell_id": "C-17", "operator": "ana", "note": "a=b"}
    with pytest.raises(ConfigError, match=r"--meta takes KEY=VALUE .* got 'cell_id'"):
        parse_pairs(["cell_id"])
    with pytest.raises(ConfigError, match="got '1x=2'"):
        parse_pairs(["1x=2"])


def test_required_keys_are_asked_for_and_given_values_win() -> None:
    table = MetaTable.model_validate({"required": ["cell_id", "operator"], "chemistry": "NMC"})
    asked: list[str] = []

    def ask(key: str) -> str:
        asked.append(key)
        return f" typed-{key} "

    got = resolve(table, {"operator": "ana"}, source="p.toml", ask=ask)
    assert got == {"chemistry": "NMC", "operator": "ana", "cell_id": "typed-cell_id"}
    assert asked == ["cell_id"]
    with pytest.raises(ConfigError, match=r"p.toml: meta.required: cell_id, operator not given; "
                                          r"give --meta cell_id=… --meta operator=…"):
        resolve(table, {}, source="p.toml", ask=None)


def test_a_meta_value_that_is_not_text_is_a_protocol_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="meta"):
        load_protocol(_protocol(tmp_path, '[meta]\nrequired = ["cell_id"]\nbatch = 7\n'))
    with pytest.raises(ProtocolError, match="not a key"):
        load_protocol(_protocol(tmp_path, '[meta]\nrequired = ["cell id"]\n'))


def test_a_missing_required_key_off_a_terminal_is_refused_before_anything_runs(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    resumed = CliRunner().invoke(app, ["run", "x.toml", "--resume", "1", "--meta", "a=b"])
    assert resumed.exit_code == 2 and "--meta does not apply to --resume" in resumed.output
    path = _protocol(tmp_path, '[meta]\nrequired = ["cell_id"]\n')
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(db), "-q"])
    assert result.exit_code == 2, result.output
    assert "meta.required: cell_id not given; give --meta cell_id=…" in " ".join(result.output.split())
    assert not db.exists()  # nothing ran, nothing was stored


def test_metadata_is_stored_listed_and_filterable(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    path = _protocol(tmp_path, '[meta]\nrequired = ["cell_id"]\nchemistry = "NMC|LPSCl|Li"\n')
    for cell in ("C-17", "C-18"):
        result = CliRunner().invoke(app, ["run", str(path), "--db", str(db), "-q",
                                          "--meta", f"cell_id={cell}", "--meta", "operator=ana"])
        assert result.exit_code == 0, result.output
    with Store.open_for_reading(db) as store:
        assert store.meta(1) == {"chemistry": "NMC|LPSCl|Li", "cell_id": "C-17", "operator": "ana"}
        assert store.meta(2)["cell_id"] == "C-18"
    listed = CliRunner().invoke(app, ["runs", "--db", str(db)])
    assert listed.exit_code == 0
    lines = [ln for ln in listed.output.splitlines() if "id=" in ln]
    assert "cell_id=C-17" in lines[0] and "cell_id=C-18" in lines[1]
    results = Results(db)
    try:
        assert [r["id"] for r in results.runs(RunFilter(meta="cell_id=C-18"))] == [2]
        assert [r["id"] for r in results.runs(RunFilter(meta="operator=ana"))] == [2, 1]
        assert results.runs(RunFilter(meta="cell_id=C-99")) == []
        assert results.run(1)["meta"]["cell_id"] == "C-17"
    finally:
        results.close()
    report = tmp_path / "r.html"
    made = CliRunner().invoke(app, ["report", "1", "--db", str(db), "--output", str(report)])
    assert made.exit_code == 0, made.output
    assert "<th>cell_id</th><td>C-17</td>" in report.read_text(encoding="utf-8")


@pytest.mark.slow  # a subprocess on a pseudo-terminal
def test_a_missing_required_key_is_asked_for_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    db = tmp_path / "r.sqlite"
    path = _protocol(tmp_path, '[meta]\nrequired = ["cell_id"]\n')
    main, side = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # a person at a terminal
    proc = subprocess.Popen([sys.executable, "-m", "presshil.cli", "run", str(path), "--db", str(db),
                             "-q"], stdin=side, stdout=side, stderr=side, close_fds=True, env=env)
    os.close(side)
    seen, answered = b"", False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the terminal closed: the process ended
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"meta-short: cell_id" in seen:
                os.write(main, b"C-42\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    assert answered, seen.decode(errors="replace")
    assert code == 0, seen.decode(errors="replace")
    with Store.open_for_reading(db) as store:
        assert store.meta(1) == {"cell_id": "C-42"}
