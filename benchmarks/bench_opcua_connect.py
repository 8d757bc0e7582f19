"""What the OPC UA node checks cost at connect, side by side (ratio printed, nothing asserted):

    python3 -m pytest benchmarks/bench_opcua_connect.py -p no:cacheprovider -s

One emulated press on loopback serves a 10-signal profile (every signal name a profile may
use, ``nsu=`` node ids, five value commands, the heartbeat and four methods). Opening the
press with the node checks (the default: namespaces resolved, then NodeClass, DataType and
UserAccessLevel of every variable and each method's arguments read) is interleaved with
opening it with ``check_nodes=False`` (namespaces resolved only); each opening is a whole
connect in poll mode, closed again, and the medians are compared.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

pytest.importorskip("asyncua")

from presshil.maps.profile_loader import load_profile  # noqa: E402
from presshil.profiles.opcua_press import OpcUaProfilePress  # noqa: E402
from presshil.profiles.server import start_profile_server  # noqa: E402
from presshil.urls import parse_press_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 15
EXTRA = """
[hydraulics]
ram_diameter = "80 mm"

[signals.oil_pressure]
node = "nsu=urn:presshil:press;s=Press.OilPressure"
unit = "bar"

[signals.channel_force]
node = "nsu=urn:presshil:press;s=Press.LoadCell1"
unit = "kN"

[signals.device_time]
node = "nsu=urn:presshil:press;s=Press.Clock"
unit = "ms"
"""


def test_connect_with_and_without_node_checks(tmp_path: Path) -> None:
    text = (ROOT / "profiles" / "opcua-press.toml").read_text(encoding="utf-8")
    path = tmp_path / "ten-signals.toml"
    path.write_text(text + EXTRA, encoding="utf-8")
    profile = load_profile(str(path))
    assert len(profile.signals) == 10
    server = start_profile_server("sim://auto-hydraulic-25t?seed=1", str(path), opcua="127.0.0.1:0")
    try:
        parsed = parse_press_url(server.urls["opcua"] + "&mode=poll")
        checked: list[float] = []
        unchecked: list[float] = []
        for i in range(ROUNDS * 2):
            with_checks = i % 2 == 0
            t = time.perf_counter()
            press = OpcUaProfilePress(parsed, profile, check_nodes=with_checks)
            (checked if with_checks else unchecked).append(time.perf_counter() - t)
            press.close()
        a, b = statistics.median(unchecked) * 1e3, statistics.median(checked) * 1e3
        print(
            f"\nOPC UA connect, 10 signals, poll mode, {ROUNDS} each interleaved: "
            f"without node checks {a:.1f} ms, with {b:.1f} ms, ratio {b / a:.2f}x"
        )
    finally:
        server.stop()
