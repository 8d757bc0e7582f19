"""The Press contract: what every press binding (simulated, Modbus, serial) offers.

The runner, the pytest fixtures and the acceptance suites speak only this contract; they
never know which press they drive.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod

from .clock import Clock
from .state import SAFE_STOP_BITS, FaultCode, Identity, Sample, Status


class Press(ABC):
    """A press the runner can drive.

    Bindings implement the abstract methods. ``clock`` is the clock the press runs on:
    virtual for a simulated press, :class:`~presshil.clock.WallClock` for a real one.
    """

    #: the URL the press was opened with; each binding sets it in its constructor
    url: str = ""

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

    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Sample:
        """One control cycle: command, then read. Bindings may do it in one round trip."""
        self.command(setpoint_mpa, rate_mpa_s)
        return self.read()

    def close(self) -> None:  # noqa: B027 - nothing to close by default
        """Release the connection; the press object is unusable afterwards."""

    def make_safe(
        self,
        *,
        die_area_mm2: float | None = None,
        unload_below_mpa: float = 0.3,
        timeout_s: float = 10.0,
    ) -> None:
        """Leave the press idle and known: stop, wait until unloaded, reset, then configure
        (the die area if given first, then the soft limit at the rating for that area, watchdog
        off).

        Waits on the press's own clock (bounded by ``timeout_s``), feeding the watchdog; used
        before and after every test and whenever a connection is reused.
        """
        from .sampler import bring_to_safe_state

        bring_to_safe_state(
            self, die_area_mm2=die_area_mm2, unload_below_mpa=unload_below_mpa, timeout_s=timeout_s
        )

    def safe_state(self) -> None:
        """Best effort: stop the press, swallowing link errors (used in ``finally`` paths)."""
        with contextlib.suppress(Exception):  # the link may be gone; safety must not raise
            self.stop()

    def __enter__(self) -> Press:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Status", "FaultCode", "Sample", "Identity", "Press", "SAFE_STOP_BITS"]
