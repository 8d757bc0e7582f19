"""The ``sim://`` URL: its keys, their checks, and the :class:`~presshil.sim.press.SimPress`
it opens.

::

    sim://NAME?specimen=SPEC&seed=N&faults=F&fidelity=fast|full&cycling=off|START
              &tilt_mrad=X,Y&die_offset_mm=X,Y&cycler_bdf=PATH&tc_compensation_pct_per_c=K

plus dotted keys that override catalogue values (``load_cells.gain_error_pct=1.5``,
``specimen.breathing.amplitude_um=5``). See ``docs/simulator.md``.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import ConfigError, PressURLError
from ..url_schemes import SIM_KEYS
from ..urls import PressURL, parse_press_url
from .catalogue import load_press, load_specimen, with_overrides
from .faults import parse_faults
from .press import SimPress

URL_KEYS = SIM_KEYS  # registered with the sim:// scheme


def _pair(parsed: PressURL, key: str) -> tuple[float, float] | None:
    if key not in parsed.query:
        return None
    parts = parsed.query[key].split(",")
    try:
        values = tuple(float(v) for v in parts)
    except ValueError:
        values = ()
    if len(values) != 2 or not all(math.isfinite(v) for v in values):
        raise PressURLError(
            f"press URL {parsed.raw!r}: parameter '{key}' must be two numbers X,Y, got {parsed.query[key]!r}"
        )
    return values  # type: ignore[return-value]


def open_sim_press(parsed: PressURL) -> SimPress:
    """Open a ``sim://`` URL (called by :func:`presshil.open_press`)."""
    # dotted keys override catalogue values: load_cells.gain_error_pct=1.5,
    # firmware.watchdog_enabled=false, specimen.breathing.amplitude_um=5
    overrides = {k: v for k, v in parsed.query.items() if "." in k}
    parsed.check_keys(URL_KEYS | set(overrides))
    where = f"press URL {parsed.raw!r}"
    press_cfg = with_overrides(
        load_press(parsed.target or None)[0],
        {k: v for k, v in overrides.items() if not k.startswith("specimen.")}, where,
    )
    spec_cfg = with_overrides(
        load_specimen(parsed.query.get("specimen") or None)[0],
        {k.removeprefix("specimen."): v for k, v in overrides.items() if k.startswith("specimen.")}, where,
    )
    seed = parsed.get_int("seed", 0)
    if seed < 0:
        raise PressURLError(f"press URL {parsed.raw!r}: seed must be ≥ 0, got {seed}")
    fidelity = parsed.query.get("fidelity", "fast")
    if fidelity not in ("fast", "full"):
        raise PressURLError(
            f"press URL {parsed.raw!r}: fidelity must be 'fast' or 'full', got {fidelity!r}"
        )
    cycling: float | None = None
    if "cycling" in parsed.query:
        value = parsed.query["cycling"]
        if value == "off":
            cycling = -1.0
        elif value == "on":
            cycling = 0.0
        else:
            try:
                from .faults import parse_time

                cycling = parse_time(value, f"press URL {parsed.raw!r}: cycling")
            except ConfigError:
                raise PressURLError(
                    f"press URL {parsed.raw!r}: cycling must be on, off or a start time (e.g. 120, 2h), got {value!r}"
                ) from None
    try:
        faults = (
            parse_faults(parsed.query["faults"], f"press URL {parsed.raw!r}: faults")
            if parsed.query.get("faults")
            else []
        )
    except PressURLError:
        raise
    except ConfigError as exc:
        raise PressURLError(str(exc)) from None
    return SimPress(
        press_cfg,
        spec_cfg,
        seed=seed,
        faults=faults,
        fidelity=fidelity,
        cycling_start_s=cycling,
        tilt_mrad=_pair(parsed, "tilt_mrad"),
        die_offset_mm=_pair(parsed, "die_offset_mm"),
        url=parsed.raw,
        cycler_bdf=_cycler_file(parsed),
        tc_compensation_pct_per_c=_compensation(parsed),
    )


def _compensation(parsed: PressURL) -> float | None:
    """The URL's ``tc_compensation_pct_per_c`` (None: no compensation), within ±0.5 %/°C like
    a profile's coefficient."""
    if "tc_compensation_pct_per_c" not in parsed.query:
        return None
    value = parsed.get_float("tc_compensation_pct_per_c", 0.0)
    if not -0.5 <= value <= 0.5:  # NaN fails too
        raise PressURLError(f"press URL {parsed.raw!r}: tc_compensation_pct_per_c must be "
                            f"between -0.5 and 0.5 (% of reading per °C), got {value!r}")
    return value


def _cycler_file(parsed: PressURL) -> str | None:
    """The URL's ``cycler_bdf=PATH``, checked before anything runs: a BDF file name in an
    existing folder."""
    value = parsed.query.get("cycler_bdf") or None
    if value is None:
        return None
    path = Path(value)
    if not path.name.lower().endswith((".csv", ".parquet")) or not path.parent.is_dir():
        raise PressURLError(f"press URL {parsed.raw!r}: cycler_bdf must name a .bdf.csv or "
                            f".bdf.parquet file in an existing folder, got {value!r}")
    return value


def specimen_url(url: str, specimen: str) -> str:
    """``url`` with its ``specimen=`` replaced by ``specimen`` (everything else kept).

    ``specimen_url("sim://servo-electric-10t?seed=3", REFERENCE_SPECIMEN)`` →
    ``"sim://servo-electric-10t?seed=3&specimen=steel-reference-13mm"``: the same press,
    opened anew with another specimen.
    """
    parsed = parse_press_url(url)
    if not parsed.is_simulated:
        raise PressURLError(
            f"press URL {url!r}: not a sim:// URL; only a simulated press has specimens"
        )
    return parsed.with_query(specimen=specimen).raw


__all__ = ["URL_KEYS", "open_sim_press", "specimen_url"]
