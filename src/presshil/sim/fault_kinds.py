"""The injectable faults, one class each: what it means, its parameters, apply and clear.

Every subclass of :class:`Fault` registers itself under its ``name``; the URL parser
(:mod:`presshil.sim.faults`) and the injector (:mod:`presshil.sim.injector`) read the
registry, so adding a fault is one class here (plus its row in ``docs/simulator.md``)::

    class Vibration(Fault):
        name = "vibration"
        summary = "..."
        params = {"amplitude_n": 5.0}

        def apply(self, target, prm, channel): ...
        def clear(self, target, channel): ...

``apply`` and ``clear`` change the model's state between two ticks through the named views
of :class:`FaultTarget`; ``channel`` is 0-based. A ``transient`` fault is an event (it has no
duration and nothing to clear).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar, Protocol

from ..errors import ConfigError
from .catalogue import HydraulicCfg, ManualCfg, PressCfg
from .layout import AF_RUNAWAY, AF_STUCK, SF_DRIFT, SF_OPEN_WIRE, SF_SATURATION, SF_STUCK
from .state import FloatState, IntState, Params


class FaultTarget(Protocol):
    """What a fault may touch: the model's state, its configuration and its clock."""

    xs: FloatState
    ns: IntState
    ps: Params
    press_cfg: PressCfg

    def now(self) -> float:
        """Virtual time (s)."""

    def stop(self) -> None:
        """The e-stop chain."""

    def process(self, generator: Generator[Any, Any, Any]) -> None:
        """Run a SimPy process (for faults that unfold over time)."""

    def trip_limit_mpa(self) -> float:
        """Measured pressure above which the firmware trips."""


#: every fault class by name, in definition order
REGISTRY: dict[str, type[Fault]] = {}


class Fault:
    """One kind of injectable fault. Subclasses set the class attributes and override."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    #: parameter -> default (None: derived from the state at injection)
    params: ClassVar[dict[str, float | None]] = {}
    #: an event rather than a condition: no duration, nothing to clear
    transient: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[cls.name] = cls

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        """Make the condition present."""
        raise NotImplementedError

    def clear(self, target: FaultTarget, channel: int) -> None:
        """Remove the condition (a latched firmware fault still needs a reset)."""


class _ChannelFault(Fault):
    """A fault of one load-cell channel: sets the channel's sensor-fault code."""

    code: ClassVar[int] = 0

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        target.ns.ch_fault[channel] = self.code

    def clear(self, target: FaultTarget, channel: int) -> None:
        target.ns.ch_fault[channel] = 0


class SensorStuck(_ChannelFault):
    name = "sensor_stuck"
    summary = "load-cell channel frozen at its present reading"
    params = {"channel": 1}
    code = SF_STUCK

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        super().apply(target, prm, channel)
        target.xs.ch_fault_value[channel] = target.xs.meas_ch_n[channel]


class OpenWire(_ChannelFault):
    name = "open_wire"
    summary = "load-cell bridge open: the channel rails high (firmware trips SENSOR)"
    params = {"channel": 1}
    code = SF_OPEN_WIRE


class SensorDrift(_ChannelFault):
    name = "sensor_drift"
    summary = "zero of a channel drifts at a constant rate"
    params = {"channel": 1, "rate_n_per_min": 30.0}
    code = SF_DRIFT

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        super().apply(target, prm, channel)
        target.xs.ch_fault_value[channel] = prm["rate_n_per_min"] / 60.0
        target.xs.ch_fault_t0_s[channel] = target.now()


class SensorSaturation(_ChannelFault):
    name = "sensor_saturation"
    summary = "channel clips at a level (default: its present reading)"
    params = {"channel": 1, "level_kn": None}
    code = SF_SATURATION

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        super().apply(target, prm, channel)
        level = prm.get("level_kn")
        xs = target.xs
        xs.ch_fault_value[channel] = level * 1e3 if level else xs.meas_ch_n[channel]


class Leak(Fault):
    name = "leak"
    summary = "extra internal leak, `factor` times the nominal one (hydraulic presses)"
    params = {"factor": 50.0}

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        cfg, ps = target.press_cfg, target.ps
        if not isinstance(cfg.actuator, HydraulicCfg | ManualCfg):
            raise ConfigError(
                f"fault 'leak' needs a hydraulic press; {cfg.identity.model} has none"
            )
        nominal = ps.leak_lambda
        if nominal <= 0:  # a leak-free catalogue entry: base the factor on 0.01 ml/min at rated
            area = ps.piston_area_m2
            nominal = 0.01e-6 / 60.0 / (cfg.identity.rated_force_kn * 1e3 / area) / area**2
        target.xs.leak_extra_lambda = prm["factor"] * nominal

    def clear(self, target: FaultTarget, channel: int) -> None:
        target.xs.leak_extra_lambda = 0.0


class _ActuatorFault(Fault):
    """Sets one bit of the actuator-fault word."""

    bit: ClassVar[int] = 0

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        target.ns.act_faults = target.ns.act_faults | self.bit

    def clear(self, target: FaultTarget, channel: int) -> None:
        target.ns.act_faults = target.ns.act_faults & ~self.bit


class StuckValve(_ActuatorFault):
    name = "stuck_valve"
    summary = "servo valve spool / drive / release valve frozen where it is"
    bit = AF_STUCK


class Runaway(_ActuatorFault):
    name = "runaway"
    summary = "actuator drives forward at full capacity, ignoring the controller"
    bit = AF_RUNAWAY


class ControllerFreeze(Fault):
    name = "controller_freeze"
    summary = "firmware loop stops: counter and outputs frozen, plant runs on"

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        target.ns.frozen = 1

    def clear(self, target: FaultTarget, channel: int) -> None:
        target.ns.frozen = 0


class Overpressure(Fault):
    name = "overpressure"
    summary = (
        "sudden stack swelling that pushes the force up by `mpa` (fixed-gap equivalent; default "
        "1.5 x the distance to the trip level, at least 2 MPa) within `rise_ms` (default 0: one "
        "tick, an impact); a slower rise may be caught by the rate trip or absorbed by the loop"
    )
    params = {"mpa": None, "rise_ms": 0.0}
    transient = True

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        target.process(self._spike(target, prm))

    @staticmethod
    def _spike(target: FaultTarget, prm: dict[str, float]) -> Generator[Any, Any, None]:
        """A stack swelling of ``mpa`` over ``rise_ms`` (0 = one tick)."""
        xs, ps = target.xs, target.ps
        rise_s = max(prm["rise_ms"] * 1e-3, ps.dt_s)
        mpa = prm.get("mpa")
        if not mpa:
            mpa = max(2.0, 1.5 * (target.trip_limit_mpa() - xs.meas_p_mpa))
        # stiffness the swelling works against: frame, locked oil column and stack in series
        c = 1.0 / ps.frame_k_n_m + ps.oil_compliance_m_n + xs.c_el_m_n
        xs.spike_rate_m_s = mpa * 1e6 * xs.die_area_m2 * c / rise_s
        yield rise_s
        xs.spike_rate_m_s = 0.0


class PlatenTilt(Fault):
    name = "platen_tilt"
    summary = (
        "the platen tilts by `x_mrad`, `y_mrad` (face slope) from now on, e.g. a guide that "
        "jams: on a pellet already formed the tilt acts through its elastic stiffness, not the "
        "compaction curve (docs/simulator.md works both by hand)"
    )
    params = {"x_mrad": 1.0, "y_mrad": 0.0}

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        target.ps.late_tilt_x_rad = prm["x_mrad"] * 1e-3
        target.ps.late_tilt_y_rad = prm["y_mrad"] * 1e-3

    def clear(self, target: FaultTarget, channel: int) -> None:
        target.ps.late_tilt_x_rad = 0.0
        target.ps.late_tilt_y_rad = 0.0


class Estop(Fault):
    name = "estop"
    summary = "the emergency-stop button is pressed"
    transient = True

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        target.stop()


class CommLoss(Fault):
    name = "comm_loss"
    summary = "host link lost: heartbeats stop arriving (the watchdog trips if armed)"

    def apply(self, target: FaultTarget, prm: dict[str, float], channel: int) -> None:
        target.ns.comm_lost = 1

    def clear(self, target: FaultTarget, channel: int) -> None:
        target.ns.comm_lost = 0


__all__ = ["REGISTRY", "Fault", "FaultTarget"]
