"""Host commands: what arrives over the wire, applied between two firmware ticks.

Each command first synchronises the model to the present time (so the kernel has run every
tick up to it), then changes the firmware's state as the reference firmware would on
receiving the command; it takes effect on the next tick. Values are validated by the caller
(:class:`presshil.sim.press.SimPress`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .catalogue import PressCfg
from .firmware import trip
from .layout import (
    ACT_MANUAL,
    AM_UNLOAD,
    FC_ESTOP,
    FW_FAULT,
    FW_GAP_HOLD,
    FW_IDLE,
    FW_RAMP,
    FW_RELEASE,
    ST_ESTOP,
)
from .operator import start_pumping
from .params import rated_max_pressure_mpa
from .state import FloatState, IntState, Params


class HostCommands:
    """Regulate, release, stop, reset, heartbeat, configure, hold the gap."""

    def __init__(
        self,
        xs: FloatState,
        ns: IntState,
        ps: Params,
        press_cfg: PressCfg,
        *,
        sync: Callable[[], None],
        now: Callable[[], float],
        loop_hz: float,
    ) -> None:
        self.xs, self.ns, self.ps = xs, ns, ps
        self.press_cfg = press_cfg
        self._sync = sync
        self._now = now
        self._loop_hz = loop_hz

    def transient(self) -> None:
        """Something changed: the settling detector starts again (no macro step for now)."""
        self.ns.settled_ticks = 0

    @property
    def faulted(self) -> bool:
        """True while a fault is latched."""
        return self.ns.fw_state == FW_FAULT

    def regulate(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """Go to ``setpoint_mpa`` at ``rate_mpa_s`` (clamped to the press maximum) and hold."""
        self._sync()
        xs, ns = self.xs, self.ns
        if ns.fw_state in (FW_IDLE, FW_GAP_HOLD):
            xs.sp_mpa = max(0.0, xs.meas_p_mpa)
            xs.integral = 0.0
        xs.target_mpa = setpoint_mpa
        xs.rate_mpa_s = min(rate_mpa_s, self.ps.max_rate_mpa_s)
        xs.follow_s = 0.0
        ns.fw_state = FW_RAMP
        ns.released = 0
        if int(self.ps.act_kind) == ACT_MANUAL:
            start_pumping(self.ps.array, xs.array, ns.array, xs.meas_p_mpa, self._now())
        self.transient()

    def release(self, rate_mpa_s: float) -> None:
        """Ramp down to zero at ``rate_mpa_s`` and open."""
        self._sync()
        xs, ns = self.xs, self.ns
        state = ns.fw_state
        if state in (FW_FAULT, FW_IDLE):
            return
        if state == FW_GAP_HOLD:
            xs.sp_mpa = max(0.0, xs.meas_p_mpa)
        xs.target_mpa = 0.0
        xs.rate_mpa_s = min(rate_mpa_s, self.ps.max_rate_mpa_s)
        ns.fw_state = FW_RELEASE
        ns.op_pumping = 0
        self.transient()

    def stop(self) -> None:
        """E-stop: latch the safe state now."""
        self._sync()
        ns = self.ns
        if self.faulted:
            ns.latched_bits = ns.latched_bits | ST_ESTOP
        else:
            trip(self.xs.array, ns.array, FC_ESTOP, ST_ESTOP)
        # the e-stop chain is hard-wired: it unloads even if the firmware loop has frozen
        ns.act_mode = AM_UNLOAD
        self.transient()

    def reset(self) -> None:
        """Clear a latched fault (the causes of injected faults remain)."""
        self._sync()
        xs, ns = self.xs, self.ns
        if ns.fw_state != FW_FAULT:
            return
        ns.fw_state = FW_IDLE
        ns.fault_code = 0
        ns.latched_bits = 0
        ns.released = 1
        ns.last_hb_tick = ns.tick
        ns.host_lost = 0
        xs.integral = xs.sp_mpa = xs.target_mpa = xs.sp_rate_mpa_s = 0.0
        xs.follow_s = xs.dfilt = xs.efilt_n = 0.0
        xs.prev_meas_n = xs.meas_p_mpa * xs.die_area_m2 * 1e6
        self.transient()

    def heartbeat(self) -> None:
        """Feed the communication watchdog (ignored while a comm_loss fault is active)."""
        ns = self.ns
        if not ns.comm_lost:
            self._sync()
            ns.last_hb_tick = ns.tick
            ns.host_lost = 0  # the host is back: the alarm clears, the hold goes on

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Set die area, soft limit and watchdog (values already validated by the caller)."""
        self._sync()
        xs, ns, ps = self.xs, self.ns, self.ps
        if die_area_mm2 is not None:
            xs.die_area_m2 = die_area_mm2 * 1e-6
            ps.rated_max_mpa = rated_max_pressure_mpa(self.press_cfg, die_area_mm2)
            xs.soft_max_mpa = min(xs.soft_max_mpa, ps.rated_max_mpa)
        if soft_max_mpa is not None:
            xs.soft_max_mpa = soft_max_mpa
        if watchdog_ms is not None:
            ns.wdog_ticks = (
                math.ceil(watchdog_ms * 1e-3 * self._loop_hz - 1e-9) if watchdog_ms > 0 else 0
            )
            ns.last_hb_tick = ns.tick
            ns.host_lost = 0
        self.transient()

    def set_on_host_loss(self, hold: bool) -> None:
        """The loss-of-host policy: hold the active setpoint (True) or trip (False)."""
        self._sync()
        self.ns.host_hold = int(hold)
        self.transient()

    def hold_gap(self) -> None:
        """Hold the ram at its present position (the encoder, low-passed): the stack force then
        follows the cell.

        The firmware's position loop takes over the force loop's integrator (same output
        units), so the switch is bumpless. Ignored while a fault is latched.
        """
        self._sync()
        if self.faulted:
            return
        self.xs.gap_lock_m = self.xs.pos_filt_m  # where the ram is, averaged over ~0.1 s
        self.xs.efilt_n = 0.0  # the settling detector now watches the position error (m)
        self.ns.fw_state = FW_GAP_HOLD
        self.ns.op_pumping = 0
        self.transient()


__all__ = ["HostCommands"]
