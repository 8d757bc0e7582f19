"""Force verification per ISO 7500-1 and ASTM E4: the staircase, then the numbers.

Procedure (ISO 7500-1:2018, 6.4; ``docs/acceptance.md``):

1. the readings at rest give the indicator's resolution ``r`` (at least one increment);
2. preload to the range maximum ``F_N`` ``preloads`` times (default 3);
3. ``series`` increasing series (default 3) at ``forces_pct`` of ``F_N`` (≥ 5 forces at roughly
   equal intervals from 20 % to 100 %) plus the ISO supplementary points (10, 5, 2 … %) down to
   the lowest working force; a decreasing series only when reversibility is required; after
   each series the press is unloaded and its zero read after ``zero_wait_s`` (30 s).

The range is chosen from the working pressures: ``F_N`` is the highest working pressure on the
die (default: the protocol library's pressures), never above the press's rating. The report
says which working pressures each class covers (:mod:`.claims`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..press import Press
from .claims import judge_claims
from .driving import Driver, Recorder, SectionAbort
from .iso7500 import (
    CLASS_LIMITS_PCT,
    LOWEST_FORCE_RESOLUTIONS,
    Reading,
    astm_e4,
    class_rank,
    classify,
    force_rows,
    zero_error_pct,
)
from .metrology import (
    astm_staircase_problems,
    iso_staircase_problems,
    resolution_at_rest_kn,
    supplementary_pct,
)
from .procedure import apply_decision_rule, establish
from .reference import ReferenceIndicator
from .result import ABORTED, FAIL, NOT_TESTED, PASS, Criterion, Section
from .suite import ForceVerification, ReferenceInstrument
from .working import check_against_rating

SECTION = "force_verification"
#: a reference reading further than this from the indicated force is not in the load path
MAX_REFERENCE_MISMATCH_PCT = 20.0


def rating_kn(press: Press, die_area_mm2: float) -> float:
    """The lower of the press's rated force and its rated pressure × die area, kN."""
    ident = press.identity
    return min(ident.rated_max_force_kn, ident.rated_max_pressure_mpa * die_area_mm2 / 1000.0)


def verified_range_kn(press: Press, die_area_mm2: float, pct_of_rating: float) -> tuple[float, float]:
    """``(F_N, rating)`` for a range taken as ``pct_of_rating`` % of the rating, kN."""
    rating = rating_kn(press, die_area_mm2)
    return rating * pct_of_rating / 100.0, rating


def staircase_pct(cfg: ForceVerification, f_n_kn: float, working_kn: list[float]) -> list[float]:
    """The forces in % of ``F_N``: the ISO supplementary points down to the lowest working
    force (when enabled), then ``forces_pct``."""
    pct = list(cfg.forces_pct)
    if cfg.supplementary_points and working_kn:
        extra = supplementary_pct(min(working_kn) / f_n_kn * 100.0)
        pct = sorted({*(x for x in extra if x < pct[0]), *pct})
    return pct


def choose_range(press: Press, cfg: ForceVerification, die_area_mm2: float,
                 working_mpa: list[float]) -> tuple[float, float, str]:
    """``(F_N, rating, how)``: the top of the verified range, the rating, and a sentence."""
    rating = rating_kn(press, die_area_mm2)
    if cfg.range_max_pct_of_rating is not None:
        f_n = rating * cfg.range_max_pct_of_rating / 100.0
        return f_n, rating, (f"{cfg.range_max_pct_of_rating:g} % of the {rating:.4g} kN rating "
                             "(range_max_pct_of_rating)")
    check_against_rating(working_mpa, die_area_mm2, rating, "[force_verification] working range")
    top = max(working_mpa)
    return top * die_area_mm2 / 1000.0, rating, (
        f"the highest working pressure, {top:g} MPa on the {die_area_mm2:.4g} mm² die "
        f"(rating {rating:.4g} kN)")


def reference_problems(readings: list[Reading]) -> list[str]:
    """Readings whose reference differs from the indicated force by more than
    :data:`MAX_REFERENCE_MISMATCH_PCT`: the reference is not in the load path (or not on)."""
    bad = []
    for r in readings:
        if r.indicated_kn <= 0 or not (abs(r.reference_kn / r.indicated_kn - 1) * 100
                                       <= MAX_REFERENCE_MISMATCH_PCT):
            bad.append(f"reference {r.reference_kn:.4g} kN at indicated {r.indicated_kn:.4g} kN")
    return bad


def verify_force(
    press: Press,
    reference: ReferenceIndicator,
    cfg: ForceVerification,
    die_area_mm2: float,
    progress: Callable[[str], None] = lambda _m: None,
    *,
    working_mpa: list[float] | None = None,
    instrument: ReferenceInstrument | None = None,
    temperature_c: Callable[[], float] | None = None,
    stated_temperature_c: float | None = None,
    today: str | None = None,
) -> Section:
    """Run the ISO 7500-1 staircase on ``press`` against ``reference`` and judge it.

    ``working_mpa``: the pressures the press is used at (required unless the suite takes the
    range from the rating). ``temperature_c`` reads a temperature signal when the press has
    one; ``stated_temperature_c`` is the operator's reading otherwise. ``today`` (ISO date) is
    what the reference certificate's due date is checked against.
    """
    section = Section(SECTION, "Force verification (ISO 7500-1 / ASTM E4)")
    working_mpa = sorted(working_mpa or [])
    if not working_mpa and cfg.range_max_pct_of_rating is None:
        raise ValueError("verify_force needs the working pressures or range_max_pct_of_rating")
    press.configure(die_area_mm2=die_area_mm2, watchdog_ms=0)
    f_n, rating, how = choose_range(press, cfg, die_area_mm2, working_mpa)
    working_kn = [p * die_area_mm2 / 1000.0 for p in working_mpa]
    p_n = f_n * 1000.0 / die_area_mm2
    # room above the top force for the controller's overshoot, never above the rating
    press.configure(soft_max_mpa=min(press.identity.rated_max_pressure_mpa, p_n * 1.05))
    pct = staircase_pct(cfg, f_n, working_kn)
    nominals = [f_n * x / 100.0 for x in pct]
    main_lowest = f_n * cfg.forces_pct[0] / 100.0
    section.data.update(
        range_max_kn=f_n, rating_kn=rating, die_area_mm2=die_area_mm2,
        range_max_mpa=p_n, forces_pct=pct, working_pressures_mpa=working_mpa,
        main_series_lowest_kn=main_lowest, reversibility_required=cfg.reversibility,
    )
    section.notes.append(
        f"Range maximum F_N = {f_n:.4g} kN: {how}. Forces {', '.join(f'{x:g}' for x in pct)} % "
        f"of F_N ({nominals[0]:.4g}–{f_n:.4g} kN). Reference: {reference.description}.")
    rec = Recorder()
    drv = Driver(press, cfg.sample_interval_s, rec, extra=reference.read_kn)
    increasing: list[list[Reading]] = []
    decreasing: list[Reading] = []
    residuals: list[float] = []
    temperatures: list[list[float]] = []
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
        _, _, at_rest = drv.average(cfg.resolution_window_s)
        # readings of dwell_s each, like every reading of the staircase
        n_readings = max(1, int(cfg.resolution_window_s / cfg.dwell_s))
        resolution = resolution_at_rest_kn(at_rest, n_readings, cfg.indicator_resolution_kn)
        for k in range(cfg.preloads):
            progress(f"preload {k + 1}/{cfg.preloads} to {f_n:.4g} kN")
            drv.go_to(p_n, cfg.rate_mpa_s)
            drv.wait(max(cfg.settle_s, 1.0))
            drv.release(cfg.rate_mpa_s)
        for j in range(cfg.series):
            progress(f"series {j + 1}/{cfg.series}: {len(nominals)} forces up to {f_n:.4g} kN")
            t_start = temperature_c() if temperature_c is not None else None
            increasing.append([read_at(f) for f in nominals])
            if j == cfg.series - 1 and cfg.reversibility:
                progress("decreasing series (reversibility)")
                decreasing = [read_at(f) for f in reversed(nominals[:-1])]
            if t_start is not None and temperature_c is not None:
                temperatures.append([t_start, temperature_c()])
            residuals.append(unload_and_zero())
    except SectionAbort as exc:
        section.status = ABORTED
        section.abort_reason = str(exc)
        press.safe_state()
        section.data["_trace"] = rec
        return section

    section.data.update(
        resolution_kn=resolution, zero_residuals_kn=residuals, preloads=cfg.preloads,
        resolution_window=f"{cfg.resolution_window_s:g} s at rest as {n_readings} readings of "
                          f"{cfg.dwell_s:g} s: r = mean half range of fluctuation + one increment",
        readings={"increasing": [[vars(r) for r in s] for s in increasing],
                  "decreasing": [vars(r) for r in decreasing]},
        _trace=rec)
    blind = reference_problems([r for s in increasing for r in s])
    if blind:
        section.criteria.append(Criterion(
            SECTION, "reference in the load path", f"{len(blind)} reading(s) off", "none", "",
            FAIL, "=", f"reference and indicated force differ by more than "
            f"{MAX_REFERENCE_MISMATCH_PCT:g} %: {'; '.join(blind[:3])}; no class can be given"))
        section.data.update(iso_class=None)
        return section.finish()
    rows = force_rows(increasing, decreasing, resolution)
    f0 = zero_error_pct(residuals, f_n)
    cls = classify(rows, f0, resolution, main_lowest)
    # a supplementary point below a lower limit (k × r) lies outside that range: not judged
    in_class = in_range(rows, main_lowest, LOWEST_FORCE_RESOLUTIONS[cfg.required_class] * resolution)
    in_astm = in_range(rows, main_lowest, 200.0 * resolution)
    astm = astm_e4(in_astm, resolution, cfg.astm_max_error_pct, cfg.astm_max_run_difference_pct)
    _judge(section, cfg, in_class, f0, resolution, cls, astm,
           min(r.nominal_kn for r in in_astm))
    _judge_staircase(section, pct)
    judge_claims(section, cfg, rows, increasing, resolution, cls.achieved, working_mpa,
                 working_kn, die_area_mm2, instrument or ReferenceInstrument(), reference,
                 temperatures, stated_temperature_c, today)
    apply_decision_rule(section, cfg.decision_rule, CLASS_LIMITS_PCT[cfg.required_class][0],
                        in_class)
    if late:
        section.notes.append("AT_SETPOINT not reported in time at " + ", ".join(late)
                             + "; read anyway (the readings are normalised to the nominal).")
    section.data.update(
        f0_pct=f0,
        iso_class=cls.achieved,
        class_failures=cls.failures,
        rows=[_row_dict(r, die_area_mm2) for r in rows],
        astm={
            "max_error_pct": astm.max_error_pct,
            "max_run_difference_pct": astm.max_run_difference_pct,
            "lower_limit_kn": astm.lower_limit_kn,
            "passed": astm.passed,
        },
        _rows=rows,
    )
    establish(section, cfg.series, cfg.zero_wait_s, getattr(reference, "simulated", False),
              cfg.purpose == "informative")
    return section.finish()


def in_range(rows: list, main_lowest_kn: float, floor_kn: float) -> list:
    """The rows inside a range that starts at ``floor_kn``: the main series always, a
    supplementary point only at or above the floor."""
    return [r for r in rows if r.nominal_kn >= main_lowest_kn or r.nominal_kn >= floor_kn]


def _judge_staircase(section: Section, pct: list[float]) -> None:
    for name, why in (("ISO 7500-1 staircase", iso_staircase_problems(pct)),
                      ("ASTM E4 staircase", astm_staircase_problems(pct))):
        section.criteria.append(Criterion(
            SECTION, name, "follows" if not why else "breaks", "follows", "",
            PASS if not why else FAIL, "=",
            f"forces {', '.join(f'{x:g}' for x in pct)} % of F_N" + ("; " + "; ".join(why)
                                                                     if why else "")))


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
           cls, astm, astm_lowest_kn: float) -> None:
    req = cfg.required_class
    q_lim, b_lim, v_lim, f0_lim, a_lim = CLASS_LIMITS_PCT[req]
    got = cls.achieved or "none"
    reasons = cls.failures.get(req, [])
    detail = (f"meets class {got}" if not reasons else
              f"class {req} missed: " + "; ".join(reasons[:3]) + (" …" if len(reasons) > 3 else ""))
    section.criteria.append(Criterion(
        SECTION, "ISO 7500-1 class", got, req, "", "pass" if class_rank(cls.achieved) <= class_rank(req)
        else "fail", "at least", detail))

    def worst(attr: str) -> tuple[float, float] | None:
        vals = [(getattr(r, attr), r.nominal_kn) for r in rows if not math.isnan(getattr(r, attr))]
        return max(vals, key=lambda p: abs(p[0])) if vals else None

    for name, attr, lim, signed in (("accuracy |q|", "q_pct", q_lim, True),
                                    ("repeatability b", "b_pct", b_lim, False),
                                    ("reversibility |v|", "v_pct", v_lim, True),
                                    ("resolution a", "a_pct", a_lim, False)):
        found = worst(attr)
        if found is None:
            section.criteria.append(Criterion(
                SECTION, f"{name} (class {req})", None, lim, "%", NOT_TESTED, "≤",
                "not required: no decreasing series (set reversibility = true to determine it)"
                if attr == "v_pct" else "no value"))
            continue
        value, at = found
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
    section.criteria.append(Criterion.judge(
        SECTION, "ASTM E4 lowest force", astm_lowest_kn, astm.lower_limit_kn, "kN", "≥",
        detail=f"lowest force of the ASTM range; 200 × resolution {resolution:.3g} kN"))


__all__ = ["SECTION", "verified_range_kn", "verify_force"]
