"""The typed records of a run beside its samples: repeat iterations and gaps.

A top-level step's record is its :class:`~presshil.sinks.StepBoundary`; an iteration of a
top-level ``repeat`` and a stretch without samples of a resumed run are the records here. The
runner hands them to its sinks as they happen; the results store keeps each kind in its own
table (:mod:`presshil.store_record`), and readers (the results browser, exports, resume) read
those tables, never an event's text.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .metrics import Verdict


@dataclass(frozen=True)
class Iteration:
    """One iteration of a top-level ``repeat`` started (``t_end_s`` None) or ended.

    ``worst`` carries the worst verdict of each inner criterion over the iterations before this
    one, with the iteration it came from: what a resumed run keeps when it runs this one again.
    ``None`` when it was not recorded (a store written before v7 by a run whose
    ``on_host_loss`` was not ``"hold"``).
    """

    #: index of the top-level repeat step
    step_index: int
    #: 1-based iteration number, of ``count``
    iteration: int
    count: int
    #: start and end on the run's time axis (s)
    t_start_s: float
    t_end_s: float | None = None
    worst: tuple[tuple[Verdict, int], ...] | None = ()


@dataclass(frozen=True)
class Gap:
    """A stretch of a resumed run without samples: the host was lost (seconds, run axis)."""

    #: the last sample before the host was lost
    t_start_s: float
    #: when the run was taken up again
    t_end_s: float
    #: the top-level step the run resumed in
    step_index: int = 0

    @property
    def length_s(self) -> float:
        """How long nothing was sampled."""
        return self.t_end_s - self.t_start_s


def worst_to_json(worst: tuple[tuple[Verdict, int], ...] | None) -> str | None:
    """``Iteration.worst`` as the store keeps it: ``[[verdict fields, iteration], …]``."""
    if worst is None:
        return None
    return json.dumps([[dataclasses.asdict(v), int(k)] for v, k in worst])


def worst_from_json(text: str | None) -> tuple[tuple[Verdict, int], ...] | None:
    """The inverse of :func:`worst_to_json`."""
    if text is None:
        return None
    from .metrics import Verdict

    return tuple((Verdict(**fields), int(k)) for fields, k in json.loads(text))


__all__ = ["Gap", "Iteration", "worst_from_json", "worst_to_json"]
