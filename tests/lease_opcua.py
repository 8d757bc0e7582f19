"""The OPC UA endpoint of ``presshil serve --profile opcua-press --opcua``, driven by the lease
contract (tests/test_lease_contract.py): each master is a real asyncua client (its own
session on its own TCP connection) on 127.0.0.1; every request is bounded by its timeout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from asyncua import ua
from asyncua.sync import Client

from presshil.profiles.opcua_emulation import NAMESPACE
from presshil.serving.tcp import WireLimits

SIM = "sim://auto-hydraulic-25t?seed=1"


class UaMaster:
    """One OPC UA client of the press (profile ``opcua-press``): a session of its own."""

    def __init__(self, endpoint: str) -> None:
        self.client = Client(f"opc.tcp://{endpoint}", timeout=10)
        self.client.connect()
        self.idx = self.client.get_namespace_index(NAMESPACE)
        self.press = self.client.get_node(ua.NodeId("Press", self.idx))

    def node(self, name: str) -> Any:
        return self.client.get_node(ua.NodeId(f"Press.{name}", self.idx))

    def write(self, name: str, value: float) -> bool:
        """Write a command variable: True accepted, False refused for the lease."""
        variant = ua.Variant(float(value), ua.VariantType.Double)
        return self._answer(lambda: self.node(name).write_value(ua.DataValue(variant)))

    def call(self, method: str) -> bool:
        """Call one of the press's methods: True accepted, False refused for the lease."""
        return self._answer(lambda: self.press.call_method(ua.NodeId(f"Press.{method}", self.idx)))

    def claim(self) -> None:
        assert self.write("Setpoint", 5.0)  # a session's first commanding write claims

    def drive(self) -> bool:
        return self.write("Setpoint", 6.0)

    def stop(self) -> bool:
        return self.call("Stop")

    def read(self, name: str) -> float:
        return float(self.node(name).read_value())

    def close(self) -> None:
        """Close the session (CloseSession), then the connection."""
        self.client.disconnect()

    def drop(self) -> None:
        """Lose the connection without closing the session (a cable pulled, a crash)."""
        transport = self.client.aio_obj.uaclient.protocol.transport
        self.client.tloop.loop.call_soon_threadsafe(transport.abort)
        with suppress(Exception):  # the session is gone with the socket: nothing to close
            self.client.disconnect()

    @staticmethod
    def _answer(request: Callable[[], Any]) -> bool:
        try:
            request()
        except ua.uaerrors.BadUserAccessDenied:
            return False
        return True


@dataclass
class UaServer:
    """The served press and its OPC UA endpoint."""

    name: str
    handle: Any

    @property
    def endpoint(self) -> str:
        return str(self.handle.endpoints["opcua"])

    @property
    def lease(self) -> Any:
        return self.handle.lease

    def connections(self) -> int:
        return int(self.handle.opcua_lease.connections)

    def open(self) -> UaMaster:
        return UaMaster(self.endpoint)


@contextmanager
def opcua(limits: WireLimits | None = None, press: Any = SIM) -> Iterator[UaServer]:
    """``presshil serve --profile opcua-press --opcua 127.0.0.1:0`` (``limits`` are the
    Modbus servers': the OPC UA endpoint's connections are asyncua's own)."""
    from presshil.profiles.server import start_profile_server

    with start_profile_server(press, "opcua-press", opcua="127.0.0.1:0") as h:
        yield UaServer("opcua", h)
