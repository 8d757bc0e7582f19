"""The virtual press speaking a device profile: the device side of a profile, on Modbus.

:class:`ProfileDatastore` is a pymodbus datastore (``async_getValues``/``async_setValues``)
built from the same profile the host reads: signals are encoded from the simulated press's
live sample (inverse scale, offset, unit, data type, word order, status bits or values),
command registers keep what the host wrote (so "write then confirm" reads them back) and
writes are turned into the virtual press's map-v1 parameters and commands. Addresses the
profile does not define answer exception 02, as a strict PLC does.

:func:`presshil.profiles.server.start_profile_server` serves it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pymodbus.constants import ExcCodes

from ..maps.press_v1 import PROFILE_COMMANDS
from ..maps.profile import COMMANDS, Profile
from ..maps.profile_codec import decode_words, encode_words, plan_reads
from ..maps.profile_state import StateMap, specimen_from, specimen_to
from ..press import FaultCode, Sample
from ..serving.loop import TCP_UNITS

log = logging.getLogger("presshil.profiles")

_SPACE = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 3: "holding", 6: "holding", 16: "holding", 23: "holding", 4: "input"}


class ProfileDatastore:
    """The registers of a device described by ``profile``, backed by a virtual press."""

    def __init__(self, profile: Profile, vp: Any) -> None:
        self.profile = profile
        self.vp = vp
        self.map = StateMap(profile)
        self.ram_mm2 = profile.ram_area_mm2
        self.defined: dict[str, set[int]] = {"coil": set(), "discrete": set(), "holding": set(), "input": set()}
        for sig in profile.signals.values():
            self.defined[sig.space].update(range(sig.address or 0, (sig.address or 0) + sig.width))
        modbus = profile.transport == "modbus"
        blocks = plan_reads(profile.signals.items(), profile.max_block, profile.max_gap) if modbus else []
        for block in blocks:
            # registers a profile's reads bridge (max_gap) exist on the device and read 0
            self.defined[block.space].update(range(block.start, block.start + block.count))
        #: (first holding address, count, space and first address shown there): the state
        #: mirror of a profile with ``state_mirror`` (read-only; FC23 reads it)
        self.mirror: tuple[int, int, str, int] | None = None
        if profile.state_mirror is not None and len(blocks) == 1:
            b = blocks[0]
            self.mirror = (profile.state_mirror, b.count, b.space, b.start)
        self.written: dict[str, dict[int, int]] = {"holding": {}, "coil": {}}
        for cmd in profile.commands.values():
            self.defined[cmd.space].update(range(cmd.address or 0, (cmd.address or 0) + cmd.width))
        hb = profile.heartbeat
        if hb is not None and hb.address is not None:
            self.defined[hb.space].add(hb.address)
        #: (space, address) written one at a time on this device: FC15/FC16/FC23 there get
        #: exception 01, as on a controller that implements only FC05/FC06
        self.single: set[tuple[str, int]] = set()
        for name, cmd in profile.commands.items():
            if profile.write_mode(name) == "single":
                at = cmd.address or 0
                self.single.update((cmd.space, a) for a in range(at, at + cmd.width))
        if hb is not None and profile.write == "single":
            self.single.add((hb.space, hb.address or 0))
        #: words of a multi-register value written so far (one FC06 at a time): the value is
        #: taken when its last word arrives, never half-written
        self._partial: dict[str, set[int]] = {}
        self.tare_kn = 0.0
        codes = {v.upper(): int(k) for k, v in self.map.fault_text.items()}
        self._fault_out = {int(m): codes.get(m.name, int(m)) for m in FaultCode}

    # --- pymodbus datastore ---------------------------------------------------------------
    def device_ids(self) -> list[int]:
        """The one device behind the server."""
        return [1]

    async def async_getValues(self, device_id: int, func_code: int, address: int, count: int = 1) -> Any:
        """Read ``count`` registers or bits of the space of ``func_code``."""
        if device_id not in TCP_UNITS and device_id != 0:
            return ExcCodes.GATEWAY_NO_RESPONSE
        space = _SPACE.get(func_code)
        if space is None:
            return ExcCodes.ILLEGAL_FUNCTION
        shown, shift = space, 0
        m = self.mirror
        if space == "holding" and m is not None and m[0] <= address and address + count <= m[0] + m[1]:
            shown, shift = m[2], m[3] - m[0]  # the mirror shows the state block
        elif any(a not in self.defined[space] for a in range(address, address + count)):
            return ExcCodes.ILLEGAL_ADDRESS
        delay = self.vp.faults.reply_delay_s
        if delay > 0:
            import asyncio

            await asyncio.sleep(delay)
        try:
            image = self.image(shown, self.vp.sample())
        except Exception:
            log.exception("profile read failed")
            return ExcCodes.DEVICE_FAILURE
        if shown in ("coil", "discrete"):
            return [bool(image.get(a + shift, 0)) for a in range(address, address + count)]
        return [image.get(a + shift, 0) for a in range(address, address + count)]

    async def async_setValues(self, device_id: int, func_code: int, address: int, values: Any) -> Any:
        """Host writes: keep them, then apply what they mean to the virtual press."""
        if device_id not in TCP_UNITS and device_id != 0:
            return ExcCodes.GATEWAY_NO_RESPONSE
        space = _SPACE.get(func_code)
        if space not in ("holding", "coil"):
            return ExcCodes.ILLEGAL_FUNCTION
        words = [int(bool(v)) if space == "coil" else int(v) for v in values]
        if func_code in (15, 16, 23) and (self.profile.write == "single" or any(
            (space, a) in self.single for a in range(address, address + len(words))
        )):
            return ExcCodes.ILLEGAL_FUNCTION  # a device that takes FC05/FC06 only
        if any(a not in self.defined[space] for a in range(address, address + len(words))):
            return ExcCodes.ILLEGAL_ADDRESS
        writable = {a for c in self.profile.commands.values() if c.space == space for a in range(c.address or 0, (c.address or 0) + c.width)}
        hb = self.profile.heartbeat
        if hb is not None and hb.space == space:
            writable.add(hb.address or 0)
        if any(a not in writable for a in range(address, address + len(words))):
            return ExcCodes.ILLEGAL_ADDRESS  # a read-only signal register
        before = dict(self.written[space])
        self.written[space].update({address + i: w for i, w in enumerate(words)})
        try:
            updates = self._updates(space, set(range(address, address + len(words))), before)
            if updates:
                self.vp.apply(updates)
        except Exception as exc:  # Refused: the press changed nothing
            self.written[space] = before
            code = getattr(exc, "code", 4)
            log.info("profile write refused: %s", exc)
            return ExcCodes(code)
        return None

    # --- encoding the state ---------------------------------------------------------------
    def image(self, space: str, sample: Sample) -> dict[int, int]:
        """Every register (or bit) of ``space`` as the device shows it now."""
        image: dict[int, int] = dict(self.written.get(space, {}))
        die = self._die_mm2()
        for name, sig in self.profile.signals.items():
            if sig.space != space:
                continue
            value = self._value(name, sample, die)
            conv = self.map.converters[name]
            at = sig.address or 0
            if space in ("coil", "discrete"):
                image[at] = int(bool(value))
                continue
            if sig.data_type == "bool" or sig.bit is not None:
                bit = sig.bit or 0
                word = image.get(at, 0) & ~(1 << bit)
                image[at] = word | (int(bool(value)) << bit)
                continue
            order = sig.word_order or self.profile.word_order
            items = value if isinstance(value, tuple) else (value,)
            width = sig.width // sig.count
            for i, item in enumerate(items[: sig.count]):
                raw = item if name in ("status", "fault_code", "counter") else conv.to_raw(item)
                for j, w in enumerate(encode_words(raw, sig.data_type, order)):
                    image[at + i * width + j] = w
        return image

    def _value(self, name: str, s: Sample, die: float) -> float | tuple[float, ...]:
        force = s.force_kn - self.tare_kn
        if name == "pressure":
            return s.pressure_mpa
        if name == "force":
            return force
        if name == "oil_pressure":
            return force * 1000.0 / (self.ram_mm2 or math.nan)
        if name == "position":
            return s.position_mm
        if name == "setpoint":
            return specimen_to(self.map.quantities["setpoint"], s.setpoint_mpa, die, self.ram_mm2)
        if name == "channel_force":
            return tuple(s.channels_kn)
        if name == "status":
            return float(self.map.device_status(s.status))
        if name == "fault_code":
            return float(self._fault_out.get(s.fault_code, s.fault_code))
        if name == "counter":
            sig = self.profile.signals["counter"]
            return float(s.counter % (1 << (16 * (sig.width))))
        if name == "device_time":
            return s.t_s % 4.0e6
        if name == "temperature":  # NaN from a press without one: the host refuses it
            return math.nan if s.temperature_c is None else s.temperature_c
        raise KeyError(name)

    # --- decoding host writes -------------------------------------------------------------
    def _die_mm2(self) -> float:
        area = float(self.vp.params.get("die_area", math.nan))
        if not math.isfinite(area):
            area = float(getattr(getattr(self.vp.press, "model", None), "die_area_mm2", math.nan))
        return area if math.isfinite(area) and area > 0 else math.pi * 25.0

    def _updates(self, space: str, touched: set[int], before: dict[int, int]) -> dict[str, float | int]:
        updates: dict[str, float | int] = {}
        command: int | None = None
        die = self._die_mm2()
        image = self.written[space]
        for name, cmd in self.profile.commands.items():
            at = cmd.address or 0
            span = set(range(at, at + cmd.width))
            if cmd.space != space or not span & touched:
                continue
            if COMMANDS[name] == "const":
                new = image.get(at, 0)
                edge = before.get(at, 0) != new or not cmd.pulse_ms
                if new == int(cmd.value or 0) and new != 0 and edge:
                    if name == "tare":
                        self.tare_kn = self.vp.sample().force_kn
                    else:
                        command = PROFILE_COMMANDS[name]
                continue
            if cmd.width > 1:
                seen = self._partial.get(name, set()) | (span & touched)
                if seen != span:
                    self._partial[name] = seen  # more words to come
                    continue
                self._partial.pop(name, None)
            words = [image.get(a, 0) for a in range(at, at + cmd.width)]
            raw = float(decode_words(words, cmd.data_type, cmd.word_order or self.profile.word_order))
            value = self.map.converters["cmd:" + name].to_canonical(raw)
            if name in ("setpoint", "rate", "soft_max"):
                value = specimen_from(self.map.quantities["cmd:" + name], value, die, self.ram_mm2)
            key = {"setpoint": "setpoint", "rate": "ramp_rate", "soft_max": "soft_max_pressure", "die_area": "die_area"}.get(name)
            if key is not None:
                updates[key] = value
            elif name == "watchdog":
                updates["watchdog_timeout"] = int(round(value * 1000.0))
        hb = self.profile.heartbeat
        if hb is not None and hb.space == space and (hb.address or 0) in touched:
            updates["heartbeat"] = image.get(hb.address or 0, 0)
        if command is not None:
            updates["command"] = command
        return updates


__all__ = ["ProfileDatastore"]
