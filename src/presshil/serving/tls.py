"""Modbus/TCP Security on the server side: mutual X.509 over TLS, roles from the certificate.

The Modbus Organization's TLS profile (conventionally port 802): the server presents its
certificate, requires one from every client signed by the configured CA, and authorises
each request by the client's role. The role is the certificate's Modbus Role extension
(OID 1.3.6.1.4.1.50316.802.1, a UTF8String) or, when absent, its subject's
organizational unit (OU). ``operator`` may read and write; ``observer`` — and any other or
missing role (least privilege) — may only read. A refused request gets exception 01, as the
profile prescribes for an unauthorised function.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..errors import ConfigError
from .master import Role

#: the Modbus/TCP Security role extension
MODBUS_ROLE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.50316.802.1")
#: the conventional Modbus/TCP Security port
MODBUS_TLS_PORT = 802
_ROLES = {"operator": Role.OPERATOR, "observer": Role.OBSERVER}


@dataclass(frozen=True)
class TlsConfig:
    """The server's certificate and key, and the CA its clients' certificates must chain to."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def from_flags(cls, cert: str | None, key: str | None, ca: str | None) -> TlsConfig | None:
        """``--tls-cert``/``--tls-key``/``--tls-ca``: all three (a config) or none (None)."""
        given = [f for f in (cert, key, ca) if f]
        if not given:
            return None
        if len(given) != 3:
            raise ConfigError("--tls-cert, --tls-key and --tls-ca go together")
        return cls(Path(cert or ""), Path(key or ""), Path(ca or ""))

    def check_files(self, *, ca_folder_ok: bool = False) -> None:
        """Each file exists (``ca`` may be a trust-list folder where ``ca_folder_ok``)."""
        for flag, path in (
            ("--tls-cert", self.cert),
            ("--tls-key", self.key),
            ("--tls-ca", self.ca),
        ):
            if not (Path(path).is_file() or (ca_folder_ok and flag == "--tls-ca" and Path(path).is_dir())):
                raise ConfigError(f"{flag} {path}: no such file")

    def server_context(self) -> ssl.SSLContext:
        """A TLS ≥ 1.2 server context requiring a client certificate signed by :attr:`ca`."""
        self.check_files()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_REQUIRED
        try:
            ctx.load_cert_chain(str(self.cert), str(self.key))
            ctx.load_verify_locations(cafile=str(self.ca))
        except (ssl.SSLError, ValueError) as exc:
            raise ConfigError(
                f"TLS files {self.cert}, {self.key}, {self.ca}: cannot be loaded ({exc})"
            ) from None
        return ctx


def role_name(der: bytes | None) -> str:
    """The role a client certificate (DER) carries: the Role extension, else the OU, else ''."""
    if not der:
        return ""
    cert = x509.load_der_x509_certificate(der)
    try:
        ext = cert.extensions.get_extension_for_oid(MODBUS_ROLE_OID).value
    except x509.ExtensionNotFound:
        ext = None
    if isinstance(ext, x509.UnrecognizedExtension):
        raw = ext.value
        if len(raw) >= 2 and raw[0] == 0x0C and raw[1] < 0x80:  # DER UTF8String, short form
            return raw[2 : 2 + raw[1]].decode("utf-8", "replace").strip()
        return raw.decode("utf-8", "replace").strip()
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(units[0].value).strip() if units else ""


def role_of_certificate(der: bytes | None) -> Role:
    """The :class:`Role` of a client certificate (DER): operator, or observer otherwise."""
    return _ROLES.get(role_name(der).lower(), Role.OBSERVER)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1, localhost)."""
    return host in ("localhost", "::1") or host.startswith("127.")


__all__ = [
    "MODBUS_ROLE_OID",
    "MODBUS_TLS_PORT",
    "TlsConfig",
    "is_loopback",
    "role_name",
    "role_of_certificate",
]
