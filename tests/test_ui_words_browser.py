"""The results browser speaks as the command line does: criteria by their human name with the
key beside it, steps numbered from 1, and a run with no stored samples says so in a sentence
instead of drawing an empty plot (headless Chromium over a real store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import chromium_browser  # noqa: F401  (the fixture)

import presshil
from presshil.protocol import load_protocol
from presshil.store import Store
from presshil.web.results import open_results
from presshil.web.server import BackgroundServer
from presshil.web.ui_app import ui_app

pytestmark = pytest.mark.slow  # a browser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run 1: step-response-74mpa on sim://?seed=1; run 2: the same protocol, passed with no
    samples kept (as a sweep variant is stored)."""
    path = tmp_path_factory.mktemp("ui-words") / "r.sqlite"
    proto = load_protocol(ROOT / "protocols" / "step-response-74mpa.toml")
    with Store(path) as store:
        presshil.run(proto, presshil.open_press("sim://?seed=1"), store=store, seed=1)
        empty = store.start_run(protocol=proto, press_url="sim://?seed=4", identity={"model": "m"},
                                seed=4)
        store.finish_run(empty, "passed")
    return path


def _open(page, url: str, run_id: int) -> None:
    page.goto(url + "/", timeout=15_000)
    page.wait_for_selector(f"#runs tbody tr.run[data-id='{run_id}']", timeout=15_000)
    page.click(f"#runs tbody tr.run[data-id='{run_id}'] td:nth-child(2)")
    page.wait_for_function(
        f"document.getElementById('run-title').textContent.startsWith('run {run_id}:')",
        timeout=15_000)


def test_verdicts_events_and_steps_read_with_names_and_numbers_from_1(chromium, store_path):
    results = open_results(store_path)
    try:
        with BackgroundServer(ui_app(results)) as srv:
            page = chromium.new_page()
            try:
                _open(page, srv.url, 1)
                rows = page.eval_on_selector_all(
                    "#run-verdicts tbody tr.verdict",
                    "trs => trs.map(tr => [...tr.cells].map(td => td.textContent))")
                # the protocol's first step is a ramp to 10 MPa (preload), judged on tracking
                first = next(r for r in rows if r[1].endswith("[max_tracking_error_mpa]"))
                assert first[0] == "1/5 preload"
                assert first[1] == "ramp tracking error [max_tracking_error_mpa]"
                assert first[3] == "1" and first[4] == "MPa"
                steps = {r[0] for r in rows}
                assert steps == {"1/5 preload", "2/5 preload-hold", "3/5 step-up-74",
                                 "4/5 step-down-64", "5/5 release"}
                assert all("e-" not in r[2] for r in rows)  # no scientific notation
                events = page.eval_on_selector_all("#run-events li", "lis => lis.map(l => l.textContent)")
                # the stored "0 preload ramp 0.000..5.000" reads as the progress line numbers it
                assert "5 s step: step 1/5 preload (ramp) 0 s – 5 s" in events
                assert "77.82 s step: step 5/5 release (release) 65 s – 77.82 s" in events
                assert not any(": 0 preload" in e for e in events)
                page.check("#runs tbody tr.run[data-id='1'] input.pick")
                page.wait_for_function("document.querySelectorAll('#align-step option').length > 1",
                                       timeout=15_000)
                options = page.eval_on_selector_all("#align-step option", "os => os.map(o => o.textContent)")
                assert options[1:3] == ["1/5 preload (ramp)", "2/5 preload-hold (hold)"]
                assert page.is_visible("#run-plot canvas") and not page.is_visible("#no-export")
            finally:
                page.close()
    finally:
        results.close()


def test_a_run_without_samples_says_so_instead_of_an_empty_plot(chromium, store_path):
    results = open_results(store_path)
    try:
        with BackgroundServer(ui_app(results)) as srv:
            page = chromium.new_page()
            try:
                _open(page, srv.url, 1)  # a plot first: opening run 2 must take it away
                page.wait_for_selector("#run-plot canvas", timeout=15_000)
                page.click("#runs tbody tr.run[data-id='2'] td:nth-child(2)")
                page.wait_for_function(
                    "document.getElementById('run-title').textContent.startsWith('run 2:')",
                    timeout=15_000)
                page.wait_for_selector("#no-export", state="visible", timeout=15_000)
                assert page.inner_text("#no-export") == (
                    "no samples stored for run 2 (a passed sweep variant keeps none): "
                    "no plot and nothing to export")
                assert not page.is_visible("#run-plot")
                assert page.locator("#run-plot .u-legend").count() == 0
                assert page.locator("#run-plot canvas").count() == 0
            finally:
                page.close()
    finally:
        results.close()
