"""``SimPress``: the simulated press behind ``sim://`` URLs (the URL itself is read by
:mod:`presshil.sim.press_url`).

``sim://`` alone is the default press (``auto-hydraulic-25t``) with the default specimen
(``nmc-lpscl-inli-10mm``). NAME and SPEC are catalogue names (``sims/``) or paths to ``.toml``
files. See ``docs/simulator.md``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..bounds import DIE_AREA_MM2, RAMP_RATE_MPA_S
from ..clock import Clock
from ..control import PressConfig, check_policy
from ..errors import CapabilityError, ConfigError, DeviceFault
from ..press import Capabilities, FaultCode, Identity, Press, Sample
from .catalogue import ManualCfg, PressCfg, SpecimenCfg, load_press, load_specimen
from .cycler import CyclerSink
from .faults import FaultSpec, check, parse_faults
from .layout import (
    N_COUNTER,
    N_FAULT_CODE,
    N_SAMPLE_TICK,
    N_STATUS,
    X_MEAS_CH_N,
    X_MEAS_FORCE_N,
    X_MEAS_P_MPA,
    X_MEAS_POS_M,
    X_SP_MPA,
)
from .model import SimModel
from .room import Room

#: int-state fields of a sample, in Sample order (the tick stamps it)
_SAMPLE_INTS = np.array([N_SAMPLE_TICK, N_COUNTER, N_STATUS, N_FAULT_CODE])

#: the steel reference cylinder for force verification (``swap_specimen(REFERENCE_SPECIMEN)``)
REFERENCE_SPECIMEN = "steel-reference-13mm"

#: DeviceFault code for a refused value (Modbus exception 03, ILLEGAL DATA VALUE)
ILLEGAL_VALUE = 3
#: DeviceFault code for a command refused while a fault is latched (Modbus exception 04)
DEVICE_FAILURE = 4


class SimClock:
    """Virtual clock of a :class:`SimPress`: ``sleep_until`` advances the model.

    Time moves only when someone sleeps; a small advance (one tick) costs microseconds, so a
    real-time server can call ``sleep_until(wall_elapsed)`` every millisecond.
    """

    virtual = True

    def __init__(self, model: SimModel) -> None:
        self._model = model

    def now(self) -> float:
        """Virtual time in seconds."""
        return self._model.env.now

    def sleep_until(self, t: float) -> None:
        """Advance the simulation to ``t`` (returns at once if already there)."""
        self._model.advance_to(t)


class SimPress(Press):
    """A simulated press: catalogue press + specimen, reference firmware, virtual time."""

    capabilities = Capabilities(constant_gap=True, temperature=True)

    def __init__(
        self,
        press: str | PressCfg | None = None,
        specimen: str | SpecimenCfg | None = None,
        *,
        seed: int = 0,
        faults: list[FaultSpec] | str | None = None,
        fidelity: str = "fast",
        cycling_start_s: float | None = None,
        tilt_mrad: tuple[float, float] | None = None,
        die_offset_mm: tuple[float, float] | None = None,
        url: str = "",
        cycler_bdf: str | None = None,
        tc_compensation_pct_per_c: float | None = None,
    ) -> None:
        self.url = url
        #: where the cycler's own BDF file is written when the press is closed (None: not)
        self.cycler_bdf = cycler_bdf
        self._opened_unix_s = time.time()
        press_cfg = press if isinstance(press, PressCfg) else load_press(press)[0]
        if isinstance(press_cfg.actuator, ManualCfg):  # nobody regulates the ram position
            self.capabilities = Capabilities(constant_gap=False, temperature=True)
        spec_cfg = specimen if isinstance(specimen, SpecimenCfg) else load_specimen(specimen)[0]
        #: the room's temperature and the load cells' span at it (presshil.sim.room)
        self.room = Room(press_cfg.room, seed,
                         press_cfg.load_cells.temperature_coefficient_pct_per_c,
                         tc_compensation_pct_per_c)
        self.model = SimModel(
            press_cfg,
            spec_cfg,
            seed=seed,
            fidelity=fidelity,
            cycling_start_s=cycling_start_s,
            tilt_mrad=tilt_mrad,
            die_offset_mm=die_offset_mm,
        )
        #: the specimen the press was opened with (``swap_specimen()`` puts a fresh one back)
        self.opened_specimen = spec_cfg
        self._clock = SimClock(self.model)
        nch = self.model.n_channels
        self._sample_floats = np.array(
            [
                X_SP_MPA,
                X_MEAS_P_MPA,
                X_MEAS_FORCE_N,
                X_MEAS_POS_M,
                *range(X_MEAS_CH_N, X_MEAS_CH_N + nch),
            ]
        )
        self._last: Sample | None = None
        self._last_ints: list[int] = []
        for spec in parse_faults(faults) if isinstance(faults, str) else (faults or []):
            self.model.schedule_fault(spec)

    # ------------------------------------------------------------------ contract
    @property
    def identity(self) -> Identity:
        """Nameplate, ratings (rated pressure on the configured die area) and channel layout."""
        cfg = self.model.press_cfg
        ident = cfg.identity
        pos = np.array(cfg.load_cells.positions_mm, dtype=float)
        # the cells as mounted, from the press axis (the catalogue's frame): a real press does
        # not know where the die actually sits (platen.die_offset_mm is hidden from it)
        rel = tuple((float(px), float(py)) for px, py in pos)
        return Identity(
            vendor=ident.vendor,
            model=ident.model,
            serial=ident.serial,
            firmware=ident.firmware,
            rated_max_pressure_mpa=self.model.rated_max_pressure_mpa,
            rated_max_force_kn=ident.rated_force_kn,
            channel_count=len(pos),
            channel_positions_mm=rel,
        )

    @property
    def clock(self) -> Clock:
        """The virtual clock (:class:`SimClock`)."""
        return self._clock

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Set die area (mm²), soft limit (MPa, ≤ rated) and watchdog (ms, 0 = off)."""
        if die_area_mm2 is not None and (why := DIE_AREA_MM2.problem(die_area_mm2)):
            raise DeviceFault(f"{why}; refused", code=ILLEGAL_VALUE)
        if watchdog_ms is not None and not (
            isinstance(watchdog_ms, int | float)
            and _finite(watchdog_ms)
            and 0 <= watchdog_ms <= 65535
        ):
            raise DeviceFault(
                f"watchdog must be 0..65535 ms, got {watchdog_ms!r}", code=ILLEGAL_VALUE
            )
        if soft_max_mpa is not None:
            from .params import rated_max_pressure_mpa

            area = die_area_mm2 if die_area_mm2 is not None else self.model.die_area_mm2
            rated = rated_max_pressure_mpa(self.model.press_cfg, area)
            if not (_finite(soft_max_mpa) and 0 < soft_max_mpa <= rated):
                raise DeviceFault(
                    f"soft max pressure must be > 0 and ≤ the rated {rated:g} MPa, got {soft_max_mpa!r}",
                    code=ILLEGAL_VALUE,
                )
        if watchdog_ms is not None and not self.model.press_cfg.firmware.watchdog_enabled:
            watchdog_ms = 0  # the defective firmware accepts the value and never arms it
        self.model.configure(
            die_area_mm2=die_area_mm2,
            soft_max_mpa=soft_max_mpa,
            watchdog_ms=int(watchdog_ms) if watchdog_ms is not None else None,
        )

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """Regulate to ``setpoint_mpa`` at ``rate_mpa_s``.

        Refused with ``DeviceFault(code=3)`` (nothing changes) for a setpoint that is negative,
        not finite, above the soft limit or the rated maximum, or a rate that is not > 0;
        ``DeviceFault(code=4)`` while a fault is latched (reset first). A rate above the
        press's maximum is clamped by the firmware's rate limit.
        """
        self._check_rate(rate_mpa_s)
        m = self.model
        if not _finite(setpoint_mpa) or setpoint_mpa < 0:
            raise DeviceFault(
                f"setpoint must be a finite pressure ≥ 0 MPa, got {setpoint_mpa!r}",
                code=ILLEGAL_VALUE,
            )
        limit = min(m.soft_max_mpa, m.rated_max_pressure_mpa)
        if setpoint_mpa > limit:
            which = "soft limit" if m.soft_max_mpa <= m.rated_max_pressure_mpa else "rated maximum"
            raise DeviceFault(
                f"setpoint {setpoint_mpa:g} MPa is above the {which} {limit:g} MPa; refused",
                code=ILLEGAL_VALUE,
            )
        m.sync()
        if m.faulted:
            raise DeviceFault(self._latched_message(), code=DEVICE_FAILURE)
        m.regulate(float(setpoint_mpa), float(rate_mpa_s))

    def release(self, rate_mpa_s: float) -> None:
        """Ramp down to zero at ``rate_mpa_s`` and open (a no-op in the safe state)."""
        self._check_rate(rate_mpa_s)
        self.model.release(float(rate_mpa_s))

    def stop(self) -> None:
        """E-stop: FAULT + ESTOP latched, force removed, until :meth:`reset`."""
        self.model.stop()

    def reset(self) -> None:
        """Clear a latched fault; the press returns to IDLE (released)."""
        self.model.reset()

    def read(self) -> Sample:
        """The latest firmware sample at the present virtual time."""
        m = self.model
        m.sync()
        ints = m.n[_SAMPLE_INTS].tolist()  # one numpy call each for ints and floats: reads are hot
        if self._last is not None and ints == self._last_ints:
            return self._last
        sp, p, f, pos, *channels = m.x[self._sample_floats].tolist()
        t_s = ints[0] * m.dt
        temp, k = self.room.reading(t_s)  # the room, and the cells' span in it
        sample = Sample(
            t_s=t_s,
            counter=ints[1],
            status=ints[2],
            fault_code=ints[3],
            setpoint_mpa=sp,
            pressure_mpa=p * k,
            force_kn=f * 1e-3 * k,
            position_mm=pos * 1e3,
            channels_kn=tuple(c * 1e-3 * k for c in channels),
            temperature_c=temp,
        )
        self._last, self._last_ints = sample, ints
        return sample

    def heartbeat(self) -> None:
        """Feed the communication watchdog."""
        self.model.heartbeat()

    def set_on_host_loss(self, policy: str) -> None:
        """``hold``: an expired watchdog leaves the active setpoint held (a ramp stops where it
        is) with the host-loss alarm up (:meth:`read_config`), cleared by the next heartbeat;
        ``release``: the watchdog trips into the safe state."""
        self.model.set_on_host_loss(check_policy(policy) == "hold")

    def read_config(self) -> PressConfig:
        """Soft max, die area, watchdog, host-loss policy and alarm, as the firmware has them."""
        m = self.model
        ns = m.ns
        return PressConfig(
            soft_max_mpa=float(m.soft_max_mpa),
            die_area_mm2=float(m.die_area_mm2),
            watchdog_ms=round(ns.wdog_ticks * 1000.0 / m.loop_hz) if ns.wdog_ticks else 0,
            on_host_loss="hold" if ns.host_hold else "release",
            host_lost=bool(ns.host_lost),
        )

    # ------------------------------------------------------------------ simulator extras
    def advance_to(self, t_s: float) -> None:
        """Advance virtual time to ``t_s`` (same as ``clock.sleep_until``)."""
        self.model.advance_to(t_s)

    def inject_fault(self, name: str, at_s: float | None = None, **params: float) -> None:
        """Inject fault ``name`` at virtual time ``at_s`` (default: now). See ``faults.FAULTS``."""
        spec = check(name, params, "inject_fault")
        self.model.schedule_fault(FaultSpec(spec.name, at_s, spec.params))

    def clear_fault(self, name: str, channel: int = 1) -> None:
        """Remove an injected fault condition (a latched firmware fault still needs reset)."""
        check(name, {}, "clear_fault")
        self.model.clear_fault(name, channel)

    def reference_force_kn(self) -> float:
        """Reading of the reference transducer (ISO 376 class) in the load path, kN."""
        self.model.sync()
        return self.model.reference_force_n() * 1e-3

    def hold_gap(self) -> None:
        """Hold the ram at its present position; the pressure then follows the cell.

        The firmware switches from force to ram-position regulation (a PI loop on the
        encoder); ``command()`` or ``release()`` leaves it. A manual press has no position
        control: :class:`CapabilityError`. While a fault is latched: ``DeviceFault(code=4)``.
        """
        m = self.model
        if isinstance(m.press_cfg.actuator, ManualCfg):
            raise CapabilityError(
                f"press {self.url or m.press_cfg.identity.model!r}: a manual press cannot hold a "
                "constant gap (nobody regulates the ram position); it holds its trapped oil and "
                "leaks down"
            )
        m.sync()
        if m.faulted:
            raise DeviceFault(self._latched_message(), code=DEVICE_FAILURE)
        m.hold_gap()

    def swap_specimen(self, specimen: str | SpecimenCfg | None = None) -> None:
        """The operator swaps what is in the die: ``specimen`` (a catalogue name, a ``.toml``
        path or a config), fresh; None puts back a fresh specimen of the kind the press was
        opened with.

        For acceptance: force verification on ``REFERENCE_SPECIMEN`` (steel, with the
        reference transducer in the load path), then the specimen-dependent tests on a fresh
        cell. Only on an unloaded press (released, or in its safe state, with no force on the
        stack); refused with ``DeviceFault(code=3)`` otherwise. The press keeps its clock,
        configuration (die area included: configure it for the new specimen), load-cell
        state and injected faults.
        """
        cfg = (
            self.opened_specimen
            if specimen is None
            else specimen
            if isinstance(specimen, SpecimenCfg)
            else load_specimen(specimen)[0]
        )
        m = self.model
        m.sync()
        if m.state_name not in ("IDLE", "FAULT") or m.true_force_n > 1.0:
            raise DeviceFault(
                f"press {self.url or m.press_cfg.identity.model!r}: cannot swap the specimen under "
                f"load (state {m.state_name}, {m.true_force_n:.1f} N on the stack); release() "
                "and wait until RELEASED first",
                code=ILLEGAL_VALUE,
            )
        m.swap_specimen(cfg)

    def cycler_sink(self) -> CyclerSink:
        """A run sink (``runner.run(..., sinks=(press.cycler_sink(),))``) that starts the
        cycler with a charge when the protocol's cycling — its first top-level ``repeat``
        step — begins, so the breathing follows the protocol's charge and discharge steps."""
        return self.model.cycler_sink()

    def write_cycler_bdf(self, path: str | Path) -> Path:
        """Write what the cycler beside this press recorded (voltage, current, cycle and step
        counts, on its own clock) as a BDF file: ``.bdf.csv`` or ``.bdf.parquet``."""
        from .cycler_file import write_cycler_bdf

        b = self.model.specimen_cfg.breathing
        half = b.period_s / 2.0 if b is not None else 3600.0
        return write_cycler_bdf(Path(path), self.model.cycler.phases, self.model.env.now,
                                self._opened_unix_s, half_period_s=half)

    def close(self) -> None:
        """Write the cycler's BDF file when the URL asked for one (``cycler_bdf=PATH``)."""
        if self.cycler_bdf:
            path, self.cycler_bdf = self.cycler_bdf, None
            try:
                self.write_cycler_bdf(path)
            except OSError as exc:
                raise ConfigError(f"{path}: cannot write the cycler's file: "
                                  f"{exc.strerror or exc}") from None

    def start_cycling(self, at_s: float | None = None) -> None:
        """Start the cycler (breathing) at ``at_s`` (default now), if the specimen breathes."""
        b = self.model.specimen_cfg.breathing
        if b is None or b.amplitude_um <= 0:
            raise ConfigError("this specimen has no [breathing] section: nothing to cycle")
        self.model.start_cycling(at_s)

    # ------------------------------------------------------------------ helpers
    def _check_rate(self, rate_mpa_s: float) -> None:
        if why := RAMP_RATE_MPA_S.problem(rate_mpa_s):
            raise DeviceFault(f"{why}; refused", code=ILLEGAL_VALUE)

    def _latched_message(self) -> str:
        code = int(self.model.n[N_FAULT_CODE])
        try:
            name = FaultCode(code).name
        except ValueError:
            name = str(code)
        return f"press is in its latched safe state (fault {name}); reset() first"

    def __repr__(self) -> str:
        return f"SimPress({self.url or self.identity.model!r}, t={self.model.env.now:.3f} s, {self.model.state_name})"


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


__all__ = ["REFERENCE_SPECIMEN", "SimClock", "SimPress"]
