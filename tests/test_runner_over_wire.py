"""The runner against `presshil serve` over real loopback sockets and ptys.

The same protocol gives the same verdicts through every transport as on sim://, and faults on
the wire end in the runner's safe-state path, recorded, with the data kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import presshil
from presshil.device.server import start_server
from presshil.device.spawn import SpawnedServer
from presshil.protocol import load_protocol, parse_protocol
from presshil.runner import ABORTED, run
from presshil.store import Store

pytestmark = pytest.mark.slow  # presses served in subprocesses

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "tests" / "data" / "quick-hold.toml"


def compressed_assembly() -> presshil.Protocol:
    """assembly-74mpa with its steps, limits and criteria, compressed in time for CI.

    The 300 s hold becomes 20 s and the ramps run at 10 MPa/s: about 40 s of wall time per
    transport instead of six minutes. Every expect key is kept.
    """
    text = (ROOT / "protocols" / "assembly-74mpa.toml").read_text()
    text = text.replace("duration_s = 300", "duration_s = 20")
    text = text.replace("rate_mpa_s = 2.0", "rate_mpa_s = 10.0").replace("rate_mpa_s = 5.0", "rate_mpa_s = 10.0")
    proto = parse_protocol(text, source="assembly-74mpa.toml (compressed)")
    assert [s.type for s in proto.steps] == [s.type for s in load_protocol(ROOT / "protocols" / "assembly-74mpa.toml").steps]
    return proto


def outcome(result) -> list[tuple[str, str, bool]]:
    return sorted((v.step, v.criterion, v.passed) for v in result.verdicts)


@pytest.fixture(scope="module")
def on_sim():
    return run(compressed_assembly(), presshil.open_press("sim://?seed=1"))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("transport", ["modbus_tcp", "modbus_rtu", "serial"])
def test_assembly_gives_the_same_verdicts_through_each_transport(on_sim, transport: str) -> None:
    assert on_sim.passed, on_sim.failed_verdicts()
    endpoint = {"modbus_tcp": "127.0.0.1:0", "modbus_rtu": "pty", "serial": "pty"}
    with SpawnedServer("sim://?seed=1", **{transport: endpoint[transport]}) as server:
        url = server.urls[transport]
        with presshil.open_press(url) as press:
            result = run(compressed_assembly(), press)
    assert outcome(result) == outcome(on_sim), result.failed_verdicts()
    assert result.jitter is not None and result.jitter.count > 1000  # wall-clock sampling
    # the same physics measured through a wire: the hold's worst error is of the same size
    band = {v.criterion: v.value for v in result.verdicts if v.step == "hold-74"}["band_mpa"]
    band_sim = {v.criterion: v.value for v in on_sim.verdicts if v.step == "hold-74"}["band_mpa"]
    assert band < 0.5 and band == pytest.approx(band_sim, abs=0.2)


@pytest.mark.timeout(120)
def test_server_killed_mid_hold_ends_in_the_safe_state_path_with_data_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.sqlite")
    server = SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0")
    try:
        press = presshil.open_press(server.urls["modbus_tcp"].replace("?unit=1", "?unit=1&timeout=0.1"))

        def kill_in_hold(p) -> None:
            if p.step_name == "hold-20" and p.t_s > 8.0:
                server.kill()

        result = run(load_protocol(QUICK), press, store=store, progress=kill_in_hold)
    finally:
        server.stop()
    assert result.status == ABORTED and result.exit_code == 3
    assert "transport lost" in result.abort_reason
    assert [e.kind for e in result.events].count("transport-error") >= 3
    info = store.get_run(result.run_id)
    assert info.status == "aborted"
    kept = store.load_trace(result.run_id)
    assert len(kept) > 100 and kept.t[-1] > 8.0  # everything read before the loss is kept
    assert {e.kind for e in store.events(result.run_id)} >= {"start", "abort"}


@pytest.mark.timeout(120)
def test_a_counter_that_stops_advancing_aborts_the_run(tmp_path: Path) -> None:
    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        press = presshil.open_press(server.urls["modbus_tcp"])

        def freeze_in_hold(p) -> None:
            if p.step_name == "hold-20" and p.t_s > 7.0:
                server.faults.freeze_counter = True

        result = run(load_protocol(QUICK), press, progress=freeze_in_hold)
        press.close()
    assert result.status == ABORTED
    assert "stale" in result.abort_reason
    assert len(result.trace) > 100


@pytest.mark.timeout(120)
def test_a_device_fault_on_the_wire_aborts_and_is_recorded() -> None:
    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        press = presshil.open_press(server.urls["modbus_tcp"])

        def estop_in_hold(p) -> None:
            if p.step_name == "hold-20" and p.t_s > 7.0 and not getattr(estop_in_hold, "done", False):
                estop_in_hold.done = True
                with server.press.lock:  # the model runs in real time in its own thread
                    server.press.press.inject_fault("estop")

        result = run(load_protocol(QUICK), press, progress=estop_in_hold)
        press.close()
    assert result.status == ABORTED
    assert "ESTOP" in result.abort_reason


SLOW = """
name = "slow-sampling"
description = "one sample every 5 s: longer than the 1 s watchdog the runner arms"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 80.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = 0.2
[[steps]]
type = "ramp"
to_mpa = 10.0
rate_mpa_s = 10.0
[[steps]]
type = "hold"
label = "hold-10"
duration_s = 12
expect = { band_mpa = 0.5 }
"""


@pytest.mark.timeout(120)
def test_heartbeats_keep_the_watchdog_fed_between_slow_samples_and_it_stays_armed_under_load() -> None:
    from presshil import Status

    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        press = presshil.open_press(server.urls["modbus_tcp"])
        result = run(parse_protocol(SLOW, "slow-sampling.toml"), press)
        assert result.passed, (result.abort_reason, result.failed_verdicts())
        # the protocol ended holding 10 MPa: the watchdog stays armed, so when the host
        # goes quiet the press goes to its safe state by itself
        press.clock.sleep_until(press.clock.now() + 1.5)
        sample = press.read()
        press.close()
    assert sample.status & Status.WATCHDOG_TRIPPED, Status.describe(sample.status)
