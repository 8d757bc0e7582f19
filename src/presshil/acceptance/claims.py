"""What a force verification lets the report claim, in criteria and in words.

* which working pressures the achieved class covers, and why not the others;
* the reference instrument: ISO 376 class, serial, certificate and due date, with an expired
  certificate or a class too coarse for the required machine class flagged;
* the temperature: 10–35 °C and at most 2 K change during a series, when it is known;
* the uncertainty budget of q at every force (:func:`.metrology.q_uncertainty`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

from .iso7500 import LOWEST_FORCE_RESOLUTIONS, ForceRow, Reading, class_rank
from .metrology import (
    ISO376_INTERPOLATION_PCT,
    MAX_TEMPERATURE_CHANGE_K,
    REFERENCE_CLASS_FOR,
    TEMPERATURE_RANGE_C,
    coverage,
    lowest_judged_kn,
    q_uncertainty,
    reference_class_ok,
)
from .result import FAIL, NOT_TESTED, PASS, Criterion, Section
from .suite import ForceVerification, ReferenceInstrument

SECTION = "force_verification"


def _mpa(kn: float, area: float) -> float:
    return kn * 1000.0 / area


def _list(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def coverage_sentence(cls: str, cov, working_mpa: list[float], area: float,
                      met: bool = True) -> str:
    """``Class 1 covers 15, 50 … MPa (…); it does not cover 10 MPa (0.785 kN): …``."""
    if not met:
        return (f"Class {cls} is not met, so it covers none of the working pressures "
                f"({_list([f'{p:g}' for p in working_mpa])} MPa are not covered by class {cls}).")
    by_kn = {round(p * area / 1000.0, 12): p for p in working_mpa}
    inside = [f"{by_kn[round(f, 12)]:g}" for f in cov.covered]
    text = (f"Class {cls} holds from {cov.lower_limit_kn:.4g} kN "
            f"({_mpa(cov.lower_limit_kn, area):.4g} MPa) to {cov.upper_limit_kn:.4g} kN "
            f"({_mpa(cov.upper_limit_kn, area):.4g} MPa). ")
    text += (f"It covers the working pressures {_list(inside)} MPa" if inside
             else "It covers none of the working pressures")
    if cov.not_covered:
        out = [f"{by_kn[round(f, 12)]:g} MPa ({f:.4g} kN): {why}" for f, why in cov.not_covered]
        text += "; it does not cover " + "; ".join(out)
    return text + "."


def judge_claims(section: Section, cfg: ForceVerification, rows: list[ForceRow],
                 increasing: list[list[Reading]], resolution_kn: float, achieved: str | None,
                 working_mpa: list[float], working_kn: list[float], area: float,
                 instrument: ReferenceInstrument, reference, temperatures: list[list[float]],
                 stated_temperature_c: float | None, today: str | None) -> None:
    """Append the coverage, reference, temperature and uncertainty criteria and notes."""
    nominals = [r.nominal_kn for r in rows]
    top = max(nominals)
    main_lowest = section.data.get("main_series_lowest_kn", min(nominals))
    if working_kn:
        _coverage(section, cfg, achieved, working_mpa, working_kn, nominals, main_lowest, top,
                  resolution_kn, area)
    ref = _instrument(section, cfg, instrument, reference, today)
    delta_k = _temperature(section, instrument, temperatures, stated_temperature_c)
    _budget(section, rows, increasing, resolution_kn, ref, instrument, delta_k)


def _coverage(section, cfg, achieved, working_mpa, working_kn, nominals, main_lowest, top, r,
              area) -> None:
    classes = [c for c in dict.fromkeys([achieved, cfg.required_class]) if c is not None]
    sentences = {}
    for cls in classes:
        # a class's range starts at the lowest force judged for it; a point measured below
        # k × r was not judged for the class and verifies nothing for it
        lowest = lowest_judged_kn(nominals, main_lowest, r, cls)
        met = class_rank(achieved) <= class_rank(cls)
        cov = coverage(working_kn, lowest, top, r, cls, met=met)
        sentences[cls] = coverage_sentence(cls, cov, working_mpa, area, met)
        section.notes.append(sentences[cls])
        section.criteria.append(Criterion.judge(
            SECTION, f"lower limit of class {cls} ≤ lowest working force", cov.lower_limit_kn,
            min(working_kn), "kN", "≤",
            detail=f"the lowest force judged for class {cls}, {lowest:.4g} kN (a force below "
                   f"{LOWEST_FORCE_RESOLUTIONS[cls]:g} × r = "
                   f"{LOWEST_FORCE_RESOLUTIONS[cls] * r:.4g} kN is not judged for it)"))
        section.criteria.append(Criterion(
            SECTION, f"working pressures covered (class {cls})",
            f"{len(cov.covered)} of {len(working_kn)}", "all", "",
            PASS if not cov.not_covered else FAIL, "=", sentences[cls]))
    if achieved is None:
        section.notes.append("No ISO 7500-1 class is met, so no working pressure is covered.")
    section.data["coverage"] = sentences


def _instrument(section, cfg, inst: ReferenceInstrument, reference, today) -> dict:
    cls = inst.iso376_class or getattr(reference, "iso376_class", None)
    info = {
        "description": reference.description,
        "iso376_class": cls,
        "serial": inst.serial or getattr(reference, "serial", ""),
        "certificate": inst.certificate,
        "due_date": inst.due_date.isoformat() if inst.due_date else None,
        "expanded_uncertainty_pct": inst.expanded_uncertainty_pct
        if inst.expanded_uncertainty_pct is not None else ISO376_INTERPOLATION_PCT.get(cls or ""),
    }
    section.data["reference_instrument"] = info
    day = dt.date.fromisoformat(today) if today else dt.date.today()
    if inst.due_date is None:
        section.criteria.append(Criterion(
            SECTION, "reference certificate in date", None, day.isoformat(), "", NOT_TESTED,
            "≥", "no due date given: set [reference].due_date (and certificate, serial)"))
    else:
        section.criteria.append(Criterion(
            SECTION, "reference certificate in date", inst.due_date.isoformat(), day.isoformat(),
            "", PASS if inst.due_date >= day else FAIL, "≥",
            f"certificate {inst.certificate or '(number not given)'}, serial "
            f"{info['serial'] or '(not given)'}" + ("" if inst.due_date >= day else
                                                      ": EXPIRED, the verification is void")))
    need = REFERENCE_CLASS_FOR[cfg.required_class]
    _instrument_class(section, cfg, cls, need)
    if getattr(reference, "simulated", False):
        # a model transducer has no certificate: no check on one can pass (a failing one
        # still fails)
        info["simulated"] = True
        for i, c in enumerate(section.criteria):
            if c.name.startswith("reference ") and c.status == PASS:
                section.criteria[i] = replace(
                    c, status=NOT_TESTED, detail="simulated reference: no calibration "
                    "certificate applies to it (" + c.detail + ")")
    return info


def _instrument_class(section, cfg, cls, need) -> None:
    if cls is None:
        section.criteria.append(Criterion(
            SECTION, "reference ISO 376 class", None, need, "", NOT_TESTED, "at least",
            "class not given: set [reference].iso376_class"))
    else:
        ok = reference_class_ok(cls, cfg.required_class)
        section.criteria.append(Criterion(
            SECTION, "reference ISO 376 class", cls, need, "", PASS if ok else FAIL, "at least",
            f"machine class {cfg.required_class} needs an ISO 376 class {need} instrument or "
            f"finer" + ("" if ok else f"; class {cls} is too coarse")))


def _temperature(section, inst: ReferenceInstrument, temperatures, stated) -> float:
    """Criteria for the temperature; the deviation from the reference's calibration
    temperature used in the budget (the worst of the allowed range when unknown)."""
    lo, hi = TEMPERATURE_RANGE_C
    seen = [t for pair in temperatures for t in pair]
    if not seen and stated is not None:
        seen = [stated]
    if not seen:
        for name in ("temperature in 10–35 °C", "temperature change during a series"):
            section.criteria.append(Criterion(
                SECTION, name, None, None, "°C" if "in" in name else "K", NOT_TESTED, "≤",
                "no temperature signal on this press; state the room temperature with "
                "--meta temperature_c=VALUE"))
        section.data["temperature_c"] = None
        return max(abs(lo - inst.calibration_temperature_c), abs(hi - inst.calibration_temperature_c))
    section.data["temperature_c"] = seen
    inside = all(lo <= t <= hi for t in seen)
    section.criteria.append(Criterion(
        SECTION, "temperature in 10–35 °C", f"{min(seen):.4g}–{max(seen):.4g}", f"{lo:g}–{hi:g}",
        "°C", PASS if inside else FAIL, "within",
        "from the press's temperature signal" if temperatures else "stated by the operator"))
    if temperatures:
        change = max(abs(b - a) for a, b in temperatures)
        section.criteria.append(Criterion.judge(
            SECTION, "temperature change during a series", change, MAX_TEMPERATURE_CHANGE_K, "K",
            detail="start to end of each increasing series"))
    else:
        section.criteria.append(Criterion(
            SECTION, "temperature change during a series", None, MAX_TEMPERATURE_CHANGE_K, "K",
            NOT_TESTED, "≤", "one stated value, no signal to follow during the series"))
    return max(abs(t - inst.calibration_temperature_c) for t in seen)


def _budget(section, rows, increasing, r, ref: dict, inst: ReferenceInstrument,
            delta_k: float) -> None:
    u_ref = ref["expanded_uncertainty_pct"]
    table = []
    for i, row in enumerate(rows):
        xs = [series[i].normalised_reference_kn for series in increasing]
        b = q_uncertainty(row.nominal_kn, xs, r, u_ref if u_ref is not None else math.nan,
                          inst.temperature_coefficient_pct_per_k, delta_k)
        table.append({"nominal_kn": row.nominal_kn, "u_reference_pct": b.u_reference_pct,
                      "u_resolution_pct": b.u_resolution_pct,
                      "u_repeatability_pct": b.u_repeatability_pct,
                      "u_temperature_pct": b.u_temperature_pct,
                      "u_combined_pct": b.u_combined_pct, "dof": b.effective_dof,
                      "k": b.coverage_factor, "U_pct": b.expanded_pct})
    section.data["q_uncertainty"] = table
    if u_ref is None:
        section.notes.append("Uncertainty of q not computed: the reference's uncertainty is "
                             "unknown (set [reference].iso376_class or expanded_uncertainty_pct).")
        return
    worst = max(table, key=lambda x: x["U_pct"])
    section.notes.append(
        f"Uncertainty of q (k = {worst['k']:.3g} from Student's t at ν_eff = {worst['dof']:.3g}, "
        f"Welch–Satterthwaite): at most ±{worst['U_pct']:.3g} % at {worst['nominal_kn']:.4g} "
        f"kN (reference {worst['u_reference_pct']:.3g} %, resolution "
        f"{worst['u_resolution_pct']:.3g} %, repeatability {worst['u_repeatability_pct']:.3g} %, "
        f"temperature {worst['u_temperature_pct']:.3g} %, standard uncertainties; ΔT = "
        f"{delta_k:.3g} K from the reference's calibration temperature).")


__all__ = ["coverage_sentence", "judge_claims"]
