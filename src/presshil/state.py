"""What a press reports: status bits, fault codes, one sample, its identity and ratings.

Plain values shared by every binding, the sampler and the runner; no behaviour beyond
describing themselves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(enum.IntFlag):
    """Status bits, identical to input register 0 of the Modbus map v1."""

    READY = 1 << 0
    REGULATING = 1 << 1
    AT_SETPOINT = 1 << 2
    RAMPING = 1 << 3
    RELEASED = 1 << 4
    FAULT = 1 << 8
    ESTOP = 1 << 9
    WATCHDOG_TRIPPED = 1 << 10
    OVERPRESSURE = 1 << 11

    @classmethod
    def describe(cls, bits: int) -> str:
        """Readable names of the bits set in ``bits`` (``"READY|REGULATING"``)."""
        names = [m.name for m in cls if bits & m.value and m.name]
        return "|".join(names) if names else "0"


SAFE_STOP_BITS = Status.FAULT | Status.ESTOP | Status.WATCHDOG_TRIPPED | Status.OVERPRESSURE


class FaultCode(enum.IntEnum):
    """Fault codes reported in input register 1 (0 = none)."""

    NONE = 0
    OVERPRESSURE = 1
    WATCHDOG = 2
    ESTOP = 3
    SENSOR = 4
    RATE_LIMIT = 5
    ACTUATOR = 6
    CONTROLLER = 7


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the press's state.

    ``t_s`` is device time; ``counter`` advances with every firmware sample (a counter that
    stops advancing means stale data).
    """

    t_s: float
    counter: int
    status: int
    fault_code: int
    setpoint_mpa: float
    pressure_mpa: float
    force_kn: float
    position_mm: float
    channels_kn: tuple[float, ...]
    #: press-room (or load-cell) temperature in °C, when the press reports one
    temperature_c: float | None = None
    #: when the device measured it, on the device's own clock (POSIX seconds; OPC UA's
    #: SourceTimestamp), and when the host received it, on the press clock: the sampler places
    #: the sample by them on a press with ``Capabilities.source_time``
    source_time_s: float | None = None
    received_s: float | None = None

    @property
    def faulted(self) -> bool:
        """True when any latched safe-state bit is set."""
        return bool(self.status & SAFE_STOP_BITS)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the press is and what it is rated for."""

    vendor: str
    model: str
    serial: str
    firmware: str
    rated_max_pressure_mpa: float
    rated_max_force_kn: float
    channel_count: int
    #: load-cell positions (x, y) in mm as mounted, from the press axis, one per channel (a
    #: protocol declares where the die sits in this frame)
    channel_positions_mm: tuple[tuple[float, float], ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.vendor} {self.model} (s/n {self.serial}, firmware {self.firmware})"


def fault_text(sample: Sample) -> str:
    """``OVERPRESSURE (status FAULT|OVERPRESSURE)`` for a sample's latched fault."""
    try:
        name = FaultCode(sample.fault_code).name
    except ValueError:
        name = f"code {sample.fault_code}"
    return f"{name} (status {Status.describe(sample.status)})"


__all__ = ["SAFE_STOP_BITS", "FaultCode", "Identity", "Sample", "Status", "fault_text"]
