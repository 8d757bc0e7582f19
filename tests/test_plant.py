"""The plant: the simulated press without its controller, served over Modbus (no C needed)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from waiting import wait_for
from wall_clock import wall_clock_fixture

from presshil.errors import ConfigError
from presshil.maps.plant import (
    ACTUATOR_COUNT,
    DRIVE_FOLLOW,
    DRIVE_SAFE,
    PS_CHAIN_OPEN,
    PS_ESTOP,
    SENSOR_COUNT,
    TABLE,
    TRUTH_COUNT,
    TRUTH_START,
)
from presshil.maps.press_v1 import Space
from presshil.plant import codegen
from presshil.plant.model import PlantModel
from presshil.plant.server import start_plant_server

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)


def _run(plant: PlantModel, seconds: float) -> None:
    t = plant.now()
    for _ in range(round(seconds / plant.dt)):
        t += plant.dt
        plant.advance_to(t)


def test_generated_files_match_the_table() -> None:
    for path, text in codegen.outputs(ROOT).items():
        assert path.read_text() == text, (
            f"{path.relative_to(ROOT)} is out of date: python3 -m presshil.plant.codegen"
        )


def test_plant_mode_obeys_the_external_actuator() -> None:
    plant = PlantModel("sim://?seed=3")
    _run(plant, 0.2)
    assert plant.truth().force_kn < 0.01  # safe drive at rest: nothing pushes
    plant.command(DRIVE_FOLLOW, 0.05)  # spool 5 % open
    _run(plant, 1.0)
    pushed = plant.truth().force_kn
    assert pushed > 1.0
    measured = sum(plant.sensors()["load_cell"])
    assert measured == pytest.approx(pushed, rel=0.02)  # sensors see it, with their errors
    plant.command(DRIVE_SAFE, 0.0)  # pump off, dump valve open
    _run(plant, 1.0)
    assert plant.truth().force_kn < 0.05 * pushed


def test_sample_counter_advances_once_per_tick() -> None:
    plant = PlantModel("sim://")
    before = plant.counter
    _run(plant, 0.1)
    assert plant.counter - before == 100
    assert plant.sample_time_s == pytest.approx((plant.counter - 1) * plant.dt)


def test_estop_chain_overrides_the_firmware() -> None:
    plant = PlantModel("sim://?seed=1")
    plant.command(DRIVE_FOLLOW, 0.05)
    _run(plant, 1.0)
    loaded = plant.truth().force_kn
    plant.inject("estop", duration_s=0.5)
    assert plant.status() & PS_ESTOP and plant.status() & PS_CHAIN_OPEN
    plant.command(DRIVE_FOLLOW, 0.3)  # the firmware keeps pushing: the chain wins
    _run(plant, 0.4)
    assert plant.truth().force_kn < 0.1 * loaded
    _run(plant, 0.2)
    assert not plant.status() & PS_ESTOP  # a momentary button


def test_firmware_faults_are_refused_in_the_plant() -> None:
    with pytest.raises(ConfigError, match="belongs to the firmware"):
        PlantModel("sim://?faults=controller_freeze@1")
    plant = PlantModel("sim://")
    with pytest.raises(ConfigError, match="needs mpa"):
        plant.inject("overpressure")
    with pytest.raises(ConfigError, match="manual press"):
        PlantModel("sim://manual-hydraulic-15t")


def test_table_rejects_partial_fields() -> None:
    with pytest.raises(ValueError, match="covers part"):
        TABLE.decode(Space.HOLDING, 3, [0, 0, 0])
    regs = TABLE.encode(
        Space.HOLDING, 0, ACTUATOR_COUNT, {"drive_mode": 1, "demand": 0.5, "based_on": 7}
    )
    assert TABLE.decode(Space.HOLDING, 0, regs) == {
        "drive_mode": 1,
        "reserved_1": 0,
        "demand": 0.5,
        "based_on": 7,
    }


@wall_clock_fixture(scope="module", realtime=True)
def served():
    """A plant served on Modbus TCP and on a pty (RTU)."""
    with start_plant_server("sim://?seed=2", modbus_tcp="127.0.0.1:0", modbus_rtu="pty") as handle:
        yield handle


def _tcp(handle) -> ModbusTcpClient:
    host, port = handle.endpoints["modbus_tcp"].split(":")
    client = ModbusTcpClient(host, port=int(port), timeout=2)
    assert client.connect()
    return client


def test_served_sensor_block_and_command_with_latency(served) -> None:
    client = _tcp(served)
    try:
        rsp = client.read_input_registers(0, count=SENSOR_COUNT, device_id=1)
        sensors = TABLE.decode(Space.INPUT, 0, rsp.registers)
        assert sensors["channel_count"] == 4 and sensors["sample_counter"] > 0
        regs = TABLE.encode(
            Space.HOLDING,
            0,
            ACTUATOR_COUNT,
            {"drive_mode": DRIVE_SAFE, "demand": 0.0, "based_on": sensors["sample_counter"]},
        )
        assert not client.write_registers(0, regs, device_id=1).isError()
        truth = TABLE.decode(
            Space.INPUT,
            TRUTH_START,
            client.read_input_registers(TRUTH_START, count=TRUTH_COUNT, device_id=1).registers,
        )
        assert truth["commands"] >= 1
        assert 0.0 < truth["last_latency"] < 1000.0
        # half a command is refused, a bad drive mode too, and NaN
        assert client.write_registers(2, regs[2:4], device_id=1).exception_code == 2
        bad = TABLE.encode(Space.HOLDING, 0, ACTUATOR_COUNT, {"drive_mode": 7})
        assert client.write_registers(0, bad, device_id=1).exception_code == 3
        nan = TABLE.encode(Space.HOLDING, 0, ACTUATOR_COUNT, {"drive_mode": 1, "demand": math.nan})
        assert client.write_registers(0, nan, device_id=1).exception_code == 3
        assert client.read_input_registers(30, count=2, device_id=1).exception_code == 2
        assert client.write_registers(256, [0], device_id=1).isError()  # the mirror is read-only
    finally:
        client.close()


def test_served_over_rtu_on_a_pty(served) -> None:
    client = ModbusSerialClient(served.endpoints["modbus_rtu"], baudrate=115200, timeout=1)
    assert client.connect()
    try:
        first = TABLE.decode(
            Space.INPUT,
            0,
            client.read_input_registers(0, count=SENSOR_COUNT, device_id=1).registers,
        )
        second = TABLE.decode(
            Space.INPUT,
            0,
            client.read_input_registers(0, count=SENSOR_COUNT, device_id=1).registers,
        )
        assert second["sample_counter"] > first["sample_counter"]  # advancing in real time
    finally:
        client.close()


def test_injection_over_the_wire(served) -> None:
    client = _tcp(served)
    try:
        regs = TABLE.encode(Space.HOLDING, 300, 6, {"inject": 2, "inject_duration": 0.3})
        assert not client.write_registers(300, regs, device_id=1).isError()
        status = client.read_input_registers(0, count=1, device_id=1).registers[0]
        assert status & PS_ESTOP
        unknown = TABLE.encode(Space.HOLDING, 300, 6, {"inject": 99})
        assert client.write_registers(300, unknown, device_id=1).exception_code == 3
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.realtime
def test_a_script_that_dies_without_stopping_its_plant_leaves_no_plant_running() -> None:
    """The plant runs in a process of its own; a host script that exits on an exception
    between start and stop must not leave it running (the children are killed at exit)."""
    import os
    import subprocess
    import sys

    script = (
        "from presshil.plant.spawn import SpawnedPlant\n"
        "p = SpawnedPlant('sim://?seed=1')\n"
        "print(p.pid, flush=True)\n"
        "raise SystemExit('died without stopping it')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "died without stopping it" in done.stderr, done.stderr
    pid = int(done.stdout.split()[0])

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True  # gone (and reaped by init)
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[1].split()[0] == "Z"  # killed, waiting for init to reap it
        except FileNotFoundError:
            return True

    wait_for(gone, timeout_s=10.0, what=f"plant process {pid} to end after its host exited", poll_s=0.05)
