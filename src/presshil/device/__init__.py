"""The virtual press: a simulated press run in real time behind real wires.

- :class:`VirtualPress` — the model advanced to wall-clock time, with map v1's rules;
- :func:`start_server` / :class:`ServerHandle` — Modbus TCP, Modbus RTU and the line protocol,
  several at once, in-process;
- :class:`SpawnedServer` — the same as a ``python3 -m presshil.device`` subprocess;

The body of ``presshil serve`` is :func:`presshil.device.serve.serve_main` (a command).
"""

from __future__ import annotations

from ..serving.faults import WireFaults
from .rules import Refused
from .server import ServerHandle, start_server
from .spawn import SpawnedServer
from .virtual import VirtualPress

__all__ = [
    "Refused",
    "ServerHandle",
    "SpawnedServer",
    "VirtualPress",
    "WireFaults",
    "start_server",
]
