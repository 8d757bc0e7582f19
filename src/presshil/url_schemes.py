"""The press URL schemes: each binding's scheme declared once, with its URL form, its query
keys and its opener.

A binding adds one :func:`register_scheme` call: :func:`presshil.urls.parse_press_url`
reads the form (``HOST:PORT``, a device path, a name, nothing) and the allowed keys from it,
:func:`presshil.urls.open_press` the ``module:function`` opener (imported only when a URL of
the scheme is opened, so a missing optional backend only matters to those who use it), and
the "valid forms" of every URL error are the registered usage lines. The bindings check their
URLs against the key sets below, so a key is listed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``hostport``: ``scheme://HOST:PORT`` (port required); ``hostport+path``: the same with a
#: path kept in the target; ``device``: ``scheme:///dev/…``; ``name``: ``scheme://NAME`` (may
#: be empty)
Form = Literal["hostport", "hostport+path", "device", "name"]

#: the binding a ``profile=`` parameter hands a URL to (docs/profiles.md)
PROFILE_OPENER = "presshil.profiles.connect:open_profile_press"

# ---- query keys, per binding (the bindings import these) -------------------------------
SIM_KEYS = frozenset({"specimen", "seed", "faults", "fidelity", "cycling", "tilt_mrad", "die_offset_mm",
                      "cycler_bdf", "tc_compensation_pct_per_c"})
MODBUS_TCP_KEYS = frozenset({"unit", "timeout", "retries", "stale"})
MODBUS_RTU_KEYS = MODBUS_TCP_KEYS | {"baud", "parity", "stopbits"}
MODBUS_TLS_KEYS = frozenset({"cert", "key", "ca"})
SERIAL_KEYS = frozenset({"baud", "timeout", "retries", "stale", "rated_mpa", "rated_kn"})
SERIAL_PROFILE_KEYS = frozenset({"baud", "timeout", "profile", "parity", "stopbits"})
OPCUA_SECURITY_KEYS = frozenset({"security", "security_mode", "cert", "key", "ca"})
OPCUA_KEYS = frozenset({"profile", "timeout", "mode", "publish_ms", "timestamps"}) | OPCUA_SECURITY_KEYS
FIL_KEYS = frozenset({"firmware", "firmware_args", "plant", "link", "host", "plant_at", "timeout"})
FIL_MCU_KEYS = frozenset({"target", "host_uart", "plant_uart", "ready_timeout", "icount"})


@dataclass(frozen=True)
class Scheme:
    """One press URL scheme: how its URLs are written and which binding opens them."""

    name: str
    form: Form
    #: ``module:function`` taking a :class:`presshil.urls.PressURL`, returning a Press
    opener: str
    #: the query keys a URL of this scheme may carry (without ``profile=``)
    keys: frozenset[str]
    #: how a URL of this scheme is written, shown with every URL error
    usage: str
    #: the keys allowed with ``profile=`` (which hands the URL to :data:`PROFILE_OPENER`);
    #: None: the scheme has no profile-driven form
    profile_keys: frozenset[str] | None = None
    #: the transport a device profile for this scheme must describe (``modbus``, ``opcua``,
    #: ``ascii``; docs/profiles.md); set with ``profile_keys``
    profile_transport: str | None = None
    #: dotted keys (``load_cells.gain_error_pct=1.5``) are allowed too (the binding checks them)
    dotted_keys: bool = False
    #: a press simulated in this process: virtual time, no wire
    simulated: bool = False

    def allowed_keys(self, query: dict[str, str]) -> frozenset[str]:
        """The keys a URL with ``query`` may carry."""
        if self.profile_keys is not None and "profile" in query:
            return self.profile_keys
        return self.keys

    def opener_for(self, query: dict[str, str]) -> str:
        """The ``module:function`` that opens a URL with ``query``."""
        return PROFILE_OPENER if self.profile_keys is not None and "profile" in query else self.opener


SCHEMES: dict[str, Scheme] = {}


def register_scheme(scheme: Scheme) -> Scheme:
    """Make ``scheme`` known to :func:`presshil.urls.parse_press_url` and ``open_press``."""
    if scheme.name != scheme.name.lower() or "://" in scheme.name or not scheme.name:
        raise ValueError(f"a scheme name is lower case, without '://': {scheme.name!r}")
    if scheme.name in SCHEMES and SCHEMES[scheme.name] != scheme:
        raise ValueError(f"press URL scheme {scheme.name!r} is registered already")
    if (scheme.profile_keys is None) != (scheme.profile_transport is None):
        raise ValueError(f"scheme {scheme.name!r}: profile_keys and profile_transport go together")
    if not scheme.usage.startswith(f"{scheme.name}://"):
        raise ValueError(f"the usage of scheme {scheme.name!r} must start with '{scheme.name}://'")
    SCHEMES[scheme.name] = scheme
    return scheme


def valid_forms() -> tuple[str, ...]:
    """How each registered scheme's URLs are written, one line each."""
    return tuple(s.usage for s in SCHEMES.values())


# ---- the bindings presshil ships ---------------------------------------------------------
register_scheme(Scheme(
    "sim", "name", "presshil.sim.press_url:open_sim_press", SIM_KEYS,
    "sim://NAME?specimen=SPEC&seed=N&faults=F   (sim:// alone = the default simulated press)",
    dotted_keys=True, simulated=True,
))
register_scheme(Scheme(
    "modbus+tcp", "hostport", "presshil.transports.modbus:open_modbus_press", MODBUS_TCP_KEYS,
    "modbus+tcp://HOST:PORT?unit=1&timeout=0.05&profile=NAME_OR_PATH",
    profile_keys=MODBUS_TCP_KEYS | {"profile"}, profile_transport="modbus",
))
register_scheme(Scheme(
    "modbus+tls", "hostport", "presshil.transports.modbus_tls:open_modbus_tls_press",
    MODBUS_TCP_KEYS | MODBUS_TLS_KEYS,
    "modbus+tls://HOST:802?cert=CLIENT.crt&key=CLIENT.key&ca=CA.crt&profile=NAME_OR_PATH   (docs/security.md)",
    profile_keys=MODBUS_TCP_KEYS | MODBUS_TLS_KEYS | {"profile"}, profile_transport="modbus",
))
register_scheme(Scheme(
    "modbus+rtu", "device", "presshil.transports.modbus:open_modbus_press", MODBUS_RTU_KEYS,
    "modbus+rtu:///dev/ttyUSB0?baud=115200&parity=N&unit=1&profile=NAME_OR_PATH",
    profile_keys=MODBUS_RTU_KEYS | {"profile"}, profile_transport="modbus",
))
register_scheme(Scheme(
    "serial", "device", "presshil.transports.serial_line:open_serial_press", SERIAL_KEYS,
    "serial:///dev/ttyUSB0?baud=115200&profile=NAME_OR_PATH",
    profile_keys=SERIAL_PROFILE_KEYS, profile_transport="ascii",
))
register_scheme(Scheme(
    "opcua", "hostport+path", PROFILE_OPENER, OPCUA_KEYS,
    "opcua://HOST:4840/PATH?profile=NAME_OR_PATH",
    profile_keys=OPCUA_KEYS, profile_transport="opcua",
))
register_scheme(Scheme(
    "fil", "name", "presshil.fil.press:open_fil_press", FIL_KEYS | FIL_MCU_KEYS,
    "fil://?firmware=COMMAND&plant=sim://…   (external firmware in the loop, docs/firmware.md)",
))


__all__ = ["PROFILE_OPENER", "SCHEMES", "Form", "Scheme", "register_scheme", "valid_forms"]
