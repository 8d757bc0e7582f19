"""Machinery shared by the two real-time servers: ``presshil serve`` and ``presshil plant serve``.

- :mod:`.realtime` — the thread that advances a model to wall-clock time;
- :mod:`.loop` — the asyncio loop thread, Modbus TCP and served-port start-up, shutdown;
- :mod:`.modbus` — function codes and the pymodbus ``SimDevice`` built from a register layout;
- :mod:`.ports` / :mod:`.port_server` — served serial ports (pty or device) and the
  reader/queue/worker lifecycle of the RTU and line-protocol servers on them;
- :mod:`.process` — a child process that announces itself with a ready line on stdout;
- :mod:`.main` — the body of a ``serve`` command: signals, the wait, exit codes.

The register-table machinery both maps share is in :mod:`presshil.maps`.

The two servers differ in their model, register map and timing policy; those stay in
:mod:`presshil.device` and :mod:`presshil.plant`.
"""

from __future__ import annotations

__all__: list[str] = []
