"""OPC UA application certificates, as the client (``opcua://…&cert=…``) and the emulation
(``presshil serve --profile … --opcua … --tls-cert …``) both read them: the security policies
presshil speaks, a certificate's application URI, and a trust list for asyncua's validator."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from asyncua import ua
from asyncua.crypto import security_policies
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator
from asyncua.crypto.validator import CertificateValidatorOptions as Check
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import ConfigError

#: policy name -> asyncua policy class (the deprecated Basic128Rsa15 and Basic256 are left out)
POLICIES: dict[str, type[security_policies.SecurityPolicy]] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128Sha256RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256Sha256RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MODES = {"Sign": ua.MessageSecurityMode.Sign, "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}
#: certificate checks: in its validity period, naming the peer's application URI, trusted
#: (chains to the trust list) and not revoked; key usages are not required (PLC
#: certificates differ in them)
_CHECKS = Check.TIME_RANGE | Check.URI | Check.TRUSTED | Check.REVOKED


def pem_or_der(path: Path, data: bytes | None = None) -> str:
    head = (data if data is not None else path.read_bytes())[:64]
    return "pem" if head.lstrip().startswith(b"-----BEGIN") else "der"


def application_uri(cert_path: Path, where: str) -> str:
    """The ``URI`` of the certificate's subjectAltName: its OPC UA application URI. The
    certificate must be RSA: every OPC UA security policy presshil speaks is."""
    data = cert_path.read_bytes()
    try:
        cert = (x509.load_pem_x509_certificate(data) if pem_or_der(cert_path, data) == "pem"
                else x509.load_der_x509_certificate(data))
    except ValueError as exc:
        raise ConfigError(f"{where}: {cert_path}: not an X.509 certificate ({exc})") from None
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise ConfigError(
            f"{where}: {cert_path}: an OPC UA application certificate needs an RSA key "
            f"(this one is {type(cert.public_key()).__name__.lstrip('_')})"
        )
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    if not uris:
        raise ConfigError(
            f"{where}: {cert_path}: an OPC UA application certificate needs its application "
            "URI in subjectAltName (URI:urn:…)"
        )
    return str(uris[0])


class TrustList:
    """A trust list folder for asyncua: ``ca`` itself if it is a folder, else a private
    folder holding a copy of the one certificate (removed by :meth:`close`)."""

    def __init__(self, ca: Path) -> None:
        self._made: Path | None = None
        if ca.is_dir():
            self.folder = ca
        else:
            self._made = Path(tempfile.mkdtemp(prefix="presshil-trust-"))
            shutil.copyfile(ca, self._made / f"trusted.{pem_or_der(ca)}")
            self.folder = self._made

    async def validator(self, peer: Check) -> CertificateValidator:
        store = TrustStore([self.folder], [])
        try:
            await store.load()
        except ValueError as exc:  # no certificate in the folder
            raise ConfigError(f"trust list {self.folder}: no usable certificate ({exc})") from None
        return CertificateValidator(_CHECKS | peer, store)

    def close(self) -> None:
        if self._made is not None:
            shutil.rmtree(self._made, ignore_errors=True)
            self._made = None


__all__ = ["MODES", "POLICIES", "Check", "TrustList", "application_uri", "pem_or_der"]
