"""``on_host_loss`` in protocols, where a resumed run takes up (stored runs in real SQLite
files), the press checks before resuming and the runner's use of the control lease (a press
served on loopback in this process)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from waiting import wait_for
from wall_clock import dead_pid, wall_clock_fixture

from presshil.device.server import start_server
from presshil.errors import ConfigError, ProtocolError
from presshil.metrics import Verdict
from presshil.protocol import parse_protocol
from presshil.records import Iteration
from presshil.resume import check_press, claimed, plan_resume
from presshil.run_plan import RunPlan
from presshil.runner import run
from presshil.sinks import StepBoundary
from presshil.status import RunStatus
from presshil.store import Store
from presshil.transports.control_lease import LeaseHeld, claim_lease
from presshil.urls import open_press

BODY = """
name = "resume me"
{extra}
[specimen]
die_diameter_mm = 10
[limits]
max_pressure_mpa = {soft_max}
max_rate_mpa_s = 50
[sampling]
rate_hz = 10
[[steps]]
type = "ramp"
label = "up"
to_mpa = 20
rate_mpa_s = 20
[[steps]]
type = "{middle}"
label = "middle"
{middle_body}
[[steps]]
type = "release"
label = "down"
rate_mpa_s = 20
"""
HOLD = 'duration_s = 10\nexpect = { band_mpa = 1.0 }'
REPEAT = (
    'count = 3\n[[steps.steps]]\ntype = "step"\nto_mpa = 10\nduration_s = 1\n'
    '[[steps.steps]]\ntype = "step"\nto_mpa = 20\nduration_s = 1'
)


def protocol(policy: str = "hold", soft_max: float = 60, middle: str = "hold"):
    text = BODY.format(
        extra=f'on_host_loss = "{policy}"' if policy else "",
        soft_max=soft_max,
        middle=middle,
        middle_body=HOLD if middle == "hold" else REPEAT,
    )
    return parse_protocol(text, "resume.toml")


# --- the protocol key -------------------------------------------------------------------------
def test_on_host_loss_defaults_to_release_and_accepts_hold() -> None:
    assert protocol(policy="").on_host_loss == "release"
    assert protocol("hold").on_host_loss == "hold"


def test_an_unknown_policy_is_one_line_naming_the_key_and_the_choices() -> None:
    with pytest.raises(ProtocolError) as exc:
        protocol("keep")
    message = str(exc.value)
    assert "\n" not in message
    assert "resume.toml" in message and "on_host_loss" in message
    assert "'release' or 'hold'" in message and "'keep'" in message


# --- where a stored run resumes ---------------------------------------------------------------
def stored_run(
    tmp_path: Path,
    proto,
    events: list[tuple[float, str, str] | StepBoundary | Iteration],
    t_end_s: float,
    verdicts: tuple[Verdict, ...] = (),
) -> Path:
    """A run as a killed ``presshil run`` leaves it: running, its process gone; ``events``
    are events ``(t, kind, message)`` and step and iteration records."""
    db = tmp_path / "results.sqlite"
    with Store(db) as store:
        run_id = store.start_run(
            protocol=proto, press_url="modbus+tcp://127.0.0.1:1", identity={}, seed=None
        )
        for k in range(int(t_end_s * 10) + 1):
            t = k / 10
            sp = min(20.0, 20.0 * t)
            store.add_sample(run_id, (t, sp, sp - 0.01, sp * 0.0785, 1.0, 7, (sp * 0.02,) * 4))
        store.set_lease_token(run_id, 4242)  # the run held the press's lease
        for item in events:
            if isinstance(item, StepBoundary):
                store.add_step(run_id, item)
            elif isinstance(item, Iteration):
                store.add_iteration(run_id, item)
            else:
                store.add_event(run_id, *item)
        store.add_verdicts(run_id, verdicts)
        store.flush()
    con = sqlite3.connect(db)
    con.execute("UPDATE runs SET pid = ?, pid_start = NULL", (dead_pid(),))
    con.commit()
    con.close()
    return db


RAMPED = [
    (0.0, "lease", "control lease claimed"),
    (0.01, "start", "resume me on modbus+tcp://127.0.0.1:1"),
    StepBoundary(0, "up", "ramp", 0.01, 1.2),
]


def test_a_run_killed_mid_hold_resumes_in_the_hold_from_its_start(tmp_path: Path) -> None:
    proto = protocol()
    db = stored_run(tmp_path, proto, RAMPED, t_end_s=3.0)
    with Store(db) as store:  # opening it finds the run's process gone
        assert store.get_run(1).status == "interrupted"
        point = plan_resume(store, 1, proto)
    assert (point.run_id, point.step_index, point.token) == (1, 1, 4242)
    assert point.t_step_start_s == pytest.approx(1.2)
    assert point.start_setpoint_mpa == 20.0
    assert point.last_t_s == pytest.approx(3.0) and point.last_setpoint_mpa == 20.0
    # the hold is judged on its samples from before the gap too
    assert [r[0] for r in point.cut_rows] == pytest.approx([k / 10 for k in range(12, 31)])
    assert point.now_s() >= point.last_t_s


def test_the_steps_recorded_as_ended_are_skipped(tmp_path: Path) -> None:
    proto = protocol()
    events = [*RAMPED, StepBoundary(1, "middle", "hold", 1.2, 11.2)]
    passed = Verdict("middle", "band_mpa", 0.1, 1.0, "MPa", True, "")
    db = stored_run(tmp_path, proto, events, t_end_s=11.5, verdicts=(passed,))
    with Store(db) as store:
        point = plan_resume(store, 1, proto)
    assert point.step_index == 2 and point.t_step_start_s == pytest.approx(11.2)
    assert point.cut_rows == ()  # the release has no criteria
    assert [v.criterion for v in point.verdicts] == ["band_mpa"]


@pytest.mark.parametrize(
    ("events", "status", "other", "message"),
    [
        (RAMPED, None, protocol(soft_max=50), "differs from the text stored with the run"),
        (RAMPED, "passed", None, "run 1 is passed: only an interrupted run"),
        ([*RAMPED, (2.0, "abort", "over-pressure")], None, None, r"ended \(abort: over-pressure\)"),
        (RAMPED[:1], None, None, "has no start event"),
    ],
)
def test_what_cannot_be_resumed_is_one_line(tmp_path: Path, events, status, other, message) -> None:
    proto = protocol()
    db = stored_run(tmp_path, proto, events, t_end_s=2.0)
    if status:
        con = sqlite3.connect(db)
        con.execute("UPDATE runs SET status = ?", (status,))
        con.commit()
        con.close()
    with Store(db) as store, pytest.raises(ConfigError, match=message) as exc:
        plan_resume(store, 1, other or proto)
    assert "\n" not in str(exc.value)


def test_a_repeat_without_recorded_iterations_is_refused(tmp_path: Path) -> None:
    proto = protocol(middle="repeat")
    db = stored_run(tmp_path, proto, RAMPED, t_end_s=3.0)
    with Store(db) as store, pytest.raises(
        ConfigError, match="inside repeat step middle, which recorded no iterations"
    ):
        plan_resume(store, 1, proto)


def test_a_run_cut_inside_a_repeat_runs_the_cut_iteration_again(tmp_path: Path) -> None:
    proto = protocol(middle="repeat")
    worst = ((Verdict("middle.0", "c", 0.2, 1.0, "MPa", True, ""), 1),)
    events = [*RAMPED, Iteration(1, 1, 3, 1.2, None, ()), Iteration(1, 1, 3, 1.2, 3.2),
              Iteration(1, 2, 3, 3.2, None, worst)]
    db = stored_run(tmp_path, proto, events, t_end_s=4.0)
    with Store(db) as store:
        point = plan_resume(store, 1, proto)
    assert (point.step_index, point.iteration) == (1, 2)
    assert point.t_step_start_s == pytest.approx(1.2)  # the repeat's start
    assert point.start_setpoint_mpa == 20.0  # where an iteration starts (after the body)
    assert point.repeat_worst == worst
    assert point.cut_rows == ()


def test_a_resumed_run_keeps_its_id_and_numbers_samples_on(tmp_path: Path) -> None:
    proto = protocol()
    db = stored_run(tmp_path, proto, RAMPED, t_end_s=3.0)
    with Store(db) as store:
        store.resume_run(1)
        info = store.get_run(1)
        assert info.status == "running" and info.finished_utc is None
        store.add_sample(1, (9.0, 20.0, 20.0, 1.57, 1.0, 7, (0.4,) * 4))
        store.finish_run(1, "passed")
        assert store.get_run(1).n_samples == 32
        with pytest.raises(ConfigError, match="run 1 is passed: only an interrupted run"):
            store.resume_run(1)
    con = sqlite3.connect(db)
    seqs = [s for (s,) in con.execute("SELECT seq FROM samples ORDER BY seq")]
    con.close()
    assert seqs == list(range(32))


def test_a_store_written_before_v7_resumes_from_its_events_moved_into_the_record(
    tmp_path: Path,
) -> None:
    """A v6 store kept the record as event text; opened for writing, it moves into the tables
    and the run resumes in the cut iteration with the worst verdicts it carried."""
    proto = protocol(middle="repeat")
    worst = [[{"step": "middle.0", "criterion": "c", "value": 0.2, "limit": 1.0, "unit": "MPa",
               "passed": True, "detail": "", "t_s": None, "channel": None, "step_start_s": None}, 1]]
    events = [  # as presshil before v7 wrote them, with labels with spaces and quotes
        (0.0, "lease", "control lease claimed"),
        (0.01, "start", "resume me on modbus+tcp://127.0.0.1:1"),
        (1.2, "step", '0 ramp "up" ü ramp 0.010..1.200'),
        (1.2, "iteration", "1 1/3 started; worst so far: []"),
        (1.2, "cycle", "middle iteration 1/3"),
        (3.2, "iteration", f"1 2/3 started; worst so far: {json.dumps(worst)}"),
        (3.2, "cycle", "middle iteration 2/3"),
    ]
    db = stored_run(tmp_path, proto, events, t_end_s=4.0)
    con = sqlite3.connect(db)
    for table in ("steps", "iterations", "gaps"):
        con.execute(f"DROP TABLE {table}")
    con.execute("PRAGMA user_version = 6")
    con.commit()
    con.close()
    with Store(db) as store:
        assert [(s.index, s.name, s.t_end_s) for s in store.steps(1)] == [(0, 'ramp "up" ü', 1.2)]
        assert [(i.iteration, i.t_start_s, i.t_end_s) for i in store.iterations(1)] == [
            (1, 1.2, 3.2), (2, 3.2, None)]
        point = plan_resume(store, 1, proto)
    assert (point.step_index, point.iteration) == (1, 2)
    assert point.repeat_worst == ((Verdict("middle.0", "c", 0.2, 1.0, "MPa", True, ""), 1),)


# --- the press checked before resuming (reads only) ------------------------------------------
@wall_clock_fixture()
def press_holding_20():
    """A served press driven to 20 MPa with policy hold, then left by its host."""
    with start_server("sim://?seed=4", modbus_tcp="127.0.0.1:0") as server:
        url = f"modbus+tcp://{server.endpoints['modbus_tcp']}"
        host = open_press(url)
        host.claim_control(777)
        host.configure(die_area_mm2=protocol().specimen.die_area_mm2)
        host.set_on_host_loss("hold")
        host.configure(soft_max_mpa=60.0, watchdog_ms=300)
        host.command(20.0, 20.0)

        def at_setpoint() -> bool:
            host.heartbeat()
            return bool(host.read().status & 4)  # AT_SETPOINT

        wait_for(at_setpoint, timeout_s=15.0, what="20 MPa", poll_s=0.05)
        host.close()  # the host is lost
        press = open_press(url)
        wait_for(lambda: press.read_config().host_lost, timeout_s=10.0, what="the press to see its host lost")
        try:
            yield press
        finally:
            press.close()


def point_in_hold(last_setpoint: float = 20.0) -> RunPlan:
    return RunPlan(run_id=1, started_utc="2026-01-01T00:00:00+00:00", step_index=1, t_step_start_s=1.2,
                   start_setpoint_mpa=20.0, last_t_s=3.0, last_setpoint_mpa=last_setpoint, token=777)


@pytest.mark.slow
def test_check_press_accepts_the_press_where_the_run_left_it_and_refuses_otherwise(
    press_holding_20,
) -> None:
    press = press_holding_20
    config = press.read_config()
    assert config.host_lost and config.on_host_loss == "hold" and config.lease_holder
    check_press(press, protocol(), point_in_hold())
    refusals = [
        (protocol(), point_in_hold(25.0), "active setpoint 20 MPa, expected 25 ± 0.25 MPa"),
        (protocol(soft_max=50), point_in_hold(), "soft max 60 MPa on the press, 50 MPa in"),
        (protocol("release"), point_in_hold(), "on_host_loss is 'hold' on the press"),
    ]
    generation = press.read_config()
    for proto, point, message in refusals:
        with pytest.raises(ConfigError, match=message):
            check_press(press, proto, point)
    assert press.read_config() == generation  # nothing written
    # a master that is not the lost host cannot take its run over
    with pytest.raises(LeaseHeld, match="another master controls this press"):
        press.claim_control(778)
    assert press.claim_control(777) == 777  # the lost host's token takes it back
    press.stop()


# --- the runner and the lease -------------------------------------------------------------------
@pytest.mark.slow
def test_the_runner_refuses_a_press_another_master_controls() -> None:
    proto = protocol()
    with start_server("sim://?seed=4", modbus_tcp="127.0.0.1:0") as server:
        url = f"modbus+tcp://{server.endpoints['modbus_tcp']}"
        with open_press(url) as other, open_press(url) as press:
            claim_lease(other, 1234)
            with pytest.raises(LeaseHeld, match="another master controls this press"):
                run(proto, press)
            config = press.read_config()
            assert config.on_host_loss == "release" and config.watchdog_ms == 0  # untouched


@pytest.mark.slow
def test_a_stop_from_another_master_ends_the_run_saying_who_stopped_it() -> None:
    proto = protocol()
    with start_server("sim://?seed=4", modbus_tcp="127.0.0.1:0") as server:
        url = f"modbus+tcp://{server.endpoints['modbus_tcp']}"
        with open_press(url) as other, open_press(url) as press:
            here = other._link.client.socket.getsockname()
            timer = threading.Timer(2.0, other.stop)
            timer.start()
            try:
                result = run(proto, press)
            finally:
                timer.cancel()
            assert result.status is RunStatus.ABORTED
            assert f"the press was stopped by modbus tcp {here[0]}:{here[1]}" in result.abort_reason
            assert press.read_config().lease_holder == ""  # the run gave its lease up


def test_hold_on_a_press_that_cannot_hold_is_bad_input_before_anything_runs() -> None:
    from presshil.press import Press

    press = open_press("sim://")
    press.__class__ = type("NoHold", (type(press),), {"set_on_host_loss": Press.set_on_host_loss})
    with pytest.raises(ProtocolError, match="resume.toml: on_host_loss = 'hold': .* releases"):
        run(protocol("hold"), press)
    assert press.read().setpoint_mpa == 0.0  # never commanded


def test_a_simulated_run_sets_the_protocols_policy_on_the_press() -> None:
    press = open_press("sim://")
    result = run(protocol("hold"), press)
    assert result.status is RunStatus.PASSED
    assert press.read_config().on_host_loss == "hold"
    run(protocol("release"), press)
    assert press.read_config().on_host_loss == "release"


@pytest.mark.slow
def test_the_serial_line_claims_the_lease_and_sets_the_policy() -> None:
    with start_server("sim://?seed=4", modbus_tcp="127.0.0.1:0", serial="pty") as server:
        serial = open_press(f"serial://{server.endpoints['serial']}")
        watcher = open_press(f"modbus+tcp://{server.endpoints['modbus_tcp']}")
        try:
            token = serial.claim_control()
            assert token is not None
            serial.set_on_host_loss("hold")
            config = watcher.read_config()
            assert config.on_host_loss == "hold" and config.lease_holder.startswith("serial line")
            serial.check_control()
            with pytest.raises(LeaseHeld, match=r"another master controls this press \(serial"):
                watcher.claim_control()
            serial.release_control()
            assert watcher.read_config().lease_holder == ""
            with pytest.raises(ValueError, match="on_host_loss 'keep' unknown"):
                serial.set_on_host_loss("keep")
        finally:
            serial.close()
            watcher.close()


@pytest.mark.slow
def test_resume_without_a_results_store_is_one_line_and_creates_none(tmp_path: Path) -> None:
    import sys

    proto = tmp_path / "p.toml"
    proto.write_text(protocol().text)
    db = tmp_path / "none.sqlite"
    done = subprocess.run(
        [sys.executable, "-m", "presshil.cli", "run", str(proto), "--resume", "3", "--db", str(db)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: no results store at {db}: run 3 cannot be resumed"
    assert not db.exists()


@pytest.mark.slow
def test_seed_with_resume_is_refused_in_one_line(tmp_path: Path) -> None:
    import sys

    proto = tmp_path / "p.toml"
    proto.write_text(protocol().text)
    db = tmp_path / "none.sqlite"
    done = subprocess.run(
        [sys.executable, "-m", "presshil.cli", "run", str(proto), "--resume", "3", "--seed", "4", "--db", str(db)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --seed does not apply to --resume: run 3 goes on with the press it stored "
        "(give --press to reach the same press another way)"
    )
    assert not db.exists()


# --- the lease token is the store's alone -----------------------------------------------------
@pytest.mark.slow
def test_the_lease_token_is_kept_for_resume_but_never_in_an_event(tmp_path: Path) -> None:
    proto = parse_protocol(BODY.format(extra="", soft_max=60, middle="hold", middle_body="duration_s = 0.5")
                           .replace("to_mpa = 20", "to_mpa = 2"), "short.toml")
    db = tmp_path / "results.sqlite"
    with start_server("sim://?seed=4", modbus_tcp="127.0.0.1:0") as server:
        url = f"modbus+tcp://{server.endpoints['modbus_tcp']}"
        with open_press(url) as press, Store(db) as store:
            result = run(proto, press, store=store)
            token = store.lease_token(result.run_id)
            stored = [e.message for e in store.events(result.run_id)]
    assert result.exit_code == 0 and token is not None and token > 0
    assert "control lease claimed" in stored
    for text in [*stored, *(e.message for e in result.events)]:
        assert "token" not in text.lower(), text


def test_a_store_written_before_v3_has_its_tokens_moved_out_of_the_events(tmp_path: Path) -> None:
    db = stored_run(tmp_path, protocol(), RAMPED, t_end_s=3.0)
    con = sqlite3.connect(db)  # as an older presshil left it: no token column, token in the text
    con.execute("ALTER TABLE runs DROP COLUMN lease_token")
    con.execute("UPDATE events SET message = 'control lease claimed (session token 4242)' WHERE kind = 'lease'")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.lease_token(1) == 4242
        assert [e.message for e in store.events(1) if e.kind == "lease"] == ["control lease claimed"]
        assert plan_resume(store, 1, protocol()).token == 4242
    con = sqlite3.connect(db)
    from presshil.store_schema import SCHEMA_VERSION

    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION  # the current one
    assert con.execute("SELECT COUNT(*) FROM events WHERE message LIKE '%4242%'").fetchone()[0] == 0
    con.close()


# --- one resumer at a time --------------------------------------------------------------------
@pytest.fixture
def interrupted(tmp_path: Path):
    """``(protocol, store, press URL, plan)``: an interrupted run cut in its hold, its store
    open, and a served press it could be resumed on."""
    proto = protocol()
    db = stored_run(tmp_path, proto, RAMPED, t_end_s=3.0)
    with start_server("sim://?seed=4", modbus_tcp="127.0.0.1:0") as server, Store(db) as store:
        yield proto, store, f"modbus+tcp://{server.endpoints['modbus_tcp']}", plan_resume(store, 1, proto)


@pytest.mark.slow
def test_a_second_resumer_is_refused_before_it_touches_the_press(interrupted) -> None:
    proto, store, url, point = interrupted  # both resumers found the run interrupted …
    with open_press(url) as press:
        store.resume_run(1)  # … and the first took it up
        before = press.read_config()
        refused = "run 1 is running: only an interrupted run can be resumed"
        with pytest.raises(ConfigError, match=refused), claimed(store, point):
            run(proto, press, store=store, plan=point)
        assert press.read_config() == before  # no lease claimed, nothing configured
        assert store.get_run(1).status == "running"  # still the first resumer's


@pytest.mark.slow
def test_a_resume_the_press_refuses_gives_the_run_back(interrupted) -> None:
    proto, store, url, point = interrupted
    with open_press(url) as other, open_press(url) as press:
        claim_lease(other, 1234)  # another master controls the press
        with pytest.raises(LeaseHeld), claimed(store, point):
            run(proto, press, store=store, plan=point)
        assert store.get_run(1).status == "interrupted"  # it can be resumed later
