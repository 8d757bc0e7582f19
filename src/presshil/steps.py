"""What each protocol step type means: one class per type, found through a registry.

The pydantic models in :mod:`presshil.protocol` declare a step's fields; the class here knows
what the step *does*:

- its nominal duration from a given setpoint (closed form: a repeat of 10⁹ iterations costs
  the same as one);
- the setpoint it leaves behind, and whether a setpoint is held after it;
- how to execute on a running press (through a :class:`StepContext` the runner provides);
- the :class:`~presshil.metrics.Segment` kind and target it hands to metrics;
- its tolerance band while it runs, for display.

Protocol validation, the runner, the pytest helpers and the reports ask :func:`behaviour`
instead of switching on step types. The registry is keyed by the model's ``type`` tag, so
this module needs nothing from protocol.py and protocol.py can ask it. To add a step type,
declare its model in protocol.py's ``Step`` union and write one subclass of
:class:`StepType` here with ``@register``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

from .state import Sample, Status

#: ``until(sample, t_step_s)``: True ends the step (``t_step_s`` is time since the step began)
Until = Callable[[Sample, float], bool]


class StepContext(Protocol):
    """What a step needs from the run executing it."""

    #: steepest rate the protocol allows (MPa/s), used for approaches
    max_rate_mpa_s: float
    #: extra time a ramp or release may take beyond its nominal duration
    step_timeout_margin_s: float
    #: how long after a ramp's setpoint arrives to wait for AT_SETPOINT
    settle_after_ramp_s: float

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """Command the press to regulate to ``setpoint_mpa`` at ``rate_mpa_s``."""

    def release(self, rate_mpa_s: float) -> None:
        """Command the press to ramp down and open."""

    def hold_gap(self) -> None:
        """Command the press to hold its ram where it is (constant gap)."""

    def collect(self, until: Until) -> None:
        """Sample (supervised, recorded) until ``until`` says the step is over."""

    def event(self, kind: str, message: str) -> None:
        """Record an event on the run."""


class StepType:
    """Behaviour of one step type; subclasses set ``tag`` and override what applies."""

    #: the ``type`` tag of the step's model in protocol files (the registry key)
    tag: ClassVar[str]
    #: the segment kind metrics see (what a criterion's ``applies_to`` lists, ``metrics.CRITERIA``)
    kind: ClassVar[str]

    def nominal_s(self, step: Any, start_mpa: float, max_rate_mpa_s: float) -> float:
        """Planned duration from ``start_mpa`` if every ramp ran at its nominal rate."""
        raise NotImplementedError

    def setpoint_after(self, step: Any, start_mpa: float) -> float:
        """The setpoint the step leaves behind."""
        raise NotImplementedError

    def holds_after(self, step: Any, held_before: bool) -> bool:
        """Whether a setpoint is held after the step (a hold without ``at_mpa`` needs one)."""
        return held_before

    def needs_held_setpoint(self, step: Any) -> bool:
        """Whether the step only makes sense with a setpoint already held."""
        return False

    def children(self, step: Any) -> Sequence[Any]:
        """Nested steps (a repeat's body); empty for a leaf."""
        return ()

    def target_mpa(self, step: Any, start_mpa: float) -> float:
        """The goal metrics judge the step against."""
        return self.setpoint_after(step, start_mpa)

    def band(self, step: Any, start_mpa: float) -> tuple[float, float] | None:
        """(target MPa, half-width MPa) of the step's tolerance band, if it has one."""
        width = step.expect.get("band_mpa")
        return None if width is None else (self.target_mpa(step, start_mpa), float(width))

    def execute(self, step: Any, ctx: StepContext, name: str, start_mpa: float) -> None:
        """Command the press and sample until the step is over."""
        raise NotImplementedError


_REGISTRY: dict[str, StepType] = {}


def register(cls: type[StepType]) -> type[StepType]:
    """Class decorator: make ``cls`` the behaviour of steps whose ``type`` is ``cls.tag``."""
    _REGISTRY[cls.tag] = cls()
    return cls


def behaviour(step: Any) -> StepType:
    """The behaviour of ``step`` (a protocol step model instance), by its ``type`` tag."""
    try:
        return _REGISTRY[step.type]
    except (KeyError, AttributeError):
        known = ", ".join(sorted(_REGISTRY))
        raise TypeError(
            f"no behaviour registered for step {step!r}; known types: {known}"
        ) from None


def registered_tags() -> tuple[str, ...]:
    """The step types that have a behaviour, in registration order."""
    return tuple(_REGISTRY)


def sequence_nominal_s(
    steps: Sequence[Any], start_mpa: float, max_rate_mpa_s: float
) -> tuple[float, float]:
    """(duration, setpoint after) of ``steps`` run in order from ``start_mpa``."""
    total = 0.0
    p = start_mpa
    for s in steps:
        b = behaviour(s)
        total += b.nominal_s(s, p, max_rate_mpa_s)
        p = b.setpoint_after(s, p)
    return total, p


def setpoint_before(steps: Sequence[Any], index: int) -> float:
    """The planned setpoint when top-level step ``index`` starts (0 before the first)."""
    p = 0.0
    for s in steps[:index]:
        p = behaviour(s).setpoint_after(s, p)
    return p


@register
class Ramp(StepType):
    """Linear setpoint ramp to ``to_mpa``; over once the press reports AT_SETPOINT there."""

    tag = "ramp"
    kind = "ramp"

    def nominal_s(self, step: Any, start_mpa: float, max_rate_mpa_s: float) -> float:
        return abs(step.to_mpa - start_mpa) / step.rate_mpa_s

    def setpoint_after(self, step: Any, start_mpa: float) -> float:
        return float(step.to_mpa)

    def holds_after(self, step: Any, held_before: bool) -> bool:
        return True

    def execute(self, step: Any, ctx: StepContext, name: str, start_mpa: float) -> None:
        target = step.to_mpa
        ctx.command(target, step.rate_mpa_s)
        nominal = self.nominal_s(step, start_mpa, ctx.max_rate_mpa_s)
        arrived: list[float] = []

        def done(s: Sample, t: float) -> bool:
            if not arrived and abs(s.setpoint_mpa - target) < 1e-6 and t >= nominal:
                arrived.append(t)
            if arrived and (
                s.status & Status.AT_SETPOINT or t - arrived[0] >= ctx.settle_after_ramp_s
            ):
                return True
            if t > nominal + ctx.step_timeout_margin_s:
                ctx.event("step-timeout", f"{name}: setpoint {target:g} MPa not reached")
                return True
            return False

        ctx.collect(done)


@register
class Setpoint(StepType):
    """A setpoint jump observed for ``duration_s`` (the step-response test)."""

    tag = "step"
    kind = "step"

    def nominal_s(self, step: Any, start_mpa: float, max_rate_mpa_s: float) -> float:
        return float(step.duration_s)

    def setpoint_after(self, step: Any, start_mpa: float) -> float:
        return float(step.to_mpa)

    def holds_after(self, step: Any, held_before: bool) -> bool:
        return True

    def execute(self, step: Any, ctx: StepContext, name: str, start_mpa: float) -> None:
        ctx.command(step.to_mpa, step.rate_mpa_s or ctx.max_rate_mpa_s)
        ctx.collect(lambda s, t: t >= step.duration_s)


@register
class Hold(StepType):
    """Hold ``at_mpa`` (approached at the protocol's maximum rate) or the current setpoint."""

    tag = "hold"
    kind = "hold"

    def nominal_s(self, step: Any, start_mpa: float, max_rate_mpa_s: float) -> float:
        approach = 0.0 if step.at_mpa is None else abs(step.at_mpa - start_mpa) / max_rate_mpa_s
        return approach + step.duration_s

    def setpoint_after(self, step: Any, start_mpa: float) -> float:
        return start_mpa if step.at_mpa is None else float(step.at_mpa)

    def holds_after(self, step: Any, held_before: bool) -> bool:
        return held_before or step.at_mpa is not None

    def needs_held_setpoint(self, step: Any) -> bool:
        return step.at_mpa is None

    def execute(self, step: Any, ctx: StepContext, name: str, start_mpa: float) -> None:
        target = self.setpoint_after(step, start_mpa)
        approach_s = abs(target - start_mpa) / ctx.max_rate_mpa_s
        if approach_s > 0:
            ctx.command(target, ctx.max_rate_mpa_s)
        ctx.collect(lambda s, t: t >= approach_s + step.duration_s)


@register
class HoldGap(StepType):
    """Hold the ram where it is for ``duration_s``: the pressure follows the cell.

    The setpoint the press regulated to is no longer held afterwards: the next step must
    command a pressure (a ``hold`` without ``at_mpa`` after it is refused by validation).
    """

    tag = "hold_gap"
    kind = "hold_gap"

    def nominal_s(self, step: Any, start_mpa: float, max_rate_mpa_s: float) -> float:
        return float(step.duration_s)

    def setpoint_after(self, step: Any, start_mpa: float) -> float:
        return start_mpa

    def holds_after(self, step: Any, held_before: bool) -> bool:
        return False

    def band(self, step: Any, start_mpa: float) -> tuple[float, float] | None:
        return None  # no pressure band: the pressure is what is measured, not regulated

    def execute(self, step: Any, ctx: StepContext, name: str, start_mpa: float) -> None:
        ctx.hold_gap()
        ctx.collect(lambda s, t: t >= step.duration_s)


@register
class Release(StepType):
    """Ramp down to zero and open; over once the press reports RELEASED."""

    tag = "release"
    kind = "release"

    def nominal_s(self, step: Any, start_mpa: float, max_rate_mpa_s: float) -> float:
        return start_mpa / step.rate_mpa_s

    def setpoint_after(self, step: Any, start_mpa: float) -> float:
        return 0.0

    def holds_after(self, step: Any, held_before: bool) -> bool:
        return False

    def execute(self, step: Any, ctx: StepContext, name: str, start_mpa: float) -> None:
        ctx.release(step.rate_mpa_s)
        nominal = self.nominal_s(step, start_mpa, ctx.max_rate_mpa_s)

        def done(s: Sample, t: float) -> bool:
            if t >= nominal and s.status & Status.RELEASED:
                return True
            if t > nominal + ctx.step_timeout_margin_s:
                ctx.event("step-timeout", f"{name}: press did not report RELEASED")
                return True
            return False

        ctx.collect(done)


@register
class Repeat(StepType):
    """``count`` iterations of its body; judged per inner criterion (the worst iteration)."""

    tag = "repeat"
    kind = "repeat"

    def nominal_s(self, step: Any, start_mpa: float, max_rate_mpa_s: float) -> float:
        # Closed form: a body's end setpoint is either fixed by the body or its start, so
        # every iteration after the first starts where the first ended.
        first_s, p1 = sequence_nominal_s(step.steps, start_mpa, max_rate_mpa_s)
        if step.count == 1:
            return first_s
        rest_s, _ = sequence_nominal_s(step.steps, p1, max_rate_mpa_s)
        return first_s + (step.count - 1) * rest_s

    def setpoint_after(self, step: Any, start_mpa: float) -> float:
        p = start_mpa
        for s in step.steps:
            p = behaviour(s).setpoint_after(s, p)
        return p

    def holds_after(self, step: Any, held_before: bool) -> bool:
        held = held_before
        for s in step.steps:
            held = behaviour(s).holds_after(s, held)
        return held

    def band(self, step: Any, start_mpa: float) -> tuple[float, float] | None:
        return None

    def children(self, step: Any) -> Sequence[Any]:
        return step.steps

    def execute(self, step: Any, ctx: StepContext, name: str, start_mpa: float) -> None:
        raise TypeError("a repeat is run by the runner's repeat loop, not executed as a leaf")


__all__ = [
    "Hold",
    "HoldGap",
    "Ramp",
    "Release",
    "Repeat",
    "Setpoint",
    "StepContext",
    "StepType",
    "behaviour",
    "register",
    "registered_tags",
    "sequence_nominal_s",
    "setpoint_before",
]
