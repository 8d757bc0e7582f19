"""Serving the simulated press through a device profile: Modbus TCP and RTU (the
:class:`~.emulation.ProfileDatastore`), OPC UA (:mod:`.opcua_emulation`) and an ASCII line
(:mod:`.ascii_emulation`), several at once, on one loop thread.

The shipped ``presshil-v1`` profile is map v1 itself: it is served by map v1's own register
map (:class:`presshil.device.modbus_map.RegisterMap`, the one ``presshil serve`` uses) at the
profile's channel count, so map v1 is encoded and decoded in one place. Only the FC43 strings
stay the profile's.

    with start_profile_server("sim://auto-hydraulic-25t", "plc-hydraulic-press", modbus_tcp="127.0.0.1:0") as srv:
        press = presshil.open_press(srv.urls["modbus_tcp"])
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable, Coroutine
from functools import cache, cached_property, partial
from typing import Any

from pymodbus.pdu.device import ModbusDeviceIdentification

from ..device.modbus_map import RegisterMap
from ..errors import ConfigError
from ..maps import press_v1_profile
from ..maps.profile import Profile
from ..maps.profile_loader import parse_profile
from ..serving.loop import ServerBase, parse_hostport
from ..serving.ports import ServedPort
from ..serving.rtu_server import RtuServer
from ..serving.tcp import COILS, SERVED, WireLimits
from ..serving.tls import TlsConfig
from .emulation import ProfileDatastore

log = logging.getLogger("presshil.profiles")


@cache
def _shipped_map_v1() -> Profile:
    return parse_profile(tomllib.loads(press_v1_profile.render()), "presshil-v1.toml")


def is_map_v1(profile: Profile) -> bool:
    """Whether ``profile`` is map v1 as shipped (``presshil-v1``, at any channel count)."""
    if profile.transport != "modbus" or "channel_force" not in profile.signals:
        return False
    shipped = _shipped_map_v1()
    cells = profile.signals["channel_force"]
    signals = {**shipped.signals, "channel_force": shipped.signals["channel_force"].model_copy(update={"count": cells.count})}
    return profile == shipped.model_copy(update={"signals": signals})


class ProfileServerHandle(ServerBase):
    """A virtual press served through a profile: where it listens, how to stop it."""

    def __init__(self, vp: Any, profile: Profile, profile_ref: str, baud: int) -> None:
        self.press = vp
        self.profile = profile
        self.profile_ref = profile_ref
        #: map v1's own register map when the profile is ``presshil-v1`` (then it, not
        #: :attr:`store`, answers on Modbus)
        self.map_v1: RegisterMap | None = None
        if is_map_v1(profile):
            self.map_v1 = RegisterMap(vp, channels=profile.signals["channel_force"].count)
        #: coroutines run in the loop before the servers stop (the OPC UA server's shutdown)
        self.on_stop: list[Callable[[], Coroutine[Any, Any, None]]] = []
        super().__init__(baud)

    @cached_property
    def store(self) -> ProfileDatastore:
        """The profile's generic emulation, built when first used: ``presshil-v1`` on Modbus
        is answered by :attr:`map_v1` and never builds it."""
        return ProfileDatastore(self.profile, self.press)

    @property
    def faults(self) -> Any:
        """The virtual press's wire faults (reply delay honoured here)."""
        return self.press.faults

    @property
    def lease(self) -> Any:
        """The virtual press's control lease: the profile's wires share it (an implicit
        lease ends with its TCP connection, as on map v1; on OPC UA, with its session's)."""
        return self.press.lease

    @property
    def failed(self) -> BaseException | None:
        """The error that stopped the press model, if any."""
        return self.press.driver.error

    @property
    def urls(self) -> dict[str, str]:
        """Press URLs a host opens, with the profile."""
        urls = {}
        ref = self.profile_ref
        if "modbus_tcp" in self.endpoints:
            urls["modbus_tcp"] = f"{self.tcp_scheme}://{self.endpoints['modbus_tcp']}?unit=1&profile={ref}"
        if "modbus_rtu" in self.endpoints:
            urls["modbus_rtu"] = f"modbus+rtu://{self.endpoints['modbus_rtu']}?baud={self.baud}&unit=1&profile={ref}"
        if "serial" in self.endpoints:
            urls["serial"] = f"serial://{self.endpoints['serial']}?baud={self.baud}&profile={ref}"
        if "opcua" in self.endpoints:
            urls["opcua"] = f"opcua://{self.endpoints['opcua']}?profile={ref}"
        return urls

    def info(self) -> dict[str, Any]:
        """What ``serve`` prints when ready."""
        return {
            "press": self.press.url,
            "identity": f"{self.profile.device.vendor} {self.profile.device.model} (profile {self.profile.name})",
            "endpoints": dict(self.endpoints),
            "urls": self.urls,
        }

    def _stop_model(self) -> None:
        self.press.stop()

    def stop(self) -> None:
        """Stop the OPC UA server (if any) in the loop, then everything else."""
        hooks, self.on_stop = self.on_stop, []
        for hook in hooks:
            try:
                self._loop.run(hook(), timeout_s=5.0)
            except Exception:
                log.debug("stop hook failed", exc_info=True)
        super().stop()

    def device_identification(self) -> ModbusDeviceIdentification:
        """FC43 objects from the profile's device section."""
        d = self.profile.device
        return ModbusDeviceIdentification(info={0x00: d.vendor, 0x01: d.model, 0x02: d.firmware, 0x05: d.model})

    def _rtu_server(self, port: ServedPort) -> RtuServer:
        return self._rtu(port, self.map_v1 or self.store, self.press)


def start_profile_server(
    press: Any,
    profile_ref: str,
    *,
    modbus_tcp: str | None = None,
    modbus_rtu: str | None = None,
    opcua: str | None = None,
    serial: str | None = None,
    bind: str = "127.0.0.1",
    baud: int = 115200,
    limits: WireLimits | None = None,
    tls: TlsConfig | None = None,
) -> ProfileServerHandle:
    """Serve the simulated ``press`` (a ``sim://`` URL or a VirtualPress) through a profile.

    Modbus TCP is the same hardened server as ``presshil serve``'s (``limits``: its
    connection cap, idle timeout and log interval), answering the bit function codes too.
    With ``tls``, Modbus TCP is Modbus/TCP Security (roles from the client certificate) and
    OPC UA offers only signed and encrypted sessions with certificates checked both ways.
    """
    from ..device.virtual import VirtualPress
    from ..maps.profile_loader import load_profile

    profile = load_profile(profile_ref)
    want = {"modbus": bool(modbus_tcp or modbus_rtu), "opcua": bool(opcua), "ascii": bool(serial)}
    for transport, asked in want.items():
        if asked and profile.transport != transport:
            raise ConfigError(f"profile {profile.name!r} describes a {profile.transport} device; it cannot be served as {transport}")
    if not any(want.values()):
        raise ConfigError(f"profile {profile.name!r}: give an endpoint for its {profile.transport} transport")
    if tls is not None and not (modbus_tcp or opcua):
        raise ConfigError("--tls-cert/--tls-key/--tls-ca secure a Modbus TCP or an OPC UA endpoint; none is served")
    if opcua:
        try:
            from .opcua_emulation import start_opcua
        except ImportError as exc:
            raise ConfigError(f"--opcua needs asyncua (pip install 'presshil[opcua]'): {exc}") from None
    vp = press if isinstance(press, VirtualPress) else VirtualPress(press)
    handle = ProfileServerHandle(vp, profile, profile_ref, baud)
    handle.limits = limits or handle.limits
    handle.tls = tls
    handle.identification = handle.device_identification()  # what FC43 answers
    vp.warm_up()
    vp.start()
    steps: list[Callable[[], Coroutine[Any, Any, None]]] = []
    if modbus_tcp:
        tcp = modbus_tcp
        # the hardened server of presshil serve (connection cap, idle timeout, strict
        # request checks), answering the bit function codes too: profiles have coils
        if handle.map_v1 is not None:  # map v1 has no bits: exception 01, as presshil serve
            regs: Any = handle.map_v1
            functions = SERVED
        else:
            regs, functions = handle.store, SERVED | COILS
        steps.append(lambda: handle._start_tcp(regs, *parse_hostport(tcp, bind), functions=functions))
    if modbus_rtu:
        steps.append(partial(handle._start_port, "modbus_rtu", modbus_rtu, handle._rtu_server))
    if serial:
        from .ascii_emulation import ascii_server

        steps.append(partial(handle._start_port, "serial", serial, partial(ascii_server, handle)))
    if opcua:
        steps.append(partial(start_opcua, handle, opcua, bind))
    handle._start_endpoints(steps)
    return handle


__all__ = ["ProfileServerHandle", "start_profile_server"]
