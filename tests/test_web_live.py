"""The live view without a browser: LiveSink queues, the server over real loopback sockets,
the token, and a viewer that goes away mid-run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from waiting import wait_for

import presshil
from presshil.errors import ConfigError
from presshil.press import SAFE_STOP_BITS
from presshil.protocol import parse_protocol
from presshil.sinks import RunSink, RunStart, StepBoundary
from presshil.status import RunStatus
from presshil.store import Store
from presshil.web.bridge import run_live
from presshil.web.live_app import live_app
from presshil.web.live_sink import VIEWER_QUEUE_FRAMES, LiveSink, centre_of_force, thin
from presshil.web.server import BackgroundServer, parse_bind

PROTO = """
name = "live-test"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 30.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = 20
[[steps]]
type = "ramp"
label = "up"
to_mpa = 10
rate_mpa_s = 5
[[steps]]
type = "hold"
label = "hold"
duration_s = {hold}
expect = {{ settle_s = 1, band_mpa = 0.5 }}
[[steps]]
type = "release"
label = "down"
rate_mpa_s = 5
"""


def protocol(hold_s: float = 3.0):
    return parse_protocol(PROTO.format(hold=hold_s), "live-test.toml")


def post(url: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    body = json.dumps({"token": token} if token else {}).encode()
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_live_sink_is_a_run_sink():
    assert isinstance(LiveSink(), RunSink)


def test_a_viewer_that_never_reads_loses_frames_not_the_run():
    sink = LiveSink(publish_interval_s=0.0)
    viewer = sink.attach()
    sink.start(RunStart(1, protocol(), "sim://", presshil.open_press("sim://").identity, None, 10.0))
    for k in range(10 * VIEWER_QUEUE_FRAMES):
        sink.sample((k * 0.01, 1.0, 1.0, 1.0, 0.0, 0, (0.25, 0.25, 0.25, 0.25)))
    assert len(viewer.frames) == VIEWER_QUEUE_FRAMES
    assert viewer.dropped >= 9 * VIEWER_QUEUE_FRAMES - 2
    assert sink.samples_seen == 10 * VIEWER_QUEUE_FRAMES
    frames = viewer.pull()
    assert frames[-1]["type"] == "points" and frames[-1]["samples"] == sink.samples_seen


def test_a_page_opened_mid_batch_gets_every_point_once():
    """A viewer attaching between two publications: its snapshot and the frames after it
    together hold each sample time once, in order (no repeated tail on the curve)."""
    sink = LiveSink(publish_interval_s=3600.0)  # nothing published by time: only on attach
    sink.start(RunStart(1, protocol(), "sim://", presshil.open_press("sim://").identity, None, 10.0))
    for k in range(30):
        sink.sample((k * 0.1, 1.0, 1.0 + 0.01 * k, 1.0, 0.0, 0, (0.25, 0.25, 0.25, 0.25)))
    viewer = sink.attach()
    for k in range(30, 40):
        sink.sample((k * 0.1, 1.0, 1.0 + 0.01 * k, 1.0, 0.0, 0, (0.25, 0.25, 0.25, 0.25)))
    sink.finish(RunStatus.PASSED)
    times = [p[0] for f in viewer.pull() if f["type"] in ("snapshot", "points") for p in f["points"]]
    assert times == sorted(set(times)) and len(times) == 40


def test_a_viewer_that_stopped_reading_is_removed():
    sink = LiveSink(publish_interval_s=0.0, stale_viewer_s=0.05)
    sink.attach()
    assert sink.viewer_count == 1
    time.sleep(0.1)  # the behaviour under test: a viewer silent longer than stale_viewer_s
    sink.sample((0.0, 0.0, 0.0, 0.0, 0.0, 0, ()))
    assert sink.viewer_count == 0


def test_thinning_keeps_peaks_and_order():
    points = [[i * 0.1, 0.0, float(i % 97 == 50) * 9.0] for i in range(5000)]
    out = thin(points, 100)
    assert len(out) <= 100
    assert max(p[2] for p in out) == 9.0
    assert [p[0] for p in out] == sorted(p[0] for p in out)


def test_centre_of_force():
    pos = ((10.0, 0.0), (0.0, 10.0), (-10.0, 0.0), (0.0, -10.0))
    assert centre_of_force((1.0, 1.0, 1.0, 1.0), pos) == pytest.approx([0.0, 0.0])
    assert centre_of_force((2.0, 1.0, 0.0, 1.0), pos) == pytest.approx([5.0, 0.0])
    assert centre_of_force((0.0, 0.0, 0.0, 0.0), pos) is None


def test_parse_bind():
    assert parse_bind("8766", default_port=1) == ("127.0.0.1", 8766)
    assert parse_bind("0.0.0.0:9000", default_port=1) == ("0.0.0.0", 9000)
    assert parse_bind("localhost", default_port=5) == ("localhost", 5)
    with pytest.raises(ConfigError, match="port 'x'"):
        parse_bind("host:x", default_port=1)


@pytest.mark.slow
def test_a_taken_port_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            BackgroundServer(live_app(LiveSink()), "127.0.0.1", port).start(timeout_s=5)


@pytest.mark.slow
def test_stop_needs_the_token_and_ends_the_run_in_the_safe_state(tmp_path: Path):
    sink = LiveSink()
    press = presshil.open_press("sim://?seed=3")
    results = {}
    with BackgroundServer(live_app(sink)) as srv, Store(tmp_path / "r.sqlite") as store:
        def go():
            results["r"] = run_live(protocol(hold_s=600), press, store=store, sinks=[sink],
                                    cancel=sink.cancel, speed=20)
        th = threading.Thread(target=go)
        th.start()
        wait_for(lambda: sink.samples_seen > 20, what="samples")
        assert post(f"{srv.url}/api/stop") [0] == 403
        code, body = post(f"{srv.url}/api/stop", token="not-the-token")
        assert code == 403 and "token" in body["error"]
        assert not sink.cancel.is_set()
        seen = sink.samples_seen
        wait_for(lambda: sink.samples_seen > seen + 10, what="the run to go on after a refused STOP")
        code, body = post(f"{srv.url}/api/stop", token=sink.token)
        assert code == 200 and body["ok"]
        th.join(30)
        assert not th.is_alive()
        result = results["r"]
        assert result.status == "aborted" and result.exit_code == 3
        assert "STOP" in result.abort_reason
        press.clock.sleep_until(press.clock.now() + 0.5)  # let the simulated press report
        after = press.read()
        assert after.status & SAFE_STOP_BITS, after  # latched in the safe state
        assert after.pressure_mpa < 1.0, after
        info = store.get_run(result.run_id)
        assert info.status == "aborted"
        assert info.n_samples == sink.samples_seen  # nothing lost
        assert sink.status == "aborted"


@pytest.mark.slow
def test_a_viewer_that_disconnects_mid_run_costs_nothing(tmp_path: Path):
    sink = LiveSink()
    press = presshil.open_press("sim://?seed=4")
    with BackgroundServer(live_app(sink)) as srv, Store(tmp_path / "r.sqlite") as store:
        results = {}
        th = threading.Thread(target=lambda: results.setdefault(
            "r", run_live(protocol(hold_s=20), press, store=store, sinks=[sink], cancel=sink.cancel, speed=20)))
        th.start()
        wait_for(lambda: sink.samples_seen > 5, what="samples")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
            c.sendall(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            got = b""
            while b"data:" not in got:
                got += c.recv(4096)
            assert sink.viewer_count == 1
        wait_for(lambda: sink.viewer_count == 0, what="the dead viewer to be cleaned up")
        th.join(60)
        result = results["r"]
        assert result.status == "passed"
        assert store.get_run(result.run_id).n_samples == sink.samples_seen
        # the ramp and the release are judged on their rate line by default, the hold as given
        assert [v["criterion"] for v in sink.verdicts] == [
            "max_rate_deviation_pct", "settle_s", "band_mpa", "max_rate_deviation_pct"]


@pytest.mark.slow
def test_prompt_acknowledge_calls_back_with_the_token():
    acked = []
    sink = LiveSink(on_acknowledge=lambda i, text: acked.append((i, text)))
    sink.event(1.0, "prompt", "Insert the die and press Acknowledge")
    with BackgroundServer(live_app(sink)) as srv:
        state = json.load(urllib.request.urlopen(f"{srv.url}/api/state", timeout=5))
        (prompt,) = state["prompts"]
        assert prompt["text"].startswith("Insert the die")
        assert post(f"{srv.url}/api/prompts/{prompt['id']}/ack")[0] == 403
        assert post(f"{srv.url}/api/prompts/99/ack", token=sink.token)[0] == 404
        assert post(f"{srv.url}/api/prompts/{prompt['id']}/ack", token=sink.token)[0] == 200
        assert acked == [(prompt["id"], "Insert the die and press Acknowledge")]
        assert json.load(urllib.request.urlopen(f"{srv.url}/api/state", timeout=5))["prompts"] == []


def test_step_band_is_announced_for_a_hold(tmp_path: Path):
    seen: list[StepBoundary] = []

    class Steps(LiveSink):
        def step(self, boundary: StepBoundary) -> None:
            seen.append(boundary)
            super().step(boundary)

    sink = Steps()
    with Store(tmp_path / "r.sqlite") as store:
        run_live(protocol(), presshil.open_press("sim://"), store=store, sinks=[sink], cancel=sink.cancel)
    starts = [b for b in seen if b.t_end_s is None]
    ends = [b for b in seen if b.t_end_s is not None]
    assert [b.name for b in starts] == ["up", "hold", "down"] == [b.name for b in ends]
    assert starts[1].band == (10.0, 0.5) and ends[1].band == (10.0, 0.5)


@pytest.mark.slow
def test_cli_live_bad_bind_is_exit_2(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "presshil.cli", "run", "step-response-74mpa",
                           "--db", str(tmp_path / "r.sqlite"), "--live", "host:notaport", "-q"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "notaport" in proc.stderr


def test_pages_load_nothing_from_outside_the_package():
    from presshil.web.live_app import STATIC

    for name in ("uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE", "live.html", "ui.html"):
        assert (STATIC / name).is_file(), name
    for page in ("live.html", "ui.html", "live.js", "ui.js"):
        text = (STATIC / page).read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, page


@pytest.mark.slow
def test_stop_after_the_run_ended_says_so():
    from presshil.status import RunStatus

    sink = LiveSink()
    sink.finish(RunStatus.PASSED)
    with BackgroundServer(live_app(sink)) as srv:
        code, body = post(f"{srv.url}/api/stop", token=sink.token)
    assert code == 409 and "already ended (passed)" in body["error"]
    assert not sink.cancel.is_set()


def test_a_late_page_gets_the_whole_run_thinned_with_its_peak():
    sink = LiveSink(publish_interval_s=0.0, max_points_per_frame=50, history_points=400)
    for k in range(20_000):
        p = 99.0 if k == 12_345 else 10.0 + 0.001 * (k % 7)
        sink.sample((k * 1.0, 10.0, p, 1.0, 0.0, 7, (0.25, 0.25, 0.25, 0.25)))
    points = sink.snapshot()["points"]
    assert len(points) <= 400 + 50
    assert points[0][0] < 100 and points[-1][0] == 19_999.0  # from the start to now
    assert max(p[2] for p in points) == 99.0
    assert [p[0] for p in points] == sorted(p[0] for p in points)
