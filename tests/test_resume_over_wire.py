"""A host killed mid-hold: the press holds (``on_host_loss = "hold"``) and ``presshil run
--resume`` finishes the same run; with ``release`` the cell drops and resume is refused.

Real processes: ``presshil serve`` on a loopback TCP port, ``presshil run`` SIGKILLed, a real
SQLite store. Every wait is bounded.
"""

from __future__ import annotations

import json
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient
from waiting import wait_for
from wall_clock import wall_clock_fixture

from presshil.maps.press_v1 import Space, decode
from presshil.state import Status
from presshil.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

PROTOCOL = """
name = "week-long hold, shortened"
on_host_loss = "{policy}"

[specimen]
die_diameter_mm = 10

[limits]
max_pressure_mpa = 60
max_rate_mpa_s = 50

[sampling]
rate_hz = 20

[[steps]]
type = "ramp"
label = "up"
to_mpa = 20
rate_mpa_s = 20

[[steps]]
type = "hold"
label = "hold"
duration_s = 14
expect = {{ band_mpa = 1.0 }}

[[steps]]
type = "release"
label = "down"
rate_mpa_s = 20
"""


CYCLING = """
name = "cycling, shortened"
on_host_loss = "hold"

[specimen]
die_diameter_mm = 10

[limits]
max_pressure_mpa = 60
max_rate_mpa_s = 50

[sampling]
rate_hz = 20

[[steps]]
type = "ramp"
label = "up"
to_mpa = 10
rate_mpa_s = 20

[[steps]]
type = "repeat"
label = "cycles"
count = 6

[[steps.steps]]
type = "step"
label = "high"
to_mpa = 20
duration_s = 1.5
expect = { max_steady_state_error_mpa = 1.0 }

[[steps.steps]]
type = "step"
label = "low"
to_mpa = 10
duration_s = 1.5

[[steps]]
type = "release"
label = "down"
rate_mpa_s = 20
"""


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "presshil.cli", *args]


@wall_clock_fixture()
def served() -> Iterator[str]:
    """``presshil serve --modbus-tcp 127.0.0.1:0`` in a subprocess; its press URL."""
    proc = subprocess.Popen(
        cli("serve", "--press", "sim://?seed=3", "--modbus-tcp", "127.0.0.1:0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        url = None
        while url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                assert proc.poll() is None, "presshil serve exited"
                continue
            if "listening: modbus+tcp://" in line:
                url = line.split("listening: ", 1)[1].strip()
        assert url is not None, "presshil serve did not say where it listens within 120 s"
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def read_press(url: str) -> dict[str, float]:
    """Status, pressure, active setpoint, host-loss alarm and config generation, read by a
    second master (reading is always allowed)."""
    hostport = url.split("://", 1)[1].split("?", 1)[0]
    host, port = hostport.rsplit(":", 1)
    client = ModbusTcpClient(host, port=int(port), timeout=3)
    assert client.connect()
    try:
        state = decode(Space.INPUT, 0, client.read_input_registers(0, count=14).registers)
        lease = decode(Space.INPUT, 150, client.read_input_registers(150, count=12).registers)
    finally:
        client.close()
    return {
        "status": int(state["status"]),
        "pressure": float(state["pressure"]),
        "setpoint": float(state["setpoint_active"]),
        "host_lost": int(lease["host_lost"]),
        "generation": int(lease["config_generation"]),
    }


def stored(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def start_and_kill_mid_hold(
    tmp_path: Path, url: str, policy: str, text: str = PROTOCOL
) -> tuple[Path, Path]:
    proto = tmp_path / f"{policy}.toml"
    proto.write_text(text.format(policy=policy) if text is PROTOCOL else text)
    db = tmp_path / "results.sqlite"
    runner = subprocess.Popen(
        cli("run", str(proto), "--press", url, "--db", str(db), "-q"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for(
            what="the ramp to end", predicate=lambda: bool(stored(db, "SELECT 1 FROM events WHERE kind = 'step'")),
            timeout_s=120,
        )
        time.sleep(1.5)  # the point of the kill: well into the hold (the behaviour under test)
        assert runner.poll() is None, "the run ended before it could be killed"
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
    return proto, db


def test_a_host_killed_mid_hold_leaves_the_cell_held_and_resume_finishes_the_same_run(
    tmp_path: Path, served: str
) -> None:
    proto, db = start_and_kill_mid_hold(tmp_path, served, "hold")
    # the behaviour under test: three seconds without a host (three watchdog periods), a gap
    # the resumed run's report must show
    time.sleep(3.0)
    state = read_press(served)
    assert state["host_lost"] == 1  # the alarm is up
    assert not state["status"] & Status.FAULT
    assert abs(state["setpoint"] - 20.0) < 1e-3
    assert abs(state["pressure"] - 20.0) < 1.0  # held, not dropped
    killed_at = time.monotonic()

    done = subprocess.run(
        cli("run", str(proto), "--resume", "1", "--db", str(db), "-q", "--report", str(tmp_path),
            "--live", "127.0.0.1:0"),
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed at step 1" in done.stdout
    # the resumed run is watchable like any other: its live view served, link with token
    # the token is token_urlsafe: letters, digits, "-" and "_" (it may begin with "-")
    assert re.search(r"live view: http://127\.0\.0\.1:[1-9]\d*/\?token=[\w-]+", done.stdout), done.stdout

    report = json.loads((tmp_path / "run-1.json").read_text())
    (gap_in_report,) = report["gaps"]
    assert report["status"] == "passed" and gap_in_report["length_s"] >= 3.0
    assert (tmp_path / "run-1.png").stat().st_size > 0

    store = Store.open_for_reading(db)
    try:
        runs = store.list_runs()
        assert [r.id for r in runs] == [1] and runs[0].status == "passed"
        events = store.events(1)
        kinds = [e.kind for e in events]
        assert kinds.count("start") == 1 and "interrupted" in kinds and kinds[-1] == "finish"
        (gap,) = store.gaps(1)
        gap_s = gap.length_s
        assert gap.step_index == 1  # resumed in the hold
        assert gap_s >= 3.0  # at least the time the press spent alone
        assert gap_s < 3.0 + (time.monotonic() - killed_at) + 10.0
        assert abs(gap_s - gap_in_report["length_s"]) < 1e-2
        steps = [(s.index, s.name, s.kind) for s in store.steps(1)]
        assert steps == [(0, "up", "ramp"), (1, "hold", "hold"), (2, "down", "release")]
        # the ramp and the release carry their rate lines (issue: a press that does not go at
        # the rate it was asked is told so); the hold's band is the one criterion asked for
        rates = [v for v in store.verdicts(1) if v.criterion == "max_rate_deviation_pct"]
        assert rates and all(v.passed for v in rates), rates
        (verdict,) = [v for v in store.verdicts(1) if v.criterion != "max_rate_deviation_pct"]
        assert verdict.step == "hold" and verdict.criterion == "band_mpa" and verdict.passed
        assert "judged on sampled data only" in verdict.detail
        trace = store.load_trace(1)
        t = trace.t
        assert (t[1:] > t[:-1]).all()  # one time axis, through the gap
        jump = int((t[1:] - t[:-1]).argmax())
        assert t[jump + 1] - t[jump] >= 3.0  # the gap itself is not sampled …
        after = trace.pressure[jump + 1 :][: 20]  # … and the hold goes on after it
        assert abs(after - 20.0).max() < 1.0
        seqs = [s for (s,) in stored(db, "SELECT seq FROM samples WHERE run_id = 1 ORDER BY seq")]
        assert seqs == list(range(len(seqs)))
    finally:
        store.close()
    after_run = read_press(served)
    assert after_run["host_lost"] == 0 and after_run["pressure"] < 1.0


def test_with_release_the_cell_drops_and_resume_is_refused_leaving_the_press_untouched(
    tmp_path: Path, served: str
) -> None:
    proto, db = start_and_kill_mid_hold(tmp_path, served, "release")
    wait_for(what="the pressure to drop", predicate=lambda: read_press(served)["pressure"] < 0.5, timeout_s=10)
    before = read_press(served)
    assert before["status"] & Status.FAULT and before["host_lost"] == 0

    refused = subprocess.run(
        cli("run", str(proto), "--resume", "1", "--db", str(db), "-q"),
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode == 2
    message = refused.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "does not match" in message and "safe state" in message
    assert read_press(served)["generation"] == before["generation"]  # nothing written
    assert stored(db, "SELECT status FROM runs") == [("interrupted",)]


def test_a_host_killed_mid_cycling_resumes_at_the_cut_iteration(
    tmp_path: Path, served: str
) -> None:
    proto, db = start_and_kill_mid_hold(tmp_path, served, "hold", CYCLING)
    wait_for(lambda: read_press(served)["host_lost"] == 1, timeout_s=10.0, what="the host-lost alarm")
    done = subprocess.run(
        cli("run", str(proto), "--resume", "1", "--db", str(db), "-q"),
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    store = Store.open_for_reading(db)
    try:
        assert store.get_run(1).status == "passed"
        (gap,) = store.gaps(1)
        iterations = store.iterations(1)
        started = [f"{i.iteration}/{i.count}" for i in iterations]
        before = [f"{i.iteration}/{i.count}" for i in iterations if i.t_start_s <= gap.t_start_s]
        after = [f"{i.iteration}/{i.count}" for i in iterations if i.t_start_s >= gap.t_end_s]
        assert before and after[0] == before[-1]  # the cut iteration runs again …
        assert after[-1] == "6/6" and len(set(started)) == 6  # … and none is skipped
        rates = [v for v in store.verdicts(1) if v.criterion == "max_rate_deviation_pct"]
        assert all(v.passed for v in rates), rates
        (verdict,) = [v for v in store.verdicts(1) if v.criterion != "max_rate_deviation_pct"]
        assert verdict.passed and verdict.step == "high"
        assert "worst of 6 iterations" in verdict.detail
        assert f"iteration {after[0].split('/')[0]} was run again after the gap" in verdict.detail
    finally:
        store.close()
