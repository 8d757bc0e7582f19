"""The Press contract: what every press binding (simulated, Modbus, serial) offers.

The runner, the pytest fixtures and the acceptance suites speak only this contract; they
never know which press they drive.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .clock import Clock
from .control import PressConfig, check_policy
from .errors import CapabilityError
from .state import SAFE_STOP_BITS, FaultCode, Identity, Sample, Status

if TYPE_CHECKING:
    from .setpoint_model import AsWritten


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
    #: the ram can be held at a position (constant-gap steps, ``hold_gap``)
    constant_gap: bool = False
    #: a temperature reading (the press room or the load cells), °C
    temperature: bool = False
    #: samples carry the device's own time of measurement (``Sample.source_time_s``, e.g. an
    #: OPC UA SourceTimestamp): the sampler places them there, not when they were read
    source_time: bool = False

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
        pass computed from data the press does not have.
        """
        from .metrics import CRITERIA  # each criterion declares the capability it needs

        registered = CRITERIA.get(criterion)
        needs = None if registered is None else registered.needs
        if needs is None or getattr(self, needs):
            return None
        return f"{criterion}: {_LACKS[needs]}"


#: what a press lacks, by the capability a criterion declares it needs (``Criterion.needs``)
_LACKS = {"channels": "the press reports no per-channel forces",
          "positions": "the press reports no ram position",
          "temperature": "the press reports no temperature"}


FULL_CAPABILITIES = Capabilities()


@runtime_checkable
class OperatorGuided(Protocol):
    """An optional press feature: a person drives the press (monitor-only) and ``operator``
    tells them what to do; the runner may replace it (a keyboard, a live view) and records
    every instruction."""

    operator: Any


@runtime_checkable
class CellCycler(Protocol):
    """An optional press feature: a simulated cell whose cycler follows the protocol's
    cycling steps; ``cycler_sink()`` is the sink that drives it during a run."""

    def cycler_sink(self) -> Any: ...


class Press(ABC):
    """A press the runner can drive.

    Bindings implement the abstract methods. ``clock`` is the clock the press runs on:
    virtual for a simulated press, :class:`~presshil.clock.WallClock` for a real one.
    """

    #: the URL the press was opened with; each binding sets it in its constructor
    url: str = ""
    #: this device's own limit for a sample counter that does not advance (press-clock
    #: seconds); None: the run's policy (:class:`~presshil.sampler.SupervisionPolicy`)
    stale_after_s: float | None = None
    #: what the press can provide (bindings of limited devices override it)
    capabilities: Capabilities = FULL_CAPABILITIES
    #: the press reports no active setpoint: the host models the ramp it asked for, and the
    #: run records so (profiles without a ``setpoint`` signal)
    setpoint_modelled: bool = False
    #: a rate is asked of this press, so its ramps and releases have a rate line to judge
    takes_rate: bool = True
    #: that rate line is judged without the protocol asking (not for an operator asked for
    #: "about" a rate)
    rate_by_default: bool = True
    #: the last command's values as the device's registers hold them, rounding included
    #: (:class:`~presshil.setpoint_model.AsWritten`); empty where nothing is converted
    as_written: Sequence[AsWritten] = ()

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

    # --- control of the press (optional: presses without a lease or host-loss policy) -----
    def claim_control(self, token: int | None = None) -> int | None:
        """Claim the press's control lease for this run; the session token, or None when the
        press has no lease. ``token`` reclaims a lease held with that token (a resumed run).

        Raises :class:`~presshil.errors.DeviceFault` (``LeaseHeld``) when another master
        controls the press.
        """
        return None

    def check_control(self) -> None:  # noqa: B027 - optional, like the lease itself
        """Raise :class:`~presshil.errors.DeviceFault` (``ControlLost``) if the press is no
        longer this run's: another master took the lease or stopped the press, or the
        setpoint or limits changed behind the run's back. A no-op without a lease."""

    def release_control(self) -> None:  # noqa: B027 - optional, like the lease itself
        """Give the control lease up (a no-op without a lease)."""

    def set_on_host_loss(self, policy: str) -> None:
        """What the press does when its host stops feeding the watchdog: ``release`` (trip to
        the safe state, every press) or ``hold`` (hold the active setpoint, raise an alarm).

        A press that cannot hold raises :class:`CapabilityError` for ``hold``.
        """
        if check_policy(policy) != "release":
            raise CapabilityError(
                f"press {self.url or type(self).__name__}: on_host_loss = {policy!r} needs a "
                "press that holds its setpoint when the host is lost; this one releases"
            )

    def read_config(self) -> PressConfig | None:
        """The configuration in force on the press (soft max, die area, watchdog, host-loss
        policy and alarm, lease holder), or None when the press cannot report it."""
        return None

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


__all__ = ["FULL_CAPABILITIES", "SAFE_STOP_BITS", "Capabilities", "FaultCode", "Identity", "Press", "Sample", "Status"]
