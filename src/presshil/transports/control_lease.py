"""The host's side of the control lease, over an open :class:`ModbusPress` link.

A run claims the lease before it starts (:func:`claim_lease`; refused with
:class:`LeaseHeld` naming the holder when another master controls the press), reads who
stopped the press when it stops unexpectedly (:func:`read_lease`), and checks with a
:class:`LeaseWatch` that nobody changed the setpoint or the limits behind its back. The
server side and the registers are :mod:`presshil.serving.lease` and input registers
150..159 / holding register 12 of the register map.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import DeviceFault
from ..maps.press_v1 import (
    LEASE_BASE,
    LEASE_LINKS,
    LEASE_TOKEN_ADDRESS,
    Space,
    decode,
)
from .modbus import ModbusPress

_LEASE_COUNT = 10
_CONFIG = ("setpoint", "ramp_rate", "soft_max_pressure", "watchdog_timeout", "die_area")


@dataclass(frozen=True)
class MasterInfo:
    """A master as the press records it: its link, and its IPv4 address and TCP port."""

    link: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.link} {self.host}:{self.port}" if self.host else self.link


@dataclass(frozen=True)
class LeaseStatus:
    """Input registers 150..159."""

    holder: MasterInfo | None
    last_stop: MasterInfo | None
    config_generation: int
    refusals: int


class LeaseHeld(DeviceFault):
    """Another master controls the press: a run must not start (or go on)."""


class ControlLost(DeviceFault):
    """The press changed behind the run's back: lease lost, setpoint or limits changed."""


def _master(link: int, ipv4: int, port: int) -> MasterInfo | None:
    if link == 0:
        return None
    host = str(ipaddress.IPv4Address(ipv4)) if ipv4 else ""
    return MasterInfo(LEASE_LINKS.get(link, f"link {link}"), host, port)


def read_lease(press: ModbusPress) -> LeaseStatus:
    """Who holds the lease, who last stopped the press, and the change counters."""
    rsp = press._link.call(
        f"read the control lease (FC04 input {LEASE_BASE}..{LEASE_BASE + _LEASE_COUNT - 1})",
        lambda c: c.read_input_registers(LEASE_BASE, count=_LEASE_COUNT, device_id=press._unit),
    )
    v = decode(Space.INPUT, LEASE_BASE, rsp.registers)
    return LeaseStatus(
        holder=_master(
            int(v["lease_holder_link"]), int(v["lease_holder_ipv4"]), int(v["lease_holder_port"])
        ),
        last_stop=_master(
            int(v["last_stop_link"]), int(v["last_stop_ipv4"]), int(v["last_stop_port"])
        ),
        config_generation=int(v["config_generation"]),
        refusals=int(v["lease_refusals"]),
    )


def local_endpoint(press: ModbusPress) -> tuple[str, int] | None:
    """This host's address and port on the press's TCP link (None on RTU)."""
    sock = getattr(press._link.client, "socket", None)
    if sock is None or not hasattr(sock, "getsockname"):  # RTU: a serial port
        return None
    host, port = sock.getsockname()[:2]
    return str(host), int(port)


def holds_lease(press: ModbusPress, status: LeaseStatus | None = None) -> bool:
    """Whether this link is the lease holder."""
    status = status or read_lease(press)
    if status.holder is None:
        return False
    here = local_endpoint(press)
    if here is None:  # a serial line has one master: the holder is this link if it is RTU
        return status.holder.link == LEASE_LINKS[3] and not status.holder.host
    return (status.holder.host, status.holder.port) == here


def claim_lease(press: ModbusPress, token: int | None = None) -> int:
    """Claim the press with a session ``token`` (a random one by default); the token.

    Raises :class:`LeaseHeld` naming the holder when another master controls the press.
    Claiming again with the same token after a reconnect takes the lease back.
    """
    token = token if token is not None else secrets.randbelow(0xFFFF) + 1
    if not 1 <= token <= 0xFFFF:
        raise ValueError(f"lease token {token} outside 1..65535")
    try:
        press._link.call(
            f"claim the control lease (FC06 holding {LEASE_TOKEN_ADDRESS})",
            lambda c: c.write_register(LEASE_TOKEN_ADDRESS, token, device_id=press._unit),
        )
    except DeviceFault as exc:
        if exc.code != 1:
            raise
        holder = read_lease(press).holder
        raise LeaseHeld(
            f"{press.url}: another master controls this press ({holder or 'unknown'}); "
            "it may be read, not driven",
            code=1,
        ) from None
    return token


def release_lease(press: ModbusPress) -> None:
    """Give the lease up (token 0)."""
    press._link.call(
        f"release the control lease (FC06 holding {LEASE_TOKEN_ADDRESS} = 0)",
        lambda c: c.write_register(LEASE_TOKEN_ADDRESS, 0, device_id=press._unit),
    )


class LeaseWatch:
    """Checks, between steps, that the press is still this run's.

    ``expect(**values)`` records what the run itself wrote (holding-register names:
    ``setpoint``, ``ramp_rate``, ``soft_max_pressure``, ``watchdog_timeout``, ``die_area``);
    :meth:`check` raises :class:`ControlLost` saying what changed and, for a stop, who
    stopped the press.
    """

    def __init__(self, press: ModbusPress, token: int | None = None) -> None:
        self.press = press
        #: the run's session token: after this link reconnected (a reply timeout on a loaded
        #: machine), the lease still names the old connection; the token takes it back
        self.token = token
        self.expected: dict[str, float] = {}
        self._stop_seen = read_lease(press).last_stop

    def expect(self, **values: float) -> None:
        """Record values the run wrote itself."""
        unknown = set(values) - set(_CONFIG)
        if unknown:
            raise ValueError(f"not a watched holding register: {sorted(unknown)}")
        self.expected.update(values)

    def check(self) -> LeaseStatus:
        """The lease status; :class:`ControlLost` if the press is no longer this run's."""
        status = read_lease(self.press)
        url = self.press.url
        stopper = status.last_stop
        if (
            stopper is not None
            and stopper != self._stop_seen
            and local_endpoint(self.press) != (stopper.host, stopper.port)
        ):
            raise ControlLost(f"{url}: the press was stopped by {stopper}", code=1)
        if not holds_lease(self.press, status) and self.token is not None:
            try:  # this run's own earlier connection, or another master: the token decides
                claim_lease(self.press, self.token)
            except LeaseHeld:
                pass
            else:
                status = read_lease(self.press)
        if not holds_lease(self.press, status):
            raise ControlLost(
                f"{url}: the control lease is now held by {status.holder or 'nobody'}", code=1
            )
        if self.expected:
            rsp = self.press._link.call(
                "read setpoint and limits (FC03 holding 2..11)",
                lambda c: c.read_holding_registers(2, count=10, device_id=self.press._unit),
            )
            now = decode(Space.HOLDING, 2, rsp.registers)
            changed = _changed(self.expected, now)
            if changed:
                raise ControlLost(
                    f"{url}: changed behind this run's back: {', '.join(changed)}", code=1
                )
        return status


def _changed(expected: Mapping[str, float], now: Mapping[str, float | int]) -> list[str]:
    out = []
    for name, value in expected.items():
        got = float(now[name])
        if abs(got - value) > 1e-6 * max(1.0, abs(value)):  # f32 on the wire
            out.append(f"{name} {value:g} → {got:g}")
    return out


__all__ = [
    "ControlLost",
    "LeaseHeld",
    "LeaseStatus",
    "LeaseWatch",
    "MasterInfo",
    "claim_lease",
    "holds_lease",
    "local_endpoint",
    "read_lease",
    "release_lease",
]
