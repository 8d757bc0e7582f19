"""The lab view of ``presshil ui`` over a PostgreSQL store: the runs list filtered by station
and press, and a "now running" list of runs in progress on every station, each linked to its
station's live view (the address the run recorded, never its token). A real server (the
session's throwaway cluster), a real ``presshil run --live`` in another process, real HTTP
on loopback, headless Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from browser import chromium_browser  # noqa: F401  (the fixture)
from typer.testing import CliRunner
from waiting import wait_for

from presshil.cli import app
from presshil.store import Store
from presshil.web.results import open_results
from presshil.web.server import BackgroundServer
from presshil.web.ui_app import ui_app

pytestmark = pytest.mark.slow  # a browser, a served run

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "tests" / "data" / "quick-hold.toml"
WAIT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.loads(response.read())


def _running(url: str) -> int:
    with Store(url) as store:
        return sum(r.status == "running" for r in store.list_runs())


def test_the_lab_view_filters_by_station_and_links_the_runs_in_progress_to_their_live_view(
        chromium, tmp_path: Path, pg_url: str) -> None:
    for seed, station in ((1, "press-1"), (2, "press-2")):
        done = CliRunner().invoke(app, ["run", str(QUICK), "--db", pg_url, "-q", "--seed",
                                        str(seed), "--station", station])
        assert done.exit_code == 0, done.output
    long_hold = tmp_path / "long-hold.toml"
    long_hold.write_text(QUICK.read_text().replace("duration_s = 10", "duration_s = 600"))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "presshil.cli", "run", str(long_hold), "--db", pg_url, "-q",
         "--station", "press-3", "--live", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
             "PRESSHIL_LIVE_PACE": "10", "PRESSHIL_LIVE_LINGER": "0"})
    results = open_results(pg_url)
    try:

        def running() -> bool:
            assert proc.poll() is None, proc.poll()
            return _running(pg_url) > 0

        wait_for(running, timeout_s=WAIT_S, what="the run to be recorded as running", poll_s=0.1)
        assert _running(pg_url) == 1
        with BackgroundServer(ui_app(results)) as srv:
            [now] = _get(srv.url, "/api/running")["runs"]
            live = f"http://127.0.0.1:{port}/"
            assert now["station"] == "press-3" and now["live_view"] == live and now["id"] == 3
            assert [r["id"] for r in _get(srv.url, "/api/runs?station=press-2")["runs"]] == [2]
            assert [r["id"] for r in _get(srv.url, "/api/runs?press=seed=1")["runs"]] == [1]
            page = chromium.new_page()
            try:
                page.goto(srv.url + "/", timeout=15_000)
                page.wait_for_selector("#running tbody tr.run[data-id='3']", timeout=15_000)
                row = page.inner_text("#running tbody tr.run[data-id='3']")
                assert "press-3" in row and "quick-hold" in row
                link = page.get_attribute("#running tbody tr.run[data-id='3'] a", "href")
                assert link == live and "token" not in link
                assert not page.is_visible("#running-none")
                page.fill("#filters input[name=station]", "press-1")
                page.click("#filters button[type=submit]")
                page.wait_for_function(
                    "document.querySelectorAll('#runs tbody tr.run').length === 1", timeout=15_000)
                shown = page.eval_on_selector_all("#runs tbody tr.run td:nth-child(7)",
                                                  "els => els.map(e => e.textContent)")
                assert shown == ["press-1"]
                page.fill("#filters input[name=station]", "")
                page.fill("#filters input[name=press]", "seed=2")
                page.click("#filters button[type=submit]")
                page.wait_for_function(
                    "[...document.querySelectorAll('#runs tbody tr.run')].map(r => r.dataset.id)"
                    ".join() === '2'", timeout=15_000)
                page.goto(link, timeout=15_000)  # the station's own page serves the run
                page.wait_for_function("document.getElementById('protocol').textContent"
                                       ".includes('quick-hold')", timeout=15_000)
            finally:
                page.close()
    finally:
        results.close()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.communicate(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate(timeout=WAIT_S)
