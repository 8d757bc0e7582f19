"""``SerialPress``: a press speaking the ASCII line protocol v1.

URL: ``serial:///dev/ttyUSB0?baud=115200&timeout=0.2``; optional ``retries=N``,
``stale=S`` (as for Modbus, both off by default: the sampler owns that policy), and ``rated_mpa=…&rated_kn=…`` for a device that does not
know the ``RATED?`` extension.

Every command, its spelling, its reply and the fault codes come from line v1's table
(:data:`presshil.maps.line_v1.COMMANDS`); :meth:`SerialPress.speak` sends any of them by
name. Identity comes from ``*IDN?`` (vendor, model, serial, firmware), the ratings from the
extension ``RATED?`` (``<rated_mpa> <rated_kn> <channels>``) and the load-cell positions
from the extension ``POS?`` (none if the device does not know it). ``MEAS?`` carries no fault
code, so :meth:`SerialPress.read` asks the extension ``FAULT?`` only when the status shows
a latched fault: one round trip per sample in the normal case.

Exchanges per operation: ``command`` = ``SETP``, ``RATE``, ``REG`` one after the other,
stopping at the first ``ERR`` so that a refused setpoint changes nothing;
``command_and_read`` = the same with ``REG`` and ``MEAS?`` pipelined in one write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..clock import Clock, WallClock
from ..errors import CapabilityError, DeviceFault, TransportError
from ..maps.line_v1 import (
    ERR_UNKNOWN,
    LEASE_FREE,
    LEASE_HOLDER_SERIAL,
    Kind,
    LineCommand,
    by_name,
)
from ..press import SAFE_STOP_BITS, Identity, Press, Sample
from ..url_schemes import SERIAL_KEYS
from ..urls import PressURL
from .line_link import LineLink, accept_ok
from .staleness import CounterWatch

URL_KEYS = SERIAL_KEYS  # registered with the serial:// scheme


def _accept(cmd: LineCommand, check: Callable[[Any], bool] | None = None) -> Callable[[str], Any]:
    """An ``accept`` function for ``cmd``'s reply: ``OK`` for a setter or an action, the
    table's parse for a query; None when the line is not such a reply."""
    if cmd.kind is not Kind.QUERY:
        return accept_ok
    parse = cmd.parse
    assert parse is not None, cmd.name

    def accept(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            return None
        return value if check is None or check(value) else None

    return accept


class SerialPress(Press):
    """A press on the ASCII line protocol. Opens the port and reads identity on creation."""

    def __init__(self, parsed: PressURL) -> None:
        parsed.check_keys(URL_KEYS)
        self.url = parsed.raw
        self._parsed = parsed
        self._link = LineLink(parsed)
        self._clock = WallClock()
        self._watch = CounterWatch(self.url, parsed.get_float("stale", 0.0))
        self._leased = False
        self._link.connect()
        try:
            self._identity = self._read_identity()
        except BaseException:
            self._link.close()
            raise

    @property
    def identity(self) -> Identity:
        """``*IDN?`` and ``RATED?`` (or the URL's ``rated_mpa``/``rated_kn``)."""
        return self._identity

    @property
    def clock(self) -> Clock:
        """Wall-clock time."""
        return self._clock

    def speak(self, name: str, value: float | None = None) -> Any:
        """One command of line v1's table by its host-side name (``"setpoint"``, ``"fault"``):
        ``OK`` for a setter or an action, the parsed reply for a query; ``DeviceFault`` on
        ``ERR``."""
        cmd = by_name()[name]
        line = cmd.line(value)
        (reply,) = self._link.exchange([line], [_accept(cmd)], f"{cmd.what} ({line})")
        return reply

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """``AREA``, ``LIM``, ``WDOG`` for the values given, stopping at the first refusal."""
        if die_area_mm2 is not None:
            self.speak("die_area", die_area_mm2)
            self._identity = self._read_identity()  # the rated pressure follows the die area
        if soft_max_mpa is not None:
            self.speak("soft_max", soft_max_mpa)
        if watchdog_ms is not None:
            self.speak("watchdog", watchdog_ms)

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """``SETP``, ``RATE``, ``REG``."""
        self.speak("setpoint", setpoint_mpa)
        self.speak("ramp_rate", rate_mpa_s)
        self.speak("regulate")

    def release(self, rate_mpa_s: float) -> None:
        """``RATE``, ``REL``."""
        self.speak("ramp_rate", rate_mpa_s)
        self.speak("release")

    def stop(self) -> None:
        """``STOP``: safe state now."""
        self.speak("stop")

    def reset(self) -> None:
        """``RST``: clear a latched fault."""
        self.speak("reset")

    def heartbeat(self) -> None:
        """``HB``: feed the watchdog."""
        self.speak("heartbeat")

    def read(self) -> Sample:
        """``MEAS?`` (and ``FAULT?`` when a fault is latched)."""
        sample: Sample = self.speak("measure")
        return self._finish(sample)

    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Sample:
        """``SETP``, ``RATE``, then ``REG`` and ``MEAS?`` pipelined in one write."""
        self.speak("setpoint", setpoint_mpa)
        self.speak("ramp_rate", rate_mpa_s)
        table = by_name()
        reg, meas = table["regulate"], table["measure"]
        _, sample = self._link.exchange(
            [reg.line(), meas.line()],
            [_accept(reg), _accept(meas)],
            f"{reg.what} and {meas.what} ({reg.word}, {meas.word})",
        )
        return self._finish(sample)

    # --- control lease and host-loss policy (line-protocol extensions) ---------------------
    def claim_control(self, token: int | None = None) -> int | None:
        """``LEASE <token>`` (a random token by default); ``LeaseHeld`` if another master
        holds the press. A device without the command (``ERR 1``, unknown) has no lease."""
        import secrets

        from .control_lease import LeaseHeld

        token = token if token is not None else secrets.randbelow(0xFFFF) + 1
        try:
            self.speak("lease", token)
        except DeviceFault as exc:
            if exc.code != ERR_UNKNOWN:
                raise
            holder = self._query_lease()
            if holder in (None, LEASE_FREE):
                return None  # not a command this device knows: no lease
            raise LeaseHeld(
                f"{self.url}: another master controls this press ({holder}); "
                "it may be read, not driven",
                code=ERR_UNKNOWN,
            ) from None
        self._leased = True
        return token

    def check_control(self) -> None:
        """``LEASE?`` must still name this serial line (after :meth:`claim_control`)."""
        if not self._leased:
            return
        holder = self._query_lease()
        if holder is None or not holder.startswith(LEASE_HOLDER_SERIAL):
            from .control_lease import ControlLost

            raise ControlLost(
                f"{self.url}: the control lease is now held by {holder or 'nobody'}",
                code=ERR_UNKNOWN,
            )

    def release_control(self) -> None:
        """``LEASE 0``."""
        if self._leased:
            self._leased = False
            self.speak("lease", 0)

    def set_on_host_loss(self, policy: str) -> None:
        """``HOSTLOSS 0|1``; a device without the command can only release."""
        from ..control import HOST_LOSS_POLICIES, check_policy

        value = HOST_LOSS_POLICIES.index(check_policy(policy))
        try:
            self.speak("on_host_loss", value)
        except DeviceFault as exc:
            if exc.code != ERR_UNKNOWN:
                raise
            if policy == "release":
                return  # a device without the command releases: its watchdog trips
            cmd = by_name()["on_host_loss"]
            raise CapabilityError(
                f"{self.url}: on_host_loss = 'hold' needs the {cmd.word} command, which this "
                "device does not know"
            ) from None

    def _query_lease(self) -> str | None:
        try:
            holder: str = self.speak("lease_holder")
        except DeviceFault:
            return None
        return holder

    def close(self) -> None:
        """Close the port."""
        self._link.close()

    def reconnect(self) -> None:
        """Close and reopen the port."""
        self._link.connect()
        self._watch.reset()

    def __repr__(self) -> str:
        return f"SerialPress({self.url!r})"

    # --- helpers --------------------------------------------------------------------------
    def _finish(self, sample: Sample) -> Sample:
        if len(sample.channels_kn) != self._identity.channel_count:
            raise TransportError(
                f"{self.url}: {by_name()['measure'].word} reply has {len(sample.channels_kn)} "
                f"channels, the press has {self._identity.channel_count}"
            )
        self._watch.check(sample.counter)
        if sample.status & SAFE_STOP_BITS:
            code: int = self.speak("fault")
            sample = Sample(
                sample.t_s,
                sample.counter,
                sample.status,
                code,
                sample.setpoint_mpa,
                sample.pressure_mpa,
                sample.force_kn,
                sample.position_mm,
                sample.channels_kn,
            )
        return sample

    def _read_identity(self) -> Identity:
        vendor, model, serial_no, firmware = self.speak("identity")
        try:
            rated_mpa, rated_kn, channels = self.speak("rated")
        except DeviceFault as exc:
            if "rated_mpa" not in self._parsed.query or "rated_kn" not in self._parsed.query:
                raise DeviceFault(
                    f"{exc}; the device has no {by_name()['rated'].word} extension: give "
                    "rated_mpa= and rated_kn= in the URL",
                    code=exc.code,
                ) from exc
            rated_mpa = self._parsed.get_float("rated_mpa", 0.0)
            rated_kn = self._parsed.get_float("rated_kn", 0.0)
            probe: Sample = self.speak("measure")
            channels = len(probe.channels_kn)
        cmd = by_name()["positions"]
        try:
            (positions,) = self._link.exchange(
                [cmd.line()],
                [_accept(cmd, lambda v: len(v) == channels)],
                f"{cmd.what} ({cmd.word})",
            )
        except DeviceFault:  # a device without the extension, or without known positions
            positions = ()
        return Identity(
            vendor, model, serial_no, firmware, rated_mpa, rated_kn, channels, positions
        )


def open_serial_press(parsed: PressURL) -> SerialPress:
    """Open a press from a parsed ``serial://`` URL."""
    return SerialPress(parsed)


__all__ = ["SerialPress", "open_serial_press"]
