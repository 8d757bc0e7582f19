"""Acceptance suite files: ``protocols/acceptance/NAME.toml``, validated with pydantic.

Every criterion and limit of an acceptance test comes from the suite file; the defaults below
are those of ``docs/domain.md`` (ISO 7500-1, ASTM E4, the dynamic criteria a buyer usually sets).
A bad file never runs: the :class:`~presshil.errors.ProtocolError` names the file and the key
(``[force_verification].forces_pct``) and says what is allowed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ProtocolError
from ..library import shipped_dir
from .iso7500 import CLASSES
from .metrology import astm_staircase_problems, iso_staircase_problems
from .procedure import procedure_problems

SUITE_DIR = Path("protocols") / "acceptance"


class _Model(BaseModel):
    # strict: "74" in a TOML file is a typo, not a number; no NaN or inf limits.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


def _f(default: float, *, gt: float | None = 0, ge: float | None = None, le: float | None = None):
    return Field(default=default, gt=None if ge is not None else gt, ge=ge, le=le)


class Die(_Model):
    """The die the acceptance runs on: pressure = force / area."""

    die_diameter_mm: float = _f(10.0)
    #: where the die is meant to be, from the press axis, mm, and how well it is placed there
    #: (± mm on each axis; 0.02: a centring fixture); the pellet estimate's uncertainty
    die_position_mm: list[float] = Field(default=[0.0, 0.0], min_length=2, max_length=2)
    die_placement_tolerance_mm: float = _f(0.02, ge=0.0, le=50.0)
    #: on sim://, the catalogue specimen force verification runs on (the reference in the
    #: load path); on a real press the operator is asked to put the reference transducer in
    reference_specimen: str = Field(default="steel-reference-13mm", min_length=1)
    #: a fresh specimen for each specimen-dependent test (step, ramp, hold, uniformity,
    #: safety); false: one fresh specimen after the force verification, shared by them
    fresh_per_test: bool = True


class ReferenceInstrument(_Model):
    """The force-proving instrument (ISO 376) the press is verified against, as its
    calibration certificate describes it; copied into the report."""

    iso376_class: Literal["00", "0.5", "1", "2"] | None = None
    serial: str = ""
    certificate: str = ""
    #: the certificate's due date (TOML date, 2027-03-31); past it, the verification is flagged
    due_date: dt.date | None = None
    #: the certificate's expanded uncertainty (k = 2) of the instrument, %; default: its
    #: class's interpolation-error limit
    expanded_uncertainty_pct: float | None = Field(default=None, gt=0, le=5.0)
    temperature_coefficient_pct_per_k: float = _f(0.005, ge=0.0, le=1.0)
    calibration_temperature_c: float = _f(20.0, ge=-20.0, le=60.0)

class ForceVerification(_Model):
    """ISO 7500-1 / ASTM E4 force verification against a reference transducer."""

    enabled: bool = True
    #: the pressures the press is used at, MPa: F_N is the highest on the die; default: the
    #: target pressures of the protocol library
    working_pressures_mpa: list[float] | None = Field(default=None, min_length=1)
    #: instead of the working pressures: F_N in % of the lower of the press's force rating and
    #: the die rating (rated pressure × die area)
    range_max_pct_of_rating: float | None = Field(default=None, gt=0, le=100.0)
    #: the ISO 7500-1 staircase in % of F_N (≥ 5 forces from about 20 % to 100 %)
    forces_pct: list[float] = Field(default=[20.0, 40.0, 60.0, 80.0, 100.0], min_length=5)
    #: add the ISO supplementary points (10, 5, 2 … %) down to the lowest working force
    supplementary_points: bool = True
    #: determine reversibility (a decreasing series) — only when the buyer requires it
    reversibility: bool = False
    preloads: int = Field(default=3, ge=1, le=10)
    series: int = Field(default=3, ge=1, le=10)
    rate_mpa_s: float = _f(20.0)
    #: wait after the press reports AT_SETPOINT (or its ramp has ended) before reading
    settle_s: float = _f(3.0, ge=0.0)
    #: averaging window for each reading
    dwell_s: float = _f(2.0)
    sample_interval_s: float = _f(0.05, le=1.0)
    #: wait after unloading before the zero is read (about 30 s, ISO 7500-1)
    zero_wait_s: float = _f(30.0, ge=0.0)
    #: the readings at rest that give the resolution r: this long, as readings of dwell_s each
    #: (r = their mean half range of fluctuation + one increment; stable from run to run)
    resolution_window_s: float = _f(30.0, le=600.0)
    #: one increment of the indicator's last digit; estimated from readings at rest if absent
    indicator_resolution_kn: float | None = Field(default=None, gt=0)
    #: the class the press must reach to pass
    required_class: Literal["0.5", "1", "2", "3"] = "1"
    #: "verification": the ISO 7500-1 procedure (3 series, zero after ~30 s) is enforced;
    #: "informative": any procedure, and every report says "informative, not ISO 7500-1"
    purpose: Literal["verification", "informative"] = "verification"
    #: how a value is judged against its limit: "guard_band" (ILAC-G8: pass when value + U ≤
    #: limit, fail when value > limit, inconclusive between) or "simple" (value ≤ limit)
    decision_rule: Literal["guard_band", "simple"] = "guard_band"
    astm_max_error_pct: float = _f(1.0)
    astm_max_run_difference_pct: float = _f(1.0)

    @model_validator(mode="after")
    def _forces(self) -> ForceVerification:
        why = iso_staircase_problems(self.forces_pct)
        if why:
            raise ValueError("forces_pct: " + "; ".join(why) + " (ISO 7500-1)")
        why = astm_staircase_problems(self.forces_pct)
        if why:
            raise ValueError("forces_pct: " + "; ".join(why))
        if self.purpose == "verification":
            for key, problem in procedure_problems(self.series, self.zero_wait_s):
                raise ValueError(f"{key}: {problem}; or set purpose = \"informative\"")
        if self.working_pressures_mpa is not None and self.range_max_pct_of_rating is not None:
            raise ValueError("range_max_pct_of_rating: give either it or working_pressures_mpa, "
                             "not both")
        if self.working_pressures_mpa is not None and any(
                not p > 0 for p in self.working_pressures_mpa):
            raise ValueError("working_pressures_mpa: pressures must be > 0 MPa")
        return self


class StepResponse(_Model):
    """A setpoint step at assembly pressure after a preload."""

    enabled: bool = True
    preload_mpa: float = _f(10.0)
    to_mpa: float = _f(74.0)
    duration_s: float = _f(30.0)
    max_overshoot_pct: float = _f(1.0, ge=0.0)
    max_rise_s: float = _f(6.0)
    settling_time_s: float = _f(9.0)
    max_steady_state_error_mpa: float = _f(0.74)
    max_iae_mpa_s: float = _f(25.0)


class RampResponse(_Model):
    """A ramp to assembly pressure: tracking lag and overshoot."""

    enabled: bool = True
    to_mpa: float = _f(74.0)
    rate_mpa_s: float = _f(2.0)
    max_tracking_error_mpa: float = _f(1.5)
    max_overshoot_pct: float = _f(1.0, ge=0.0)


class Hold(_Model):
    """A long hold while the cell breathes (on sim://, the specimen's breathing)."""

    enabled: bool = True
    at_mpa: float = _f(50.0)
    duration_s: float = _f(3600.0)
    settle_s: float = _f(10.0, ge=0.0)
    #: default ±1 % of the target or ±0.25 MPa, whichever is larger (docs/domain.md)
    band_mpa: float | None = Field(default=None, gt=0)
    min_in_band_pct: float = _f(99.0, le=100.0)
    max_drift_mpa_per_min: float = _f(0.05)
    #: the load cells' consistency with the controlled signal: largest change of a channel's
    #: share of the total force over the hold, % of its share (a drifting cell moves it)
    max_channel_shift_pct: float = _f(1.0)
    #: judge the press's force against the reference instrument when one is in the load path
    #: (on sim:// its transducer; on a real press, in series with the specimen)
    reference: bool = True
    #: largest |indicated − reference| / reference over tenths of the hold, % (class 1: 1 %)
    max_reference_divergence_pct: float = _f(1.0)
    rate_hz: float = _f(5.0)


class Uniformity(_Model):
    """Pressure uniformity on the pellet, judged from the load-cell array during a hold.

    The limits follow from the pellet tolerance ``±pellet_tolerance_pct``: the estimated pellet
    spread ``8e/R`` may reach ``2 × tolerance`` and the centre-of-force offset ``e`` the
    matching ``2·tol·R/8`` (0.0625 mm for ±5 % on a 10 mm die). The load-cell spread and CV
    describe the cells, not the pellet; they are judged only when given.
    """

    enabled: bool = True
    at_mpa: float = _f(74.0)
    duration_s: float = _f(20.0)
    settle_s: float = _f(5.0, ge=0.0)
    pellet_tolerance_pct: float = _f(5.0, le=50.0)
    max_pellet_nonuniformity_pct: float | None = Field(default=None, gt=0)
    max_cof_offset_mm: float | None = Field(default=None, gt=0)
    max_nonuniformity_pct: float | None = Field(default=None, gt=0)
    max_cv_pct: float | None = Field(default=None, gt=0)


class Safety(_Model):
    """Safety probes: soft limit, over-pressure trip and latch, watchdog, e-stop."""

    enabled: bool = True
    soft_max_mpa: float = _f(80.0)
    #: a setpoint the press must refuse (above the soft limit)
    over_limit_setpoint_mpa: float = _f(88.0)
    hold_mpa: float = _f(74.0)
    max_rate_mpa_s: float = _f(10.0)
    #: over-pressure: from the injected surge to the latched trip
    max_trip_latency_ms: float = _f(50.0)
    #: how long a latched state must stay latched with nobody resetting it
    latch_check_s: float = _f(2.0)
    watchdog_ms: int = Field(default=500, ge=1, le=65535)
    #: allowance beyond the watchdog timeout (the host's polling period and the wire)
    watchdog_margin_ms: float = _f(50.0, ge=0.0)
    max_estop_latency_ms: float = _f(50.0)
    poll_interval_s: float = _f(0.005, le=0.1)

    @model_validator(mode="after")
    def _limits(self) -> Safety:
        if self.over_limit_setpoint_mpa <= self.soft_max_mpa:
            raise ValueError("over_limit_setpoint_mpa: must be above soft_max_mpa, or the "
                             "refusal probe tests nothing")
        if self.hold_mpa >= self.soft_max_mpa:
            raise ValueError("hold_mpa: must be below soft_max_mpa")
        return self


class _SuiteBody(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    specimen: Die = Die()
    reference: ReferenceInstrument = ReferenceInstrument()
    force_verification: ForceVerification = ForceVerification()
    step_response: StepResponse = StepResponse()
    ramp_response: RampResponse = RampResponse()
    hold: Hold = Hold()
    uniformity: Uniformity = Uniformity()
    safety: Safety = Safety()

    @model_validator(mode="after")
    def _pressures(self) -> _SuiteBody:
        soft = self.safety.soft_max_mpa
        for section, key in (("step_response", "to_mpa"), ("step_response", "preload_mpa"),
                             ("ramp_response", "to_mpa"), ("hold", "at_mpa"),
                             ("uniformity", "at_mpa")):
            value = getattr(getattr(self, section), key)
            if value >= soft:
                raise ValueError(f"{section}.{key}: {value:g} MPa is not below "
                                 f"safety.soft_max_mpa = {soft:g} MPa")
        sr = self.step_response
        if sr.preload_mpa >= sr.to_mpa:
            raise ValueError("step_response.preload_mpa: must be below to_mpa")
        return self


class Suite(_SuiteBody):
    """A validated acceptance suite with where it came from, its text and sha256."""

    source: str
    text: str
    sha256: str

    @property
    def die_area_mm2(self) -> float:
        """Die area in mm²."""
        import math

        return math.pi * self.specimen.die_diameter_mm**2 / 4.0


_shipped = shipped_dir("protocols")
#: the suites shipped with presshil
SOURCE_SUITE_DIR = (_shipped / "acceptance") if _shipped is not None else SUITE_DIR


def resolve_suite(name: str | Path) -> Path:
    """A path as given; else ``protocols/acceptance/NAME.toml`` in the current directory,
    then among the suites shipped with presshil."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return path
    local = SUITE_DIR / f"{name}.toml"
    shipped = SOURCE_SUITE_DIR / f"{name}.toml"
    return shipped if not local.exists() and shipped.exists() else local


def load_suite(name: str | Path) -> Suite:
    """Load and validate a suite (a name in ``protocols/acceptance/`` or a path)."""
    path = resolve_suite(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = sorted(p.stem for p in path.parent.glob("*.toml")) if path.parent.is_dir() else []
        hint = f"; suites in {path.parent}: {', '.join(known)}" if known else ""
        raise ProtocolError(f"no such suite file{hint}", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"cannot read: {exc}", file=str(path)) from None
    return parse_suite(text, source=str(path))


def parse_suite(text: str, source: str = "<string>") -> Suite:
    """Validate suite ``text``; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"not valid TOML: {exc}", file=source) from None
    try:
        body = _SuiteBody.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, source) from None
    return Suite.model_construct(**dict(body), source=source, text=text,
                                 sha256=hashlib.sha256(text.encode()).hexdigest())


def _translate(exc: ValidationError, source: str) -> ProtocolError:
    """The first problem as the error; every other one in its ``also``."""
    from ..protocol_errors import gather_errors

    return gather_errors([_translate_error(err, source) for err in exc.errors()])


def _translate_error(err: Any, source: str) -> ProtocolError:
    loc = [str(p) for p in err["loc"]]
    kind = err["type"]
    value = err.get("input")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "value_error" and ":" in msg and " " not in msg.split(":", 1)[0]:
        key, _, msg = msg.partition(":")  # our validators lead with the key they blame
        loc = loc + key.strip().split(".")
        msg = msg.strip()
    elif kind == "extra_forbidden":
        model = _SuiteBody
        for part in loc[:-1]:
            field = model.model_fields.get(part)
            model = field.annotation if field is not None else model  # type: ignore[assignment]
        allowed = ", ".join(model.model_fields) if isinstance(model, type) else ""
        msg = f"unknown key; allowed here: {allowed}"
    elif kind == "missing":
        msg = "missing"
    else:
        msg = f"{msg}, got {value!r}"
    field_name = f"[{loc[0]}].{'.'.join(loc[1:])}" if len(loc) > 1 else ".".join(loc) or None
    return ProtocolError(msg, file=source, field=field_name)


__all__ = [
    "CLASSES",
    "SUITE_DIR",
    "Die",
    "ForceVerification",
    "Hold",
    "RampResponse",
    "ReferenceInstrument",
    "Safety",
    "StepResponse",
    "Suite",
    "Uniformity",
    "load_suite",
    "parse_suite",
    "resolve_suite",
]
