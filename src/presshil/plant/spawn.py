"""Run the plant server as a subprocess (``python3 -m presshil.plant --json``).

A separate process keeps the plant's real-time thread from sharing the GIL with the host
that judges the firmware (the pytest process, the runner). Start-up, signals and stopping
are those of :class:`presshil.serving.spawn.SpawnedBase`.
"""

from __future__ import annotations

import json
from typing import Any

from ..serving.spawn import SpawnedBase


class SpawnedPlant(SpawnedBase):
    """A ``python3 -m presshil.plant`` subprocess, started and waited for on creation.

    :attr:`endpoints` says where it listens (``modbus_tcp``: ``HOST:PORT``, ``modbus_rtu``:
    a device path); after :meth:`stop`, :attr:`timing` holds the figures the plant printed
    on exit (latency, loop rate, real-time lag), or ``None``.
    """

    what = "plant server"

    def __init__(
        self,
        press: str = "sim://",
        *,
        modbus_tcp: str | None = "127.0.0.1:0",
        modbus_rtu: str | None = None,
        ready_timeout_s: float = 60.0,
        link_quiet_ms: float | None = None,
        rtu_gap_ms: float | None = None,
    ) -> None:
        options = {
            "--link-quiet-ms": link_quiet_ms,
            "--rtu-gap-ms": rtu_gap_ms,
            "--modbus-tcp": modbus_tcp,
            "--modbus-rtu": modbus_rtu,
        }
        self.timing: dict[str, Any] | None = None
        self._spawn_module("presshil.plant", press, options, ready_timeout_s)
        self.urls: dict[str, str] = {}

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM (SIGKILL if it does not exit in time); keep the timing it printed."""
        out = self._terminate_collect(timeout_s)
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith('{"timing"'):
                self.timing = json.loads(line)["timing"]
        return super().stop(timeout_s)


__all__ = ["SpawnedPlant"]
