"""Deterministic fingerprint of the simulator, to check that a refactoring changed nothing.

Prints JSON: the verdict values (``repr``, every digit) of library protocols on a few
presses and seeds, with and without faults, and SHA-256 hashes of full-fidelity captures
through faults, commands and releases, and of a 200 min breathing hold on the fast path.
Run it before and after a change and compare::

    python3 scripts/sim_fingerprint.py > before.json
    ...                                            # change the code
    python3 scripts/sim_fingerprint.py > after.json && diff before.json after.json

Run it from the source tree (it reads ``protocols/``); a few seconds of wall time.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import presshil
from presshil.protocol import load_protocol
from presshil.runner import run

ROOT = Path(__file__).resolve().parents[1]
RUNS = [
    ("sim://?seed=1", "assembly-74mpa"),
    ("sim://?seed=1", "step-response-74mpa"),
    ("sim://servo-electric-10t?seed=3", "assembly-74mpa"),
    ("sim://manual-hydraulic-15t?seed=1", "assembly-74mpa"),
    ("sim://?seed=2&faults=sensor_drift@100:channel=2,leak@50", "assembly-74mpa"),
]
CAPTURES = ["sim://?seed=4", "sim://servo-electric-10t?seed=4", "sim://manual-hydraulic-15t?seed=4"]


def _capture_hash(url: str) -> list[str]:
    press = presshil.open_press(url)
    clock = press.clock
    with press.model.capture() as out:  # type: ignore[attr-defined]
        press.command(30.0, 10.0)
        clock.sleep_until(5.0)
        press.inject_fault("sensor_drift", channel=2)  # type: ignore[attr-defined]
        clock.sleep_until(6.0)
        press.inject_fault("overpressure")  # type: ignore[attr-defined]
        clock.sleep_until(7.0)
        press.reset()
        press.command(20.0, 10.0)
        clock.sleep_until(10.0)
        press.inject_fault("stuck_valve", duration_s=0.5)  # type: ignore[attr-defined]
        clock.sleep_until(11.0)
        press.inject_fault("sensor_saturation", channel=1, level_kn=1.0)  # type: ignore[attr-defined]
        clock.sleep_until(12.0)
        press.clear_fault("sensor_saturation", channel=1)  # type: ignore[attr-defined]
        press.inject_fault("controller_freeze", duration_s=0.2)  # type: ignore[attr-defined]
        clock.sleep_until(13.0)
        press.release(10.0)
        clock.sleep_until(16.0)
    trace = out[0]
    data = np.concatenate([trace.pressure_mpa, trace.true_force_n, trace.status.astype(float)])
    return [hashlib.sha256(data.tobytes()).hexdigest(), repr(float(trace.pressure_mpa[-1]))]


def main() -> None:
    out: dict[str, object] = {}
    for url, name in RUNS:
        result = run(load_protocol(ROOT / "protocols" / f"{name}.toml"), presshil.open_press(url))
        out[f"{url} {name}"] = [result.status] + [
            (v.step, v.criterion, repr(v.value)) for v in result.verdicts
        ]
    for url in CAPTURES:
        out[f"{url} capture"] = _capture_hash(url)
    press = presshil.open_press("sim://?seed=1")
    press.command(15.0, 0.5)
    readings = []
    for k in range(1, 200):
        press.clock.sleep_until(k * 60.0)
        press.heartbeat()
        readings.append(press.read().pressure_mpa)
    out["breathing"] = hashlib.sha256(np.array(readings).tobytes()).hexdigest()
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
