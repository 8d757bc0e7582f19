"""``run_acceptance``: one suite, one press, one reference → an :class:`AcceptanceResult`.

Tests run in this order: force verification, step response, ramp response, long hold,
uniformity, safety (last, because it trips the press on purpose). Force verification runs
with the reference in the load path, the others on a fresh specimen (a
:class:`~.specimen.SpecimenChanger` makes the swaps). A test the press aborts (a fault) is
recorded as aborted and the press is reset for the next; a lost link ends the acceptance,
keeping what was measured.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ConfigError, DeviceFault, PressError, TransportError
from ..metrics import default_band_mpa
from ..press import Press
from . import plots
from .driving import SectionAbort
from .dynamic import run_section
from .force import verify_force
from .reference import ReferenceIndicator, open_reference, rebind
from .result import ABORTED, SKIPPED, AcceptanceResult, Section
from .safety import run_safety
from .specimen import SpecimenChanger
from .suite import Suite, load_suite
from .working import library_working_pressures_mpa

ORDER = ("force_verification", "step_response", "ramp_response", "hold", "uniformity", "safety")
TITLES = {
    "force_verification": "Force verification (ISO 7500-1 / ASTM E4)",
    "step_response": "Step response at assembly pressure",
    "ramp_response": "Ramp response at assembly pressure",
    "hold": "Long hold under cell breathing",
    "uniformity": "Uniformity across the load-cell array",
    "safety": "Safety: limits, trips, latching, watchdog, e-stop",
}


def _now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_acceptance(
    press: Press,
    suite: Suite | str | Path = "standard",
    reference: ReferenceIndicator | str | None = None,
    meta: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    working_pressures_mpa: list[float] | None = None,
    specimens: SpecimenChanger | None = None,
) -> AcceptanceResult:
    """Run acceptance ``suite`` on ``press`` and judge every criterion.

    ``reference`` is a :class:`ReferenceIndicator`, a press URL whose force reading is the
    reference, or None for the simulator's own transducer (needed only when the suite
    verifies force). ``meta`` is the operator's metadata, copied into the report
    (``temperature_c`` there is the stated room temperature). ``working_pressures_mpa``
    overrides the suite's working pressures (default: the protocol library's).
    ``specimens`` swaps the reference and fresh specimens in; without it the tests run on
    whatever is in the die, and the report says so. Raises
    :class:`~presshil.errors.ProtocolError` for a bad suite and
    :class:`~presshil.errors.ConfigError` when no reference is available or the working
    range exceeds the press's rating.
    """
    say = progress or (lambda _m: None)
    if not isinstance(suite, Suite):
        suite = load_suite(suite)
    meta = dict(meta or {})
    enabled = {key: getattr(suite, key).enabled for key in ORDER}
    fv = suite.force_verification
    working = working_pressures_mpa or fv.working_pressures_mpa
    if enabled["force_verification"] and working is None and fv.range_max_pct_of_rating is None:
        working = library_working_pressures_mpa()
    if enabled["force_verification"] and working and fv.range_max_pct_of_rating is None:
        from .force import rating_kn
        from .working import check_against_rating

        check_against_rating(list(working), suite.die_area_mm2,
                             rating_kn(press, suite.die_area_mm2), "working range")
    stated_t = _stated_temperature(meta)
    first = press
    ref: ReferenceIndicator | None = None
    own_reference = False
    if enabled["force_verification"]:
        if specimens is not None:
            press = specimens.to_reference(press)
        if isinstance(reference, str) or reference is None:
            ref = open_reference(press, reference)
            own_reference = True
        else:
            ref = reference
    elif enabled["hold"] and suite.hold.reference:
        # the hold alone still judges against a reference if there is one (never required)
        ref, own_reference = _hold_reference(press, reference)
    started = _now_utc()
    identity = press.identity
    sections: list[Section] = []
    lost: str | None = None
    fresh: list[str] = []  # the tests a fresh specimen was loaded for
    try:
        for i, key in enumerate(ORDER):
            if not enabled[key]:
                sections.append(Section(key, TITLES[key], status=SKIPPED,
                                        notes=["disabled in the suite (enabled = false)"]))
                continue
            if lost is not None:
                sections.append(Section(key, TITLES[key], status=SKIPPED,
                                        notes=[f"not run: {lost}"]))
                continue
            say(f"[{i + 1}/{len(ORDER)}] {TITLES[key]}")
            try:
                if key != "force_verification" and specimens is not None and (
                        suite.specimen.fresh_per_test or not fresh):
                    what = TITLES[key].lower()
                    if key == "hold" and ref is not None and suite.hold.reference:
                        what += (", with the reference transducer in series with the specimen "
                                 "(the hold is judged against it)")
                    press = specimens.to_fresh(press, what)
                    fresh.append(key)
                section = _run_one(key, press, suite, ref, say, working, stated_t)
            except TransportError as exc:
                lost = f"link to the press lost ({type(exc).__name__}: {exc})"
                section = Section(key, TITLES[key], status=ABORTED, abort_reason=lost)
                press.safe_state()
            except (DeviceFault, PressError) as exc:
                section = Section(key, TITLES[key], status=ABORTED,
                                  abort_reason=f"{type(exc).__name__}: {exc}")
                _recover(press)
            except SectionAbort as exc:  # the operator did not acknowledge a swap
                lost = str(exc)
                section = Section(key, TITLES[key], status=ABORTED, abort_reason=lost)
                press.safe_state()
            if specimens is None and key != "safety":
                section.notes.append("Specimen not changed: this test ran on whatever was in "
                                     "the die after the tests before it.")
            _attach_plot(section, suite, identity)
            sections.append(section)
    finally:
        if own_reference and ref is not None:
            ref.close()
        if specimens is not None:
            specimens.close()
    fvs = next((s for s in sections if s.key == "force_verification" and "range_max_kn" in s.data),
               None)
    verified = None
    if fvs is not None and fvs.data.get("rows"):
        verified = (min(r["nominal_kn"] for r in fvs.data["rows"]), fvs.data["range_max_kn"])
    return AcceptanceResult(
        suite_name=suite.name,
        suite_source=suite.source,
        suite_sha256=suite.sha256,
        press_url=first.url,
        identity=identity,
        reference=ref.description if ref is not None else "none (force verification disabled)",
        meta=dict(meta or {}),
        started_utc=started,
        finished_utc=_now_utc(),
        sections=sections,
        verified_range_kn=verified,
    )


def _stated_temperature(meta: dict[str, str]) -> float | None:
    text = meta.get("temperature_c")
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--meta temperature_c: expected a number of °C, got {text!r}") from None


def _run_one(key: str, press: Press, suite: Suite, ref: ReferenceIndicator | None,
             say: Callable[[str], None], working: list[float] | None = None,
             stated_t: float | None = None) -> Section:
    if key == "force_verification":
        assert ref is not None
        signal = getattr(press, "temperature_c", None)
        return verify_force(press, ref, suite.force_verification, suite.die_area_mm2, say,
                            working_mpa=list(working or []), instrument=suite.reference,
                            temperature_c=signal if callable(signal) else None,
                            stated_temperature_c=stated_t)
    if key == "safety":
        return run_safety(press, suite.safety, suite.die_area_mm2, say)
    if key == "hold" and ref is not None and suite.hold.reference:
        return run_section(key, press, suite, rebind(ref, press))
    return run_section(key, press, suite)


def _hold_reference(press: Press, reference: ReferenceIndicator | str | None
                    ) -> tuple[ReferenceIndicator | None, bool]:
    """The reference for a hold without force verification: (indicator, opened here)."""
    if reference is not None and not isinstance(reference, str):
        return reference, False
    try:
        return open_reference(press, reference), True
    except ConfigError:
        return None, False


def _recover(press: Press) -> None:
    try:
        press.reset()
    except PressError:
        press.safe_state()


def _attach_plot(section: Section, suite: Suite, identity) -> None:
    """Draw the section's figure; a figure that cannot be drawn leaves a note, not a crash."""
    try:
        if section.key == "force_verification" and "_trace" in section.data:
            section.plot_png = plots.force_verification_png(
                section.data, suite.force_verification.required_class)
        elif section.key == "safety" and section.data.get("_panels"):
            section.plot_png = plots.safety_png(section.data["_panels"], suite.safety.soft_max_mpa)
        elif "_result" in section.data:
            result = section.data["_result"]
            if section.key == "hold":
                h = suite.hold
                band = h.band_mpa if h.band_mpa is not None else default_band_mpa(h.at_mpa)
                section.plot_png = plots.hold_png(result, h.at_mpa, band)
            elif section.key == "uniformity":
                section.plot_png = plots.uniformity_png(result, identity.channel_positions_mm)
            else:
                section.plot_png = plots.run_png(result, section.title)
    except Exception as exc:  # noqa: BLE001 - a missing plot must not lose the verdicts
        section.notes.append(f"plot not drawn: {type(exc).__name__}: {exc}")


__all__ = ["ORDER", "TITLES", "run_acceptance"]
