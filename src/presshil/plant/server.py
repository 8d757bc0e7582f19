"""Serve the plant on Modbus TCP and Modbus RTU (a pty or a serial device), several at once.

The same machinery as the virtual press server (:mod:`presshil.device.server`), shared in
:class:`presshil.serving.loop.ServerBase`: one asyncio loop in a background thread,
pymodbus' TCP server, and the pty-capable RTU slave of :mod:`presshil.serving.rtu_server`;
only the register map, the model and the start-up order differ (the plant starts advancing
once it listens; the press warms up and runs before)::

    with start_plant_server("sim://?seed=1", modbus_tcp="127.0.0.1:0") as plant:
        print(plant.endpoints["modbus_tcp"])     # the firmware under test connects here
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from ..serving.faults import WireFaults
from ..serving.lease import ControlLease
from ..serving.loop import ServerBase, parse_hostport
from ..serving.ports import ServedPort
from ..serving.realtime import keep_time
from ..serving.rtu_server import RtuServer
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


class PlantServerHandle(ServerBase):
    """A running plant server: where it listens, its timing, how to stop it."""

    #: the plant has always shown its TCP endpoint as ``HOST:PORT`` unbracketed
    bracket_ipv6 = False

    def __init__(self, plant: PlantModel, baud: int, rtu_gap_ms: float | None = None) -> None:
        self.plant = plant
        self.rtu_gap_s = None if rtu_gap_ms is None else rtu_gap_ms * 1e-3
        self.driver = PlantDriver(plant)
        self.registers = PlantRegisters(self.driver)
        super().__init__(baud)

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

    def _stop_model(self) -> None:
        self.driver.stop()

    @property
    def lease(self) -> ControlLease:
        """The actuator's control lease."""
        return self.registers.lease

    def _rtu_server(self, port: ServedPort) -> RtuServer:
        return self._rtu(port, self.registers, _Wires(), gap_s=self.rtu_gap_s)


def start_plant_server(
    plant: PlantModel | str,
    *,
    modbus_tcp: str | None = None,
    modbus_rtu: str | None = None,
    bind: str = "127.0.0.1",
    baud: int = 115200,
    link_quiet_ms: float | None = None,
    own_process: bool = False,
    rtu_gap_ms: float | None = None,
) -> PlantServerHandle:
    """Start the plant in real time and serve it; ``modbus_rtu="pty"`` creates a pty.

    With no endpoint at all, Modbus TCP on ``bind``:5021. Port 0 picks a free port.
    ``link_quiet_ms``: drop the actuator to SAFE when no command came for that long.
    ``own_process``: this process serves only the plant (``presshil plant serve``): its
    start-up garbage is collected and frozen before real time starts
    (:func:`~presshil.serving.realtime.keep_time`), which a shared process must not do.
    ``rtu_gap_ms``: the silence that ends a partial RTU frame, instead of 3.5 characters
    (for an emulated MCU on a pty, whose bytes come when its host schedules it).
    """
    model = plant if isinstance(plant, PlantModel) else PlantModel(plant)
    if link_quiet_ms is not None:
        model.link_quiet_s = link_quiet_ms * 1e-3
    if not (modbus_tcp or modbus_rtu):
        modbus_tcp = f"{bind}:{DEFAULT_PLANT_PORT}"
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    handle = PlantServerHandle(model, baud, rtu_gap_ms)
    handle.identification = handle.registers.identification()
    steps: list[Callable[[], Coroutine[Any, Any, None]]] = []
    if modbus_tcp:
        tcp = modbus_tcp  # the address is parsed inside the guard: a bad one stops the handle
        steps.append(lambda: handle._start_tcp(handle.registers, *parse_hostport(tcp, bind)))
    if modbus_rtu:
        steps.append(partial(handle._start_port, "modbus_rtu", modbus_rtu, handle._rtu_server))
    handle._start_endpoints(steps)
    model.warm_up()  # first-use costs paid before the first sample is due
    if own_process:
        keep_time()  # the long-lived objects collected and frozen before real time starts
    handle.driver.start()
    return handle


__all__ = ["DEFAULT_PLANT_PORT", "PlantServerHandle", "start_plant_server"]
