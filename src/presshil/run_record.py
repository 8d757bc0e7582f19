"""Where a stored run's steps and cycles began: the typed accessor exports count them by.

A run's top-level step boundaries are its ``step`` events (:func:`steps_of`, which the
results browser, the live view, reports and resume all read them through); each iteration of a
top-level ``repeat`` (a cycle) is a ``cycle`` event at the time it started. Only the kind and
the time of a ``cycle`` event are read, never its text. A structured step table in the store
would replace this module; until then, this is the one place that knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: a step record as the runner writes it: ``INDEX NAME TYPE START..END`` (run time, s); the
#: name is the step's label as given and may hold spaces, the type never does
STEP_EVENT = re.compile(r"^(\d+) (.+) (\S+) (-?[\d.]+)\.\.(-?[\d.]+)$")


def steps_of(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Top-level step records from a run's ``step`` events: index, name, kind, start, end."""
    out = []
    for e in events:
        m = STEP_EVENT.match(e.message) if e.kind == "step" else None
        if m:
            out.append({"index": int(m.group(1)), "name": m.group(2), "kind": m.group(3),
                        "t_start_s": float(m.group(4)), "t_end_s": float(m.group(5))})
    return out


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
        # a start written to 1 ms may round up past the step's first sample by up to 0.5 ms
        t = np.asarray(t_s, float) + _SAME_S / 3
        steps = np.searchsorted(self.steps_s, t, side="right")
        cycles = np.searchsorted(self.cycles_s, t, side="right")
        return steps.astype(np.int64), cycles.astype(np.int64)


def step_starts(events: Iterable[Any]) -> StepStarts:
    """The :class:`StepStarts` of a run from its stored events (``Store.events``)."""
    events = list(events)
    top = [s["t_start_s"] for s in steps_of(events)]
    cycles = [float(e.t_s) for e in events if e.kind == "cycle" and e.t_s is not None]
    steps = np.unique(np.asarray(top + cycles, float))
    # a repeat's start and its first cycle's are one moment; the step event keeps 3 decimals
    if steps.size:
        steps = steps[np.concatenate([[True], np.diff(steps) > _SAME_S])]
    return StepStarts(steps_s=steps, cycles_s=np.sort(np.asarray(cycles, float)))


#: two starts closer than this are one (the step events' times are written to 1 ms)
_SAME_S = 1.5e-3


__all__ = ["STEP_EVENT", "StepStarts", "step_starts", "steps_of"]
