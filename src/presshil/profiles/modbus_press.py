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
from functools import partial

from pymodbus.client.base import ModbusBaseSyncClient
from pymodbus.constants import DeviceInformation
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.mei_message import ReadDeviceInformationResponse

from ..errors import DeviceFault, TransportError
from ..maps.profile import Profile
from ..maps.profile_codec import Block, Converter, decode_words, plan_reads, runs
from ..press import Sample
from ..transports.errormap import DeviceBusy
from ..transports.modbus_link import ModbusLink
from ..urls import PressURL
from .base import ProfilePress, Values
from .modbus_writes import ModbusWrites
from .operator import OperatorPrompts

_FMT_CHAR = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f", "float64": "d"}
_READ = {
    "input": ("FC04", "read_input_registers"),
    "holding": ("FC03", "read_holding_registers"),
    "coil": ("FC01", "read_coils"),
    "discrete": ("FC02", "read_discrete_inputs"),
}


class ModbusProfilePress(ModbusWrites, ProfilePress):
    """A press on Modbus whose registers a profile describes."""

    #: the link class (:mod:`presshil.transports.modbus_tls` puts TLS under the same press)
    link_class: type[ModbusLink] = ModbusLink

    def __init__(self, parsed: PressURL, profile: Profile, *, operator: OperatorPrompts | None = None) -> None:
        super().__init__(parsed.raw, profile, operator=operator)
        query = {k: v for k, v in parsed.query.items() if k != "profile"}
        self._link = self.link_class(replace(parsed, query=query))
        self._unit = self._link.unit
        self._pending: list[tuple[float, str, int, bool]] = []  # (due, space, address, is_coil)
        self._plan()
        self._link.connect()
        try:
            self._connected()
        except DeviceBusy as exc:
            self._link.close()
            # busy through every retry before anything was read: at connect this is a refusal
            # (a direct device answers 0B for a unit id it is not), not a reason to go on
            said = str(exc).replace("; asked again within the retry budget", "")
            raise DeviceFault(f"{said}; still so after every retry at connect: is unit={self._unit} "
                              "the device's id?", code=exc.code) from exc
        except BaseException:
            self._link.close()
            raise

    def _connected(self) -> None:
        """What is read from the device once connected (its FC43 identity, where the
        profile says it names itself); the link is closed if this raises."""
        if self.profile.device.identify == "fc43":
            self._identify()

    def _plan(self) -> None:
        """The block reads of the profile's signals, and whether a cycle can be one FC23."""
        profile = self.profile
        self.blocks: list[Block] = plan_reads(
            ((n, s) for n, s in profile.signals.items()), profile.max_block, profile.max_gap
        )
        self._fc23 = (
            profile.state_mirror is not None
            and len(self.blocks) == 1
            and self.blocks[0].space in ("input", "holding")
        )
        #: the last FC23 command: (key, start, words, heartbeat index, label)
        self._fc23_last: tuple[tuple[float, ...], int, tuple[int, ...], int | None, str] | None = None
        #: (space, address) of every register and coil written one at a time (FC06/FC05)
        self._single: set[tuple[str, int]] = set()
        for name, cmd in profile.commands.items():
            if profile.write_mode(name) == "single":
                at = cmd.address or 0
                self._single.update((cmd.space, a) for a in range(at, at + (1 if cmd.space == "coil" else cmd.width)))
        hb = profile.heartbeat
        if hb is not None and profile.write == "single":
            self._single.add((hb.space, hb.address or 0))
        if self._single:
            self._fc23 = False  # FC23 writes several registers at once: not for such a device
        self._compile()

    def _identify(self) -> None:
        """Vendor, model, serial and firmware from FC43/14, the profile's where not given."""
        info = self.device_information()
        d = self.profile.device
        self._identity = replace(
            self._identity,
            vendor=info.get(0x00) or d.vendor,
            model=info.get(0x05) or info.get(0x01) or d.model,
            serial=info.get(0x80) or d.serial,
            firmware=info.get(0x02) or d.firmware,
        )

    def device_information(self) -> dict[int, str]:
        """FC43/14 extended device identification, all objects (empty if not supported)."""
        info: dict[int, str] = {}
        object_id = 0
        for _ in range(8):  # bounded: a few "more follows" continuations at most
            try:
                rsp = self._link.call(
                    "read device identification (FC43/14)", partial(_fc43, object_id, self._unit)
                )
            except DeviceFault:
                return info
            assert isinstance(rsp, ReadDeviceInformationResponse)
            for key, value in rsp.information.items():
                raw = value[0] if isinstance(value, list) else value
                info[key] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            if not rsp.more_follows or rsp.next_object_id <= object_id:
                break
            object_id = rsp.next_object_id
        return info

    # --- reading --------------------------------------------------------------------------
    def _compile(self) -> None:
        """Per block: its request, and how each signal comes out of the reply's bytes."""
        self._requests = []
        self._decoders = []
        #: per block, where every signal is a plain number: one precompiled struct for the
        #: whole reply and each signal's (name, first, count, many, gain, bias) — nothing
        #: per sample that can be done once
        self._whole: list[tuple[struct.Struct, struct.Struct, tuple] | None] = []
        for block in self.blocks:
            fc, method = _READ[block.space]
            what = f"read {', '.join(block.signals)} ({fc} {block.describe()})"
            unit, start, count = self._unit, block.start, block.count
            self._requests.append(
                (what, lambda c, m=method, a=start, n=count, u=unit: getattr(c, m)(a, count=n, device_id=u))
            )
            fast: list[tuple[str, str | None, int, bool, Converter | None]] = []
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
            self._whole.append(_whole_block(block, fast, self.map.converters))

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
        for block, (what, request), decoders, whole in zip(
            self.blocks, self._requests, self._decoders, self._whole, strict=True
        ):
            if errors is None:
                data = self._read(block, what, request)
                if whole is not None and len(data) == block.count:
                    _decode_whole(whole, data, raw, values)
                    continue
            else:
                try:
                    data = self._read(block, what, request)
                except DeviceFault as exc:
                    for name in block.signals:
                        errors[name] = f"exception {exc.code:02d} reading {block.describe()}" if exc.code else str(exc)
                    continue
            self._decode(block, decoders, data, raw, values)
        return raw, values

    def _decode(self, block: Block, decoders: list, data: list, raw: Values, values: Values) -> None:
        """Every signal of ``block`` out of its reply ``data`` into ``raw`` and ``values``."""
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
    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Sample:
        """One control cycle: one FC23 round trip (write the REGULATE registers, read the
        state mirror) where the profile has a ``state_mirror`` and the writes sit together;
        else, or on a device that refuses FC23 or the mirror (exception 01/02), a write then
        a read."""
        if not (self._fc23 and self.capabilities.regulates):
            return super().command_and_read(setpoint_mpa, rate_mpa_s)
        key = (setpoint_mpa, rate_mpa_s, self._die_mm2, self._soft_max_mpa, self._identity.rated_max_pressure_mpa)
        cached = self._fc23_last
        if cached is not None and cached[0] == key:
            # the same command as the last cycle (a held setpoint): checked, converted and
            # encoded then; only the heartbeat moves
            _key, start, template, hb_at, what = cached
            words = list(template)
            if hb_at is not None:
                hb = self.profile.heartbeat
                assert hb is not None
                self._hb = (self._hb + 1) & 0xFFFF if hb.mode == "increment" else 1 - (self._hb & 1)
                words[hb_at] = self._hb
        else:
            self._check_setpoint(setpoint_mpa, rate_mpa_s)
            items = self._regulate_items(setpoint_mpa, rate_mpa_s)
            cmds = self.profile.commands
            holding, coils = self._assemble(items)
            plan = runs(holding)
            if coils or len(plan) != 1 or any(cmds[n].confirm or cmds[n].pulse_ms for n, _ in items):
                self._fc23 = False  # the same every cycle: decided once
                return super().command_and_read(setpoint_mpa, rate_mpa_s)
            start, words = plan[0]
            mirror = self.profile.state_mirror or 0
            what = (
                f"command and read (FC23 write holding {start}..{start + len(words) - 1}, "
                f"read holding {mirror}..{mirror + self.blocks[0].count - 1})"
            )
            hb_cfg = self.profile.heartbeat
            hb_at = None
            if hb_cfg is not None and hb_cfg.space == "holding" and hb_cfg.address is not None:
                hb_at = hb_cfg.address - start if start <= hb_cfg.address < start + len(words) else None
            self._fc23_last = (key, start, tuple(words), hb_at, what)
        if self._pending:
            self._flush_pulses(force=True)
        block = self.blocks[0]
        mirror = self.profile.state_mirror or 0
        try:
            rsp = self._link.call(
                what,
                lambda c: c.readwrite_registers(
                    read_address=mirror,
                    read_count=block.count,
                    write_address=start,
                    values=words,
                    device_id=self._unit,
                ),
            )
        except DeviceFault as exc:
            if exc.code not in (1, 2):  # 01: no FC23, 02: no state mirror: fall back
                raise
            self._fc23 = False
            return super().command_and_read(setpoint_mpa, rate_mpa_s)
        if self.setpoint_modelled:
            self._commanded(setpoint_mpa, rate_mpa_s)
        else:
            self._setpoint_mpa = setpoint_mpa
        data = list(rsp.registers)
        if len(data) < block.count:
            raise TransportError(f"{self.url}: {what}: {len(data)} values in reply, expected {block.count}")
        raw: Values = {}
        values: Values = {}
        whole = self._whole[0]
        if whole is not None and len(data) == block.count:
            _decode_whole(whole, data, raw, values)
        else:
            self._decode(block, self._decoders[0], data, raw, values)
        return self._sample_of(raw, values)

    @property
    def uses_fc23(self) -> bool:
        """Whether :meth:`command_and_read` is (still) one FC23 round trip."""
        return self._fc23

    def send_heartbeat(self, value: int) -> None:
        """The heartbeat value on its own: FC06 (a coil: FC05) on a ``single`` device, else
        FC16 (FC15) of that one register."""
        hb = self.profile.heartbeat
        assert hb is not None and hb.address is not None
        self._write_one("heartbeat", hb.space, hb.address, value if hb.space != "coil" else value & 1)

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

def _whole_block(block: Block, fast: list, converters: dict[str, Converter]) -> tuple | None:
    """One struct for a whole register block whose signals are all plain numbers (None when
    one needs bits, bools or a word order other than big-endian)."""
    if block.space not in ("input", "holding") or any(fmt is None for _n, fmt, *_ in fast):
        return None
    parts, entries, at, first = [], [], 0, 0
    for name, fmt, offset, many, conv in sorted(fast, key=lambda d: d[2]):
        if offset < at:
            return None  # overlapping signals (bits of one word): the general path
        parts.append("x" * (offset - at) + fmt[1:])
        n = len(fmt) - 1
        size = struct.calcsize(fmt)
        entries.append((name, first, n, many, conv.gain, conv.bias))
        at, first = offset + size, first + n
    if at > 2 * block.count:
        return None
    return struct.Struct(f">{block.count}H"), struct.Struct(">" + "".join(parts)), tuple(entries)


def _decode_whole(whole: tuple, data: list, raw: Values, values: Values) -> None:
    """Every signal of a block out of its reply, through the precompiled structs."""
    pack, unpack, entries = whole
    flat = unpack.unpack_from(pack.pack(*data))
    for name, first, n, many, gain, bias in entries:
        if many:
            r = flat[first : first + n]
            raw[name] = r
            values[name] = tuple(x * gain + bias for x in r)
        else:
            x = flat[first]
            raw[name] = x
            values[name] = x * gain + bias






def _fc43(object_id: int, unit: int, client: ModbusBaseSyncClient) -> ModbusPDU:
    """FC43/14 extended device identification from ``object_id`` on."""
    return client.read_device_information(
        read_code=DeviceInformation.EXTENDED, object_id=object_id, device_id=unit
    )


def open_profile_modbus(parsed: PressURL, profile: Profile) -> ModbusProfilePress:
    """A profile-driven Modbus press from a parsed URL."""
    return ModbusProfilePress(parsed, profile)


__all__ = ["ModbusProfilePress", "open_profile_modbus"]
