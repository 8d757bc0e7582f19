"""Protocol errors in words: pydantic's and TOML's errors turned into one
:class:`~presshil.errors.ProtocolError` that names the file, the step and the field and says
what is allowed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ProtocolError
from .protocol_model import (
    _STEP_MODELS,
    STEP_TYPES,
    Limits,
    RepeatStep,
    Sampling,
    Specimen,
    _Model,
    _ProtocolBody,
)


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
