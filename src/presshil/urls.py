"""Press URLs: ``sim://``, ``modbus+tcp://``, ``modbus+rtu://``, ``serial://``, ``opcua://``.

``open_press(url)`` parses the URL, checks its form, then hands it to the binding, imported
lazily so that a missing optional backend only matters to those who use it. A ``profile=``
parameter (a device profile's name or path, docs/profiles.md) hands a Modbus, serial or
OPC UA URL to the profile-driven binding instead of register map v1 / the line protocol.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from .errors import PressURLError
from .press import Press

VALID_FORMS = (
    "sim://NAME?specimen=SPEC&seed=N&faults=F   (sim:// alone = the default simulated press)",
    "modbus+tcp://HOST:PORT?unit=1&timeout=0.05&profile=NAME_OR_PATH",
    "modbus+tls://HOST:802?cert=CLIENT.crt&key=CLIENT.key&ca=CA.crt&profile=NAME_OR_PATH   (docs/security.md)",
    "modbus+rtu:///dev/ttyUSB0?baud=115200&parity=N&unit=1&profile=NAME_OR_PATH",
    "serial:///dev/ttyUSB0?baud=115200&profile=NAME_OR_PATH",
    "opcua://HOST:4840/PATH?profile=NAME_OR_PATH",
    "fil://?firmware=COMMAND&plant=sim://…   (external firmware in the loop, docs/firmware.md)",
)

# scheme -> "module:function" taking a PressURL and returning a Press
_BINDINGS = {
    "sim": "presshil.sim.press_url:open_sim_press",
    "modbus+tcp": "presshil.transports.modbus:open_modbus_press",
    "modbus+rtu": "presshil.transports.modbus:open_modbus_press",
    "modbus+tls": "presshil.transports.modbus_tls:open_modbus_tls_press",
    "serial": "presshil.transports.serial_line:open_serial_press",
    "fil": "presshil.fil.press:open_fil_press",
    "opcua": "presshil.profiles.connect:open_profile_press",
}
#: with ``profile=``, these schemes go to the profile-driven binding
_PROFILE_BINDING = "presshil.profiles.connect:open_profile_press"
_PROFILE_SCHEMES = {"modbus+tcp", "modbus+rtu", "modbus+tls", "serial", "opcua"}


@dataclass(frozen=True)
class PressURL:
    """A parsed press URL. ``target`` is the sim name, ``HOST:PORT`` or a device path."""

    raw: str
    scheme: str
    target: str
    host: str | None = None
    port: int | None = None
    query: dict[str, str] = field(default_factory=dict)

    @property
    def is_simulated(self) -> bool:
        """A press simulated in this process (``sim://``): virtual time, no wire."""
        return self.scheme == "sim"

    def get_float(self, key: str, default: float) -> float:
        """Query parameter ``key`` as a float, with a clear error when it is not one."""
        if key not in self.query:
            return default
        try:
            return float(self.query[key])
        except ValueError:
            raise PressURLError(
                f"press URL {self.raw!r}: parameter '{key}' must be a number, got {self.query[key]!r}"
            ) from None

    def get_int(self, key: str, default: int) -> int:
        """Query parameter ``key`` as an integer, with a clear error when it is not one."""
        if key not in self.query:
            return default
        try:
            return int(self.query[key])
        except ValueError:
            raise PressURLError(
                f"press URL {self.raw!r}: parameter '{key}' must be an integer, got {self.query[key]!r}"
            ) from None

    def get_files(self, keys: tuple[str, ...], needed_for: str, folders: frozenset[str] = frozenset()) -> dict[str, Path]:
        """The files the query names under ``keys`` (each required; those in ``folders`` may
        be folders), with an error naming the key when one is missing or not there."""
        found: dict[str, Path] = {}
        for key in keys:
            value = self.query.get(key, "")
            if not value:
                raise PressURLError(f"press URL {self.raw!r}: '{key}=' is required {needed_for}")
            path = Path(value)
            if not (path.is_file() or (key in folders and path.is_dir())):
                raise PressURLError(f"press URL {self.raw!r}: {key} file {value!r} not found")
            found[key] = path
        return found

    def check_keys(self, allowed: set[str]) -> None:
        """Reject query parameters the binding does not know."""
        unknown = sorted(set(self.query) - allowed)
        if unknown:
            raise PressURLError(
                f"press URL {self.raw!r}: unknown parameter(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )


def is_simulated(url: str) -> bool:
    """Whether press URL ``url`` names a simulated press (``sim:…``), without parsing the rest:
    the one test callers use instead of comparing prefixes by hand."""
    return url.partition(":")[0].strip().lower() == "sim"


def _invalid(url: str, why: str) -> PressURLError:
    forms = "\n  ".join(VALID_FORMS)
    return PressURLError(f"invalid press URL {url!r}: {why}. Valid forms:\n  {forms}")


def parse_press_url(url: str) -> PressURL:
    """Parse and check the form of a press URL (does not connect)."""
    if not isinstance(url, str) or not url.strip():
        raise _invalid(str(url), "empty URL")
    url = url.strip()
    if "://" not in url:
        raise _invalid(url, "no scheme")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _BINDINGS:
        raise _invalid(url, f"unknown scheme '{scheme}'")
    try:
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError:
        raise _invalid(url, f"malformed query '{parts.query}'") from None
    if scheme in ("modbus+tcp", "modbus+tls", "opcua"):
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise _invalid(url, "port must be a number from 0 to 65535") from None
        if not host or port is None:
            raise _invalid(url, f"{scheme} needs HOST:PORT")
        target = f"{host}:{port}" + (parts.path if scheme == "opcua" else "")
        return PressURL(url, scheme, target, host=host, port=port, query=query)
    if scheme in ("modbus+rtu", "serial"):
        device = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not device:
            raise _invalid(url, f"{scheme} needs a device path, e.g. {scheme}:///dev/ttyUSB0")
        return PressURL(url, scheme, device, query=query)
    # sim://NAME — the name is the netloc; an empty one means the default model
    name = parts.netloc + (parts.path if parts.path not in ("", "/") else "")
    return PressURL(url, scheme, name, query=query)


def open_press(url: str) -> Press:
    """Open the press that ``url`` names. Raises :class:`PressURLError` on a bad URL."""
    parsed = parse_press_url(url)
    binding = _BINDINGS[parsed.scheme]
    if "profile" in parsed.query and parsed.scheme in _PROFILE_SCHEMES:
        binding = _PROFILE_BINDING
    module_name, func_name = binding.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # an optional backend not installed
        raise PressURLError(f"press URL {url!r}: the {parsed.scheme} binding is unavailable ({exc})") from exc
    press: Press = getattr(module, func_name)(parsed)  # bindings take the URL as they are built
    return press


__all__ = ["VALID_FORMS", "PressURL", "is_simulated", "open_press", "parse_press_url"]
