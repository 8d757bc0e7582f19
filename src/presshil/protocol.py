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
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .criterion_bounds import check_step
from .errors import ProtocolError, human_step
from .metrics import CRITERIA, allowed_keys
from .protocol_errors import _not_found, _toml_message, _translate
from .protocol_model import (
    STEP_TYPES,
    HoldStep,
    Limits,
    Protocol,
    RampStep,
    ReleaseStep,
    RepeatStep,
    Sampling,
    SetpointStep,
    Specimen,
    Step,
    _ProtocolBody,
)
from .steps import behaviour

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
        die = sorted(k for k in s.expect if CRITERIA[k].needs_die_position)
        if die and body.specimen.die_placement_tolerance_mm is None:
            raise ProtocolError(
                f"expect.{die[0]} needs the die's declared position: set "
                "specimen.die_placement_tolerance_mm (± mm, e.g. 0.02 with a centring fixture)",
                file=source, field="specimen.die_placement_tolerance_mm")
        check_step(s, path, source, body)  # limits a run can measure (criterion_bounds)

    _check_holds(body.steps, "", False, source)


def _check_expect(step: Any, path: str, source: str) -> None:
    allowed = allowed_keys(step.type)
    for key, limit in step.expect.items():
        spec = CRITERIA.get(key)
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
