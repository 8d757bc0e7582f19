"""The results store on a real SQLite file: round trips, WAL, crash safety, export."""

from __future__ import annotations

import csv
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from waiting import wait_for
from wall_clock import dead_pid

from presshil import ConfigError, Identity, Sample
from presshil.metrics import Verdict
from presshil.store import Store

CHILD_TIMEOUT_S = 30


class FakeProtocol:
    name = "assembly-74mpa"
    source = "protocols/assembly-74mpa.toml"
    text = 'name = "assembly-74mpa"\n'
    sha256 = "ab" * 32


def row(i: int, n_channels: int = 3):
    return (0.02 * i, 74.0, 74.0 + 0.001 * i, 5.81, 1.5 - 0.0001 * i, 0x7,
            tuple(1.9 + 0.01 * c + 0.0001 * i for c in range(n_channels)))


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "results" / "presshil.sqlite")
    yield s
    s.close()


def new_run(store, seed=1, identity=None):
    return store.start_run(protocol=FakeProtocol(), press_url="sim://?seed=1",
                           identity=identity or {"vendor": "v", "firmware": "fw-2.1"},
                           seed=seed)


def other_connection(store):
    return sqlite3.connect(store.path)


# --- basics ----------------------------------------------------------------------------------


def test_creates_parent_folders_and_uses_wal(tmp_path):
    path = tmp_path / "a" / "b" / "r.sqlite"
    with Store(path):
        pass
    assert path.is_file()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_pinned_table_and_column_names(store):
    db = other_connection(store)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "samples", "events", "verdicts"} <= tables
    sample_cols = [r[1] for r in db.execute("PRAGMA table_info(samples)")]
    assert sample_cols == ["run_id", "seq", "t", "setpoint", "pressure", "force", "position",
                           "status", "channels"]
    run_cols = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
    assert {"protocol_name", "protocol_text", "protocol_sha256", "press_url", "identity_json",
            "firmware_version", "seed", "started_utc", "finished_utc", "status", "pid",
            "hostname"} <= run_cols


def test_run_metadata_round_trip(store):
    ident = Identity("Acme", "P-25", "S1", "fw-3", 400.0, 50.0, 4,
                     ((10.0, 0.0), (0.0, 10.0), (-10.0, 0.0), (0.0, -10.0)))
    run = new_run(store, seed=42, identity=ident)
    info = store.get_run(run)
    assert (info.protocol_name, info.protocol_sha256, info.seed) == ("assembly-74mpa",
                                                                     "ab" * 32, 42)
    assert info.protocol_text == FakeProtocol.text and info.press_url == "sim://?seed=1"
    assert info.identity["model"] == "P-25" and info.firmware_version == "fw-3"
    assert info.identity["channel_positions_mm"][1] == [0.0, 10.0]
    assert info.status == "running" and info.pid == os.getpid() and info.finished_utc is None
    assert info.started_utc.endswith("+00:00")
    store.finish_run(run, "passed")
    info = store.get_run(run)
    assert info.status == "passed" and info.finished_utc >= info.started_utc
    assert (info.started, info.finished) == (info.started_utc, info.finished_utc)
    assert [r.id for r in store.list_runs()] == [run]


def test_samples_round_trip(store):
    run = new_run(store)
    rows = [row(i) for i in range(2500)]
    for r in rows:
        store.add_sample(run, r)
    store.finish_run(run, "passed")
    tr = store.load_trace(run)
    assert len(tr) == 2500 and tr.n_channels == 3
    assert np.array_equal(tr.t, [r[0] for r in rows])
    assert np.array_equal(tr.pressure, [r[2] for r in rows])
    assert np.array_equal(tr.position, [r[4] for r in rows])
    assert np.array_equal(tr.status, [r[5] for r in rows])
    # channels are float32 on disk: equal to the float32 of what was written
    assert np.array_equal(tr.channels, np.array([r[6] for r in rows], np.float32))
    assert store.get_run(run).n_samples == 2500


def test_press_samples_are_accepted(store):
    run = new_run(store)
    store.add_sample(run, Sample(1.5, 10, 7, 0, 74.0, 73.9, 5.8, 1.2, (1.4, 1.5)))
    tr = store.load_trace(run)
    assert (tr.t[0], tr.setpoint[0], tr.pressure[0], tr.status[0]) == (1.5, 74.0, 73.9, 7)


def test_nan_readings_come_back_as_nan(store):
    # an open-wire sensor reads NaN; SQLite stores it as NULL
    run = new_run(store)
    store.add_sample(run, (0.0, 74.0, math.nan, 5.8, 1.0, 0, (math.nan, 1.0)))
    tr = store.load_trace(run)
    assert math.isnan(tr.pressure[0]) and math.isnan(tr.channels[0, 0])


def test_iter_samples_in_chunks_keeps_order(store):
    run = new_run(store)
    for i in range(10):
        store.add_sample(run, row(i))
    got = list(store.iter_samples(run, chunk=3))
    assert [r[0] for r in got] == [row(i)[0] for i in range(10)]
    assert [len(c) for c in store.iter_chunks(run, chunk=4)] == [4, 4, 2]


def test_runs_do_not_mix(store):
    a, b = new_run(store), new_run(store)
    for i in range(5):
        store.add_sample(a, row(i))
        store.add_sample(b, row(100 + i, n_channels=2))
    assert store.load_trace(a).t.tolist() == [row(i)[0] for i in range(5)]
    assert store.load_trace(b).n_channels == 2


def test_empty_run_has_empty_trace(store):
    run = new_run(store)
    tr = store.load_trace(run)
    assert len(tr) == 0


def test_finish_and_close_flush(tmp_path):
    s = Store(tmp_path / "r.sqlite", flush_interval_s=3600)  # only explicit flushes
    run = new_run(s)
    for i in range(10):
        s.add_sample(run, row(i))
    db = other_connection(s)
    assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 0
    s.finish_run(run, "failed")
    assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 10
    s.add_sample(run, row(10))
    s.close()
    assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 11


def test_buffer_is_flushed_within_the_interval_without_new_samples(tmp_path):
    # the background flusher: one sample, then silence (a long hold at a slow sampling rate)
    s = Store(tmp_path / "r.sqlite", flush_interval_s=0.2)
    run = new_run(s)
    s.add_sample(run, row(0))
    db = other_connection(s)
    wait_for(lambda: db.execute("SELECT COUNT(*) FROM samples").fetchone()[0], timeout_s=5.0,
             what="the sample to reach the file", poll_s=0.05)
    s.close()


def test_events_reach_the_file_within_moments(store):
    run = new_run(store)
    store.add_event(run, 12.5, "step", "hold-74 started")
    db = other_connection(store)
    wait_for(lambda: db.execute("SELECT COUNT(*) FROM events").fetchone()[0], timeout_s=5.0,
             what="the event to reach the file")
    assert db.execute("SELECT t, kind, message FROM events").fetchall() == [
        (12.5, "step", "hold-74 started")]
    assert [e.message for e in store.events(run)] == ["hold-74 started"]


def test_the_sampling_loop_never_waits_on_the_disk(tmp_path):
    """Another writer holds the file's write lock (a stalled disk, a second process): adding
    samples and events must still return at once; they are written once the lock is free."""
    s = Store(tmp_path / "r.sqlite", flush_interval_s=0.01, max_buffer_rows=50)
    run = new_run(s)
    blocker = sqlite3.connect(s.path, isolation_level=None, timeout=30)
    blocker.execute("BEGIN IMMEDIATE")
    done = threading.Event()

    def sampling_loop():
        for i in range(300):
            s.add_sample(run, row(i))
            if i % 50 == 0:
                s.add_event(run, float(i), "step", f"step {i}")
            time.sleep(0.001)  # the pace of a sampling loop: the behaviour under test
        done.set()

    worker = threading.Thread(target=sampling_loop, daemon=True)
    worker.start()
    finished = done.wait(10.0)
    blocker.execute("COMMIT")
    blocker.close()
    assert finished, "add_sample/add_event blocked while the file was locked"
    s.close()
    check = sqlite3.connect(tmp_path / "r.sqlite")
    assert check.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 300
    assert check.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 6


def test_verdicts_round_trip(store):
    run = new_run(store)
    verdicts = [
        Verdict("hold-74", "band_mpa", 0.45, 0.5, "MPa", True, "ok", 108.0, None),
        Verdict("hold-74", "max_cv_pct", 3.2, 2.0, "%", False, "ch 2", 101.0, 2),
        Verdict("0", "max_rise_s", math.nan, 6.0, "s", False, "not judged: empty"),
        Verdict("1", "settle_s", math.inf, 5.0, "s", False, "never settled"),
    ]
    store.add_verdicts(run, verdicts)
    back = store.verdicts(run)
    assert back[:2] == verdicts[:2]
    assert math.isnan(back[2].value) and back[2].t_s is None and not back[2].passed
    assert back[3].value == math.inf


def test_unknown_run_is_a_config_error(store):
    run = new_run(store)
    for call in (store.get_run, store.load_trace, store.events, store.verdicts):
        with pytest.raises(ConfigError, match=rf"no run 999 \(runs {run}\.\.{run}\)"):
            call(999)
    with pytest.raises(ConfigError, match="no run 999"):
        store.finish_run(999, "passed")


def test_bad_final_status(store):
    run = new_run(store)
    with pytest.raises(ConfigError, match="passed, failed, aborted, error, interrupted"):
        store.finish_run(run, "ok")


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="cannot open as a results store"):
        Store(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="newer"):
        Store(path)


def test_two_stores_write_one_file(tmp_path):
    path = tmp_path / "r.sqlite"
    s1, s2 = Store(path), Store(path)
    a, b = new_run(s1), new_run(s2)
    for i in range(100):
        s1.add_sample(a, row(i))
        s2.add_sample(b, row(i))
    s1.finish_run(a, "passed")
    s2.finish_run(b, "failed")
    s1.close()
    s2.close()
    with Store(path) as s:
        assert [(r.n_samples, r.status) for r in s.list_runs()] == [(100, "passed"),
                                                                    (100, "failed")]


# --- interrupted runs ------------------------------------------------------------------------


def _set(store, run, **cols):
    db = other_connection(store)
    sets = ", ".join(f"{k} = ?" for k in cols)
    db.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*cols.values(), run))
    db.commit()
    db.close()


def test_running_run_of_dead_process_is_marked_interrupted(store):
    run = new_run(store)
    _set(store, run, pid=dead_pid(), pid_start=None)
    with Store(store.path) as again:
        assert again.get_run(run).status == "interrupted"
        assert [e.kind for e in again.events(run)] == ["interrupted"]


def test_running_run_of_live_process_is_left_alone(store):
    run = new_run(store)  # this very process
    with Store(store.path) as again:
        assert again.get_run(run).status == "running"


def test_finished_run_of_dead_process_is_left_alone(store):
    run = new_run(store)
    store.finish_run(run, "passed")
    _set(store, run, pid=dead_pid())
    with Store(store.path) as again:
        assert again.get_run(run).status == "passed"


def test_run_on_another_host_is_left_alone(store):
    run = new_run(store)
    _set(store, run, pid=dead_pid(), hostname="some-other-host")
    with Store(store.path) as again:
        assert again.get_run(run).status == "running"


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_reused_pid_is_not_mistaken_for_the_runner(store):
    run = new_run(store)
    _set(store, run, pid_start="another-boot:12345")  # our pid, but not our process
    with Store(store.path) as again:
        assert again.get_run(run).status == "interrupted"


@pytest.mark.slow  # a subprocess
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_unreaped_killed_process_counts_as_dead(store):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = new_run(store)
        proc.kill()
        stat = Path(f"/proc/{proc.pid}/stat")
        wait_for(lambda: stat.read_text().split(")")[1].split()[0] == "Z", timeout_s=5.0,
                 what="the killed child to be a zombie", poll_s=0.01)
        _set(store, run, pid=proc.pid, pid_start=None)
        with Store(store.path) as again:
            assert again.get_run(run).status == "interrupted"
    finally:
        proc.kill()
        proc.wait()


# --- crash safety with a real process --------------------------------------------------------

CHILD = """
import sys, time
from presshil.store import Store

class P:
    name = "crash"; source = "<test>"; text = "x"; sha256 = "0" * 64

store = Store(sys.argv[1])
run = store.start_run(protocol=P(), press_url="sim://", identity={}, seed=7)
print(run, flush=True)
if sys.argv[2] == "stream":
    # t is the wall clock, so the parent can tell how much was lost
    while True:
        store.add_sample(run, (time.time(), 74.0, 74.0, 5.8, 1.0, 7, (1.9, 2.0, 1.9)))
        time.sleep(0.002)
else:
    # one sample, then silence: only the background flusher can save it
    store.add_sample(run, (time.time(), 74.0, 74.0, 5.8, 1.0, 7, (1.9, 2.0, 1.9)))
    print("written", flush=True)
    time.sleep(60)
"""


def _spawn(db, mode):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), mode],
                            stdout=subprocess.PIPE, text=True)
    run = int(proc.stdout.readline())
    return proc, run


def _kill(proc) -> float:
    t_kill = time.time()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=CHILD_TIMEOUT_S)
    assert proc.returncode == -signal.SIGKILL
    return t_kill


@pytest.mark.slow  # a writer process killed after seconds of streaming
def test_sigkill_loses_at_most_the_last_second(tmp_path):
    db = tmp_path / "results" / "presshil.sqlite"
    proc, run = _spawn(db, "stream")
    try:
        time.sleep(2.5)  # the behaviour under test: seconds of streaming, then the kill
    finally:
        t_kill = _kill(proc)
    with Store(db) as store:
        info = store.get_run(run)
        assert info.status == "interrupted"
        tr = store.load_trace(run)
        assert len(tr) > 100  # ~2.5 s at up to 500 Hz
        assert t_kill - tr.t[-1] <= 1.0, f"lost {t_kill - tr.t[-1]:.2f} s of samples"
        assert info.n_samples == len(tr)  # counter and rows committed together
        assert np.all(np.diff(tr.t) > 0)
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow  # a writer process killed after seconds of silence
def test_sigkill_during_silence_keeps_the_buffered_sample(tmp_path):
    db = tmp_path / "r.sqlite"
    proc, run = _spawn(db, "idle")
    try:
        assert proc.stdout.readline().strip() == "written"
        time.sleep(1.5)  # the behaviour under test: silence longer than the flush interval
    finally:
        _kill(proc)
    with Store(db) as store:
        assert store.get_run(run).status == "interrupted"
        assert len(store.load_trace(run)) == 1


# --- export ----------------------------------------------------------------------------------


@pytest.fixture
def finished_run(store):
    run = new_run(store)
    for i in range(1234):
        store.add_sample(run, row(i))
    store.add_sample(run, (99.0, 74.0, math.nan, 5.8, 1.0, 0, (1.1, 2.2, 3.3)))
    store.finish_run(run, "passed")
    return run


def test_export_csv_round_trip(store, finished_run, tmp_path):
    path = store.export(finished_run, tmp_path / "out" / "run.csv", "csv")
    with path.open(newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == ["t_s", "setpoint_mpa", "pressure_mpa", "force_kn", "position_mm",
                        "status", "ch1_kn", "ch2_kn", "ch3_kn", "status_flags"]
    body = [line[:-1] for line in lines[1:]]  # the numeric columns (status_flags: text)
    tr = store.load_trace(finished_run)
    assert len(body) == len(tr) == 1235
    data = np.array(body, dtype=float)
    assert np.array_equal(data[:, 0], tr.t)  # float64 written exactly
    assert np.array_equal(data[:-1, 2], tr.pressure[:-1]) and math.isnan(data[-1, 2])
    assert np.array_equal(data[:, 5], tr.status)
    assert np.array_equal(data[:, 6:].astype(np.float32), tr.channels.astype(np.float32))
    assert body[-1][6:] == ["1.1", "2.2", "3.3"]  # shortest float32 text, not 1.10000002


def test_export_parquet_round_trip(store, finished_run, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    path = store.export(finished_run, tmp_path / "run.parquet", "parquet")
    table = pq.read_table(path)
    assert table.column_names[:6] == ["t_s", "setpoint_mpa", "pressure_mpa", "force_kn",
                                      "position_mm", "status"]
    tr = store.load_trace(finished_run)
    assert table.num_rows == len(tr)
    assert np.array_equal(table.column("t_s").to_numpy(), tr.t)
    assert np.array_equal(table.column("status").to_numpy(), tr.status)
    assert np.array_equal(table.column("ch3_kn").to_numpy(), tr.channels[:, 2].astype(np.float32))


def test_export_into_a_folder_names_the_file(store, finished_run, tmp_path):
    path = store.export(finished_run, tmp_path, "csv")
    assert path == tmp_path / f"run-{finished_run}.csv" and path.is_file()


def test_export_unknown_format(store, finished_run, tmp_path):
    with pytest.raises(ConfigError, match="csv, parquet"):
        store.export(finished_run, tmp_path / "x", "xlsx")


def test_export_parquet_without_pyarrow_says_how_to_get_it(store, finished_run, tmp_path,
                                                            monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import now raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match=r"pip install 'presshil\[parquet\]'"):
        store.export(finished_run, tmp_path / "x.parquet", "parquet")


def test_verdicts_keep_their_step_start_and_a_v1_store_is_upgraded(tmp_path) -> None:
    """A verdict read back names its time bases as the runner did; a store written before
    verdicts knew their step start opens and gains the column."""
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        run_id = new_run(store)
        v = Verdict("hold", "band_mpa", 0.3, 0.25, "MPa", False, t_s=37.0).on_run_time(300.0)
        store.add_verdicts(run_id, [v])
        store.finish_run(run_id, "failed")
        [back] = store.verdicts(run_id)
    assert back.step_start_s == 300.0 and back.where() == "run time t = 337 s (step time 37 s)"
    db = sqlite3.connect(path)  # make it look like a v1 store: no step_start_s column
    db.execute("ALTER TABLE verdicts DROP COLUMN step_start_s")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store(path) as store:
        [old] = store.verdicts(run_id)
        assert old.step_start_s is None and old.t_s == 337.0
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(verdicts)")}
    assert "step_start_s" in columns
