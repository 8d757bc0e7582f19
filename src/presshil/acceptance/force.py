"""Force verification per ISO 7500-1 and ASTM E4: the staircase, then the numbers.

Procedure (ISO 7500-1:2018, 6.4; ``docs/acceptance.md``):

1. the readings at rest give the indicator's resolution ``r``;
2. preload to the range maximum ``F_N`` ``preloads`` times (default 3);
3. ``series`` increasing series (default 3) at ``forces_pct`` of ``F_N`` (≥ 5 forces from
   ≤ 20 % to 100 %); the last is followed by a decreasing series at the same forces
   (reversibility); after each series the press is unloaded and its zero read (f₀).

The verified range is chosen from the press's identity and the die: ``F_N`` is
``range_max_pct_of_rating`` % of the lower of the press's rated force and its rated pressure
times the die area, so no force exceeds what the press or the die is rated for.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..press import Press
from .driving import Driver, Recorder, SectionAbort
from .iso7500 import (
    CLASS_LIMITS_PCT,
    Reading,
    astm_e4,
    class_rank,
    classify,
    force_rows,
    relative_resolution_kn,
    zero_error_pct,
)
from .reference import ReferenceIndicator
from .result import ABORTED, Criterion, Section
from .suite import ForceVerification

SECTION = "force_verification"


def verified_range_kn(press: Press, die_area_mm2: float, pct_of_rating: float) -> tuple[float, float]:
    """``(F_N, rating)``: the top of the verified range and the rating it was taken from, kN."""
    ident = press.identity
    rating = min(ident.rated_max_force_kn, ident.rated_max_pressure_mpa * die_area_mm2 / 1000.0)
    return rating * pct_of_rating / 100.0, rating


def verify_force(
    press: Press,
    reference: ReferenceIndicator,
    cfg: ForceVerification,
    die_area_mm2: float,
    progress: Callable[[str], None] = lambda _m: None,
) -> Section:
    """Run the ISO 7500-1 staircase on ``press`` against ``reference`` and judge it."""
    section = Section(SECTION, "Force verification (ISO 7500-1 / ASTM E4)")
    press.configure(die_area_mm2=die_area_mm2, watchdog_ms=0)
    f_n, rating = verified_range_kn(press, die_area_mm2, cfg.range_max_pct_of_rating)
    p_n = f_n * 1000.0 / die_area_mm2
    # room above the top force for the controller's overshoot, never above the rating
    press.configure(soft_max_mpa=min(press.identity.rated_max_pressure_mpa, p_n * 1.05))
    nominals = [f_n * pct / 100.0 for pct in cfg.forces_pct]
    section.data.update(
        range_max_kn=f_n, rating_kn=rating, die_area_mm2=die_area_mm2,
        range_max_mpa=p_n, forces_pct=list(cfg.forces_pct),
    )
    section.notes.append(
        f"Verified range {nominals[0]:.4g}–{f_n:.4g} kN ({cfg.range_max_pct_of_rating:g} % of the "
        f"{rating:.4g} kN rating: the lower of the press's rated force "
        f"{press.identity.rated_max_force_kn:g} kN and its rated pressure × die area "
        f"{die_area_mm2:.4g} mm²). Reference: {reference.description}."
    )
    rec = Recorder()
    drv = Driver(press, cfg.sample_interval_s, rec, extra=reference.read_kn)
    increasing: list[list[Reading]] = []
    decreasing: list[Reading] = []
    residuals: list[float] = []
    late: list[str] = []

    def read_at(f_kn: float) -> Reading:
        if not drv.go_to(f_kn * 1000.0 / die_area_mm2, cfg.rate_mpa_s):
            late.append(f"{f_kn:.4g} kN")
        drv.wait(cfg.settle_s) if cfg.settle_s > 0 else None
        ind, ref, _ = drv.average(cfg.dwell_s)
        return Reading(f_kn, ind, ref)

    def unload_and_zero() -> float:
        drv.release(cfg.rate_mpa_s)
        if cfg.zero_wait_s > 0:
            drv.wait(cfg.zero_wait_s)
        ind, _, _ = drv.average(cfg.dwell_s)
        return ind

    try:
        if press.read().faulted:
            press.reset()
        drv.release(cfg.rate_mpa_s)
        _, _, at_rest = drv.average(max(cfg.dwell_s, 1.0))
        resolution = relative_resolution_kn(at_rest, cfg.indicator_resolution_kn)
        for k in range(cfg.preloads):
            progress(f"preload {k + 1}/{cfg.preloads} to {f_n:.4g} kN")
            drv.go_to(p_n, cfg.rate_mpa_s)
            drv.wait(max(cfg.settle_s, 1.0))
            drv.release(cfg.rate_mpa_s)
        for j in range(cfg.series):
            progress(f"series {j + 1}/{cfg.series}: {len(nominals)} forces up to {f_n:.4g} kN")
            increasing.append([read_at(f) for f in nominals])
            if j == cfg.series - 1:
                progress("decreasing series (reversibility)")
                decreasing = [read_at(f) for f in reversed(nominals[:-1])]
            residuals.append(unload_and_zero())
    except SectionAbort as exc:
        section.status = ABORTED
        section.abort_reason = str(exc)
        press.safe_state()
        section.data["_trace"] = rec
        return section

    rows = force_rows(increasing, decreasing, resolution)
    f0 = zero_error_pct(residuals, f_n)
    cls = classify(rows, f0, resolution)
    astm = astm_e4(rows, resolution, cfg.astm_max_error_pct, cfg.astm_max_run_difference_pct)
    _judge(section, cfg, rows, f0, resolution, cls, astm)
    if late:
        section.notes.append("AT_SETPOINT not reported in time at " + ", ".join(late)
                             + "; read anyway (the readings are normalised to the nominal).")
    section.data.update(
        resolution_kn=resolution,
        f0_pct=f0,
        zero_residuals_kn=residuals,
        iso_class=cls.achieved,
        class_failures=cls.failures,
        rows=[_row_dict(r, die_area_mm2) for r in rows],
        astm={
            "max_error_pct": astm.max_error_pct,
            "max_run_difference_pct": astm.max_run_difference_pct,
            "lower_limit_kn": astm.lower_limit_kn,
            "passed": astm.passed,
        },
        readings={
            "increasing": [[vars(r) for r in s] for s in increasing],
            "decreasing": [vars(r) for r in decreasing],
        },
        _trace=rec,
        _rows=rows,
    )
    return section.finish()


def _row_dict(r, area: float) -> dict:
    return {
        "nominal_kn": r.nominal_kn,
        "nominal_mpa": r.nominal_kn * 1000.0 / area,
        "reference_mean_kn": r.reference_mean_kn,
        "q_pct": r.q_pct,
        "b_pct": r.b_pct,
        "v_pct": None if math.isnan(r.v_pct) else r.v_pct,
        "a_pct": r.a_pct,
        "series_error_pct": list(r.series_error_pct),
    }


def _judge(section: Section, cfg: ForceVerification, rows, f0: float, resolution: float,
           cls, astm) -> None:
    req = cfg.required_class
    q_lim, b_lim, v_lim, f0_lim, a_lim = CLASS_LIMITS_PCT[req]
    got = cls.achieved or "none"
    reasons = cls.failures.get(req, [])
    detail = (f"meets class {got}" if not reasons else
              f"class {req} missed: " + "; ".join(reasons[:3]) + (" …" if len(reasons) > 3 else ""))
    section.criteria.append(Criterion(
        SECTION, "ISO 7500-1 class", got, req, "", "pass" if class_rank(cls.achieved) <= class_rank(req)
        else "fail", "at least", detail))

    def worst(attr: str) -> tuple[float, float]:
        vals = [(getattr(r, attr), r.nominal_kn) for r in rows if not math.isnan(getattr(r, attr))]
        return max(vals, key=lambda p: abs(p[0]))

    for name, attr, lim, signed in (("accuracy |q|", "q_pct", q_lim, True),
                                    ("repeatability b", "b_pct", b_lim, False),
                                    ("reversibility |v|", "v_pct", v_lim, True),
                                    ("resolution a", "a_pct", a_lim, False)):
        value, at = worst(attr)
        section.criteria.append(Criterion.judge(
            SECTION, f"{name} (class {req})", abs(value), lim, "%",
            detail=f"worst {value:+.4f} % at {at:.4g} kN" if signed else f"worst at {at:.4g} kN"))
    section.criteria.append(Criterion.judge(
        SECTION, f"zero |f0| (class {req})", abs(f0), f0_lim, "%",
        detail=f"worst residual after unloading {f0:+.4f} % of F_N"))
    section.criteria.append(Criterion.judge(
        SECTION, "ASTM E4 error", abs(astm.max_error_pct), cfg.astm_max_error_pct, "%",
        detail=f"worst {astm.max_error_pct:+.4f} % over all increasing runs"))
    section.criteria.append(Criterion.judge(
        SECTION, "ASTM E4 run-to-run difference", astm.max_run_difference_pct,
        cfg.astm_max_run_difference_pct, "%", detail="|error run 1 − error run 2|, worst force"))
    lowest = min(r.nominal_kn for r in rows)
    section.criteria.append(Criterion.judge(
        SECTION, "ASTM E4 lowest force", lowest, astm.lower_limit_kn, "kN", "≥",
        detail=f"200 × resolution {resolution:.3g} kN"))


__all__ = ["SECTION", "verified_range_kn", "verify_force"]
