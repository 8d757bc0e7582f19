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


#: MCU boards the reference firmware builds for (``make TARGET=…``, firmware/mcu/)
MCU_TARGETS = ("mps2-an385",)


def missing_mcu_build_tools() -> str | None:
    """Why the MCU build cannot be made here (cross compiler or newlib-nano missing), or None."""
    if not (FIRMWARE_DIR / "mcu" / "target.mk").is_file():
        return f"no MCU firmware sources at {FIRMWARE_DIR / 'mcu'} (not a source checkout)"
    if shutil.which("make") is None:
        return "'make' not found (apt-get install make)"
    if shutil.which("arm-none-eabi-gcc") is None:
        return "'arm-none-eabi-gcc' not found (apt-get install gcc-arm-none-eabi)"
    probe = subprocess.run(
        ["arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb", "-print-file-name=libc_nano.a"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if not Path(probe.stdout.strip()).is_absolute():
        return "newlib-nano not found (apt-get install libnewlib-arm-none-eabi)"
    return None


def build_firmware(
    flavour: str = "", build_dir: Path | str | None = None, *, target: str | None = None
) -> Path:
    """Build one flavour (see :data:`FLAVOURS`) with ``make``; the path of the binary.

    ``build_dir`` defaults to ``firmware/build``. ``make`` rebuilds only what changed.
    ``target`` (one of :data:`MCU_TARGETS`) builds the bare-metal ELF for that board instead
    of the host program. Raises :class:`ConfigError` with the compiler's output when the
    build fails.
    """
    if flavour not in FLAVOURS:
        raise ConfigError(f"firmware flavour {flavour!r} unknown; one of {sorted(FLAVOURS)}")
    if target is not None and target not in MCU_TARGETS:
        raise ConfigError(
            f"the reference firmware has no build for target={target!r}; it builds for "
            f"{', '.join(MCU_TARGETS)} (firmware=PATH.elf runs your own binary on other boards)"
        )
    why = missing_build_tools() if target is None else missing_mcu_build_tools()
    if why:
        raise ConfigError(f"cannot build the firmware: {why}")
    build = Path(build_dir) if build_dir is not None else FIRMWARE_DIR / "build"
    if target is None:
        binary = build.resolve() / FLAVOURS[flavour]
    else:
        binary = build.resolve() / target / f"{FLAVOURS[flavour]}.elf"
    make_target = [f"TARGET={target}"] if target else []
    proc = subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE_DIR), f"BUILD={build.resolve()}", *make_target,
         str(binary)],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0 or not binary.is_file():
        raise ConfigError(
            f"firmware build failed ({flavour or 'reference'}):\n{proc.stderr[-4000:]}"
        )
    return binary


__all__ = [
    "FIRMWARE_DIR",
    "FLAVOURS",
    "MCU_TARGETS",
    "build_firmware",
    "missing_build_tools",
    "missing_mcu_build_tools",
]
