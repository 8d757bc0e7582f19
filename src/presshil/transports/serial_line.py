"""``SerialPress``: a press speaking the ASCII line protocol v1.

URL: ``serial:///dev/ttyUSB0?baud=115200&timeout=0.2``; optional ``retries=N``,
``stale=S`` (as for Modbus, both off by default: the sampler owns that policy), and ``rated_mpa=…&rated_kn=…`` for a device that does not
know the ``RATED?`` extension.

Identity comes from ``*IDN?`` (vendor, model, serial, firmware), the ratings from the
extension ``RATED?`` (``<rated_mpa> <rated_kn> <channels>``) and the load-cell positions
from the extension ``POS?`` (none if the device does not know it). ``MEAS?`` carries no fault
code, so :meth:`SerialPress.read` asks the extension ``FAULT?`` only when the status shows
a latched fault: one round trip per sample in the normal case.

Exchanges per operation: ``command`` = ``SETP``, ``RATE``, ``REG`` one after the other,
stopping at the first ``ERR`` so that a refused setpoint changes nothing;
``command_and_read`` = the same with ``REG`` and ``MEAS?`` pipelined in one write.
"""

from __future__ import annotations

from ..clock import Clock, WallClock
from ..errors import CapabilityError, DeviceFault, TransportError
from ..maps.line_v1 import parse_idn, parse_meas, parse_positions, parse_rated
from ..press import SAFE_STOP_BITS, Identity, Press, Sample
from ..url_schemes import SERIAL_KEYS
from ..urls import PressURL
from .line_link import LineLink, accept_ok
from .staleness import CounterWatch

URL_KEYS = SERIAL_KEYS  # registered with the serial:// scheme


def _parser(parse):  # type: ignore[no-untyped-def]
    """An ``accept`` function: ``parse(text)``, or None when the line does not parse."""

    def accept(text: str):  # type: ignore[no-untyped-def]
        try:
            return parse(text)
        except ValueError:
            return None

    return accept


_MEAS, _IDN, _RATED = _parser(parse_meas), _parser(parse_idn), _parser(parse_rated)
_FAULT = _parser(lambda t: int(t) if t.isdigit() else None)


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

    def configure(
        self,
        *,
        die_area_mm2: float | None = None,
        soft_max_mpa: float | None = None,
        watchdog_ms: int | None = None,
    ) -> None:
        """``AREA``, ``LIM``, ``WDOG`` for the values given, stopping at the first refusal."""
        if die_area_mm2 is not None:
            self._ok(f"AREA {die_area_mm2!r}", "configure die area")
            self._identity = self._read_identity()  # the rated pressure follows the die area
        if soft_max_mpa is not None:
            self._ok(f"LIM {soft_max_mpa!r}", "configure soft max")
        if watchdog_ms is not None:
            self._ok(f"WDOG {int(watchdog_ms)}", "configure watchdog")

    def command(self, setpoint_mpa: float, rate_mpa_s: float) -> None:
        """``SETP``, ``RATE``, ``REG``."""
        self._ok(f"SETP {setpoint_mpa!r}", "set setpoint")
        self._ok(f"RATE {rate_mpa_s!r}", "set ramp rate")
        self._ok("REG", "regulate")

    def release(self, rate_mpa_s: float) -> None:
        """``RATE``, ``REL``."""
        self._ok(f"RATE {rate_mpa_s!r}", "set ramp rate")
        self._ok("REL", "release")

    def stop(self) -> None:
        """``STOP``: safe state now."""
        self._ok("STOP", "stop")

    def reset(self) -> None:
        """``RST``: clear a latched fault."""
        self._ok("RST", "reset fault")

    def heartbeat(self) -> None:
        """``HB``: feed the watchdog."""
        self._ok("HB", "heartbeat")

    def read(self) -> Sample:
        """``MEAS?`` (and ``FAULT?`` when a fault is latched)."""
        (sample,) = self._link.exchange(["MEAS?"], [_MEAS], "read state (MEAS?)")
        return self._finish(sample)

    def command_and_read(self, setpoint_mpa: float, rate_mpa_s: float) -> Sample:
        """``SETP``, ``RATE``, then ``REG`` and ``MEAS?`` pipelined in one write."""
        self._ok(f"SETP {setpoint_mpa!r}", "set setpoint")
        self._ok(f"RATE {rate_mpa_s!r}", "set ramp rate")
        _, sample = self._link.exchange(
            ["REG", "MEAS?"], [accept_ok, _MEAS], "regulate and read (REG, MEAS?)"
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
            self._ok(f"LEASE {token}", "claim the control lease")
        except DeviceFault as exc:
            if exc.code != 1:
                raise
            holder = self._query_lease()
            if holder in (None, "none"):
                return None  # not a command this device knows: no lease
            raise LeaseHeld(
                f"{self.url}: another master controls this press ({holder}); "
                "it may be read, not driven",
                code=1,
            ) from None
        self._leased = True
        return token

    def check_control(self) -> None:
        """``LEASE?`` must still name this serial line (after :meth:`claim_control`)."""
        if not self._leased:
            return
        holder = self._query_lease()
        if holder is None or not holder.startswith("serial line"):
            from .control_lease import ControlLost

            raise ControlLost(
                f"{self.url}: the control lease is now held by {holder or 'nobody'}", code=1
            )

    def release_control(self) -> None:
        """``LEASE 0``."""
        if self._leased:
            self._leased = False
            self._ok("LEASE 0", "release the control lease")

    def set_on_host_loss(self, policy: str) -> None:
        """``HOSTLOSS 0|1``; a device without the command can only release."""
        from ..control import HOST_LOSS_POLICIES, check_policy

        value = HOST_LOSS_POLICIES.index(check_policy(policy))
        try:
            self._ok(f"HOSTLOSS {value}", "set the host-loss policy")
        except DeviceFault as exc:
            if exc.code != 1:
                raise
            if policy == "release":
                return  # a device without the command releases: its watchdog trips
            raise CapabilityError(
                f"{self.url}: on_host_loss = 'hold' needs the HOSTLOSS command, which this "
                "device does not know"
            ) from None

    def _query_lease(self) -> str | None:
        try:
            (reply,) = self._link.exchange(["LEASE?"], [str.strip], "read the lease (LEASE?)")
        except DeviceFault:
            return None
        return reply

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
    def _ok(self, line: str, what: str) -> None:
        self._link.exchange([line], [accept_ok], f"{what} ({line})")

    def _finish(self, sample: Sample) -> Sample:
        if len(sample.channels_kn) != self._identity.channel_count:
            raise TransportError(
                f"{self.url}: MEAS? reply has {len(sample.channels_kn)} channels, "
                f"the press has {self._identity.channel_count}"
            )
        self._watch.check(sample.counter)
        if sample.status & SAFE_STOP_BITS:
            (code,) = self._link.exchange(["FAULT?"], [_FAULT], "read fault code (FAULT?)")
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
        ((vendor, model, serial_no, firmware),) = self._link.exchange(
            ["*IDN?"], [_IDN], "identify (*IDN?)"
        )
        try:
            ((rated_mpa, rated_kn, channels),) = self._link.exchange(
                ["RATED?"], [_RATED], "read ratings (RATED?)"
            )
        except DeviceFault as exc:
            if "rated_mpa" not in self._parsed.query or "rated_kn" not in self._parsed.query:
                raise DeviceFault(
                    f"{exc}; the device has no RATED? extension: give rated_mpa= and "
                    f"rated_kn= in the URL",
                    code=exc.code,
                ) from exc
            rated_mpa = self._parsed.get_float("rated_mpa", 0.0)
            rated_kn = self._parsed.get_float("rated_kn", 0.0)
            (probe,) = self._link.exchange(["MEAS?"], [_MEAS], "count channels (MEAS?)")
            channels = len(probe.channels_kn)
        try:
            (positions,) = self._link.exchange(
                ["POS?"], [_parser(lambda t: parse_positions(t, channels))], "read positions (POS?)"
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
