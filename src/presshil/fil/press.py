"""``FilPress``: a press whose controller is the firmware under test, judged by the plant.

::

    fil://?firmware=PATH&plant=sim://NAME%3Fseed%3D1     start plant + firmware
    fil://?firmware=@reference                            build firmware/ first (@FLAVOUR)
    fil://?host=HOST:PORT&plant_at=HOST:PORT              both already running
    fil://?firmware=@reference&target=mps2-an385          the MCU build under QEMU
                                                          (presshil.fil.mcu)

The host side is presshil's :class:`~presshil.transports.modbus.ModbusPress` on the
firmware's host interface (press register map v1): commands, status, fault codes, the
firmware's sample counter and device time are the firmware's.

**The judge trusts the plant, not the firmware.** Every sample's ``pressure_mpa``,
``force_kn``, ``position_mm`` and ``channels_kn`` are the plant's ground truth (the force
actually on the stack and on each load cell, divided by the configured die area), read over
a separate connection to the plant right after the firmware's own reading. A firmware that
misreports its pressure, or regulates a drifting sensor, fails on what really happened.
What the firmware reported is kept in :attr:`FilPress.reported` for comparison.
"""

from __future__ import annotations

import math
import shlex
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..clock import Clock
from ..errors import ConfigError, PressURLError
from ..press import Identity, Press, Sample
from ..transports.modbus import ModbusPress
from ..url_schemes import FIL_KEYS, FIL_MCU_KEYS
from ..urls import PressURL, parse_press_url
from .build import FLAVOURS, build_firmware
from .firmware import FirmwareProcess
from .plant_link import PlantLink
from .realtime_budget import budget_report, check_sensor_fault

URL_KEYS = FIL_KEYS  # registered with the fil:// scheme
#: the MCU form's keys (``target=BOARD`` runs the firmware under QEMU: presshil.fil.mcu)
MCU_URL_KEYS = FIL_MCU_KEYS
#: reported samples kept for comparison (about 2.7 h at 50 Hz)
REPORTED_MAX = 500_000


class FilPress(Press):
    """Firmware in the loop. Build one with :meth:`start` or :func:`open_fil_press`."""

    def __init__(
        self,
        host: ModbusPress,
        plant: PlantLink,
        *,
        firmware: FirmwareProcess | None = None,
        plant_process: Any = None,
        url: str = "",
    ) -> None:
        self.url = url
        self.host = host
        self.plant = plant
        self.firmware = firmware
        self.plant_process = plant_process
        self.die_area_mm2 = float(plant.nameplate["die_area"])
        self._soft_max_mpa: float | None = None
        #: the firmware's own samples, in the order read (what it claims)
        self.reported: deque[Sample] = deque(maxlen=REPORTED_MAX)
        #: after :meth:`close`: the plant's timing figures and the firmware's STATS
        self.timing: dict[str, Any] = {}
        self._closed = False
        #: the plant-lag budget as last read (see :mod:`presshil.fil.realtime_budget`)
        self._budget: dict[str, Any] = {}

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        firmware: str | Path | list[str],
        *,
        plant: str = "sim://",
        link: str = "tcp",
        firmware_args: list[str] | None = None,
        timeout_s: float = 0.2,
        url: str | None = None,
    ) -> FilPress:
        """Start the plant (a subprocess) and the firmware (``firmware`` is its command).

        ``link``: how the firmware reaches the plant, ``tcp`` (Modbus TCP on 127.0.0.1) or
        ``rtu`` (Modbus RTU on a pseudo-terminal). The judge always uses Modbus TCP.
        """
        from ..plant.spawn import SpawnedPlant

        if link not in ("tcp", "rtu"):
            raise ConfigError(f"link must be 'tcp' or 'rtu', got {link!r}")
        plant_proc = SpawnedPlant(plant, modbus_rtu="pty" if link == "rtu" else None)
        fw = link_ = None
        try:
            ep = plant_proc.endpoints
            link_ = PlantLink(ep["modbus_tcp"])
            fw_plant = f"tcp:{ep['modbus_tcp']}" if link == "tcp" else f"rtu:{ep['modbus_rtu']}"
            fw = FirmwareProcess(firmware, fw_plant, extra_args=firmware_args)
            host = ModbusPress(
                parse_press_url(f"modbus+tcp://{fw.host}:{fw.port}?timeout={timeout_s}")
            )
        except BaseException:
            if fw is not None:
                fw.stop()
            if link_ is not None:
                link_.close()
            plant_proc.stop()
            raise
        if url is None:
            url = f"fil://?firmware={quote(str(firmware))}&plant={quote(plant)}&link={link}"
        return cls(host, link_, firmware=fw, plant_process=plant_proc, url=url)

    # --- the contract, through the firmware ---------------------------------------------
    @property
    def identity(self) -> Identity:
        """The firmware's identity (FC43) and ratings, as it reports them."""
        return self.host.identity

    @property
    def clock(self) -> Clock:
        """Wall-clock time: the loop runs in real time."""
        return self.host.clock

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Configure the firmware; the judge divides the true force by the same die area."""
        self.host.configure(
            die_area_mm2=die_area_mm2, soft_max_mpa=soft_max_mpa, watchdog_ms=watchdog_ms
        )
        if die_area_mm2 is not None:
            self.die_area_mm2 = float(die_area_mm2)
        if soft_max_mpa is not None:
            self._soft_max_mpa = float(soft_max_mpa)

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """REGULATE, through the firmware's host interface."""
        self.host.command(setpoint_mpa, rate_mpa_s)

    def release(self, rate_mpa_s: float) -> None:
        """RELEASE, through the firmware's host interface."""
        self.host.release(rate_mpa_s)

    def stop(self) -> None:
        """STOP, through the firmware's host interface."""
        self.host.stop()

    def reset(self) -> None:
        """RESET_FAULT, through the firmware's host interface."""
        self.host.reset()

    def heartbeat(self) -> None:
        """Feed the firmware's watchdog."""
        self.host.heartbeat()

    def read(self) -> Sample:
        """The firmware's state, with the plant's ground truth for the physical values."""
        return self._judge(self.host.read())

    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Sample:
        """One control cycle through the firmware (FC23), then the plant's truth."""
        return self._judge(self.host.command_and_read(setpoint_mpa, rate_mpa_s))

    def _judge(self, reported: Sample) -> Sample:
        self.reported.append(reported)
        truth = self.plant.truth()
        self._budget = budget_report(truth)
        check_sensor_fault(reported, truth)  # a starved plant is the host's fault
        force_kn = float(truth["true_force"])
        return Sample(
            t_s=reported.t_s,
            counter=reported.counter,
            status=reported.status,
            fault_code=reported.fault_code,
            setpoint_mpa=reported.setpoint_mpa,
            pressure_mpa=force_kn * 1e3 / self.die_area_mm2,
            force_kn=force_kn,
            position_mm=float(truth["true_position"]),
            channels_kn=tuple(float(v) for v in truth["true_channel"]),
        )

    # --- beyond the contract --------------------------------------------------------------
    def inject_fault(self, name: str, at_s: float | None = None, **params: float) -> None:
        """Inject a fault into the plant now (``estop`` presses the e-stop button).

        ``overpressure`` without ``mpa`` surges by 1.5 × the distance from the present true
        pressure to the trip level the reference firmware uses (soft limit + max(2 %,
        0.5 MPa)), at least 2 MPa — the same default as ``sim://``.
        """
        if at_s is not None:
            raise ConfigError("fil://: faults are injected now (at_s is not supported)")
        value = 0.0
        if name == "overpressure":
            value = float(params.get("mpa") or self._default_surge_mpa())
        elif name in ("leak", "sensor_drift", "sensor_saturation"):
            key = {
                "leak": "factor",
                "sensor_drift": "rate_n_per_min",
                "sensor_saturation": "level_kn",
            }
            value = float(params.get(key[name], 0.0))
        self.plant.inject(
            name,
            channel=int(params.get("channel", 0)),
            value=value,
            duration_s=float(params.get("duration_s", 0.0)),
        )

    def _default_surge_mpa(self) -> float:
        limit = self._soft_max_mpa or self.identity.rated_max_pressure_mpa
        limit = min(limit, self.identity.rated_max_pressure_mpa)
        trip = limit + max(0.02 * limit, 0.5)
        now = float(self.plant.truth()["true_force"]) * 1e3 / self.die_area_mm2
        return max(2.0, 1.5 * (trip - now))

    def truth(self) -> dict[str, Any]:
        """The plant's judge block now (true force, channels, latency and lag so far)."""
        return self.plant.truth()

    def close(self) -> None:
        """Put the firmware in its safe state, stop it and the plant; keep their figures."""
        if self._closed:
            return
        self._closed = True
        try:
            self.host.safe_state()
            self.host.close()
        finally:
            self.plant.close()
            if self.firmware is not None:
                self.firmware.stop()
                self.timing["firmware"] = dict(self.firmware.stats)
            if self.plant_process is not None:
                self.plant_process.stop()
                self.timing["plant"] = self.plant_process.timing
            if self._budget:
                self.timing["realtime_budget"] = dict(self._budget)

    def __repr__(self) -> str:
        return f"FilPress({self.url!r})"


def _firmware_command(value: str) -> str | Path:
    """``@FLAVOUR`` builds ``firmware/`` (``@reference`` the correct one); else a command."""
    if value.startswith("@"):
        flavour = value[1:]
        flavour = "" if flavour == "reference" else flavour
        if flavour not in FLAVOURS:
            names = ", ".join("@" + (f or "reference") for f in FLAVOURS)
            raise PressURLError(f"fil://: firmware {value!r} unknown; built flavours: {names}")
        return build_firmware(flavour)
    return value


def open_fil_press(parsed: PressURL) -> FilPress:
    """Open a ``fil://`` URL (called by :func:`presshil.open_press`)."""
    parsed.check_keys(URL_KEYS | MCU_URL_KEYS)
    q = parsed.query
    timeout = parsed.get_float("timeout", 0.2)
    if not math.isfinite(timeout) or timeout <= 0:
        raise PressURLError(f"press URL {parsed.raw!r}: timeout must be > 0")
    if "target" in q:
        from .mcu import open_mcu_press

        return open_mcu_press(parsed, timeout)
    if MCU_URL_KEYS & set(q):
        raise PressURLError(
            f"press URL {parsed.raw!r}: {', '.join(sorted(MCU_URL_KEYS & set(q)))} apply to "
            "target=BOARD (firmware under QEMU) only"
        )
    if "host" in q:
        if "firmware" in q or "plant" in q:
            raise PressURLError(
                f"press URL {parsed.raw!r}: host= connects to a running firmware; "
                "give plant_at=HOST:PORT (its plant), not firmware= or plant="
            )
        if "plant_at" not in q:
            raise PressURLError(
                f"press URL {parsed.raw!r}: the judge needs the plant's ground truth: "
                "add plant_at=HOST:PORT (where the running plant server listens)"
            )
        host = ModbusPress(parse_press_url(f"modbus+tcp://{q['host']}?timeout={timeout}"))
        try:
            plant = PlantLink(q["plant_at"])
        except BaseException:
            host.close()
            raise
        return FilPress(host, plant, url=parsed.raw)
    if not q.get("firmware"):
        raise PressURLError(
            f"press URL {parsed.raw!r}: fil:// needs firmware=PATH (a command; @reference "
            "builds firmware/) or host=HOST:PORT&plant_at=HOST:PORT (already running)"
        )
    try:
        command = _firmware_command(q["firmware"])
    except ConfigError as exc:
        raise PressURLError(f"press URL {parsed.raw!r}: {exc}") from exc
    return FilPress.start(
        command,
        plant=q.get("plant") or "sim://",
        link=q.get("link", "tcp"),
        firmware_args=shlex.split(q.get("firmware_args", "")),
        timeout_s=timeout,
        url=parsed.raw,
    )


__all__ = ["URL_KEYS", "FilPress", "open_fil_press"]
