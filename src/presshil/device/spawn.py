"""Run the virtual press as a subprocess (``python3 -m presshil.device --json``).

For tests that need a real process: kill it mid-operation, send it SIGTERM, or keep the
server's threads from sharing the host's GIL in a benchmark. Start-up, signals and stopping
are :class:`presshil.serving.spawn.SpawnedBase`'s, shared with the plant server.
"""

from __future__ import annotations

from ..serving.spawn import SpawnedBase


class SpawnedServer(SpawnedBase):
    """A ``python3 -m presshil.device`` subprocess, started and waited for on creation."""

    what = "virtual press server"

    def __init__(
        self,
        press: str = "sim://",
        *,
        modbus_tcp: str | None = None,
        modbus_rtu: str | None = None,
        serial: str | None = None,
        extra_args: tuple[str, ...] = (),
        ready_timeout_s: float = 60.0,
    ) -> None:
        options = {"--modbus-tcp": modbus_tcp, "--modbus-rtu": modbus_rtu, "--serial": serial}
        self._spawn_module("presshil.device", press, options, ready_timeout_s, extra_args)
        #: as :attr:`ServerHandle.urls`
        self.urls: dict[str, str] = self.info["urls"]


__all__ = ["SpawnedServer"]
