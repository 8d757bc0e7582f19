"""``presshil serve --live``: the live view of a served virtual press, over real loopback."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from test_web_live import post, wait_for

import presshil
from presshil.press import SAFE_STOP_BITS

pytestmark = pytest.mark.slow  # a served press and its live view in a subprocess


def state(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/state", timeout=5) as r:
        return json.load(r)


def test_serve_live_shows_the_served_press_and_stop_makes_it_safe():
    proc = subprocess.Popen([sys.executable, "-m", "presshil.cli", "serve", "--press", "sim://?seed=2",
                             "--modbus-tcp", "127.0.0.1:0", "--live", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    link = modbus = None
    try:
        deadline = time.monotonic() + 60
        while (link is None or modbus is None) and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1).strip()
            except queue.Empty:
                assert proc.poll() is None, proc.stderr.read()
                continue
            if line.startswith("live view: "):
                link = line.split(": ", 1)[1]
            elif line.startswith("listening: modbus+tcp://"):
                modbus = line.split(": ", 1)[1]
        assert link and modbus, "presshil serve printed no live view link or Modbus URL"
        base, token = link.split("/?token=")
        wait_for(lambda: state(base)["samples"] > 3, what="samples from the served press")
        # a host commands the press over Modbus; the live view shows the pressure rise
        with presshil.open_press(modbus) as host:
            host.configure(die_area_mm2=78.54, soft_max_mpa=30.0, watchdog_ms=0)
            host.command(5.0, 10.0)
            wait_for(lambda: (state(base)["last"].get("pressure_mpa") or 0) > 4.0, timeout_s=20,
                     what="the commanded pressure on the live view")
            assert post(f"{base}/api/stop")[0] == 403
            assert post(f"{base}/api/stop", token=token)[0] == 200
            wait_for(lambda: host.read().status & SAFE_STOP_BITS, timeout_s=10, what="the safe state")
        events = state(base)["events"]
        assert any(e["kind"] == "stop" for e in events)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0


def test_serve_live_bad_address_is_exit_2():
    proc = subprocess.run([sys.executable, "-m", "presshil.cli", "serve", "--modbus-tcp", "127.0.0.1:0",
                           "--live", "127.0.0.1:http"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "http" in proc.stderr, proc.stderr
