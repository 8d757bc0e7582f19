"""A profile-driven press on Modbus TCP or RTU.

:meth:`read_values` costs one request per block of :func:`~.codec.plan_reads` (a profile whose
signals sit together costs one round trip); :meth:`send` writes all registers of a command
that sit together in one FC16 (and coils in one FC15), values before the command word. A
pulse command (``pulse_ms``) writes its value, then 0 once ``pulse_ms`` have passed — at the
next request, so the control loop never sleeps for it. ``confirm`` reads the written
registers back and refuses a mismatch.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import replace

from ..errors import DeviceFault, TransportError
from ..transports.modbus_link import ModbusLink
from ..urls import PressURL
from .base import ProfilePress, Values
from .codec import Block, decode_words, encode_words, plan_reads, runs
from .model import Command, Profile
from .operator import OperatorPrompts

_FMT_CHAR = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f", "float64": "d"}
_READ = {
    "input": ("FC04", "read_input_registers"),
    "holding": ("FC03", "read_holding_registers"),
    "coil": ("FC01", "read_coils"),
    "discrete": ("FC02", "read_discrete_inputs"),
}


class ModbusProfilePress(ProfilePress):
    """A press on Modbus whose registers a profile describes."""

    def __init__(self, parsed: PressURL, profile: Profile, *, operator: OperatorPrompts | None = None) -> None:
        super().__init__(parsed.raw, profile, operator=operator)
        query = {k: v for k, v in parsed.query.items() if k != "profile"}
        self._link = ModbusLink(replace(parsed, query=query))
        self._unit = self._link.unit
        self.blocks: list[Block] = plan_reads(
            ((n, s) for n, s in profile.signals.items()), profile.max_block, profile.max_gap
        )
        self._pending: list[tuple[float, str, int, bool]] = []  # (due, space, address, is_coil)
        self._compile()
        self._link.connect()

    # --- reading --------------------------------------------------------------------------
    def _compile(self) -> None:
        """Per block: its request, and how each signal comes out of the reply's bytes."""
        self._requests = []
        self._decoders = []
        for block in self.blocks:
            fc, method = _READ[block.space]
            what = f"read {', '.join(block.signals)} ({fc} {block.describe()})"
            unit, start, count = self._unit, block.start, block.count
            self._requests.append(
                (what, lambda c, m=method, a=start, n=count, u=unit: getattr(c, m)(a, count=n, device_id=u))
            )
            fast = []
            for name in block.signals:
                sig = self.profile.signals[name]
                order = sig.word_order or self.profile.word_order
                simple = (
                    block.space in ("input", "holding")
                    and sig.data_type != "bool"
                    and sig.bit is None
                    and (order == "ABCD" or sig.data_type in ("int16", "uint16"))
                )
                if simple:
                    fmt = ">" + _FMT_CHAR[sig.data_type] * sig.count
                    conv = self.map.converters[name]
                    fast.append((name, fmt, 2 * ((sig.address or 0) - start), name == "channel_force", conv))
                else:
                    fast.append((name, None, 0, False, None))
            self._decoders.append(fast)

    def read_block(self, block: Block) -> list[int] | list[bool]:
        """One block read (the request a profile's read is made of)."""
        what, request = self._requests[self.blocks.index(block)]
        return self._read(block, what, request)

    def _read(self, block: Block, what: str, request: Callable) -> list:
        if self._pending:
            self._flush_pulses()
        rsp = self._link.call(what, request)
        data = rsp.bits if block.space in ("coil", "discrete") else rsp.registers
        if len(data) < block.count:
            raise TransportError(f"{self.url}: {what}: {len(data)} values in reply, expected {block.count}")
        return list(data)

    def read_values(self, errors: dict[str, str] | None = None) -> tuple[Values, Values]:
        """Every signal once: one request per block. With ``errors``, a block the device
        refuses is recorded there (per signal) instead of raising (``probe`` does this)."""
        raw: Values = {}
        values: Values = {}
        for block, (what, request), decoders in zip(self.blocks, self._requests, self._decoders, strict=True):
            if errors is None:
                data = self._read(block, what, request)
            else:
                try:
                    data = self._read(block, what, request)
                except DeviceFault as exc:
                    for name in block.signals:
                        errors[name] = f"exception {exc.code:02d} reading {block.describe()}" if exc.code else str(exc)
                    continue
            packed = None
            for name, fmt, offset, many, conv in decoders:
                if fmt is None:
                    r = self.decode_signal(name, data, block.start)
                    conv = self.map.converters[name]
                else:
                    if packed is None:
                        packed = struct.pack(f">{len(data)}H", *data)
                    r = struct.unpack_from(fmt, packed, offset)
                    if not many:
                        r = r[0]
                raw[name] = r
                values[name] = (
                    tuple(conv.to_canonical(x) for x in r) if isinstance(r, tuple) else conv.to_canonical(r)
                )
        return raw, values

    def decode_signal(self, name: str, data: list, start: int) -> float | tuple[float, ...]:
        """A signal's raw device number(s) out of a block read starting at ``start``."""
        sig = self.profile.signals[name]
        at = (sig.address or 0) - start
        if sig.space in ("coil", "discrete"):
            return float(bool(data[at]))
        if sig.data_type == "bool" or sig.bit is not None:
            return float(data[at] >> (sig.bit or 0) & 1)
        order = sig.word_order or self.profile.word_order
        width = sig.width // sig.count
        vals = tuple(
            float(decode_words(data[at + i * width : at + (i + 1) * width], sig.data_type, order))
            for i in range(sig.count)
        )
        return vals if name == "channel_force" else vals[0]

    # --- writing --------------------------------------------------------------------------
    def send(self, what: str, items: list[tuple[str, float | None]]) -> None:
        """Write the commands in ``items``: registers that sit together in one request."""
        self._flush_pulses(force=True)
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
                holding.update(self._words(cmd, raw))
        hb = self.profile.heartbeat
        if holding and hb is not None and hb.space == "holding" and hb.address is not None:
            # the heartbeat rides along with every register write (it may bridge a run)
            self._hb = (self._hb + 1) & 0xFFFF if hb.mode == "increment" else 1 - (self._hb & 1)
            holding[hb.address] = self._hb
        const = {cmds[n].address for n, v in items if v is None}
        for start, words in sorted(runs(holding), key=lambda r: (any(a in const for a in range(r[0], r[0] + len(r[1]))), r[0])):
            self._call(
                f"{what} (FC16 holding {start}..{start + len(words) - 1})",
                lambda c, s=start, w=words: c.write_registers(s, w, device_id=self._unit),
            )
        for start, bits in runs({a: int(b) for a, b in coils.items()}):
            label = f"{what} (FC15 coils {start}..{start + len(bits) - 1})"
            self._call(label, lambda c, s=start, b=bits: c.write_coils(s, [bool(x) for x in b], device_id=self._unit))
        now = time.monotonic()
        for name, value in items:
            cmd = cmds[name]
            if cmd.confirm:
                self._confirm(what, name, cmd, holding, coils)
            if value is None and cmd.pulse_ms:
                self._pending.append((now + cmd.pulse_ms / 1000.0, cmd.space, cmd.address or 0, cmd.space == "coil"))

    def send_heartbeat(self, value: int) -> None:
        """FC06 (or FC05 for a coil) of the heartbeat value."""
        hb = self.profile.heartbeat
        assert hb is not None and hb.address is not None
        address = hb.address
        if hb.space == "coil":
            self._call(f"heartbeat (FC05 coil {address})", lambda c: c.write_coil(address, bool(value & 1), device_id=self._unit))
        else:
            self._call(f"heartbeat (FC06 holding {address})", lambda c: c.write_register(address, value, device_id=self._unit))

    def close(self) -> None:
        """Finish pending pulses (bounded), then close the link."""
        try:
            if self._pending:
                time.sleep(min(1.0, max(0.0, max(p[0] for p in self._pending) - time.monotonic())))
                self._flush_pulses(force=True)
        except Exception:  # noqa: BLE001 - closing must not raise
            pass
        self._link.close()

    def __repr__(self) -> str:
        return f"ModbusProfilePress({self.url!r}, profile={self.profile.name!r})"

    # --- helpers --------------------------------------------------------------------------
    def _words(self, cmd: Command, raw: float) -> dict[int, int]:
        words = encode_words(raw, cmd.data_type, cmd.word_order or self.profile.word_order)
        return {(cmd.address or 0) + i: w for i, w in enumerate(words)}

    def _call(self, what: str, request: Callable) -> None:
        self._link.call(what, request)

    def _flush_pulses(self, force: bool = False) -> None:
        if not self._pending:
            return
        now = time.monotonic()
        due = [p for p in self._pending if force or p[0] <= now]
        self._pending = [p for p in self._pending if p not in due]
        for _due, _space, address, is_coil in due:
            if is_coil:
                self._call(f"end of pulse (FC05 coil {address})", lambda c, a=address: c.write_coil(a, False, device_id=self._unit))
            else:
                self._call(f"end of pulse (FC06 holding {address})", lambda c, a=address: c.write_register(a, 0, device_id=self._unit))

    def _confirm(self, what: str, name: str, cmd: Command, holding: dict[int, int], coils: dict[int, bool]) -> None:
        address = cmd.address or 0
        if cmd.space == "coil":
            rsp = self._link.call(f"{what}: confirm {name} (FC01 coil {address})", lambda c: c.read_coils(address, count=1, device_id=self._unit))
            ok = bool(rsp.bits[0]) == coils[address]
            got, want = rsp.bits[0], coils[address]
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


def open_profile_modbus(parsed: PressURL, profile: Profile) -> ModbusProfilePress:
    """A profile-driven Modbus press from a parsed URL."""
    return ModbusProfilePress(parsed, profile)


__all__ = ["ModbusProfilePress", "open_profile_modbus"]
