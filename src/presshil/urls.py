"""Press URLs: ``sim://``, ``modbus+tcp://``, ``modbus+tls://``, ``modbus+rtu://``,
``serial://``, ``opcua://``, ``fil://`` — the schemes :mod:`presshil.url_schemes` registers.

``open_press(url)`` parses the URL, checks its form and its keys against the scheme's
registration, then hands it to the binding, imported lazily so that a missing optional
backend only matters to those who use it. A ``profile=`` parameter (a device profile's name
or path, docs/profiles.md) hands a Modbus, serial or OPC UA URL to the profile-driven
binding instead of register map v1 / the line protocol.
"""

from __future__ import annotations

import importlib
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from .errors import ConfigError, PressURLError
from .url_schemes import SCHEMES, Scheme, valid_forms

if TYPE_CHECKING:
    from .press import Press

#: how each registered scheme's URLs are written (shown with every URL error)
VALID_FORMS = valid_forms()
#: characters a rewritten query keeps as they are (a list, a fault spec, a host:port)
_QUERY_SAFE = ",@:=;()"


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
        return SCHEMES[self.scheme].simulated

    @property
    def seed(self) -> int | None:
        """The ``seed`` parameter as an integer; None when the URL has none."""
        return self.get_int("seed", 0) if "seed" in self.query else None

    def with_query(self, changes: dict[str, object] | None = None, /, **more: object) -> PressURL:
        """This URL with query keys set (``None``: removed); a key set anew goes last, the
        others keep their place. Its keys are checked when it is opened or parsed again (a
        sweep names a key the simulator does not know in its own words)."""
        updates = {**(changes or {}), **more}
        pairs = [(k, v) for k, v in self.query.items() if k not in updates]
        pairs += [(k, _text(v)) for k, v in updates.items() if v is not None]
        base = self.raw.partition("?")[0]
        return _parse(f"{base}?{urlencode(pairs, safe=_QUERY_SAFE)}" if pairs else base, check_keys=False)

    def with_seed(self, seed: int | None) -> PressURL:
        """This URL with its ``seed`` set (simulated presses only; ``None``: unchanged)."""
        if seed is None:
            return self
        if not self.is_simulated:
            raise ConfigError(f"--seed applies to simulated presses (sim://…), not to {self.raw!r}")
        return self.with_query(seed=seed)

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

    def check_keys(self, allowed: Set[str]) -> None:
        """Reject query parameters the binding does not know."""
        unknown = sorted(set(self.query) - allowed)
        if unknown:
            raise PressURLError(
                f"press URL {self.raw!r}: unknown parameter(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )


def _text(value: object) -> str:
    return format(value, ".10g") if isinstance(value, float) else str(value)


def is_simulated(url: str) -> bool:
    """Whether press URL ``url`` names a simulated press (``sim:…``), without parsing the rest:
    the one test callers use instead of comparing prefixes by hand."""
    scheme = SCHEMES.get(url.partition(":")[0].strip().lower())
    return scheme is not None and scheme.simulated


def _invalid(url: str, why: str) -> PressURLError:
    forms = "\n  ".join(valid_forms())  # a scheme registered since import too
    return PressURLError(f"invalid press URL {url!r}: {why}. Valid forms:\n  {forms}")


def stored_param(url: str, key: str) -> str | None:
    """Query parameter ``key`` of a press URL read back from a store, without checking the
    URL's form (another station or version may have stored it); None when absent."""
    return dict(parse_qsl(urlsplit(url or "").query, keep_blank_values=True)).get(key)


def parse_press_url(url: str) -> PressURL:
    """Parse and check the form of a press URL and its query keys (does not connect)."""
    return _parse(url)


def _parse(url: str, check_keys: bool = True) -> PressURL:
    if not isinstance(url, str) or not url.strip():
        raise _invalid(str(url), "empty URL")
    url = url.strip()
    if "://" not in url:
        raise _invalid(url, "no scheme")
    parts = urlsplit(url)
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise _invalid(url, f"unknown scheme '{parts.scheme.lower()}' (known: {', '.join(SCHEMES)})")
    try:
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError:
        raise _invalid(url, f"malformed query '{parts.query}'") from None
    if check_keys:
        _check_keys(url, scheme, query)
    if scheme.form in ("hostport", "hostport+path"):
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise _invalid(url, "port must be a number from 0 to 65535") from None
        if not host or port is None:
            raise _invalid(url, f"{scheme.name} needs HOST:PORT")
        target = f"{host}:{port}" + (parts.path if scheme.form == "hostport+path" else "")
        return PressURL(url, scheme.name, target, host=host, port=port, query=query)
    if scheme.form == "device":
        device = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not device:
            raise _invalid(url, f"{scheme.name} needs a device path, e.g. {scheme.name}:///dev/ttyUSB0")
        return PressURL(url, scheme.name, device, query=query)
    # a name (sim://NAME) is the netloc; an empty one means the binding's default
    name = parts.netloc + (parts.path if parts.path not in ("", "/") else "")
    return PressURL(url, scheme.name, name, query=query)


def _check_keys(url: str, scheme: Scheme, query: dict[str, str]) -> None:
    allowed = scheme.allowed_keys(query)
    unknown = sorted(k for k in query if k not in allowed and not (scheme.dotted_keys and "." in k))
    if unknown:
        raise PressURLError(
            f"press URL {url!r}: unknown parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def open_press(url: str) -> Press:
    """Open the press that ``url`` names. Raises :class:`PressURLError` on a bad URL."""
    parsed = parse_press_url(url)
    module_name, func_name = SCHEMES[parsed.scheme].opener_for(parsed.query).split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # an optional backend not installed
        raise PressURLError(f"press URL {url!r}: the {parsed.scheme} binding is unavailable ({exc})") from exc
    press: Press = getattr(module, func_name)(parsed)  # bindings take the URL as they are built
    return press


__all__ = ["VALID_FORMS", "PressURL", "is_simulated", "open_press", "parse_press_url", "stored_param"]
