"""Serve the plant on Modbus TCP and Modbus RTU (a pty or a serial device), several at once.

The same machinery as the virtual press server (:mod:`presshil.device.server`): one asyncio
loop in a background thread, pymodbus' TCP server, and the pty-capable RTU slave of
:mod:`presshil.device.rtu_server`; only the register map and the model differ::

    with start_plant_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as plant:
        print(plant.endpoints["modbus_tcp"])     # the firmware under test connects here
"""

from __future__ import annotations

import sys
from typing import Any, Self

from pymodbus.pdu.device import ModbusControlBlock
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator.simcore import SimCore

from ..device.faults import WireFaults
from ..device.ports import ServedPort, open_served_port
from ..device.rtu_server import RtuServer
from ..device.server import _LoopThread, _UnitFilter, parse_hostport
from ..errors import ConfigError
from .modbus_map import PlantRegisters
from .model import PlantModel
from .realtime import PlantDriver

DEFAULT_PLANT_PORT = 5021
#: the GIL is handed between the plant thread and the server thread at least this often
SWITCH_INTERVAL_S = 0.0002


class _Wires:
    """What :class:`RtuServer` asks of the device it serves: the faults on its wires."""

    def __init__(self) -> None:
        self.faults = WireFaults()


class PlantServerHandle:
    """A running plant server: where it listens, its timing, how to stop it."""

    def __init__(self, plant: PlantModel, baud: int) -> None:
        self.plant = plant
        self.baud = baud
        self.driver = PlantDriver(plant)
        self.registers = PlantRegisters(self.driver)
        #: ``modbus_tcp`` -> ``"HOST:PORT"``, ``modbus_rtu`` -> device path
        self.endpoints: dict[str, str] = {}
        self._loop = _LoopThread()
        self._tcp: ModbusTcpServer | None = None
        self._rtu: list[RtuServer] = []
        self._ports: list[ServedPort] = []
        self._stopped = False

    @property
    def failed(self) -> BaseException | None:
        """The error that stopped the plant model, if any."""
        return self.driver.error

    def info(self) -> dict[str, Any]:
        """What the server reports when ready (JSON-serialisable)."""
        return {
            "plant": self.plant.url,
            "model": self.plant.model.press_cfg.identity.model,
            "endpoints": dict(self.endpoints),
            "baud": self.baud,
        }

    def timing(self) -> dict[str, object]:
        """Latency, loop rate and real-time lag figures so far."""
        return self.driver.timing.summary()

    def stop(self) -> None:
        """Stop the servers, close the ports, stop the plant (idempotent)."""
        if self._stopped:
            return
        self._stopped = True

        async def _shutdown() -> None:
            for server in self._rtu:
                server.close()
            if self._tcp is not None:
                await self._tcp.shutdown()

        try:
            self._loop.run(_shutdown(), timeout_s=5.0)
        finally:
            self._loop.close()
            for port in self._ports:
                port.close()
            self.driver.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start_tcp(self, host: str, port: int) -> None:
        server = ModbusTcpServer(
            self.registers.simdevice(),
            address=(host, port),
            identity=self.registers.identification(),
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
        self.endpoints["modbus_tcp"] = f"{host}:{sockname[1]}"

    async def _start_rtu(self, spec: str) -> None:
        import asyncio

        port = open_served_port(spec, self.baud)
        self._ports.append(port)
        server = RtuServer(
            port,
            SimCore(self.registers.simdevice()),
            _Wires(),
            baud=self.baud,  # type: ignore[arg-type]
        )
        server.start(asyncio.get_running_loop())
        self._rtu.append(server)
        self.endpoints["modbus_rtu"] = port.path


def start_plant_server(
    plant: PlantModel | str,
    *,
    modbus_tcp: str | None = None,
    modbus_rtu: str | None = None,
    bind: str = "127.0.0.1",
    baud: int = 115200,
) -> PlantServerHandle:
    """Start the plant in real time and serve it; ``modbus_rtu="pty"`` creates a pty.

    With no endpoint at all, Modbus TCP on ``bind``:5021. Port 0 picks a free port.
    """
    model = plant if isinstance(plant, PlantModel) else PlantModel(plant)
    if not (modbus_tcp or modbus_rtu):
        modbus_tcp = f"{bind}:{DEFAULT_PLANT_PORT}"
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    handle = PlantServerHandle(model, baud)
    ModbusControlBlock().Identity.update(handle.registers.identification())
    try:
        if modbus_tcp:
            host, port = parse_hostport(modbus_tcp, bind)
            handle._loop.run(handle._start_tcp(host, port))
        if modbus_rtu:
            handle._loop.run(handle._start_rtu(modbus_rtu))
    except BaseException:
        handle.stop()
        raise
    handle.driver.start()
    return handle


__all__ = ["DEFAULT_PLANT_PORT", "PlantServerHandle", "start_plant_server"]
