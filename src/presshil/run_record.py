"""Where a stored run's steps and cycles began: the typed accessor exports count them by.

A run's top-level steps are its step records (``Store.steps``: :func:`steps_of` gives them as
the results browser shows them); each iteration of a top-level ``repeat`` (a cycle) is an
iteration record (``Store.iterations``). Both come from the store's tables
(:mod:`presshil.store_record`), never from an event's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .records import Iteration
    from .sinks import StepBoundary


def steps_of(steps: Iterable[StepBoundary]) -> list[dict[str, Any]]:
    """Top-level step records (``Store.steps``) as dicts: index, name, kind, start, end."""
    return [{"index": s.index, "name": s.name, "kind": s.kind,
             "t_start_s": s.t_start_s, "t_end_s": s.t_end_s} for s in steps]


@dataclass(frozen=True)
class StepStarts:
    """Start times (run time, s) of the run's steps and of its cycles, ascending.

    A "step" here is a top-level step or one iteration of a top-level repeat (the steps inside
    an iteration are not recorded apart); a cycle is one iteration of a top-level repeat.
    """

    steps_s: np.ndarray
    cycles_s: np.ndarray

    def counts(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Step Count`` and ``Cycle Count`` at each time in ``t_s``: the steps (cycles)
        started at or before it; 0 before the first."""
        # a step starts at the time of the sample that started it, give or take float noise
        t = np.asarray(t_s, float) + _SAME_S / 3
        steps = np.searchsorted(self.steps_s, t, side="right")
        cycles = np.searchsorted(self.cycles_s, t, side="right")
        return steps.astype(np.int64), cycles.astype(np.int64)


def step_starts(steps: Iterable[StepBoundary], iterations: Iterable[Iteration]) -> StepStarts:
    """The :class:`StepStarts` of a run from its stored records (``Store.steps``,
    ``Store.iterations``)."""
    iterations = list(iterations)
    # a repeat's start and its first cycle's are one: the repeat is counted by its cycles
    # (on a wall clock its first cycle starts a few milliseconds after it)
    cycling = {it.step_index for it in iterations}
    top = [s.t_start_s for s in steps if s.index not in cycling]
    cycles = [it.t_start_s for it in iterations]
    starts = np.unique(np.asarray(top + cycles, float))
    if starts.size:  # and a start kept to 1 ms by a store before v7 is one with the same
        starts = starts[np.concatenate([[True], np.diff(starts) > _SAME_S])]
    return StepStarts(steps_s=starts, cycles_s=np.sort(np.asarray(cycles, float)))


#: two starts closer than this are one (stores before v7 kept step times to 1 ms)
_SAME_S = 1.5e-3


__all__ = ["StepStarts", "step_starts", "steps_of"]
