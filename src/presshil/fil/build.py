"""Build the reference firmware (``firmware/``) with its Makefile, for tests and benchmarks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import ConfigError

#: the firmware source tree, beside ``src/`` in a source checkout
FIRMWARE_DIR = Path(__file__).resolve().parents[3] / "firmware"
#: build flavour -> binary name; "" is the correct firmware, the others are broken on purpose
FLAVOURS = {
    "": "presshil-fw",
    "pid-sign": "presshil-fw-pid-sign",
    "no-antiwindup": "presshil-fw-no-antiwindup",
    "no-watchdog": "presshil-fw-no-watchdog",
    "no-overpressure": "presshil-fw-no-overpressure",
}


def missing_build_tools() -> str | None:
    """Why the firmware cannot be built here (a tool or libmodbus missing), or None."""
    if not (FIRMWARE_DIR / "Makefile").is_file():
        return f"no firmware sources at {FIRMWARE_DIR} (not a source checkout)"
    for tool in ("make", "cc", "pkg-config"):
        if shutil.which(tool) is None:
            return f"'{tool}' not found (apt-get install build-essential pkg-config)"
    probe = subprocess.run(
        ["pkg-config", "--exists", "libmodbus"], capture_output=True, timeout=10, check=False
    )
    if probe.returncode != 0:
        return "libmodbus not found by pkg-config (apt-get install libmodbus-dev)"
    return None


def build_firmware(flavour: str = "", build_dir: Path | str | None = None) -> Path:
    """Build one flavour (see :data:`FLAVOURS`) with ``make``; the path of the binary.

    ``build_dir`` defaults to ``firmware/build``. ``make`` rebuilds only what changed.
    Raises :class:`ConfigError` with the compiler's output when the build fails.
    """
    if flavour not in FLAVOURS:
        raise ConfigError(f"firmware flavour {flavour!r} unknown; one of {sorted(FLAVOURS)}")
    why = missing_build_tools()
    if why:
        raise ConfigError(f"cannot build the firmware: {why}")
    build = Path(build_dir) if build_dir is not None else FIRMWARE_DIR / "build"
    target = build.resolve() / FLAVOURS[flavour]
    proc = subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE_DIR), f"BUILD={build.resolve()}", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0 or not target.is_file():
        raise ConfigError(
            f"firmware build failed ({flavour or 'reference'}):\n{proc.stderr[-4000:]}"
        )
    return target


__all__ = ["FIRMWARE_DIR", "FLAVOURS", "build_firmware", "missing_build_tools"]
