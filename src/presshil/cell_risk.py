"""The cell's own pressure limit: a short-circuit risk above a stack pressure.

A lithium-metal anode creeps into the pores of a sulfide separator under stack pressure and
shorts the cell: Li | Li6PS5Cl | Li cells plate and strip for over 1000 h at 5 MPa, higher
pressure drives Li through the separator (Doux et al., Adv. Energy Mater. 10:1903253, 2020;
docs/domain.md). That limit belongs to the cell, not to the press: a protocol declares it as
``specimen.short_circuit_risk_above_mpa`` and every step is judged against it, whatever its
own criteria, so a setpoint, an overshoot or a swell that takes the stack above it is a
failed verdict and a ``short-circuit-risk`` event on the run record.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .metrics import Verdict

#: the criterion name on the verdicts (the protocol key it comes from)
RISK_KEY = "short_circuit_risk_above_mpa"


class ShortCircuitWatch:
    """Watches every sample of a step against the cell's short-circuit risk pressure.

    ``observe`` is called for each sample, ``verdict`` once at the end of each step (it
    starts the next one). The first sample of a step above the limit is reported through
    ``on_event`` at once, so the run record shows when the risk began, not only that it did.
    """

    def __init__(self, limit_mpa: float, on_event: Callable[[str, str], None]) -> None:
        self.limit_mpa = float(limit_mpa)
        self._on_event = on_event
        self._step = ""
        self._max_mpa = -math.inf
        self._t_max_s: float | None = None
        self._reported = False

    def observe(self, step: str, t_s: float, pressure_mpa: float) -> None:
        """One sample of ``step`` at run time ``t_s``."""
        if step != self._step:
            self._reset(step)
        if pressure_mpa > self._max_mpa:
            self._max_mpa = pressure_mpa
            self._t_max_s = t_s
        if pressure_mpa > self.limit_mpa and not self._reported:
            self._reported = True
            self._on_event(
                "short-circuit-risk",
                f"{step}: stack pressure {pressure_mpa:.3f} MPa at t = {t_s:.3f} s is above the "
                f"{self.limit_mpa:g} MPa the cell's anode tolerates "
                f"(specimen.{RISK_KEY}): risk of a short circuit",
            )

    def verdict(self, step: str, t_step_start_s: float) -> Verdict | None:
        """The step's verdict (step time, like every metric), or None if it saw no sample."""
        if step != self._step or self._t_max_s is None:
            self._reset("")
            return None
        worst, t_worst = self._max_mpa, self._t_max_s
        self._reset("")
        passed = worst <= self.limit_mpa
        detail = (
            f"highest stack pressure {worst:.3f} MPa at step time {t_worst - t_step_start_s:.3f} s"
            + ("" if passed else "; pressure above the cell's short-circuit risk limit")
        )
        return Verdict(step, RISK_KEY, worst, self.limit_mpa, "MPa", passed, detail,
                       t_s=t_worst - t_step_start_s)

    def _reset(self, step: str) -> None:
        self._step = step
        self._max_mpa = -math.inf
        self._t_max_s = None
        self._reported = False


__all__ = ["RISK_KEY", "ShortCircuitWatch"]
