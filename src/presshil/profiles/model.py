"""The device profile: how an existing press maps onto the Press contract.

A profile is a TOML file (see docs/profiles.md). This module is its schema, checked with
pydantic, plus the checks across keys (overlapping registers, required signals, ratings
that contradict their units). Values with units are strings such as ``"250 kN"``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..press import Status
from .units import CANONICAL, UnitError, parse_quantity, parse_unit

Space = Literal["holding", "input", "coil", "discrete"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "bool"]
WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]
Quantity = Literal["pressure", "oil_pressure", "force"]

#: data type -> registers taken
WIDTH = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4, "bool": 1}

#: signal name -> dimension of its unit
SIGNALS = {
    "pressure": "pressure",
    "oil_pressure": "pressure",
    "force": "force",
    "position": "length",
    "setpoint": None,  # pressure or force, following its quantity
    "channel_force": "force",
    "status": "count",
    "fault_code": "count",
    "counter": "count",
    "device_time": "time",
}
#: command name -> dimension of the value written (None: a constant)
COMMANDS = {
    "setpoint": None,
    "rate": None,
    "regulate": "const",
    "release": "const",
    "stop": "const",
    "reset": "const",
    "tare": "const",
    "watchdog": "time",
    "soft_max": None,
    "die_area": "area",
}
STATUS_NAMES = tuple(m.name for m in Status if m.name)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(_Strict):
    """One value the press reports: where it is on the wire and how to convert it."""

    # Modbus
    address: int | None = Field(default=None, ge=0, le=65535)
    space: Space = "holding"
    data_type: DataType = "uint16"
    word_order: WordOrder | None = None
    bit: int | None = Field(default=None, ge=0, le=15)
    count: int = Field(default=1, ge=1, le=8)
    # OPC UA
    node: str | None = None
    # ASCII line instrument
    request: str | None = None
    reply: str | None = None
    #: what the instrument sends, for the emulation (``"{value:+09.2f} bar"``)
    reply_format: str | None = None
    # conversion
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    quantity: Quantity | None = None
    # status: bit masks or enumerated values; fault code descriptions
    bits: dict[str, int] | None = None
    values: dict[str, str] | None = None
    table: dict[str, str] | None = None

    @field_validator("bits")
    @classmethod
    def _bits(cls, bits: dict[str, int] | None) -> dict[str, int] | None:
        for name, index in (bits or {}).items():
            if name not in STATUS_NAMES:
                raise ValueError(f"unknown status bit {name!r}; allowed: {', '.join(STATUS_NAMES)}")
            if not 0 <= index <= 31:
                raise ValueError(f"bit index {index} of {name} outside 0..31")
        return bits

    @field_validator("values")
    @classmethod
    def _values(cls, values: dict[str, str] | None) -> dict[str, str] | None:
        for raw, names in (values or {}).items():
            if not re.fullmatch(r"-?\d+", raw):
                raise ValueError(f"status value {raw!r} is not an integer")
            for name in names.split("|"):
                if name.strip() not in STATUS_NAMES:
                    raise ValueError(
                        f"status value {raw}: unknown status {name.strip()!r}; "
                        f"allowed: {', '.join(STATUS_NAMES)}"
                    )
        return values

    @field_validator("table")
    @classmethod
    def _table(cls, table: dict[str, str] | None) -> dict[str, str] | None:
        for raw in table or {}:
            if not re.fullmatch(r"\d+", raw):
                raise ValueError(f"fault code {raw!r} is not a non-negative integer")
        return table

    @field_validator("reply")
    @classmethod
    def _reply(cls, reply: str | None) -> str | None:
        if reply is not None:
            try:
                pattern = re.compile(reply)
            except re.error as exc:
                raise ValueError(f"reply is not a regular expression: {exc}") from None
            if pattern.groups < 1:
                raise ValueError("reply needs one group '(…)' around the number")
        return reply

    @property
    def width(self) -> int:
        """Registers (or bits) taken on the wire."""
        return WIDTH[self.data_type] * self.count


class Command(_Strict):
    """A write the press understands: a value (setpoint, rate, …) or a constant (REGULATE…)."""

    address: int | None = Field(default=None, ge=0, le=65535)
    space: Literal["holding", "coil"] = "holding"
    data_type: DataType = "uint16"
    word_order: WordOrder | None = None
    node: str | None = None
    method: str | None = None
    request: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    quantity: Quantity | None = None
    #: constant written by REGULATE/RELEASE/STOP/RESET/TARE
    value: float | None = None
    #: write ``value``, then 0 after this many ms (a push button)
    pulse_ms: int = Field(default=0, ge=0, le=10000)
    #: read the register back after writing and refuse a mismatch
    confirm: bool = False

    @property
    def width(self) -> int:
        """Registers taken on the wire."""
        return WIDTH[self.data_type]


class Heartbeat(_Strict):
    """A register the host writes to feed the device's watchdog."""

    address: int | None = Field(default=None, ge=0, le=65535)
    space: Literal["holding", "coil"] = "holding"
    node: str | None = None
    mode: Literal["increment", "toggle"] = "increment"


class Device(_Strict):
    """What the identity of the press says."""

    vendor: str = "unknown vendor"
    model: str = "press"
    serial: str = "unknown"
    firmware: str = "unknown"


class Capabilities(_Strict):
    """What the press can do; the runner judges only what is there."""

    regulates: bool = True


class Rating(_Strict):
    """Ratings as quantities with units (``"250 kN"``)."""

    force: str
    pressure: str | None = None
    oil_pressure: str | None = None


class Hydraulics(_Strict):
    """The ram (piston) of a hydraulic press: force = oil pressure × ram area."""

    ram_area: str | None = None
    ram_diameter: str | None = None


class Ascii(_Strict):
    """Line settings of an ASCII instrument."""

    terminator: str = "\r\n"
    encoding: str = "ascii"


class Profile(_Strict):
    """A whole device profile (the TOML file's top level)."""

    name: str
    description: str = ""
    transport: Literal["modbus", "opcua", "ascii"] = "modbus"
    max_block: int = Field(default=125, ge=1, le=125)
    max_gap: int = Field(default=0, ge=0, le=125)
    word_order: WordOrder = "ABCD"
    staleness: Literal["counter", "value-change", "none"] | None = None
    stale_s: float = Field(default=2.0, ge=0)
    device: Device = Device()
    capabilities: Capabilities = Capabilities()
    rating: Rating
    hydraulics: Hydraulics = Hydraulics()
    ascii: Ascii = Ascii()
    signals: dict[str, Signal]
    commands: dict[str, Command] = {}
    heartbeat: Heartbeat | None = None

    @field_validator("signals")
    @classmethod
    def _signal_names(cls, signals: dict[str, Signal]) -> dict[str, Signal]:
        for name in signals:
            if name not in SIGNALS:
                raise ValueError(f"unknown signal {name!r}; allowed: {', '.join(SIGNALS)}")
        return signals

    @field_validator("commands")
    @classmethod
    def _command_names(cls, commands: dict[str, Command]) -> dict[str, Command]:
        for name in commands:
            if name not in COMMANDS:
                raise ValueError(f"unknown command {name!r}; allowed: {', '.join(COMMANDS)}")
        return commands

    # --- derived values -------------------------------------------------------------------
    @property
    def ram_area_mm2(self) -> float | None:
        """The ram area in mm² (from ``ram_area`` or ``ram_diameter``), if given."""
        h = self.hydraulics
        if h.ram_area is not None:
            return parse_quantity(h.ram_area, "area")
        if h.ram_diameter is not None:
            d = parse_quantity(h.ram_diameter, "length")
            return 3.141592653589793 * d * d / 4.0
        return None

    @property
    def rated_force_kn(self) -> float:
        """Rated force in kN."""
        return parse_quantity(self.rating.force, "force")

    @property
    def rated_pressure_mpa(self) -> float | None:
        """Rated specimen pressure in MPa, if the profile gives one."""
        return None if self.rating.pressure is None else parse_quantity(self.rating.pressure, "pressure")

    @property
    def channel_count(self) -> int:
        """Load-cell channels (1 when the press reports only a total)."""
        sig = self.signals.get("channel_force")
        return sig.count if sig is not None else 1


class ProfileCheck(ValueError):
    """A cross-key check failed; ``key`` is the dotted key it concerns."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def _dimension_of(name: str, quantity: str | None, unit: str, key: str) -> str:
    if quantity in ("pressure", "oil_pressure"):
        return "pressure"
    if quantity == "force":
        return "force"
    try:
        return parse_unit(unit.removesuffix("/s")).dimension
    except UnitError as exc:
        raise ProfileCheck(key, str(exc)) from None


def check_profile(p: Profile) -> None:
    """Checks across keys; raises :class:`ProfileCheck` naming the key."""
    for key in ("force", "pressure", "oil_pressure"):
        text = getattr(p.rating, key)
        if text is None:
            continue
        dim = "force" if key == "force" else "pressure"
        try:
            value = parse_quantity(text, dim)
        except UnitError as exc:
            raise ProfileCheck(f"rating.{key}", f"rated {key.replace('_', ' ')} {text!r}: {exc}") from None
        if not value > 0:
            raise ProfileCheck(f"rating.{key}", f"rated {key} {text!r} must be > 0")
    for key, dim in (("ram_area", "area"), ("ram_diameter", "length")):
        text = getattr(p.hydraulics, key)
        if text is not None:
            try:
                if not parse_quantity(text, dim) > 0:
                    raise UnitError(f"{text!r} must be > 0")
            except UnitError as exc:
                raise ProfileCheck(f"hydraulics.{key}", str(exc)) from None
    ram = p.ram_area_mm2
    if ram is not None and p.rating.oil_pressure is not None:
        oil = parse_quantity(p.rating.oil_pressure, "pressure")
        most_kn = oil * ram / 1000.0
        if p.rated_force_kn > most_kn * 1.05:
            raise ProfileCheck(
                "rating.force",
                f"rated force {p.rating.force!r} is more than the ram can give: rated oil pressure "
                f"{p.rating.oil_pressure!r} × ram area {ram:.0f} mm² = {most_kn:.1f} kN "
                "(check the units of rating and hydraulics)",
            )
    for name, sig in p.signals.items():
        key = f"signals.{name}"
        dim = SIGNALS[name]
        if dim is None:
            dim = _dimension_of(name, sig.quantity, sig.unit or "MPa", f"{key}.unit")
        try:
            parse_unit(sig.unit or CANONICAL[dim], dim)
        except UnitError as exc:
            raise ProfileCheck(f"{key}.unit", str(exc)) from None
        if sig.count > 1 and name != "channel_force":
            raise ProfileCheck(f"{key}.count", "only channel_force may have count > 1")
        _check_where(p, key, sig.address, sig.node, sig.request, sig.data_type, sig.bit)
        if p.transport == "ascii" and sig.reply is None:
            raise ProfileCheck(f"{key}.reply", "an ASCII signal needs a reply pattern")
    for name, cmd in p.commands.items():
        key = f"commands.{name}"
        if COMMANDS[name] == "const":
            if cmd.value is None and cmd.method is None and cmd.request is None:
                raise ProfileCheck(f"{key}.value", f"command {name} needs the value it writes")
        else:
            dim = COMMANDS[name] or _dimension_of(name, cmd.quantity, cmd.unit or "MPa", f"{key}.unit")
            try:
                parse_unit(cmd.unit or CANONICAL[dim], dim, rate=(name == "rate"))
            except UnitError as exc:
                raise ProfileCheck(f"{key}.unit", str(exc)) from None
        _check_where(p, key, cmd.address, cmd.node or cmd.method, cmd.request, cmd.data_type, None)
    _check_required(p)
    if p.transport == "modbus":
        _check_overlaps(p)


def _check_where(
    p: Profile, key: str, address: int | None, node: str | None, request: str | None,
    data_type: str, bit: int | None,
) -> None:
    if p.transport == "modbus" and address is None:
        raise ProfileCheck(f"{key}.address", "a Modbus signal or command needs an address")
    if p.transport == "opcua" and node is None:
        raise ProfileCheck(f"{key}.node", "an OPC UA signal or command needs a node id")
    if p.transport == "ascii" and request is None:
        raise ProfileCheck(f"{key}.request", "an ASCII signal or command needs a request")
    if bit is not None and data_type not in ("bool", "uint16", "int16"):
        raise ProfileCheck(f"{key}.bit", "bit applies to a 16-bit register (data_type bool)")


def _check_required(p: Profile) -> None:
    sig = p.signals
    if not ({"pressure", "force", "oil_pressure"} & set(sig)):
        raise ProfileCheck("signals", "a profile needs a pressure, force or oil_pressure signal")
    if "oil_pressure" in sig and "force" not in sig and p.ram_area_mm2 is None:
        raise ProfileCheck(
            "hydraulics.ram_area",
            "force is derived from oil_pressure × ram area: give hydraulics.ram_area or ram_diameter",
        )
    if p.capabilities.regulates:
        for name in ("setpoint", "regulate", "stop"):
            if name not in p.commands:
                raise ProfileCheck(
                    f"commands.{name}",
                    f"a regulating profile needs commands.{name} "
                    "(or set capabilities.regulates = false for a monitor-only press)",
                )
        if "status" not in sig:
            raise ProfileCheck("signals.status", "a regulating profile needs a status signal")
    if p.heartbeat is not None and p.transport == "modbus" and p.heartbeat.address is None:
        raise ProfileCheck("heartbeat.address", "a Modbus heartbeat needs an address")


def _check_overlaps(p: Profile) -> None:
    taken: dict[tuple[str, int], str] = {}
    for name, sig in p.signals.items():
        space = "holding" if sig.space in ("holding",) else sig.space
        for a in range(sig.address or 0, (sig.address or 0) + sig.width):
            other = taken.get((space, a))
            if other is not None and not (sig.data_type == "bool" and other.endswith("#bit")):
                raise ProfileCheck(
                    f"signals.{name}.address",
                    f"{name} ({space} {sig.address}..{(sig.address or 0) + sig.width - 1}) "
                    f"overlaps {other.removesuffix('#bit')} at {space} register {a}",
                )
            taken[(space, a)] = name + ("#bit" if sig.data_type == "bool" else "")


__all__ = [
    "COMMANDS",
    "SIGNALS",
    "STATUS_NAMES",
    "WIDTH",
    "Ascii",
    "Capabilities",
    "Command",
    "Device",
    "Heartbeat",
    "Hydraulics",
    "Profile",
    "ProfileCheck",
    "Rating",
    "Signal",
    "check_profile",
]
