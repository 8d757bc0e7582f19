"""OPC UA security for profile presses: signed and encrypted sessions, certificates both ways.

A PLC's OPC UA server is usually configured to refuse unsecured sessions. presshil speaks
the OPC UA security policies Basic256Sha256 (the default), Aes128Sha256RsaOaep and
Aes256Sha256RsaPss, in mode SignAndEncrypt (the default) or Sign, with X.509 application
certificates (RSA) on both sides:

- the client (``opcua://HOST:PORT/PATH?profile=…&cert=…&key=…&ca=…``) presents ``cert``/``key``
  and accepts the server only if its certificate is valid now, names the server's
  application URI, and chains to ``ca`` (a certificate file, or a trust-list folder of
  ``.pem``/``.der`` files, as OPC UA tools keep them: a self-signed server certificate
  placed there is trusted as itself);
- the emulation (``presshil serve --profile … --opcua HOST:PORT --tls-cert … --tls-key …
  --tls-ca …``) offers only secured endpoints and accepts a client only under the same rules.

Each side's application URI is the ``URI`` entry of its certificate's subjectAltName, as
OPC UA requires; a certificate without one is refused with a message saying so.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asyncua import Client, Server, ua
from asyncua.crypto import security_policies
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.uacrypto import CertProperties
from asyncua.crypto.validator import CertificateValidator
from asyncua.crypto.validator import CertificateValidatorOptions as Check
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import ConfigError, PressURLError
from ..serving.tls import TlsConfig
from ..url_schemes import OPCUA_SECURITY_KEYS
from ..urls import PressURL

#: the URL keys of a secured OPC UA press
SECURITY_KEYS = OPCUA_SECURITY_KEYS  # registered with the opcua:// scheme
#: policy name -> asyncua policy class (the deprecated Basic128Rsa15 and Basic256 are left out)
POLICIES: dict[str, type[security_policies.SecurityPolicy]] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128Sha256RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256Sha256RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MODES = {"Sign": ua.MessageSecurityMode.Sign, "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}
#: what the emulation offers when secured: every policy above, signed and encrypted or signed
SERVER_POLICIES = [
    getattr(ua.SecurityPolicyType, f"{name}_{mode}") for name in POLICIES for mode in MODES
]
#: certificate checks: in its validity period, naming the peer's application URI, trusted
#: (chains to the trust list) and not revoked; key usages are not required (PLC
#: certificates differ in them)
_CHECKS = Check.TIME_RANGE | Check.URI | Check.TRUSTED | Check.REVOKED


def _pem_or_der(path: Path, data: bytes | None = None) -> str:
    head = (data if data is not None else path.read_bytes())[:64]
    return "pem" if head.lstrip().startswith(b"-----BEGIN") else "der"


def application_uri(cert_path: Path, where: str) -> str:
    """The ``URI`` of the certificate's subjectAltName: its OPC UA application URI. The
    certificate must be RSA: every OPC UA security policy presshil speaks is."""
    data = cert_path.read_bytes()
    try:
        cert = (x509.load_pem_x509_certificate(data) if _pem_or_der(cert_path, data) == "pem"
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


class _TrustList:
    """A trust list folder for asyncua: ``ca`` itself if it is a folder, else a private
    folder holding a copy of the one certificate (removed by :meth:`close`)."""

    def __init__(self, ca: Path) -> None:
        self._made: Path | None = None
        if ca.is_dir():
            self.folder = ca
        else:
            self._made = Path(tempfile.mkdtemp(prefix="presshil-trust-"))
            shutil.copyfile(ca, self._made / f"trusted.{_pem_or_der(ca)}")
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


@dataclass
class ClientSecurity:
    """What an ``opcua://`` URL asks for: policy, mode, and the three files."""

    policy: str
    mode: str
    cert: Path
    key: Path
    ca: Path

    @classmethod
    def from_url(cls, parsed: PressURL) -> ClientSecurity | None:
        """None for an unsecured URL (no security key at all); else every key checked."""
        query, url = parsed.query, parsed.raw
        if not SECURITY_KEYS & set(query):
            return None
        policy = query.get("security", "Basic256Sha256")
        if policy not in POLICIES:
            raise PressURLError(
                f"press URL {url!r}: security={policy!r}; use one of {', '.join(POLICIES)}"
            )
        mode = query.get("security_mode", "SignAndEncrypt")
        if mode not in MODES:
            raise PressURLError(f"press URL {url!r}: security_mode={mode!r}; use Sign or SignAndEncrypt")
        files = parsed.get_files(
            ("cert", "key", "ca"),
            "for a secured OPC UA session (cert=CLIENT.pem&key=CLIENT.key&ca=TRUSTED.pem or a trust-list folder)",
            folders=frozenset({"ca"}),
        )
        return cls(policy, mode, files["cert"], files["key"], files["ca"])

    async def apply(self, client: Client, url: str) -> _TrustList:
        """Secure ``client`` before it connects; the trust list is the caller's to close."""
        client.application_uri = application_uri(self.cert, f"press URL {url!r}: cert=")
        trust = _TrustList(self.ca)
        try:
            client.certificate_validator = await trust.validator(Check.PEER_SERVER)
            await client.set_security(
                POLICIES[self.policy],
                CertProperties(str(self.cert), _pem_or_der(self.cert)),
                CertProperties(str(self.key), _pem_or_der(self.key)),
                mode=MODES[self.mode],
            )
        except ConfigError:
            trust.close()
            raise
        except Exception as exc:  # noqa: BLE001 - asyncua and cryptography raise several kinds
            trust.close()
            raise PressURLError(
                f"press URL {url!r}: cannot use cert=/key= for OPC UA security ({exc}); "
                "an RSA certificate and its key are needed"
            ) from None
        return trust


async def secure_server(server: Server, tls: TlsConfig) -> _TrustList:
    """Offer only secured endpoints, present ``tls.cert``/``tls.key``, accept clients trusted
    by ``tls.ca`` (a file or a trust-list folder). Call before the server starts."""
    tls.check_files(ca_folder_ok=True)
    files = {"cert": tls.cert, "key": tls.key, "ca": tls.ca}
    uri = application_uri(files["cert"], "--tls-cert")
    await server.set_application_uri(uri)
    server.set_security_policy(SERVER_POLICIES)
    try:
        await server.load_certificate(str(files["cert"]), format=_pem_or_der(files["cert"]))
        await server.load_private_key(str(files["key"]), format=_pem_or_der(files["key"]))
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"OPC UA: cannot load --tls-cert/--tls-key ({exc}); an RSA certificate and its key are needed"
        ) from None
    trust = _TrustList(files["ca"])
    try:
        server.set_certificate_validator(await trust.validator(Check.PEER_CLIENT))
    except BaseException:
        trust.close()
        raise
    return trust


__all__ = ["MODES", "POLICIES", "SECURITY_KEYS", "ClientSecurity", "application_uri", "secure_server"]
