"""When a force verification may state a class, and how a value meets its limit.

ISO 7500-1 gives a class only to a verification that followed its procedure: three increasing
series (6.4.5), the zero read about 30 s after each unloading (6.4.4), a reference instrument
calibrated to ISO 376 with a valid certificate, and a known temperature (6.4.1). When any of
these is missing the numbers still come out, but no class is *established*:
:func:`establishment_problems` lists why, and the report says "class not established: …".

The decision rule (ILAC-G8:2019) says how a value with expanded uncertainty ``U`` is judged:

* ``simple``: pass when ``value ≤ limit`` (the uncertainty is reported, not used);
* ``guard_band`` (default): pass when ``value + U ≤ limit``, fail when ``value > limit``, and
  *inconclusive* in between — which is not a pass.
"""

from __future__ import annotations

import math

from .result import FAIL, INCONCLUSIVE, NOT_TESTED, PASS

#: three increasing series (ISO 7500-1, 6.4.5)
MIN_SERIES = 3
#: the zero is read about 30 s after unloading (ISO 7500-1, 6.4.4)
ZERO_WAIT_S = 30.0
#: criteria that must have been judged for a class to be established
REQUIRED_ITEMS = ("reference certificate in date", "reference ISO 376 class",
                  "temperature in 10–35 °C")
DECISION_RULES = {
    "guard_band": "guarded acceptance (ILAC-G8): pass when value + U ≤ limit, fail when value > "
                  "limit, inconclusive in between (not a pass); U the expanded uncertainty",
    "simple": "simple acceptance (ILAC-G8): pass when value ≤ limit; the uncertainty is "
              "reported, not used",
}
INFORMATIVE = "informative, not ISO 7500-1"


def procedure_problems(series: int, zero_wait_s: float) -> list[tuple[str, str]]:
    """``(key, clause)`` for each way a suite's procedure breaks ISO 7500-1 ([] when none)."""
    out = []
    if series < MIN_SERIES:
        out.append(("series", f"{series} increasing series; ISO 7500-1 (6.4.5) asks for "
                              f"{MIN_SERIES}"))
    if zero_wait_s < ZERO_WAIT_S:
        out.append(("zero_wait_s", f"the zero is read {zero_wait_s:g} s after unloading; "
                                   f"ISO 7500-1 (6.4.4) reads it about {ZERO_WAIT_S:g} s after"))
    return out


def establishment_problems(series: int, zero_wait_s: float, statuses: dict[str, str],
                           simulated_reference: bool, informative: bool) -> list[str]:
    """Why no class can be stated as verified ([] when it can).

    ``statuses``: criterion name → status of the section's criteria.
    """
    why = [clause for _key, clause in procedure_problems(series, zero_wait_s)]
    for name in REQUIRED_ITEMS:
        if statuses.get(name) == NOT_TESTED:
            why.append(f"{name}: not tested")
    if simulated_reference:
        why.append("the reference is simulated: no calibration certificate applies to it")
    if informative:
        why.append(f"the suite is {INFORMATIVE} (purpose = \"informative\")")
    return why


def decide(value: float, expanded: float, limit: float, rule: str) -> str:
    """``pass``, ``fail`` or ``inconclusive`` for ``value`` ≤ ``limit`` under ``rule``.

    NaN never passes; an unknown ``U`` (NaN) under the guard band leaves a value at or below
    the limit inconclusive.
    """
    if math.isnan(value) or not value <= limit:
        return FAIL
    if rule == "simple":
        return PASS
    return PASS if value + expanded <= limit else INCONCLUSIVE


__all__ = [
    "DECISION_RULES",
    "INFORMATIVE",
    "MIN_SERIES",
    "REQUIRED_ITEMS",
    "ZERO_WAIT_S",
    "decide",
    "establishment_problems",
    "procedure_problems",
]


def apply_decision_rule(section, rule: str, q_limit_pct: float, rows) -> None:
    """Re-judge the required class's ``accuracy |q|`` criterion of ``section`` under ``rule``
    with the expanded uncertainty of q at each judged force (``section.data["q_uncertainty"]``),
    and state the rule in the notes and data."""
    from dataclasses import replace

    section.data["decision_rule"] = rule
    section.notes.append("Decision rule: " + DECISION_RULES[rule] + ".")
    budget = {round(b["nominal_kn"], 9): b["U_pct"] for b in section.data.get("q_uncertainty", [])}
    order = {PASS: 0, INCONCLUSIVE: 1, FAIL: 2}
    worst = (PASS, math.nan, math.nan, math.nan)
    best_key = (-1, -math.inf)
    for r in rows:
        u = budget.get(round(r.nominal_kn, 9), math.nan)
        status = decide(abs(r.q_pct), u, q_limit_pct, rule)
        key = (order[status], abs(r.q_pct) + (0.0 if math.isnan(u) else u))
        if key > best_key:
            best_key, worst = key, (status, abs(r.q_pct), u, r.nominal_kn)
    _guard_b_and_f0(section, rule, rows)
    if math.isnan(worst[1]):
        return
    for i, c in enumerate(section.criteria):
        if c.name.startswith("accuracy |q|"):
            detail = (f"{c.detail}; worst |q| + U = {worst[1]:.4f} + {worst[2]:.4f} % at "
                      f"{worst[3]:.4g} kN ({rule.replace('_', ' ')})")
            section.criteria[i] = replace(c, status=worst[0], detail=detail)


def establish(section, series: int, zero_wait_s: float, simulated_reference: bool,
              informative: bool) -> list[str]:
    """Decide whether the class the numbers indicate is *established*; when it is not, add a
    failed "ISO 7500-1 class established" criterion with the reasons, keep the class as
    ``data["indicated_class"]`` and clear ``data["iso_class"]``. Returns the reasons."""
    from .result import Criterion

    statuses = {c.name: c.status for c in section.criteria}
    why = establishment_problems(series, zero_wait_s, statuses, simulated_reference,
                                 informative)
    indicated = section.data.get("iso_class")
    section.data["indicated_class"] = indicated
    section.data["class_not_established"] = why
    if informative:
        section.notes.insert(0, INFORMATIVE[0].upper() + INFORMATIVE[1:] + ".")
    if simulated_reference:
        section.notes.insert(0, "SIMULATED REFERENCE: the reference readings come from the "
                                "simulator's model transducer, not a calibrated instrument.")
    if not why:
        section.criteria.append(Criterion(
            "force_verification", "ISO 7500-1 class established", "established", "established",
            "", PASS, "=", "three series, zero after the wait, certificate and temperature "
            "judged"))
        return why
    section.data["iso_class"] = None
    text = "class not established: " + "; ".join(why)
    if indicated is not None:
        text += f" (the numbers indicate class {indicated})"
    section.criteria.append(Criterion(
        "force_verification", "ISO 7500-1 class established", "not established",
        "established", "", FAIL, "=", text))
    section.notes.insert(0, text[0].upper() + text[1:] + ".")
    return why


def _guard_b_and_f0(section, rule: str, rows) -> None:
    """The decision rule on b (each judged force, U = 2·a/√6) and f₀ (U = 2·r/(2√3)/F_N)."""
    from dataclasses import replace

    from .metrology import repeatability_b_uncertainty_pct, zero_uncertainty_pct

    order = {PASS: 0, INCONCLUSIVE: 1, FAIL: 2}
    for i, c in enumerate(section.criteria):
        if c.name.startswith("repeatability b") and c.status != "not tested" and rows:
            got = [(decide(r.b_pct, 2 * repeatability_b_uncertainty_pct(r.a_pct), c.limit, rule),
                    r) for r in rows]
            status, r = max(got, key=lambda g: order[g[0]])
            u = 2 * repeatability_b_uncertainty_pct(r.a_pct)
            section.criteria[i] = replace(c, status=status, detail=(
                f"{c.detail}; U(b) = {u:.3g} % at {r.nominal_kn:.4g} kN (k = 2, resolution)"))
        elif c.name.startswith("zero |f0|") and isinstance(c.value, float):
            r_kn = section.data.get("resolution_kn")
            f_n = section.data.get("range_max_kn")
            if not r_kn or not f_n:
                continue
            u = 2 * zero_uncertainty_pct(r_kn, f_n)
            section.criteria[i] = replace(c, status=decide(c.value, u, c.limit, rule), detail=(
                f"{c.detail}; U(f0) = {u:.3g} % (k = 2, resolution of the zero reading)"))
