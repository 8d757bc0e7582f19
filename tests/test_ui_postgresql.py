"""The results browser over a lab's PostgreSQL store: the same answers as over SQLite for the
same runs, filterable by station, the min/max per pixel computed by the server. Real server
(the session's throwaway cluster), real HTTP on loopback."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.web.results import open_results
from presshil.web.server import BackgroundServer
from presshil.web.ui_app import ui_app

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "tests" / "data" / "quick-hold.toml"
STATIONS = ("press-1", "press-2")


def _fill(db: str) -> None:
    for seed, station in enumerate(STATIONS, start=1):
        result = CliRunner().invoke(app, ["run", str(QUICK), "--db", db, "-q", "--seed", str(seed),
                                          "--station", station])
        assert result.exit_code == 0, result.output


def _get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def both(tmp_path: Path, pg_url: str) -> tuple[str, str]:
    """The same two seeded runs in a SQLite file and on the server."""
    lite = str(tmp_path / "r.sqlite")
    _fill(lite)
    _fill(pg_url)
    return lite, pg_url


def _answers(db: str) -> dict[str, object]:
    results = open_results(db)
    try:
        with BackgroundServer(ui_app(results)) as srv:
            base = srv.url
            runs = _get(base, "/api/runs")["runs"]
            return {
                "runs": [{k: v for k, v in r.items() if k not in ("started_utc", "finished_utc")}
                         for r in runs],
                "press-2": [r["id"] for r in _get(base, "/api/runs?station=press-2")["runs"]],
                "run": {k: v for k, v in _get(base, "/api/runs/1").items()
                        if k not in ("started_utc", "finished_utc")},
                "grouped": _get(base, "/api/runs/1/trace?px=16"),
                "zoom": _get(base, "/api/runs/2/trace?px=400&t0=2&t1=6"),
                "criteria": _get(base, "/api/criteria?protocol=QUICK"),
                "trend": [{k: v for k, v in p.items() if k != "started_utc"}
                          for p in _get(base, "/api/trend?criterion=band_mpa")["points"]],
            }
    finally:
        results.close()


def test_the_browser_answers_the_same_over_postgresql_as_over_sqlite(both: tuple[str, str]) -> None:
    lite, pg = _answers(both[0]), _answers(both[1])
    assert pg["press-2"] == lite["press-2"] == [2]
    assert [r["station"] for r in pg["runs"]] == ["press-2", "press-1"]  # newest first
    assert not pg["grouped"]["raw"] and pg["grouped"]["n_samples"] > 32  # min/max per pixel
    assert pg["zoom"]["raw"] and len(pg["zoom"]["t"]) > 10
    assert [c["criterion"] for c in pg["criteria"]["criteria"]]
    assert [p["run_id"] for p in pg["trend"]] == [1, 2]  # type: ignore[index]
    assert pg == lite


def test_ui_names_a_server_it_cannot_use_in_one_line() -> None:
    result = CliRunner().invoke(app, ["ui", "--db", "postgresql://lab@127.0.0.1:1/presshil"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open the results store" in lines[0]
