"""Firmware in the loop with the binary that ships: a bare-metal ELF under QEMU.

::

    fil://?firmware=@reference&target=mps2-an385          build firmware/ for the MCU, run it
    fil://?firmware=PATH.elf&target=BOARD&host_uart=N&plant_uart=M   your own binary

The plant serves Modbus RTU on a pseudo-terminal that QEMU opens as the board's plant UART;
the host link is a second pseudo-terminal (the board's host UART) that presshil drives as
``modbus+rtu``; the console UART is QEMU's stdout (the READY / STATS / HARDFAULT lines). The
judge reads the plant's ground truth over Modbus TCP, as for the host build.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DeviceFault, PressError, PressURLError, TransportError
from ..transports.modbus import ModbusPress
from ..url_schemes import FIL_MCU_KEYS
from ..urls import PressURL, parse_press_url
from .build import FLAVOURS, build_firmware
from .plant_link import PlantLink
from .press import FilPress
from .priority import raise_priority
from .qemu import (
    MAX_UART,
    REFERENCE_TARGET,
    REFERENCE_UARTS,
    QemuFirmware,
    check_elf,
    check_target,
    hold_pty_open,
    wait_until,
)
from .realtime_budget import HostTooSlow

#: the plant drops its actuator when no command came for this long (ms): several of the MCU
#: loop's longest periods on a loaded machine, far beyond its 10 ms period
LINK_QUIET_MS = 250.0
#: the URL keys of the MCU form (beside fil://'s own)
MCU_KEYS = FIL_MCU_KEYS  # registered with the fil:// scheme


class FirmwareCrashed(PressError):
    """The firmware under QEMU printed HARDFAULT: the run is aborted (the plant drops its
    actuator when its link goes quiet; the firmware's fault handler also commands SAFE)."""


class McuFilPress(FilPress):
    """:class:`FilPress` whose firmware runs under QEMU; a crash is named as such."""

    firmware: QemuFirmware
    #: the host link's pty, held open for the run (see :func:`hold_pty_open`)
    _held_fd: int | None = None

    def _host_call(self, call: Any) -> Any:
        try:
            return call()
        except DeviceFault:
            # a command refused because the firmware tripped on stale sensors the plant's lag
            # explains is the host's fault: the judged read says so (HostTooSlow), else re-raise
            super().read()
            raise
        except TransportError as exc:
            crash = self.firmware.crash if self.firmware is not None else None
            if crash is None and self.firmware is not None and not self.firmware.running:
                crash = f"QEMU exited with code {self.firmware.proc.returncode}"
            if crash:
                raise FirmwareCrashed(f"the firmware under test crashed: {crash}") from exc
            raise

    def read(self) -> Any:
        """As :meth:`FilPress.read`; a crashed firmware raises :class:`FirmwareCrashed`."""
        return self._host_call(super().read)

    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Any:
        """As :meth:`FilPress.command_and_read`; a crash raises :class:`FirmwareCrashed`."""
        return self._host_call(lambda: super(McuFilPress, self).command_and_read(setpoint_mpa, rate_mpa_s))

    def configure(self, **kwargs: Any) -> None:
        """As :meth:`FilPress.configure`; a refusal the host's lag explains is HostTooSlow."""
        self._host_call(lambda: super(McuFilPress, self).configure(**kwargs))

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """As :meth:`FilPress.command`; a refusal the host's lag explains is HostTooSlow."""
        self._host_call(lambda: super(McuFilPress, self).command(setpoint_mpa, rate_mpa_s))

    def release(self, rate_mpa_s: float) -> None:
        """As :meth:`FilPress.release`; a refusal the host's lag explains is HostTooSlow."""
        self._host_call(lambda: super(McuFilPress, self).release(rate_mpa_s))

    def close(self) -> None:
        """As :meth:`FilPress.close`, then release the held host pty."""
        try:
            super().close()
        finally:
            fd = self._held_fd
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
                self._held_fd = None


def _uart(parsed: PressURL, key: str, default: int) -> int:
    n = parsed.get_int(key, default)
    if not 0 <= n <= MAX_UART:
        raise PressURLError(f"press URL {parsed.raw!r}: {key} must be 0..{MAX_UART}, got {n}")
    return n


#: the silence that ends a partial RTU frame at the plant. QEMU sends a request byte by byte
#: as its vCPU writes them; a host that deschedules QEMU mid-request (20 ms seen under load,
#: 120 ms in the pause test) would, at the line's 3.5 characters (5 ms), have the plant
#: discard the first half and the firmware time out. A pseudo-terminal loses no bytes: a
#: partial frame there is always a writer that stalled and will finish it (the firmware's
#: UART write has no time limit), so the plant waits as long as it would for a dead link.
RTU_GAP_MS = LINK_QUIET_MS

#: start-ups tried when the host, not the firmware, tripped the first one (HostTooSlow)
START_ATTEMPTS = 3


def start_mcu(elf: Path, **kwargs: Any) -> McuFilPress:
    """Start the plant (RTU on a pty) and ``elf`` under QEMU on board ``target``.

    The first seconds under QEMU are the costliest for the host (code translated on first
    use, the host link opened, the plant's first requests), and on a busy machine a start-up
    can end in :class:`HostTooSlow` before the protocol has begun. Such a start is thrown away
    — plant and QEMU stopped — and tried again, up to :data:`START_ATTEMPTS` times; the
    protocol itself is never retried, and a firmware's own fault is never thrown away.
    Keyword arguments: those of :func:`_start_mcu_once`.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            press = _start_mcu_once(elf, **kwargs)
        except HostTooSlow as exc:
            if attempt == START_ATTEMPTS:
                raise HostTooSlow(f"{exc} (start-up tried {attempt} times)") from exc
            continue
        press.timing["start_attempts"] = attempt
        return press
    raise AssertionError("unreachable")  # pragma: no cover


def _start_mcu_once(
    elf: Path,
    *,
    target: str = REFERENCE_TARGET,
    plant: str = "sim://",
    host_uart: int = REFERENCE_UARTS["host"],
    plant_uart: int = REFERENCE_UARTS["plant"],
    timeout_s: float = 0.5,
    ready_timeout_s: float = 20.0,
    icount_shift: int | None = None,
    url: str | None = None,
    judge_start: bool = True,
) -> McuFilPress:
    """One start-up of the plant (RTU on a pty) and ``elf`` under QEMU on board ``target``.

    ``judge_start``: read once through the judge before returning, so that a firmware that
    tripped while QEMU started is named at once (HostTooSlow when the plant's lag explains it).
    Benchmarks that only time the loop turn it off.
    """
    from ..plant.spawn import SpawnedPlant

    check_target(target)
    check_elf(elf)
    if host_uart == plant_uart:
        raise ConfigError(f"host_uart and plant_uart are both {host_uart}: they must differ")
    # QEMU is stopped from outside and a crashed binary stops talking: the plant drops its
    # actuator when its link has been quiet for LINK_QUIET_MS
    plant_proc = SpawnedPlant(plant, modbus_rtu="pty", link_quiet_ms=LINK_QUIET_MS, rtu_gap_ms=RTU_GAP_MS)
    fw: QemuFirmware | None = None
    link: PlantLink | None = None
    held: int | None = None
    try:
        ep = plant_proc.endpoints
        link = PlantLink(ep["modbus_tcp"])
        fw = QemuFirmware(
            elf,
            target=target,
            plant_device=ep["modbus_rtu"],
            host_uart=host_uart,
            plant_uart=plant_uart,
            ready_timeout_s=ready_timeout_s,
            icount_shift=icount_shift,
        )
        # the plant and QEMU keep real time; ordinary work on this machine should not
        # preempt them (granted where the OS permits: see fil/priority.py)
        priority = {
            "plant": raise_priority(plant_proc.pid),
            "qemu": raise_priority(fw.proc.pid),
        }
        held = hold_pty_open(fw.host)
        host = _connect_host(fw, timeout_s)
    except BaseException:
        if fw is not None:
            fw.stop()
        if held is not None:
            os.close(held)
        if link is not None:
            link.close()
        plant_proc.stop()
        raise
    press = McuFilPress(
        host,
        link,
        firmware=fw,
        plant_process=plant_proc,
        url=url or f"fil://?firmware={elf}&target={target}",
    )
    press._held_fd = held
    press.timing["priority"] = priority
    if not judge_start:
        return press
    try:
        # a firmware that tripped on stale sensors while QEMU started is named here: as
        # HostTooSlow when the plant measured the stall, as the firmware's fault otherwise
        press.read()
    except BaseException:
        press.close()
        raise
    return press


def _connect_host(fw: QemuFirmware, timeout_s: float) -> ModbusPress:
    """The host link, once QEMU has noticed its pty is open (it looks once a second)."""
    import time

    url = f"modbus+rtu://{fw.host}?timeout={timeout_s}&retries=2"
    deadline = time.monotonic() + 5.0
    while True:
        try:
            return ModbusPress(parse_press_url(url))
        except TransportError as exc:
            if fw.crash:
                raise TransportError(f"firmware crashed under QEMU: {fw.crash}") from exc
            if not wait_until(deadline):
                raise TransportError(
                    f"firmware printed READY but does not answer on its host UART ({fw.host}): "
                    f"{exc}; console: {fw.console()[-400:]}"
                ) from exc


def open_mcu_press(parsed: PressURL, timeout: float) -> McuFilPress:
    """A ``fil://…&target=BOARD`` URL (called by :func:`presshil.fil.press.open_fil_press`)."""
    q = parsed.query
    target = q["target"]
    # an emulated UART on a busy machine answers later than a socket: 0.5 s unless told
    timeout = timeout if "timeout" in q else 0.5
    firmware = q.get("firmware", "")
    if not firmware:
        raise PressURLError(f"press URL {parsed.raw!r}: target= needs firmware=@FLAVOUR or PATH.elf")
    ready = parsed.get_float("ready_timeout", 20.0)
    if not 0 < ready <= 600:
        raise PressURLError(f"press URL {parsed.raw!r}: ready_timeout must be in (0, 600] s")
    icount = parsed.get_int("icount", -1) if "icount" in q else None
    if icount is not None and not 0 <= icount <= 10:
        raise PressURLError(f"press URL {parsed.raw!r}: icount must be a shift 0..10")
    try:
        if firmware.startswith("@"):
            flavour = firmware[1:]
            flavour = "" if flavour == "reference" else flavour
            if flavour not in FLAVOURS:
                names = ", ".join("@" + (f or "reference") for f in FLAVOURS)
                raise ConfigError(f"firmware {firmware!r} unknown; built flavours: {names}")
            if "host_uart" in q or "plant_uart" in q:
                raise ConfigError("host_uart/plant_uart are for firmware=PATH.elf; the "
                                  "reference firmware's UARTs are fixed (docs/firmware.md)")
            check_target(target)
            elf = build_firmware(flavour, target=target)
        else:
            elf = Path(firmware)
            if not elf.is_file():
                raise ConfigError(f"firmware={firmware}: no such file")
        return start_mcu(
            elf,
            target=target,
            plant=q.get("plant") or "sim://",
            host_uart=_uart(parsed, "host_uart", REFERENCE_UARTS["host"]),
            plant_uart=_uart(parsed, "plant_uart", REFERENCE_UARTS["plant"]),
            timeout_s=timeout,
            ready_timeout_s=ready,
            icount_shift=icount,
            url=parsed.raw,
        )
    except ConfigError as exc:
        if isinstance(exc, PressURLError):
            raise
        raise PressURLError(f"press URL {parsed.raw!r}: {exc}") from exc


__all__ = ["MCU_KEYS", "FirmwareCrashed", "McuFilPress", "open_mcu_press", "start_mcu"]
