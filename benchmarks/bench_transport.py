"""Transport latency, side by side in one run, against a virtual press in a subprocess.

    python3 -m pytest benchmarks/bench_transport.py -p no:cacheprovider -s

- control cycle on Modbus TCP: presshil's ``command_and_read`` (one FC23 round trip) vs the
  naive pymodbus pair (``write_registers`` of the same six registers, then
  ``read_input_registers`` of the state) — goal: median ≤ 0.7× the pair's;
- state read on Modbus TCP: presshil's ``read`` (FC04 + decoding + stale check) vs a raw
  pymodbus ``read_input_registers`` of the same registers — goal: overhead ≤ 1.2×;
- Modbus RTU over a pseudo-terminal and the line protocol: median and p99 beside the wire
  time the same bytes would take at 115200 baud, 8N1 (a pty has no baud rate).

Prints the ratios at the end; asserts nothing about time.
"""

from __future__ import annotations

import statistics
import time

import pytest
from pymodbus.client import ModbusTcpClient

import presshil
from presshil.device import SpawnedServer
from presshil.maps.line_v1 import format_meas
from presshil.maps.press_v1 import Space, StateCodec, encode

SIM_URL = "sim://?seed=1"
BAUD = 115200
BITS_PER_CHAR = 10  # start + 8 data + stop
ROUNDS = {"tcp": 3000, "rtu": 400, "serial": 400}
RESULTS: dict[str, dict[str, float]] = {}
RATIOS: dict[str, dict[str, float]] = {}


def char_s(n: int) -> float:
    """Wire time of ``n`` characters at 115200 baud, 8N1."""
    return n * BITS_PER_CHAR / BAUD


@pytest.fixture(scope="module")
def server():
    """A virtual press subprocess on all three wires (its threads do not share our GIL)."""
    with SpawnedServer(SIM_URL, modbus_tcp="127.0.0.1:0", modbus_rtu="pty", serial="pty") as srv:
        yield srv


@pytest.fixture(scope="module")
def tcp_press(server):
    """presshil on Modbus TCP, regulating at 5 MPa."""
    press = presshil.open_press(server.urls["modbus_tcp"])
    press.stop()
    press.reset()
    press.command(5.0, 20.0)
    yield press
    press.close()


@pytest.fixture(scope="module")
def raw_client(server):
    """A plain pymodbus sync client on the same server."""
    host, port = server.endpoints["modbus_tcp"].rsplit(":", 1)
    client = ModbusTcpClient(host, port=int(port), timeout=0.5, retries=0)
    assert client.connect()
    yield client
    client.close()


class _Report:
    """Prints medians, wire times and ratios in pytest's terminal summary (after capture)."""

    def pytest_terminal_summary(self, terminalreporter) -> None:
        tr = terminalreporter
        if not RESULTS:
            return
        tr.write_sep("-", "presshil transport latency (ms; median / p99)")
        for name, r in RESULTS.items():
            wire = f"   wire time at {BAUD} baud: {r['wire'] * 1e3:.2f}" if "wire" in r else ""
            tr.write_line(f"  {name:<34} {r['median'] * 1e3:8.3f} / {r['p99'] * 1e3:8.3f}{wire}")
        goals = {"control": "goal <= 0.70", "state": "goal <= 1.20"}
        tr.write_line("ratios of medians, measured interleaved (ms):")
        for name, r in RATIOS.items():
            goal = goals[name.split()[0]]
            ratio = r["a"] / r["b"]
            tr.write_line(
                f"  {name}: {r['a'] * 1e3:.3f} / {r['b'] * 1e3:.3f} = {ratio:.2f}  ({goal})"
            )


@pytest.fixture(scope="module", autouse=True)
def report(request):
    """Register the end-of-session report once."""
    if not request.config.pluginmanager.has_plugin("presshil-bench-transport"):
        request.config.pluginmanager.register(_Report(), "presshil-bench-transport")


def record(benchmark, name: str, wire_s: float | None = None) -> None:
    """Keep median and p99 of the last benchmark under ``name``."""
    data = sorted(benchmark.stats.stats.data)
    entry = {
        "median": statistics.median(data),
        "p99": data[min(len(data) - 1, int(0.99 * len(data)))],
    }
    if wire_s is not None:
        entry["wire"] = wire_s
    RESULTS[name] = entry


def run(benchmark, fn, rounds: int) -> None:
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=min(100, rounds // 10))


def test_tcp_control_cycle_presshil_fc23(benchmark, tcp_press) -> None:
    run(benchmark, lambda: tcp_press.command_and_read(5.0, 20.0), ROUNDS["tcp"])
    assert tcp_press.uses_fc23
    record(benchmark, "tcp: command_and_read (FC23)")


def test_tcp_control_cycle_naive_pymodbus_pair(benchmark, raw_client, tcp_press) -> None:
    count = StateCodec(tcp_press.identity.channel_count).count
    regs = encode(
        Space.HOLDING, 0, {"command": 1, "heartbeat": 1, "setpoint": 5.0, "ramp_rate": 20.0}
    )

    def pair() -> None:
        raw_client.write_registers(0, regs, device_id=1)
        rsp = raw_client.read_input_registers(0, count=count, device_id=1)
        assert not rsp.isError()

    run(benchmark, pair, ROUNDS["tcp"])
    record(benchmark, "tcp: naive pair (FC16 + FC04)")


def test_tcp_state_read_presshil(benchmark, tcp_press) -> None:
    run(benchmark, tcp_press.read, ROUNDS["tcp"])
    record(benchmark, "tcp: read (FC04 + decode)")


def test_tcp_state_read_raw_pymodbus(benchmark, raw_client, tcp_press) -> None:
    count = StateCodec(tcp_press.identity.channel_count).count
    run(
        benchmark,
        lambda: raw_client.read_input_registers(0, count=count, device_id=1),
        ROUNDS["tcp"],
    )
    record(benchmark, "tcp: raw pymodbus FC04")


def interleaved(benchmark, name: str, a, b, rounds: int) -> None:
    """Time ``a`` and ``b`` alternately (order swapped every round), so drift in the machine's
    load hits both alike; the ratio of their medians is the figure that counts."""
    times: dict[str, list[float]] = {"a": [], "b": []}
    flip = [False]

    def both() -> None:
        flip[0] = not flip[0]
        order = (("a", a), ("b", b)) if flip[0] else (("b", b), ("a", a))
        for key, fn in order:
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)

    run(benchmark, both, rounds)
    for key in times:
        data = sorted(times[key][-rounds:])
        RATIOS.setdefault(name, {})[key] = statistics.median(data)


def test_tcp_control_cycle_interleaved(benchmark, tcp_press, raw_client) -> None:
    count = StateCodec(tcp_press.identity.channel_count).count
    regs = encode(
        Space.HOLDING, 0, {"command": 1, "heartbeat": 1, "setpoint": 5.0, "ramp_rate": 20.0}
    )

    def pair() -> None:
        raw_client.write_registers(0, regs, device_id=1)
        raw_client.read_input_registers(0, count=count, device_id=1)

    interleaved(
        benchmark,
        "control cycle: presshil FC23 / naive pymodbus FC16+FC04",
        lambda: tcp_press.command_and_read(5.0, 20.0),
        pair,
        ROUNDS["tcp"],
    )


def test_tcp_state_read_interleaved(benchmark, tcp_press, raw_client) -> None:
    count = StateCodec(tcp_press.identity.channel_count).count
    interleaved(
        benchmark,
        "state read: presshil read / raw pymodbus FC04",
        tcp_press.read,
        lambda: raw_client.read_input_registers(0, count=count, device_id=1),
        ROUNDS["tcp"],
    )


def test_rtu_state_read_over_a_pty(benchmark, server) -> None:
    press = presshil.open_press(server.urls["modbus_rtu"])
    try:
        count = StateCodec(press.identity.channel_count).count
        run(benchmark, press.read, ROUNDS["rtu"])
        # request 8 bytes, reply 5 + 2*count bytes, a 3.5-character silence after each
        record(benchmark, "rtu/pty: read (FC04)", char_s(8 + 5 + 2 * count + 7))
    finally:
        press.close()


def test_rtu_control_cycle_over_a_pty(benchmark, server) -> None:
    press = presshil.open_press(server.urls["modbus_rtu"])
    try:
        count = StateCodec(press.identity.channel_count).count
        press.stop()
        press.reset()
        run(benchmark, lambda: press.command_and_read(5.0, 20.0), ROUNDS["rtu"])
        # FC23 request 9 + 1 + 12 + 2 bytes, reply 5 + 2*count bytes, two silences
        record(benchmark, "rtu/pty: command_and_read (FC23)", char_s(24 + 5 + 2 * count + 7))
    finally:
        press.close()


def test_serial_line_state_read_over_a_pty(benchmark, server) -> None:
    press = presshil.open_press(server.urls["serial"])
    try:
        sample = press.read()
        run(benchmark, press.read, ROUNDS["serial"])
        record(
            benchmark,
            "serial/pty: read (MEAS?)",
            char_s(len("MEAS?\n") + len(format_meas(sample)) + 1),
        )
    finally:
        press.close()
