"""The end of a watched run: streams close cleanly, the finished run stays served while a page
shows it (or for the stated grace time), and nothing but presshil's own lines reaches the
terminal."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from presshil.web.cli_live import LINGER_ENV, linger, linger_from_env
from presshil.web.live_app import live_app
from presshil.web.live_sink import LiveSink
from presshil.web.server import BackgroundServer

pytestmark = pytest.mark.slow  # real sockets, subprocesses

PROTO = """
name = "lifecycle"
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
duration_s = 4
[[steps]]
type = "release"
label = "down"
rate_mpa_s = 5
"""

#: what uvicorn prints when it has to cancel a stream that never ended
NOISE = ("Traceback", "CancelledError", "Exception in ASGI application", "graceful shutdown")


class StreamReader:
    """An ``/api/stream`` reader on a thread (like ``curl -N``): its frames and how it ended."""

    def __init__(self, host: str, port: int) -> None:
        self.frames: queue.Queue[dict] = queue.Queue()
        self.ended: str | None = None  # "clean" or the error that broke the stream
        self._conn = http.client.HTTPConnection(host, port, timeout=60)
        self._conn.request("GET", "/api/stream")
        self._resp = self._conn.getresponse()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._resp:  # chunked: raises IncompleteRead on an unterminated stream
                line = raw.decode().strip()
                if line.startswith("data: "):
                    self.frames.put(json.loads(line[6:]))
            self.ended = "clean"
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            self.ended = repr(exc)

    def wait_frame(self, kind: str, timeout_s: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                frame = self.frames.get(timeout=0.5)
            except queue.Empty:
                continue
            if frame.get("type") == kind:
                return frame
        raise AssertionError(f"no {kind!r} frame within {timeout_s} s")

    def join(self, timeout_s: float = 20.0) -> str | None:
        self._thread.join(timeout_s)
        return self.ended

    def close(self) -> None:
        self._conn.close()


def start_run(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, queue.Queue[str], str]:
    """``presshil run --live 127.0.0.1:0`` on a paced simulated press; its output lines and link."""
    proto = tmp_path / "lifecycle.toml"
    proto.write_text(PROTO)
    environ = {**os.environ, "PRESSHIL_LIVE_PACE": "20", "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **env}
    proc = subprocess.Popen([sys.executable, "-m", "presshil.cli", "run", str(proto), "--db",
                             str(tmp_path / "r.sqlite"), "--live", "127.0.0.1:0", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, env=environ)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    link = wait_line(proc, lines, "live view: http").split("live view: ", 1)[1].strip()
    return proc, lines, link


def wait_line(proc: subprocess.Popen, lines: queue.Queue[str], prefix: str, timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None and lines.empty():
                raise AssertionError(f"presshil run ended before {prefix!r}: {proc.stderr.read()}") from None
            continue
        if line.startswith(prefix):
            return line
    raise AssertionError(f"no line starting {prefix!r} within {timeout_s} s")


def host_port(link: str) -> tuple[str, int]:
    hostport = link.split("//", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


def test_a_page_open_at_the_end_keeps_the_finished_run_served_and_ctrl_c_closes_its_stream_cleanly(
        tmp_path: Path):
    proc, lines, link = start_run(tmp_path)
    try:
        reader = StreamReader(*host_port(link))
        reader.wait_frame("snapshot")
        assert reader.wait_frame("finish")["status"] == "passed"
        wait_line(proc, lines, "run 1: PASSED")
        stays = wait_line(proc, lines, "live view: the finished run stays at")
        assert "while a page shows it" in stays and "Ctrl-C" in stays
        # the viewer is still there: so is the server, with the final state
        conn = http.client.HTTPConnection(*host_port(link), timeout=10)
        conn.request("GET", "/api/state")
        state = json.loads(conn.getresponse().read())
        conn.close()
        assert state["status"] == "passed" and state["info"]["state"] == "finished"
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert reader.wait_frame("closed", timeout_s=20) == {"type": "closed"}
        assert reader.join() == "clean"  # a terminated stream (curl would exit 0, not 18)
        assert proc.wait(timeout=30) == 0  # the run's verdict, not the Ctrl-C
        stderr = proc.stderr.read()
        assert not any(word in stderr for word in NOISE), stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_with_no_page_open_the_finished_run_is_served_for_the_stated_grace_time_then_ends(tmp_path: Path):
    proc, lines, link = start_run(tmp_path, **{LINGER_ENV: "1"})
    try:
        wait_line(proc, lines, "run 1: PASSED")
        stays = wait_line(proc, lines, "live view: the finished run stays at")
        assert "or 1 s for one to open" in stays
        assert proc.wait(timeout=30) == 0  # nobody came: it ends by itself
        assert not any(word in proc.stderr.read() for word in NOISE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_page_that_leaves_after_the_end_lets_the_run_command_finish(tmp_path: Path):
    proc, lines, link = start_run(tmp_path, **{LINGER_ENV: "0"})
    try:
        reader = StreamReader(*host_port(link))
        reader.wait_frame("finish")
        wait_line(proc, lines, "live view: the finished run stays at")
        assert proc.poll() is None
        reader.close()  # the tab is closed
        assert proc.wait(timeout=30) == 0
        assert not any(word in proc.stderr.read() for word in NOISE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_closing_the_sink_ends_every_open_stream_with_a_closed_frame():
    sink = LiveSink()
    with BackgroundServer(live_app(sink)) as srv:
        readers = [StreamReader("127.0.0.1", srv.port) for _ in range(2)]
        for r in readers:
            r.wait_frame("snapshot", timeout_s=20)
        sink.finish("passed")
        sink.close()
        for r in readers:
            assert r.wait_frame("finish", timeout_s=20)["status"] == "passed"
            assert r.wait_frame("closed", timeout_s=20) == {"type": "closed"}
            assert r.join() == "clean"
        # a page opened after the close gets the final state, then the end
        late = StreamReader("127.0.0.1", srv.port)
        assert late.wait_frame("snapshot", timeout_s=20)["status"] == "passed"
        late.wait_frame("closed", timeout_s=20)
        assert late.join() == "clean"


def test_linger_returns_at_once_after_stop_and_when_nobody_watches_without_grace():
    class Quiet:
        printed: list[str] = []

        def print(self, text: str, **_: object) -> None:
            self.printed.append(text)

    sink, console = LiveSink(), Quiet()
    linger(sink, "http://x", console, grace_s=0)
    sink.cancel.set()
    linger(sink, "http://x", console, grace_s=60)  # STOP pressed: the operator saw the end
    assert console.printed == []


def test_linger_grace_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(LINGER_ENV, raising=False)
    assert linger_from_env(interactive=True) == 60.0
    assert linger_from_env(interactive=False) == 0.0
    monkeypatch.setenv(LINGER_ENV, "5")
    assert linger_from_env(interactive=False) == 5.0
    monkeypatch.setenv(LINGER_ENV, "soon")
    with pytest.raises(Exception, match="PRESSHIL_LIVE_LINGER='soon': expected a number of seconds >= 0"):
        linger_from_env(interactive=True)
