"""Opening a profile-driven press from a URL's ``profile=`` parameter."""

from __future__ import annotations

from ..errors import PressURLError
from ..maps.profile_loader import load_profile
from ..press import Press
from ..urls import PressURL

#: the transport each URL scheme speaks
_TRANSPORT = {"modbus+tcp": "modbus", "modbus+rtu": "modbus", "modbus+tls": "modbus", "opcua": "opcua", "serial": "ascii"}


def open_profile_press(parsed: PressURL) -> Press:
    """The press ``parsed`` names, driven through the profile of its ``profile=`` parameter."""
    name = parsed.query.get("profile")
    if not name:
        raise PressURLError(f"press URL {parsed.raw!r}: {parsed.scheme} needs profile=NAME_OR_PATH")
    profile = load_profile(name)
    want = _TRANSPORT[parsed.scheme]
    if profile.transport != want:
        raise PressURLError(
            f"press URL {parsed.raw!r}: profile {profile.name!r} describes a {profile.transport} "
            f"device, the URL a {want} one"
        )
    if want == "modbus":
        if parsed.scheme == "modbus+tls":
            from ..transports.modbus_tls import ModbusTlsProfilePress

            return ModbusTlsProfilePress(parsed, profile)
        from .modbus_press import ModbusProfilePress

        return ModbusProfilePress(parsed, profile)
    if want == "opcua":
        try:
            from .opcua_press import OpcUaProfilePress
        except ImportError as exc:
            raise PressURLError(
                f"press URL {parsed.raw!r}: OPC UA needs asyncua (pip install 'presshil[opcua]'): {exc}"
            ) from None
        return OpcUaProfilePress(parsed, profile)
    from .ascii_press import AsciiProfilePress

    return AsciiProfilePress(parsed, profile)


__all__ = ["open_profile_press"]
