"""What both register maps tell pymodbus: the function codes served and the device layout.

The virtual press (:class:`presshil.device.modbus_map.RegisterMap`) and the plant
(:class:`presshil.plant.modbus_map.PlantRegisters`) each build a pymodbus ``SimDevice`` from
their table's address ranges, with no coils or discrete inputs, and an action that fills
reads from the live model. :func:`build_simdevice` is that construction and
:func:`answer_registers` the body both actions share (a write or a read of the map, a
refusal or a failure as an exception code); what comes before it stays with each map (the
press injects wire faults; the plant measures latency).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from types import SimpleNamespace
from typing import Any

from pymodbus.constants import DeviceInformation, ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.device import DeviceInformationFactory, ModbusDeviceIdentification
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest, ReadDeviceInformationResponse
from pymodbus.simulator import DataType, SimData, SimDevice

from ..maps.regtable import Space

READ_INPUT, READ_HOLDING, WRITE_SINGLE, WRITE_MULTIPLE, READ_WRITE = 4, 3, 6, 16, 23
#: the register function codes both maps serve (everything else: exception 01)
SUPPORTED = {READ_INPUT, READ_HOLDING, WRITE_SINGLE, WRITE_MULTIPLE, READ_WRITE}

#: pymodbus' action hook: (function code, block start, address, count, registers, values)
Action = Callable[
    [int, int, int, int, list[int], list[int] | list[bool] | None],
    Coroutine[Any, Any, ExcCodes | None],
]


def build_simdevice(
    device_id: int,
    holding: Sequence[tuple[int, int]],
    input_: Sequence[tuple[int, int]],
    *,
    holding_readonly: Callable[[int], bool],
    action: Action,
) -> SimDevice:
    """A ``SimDevice`` with register blocks at the ``(first, last)`` ranges, no bits.

    ``holding_readonly(first)`` says whether the holding block starting at ``first`` is
    read-only (pymodbus then answers 02 to a write before ``action`` runs); input blocks are
    read-only by the function codes. Coil and discrete-input tables hold one refused bit.
    """

    def block(ranges: Sequence[tuple[int, int]], readonly: Callable[[int], bool]) -> list[SimData]:
        return [
            SimData(
                first,
                count=last - first + 1,
                values=0,
                datatype=DataType.REGISTERS,
                readonly=readonly(first),
            )
            for first, last in ranges
        ]

    no_bits = [SimData(0, values=False, datatype=DataType.BITS)]  # coils: refused by the action
    return SimDevice(
        device_id,
        simdata=(
            no_bits,
            list(no_bits),
            block(holding, holding_readonly),
            block(input_, lambda _first: False),
        ),
        action=action,
    )


def answer_registers(
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
    *,
    read: Callable[[Space, int, int], list[int]],
    write: Callable[[int, list[int]], ExcCodes | None],
    logger: logging.Logger,
    refused: tuple[type[Exception], ...] = (),
) -> ExcCodes | None:
    """One register request on a map whose addresses pymodbus has checked: ``write(address,
    values)`` (its exception code or None), or ``registers`` filled from ``read(space,
    address, count)``. An exception of a ``refused`` type is answered with its ``code``
    (logged as info); any other with 04 (device failure, logged with its trace)."""
    try:
        if set_values is not None:
            return write(address, [int(v) for v in set_values])
        space = Space.INPUT if function_code == READ_INPUT else Space.HOLDING
        offset = address - start_address
        registers[offset : offset + count] = read(space, address, count)
        return None
    except refused as exc:
        logger.info("refused: %s", exc)
        return ExcCodes(getattr(exc, "code", ExcCodes.DEVICE_FAILURE))
    except Exception:
        logger.exception(
            "request failed: FC%02d address %d count %d", function_code, address, count
        )
        return ExcCodes.DEVICE_FAILURE


def identity_reply(
    request: ReadDeviceInformationRequest, identity: ModbusDeviceIdentification, device_id: int
) -> ModbusPDU:
    """FC43/14 (read device identification) answered from this server's own ``identity``.

    pymodbus answers it from one process-wide control block, so two servers in one process
    would both answer with whichever identity was set last; the checks are pymodbus' own.
    """
    if not 0x00 <= request.object_id <= 0xFF or not 0x00 <= request.read_code <= 0x04:
        return ExceptionResponse(request.function_code, ExcCodes.ILLEGAL_VALUE)
    information = DeviceInformationFactory.get(
        SimpleNamespace(Identity=identity), request.read_code, request.object_id
    )
    if request.read_code == DeviceInformation.SPECIFIC and (
        0x07 <= request.object_id < 0x80 or not information.get(request.object_id)
    ):
        return ExceptionResponse(request.function_code, ExcCodes.ILLEGAL_ADDRESS)
    return ReadDeviceInformationResponse(
        read_code=request.read_code,
        information=information,
        dev_id=device_id,
        transaction_id=request.transaction_id,
    )


__all__ = [
    "READ_HOLDING",
    "READ_INPUT",
    "READ_WRITE",
    "SUPPORTED",
    "WRITE_MULTIPLE",
    "WRITE_SINGLE",
    "Action",
    "build_simdevice",
    "identity_reply",
]
