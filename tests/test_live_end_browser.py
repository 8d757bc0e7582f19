"""The live view at the end of a run, in headless Chromium: the page keeps the final state
when the server stops, names the step the run ended in, shows long times as h:mm:ss, and
shows no centre of force when nothing is pressed."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import chromium_browser  # noqa: F401  (the fixture)
from test_web_live import protocol
from test_web_live_browser import page_on_a_driven_sink

import presshil
from presshil.sinks import RunStart, StepBoundary

pytestmark = pytest.mark.slow  # a browser


def test_the_page_keeps_the_final_state_when_the_server_stops(chromium, tmp_path: Path):
    with page_on_a_driven_sink(chromium, run_id=3) as (sink, page):
        sink.step(StepBoundary(0, "up", "ramp", 0.0, None, None))
        for k in range(20):
            sink.sample((k * 0.1, k * 0.5, k * 0.5, 0.1 * k, 0.01, 7, (0.02 * k,) * 4))
        sink.step(StepBoundary(0, "up", "ramp", 0.0, 2.0, None))
        sink.step(StepBoundary(2, "down", "release", 2.0, None, None))
        sink.step(StepBoundary(2, "down", "release", 2.0, 3.0, None))
        sink.finish("passed")
        sink.close()
        page.wait_for_function("document.getElementById('message').textContent.includes('stopped serving')",
                               timeout=15_000)
        assert page.inner_text("#step") == "ended in step 3/3 down"  # not "step -/3"
        assert page.is_disabled("#stop")  # nothing left to stop
        assert page.inner_text("#status") == "passed"
        assert page.inner_text("#message").startswith("run ended: passed")
        n = page.evaluate("data[0].length")
        assert n >= 20  # the curve is still there
        page.screenshot(path=str(tmp_path / "live-end.png"))


def test_long_runs_read_in_hours_and_an_unloaded_press_has_no_centre_of_force(chromium, tmp_path: Path):
    with page_on_a_driven_sink(chromium, run_id=4) as (sink, page):
        ident = presshil.open_press("sim://").identity
        sink.start(RunStart(4, protocol(), "sim://", ident, None, 720660.0))  # a 200 h protocol
        sink.step(StepBoundary(1, "hold", "hold", 0.0, None, None))
        # 1 h 2 min 3 s into the run, released: 0.02 MPa of noise on the load cells
        sink.sample((3723.0, 0.0, 0.02, 0.001, 0.0, 7, (0.0004, -0.0001, 0.0003, 0.0002)))
        sink.event(3723.0, "status", "released")
        page.wait_for_function("document.getElementById('t').textContent !== '0 s'", timeout=15_000)
        assert page.inner_text("#t") == "1:02:03"
        assert page.inner_text("#remaining") == "about 199:08:57 of 200:11:00 left"
        assert page.inner_text("#cof") == "-"
        assert page.inner_text("#events").startswith("1:02:03 status: released")
        page.screenshot(path=str(tmp_path / "live-hours.png"))


def test_a_verdict_shows_its_name_key_and_four_significant_digits(chromium):
    from presshil.metrics import Verdict

    with page_on_a_driven_sink(chromium, run_id=5) as (sink, page):
        sink.verdict(Verdict("hold", "max_drift_mpa_per_min", 5.491e-05, 0.05, "MPa/min", True))
        page.wait_for_selector("#verdicts tbody tr.verdict", timeout=15_000)
        cells = page.eval_on_selector_all("#verdicts tbody tr.verdict td", "els => els.map(e => e.textContent)")
        assert cells == ["hold", "drift [max_drift_mpa_per_min]", "0.00005491", "0.05", "MPa/min", "PASS"]
