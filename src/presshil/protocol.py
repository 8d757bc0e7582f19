"""Protocol files: the TOML format, its pydantic models, and loading with clear errors.

A protocol is one TOML file (see ``docs/protocols.md``). :func:`load_protocol` and
:func:`parse_protocol` turn it into a frozen :class:`Protocol`, or raise one
:class:`~presshil.errors.ProtocolError` whose message names the file, the step and the field
and says what is allowed. Checks that need more than one field (targets against limits, expect
keys against step types, a hold with nothing to hold) run after pydantic's structural
validation.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .criterion_bounds import check_step
from .errors import ProtocolError, human_step
from .metrics import EXPECT_KEYS, REPEAT_KEYS
from .rate_check import RATE_KEYS
from .run_meta import MetaTable
from .steps import behaviour, sequence_nominal_s

STEP_TYPES = ("ramp", "hold", "release", "step", "repeat")


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

_STEP_MODELS: dict[str, type[_Model]] = {
    "ramp": RampStep,
    "hold": HoldStep,
    "hold_gap": HoldGapStep,
    "release": ReleaseStep,
    "step": SetpointStep,
    "repeat": RepeatStep,
}


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


# ---------------------------------------------------------------------------------------------
# loading


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file; every problem is a :class:`ProtocolError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(_not_found(path), file=str(path)) from None
    except IsADirectoryError:
        raise ProtocolError("is a directory, not a protocol file", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"not UTF-8 text ({exc.reason})", file=str(path)) from None
    except OSError as exc:
        raise ProtocolError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return parse_protocol(text, source=str(path))


def parse_protocol(text: str, source: str = "<string>") -> Protocol:
    """Validate protocol ``text``; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(_toml_message(exc), file=source) from None
    except RecursionError:
        raise ProtocolError(_TOO_DEEP, file=source) from None
    _guard_size(data, source)
    try:
        body = _ProtocolBody.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, source) from None
    _check_semantics(body, source)
    fields = dict(body)
    fields["steps"] = _resolve_defaults(body.steps, body.limits)
    return Protocol.model_construct(
        **fields,
        source=source,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


#: deepest nesting of TOML tables and arrays a protocol may have (repeats in repeats …)
MAX_NESTING = 24
#: most steps a protocol may expand to, repeats unrolled
MAX_EXPANDED_STEPS = 1_000_000
_TOO_DEEP = f"nested more than {MAX_NESTING} levels deep (tables, arrays or repeats)"


def _guard_size(data: dict[str, Any], source: str) -> None:
    """Refuse nesting deeper than :data:`MAX_NESTING` and more than
    :data:`MAX_EXPANDED_STEPS` steps once repeats are unrolled, before validation recurses
    or anything loops over the steps. Iterative: the guard itself cannot overflow."""
    stack: list[tuple[Any, int, int]] = [(data, 0, 1)]  # (value, depth, repetitions)
    expanded = 0
    while stack:
        value, depth, times = stack.pop()
        if depth > MAX_NESTING:
            raise ProtocolError(_TOO_DEEP, file=source)
        if isinstance(value, dict):
            count = value.get("count")
            if value.get("type") == "repeat" and isinstance(count, int) and count > 0:
                times *= min(count, 100_000)  # a larger count is the field's own error
            elif "type" in value:
                expanded += times
                if expanded > MAX_EXPANDED_STEPS:
                    raise ProtocolError(
                        f"expands to more than {MAX_EXPANDED_STEPS} steps once repeats are "
                        "unrolled; use fewer or shorter repeats",
                        file=source,
                    )
            stack.extend((v, depth + 1, times) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, times) for v in value)


def _resolve_defaults(steps: list[Any], limits: Limits) -> list[Any]:
    """Fill defaults that depend on other sections, so the runner never meets a None rate."""
    out = []
    for s in steps:
        if s.type == "step" and s.rate_mpa_s is None:
            s = s.model_copy(update={"rate_mpa_s": limits.max_rate_mpa_s})
        elif s.type == "repeat":
            s = s.model_copy(update={"steps": _resolve_defaults(s.steps, limits)})
        out.append(s)
    return out


def _not_found(path: Path) -> str:
    # Listing the neighbours turns a typo into a one-look fix.
    parent = path.parent if str(path.parent) else Path(".")
    if parent.is_dir():
        names = sorted(p.name for p in parent.glob("*.toml"))[:20]
        if names:
            return f"no such file; protocol files in {parent}: {', '.join(names)}"
    return "no such file"


def _toml_message(exc: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's TOMLDecodeError has no line/col attributes; they are in its message.
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    if m:
        what = msg[: m.start()].strip()
        return f"not valid TOML: line {m.group(1)}, column {m.group(2)}: {what}"
    return f"not valid TOML: {msg}"


# ---------------------------------------------------------------------------------------------
# pydantic errors -> one line


def _split_loc(loc: tuple[Any, ...]) -> tuple[str | None, str | None, type[_Model], list[str]]:
    """From a pydantic loc, the step path ('3.steps[1]'), the step type, its model, the field."""
    step_path: str | None = None
    step_type: str | None = None
    model: type[_Model] = _ProtocolBody
    rest = list(loc)
    if rest and rest[0] == "steps" and len(rest) > 1 and isinstance(rest[1], int):
        step_path = str(rest[1])
        rest = rest[2:]
        while rest and rest[0] in _STEP_MODELS:
            step_type = rest.pop(0)
            model = _STEP_MODELS[step_type]
            if len(rest) >= 2 and rest[0] == "steps" and isinstance(rest[1], int):
                step_path += f".steps[{rest[1]}]"
                rest = rest[2:]
                model = _ProtocolBody  # reset until the nested tag is seen
                step_type = None
    elif len(rest) > 1 and rest[0] in ("specimen", "limits", "sampling"):
        sections: dict[str, type[_Model]] = {
            "specimen": Specimen, "limits": Limits, "sampling": Sampling}
        model = sections[rest[0]]
    return step_path, step_type, model, [str(x) for x in rest]


def _allowed_keys(model: type[_Model]) -> str:
    keys = [f.alias or name for name, f in model.model_fields.items()]
    # type first, the step's own keys next, the common optional ones last: reads like a step.
    order = {"type": -1, "label": 1, "expect": 2}
    return ", ".join(sorted(keys, key=lambda k: order.get(k, 0)))


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def _translate(exc: ValidationError, source: str) -> ProtocolError:
    """The first problem as the error; every other one in its ``also`` (each once)."""
    return gather_errors([_translate_error(err, source) for err in exc.errors()])


def more_suffix(n: int) -> str:
    """What a one-line error adds when the file has ``n`` more problems."""
    return f" (+{n} more; presshil check lists them)"


def gather_errors(errors: list[ProtocolError]) -> ProtocolError:
    """The first of ``errors`` (said once each), noting how many more ``presshil check`` lists."""
    unique = list({str(e): e for e in errors}.values())
    first = unique[0]
    if len(unique) > 1:
        first = ProtocolError(first.reason + more_suffix(len(unique) - 1),
                              file=first.file, step=first.step, field=first.field)
    first.also = unique[1:]
    return first


def _translate_error(err: Any, source: str) -> ProtocolError:
    step_path, step_type, model, field_parts = _split_loc(tuple(err["loc"]))
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    what = f"a {step_type} step" if step_type else (
        f"[{field_parts[0]}]" if model is not _ProtocolBody else "the top level"
    )
    field = ".".join(field_parts) or None

    if kind == "extra_forbidden":
        msg = f"unknown key; allowed in {what}: {_allowed_keys(model)}"
        if model in (Specimen, Limits, Sampling) and field_parts[-1] in _ProtocolBody.model_fields:
            # TOML puts every key after a [table] header into that table.
            msg += f"; top-level keys such as {field_parts[-1]!r} must come before the first [table]"
        elif model is RepeatStep and field == "expect":
            msg = "a repeat step takes no expect; put expect on the steps it repeats"
    elif kind == "missing":
        msg = f"missing; {what} needs it (keys: {_allowed_keys(model)})"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        field = "type"
        got = f"unknown step type {ctx.get('tag')!r}" if kind == "union_tag_invalid" else "missing"
        msg = f"{got}; allowed: {', '.join(STEP_TYPES)}"
    elif kind == "finite_number":
        msg = f"must be a finite number, got {value!r}"
    elif kind in ("greater_than", "greater_than_equal"):
        op = ">" if kind == "greater_than" else ">="
        bound = ctx.get("gt", ctx.get("ge"))
        msg = f"must be {op} {bound:g}, got {value!r}"
    elif kind == "too_short":
        msg = "must not be empty; give at least one step"
    elif kind in ("float_type", "float_parsing"):
        msg = f"must be a number, got {_describe(value)}"
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        msg = f"must be a whole number, got {_describe(value)}"
    elif kind == "string_type":
        msg = f"must be a string, got {_describe(value)}"
    elif kind == "string_too_short":
        msg = "must not be empty"
    elif kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        shape = {"list_type": "an array of tables ([[...]])", "dict_type": "a table"}.get(
            kind, "a table"
        )
        msg = f"must be {shape}, got {_describe(value)}"
    elif kind == "literal_error":
        msg = f"must be {ctx.get('expected')}, got {value!r}"
    elif kind == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
        if field == "specimen":  # the only whole-table check: one of two sizes
            field = "specimen.die_diameter_mm|die_area_mm2"
    else:
        msg = f"{err['msg']}, got {_describe(value)}"
    return ProtocolError(msg, file=source, step=step_path, field=field)


# ---------------------------------------------------------------------------------------------
# checks that span fields


def _walk(steps: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every step with its path: '2', '3.steps[1]', '3.steps[1].steps[0]'."""
    for i, s in enumerate(steps):
        path = f"{prefix}.steps[{i}]" if prefix else str(i)
        yield path, s
        yield from _walk(list(behaviour(s).children(s)), path)


def _check_semantics(body: _ProtocolBody, source: str) -> None:
    lim = body.limits
    seen_labels: dict[str, int] = {}
    for i, s in enumerate(body.steps):
        if s.label is None:
            continue
        if s.label.isdigit():
            raise ProtocolError(
                "a label must not be all digits (steps are also named by index)",
                file=source, step=i, field="label",
            )
        if s.label in seen_labels:
            raise ProtocolError(
                f"label {s.label!r} is already used by {human_step(seen_labels[s.label])}; "
                "top-level labels name steps and must be unique",
                file=source, step=i, field="label",
            )
        seen_labels[s.label] = i

    for path, s in _walk(body.steps):
        for fld in ("to_mpa", "at_mpa"):
            target = getattr(s, fld, None)
            if target is not None and target > lim.max_pressure_mpa:
                raise ProtocolError(
                    f"{target:g} MPa is above limits.max_pressure_mpa = "
                    f"{lim.max_pressure_mpa:g} MPa",
                    file=source, step=path, field=fld,
                )
        rate = getattr(s, "rate_mpa_s", None)
        if rate is not None and rate > lim.max_rate_mpa_s:
            raise ProtocolError(
                f"{rate:g} MPa/s is above limits.max_rate_mpa_s = {lim.max_rate_mpa_s:g} MPa/s",
                file=source, step=path, field="rate_mpa_s",
            )
        _check_expect(s, path, source)
        pellet = {"max_cof_offset_mm", "max_pellet_nonuniformity_pct"} & set(s.expect)
        if pellet and body.specimen.die_placement_tolerance_mm is None:
            raise ProtocolError(
                f"expect.{sorted(pellet)[0]} needs the die's declared position: set "
                "specimen.die_placement_tolerance_mm (± mm, e.g. 0.02 with a centring fixture)",
                file=source, field="specimen.die_placement_tolerance_mm")
        check_step(s, path, source, body)  # limits a run can measure (criterion_bounds)

    _check_holds(body.steps, "", False, source)


def _check_expect(step: Any, path: str, source: str) -> None:
    keys = {**EXPECT_KEYS, **REPEAT_KEYS, **RATE_KEYS}
    allowed = [k for k, spec in keys.items() if step.type in spec.applies_to]
    for key, limit in step.expect.items():
        spec = keys.get(key)
        if spec is None or step.type not in spec.applies_to:
            why = "unknown expect key" if spec is None else f"does not apply to a {step.type} step"
            raise ProtocolError(
                f"{why}; a {step.type} step allows: {', '.join(allowed)}",
                file=source, step=path, field=f"expect.{key}",
            )
        if limit < 0 or (not spec.allow_zero and limit == 0) or limit > spec.max_limit:
            lo = ">= 0" if spec.allow_zero else "> 0"
            hi = f" and <= {spec.max_limit:g}" if math.isfinite(spec.max_limit) else ""
            raise ProtocolError(
                f"must be {lo}{hi} {spec.unit}, got {limit:g}",
                file=source, step=path, field=f"expect.{key}",
            )
        for needed in spec.requires:
            if needed not in step.expect:
                raise ProtocolError(
                    f"needs expect.{needed} in the same step (it defines the band)",
                    file=source, step=path, field=f"expect.{key}",
                )


def _check_holds(steps: list[Any], prefix: str, has_setpoint: bool, source: str) -> bool:
    """A hold without at_mpa holds the current setpoint, so one must exist (no release since).

    Returns whether a setpoint is held after ``steps``. A repeat body is walked twice so that
    its second pass starts in the state its first pass ended in.
    """
    for i, s in enumerate(steps):
        path = f"{prefix}.steps[{i}]" if prefix else str(i)
        b = behaviour(s)
        body = b.children(s)
        if body:
            has_setpoint = _check_holds(list(body), path, has_setpoint, source)
            if getattr(s, "count", 1) > 1:
                has_setpoint = _check_holds(list(body), path, has_setpoint, source)
            continue
        if b.needs_held_setpoint(s) and not has_setpoint:
            raise ProtocolError(
                f"a {s.type} step without at_mpa holds the current setpoint, and there is none "
                "here (no ramp or step before it, or a release or hold_gap since); add at_mpa or a ramp",
                file=source, step=path, field="at_mpa",
            )
        has_setpoint = b.holds_after(s, has_setpoint)
    return has_setpoint


__all__ = [
    "STEP_TYPES",
    "HoldStep",
    "Limits",
    "Protocol",
    "RampStep",
    "ReleaseStep",
    "RepeatStep",
    "Sampling",
    "SetpointStep",
    "Specimen",
    "Step",
    "load_protocol",
    "parse_protocol",
]
