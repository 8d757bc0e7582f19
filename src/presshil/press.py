"""The Press contract: what every press binding (simulated, Modbus, serial) offers.

The runner, the pytest fixtures and the acceptance suites speak only this contract; they
never know which press they drive.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from .clock import Clock
from .errors import CapabilityError


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
    #: load-cell positions (x, y) in mm relative to the die centre, one per channel
    channel_positions_mm: tuple[tuple[float, float], ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.vendor} {self.model} (s/n {self.serial}, firmware {self.firmware})"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a press can provide. Criteria that need a missing capability are reported as
    "not judged on this press: …", never passed silently."""

    #: a controller regulates to a setpoint (False: monitor-only, an operator does it)
    regulates: bool = True
    #: per-channel (load-cell) forces
    channels: bool = True
    #: ram position
    positions: bool = True
    #: a device sample counter (False: staleness judged by value change, or not at all)
    counter: bool = True
    #: a communication watchdog the host can arm
    watchdog: bool = True
    #: a latched safe state on STOP
    latched_stop: bool = True

    def not_judged(self) -> tuple[str, ...]:
        """One line per capability the press lacks, saying what cannot be judged."""
        missing = {
            "regulates": "controller response (overshoot, settling): an operator drives this press",
            "channels": "force uniformity across load cells: the press reports a total force only",
            "positions": "ram position and displacement: the press reports no position",
            "counter": "sample-rate and stale-data checks by counter: the press has no sample counter",
            "watchdog": "communication watchdog: the press has none",
            "latched_stop": "latched safe state on STOP: the press cannot stop itself",
        }
        return tuple(text for name, text in missing.items() if not getattr(self, name))

    def why_not_judged(self, criterion: str) -> str | None:
        """Why a protocol's ``expect`` key cannot be judged on this press (None: it can).

        The runner reports such a criterion as "not judged on this press: …", never as a
        pass computed from a single total-force channel.
        """
        needs = CRITERIA_NEEDS.get(criterion)
        if needs is None or getattr(self, needs):
            return None
        return f"{criterion}: the press reports no per-channel forces"


#: expect keys that need a capability of the press
CRITERIA_NEEDS = {"max_nonuniformity_pct": "channels", "max_cv_pct": "channels", "max_cof_offset_mm": "channels"}


FULL_CAPABILITIES = Capabilities()


class Press(ABC):
    """A press the runner can drive.

    Bindings implement the abstract methods. ``clock`` is the clock the press runs on:
    virtual for a simulated press, :class:`~presshil.clock.WallClock` for a real one.
    """

    url: str = ""
    #: what the press can provide (bindings of limited devices override it)
    capabilities: Capabilities = FULL_CAPABILITIES

    @property
    @abstractmethod
    def identity(self) -> Identity:
        """Vendor, model, firmware and ratings."""

    @property
    @abstractmethod
    def clock(self) -> Clock:
        """The clock this press runs on."""

    @abstractmethod
    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Set the die area (pressure = force / area), soft pressure limit and watchdog."""

    @abstractmethod
    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """Regulate to ``setpoint_mpa``, ramping at ``rate_mpa_s``, then hold."""

    @abstractmethod
    def release(self, rate_mpa_s: float) -> None:
        """Ramp down to zero at ``rate_mpa_s`` and open."""

    @abstractmethod
    def stop(self) -> None:
        """Safe state now: stop applying force (latched until :meth:`reset`)."""

    @abstractmethod
    def reset(self) -> None:
        """Clear a latched fault so the press can be commanded again."""

    @abstractmethod
    def read(self) -> Sample:
        """The press's current state."""

    def heartbeat(self) -> None:  # noqa: B027 - optional for presses without a watchdog
        """Feed the press's communication watchdog."""

    def hold_gap(self) -> None:
        """Lock the ram at its present position; the pressure then follows the cell.

        Optional: a press without ram position control raises :class:`CapabilityError`.
        :meth:`command` or :meth:`release` leaves the constant gap.
        """
        raise CapabilityError(
            f"press {self.url or type(self).__name__}: this press cannot hold a constant gap "
            "(no ram position control); hold a constant pressure with command() instead"
        )

    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Sample:
        """One control cycle: command, then read. Bindings may do it in one round trip."""
        self.command(setpoint_mpa, rate_mpa_s)
        return self.read()

    def close(self) -> None:  # noqa: B027 - nothing to close by default
        """Release the connection; the press object is unusable afterwards."""

    def make_safe(
        self, *, die_area_mm2: float | None = None, unload_below_mpa: float = 0.3, timeout_s: float = 10.0
    ) -> None:
        """Leave the press idle and known: stop, wait until unloaded, reset, then configure
        (watchdog off, soft limit at the rating, and the die area if given).

        Waits on the press's own clock (bounded by ``timeout_s``), feeding the watchdog; used
        before and after every test and whenever a connection is reused.
        """
        clock = self.clock
        self.stop()
        end = clock.now() + timeout_s
        while clock.now() < end:
            self.heartbeat()
            if abs(self.read().pressure_mpa) < unload_below_mpa:
                break
            clock.sleep_until(clock.now() + 0.02)
        self.reset()
        self.configure(
            die_area_mm2=die_area_mm2, watchdog_ms=0, soft_max_mpa=self.identity.rated_max_pressure_mpa
        )

    def safe_state(self) -> None:
        """Best effort: stop the press, swallowing link errors (used in ``finally`` paths)."""
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - the link may be gone; safety must not raise
            pass

    def __enter__(self) -> Press:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Capabilities", "FULL_CAPABILITIES", "Status", "FaultCode", "Sample", "Identity", "Press", "SAFE_STOP_BITS"]
