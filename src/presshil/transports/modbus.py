"""``ModbusPress``: a press speaking register map v1 over Modbus TCP or RTU.

URLs: ``modbus+tcp://HOST:PORT?unit=1&timeout=0.05`` and
``modbus+rtu:///dev/ttyUSB0?baud=115200&unit=1``; optional ``retries=N`` (extra attempts
after a failure, each on a fresh connection; default 0) and ``stale=S`` (seconds without a
counter change before a read is refused as stale data; default 0 = off). By default the link
makes one attempt: retries with backoff and stale-data detection are the sampler's policy
(:mod:`presshil.sampler`), on the press clock.

**Map v1 is a profile.** This press is the profile press of :mod:`presshil.profiles` on the
built-in profile ``presshil-v1`` (the copy shipped with presshil, whatever ``./profiles``
holds): reads, commands, heartbeat and the FC23 cycle go through the same code as any
other device's profile. What map v1 adds is that the device describes itself: on creation
the press reads its ratings and map version (input 100..104), its channel count (input 14)
and load-cell positions (input 110..), and names itself by FC43; it then follows the
device's channel count. Beyond the contract it has map v1's extension registers: the
control lease and host-loss policy (holding 12, 13; input 150..161).

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

from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING

from .. import library
from ..control import HOST_LOSS_POLICIES, PressConfig, check_policy
from ..errors import CapabilityError, DeviceFault, TransportError
from ..maps.press_v1 import (
    CAPABILITY_CONSTANT_GAP,
    CHANNEL_POSITION_BASE,
    MAP_VERSION,
    MAX_CHANNELS,
    Space,
    decode,
    decode_positions,
    encode,
)
from ..maps.profile import Profile
from ..maps.profile_loader import load_profile
from ..maps.profile_state import StateMap
from ..press import Sample
from ..profiles.modbus_press import ModbusProfilePress
from ..urls import PressURL
from .staleness import CounterWatch

if TYPE_CHECKING:
    from .control_lease import LeaseWatch

_H, _I = Space.HOLDING, Space.INPUT
#: the built-in profile map v1 is
BUILTIN_PROFILE = "presshil-v1"


@cache
def map_v1_profile(channels: int = 4) -> Profile:
    """The shipped ``presshil-v1`` profile, for a device with ``channels`` load cells."""
    shipped = library.shipped_dir("profiles")
    if shipped is None:
        raise TransportError(f"the built-in profile {BUILTIN_PROFILE} is not installed")
    profile = load_profile(str(shipped / f"{BUILTIN_PROFILE}.toml"))
    cells = profile.signals["channel_force"]
    if cells.count == channels:
        return profile
    signals = {**profile.signals, "channel_force": cells.model_copy(update={"count": channels})}
    return profile.model_copy(update={"signals": signals})


class ModbusPress(ModbusProfilePress):
    """A press on Modbus TCP or RTU. Connects, and reads identity and ratings, on creation."""

    def __init__(self, parsed: PressURL) -> None:
        self._rated = (0.0, 0.0)  # (MPa, kN) as the device reports them
        self._watch = CounterWatch(parsed.raw, parsed.get_float("stale", 0.0))
        self._lease: LeaseWatch | None = None
        super().__init__(parsed, map_v1_profile())
        #: staleness is judged by the run's own policy on the device's counter
        self.stale_after_s = None

    def _connected(self) -> None:
        """Ratings, channel count and positions from the device; the plan follows them."""
        super()._connected()
        self._rated = self._read_ratings()
        rsp = self._link.call(
            "read channel count (FC04 input 14)",
            lambda c: c.read_input_registers(14, count=1, device_id=self._unit),
        )
        channels = rsp.registers[0]
        if not 1 <= channels <= MAX_CHANNELS:
            raise TransportError(
                f"{self.url}: channel count {channels} (input register 14) outside 1..{MAX_CHANNELS}"
            )
        if channels != self.profile.channel_count:
            self.profile = map_v1_profile(channels)
            self.map = StateMap(self.profile)
            self._plan()
        self._identity = replace(
            self._identity,
            rated_max_pressure_mpa=self._rated[0],
            rated_max_force_kn=self._rated[1],
            channel_count=channels,
            channel_positions_mm=self._read_positions(channels),
        )
        # HOLD_GAP (command 5) only where the device says it can (input 105, extension)
        try:
            rsp = self._link.call(
                "read capabilities (FC04 input 105)",
                lambda c: c.read_input_registers(105, count=1, device_id=self._unit),
            )
            bits = int(rsp.registers[0])
        except DeviceFault:
            bits = 0
        self.capabilities = replace(
            self.capabilities, constant_gap=bool(bits & CAPABILITY_CONSTANT_GAP)
        )

    # --- contract -------------------------------------------------------------------------
    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """Die area first (the device then reports the rated pressure it implies), then soft
        max and watchdog (holding 6..11)."""
        if die_area_mm2 is not None:
            super().configure(die_area_mm2=die_area_mm2)
            self._rated = self._read_ratings()  # a rated pressure is a rated force over the die area
            self._identity = replace(
                self._identity,
                rated_max_pressure_mpa=self._rated[0],
                rated_max_force_kn=self._rated[1],
            )
            if soft_max_mpa is not None:  # asked "at the rating" of the die area just set
                soft_max_mpa = min(soft_max_mpa, self._rated[0])
        super().configure(soft_max_mpa=soft_max_mpa, watchdog_ms=watchdog_ms)
        given = {"die_area": die_area_mm2, "soft_max_pressure": soft_max_mpa, "watchdog_timeout": watchdog_ms}
        self._expect(**{k: float(v) for k, v in given.items() if v is not None})

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """REGULATE: setpoint, rate, heartbeat and command in one FC16 write."""
        super().command(setpoint_mpa, rate_mpa_s)
        self._expect(setpoint=setpoint_mpa, ramp_rate=rate_mpa_s)

    def release(self, rate_mpa_s: float) -> None:
        """RELEASE at ``rate_mpa_s`` (setpoint register written as 0)."""
        super().release(rate_mpa_s)
        self._expect(setpoint=0.0, ramp_rate=rate_mpa_s)

    def read(self) -> Sample:
        """The whole state in one FC04 read of input registers 0..15+2N."""
        sample = super().read()
        self._watch.check(sample.counter)
        return sample

    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Sample:
        """One control cycle in one FC23 round trip (FC16 + FC04 where FC23 is missing)."""
        sample = super().command_and_read(setpoint_mpa, rate_mpa_s)
        if self._fc23:  # the fallback's read() has checked it already
            self._watch.check(sample.counter)
        self._expect(setpoint=setpoint_mpa, ramp_rate=rate_mpa_s)
        return sample

    # --- control lease and host-loss policy (extension registers 12, 13, 150..161) ---------
    def claim_control(self, token: int | None = None) -> int | None:
        """Claim the control lease (holding 12) with ``token`` (a fresh random one by default)
        and watch it from now on; the token. ``LeaseHeld`` names the master in control."""
        from .control_lease import LeaseWatch, claim_lease

        token = claim_lease(self, token)
        self._lease = LeaseWatch(self, token)
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

    def __repr__(self) -> str:
        return f"ModbusPress({self.url!r})"

    # --- helpers --------------------------------------------------------------------------
    def _rated_pressure(self) -> float:
        """The device's own rated pressure (it follows the die area it was configured with)."""
        return self._rated[0] if self._rated[0] > 0 else super()._rated_pressure()

    def _write(self, what: str, start: int, regs: list[int]) -> None:
        label = f"{what} (FC16 holding {start}..{start + len(regs) - 1})"
        self._link.call(label, lambda c: c.write_registers(start, regs, device_id=self._unit))

    def _read_ratings(self) -> tuple[float, float]:
        """Rated pressure and force (input 100..103), after checking the map version (104)."""
        try:
            rsp = self._link.call(
                "read ratings (FC04 input 100..104)",
                lambda c: c.read_input_registers(100, count=5, device_id=self._unit),
            )
        except DeviceFault as exc:
            if exc.code != 2:
                raise
            # no map-v1 ratings block: most likely a device with its own map
            raise DeviceFault(
                f"{exc}; this device does not speak register map v1 - describe its map in a "
                "profile and add ?profile=NAME_OR_PATH to the URL (docs/profiles.md)",
                code=2,
            ) from exc
        ratings = decode(_I, 100, list(rsp.registers))
        if ratings["map_version"] != MAP_VERSION:
            raise TransportError(
                f"{self.url}: device speaks register map version {ratings['map_version']} "
                f"(input register 104); presshil speaks version {MAP_VERSION}"
            )
        return float(ratings["rated_max_pressure"]), float(ratings["rated_max_force"])

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


def open_modbus_press(parsed: PressURL) -> ModbusPress:
    """Open a press from a parsed ``modbus+tcp://`` or ``modbus+rtu://`` URL."""
    return ModbusPress(parsed)


__all__ = ["ModbusPress", "open_modbus_press"]
