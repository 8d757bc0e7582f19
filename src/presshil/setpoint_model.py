"""The active setpoint a press was asked to follow, modelled by the host.

Many presses take a target and a rate and ramp by themselves without reporting the ramped
(active) setpoint; an operator-guided press has no setpoint at all, only instructions to a
person. For both, the active setpoint a run is judged against is the ramp the press was
asked for: from the pressure at the command, at the rate *as written* to the device (after
unit conversion and register rounding), to the target — and for a release, down to zero at
the release rate. A press that reports its own active setpoint is not modelled: its value
wins.

:class:`SetpointRamp` is that model (one place for every binding); :class:`AsWritten`
records what a command asked for against what its registers could say, and
:func:`rounding_note` turns a difference of more than :data:`ROUNDING_NOTE_PCT` into the
text of a run event.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: the run event that says the recorded setpoint is the host's model, not the device's
SETPOINT_MODELLED = (
    "setpoint host-modelled: the press reports no active setpoint; the setpoint recorded and "
    "judged against is the ramp it was asked for (from the pressure at each command, at the "
    "rate as written to the device, to the target)"
)
#: a commanded value changed by more than this (in %) by its register's rounding is recorded
ROUNDING_NOTE_PCT = 2.0


@dataclass(frozen=True, slots=True)
class SetpointRamp:
    """A linear ramp of the active setpoint from ``start_mpa`` at ``t0_s`` to ``end_mpa``."""

    t0_s: float
    start_mpa: float
    end_mpa: float
    rate_mpa_s: float

    def at(self, t_s: float) -> float:
        """The modelled active setpoint at time ``t_s`` (the clock of ``t0_s``)."""
        if not self.rate_mpa_s > 0 or not math.isfinite(self.rate_mpa_s):
            return self.end_mpa  # no rate: the press was asked for a jump
        step = self.rate_mpa_s * max(0.0, t_s - self.t0_s)
        if self.end_mpa >= self.start_mpa:
            return min(self.end_mpa, self.start_mpa + step)
        return max(self.end_mpa, self.start_mpa - step)

    def arrives_s(self) -> float:
        """When the modelled setpoint reaches ``end_mpa`` (the clock of ``t0_s``)."""
        if not self.rate_mpa_s > 0:
            return self.t0_s
        return self.t0_s + abs(self.end_mpa - self.start_mpa) / self.rate_mpa_s


@dataclass(frozen=True, slots=True)
class AsWritten:
    """One value of a command: what was asked (specimen MPa or MPa/s) and what the device's
    register says after unit conversion and rounding."""

    what: str
    asked: float
    written: float
    unit: str

    @property
    def change_pct(self) -> float:
        """Relative change by the rounding, in % of what was asked (0 when nothing asked)."""
        return 0.0 if self.asked == 0 else (self.written - self.asked) / abs(self.asked) * 100.0


def rounding_note(values: Sequence[AsWritten], threshold_pct: float = ROUNDING_NOTE_PCT) -> str | None:
    """One line naming the values whose register rounding changed them by more than
    ``threshold_pct`` (None when none did)."""
    changed = [v for v in values if abs(v.change_pct) > threshold_pct]
    if not changed:
        return None
    parts = [
        f"{v.what} {v.asked:g} {v.unit} is written as {v.written:.4g} {v.unit} ({v.change_pct:+.1f} %)"
        for v in changed
    ]
    return "; ".join(parts) + ": the device's register cannot say the asked value, and the press follows what it says"


__all__ = ["ROUNDING_NOTE_PCT", "SETPOINT_MODELLED", "AsWritten", "SetpointRamp", "rounding_note"]
