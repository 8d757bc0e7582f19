"""The protocol format as pydantic models: a protocol, its specimen, limits and sampling, and
one model per step type. Loading, error wording and the checks that span fields are
:mod:`presshil.protocol`'s and :mod:`presshil.protocol_errors`'.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ProtocolError
from .run_meta import MetaTable
from .steps import sequence_nominal_s


class _Model(BaseModel):
    # strict: a TOML string "74" is a typo, not a number; allow_inf_nan=False: TOML can spell
    # nan and inf, and neither is a pressure.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class Specimen(_Model):
    """The die: pressure = force / area. Give ``die_diameter_mm`` or ``die_area_mm2``."""

    die_diameter_mm: float | None = Field(default=None, ge=0.8, le=252.0)
    # Stored under another name so that the property below can always answer the area.
    die_area_given_mm2: float | None = Field(default=None, ge=0.5, le=50_000.0, alias="die_area_mm2")
    #: where the die is meant to be, from the press axis (the load cells' frame), mm
    die_position_mm: list[float] = Field(default=[0.0, 0.0], min_length=2, max_length=2)
    #: how well it is placed there, ± mm on each axis (a centring fixture: 0.02); needed by
    #: max_cof_offset_mm and max_pellet_nonuniformity_pct
    die_placement_tolerance_mm: float | None = Field(default=None, ge=0.0, le=50.0)
    #: the stack pressure above which the cell risks a short circuit (a lithium-metal anode
    #: creeps through the separator: 10 MPa, docs/domain.md); every step is judged against it
    short_circuit_risk_above_mpa: float | None = Field(default=None, gt=0.0, le=10_000.0)

    @model_validator(mode="after")
    def _exactly_one_size(self) -> Specimen:
        if (self.die_diameter_mm is None) == (self.die_area_given_mm2 is None):
            raise ValueError("give exactly one of die_diameter_mm or die_area_mm2")
        return self

    @property
    def die_area_mm2(self) -> float:
        """Die area in mm², given or computed from the diameter."""
        if self.die_area_given_mm2 is not None:
            return self.die_area_given_mm2
        assert self.die_diameter_mm is not None
        return math.pi * self.die_diameter_mm**2 / 4.0


class Limits(_Model):
    """Safety envelope, checked before the run (against the press rating) and during it."""

    max_pressure_mpa: float = Field(gt=0, le=10_000.0)
    max_rate_mpa_s: float = Field(ge=1e-3, le=10_000.0)


class Sampling(_Model):
    """How often the runner records a sample; sub-Hz rates suit holds of hours."""

    rate_hz: float = Field(default=10.0, ge=0.01, le=1_000.0)


class _StepBase(_Model):
    label: str | None = Field(default=None, min_length=1, max_length=200)
    expect: dict[str, float] = Field(default_factory=dict, max_length=32)


class RampStep(_StepBase):
    """Ramp the setpoint linearly to ``to_mpa`` at ``rate_mpa_s``."""

    type: Literal["ramp"]
    to_mpa: float = Field(ge=0, le=10_000.0)
    rate_mpa_s: float = Field(ge=1e-3, le=10_000.0)


class HoldStep(_StepBase):
    """Hold for ``duration_s`` at ``at_mpa``, or at the current setpoint when it is absent."""

    type: Literal["hold"]
    duration_s: float = Field(gt=0, le=31_622_400.0)
    at_mpa: float | None = Field(default=None, ge=0, le=10_000.0)


class HoldGapStep(_StepBase):
    """Hold the ram where it is for ``duration_s`` (constant gap): the stack pressure then
    follows the cell's breathing and creep instead of a setpoint."""

    type: Literal["hold_gap"]
    duration_s: float = Field(gt=0, le=31_622_400.0)


class ReleaseStep(_StepBase):
    """Ramp down to zero at ``rate_mpa_s`` and open."""

    type: Literal["release"]
    rate_mpa_s: float = Field(ge=1e-3, le=10_000.0)


class SetpointStep(_StepBase):
    """A setpoint jump to ``to_mpa`` at ``rate_mpa_s``, observed for ``duration_s``: the
    step-response test. A missing rate is filled with ``limits.max_rate_mpa_s`` on loading."""

    type: Literal["step"]
    to_mpa: float = Field(ge=0, le=10_000.0)
    duration_s: float = Field(gt=0, le=31_622_400.0)
    rate_mpa_s: float | None = Field(default=None, ge=1e-3, le=10_000.0)


class RepeatStep(_Model):
    """Run ``steps`` ``count`` times (cycling). Nesting is allowed."""

    type: Literal["repeat"]
    count: int = Field(ge=1, le=100_000)
    steps: list[Step] = Field(min_length=1, max_length=1_000)
    label: str | None = Field(default=None, min_length=1, max_length=200)
    #: cycle-to-cycle criteria only (growth of the cell); the rest belong on the repeated steps
    expect: dict[str, float] = Field(default_factory=dict, max_length=32)


Step = Annotated[
    RampStep | HoldStep | HoldGapStep | ReleaseStep | SetpointStep | RepeatStep,
    Field(discriminator="type"),
]
RepeatStep.model_rebuild()

#: each step type's model, keyed by its ``type`` tag: read off the ``Step`` union itself, so
#: a new step model is registered by adding it there, once
_STEP_MODELS: dict[str, type[_Model]] = {
    get_args(model.model_fields["type"].annotation)[0]: model
    for model in get_args(get_args(Step)[0])
}
#: the step types a protocol may use, in the union's order
STEP_TYPES: tuple[str, ...] = tuple(_STEP_MODELS)


class _ProtocolBody(_Model):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    specimen: Specimen
    limits: Limits
    sampling: Sampling = Field(default_factory=Sampling)
    #: what the press does if this host is lost mid-run: trip to the safe state, or hold
    on_host_loss: Literal["release", "hold"] = "release"
    steps: list[Step] = Field(min_length=1, max_length=1_000)
    #: run metadata: required keys and fixed values (presshil.run_meta)
    meta: MetaTable = Field(default_factory=MetaTable)


class Protocol(_ProtocolBody):
    """A validated protocol, with where it came from (``source``), its text and sha256.

    Build one with :func:`load_protocol` or :func:`parse_protocol`; they run the checks that
    span fields, which direct construction does not.
    """

    source: str
    text: str
    sha256: str

    def step_name(self, index: int) -> str:
        """The label of top-level step ``index``, or ``str(index)`` when it has none."""
        step = self.steps[index]
        return step.label if step.label is not None else str(index)

    def find_step(self, step: int | str) -> int:
        """The top-level index of ``step``, given as an index, a label, or an index in digits."""
        if isinstance(step, str) and step.isdigit():
            step = int(step)
        if isinstance(step, int) and not isinstance(step, bool):
            if 0 <= step < len(self.steps):
                return step
        else:
            for i, s in enumerate(self.steps):
                if s.label == step:
                    return i
        names = ", ".join(self.step_name(i) for i in range(len(self.steps)))
        raise ProtocolError(
            f"no step {step!r}; steps are named by 0-based index or label: {names}",
            file=self.source,
        )

    def check_press(self, rated_max_pressure_mpa: float) -> None:
        """Refuse a protocol whose pressure limit is above what the press is rated for."""
        if self.limits.max_pressure_mpa > rated_max_pressure_mpa:
            raise ProtocolError(
                f"{self.limits.max_pressure_mpa:g} MPa is above the press's rated maximum "
                f"{rated_max_pressure_mpa:g} MPa; lower the limit or use a press rated for it",
                file=self.source,
                field="limits.max_pressure_mpa",
            )

    def nominal_duration_s(self) -> float:
        """Planned duration if every ramp ran at its nominal rate (for progress display)."""
        return sequence_nominal_s(self.steps, 0.0, self.limits.max_rate_mpa_s)[0]
