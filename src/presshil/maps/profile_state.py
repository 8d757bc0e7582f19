"""From converted signal values to a :class:`~presshil.press.Sample`, whatever the transport.

Derived quantities, as lab presses measure them: force from oil pressure × ram area (or
from pressure × die area), pressure from force / die area; a software tare; the status word
(bit masks or enumerated values) mapped onto :class:`~presshil.press.Status`; device fault
codes mapped onto :class:`~presshil.press.FaultCode` where the profile's table names one.
"""

from __future__ import annotations

import math

from ..press import FaultCode, Sample, Status
from .profile import COMMANDS, SIGNALS, Profile
from .profile_codec import Converter

_FAULT_NAMES = {m.name: int(m) for m in FaultCode}


def specimen_to(quantity: str, value_mpa: float, die_mm2: float, ram_mm2: float | None) -> float:
    """A specimen pressure (MPa) expressed as ``quantity`` (MPa, oil MPa or kN)."""
    if quantity == "pressure":
        return value_mpa
    force_kn = value_mpa * die_mm2 / 1000.0
    if quantity == "force":
        return force_kn
    assert ram_mm2 is not None
    return force_kn * 1000.0 / ram_mm2


def specimen_from(quantity: str, value: float, die_mm2: float, ram_mm2: float | None) -> float:
    """The inverse of :func:`specimen_to`."""
    if quantity == "pressure":
        return value
    force_kn = value if quantity == "force" else value * (ram_mm2 or math.nan) / 1000.0
    return force_kn * 1000.0 / die_mm2


def quantity_of(unit_dimension: str, given: str | None) -> str:
    """The quantity a setpoint-like value stands for (its ``quantity`` key or its unit)."""
    return given or ("force" if unit_dimension == "force" else "pressure")


class StateMap:
    """Conversions of one profile, in both directions (the press reads, the emulation writes)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.ram_mm2 = profile.ram_area_mm2
        self.converters: dict[str, Converter] = {}
        self.quantities: dict[str, str] = {}
        for name, sig in profile.signals.items():
            dim = SIGNALS[name] or ("force" if sig.quantity == "force" else "pressure")
            if SIGNALS[name] is None and sig.quantity is None and sig.unit:
                from .units import parse_unit

                dim = parse_unit(sig.unit).dimension
            self.converters[name] = Converter.of(sig, dim)
            if name == "setpoint":
                self.quantities[name] = quantity_of(dim, sig.quantity)
        for name, cmd in profile.commands.items():
            kind = COMMANDS[name]
            if kind == "const":
                continue
            if kind is None:
                from .units import parse_unit

                unit_dim = parse_unit(cmd.unit.removesuffix("/s")).dimension if cmd.unit else None
                dim = {"force": "force"}.get(cmd.quantity or "", unit_dim or "pressure")
                self.quantities["cmd:" + name] = quantity_of(dim, cmd.quantity)
                self.converters["cmd:" + name] = Converter.of(cmd, dim, rate=(name == "rate"))
            else:
                self.converters["cmd:" + name] = Converter.of(cmd, kind)
        status = profile.signals.get("status")
        self._bits = status.bits if status is not None and status.bits else None
        #: the bits are presshil's own (map v1): the word is taken as it is, masked to them
        self._own_mask: int | None = None
        if self._bits is not None and all(Status[n] == 1 << i for n, i in self._bits.items()):
            self._own_mask = sum(1 << i for i in self._bits.values())
        self._values = (
            {int(k): _status_of(v) for k, v in status.values.items()}
            if status is not None and status.values
            else None
        )
        fault = profile.signals.get("fault_code")
        self.fault_text = {int(k): v for k, v in (fault.table or {}).items()} if fault else {}

    # --- reading --------------------------------------------------------------------------
    def status(self, raw: int | None, pressure_mpa: float) -> int:
        """The device status word as :class:`Status` bits (READY alone when there is none)."""
        if raw is None:
            return int(Status.READY)
        if self._values is not None:
            return int(self._values.get(int(raw), Status.FAULT))
        if self._own_mask is not None:
            return int(raw) & self._own_mask
        if self._bits is not None:
            bits = 0
            for name, index in self._bits.items():
                if int(raw) >> index & 1:
                    bits |= Status[name]
            return bits
        return int(raw)  # the device speaks presshil's own bits

    def fault_code(self, raw: int | None) -> int:
        """A device fault code: the :class:`FaultCode` its table names, else the raw code."""
        if raw is None:
            return 0
        text = self.fault_text.get(int(raw))
        if text is not None and text.upper() in _FAULT_NAMES:
            return _FAULT_NAMES[text.upper()]
        return int(raw)

    def describe_fault(self, raw: int) -> str:
        """What the profile's fault table says about ``raw``."""
        return self.fault_text.get(int(raw), f"device fault code {raw}")

    def sample(
        self,
        values: dict[str, float | tuple[float, ...]],
        *,
        die_mm2: float,
        tare: dict[str, float],
        t_host_s: float,
        counter_host: int,
        setpoint_host_mpa: float,
    ) -> Sample:
        """A sample from canonical signal values (tare subtracted here)."""
        def v(name: str) -> float | None:
            x = values.get(name)
            return None if x is None else float(x) - tare.get(name, 0.0)  # type: ignore[arg-type]

        force, pressure, oil = v("force"), v("pressure"), v("oil_pressure")
        if force is None:
            if oil is not None and self.ram_mm2 is not None:
                force = oil * self.ram_mm2 / 1000.0
            elif pressure is not None:
                force = pressure * die_mm2 / 1000.0
            else:
                force = math.nan
        if pressure is None:
            pressure = force * 1000.0 / die_mm2 if die_mm2 > 0 else math.nan
        channels = values.get("channel_force")
        channels_kn = tuple(channels) if isinstance(channels, tuple) else (force,)
        setpoint = values.get("setpoint")
        if setpoint is None:
            setpoint_mpa = setpoint_host_mpa
        else:
            setpoint_mpa = specimen_from(self.quantities["setpoint"], float(setpoint), die_mm2, self.ram_mm2)  # type: ignore[arg-type]
        raw_status = values.get("status")
        status = self.status(None if raw_status is None else int(raw_status), pressure)  # type: ignore[arg-type]
        if not self.profile.capabilities.regulates and setpoint_host_mpa == 0.0 and abs(pressure) < 0.3:
            status |= Status.RELEASED  # monitor-only: unloaded after a release, as read

        counter = values.get("counter")
        t_dev = values.get("device_time")
        return Sample(
            t_s=float(t_dev) if t_dev is not None else t_host_s,  # type: ignore[arg-type]
            counter=int(counter) if counter is not None else counter_host,  # type: ignore[arg-type]
            status=status,
            fault_code=self.fault_code(values.get("fault_code")),  # type: ignore[arg-type]
            setpoint_mpa=setpoint_mpa,
            pressure_mpa=pressure,
            force_kn=force,
            position_mm=float(values.get("position", math.nan)),  # type: ignore[arg-type]
            channels_kn=channels_kn,
        )

    # --- the device side (emulation) ------------------------------------------------------
    def device_status(self, status: int) -> int:
        """:class:`Status` bits as the device reports them (the emulation's side)."""
        if self._values is not None:
            best, best_score = None, -1
            for raw, flags in self._values.items():
                if flags & ~status:
                    continue
                score = bin(int(flags)).count("1")
                if score > best_score:
                    best, best_score = raw, score
            return best if best is not None else next(iter(self._values))
        if self._bits is not None:
            word = 0
            for name, index in self._bits.items():
                if status & Status[name]:
                    word |= 1 << index
            return word
        return status


def _status_of(names: str) -> Status:
    flags = Status(0)
    for name in names.split("|"):
        flags |= Status[name.strip()]
    return flags


__all__ = ["StateMap", "quantity_of", "specimen_from", "specimen_to"]
