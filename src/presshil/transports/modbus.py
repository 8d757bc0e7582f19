"""``ModbusPress``: a press speaking register map v1 over Modbus TCP or RTU.

URLs: ``modbus+tcp://HOST:PORT?unit=1&timeout=0.05`` and
``modbus+rtu:///dev/ttyUSB0?baud=115200&unit=1``; optional ``retries=N`` (extra attempts
after a failure, each on a fresh connection; default 0) and ``stale=S`` (seconds without a
counter change before a read is refused as stale data; default 0 = off). By default the link
makes one attempt: retries with backoff and stale-data detection are the sampler's policy
(:mod:`presshil.sampler`), on the press clock.

Wire traffic per operation: :meth:`read` is one FC04 read of the whole state;
:meth:`command` one FC16 write of command, heartbeat, setpoint and rate (registers 0..5);
:meth:`command_and_read` one FC23 round trip (write 0..5, read the state mirror), falling
back to FC16 + FC04 on a device without FC23 or without the mirror.

Heartbeat: every write of register 0..5 carries a new heartbeat value, and
:meth:`heartbeat` writes one on its own. There is deliberately no background heartbeat
thread: the watchdog exists to catch a host whose control loop has stopped, and a thread
that keeps feeding it would hide exactly that. A host that pauses between runs leaves the
watchdog at 0 (off) or keeps calling :meth:`heartbeat`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from pymodbus.client.base import ModbusBaseSyncClient
from pymodbus.constants import DeviceInformation
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.mei_message import ReadDeviceInformationResponse

from ..clock import Clock, WallClock
from ..control import HOST_LOSS_POLICIES, PressConfig, check_policy
from ..errors import CapabilityError, DeviceFault, TransportError
from ..press import Identity, Press, Sample
from ..urls import PressURL
from .modbus_link import ModbusLink
from .registers import (
    BY_NAME,
    CHANNEL_POSITION_BASE,
    COMMAND_REGULATE,
    COMMAND_RELEASE,
    COMMAND_RESET,
    COMMAND_STOP,
    MAP_VERSION,
    MAX_CHANNELS,
    STATE_MIRROR_BASE,
    Space,
    StateCodec,
    decode,
    decode_positions,
    encode,
)
from .staleness import CounterWatch

if TYPE_CHECKING:
    from .control_lease import LeaseWatch

_H, _I = Space.HOLDING, Space.INPUT


class ModbusPress(Press):
    """A press on Modbus TCP or RTU. Connects, and reads identity and ratings, on creation."""

    #: the link class (:mod:`presshil.transports.modbus_tls` puts TLS under the same press)
    link_class: type[ModbusLink] = ModbusLink

    def __init__(self, parsed: PressURL) -> None:
        self.url = parsed.raw
        self._link = self.link_class(parsed)
        self._unit = self._link.unit
        self._clock = WallClock()
        self._heartbeat = 0
        self._fc23 = True
        self._watch = CounterWatch(self.url, parsed.get_float("stale", 0.0))
        self._lease: LeaseWatch | None = None
        self._link.connect()
        try:
            self._identity = self._read_identity()
        except BaseException:
            self._link.close()
            raise
        self._codec = StateCodec(self._identity.channel_count)

    # --- contract -------------------------------------------------------------------------
    @property
    def identity(self) -> Identity:
        """Vendor, model and firmware (FC43/14) with ratings (input registers 100..104)."""
        return self._identity

    @property
    def clock(self) -> Clock:
        """Wall-clock time: a press on a wire runs in real time."""
        return self._clock

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Write die area, soft limit and watchdog (holding 6..11) in as few writes as fit."""
        given = {
            "soft_max_pressure": soft_max_mpa,
            "watchdog_timeout": watchdog_ms,
            "die_area": die_area_mm2,
        }
        values = {k: v for k, v in given.items() if v is not None}
        if not values:
            return
        if "watchdog_timeout" in values and not 0 <= int(values["watchdog_timeout"]) <= 0xFFFF:
            raise DeviceFault(f"{self.url}: watchdog {watchdog_ms} ms outside 0..65535", code=3)
        if "die_area" in values and "watchdog_timeout" in values:
            values["reserved_9"] = 0  # bridge 8 and 10 so that one FC16 covers them
        for start, run in _contiguous_runs(values):
            regs = encode(_H, start, run)
            self._write(f"configure {', '.join(run)}", start, regs)
        self._expect(**{k: float(v) for k, v in values.items() if k != "reserved_9"})
        if "die_area" in values:  # a rated pressure is a rated force over the die area
            rated_mpa, rated_kn = self._read_ratings()
            self._identity = replace(
                self._identity, rated_max_pressure_mpa=rated_mpa, rated_max_force_kn=rated_kn
            )

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """REGULATE: setpoint, rate, heartbeat and command in one FC16 write."""
        self._write(
            "command REGULATE", 0, self._command_regs(COMMAND_REGULATE, setpoint_mpa, rate_mpa_s)
        )
        self._expect(setpoint=setpoint_mpa, ramp_rate=rate_mpa_s)

    def release(self, rate_mpa_s: float) -> None:
        """RELEASE at ``rate_mpa_s`` (setpoint register written as 0)."""
        self._write("command RELEASE", 0, self._command_regs(COMMAND_RELEASE, 0.0, rate_mpa_s))
        self._expect(setpoint=0.0, ramp_rate=rate_mpa_s)

    def stop(self) -> None:
        """STOP: safe state now (latched until :meth:`reset`)."""
        self._write(
            "command STOP",
            0,
            encode(_H, 0, {"command": COMMAND_STOP, "heartbeat": self._next_hb()}),
        )

    def reset(self) -> None:
        """RESET_FAULT: clear a latched fault."""
        self._write(
            "command RESET_FAULT",
            0,
            encode(_H, 0, {"command": COMMAND_RESET, "heartbeat": self._next_hb()}),
        )

    def heartbeat(self) -> None:
        """Write a new heartbeat value (FC06, holding register 1)."""
        hb = self._next_hb()
        self._link.call(
            "heartbeat (FC06 holding 1)", lambda c: c.write_register(1, hb, device_id=self._unit)
        )

    def read(self) -> Sample:
        """The whole state in one FC04 read of input registers 0..15+2N."""
        n = self._codec.count
        what = f"read state (FC04 input 0..{n - 1})"
        rsp = self._link.call(
            what, lambda c: c.read_input_registers(0, count=n, device_id=self._unit)
        )
        return self._sample(rsp.registers, what)

    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Sample:
        """One control cycle in one FC23 round trip (FC16 + FC04 where FC23 is missing)."""
        if not self._fc23:
            return super().command_and_read(setpoint_mpa, rate_mpa_s)
        regs = self._command_regs(COMMAND_REGULATE, setpoint_mpa, rate_mpa_s)
        n = self._codec.count
        what = f"command and read (FC23 write holding 0..5, read holding {STATE_MIRROR_BASE}..{STATE_MIRROR_BASE + n - 1})"
        try:
            rsp = self._link.call(
                what,
                lambda c: c.readwrite_registers(
                    read_address=STATE_MIRROR_BASE,
                    read_count=n,
                    write_address=0,
                    values=regs,
                    device_id=self._unit,
                ),
            )
        except DeviceFault as exc:
            if exc.code not in (1, 2):  # 01 no FC23, 02 no state mirror: fall back
                raise
            self._fc23 = False
            return super().command_and_read(setpoint_mpa, rate_mpa_s)
        self._expect(setpoint=setpoint_mpa, ramp_rate=rate_mpa_s)
        return self._sample(rsp.registers, what)

    def close(self) -> None:
        """Close the connection; the press object is unusable afterwards."""
        self._link.close()

    # --- control lease and host-loss policy (extension registers 12, 13, 150..161) ---------
    def claim_control(self, token: int | None = None) -> int | None:
        """Claim the control lease (holding 12) with ``token`` (a fresh random one by default)
        and watch it from now on; the token. ``LeaseHeld`` names the master in control."""
        from .control_lease import LeaseWatch, claim_lease

        token = claim_lease(self, token)
        self._lease = LeaseWatch(self)
        return token

    def check_control(self) -> None:
        """``ControlLost`` if the lease moved, another master stopped the press, or a
        setpoint or limit this run wrote changed (a no-op before :meth:`claim_control`)."""
        if self._lease is not None:
            self._lease.check()

    def release_control(self) -> None:
        """Give the lease up (token 0) and stop watching it."""
        if self._lease is not None:
            from .control_lease import release_lease

            self._lease = None
            release_lease(self)

    def set_on_host_loss(self, policy: str) -> None:
        """Write the host-loss policy (holding 13: 0 release, 1 hold).

        A device without the register answers exception 02: ``release`` is then what it does
        anyway, ``hold`` is refused with a ``CapabilityError``.
        """
        value = HOST_LOSS_POLICIES.index(check_policy(policy))
        try:
            self._write("configure on_host_loss", 13, encode(_H, 13, {"on_host_loss": value}))
        except DeviceFault as exc:
            if exc.code != 2:
                raise
            if policy == "release":
                return
            raise CapabilityError(
                f"{self.url}: on_host_loss = 'hold' needs holding register 13, which this "
                "device does not have (exception 02)"
            ) from None

    def read_config(self) -> PressConfig | None:
        """Soft max, watchdog, die area and policy (holding 6..13) with the host-loss alarm and
        lease holder (input 150..161); None on a device without these registers."""
        try:
            rsp = self._link.call(
                "read limits and policy (FC03 holding 6..13)",
                lambda c: c.read_holding_registers(6, count=8, device_id=self._unit),
            )
            held = decode(_H, 6, list(rsp.registers))
            rsp = self._link.call(
                "read the host-loss alarm (FC04 input 160..161)",
                lambda c: c.read_input_registers(160, count=2, device_id=self._unit),
            )
            alarm = decode(_I, 160, list(rsp.registers))
            from .control_lease import read_lease

            holder = read_lease(self).holder
        except DeviceFault as exc:
            if exc.code == 2:
                return None
            raise
        policy = int(held["on_host_loss"])
        return PressConfig(
            soft_max_mpa=float(held["soft_max_pressure"]),
            die_area_mm2=float(held["die_area"]),
            watchdog_ms=int(held["watchdog_timeout"]),
            on_host_loss=HOST_LOSS_POLICIES[policy] if policy < 2 else "release",
            host_lost=bool(alarm["host_lost"]),
            lease_holder=str(holder) if holder is not None else "",
        )

    def _expect(self, **values: float) -> None:
        if self._lease is not None:
            self._lease.expect(**values)

    # --- beyond the contract --------------------------------------------------------------
    def reconnect(self) -> None:
        """Drop the connection and open a fresh one (after the device came back)."""
        self._link.reconnect()
        self._watch.reset()

    @property
    def uses_fc23(self) -> bool:
        """Whether :meth:`command_and_read` still uses one FC23 round trip."""
        return self._fc23

    def __repr__(self) -> str:
        return f"ModbusPress({self.url!r})"

    # --- helpers --------------------------------------------------------------------------
    def _next_hb(self) -> int:
        self._heartbeat = (self._heartbeat + 1) & 0xFFFF
        return self._heartbeat

    def _command_regs(self, command: int, setpoint_mpa: float, rate_mpa_s: float) -> list[int]:
        values = {
            "command": command,
            "heartbeat": self._next_hb(),
            "setpoint": setpoint_mpa,
            "ramp_rate": rate_mpa_s,
        }
        return encode(_H, 0, values)

    def _write(self, what: str, start: int, regs: list[int]) -> None:
        label = f"{what} (FC16 holding {start}..{start + len(regs) - 1})"
        self._link.call(label, lambda c: c.write_registers(start, regs, device_id=self._unit))

    def _sample(self, registers: Sequence[int], what: str) -> Sample:
        if len(registers) != self._codec.count:
            raise TransportError(
                f"{self.url}: {what}: {len(registers)} registers in reply, expected {self._codec.count}"
            )
        sample = self._codec.decode(registers)
        self._watch.check(sample.counter)
        return sample

    def _read_ratings(self) -> tuple[float, float]:
        """Rated pressure and force (input 100..103), after checking the map version (104)."""
        rsp = self._link.call(
            "read ratings (FC04 input 100..104)",
            lambda c: c.read_input_registers(100, count=5, device_id=self._unit),
        )
        ratings = decode(_I, 100, list(rsp.registers))
        if ratings["map_version"] != MAP_VERSION:
            raise TransportError(
                f"{self.url}: device speaks register map version {ratings['map_version']} "
                f"(input register 104); presshil speaks version {MAP_VERSION}"
            )
        return float(ratings["rated_max_pressure"]), float(ratings["rated_max_force"])

    def _read_identity(self) -> Identity:
        rated_mpa, rated_kn = self._read_ratings()
        rsp = self._link.call(
            "read channel count (FC04 input 14)",
            lambda c: c.read_input_registers(14, count=1, device_id=self._unit),
        )
        channels = rsp.registers[0]
        if not 1 <= channels <= MAX_CHANNELS:
            raise TransportError(
                f"{self.url}: channel count {channels} (input register 14) outside 1..{MAX_CHANNELS}"
            )
        info = self._device_information()
        positions = self._read_positions(channels)
        return Identity(
            vendor=info.get(0x00) or "unknown vendor",
            model=info.get(0x05) or info.get(0x01) or "Modbus press",
            serial=info.get(0x80, ""),
            firmware=info.get(0x02) or "unknown",
            rated_max_pressure_mpa=rated_mpa,
            rated_max_force_kn=rated_kn,
            channel_count=channels,
            channel_positions_mm=positions,
        )

    def _read_positions(self, channels: int) -> tuple[tuple[float, float], ...]:
        """Load-cell positions (extension, input 110..109+4N); () if the device has none."""
        count = 4 * channels
        try:
            rsp = self._link.call(
                f"read channel positions (FC04 input 110..{109 + count})",
                lambda c: c.read_input_registers(
                    CHANNEL_POSITION_BASE, count=count, device_id=self._unit
                ),
            )
        except DeviceFault:
            return ()
        return decode_positions(rsp.registers, channels)

    def _device_information(self) -> dict[int, str]:
        """FC43/14 extended stream; a device without it yields an empty identity."""
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


def _fc43(object_id: int, unit: int, client: ModbusBaseSyncClient) -> ModbusPDU:
    """FC43/14 extended device identification from ``object_id`` on."""
    return client.read_device_information(
        read_code=DeviceInformation.EXTENDED, object_id=object_id, device_id=unit
    )


def _contiguous_runs(values: dict[str, float | int]) -> list[tuple[int, dict[str, float | int]]]:
    """Group named holding fields into runs of adjacent registers."""
    runs: list[tuple[int, dict[str, float | int]]] = []
    end = -1
    for name in sorted(values, key=lambda k: BY_NAME[k].address):
        reg = BY_NAME[name]
        if runs and reg.address == end:
            runs[-1][1][name] = values[name]
        else:
            runs.append((reg.address, {name: values[name]}))
        end = reg.address + reg.type.width
    return runs


def open_modbus_press(parsed: PressURL) -> ModbusPress:
    """Open a press from a parsed ``modbus+tcp://`` or ``modbus+rtu://`` URL."""
    return ModbusPress(parsed)


__all__ = ["ModbusPress", "open_modbus_press"]
