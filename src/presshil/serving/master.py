"""Who is on the other end of a request: the master, as every server sees it.

Each server (Modbus TCP and TLS, Modbus RTU, the line protocol, OPC UA) sets :data:`current_master`
while it answers a request, so the device behind it (its lease, its role checks, its record
of who stopped it) knows who asked without the register map passing it along.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from enum import IntEnum


class Role(IntEnum):
    """What a master may do (from its TLS certificate, or :attr:`OPERATOR` without TLS)."""

    OBSERVER = 1  # read only
    OPERATOR = 2  # read and write


class Link(IntEnum):
    """The kind of wire a master is on (the ``*_kind`` lease registers)."""

    NONE = 0
    MODBUS_TCP = 1
    MODBUS_TLS = 2
    MODBUS_RTU = 3
    SERIAL_LINE = 4
    IN_PROCESS = 5
    OPC_UA = 6  # a session of the OPC UA endpoint (``name``: the session)


@dataclass(frozen=True)
class Master:
    """One master: its wire, its address (IPv4 host and port on TCP), role and name."""

    link: Link
    host: str = ""
    port: int = 0
    role: Role = Role.OPERATOR
    #: the certificate's subject common name on TLS, the device path on a serial port
    name: str = ""

    def __str__(self) -> str:
        where = f"{self.host}:{self.port}" if self.host else self.name
        who = f" ({self.name})" if self.host and self.name else ""
        return f"{self.link.name.lower().replace('_', ' ')} {where}{who}"

    def ipv4(self) -> int:
        """The IPv4 address as a 32-bit number (0 when not IPv4)."""
        parts = self.host.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
            return 0
        a, b, c, d = (int(p) for p in parts)
        return (a << 24) | (b << 16) | (c << 8) | d


#: a master in the same process (a test driving the press directly)
IN_PROCESS = Master(Link.IN_PROCESS, name="in-process")

#: the master whose request is being answered
current_master: contextvars.ContextVar[Master] = contextvars.ContextVar(
    "presshil_master", default=IN_PROCESS
)


__all__ = ["IN_PROCESS", "Link", "Master", "Role", "current_master"]
