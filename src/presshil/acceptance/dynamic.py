"""Protocol-shaped acceptance tests, run by :func:`presshil.runner.run`.

Step and ramp response at assembly pressure, the long hold under breathing and the
uniformity hold are ordinary protocols built from the suite's values; the runner commands,
samples and judges them with :mod:`presshil.metrics`, exactly as ``presshil run`` would.
"""

from __future__ import annotations

from collections.abc import Callable

from ..metrics import cof_limit_for_pellet_mm, default_band_mpa
from ..press import Press
from ..protocol import Protocol, parse_protocol
from ..runner import RunResult, run
from .reference import ReferenceIndicator
from .reference_hold import NAME as REFERENCE_NAME
from .reference_hold import ReferenceTrack, reference_divergence
from .result import ABORTED, NOT_TESTED, Criterion, Section
from .suite import Suite


def _header(suite: Suite, name: str, description: str, rate_hz: float = 50.0) -> str:
    return (
        f'name = "{name}"\ndescription = "{description}"\n\n'
        f"[specimen]\ndie_diameter_mm = {suite.specimen.die_diameter_mm!r}\n"
        f"die_position_mm = {list(suite.specimen.die_position_mm)!r}\n"
        f"die_placement_tolerance_mm = {suite.specimen.die_placement_tolerance_mm!r}\n\n"
        f"[limits]\nmax_pressure_mpa = {suite.safety.soft_max_mpa!r}\n"
        f"max_rate_mpa_s = {suite.safety.max_rate_mpa_s!r}\n\n"
        f"[sampling]\nrate_hz = {rate_hz!r}\n"
    )


def _step(**fields: object) -> str:
    lines = ["\n[[steps]]"]
    for key, value in fields.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k} = {v!r}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value!r}")
    return "\n".join(lines) + "\n"


def step_response_protocol(suite: Suite) -> Protocol:
    """Preload, then a setpoint step to assembly pressure (rate: ``safety.max_rate_mpa_s``)."""
    c = suite.step_response
    text = _header(suite, "acceptance-step-response", f"preload {c.preload_mpa:g} MPa, step to {c.to_mpa:g} MPa")
    text += _step(type="ramp", label="preload", to_mpa=c.preload_mpa, rate_mpa_s=min(2.0, suite.safety.max_rate_mpa_s))
    text += _step(type="hold", label="preload-hold", duration_s=10.0)
    text += _step(type="step", label="step", to_mpa=c.to_mpa, duration_s=c.duration_s, expect={
        "max_overshoot_pct": c.max_overshoot_pct, "max_rise_s": c.max_rise_s,
        "settling_time_s": c.settling_time_s,
        "max_steady_state_error_mpa": c.max_steady_state_error_mpa,
        "max_iae_mpa_s": c.max_iae_mpa_s})
    text += _step(type="release", label="release", rate_mpa_s=min(5.0, suite.safety.max_rate_mpa_s))
    return parse_protocol(text, source=f"{suite.source} [step_response]")


def ramp_response_protocol(suite: Suite) -> Protocol:
    """A ramp to assembly pressure at the suite's rate, a short hold, release."""
    c = suite.ramp_response
    text = _header(suite, "acceptance-ramp-response", f"ramp to {c.to_mpa:g} MPa at {c.rate_mpa_s:g} MPa/s")
    text += _step(type="ramp", label="ramp", to_mpa=c.to_mpa, rate_mpa_s=c.rate_mpa_s, expect={
        "max_tracking_error_mpa": c.max_tracking_error_mpa, "max_overshoot_pct": c.max_overshoot_pct})
    text += _step(type="hold", label="hold", duration_s=5.0)
    text += _step(type="release", label="release", rate_mpa_s=min(5.0, suite.safety.max_rate_mpa_s))
    return parse_protocol(text, source=f"{suite.source} [ramp_response]")


def hold_protocol(suite: Suite) -> Protocol:
    """Ramp to the hold pressure, hold (in band, drift), release."""
    c = suite.hold
    band = c.band_mpa if c.band_mpa is not None else default_band_mpa(c.at_mpa)
    text = _header(suite, "acceptance-hold", f"hold {c.at_mpa:g} MPa for {c.duration_s:g} s", c.rate_hz)
    text += _step(type="ramp", label="ramp", to_mpa=c.at_mpa, rate_mpa_s=suite.safety.max_rate_mpa_s)
    text += _step(type="hold", label="hold", duration_s=c.duration_s, expect={
        "settle_s": c.settle_s, "band_mpa": band, "min_in_band_pct": c.min_in_band_pct,
        "max_drift_mpa_per_min": c.max_drift_mpa_per_min,
        "max_channel_shift_pct": c.max_channel_shift_pct})
    text += _step(type="release", label="release", rate_mpa_s=min(5.0, suite.safety.max_rate_mpa_s))
    return parse_protocol(text, source=f"{suite.source} [hold]")


def uniformity_limits(suite: Suite, settle: bool = False) -> dict[str, float]:
    """The uniformity expect keys and limits, the pellet's set from its tolerance."""
    c = suite.uniformity
    radius = suite.specimen.die_diameter_mm / 2.0
    out: dict[str, float] = {}
    if settle:
        out.update(settle_s=c.settle_s, band_mpa=default_band_mpa(c.at_mpa))
    out["max_pellet_nonuniformity_pct"] = (c.max_pellet_nonuniformity_pct
                                           if c.max_pellet_nonuniformity_pct is not None
                                           else 2.0 * c.pellet_tolerance_pct)
    out["max_cof_offset_mm"] = (c.max_cof_offset_mm if c.max_cof_offset_mm is not None
                                else cof_limit_for_pellet_mm(c.pellet_tolerance_pct, radius))
    if c.max_nonuniformity_pct is not None:
        out["max_nonuniformity_pct"] = c.max_nonuniformity_pct
    if c.max_cv_pct is not None:
        out["max_cv_pct"] = c.max_cv_pct
    return out


def uniformity_protocol(suite: Suite) -> Protocol:
    """Ramp, hold with the uniformity criteria, release."""
    c = suite.uniformity
    text = _header(suite, "acceptance-uniformity", f"uniformity at {c.at_mpa:g} MPa", 20.0)
    text += _step(type="ramp", label="ramp", to_mpa=c.at_mpa, rate_mpa_s=suite.safety.max_rate_mpa_s)
    # settle_s needs a band to define settling; only the uniformity keys are reported
    text += _step(type="hold", label="hold", duration_s=c.duration_s,
                  expect=uniformity_limits(suite, settle=True))
    text += _step(type="release", label="release", rate_mpa_s=min(5.0, suite.safety.max_rate_mpa_s))
    return parse_protocol(text, source=f"{suite.source} [uniformity]")


#: criteria a section reports (None: all); the uniformity hold's band is only its settling aid
REPORTED: dict[str, set[str] | None] = {
    "uniformity": {"max_pellet_nonuniformity_pct", "max_nonuniformity_pct", "max_cv_pct",
                   "max_cof_offset_mm"},
}

#: section key -> (title, protocol builder)
BUILDERS: dict[str, tuple[str, Callable[[Suite], Protocol]]] = {
    "step_response": ("Step response at assembly pressure", step_response_protocol),
    "ramp_response": ("Ramp response at assembly pressure", ramp_response_protocol),
    "hold": ("Long hold under cell breathing", hold_protocol),
    "uniformity": ("Uniformity across the load-cell array", uniformity_protocol),
}


def run_section(key: str, press: Press, suite: Suite,
                reference: ReferenceIndicator | None = None) -> Section:
    """Run the protocol of section ``key`` on ``press`` and turn its verdicts into criteria.

    With a ``reference`` the hold is also judged against it (:mod:`.reference_hold`). An
    aborted run (a press fault, transport loss) makes an aborted section; the press is then
    reset so that the following tests can run.
    """
    title, build = BUILDERS[key]
    protocol = build(suite)
    section = Section(key, title)
    if press.read().faulted:
        press.reset()
    track = ReferenceTrack(reference) if key == "hold" and reference is not None else None
    result = run(protocol, press, keep_trace=True, sinks=[track] if track is not None else ())
    reported = REPORTED.get(key)
    for v in result.verdicts:
        if v.criterion != "completed" and (reported is None or v.criterion in reported):
            section.criteria.append(Criterion.from_verdict(key, v))
    if key == "hold" and suite.hold.reference:
        section.criteria.append(
            reference_divergence(track, suite.hold.max_reference_divergence_pct,
                                 suite.hold.settle_s) if track is not None else
            Criterion(key, REFERENCE_NAME, None, suite.hold.max_reference_divergence_pct, "%",
                      NOT_TESTED, "≤", "not judged: no reference instrument in the load path "
                      "(give --reference URL, in series with the specimen)"))
    if result.status == "aborted" or result.status == "error":
        section.status = ABORTED
        section.abort_reason = result.abort_reason or result.status
        try:
            press.reset()
        except Exception as exc:  # noqa: BLE001 - recorded; the next test will meet it
            section.notes.append(f"reset after the abort failed: {exc}")
    section.notes.append(f"Protocol: {protocol.description}; sampled at {protocol.sampling.rate_hz:g} Hz.")
    section.data.update(protocol=protocol.name, status=result.status, _result=result)
    if key == "hold":
        section.notes.append(
            "Breathing: on sim:// the specimen's catalogue breathing (its [breathing] section) "
            "runs during the hold; on a real press, the cell in the die.")
    return section.finish()


def trace_of(section: Section) -> RunResult | None:
    """The runner result kept for a section's plot (None if the section did not run)."""
    return section.data.get("_result")


__all__ = [
    "BUILDERS",
    "hold_protocol",
    "ramp_response_protocol",
    "run_section",
    "step_response_protocol",
    "trace_of",
    "uniformity_limits",
    "uniformity_protocol",
]
