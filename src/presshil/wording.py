"""Words for people: criterion names, step numbers and numbers as the command line shows them.

Keys stay the contract (protocol files, the store, JSON); what a person reads puts the human
name first and the key beside it (``drift [max_drift_mpa_per_min]``), numbers step ``2/3``
from 1 as the progress line does, and shows numbers positionally with four significant
digits (``0.00005491``, not ``5.491e-05``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from .metrics import CRITERIA

#: what a person calls the run's criteria that are not expect keys (expect keys are named
#: where they are declared, :class:`presshil.metrics.Criterion`)
_OTHER_NAMES: dict[str, str] = {
    "short_circuit_risk_above_mpa": "highest stack pressure vs the cell's short-circuit risk limit",
    "completed": "run completed",
}
#: criterion key -> what a person calls it, for every built-in criterion; a key not listed
#: reads as its words
CRITERION_NAMES: dict[str, str] = {**{k: c.name for k, c in CRITERIA.items()}, **_OTHER_NAMES}

_UNIT_SUFFIX = re.compile(r"_(mpa_per_min|mpa_s|mpa|pct|mm|um|kn|s)$")
_LIMIT_PREFIX = re.compile(r"^(max|min)_")


def criterion_name(key: str) -> str:
    """The human name of an expect key (its words when it has none registered)."""
    registered = CRITERIA.get(key)
    if registered is not None:
        return registered.name
    if key in _OTHER_NAMES:
        return _OTHER_NAMES[key]
    return _LIMIT_PREFIX.sub("", _UNIT_SUFFIX.sub("", key)).replace("_", " ")


def criterion_label(key: str) -> str:
    """``name [key]``: what a person reads and what a protocol file says."""
    name = criterion_name(key)
    return key if name == key else f"{name} [{key}]"


def fmt_num(x: Any, digits: int = 4) -> str:
    """A measured value for people: ``digits`` significant digits, written out positionally
    between 1e-6 and 1e7 (no scientific notation for ordinary values), trailing zeros dropped."""
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)):
        return "—" if x is None else str(x)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if not -6 <= magnitude < 7:
        return f"{x:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def step_labels(records: Iterable[Any], count: int) -> dict[str, str]:
    """Step name -> ``2/3 hold-74`` (numbered from 1, as the progress line says) for the
    top-level step records of a run (``index``, ``name``)."""
    labels: dict[str, str] = {}
    for r in records:
        labels.setdefault(r.name, f"{r.index + 1}/{count} {r.name}")
    return labels


def step_label(step: str, labels: dict[str, str]) -> str:
    """``step`` as numbered in ``labels`` (a step inside a repeat, ``cycles.0``, keeps its
    own name after its top-level step's number)."""
    if step in labels:
        return labels[step]
    top, dot, rest = step.partition(".")
    if dot and top in labels:
        return f"{labels[top]}.{rest}"
    return step


__all__ = ["CRITERION_NAMES", "criterion_label", "criterion_name", "fmt_num", "step_label", "step_labels"]
