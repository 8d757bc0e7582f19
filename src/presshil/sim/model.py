"""The simulated press + cell as a SimPy model: time, and the parts that act on the state.

SimPy owns the clock and the discrete events: host commands, fault injections (and their
end), cycler phases (charge / discharge: the breathing rate changes) and sample requests.
Between two events nothing outside the press changes, so the continuous part — plant,
sensors and the 1 kHz firmware — is advanced in one call to the numba kernel
(:func:`presshil.sim.kernel.advance`), which takes the fast path over settled holds.

The state lives in the kernel's three flat arrays (``p``, ``x``, ``n``); the Python side reads
and writes them by name through :mod:`presshil.sim.state`. :class:`SimModel` owns the arrays
and the clock and hands them to its parts, one job each:

* :class:`~presshil.sim.plant.PlantView` — what the press and stack are doing (true values);
* :class:`~presshil.sim.host.HostCommands` — commands from the host;
* :class:`~presshil.sim.injector.FaultInjector` — faults (one class per fault);
* :class:`~presshil.sim.cycler.Cycler` — charge / discharge phases (breathing);
* :class:`~presshil.sim.capture.Recorder` — every firmware sample of a capture.

Every event handler first synchronises the kernel to the event's time; the event then
changes the state between two ticks, exactly as a command arriving over a wire would be seen
by the next firmware sample.

Timing convention: after ``sync(t)`` every tick ``k`` with ``k dt <= t`` has run; the latest
firmware sample is stamped ``k dt``; a command at ``t`` takes effect on tick ``k + 1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import simpy

from ..errors import ConfigError
from . import kernel
from .capture import Recorder, TickTrace
from .catalogue import PressCfg, SpecimenCfg
from .cycler import Cycler, CyclerSink
from .faults import FaultSpec
from .host import HostCommands
from .injector import FaultInjector
from .layout import FW_FAULT, FW_IDLE, MAX_CH, N_SIZE, N_TICK, RET_RECORD_FULL, X_SIZE
from .params import build_params
from .plant import PlantView
from .specimen import set_compaction
from .state import FloatState, IntState, Params


def advance_env(env: simpy.Environment, t: float) -> None:
    """Process every SimPy event due at or before ``t``, then move the clock to exactly ``t``.

    ``env.run(until=t)`` would stop *before* events at exactly ``t`` (its stop event is
    urgent) and lands on ``now + (t - now)``, which rounding can put one ulp off ``t``; so the
    due events are stepped here, then one timeout whose delay is chosen to land on ``t``
    exactly is scheduled and stepped (nothing else is due before it): the clock moves only
    through SimPy's own event processing.
    """
    while env.peek() <= t:
        env.step()
    now = env.now
    if t > now:
        delay = t - now
        while now + delay < t:
            delay = math.nextafter(delay, math.inf)
        while now + delay > t and delay > 0:
            delay = math.nextafter(delay, 0.0)
        env.timeout(delay)
        env.step()


def _plant_property(name: str) -> property:
    """A read-only property answered by the model's :class:`PlantView` (same name, same doc)."""
    return property(lambda self: getattr(self.plant, name), doc=getattr(PlantView, name).__doc__)


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
        self._platen = (tilt_mrad, die_offset_mm)
        self._cycling_start_s = cycling_start_s
        #: the kernel's arrays: parameters, float state, int state (see sim/layout.py)
        self.p = build_params(press, specimen, tilt_mrad=tilt_mrad, die_offset_mm=die_offset_mm)
        self.x = np.zeros(X_SIZE)
        self.n = np.zeros(N_SIZE, dtype=np.int64)
        #: the same arrays by name
        self.ps, self.xs, self.ns = Params(self.p), FloatState(self.x), IntState(self.n)
        self.dt = self.ps.dt_s
        self.loop_hz = press.firmware.loop_hz
        self.n_channels = int(self.ps.n_ch)
        ns, xs = self.ns, self.xs
        ns.seed = self.seed
        ns.fast = 1 if fidelity == "fast" else 0
        ns.fw_state = FW_IDLE
        ns.released = 1
        xs.die_area_m2 = specimen.die_area_mm2 * 1e-6
        xs.soft_max_mpa = self.ps.rated_max_mpa
        xs.op_gain_mpa = self.ps.op_gain0_mpa
        xs.op_release_open = 1.0  # a manual press at rest has its release valve open
        xs.creep_hardness = 1.0  # annealed Li
        set_compaction(self.p, self.x, 0.0)
        self._ch_true = np.zeros(2 * MAX_CH)  # true channel split, then channel noise
        self.recorder = Recorder(ns, self.n_channels)
        #: plant mode: the firmware is outside the model (see :meth:`set_actuator`)
        self.external_firmware = False
        self.env = simpy.Environment()
        self.plant = PlantView(xs, ns, self.ps, press)
        self.host = HostCommands(
            xs, ns, self.ps, press, sync=self.sync, now=self.now, loop_hz=self.loop_hz
        )
        self.injector = FaultInjector(
            self.env,
            xs,
            ns,
            self.ps,
            press,
            sync=self.sync,
            stop=self.host.stop,
            trip_limit_mpa=self.plant.trip_limit_mpa,
            transient=self.host.transient,
        )
        self.cycler = Cycler(self.env, specimen.breathing, self._set_swell_rate)
        self._start_cycler(0.0)
        self.sync(0.0)

    def _start_cycler(self, since_s: float) -> None:
        """Start the cycling when the specimen (or the URL) says, counted from ``since_s``."""
        breathing = self.specimen_cfg.breathing
        start = breathing.start_s if breathing is not None else None
        if self._cycling_start_s is not None:
            start = self._cycling_start_s
        if start is not None and start >= 0:
            self.cycler.start(since_s + start)

    # ------------------------------------------------------------------ time
    @property
    def fidelity(self) -> str:
        """``"fast"`` (macro steps over settled holds) or ``"full"`` (every tick)."""
        return "fast" if self.ns.fast else "full"

    @fidelity.setter
    def fidelity(self, value: str) -> None:
        if value not in ("fast", "full"):
            raise ConfigError(f"fidelity must be 'fast' or 'full', got {value!r}")
        self.ns.fast = 1 if value == "fast" else 0

    def now(self) -> float:
        """Virtual time (s)."""
        return self.env.now

    def sync(self, t: float | None = None) -> None:
        """Run the kernel through every tick at or before ``t`` (default: now)."""
        t = self.env.now if t is None else t
        tick_end = math.floor(t * self.loop_hz + 1e-6) + 1
        if tick_end <= self.n[N_TICK]:  # runs on every read: the raw index keeps it cheap
            return
        step = kernel.advance_plant if self.external_firmware else kernel.advance
        rec = self.recorder
        while step(self.p, self.x, self.n, tick_end, self._ch_true, rec.buffer) == RET_RECORD_FULL:
            rec.flush()

    def advance_to(self, t: float) -> None:
        """Advance virtual time to ``t``: SimPy events on the way, then the kernel up to ``t``."""
        if t > self.env.now:
            advance_env(self.env, t)
        self.sync(t)

    def set_actuator(self, mode: int, command: float) -> None:
        """Plant mode: the actuator mode (``AM_*``) and command from the next tick on.

        ``command`` is the servo-valve spool opening (−1..1) or the ram speed demand (m/s),
        as the reference firmware would leave it in ``x[X_U]``.
        """
        self.sync()
        self.ns.act_mode = mode
        self.xs.u = command

    @contextmanager
    def capture(self, chunk_ticks: int = 65536) -> Iterator[list[TickTrace]]:
        """Record every firmware sample while the block runs (forces full fidelity).

        Yields a list that holds one :class:`TickTrace` when the block exits.
        """
        self.sync()
        out: list[TickTrace] = []
        self.recorder.start(chunk_ticks)
        try:
            yield out
        finally:
            self.sync()
            out.append(self.recorder.finish())

    # ------------------------------------------------------------------ observation
    state_name = _plant_property("state_name")
    true_force_n = _plant_property("true_force_n")
    true_pressure_mpa = _plant_property("true_pressure_mpa")
    ram_position_m = _plant_property("ram_position_m")
    stack_stiffness_n_per_m = _plant_property("stack_stiffness_n_per_m")
    frame_stiffness_n_per_m = _plant_property("frame_stiffness_n_per_m")
    oil_stiffness_n_per_m = _plant_property("oil_stiffness_n_per_m")
    creep_strain = _plant_property("creep_strain")
    swell_m = _plant_property("swell_m")
    true_channel_forces_n = _plant_property("true_channel_forces_n")

    def reference_force_n(self) -> float:
        """Reading of the reference transducer in the load path: truth plus a small error."""
        return self.plant.reference_force_n(self.seed)

    def stats(self) -> dict[str, int]:
        """Ticks computed one by one, macro steps and the ticks they covered."""
        return self.plant.stats()

    def trip_limit_mpa(self) -> float:
        """Measured pressure above which the firmware's over-pressure trip fires."""
        return self.plant.trip_limit_mpa()

    @property
    def die_area_mm2(self) -> float:
        """Die area the firmware divides by (mm²)."""
        return self.xs.die_area_m2 * 1e6

    @property
    def soft_max_mpa(self) -> float:
        """Configured soft pressure limit (MPa)."""
        return self.xs.soft_max_mpa

    @property
    def rated_max_pressure_mpa(self) -> float:
        """Rated maximum pressure on the configured die area (MPa)."""
        return self.ps.rated_max_mpa

    # ------------------------------------------------------------------ host commands
    @property
    def faulted(self) -> bool:
        """True while a fault is latched."""
        return self.ns.fw_state == FW_FAULT

    def regulate(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """Go to ``setpoint_mpa`` at ``rate_mpa_s`` and hold (see :class:`HostCommands`)."""
        self.host.regulate(setpoint_mpa, rate_mpa_s)

    def release(self, rate_mpa_s: float) -> None:
        """Ramp down to zero at ``rate_mpa_s`` and open."""
        self.host.release(rate_mpa_s)

    def stop(self) -> None:
        """E-stop: latch the safe state now."""
        self.host.stop()

    def reset(self) -> None:
        """Clear a latched fault (the causes of injected faults remain)."""
        self.host.reset()

    def heartbeat(self) -> None:
        """Feed the communication watchdog (ignored while a comm_loss fault is active)."""
        self.host.heartbeat()

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Set die area, soft limit and watchdog (values already validated by the caller)."""
        self.host.configure(
            die_area_mm2=die_area_mm2, soft_max_mpa=soft_max_mpa, watchdog_ms=watchdog_ms
        )

    def set_on_host_loss(self, hold: bool) -> None:
        """The loss-of-host policy: hold the active setpoint (True) or trip (False)."""
        self.host.set_on_host_loss(hold)

    def hold_gap(self) -> None:
        """Hold the ram where it is: the stack force then follows the cell."""
        self.host.hold_gap()

    def swap_specimen(self, specimen: SpecimenCfg) -> None:
        """Put ``specimen``, fresh, in the die in place of the present one (press unloaded).

        The press keeps its clock, configuration, load-cell state and injected faults; the
        stack starts anew: no compaction, no creep, no breathing so far, out of contact by
        the present gap. The cycling starts again as for a newly opened press, counted from
        now. The caller checks that the press is unloaded.
        """
        self.sync()
        tilt, offset = self._platen
        fresh = build_params(self.press_cfg, specimen, tilt_mrad=tilt, die_offset_mm=offset)
        rated = self.ps.rated_max_mpa  # follows the configured die area, not the specimen
        self.p[:] = fresh
        self.ps.rated_max_mpa = rated
        self.specimen_cfg = specimen
        xs = self.xs
        xs.force_n = 0.0
        xs.creep_strain = 0.0
        xs.creep_hardness = 1.0
        xs.swell_m = xs.swell_rate_m_s = xs.spike_rate_m_s = 0.0
        set_compaction(self.p, self.x, 0.0)
        self.cycler.stop()
        self.cycler.breathing = (
            specimen.breathing
            if specimen.breathing is not None and specimen.breathing.amplitude_um > 0
            else None
        )
        self._start_cycler(self.env.now)
        self.host.transient()

    # ------------------------------------------------------------------ faults and cycler
    def schedule_fault(self, spec: FaultSpec) -> None:
        """Inject ``spec`` at its time (now if None or already past)."""
        self.injector.schedule(spec)

    def clear_fault(self, name: str, channel: int = 1) -> None:
        """Remove an injected fault condition (a latched firmware fault still needs reset)."""
        self.injector.clear(name, channel)

    def start_cycling(self, at_s: float | None = None) -> None:
        """Start the cycler with a charge at ``at_s`` (default now), replacing a running one."""
        self.cycler.start(self.env.now if at_s is None else at_s)

    def cycler_sink(self) -> CyclerSink:
        """A run sink that starts the cycler when a protocol's cycling begins."""
        return CyclerSink(self.cycler, self.now)

    def _set_swell_rate(self, rate_m_s: float) -> None:
        self.sync()
        self.xs.swell_rate_m_s = rate_m_s
        self.host.transient()


__all__ = ["SimModel", "TickTrace", "advance_env"]
