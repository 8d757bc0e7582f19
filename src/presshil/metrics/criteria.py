"""The expect-key registry, and the verdicts it builds.

Every ``expect`` key a protocol step may use is declared once, as a :class:`Criterion`:
with :func:`criterion` on the function that measures it (:mod:`.pressure`, :mod:`.spatial`,
:mod:`.cell`), or with :func:`register` (:mod:`.rate`). The declaration carries
everything the rest of presshil asks about the key: its unit, whether its limit is a
maximum or a minimum, the step types it applies to, its definition and its name for people,
the range its limit may take, the press capability it needs, and how it is judged.
Protocol validation (:mod:`presshil.protocol`), the limit bounds
(:mod:`presshil.criterion_bounds`), the press capabilities (:mod:`presshil.press`), the
criterion names (:mod:`presshil.wording`) and :func:`evaluate_all` all read :data:`CRITERIA`;
:data:`EXPECT_KEYS` and :data:`REPEAT_KEYS` are live views of it.

:func:`evaluate` / :func:`evaluate_all` turn one executed step (a :class:`Segment`) into
:class:`Verdict` s. A segment too short to judge yields a failed verdict that says so, never
an exception and never a NaN that passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np

from .segment import Segment, Verdict
from .signals import ArrayLike

#: a criterion's limit is the most (``max``) or the least (``min``) its value may be
Comparison = Literal["max", "min"]
#: what a criterion is judged on: a step's samples (:func:`evaluate`), a repeat's iteration
#: boundaries (:func:`evaluate_cycles`), or a ramp's commanded rate (:mod:`.rate`)
JudgedOn = Literal["segment", "cycles", "rate"]
#: how :mod:`presshil.criterion_bounds` bounds a limit beyond its unit: a share of 100 %, a
#: spread of at most 1000 %, or a time that must fit in its step's duration
LimitKind = Literal["share", "spread", "within_step"]
#: the :class:`presshil.press.Capabilities` field a criterion needs the press to have
Capability = Literal["channels", "positions", "temperature"]

#: the step types of the built-in criteria (each step type's ``kind``, :mod:`presshil.steps`)
RAMP, HOLD, STEP, RELEASE, GAP, REPEAT = (
    frozenset({k}) for k in ("ramp", "hold", "step", "release", "hold_gap", "repeat"))


@dataclass(frozen=True)
class Criterion:
    """One expect key: everything presshil knows about it, declared in one place."""

    key: str
    unit: str
    comparison: Comparison
    #: the step types (``type`` tags, which are also the segment kinds) it may appear on
    applies_to: frozenset[str]
    #: one-line definition
    doc: str
    #: what a person calls it (reports, the browser, the terminal)
    name: str
    #: segment criteria: ``(segment, settle_s, band_mpa) -> Measured``; cycle criteria:
    #: ``(positions at the iteration boundaries) -> value``; None where judged elsewhere
    measure: Callable[..., Any] | None = None
    judged_on: JudgedOn = "segment"
    #: other expect keys the same step must give (``settle_s`` needs ``band_mpa``)
    requires: tuple[str, ...] = ()
    allow_zero: bool = True
    max_limit: float = math.inf
    limit_kind: LimitKind | None = None
    needs: Capability | None = None
    #: needs ``[specimen].die_placement_tolerance_mm`` (the declared die position)
    needs_die_position: bool = False


#: every registered expect key, in registration order
CRITERIA: dict[str, Criterion] = {}


def register(c: Criterion) -> Criterion:
    """Add ``c`` to :data:`CRITERIA`; a key may be registered once."""
    if c.key in CRITERIA:
        raise ValueError(f"expect key {c.key!r} is already registered")
    if c.comparison not in ("max", "min") or not c.applies_to or not c.unit or not c.doc:
        raise ValueError(f"expect key {c.key!r}: give a comparison (max or min), the step "
                         "types it applies to, a unit and a definition")
    if c.judged_on != "rate" and c.measure is None:
        raise ValueError(f"expect key {c.key!r} has no measure")
    CRITERIA[c.key] = c
    return c


_F = TypeVar("_F", bound=Callable[..., Any])


def criterion(
    key: str,
    unit: str,
    comparison: Comparison,
    applies_to: Iterable[str],
    doc: str,
    *,
    name: str,
    judged_on: JudgedOn = "segment",
    requires: tuple[str, ...] = (),
    allow_zero: bool = True,
    max_limit: float = math.inf,
    limit_kind: LimitKind | None = None,
    needs: Capability | None = None,
    needs_die_position: bool = False,
) -> Callable[[_F], _F]:
    """``criterion(key, …)(measure)`` registers ``measure`` as the measure of expect key ``key``.

    Each module calls it right after the function it declares, not as a decorator: the
    mutation tests (docs/acceptance.md) leave decorated functions unmutated, and the measures
    are the arithmetic they are there to test."""

    def declare(measure: _F) -> _F:
        register(Criterion(key, unit, comparison, frozenset(applies_to), doc, name, measure,
                           judged_on, requires, allow_zero, max_limit, limit_kind, needs,
                           needs_die_position))
        return measure

    return declare


class CriteriaView(Mapping[str, Criterion]):
    """The registered criteria judged on one thing, live: a later registration shows."""

    def __init__(self, judged_on: JudgedOn) -> None:
        self.judged_on = judged_on

    def __getitem__(self, key: str) -> Criterion:
        c = CRITERIA[key]
        if c.judged_on != self.judged_on:
            raise KeyError(key)
        return c

    def __iter__(self) -> Iterator[str]:
        return (k for k, c in list(CRITERIA.items()) if c.judged_on == self.judged_on)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"CriteriaView({self.judged_on!r}: {', '.join(self)})"


#: the criteria judged on a step's samples by :func:`evaluate`
EXPECT_KEYS = CriteriaView("segment")
#: the criteria of a ``repeat`` step, judged on the ram position at the start of each
#: iteration (and after the last): how the cell grows from cycle to cycle
REPEAT_KEYS = CriteriaView("cycles")


def allowed_keys(step_type: str) -> list[str]:
    """The expect keys a step of ``step_type`` may use, in registration order."""
    return [k for k, c in CRITERIA.items() if step_type in c.applies_to]


class Measured(NamedTuple):
    """What a segment criterion's measure returns."""

    value: float
    detail: str
    t_s: float | None = None
    channel: int | None = None
    #: expanded uncertainty of a "max" value: it passes only when value + U ≤ limit
    u_expanded: float = 0.0


class Unjudgeable(Exception):
    """The segment cannot support the metric; becomes a failed verdict, never escapes."""


def window(seg: Segment, settle_s: float, need: int = 2) -> np.ndarray:
    """Boolean mask of the samples at step time ≥ ``settle_s`` (the allowance runs from the
    command); at least ``need`` of them."""
    if seg.t.size < need:
        raise Unjudgeable(f"segment has {seg.t.size} sample(s); need at least {need}")
    mask = seg.t >= settle_s
    if np.count_nonzero(mask) < need:
        raise Unjudgeable(
            f"only {np.count_nonzero(mask)} sample(s) after the {settle_s:g} s settle allowance "
            f"(last sample at step time {seg.t[-1]:g} s); need at least {need}"
        )
    return mask


def evaluate(
    step_name: str,
    key: str,
    limit: float,
    seg: Segment,
    settle_s: float = 0.0,
    band_mpa: float | None = None,
) -> Verdict:
    """Judge one expect ``key`` with its ``limit`` on ``seg``.

    ``settle_s`` is the hold's settle allowance (skipped by the other hold metrics);
    ``band_mpa`` the hold band for ``settle_s`` and ``min_in_band_pct`` (default: the
    band of docs/domain.md, ±1 % or ±0.25 MPa). Raises ``ValueError`` only for a key that is not in
    :data:`EXPECT_KEYS`.
    """
    spec = EXPECT_KEYS.get(key)
    if spec is None or spec.measure is None:
        raise ValueError(f"unknown expect key {key!r}; known: {', '.join(EXPECT_KEYS)}")
    try:
        m = spec.measure(seg, settle_s, band_mpa)
    except Unjudgeable as exc:
        return Verdict(step_name, key, math.nan, limit, spec.unit, False, f"not judged: {exc}")
    ok = m.value <= limit if spec.comparison == "max" else m.value >= limit
    detail = m.detail
    if ok and m.u_expanded > 0 and not m.value + m.u_expanded <= limit:
        # guarded acceptance: within U of the limit is inconclusive, which is not a pass
        ok = False
        detail = (f"inconclusive (not a pass): value + U = {m.value + m.u_expanded:.3g} > "
                  f"{limit:g}; " + detail)
    # NaN compares False either way, so a NaN value can never pass.
    return Verdict(step_name, key, m.value, limit, spec.unit, bool(ok), detail, m.t_s,
                   m.channel)


def evaluate_cycles(step_name: str, expect: dict[str, float],
                    positions_mm: ArrayLike) -> list[Verdict]:
    """Judge a repeat's :data:`REPEAT_KEYS` on the ram position at each iteration boundary
    (``count + 1`` values, fewer when the run stopped early)."""
    x = np.asarray(positions_mm, float)
    out = []
    for key, limit in expect.items():
        spec = REPEAT_KEYS[key]
        if x.size < 2 or not np.all(np.isfinite(x)):
            why = ("the press reports no ram position" if x.size >= 2
                   else f"{x.size} iteration boundary(ies) recorded; need at least 2")
            out.append(Verdict(step_name, key, math.nan, limit, spec.unit, False, f"not judged: {why}"))
            continue
        assert spec.measure is not None  # register() refuses a cycle criterion without one
        value = float(spec.measure(x))
        detail = (f"ram at iteration starts {x[0]:.4f} … {x[-1]:.4f} mm over {x.size - 1} "
                  f"iteration(s)")
        out.append(Verdict(step_name, key, value, limit, spec.unit, bool(value <= limit), detail))
    return out


def evaluate_all(step_name: str, expect: dict[str, float], seg: Segment) -> list[Verdict]:
    """One verdict per expect key of a step, in the order the protocol lists them."""
    settle = expect.get("settle_s", 0.0)
    band = expect.get("band_mpa")
    # a step's overshoot is judged up to the end of its settling window
    settling_window = expect.get("settling_time_s", 0.0)
    return [evaluate(step_name, key, limit, seg,
                     settle_s=settling_window if key == "max_overshoot_pct" else settle,
                     band_mpa=band)
            for key, limit in expect.items()]


__all__ = [
    "CRITERIA",
    "EXPECT_KEYS",
    "REPEAT_KEYS",
    "Capability",
    "Comparison",
    "CriteriaView",
    "Criterion",
    "JudgedOn",
    "LimitKind",
    "Measured",
    "Unjudgeable",
    "allowed_keys",
    "criterion",
    "evaluate",
    "evaluate_all",
    "evaluate_cycles",
    "register",
    "window",
]
