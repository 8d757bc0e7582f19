"""Serve a virtual press on Modbus TCP, Modbus RTU and the line protocol, several at once.

All servers share one asyncio loop in a background thread and one :class:`VirtualPress`.
:func:`start_server` returns a :class:`ServerHandle` that says where it listens and stops it all::

    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0", modbus_rtu="pty") as server:
        press = presshil.open_press(server.urls["modbus_tcp"])
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from ..press import Press
from ..serving.faults import WireFaults
from ..serving.lease import ControlLease
from ..serving.loop import TCP_UNITS, ServerBase, parse_hostport
from ..serving.ports import ServedPort
from ..serving.rtu_server import RtuServer
from ..serving.tcp import WireLimits
from ..serving.tls import TlsConfig
from .line_server import LineServer
from .modbus_map import RegisterMap
from .virtual import VirtualPress

DEFAULT_TCP_PORT = 5020


class ServerHandle(ServerBase):
    """A running virtual press server: where it listens, its faults, how to stop it.

    The loop thread, start-up of the endpoints and :meth:`stop` are
    :class:`~presshil.serving.loop.ServerBase`'s (shared with the plant server).
    """

    def __init__(self, press: VirtualPress, baud: int) -> None:
        self.press = press
        super().__init__(baud)

    @property
    def faults(self) -> WireFaults:
        """The faults every server injects; change them at any time."""
        return self.press.faults

    @property
    def urls(self) -> dict[str, str]:
        """Press URLs a host opens, one per endpoint."""
        urls = {}
        if "modbus_tcp" in self.endpoints:
            urls["modbus_tcp"] = f"{self.tcp_scheme}://{self.endpoints['modbus_tcp']}?unit=1"
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
            return 0 if self._tcp is None else self._tcp.reset_all()

        return int(self._loop.run(_reset()))

    def _stop_model(self) -> None:
        self.press.stop()

    @property
    def lease(self) -> ControlLease:
        """The virtual press's control lease (shared by every wire)."""
        return self.press.lease

    # --- start-up, in the loop ------------------------------------------------------------
    def _port_server(
        self, kind: str, regmap: RegisterMap
    ) -> Callable[[ServedPort], RtuServer | LineServer]:
        """A factory of the server for a served port of ``kind`` (``modbus_rtu``/``serial``)."""

        def make(port: ServedPort) -> RtuServer | LineServer:
            if kind == "modbus_rtu":
                return self._rtu(port, regmap, self.press)
            return LineServer(port, self.press)

        return make


def start_server(
    press: VirtualPress | Press | str,
    *,
    modbus_tcp: str | None = None,
    modbus_rtu: str | None = None,
    serial: str | None = None,
    bind: str = "127.0.0.1",
    baud: int = 115200,
    faults: WireFaults | None = None,
    limits: WireLimits | None = None,
    tls: TlsConfig | None = None,
    read_only: bool = False,
) -> ServerHandle:
    """Start the model in real time and serve it; ``"pty"`` creates a pseudo-terminal.

    With no endpoint at all, Modbus TCP on ``bind``:5020. Port 0 picks a free port; the
    handle's :attr:`~ServerHandle.endpoints` say which. ``limits``: the TCP server's
    connection cap and timeouts; ``tls``: serve Modbus/TCP Security (mutual X.509) on the
    TCP endpoint; ``read_only``: refuse every write on every endpoint.
    """
    vp = press if isinstance(press, VirtualPress) else VirtualPress(press, faults=faults)
    if faults is not None:
        vp.faults = faults
    if not (modbus_tcp or modbus_rtu or serial):
        modbus_tcp = f"{bind}:{DEFAULT_TCP_PORT}"
    handle = ServerHandle(vp, baud)
    handle.limits = limits or handle.limits
    handle.tls = tls
    handle.read_only = read_only
    vp.read_only = read_only
    regmap = RegisterMap(vp)
    handle.identification = regmap.identification()  # what FC43 answers
    vp.warm_up()
    vp.start()
    steps: list[Callable[[], Coroutine[Any, Any, None]]] = []
    if modbus_tcp:
        tcp = modbus_tcp  # the address is parsed inside the guard: a bad one stops the handle
        steps.append(lambda: handle._start_tcp(regmap, *parse_hostport(tcp, bind)))
    for kind, spec in (("modbus_rtu", modbus_rtu), ("serial", serial)):
        if spec:
            steps.append(partial(handle._start_port, kind, spec, handle._port_server(kind, regmap)))
    handle._start_endpoints(steps)
    return handle


__all__ = ["DEFAULT_TCP_PORT", "TCP_UNITS", "ServerHandle", "parse_hostport", "start_server"]
