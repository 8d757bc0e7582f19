"""The catalogue of simulated hardware: ``sims/presses/*.toml`` and ``sims/specimens/*.toml``.

Every file is validated (pydantic): unknown keys, missing keys, wrong types and values out of
their physical range are a :class:`~presshil.errors.CatalogueError` naming the file and the
key. Units are in the key names; ``docs/simulator.md`` gives the source of every value.

Lookup of a NAME, in order:

1. a path to a ``.toml`` file (anything ending in ``.toml``);
2. ``$PRESSHIL_SIMS_DIR/{presses,specimens}/NAME.toml``;
3. ``./sims/...`` in the current directory;
4. the catalogue shipped with presshil (beside ``src/`` in a checkout, inside the package
   when installed).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import CatalogueError
from ..library import shipped_dir
from .room import RoomCfg

DEFAULT_PRESS = "auto-hydraulic-25t"
DEFAULT_SPECIMEN = "nmc-lpscl-inli-10mm"

Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------
# presses
# --------------------------------------------------------------------------------------
class IdentityCfg(_Strict):
    """Nameplate of the simulated press."""

    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1)
    serial: str = Field(min_length=1)
    firmware: str = Field(min_length=1)
    rated_force_kn: Pos
    rated_max_pressure_mpa: Pos


class FrameCfg(_Strict):
    """Frame (and, for a screw press, drive-train) stiffness in series with the stack."""

    stiffness_n_per_m: Annotated[float, Field(ge=1e5, le=1e11, allow_inf_nan=False)]


class HydraulicCfg(_Strict):
    """Automatic hydraulic actuator: pump, servo valve, cylinder, leak, relief and dump valves."""

    kind: Literal["hydraulic"]
    piston_diameter_mm: Annotated[float, Field(gt=5, le=1000)]
    oil_volume_l: Annotated[float, Field(gt=0, le=100)]
    oil_bulk_modulus_gpa: Annotated[float, Field(gt=0.05, le=3)]
    pump_flow_l_per_min: Pos
    relief_pressure_mpa: Annotated[float, Field(gt=0, le=100)]
    valve_flow_l_per_min: Pos
    valve_time_constant_ms: Annotated[float, Field(gt=0, le=1000)]
    leak_flow_ml_per_min_at_rated: NonNeg
    dump_flow_l_per_min_at_rated: Pos
    relief_flow_l_per_min_per_mpa: Pos = 5.0


class ServoCfg(_Strict):
    """Servo-electric actuator: motor speed loop and ball screw."""

    kind: Literal["servo-electric"]
    max_speed_mm_s: Pos
    max_acceleration_mm_s2: Pos
    speed_loop_time_constant_ms: Annotated[float, Field(gt=0, le=1000)]
    retract_mm: Annotated[float, Field(ge=0, le=10)]


class ManualCfg(_Strict):
    """Manual hydraulic actuator: hand pump, release valve, dump solenoid, and its operator."""

    kind: Literal["manual-hydraulic"]
    piston_diameter_mm: Annotated[float, Field(gt=5, le=1000)]
    oil_volume_l: Annotated[float, Field(gt=0, le=100)]
    oil_bulk_modulus_gpa: Annotated[float, Field(gt=0.05, le=3)]
    relief_pressure_mpa: Annotated[float, Field(gt=0, le=100)]
    stroke_volume_ml: Pos
    stroke_period_s: Annotated[float, Field(gt=0.05, le=60)]
    leak_flow_ml_per_min_at_rated: NonNeg
    release_flow_l_per_min_at_rated: Pos
    dump_flow_l_per_min_at_rated: Pos
    operator_first_guess_mpa_per_stroke: Pos
    operator_deadband_mpa: NonNeg
    operator_release_open_s: Annotated[float, Field(gt=0, le=60)]
    relief_flow_l_per_min_per_mpa: Pos = 5.0


ActuatorCfg = Annotated[HydraulicCfg | ServoCfg | ManualCfg, Field(discriminator="kind")]


class PlatenCfg(_Strict):
    """Platen misalignment: face slope and die offset from the load-cell centroid."""

    tilt_mrad: tuple[
        Annotated[float, Field(ge=-20, le=20)], Annotated[float, Field(ge=-20, le=20)]
    ] = (0.0, 0.0)
    die_offset_mm: tuple[
        Annotated[float, Field(ge=-100, le=100)], Annotated[float, Field(ge=-100, le=100)]
    ] = (0.0, 0.0)


class LoadCellsCfg(_Strict):
    """The load-cell array under the platen and its error budget (per channel where a list)."""

    positions_mm: list[tuple[Finite, Finite]] = Field(min_length=1, max_length=8)
    capacity_kn: Pos
    gain_error_pct: list[Annotated[float, Field(ge=-10, le=10)]]
    zero_offset_n: list[Finite]
    nonlinearity_pct_fs: Annotated[float, Field(ge=-5, le=5)]
    hysteresis_pct_fs: Annotated[float, Field(ge=0, le=5)]
    noise_n_rms: NonNeg
    resolution_n: NonNeg
    delay_ms: Annotated[float, Field(ge=0, le=30)]
    #: span temperature coefficient, % of reading per °C (0: cells that do not drift;
    #: see presshil.sim.room)
    temperature_coefficient_pct_per_c: Annotated[float, Field(ge=-0.5, le=0.5)] = 0.0

    @model_validator(mode="after")
    def _per_channel(self) -> LoadCellsCfg:
        n = len(self.positions_mm)
        for key in ("gain_error_pct", "zero_offset_n"):
            if len(getattr(self, key)) != n:
                raise ValueError(
                    f"{key}: one value per load cell expected ({n}), got {len(getattr(self, key))}"
                )
        return self


class PositionSensorCfg(_Strict):
    """Ram position encoder."""

    resolution_um: NonNeg
    noise_um_rms: NonNeg


class ReferenceCfg(_Strict):
    """Reference force transducer (ISO 376-calibrated) used for force verification."""

    gain_error_pct: Annotated[float, Field(ge=-1, le=1)]
    noise_n_rms: NonNeg
    resolution_n: NonNeg


class FirmwareCfg(_Strict):
    """Reference firmware: loop rate, controller tuning, safety limits."""

    loop_hz: Annotated[float, Field(ge=50, le=20000)] = 1000.0
    # controller tuning: required for regulated presses, absent on a manual press
    nominal_compliance_um_per_kn: Pos | None = None
    crossover_hz: Annotated[float, Field(gt=0, le=200)] | None = None
    integral_corner_hz: Annotated[float, Field(ge=0, le=100)] | None = None
    derivative_ms: Annotated[float, Field(ge=0, le=100)] = 0.0
    derivative_filter_hz: Annotated[float, Field(gt=0, le=1000)] = 20.0
    feedforward: Annotated[float, Field(ge=0, le=2)] = 1.0
    max_rate_mpa_s: Pos
    overpressure_margin_pct: Annotated[float, Field(ge=0, le=50)]
    overpressure_margin_min_mpa: NonNeg
    rate_trip_kn_per_s: Pos
    following_error_mpa: Pos
    following_error_s: Pos
    at_setpoint_band_mpa: Pos
    released_below_mpa: Pos
    settle_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    #: bandwidth of the ram-position loop that holds a constant gap
    gap_crossover_hz: Annotated[float, Field(gt=0, le=50)] = 1.0
    #: a firmware defect to test against: the watchdog register is accepted but never armed
    watchdog_enabled: bool = True


class PressCfg(_Strict):
    """A simulated press: ``sims/presses/NAME.toml``."""

    description: str = ""
    identity: IdentityCfg
    frame: FrameCfg
    actuator: ActuatorCfg
    platen: PlatenCfg = PlatenCfg()
    load_cells: LoadCellsCfg
    position_sensor: PositionSensorCfg
    reference_transducer: ReferenceCfg
    firmware: FirmwareCfg
    room: RoomCfg = RoomCfg()

    @model_validator(mode="after")
    def _tuning(self) -> PressCfg:
        if self.actuator.kind != "manual-hydraulic":
            for key in ("nominal_compliance_um_per_kn", "crossover_hz", "integral_corner_hz"):
                if getattr(self.firmware, key) is None:
                    raise ValueError(f"firmware.{key} is required for a {self.actuator.kind} press")
        return self


# --------------------------------------------------------------------------------------
# specimens
# --------------------------------------------------------------------------------------
class PowderCfg(_Strict):
    """Compactable layers: Heckel densification, density-dependent modulus."""

    solid_thickness_um: Annotated[float, Field(gt=0, le=20000)]
    initial_relative_density: Annotated[float, Field(gt=0.2, le=1.0)]
    heckel_k_per_mpa: Annotated[float, Field(ge=0, le=0.1)]
    dense_modulus_gpa: Annotated[float, Field(gt=0, le=1000)]
    modulus_density_exponent: Annotated[float, Field(ge=0, le=10)]


class LithiumCfg(_Strict):
    """Li-metal (or Li-alloy) foil: elastic in series, power-law creep."""

    thickness_um: Annotated[float, Field(gt=0, le=2000)]
    modulus_gpa: Annotated[float, Field(gt=0, le=500)]
    creep_exponent: Annotated[float, Field(ge=1, le=20)]
    creep_rate_per_s_at_ref: Annotated[float, Field(ge=0, le=1)]
    creep_ref_stress_mpa: Pos
    creep_max_strain: Annotated[float, Field(gt=0, le=0.9)]
    #: strain hardening: the deformation resistance grows by this much per unit creep strain
    creep_hardening: Annotated[float, Field(ge=0, le=1e5)] = 0.0
    #: static recovery: the hardening decays with this time constant (0 = never)
    creep_recovery_s: Annotated[float, Field(ge=0, le=1e7)] = 0.0


class BreathingCfg(_Strict):
    """Cell breathing while cycling: thickness swing per cycle."""

    amplitude_um: Annotated[float, Field(ge=0, le=500)]
    period_s: Annotated[float, Field(gt=1, le=1e7)]
    growth_um_per_cycle: Annotated[float, Field(ge=0, le=50)] = 0.0
    start_s: NonNeg | None = None


class SpecimenCfg(_Strict):
    """A specimen: ``sims/specimens/NAME.toml``."""

    description: str = ""
    die_diameter_mm: Annotated[float, Field(gt=1, le=200)]
    powder: PowderCfg
    lithium: LithiumCfg | None = None
    breathing: BreathingCfg | None = None

    @property
    def die_area_mm2(self) -> float:
        """Die face area (mm²)."""
        return math.pi * (self.die_diameter_mm / 2.0) ** 2


# --------------------------------------------------------------------------------------
# lookup
# --------------------------------------------------------------------------------------
def catalogue_dirs() -> list[Path]:
    """Folders searched for the catalogue, in order."""
    dirs: list[Path] = []
    env = os.environ.get("PRESSHIL_SIMS_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(Path.cwd() / "sims")
    shipped = shipped_dir("sims")
    if shipped is not None:
        dirs.append(shipped)
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def available(kind: str) -> list[str]:
    """Names found for ``kind`` (``"presses"`` or ``"specimens"``) across the search path."""
    names: set[str] = set()
    for d in catalogue_dirs():
        if (d / kind).is_dir():
            names.update(f.stem for f in (d / kind).glob("*.toml"))
    return sorted(names)


def find(kind: str, name: str) -> Path:
    """Path of catalogue entry ``name`` of ``kind``; a clear error listing the names if unknown."""
    noun = "press" if kind == "presses" else "specimen"
    if name.endswith(".toml"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise CatalogueError(f"simulated {noun} file {name!r} not found")
        return path
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise CatalogueError(
            f"invalid simulated {noun} name {name!r}; use a catalogue name or a path to a .toml file"
        )
    for d in catalogue_dirs():
        path = d / kind / f"{name}.toml"
        if path.is_file():
            return path
    names = available(kind)
    searched = ", ".join(str(d / kind) for d in catalogue_dirs())
    raise CatalogueError(
        f"unknown simulated {noun} {name!r}; available: {', '.join(names) or '(none found)'} "
        f"(searched {searched}; set PRESSHIL_SIMS_DIR to add a catalogue)"
    )


def _describe(err: Any) -> str:
    loc = ".".join(
        str(part)
        for part in err["loc"]
        if not (
            isinstance(part, str) and part in ("hydraulic", "servo-electric", "manual-hydraulic")
        )
    )
    kind = err["type"]
    if kind == "missing":
        return f"key '{loc}' is missing"
    if kind == "extra_forbidden":
        return f"unknown key '{loc}'"
    return f"key '{loc}': {err['msg']} (got {err.get('input')!r})"


def _load(path: Path, model: type[BaseModel]):
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # one value given for every element of a list fails once per element: say it once
        problems = "; ".join(dict.fromkeys(re.sub(r"\.\d+': ", "': ", _describe(e)) for e in exc.errors()))
        raise CatalogueError(f"{path}: {problems}") from None


def _coerce(text: str) -> Any:
    """A URL value as TOML would read it: bool, number, or a comma list of numbers."""
    low = text.strip().lower()
    if low in ("true", "on", "yes"):
        return True
    if low in ("false", "off", "no"):
        return False
    if "," in text:
        return [_coerce(part) for part in text.split(",")]
    try:
        return float(text) if any(c in low for c in ".en") else int(text)
    except ValueError:
        return text


def with_overrides(cfg: BaseModel, overrides: dict[str, str], where: str) -> Any:
    """``cfg`` with dotted-key overrides (``load_cells.gain_error_pct`` = ``"1.5"``) applied.

    A scalar given for a per-channel list is applied to every channel. The result is
    validated again, so an override out of range is a :class:`CatalogueError` naming the key.
    """
    if not overrides:
        return cfg
    data = cfg.model_dump(mode="python")
    for dotted, raw in overrides.items():
        keys = dotted.split(".")
        node = data
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise CatalogueError(f"{where}: unknown catalogue key '{dotted}' (no section '{key}')")
            node = node[key]
        leaf = keys[-1]
        if leaf not in node:
            known = ", ".join(sorted(node)) or "(none)"
            raise CatalogueError(f"{where}: unknown catalogue key '{dotted}'; keys there: {known}")
        value = _coerce(raw)
        if isinstance(node[leaf], list) and not isinstance(value, list):
            value = [value] * len(node[leaf])
        node[leaf] = value
    try:
        return type(cfg).model_validate(data)
    except ValidationError as exc:
        # one value given for every element of a list fails once per element: say it once
        problems = "; ".join(dict.fromkeys(re.sub(r"\.\d+': ", "': ", _describe(e)) for e in exc.errors()))
        raise CatalogueError(f"{where}: override rejected: {problems}") from None


def load_press(name: str | None = None) -> tuple[PressCfg, Path]:
    """Load and validate press ``name`` (default: the auto-hydraulic 25 t press)."""
    path = find("presses", name or DEFAULT_PRESS)
    return _load(path, PressCfg), path


def load_specimen(name: str | None = None) -> tuple[SpecimenCfg, Path]:
    """Load and validate specimen ``name`` (default: NMC | LPSCl | In-Li, 10 mm die)."""
    path = find("specimens", name or DEFAULT_SPECIMEN)
    return _load(path, SpecimenCfg), path


__all__ = [
    "DEFAULT_PRESS",
    "DEFAULT_SPECIMEN",
    "PressCfg",
    "SpecimenCfg",
    "available",
    "catalogue_dirs",
    "find",
    "load_press",
    "load_specimen",
    "with_overrides",
]
