"""What criteria are judged on and what they produce: a step's :class:`Segment` of samples,
and one :class:`Verdict` per criterion."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Verdict:
    """One criterion of one step: measured ``value`` against ``limit``.

    ``t_s`` is the time of the worst sample and ``channel`` the worst load cell's 0-based index,
    when the metric has one (texts count cells from 1, as the serial protocol does: ch1 is
    index 0).

    Times have one base, named wherever they appear. :func:`evaluate` gives ``t_s`` in *step
    time* (0 at the step's command) and ``detail`` says "step time". The runner moves ``t_s``
    onto the run's axis with :meth:`on_run_time`, which records the step's start in
    ``step_start_s``: then ``t_s`` is *run time* and ``t_s − step_start_s`` the step time of
    the detail text.
    """

    step: str
    criterion: str
    value: float
    limit: float
    unit: str
    passed: bool
    detail: str = ""
    t_s: float | None = None
    channel: int | None = None
    step_start_s: float | None = None

    @property
    def time_base(self) -> str:
        """``"step"`` (0 at the step's command) or ``"run"`` (after :meth:`on_run_time`)."""
        return "step" if self.step_start_s is None else "run"

    def on_run_time(self, step_start_s: float) -> Verdict:
        """This verdict with ``t_s`` moved from step time to run time (the step began at
        ``step_start_s`` on the run's axis); ``detail`` keeps its step times."""
        if self.step_start_s is not None:
            raise ValueError(f"{self.step}/{self.criterion}: t_s is already on run time")
        t = None if self.t_s is None else self.t_s + step_start_s
        return replace(self, t_s=t, step_start_s=step_start_s)

    def where(self) -> str:
        """``run time t = 337 s (step time 37 s)``, ``step time t = 37 s``, or ``""``."""
        if self.t_s is None:
            return ""
        if self.step_start_s is None:
            return f"step time t = {self.t_s:g} s"
        return f"run time t = {self.t_s:g} s (step time {self.t_s - self.step_start_s:g} s)"


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class Segment:
    """The samples of one executed step, as the runner cut them from the trace.

    ``t`` is *step time*: 0 is the instant the step was commanded, so the first sample sits at
    up to one sample period after 0. Settling times and settle allowances are measured from
    that 0, not from the first sample. ``setpoint`` is the press's active (ramped) setpoint,
    ``target_mpa`` the step's goal and ``start_mpa`` the setpoint it started from.
    ``channels`` is (n, N) in kN; ``channel_positions_mm`` the load cells' (x, y) as mounted,
    from the press axis; ``die_radius_mm`` the pellet's radius, ``die_position_mm`` where the
    die was declared to be (same frame) and ``die_placement_tolerance_mm`` how well it is
    placed there (for the centre-of-force offset and the pellet estimate, :mod:`.pellet`).
    """

    kind: str
    t: np.ndarray
    setpoint: np.ndarray
    pressure: np.ndarray
    channels: np.ndarray
    target_mpa: float
    start_mpa: float
    channel_positions_mm: tuple[tuple[float, float], ...] = ()
    die_radius_mm: float | None = None
    #: ram position (mm) per sample, when the press reports one (NaN where it does not)
    position: np.ndarray | None = None
    #: temperature (°C) per sample, when the press reports one (NaN where it does not)
    temperature: np.ndarray | None = None
    die_position_mm: tuple[float, float] = (0.0, 0.0)
    die_placement_tolerance_mm: float | None = None

    def __post_init__(self) -> None:
        t = np.asarray(self.t, float)
        for name in ("t", "setpoint", "pressure"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), float))
        if self.setpoint.shape != t.shape or self.pressure.shape != t.shape:
            raise ValueError(
                f"t, setpoint and pressure must have one shape; got {t.shape}, "
                f"{self.setpoint.shape}, {self.pressure.shape}"
            )
        ch = np.asarray(self.channels, float)
        object.__setattr__(self, "channels", ch.reshape(t.size, -1) if ch.size else
                           np.zeros((t.size, 0)))

    @classmethod
    def from_trace(
        cls,
        kind: str,
        trace: Any,
        rows: slice,
        *,
        target_mpa: float,
        start_mpa: float,
        channel_positions_mm: tuple[tuple[float, float], ...] = (),
        t_command_s: float = 0.0,
        die_radius_mm: float | None = None,
    ) -> Segment:
        """Cut rows ``rows`` of a :class:`~presshil.trace.Trace` into a segment; the step was
        commanded at ``t_command_s`` on the trace's axis, which becomes the segment's 0."""
        return cls(kind, trace.t[rows] - t_command_s, trace.setpoint[rows], trace.pressure[rows],
                   trace.channels[rows], target_mpa, start_mpa, channel_positions_mm,
                   die_radius_mm)



__all__ = ["Segment", "Verdict"]
