"""``PlantModel``: the simulated press without its controller.

The SimPy + numba model of :mod:`presshil.sim` in *plant mode*
(:attr:`~presshil.sim.model.SimModel.external_firmware`): mechanics, specimen, load cells and
encoder advance tick by tick, and the actuator obeys whatever the external firmware last
wrote. The reference controller's state in the model is left idle and unused.

The plant also owns what is not the firmware's: the e-stop button and the hard-wired safety
chain behind it (pressing it cuts the actuator whatever the firmware commands), and the
ground truth the judge reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError, PressURLError
from ..maps.plant import (
    CHANNEL_SLOTS,
    DRIVE_FOLLOW,
    DRIVE_HOLD,
    DRIVE_SAFE,
    KIND_HYDRAULIC,
    KIND_SERVO,
    PLANT_MAP_VERSION,
    PS_CHAIN_OPEN,
    PS_DRIVE_ON,
    PS_ESTOP,
    PS_RUNNING,
)
from ..sim.faults import FaultSpec, check
from ..sim.layout import (
    ACT_HYDRAULIC,
    ACT_SERVO,
    AM_DRIVE,
    AM_HOLD,
    AM_UNLOAD,
    N_COUNTER,
    N_SAMPLE_TICK,
    P_ACT_KIND,
    P_CH_FS_N,
    P_MOTOR_V_MAX_M_S,
    P_N_CH,
    P_PISTON_AREA_M2,
    P_PUMP_FLOW_M3_S,
    P_SPEC_AREA_M2,
    P_SUPPLY_PA,
    P_VALVE_FLOW_M3_S,
    X_MEAS_CH_N,
    X_MEAS_POS_M,
)
from ..sim.model import SimModel
from ..sim.press import SimPress
from ..sim.press_url import open_sim_press
from ..urls import parse_press_url

#: faults that live in the firmware, not in the plant: meaningless in plant mode
FIRMWARE_FAULTS = ("controller_freeze", "comm_loss")
#: how long an injected e-stop press holds the button down, unless told
ESTOP_PRESS_S = 0.2
_DRIVE_TO_MODE = {DRIVE_SAFE: AM_UNLOAD, DRIVE_FOLLOW: AM_DRIVE, DRIVE_HOLD: AM_HOLD}


@dataclass(frozen=True)
class Truth:
    """What really happens, for the judge: total and per-channel force, ram travel."""

    counter: int
    t_s: float
    force_kn: float
    position_mm: float
    channels_kn: tuple[float, ...]


class PlantModel:
    """Press mechanics + specimen + sensors, with the actuator commanded from outside."""

    def __init__(self, press_url: str = "sim://") -> None:
        parsed = parse_press_url(press_url)
        if not parsed.is_simulated:
            raise PressURLError(
                f"plant URL {press_url!r}: the plant is a simulated press, use sim://NAME?…"
            )
        self.url = press_url
        self._refuse_firmware_faults(parsed.query.get("faults", ""), press_url)
        self._sim: SimPress = open_sim_press(parsed)
        self.model: SimModel = self._sim.model
        self.model.external_firmware = True
        kind = int(self.model.p[P_ACT_KIND])
        if kind not in (ACT_HYDRAULIC, ACT_SERVO):
            raise ConfigError(
                f"plant URL {press_url!r}: {self.model.press_cfg.identity.model} is a manual press; "
                "there is no controller to put in the loop"
            )
        self.kind = KIND_HYDRAULIC if kind == ACT_HYDRAULIC else KIND_SERVO
        self.n_channels = int(self.model.p[P_N_CH])
        self.dt = self.model.dt
        self.drive_mode = DRIVE_SAFE
        self.demand = 0.0
        self._estop_until = -math.inf
        #: drop the actuator to SAFE when no command came for this long (plant time, s);
        #: None: hold the last command (see :meth:`advance_to`)
        self.link_quiet_s: float | None = None
        self._last_command_s = 0.0
        self.model.set_actuator(AM_UNLOAD, 0.0)

    @staticmethod
    def _refuse_firmware_faults(text: str, url: str) -> None:
        for name in FIRMWARE_FAULTS:
            if name in text:
                raise ConfigError(
                    f"plant URL {url!r}: fault {name!r} belongs to the firmware, not the plant; "
                    "break the firmware instead (see docs/firmware.md)"
                )

    # --- time -----------------------------------------------------------------------------
    def now(self) -> float:
        """Plant time (s)."""
        return self.model.now()

    def advance_to(self, t_s: float) -> None:
        """Advance the plant to ``t_s`` (every tick at or before it has run)."""
        self.model.advance_to(t_s)
        quiet = self.link_quiet_s
        if (
            quiet is not None
            and self.drive_mode != DRIVE_SAFE
            and self.model.now() - self._last_command_s > quiet
        ):
            # the valve amplifier's / drive's own watchdog: a controller that stopped talking
            # (crashed, killed, an emulator stopped from outside) leaves the press safe
            self.drive_mode, self.demand = DRIVE_SAFE, 0.0
            self._apply_drive()
        if self.estop_pressed and self.model.now() >= self._estop_until:
            self._estop_until = -math.inf
            self._apply_drive()

    @property
    def counter(self) -> int:
        """Sample counter of the newest sample."""
        return int(self.model.n[N_COUNTER])

    @property
    def sample_time_s(self) -> float:
        """Plant time of the newest sample."""
        return float(self.model.n[N_SAMPLE_TICK]) * self.dt

    # --- the firmware's I/O ---------------------------------------------------------------
    @property
    def estop_pressed(self) -> bool:
        """True while the e-stop button is held down."""
        return self._estop_until > -math.inf

    def status(self) -> int:
        """Status bits of input register 0."""
        bits = PS_RUNNING
        if self.estop_pressed:
            bits |= PS_ESTOP | PS_CHAIN_OPEN
        elif self.drive_mode != DRIVE_SAFE:
            bits |= PS_DRIVE_ON
        return bits

    def sensors(self) -> dict[str, object]:
        """The sensor block, by field name (engineering units of the plant map)."""
        x = self.model.x
        nch = self.n_channels
        return {
            "status": self.status(),
            "channel_count": nch,
            "sample_counter": self.counter,
            "sample_time": round(self.sample_time_s * 1e6) & 0xFFFFFFFF,
            "position": float(x[X_MEAS_POS_M]) * 1e3,
            "load_cell": [float(v) * 1e-3 for v in x[X_MEAS_CH_N : X_MEAS_CH_N + nch]],
        }

    def command(self, drive_mode: int, demand: float) -> None:
        """The actuator command the firmware wrote; takes effect on the next tick.

        Raises :class:`ValueError` for an unknown mode or a demand that is not finite.
        """
        if drive_mode not in _DRIVE_TO_MODE:
            raise ValueError(f"drive mode {drive_mode} unknown (0 SAFE, 1 FOLLOW, 2 HOLD)")
        if not math.isfinite(demand):
            raise ValueError(f"demand {demand} is not a finite number")
        self.drive_mode = drive_mode
        self.demand = demand
        self._last_command_s = self.model.now()
        self._apply_drive()

    def warm_up(self) -> None:
        """Pay first-use costs (the kernel's JIT cache load: ~25 ms on a first advance) on a
        scratch plant of the same URL, before real time starts rather than inside the
        firmware's first stale-sensor window. This plant is left as it was."""
        scratch = PlantModel(self.url)
        for mode, demand in ((DRIVE_FOLLOW, 0.1), (DRIVE_HOLD, 0.0), (DRIVE_SAFE, 0.0)):
            scratch.command(mode, demand)
            scratch.advance_to(scratch.now() + 10 * scratch.dt)
            scratch.sensors()
            scratch.truth_block()
            scratch.status()

    def _apply_drive(self) -> None:
        if self.estop_pressed:  # the hard-wired chain overrides the firmware
            self.model.set_actuator(AM_UNLOAD, 0.0)
            return
        if self.kind == KIND_HYDRAULIC:
            command = min(max(self.demand, -1.0), 1.0)
        else:
            v_max = float(self.model.p[P_MOTOR_V_MAX_M_S])
            command = min(max(self.demand * 1e-3, -v_max), v_max)
        self.model.set_actuator(_DRIVE_TO_MODE[self.drive_mode], command)

    # --- nameplate ------------------------------------------------------------------------
    def nameplate(self) -> dict[str, object]:
        """The nameplate block, by field name."""
        p, cfg = self.model.p, self.model.press_cfg
        hydraulic = self.kind == KIND_HYDRAULIC
        l_per_min = 60e3
        compliance = cfg.firmware.nominal_compliance_um_per_kn
        return {
            "plant_map_version": PLANT_MAP_VERSION,
            "actuator_kind": self.kind,
            "sample_rate": 1.0 / self.dt,
            "rated_force": cfg.identity.rated_force_kn,
            "rated_max_pressure": cfg.identity.rated_max_pressure_mpa,
            "load_cell_capacity": float(p[P_CH_FS_N]) * 1e-3,
            "piston_area": float(p[P_PISTON_AREA_M2]) * 1e6 if hydraulic else 0.0,
            "supply_pressure": float(p[P_SUPPLY_PA]) * 1e-6 if hydraulic else 0.0,
            "valve_flow": float(p[P_VALVE_FLOW_M3_S]) * l_per_min if hydraulic else 0.0,
            "pump_flow": float(p[P_PUMP_FLOW_M3_S]) * l_per_min if hydraulic else 0.0,
            "max_speed": float(p[P_MOTOR_V_MAX_M_S]) * 1e3 if not hydraulic else 0.0,
            "nominal_compliance": float(compliance) if compliance else 0.0,
            "die_area": float(p[P_SPEC_AREA_M2]) * 1e6,
            "load_cell_position": self._positions(),
        }

    def _positions(self) -> list[float]:
        """Load-cell (x, y) relative to the die centre, as :class:`SimPress` reports them."""
        flat = [c for xy in self._sim.identity.channel_positions_mm for c in xy]
        return flat + [math.nan] * (2 * CHANNEL_SLOTS - len(flat))

    # --- the judge's ----------------------------------------------------------------------
    def truth(self) -> Truth:
        """The ground truth now."""
        channels = self.model.true_channel_forces_n
        return Truth(
            counter=self.counter,
            t_s=self.now(),
            force_kn=self.model.true_force_n * 1e-3,
            position_mm=self.model.ram_position_m * 1e3,
            channels_kn=tuple(float(v) * 1e-3 for v in channels),
        )

    def truth_block(self) -> dict[str, object]:
        """The ground-truth fields of the judge's block."""
        t = self.truth()
        return {
            "truth_counter": t.counter,
            "true_force": t.force_kn,
            "true_position": t.position_mm,
            "true_channel": list(t.channels_kn) + [0.0] * (CHANNEL_SLOTS - len(t.channels_kn)),
        }

    def inject(self, name: str, **params: float) -> None:
        """Inject a plant fault now: a :mod:`presshil.sim.faults` name, ``estop`` or ``clear``.

        ``estop`` holds the e-stop button for ``duration_s`` (default 0.2 s); ``overpressure``
        needs ``mpa`` (the plant does not know the firmware's trip level).
        """
        if name == "clear":
            for fault in ("sensor_stuck", "open_wire", "sensor_drift", "sensor_saturation"):
                for ch in range(1, self.n_channels + 1):
                    self.model.clear_fault(fault, channel=ch)
            for fault in ("leak", "stuck_valve", "runaway"):
                self.model.clear_fault(fault)
            return
        if name == "estop":
            hold = params.get("duration_s") or ESTOP_PRESS_S
            self.model.sync()
            self._estop_until = self.now() + hold
            self._apply_drive()
            return
        if name in FIRMWARE_FAULTS:
            raise ConfigError(f"fault {name!r} belongs to the firmware, not the plant")
        if name == "overpressure" and not params.get("mpa"):
            raise ConfigError("fault 'overpressure' in the plant needs mpa (the surge, MPa)")
        spec = check(name, dict(params), "plant fault")
        self.model.schedule_fault(FaultSpec(spec.name, None, spec.params))


__all__ = ["ESTOP_PRESS_S", "FIRMWARE_FAULTS", "PlantModel", "Truth"]
