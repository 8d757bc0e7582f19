"""The judge's connection to the plant: ground truth, timing and fault injection.

It reads the plant map's judge block (input 200..231), never the firmware's registers, so
what the firmware reports and what really happened come over different wires.
"""

from __future__ import annotations

import time

from ..errors import ConfigError, TransportTimeout
from ..maps.plant import (
    INJECT_CODES,
    INJECT_COUNT,
    INJECT_START,
    NAMEPLATE_COUNT,
    NAMEPLATE_START,
    TABLE,
    TRUTH_COUNT,
    TRUTH_START,
)
from ..maps.press_v1 import Space
from ..transports.modbus_link import ModbusLink
from ..urls import PressURL, parse_press_url


class PlantLink:
    """A Modbus TCP client of the plant server at ``HOST:PORT``."""

    def __init__(self, hostport: str, timeout_s: float = 1.0, ready_s: float = 15.0) -> None:
        # the judge's own link is not polled through a sampler: it keeps one retry of its own
        url = f"modbus+tcp://{hostport}?timeout={timeout_s}&retries=1"
        parsed: PressURL = parse_press_url(url)
        self.hostport = hostport
        self._link = ModbusLink(parsed)
        # a plant that has just started may answer its first requests late (a cold start on a
        # loaded machine): the nameplate and channel count are waited for up to ``ready_s``
        deadline = time.monotonic() + ready_s
        while True:
            try:
                self._link.connect()
                self.nameplate = self._read(NAMEPLATE_START, NAMEPLATE_COUNT, "read nameplate")
                self.n_channels = int(self._read(1, 1, "read channel count")["channel_count"])
                break
            except TransportTimeout:
                if time.monotonic() >= deadline:
                    raise
                self._link.close()

    def _read(self, start: int, count: int, what: str) -> dict:
        rsp = self._link.call(
            f"{what} (FC04 input {start}..{start + count - 1})",
            lambda c: c.read_input_registers(start, count=count, device_id=1),
        )
        return TABLE.decode(Space.INPUT, start, list(rsp.registers))

    def truth(self) -> dict:
        """The judge block: ``true_force`` (kN), ``true_channel`` (kN, N of them), timing."""
        block = self._read(TRUTH_START, TRUTH_COUNT, "read ground truth")
        block["true_channel"] = block["true_channel"][: self.n_channels]
        return block

    def inject(
        self, name: str, *, channel: int = 0, value: float = 0.0, duration_s: float = 0.0
    ) -> None:
        """Inject plant fault ``name`` now (see ``docs/plant-map.md``, holding 300..305)."""
        code = INJECT_CODES.get(name)
        if code is None:
            raise ConfigError(
                f"plant fault {name!r} unknown; the plant injects {', '.join(INJECT_CODES)}"
            )
        regs = TABLE.encode(
            Space.HOLDING,
            INJECT_START,
            INJECT_COUNT,
            {
                "inject": code,
                "inject_channel": channel,
                "inject_value": value,
                "inject_duration": duration_s,
            },
        )
        self._link.call(
            f"inject {name} (FC16 holding {INJECT_START}..{INJECT_START + INJECT_COUNT - 1})",
            lambda c: c.write_registers(INJECT_START, regs, device_id=1),
        )

    def close(self) -> None:
        """Close the connection."""
        self._link.close()


__all__ = ["PlantLink"]
