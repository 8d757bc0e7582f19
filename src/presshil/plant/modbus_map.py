"""The plant map on the wire: a pymodbus ``SimDevice`` whose action is the plant.

Layout (which addresses exist, which are read-only) comes from
:data:`presshil.maps.plant.TABLE`; pymodbus answers exception 02 outside it before the
action runs. Reads are filled from the live plant under the driver's lock; a write of the
actuator block commands the actuator and records the firmware's latency; a write of the
injection block injects a fault.
"""

from __future__ import annotations

import logging
import time
from typing import cast

from pymodbus.constants import ExcCodes
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.simulator import SimDevice

from ..errors import ConfigError
from ..maps.plant import (
    ACTUATOR_COUNT,
    ACTUATOR_START,
    DEVICE_ID,
    DRIVE_SAFE,
    INJECT_CODES,
    MIRROR_BASE,
    NAMEPLATE_COUNT,
    NAMEPLATE_START,
    SENSOR_COUNT,
    SENSOR_START,
    TABLE,
    TRUTH_COUNT,
    TRUTH_START,
)
from ..maps.press_v1 import RegisterAddressError, Space
from ..serving.lease import ControlLease, LeaseRefused
from ..serving.master import current_master
from ..serving.modbus import SUPPORTED, answer_registers, build_simdevice
from .realtime import PlantDriver

_COUNTER_ADDRESS = 2  # plant map input 2..3: sample_counter

log = logging.getLogger("presshil.plant")
#: the actuator's lease lapses after this long without a command from its holder
PLANT_LEASE_EXPIRY_S = 1.0

_NAMES_BY_CODE = {v: k for k, v in INJECT_CODES.items()}


class PlantRegisters:
    """Registers of one plant behind a :class:`PlantDriver`."""

    def __init__(self, driver: PlantDriver, vendor: str = "presshil") -> None:
        self.driver = driver
        self.plant = driver.plant
        self.vendor = vendor
        self._nameplate = TABLE.encode(
            Space.INPUT, NAMEPLATE_START, NAMEPLATE_COUNT, self.plant.nameplate()
        )
        #: last values written to the holding registers (what FC03 reads back)
        self._holding: dict[int, int] = {}
        self._last_command_wall: float | None = None
        self._last_read: float | None = None
        self._max_read_gap_ms = 0.0
        #: one controller at a time drives the actuator: the first to command it, while it
        #: keeps commanding (each command is its heartbeat); anyone may command DRIVE_SAFE,
        #: and fault injection (the test bench's port) is open to every master
        self.lease = ControlLease(expiry_s=PLANT_LEASE_EXPIRY_S)
        self.lease.watchdog_s = PLANT_LEASE_EXPIRY_S

    def simdevice(self, device_id: int = DEVICE_ID) -> SimDevice:
        """The pymodbus device: input and holding blocks generated from the table."""
        return build_simdevice(
            device_id,
            TABLE.defined_ranges(Space.HOLDING),
            TABLE.defined_ranges(Space.INPUT),
            holding_readonly=lambda first: first == MIRROR_BASE,
            action=self.action,
        )

    def identification(self) -> ModbusDeviceIdentification:
        """FC43/14 objects: who the plant is."""
        ident = self.plant.model.press_cfg.identity
        return ModbusDeviceIdentification(
            info={
                0x00: self.vendor,
                0x01: "presshil-plant",
                0x02: "plant map 1",
                0x04: f"plant: {ident.model}",
                0x05: f"plant: {ident.model}",
            }
        )

    # --- pymodbus hook ----------------------------------------------------------------
    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Called by pymodbus after its address checks, for every register request."""
        if function_code not in SUPPORTED:
            return ExcCodes.ILLEGAL_FUNCTION
        return answer_registers(
            function_code,
            start_address,
            address,
            count,
            registers,
            set_values,
            read=self.read,
            write=self.write,
            logger=log,
        )

    # --- reads --------------------------------------------------------------------------
    def read(self, space: Space, address: int, count: int) -> list[int]:
        """``count`` registers of ``space`` from ``address`` (addresses already checked)."""
        image: dict[int, int] = {}
        end = address + count
        if space is Space.INPUT:
            if address < SENSOR_START + SENSOR_COUNT and end > SENSOR_START:
                # a controller's loop reads the sample counter (input 2); a one-off read of the
                # channel count (input 1, at start-up) is not a loop's and opens no gap
                if address <= _COUNTER_ADDRESS < end:
                    self._note_read()
                image.update(enumerate(self._sensor_block(), start=SENSOR_START))
            if address < NAMEPLATE_START + NAMEPLATE_COUNT and end > NAMEPLATE_START:
                image.update(enumerate(self._nameplate, start=NAMEPLATE_START))
            if address < TRUTH_START + TRUTH_COUNT and end > TRUTH_START:
                image.update(enumerate(self._truth_block(), start=TRUTH_START))
        else:
            if end > MIRROR_BASE and address < MIRROR_BASE + SENSOR_COUNT:
                self._note_read()
                image.update(enumerate(self._sensor_block(), start=MIRROR_BASE))
            image.update({a: v for a, v in self._holding.items() if address <= a < end})
        return [image.get(a, 0) for a in range(address, end)]

    def _note_read(self) -> None:
        """Measure the gap since the last sensor read answered: a controller polling at its
        loop rate sees no new sample for that long when the host stalls the plant server."""
        now = time.perf_counter()
        if self._last_read is not None:
            self._max_read_gap_ms = max(self._max_read_gap_ms, (now - self._last_read) * 1e3)
        self._last_read = now

    def _sensor_block(self) -> list[int]:
        with self.driver.lock:
            self.driver.catch_up()
            values = self.plant.sensors()
        return TABLE.encode(Space.INPUT, SENSOR_START, SENSOR_COUNT, values)

    def _truth_block(self) -> list[int]:
        timing = self.driver.timing
        with self.driver.lock:
            values = self.plant.truth_block()
        values.update(
            commands=timing.latency_ms.count,
            last_latency=timing.latency_ms.last,
            max_latency=timing.latency_ms.max,
            rt_lag=timing.lag_ms.last,
            max_rt_lag=timing.lag_ms.max,
            max_read_gap=self._max_read_gap_ms,
        )
        return TABLE.encode(Space.INPUT, TRUTH_START, TRUTH_COUNT, values)

    # --- writes -------------------------------------------------------------------------
    def write(self, address: int, values: list[int]) -> ExcCodes | None:
        """Apply a holding-register write: the actuator block or the injection block."""
        end = address + len(values)
        in_actuator = address < ACTUATOR_START + ACTUATOR_COUNT
        if in_actuator and (address != ACTUATOR_START or end < ACTUATOR_START + ACTUATOR_COUNT):
            # a command is drive mode + demand + its sample, or nothing: no half commands
            log.info("refused partial actuator write at %d..%d", address, end - 1)
            return ExcCodes.ILLEGAL_ADDRESS
        try:
            updates = TABLE.decode(Space.HOLDING, address, values)
        except RegisterAddressError as exc:
            log.info("refused write: %s", exc)
            return ExcCodes.ILLEGAL_ADDRESS
        if in_actuator:
            safe = int(cast(float, updates["drive_mode"])) == DRIVE_SAFE
            try:
                self.lease.check_write(
                    current_master.get(), set(updates), stop=safe, heartbeat=True, stop_only=safe
                )
            except LeaseRefused as exc:
                log.info("refused actuator command: %s", exc.text)
                return ExcCodes.ILLEGAL_FUNCTION
            code = self._command(updates)
        else:
            code = self._inject(updates)
        if code is None:
            self._holding.update(enumerate(values, start=address))
        return code

    def _command(self, updates: dict) -> ExcCodes | None:
        driver = self.driver
        arrived = time.perf_counter()
        with driver.lock:
            driver.catch_up()  # the old command acts up to now; the new one from now on
            try:
                self.plant.command(int(updates["drive_mode"]), float(updates["demand"]))
            except ValueError as exc:
                log.info("refused actuator command: %s", exc)
                return ExcCodes.ILLEGAL_VALUE
        # the sample named by based_on was due at its plant time; counter c is tick c - 1
        sample_due = (int(updates["based_on"]) - 1) * self.plant.dt
        timing = driver.timing
        timing.latency_ms.add((driver.plant_time_now() - sample_due) * 1e3)
        if self._last_command_wall is not None:
            timing.interval_ms.add((arrived - self._last_command_wall) * 1e3)
        self._last_command_wall = arrived
        return None

    def _inject(self, updates: dict) -> ExcCodes | None:
        code = int(updates.get("inject", 0))
        if code == 0:
            return None
        name = _NAMES_BY_CODE.get(code)
        if name is None:
            return ExcCodes.ILLEGAL_VALUE
        params = _inject_params(name, updates)
        try:
            with self.driver.lock:
                self.plant.inject(name, **params)
        except ConfigError as exc:
            log.info("refused injection: %s", exc)
            return ExcCodes.ILLEGAL_VALUE
        log.info("injected %s %s", name, params)
        return None


def _inject_params(name: str, updates: dict) -> dict[str, float]:
    value = float(updates.get("inject_value", 0.0))
    channel = int(updates.get("inject_channel", 0))
    duration = float(updates.get("inject_duration", 0.0))
    params: dict[str, float] = {}
    if name in ("sensor_stuck", "open_wire", "sensor_drift", "sensor_saturation") and channel:
        params["channel"] = channel
    key = {
        "overpressure": "mpa",
        "leak": "factor",
        "sensor_drift": "rate_n_per_min",
        "sensor_saturation": "level_kn",
    }.get(name)
    if key and value > 0:
        params[key] = value
    if duration > 0 and name not in ("overpressure", "clear"):
        params["duration_s"] = duration
    return params


__all__ = ["SUPPORTED", "PlantRegisters"]
