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
from .units import parse_quantity

Space = Literal["holding", "input", "coil", "discrete"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "bool"]
WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]
Quantity = Literal["pressure", "oil_pressure", "force"]
#: Modbus write function codes: ``multiple`` FC16 (registers) / FC15 (coils); ``single``
#: FC06 per register / FC05 per coil, for devices that take only those
WriteMode = Literal["multiple", "single"]

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
    "temperature": "temperature",  # the press room's or the load cells' temperature, °C
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
    "hold_gap": "const",
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
    #: OPC UA method arguments: names of value commands (passed in their declared units) or
    #: constants, converted to each argument's declared data type
    args: list[bool | int | float | str] | None = None
    #: Modbus write function codes for this command (default: the profile's ``write``)
    write: WriteMode | None = None

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
    #: ``"fc43"``: a Modbus device names itself (FC43/14 device identification, read once at
    #: connect); the strings above are then only what a device that does not answer shows
    #: ``"nameplate"``: an OPC UA press names itself by its DI / Machinery Identification
    #: (Manufacturer, Model, SerialNumber, SoftwareRevision, HardwareRevision), read once at
    #: connect from ``identification`` (a node id) or the first one found by browsing
    identify: Literal["profile", "fc43", "nameplate"] = "profile"
    identification: str | None = None


class Capabilities(_Strict):
    """What the press can do; the runner judges only what is there."""

    regulates: bool = True


class Temperature(_Strict):
    """Load-cell temperature compensation, with the ``temperature`` signal: every force the
    load cells give (``force``, ``channel_force`` and a pressure made from them) is divided
    by ``1 + α/100 · (T − calibration_c)`` (see presshil.temperature)."""

    #: α, the cells' span coefficient in % of reading per °C (their data sheet's)
    load_cell_coefficient_pct_per_c: float = Field(ge=-0.5, le=0.5, allow_inf_nan=False)
    #: the temperature the cells were calibrated at
    calibration_c: float = Field(default=20.0, ge=-50, le=100, allow_inf_nan=False)


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
    #: Modbus write function codes of every command and the heartbeat (a command may override)
    write: WriteMode = "multiple"
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
    #: load-cell temperature compensation (needs the ``temperature`` signal)
    temperature: Temperature | None = None
    #: Modbus: the holding address at which the device mirrors its one block of signals; a
    #: control cycle (command, then read) is then one FC23 round trip
    state_mirror: int | None = Field(default=None, ge=0, le=65535)

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

    def write_mode(self, command: str) -> WriteMode:
        """``"single"`` or ``"multiple"``: how ``command`` (or ``"heartbeat"``) is written."""
        cmd = self.commands.get(command)
        return cmd.write if cmd is not None and cmd.write is not None else self.write

    @property
    def channel_count(self) -> int:
        """Load-cell channels (1 when the press reports only a total)."""
        sig = self.signals.get("channel_force")
        return sig.count if sig is not None else 1


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
    "Rating",
    "Signal",
    "Temperature",
]
