"""``VirtualPress``: a simulated press run in real time, with the rules of a real device.

Both wire servers (Modbus and the line protocol) speak to the press only through
:meth:`VirtualPress.sample` and :meth:`VirtualPress.apply`, so the two protocols enforce the
same rules (:mod:`presshil.device.rules`): a refused request raises ``Refused`` with the
Modbus exception code (the line protocol's ``ERR`` code is the same number) and changes
nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import CapabilityError, DeviceFault, PressError
from ..maps.press_v1 import (
    CAPABILITY_CONSTANT_GAP,
    COMMAND_HOLD_GAP,
    COMMAND_REGULATE,
    COMMAND_RELEASE,
    COMMAND_RESET,
    COMMAND_STOP,
)
from ..press import Identity, Press, Sample, Status
from ..serving.faults import WireFaults
from ..serving.lease import ControlLease, LeaseRefused
from ..serving.master import Role, current_master
from ..urls import is_simulated
from .host_loss import RELEASE, HostLossGuard
from .realtime import RealtimeDriver
from .rules import (
    DEVICE_FAILURE,
    ILLEGAL_FUNCTION,
    ILLEGAL_VALUE,
    Refused,
    check_value,
)

if TYPE_CHECKING:
    from .server import ServerHandle

log = logging.getLogger("presshil.device")

#: writes that change what the press regulates to or is limited by
_CONFIG = frozenset(
    {"setpoint", "ramp_rate", "soft_max_pressure", "watchdog_timeout", "die_area", "on_host_loss"}
)
#: ramp rate a REGULATE uses when the host never wrote one
DEFAULT_RAMP_RATE_MPA_S = 1.0


def open_simulated(press: Press | str) -> Press:
    """``press`` itself, or the simulated press a ``sim://`` URL names."""
    if not isinstance(press, str):
        return press
    from ..errors import PressURLError
    from ..urls import open_press, parse_press_url

    if not parse_press_url(press).is_simulated:
        raise PressURLError(
            f"press URL {press!r}: the virtual press serves a simulated press (sim://…) only"
        )
    return open_press(press)


def _readback(press: Press, name: str) -> float | None:
    """A configuration value the press exposes (on itself or its model), if any.

    The Press contract has no getters; a simulated press usually keeps its configuration on
    its model. Used only for what the holding registers read before the host writes them.
    """
    for holder in (press, getattr(press, "model", None)):
        value = getattr(holder, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


class VirtualPress:
    """A press model advanced in real time, with map v1's parameters and checks."""

    def __init__(
        self, press: Press | str, *, faults: WireFaults | None = None, tick_s: float = 0.001
    ) -> None:
        self.press = open_simulated(press)
        self._source_url: str = getattr(self.press, "url", "") or ""
        self.url = self._source_url or "sim://"
        self.faults = faults if faults is not None else WireFaults()
        self.driver = RealtimeDriver(self.press, tick_s)
        self._identity = self.press.identity
        rated = self._identity.rated_max_pressure_mpa
        area = _readback(self.press, "die_area_mm2")
        #: the holding-register parameters, as last accepted
        self.params: dict[str, float | int] = {
            "command": 0,
            "heartbeat": 0,
            "setpoint": 0.0,
            "ramp_rate": DEFAULT_RAMP_RATE_MPA_S,
            "soft_max_pressure": float(_readback(self.press, "soft_max_mpa") or rated),
            "watchdog_timeout": 0,
            "reserved_9": 0,
            "die_area": float(area) if isinstance(area, (int, float)) else math.nan,
            "lease_token": 0,  # write-only: reads 0, never reveals the holder's token
            "on_host_loss": RELEASE,
        }
        #: the ``hold`` policy's own watchdog (see :mod:`presshil.device.host_loss`)
        self.host_loss = HostLossGuard()
        self.driver.on_tick = self._check_host
        #: who controls the press (see :mod:`presshil.serving.lease`)
        self.lease = ControlLease()
        #: refuse every write (``presshil serve --read-only``)
        self.read_only = False
        self._frozen: Sample | None = None
        self._last_heartbeat: float | int | None = None

    @property
    def identity(self) -> Identity:
        """The press's identity, read again after every configuration change (its rated
        pressure follows the die area)."""
        return self._identity

    def capability_bits(self) -> int:
        """Input register 105: what this press can do beyond the contract."""
        caps = getattr(self.press, "capabilities", None)
        return CAPABILITY_CONSTANT_GAP if caps is not None and caps.constant_gap else 0

    @property
    def lock(self) -> Any:
        """The lock every model access holds."""
        return self.driver.lock

    def start(self) -> VirtualPress:
        """Start advancing the model in real time."""
        self.driver.start()
        return self

    def warm_up(self) -> None:
        """Run every command once on a scratch copy of the press (same URL), so that first-use
        costs of the model (JIT compilation, caches: 0.2 s for a first ``stop()`` has been
        seen) are paid before a host is listening, not inside its first request's timeout.
        Best effort: a press given as an object, or a failure here, is simply not warmed."""
        if not is_simulated(self._source_url):
            return
        try:
            scratch = open_simulated(self._source_url)
            clock = scratch.clock
            steps = (
                scratch.read,
                scratch.heartbeat,
                lambda: scratch.configure(watchdog_ms=0),
                lambda: scratch.command(1.0, 10.0),
                lambda: scratch.release(10.0),
                scratch.stop,
                scratch.reset,
            )
            for step in steps:
                step()
                clock.sleep_until(clock.now() + 0.02)
            scratch.close()
        except Exception:
            log.debug("warm-up of %s failed", self.url, exc_info=True)

    def stop(self) -> None:
        """Stop advancing the model."""
        self.driver.stop()

    def serve(self, **endpoints: Any) -> ServerHandle:
        """Serve this press on wires; see :func:`presshil.device.server.start_server`."""
        from .server import start_server

        return start_server(self, **endpoints)

    # --- what the wires see ---------------------------------------------------------------
    def sample(self) -> Sample:
        """The current state (the frozen one while ``faults.freeze_counter`` is set)."""
        with self.lock:
            self._check_alive()
            if self.faults.freeze_counter:
                if self._frozen is None:
                    self._frozen = self.press.read()
                return self._frozen
            self._frozen = None
            return self.press.read()

    def apply(self, updates: Mapping[str, float | int]) -> None:
        """Check then apply parameter writes, then execute ``command`` if present.

        Raises :class:`Refused` (and changes nothing) when any value is out of range.
        Configuration and parameters go first, the command last.
        """
        master = current_master.get()
        if self.read_only:
            raise Refused(ILLEGAL_FUNCTION, "this press is served read-only: writes are refused")
        if master.role is not Role.OPERATOR:
            raise Refused(ILLEGAL_FUNCTION, f"{master} has the observer role: read only")
        updates = dict(updates)
        token = updates.pop("lease_token", None)
        soft = updates.get("soft_max_pressure", self.params["soft_max_pressure"])
        # a new die area changes the rated pressure: the press itself checks soft max then
        rated = math.inf if "die_area" in updates else self.identity.rated_max_pressure_mpa
        for name, value in updates.items():
            check_value(name, value, float(soft), rated)
        try:
            if token is not None:
                self.lease.claim(master, int(token))
            heartbeat = updates.get("heartbeat")
            new_beat = heartbeat is not None and heartbeat != self._last_heartbeat
            feeds = self.lease.check_write(
                master,
                set(updates),
                stop=updates.get("command") == COMMAND_STOP,
                heartbeat=new_beat,
            )
        except LeaseRefused as exc:
            log.info("refused: %s", exc.text)
            raise Refused(exc.code, exc.text) from None
        if not feeds:
            updates.pop("heartbeat", None)  # a non-holder's STOP feeds no watchdog
        with self.lock:
            self._check_alive()
            config: dict[str, Any] = {}
            if "die_area" in updates:
                config["die_area_mm2"] = float(updates["die_area"])
            if "soft_max_pressure" in updates:
                config["soft_max_mpa"] = float(updates["soft_max_pressure"])
            if "on_host_loss" in updates:
                self.host_loss.policy = int(updates["on_host_loss"])
                config["watchdog_ms"] = self.host_loss.model_watchdog_ms()
            if "watchdog_timeout" in updates:
                self.host_loss.watchdog_ms = int(updates["watchdog_timeout"])
                self.lease.watchdog_s = self.host_loss.watchdog_ms / 1000.0
                config["watchdog_ms"] = self.host_loss.model_watchdog_ms()
            if config:
                self._call(lambda: self.press.configure(**config))
                self._identity = self.press.identity
                # a smaller die lowers the rated pressure, and the press lowers its soft max
                # with it: holding register 6 reads back the soft max actually in force
                in_force = _readback(self.press, "soft_max_mpa")
                if in_force is not None and "soft_max_pressure" not in updates:
                    self.params["soft_max_pressure"] = in_force
            heartbeat = updates.get("heartbeat")
            for name, value in updates.items():
                if name != "command":
                    self.params[name] = value
            if heartbeat is not None and heartbeat != self._last_heartbeat:
                self._last_heartbeat = heartbeat
                self.host_loss.beat()
                self._call(self.press.heartbeat)
            if _CONFIG.intersection(updates):
                self.lease.changed_config()
            if "command" in updates:
                self._execute(int(updates["command"]))

    def feed_heartbeat(self) -> None:
        """Feed the watchdog (the line protocol's ``HB``); claims a free lease."""
        if self.read_only:
            raise Refused(ILLEGAL_FUNCTION, "this press is served read-only: writes are refused")
        try:
            self.lease.check_write(
                current_master.get(), {"heartbeat"}, stop=False, heartbeat=True
            )
        except LeaseRefused as exc:
            raise Refused(exc.code, exc.text) from None
        with self.lock:
            self._check_alive()
            self.host_loss.beat()
            self._call(self.press.heartbeat)

    def _check_host(self) -> None:
        """The driver's tick: with the ``hold`` policy, hold when the host is lost."""
        if not self.host_loss.due():
            return
        with self.lock:
            state = self.press.read()
            if state.status & Status.REGULATING and not state.status & Status.FAULT:
                # stop a ramp where it is: the active setpoint was accepted under the limits
                rate = float(self.params["ramp_rate"])
                try:
                    self.press.command(float(state.setpoint_mpa), rate)
                except PressError:
                    log.exception("host lost: holding at %g MPa failed", state.setpoint_mpa)
        self.lease.pin()
        log.warning(
            "host lost: no heartbeat for %d ms; holding %g MPa (on_host_loss = hold)",
            self.host_loss.watchdog_ms,
            state.setpoint_mpa,
        )

    # --- rules ----------------------------------------------------------------------------
    def _execute(self, command: int) -> None:
        p = self.params
        if command == COMMAND_REGULATE:
            rated = self._identity.rated_max_pressure_mpa
            check_value("setpoint", p["setpoint"], float(p["soft_max_pressure"]), rated)
            self._call(lambda: self.press.command(float(p["setpoint"]), float(p["ramp_rate"])))
        elif command == COMMAND_RELEASE:
            self._call(lambda: self.press.release(float(p["ramp_rate"])))
        elif command == COMMAND_STOP:
            self._call(self.press.stop)
        elif command == COMMAND_RESET:
            self._call(self.press.reset)
        elif command == COMMAND_HOLD_GAP:
            self._call(self.press.hold_gap)
        p["command"] = command

    def _call(self, action: Any) -> None:
        try:
            action()
        except CapabilityError as exc:  # a command this press cannot carry out
            raise Refused(ILLEGAL_VALUE, str(exc)) from exc
        except DeviceFault as exc:
            raise Refused(
                ILLEGAL_VALUE if exc.code == ILLEGAL_VALUE else DEVICE_FAILURE, str(exc)
            ) from exc
        except ValueError as exc:
            raise Refused(ILLEGAL_VALUE, str(exc)) from exc
        except PressError as exc:
            raise Refused(DEVICE_FAILURE, str(exc)) from exc

    def _check_alive(self) -> None:
        if self.driver.error is not None:
            raise Refused(DEVICE_FAILURE, f"press model stopped: {self.driver.error!r}")


__all__ = ["VirtualPress", "open_simulated"]
