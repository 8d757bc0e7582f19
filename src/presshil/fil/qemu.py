"""The firmware under test as a bare-metal binary under QEMU (``qemu-system-arm``).

The binary's UARTs are the emulated board's: one goes to the plant (the plant server's
pseudo-terminal, opened by QEMU as a serial device), one to the host (a pseudo-terminal QEMU
creates; presshil drives it as ``modbus+rtu``), and a third is the console, QEMU's stdout.
The MCU form of the firmware contract (docs/firmware.md): on the console the binary prints
``READY …`` once it has read the plant's nameplate and serves the host link, ``STATS
key=value …`` now and then, and ``HARDFAULT …`` if it crashes.

QEMU runs in its own process group and is never left running: :meth:`QemuFirmware.stop`
sends SIGTERM to the group, then SIGKILL, each bounded.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from functools import cache
from pathlib import Path

from ..child_process import _LIVE
from ..errors import ConfigError, TransportError
from .firmware import FirmwareProcess

QEMU = "qemu-system-arm"
#: the board the reference firmware is built for (firmware/mcu/)
REFERENCE_TARGET = "mps2-an385"
#: its UARTs: console, plant, host (firmware/mcu/hal_mcu.h)
REFERENCE_UARTS = {"console": 0, "plant": 1, "host": 2}
#: UARTs a board may have (mps2-an385 has five)
MAX_UART = 4
_PTY = re.compile(r"char device redirected to (?P<path>/dev/\S+) \(label serial(?P<n>\d+)\)")
#: ELF e_machine numbers worth naming in an error (the rest by number)
_MACHINES = {3: "x86", 8: "MIPS", 20: "PowerPC", 40: "ARM", 62: "x86-64", 183: "AArch64",
             243: "RISC-V"}  # fmt: skip


def missing_qemu() -> str | None:
    """Why QEMU cannot run here, or None."""
    if shutil.which(QEMU) is None:
        return f"'{QEMU}' not found (apt-get install qemu-system-arm)"
    return None


@cache
def qemu_boards() -> frozenset[str]:
    """The machine names ``qemu-system-arm -M help`` lists."""
    out = subprocess.run(
        [QEMU, "-M", "help"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    return frozenset(
        line.split()[0] for line in out.splitlines()[1:] if line.strip() and line[0] != " "
    )


def check_target(target: str) -> None:
    """:class:`ConfigError` unless QEMU emulates board ``target``."""
    why = missing_qemu()
    if why:
        raise ConfigError(f"cannot run target={target}: {why}")
    if target not in qemu_boards():
        raise ConfigError(
            f"target={target!r} is not a board {QEMU} knows ({QEMU} -M help lists them); "
            f"the reference firmware builds for target={REFERENCE_TARGET}"
        )


def check_elf(path: Path) -> None:
    """:class:`ConfigError` unless ``path`` is a 32-bit little-endian ARM ELF executable."""
    try:
        with path.open("rb") as f:
            head = f.read(20)
    except OSError as exc:
        raise ConfigError(f"firmware={path}: cannot read it ({exc.strerror})") from exc
    if head[:4] != b"\x7fELF":
        raise ConfigError(f"firmware={path}: not an ELF file (QEMU runs ELF executables)")
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    if head[4] != 1 or head[5] != 1 or machine != 40:
        name = _MACHINES.get(machine, f"e_machine {machine}")
        bits = {1: "32", 2: "64"}.get(head[4], "?")
        raise ConfigError(
            f"firmware={path}: an ELF for {name} ({bits}-bit), not 32-bit ARM: "
            "build it with arm-none-eabi-gcc for the board's CPU"
        )


def console_uart(host_uart: int, plant_uart: int) -> int:
    """The console is the lowest UART neither link uses."""
    return min(set(range(MAX_UART + 1)) - {host_uart, plant_uart})


class QemuFirmware(FirmwareProcess):
    """``qemu-system-arm`` running a firmware ELF; started and waited for on creation.

    :attr:`host` is the path of the host link's pseudo-terminal once READY; :attr:`port`
    is 0. :attr:`stats` holds the last ``STATS`` line's values; :attr:`crash` the
    ``HARDFAULT`` line, if one was printed.
    """

    def __init__(
        self,
        elf: Path,
        *,
        target: str,
        plant_device: str,
        host_uart: int,
        plant_uart: int,
        ready_timeout_s: float = 20.0,
        icount_shift: int | None = None,
    ) -> None:
        console = console_uart(host_uart, plant_uart)
        serials = ["null"] * (max(host_uart, plant_uart, console) + 1)
        serials[console], serials[plant_uart], serials[host_uart] = "stdio", plant_device, "pty"
        self.argv = [QEMU, "-M", target, "-nographic", "-monitor", "none", "-kernel", str(elf)]
        for s in serials:
            self.argv += ["-serial", s]
        if icount_shift is not None:
            self.argv += ["-icount", f"shift={icount_shift},align=off,sleep=on"]
        self.output: list[str] = []
        self.stats: dict[str, float] = {}
        self.crash: str | None = None
        self._lines: deque[str] = deque(maxlen=50)
        self._host_serial = f"serial{host_uart}"
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in _close()
        try:
            # its own process group: stopping it reaches every thread and child it has
            self.proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                stdin=subprocess.DEVNULL,
                bufsize=0,
                start_new_session=True,
            )
        except OSError as exc:
            self._stderr.close()
            raise TransportError(f"cannot start {QEMU}: {exc}") from exc
        _LIVE.add(self)  # killed at interpreter exit if never stopped
        self._ptys: dict[str, str] = {}
        self.host, self.port = self._ready_or_kill(self._wait_ready, ready_timeout_s)
        # the console is read to its end by a thread: a full pipe would stall the firmware
        self._reader = threading.Thread(target=self._drain, name="qemu-console", daemon=True)
        self._reader.start()

    def _line(self, line: str) -> None:
        self._lines.append(line)
        if len(self.output) < 200:
            self.output.append(line)
        if line.startswith("STATS "):
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                with contextlib.suppress(ValueError):
                    self.stats[key] = float(value)
        elif line.startswith("HARDFAULT") and self.crash is None:
            self.crash = line

    def _wait_ready(self, timeout_s: float) -> tuple[str, int]:
        def on_line(line: str) -> tuple[str, int] | None:
            line = line.strip()
            if m := _PTY.search(line):
                self._ptys[f"serial{m.group('n')}"] = m.group("path")
                return None
            self._line(line)
            if line.startswith("HARDFAULT"):
                raise TransportError(f"firmware crashed before READY under {QEMU}: {line}")
            if line.startswith("READY") and self._host_serial in self._ptys:
                return self._ptys[self._host_serial], 0
            return None

        ready = self._read_until(timeout_s, on_line)
        if ready is not None:
            return ready
        said = " | ".join(self._lines)[-600:] or "nothing"
        err = " | ".join(self.stderr().strip().splitlines())[-600:]
        raise TransportError(
            f"firmware under {QEMU} did not print READY on its console within {timeout_s:g} s "
            f"(exit code {self.proc.returncode}); console: {said}" + (f"; qemu: {err}" if err else "")
        )

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        pending = b""
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.proc.stdout.read(4096):
                pending += chunk
                while b"\n" in pending:
                    raw, pending = pending.split(b"\n", 1)
                    self._line(raw.decode("utf-8", "replace").strip())

    def console(self) -> str:
        """The console's last lines."""
        return " | ".join(self._lines)

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """SIGTERM to QEMU's process group, then SIGKILL; both bounded."""
        if self.proc.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)
                try:
                    self.proc.wait(wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(2.0)
        self._close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the process group (a failed start)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


def hold_pty_open(path: str) -> int:
    """Open the host link's pty and keep it open, raw, for the run.

    QEMU polls a pty nobody holds only once a second and drops what the guest writes
    meanwhile; with one descriptor held for the whole run, the Modbus client may close and
    reopen its own without the link going deaf.
    """
    import tty

    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    return fd


def wait_until(deadline: float) -> bool:
    """Sleep a little; False once ``deadline`` (monotonic) has passed."""
    if time.monotonic() >= deadline:
        return False
    time.sleep(0.1)
    return True


__all__ = [
    "MAX_UART",
    "QEMU",
    "REFERENCE_TARGET",
    "REFERENCE_UARTS",
    "QemuFirmware",
    "check_elf",
    "check_target",
    "console_uart",
    "hold_pty_open",
    "missing_qemu",
    "qemu_boards",
]
