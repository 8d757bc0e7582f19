"""What an acceptance run produces: criteria, sections, and the overall verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..metrics import Verdict
from ..press import Identity
from ..status import EXIT_ABORTED, EXIT_FAILED, EXIT_OK

PASS, FAIL, NOT_TESTED = "pass", "fail", "not tested"
#: a value within its expanded uncertainty of the limit (guard-band decision rule): not a pass
INCONCLUSIVE = "inconclusive"
#: section and overall states
PASSED, FAILED, ABORTED, SKIPPED = "passed", "failed", "aborted", "skipped"
EXIT_CODES = {PASSED: EXIT_OK, FAILED: EXIT_FAILED, ABORTED: EXIT_ABORTED}


#: readable names of the runner's expect keys
LABELS = {
    "max_overshoot_pct": "overshoot",
    "max_rise_s": "rise time 10–90 %",
    "settling_time_s": "settling time (2 % of the step)",
    "max_steady_state_error_mpa": "steady-state error",
    "max_iae_mpa_s": "IAE",
    "max_tracking_error_mpa": "ramp tracking error",
    "settle_s": "time to enter the band",
    "band_mpa": "largest deviation after settling",
    "min_in_band_pct": "samples in band",
    "max_drift_mpa_per_min": "drift",
    "max_rms_error_mpa": "RMS error",
    "max_nonuniformity_pct": "channel spread (max − min) / mean",
    "max_cv_pct": "coefficient of variation",
    "max_cof_offset_mm": "centre-of-force offset",
    "max_pellet_nonuniformity_pct": "pellet pressure spread 8e/R (estimated)",
    "max_residual_mpa": "residual after release",
    "max_channel_shift_pct": "channel consistency (share of the total force)",
}


@dataclass(frozen=True)
class Criterion:
    """One acceptance criterion: measured ``value`` against ``limit`` (``comparison`` says how).

    ``status`` is ``pass``, ``fail`` or ``not tested`` (then ``detail`` says why).
    """

    section: str
    name: str
    value: float | str | None
    limit: float | str | None
    unit: str
    status: str
    comparison: str = "≤"
    detail: str = ""

    @property
    def passed(self) -> bool:
        """True for ``pass`` only."""
        return self.status == PASS

    @classmethod
    def judge(cls, section: str, name: str, value: float, limit: float, unit: str,
              comparison: str = "≤", detail: str = "") -> Criterion:
        """A numeric criterion; NaN never passes."""
        if comparison == "≤":
            ok = value <= limit
        elif comparison == "≥":
            ok = value >= limit
        else:
            ok = value == limit
        ok = bool(ok) and not (isinstance(value, float) and math.isnan(value))
        return cls(section, name, value, limit, unit, PASS if ok else FAIL, comparison, detail)

    @classmethod
    def from_verdict(cls, section: str, v: Verdict) -> Criterion:
        """A runner :class:`~presshil.metrics.Verdict` as a criterion."""
        from ..metrics import CRITERIA

        spec = CRITERIA.get(v.criterion)
        comparison = "≥" if spec is not None and spec.comparison == "min" else "≤"
        name = LABELS.get(v.criterion, v.criterion)
        if v.criterion == "completed":
            comparison = "="
        return cls(section, name, v.value, v.limit, v.unit, PASS if v.passed else FAIL,
                   comparison, v.detail)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN and inf become None / strings)."""
        return {
            "section": self.section,
            "name": self.name,
            "value": _json_number(self.value),
            "limit": _json_number(self.limit),
            "comparison": self.comparison,
            "unit": self.unit,
            "status": self.status,
            "detail": self.detail,
        }


def _json_number(x: Any) -> Any:
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    return x


@dataclass
class Section:
    """One test of the suite: its criteria, a plot, notes, and test-specific data."""

    key: str
    title: str
    criteria: list[Criterion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = PASSED
    abort_reason: str | None = None
    plot_png: bytes | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def finish(self) -> Section:
        """Set ``status`` from the criteria (an abort stays an abort)."""
        if self.status in (ABORTED, SKIPPED):
            return self
        self.status = FAILED if any(c.status in (FAIL, INCONCLUSIVE) for c in self.criteria) \
            else PASSED
        return self


@dataclass
class AcceptanceResult:
    """Outcome of :func:`~presshil.acceptance.run_acceptance`."""

    suite_name: str
    suite_source: str
    suite_sha256: str
    press_url: str
    identity: Identity
    reference: str
    meta: dict[str, str]
    started_utc: str
    finished_utc: str
    sections: list[Section]
    verified_range_kn: tuple[float, float] | None = None
    #: the acceptance's entry in a results store's audit trail (``accept --db``): store,
    #: entry id and hash; None when no store was given
    audit: dict[str, Any] | None = None

    @property
    def criteria(self) -> list[Criterion]:
        """Every criterion of every section, in suite order."""
        return [c for s in self.sections for c in s.criteria]

    @property
    def status(self) -> str:
        """``aborted`` if a test was aborted, else ``failed`` if a criterion failed, else
        ``passed`` (criteria marked *not tested* do not fail the press but are listed; an
        *inconclusive* one is not a pass)."""
        if any(s.status == ABORTED for s in self.sections):
            return ABORTED
        if any(c.status in (FAIL, INCONCLUSIVE) for c in self.criteria):
            return FAILED
        return PASSED

    @property
    def passed(self) -> bool:
        """True when every tested criterion passed and nothing aborted."""
        return self.status == PASSED

    @property
    def exit_code(self) -> int:
        """0 passed, 1 a criterion failed, 3 aborted."""
        return EXIT_CODES[self.status]

    def section(self, key: str) -> Section:
        """The section ``key`` (``force_verification``, ``step_response``, …)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"no section {key!r}; sections: {', '.join(s.key for s in self.sections)}")

    @property
    def iso_class(self) -> str | None:
        """The ISO 7500-1 class the force verification established (None: none, not
        established — see ``data["class_not_established"]`` — or not run)."""
        try:
            return self.section("force_verification").data.get("iso_class")
        except KeyError:
            return None


__all__ = [
    "ABORTED",
    "EXIT_CODES",
    "FAIL",
    "FAILED",
    "INCONCLUSIVE",
    "NOT_TESTED",
    "PASS",
    "PASSED",
    "SKIPPED",
    "AcceptanceResult",
    "Criterion",
    "Section",
]
