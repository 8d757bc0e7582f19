"""Opening a profile-driven press from a URL's ``profile=`` parameter."""

from __future__ import annotations

from ..errors import PressURLError
from ..maps.profile_loader import load_profile
from ..press import Press
from ..url_schemes import SCHEMES
from ..urls import PressURL


def open_profile_press(parsed: PressURL) -> Press:
    """The press ``parsed`` names, driven through the profile of its ``profile=`` parameter."""
    name = parsed.query.get("profile")
    if not name:
        raise PressURLError(f"press URL {parsed.raw!r}: {parsed.scheme} needs profile=NAME_OR_PATH")
    want = SCHEMES[parsed.scheme].profile_transport  # registered with the scheme
    if want is None:
        raise PressURLError(f"press URL {parsed.raw!r}: {parsed.scheme} has no profile-driven form")
    profile = load_profile(name)
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
