"""``[device] identify = "nameplate"``: an OPC UA press names itself by its DI / Machinery
Identification; the profile's strings are only the fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("asyncua")

import presshil  # noqa: E402
from presshil.maps.profile_loader import ProfileError, load_profile  # noqa: E402
from presshil.profiles.server import start_profile_server  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
SIM = "sim://auto-hydraulic-25t?seed=1"
SHIPPED = Path(__file__).resolve().parents[1] / "profiles" / "opcua-press.toml"
DEVICE = """[device]
vendor = "generic"
model = "OPC UA press"
firmware = "PLC program 1"
"""


def profile(tmp_path: Path, name: str, device: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(SHIPPED.read_text(encoding="utf-8").replace(DEVICE, device), encoding="utf-8")
    return path


SERVED = """[device]
vendor = "ACME Pressen GmbH"
model = "SP-100 servo press"
serial = "SP100-0042"
firmware = "4.2.1"
identify = "nameplate"
"""


@pytest.mark.parametrize(
    "client_device",
    [
        '[device]\nidentify = "nameplate"\n',  # found by browsing for Identification
        '[device]\nidentify = "nameplate"\nidentification = "nsu=urn:presshil:press;s=Press.Identification"\n',
    ],
    ids=["browsed", "named"],
)
def test_the_press_names_itself_from_its_nameplate(tmp_path: Path, client_device: str) -> None:
    served = profile(tmp_path, "served", SERVED)
    client = profile(tmp_path, "client", client_device)
    handle = start_profile_server(SIM, str(served), opcua="127.0.0.1:0")
    press = presshil.open_press(f"opcua://{handle.endpoints['opcua']}?profile={client}&mode=poll")
    try:
        ident = press.identity
        # the client profile says nothing of these: every string came over the wire
        assert (ident.vendor, ident.model, ident.serial, ident.firmware) == (
            "ACME Pressen GmbH", "SP-100 servo press", "SP100-0042", "4.2.1",
        )
    finally:
        press.close()
        handle.stop()


def test_a_server_without_a_nameplate_leaves_the_profile_strings(tmp_path: Path) -> None:
    client = profile(tmp_path, "client", DEVICE + 'identify = "nameplate"\nserial = "from the profile"\n')
    handle = start_profile_server(SIM, "opcua-press", opcua="127.0.0.1:0")
    press = presshil.open_press(f"opcua://{handle.endpoints['opcua']}?profile={client}&mode=poll")
    try:
        assert (press.identity.vendor, press.identity.serial) == ("generic", "from the profile")
    finally:
        press.close()
        handle.stop()


def test_the_nameplate_on_a_modbus_profile_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "modbus.toml"
    text = (SHIPPED.parent / "plc-hydraulic-press.toml").read_text(encoding="utf-8")
    path.write_text(text.replace("[device]\n", '[device]\nidentify = "nameplate"\n', 1), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"key 'device.identify': the nameplate is an OPC UA feature"):
        load_profile(str(path))
