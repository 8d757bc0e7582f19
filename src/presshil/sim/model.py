"""The simulated press + cell as a SimPy model.

SimPy owns the clock and the discrete events: host commands, fault injections (and their
end), cycler phases (charge / discharge: the breathing rate changes) and sample requests.
Between two events nothing outside the press changes, so the continuous part — plant,
sensors and the 1 kHz firmware — is advanced in one call to the numba kernel
(:func:`presshil.sim.kernel.advance`), which takes the fast path over settled holds.

Every event handler first calls :meth:`SimModel.sync` so that the kernel has caught up to
the event's time; the event then changes the kernel's state between two ticks, exactly as a
command arriving over a wire would be seen by the next firmware sample.

Timing convention: after ``sync(t)`` every tick ``k`` with ``k dt <= t`` has run; the latest
firmware sample is stamped ``k dt``; a command at ``t`` takes effect on tick ``k + 1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import simpy

from ..errors import ConfigError
from . import kernel
from .catalogue import HydraulicCfg, ManualCfg, PressCfg, SpecimenCfg
from .faults import FAULTS, FaultSpec
from .firmware import trip, trip_limit_mpa
from .layout import (
    ACT_MANUAL,
    AF_RUNAWAY,
    AF_STUCK,
    AM_UNLOAD,
    FC_ESTOP,
    FW_FAULT,
    FW_GAP_HOLD,
    FW_IDLE,
    FW_RAMP,
    FW_RELEASE,
    FW_STATE_NAMES,
    MAX_CH,
    N_ACT_FAULTS,
    N_ACT_MODE,
    N_CH_FAULT,
    N_COMM_LOST,
    N_FAST,
    N_FAULT_CODE,
    N_FROZEN,
    N_FULL_TICKS,
    N_FW_STATE,
    N_LAST_HB_TICK,
    N_LATCHED_BITS,
    N_MACRO_STEPS,
    N_MACRO_TICKS,
    N_OP_PUMPING,
    N_REC_IDX,
    N_REC_ON,
    N_RELEASED,
    N_SEED,
    N_SETTLED_TICKS,
    N_SIZE,
    N_TICK,
    N_WDOG_TICKS,
    P_ACT_KIND,
    P_DT_S,
    P_FRAME_K_N_M,
    P_LEAK_LAMBDA,
    P_MAX_RATE_MPA_S,
    P_N_CH,
    P_OIL_COMPLIANCE_M_N,
    P_OP_GAIN0_MPA,
    P_PISTON_AREA_M2,
    P_RATED_MAX_MPA,
    P_SPEC_AREA_M2,
    R_SIZE,
    RET_RECORD_FULL,
    SF_DRIFT,
    SF_OPEN_WIRE,
    SF_SATURATION,
    SF_STUCK,
    ST_ESTOP,
    X_C_EL_M_N,
    X_CH_FAULT_T0_S,
    X_CH_FAULT_VALUE,
    X_CREEP_STRAIN,
    X_DFILT,
    X_DIE_AREA_M2,
    X_EFILT_N,
    X_FOLLOW_S,
    X_FORCE_N,
    X_INTEGRAL,
    X_LEAK_EXTRA_LAMBDA,
    X_MEAS_CH_N,
    X_MEAS_P_MPA,
    X_OP_GAIN_MPA,
    X_OP_RELEASE_OPEN,
    X_PMAX_PA,
    X_PREV_MEAS_N,
    X_RATE_MPA_S,
    X_SIZE,
    X_SOFT_MAX_MPA,
    X_SP_MPA,
    X_SP_RATE_MPA_S,
    X_SPIKE_RATE_M_S,
    X_SWELL_M,
    X_SWELL_RATE_M_S,
    X_TARGET_MPA,
    X_U,
)
from .operator import start_pumping
from .params import build_params, rated_max_pressure_mpa
from .rng import STREAM_REFERENCE, normal
from .specimen import elastic_compliance, set_compaction


class _Environment(simpy.Environment):
    """SimPy environment with a cheap ``advance(t)``.

    ``run(until=t)`` schedules a stop event per call (and leaves it queued); the virtual press
    is advanced every millisecond by a real-time server, so this steps the due events itself
    and then moves the clock to ``t`` — the same semantics, including events at exactly ``t``.
    """

    def advance(self, t: float) -> None:
        """Process every event due at or before ``t``, then set the clock to ``t``."""
        while self.peek() <= t:
            self.step()
        self._now = max(self._now, t)


@dataclass(frozen=True)
class TickTrace:
    """Every firmware sample over a capture window (full fidelity), as columns."""

    t_s: np.ndarray
    status: np.ndarray
    fault_code: np.ndarray
    setpoint_mpa: np.ndarray
    pressure_mpa: np.ndarray
    force_n: np.ndarray
    true_force_n: np.ndarray
    position_m: np.ndarray
    actuator_command: np.ndarray
    channels_n: np.ndarray  # shape (ticks, N)


class SimModel:
    """Press + specimen + firmware in virtual time. See the module docstring."""

    def __init__(
        self,
        press: PressCfg,
        specimen: SpecimenCfg,
        *,
        seed: int = 0,
        fidelity: str = "fast",
        cycling_start_s: float | None = None,
        tilt_mrad: tuple[float, float] | None = None,
        die_offset_mm: tuple[float, float] | None = None,
    ) -> None:
        if fidelity not in ("fast", "full"):
            raise ConfigError(f"fidelity must be 'fast' or 'full', got {fidelity!r}")
        self.press_cfg = press
        self.specimen_cfg = specimen
        self.seed = int(seed)
        self.p = build_params(press, specimen, tilt_mrad=tilt_mrad, die_offset_mm=die_offset_mm)
        self.x = np.zeros(X_SIZE)
        self.n = np.zeros(N_SIZE, dtype=np.int64)
        self.dt = float(self.p[P_DT_S])
        self.loop_hz = press.firmware.loop_hz
        self.n_channels = int(self.p[P_N_CH])
        self.n[N_SEED] = self.seed
        self.n[N_FAST] = 1 if fidelity == "fast" else 0
        self.n[N_FW_STATE] = FW_IDLE
        self.n[N_RELEASED] = 1
        self.x[X_DIE_AREA_M2] = specimen.die_area_mm2 * 1e-6
        self.x[X_SOFT_MAX_MPA] = self.p[P_RATED_MAX_MPA]
        self.x[X_OP_GAIN_MPA] = self.p[P_OP_GAIN0_MPA]
        self.x[X_OP_RELEASE_OPEN] = 1.0  # a manual press at rest has its release valve open
        set_compaction(self.p, self.x, 0.0)
        self._ch_true = np.zeros(2 * MAX_CH)  # true channel split, then channel noise
        self._rec = np.zeros((1, R_SIZE))
        self._chunks: list[np.ndarray] | None = None
        #: plant mode: the firmware is outside the model (see :meth:`set_actuator`)
        self.external_firmware = False
        self.env = _Environment()
        breathing = specimen.breathing
        if breathing is not None and breathing.amplitude_um > 0:
            start = breathing.start_s if cycling_start_s is None else cycling_start_s
            if start is not None and start >= 0:
                self.env.process(self._cycler(start))
        self.sync(0.0)

    # ------------------------------------------------------------------ time
    @property
    def fidelity(self) -> str:
        """``"fast"`` (macro steps over settled holds) or ``"full"`` (every tick)."""
        return "fast" if self.n[N_FAST] else "full"

    @fidelity.setter
    def fidelity(self, value: str) -> None:
        if value not in ("fast", "full"):
            raise ConfigError(f"fidelity must be 'fast' or 'full', got {value!r}")
        self.n[N_FAST] = 1 if value == "fast" else 0

    def now(self) -> float:
        """Virtual time (s)."""
        return self.env.now

    def sync(self, t: float | None = None) -> None:
        """Run the kernel through every tick at or before ``t`` (default: now)."""
        t = self.env.now if t is None else t
        tick_end = math.floor(t * self.loop_hz + 1e-6) + 1
        if tick_end <= self.n[N_TICK]:
            return
        step = kernel.advance_plant if self.external_firmware else kernel.advance
        while step(self.p, self.x, self.n, tick_end, self._ch_true, self._rec) == RET_RECORD_FULL:
            self._flush_record()

    def set_actuator(self, mode: int, command: float) -> None:
        """Plant mode: the actuator mode (``AM_*``) and command from the next tick on.

        ``command`` is the servo-valve spool opening (−1..1) or the ram speed demand (m/s),
        as the reference firmware would leave it in ``x[X_U]``.
        """
        self.sync()
        self.n[N_ACT_MODE] = mode
        self.x[X_U] = command

    def advance_to(self, t: float) -> None:
        """Advance virtual time to ``t``: SimPy events on the way, then the kernel up to ``t``."""
        if t > self.env.now:
            self.env.advance(t)
        self.sync(t)

    # ------------------------------------------------------------------ capture
    def _flush_record(self) -> None:
        assert self._chunks is not None
        self._chunks.append(self._rec[: self.n[N_REC_IDX]].copy())
        self.n[N_REC_IDX] = 0

    @contextmanager
    def capture(self, chunk_ticks: int = 65536) -> Iterator[list[TickTrace]]:
        """Record every firmware sample while the block runs (forces full fidelity).

        Yields a list that holds one :class:`TickTrace` when the block exits.
        """
        self.sync()
        out: list[TickTrace] = []
        self._rec = np.zeros((chunk_ticks, R_SIZE))
        self._chunks = []
        self.n[N_REC_IDX] = 0
        self.n[N_REC_ON] = 1
        try:
            yield out
        finally:
            self.sync()
            self._flush_record()
            self.n[N_REC_ON] = 0
            rows = np.concatenate(self._chunks) if self._chunks else np.zeros((0, R_SIZE))
            self._chunks = None
            self._rec = np.zeros((1, R_SIZE))
            out.append(_trace_from_rows(rows, self.n_channels))

    # ------------------------------------------------------------------ observation
    @property
    def state_name(self) -> str:
        """Firmware state: IDLE, RAMP, HOLD, RELEASE, FAULT or GAP_HOLD."""
        return FW_STATE_NAMES[int(self.n[N_FW_STATE])]

    @property
    def true_force_n(self) -> float:
        """Force actually on the stack (N)."""
        return float(self.x[X_FORCE_N])

    @property
    def true_pressure_mpa(self) -> float:
        """Force on the stack over the specimen's die area (MPa)."""
        return float(self.x[X_FORCE_N] / self.p[P_SPEC_AREA_M2] * 1e-6)

    @property
    def ram_position_m(self) -> float:
        """True ram travel since first touch (m)."""
        return float(kernel.ram_position(self.p, self.x))

    @property
    def stack_stiffness_n_per_m(self) -> float:
        """Elastic (unloading) stiffness of the stack in its present compaction state."""
        return float(1.0 / elastic_compliance(self.p, self.x[X_PMAX_PA]))

    @property
    def frame_stiffness_n_per_m(self) -> float:
        """Frame (+ drive train) stiffness from the catalogue."""
        return float(self.p[P_FRAME_K_N_M])

    @property
    def oil_stiffness_n_per_m(self) -> float:
        """Stiffness of the locked oil column (inf for a screw press)."""
        c = self.p[P_OIL_COMPLIANCE_M_N]
        return float(1.0 / c) if c > 0 else math.inf

    @property
    def creep_strain(self) -> float:
        """Li creep strain so far."""
        return float(self.x[X_CREEP_STRAIN])

    @property
    def swell_m(self) -> float:
        """Stack thickness change from breathing and injected swelling (m)."""
        return float(self.x[X_SWELL_M])

    @property
    def true_channel_forces_n(self) -> np.ndarray:
        """True per-channel forces the platen puts on the load cells (N)."""
        from .platen import split

        out = np.zeros(MAX_CH)
        split(self.p, self.x[X_FORCE_N], 1.0 / elastic_compliance(self.p, self.x[X_PMAX_PA]), out)
        return out[: self.n_channels].copy()

    def reference_force_n(self) -> float:
        """Reading of the reference transducer in the load path: truth plus a small error."""
        ref = self.press_cfg.reference_transducer
        tick = int(self.n[N_TICK])
        value = self.x[X_FORCE_N] * (1.0 + ref.gain_error_pct / 100.0)
        value += ref.noise_n_rms * normal(self.seed, STREAM_REFERENCE, tick)
        if ref.resolution_n > 0:
            value = round(value / ref.resolution_n) * ref.resolution_n
        return float(value)

    def stats(self) -> dict[str, int]:
        """Ticks computed one by one, macro steps and the ticks they covered."""
        return {
            "full_ticks": int(self.n[N_FULL_TICKS]),
            "macro_steps": int(self.n[N_MACRO_STEPS]),
            "macro_ticks": int(self.n[N_MACRO_TICKS]),
        }

    def trip_limit_mpa(self) -> float:
        """Measured pressure above which the firmware's over-pressure trip fires."""
        return float(trip_limit_mpa(self.p, self.x))

    # ------------------------------------------------------------------ host commands
    @property
    def faulted(self) -> bool:
        """True while a fault is latched."""
        return int(self.n[N_FW_STATE]) == FW_FAULT

    def _transient(self) -> None:
        self.n[N_SETTLED_TICKS] = 0

    def regulate(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """Go to ``setpoint_mpa`` at ``rate_mpa_s`` (clamped to the press maximum) and hold."""
        self.sync()
        x, n = self.x, self.n
        state = int(n[N_FW_STATE])
        if state in (FW_IDLE, FW_GAP_HOLD):
            x[X_SP_MPA] = max(0.0, float(x[X_MEAS_P_MPA]))
            x[X_INTEGRAL] = 0.0
        x[X_TARGET_MPA] = setpoint_mpa
        x[X_RATE_MPA_S] = min(rate_mpa_s, float(self.p[P_MAX_RATE_MPA_S]))
        x[X_FOLLOW_S] = 0.0
        n[N_FW_STATE] = FW_RAMP
        n[N_RELEASED] = 0
        if int(self.p[P_ACT_KIND]) == ACT_MANUAL:
            start_pumping(self.p, x, n, float(x[X_MEAS_P_MPA]), self.env.now)
        self._transient()

    def release(self, rate_mpa_s: float) -> None:
        """Ramp down to zero at ``rate_mpa_s`` and open."""
        self.sync()
        x, n = self.x, self.n
        state = int(n[N_FW_STATE])
        if state in (FW_FAULT, FW_IDLE):
            return
        if state == FW_GAP_HOLD:
            x[X_SP_MPA] = max(0.0, float(x[X_MEAS_P_MPA]))
        x[X_TARGET_MPA] = 0.0
        x[X_RATE_MPA_S] = min(rate_mpa_s, float(self.p[P_MAX_RATE_MPA_S]))
        n[N_FW_STATE] = FW_RELEASE
        n[N_OP_PUMPING] = 0
        self._transient()

    def stop(self) -> None:
        """E-stop: latch the safe state now."""
        self.sync()
        if self.faulted:
            self.n[N_LATCHED_BITS] |= ST_ESTOP
        else:
            trip(self.x, self.n, FC_ESTOP, ST_ESTOP)
        # the e-stop chain is hard-wired: it unloads even if the firmware loop has frozen
        self.n[N_ACT_MODE] = AM_UNLOAD
        self._transient()

    def reset(self) -> None:
        """Clear a latched fault (the causes of injected faults remain)."""
        self.sync()
        x, n = self.x, self.n
        if int(n[N_FW_STATE]) != FW_FAULT:
            return
        n[N_FW_STATE] = FW_IDLE
        n[N_FAULT_CODE] = 0
        n[N_LATCHED_BITS] = 0
        n[N_RELEASED] = 1
        n[N_LAST_HB_TICK] = n[N_TICK]
        for key in (
            X_INTEGRAL,
            X_SP_MPA,
            X_TARGET_MPA,
            X_SP_RATE_MPA_S,
            X_FOLLOW_S,
            X_DFILT,
            X_EFILT_N,
        ):
            x[key] = 0.0
        x[X_PREV_MEAS_N] = x[X_MEAS_P_MPA] * x[X_DIE_AREA_M2] * 1e6
        self._transient()

    def heartbeat(self) -> None:
        """Feed the communication watchdog (ignored while a comm_loss fault is active)."""
        if not self.n[N_COMM_LOST]:
            self.sync()
            self.n[N_LAST_HB_TICK] = self.n[N_TICK]

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Set die area, soft limit and watchdog (values already validated by the caller)."""
        self.sync()
        if die_area_mm2 is not None:
            self.x[X_DIE_AREA_M2] = die_area_mm2 * 1e-6
            self.p[P_RATED_MAX_MPA] = rated_max_pressure_mpa(self.press_cfg, die_area_mm2)
            self.x[X_SOFT_MAX_MPA] = min(self.x[X_SOFT_MAX_MPA], self.p[P_RATED_MAX_MPA])
        if soft_max_mpa is not None:
            self.x[X_SOFT_MAX_MPA] = soft_max_mpa
        if watchdog_ms is not None:
            self.n[N_WDOG_TICKS] = (
                math.ceil(watchdog_ms * 1e-3 * self.loop_hz - 1e-9) if watchdog_ms > 0 else 0
            )
            self.n[N_LAST_HB_TICK] = self.n[N_TICK]
        self._transient()

    def hold_gap(self) -> None:
        """Lock the ram where it is (a fixed-gap fixture): the stack force then floats."""
        self.sync()
        if self.faulted:
            return
        self.n[N_FW_STATE] = FW_GAP_HOLD
        self.n[N_OP_PUMPING] = 0
        self._transient()

    @property
    def die_area_mm2(self) -> float:
        """Die area the firmware divides by (mm²)."""
        return float(self.x[X_DIE_AREA_M2] * 1e6)

    @property
    def soft_max_mpa(self) -> float:
        """Configured soft pressure limit (MPa)."""
        return float(self.x[X_SOFT_MAX_MPA])

    @property
    def rated_max_pressure_mpa(self) -> float:
        """Rated maximum pressure on the configured die area (MPa)."""
        return float(self.p[P_RATED_MAX_MPA])

    # ------------------------------------------------------------------ cycler
    def _set_swell_rate(self, rate_m_s: float) -> None:
        self.sync()
        self.x[X_SWELL_RATE_M_S] = rate_m_s
        self._transient()

    def _cycler(self, start_s: float):
        """Charge / discharge phases: the stack grows, then shrinks, at a constant rate."""
        b = self.specimen_cfg.breathing
        assert b is not None
        half = b.period_s / 2.0
        grow = (b.amplitude_um + b.growth_um_per_cycle) * 1e-6 / half
        shrink = -b.amplitude_um * 1e-6 / half
        if start_s > self.env.now:
            yield self.env.timeout(start_s - self.env.now)
        while True:
            self._set_swell_rate(grow)
            yield self.env.timeout(half)
            self._set_swell_rate(shrink)
            yield self.env.timeout(half)

    # ------------------------------------------------------------------ faults
    def schedule_fault(self, spec: FaultSpec) -> None:
        """Inject ``spec`` at its time (now if None or already past)."""
        at = self.env.now if spec.at_s is None else spec.at_s
        if at <= self.env.now:
            self._apply_fault(spec)
        else:
            self.env.process(self._fault_later(spec, at))

    def _fault_later(self, spec: FaultSpec, at: float):
        yield self.env.timeout(at - self.env.now)
        self._apply_fault(spec)

    def _apply_fault(self, spec: FaultSpec) -> None:
        self.sync()
        x, n, p = self.x, self.n, self.p
        name = spec.name
        # catalogue defaults; None marks a default derived from the state at injection
        prm: dict[str, float] = {k: v for k, v in FAULTS[name].params.items() if v is not None}
        prm.update(spec.params)
        ch = int(prm.get("channel", 1)) - 1
        if "channel" in FAULTS[name].params and ch >= self.n_channels:
            raise ConfigError(
                f"fault {name!r}: channel {ch + 1} does not exist (this press has {self.n_channels})"
            )
        if name == "sensor_stuck":
            n[N_CH_FAULT + ch] = SF_STUCK
            x[X_CH_FAULT_VALUE + ch] = x[X_MEAS_CH_N + ch]
        elif name == "open_wire":
            n[N_CH_FAULT + ch] = SF_OPEN_WIRE
        elif name == "sensor_drift":
            n[N_CH_FAULT + ch] = SF_DRIFT
            x[X_CH_FAULT_VALUE + ch] = prm["rate_n_per_min"] / 60.0
            x[X_CH_FAULT_T0_S + ch] = self.env.now
        elif name == "sensor_saturation":
            n[N_CH_FAULT + ch] = SF_SATURATION
            level = prm.get("level_kn")
            x[X_CH_FAULT_VALUE + ch] = level * 1e3 if level else x[X_MEAS_CH_N + ch]
        elif name == "leak":
            if not isinstance(self.press_cfg.actuator, (HydraulicCfg, ManualCfg)):
                raise ConfigError(
                    f"fault 'leak' needs a hydraulic press; {self.press_cfg.identity.model} has none"
                )
            nominal = p[P_LEAK_LAMBDA]
            if nominal <= 0:  # a leak-free catalogue entry: base the factor on 0.01 ml/min at rated
                nominal = (
                    0.01e-6
                    / 60.0
                    / (self.press_cfg.identity.rated_force_kn * 1e3 / p[P_PISTON_AREA_M2])
                )
                nominal /= p[P_PISTON_AREA_M2] ** 2
            x[X_LEAK_EXTRA_LAMBDA] = prm["factor"] * nominal
        elif name == "stuck_valve":
            n[N_ACT_FAULTS] |= AF_STUCK
        elif name == "runaway":
            n[N_ACT_FAULTS] |= AF_RUNAWAY
        elif name == "controller_freeze":
            n[N_FROZEN] = 1
        elif name == "comm_loss":
            n[N_COMM_LOST] = 1
        elif name == "estop":
            self.stop()
        elif name == "overpressure":
            self.env.process(self._spike(prm))
        self._transient()
        duration = prm.get("duration_s")
        if duration and not FAULTS[name].transient:
            self.env.process(self._clear_later(name, ch, duration))

    def _spike(self, prm: dict):
        """A stack swelling of ``mpa`` (fixed-gap equivalent) over ``rise_ms`` (0 = one tick)."""
        rise_s = max(prm["rise_ms"] * 1e-3, self.dt)
        mpa = prm.get("mpa")
        if not mpa:
            mpa = max(2.0, 1.5 * (self.trip_limit_mpa() - float(self.x[X_MEAS_P_MPA])))
        # stiffness the swelling works against: frame, locked oil column and stack in series
        c = 1.0 / self.p[P_FRAME_K_N_M] + self.p[P_OIL_COMPLIANCE_M_N] + self.x[X_C_EL_M_N]
        dh = mpa * 1e6 * self.x[X_DIE_AREA_M2] * c
        self.sync()
        self.x[X_SPIKE_RATE_M_S] = dh / rise_s
        yield self.env.timeout(rise_s)
        self.sync()
        self.x[X_SPIKE_RATE_M_S] = 0.0

    def _clear_later(self, name: str, ch: int, duration: float):
        yield self.env.timeout(duration)
        self.clear_fault(name, channel=ch + 1)

    def clear_fault(self, name: str, channel: int = 1) -> None:
        """Remove an injected fault condition (a latched firmware fault still needs reset)."""
        self.sync()
        x, n = self.x, self.n
        ch = channel - 1
        if name in ("sensor_stuck", "open_wire", "sensor_drift", "sensor_saturation"):
            n[N_CH_FAULT + ch] = 0
        elif name == "leak":
            x[X_LEAK_EXTRA_LAMBDA] = 0.0
        elif name == "stuck_valve":
            n[N_ACT_FAULTS] &= ~AF_STUCK
        elif name == "runaway":
            n[N_ACT_FAULTS] &= ~AF_RUNAWAY
        elif name == "controller_freeze":
            n[N_FROZEN] = 0
        elif name == "comm_loss":
            n[N_COMM_LOST] = 0
        self._transient()


def _trace_from_rows(rows: np.ndarray, nch: int) -> TickTrace:
    from .layout import (
        R_CH_N,
        R_FAULT_CODE,
        R_MEAS_FORCE_N,
        R_MEAS_P_MPA,
        R_POS_M,
        R_SP_MPA,
        R_STATUS,
        R_T_S,
        R_TRUE_FORCE_N,
        R_U,
    )

    return TickTrace(
        t_s=rows[:, R_T_S].copy(),
        status=rows[:, R_STATUS].astype(np.int64),
        fault_code=rows[:, R_FAULT_CODE].astype(np.int64),
        setpoint_mpa=rows[:, R_SP_MPA].copy(),
        pressure_mpa=rows[:, R_MEAS_P_MPA].copy(),
        force_n=rows[:, R_MEAS_FORCE_N].copy(),
        true_force_n=rows[:, R_TRUE_FORCE_N].copy(),
        position_m=rows[:, R_POS_M].copy(),
        actuator_command=rows[:, R_U].copy(),
        channels_n=rows[:, R_CH_N : R_CH_N + nch].copy(),
    )


__all__ = ["SimModel", "TickTrace"]
