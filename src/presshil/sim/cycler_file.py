"""The simulated cycler's own data file: what a cycler beside the simulated press would have
recorded, in BDF, on its own clock.

The sim's cycler (:class:`presshil.sim.cycler.Cycler`) drives the cell's breathing with
charge and discharge phases; this writes the matching electrochemistry: a constant current
(positive charging, as BDF signs it) for each phase, and a voltage that rises and falls with
the state of charge (a linear open-circuit voltage plus the IR drop). One row every
``interval_s`` of virtual time, and one at each phase change. ``Unix Time / s`` is the wall
clock when the press was opened plus virtual time: another clock than the run's, as a real
cycler's is (``presshil join --offset cycling`` lines them up).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..bdf_file import write_columns
from ..maps import bdf_columns as C

#: 1 mAh/cm² on a 10 mm die, in an hour
CURRENT_A = 0.785e-3
OCV_EMPTY_V = 3.4
OCV_FULL_V = 4.2
RESISTANCE_OHM = 50.0


def cycler_columns(phases: Sequence[tuple[float, str]], t_end_s: float, interval_s: float = 10.0,
                   half_period_s: float = 3600.0) -> dict[str, np.ndarray]:
    """The cycler's record from its phase changes until ``t_end_s`` (virtual time): test time
    from its first charge, voltage, current, cycle and step counts."""
    # a phase that ended the moment it began (the schedule ended as a charge was due) is none
    phases = [p for i, p in enumerate(phases) if i + 1 == len(phases) or phases[i + 1][0] > p[0]]
    if not phases:
        return {C.TEST_TIME: np.zeros(0), C.VOLTAGE: np.zeros(0), C.CURRENT: np.zeros(0),
                C.CYCLE_COUNT: np.zeros(0, np.int64), C.STEP_COUNT: np.zeros(0, np.int64)}
    t0 = phases[0][0]
    starts = np.array([p[0] for p in phases] + [t_end_s], float)
    grid = np.arange(t0, t_end_s + 1e-9, interval_s)
    t = np.unique(np.concatenate([grid, starts[:-1]]))
    t = t[t <= t_end_s]
    # the phase each row is in (a row at the very end belongs to the last phase)
    k = np.minimum(np.searchsorted(starts, t, side="right") - 1, len(phases) - 1)
    kinds = np.array([p[1] for p in phases])
    sign = np.select([kinds == "charge", kinds == "discharge"], [1.0, -1.0], 0.0)[k]
    current = sign * CURRENT_A
    # state of charge: integrate the current phase by phase (starts empty)
    soc = np.zeros(t.size)
    level = 0.0
    for i in range(len(phases)):
        rows = k == i
        s = sign[rows][0] if rows.any() else 0.0
        soc[rows] = np.clip(level + s * (t[rows] - starts[i]) / half_period_s, 0.0, 1.0)
        end = min(starts[i + 1], t_end_s)
        level = float(np.clip(level + s * (end - starts[i]) / half_period_s, 0.0, 1.0))
    voltage = OCV_EMPTY_V + (OCV_FULL_V - OCV_EMPTY_V) * soc + current * RESISTANCE_OHM
    cycle = np.cumsum(np.array([p[1] == "charge" for p in phases]))[k].astype(np.int64)
    return {C.TEST_TIME: t - t0, C.VOLTAGE: voltage, C.CURRENT: current,
            C.CYCLE_COUNT: cycle, C.STEP_COUNT: (k + 1).astype(np.int64)}


def write_cycler_bdf(path: Path, phases: Sequence[tuple[float, str]], t_end_s: float,
                     unix_at_zero_s: float, interval_s: float = 10.0,
                     half_period_s: float = 3600.0) -> Path:
    """Write the cycler's BDF file (CSV or Parquet by extension); ``unix_at_zero_s`` is the
    Unix time of virtual time 0 on the cycler's clock."""
    cols = cycler_columns(phases, t_end_s, interval_s, half_period_s)
    t_virtual = cols[C.TEST_TIME] + (phases[0][0] if phases else 0.0)
    names = [C.TEST_TIME, C.UNIX_TIME, C.VOLTAGE, C.CURRENT, C.CYCLE_COUNT, C.STEP_COUNT]
    values = [cols[C.TEST_TIME], unix_at_zero_s + t_virtual, cols[C.VOLTAGE], cols[C.CURRENT],
              cols[C.CYCLE_COUNT], cols[C.STEP_COUNT]]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_columns(path, names, iter([values]))
    return path


__all__ = ["CURRENT_A", "cycler_columns", "write_cycler_bdf"]
