"""``ProfilePress``: the Press contract over a device profile, whatever the transport.

The transport (Modbus, OPC UA, an ASCII line) only reads signal values and writes command
values; everything else is here: derived quantities and tare (:mod:`.state`), the soft limit
checked before anything is written, heartbeat values, staleness, and — on a monitor-only
press — commands turned into instructions to an operator (:mod:`.operator`).
"""

from __future__ import annotations

import math
import time
from abc import abstractmethod
from dataclasses import replace

from ..clock import Clock, WallClock
from ..errors import DeviceFault, SafetyAbort, TransportError
from ..maps.profile import Profile
from ..maps.profile_state import StateMap, specimen_from, specimen_to
from ..press import Capabilities, Identity, Press, Sample
from ..setpoint_model import AsWritten, SetpointRamp
from ..temperature import compensated
from .operator import Instruction, OperatorPrompts, default_operator

#: die area assumed until ``configure(die_area_mm2=…)`` (a 10 mm die)
DEFAULT_DIE_AREA_MM2 = math.pi * 5.0**2
ILLEGAL_VALUE = 3

Values = dict[str, float | tuple[float, ...]]


class ProfilePress(Press):
    """A press described by a :class:`~presshil.maps.profile.Profile`.

    ``operator`` receives the instructions of a monitor-only press (default: they are only
    logged, in :attr:`operator` ``.instructions``).
    """

    def __init__(self, url: str, profile: Profile, *, operator: OperatorPrompts | None = None) -> None:
        self.url = url
        self.profile = profile
        self.map = StateMap(profile)
        self.operator: OperatorPrompts = operator if operator is not None else default_operator()
        self._abort_reported = False
        self._clock = WallClock()
        self._t0 = time.monotonic()
        self._reads = 0
        self._hb = 0
        self._die_mm2 = DEFAULT_DIE_AREA_MM2
        self._soft_max_mpa = math.inf
        self._setpoint_mpa = 0.0
        self._tare: dict[str, float] = {}
        #: the ramp the press (or its operator) was asked for, on the monotonic clock: the
        #: active setpoint of a press that does not report one
        self._ramp: SetpointRamp | None = None
        #: the host models the active setpoint (the profile has no ``setpoint`` signal)
        self.setpoint_modelled = "setpoint" not in profile.signals
        #: a rate is asked of this press: a rate command, or an operator asked for "about"
        #: a rate; only the former is judged on it by default (a person is not a valve)
        self.takes_rate = "rate" in profile.commands or not profile.capabilities.regulates
        self.rate_by_default = "rate" in profile.commands
        #: the values of the last command as its registers say them (rounding included)
        self.as_written: list[AsWritten] = []
        self._last_pressure_mpa: float | None = None
        self._last_values: Values = {}
        sig = profile.signals
        # staleness is judged once, by the sampler, on the sample counter: a device without
        # one gets a host counter that advances with every read, or (value-change) only when
        # a raw value changed; the profile's stale_s is the sampler's limit for this device
        self._staleness = profile.staleness or ("counter" if "counter" in sig else "none")
        self.stale_after_s = profile.stale_s if self._staleness != "none" else None
        self._changes = 0
        self._last_raw: tuple[object, ...] | None = None
        self.capabilities = Capabilities(
            regulates=profile.capabilities.regulates,
            channels="channel_force" in sig,
            positions="position" in sig,
            counter="counter" in sig,
            watchdog="watchdog" in profile.commands,
            latched_stop=profile.capabilities.regulates,
            constant_gap=profile.capabilities.regulates and "hold_gap" in profile.commands,
            temperature="temperature" in sig,
        )
        d = profile.device
        self._identity = Identity(
            vendor=d.vendor,
            model=d.model,
            serial=d.serial,
            firmware=d.firmware,
            rated_max_pressure_mpa=self._rated_pressure(),
            rated_max_force_kn=profile.rated_force_kn,
            channel_count=profile.channel_count,
        )

    # --- transport ------------------------------------------------------------------------
    @abstractmethod
    def read_values(self) -> tuple[Values, Values]:
        """Every signal once: (raw device numbers, canonical values)."""

    @abstractmethod
    def send(self, what: str, items: list[tuple[str, float | None]]) -> None:
        """Write commands ``(name, canonical value or None for the constant)`` in one go."""

    def send_heartbeat(self, value: int) -> None:
        """Write the heartbeat value."""

    # --- contract -------------------------------------------------------------------------
    @property
    def identity(self) -> Identity:
        """From the profile's ``device`` and ``rating``; rated pressure follows the die area."""
        return self._identity

    @property
    def clock(self) -> Clock:
        """Wall-clock time."""
        return self._clock

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Die area and soft limit are kept here (and written where the profile has registers
        for them); the watchdog is written where the device has one."""
        items: list[tuple[str, float | None]] = []
        cmds = self.profile.commands
        if die_area_mm2 is not None:
            if not die_area_mm2 > 0:
                raise DeviceFault(f"{self.url}: die area {die_area_mm2:g} mm² must be > 0; nothing written", code=ILLEGAL_VALUE)
            self._die_mm2 = float(die_area_mm2)
            self._identity = replace(self._identity, rated_max_pressure_mpa=self._rated_pressure())
            if "die_area" in cmds:
                items.append(("die_area", die_area_mm2))
        if soft_max_mpa is not None:
            rated = self._identity.rated_max_pressure_mpa
            if die_area_mm2 is not None and soft_max_mpa > rated:
                soft_max_mpa = rated  # asked "at the rating" of the die area just set
            if not 0 < soft_max_mpa <= rated * (1 + 1e-9):
                raise DeviceFault(
                    f"{self.url}: soft max {soft_max_mpa:g} MPa outside (0, {rated:g}] MPa (rated); nothing written",
                    code=ILLEGAL_VALUE,
                )
            self._soft_max_mpa = float(soft_max_mpa)
            if "soft_max" in cmds:
                items.append(("soft_max", self._as("soft_max", soft_max_mpa)))
        if watchdog_ms is not None and "watchdog" in cmds:
            items.append(("watchdog", watchdog_ms / 1000.0))
        if items:
            self.send("configure", items)

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """REGULATE (setpoint, rate, command in as few writes as the map allows), or an
        instruction to the operator on a monitor-only press."""
        self._check_setpoint(setpoint_mpa, rate_mpa_s)
        if not self.capabilities.regulates:
            self._instruct(
                Instruction(
                    "pump" if setpoint_mpa > 0 else "release",
                    self._pump_text(setpoint_mpa, rate_mpa_s),
                    setpoint_mpa,
                    rate_mpa_s,
                )
            )
            self._ramp = SetpointRamp(time.monotonic(), self._ramp_start(), setpoint_mpa, rate_mpa_s)
            self._setpoint_mpa = setpoint_mpa
            return
        self.send("command REGULATE", self._regulate_items(setpoint_mpa, rate_mpa_s))
        self._commanded(setpoint_mpa, rate_mpa_s)

    def release(self, rate_mpa_s: float) -> None:
        """RELEASE (or: ask the operator to open the release valve)."""
        if not self.capabilities.regulates:
            self._instruct(
                Instruction("release", f"open the release valve slowly (about {rate_mpa_s:g} MPa/s) until unloaded", 0.0, rate_mpa_s)
            )
            self._ramp = None
            self._setpoint_mpa = 0.0
            return
        items: list[tuple[str, float | None]] = []
        cmds = self.profile.commands
        if "rate" in cmds and rate_mpa_s > 0:
            items.append(("rate", self._as("rate", rate_mpa_s)))
            if "release" in cmds:  # unloading at a rate is a ramp to 0
                items.append(("setpoint", 0.0))
        items.append(("release" if "release" in cmds else "stop", None))
        self.send("command RELEASE", items)
        self._commanded(0.0, rate_mpa_s if "rate" in cmds else 0.0)

    def stop(self) -> None:
        """STOP (or: ask the operator to stop and open the release valve now)."""
        if not self.capabilities.regulates:
            self._instruct(Instruction("stop", "STOP pumping and open the release valve now", 0.0, None))
            self._ramp = None
            self._setpoint_mpa = 0.0
            return
        self.send("command STOP", [("stop", None)])
        if self.setpoint_modelled:  # asked to unload now
            self._ramp, self._setpoint_mpa = None, 0.0

    def reset(self) -> None:
        """RESET (a press without a reset command has nothing to clear)."""
        if "reset" in self.profile.commands:
            self.send("command RESET", [("reset", None)])

    def hold_gap(self) -> None:
        """HOLD_GAP: hold the ram where it is (a press whose profile has the command)."""
        if not self.capabilities.constant_gap:
            super().hold_gap()  # CapabilityError, nothing written
        self.send("command HOLD_GAP", [("hold_gap", None)])

    def heartbeat(self) -> None:
        """Write a new heartbeat value where the profile has a heartbeat register."""
        hb = self.profile.heartbeat
        if hb is None:
            return
        self._hb = (self._hb + 1) & 0xFFFF if hb.mode == "increment" else 1 - (self._hb & 1)
        self.send_heartbeat(self._hb)

    def read(self) -> Sample:
        """Every signal (in the fewest requests the transport allows), converted and derived."""
        cancel = getattr(self.operator, "cancel", None)
        if cancel is not None and cancel.is_set() and not self._abort_reported:
            self._abort_reported = True  # once: the safe-state path reads again afterwards
            raise SafetyAbort(f"{self.url}: the operator aborted the run")
        raw, values = self.read_values()
        return self._sample_of(raw, values)

    def _sample_of(self, raw: Values, values: Values) -> Sample:
        """The sample of one reading of every signal (checked, counted, derived)."""
        total = 0.0  # one sum first: the per-signal search only when something is not finite
        for value in values.values():
            total += sum(value) if isinstance(value, tuple) else value
        for name, value in values.items() if not math.isfinite(total) else ():
            for x in value if isinstance(value, tuple) else (value,):
                if not math.isfinite(x):
                    raise TransportError(
                        f"{self.url}: signal '{name}' ({self.source(name)}) decodes to {x} "
                        f"(raw {raw.get(name)}); check its data_type and word_order"
                    )
        self._reads += 1
        self._last_values = values
        counter_host = self._reads
        if self._staleness == "value-change":
            now_raw = tuple(raw.values())
            if now_raw != self._last_raw:
                self._last_raw, self._changes = now_raw, self._changes + 1
            counter_host = self._changes
        temperature = values.get("temperature")
        if isinstance(temperature, (int, float)):
            values = compensated(values, float(temperature), self.profile.temperature)
        sample = self.map.sample(
            values,
            die_mm2=self._die_mm2,
            tare=self._tare,
            t_host_s=time.monotonic() - self._t0,
            counter_host=counter_host,
            setpoint_host_mpa=self._active_setpoint(),
        )
        if isinstance(temperature, (int, float)):
            sample = replace(sample, temperature_c=float(temperature))
        self._last_pressure_mpa = sample.pressure_mpa
        return sample

    # --- beyond the contract --------------------------------------------------------------
    def tare(self) -> None:
        """Zero the force/pressure readings at the present load (the device's own tare
        command when the profile has one, else a software tare kept by this press)."""
        if "tare" in self.profile.commands:
            self.send("command TARE", [("tare", None)])
            self._tare = {}
            return
        _, values = self.read_values()
        self._tare = {
            k: float(v) for k, v in values.items() if k in ("force", "pressure", "oil_pressure") and not isinstance(v, tuple)
        }

    def source(self, name: str) -> str:
        """Where a signal lives on the wire (for messages and ``probe``)."""
        sig = self.profile.signals[name]
        return sig.node or sig.request or f"{sig.space} {sig.address}"

    def describe_fault(self, code: int) -> str:
        """The profile's text for a device fault code."""
        return self.map.describe_fault(code)

    # --- helpers --------------------------------------------------------------------------
    def _active_setpoint(self) -> float:
        """The setpoint now, where the press does not report it: the ramp the press (or its
        operator) was asked to follow (:class:`~presshil.setpoint_model.SetpointRamp`);
        the last one commanded before any command."""
        if self._ramp is None:
            return self._setpoint_mpa
        return self._ramp.at(time.monotonic())

    def _ramp_start(self) -> float:
        """Where a new ramp starts: the pressure last read, else the setpoint now."""
        p = self._last_pressure_mpa
        return float(p) if p is not None and math.isfinite(p) else self._active_setpoint()

    def _commanded(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """Record a command sent to a regulating press: what its registers say, and the ramp
        of the active setpoint the host models when the press does not report one (a press
        without a rate command is modelled as asked to jump)."""
        written = [self._written("setpoint", setpoint_mpa, "MPa")] if setpoint_mpa > 0 else []
        rate_written = 0.0
        if rate_mpa_s > 0 and "rate" in self.profile.commands:
            written.append(self._written("rate", rate_mpa_s, "MPa/s"))
            rate_written = written[-1].written
        self.as_written = written
        start = self._ramp_start()
        self._setpoint_mpa = setpoint_mpa
        if self.setpoint_modelled:
            self._ramp = SetpointRamp(time.monotonic(), start, setpoint_mpa, rate_written)

    def _written(self, command: str, value_mpa: float, unit: str) -> AsWritten:
        """``value_mpa`` (specimen MPa or MPa/s) as ``command``'s register will say it: an
        integer register rounds to its step (a float32 is taken as exact)."""
        cmd = self.profile.commands[command]
        said = value_mpa
        if self.profile.transport == "modbus" and cmd.data_type not in ("float32", "float64"):
            conv = self.map.converters["cmd:" + command]
            quantity = self.map.quantities.get("cmd:" + command, "pressure")
            raw = round(conv.to_raw(self._as(command, value_mpa)))
            said = specimen_from(quantity, conv.to_canonical(raw), self._die_mm2, self.map.ram_mm2)
        return AsWritten(command, value_mpa, said, unit)

    def _rated_pressure(self) -> float:
        by_force = self.profile.rated_force_kn * 1000.0 / self._die_mm2
        rated = self.profile.rated_pressure_mpa
        return min(by_force, rated) if rated is not None else by_force

    def _as(self, command: str, value_mpa: float) -> float:
        """A specimen pressure (or rate) as the command's quantity, canonical units."""
        quantity = self.map.quantities.get("cmd:" + command, "pressure")
        return specimen_to(quantity, value_mpa, self._die_mm2, self.map.ram_mm2)

    def _regulate_items(self, setpoint_mpa: float, rate_mpa_s: float) -> list[tuple[str, float | None]]:
        """The writes of REGULATE: setpoint, rate where the press takes one, the command."""
        items: list[tuple[str, float | None]] = [("setpoint", self._as("setpoint", setpoint_mpa))]
        if "rate" in self.profile.commands:
            items.append(("rate", self._as("rate", rate_mpa_s)))
        items.append(("regulate", None))
        return items

    def _check_setpoint(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        limit = min(self._soft_max_mpa, self._identity.rated_max_pressure_mpa)
        if not math.isfinite(setpoint_mpa) or not 0.0 <= setpoint_mpa <= limit:
            raise DeviceFault(
                f"{self.url}: setpoint {setpoint_mpa:g} MPa outside 0..{limit:g} MPa "
                f"(soft max {self._soft_max_mpa:g}, rated {self._identity.rated_max_pressure_mpa:g}); nothing written",
                code=ILLEGAL_VALUE,
            )
        if not rate_mpa_s > 0:
            raise DeviceFault(f"{self.url}: ramp rate {rate_mpa_s:g} MPa/s must be > 0; nothing written", code=ILLEGAL_VALUE)

    def _pump_text(self, setpoint_mpa: float, rate_mpa_s: float) -> str:
        shown = ""
        for sig in ("oil_pressure", "force", "pressure"):
            if sig in self.profile.signals:
                conv = self.map.converters[sig]
                qty = {"oil_pressure": "oil_pressure", "force": "force"}.get(sig, "pressure")
                device = conv.unit.from_canonical(specimen_to(qty, setpoint_mpa, self._die_mm2, self.map.ram_mm2))
                shown = f" (indicator reads {device:.4g} {conv.unit.name or ''})".replace(" )", ")")
                break
        if setpoint_mpa < self._setpoint_mpa:
            return f"bleed down to {setpoint_mpa:g} MPa{shown} at about {rate_mpa_s:g} MPa/s, then close the valve"
        return f"pump to {setpoint_mpa:g} MPa{shown} at about {rate_mpa_s:g} MPa/s, then hold"

    def _instruct(self, instruction: Instruction) -> None:
        self.operator.prompt(instruction)


__all__ = ["DEFAULT_DIE_AREA_MM2", "ProfilePress"]
