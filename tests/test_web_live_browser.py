"""The live view in a real browser (headless Chromium): the curve advances while a simulated
run goes, a verdict appears when its step ends, STOP is refused without the token and with it
ends the run aborted (exit 3)."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from browser import chromium_browser, pixel_variance  # noqa: F401  (chromium_browser: the fixture)
from test_web_live import protocol

import presshil
from presshil.metrics import Verdict
from presshil.sinks import RunStart, StepBoundary
from presshil.store import Store
from presshil.web.bridge import run_live
from presshil.web.live_app import live_app
from presshil.web.live_sink import LiveSink
from presshil.web.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[1]


def chart_points(page) -> int:
    return page.evaluate("data[0].length")


@contextlib.contextmanager
def page_on_a_driven_sink(chromium, run_id: int):
    """A page on a live view whose sink the test drives by hand; the run has started."""
    sink = LiveSink(publish_interval_s=0.0)
    ident = presshil.open_press("sim://").identity
    with BackgroundServer(live_app(sink)) as srv:
        page = chromium.new_page()
        try:
            page.goto(f"{srv.url}/?token={sink.token}", timeout=15_000)
            sink.start(RunStart(run_id, protocol(), "sim://", ident, None, 20.0))
            yield sink, page
        finally:
            page.close()


def last_point(page) -> tuple[int, float]:
    """The chart's point count and its last time, read in one go."""
    n, t = page.evaluate("[data[0].length, data[0][data[0].length - 1]]")
    return n, t


def test_live_curve_advances_during_a_run_and_the_page_is_not_blank(chromium, tmp_path: Path):
    sink = LiveSink()
    press = presshil.open_press("sim://?seed=5")
    with BackgroundServer(live_app(sink)) as srv, Store(tmp_path / "r.sqlite") as store:
        results = {}
        th = threading.Thread(target=lambda: results.setdefault("r", run_live(
            protocol(hold_s=40), press, store=store, sinks=[sink], cancel=sink.cancel, speed=5)))
        th.start()
        page = chromium.new_page(viewport={"width": 1200, "height": 900})
        try:
            page.goto(f"{srv.url}/?token={sink.token}", timeout=15_000)
            page.wait_for_function("typeof data !== 'undefined' && data[0].length > 5", timeout=15_000)
            # length and last time read together: frames keep arriving between two evaluates
            n1, t1 = last_point(page)
            page.wait_for_function(f"data[0].length > {n1} + 5", timeout=15_000)
            n2, t2 = last_point(page)
            assert t2 > t1, (n1, t1, n2, t2)
            assert page.inner_text("#protocol") == "live-test"
            page.wait_for_function("document.getElementById('step').textContent.includes('hold')",
                                   timeout=15_000)
            assert page.evaluate("band && band.band[0]") == 10.0  # the hold's band is drawn
            shot = page.screenshot(path=str(tmp_path / "live.png"))
            assert pixel_variance(shot) > 1e-3
            page.wait_for_selector("#verdicts tbody tr.verdict", timeout=30_000)
            page.wait_for_function("document.getElementById('status').textContent === 'passed'",
                                   timeout=30_000)
            # the hold's two criteria and the rate line of the ramp and of the release
            assert page.locator("#verdicts tbody tr.verdict").count() == 4
        finally:
            page.close()
            sink.cancel.set()
            th.join(60)
    assert results["r"].status == "passed"


def test_the_answer_to_stop_stays_when_the_run_ends(chromium):
    """The run's end follows the STOP at once: its message is added to the answer, so the
    operator still reads that the STOP was accepted (and a test waiting for it sees it)."""
    with page_on_a_driven_sink(chromium, run_id=8) as (sink, page):
        page.wait_for_function("document.getElementById('protocol').textContent === 'live-test'",
                               timeout=15_000)
        page.click("#stop")
        page.wait_for_function("document.getElementById('message').textContent.includes('STOP accepted')",
                               timeout=10_000)
        assert sink.cancel.is_set()
        sink.finish("aborted")
        page.wait_for_function("document.getElementById('message').textContent.includes('run ended: aborted')",
                               timeout=10_000)
        assert page.inner_text("#message").startswith("STOP accepted")


def test_a_verdict_appears_when_its_step_ends(chromium):
    """The page shows a verdict the moment the sink gets it, while the run still goes."""
    with page_on_a_driven_sink(chromium, run_id=7) as (sink, page):
        sink.step(StepBoundary(1, "hold", "hold", 0.0, None, (10.0, 0.5)))
        for k in range(50):
            sink.sample((k * 0.1, 10.0, 10.0 + 0.01 * (k % 3), 0.8, 0.05, 7, (0.2, 0.2, 0.2, 0.2)))
        page.wait_for_function("data[0].length >= 50", timeout=15_000)
        assert page.locator("#verdicts tbody tr.verdict").count() == 0
        sink.step(StepBoundary(1, "hold", "hold", 0.0, 4.9, (10.0, 0.5)))
        sink.verdict(Verdict("hold", "band_mpa", 0.02, 0.5, "MPa", True))
        page.wait_for_selector("#verdicts tbody tr.verdict", timeout=10_000)
        row = page.inner_text("#verdicts tbody tr.verdict")
        assert "band_mpa" in row and "PASS" in row
        assert page.inner_text("#status") == "running"

def _start_cli_run(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    proto = tmp_path / "long.toml"
    proto.write_text(__import__("test_web_live").PROTO.format(hold=3600))
    env = {**os.environ, "PRESSHIL_LIVE_PACE": "5", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "presshil.cli", "run", str(proto), "--db",
                             str(tmp_path / "r.sqlite"), "--live", "127.0.0.1:0", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                raise AssertionError(f"presshil run ended early: {proc.stderr.read()}") from None
            continue
        if line.startswith("live view: "):
            return proc, line.split("live view: ", 1)[1].strip()
    proc.kill()
    raise AssertionError("presshil run printed no live view link within 60 s")


def test_stop_refused_without_the_token_and_with_it_ends_the_run_with_exit_3(chromium, tmp_path: Path):
    proc, link = _start_cli_run(tmp_path)
    base, _token = link.split("/?token=")
    try:
        page = chromium.new_page()
        page.goto(base + "/", timeout=15_000)  # no token in the link
        page.wait_for_function("data[0].length > 3", timeout=20_000)
        page.click("#stop")
        page.wait_for_function("document.getElementById('message').textContent.includes('refused')",
                               timeout=10_000)
        assert "token" in page.inner_text("#message")
        n = chart_points(page)
        page.wait_for_function(f"data[0].length > {n} + 3", timeout=20_000)  # the run goes on
        assert proc.poll() is None
        page.goto(link, timeout=15_000)
        page.wait_for_function("data[0].length > 3", timeout=20_000)
        page.click("#stop")
        page.wait_for_function("document.getElementById('message').textContent.includes('STOP accepted')",
                               timeout=10_000)
        assert proc.wait(timeout=60) == 3
        page.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    with Store(tmp_path / "r.sqlite") as store:
        (info,) = store.list_runs()
        assert info.status == "aborted" and info.n_samples > 0
        assert any(e.kind == "stopped" and "STOP" in e.message for e in store.events(info.id))


def test_an_operator_prompt_is_acknowledged_from_the_page(chromium):
    acked: list[tuple[int, str]] = []
    sink = LiveSink(on_acknowledge=lambda i, text: acked.append((i, text)))
    with BackgroundServer(live_app(sink)) as srv:
        page = chromium.new_page()
        try:
            page.goto(f"{srv.url}/", timeout=15_000)  # without the token first
            sink.event(3.0, "prompt", "Place the separator, then acknowledge")
            page.wait_for_selector(".prompt button.ack", timeout=10_000)
            assert "Place the separator" in page.inner_text("#prompts")
            page.click(".prompt button.ack")
            page.wait_for_function("document.getElementById('message').textContent.includes('refused')",
                                   timeout=10_000)
            assert acked == [] and page.locator(".prompt").count() == 1
            page.goto(f"{srv.url}/?token={sink.token}", timeout=15_000)  # a late page sees it too
            page.wait_for_selector(".prompt button.ack", timeout=10_000)
            page.click(".prompt button.ack")
            page.wait_for_function("document.querySelectorAll('.prompt').length === 0", timeout=10_000)
            assert acked == [(1, "Place the separator, then acknowledge")]
        finally:
            page.close()
