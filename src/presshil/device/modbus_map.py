"""Map v1 on the device side: a pymodbus ``SimDevice`` whose action is the virtual press.

The register layout (which addresses exist, which are read-only) is generated from
:mod:`presshil.maps.press_v1`; pymodbus answers exception 02 for anything outside it
before our action runs. The action fills read requests from the live press and turns writes
into :meth:`VirtualPress.apply` calls, answering 02/03/04 when the press refuses.
"""

from __future__ import annotations

import asyncio
import logging

from pymodbus.constants import ExcCodes
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.simulator import SimDevice

from ..maps.press_v1 import (
    CHANNEL_POSITION_BASE,
    DEVICE_ID,
    LEASE_BASE,
    MAP_VERSION,
    STATE_MIRROR_BASE,
    RegisterAddressError,
    Space,
    StateCodec,
    decode,
    defined_ranges,
    encode,
    encode_positions,
)
from ..serving.modbus import (  # noqa: F401 - the function codes are this module's names too
    READ_HOLDING,
    READ_INPUT,
    READ_WRITE,
    SUPPORTED,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    answer_registers,
    build_simdevice,
)
from .rules import Refused
from .virtual import VirtualPress

log = logging.getLogger("presshil.device")


class RegisterMap:
    """Registers of one :class:`VirtualPress`: layout for pymodbus, contents from the press.

    ``channels``: the channel count the map shows (default: the press's own). The
    ``presshil-v1`` profile emulation shows the profile's count (missing channels read 0).
    """

    def __init__(self, press: VirtualPress, channels: int | None = None) -> None:
        self.press = press
        ident = press.identity
        self.channels = ident.channel_count if channels is None else channels
        self.codec = StateCodec(self.channels)

    def ratings(self) -> list[int]:
        """Input registers 100..105 (the rated pressure follows the die area)."""
        ident = self.press.identity
        return encode(
            Space.INPUT,
            100,
            {
                "rated_max_pressure": ident.rated_max_pressure_mpa,
                "rated_max_force": ident.rated_max_force_kn,
                "map_version": MAP_VERSION,
                "capabilities": self.press.capability_bits(),
            },
        )

    # --- layout ---------------------------------------------------------------------------
    def simdevice(self, device_id: int = DEVICE_ID) -> SimDevice:
        """The pymodbus device: input and holding blocks generated from the table."""
        return build_simdevice(
            device_id,
            defined_ranges(Space.HOLDING, self.channels),
            defined_ranges(Space.INPUT, self.channels),
            holding_readonly=lambda first: first >= STATE_MIRROR_BASE,
            action=self.action,
        )

    def identification(self) -> ModbusDeviceIdentification:
        """FC43/14 objects: vendor, model (product code and model name), firmware, serial."""
        ident = self.press.identity
        return ModbusDeviceIdentification(
            info={
                0x00: ident.vendor,
                0x01: ident.model,
                0x02: ident.firmware,
                0x04: f"{ident.vendor} {ident.model}",
                0x05: ident.model,
                0x80: ident.serial or "-",
            }
        )

    # --- contents -------------------------------------------------------------------------
    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus hook, called after the address checks of every register request."""
        if function_code not in SUPPORTED or (
            function_code == READ_WRITE and self.press.faults.no_fc23
        ):
            return ExcCodes.ILLEGAL_FUNCTION
        delay = self.press.faults.reply_delay_s
        if delay > 0 and (set_values is None or function_code != READ_WRITE):
            await asyncio.sleep(delay)  # the read half of FC23 waits; its write half does not
        return answer_registers(
            function_code,
            start_address,
            address,
            count,
            registers,
            set_values,
            read=self.read,
            write=self._write,
            logger=log,
            refused=(Refused,),
        )

    def read(self, space: Space, address: int, count: int) -> list[int]:
        """``count`` registers of ``space`` from ``address`` (addresses already checked)."""
        image: dict[int, int] = {}
        n = self.codec.count
        if space is Space.INPUT:
            if address < n:
                image.update(enumerate(self.codec.encode(self.press.sample())))
            if address + count > 100:
                image.update(enumerate(self.ratings(), start=100))
            if address + count > LEASE_BASE:
                image.update(enumerate(self.lease_registers(), start=LEASE_BASE))
            if address + count > CHANNEL_POSITION_BASE:
                positions = encode_positions(
                    self.press.identity.channel_positions_mm, self.channels
                )
                image.update(enumerate(positions, start=CHANNEL_POSITION_BASE))
        else:
            if address < STATE_MIRROR_BASE:
                params = dict(self.press.params)
                image.update(enumerate(encode(Space.HOLDING, 0, params)))
            if address + count > STATE_MIRROR_BASE:
                state = self.codec.encode(self.press.sample())
                image.update(enumerate(state, start=STATE_MIRROR_BASE))
        return [image.get(a, 0) for a in range(address, address + count)]

    def lease_registers(self) -> list[int]:
        """Input registers 150..161: the lease holder, who last stopped, change counters,
        the host-loss alarm."""
        view = self.press.lease.view()
        holder, stopper = view.holder, view.last_stop
        return encode(
            Space.INPUT,
            LEASE_BASE,
            {
                "lease_holder_link": int(holder.link) if holder else 0,
                "lease_holder_ipv4": holder.ipv4() if holder else 0,
                "lease_holder_port": holder.port if holder else 0,
                "last_stop_link": int(stopper.link) if stopper else 0,
                "last_stop_ipv4": stopper.ipv4() if stopper else 0,
                "last_stop_port": stopper.port if stopper else 0,
                "config_generation": view.config_generation,
                "lease_refusals": view.refused,
                "host_lost": int(self.press.host_loss.alarm),
                "host_losses": self.press.host_loss.losses,
            },
        )

    def _write(self, address: int, values: list[int]) -> ExcCodes | None:
        try:
            updates = decode(Space.HOLDING, address, values, self.channels)
        except RegisterAddressError as exc:
            log.info("refused write: %s", exc)
            return ExcCodes.ILLEGAL_ADDRESS
        self.press.apply(updates)
        return None


__all__ = ["SUPPORTED", "RegisterMap"]
