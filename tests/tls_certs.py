"""A throwaway CA and certificates, made at test time with ``cryptography`` (no keys committed)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from presshil.serving.tls import MODBUS_ROLE_OID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _key(use_rsa: bool = False) -> PrivateKey:
    # OPC UA security policies are RSA-only; EC keys keep the Modbus/TLS tests fast
    if use_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, cert: x509.Certificate, key: PrivateKey) -> tuple[Path, Path]:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path.with_suffix(".crt"), path.with_suffix(".key")


class ThrowawayCA:
    """A CA in ``folder`` that issues server and client certificates (RSA keys with
    ``use_rsa``, as OPC UA needs; EC otherwise)."""

    def __init__(self, folder: Path, name: str = "presshil test CA", *, use_rsa: bool = False) -> None:
        self.folder = folder
        self.use_rsa = use_rsa
        self.key = _key(use_rsa)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.path, _ = _write(folder / name.replace(" ", "-"), self.cert, self.key)

    def issue(
        self,
        name: str,
        *,
        server: bool = False,
        role: str | None = None,
        ou: str | None = None,
        uri: str | None = None,
    ) -> tuple[Path, Path]:
        """A certificate for ``name`` (server: for 127.0.0.1/localhost; ``uri``: an OPC UA
        application URI in subjectAltName); (cert, key) paths."""
        key = _key(self.use_rsa)
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
        if ou:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )
        names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri)] if uri else []
        if server:
            names += [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        if role is not None:
            value = role.encode()
            der = bytes([0x0C, len(value)]) + value  # UTF8String
            builder = builder.add_extension(
                x509.UnrecognizedExtension(MODBUS_ROLE_OID, der), critical=False
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return _write(self.folder / name, cert, key)
