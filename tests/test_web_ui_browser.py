"""The results browser (``presshil ui``) in headless Chromium over a real store of real runs."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser import chromium_browser, pixel_variance  # noqa: F401  (chromium_browser: the fixture)
from wall_clock import wall_clock_fixture

import presshil
from presshil.protocol import load_protocol
from presshil.store import Store
from presshil.web.results import open_results
from presshil.web.server import BackgroundServer
from presshil.web.ui_app import ui_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ui") / "r.sqlite"
    proto = load_protocol(ROOT / "protocols" / "step-response-74mpa.toml")
    with Store(path) as store:
        for seed in (1, 2, 3):
            presshil.run(proto, presshil.open_press(f"sim://?seed={seed}"), store=store, seed=seed)
    return path


@wall_clock_fixture(scope="module")
def ui(store_path):
    results = open_results(store_path)
    with BackgroundServer(ui_app(results)) as srv:
        yield srv
    results.close()


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_api_errors_are_clear(ui):
    code, body = get(f"{ui.url}/api/runs/999")
    assert code == 404 and "no run 999" in body["error"]
    code, body = get(f"{ui.url}/api/runs/1/trace?t0=x")
    assert code == 400 and "t0" in body["error"]
    code, body = get(f"{ui.url}/api/runs/1/export?format=xlsx")
    assert code == 400 and "xlsx" in body["error"]
    code, body = get(f"{ui.url}/api/trend")
    assert code == 400 and "criterion" in body["error"]


def test_export_csv_and_parquet(ui, store_path, tmp_path: Path):
    with urllib.request.urlopen(f"{ui.url}/api/runs/2/export?format=csv", timeout=30) as r:
        text = r.read().decode()
    lines = text.splitlines()
    assert lines[0].startswith("t_s,setpoint_mpa,pressure_mpa")
    with Store(store_path) as store:
        assert len(lines) - 1 == store.get_run(2).n_samples
    pq = pytest.importorskip("pyarrow.parquet")
    with urllib.request.urlopen(f"{ui.url}/api/runs/2/export?format=parquet", timeout=30) as r:
        (tmp_path / "r.parquet").write_bytes(r.read())
    assert pq.read_table(tmp_path / "r.parquet").num_rows == len(lines) - 1


def test_browse_open_zoom_overlay_trend(chromium, ui, tmp_path: Path):
    page = chromium.new_page(viewport={"width": 1300, "height": 1400})
    try:
        page.goto(ui.url + "/", timeout=15_000)
        page.wait_for_selector("#runs tbody tr.run", timeout=15_000)
        assert page.locator("#runs tbody tr.run").count() == 3
        # filters: no failed run among these (the simulated press passes or fails as it does)
        statuses = page.eval_on_selector_all("#runs tbody tr.run td:nth-child(6)", "els => els.map(e => e.textContent)")
        page.select_option("select[name=status]", statuses[0])
        page.click("#filters button[type=submit]")
        page.wait_for_function(f"document.querySelectorAll('#runs tbody tr.run').length === {statuses.count(statuses[0])}",
                               timeout=10_000)
        page.select_option("select[name=status]", "")
        page.fill("input[name=protocol]", "no-such-protocol")
        page.click("#filters button[type=submit]")
        page.wait_for_function("document.getElementById('message').textContent.includes('no runs match')", timeout=10_000)
        page.fill("input[name=protocol]", "step-response")
        page.click("#filters button[type=submit]")
        page.wait_for_function("document.querySelectorAll('#runs tbody tr.run').length === 3", timeout=10_000)

        # open a run: verdicts and a full plot
        page.click("#runs tbody tr.run[data-id='1'] td:nth-child(2)")
        page.wait_for_function("window.presshilPlotReady !== null", timeout=15_000)
        assert page.locator("#run-verdicts tbody tr.verdict").count() >= 10
        full = page.evaluate("runPlot.data[0].length")
        assert full > 100
        # zoom: the server sends the raw samples of the window (channels included)
        page.evaluate("runPlot.setScale('x', {min: 20, max: 22})")
        page.wait_for_function("runPlot.data[0][0] >= 19.9 && runPlot.data[0][runPlot.data[0].length-1] <= 22.1",
                               timeout=10_000)
        assert page.evaluate("runPlot.data.length") == 1 + 3 + 4
        assert page.evaluate("runPlot.data[4].every(x => x !== null)")  # ch1 raw samples

        # overlay runs 1 and 3 aligned on the start of step-up-74
        page.check("input.pick[value='1']")
        page.check("input.pick[value='3']")
        page.wait_for_function("[...document.querySelectorAll('#align-step option')].some(o => o.value === 'step-up-74')",
                               timeout=10_000)
        page.select_option("#align-step", "step-up-74")
        page.click("#overlay-btn")
        page.wait_for_function("overlayPlot && overlayPlot.data.length === 3", timeout=15_000)
        assert "overlaid runs 1, 3" in page.inner_text("#message")
        # aligned: at the step start both runs sit at the 10 MPa preload, and rise after it
        at = page.evaluate("""() => { const d = overlayPlot.data, out = [];
            for (const s of [1, 2]) { let before = null, after = null;
              for (let i = 0; i < d[0].length; i++) { if (d[s][i] == null) continue;
                if (d[0][i] < 0 && d[0][i] > -1) before = d[s][i];
                if (d[0][i] > 8 && after === null) after = d[s][i]; }
              out.push([before, after]); } return out; }""")
        for before, after in at:
            assert before == pytest.approx(10.0, abs=0.5)
            assert after == pytest.approx(74.0, abs=2.0)

        # trend of the overshoot of step-up-74 across the three runs, with its limit
        options = page.eval_on_selector_all("#criterion option", "els => els.map(e => e.value)")
        pick = next(o for o in options if json.loads(o)["criterion"] == "max_overshoot_pct"
                    and json.loads(o)["step"] == "step-up-74")
        page.select_option("#criterion", pick)
        page.click("#trend-btn")
        page.wait_for_function("document.querySelectorAll('#trend-table tbody tr.trend').length === 3", timeout=10_000)
        assert page.evaluate("trendPlot.data[2].every(x => x === 1.0)")  # the limit line

        shot = page.screenshot(path=str(tmp_path / "ui.png"), full_page=True)
        assert pixel_variance(shot) > 1e-3

        # an unknown run id: a clear message on the page
        page.goto("about:blank")
        page.goto(ui.url + "/#run=999", timeout=15_000)
        page.wait_for_function("document.getElementById('message').textContent.includes('no run 999')",
                               timeout=10_000)
    finally:
        page.close()


def test_a_late_answer_to_a_tick_keeps_the_chosen_alignment_step(chromium, ui):
    """Each tick asks the server for the steps to align on. An answer that arrives after the
    operator chose a step (here held back until then) must not reset the choice."""
    page = chromium.new_page(viewport={"width": 1300, "height": 1000})
    seen: list[str] = []
    held = []

    def hold_the_second(route):
        seen.append(route.request.url)
        if len(seen) == 2:
            held.append(route)  # answered below, after the step is chosen
        else:
            route.continue_()

    try:
        page.goto(ui.url + "/", timeout=15_000)
        page.wait_for_selector("#runs tbody tr.run", timeout=15_000)
        page.route("**/api/runs/1", hold_the_second)
        page.check("input.pick[value='1']")
        page.wait_for_function("[...document.querySelectorAll('#align-step option')].some(o => o.value === 'step-up-74')",
                               timeout=10_000)
        page.check("input.pick[value='3']")  # its request is held
        page.select_option("#align-step", "step-up-74")
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the second tick's request never came"
        held[0].continue_()
        page.wait_for_timeout(1000)  # the late answer is applied by now
        assert page.eval_on_selector("#align-step", "s => s.value") == "step-up-74"
        assert page.locator("#align-step option").count() > 1
    finally:
        page.close()


@pytest.mark.slow
def test_presshil_ui_command_serves_and_refuses_bad_input(tmp_path: Path, store_path: Path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database " * 200)
    for args, needle in (([str(tmp_path / "none.sqlite")], "no results store"), ([str(bad)], "bad.sqlite")):
        proc = subprocess.run([sys.executable, "-m", "presshil.cli", "ui", "--db", *args, "--bind", "127.0.0.1:0"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    proc = subprocess.Popen([sys.executable, "-m", "presshil.cli", "ui", "--db", str(store_path), "--bind",
                             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("results browser: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[2]
        code, body = get(url + "api/runs")
        assert code == 200 and len(body["runs"]) == 3
    finally:
        proc.terminate()
        proc.wait(10)

