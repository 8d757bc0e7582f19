"""The vendor-style PLC press of tests/test_single_write_press.py, run through a
75 MPa ramp / hold / release with ``max_tracking_error_mpa = 1``; prints the verdicts.

    python3 benchmarks/vendor_press_run.py            # this checkout
    PYTHONPATH=OTHER/src python3 benchmarks/vendor_press_run.py   # another one, side by side

The press: FC05/FC06 only (``write = "single"``), oil pressure int16 in 0.01 bar, a force
setpoint in tonne-force as a word-swapped float32, a rate register in 0.01 tf/s, no
active-setpoint signal; it ramps by itself. On RELEASE it ignores the rate it was given and
unloads at its firmware's fastest (50 MPa/s) where 5 MPa/s was asked. A checkout whose
profiles have no ``write`` key gets the profile without it (its emulation then takes FC16).
Wall-clock: about a minute. Asserts nothing.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import presshil
from presshil.maps.profile import Profile
from presshil.profiles.server import start_profile_server

HERE = Path(__file__).resolve().parent
PROTOCOL = """name = "vendor-75"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 80.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = 50
[[steps]]
type = "ramp"
to_mpa = 75.0
rate_mpa_s = 4.0
expect = { max_tracking_error_mpa = 1.0 }
[[steps]]
type = "hold"
duration_s = 5
[[steps]]
type = "release"
rate_mpa_s = 5.0
"""


def main() -> int:
    tests = (HERE.parent / "tests" / "test_single_write_press.py").read_text()
    vendor = re.search(r'VENDOR = """(.*?)"""', tests, re.S).group(1)  # type: ignore[union-attr]
    if "write" not in Profile.model_fields:
        vendor = vendor.replace('write = "single"\n', "")
    tmp = Path(tempfile.mkdtemp(prefix="vendor-press-"))
    (tmp / "vendor.toml").write_text(vendor)
    (tmp / "protocol.toml").write_text(PROTOCOL)
    with start_profile_server("sim://auto-hydraulic-25t?seed=5", str(tmp / "vendor.toml"), modbus_tcp="127.0.0.1:0") as srv:
        vp = srv.store.vp
        apply = vp.apply

        def dumps_on_release(updates):
            if updates.get("command") == 2:
                apply({"ramp_rate": 50.0})
            return apply(updates)

        vp.apply = dumps_on_release
        press = presshil.open_press(srv.urls["modbus_tcp"] + "&timeout=1")
        try:
            result = presshil.run(presshil.load_protocol(str(tmp / "protocol.toml")), press)
        finally:
            press.close()
    print(f"{presshil.__file__}: {result.status.value}")
    for v in result.verdicts:
        print(f"  step {v.step} {v.criterion} = {v.value:.3f} {v.unit} (limit {v.limit:g}) "
              f"{'PASS' if v.passed else 'FAIL'}: {v.detail}")
    for e in result.events:
        if e.kind in ("rounding", "setpoint-model", "abort"):
            print(f"  event {e.kind}: {e.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
