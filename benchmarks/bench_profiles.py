"""Device profiles, side by side in one run (ratios printed at the end, nothing asserted):

    python3 -m pytest benchmarks/bench_profiles.py -p no:cacheprovider -s

- **map v1 (the presshil-v1 profile) vs the same request decoded by hand**: ``read()`` (block
  plan: one FC04 of input 0..23) against pymodbus' FC04 decoded by map v1's register codec,
  interleaved, on one virtual press subprocess — goal ≤ 1.2×; ``command_and_read()`` (one
  FC23) against the same FC23 by hand; and the same registers planned as three blocks
  (``max_block = 8``): three round trips, reported as such;
- **OPC UA read cycle vs raw asyncua**: the ``opcua-press`` profile's ``read()`` polling
  (one Read service call) against ``client.read_values`` of the same nodes on the same kind
  of client loop — goal ≤ 1.2×; the subscribed ``read()`` reported beside it;
- **secured OPC UA vs NoSecurity**: the same polled ``read()`` on a Basic256Sha256
  SignAndEncrypt session and on a NoSecurity one, interleaved — the price of security,
  stated (no goal);
- **Modbus RTU on a pty**: one FC04 request with presshil's select-driven client against
  pymodbus' own sleep-polling serial client, median per request, beside the wire time
  the same bytes take at 115200 baud, 8N1 (a pty has no baud rate) — goal ≤ 0.5 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.framer import FramerType

import presshil
from presshil.device import SpawnedServer
from presshil.loop_thread import LoopThread
from presshil.maps.press_v1 import STATE_MIRROR_BASE, Space, StateCodec, encode
from presshil.profiles.server import start_profile_server
from presshil.transports.rtu_client import SelectSerialClient

ROOT = Path(__file__).resolve().parents[1]
LINES: list[str] = []
BAUD = 115200


def median_ms(fn, rounds: int) -> float:
    """Median wall time of ``fn()`` in ms over ``rounds`` calls."""
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def interleaved_ms(a, b, rounds: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` called alternately (same load for both)."""
    ta, tb = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        a()
        ta.append(time.perf_counter() - t)
        t = time.perf_counter()
        b()
        tb.append(time.perf_counter() - t)
    return statistics.median(ta) * 1e3, statistics.median(tb) * 1e3


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    print("\n=== device profile benchmarks ===")
    for line in LINES:
        print(line)


@pytest.fixture(scope="module")
def server():
    with SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0", modbus_rtu="pty") as srv:
        yield srv


def test_profile_state_read_vs_hand_decoded_map_v1(server, tmp_path_factory) -> None:
    """Map v1 is the presshil-v1 profile: its read and its FC23 cycle against the same request
    made with pymodbus and decoded by map v1's own register codec (what the dedicated map-v1
    binding did before the profile replaced it)."""
    url = server.urls["modbus_tcp"]
    v1 = presshil.open_press(url)
    codec = StateCodec(v1.identity.channel_count)
    client = ModbusTcpClient("127.0.0.1", port=int(server.endpoints["modbus_tcp"].rsplit(":", 1)[1]), timeout=1.0)
    client.connect()
    three_file = tmp_path_factory.mktemp("p") / "three-blocks.toml"
    three_file.write_text(
        (ROOT / "profiles" / "presshil-v1.toml").read_text().replace("max_gap = 2", "max_gap = 2\nmax_block = 8")
    )
    three = presshil.open_press(url + f"&profile={three_file}")
    words = encode(Space.HOLDING, 0, {"command": 1, "heartbeat": 1, "setpoint": 0.0, "ramp_rate": 10.0})

    def hand_read():
        return codec.decode(client.read_input_registers(0, count=codec.count, device_id=1).registers)

    def hand_cycle():
        rsp = client.readwrite_registers(
            read_address=STATE_MIRROR_BASE, read_count=codec.count, write_address=0, values=words, device_id=1
        )
        return codec.decode(rsp.registers)

    def cycle():
        return v1.command_and_read(0.0, 10.0)

    try:
        assert len(v1.blocks) == 1 and len(three.blocks) == 3
        for _ in range(200):  # warm up every path
            v1.read(), hand_read(), cycle(), hand_cycle()
        assert v1.uses_fc23
        base, ours = interleaved_ms(hand_read, v1.read, 3000)
        base_c, ours_c = interleaved_ms(hand_cycle, cycle, 2000)
        base3, ours3 = interleaved_ms(hand_read, three.read, 1000)
        LINES.append(
            f"state read, Modbus TCP: FC04 + map v1 codec by hand {base:.3f} ms, map v1 binding "
            f"(presshil-v1 profile) {ours:.3f} ms -> ratio {ours / base:.2f}x "
            f"(goal <= 1.2x; 1 block: {v1.blocks[0].describe()})"
        )
        LINES.append(
            f"control cycle, Modbus TCP: FC23 + map v1 codec by hand {base_c:.3f} ms, "
            f"command_and_read {ours_c:.3f} ms -> ratio {ours_c / base_c:.2f}x (one round trip each)"
        )
        LINES.append(
            f"state read, same registers in 3 blocks ({', '.join(b.describe() for b in three.blocks)}): "
            f"{ours3:.3f} ms vs one FC04 by hand {base3:.3f} ms -> {ours3 / base3:.2f}x (3 round trips)"
        )
    finally:
        v1.safe_state()
        v1.close(), three.close()
        client.close()


def test_opcua_read_cycle_vs_raw_asyncua() -> None:
    from asyncua import Client

    with start_profile_server("sim://auto-hydraulic-25t?seed=1", "opcua-press", opcua="127.0.0.1:0") as srv:
        url = srv.urls["opcua"]
        poll = presshil.open_press(url + "&mode=poll")
        sub = presshil.open_press(url + "&mode=subscribe")
        loop = LoopThread()
        client = Client(f"opc.tcp://{srv.endpoints['opcua']}", timeout=1.0)
        loop.run(client.connect())
        nodes = [client.get_node(s.node) for s in poll.profile.signals.values()]
        try:
            def raw() -> None:
                loop.run(client.read_values(nodes))

            for _ in range(100):
                raw(), poll.read()
            base, ours = interleaved_ms(raw, poll.read, 1000)
            subscribed = median_ms(sub.read, 1000)
            LINES.append(
                f"OPC UA read cycle ({len(nodes)} nodes): raw asyncua read_values {base:.3f} ms, "
                f"profile read (poll) {ours:.3f} ms -> ratio {ours / base:.2f}x (goal <= 1.2x)"
            )
            LINES.append(
                f"OPC UA profile read (subscription, publish 10 ms): {subscribed:.4f} ms "
                f"-> {subscribed / ours:.3f}x of polling: subscription is the default"
            )
        finally:
            loop.run(client.disconnect())
            loop.close()
            poll.close()
            sub.close()


def test_secured_opcua_read_vs_nosecurity(tmp_path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from tls_certs import ThrowawayCA

    from presshil.serving.tls import TlsConfig

    lab = ThrowawayCA(tmp_path, "bench CA", use_rsa=True)
    press_cert, press_key = lab.issue("press", server=True, uri="urn:presshil:bench:press")
    host_cert, host_key = lab.issue("host", uri="urn:presshil:bench:host")
    sim = "sim://auto-hydraulic-25t?seed=1"
    with (
        start_profile_server(sim, "opcua-press", opcua="127.0.0.1:0") as plain_srv,
        start_profile_server(sim, "opcua-press", opcua="127.0.0.1:0",
                             tls=TlsConfig(press_cert, press_key, lab.path)) as secured_srv,
    ):
        plain = presshil.open_press(plain_srv.urls["opcua"] + "&mode=poll")
        secured = presshil.open_press(
            secured_srv.urls["opcua"] + f"&mode=poll&cert={host_cert}&key={host_key}&ca={lab.path}"
        )
        try:
            for _ in range(100):
                plain.read(), secured.read()
            base, ours = interleaved_ms(plain.read, secured.read, 1000)
            LINES.append(
                f"OPC UA polled read: NoSecurity {base:.3f} ms, Basic256Sha256 SignAndEncrypt "
                f"{ours:.3f} ms -> ratio {ours / base:.2f}x (the price of security, no goal)"
            )
        finally:
            plain.close()
            secured.close()


def test_rtu_request_overhead_on_a_pty(server) -> None:
    path = server.endpoints["modbus_rtu"]
    count = 24
    wire_ms = (8 + 5 + 2 * count) * 10 / BAUD * 1e3  # request 8 bytes, reply 5 + 2N
    results = {}
    for label, cls in (("pymodbus ModbusSerialClient", ModbusSerialClient), ("presshil SelectSerialClient", SelectSerialClient)):
        client = cls(path, framer=FramerType.RTU, baudrate=BAUD, timeout=0.2, retries=0)
        assert client.connect()
        try:
            def request(client=client) -> None:
                rsp = client.read_input_registers(0, count=count, device_id=1)
                assert not rsp.isError()

            for _ in range(50):
                request()
            results[label] = median_ms(request, 400)
        finally:
            client.close()
    ours = results["presshil SelectSerialClient"]
    base = results["pymodbus ModbusSerialClient"]
    LINES.append(
        f"Modbus RTU on a pty, FC04 x{count}: pymodbus {base:.3f} ms, presshil {ours:.3f} ms "
        f"median per request (goal <= 0.5 ms) -> {ours / base:.2f}x; the same bytes take "
        f"{wire_ms:.2f} ms on a 115200 baud wire"
    )
    _ = asyncio  # the OPC UA client runs on its own loop thread
