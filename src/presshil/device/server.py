"""Serve a virtual press on Modbus TCP, Modbus RTU and the line protocol, several at once.

All servers share one asyncio loop in a background thread and one :class:`VirtualPress`.
:func:`start_server` returns a :class:`ServerHandle` that says where it listens and stops it all::

    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0", modbus_rtu="pty") as server:
        press = presshil.open_press(server.urls["modbus_tcp"])
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, Self

from pymodbus.exceptions import NoSuchIdException
from pymodbus.pdu.device import ModbusControlBlock
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator.simcore import SimCore

from ..errors import ConfigError
from ..press import Press
from .faults import WireFaults
from .line_server import LineServer
from .modbus_map import RegisterMap
from .ports import ServedPort, open_served_port
from .rtu_server import RtuServer
from .virtual import VirtualPress

DEFAULT_TCP_PORT = 5020
#: unit ids a Modbus TCP request may carry: the map's device id, and 255 ("this device")
TCP_UNITS = frozenset({1, 255})


class _UnitFilter:
    """The datastore seen by the TCP server: unknown unit ids get exception 0x0B."""

    def __init__(self, core: SimCore) -> None:
        self.core = core

    def device_ids(self) -> list[int]:
        """The one device behind this server."""
        return [1]

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> Any:
        """Read through to the device, for a unit id it answers to."""
        self._check(device_id)
        return await self.core.async_getValues(1, func_code, address, count)

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: Any
    ) -> Any:
        """Write through to the device, for a unit id it answers to."""
        self._check(device_id)
        return await self.core.async_setValues(1, func_code, address, values)

    @staticmethod
    def _check(device_id: int) -> None:
        if device_id not in TCP_UNITS:
            raise NoSuchIdException(f"unit {device_id}")


class _LoopThread:
    """An asyncio loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="presshil-device", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout_s: float = 10.0) -> Any:
        """Run ``coro`` in the loop and wait (bounded) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5.0)
        if not self.thread.is_alive():
            self.loop.close()


def parse_hostport(spec: str, bind: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host defaults to ``bind``)."""
    host, _, port = spec.rpartition(":") if ":" in spec else ("", "", spec)
    try:
        number = int(port)
    except ValueError:
        raise ConfigError(
            f"--modbus-tcp {spec!r}: expected HOST:PORT, e.g. 127.0.0.1:{DEFAULT_TCP_PORT}"
        ) from None
    if not 0 <= number <= 65535:
        raise ConfigError(f"--modbus-tcp {spec!r}: port must be 0..65535")
    return (host.strip("[]") or bind), number


class ServerHandle:
    """A running virtual press server: where it listens, its faults, how to stop it."""

    def __init__(self, press: VirtualPress, baud: int) -> None:
        self.press = press
        self.baud = baud
        #: ``modbus_tcp`` -> ``"HOST:PORT"``, ``modbus_rtu``/``serial`` -> device path
        self.endpoints: dict[str, str] = {}
        self._loop = _LoopThread()
        self._tcp: ModbusTcpServer | None = None
        self._servers: list[RtuServer | LineServer] = []
        self._ports: list[ServedPort] = []
        self._stopped = False

    @property
    def faults(self) -> WireFaults:
        """The faults every server injects; change them at any time."""
        return self.press.faults

    @property
    def urls(self) -> dict[str, str]:
        """Press URLs a host opens, one per endpoint."""
        urls = {}
        if "modbus_tcp" in self.endpoints:
            urls["modbus_tcp"] = f"modbus+tcp://{self.endpoints['modbus_tcp']}?unit=1"
        if "modbus_rtu" in self.endpoints:
            urls["modbus_rtu"] = (
                f"modbus+rtu://{self.endpoints['modbus_rtu']}?baud={self.baud}&unit=1"
            )
        if "serial" in self.endpoints:
            urls["serial"] = f"serial://{self.endpoints['serial']}?baud={self.baud}"
        return urls

    @property
    def failed(self) -> BaseException | None:
        """The error that stopped the press model, if any."""
        return self.press.driver.error

    def info(self) -> dict[str, Any]:
        """What ``serve_main`` reports when ready (JSON-serialisable)."""
        return {
            "press": self.press.url,
            "identity": str(self.press.identity),
            "endpoints": dict(self.endpoints),
            "urls": self.urls,
        }

    def reset_connections(self) -> int:
        """Abort every Modbus TCP connection with a reset (RST); returns how many."""

        async def _reset() -> int:
            if self._tcp is None:
                return 0
            conns = list(self._tcp.active_connections.values())
            for conn in conns:
                transport = conn.transport
                if not isinstance(transport, asyncio.Transport):
                    continue
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            return len(conns)

        return int(self._loop.run(_reset()))

    def stop(self) -> None:
        """Stop every server, close the ports, stop the model (idempotent)."""
        if self._stopped:
            return
        self._stopped = True

        async def _shutdown() -> None:
            for server in self._servers:
                server.close()
            if self._tcp is not None:
                await self._tcp.shutdown()

        try:
            self._loop.run(_shutdown(), timeout_s=5.0)
        finally:
            self._loop.close()
            for port in self._ports:
                port.close()
            self.press.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- start-up, in the loop ------------------------------------------------------------
    async def _start_tcp(self, regmap: RegisterMap, host: str, port: int) -> None:
        server = ModbusTcpServer(
            regmap.simdevice(), address=(host, port), identity=regmap.identification()
        )
        assert isinstance(server.context, SimCore)
        server.context = _UnitFilter(server.context)  # type: ignore[assignment]
        try:
            await server.serve_forever(background=True)
        except RuntimeError:
            raise ConfigError(
                f"cannot listen for Modbus TCP on {host}:{port} (address in use or not local)"
            ) from None
        self._tcp = server
        sockname = server.transport.sockets[0].getsockname()  # type: ignore[attr-defined]
        shown = f"[{host}]" if ":" in host else host
        self.endpoints["modbus_tcp"] = f"{shown}:{sockname[1]}"

    async def _start_port(self, kind: str, spec: str, regmap: RegisterMap) -> None:
        port = open_served_port(spec, self.baud)
        self._ports.append(port)
        loop = asyncio.get_running_loop()
        if kind == "modbus_rtu":
            server: RtuServer | LineServer = RtuServer(
                port, SimCore(regmap.simdevice()), self.press, baud=self.baud
            )
        else:
            server = LineServer(port, self.press)
        server.start(loop)
        self._servers.append(server)
        self.endpoints[kind] = port.path


def start_server(
    press: VirtualPress | Press | str,
    *,
    modbus_tcp: str | None = None,
    modbus_rtu: str | None = None,
    serial: str | None = None,
    bind: str = "127.0.0.1",
    baud: int = 115200,
    faults: WireFaults | None = None,
) -> ServerHandle:
    """Start the model in real time and serve it; ``"pty"`` creates a pseudo-terminal.

    With no endpoint at all, Modbus TCP on ``bind``:5020. Port 0 picks a free port; the
    handle's :attr:`~ServerHandle.endpoints` say which.
    """
    vp = press if isinstance(press, VirtualPress) else VirtualPress(press, faults=faults)
    if faults is not None:
        vp.faults = faults
    if not (modbus_tcp or modbus_rtu or serial):
        modbus_tcp = f"{bind}:{DEFAULT_TCP_PORT}"
    handle = ServerHandle(vp, baud)
    regmap = RegisterMap(vp)
    # FC43 identity lives in pymodbus' process-wide control block
    ModbusControlBlock().Identity.update(regmap.identification())
    vp.warm_up()
    vp.start()
    try:
        if modbus_tcp:
            host, port = parse_hostport(modbus_tcp, bind)
            handle._loop.run(handle._start_tcp(regmap, host, port))
        if modbus_rtu:
            handle._loop.run(handle._start_port("modbus_rtu", modbus_rtu, regmap))
        if serial:
            handle._loop.run(handle._start_port("serial", serial, regmap))
    except BaseException:
        handle.stop()
        raise
    return handle


__all__ = ["start_server", "ServerHandle", "parse_hostport", "DEFAULT_TCP_PORT", "TCP_UNITS"]
