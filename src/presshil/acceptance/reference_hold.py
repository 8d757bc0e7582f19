"""The long hold judged against the reference instrument, where one is in the load path.

A press regulates on its own force signal (the sum of its load cells). A load cell that drifts
is compensated by the controller: the indicated force stays on target, drift and band pass,
and the true force on the stack moves. A reference instrument in series with the specimen
reads the true force, so the two *diverge*. :class:`ReferenceTrack` reads the reference beside
every sample the runner takes during the hold step (it is a run sink, so the runner is
unchanged), and :func:`reference_divergence` judges the divergence.

The judged window is the hold after its ``settle_s``, cut into :data:`PARTS` equal parts; in
each part the mean indicated force is compared with the mean reference force,
``d = (F_ind − F_ref) / F_ref × 100``. The criterion is the largest ``|d|``: the calibration
error the force verification measured is part of it (a press of class 1 is within 1 % of the
reference, ISO 7500-1 Table 2), so the default tolerance is 1 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..sinks import Gap, Iteration, RunStart, SampleRow, StepBoundary
from .reference import ReferenceIndicator
from .result import NOT_TESTED, Criterion

#: the judged window is cut into this many equal parts, each averaged
PARTS = 10
#: a reference reading less than this fraction of the indicated force does not see the load
MIN_SHARE = 0.05
NAME = "reference vs indicated force"


@dataclass
class ReferenceTrack:
    """A run sink reading the reference beside each sample of the step labelled ``step_label``.

    A reference that cannot be read (a link error) leaves a gap (NaN) and the message, never
    an aborted run: the hold's other criteria stand on the press's own data.
    """

    reference: ReferenceIndicator
    step_label: str = "hold"
    t_s: list[float] = field(default_factory=list)
    force_kn: list[float] = field(default_factory=list)
    reference_kn: list[float] = field(default_factory=list)
    t_start_s: float | None = None
    errors: list[str] = field(default_factory=list)
    _on: bool = False

    def start(self, run: RunStart) -> None:
        """Nothing to prepare."""

    def step(self, boundary: StepBoundary) -> None:
        """Record while the hold step runs."""
        if boundary.name != self.step_label:
            return
        self._on = boundary.t_end_s is None
        if self._on:
            self.t_start_s = boundary.t_start_s

    def iteration(self, record: Iteration) -> None:
        """Iterations are not needed: the reference is read through the hold step."""

    def gap(self, record: Gap) -> None:
        """Gaps are not needed."""

    def sample(self, row: SampleRow) -> None:
        """Read the reference now, beside the press's sample."""
        if not self._on:
            return
        try:
            ref = float(self.reference.read_kn())
        except Exception as exc:  # noqa: BLE001 - a gap in the reference, not a run abort
            ref = math.nan
            if len(self.errors) < 3:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        self.t_s.append(row[0])
        self.force_kn.append(row[3])
        self.reference_kn.append(ref)

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        """Not used."""

    def verdict(self, verdict: object) -> None:
        """Not used."""

    def finish(self, status: object) -> None:
        """Not used."""


def divergence_by_part_pct(force_kn: object, reference_kn: object, parts: int = PARTS
                           ) -> np.ndarray:
    """``(F̄_ind − F̄_ref) / F̄_ref × 100`` in each of ``parts`` equal parts of the samples
    (NaN readings left out; a part with no reading is NaN)."""
    ind = np.asarray(force_kn, float)
    ref = np.asarray(reference_kn, float)
    out = np.full(parts, math.nan)
    for i, idx in enumerate(np.array_split(np.arange(ind.size), parts)):
        ok = idx[np.isfinite(ref[idx]) & np.isfinite(ind[idx])]
        if ok.size and ref[ok].mean() != 0.0:
            out[i] = (ind[ok].mean() / ref[ok].mean() - 1.0) * 100.0
    return out


def reference_divergence(track: ReferenceTrack, limit_pct: float, settle_s: float,
                         signal: str = "force_kn", section: str = "hold") -> Criterion:
    """The criterion: largest ``|d|`` over the hold's parts ≤ ``limit_pct``.

    ``signal`` names the press's signal in the detail (the one that fails). Not tested, with
    the reason, when the hold has fewer than ``2 × PARTS`` readings after ``settle_s``, or the
    reference reads under :data:`MIN_SHARE` of the indicated force (it is not in the load
    path).
    """
    t = np.asarray(track.t_s, float)
    start = (track.t_start_s or 0.0) + settle_s
    keep = t >= start
    ind = np.asarray(track.force_kn, float)[keep]
    ref = np.asarray(track.reference_kn, float)[keep]
    good = np.isfinite(ref)
    if int(good.sum()) < 2 * PARTS:
        why = f"{int(good.sum())} reference readings after settling (need {2 * PARTS})"
        if track.errors:
            why += f"; reading the reference failed: {track.errors[0]}"
        return Criterion(section, NAME, None, limit_pct, "%", NOT_TESTED, "≤",
                         f"not judged: {why}")
    if not np.nanmean(ref) > MIN_SHARE * max(float(np.mean(ind)), 1e-12):
        return Criterion(section, NAME, None, limit_pct, "%", NOT_TESTED, "≤",
                         f"not judged: the reference reads {np.nanmean(ref):.3g} kN against "
                         f"{np.mean(ind):.3g} kN indicated: it is not in the load path during the "
                         "hold (put it in series with the specimen to judge this)")
    d = divergence_by_part_pct(ind, ref)
    worst = int(np.nanargmax(np.abs(d)))
    value = float(abs(d[worst]))
    detail = (f"press signal {signal} (the force it regulates on) against the reference, "
              f"mean of each tenth of the hold after {settle_s:g} s: {d[0]:+.2f} % at the start, "
              f"{d[-1]:+.2f} % at the end, worst {d[worst]:+.2f} % in part {worst + 1} of "
              f"{PARTS}")
    crit = Criterion.judge(section, NAME, value, limit_pct, "%", "≤", detail)
    if not crit.passed:
        crit = Criterion(section, NAME, value, limit_pct, "%", crit.status, "≤",
                         f"{signal} diverges from the reference by {d[worst]:+.2f} % (limit "
                         f"±{limit_pct:g} %): the press holds its indicated force while the "
                         f"true force moves (a drifting load cell the controller compensates); "
                         + detail)
    return crit


__all__ = ["MIN_SHARE", "NAME", "PARTS", "ReferenceTrack", "divergence_by_part_pct",
           "reference_divergence"]
