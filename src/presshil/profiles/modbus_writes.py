"""The writing half of a profile-driven Modbus press: commands assembled, range-checked and
converted before anything is sent, then written with the function codes the profile's
``write`` mode says (FC16/FC15 for registers/coils that sit together, or FC06/FC05 one by
one), values before actions; pulse ends, read-back confirmation and the heartbeat's own write.
Mixed into :class:`~presshil.profiles.modbus_press.ModbusProfilePress`, which owns the link.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from pymodbus.client.base import ModbusBaseSyncClient
from pymodbus.pdu import ModbusPDU

from ..errors import DeviceFault
from ..maps.profile import Command
from ..maps.profile_codec import encode_words, runs
from .base import ILLEGAL_VALUE

if TYPE_CHECKING:
    from ..maps.profile import Profile
    from ..transports.modbus_link import ModbusLink

#: the raw values an integer command register can take
_RANGE = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1),
          "uint32": (0, 2**32 - 1), "bool": (0, 1)}


class ModbusWrites:
    """Command writing for :class:`~presshil.profiles.modbus_press.ModbusProfilePress`."""

    # provided by the press this is mixed into
    url: str
    profile: Profile
    map: Any
    _link: ModbusLink
    _unit: int
    _single: set[tuple[str, int]]
    _pending: list[tuple[float, str, int, bool]]
    _hb: int

    def _call(self, what: str, request: Callable) -> None:
        self._link.call(what, request)

    def send(self, what: str, items: list[tuple[str, float | None]]) -> None:
        """Write the commands in ``items``: registers that sit together in one request (FC16,
        coils FC15), or one FC06/FC05 per register where the profile says ``write =
        "single"``; values before actions, the words of a value in ascending address order."""
        self._flush_pulses(force=True)
        cmds = self.profile.commands
        holding, coils = self._assemble(items)
        const: set[tuple[str, int | None]] = {(cmds[n].space, cmds[n].address) for n, v in items if v is None}
        done: list[str] = []
        for label, call in self._write_plan(what, holding, coils, const):
            try:
                self._call(label, call)
            except DeviceFault as exc:
                if not done:
                    raise
                raise DeviceFault(
                    f"{exc}; written before it: {', '.join(done)}; nothing after it was written",
                    code=exc.code,
                ) from exc
            done.append(label.rsplit("(", 1)[-1].rstrip(")"))
        now = time.monotonic()
        for name, value in items:
            cmd = cmds[name]
            if cmd.confirm:
                self._confirm(what, name, cmd, holding, coils)
            if value is None and cmd.pulse_ms:
                self._pending.append((now + cmd.pulse_ms / 1000.0, cmd.space, cmd.address or 0, cmd.space == "coil"))

    def _write_plan(
        self, what: str, holding: dict[int, int], coils: dict[int, bool], const: set[tuple[str, int | None]]
    ) -> list[tuple[str, Callable]]:
        """The requests that write ``holding`` and ``coils``: (label, request), values first."""
        unit = self._unit
        ops: list[tuple[tuple[bool, int, int], str, Callable]] = []
        single_h = {a: w for a, w in holding.items() if ("holding", a) in self._single}
        for start, words in runs({a: w for a, w in holding.items() if a not in single_h}):
            is_const = any(("holding", a) in const for a in range(start, start + len(words)))
            ops.append(((is_const, 0, start), f"{what} (FC16 holding {start}..{start + len(words) - 1})",
                        partial(fc16, start, words, unit)))
        for a, w in single_h.items():
            ops.append(((("holding", a) in const, 0, a), f"{what} (FC06 holding {a} = {w})", partial(fc06, a, w, unit)))
        single_c = {a: b for a, b in coils.items() if ("coil", a) in self._single}
        for start, bits in runs({a: int(b) for a, b in coils.items() if a not in single_c}):
            is_const = any(("coil", a) in const for a in range(start, start + len(bits)))
            ops.append(((is_const, 1, start), f"{what} (FC15 coils {start}..{start + len(bits) - 1})",
                        partial(fc15, start, [bool(x) for x in bits], unit)))
        for a, b in single_c.items():
            ops.append(((("coil", a) in const, 1, a), f"{what} (FC05 coil {a} = {int(b)})", partial(fc05, a, b, unit)))
        return [(label, call) for _key, label, call in sorted(ops, key=lambda op: op[0])]

    def write_plan(self) -> list[tuple[str, str]]:
        """(command, function codes) of every command and the heartbeat, as ``send`` writes
        them (``probe`` shows it)."""
        plan = []
        names = [*self.profile.commands] + (["heartbeat"] if self.profile.heartbeat is not None else [])
        for name in names:
            item = self.profile.commands.get(name) or self.profile.heartbeat
            assert item is not None
            coil = item.space == "coil"
            width = 1 if coil or name == "heartbeat" else item.width  # type: ignore[union-attr]
            where = f"{item.space} {item.address}" + (f"..{(item.address or 0) + width - 1}" if width > 1 else "")
            if ("coil" if coil else "holding", item.address or 0) in self._single:
                fc = ("FC05" if coil else "FC06") + (f" × {width}, ascending addresses (not atomic)" if width > 1 else "")
            else:
                fc = "FC15" if coil else "FC16"
            plan.append((name, f"{fc} {where}"))
        return plan

    def _assemble(self, items: list[tuple[str, float | None]]) -> tuple[dict[int, int], dict[int, bool]]:
        """The register words and coil values ``items`` write (all converted and range-checked
        before anything is sent), with the heartbeat riding along with register writes."""
        cmds = self.profile.commands
        holding: dict[int, int] = {}
        coils: dict[int, bool] = {}
        for name, value in items:
            cmd = cmds[name]
            raw = cmd.value if value is None else self.map.converters["cmd:" + name].to_raw(value)
            assert raw is not None
            if cmd.space == "coil":
                coils[cmd.address or 0] = bool(raw)
            else:
                holding.update(self._words(name, cmd, raw))
        hb = self.profile.heartbeat
        if holding and hb is not None and hb.space == "holding" and hb.address is not None:
            # the heartbeat rides along with every register write (it may bridge a run)
            self._hb = (self._hb + 1) & 0xFFFF if hb.mode == "increment" else 1 - (self._hb & 1)
            holding[hb.address] = self._hb
        return holding, coils

    def _write_one(self, what: str, space: str, address: int, value: int) -> None:
        """One register or coil, with the function code its ``write`` mode says."""
        unit = self._unit
        if space == "coil":
            if (space, address) in self._single:
                self._call(f"{what} (FC05 coil {address})", partial(fc05, address, bool(value), unit))
            else:
                self._call(f"{what} (FC15 coil {address})", partial(fc15, address, [bool(value)], unit))
        elif (space, address) in self._single:
            self._call(f"{what} (FC06 holding {address})", partial(fc06, address, value, unit))
        else:
            self._call(f"{what} (FC16 holding {address})", partial(fc16, address, [value], unit))

    def _words(self, name: str, cmd: Command, raw: float) -> dict[int, int]:
        low, high = _RANGE.get(cmd.data_type, (-math.inf, math.inf))
        if not (math.isfinite(raw) and low <= round(raw) <= high) and cmd.data_type not in ("float32", "float64"):
            raise DeviceFault(
                f"{self.url}: {name} {raw:g} does not fit {cmd.data_type} "
                f"({low:g}..{high:g}) at holding {cmd.address}; nothing written",
                code=ILLEGAL_VALUE,
            )
        words = encode_words(raw, cmd.data_type, cmd.word_order or self.profile.word_order)
        return {(cmd.address or 0) + i: w for i, w in enumerate(words)}

    def _flush_pulses(self, force: bool = False) -> None:
        if not self._pending:
            return
        now = time.monotonic()
        due = [p for p in self._pending if force or p[0] <= now]
        self._pending = [p for p in self._pending if p not in due]
        for _due, space, address, _is_coil in due:
            self._write_one("end of pulse", space, address, 0)

    def _confirm(self, what: str, name: str, cmd: Command, holding: dict[int, int], coils: dict[int, bool]) -> None:
        address = cmd.address or 0
        if cmd.space == "coil":
            rsp = self._link.call(f"{what}: confirm {name} (FC01 coil {address})", lambda c: c.read_coils(address, count=1, device_id=self._unit))
            got: object = bool(rsp.bits[0])
            want: object = coils[address]
            ok = got == want
        else:
            width = cmd.width
            rsp = self._link.call(
                f"{what}: confirm {name} (FC03 holding {address}..{address + width - 1})",
                lambda c: c.read_holding_registers(address, count=width, device_id=self._unit),
            )
            want = [holding[address + i] for i in range(width)]
            got = list(rsp.registers[:width])
            ok = got == want
        if not ok:
            raise DeviceFault(
                f"{self.url}: {what}: {name} not confirmed: wrote {want} at {cmd.space} {address}, "
                f"read back {got}",
                code=4,
            )


def fc16(start: int, words: list[int], unit: int, client: ModbusBaseSyncClient) -> ModbusPDU:
    return client.write_registers(start, words, device_id=unit)


def fc06(address: int, word: int, unit: int, client: ModbusBaseSyncClient) -> ModbusPDU:
    return client.write_register(address, word, device_id=unit)


def fc15(start: int, bits: list[bool], unit: int, client: ModbusBaseSyncClient) -> ModbusPDU:
    return client.write_coils(start, bits, device_id=unit)


def fc05(address: int, bit: bool, unit: int, client: ModbusBaseSyncClient) -> ModbusPDU:
    return client.write_coil(address, bit, device_id=unit)


__all__ = ["ModbusWrites", "fc05", "fc06", "fc15", "fc16"]
