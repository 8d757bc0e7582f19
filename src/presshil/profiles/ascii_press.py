"""A profile-driven ASCII instrument on a serial line (a digital indicator, a transmitter).

Each signal is one exchange: the profile's ``request`` (``"?P"``) plus the line terminator
is sent, one reply line is read and the profile's ``reply`` regular expression takes the
number out of it (``"^([-+]\\d+\\.\\d+) bar$"`` on ``+0074.12 bar``). A command sends its
``request``, where ``{value}`` is replaced by the value in the command's unit.
URL: ``serial:///dev/ttyUSB0?baud=9600&timeout=0.5&profile=NAME_OR_PATH``.
"""

from __future__ import annotations

import re
import time

import serial

from ..errors import ConfigError, TransportError, TransportTimeout
from ..maps.profile import Profile
from ..url_schemes import SERIAL_PROFILE_KEYS
from ..urls import PressURL
from .base import ProfilePress, Values
from .operator import OperatorPrompts

KEYS = SERIAL_PROFILE_KEYS  # registered with the serial:// scheme


class AsciiProfilePress(ProfilePress):
    """An instrument that answers text requests, one line each."""

    def __init__(self, parsed: PressURL, profile: Profile, *, operator: OperatorPrompts | None = None) -> None:
        super().__init__(parsed.raw, profile, operator=operator)
        parsed.check_keys(KEYS)
        self._timeout_s = parsed.get_float("timeout", 0.5)
        self._eol = profile.ascii.terminator.encode(profile.ascii.encoding)
        self._encoding = profile.ascii.encoding
        self._patterns = {n: re.compile(s.reply or "") for n, s in profile.signals.items()}
        try:
            self._port = serial.Serial(
                parsed.target,
                baudrate=parsed.get_int("baud", 9600),
                parity=parsed.query.get("parity", "N").upper(),
                stopbits=parsed.get_int("stopbits", 1),
                timeout=self._timeout_s,
            )
        except (serial.SerialException, ValueError) as exc:
            raise TransportError(f"{self.url}: cannot open serial device {parsed.target}: {exc}") from None

    def exchange(self, what: str, request: str) -> str:
        """Send one request line, return the reply line (without terminator)."""
        port = self._port
        port.reset_input_buffer()
        port.write(request.encode(self._encoding) + self._eol)
        deadline = time.monotonic() + self._timeout_s
        data = b""
        while not data.endswith(self._eol):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportTimeout(f"{self.url}: {what}: no reply to {request!r} within {self._timeout_s:g} s (got {data!r})")
            port.timeout = left
            chunk = port.read_until(self._eol)
            if not chunk:
                continue
            data += chunk
        return data[: -len(self._eol)].decode(self._encoding, "replace").strip()

    def read_values(self, errors: dict[str, str] | None = None) -> tuple[Values, Values]:
        """One exchange per signal."""
        raw: Values = {}
        values: Values = {}
        for name, sig in self.profile.signals.items():
            line = self.exchange(f"read {name}", sig.request or "")
            match = self._patterns[name].search(line)
            if match is None:
                message = f"{self.url}: signal '{name}': reply {line!r} to {sig.request!r} does not match {sig.reply!r}"
                if errors is not None:
                    errors[name] = f"reply {line!r} does not match"
                    continue
                raise TransportError(message)
            number = float(match.group(1))
            raw[name] = number
            values[name] = self.map.converters[name].to_canonical(number)
        return raw, values

    def send(self, what: str, items: list[tuple[str, float | None]]) -> None:
        """One request per command; the reply line is read and discarded (an echo or OK)."""
        for name, value in items:
            cmd = self.profile.commands[name]
            text = cmd.request or ""
            if value is not None:
                number = self.map.converters["cmd:" + name].to_raw(value)
                try:
                    text = text.format(value=number)
                except (KeyError, ValueError, IndexError) as exc:
                    raise ConfigError(f"profile {self.profile.name!r}: commands.{name}.request {cmd.request!r}: {exc}") from None
            self.exchange(f"{what} ({name})", text)

    def close(self) -> None:
        """Close the serial port."""
        self._port.close()


__all__ = ["AsciiProfilePress"]
