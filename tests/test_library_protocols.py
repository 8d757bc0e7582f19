"""Every protocol of the library passes on the default simulated press, on 20 seeds, not one.

A verdict that passes on one seed of the sensor noise and fails on the next judges the noise,
not the press. The simulator runs far faster than real time (the 200 h cycling protocol takes
seconds), so 20 seeds of a protocol take seconds to tens of seconds; the 200 h one, over a minute on a
loaded machine, is marked ``slow`` (``pytest -m "not slow"`` skips it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from presshil.protocol import load_protocol
from presshil.runner import run
from presshil.urls import open_press

LIBRARY = Path(__file__).resolve().parents[1] / "protocols"
SEEDS = range(20)
#: protocols whose 20 simulated runs take over a minute of CPU
SLOW = {"cycling-hold-15mpa"}
#: the simulated cell a protocol is written for (default: the catalogue's, NMC | LPSCl | In-Li);
#: a lithium-metal cell is cycled at 5 MPa, never at the 15-50 MPa of the In-Li cell
SPECIMEN = {"cycling-hold-li-5mpa": "nmc-lpscl-li-10mm"}


@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in SLOW else [])
    for p in sorted(LIBRARY.glob("*.toml")) + sorted((LIBRARY / "lithium-metal").glob("*.toml"))])
def test_library_protocol_passes_on_20_seeds(path: Path) -> None:
    protocol = load_protocol(path)
    failures: list[str] = []
    judged = 0
    for seed in SEEDS:
        specimen = f"&specimen={SPECIMEN[path.stem]}" if path.stem in SPECIMEN else ""
        press = open_press(f"sim://?seed={seed}{specimen}")
        try:
            result = run(protocol, press)
        finally:
            press.close()
        judged += len(result.verdicts)
        if result.status != "passed":
            bad = [f"{v.step} {v.criterion} = {v.value:.4g} (limit {v.limit:g})"
                   for v in result.verdicts if not v.passed]
            failures.append(f"seed {seed}: {result.status}: {'; '.join(bad) or result.abort_reason}")
    assert judged >= len(SEEDS) * 3, "the protocol judged (almost) nothing"
    assert not failures, f"{path.stem} failed on {len(failures)}/{len(SEEDS)} seeds:\n" + "\n".join(failures)
