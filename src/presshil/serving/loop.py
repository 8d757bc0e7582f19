"""The server side both servers share: an asyncio loop thread, Modbus TCP and served ports.

:class:`ServerBase` is what a running server handle is made of, whatever it serves: one
asyncio loop in a daemon thread (:class:`~presshil.loop_thread.LoopThread`), a Modbus TCP server (plain or TLS)
over pymodbus' datastore (:class:`~presshil.serving.tcp.ModbusTcpService`), serial-port
servers (RTU, line protocol) on :class:`~presshil.serving.ports.ServedPort`\\ s, the
``endpoints`` it listens on, and an idempotent :meth:`~ServerBase.stop`. The virtual
press (:class:`presshil.device.server.ServerHandle`) and the plant
(:class:`presshil.plant.server.PlantServerHandle`) add their model, register map and what
they report.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Protocol, Self

from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.simulator import SimDevice
from pymodbus.simulator.simcore import SimCore

from ..errors import ConfigError
from ..loop_thread import LoopThread
from .lease import ControlLease
from .master import Master
from .port_server import PortServer
from .ports import ServedPort, open_served_port
from .rtu_server import RtuServer
from .tcp import SERVED, ModbusTcpService, WireLimits
from .tls import TlsConfig, role_of_certificate

#: unit ids a Modbus TCP request may carry: the map's device id, and 255 ("this device")
TCP_UNITS = frozenset({1, 255})
#: longest wait for one start-up step of a server (binding a port, an OPC UA address space)
STARTUP_TIMEOUT_S = 60.0
#: the port shown in the example of a bad ``--modbus-tcp`` message
_EXAMPLE_PORT = 5020


def parse_hostport(spec: str, bind: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host defaults to ``bind``)."""
    host, _, port = spec.rpartition(":") if ":" in spec else ("", "", spec)
    try:
        number = int(port)
    except ValueError:
        raise ConfigError(
            f"--modbus-tcp {spec!r}: expected HOST:PORT, e.g. 127.0.0.1:{_EXAMPLE_PORT}"
        ) from None
    if not 0 <= number <= 65535:
        raise ConfigError(f"--modbus-tcp {spec!r}: port must be 0..65535")
    return (host.strip("[]") or bind), number


class RegisterDevice(Protocol):
    """A register map as the TCP server needs it."""

    def simdevice(self) -> SimDevice: ...

    def identification(self) -> ModbusDeviceIdentification: ...


class ServerBase:
    """Loop thread, endpoints and shutdown of a running server; subclasses add the model."""

    #: show an IPv6 TCP host in brackets in :attr:`endpoints` (``[::1]:5020``)
    bracket_ipv6 = True

    def __init__(self, baud: int) -> None:
        self.baud = baud
        #: ``modbus_tcp`` -> ``"HOST:PORT"``, served ports (``modbus_rtu``, …) -> device path
        self.endpoints: dict[str, str] = {}
        self._loop = LoopThread()
        self._tcp: ModbusTcpService | None = None
        #: connection cap, idle timeout, log interval of the TCP server
        self.limits = WireLimits()
        #: serve Modbus/TCP Security (TLS, mutual X.509) instead of plain TCP
        self.tls: TlsConfig | None = None
        #: refuse every write (exception 01)
        self.read_only = False
        #: what this server answers to FC43/14 (read device identification)
        self.identification: ModbusDeviceIdentification | None = None
        self._servers: list[PortServer[Any]] = []
        self._ports: list[ServedPort] = []
        self._stopped = False

    @property
    def tcp_scheme(self) -> str:
        """The scheme of the TCP endpoint's press URL: ``modbus+tls`` when served over TLS
        (a ``modbus+tcp://`` URL to a TLS port only ever gets EOF)."""
        return "modbus+tls" if self.tls is not None else "modbus+tcp"

    @property
    def lease(self) -> ControlLease | None:
        """The control lease of the served device (None: it has none)."""
        return None

    def _disconnected(self, master: Master) -> None:
        """A TCP master's connection ended: an implicit lease it held ends with it."""
        if self.lease is not None:
            self.lease.disconnected(master)

    def _stop_model(self) -> None:
        """Stop the model once the servers are down (subclasses)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop every server, close the ports, stop the model (idempotent)."""
        if self._stopped:
            return
        self._stopped = True

        async def _shutdown() -> None:
            for server in self._servers:
                server.close()
            if self._tcp is not None:
                closing = self._tcp.close()  # ours is a coroutine, pymodbus's server is not
                if inspect.isawaitable(closing):
                    await closing

        try:
            self._loop.run(_shutdown(), timeout_s=5.0)
        finally:
            self._loop.close()
            for port in self._ports:
                port.close()
            self._stop_model()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- start-up -------------------------------------------------------------------------
    def _start_endpoints(self, steps: Iterable[Callable[[], Coroutine[Any, Any, None]]]) -> None:
        """Run each start-up step in the loop, in order; on any failure stop all and re-raise.

        A step is called (so it may parse its address and raise) inside the guard.
        """
        try:
            for step in steps:
                # an OPC UA server builds its standard address space as it starts: seconds of
                # CPU, many more on a loaded machine; a start-up step is not a request
                self._loop.run(step(), timeout_s=STARTUP_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    async def _start_tcp(
        self,
        regs: RegisterDevice | Any,
        host: str,
        port: int,
        functions: frozenset[int] = SERVED,
    ) -> None:
        """Listen for Modbus TCP (TLS when :attr:`tls` is set) on ``host``:``port`` (loop).

        ``regs``: a register map (served through pymodbus' ``SimCore`` of its ``simdevice()``)
        or a datastore of its own (``async_getValues``/``async_setValues``).
        """
        datastore = SimCore(regs.simdevice()) if hasattr(regs, "simdevice") else regs
        server = ModbusTcpService(
            datastore,
            functions=functions,
            units=TCP_UNITS,
            limits=self.limits,
            tls=self.tls.server_context() if self.tls is not None else None,
            role_of=role_of_certificate,
            read_only=self.read_only,
            on_disconnect=self._disconnected,
            identity=self.identification,
            lease=self.lease,
        )
        try:
            _, bound = await server.start(host, port)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen for Modbus TCP on {host}:{port} ({exc.strerror or exc})"
            ) from None
        self._tcp = server
        shown = f"[{host}]" if self.bracket_ipv6 and ":" in host else host
        self.endpoints["modbus_tcp"] = f"{shown}:{bound}"

    def _rtu(
        self, port: ServedPort, regs: RegisterDevice | Any, device: Any, gap_s: float | None = None
    ) -> RtuServer:
        """A Modbus RTU server on ``port`` for ``regs`` (a register map or a datastore, as
        :meth:`_start_tcp`), answering FC43 with this server's identity; ``device``: what has
        the wire faults (``device.faults``); ``gap_s``: the silence that ends a partial frame."""
        datastore: Any = SimCore(regs.simdevice()) if hasattr(regs, "simdevice") else regs
        return RtuServer(
            port, datastore, device, baud=self.baud, identity=self.identification, gap_s=gap_s
        )

    async def _start_port(
        self, kind: str, spec: str, make: Callable[[ServedPort], PortServer[Any]]
    ) -> None:
        """Open ``spec`` (``"pty"`` or a device) and serve it with ``make(port)`` (in the loop)."""
        port = open_served_port(spec, self.baud)
        self._ports.append(port)
        server = make(port)
        server.start(asyncio.get_running_loop())
        self._servers.append(server)
        self.endpoints[kind] = port.path


__all__ = [
    "TCP_UNITS",
    "RegisterDevice",
    "ServerBase",
    "parse_hostport",
]
